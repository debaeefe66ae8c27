//! The Totem single-ring ordering and membership protocol, as a sans-IO
//! state machine (no sockets, no clock, no threads).
//!
//! The caller owns the clock and the network:
//!
//! ```text
//! let mut t = Totem::new(node_id, cfg, frame_size, persisted_ring_seq, now)?;
//! loop {
//!     while let Some(ev) = t.poll_event() { /* PersistRingSeq first: write it, then go on */ }
//!     while let Some(tx) = t.poll_transmit() { /* Transmit::Send: send bytes to dest */ }
//!     wait for a packet or until t.poll_timeout();
//!     t.handle_packet(from, &bytes, now)  or  t.handle_timeout(now);
//! }
//! ```
//!
//! Events must be drained before transmits are sent: a `PersistRingSeq`
//! must reach stable storage before this node's packets for that ring go
//! out, and the keys of a `RingKeys` must be in place before them too.
//!
//! With [`Totem::new_keyed`] every ring agrees on its own secret key while
//! the commit token goes round (`keyx.rs`); the caller seals each ring's
//! tokens and messages with it and the membership packets with the authkey
//! ([`wire::session_ring`] tells them apart).
//!
//! Protocol summary (see `srp.rs` for the rules):
//! - Operational: a token circulates the ring (sorted by node id). Its holder
//!   retransmits what others asked for, multicasts new messages stamped with
//!   consecutive sequence numbers (flow control: `max_messages` per visit,
//!   `window_size` per rotation), records its `aru` (all received up to) in
//!   the token, and passes it on. On an idle ring the representative holds
//!   the token for `hold`; a member that gets a message to send then unicasts
//!   it a wake packet (once per idle spell), so it passes the token at once.
//!   A node whose visit delivered its own messages and left it nothing to
//!   send keeps the token up to `linger_us` (200 us) for the next request of
//!   the local client those messages answered; a submit releases it at once,
//!   but for messages whose client has its answer already
//!   ([`Totem::submit_answered`]), which gather until the linger ends.
//!   Agreed messages are delivered in sequence
//!   order once all earlier ones are there; safe ones once every member's
//!   `aru` in the token covers them. With [`Totem::set_pack_ahead`], a node
//!   whose messages alone moved the ring builds the full frames of its next
//!   visit as it passes the token on, so the caller can seal them while the
//!   token is away; they are sent only if the token comes back unchanged.
//! - Gather: on token loss, a join from a new node or a merge-detect message
//!   from another ring, nodes exchange join messages (proc and fail sets)
//!   until all live nodes sent identical sets (consensus); nodes that sent
//!   no join at all are moved to the fail set after `silent_fail` (125 ms),
//!   nodes that sent joins but never agreed after `consensus` ms.
//! - Commit: the lowest node id creates a commit token for the new ring (ring
//!   sequence above any seen, persisted first). In its first rotation each
//!   member records its old ring, `aru`, highest delivered and highest
//!   received sequence; in the second everyone learns all records.
//! - Recovery: on the new ring, members retransmit old-ring messages so all
//!   members from one old ring hold the same set. When a rotation shows
//!   nothing left to send and everyone has everything, the token carries
//!   "install": each member delivers the old-ring messages that anyone of its
//!   group already delivered (regular configuration), then the transitional
//!   configuration, then the rest it holds, then the regular configuration of
//!   the new ring.

#![forbid(unsafe_code)]

pub mod config;
mod frag;
mod keyx;
mod srp;
pub mod wire;

pub use config::TotemConfig;
pub use frag::{MAX_MESSAGE_SIZE, SEND_QUEUE_MAX_BYTES, SEND_QUEUE_MAX_MESSAGES};
pub use keyx::RingKey;
pub use srp::{MIN_FRAME_SIZE, Totem};

/// Time in microseconds from an arbitrary epoch chosen by the caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Micros(pub u64);

impl Micros {
    pub fn from_millis(ms: u64) -> Micros {
        Micros(ms.saturating_mul(1000))
    }
    pub fn as_millis(self) -> u64 {
        self.0 / 1000
    }
    /// This time plus `ms` milliseconds.
    pub fn plus_ms(self, ms: u32) -> Micros {
        Micros(self.0.saturating_add(ms as u64 * 1000))
    }
}

/// A ring: its representative (lowest member id) and its sequence number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RingId {
    pub rep: u32,
    pub seq: u64,
}

/// Delivery guarantee of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guarantee {
    /// Total order: delivered once all earlier messages are delivered.
    Agreed,
    /// Total order, and only once every member of the ring has received it.
    Safe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// The send queue is full; try again after some deliveries.
    QueueFull,
    /// Larger than `MAX_MESSAGE_SIZE`.
    TooLarge,
}

impl std::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubmitError::QueueFull => write!(f, "totem send queue is full"),
            SubmitError::TooLarge => write!(f, "message larger than {MAX_MESSAGE_SIZE} bytes"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    Multicast,
    Node(u32),
}

/// A packet for the network, in the order Totem produced them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// Send `bytes` to `dest` now.
    Send { dest: Dest, bytes: Vec<u8> },
    /// A multicast frame built before the token visit that will send it
    /// (only with [`Totem::set_pack_ahead`]): seal it now, keep it, and
    /// send it when a later [`Transmit::SendKept`] says so. Lets the
    /// sealing happen while the token is elsewhere instead of on its path.
    Keep { bytes: Vec<u8> },
    /// Send the first `count` kept frames now (before anything after this
    /// item), in the order they were kept, then forget every kept frame.
    SendKept { count: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigKind {
    /// The survivors of the old ring, before the new one is in use.
    Transitional,
    /// The new ring.
    Regular,
}

/// A configuration change, delivered at the same point of the message
/// order on every node that survives it. Transitional: the members that
/// come from this node's previous regular configuration (`left` = the
/// others of it, `joined` empty). Regular: the new ring (`joined` = members
/// not in the transitional configuration, `left` empty). The very first
/// regular configuration of a node has no transitional one before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigChange {
    pub kind: ConfigKind,
    pub ring_id: RingId,
    pub members: Vec<u32>,
    pub left: Vec<u32>,
    pub joined: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An application message, in the agreed total order.
    Deliver { sender: u32, msg: Vec<u8> },
    /// A configuration change (see [`ConfigChange`]).
    ConfigChange(ConfigChange),
    /// Write this ring sequence number to stable storage before sending any
    /// further packet; pass it back to `Totem::new` after a restart.
    PersistRingSeq(u64),
    /// With key exchange ([`Totem::new_keyed`]): from now on, seal and open
    /// the packets of these rings (those [`wire::session_ring`] names) with
    /// these keys and no others; erase any key not in the list. Comes
    /// before the first packet of a new ring, when a ring is installed
    /// or given up, when a rekey gives the installed ring a next key, and
    /// when the ring moves to it or erases the previous one. The
    /// first key listed for a ring seals its packets; the others only open.
    RingKeys(Vec<(RingId, RingKey)>),
}

/// How many messages wait at each stage of ordering, now (see
/// [`Totem::queue_depths`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepths {
    /// Messages submitted here and not yet sent whole (waiting for the
    /// token or flow control).
    pub send_messages: usize,
    /// Their bytes.
    pub send_bytes: usize,
    /// Frames received on the installed ring and not yet delivered: behind
    /// a frame still missing, or Safe and not yet held by every member.
    pub undelivered_frames: usize,
    /// Frames of the installed ring not yet received, below the highest
    /// sequence number seen on a frame or the token (what this node asks
    /// to be retransmitted).
    pub missing_frames: u64,
    /// Deliveries and configuration changes not yet taken by
    /// [`Totem::poll_event`].
    pub events: usize,
}

/// Protocol state, for status displays and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Operational,
    Gather,
    Commit,
    Recovery,
}

/// Counters. `malformed_*` count packets refused by the decoder, by class.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub packets_received: u64,
    pub malformed_short: u64,
    pub malformed_bad_magic: u64,
    pub malformed_bad_type: u64,
    pub malformed_bad_length: u64,
    pub malformed_absurd_count: u64,
    pub malformed_bad_value: u64,
    /// Well-formed packets ignored: other ring, stale, duplicate or outside the receive window.
    pub packets_ignored: u64,
    pub mcast_sent: u64,
    /// Frames this node multicast again because a token asked for them.
    pub mcast_retransmitted: u64,
    /// Retransmission requests this node put on the token: sequence
    /// numbers it missed (asked once while the request stays on the
    /// token, again at a later visit if the retransmission was lost too).
    pub rtr_requested: u64,
    /// Retransmission requests found on the tokens this node received
    /// (a request nobody answered is seen again by the next node).
    pub rtr_seen: u64,
    /// Frames handed out to be sealed before their token visit
    /// ([`Transmit::Keep`]).
    pub mcast_packed_ahead: u64,
    /// Of those, frames sent as they were (the token came back as
    /// predicted); the others were built again at the visit.
    pub mcast_sent_ahead: u64,
    pub mcast_received: u64,
    pub tokens_received: u64,
    pub tokens_sent: u64,
    pub token_retransmits: u64,
    pub token_rotations: u64,
    pub token_losses: u64,
    pub joins_sent: u64,
    /// Frames sent as parts of a join or commit token too large for one frame.
    pub parts_sent: u64,
    /// Nodes moved to the fail set for sending no join in time (see `Totem::silent_wait_ms`).
    pub failed_silent: u64,
    /// Nodes moved to the fail set at a consensus timeout.
    pub failed_consensus: u64,
    /// Token requests sent to a representative that may be holding the token.
    pub wakes_sent: u64,
    /// Visits that kept the token a moment after delivering our own
    /// messages, for the next request of a local client.
    pub token_lingers: u64,
    /// Safe acks sent straight to the senders of Safe messages.
    pub safe_acks_sent: u64,
    /// Safe acks received from members.
    pub safe_acks_received: u64,
    /// Times members' safe acks made our Safe messages deliverable before
    /// the token did.
    pub safe_by_acks: u64,
    pub gathers: u64,
    pub rings_installed: u64,
    /// Times the installed ring moved to its next key (with key exchange).
    pub rekeys: u64,
    /// Rekey attempts that did not reach every member (a rekey key or the
    /// secret did not arrive); each is tried again in a later rotation.
    pub rekeys_failed: u64,
    pub messages_submitted: u64,
    pub messages_delivered: u64,
    /// Partial messages dropped because a fragment never arrived.
    pub fragments_dropped: u64,
}

impl Stats {
    /// Sum of all malformed classes.
    pub fn malformed(&self) -> u64 {
        self.malformed_by_class().iter().map(|(_, n)| n).sum()
    }

    /// Each malformed class with its name (`bad_magic`, ...), for reports.
    pub fn malformed_by_class(&self) -> [(&'static str, u64); 6] {
        [
            ("short", self.malformed_short),
            ("bad_magic", self.malformed_bad_magic),
            ("bad_type", self.malformed_bad_type),
            ("bad_length", self.malformed_bad_length),
            ("absurd_count", self.malformed_absurd_count),
            ("bad_value", self.malformed_bad_value),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_classes_are_named_and_summed() {
        let s = Stats {
            malformed_short: 1,
            malformed_bad_magic: 2,
            malformed_bad_type: 4,
            malformed_bad_length: 8,
            malformed_absurd_count: 16,
            malformed_bad_value: 32,
            packets_ignored: 64,
            ..Default::default()
        };
        let names: Vec<&str> = s.malformed_by_class().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["short", "bad_magic", "bad_type", "bad_length", "absurd_count", "bad_value"]);
        assert_eq!(s.malformed_by_class()[3], ("bad_length", 8));
        assert_eq!(s.malformed(), 63, "ignored packets are well formed");
    }
}
