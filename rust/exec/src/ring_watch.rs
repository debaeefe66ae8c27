//! What the operator is told about the ring's troubles as they happen:
//! retransmit bursts (frames sent again here, and frames this node missed
//! and asked for) and token losses in the log (limited, as the classic
//! "Retransmit List" and "token was lost" lines were), and the count of
//! faults per redundant interface for the statistics.
//!
//! Owns only the "seen so far" marks. It reads Totem's counters after each
//! batch of work; the cost when nothing changed is two comparisons (the
//! clock is read only when there is something to report).

use std::time::{Duration, Instant};

/// Shortest gap between two retransmit lines; the next line sums what
/// happened in between.
pub const RETRANSMIT_REPORT_GAP: Duration = Duration::from_secs(5);
/// Shortest gap between two token loss lines.
pub const TOKEN_LOSS_REPORT_GAP: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct RingWatch {
    /// Retransmitted frames already reported.
    retransmitted_reported: u64,
    /// Retransmission requests of this node already reported.
    requested_reported: u64,
    /// Token losses already reported.
    losses_reported: u64,
    next_retransmit_line: Option<Instant>,
    next_loss_line: Option<Instant>,
    /// Times each redundant interface was marked FAULTY.
    pub faults: Vec<u64>,
}

/// Totem's counters [`RingWatch::observe`] follows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seen {
    pub retransmitted: u64,
    pub requested: u64,
    pub losses: u64,
}

/// A line to write, decided by [`RingWatch::observe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Frames sent again for others, and frames missed here and asked
    /// for, since the last line.
    Retransmitted {
        frames: u64,
        requested: u64,
        since: Duration,
    },
    TokenLost {
        losses: u64,
        total: u64,
    },
}

impl RingWatch {
    /// Reads Totem's counters and logs what is due.
    pub fn check(&mut self, s: &totem::Stats) {
        if s.mcast_retransmitted == self.retransmitted_reported
            && s.rtr_requested == self.requested_reported
            && s.token_losses == self.losses_reported
        {
            return;
        }
        let seen = Seen { retransmitted: s.mcast_retransmitted, requested: s.rtr_requested, losses: s.token_losses };
        for r in self.observe(seen, Instant::now()) {
            match r {
                Report::Retransmitted { frames, requested, since } => crate::log_notice!(
                    Totem,
                    "Retransmit: {frames} frames retransmitted, {requested} missed here and asked for, in the last \
                     {:.1} s (totals {} and {})",
                    since.as_secs_f64(),
                    s.mcast_retransmitted,
                    s.rtr_requested
                ),
                Report::TokenLost { losses, total } => crate::log_warn!(
                    Totem,
                    "The token was lost ({losses} times since the last report, {total} in all); forming a new ring"
                ),
            }
        }
    }

    /// The decision, with the time passed in: a line per kind at most
    /// once per its gap, each summing the events since the previous line.
    pub fn observe(&mut self, seen: Seen, now: Instant) -> Vec<Report> {
        let Seen { retransmitted, requested, losses } = seen;
        let mut out = Vec::new();
        if losses > self.losses_reported && self.next_loss_line.is_none_or(|t| now >= t) {
            out.push(Report::TokenLost { losses: losses - self.losses_reported, total: losses });
            self.losses_reported = losses;
            self.next_loss_line = Some(now + TOKEN_LOSS_REPORT_GAP);
        }
        let more = retransmitted > self.retransmitted_reported || requested > self.requested_reported;
        if more && self.next_retransmit_line.is_none_or(|t| now >= t) {
            // The first line of a burst covers the time since the last.
            let since = match self.next_retransmit_line {
                Some(t) => now.saturating_duration_since(t) + RETRANSMIT_REPORT_GAP,
                None => Duration::ZERO,
            };
            out.push(Report::Retransmitted {
                frames: retransmitted - self.retransmitted_reported,
                requested: requested - self.requested_reported,
                since,
            });
            self.retransmitted_reported = retransmitted;
            self.requested_reported = requested;
            self.next_retransmit_line = Some(now + RETRANSMIT_REPORT_GAP);
        }
        out
    }

    /// Interface `ring` was marked FAULTY.
    pub fn fault(&mut self, ring: u32) {
        let i = ring as usize;
        if i < 8 {
            if self.faults.len() <= i {
                self.faults.resize(i + 1, 0);
            }
            self.faults[i] += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_are_summed_and_limited() {
        let t0 = Instant::now();
        let mut w = RingWatch::default();
        let sent = |retransmitted| Seen { retransmitted, ..Default::default() };
        assert!(w.observe(sent(0), t0).is_empty());
        assert_eq!(
            w.observe(sent(3), t0),
            vec![Report::Retransmitted { frames: 3, requested: 0, since: Duration::ZERO }]
        );
        // Within the gap: quiet, however many more.
        for i in 1..100 {
            assert!(w.observe(sent(3 + i), t0 + Duration::from_millis(i * 10)).is_empty());
        }
        // After the gap: one line with everything since the last.
        let r = w.observe(sent(200), t0 + RETRANSMIT_REPORT_GAP);
        assert!(matches!(r.as_slice(), [Report::Retransmitted { frames: 197, .. }]), "{r:?}");
        // Nothing new: nothing, even long after.
        assert!(w.observe(sent(200), t0 + Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn a_node_that_only_asks_reports_too() {
        let t0 = Instant::now();
        let mut w = RingWatch::default();
        let asked = |requested| Seen { requested, ..Default::default() };
        let r = w.observe(asked(40), t0);
        assert_eq!(r, vec![Report::Retransmitted { frames: 0, requested: 40, since: Duration::ZERO }]);
        assert!(w.observe(asked(41), t0 + Duration::from_millis(10)).is_empty());
        let r = w.observe(asked(50), t0 + RETRANSMIT_REPORT_GAP);
        assert!(matches!(r.as_slice(), [Report::Retransmitted { frames: 0, requested: 10, .. }]), "{r:?}");
    }

    #[test]
    fn token_losses_are_reported_with_their_total() {
        let t0 = Instant::now();
        let mut w = RingWatch::default();
        let lost = |losses| Seen { losses, ..Default::default() };
        assert_eq!(w.observe(lost(1), t0), vec![Report::TokenLost { losses: 1, total: 1 }]);
        assert!(w.observe(lost(2), t0 + Duration::from_millis(10)).is_empty());
        assert_eq!(w.observe(lost(3), t0 + TOKEN_LOSS_REPORT_GAP), vec![Report::TokenLost { losses: 2, total: 3 }]);
    }

    #[test]
    fn faults_are_counted_per_interface_and_bounded() {
        let mut w = RingWatch::default();
        w.fault(1);
        w.fault(1);
        w.fault(u32::MAX);
        assert_eq!(w.faults, vec![0, 2]);
    }
}
