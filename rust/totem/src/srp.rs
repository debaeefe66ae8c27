//! The single-ring protocol state machine.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::frag::{Assembled, MAX_MESSAGE_SIZE, Reassembly, SendQueue};
use crate::wire::{
    self, COMMIT_ENTRY_LEN, COMMIT_FIXED_LEN, Commit, CommitEntry, DecodeError, ENCAP_LEN, Encap, Join,
    MAX_MEMBERS_WIRE, MAX_RTR_WIRE, MCAST_HEADER_LEN, MF_SAFE, Mcast, Packet, TF_INSTALL, TF_PENDING,
    TOKEN_FIXED_LEN, Token,
};
use crate::{
    ConfigKind, Dest, Event, Guarantee, Micros, RingId, State, Stats, SubmitError, TotemConfig, Transmit,
};

/// Smallest frame (max packet payload) the protocol accepts.
pub const MIN_FRAME_SIZE: usize = 512;
/// Most local (self-addressed) token passes handled in one call; the rest wait for `handle_timeout`.
const LOCAL_PASSES_PER_CALL: usize = 4096;

/// A message held in a receive buffer, as multicast on its ring.
#[derive(Clone, Debug)]
struct Stored {
    sender: u32,
    flags: u8,
    encap: Option<Encap>,
    chunks: Vec<u8>,
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
    tm_merge: Option<Micros>,
    last_sent_token: Option<(u32, Vec<u8>, u64)>,
    local: VecDeque<Local>,
    out: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: Stats,
    skip_recovery_retransmit: bool,
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
        let max_members = MAX_MEMBERS_WIRE
            .min((frame_size - COMMIT_FIXED_LEN) / COMMIT_ENTRY_LEN)
            .min((frame_size - TOKEN_FIXED_LEN) / 16);
        // A restarted node starts from a ring id nobody else can hold.
        let start_seq = persisted_ring_seq.saturating_add(1);
        let mut t = Totem {
            me: node_id,
            frame_size,
            max_members,
            mcast_capacity: frame_size - MCAST_HEADER_LEN - ENCAP_LEN,
            backlog: 4 * cfg.window_size as u64,
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
            tm_merge: None,
            last_sent_token: None,
            local: VecDeque::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            skip_recovery_retransmit: false,
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
    /// Messages waiting in the send queue.
    pub fn send_queue_len(&self) -> usize {
        self.sendq.len()
    }

    /// Test hook: skip the retransmission of old-ring messages during
    /// recovery (a deliberately broken rule, to show the simulator catches it).
    #[doc(hidden)]
    pub fn set_skip_recovery_retransmit(&mut self, on: bool) {
        self.skip_recovery_retransmit = on;
    }

    /// Queues a message for ordered delivery to every member (including this node).
    pub fn submit(&mut self, msg: &[u8], guarantee: Guarantee) -> Result<(), SubmitError> {
        if msg.len() > MAX_MESSAGE_SIZE {
            return Err(SubmitError::TooLarge);
        }
        if !self.sendq.has_room(msg.len()) {
            return Err(SubmitError::QueueFull);
        }
        self.sendq.push(msg.to_vec(), guarantee == Guarantee::Safe);
        self.stats.messages_submitted += 1;
        if self.state == State::Operational
            && let Some(t) = self.held.take() {
                self.tm_hold = None;
                self.process_token(t, true);
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
        [self.tm_token_loss, self.tm_retrans, self.tm_hold, self.tm_join, self.tm_consensus, self.tm_merge]
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
                self.out.push_back(Transmit { dest: Dest::Node(*dest), bytes: bytes.clone() });
                self.stats.token_retransmits += 1;
                self.tm_retrans = Some(now.plus_ms(self.cfg.token_retransmit()));
            } else {
                self.tm_retrans = None;
            }
        }
        if due(self.tm_hold) {
            self.tm_hold = None;
            if let Some(t) = self.held.take() {
                self.process_token(t, false);
            }
        }
        if due(self.tm_join) {
            self.send_join();
            self.tm_join = Some(now.plus_ms(self.cfg.join));
        }
        if due(self.tm_consensus) {
            self.consensus_timeout();
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
            Err(e) => {
                let s = &mut self.stats;
                match e {
                    DecodeError::Short => s.malformed_short += 1,
                    DecodeError::BadMagic => s.malformed_bad_magic += 1,
                    DecodeError::BadType => s.malformed_bad_type += 1,
                    DecodeError::BadLength => s.malformed_bad_length += 1,
                    DecodeError::AbsurdCount => s.malformed_absurd_count += 1,
                    DecodeError::BadValue => s.malformed_bad_value += 1,
                }
                return;
            }
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
        }
        self.run_local();
    }

    // ---- plumbing ----

    fn run_local(&mut self) {
        let mut n = 0;
        while n < LOCAL_PASSES_PER_CALL {
            let Some(l) = self.local.pop_front() else { break };
            n += 1;
            match l {
                Local::Token(t) => self.process_token(t, true),
                Local::Commit(c) => self.on_commit(c),
            }
        }
    }

    fn multicast(&mut self, sender: u32, p: &Packet) {
        self.out.push_back(Transmit { dest: Dest::Multicast, bytes: wire::encode(sender, p) });
    }

    fn send_token_like(&mut self, next: u32, local: Local, bytes: Vec<u8>, seq: u64) {
        if next == self.me {
            self.local.push_back(local);
            return;
        }
        self.stats.tokens_sent += 1;
        self.out.push_back(Transmit { dest: Dest::Node(next), bytes: bytes.clone() });
        self.last_sent_token = Some((next, bytes, seq));
        self.tm_retrans = Some(self.now.plus_ms(self.cfg.token_retransmit()));
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
        self.tm_merge = None;
        self.last_sent_token = None;
        self.held = None;
    }

    // ---- gather ----

    fn enter_gather(&mut self, proc_init: BTreeSet<u32>) {
        if self.state == State::Operational {
            // Fragments of a half-sent message are discarded by everyone at the change; resend it whole.
            self.sendq.restart_partial();
        }
        self.stats.gathers += 1;
        self.state = State::Gather;
        self.new = None;
        self.local.clear();
        self.reset_timers();
        let mut proc_set = proc_init;
        proc_set.insert(self.me);
        while proc_set.len() > self.max_members {
            // Keep ourselves; drop the highest others.
            let Some(&last) = proc_set.iter().rev().find(|&&n| n != self.me) else { break };
            proc_set.remove(&last);
        }
        self.gather = Gather { proc_set, fail_set: BTreeSet::new(), agreed: BTreeSet::new() };
        self.tm_consensus = Some(self.now.plus_ms(self.cfg.consensus()));
        if self.cfg.send_join > 0 {
            self.tm_join = Some(self.now.plus_ms(self.cfg.send_join));
        } else {
            self.send_join();
            self.tm_join = Some(self.now.plus_ms(self.cfg.join));
        }
        self.check_consensus();
    }

    /// Largest proc or fail set: both must fit in one join packet.
    fn max_set(&self) -> usize {
        MAX_MEMBERS_WIRE.min((self.frame_size - wire::HEADER_LEN - 12) / 8)
    }

    fn send_join(&mut self) {
        if self.state != State::Gather {
            return;
        }
        let j = Join {
            proc_set: self.gather.proc_set.iter().copied().collect(),
            fail_set: self.gather.fail_set.iter().copied().collect(),
            ring_seq: self.ring_seq_max,
        };
        self.stats.joins_sent += 1;
        self.multicast(self.me, &Packet::Join(j));
    }

    fn on_join(&mut self, sender: u32, j: Join) {
        match self.state {
            State::Operational => {
                if self.members.contains(&sender) && j.ring_seq < self.ring.seq {
                    // Left over from the gather that formed this ring.
                    self.stats.packets_ignored += 1;
                    return;
                }
                if j.fail_set.contains(&self.me) {
                    // Its ring forms without us; merge detection joins the two rings later.
                    // (Reacting would let two nodes bounce each other between gathers forever.)
                    self.stats.packets_ignored += 1;
                    return;
                }
                let mut p: BTreeSet<u32> = self.members.iter().copied().collect();
                p.insert(sender);
                self.enter_gather(p);
            }
            State::Commit | State::Recovery => {
                let Some(n) = &self.new else { return };
                if !n.members.contains(&sender) {
                    // Merged later, through merge detection.
                    self.stats.packets_ignored += 1;
                    return;
                }
                let stale = j.ring_seq < n.id.seq
                    && j.proc_set.iter().all(|x| n.agreed_proc.contains(x))
                    && j.fail_set.iter().all(|x| n.agreed_fail.contains(x));
                if stale {
                    self.stats.packets_ignored += 1;
                    return;
                }
                let mut p: BTreeSet<u32> = n.members.iter().copied().collect();
                p.extend(self.members.iter().copied());
                self.enter_gather(p);
            }
            State::Gather => {}
        }
        self.ring_seq_max = self.ring_seq_max.max(j.ring_seq);
        let max_set = self.max_set();
        let g = &mut self.gather;
        if g.fail_set.contains(&sender) {
            self.stats.packets_ignored += 1;
            return;
        }
        if j.fail_set.contains(&self.me) {
            // It considers us failed and forms its ring without us; we stop waiting for it
            // at our consensus timeout, and merge detection joins the rings later. Failing
            // it right here would spread "failed" sets around and split everyone into singletons.
            self.stats.packets_ignored += 1;
            return;
        }
        let mut proc_set = g.proc_set.clone();
        proc_set.extend(j.proc_set.iter().copied());
        let mut fail_set = g.fail_set.clone();
        fail_set.extend(j.fail_set.iter().copied());
        // Both sets travel in our join, which must fit in a frame.
        if proc_set.difference(&fail_set).count() > self.max_members
            || proc_set.len() > max_set
            || fail_set.len() > max_set
        {
            self.stats.packets_ignored += 1;
            return;
        }
        let changed = proc_set != g.proc_set || fail_set != g.fail_set;
        g.proc_set = proc_set;
        g.fail_set = fail_set;
        if changed {
            g.agreed.clear();
        }
        let same = j.proc_set.iter().copied().collect::<BTreeSet<_>>() == g.proc_set
            && j.fail_set.iter().copied().collect::<BTreeSet<_>>() == g.fail_set;
        if same {
            g.agreed.insert(sender);
        }
        if changed {
            self.send_join();
        }
        self.check_consensus();
    }

    fn on_merge(&mut self, sender: u32, ring: RingId) {
        match self.state {
            State::Operational => {
                let foreign = !self.members.contains(&sender) || ring.seq > self.ring.seq;
                if ring != self.ring && foreign {
                    let mut p: BTreeSet<u32> = self.members.iter().copied().collect();
                    p.insert(sender);
                    self.enter_gather(p);
                } else {
                    self.stats.packets_ignored += 1;
                }
            }
            State::Gather => {
                let g = &mut self.gather;
                if !g.proc_set.contains(&sender)
                    && !g.fail_set.contains(&sender)
                    && g.proc_set.difference(&g.fail_set).count() < self.max_members
                    && g.proc_set.len() < MAX_MEMBERS_WIRE.min((self.frame_size - wire::HEADER_LEN - 12) / 8)
                {
                    g.proc_set.insert(sender);
                    g.agreed.clear();
                    self.send_join();
                }
            }
            _ => self.stats.packets_ignored += 1,
        }
    }

    fn consensus_timeout(&mut self) {
        let g = &mut self.gather;
        let missing: Vec<u32> =
            g.live().into_iter().filter(|n| *n != self.me && !g.agreed.contains(n)).collect();
        g.fail_set.extend(missing);
        // Require fresh joins next round, so a representative that died after consensus is noticed.
        g.agreed.clear();
        self.tm_consensus = Some(self.now.plus_ms(self.cfg.consensus()));
        self.send_join();
        self.check_consensus();
    }

    fn check_consensus(&mut self) {
        if self.state != State::Gather {
            return;
        }
        let live = self.gather.live();
        if !live.iter().all(|n| *n == self.me || self.gather.agreed.contains(n)) {
            return;
        }
        if live.first() != Some(&self.me) {
            return; // wait for the representative's commit token
        }
        let seq = self.ring_seq_max.saturating_add(4);
        self.ring_seq_max = seq;
        self.events.push_back(Event::PersistRingSeq(seq));
        let id = RingId { rep: self.me, seq };
        let entries = vec![CommitEntry::default(); live.len()];
        let c = Commit { ring: id, hop: 0, members: live, entries };
        self.accept_commit(c);
    }

    // ---- commit ----

    fn my_entry(&self) -> CommitEntry {
        CommitEntry {
            filled: true,
            old_ring: self.ring,
            aru: self.rx.aru,
            high_delivered: self.rx.delivered,
            high_seq: self.rx.high,
        }
    }

    /// First visit of a commit token: record our entry, enter Commit, pass it on.
    fn accept_commit(&mut self, mut c: Commit) {
        let Some(idx) = c.members.iter().position(|m| *m == self.me) else { return };
        if c.ring.seq > self.ring_seq_max || c.ring.rep == self.me {
            self.ring_seq_max = self.ring_seq_max.max(c.ring.seq);
            if c.ring.rep != self.me {
                self.events.push_back(Event::PersistRingSeq(c.ring.seq));
            }
        }
        c.entries[idx] = self.my_entry();
        self.reset_timers();
        self.state = State::Commit;
        self.new = Some(NewRing {
            id: c.ring,
            members: c.members.clone(),
            entries: c.entries.clone(),
            agreed_proc: self.gather.proc_set.clone(),
            agreed_fail: self.gather.fail_set.clone(),
            commit_hop: c.hop,
            rx: RxBuf::default(),
            recovery: VecDeque::new(),
            token_started: false,
            deliver_in_old: 0,
            old_high: 0,
        });
        self.tm_token_loss = Some(self.loss_deadline());
        self.forward_commit(c, idx);
    }

    fn forward_commit(&mut self, mut c: Commit, idx: usize) {
        c.hop = c.hop.saturating_add(1);
        let next = c.members[(idx + 1) % c.members.len()];
        let bytes = if next == self.me { Vec::new() } else { wire::encode(self.me, &Packet::Commit(c.clone())) };
        let hop = c.hop;
        self.send_token_like(next, Local::Commit(c), bytes, hop);
    }

    fn on_commit(&mut self, c: Commit) {
        let Some(idx) = c.members.iter().position(|m| *m == self.me) else {
            self.stats.packets_ignored += 1;
            return;
        };
        match self.state {
            State::Gather => {
                let live = self.gather.live();
                if c.members == live && !c.entries[idx].filled && c.ring.seq > self.ring.seq {
                    self.accept_commit(c);
                } else {
                    self.stats.packets_ignored += 1;
                }
            }
            State::Commit => {
                let Some(n) = &self.new else { return };
                if n.id != c.ring || c.hop <= n.commit_hop || !c.entries.iter().all(|e| e.filled) {
                    self.stats.packets_ignored += 1;
                    return;
                }
                if let Some(n) = &mut self.new {
                    n.entries = c.entries.clone();
                    n.commit_hop = c.hop;
                }
                self.tm_retrans = None;
                self.last_sent_token = None;
                self.enter_recovery();
                self.forward_commit(c, idx);
            }
            State::Recovery => {
                let Some(n) = &mut self.new else { return };
                if n.id != c.ring || c.hop <= n.commit_hop || idx != 0 || n.token_started {
                    self.stats.packets_ignored += 1;
                    return;
                }
                // Second rotation done: every member is in recovery. Start the ring's token.
                n.token_started = true;
                n.commit_hop = c.hop;
                let t = Token {
                    ring: n.id,
                    token_seq: 1,
                    seq: 0,
                    rotation_seq: 0,
                    fcc: 0,
                    flags: 0,
                    acks: vec![0; n.members.len()],
                    rtr: Vec::new(),
                };
                self.token_seq_seen = 0;
                self.process_token(t, true);
            }
            State::Operational => self.stats.packets_ignored += 1,
        }
    }

    // ---- recovery ----

    fn enter_recovery(&mut self) {
        self.state = State::Recovery;
        self.tm_token_loss = Some(self.loss_deadline());
        self.token_seq_seen = 0;
        self.my_last_fcc = 0;
        let my_ring = self.ring;
        let skip = self.skip_recovery_retransmit;
        let me = self.me;
        let Some(n) = &mut self.new else { return };
        let group: Vec<usize> = (0..n.members.len()).filter(|i| n.entries[*i].old_ring == my_ring).collect();
        let min_aru = group.iter().map(|i| n.entries[*i].aru).min().unwrap_or(0);
        n.old_high = group.iter().map(|i| n.entries[*i].high_seq).max().unwrap_or(0);
        n.deliver_in_old = group.iter().map(|i| n.entries[*i].high_delivered).max().unwrap_or(0);
        if skip || min_aru >= n.old_high {
            return;
        }
        // Retransmit what someone of our group may lack: a message goes out from the
        // first member whose aru covers it, or from every holder if nobody's does.
        for (&s, m) in self.rx.msgs.range(min_aru + 1..=n.old_high) {
            let covering = group.iter().find(|i| n.entries[**i].aru >= s);
            let mine = match covering {
                Some(i) => n.members[*i] == me,
                None => true,
            };
            if mine {
                n.recovery.push_back((s, m.clone()));
            }
        }
    }

    /// Moves recovered old-ring messages (new-ring messages in order) into the old ring's buffer.
    fn process_recovered(&mut self) {
        let my_ring = self.ring;
        let Some(n) = &mut self.new else { return };
        while n.rx.delivered < n.rx.aru {
            let s = n.rx.delivered + 1;
            let Some(m) = n.rx.msgs.get(&s) else { break };
            let Some(e) = &m.encap else { break };
            if e.old_ring == my_ring && e.old_seq <= n.old_high && e.old_seq > self.rx.delivered {
                let old = Stored { sender: e.orig_sender, flags: e.orig_flags, encap: None, chunks: m.chunks.clone() };
                let seq = e.old_seq;
                self.rx.insert(seq, old);
            }
            n.rx.delivered = s;
        }
    }

    fn install(&mut self) {
        self.process_recovered();
        let Some(n) = self.new.take() else { return };
        let trans: Vec<u32> = n
            .members
            .iter()
            .zip(&n.entries)
            .filter(|(_, e)| e.old_ring == self.ring)
            .map(|(m, _)| *m)
            .collect();
        if self.installed_once {
            // What someone of our group delivered in the old configuration, everyone of it delivers there.
            // (Iterates over held messages only: the bound comes from the network.)
            let upto = n.deliver_in_old.min(n.old_high);
            if self.rx.delivered < upto {
                let early: Vec<Stored> =
                    self.rx.msgs.range(self.rx.delivered + 1..=upto).map(|(_, m)| m.clone()).collect();
                for m in &early {
                    self.deliver_stored(m);
                }
                self.rx.delivered = upto;
            }
            let left: Vec<u32> = self.members.iter().filter(|m| !trans.contains(m)).copied().collect();
            self.events.push_back(Event::ConfigChange {
                kind: ConfigKind::Transitional,
                ring_id: n.id,
                members: trans.clone(),
                left,
                joined: Vec::new(),
            });
            // The rest, in order, skipping what nobody of our group has.
            let from = self.rx.delivered + 1;
            let rest: Vec<Stored> = if from <= n.old_high {
                self.rx.msgs.range(from..=n.old_high).map(|(_, m)| m.clone()).collect()
            } else {
                Vec::new()
            };
            for m in &rest {
                self.deliver_stored(m);
            }
        }
        self.stats.fragments_dropped += self.reasm.clear() as u64;
        let joined: Vec<u32> = if self.installed_once {
            n.members.iter().filter(|m| !trans.contains(m)).copied().collect()
        } else {
            n.members.clone()
        };
        self.events.push_back(Event::ConfigChange {
            kind: ConfigKind::Regular,
            ring_id: n.id,
            members: n.members.clone(),
            left: Vec::new(),
            joined,
        });
        self.installed_once = true;
        self.stats.rings_installed += 1;
        self.ring = n.id;
        self.members = n.members;
        self.rx = n.rx;
        self.state = State::Operational;
        self.safe_point = 0;
        self.idle_rotations = 0;
        self.last_rotation_seq = 0;
        self.miss_visits = 0;
        self.last_aru_at_visit = 0;
        self.tm_merge = if self.members[0] == self.me { Some(self.now.plus_ms(self.cfg.merge)) } else { None };
    }

    fn deliver_stored(&mut self, m: &Stored) {
        if m.encap.is_some() {
            return;
        }
        let mut out = Vec::new();
        let mut dropped = 0;
        let sender = m.sender;
        let reasm = &mut self.reasm;
        let _ = wire::for_each_chunk(&m.chunks, |c| match reasm.push(sender, &c) {
            Assembled::Message(msg) => out.push(msg),
            Assembled::Dropped => dropped += 1,
            Assembled::Nothing => {}
        });
        self.stats.fragments_dropped += dropped;
        for msg in out {
            self.stats.messages_delivered += 1;
            self.events.push_back(Event::Deliver { sender, msg });
        }
    }

    /// Delivers what total order (and, for safe messages, the acks) allows.
    fn deliver(&mut self) {
        while self.rx.delivered < self.rx.aru {
            let s = self.rx.delivered + 1;
            let Some(m) = self.rx.msgs.get(&s) else { break };
            if m.flags & MF_SAFE != 0 && s > self.safe_point {
                break;
            }
            let m = m.clone();
            self.deliver_stored(&m);
            self.rx.delivered = s;
        }
    }

    // ---- operational ----

    fn on_mcast(&mut self, sender: u32, m: Mcast) {
        self.stats.mcast_received += 1;
        let stored = Stored { sender, flags: m.flags & MF_SAFE, encap: m.encap, chunks: m.chunks };
        match self.state {
            State::Operational | State::Gather if m.ring == self.ring && self.members.contains(&sender) => {
                if m.seq > self.rx.aru + self.backlog || !self.rx.insert(m.seq, stored) {
                    self.stats.packets_ignored += 1;
                    return;
                }
                if self.state == State::Operational {
                    self.deliver();
                    if let Some((next, _, seq)) = &self.last_sent_token
                        && *next == sender && m.seq > *seq {
                            self.tm_retrans = None;
                        }
                }
            }
            State::Recovery => {
                let Some(n) = &mut self.new else { return };
                if m.ring != n.id || !n.members.contains(&sender) {
                    self.stats.packets_ignored += 1;
                    return;
                }
                if m.seq > n.rx.aru + self.backlog || !n.rx.insert(m.seq, stored) {
                    self.stats.packets_ignored += 1;
                    return;
                }
                self.process_recovered();
            }
            _ => self.stats.packets_ignored += 1,
        }
    }

    fn on_token(&mut self, t: Token) {
        let (ring, n_members) = match (self.state, &self.new) {
            (State::Operational, _) => (self.ring, self.members.len()),
            (State::Recovery, Some(n)) => (n.id, n.members.len()),
            _ => {
                self.stats.packets_ignored += 1;
                return;
            }
        };
        if t.ring != ring || t.token_seq <= self.token_seq_seen || t.acks.len() != n_members {
            self.stats.packets_ignored += 1;
            return;
        }
        self.stats.tokens_received += 1;
        self.process_token(t, true);
    }

    fn process_token(&mut self, mut t: Token, may_hold: bool) {
        self.token_seq_seen = t.token_seq;
        self.tm_token_loss = Some(self.loss_deadline());
        self.tm_retrans = None;
        self.last_sent_token = None;
        let members = match (self.state, &self.new) {
            (State::Recovery, Some(n)) => n.members.clone(),
            (State::Operational, _) => self.members.clone(),
            _ => return,
        };
        let Some(idx) = members.iter().position(|m| *m == self.me) else { return };
        let is_rep = idx == 0;
        if is_rep {
            self.stats.token_rotations += 1;
            let min_ack = t.acks.iter().copied().min().unwrap_or(0);
            if self.state == State::Recovery
                && t.rotation_seq > 0
                && t.flags & TF_PENDING == 0
                && min_ack == t.seq
            {
                t.flags |= TF_INSTALL;
            }
            t.flags &= !TF_PENDING;
            t.rotation_seq = t.rotation_seq.saturating_add(1);
        }
        if t.flags & TF_INSTALL != 0 && self.state == State::Recovery {
            self.install();
        }
        let operational = self.state == State::Operational;
        let ring = t.ring;
        let max_rtr = MAX_RTR_WIRE.min(256);

        // Answer retransmission requests.
        let mut sent: u32 = 0;
        t.fcc = t.fcc.saturating_sub(self.my_last_fcc);
        let mut still_missing = Vec::new();
        for &s in &t.rtr {
            let m = {
                let buf = if operational { &self.rx } else { self.new.as_ref().map(|n| &n.rx).unwrap_or(&self.rx) };
                buf.msgs.get(&s).cloned()
            };
            match m {
                Some(m) => {
                    self.send_mcast(ring, s, &m);
                    self.stats.mcast_retransmitted += 1;
                    sent += 1;
                }
                None => still_missing.push(s),
            }
        }
        t.rtr = still_missing;

        // Ask for what we miss.
        let (aru, have) = {
            let buf = if operational { &self.rx } else { self.new.as_ref().map(|n| &n.rx).unwrap_or(&self.rx) };
            let upto = t.seq.min(buf.aru + self.backlog);
            let have: Vec<u64> =
                (buf.aru + 1..=upto).filter(|s| !buf.msgs.contains_key(s)).take(max_rtr).collect();
            (buf.aru, have)
        };
        for s in have {
            if t.rtr.len() >= max_rtr {
                break;
            }
            if !t.rtr.contains(&s) {
                t.rtr.push(s);
            }
        }
        if aru < t.seq && aru == self.last_aru_at_visit {
            self.miss_visits += 1;
        } else {
            self.miss_visits = 0;
        }
        self.last_aru_at_visit = aru;
        if self.miss_visits >= self.cfg.fail_to_recv_const {
            let p: BTreeSet<u32> = members.iter().copied().collect();
            self.enter_gather(p);
            return;
        }

        // New messages, within flow control.
        let min_ack = t.acks.iter().copied().min().unwrap_or(0);
        let outstanding = t.seq.saturating_sub(min_ack);
        let quota = (self.cfg.max_messages as u64)
            .min((self.cfg.window_size as u64).saturating_sub(t.fcc as u64))
            .min(self.backlog.saturating_sub(outstanding));
        let mut new_sent = 0u64;
        while new_sent < quota {
            let stored = if operational {
                match self.sendq.next_packet(self.mcast_capacity) {
                    Some((chunks, safe)) => {
                        Stored { sender: self.me, flags: if safe { MF_SAFE } else { 0 }, encap: None, chunks }
                    }
                    None => break,
                }
            } else {
                let old_ring = self.ring;
                let Some(n) = &mut self.new else { break };
                match n.recovery.pop_front() {
                    Some((old_seq, m)) => Stored {
                        sender: self.me,
                        flags: 0,
                        encap: Some(Encap { old_ring, old_seq, orig_sender: m.sender, orig_flags: m.flags }),
                        chunks: m.chunks,
                    },
                    None => break,
                }
            };
            let Some(s) = t.seq.checked_add(1) else { break };
            t.seq = s;
            self.send_mcast(ring, s, &stored);
            if operational {
                self.rx.insert(s, stored);
            } else if let Some(n) = &mut self.new {
                n.rx.insert(s, stored);
            }
            self.stats.mcast_sent += 1;
            new_sent += 1;
        }
        sent += new_sent as u32;
        if !operational && self.new.as_ref().is_some_and(|n| !n.recovery.is_empty()) {
            t.flags |= TF_PENDING;
        }
        t.fcc = t.fcc.saturating_add(sent);
        self.my_last_fcc = sent;

        // Record our aru; deliver.
        let my_aru = if operational { self.rx.aru } else { self.new.as_ref().map(|n| n.rx.aru).unwrap_or(0) };
        t.acks[idx] = my_aru;
        let min_ack = t.acks.iter().copied().min().unwrap_or(0);
        if operational {
            self.safe_point = self.safe_point.max(min_ack.min(self.rx.aru));
            self.deliver();
            self.rx.gc(self.safe_point);
        } else {
            self.process_recovered();
        }

        // Idle ring: the representative holds the token a while.
        let mut hold = false;
        if is_rep && operational {
            let idle = t.seq == self.last_rotation_seq && t.rtr.is_empty() && min_ack == t.seq && self.sendq.is_empty();
            if idle {
                self.idle_rotations = self.idle_rotations.saturating_add(1);
            } else {
                self.idle_rotations = 0;
            }
            self.last_rotation_seq = t.seq;
            hold = may_hold && idle && self.idle_rotations >= self.cfg.seqno_unchanged_const;
        }
        t.token_seq = t.token_seq.saturating_add(1);
        if hold {
            self.token_seq_seen = t.token_seq.saturating_sub(1);
            self.held = Some(t);
            self.tm_hold = Some(self.now.plus_ms(self.cfg.hold()));
            return;
        }
        let next = members[(idx + 1) % members.len()];
        let bytes = if next == self.me { Vec::new() } else { wire::encode(self.me, &Packet::Token(t.clone())) };
        let seq = t.seq;
        self.send_token_like(next, Local::Token(t), bytes, seq);
    }

    fn send_mcast(&mut self, ring: RingId, seq: u64, m: &Stored) {
        let p = Packet::Mcast(Mcast { ring, seq, flags: m.flags, encap: m.encap.clone(), chunks: m.chunks.clone() });
        // Sent under the original sender's id, also when retransmitting for it.
        self.multicast(m.sender, &p);
    }
}

#[cfg(test)]
mod tests;
