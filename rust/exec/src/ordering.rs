//! The ordering seam: how the executive gets messages totally ordered
//! across the cluster and learns about configuration changes.
//!
//! The main loop owns one `Box<dyn Ordering>` and drives it:
//! 1. every turn it waits on [`Ordering::fds`] (readable) and until
//!    [`Ordering::poll_timeout`];
//! 2. it calls [`Ordering::handle_readable`] for each readable fd and
//!    [`Ordering::handle_timeout`] once the deadline has passed;
//! 3. it then drains [`Ordering::poll_event`] (a bounded number per turn)
//!    and routes each event to the services.
//!
//! Services submit through `service::Ctx::submit`, which prefixes the
//! 4-byte little-endian service id; payloads here are opaque. A delivered
//! message is routed back by that prefix, so the implementation never needs
//! to know about services.
//!
//! Two implementations: [`Loopback`] (one node, nothing on a wire) and
//! [`crate::totem_ring::TotemRing`] (the sans-IO `Totem` of `rust/totem`
//! on the sockets of `rust/net`: `submit` -> `Totem::submit_owned`,
//! `handle_readable` -> recv + `handle_packet`, `handle_timeout` ->
//! `Totem::handle_timeout`, then `poll_transmit` to the wire; `poll_event`
//! passes Totem's deliveries and configuration changes on).

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::time::Instant;

pub type NodeId = u32;

/// The ring types are Totem's own (one definition for the protocol and the
/// executive): a ring id (representative node and sequence), the delivery
/// guarantee asked for a message, and a configuration change with its kind.
pub use totem::{ConfigChange, ConfigKind, Guarantee, RingId};

/// The send queue is full; the caller should answer `TRY_AGAIN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// What the ordering layer hands the main loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterEvent {
    Deliver { sender: NodeId, payload: Vec<u8> },
    ConfigChange(ConfigChange),
}

/// A member and its address(es), for status reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    pub node: NodeId,
    pub address: String,
}

/// A snapshot for the CFG service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStatus {
    pub local_node: NodeId,
    pub ring_id: RingId,
    /// `(ring number, status text)`, one per configured ring.
    pub rings: Vec<(u32, String)>,
    pub members: Vec<MemberInfo>,
    /// Named counters worth showing an administrator (Totem's malformed
    /// packets), in a fixed order.
    pub counters: Vec<(String, u64)>,
}

/// See the module documentation for the driving contract.
pub trait Ordering {
    /// This node's id.
    fn local_node(&self) -> NodeId;
    /// Queues `payload` for ordered delivery to every member, this node
    /// included. Never blocks; a full queue is [`QueueFull`].
    fn submit(&mut self, payload: Vec<u8>, guarantee: Guarantee) -> Result<(), QueueFull>;
    /// As [`Ordering::submit`], but past the queue's limit too: for a
    /// request already accepted from a client that is then held (not read)
    /// until [`Ordering::has_room`], so the overshoot is bounded by what
    /// was read from each client before. `QueueFull` only for a message no
    /// queue can take. The default (for test fakes) is `submit`.
    fn submit_past_limit(&mut self, payload: Vec<u8>, guarantee: Guarantee) -> Result<(), QueueFull> {
        self.submit(payload, guarantee)
    }
    /// As [`Ordering::submit`], for a message whose client has its answer
    /// already, so that no delivery is awaited: the ordering layer may
    /// gather such messages before sending them. The default is `submit`.
    fn submit_answered(&mut self, payload: Vec<u8>, guarantee: Guarantee) -> Result<(), QueueFull> {
        self.submit(payload, guarantee)
    }
    /// Whether the send queue is below its limit (held clients may be read
    /// again).
    fn has_room(&self) -> bool {
        true
    }
    /// The next event to hand to services, if any.
    fn poll_event(&mut self) -> Option<ClusterEvent>;
    /// When [`Ordering::handle_timeout`] must next be called.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Called once `now` has reached the deadline of `poll_timeout`.
    fn handle_timeout(&mut self, now: Instant);
    /// File descriptors to watch for readability (fixed after creation).
    fn fds(&self) -> Vec<RawFd>;
    /// One of [`Ordering::fds`] is readable.
    fn handle_readable(&mut self, fd: RawFd, now: Instant);
    /// The current view, for status reports.
    fn status(&self) -> ClusterStatus;
    /// Whether messages are flowing through the ring now, so more packets
    /// are due within a rotation (the loop polls longer after packets).
    fn busy(&self) -> bool {
        false
    }
    /// Busy near the flow control limit: packets come back to back.
    fn saturated(&self) -> bool {
        false
    }
    /// Live statistics of the ring (`totem.*`, see `crate::stats`).
    fn stats(&self, _out: &mut Vec<ais_ipc::cfg::Stat>) {}
    /// Re-enables this node's FAULTY redundant rings; how many were
    /// FAULTY. Without redundant rings there is nothing to do.
    fn reenable_rings(&mut self) -> usize {
        0
    }
    /// Sends what submits made due. `submit` may leave packets queued
    /// (so the answers of messages delivered at once go out first); the
    /// main loop calls this at the end of every turn.
    fn flush_transmit(&mut self) {}
}

/// Most messages the loopback holds before [`QueueFull`].
pub const LOOPBACK_QUEUE_MESSAGES: usize = 4096;
/// Most bytes the loopback holds before [`QueueFull`].
pub const LOOPBACK_QUEUE_BYTES: usize = 16 * 1024 * 1024;
/// Sequence of the single loopback ring (rings advance in steps of 4).
pub const LOOPBACK_RING_SEQ: u64 = 4;

/// A single-node cluster: delivers its own messages, in submit order, on
/// the loop turn after they were submitted, and starts with one regular
/// configuration change containing only itself.
pub struct Loopback {
    node: NodeId,
    address: String,
    /// Submitted this turn; become ready on the next `handle_timeout`.
    submitted: VecDeque<Vec<u8>>,
    /// When the oldest of `submitted` was submitted: the deadline
    /// `poll_timeout` reports, so it is already due on the next turn
    /// (a fresh `Instant::now()` would never be `<=` the turn's `now`).
    submitted_at: Option<Instant>,
    ready: VecDeque<ClusterEvent>,
    queued_bytes: usize,
}

impl Loopback {
    pub fn new(node: NodeId, address: String) -> Loopback {
        let ring_id = RingId { rep: node, seq: LOOPBACK_RING_SEQ };
        let mut ready = VecDeque::new();
        ready.push_back(ClusterEvent::ConfigChange(ConfigChange {
            kind: ConfigKind::Regular,
            ring_id,
            members: vec![node],
            left: Vec::new(),
            joined: vec![node],
        }));
        Loopback { node, address, submitted: VecDeque::new(), submitted_at: None, ready, queued_bytes: 0 }
    }

    fn room_for(&self, len: usize) -> bool {
        let queued = self.submitted.len() + self.ready.len();
        queued < LOOPBACK_QUEUE_MESSAGES && self.queued_bytes + len <= LOOPBACK_QUEUE_BYTES
    }
}

impl Ordering for Loopback {
    fn local_node(&self) -> NodeId {
        self.node
    }

    fn submit(&mut self, payload: Vec<u8>, guarantee: Guarantee) -> Result<(), QueueFull> {
        if !self.room_for(payload.len()) {
            return Err(QueueFull);
        }
        self.submit_past_limit(payload, guarantee)
    }

    fn submit_past_limit(&mut self, payload: Vec<u8>, _guarantee: Guarantee) -> Result<(), QueueFull> {
        self.queued_bytes += payload.len();
        self.submitted.push_back(payload);
        self.submitted_at.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn has_room(&self) -> bool {
        self.room_for(0)
    }

    fn poll_event(&mut self) -> Option<ClusterEvent> {
        let ev = self.ready.pop_front()?;
        if let ClusterEvent::Deliver { payload, .. } = &ev {
            self.queued_bytes -= payload.len();
        }
        Some(ev)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        // Due at once: the next turn moves submitted messages to delivery.
        self.submitted_at
    }

    fn handle_timeout(&mut self, _now: Instant) {
        self.submitted_at = None;
        while let Some(payload) = self.submitted.pop_front() {
            self.ready.push_back(ClusterEvent::Deliver { sender: self.node, payload });
        }
    }

    fn fds(&self) -> Vec<RawFd> {
        Vec::new()
    }

    fn handle_readable(&mut self, _fd: RawFd, _now: Instant) {}

    fn stats(&self, out: &mut Vec<ais_ipc::cfg::Stat>) {
        // The ring's queue gauges under the same names: submitted this
        // turn, and delivered but not yet taken by the services.
        let send_bytes = self.submitted.iter().map(Vec::len).sum();
        let depths = totem::QueueDepths {
            send_messages: self.submitted.len(),
            send_bytes,
            events: self.ready.len(),
            ..Default::default()
        };
        crate::stats::totem_queues(&depths, out);
    }

    fn status(&self) -> ClusterStatus {
        ClusterStatus {
            local_node: self.node,
            ring_id: RingId { rep: self.node, seq: LOOPBACK_RING_SEQ },
            rings: vec![(0, "active, no faults".to_string())],
            members: vec![MemberInfo { node: self.node, address: self.address.clone() }],
            counters: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_with_a_regular_configuration_of_itself() {
        let mut l = Loopback::new(5, "127.0.0.1".into());
        let Some(ClusterEvent::ConfigChange(c)) = l.poll_event() else { panic!("no confchg") };
        assert_eq!((c.kind, c.members, c.ring_id.rep), (ConfigKind::Regular, vec![5], 5));
        assert_eq!(l.poll_event(), None);
    }

    #[test]
    fn delivers_in_submit_order_on_the_next_turn() {
        let mut l = Loopback::new(1, "127.0.0.1".into());
        l.poll_event();
        assert!(l.poll_timeout().is_none());
        l.submit(b"a".to_vec(), Guarantee::Agreed).unwrap();
        l.submit(b"b".to_vec(), Guarantee::Safe).unwrap();
        assert_eq!(l.poll_event(), None, "not in the same turn");
        assert!(l.poll_timeout().is_some());
        l.handle_timeout(Instant::now());
        assert_eq!(l.poll_event(), Some(ClusterEvent::Deliver { sender: 1, payload: b"a".to_vec() }));
        assert_eq!(l.poll_event(), Some(ClusterEvent::Deliver { sender: 1, payload: b"b".to_vec() }));
        assert_eq!(l.poll_event(), None);
        assert_eq!(l.queued_bytes, 0);
    }

    #[test]
    fn submitted_messages_are_due_by_the_next_turn() {
        // The main loop reads the clock once per turn and handles the
        // timeout only if `poll_timeout() <= now`.
        let mut l = Loopback::new(1, "x".into());
        l.poll_event();
        l.submit(b"a".to_vec(), Guarantee::Agreed).unwrap();
        let next_turn = Instant::now();
        assert!(l.poll_timeout().is_some_and(|t| t <= next_turn));
        l.handle_timeout(next_turn);
        assert_eq!(l.poll_timeout(), None);
    }

    #[test]
    fn queue_is_bounded() {
        let mut l = Loopback::new(1, "x".into());
        for _ in 0..LOOPBACK_QUEUE_MESSAGES - 1 {
            l.submit(Vec::new(), Guarantee::Agreed).unwrap();
        }
        assert_eq!(l.submit(Vec::new(), Guarantee::Agreed), Err(QueueFull));
        assert!(!l.has_room());
        // Past the limit for a held client, then room once delivered.
        l.submit_past_limit(b"x".to_vec(), Guarantee::Agreed).unwrap();
        l.handle_timeout(Instant::now());
        while l.poll_event().is_some() {}
        assert!(l.has_room());
        assert_eq!(l.queued_bytes, 0);
        let mut l = Loopback::new(1, "x".into());
        assert_eq!(l.submit(vec![0; LOOPBACK_QUEUE_BYTES + 1], Guarantee::Agreed), Err(QueueFull));
    }
}
