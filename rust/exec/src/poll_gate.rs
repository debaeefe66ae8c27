//! Whether the main loop may poll instead of sleeping, learned from how
//! long its polling turns spend off the CPU (a turn that found nothing:
//! its length, see `Executive::judge_empty_poll`).
//!
//! Polling pays only while the CPU is otherwise idle or shared with the
//! cluster's own processes (other executives, the clients), which give it
//! back within a turn. Where other work holds the CPUs (a build, a busy
//! loop), a yield hands the CPU to it for its whole time slice,
//! milliseconds, and the packets and requests that arrive in the meantime
//! wait that long (the same where a polling normal process is preempted
//! for it): with two busy loops on 2 CPUs, a polling executive of three
//! spent 2.6 s of 3 waiting for a CPU and answered 235 checkpoint writes
//! a second instead of 13,000. A sleeping process is woken by them
//! instead (at once where it is real-time). So a polling turn that spent
//! [`CONTESTED`] or more off the CPU stops polling for a while:
//! [`FIRST_PAUSE`], doubling up to [`LONGEST_PAUSE`] while the CPU is
//! found contested again within [`FORGET_AFTER`] of a pause's end (under
//! such work, at the first polling turn). Three executives and a client
//! on 2 CPUs make a turn wait that long now and then too, far apart:
//! those pauses stay short. (A turn that finds the CPU free proves
//! little: a short one often runs before the scheduler takes the CPU.)

use std::time::{Duration, Instant};

/// A polling turn that spent this long off the CPU most likely gave it to
/// other work for its time slice (1-4 ms here), not to turns of the other
/// executives or a client (tens to hundreds of microseconds).
pub const CONTESTED: Duration = Duration::from_millis(1);
/// The first pause in polling once a turn found the CPU contested.
pub const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause: a try that finds the CPU still contested costs one
/// time slice, so at most one every this long.
pub const LONGEST_PAUSE: Duration = Duration::from_secs(1);
/// A contested turn this long after the last pause ended pauses for
/// [`FIRST_PAUSE`] again. 3 nodes, interleaved, real-time executives,
/// against pauses of 20 ms forgotten after 1 s: quiet, writes
/// 8.3-11.5k/s against 6.3-8.3k, publishes 25-26k against 17-18k; under
/// two busy loops the same (4.9-6.1k, 12-15k).
pub const FORGET_AFTER: Duration = Duration::from_millis(50);
/// A pause this long or longer means other work has held the CPU for a
/// while (the fourth contested try in a row): `realtime_priority: auto`
/// sleeps real-time then. Shorter ones also come from the cluster's own
/// processes (three executives and a client on two CPUs in the
/// benchmarks), for which sleeping real-time halved 3-node publishes.
pub const SUSTAINED: Duration = Duration::from_millis(80);

#[derive(Debug)]
pub struct PollGate {
    /// No polling before this.
    paused_until: Option<Instant>,
    /// The last pause.
    pause: Duration,
    /// When the last pause ended (or ends).
    resumed_at: Option<Instant>,
    /// Pauses so far (`exec.poll_pauses`).
    pub pauses: u64,
}

impl Default for PollGate {
    fn default() -> Self {
        PollGate { paused_until: None, pause: FIRST_PAUSE, resumed_at: None, pauses: 0 }
    }
}

impl PollGate {
    /// Whether the loop may poll at `now`.
    pub fn open(&self, now: Instant) -> bool {
        self.paused_until.is_none_or(|t| now >= t)
    }

    /// Whether other work has held the CPU for a while ([`SUSTAINED`]),
    /// and polling is paused at `now`.
    pub fn held_by_other_work(&self, now: Instant) -> bool {
        !self.open(now) && self.pause >= SUSTAINED
    }

    /// A polling turn ended at `now`, having spent `off_cpu` waiting for
    /// the CPU. Returns whether polling may go on.
    pub fn polled(&mut self, off_cpu: Duration, now: Instant) -> bool {
        if off_cpu < CONTESTED {
            return true;
        }
        self.pause = match self.resumed_at {
            Some(t) if now.saturating_duration_since(t) < FORGET_AFTER => (self.pause * 2).min(LONGEST_PAUSE),
            _ => FIRST_PAUSE,
        };
        self.paused_until = Some(now + self.pause);
        self.resumed_at = self.paused_until;
        self.pauses += 1;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_with_short_waits_keep_polling_and_a_contested_one_pauses_it() {
        let mut g = PollGate::default();
        let t0 = Instant::now();
        assert!(g.open(t0));
        assert!(g.polled(Duration::from_micros(40), t0), "another executive's turn");
        assert!(g.open(t0));
        assert!(!g.polled(CONTESTED, t0), "other work ran a time slice");
        assert!(!g.open(t0));
        assert!(!g.open(t0 + FIRST_PAUSE - Duration::from_micros(1)));
        assert!(g.open(t0 + FIRST_PAUSE));
    }

    #[test]
    fn pauses_double_while_the_cpu_stays_contested_and_start_again_once_it_was_free_a_while() {
        let mut g = PollGate::default();
        let mut now = Instant::now();
        let mut pauses = Vec::new();
        for _ in 0..8 {
            assert!(!g.polled(Duration::from_millis(3), now));
            let until = g.paused_until.unwrap();
            pauses.push(until - now);
            // The first turn after the pause: a short one that ran at once
            // does not reset the pause; the next contested one doubles it.
            assert!(g.open(until));
            assert!(g.polled(Duration::from_micros(10), until));
            now = until + Duration::from_millis(1);
        }
        let ms: Vec<u128> = pauses.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [10, 20, 40, 80, 160, 320, 640, 1000]);
        assert!(g.held_by_other_work(g.paused_until.unwrap() - Duration::from_micros(1)), "in the last pause");
        assert!(!g.held_by_other_work(g.paused_until.unwrap()), "the pause is over");
        // Free for a while: the next contested turn pauses briefly again.
        now += FORGET_AFTER;
        assert!(!g.polled(CONTESTED * 4, now));
        assert_eq!(g.paused_until, Some(now + FIRST_PAUSE));
        assert!(!g.held_by_other_work(now), "one contested turn: maybe the cluster's own processes");
    }

    #[test]
    fn other_work_holds_the_cpu_from_the_fourth_contested_try_in_a_row() {
        let mut g = PollGate::default();
        let mut now = Instant::now();
        let mut held = Vec::new();
        for _ in 0..6 {
            g.polled(Duration::from_millis(2), now);
            held.push(g.held_by_other_work(now));
            now = g.paused_until.unwrap();
        }
        assert_eq!(held, [false, false, false, true, true, true]);
    }
}
