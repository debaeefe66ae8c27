//! Whether a loop sleeping real-time polls after a client's request (see
//! `RT_POLL_CLIENT`).
//!
//! It pays where the client runs on another CPU: its next request comes
//! within the window and is taken without a wakeup. Where the client
//! shares the loop's CPU, a real-time poll keeps it off that CPU and the
//! window always runs out; sleeping at once lets the client run, and its
//! request then wakes the loop on the same CPU, preempting it (two task
//! switches, no wakeup of an idle or busy other CPU). So polled windows
//! are judged (`PollWindows`), and while they do not pay one request in
//! [`PROBE_EVERY`] is polled after anyway, to find out when they do again
//! (the scheduler moves the client now and then).

use std::time::Instant;

use super::poll_windows::PollWindows;

/// While polling does not pay, poll after one request in this many.
const PROBE_EVERY: u32 = 16;

#[derive(Debug, Default)]
pub struct RtPolls {
    windows: PollWindows,
    /// Requests since the last polled window.
    skipped: u32,
    /// The end of the window being polled.
    open: Option<Instant>,
}

impl RtPolls {
    /// A client's request came while the loop sleeps real-time.
    pub fn request(&mut self) {
        self.skipped = self.skipped.saturating_add(1);
    }

    /// Whether to poll at `now`, in a window that ends at `until`.
    pub fn poll(&mut self, now: Instant, until: Instant) -> bool {
        if now >= until {
            return false;
        }
        if self.open.is_none() {
            if !self.windows.pay() && self.skipped < PROBE_EVERY {
                return false;
            }
            self.skipped = 0;
            self.open = Some(until);
        }
        true
    }

    /// The loop waited until `now`, and an event came (`event`) or not:
    /// judges the window being polled once it has a result.
    pub fn waited(&mut self, event: bool, now: Instant) {
        let Some(end) = self.open else { return };
        let hit = event && now <= end;
        if hit || now >= end {
            self.windows.judge(hit, true);
            self.open = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const WINDOW: Duration = Duration::from_micros(20);

    /// One request and its window: polled or not, and with a next request
    /// within it (`hit`) or not.
    fn request(p: &mut RtPolls, at: Instant, hit: bool) -> bool {
        p.request();
        let polled = p.poll(at, at + WINDOW);
        if polled {
            if hit {
                p.waited(true, at + WINDOW / 2);
            } else {
                assert!(p.poll(at + WINDOW / 2, at + WINDOW), "still in the window");
                p.waited(false, at + WINDOW);
            }
        }
        polled
    }

    #[test]
    fn a_client_on_another_cpu_keeps_it_polling() {
        let mut p = RtPolls::default();
        let t = Instant::now();
        assert!((0..100).all(|i| request(&mut p, t + WINDOW * 2 * i, true)));
    }

    #[test]
    fn a_client_sharing_the_cpu_stops_it_and_it_probes_now_and_then() {
        let mut p = RtPolls::default();
        let t = Instant::now();
        let polled: Vec<bool> = (0..200).map(|i| request(&mut p, t + WINDOW * 2 * i, false)).collect();
        let late = &polled[100..];
        let count = late.iter().filter(|x| **x).count();
        assert!((5..=7).contains(&count), "about one in {PROBE_EVERY} polled: {count} of 100");
        // The client moved to another CPU: a probe hits and polling resumes.
        let t = t + WINDOW * 400;
        let back = (0..200).map(|i| request(&mut p, t + WINDOW * 2 * i, true)).collect::<Vec<_>>();
        assert!(back[100..].iter().all(|x| *x), "polling again");
    }

    #[test]
    fn no_poll_once_the_window_is_over() {
        let mut p = RtPolls::default();
        let t = Instant::now();
        assert!(!p.poll(t + WINDOW, t + WINDOW));
    }
}
