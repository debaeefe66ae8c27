//! The sync barrier: after every regular configuration, services bring
//! the new members up to date before anyone uses the new configuration.
//!
//! Contract with services (see `Service`'s sync hooks):
//! 1. A regular configuration is delivered: an unfinished round is aborted
//!    (`sync_abort` on every service), then `sync_init` on every service.
//! 2. `sync_process` is called on each service, on later turns too, until
//!    it returns `Done`; the service submits its state as its own ordered
//!    messages, which reach every node through `deliver` as usual.
//! 3. When all its services are done, the node submits one barrier message
//!    naming the ring. Ordered after the node's sync messages, it tells the
//!    others that this node's state has been delivered everywhere.
//! 4. Once a barrier from every member of the ring is delivered,
//!    `sync_activate` runs on every service, on every node at the same point
//!    of the order.
//!
//! Barriers of an older ring (delivered late, or from an aborted round) are
//! ignored by their ring id.

use std::collections::BTreeSet;

use crate::ordering::{NodeId, RingId};
use crate::service::SyncStep;

/// Service id under which barrier messages are ordered; no real service
/// uses it (ids are below `ais_ipc::service::COUNT`).
pub const SYNC_SERVICE: u32 = 0xffff_0001;

/// Barrier payload: ring rep (u32 LE) + ring seq (u64 LE).
pub fn encode_barrier(ring: RingId) -> Vec<u8> {
    let mut b = Vec::with_capacity(12);
    b.extend_from_slice(&ring.rep.to_le_bytes());
    b.extend_from_slice(&ring.seq.to_le_bytes());
    b
}

pub fn decode_barrier(payload: &[u8]) -> Option<RingId> {
    let (rep, seq) = payload.split_first_chunk::<4>()?;
    let seq: &[u8; 8] = seq.try_into().ok()?;
    Some(RingId { rep: u32::from_le_bytes(*rep), seq: u64::from_le_bytes(*seq) })
}

/// One sync round, from a regular configuration to activation.
#[derive(Debug)]
pub struct Round {
    pub ring: RingId,
    members: BTreeSet<NodeId>,
    /// Services whose `sync_process` has not returned `Done` yet.
    pending: BTreeSet<u32>,
    barrier_sent: bool,
    barriers: BTreeSet<NodeId>,
}

/// What the main loop must do next for the sync round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing (no round, or waiting for other nodes' barriers).
    Idle,
    /// Call `sync_process` on these services (`pending_services`).
    Process,
    /// Every local service is done: submit the barrier.
    SendBarrier,
}

#[derive(Debug, Default)]
pub struct SyncState {
    round: Option<Round>,
    /// Completed rounds, for status and tests.
    pub rounds_done: u64,
    pub rounds_aborted: u64,
}

impl SyncState {
    /// A regular configuration was delivered. Returns true if an
    /// unfinished round was aborted (call `sync_abort` first).
    pub fn start(&mut self, ring: RingId, members: &[NodeId], services: impl Iterator<Item = u32>) -> bool {
        let aborted = self.round.take().is_some();
        if aborted {
            self.rounds_aborted += 1;
        }
        self.round = Some(Round {
            ring,
            members: members.iter().copied().collect(),
            pending: services.collect(),
            barrier_sent: false,
            barriers: BTreeSet::new(),
        });
        aborted
    }

    pub fn in_progress(&self) -> bool {
        self.round.is_some()
    }

    pub fn next(&self) -> Next {
        match &self.round {
            None => Next::Idle,
            Some(r) if !r.pending.is_empty() => Next::Process,
            Some(r) if !r.barrier_sent => Next::SendBarrier,
            Some(_) => Next::Idle,
        }
    }

    pub fn pending_services(&self) -> Vec<u32> {
        self.round.as_ref().map(|r| r.pending.iter().copied().collect()).unwrap_or_default()
    }

    /// Records the outcome of one `sync_process` call.
    pub fn processed(&mut self, service: u32, step: SyncStep) {
        if let (Some(r), SyncStep::Done) = (&mut self.round, step) {
            r.pending.remove(&service);
        }
    }

    /// The barrier for the current ring, once submitted.
    pub fn barrier_submitted(&mut self) {
        if let Some(r) = &mut self.round {
            r.barrier_sent = true;
        }
    }

    pub fn current_ring(&self) -> Option<RingId> {
        self.round.as_ref().map(|r| r.ring)
    }

    /// A barrier was delivered. Returns true when the round is complete
    /// (call `sync_activate` on every service).
    pub fn barrier_delivered(&mut self, sender: NodeId, ring: RingId) -> bool {
        let Some(r) = &mut self.round else { return false };
        if r.ring != ring || !r.members.contains(&sender) {
            return false;
        }
        r.barriers.insert(sender);
        if r.barriers == r.members {
            self.round = None;
            self.rounds_done += 1;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R1: RingId = RingId { rep: 1, seq: 8 };
    const R2: RingId = RingId { rep: 1, seq: 12 };

    #[test]
    fn barrier_round_trip_and_bad_payloads() {
        assert_eq!(decode_barrier(&encode_barrier(R1)), Some(R1));
        assert_eq!(decode_barrier(&[1, 2, 3]), None);
        let mut long = encode_barrier(R1);
        long.push(0);
        assert_eq!(decode_barrier(&long), None);
    }

    #[test]
    fn completes_when_every_member_sent_its_barrier() {
        let mut s = SyncState::default();
        assert!(!s.start(R1, &[1, 2, 3], [0, 8].into_iter()));
        assert_eq!(s.next(), Next::Process);
        s.processed(0, SyncStep::MoreToSend);
        s.processed(8, SyncStep::Done);
        assert_eq!(s.pending_services(), vec![0]);
        s.processed(0, SyncStep::Done);
        assert_eq!(s.next(), Next::SendBarrier);
        s.barrier_submitted();
        assert_eq!(s.next(), Next::Idle);
        assert!(!s.barrier_delivered(1, R1));
        assert!(!s.barrier_delivered(9, R1), "not a member");
        assert!(!s.barrier_delivered(2, R2), "another ring");
        assert!(!s.barrier_delivered(2, R1));
        assert!(s.barrier_delivered(3, R1));
        assert!(!s.in_progress());
        assert_eq!(s.rounds_done, 1);
    }

    #[test]
    fn a_new_configuration_aborts_the_round_and_old_barriers_are_ignored() {
        let mut s = SyncState::default();
        s.start(R1, &[1, 2], [0].into_iter());
        s.processed(0, SyncStep::Done);
        s.barrier_submitted();
        assert!(!s.barrier_delivered(1, R1));
        assert!(s.start(R2, &[1], [0].into_iter()), "aborted");
        assert_eq!(s.rounds_aborted, 1);
        assert!(!s.barrier_delivered(2, R1));
        assert_eq!(s.next(), Next::Process);
        s.processed(0, SyncStep::Done);
        s.barrier_submitted();
        assert!(s.barrier_delivered(1, R2));
    }
}
