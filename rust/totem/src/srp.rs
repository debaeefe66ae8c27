//! The single-ring protocol state machine.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::frag::{Assembled, Cursor, MAX_MESSAGE_SIZE, Reassembly, SendQueue};
use crate::keyx::KeyExchange;
use crate::wire::{
    self, Commit, CommitEntry, CommitKx, DecodeError, ENCAP_LEN, Encap, Join, MAX_MEMBERS_WIRE, MAX_RTR_WIRE,
    MCAST_HEADER_LEN, MF_SAFE, Mcast, Packet, TF_INSTALL, TF_KEY_PHASE, TF_PENDING, TF_REKEY_ANNOUNCE, TOKEN_FIXED_LEN,
    Token,
};
use crate::{
    ConfigKind, Dest, Event, Guarantee, Micros, QueueDepths, RingId, State, Stats, SubmitError, TotemConfig, Transmit,
};

/// Smallest frame (max packet payload) the protocol accepts.
pub const MIN_FRAME_SIZE: usize = 512;
/// Most local (self-addressed) token passes handled in one call; the rest wait for `handle_timeout`.
const LOCAL_PASSES_PER_CALL: usize = 4096;
/// Retransmission requests a token of the largest ring still has room for.
const MIN_RTR_ROOM: usize = 16;
/// Frames of answered messages (see [`Totem::submit_answered`]) that end
/// a linger early. Until then, once such a message came, the token is
/// kept twice the linger (400 us by default) from its arrival: the ring's
/// rhythm is then well past the other nodes' poll after a packet (250 us
/// while messages flow), so they sleep through the hold instead of
/// polling on the CPUs the client and this node need. 3 nodes on 2 CPUs,
/// publishes in a loop, quiet, six interleaved rounds: 56-71k/s; kept one
/// linger and released at the first full frame 21-54k, at four 29-54k.
const ANSWERED_BATCH_FRAMES: usize = 4;

/// A message held in a receive buffer, as multicast on its ring.
#[derive(Clone, Debug)]
struct Stored {
    sender: u32,
    flags: u8,
    encap: Option<Encap>,
    chunks: Vec<u8>,
}

impl Stored {
    /// A frame of this node's own messages.
    fn own(me: u32, chunks: Vec<u8>, safe: bool) -> Stored {
        Stored { sender: me, flags: if safe { MF_SAFE } else { 0 }, encap: None, chunks }
    }

    /// The frame as multicast with sequence number `seq` on `ring`, under
    /// the original sender's id (also when retransmitted for it).
    fn encode(&self, ring: RingId, seq: u64) -> Vec<u8> {
        wire::encode_mcast(self.sender, ring, seq, self.flags, self.encap.as_ref(), &self.chunks)
    }
}

/// Received messages of one ring.
#[derive(Default)]
struct RxBuf {
    msgs: BTreeMap<u64, Stored>,
    /// Every sequence number up to this one was received.
    aru: u64,
    /// Highest sequence number received.
    high: u64,
    /// Every sequence number up to this one was delivered (or processed).
    delivered: u64,
}

impl RxBuf {
    fn insert(&mut self, seq: u64, m: Stored) -> bool {
        if seq <= self.aru || self.msgs.contains_key(&seq) {
            return false;
        }
        self.msgs.insert(seq, m);
        self.high = self.high.max(seq);
        while self.msgs.contains_key(&(self.aru + 1)) {
            self.aru += 1;
        }
        true
    }

    /// Forgets messages every member has and this node delivered.
    fn gc(&mut self, upto: u64) {
        let upto = upto.min(self.delivered);
        let keep = self.msgs.split_off(&(upto + 1));
        self.msgs = keep;
    }
}

/// Membership negotiation state.
#[derive(Default)]
struct Gather {
    proc_set: BTreeSet<u32>,
    fail_set: BTreeSet<u32>,
    /// Nodes whose last join had exactly our sets.
    agreed: BTreeSet<u32>,
    /// Nodes we received a join or merge-detect message from in this round.
    heard: BTreeSet<u32>,
}

impl Gather {
    fn live(&self) -> Vec<u32> {
        self.proc_set.difference(&self.fail_set).copied().collect()
    }
}

/// The ring being formed (Commit and Recovery states).
struct NewRing {
    id: RingId,
    members: Vec<u32>,
    entries: Vec<CommitEntry>,
    agreed_proc: BTreeSet<u32>,
    agreed_fail: BTreeSet<u32>,
    commit_hop: u64,
    rx: RxBuf,
    recovery: VecDeque<(u64, Stored)>,
    token_started: bool,
    /// Old-ring messages up to this were delivered by someone of our group: deliver them in the old configuration.
    deliver_in_old: u64,
    /// Highest old-ring sequence any member of our group holds.
    old_high: u64,
}

enum Local {
    Token(Token),
    Commit(Commit),
}

/// One node's Totem protocol instance.
pub struct Totem {
    me: u32,
    cfg: TotemConfig,
    frame_size: usize,
    max_members: usize,
    mcast_capacity: usize,
    backlog: u64,
    now: Micros,
    state: State,
    ring: RingId,
    members: Vec<u32>,
    installed_once: bool,
    rx: RxBuf,
    ring_seq_max: u64,
    token_seq_seen: u64,
    safe_point: u64,
    my_last_fcc: u32,
    last_aru_at_visit: u64,
    miss_visits: u32,
    idle_rotations: u32,
    last_rotation_seq: u64,
    /// The token's sequence number at our previous visit.
    seq_at_last_visit: u64,
    /// Frames the ring carried between our last two token visits.
    frames_last_rotation: u64,
    /// Our last token visit saw a whole rotation without new messages: the
    /// representative may be holding the token, so a submit sends it a wake.
    ring_looked_idle: bool,
    held: Option<Token>,
    sendq: SendQueue,
    reasm: Reassembly,
    gather: Gather,
    new: Option<NewRing>,
    tm_token_loss: Option<Micros>,
    tm_retrans: Option<Micros>,
    tm_hold: Option<Micros>,
    tm_join: Option<Micros>,
    tm_consensus: Option<Micros>,
    /// Silent nodes (no join at all) are failed at this time, long before the consensus timeout.
    tm_silent: Option<Micros>,
    tm_merge: Option<Micros>,
    last_sent_token: Option<(u32, Vec<u8>, u64)>,
    local: VecDeque<Local>,
    out: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: Stats,
    skip_recovery_retransmit: bool,
    /// Own messages delivered so far (a visit that delivers some may linger).
    own_delivered: u64,
    /// Members' safe acks delivered own messages since our last visit.
    own_delivered_on_acks: bool,
    /// Safe acks sent straight to senders and received from members.
    safe_acks: safe_acks::SafeAcks,
    /// Safe acks are due to the senders in `safe_acks` (sent once the
    /// packets at hand are handled).
    tm_safe_ack: Option<Micros>,
    /// While lingering with the token: until when, at most.
    linger_until: Option<Micros>,
    /// The token is held for the local client (a linger), not for an
    /// idle ring.
    lingering: bool,
    /// Build frames ahead (see [`Totem::set_pack_ahead`]).
    pack_ahead: bool,
    /// Frames built ahead and handed out as [`Transmit::Keep`], if any.
    ahead: Option<Ahead>,
    /// The ring key exchange (see [`Totem::new_keyed`]).
    kx: Option<KeyExchange>,
    /// The token rotation in which this node moved to its current key
    /// epoch, while it still holds the previous one (`srp/rekey.rs`).
    rekey_switched_in: Option<u64>,
    /// When, and at which token sequence, the current key epoch began.
    key_epoch_began: (Micros, u64),
    /// Joins and commit tokens arriving in parts.
    parts: parts::PartAssembly,
    /// Id of the last packet this node sent in parts.
    part_id: u32,
    /// How late live nodes answer a gather here (sets the silent-fail wait).
    lateness: membership::Lateness,
}

/// Frames built ahead of a token visit, in order.
struct Ahead {
    /// The ring and the token's sequence number they were built for: the
    /// first frame has the next sequence number.
    ring: RingId,
    seq: u64,
    /// Each frame, and where the send queue stands after it.
    frames: Vec<(Stored, Cursor)>,
}

impl Totem {
    /// Starts a node. It forms a ring of itself at once and merges with
    /// others as it hears them. `persisted_ring_seq` is the last value this
    /// node was told to persist (0 on first start).
    pub fn new(
        node_id: u32,
        cfg: TotemConfig,
        frame_size: usize,
        persisted_ring_seq: u64,
        now: Micros,
    ) -> Result<Totem, String> {
        Self::new_keyed(node_id, cfg, frame_size, persisted_ring_seq, now, None)
    }

    /// [`Totem::new`] with the ring key exchange when `key_seed` is given:
    /// 32 bytes from a CSPRNG (the simulator's seed in tests), from which
    /// the node draws its ephemeral keys and ring secrets. Every ring then
    /// has its own key ([`Event::RingKeys`]); a commit token whose secret
    /// does not unwrap here is ignored, so no ring forms from a replayed
    /// one. Every node of a cluster must agree on whether keys are used.
    pub fn new_keyed(
        node_id: u32,
        cfg: TotemConfig,
        frame_size: usize,
        persisted_ring_seq: u64,
        now: Micros,
        key_seed: Option<[u8; 32]>,
    ) -> Result<Totem, String> {
        if node_id == 0 {
            return Err("node id 0 is reserved".into());
        }
        cfg.validate()?;
        if persisted_ring_seq >= wire::MAX_RING_SEQ - (1 << 20) {
            return Err(format!("persisted ring sequence {persisted_ring_seq} is out of range (file corrupt?)"));
        }
        if !(MIN_FRAME_SIZE..=65535).contains(&frame_size) {
            return Err(format!("frame size {frame_size} must be between {MIN_FRAME_SIZE} and 65535"));
        }
        // Joins and commit tokens travel in parts when they outgrow the
        // frame; the token must fit one frame with its acks (8 bytes a member).
        let max_members = MAX_MEMBERS_WIRE.min(((frame_size - TOKEN_FIXED_LEN) / 8).saturating_sub(MIN_RTR_ROOM));
        // A restarted node starts from a ring id nobody else can hold.
        let start_seq = persisted_ring_seq.saturating_add(1);
        let mut t = Totem {
            me: node_id,
            frame_size,
            max_members,
            mcast_capacity: frame_size - MCAST_HEADER_LEN - ENCAP_LEN,
            backlog: 4 * cfg.window_size() as u64,
            cfg,
            now,
            state: State::Gather,
            ring: RingId { rep: node_id, seq: start_seq },
            members: vec![node_id],
            installed_once: false,
            rx: RxBuf::default(),
            ring_seq_max: start_seq,
            token_seq_seen: 0,
            safe_point: 0,
            my_last_fcc: 0,
            last_aru_at_visit: 0,
            miss_visits: 0,
            idle_rotations: 0,
            last_rotation_seq: 0,
            seq_at_last_visit: 0,
            frames_last_rotation: 0,
            ring_looked_idle: false,
            held: None,
            sendq: SendQueue::new(),
            reasm: Reassembly::new(),
            gather: Gather::default(),
            new: None,
            tm_token_loss: None,
            tm_retrans: None,
            tm_hold: None,
            tm_join: None,
            tm_consensus: None,
            tm_silent: None,
            tm_merge: None,
            last_sent_token: None,
            local: VecDeque::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            skip_recovery_retransmit: false,
            own_delivered: 0,
            own_delivered_on_acks: false,
            safe_acks: safe_acks::SafeAcks::default(),
            tm_safe_ack: None,
            linger_until: None,
            lingering: false,
            pack_ahead: false,
            ahead: None,
            kx: key_seed.map(KeyExchange::new),
            rekey_switched_in: None,
            key_epoch_began: (now, 0),
            parts: parts::PartAssembly::default(),
            part_id: 0,
            lateness: membership::Lateness::default(),
        };
        t.enter_gather(BTreeSet::new());
        t.run_local();
        Ok(t)
    }

    pub fn node_id(&self) -> u32 {
        self.me
    }
    pub fn state(&self) -> State {
        self.state
    }
    /// The installed ring.
    pub fn ring_id(&self) -> RingId {
        self.ring
    }
    /// Members of the installed ring, ascending.
    pub fn members(&self) -> &[u32] {
        &self.members
    }
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
    pub fn config(&self) -> &TotemConfig {
        &self.cfg
    }
    /// Largest ring this frame size allows.
    pub fn max_members(&self) -> usize {
        self.max_members
    }
    /// Whether the ring is carrying messages: the last token visit saw new
    /// messages or retransmission requests, or a message was submitted
    /// here since. (The executive polls its sockets longer after packets
    /// while this holds: the next packet is due within a rotation.)
    pub fn ring_busy(&self) -> bool {
        self.state == State::Operational && !self.ring_looked_idle
    }
    /// Busy, and the last rotation carried at least half of
    /// `max_messages` frames: the ring runs near its flow control limit,
    /// so packets come back to back (the executive then polls longer
    /// still; a trickle of messages must not make it spin).
    pub fn ring_saturated(&self) -> bool {
        self.ring_busy() && self.frames_last_rotation >= (u64::from(self.cfg.max_messages()) / 2).max(1)
    }
    /// Messages waiting in the send queue.
    pub fn send_queue_len(&self) -> usize {
        self.sendq.len()
    }
    /// What waits to be sent, received and delivered, now. Costs a walk
    /// of the received frames not yet delivered (at most the backlog of a
    /// few windows): for snapshots, not for every packet.
    pub fn queue_depths(&self) -> QueueDepths {
        let rx = &self.rx;
        let undelivered = rx.msgs.range(rx.delivered + 1..).count();
        // The token tells how far the ring got (a node that lost every
        // frame of a burst knows it only from there).
        let known = match self.state {
            State::Operational => rx.high.max(self.seq_at_last_visit),
            _ => rx.high,
        };
        QueueDepths {
            send_messages: self.sendq.len(),
            send_bytes: self.sendq.bytes(),
            undelivered_frames: undelivered,
            missing_frames: known.saturating_sub(rx.delivered).saturating_sub(undelivered as u64),
            events: self.events.len(),
        }
    }

    /// Test hook: skip the retransmission of old-ring messages during
    /// recovery (a deliberately broken rule, to show the simulator catches it).
    #[doc(hidden)]
    pub fn set_skip_recovery_retransmit(&mut self, on: bool) {
        self.skip_recovery_retransmit = on;
    }

    /// Lets this node build the frames of its next token visit as soon as
    /// it passes the token on, while only its own messages moved the ring
    /// in the last rotation (so the token should come back with the same
    /// sequence number). They are handed out as [`Transmit::Keep`] to be
    /// sealed in the meantime, and sent by a [`Transmit::SendKept`] at the
    /// visit if the token came back as predicted; otherwise they are built
    /// again. The frames on the wire are the same either way: only full
    /// frames are built ahead. Off by default; a caller that turns it on
    /// must handle both kinds of transmit.
    pub fn set_pack_ahead(&mut self, on: bool) {
        self.pack_ahead = on;
        self.abandon_ahead();
    }

    /// Whether the send queue is below its limit.
    pub fn has_room(&self) -> bool {
        self.sendq.has_room(0)
    }

    /// Queues a message for ordered delivery to every member (including this node).
    pub fn submit(&mut self, msg: &[u8], guarantee: Guarantee) -> Result<(), SubmitError> {
        self.submit_owned(msg.to_vec(), guarantee)
    }

    /// [`Totem::submit`] for a message the caller no longer needs (no copy).
    pub fn submit_owned(&mut self, msg: Vec<u8>, guarantee: Guarantee) -> Result<(), SubmitError> {
        self.room_for(&msg)?;
        self.queue(msg, guarantee, false)
    }

    /// `QueueFull` if the send queue is at its limit for `msg` (one too
    /// large for any queue is left to `queue` to refuse).
    fn room_for(&self, msg: &[u8]) -> Result<(), SubmitError> {
        if msg.len() <= MAX_MESSAGE_SIZE && !self.sendq.has_room(msg.len()) {
            return Err(SubmitError::QueueFull);
        }
        Ok(())
    }

    /// [`Totem::submit_owned`] even when the send queue is at its limit:
    /// for a caller that bounds the overshoot itself (the executive stops
    /// reading a client whose message went past the limit).
    pub fn submit_past_limit(&mut self, msg: Vec<u8>, guarantee: Guarantee) -> Result<(), SubmitError> {
        self.queue(msg, guarantee, false)
    }

    /// [`Totem::submit_owned`] for a message whose sender has its answer
    /// already (nobody waits for its delivery, as for a published event).
    /// A token kept for the local client stays kept, up to twice the
    /// linger, until [`ANSWERED_BATCH_FRAMES`] frames are queued: such
    /// messages travel together, a frame and a rotation for many instead
    /// of each (a linger is for a client that waits on a delivery; this
    /// one calls again anyway).
    pub fn submit_answered(&mut self, msg: Vec<u8>, guarantee: Guarantee) -> Result<(), SubmitError> {
        self.room_for(&msg)?;
        self.queue(msg, guarantee, true)
    }

    fn queue(&mut self, msg: Vec<u8>, guarantee: Guarantee, answered: bool) -> Result<(), SubmitError> {
        if msg.len() > MAX_MESSAGE_SIZE {
            return Err(SubmitError::TooLarge);
        }
        let was_empty = self.sendq.is_empty();
        self.sendq.push(msg, guarantee == Guarantee::Safe);
        self.stats.messages_submitted += 1;
        if was_empty && self.ring_looked_idle && self.state == State::Operational {
            // Once per idle spell: ask the representative not to sit on the token for `hold`.
            self.ring_looked_idle = false;
            if let Some(&rep) = self.members.first()
                && rep != self.me
            {
                self.stats.wakes_sent += 1;
                let bytes = wire::encode(self.me, &Packet::Wake(self.ring));
                self.out.push_back(Transmit::Send { dest: Dest::Node(rep), bytes });
            }
        }
        let keep = answered && self.lingering && self.sendq.bytes() < ANSWERED_BATCH_FRAMES * self.mcast_capacity;
        if keep && let (Some(hold), Some(lingered)) = (self.tm_hold, self.linger_until) {
            // Kept twice the linger: see `ANSWERED_BATCH_FRAMES`.
            self.tm_hold = Some(hold.max(Micros(lingered.0.saturating_add(u64::from(self.cfg.linger_us)))));
        }
        if self.state == State::Operational
            && !keep
            && let Some(t) = self.held.take()
        {
            self.tm_hold = None;
            self.release_held(t, Arrival::Released);
        }
        self.run_local();
        Ok(())
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Micros> {
        if !self.local.is_empty() {
            return Some(self.now);
        }
        [
            self.tm_token_loss,
            self.tm_retrans,
            self.tm_hold,
            self.tm_join,
            self.tm_consensus,
            self.tm_silent,
            self.tm_merge,
            self.tm_safe_ack,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn handle_timeout(&mut self, now: Micros) {
        self.now = self.now.max(now);
        let due = |t: Option<Micros>| t.is_some_and(|t| t <= now);
        if due(self.tm_token_loss) {
            self.tm_token_loss = None;
            self.stats.token_losses += 1;
            let mut proc_set: BTreeSet<u32> = self.members.iter().copied().collect();
            if let Some(n) = &self.new {
                proc_set.extend(n.members.iter().copied());
            }
            self.enter_gather(proc_set);
        }
        if due(self.tm_retrans) {
            if let Some((dest, bytes, _)) = &self.last_sent_token {
                self.send_frames(Dest::Node(*dest), bytes.clone());
                self.stats.token_retransmits += 1;
                self.tm_retrans = Some(now.plus_ms(self.cfg.token_retransmit()));
            } else {
                self.tm_retrans = None;
            }
        }
        if due(self.tm_hold) {
            self.tm_hold = None;
            if let Some(t) = self.held.take() {
                self.release_held(t, Arrival::Expired);
            }
        }
        if due(self.tm_join) {
            self.send_join();
            self.tm_join = Some(now.plus_ms(self.cfg.join));
        }
        if due(self.tm_silent) {
            self.tm_silent = None;
            self.fail_silent();
        }
        if due(self.tm_consensus) {
            self.consensus_timeout();
        }
        if due(self.tm_safe_ack) {
            self.tm_safe_ack = None;
            self.send_safe_acks();
        }
        if due(self.tm_merge) {
            let p = Packet::Merge(self.ring);
            self.multicast(self.me, &p);
            self.tm_merge = Some(now.plus_ms(self.cfg.merge));
        }
        self.run_local();
    }

    /// A packet from the network. `_from` is the transport's idea of the
    /// source node (0 if unknown); the packet's own sender field is used,
    /// since retransmissions are sent on behalf of the original sender.
    pub fn handle_packet(&mut self, _from: u32, bytes: &[u8], now: Micros) {
        self.now = self.now.max(now);
        self.stats.packets_received += 1;
        let (sender, p) = match wire::decode(bytes) {
            Ok(x) => x,
            Err(e) => return self.count_malformed(e),
        };
        if sender == self.me {
            // Our own multicast looped back, or a retransmission of our message.
            self.stats.packets_ignored += 1;
            return;
        }
        match p {
            Packet::Mcast(m) => self.on_mcast(sender, m),
            Packet::Token(t) => self.on_token(t),
            Packet::Join(j) => self.on_join(sender, j),
            Packet::Commit(c) => self.on_commit(c),
            Packet::Merge(r) => self.on_merge(sender, r),
            Packet::Wake(r) => self.on_wake(sender, r),
            Packet::Part(part) => self.on_part(sender, part),
            Packet::RekeyKey(k) => self.on_rekey_key(sender, k),
            Packet::SafeAck(a) => self.on_safe_ack(sender, a),
        }
        self.run_local();
    }

    fn count_malformed(&mut self, e: DecodeError) {
        let s = &mut self.stats;
        match e {
            DecodeError::Short => s.malformed_short += 1,
            DecodeError::BadMagic => s.malformed_bad_magic += 1,
            DecodeError::BadType => s.malformed_bad_type += 1,
            DecodeError::BadLength => s.malformed_bad_length += 1,
            DecodeError::AbsurdCount => s.malformed_absurd_count += 1,
            DecodeError::BadValue => s.malformed_bad_value += 1,
        }
    }

    // ---- plumbing ----

    fn run_local(&mut self) {
        let mut n = 0;
        while n < LOCAL_PASSES_PER_CALL {
            let Some(l) = self.local.pop_front() else { break };
            n += 1;
            match l {
                Local::Token(t) => self.process_token(t, Arrival::Passed),
                Local::Commit(c) => self.on_commit(c),
            }
        }
    }

    fn multicast(&mut self, sender: u32, p: &Packet) {
        self.send_frames(Dest::Multicast, wire::encode(sender, p));
    }

    fn send_token_like(&mut self, next: u32, local: Local, bytes: Vec<u8>, seq: u64) {
        if next == self.me {
            self.local.push_back(local);
            return;
        }
        self.stats.tokens_sent += 1;
        self.send_frames(Dest::Node(next), bytes.clone());
        self.last_sent_token = Some((next, bytes, seq));
        self.tm_retrans = Some(self.now.plus_ms(self.cfg.token_retransmit()));
    }

    /// A member with queued messages asks us (the representative) to pass on a held token.
    fn on_wake(&mut self, sender: u32, ring: RingId) {
        if self.state != State::Operational || ring != self.ring || !self.members.contains(&sender) {
            self.stats.packets_ignored += 1;
            return;
        }
        let Some(t) = self.held.take() else { return };
        self.tm_hold = None;
        self.idle_rotations = 0;
        self.release_held(t, Arrival::Expired);
    }

    /// Passes on a token the representative held. The token loss deadline stays
    /// where the token's arrival set it: holding is not hearing, and a dead node
    /// further along the ring must be noticed `token` after the token last came in.
    fn release_held(&mut self, t: Token, arrival: Arrival) {
        let deadline = self.tm_token_loss;
        self.process_token(t, arrival);
        if self.state == State::Operational && self.held.is_none() && deadline.is_some() {
            self.tm_token_loss = deadline;
        }
    }

    fn loss_deadline(&self) -> Micros {
        self.now.plus_ms(self.cfg.token_loss_timeout())
    }

    fn reset_timers(&mut self) {
        self.tm_token_loss = None;
        self.tm_retrans = None;
        self.tm_hold = None;
        self.tm_join = None;
        self.tm_consensus = None;
        self.tm_silent = None;
        self.tm_merge = None;
        self.tm_safe_ack = None;
        self.last_sent_token = None;
        self.held = None;
        self.linger_until = None;
        self.lingering = false;
    }
}

mod membership;
mod ordering;
mod parts;
mod recovery;
mod rekey;
mod safe_acks;
mod visit;

use visit::Arrival;

#[cfg(test)]
mod tests;
