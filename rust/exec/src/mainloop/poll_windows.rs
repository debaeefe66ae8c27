//! Whether polling pays here and now.
//!
//! After packets or a request the loop may poll a short window instead of
//! sleeping, because the next event usually comes within it and a wakeup
//! from sleep costs more (see `BUSY_POLL`). That holds for a client
//! calling in a loop or a token coming back round a small ring on an
//! otherwise idle machine. It does not hold when the next event is
//! further away than the window: every window is then spent for nothing,
//! and with many executives on few CPUs (64 on 2 in the scale test: a
//! join storm gives each a packet every few hundred microseconds) or other
//! work beside them, the spinning takes the CPU the others need to send
//! that next event.
//!
//! So every window is judged by what came: an event within it (polled
//! for, or woken for from sleep) is a hit, a window that ran out is a
//! miss. A window is polled only while at least half of the recent ones
//! (a moving average over about eight) were hits. Windows that are slept
//! through are judged the same way, so polling resumes as soon as
//! events come close together again.

/// Score of a hit: the average is kept in 1/1024ths.
const ONE: u32 = 1024;
/// Poll while the average is at least this (half the windows hit).
const THRESHOLD: u32 = ONE / 2;
/// Weight of a new window in the average: 1/8.
const SHIFT: u32 = 3;

/// The moving average of hits, and what was counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollWindows {
    score: u32,
    pub hits: u64,
    pub misses: u64,
    /// Windows slept through because polling did not pay.
    pub slept: u64,
}

impl Default for PollWindows {
    /// A new executive polls until windows show it does not pay.
    fn default() -> PollWindows {
        PollWindows { score: ONE, hits: 0, misses: 0, slept: 0 }
    }
}

impl PollWindows {
    /// Whether to poll the window that starts now (else sleep through it).
    pub fn pay(&self) -> bool {
        self.score >= THRESHOLD
    }

    /// A window ended: with an event in it (`hit`) or not. `polled`:
    /// whether it was polled or slept through.
    pub fn judge(&mut self, hit: bool, polled: bool) {
        let sample = if hit { ONE } else { 0 };
        self.score = self.score - (self.score >> SHIFT) + (sample >> SHIFT);
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        if !polled {
            self.slept += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_within_the_window_keep_it_polling() {
        let mut g = PollWindows::default();
        for _ in 0..1000 {
            assert!(g.pay());
            g.judge(true, true);
        }
        // One miss now and then (a client pausing) does not close it.
        for _ in 0..100 {
            g.judge(false, true);
            g.judge(true, true);
            g.judge(true, true);
            assert!(g.pay());
        }
    }

    #[test]
    fn windows_that_run_out_stop_polling_and_close_events_resume_it() {
        let mut g = PollWindows::default();
        let mut polled = 0;
        for _ in 0..100 {
            if g.pay() {
                polled += 1;
            }
            let open = g.pay();
            g.judge(false, open);
        }
        assert!(!g.pay());
        assert!(polled <= 8, "a few misses close it: polled {polled} of 100");
        assert_eq!(g.slept, 100 - polled);
        // Events come close together again: judged while sleeping, it opens.
        let mut reopened_after = None;
        for k in 0..100 {
            let open = g.pay();
            g.judge(true, open);
            if g.pay() {
                reopened_after = Some(k + 1);
                break;
            }
        }
        assert!(reopened_after.is_some_and(|k| k <= 8), "{reopened_after:?}");
    }

    #[test]
    fn mostly_misses_stay_closed() {
        // A join storm: an event every few windows, one hit in four.
        let mut g = PollWindows::default();
        for k in 0..400 {
            let open = g.pay();
            g.judge(k % 4 == 0, open);
        }
        assert!(!g.pay());
    }
}
