//! The simulated cluster: N Totem nodes, a virtual clock, a faulty network,
//! partitions, crashes/restarts and a client workload. Everything is driven
//! by one seeded PRNG, so a seed replays exactly.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::rc::Rc;

use totem::{
    ConfigChange, ConfigKind, Dest, Event, Guarantee, Micros, RingId, RingKey, State, Totem, TotemConfig, Transmit,
};

use crate::check::{Incarnation, MsgId, Rec, Trace};
use ais_testrng::Rng;

/// What faults a run injects.
/// Messages submitted at once by the sender of a `one_sender` scenario.
pub const BURST: usize = 20;

#[derive(Clone, Debug, Default)]
pub struct Scenario {
    pub nodes: u32,
    pub loss: f64,
    pub dup: f64,
    /// Probability that a packet is held up 20..400 ms (stale packets across membership changes).
    pub spikes: f64,
    pub partitions: bool,
    pub crashes: bool,
    /// Scheduling stalls, as on an overloaded machine: each node is stalled
    /// this many times a second on average (the whole run, not only the
    /// fault phase), each time for 50-300 ms, during which it receives,
    /// sends and times out nothing; what arrived meanwhile is handled when
    /// it runs again. 0: never.
    pub stalls: f64,
    /// Deliberately broken protocol rule: skip recovery retransmission.
    pub broken_recovery: bool,
    /// Mean gap between a node's submissions in ms (0: the default, 100 ms).
    pub gap_ms: u64,
    /// Only node 2 (node 1 when alone) submits, [`BURST`] messages at a
    /// time: one sender with a backlog, as in a bulk transfer. (Its frames
    /// are built ahead of its token visits.)
    pub one_sender: bool,
    /// Every node runs a client that calls in a loop: it submits its next
    /// message 0-400 us after its previous one is delivered back to it (50
    /// ms after submitting if it never is), as a program waiting for each
    /// answer does. (Nodes linger with the token for such a client.)
    pub closed_loop: bool,
    /// Print a summary line per seed.
    pub verbose: bool,
    /// Print the log of every node, with the deliveries from this sender (0: none).
    pub dump: u32,
}

impl Scenario {
    pub fn label(&self) -> String {
        let mut s = format!("nodes {}", self.nodes);
        if self.loss > 0.0 {
            s += &format!(" loss {}", self.loss);
        }
        if self.dup > 0.0 {
            s += &format!(" dup {}", self.dup);
        }
        if self.spikes > 0.0 {
            s += &format!(" spikes {}", self.spikes);
        }
        if self.partitions {
            s += " partitions";
        }
        if self.crashes {
            s += " crashes";
        }
        if self.stalls > 0.0 {
            s += &format!(" stalls {}", self.stalls);
        }
        if self.gap_ms > 0 {
            s += &format!(" gap {}ms", self.gap_ms);
        }
        if self.one_sender {
            s += " one-sender";
        }
        if self.closed_loop {
            s += " closed-loop";
        }
        if self.broken_recovery {
            s += " broken-recovery";
        }
        s
    }
}

/// Frame size used by the simulated transport: small, so that the workload's
/// larger messages are fragmented.
pub const FRAME_SIZE: usize = 1024;
/// Faults (partitions, crashes, loss, duplication) happen only before this time.
pub const FAULT_PHASE_MS: u64 = 6000;
/// Workload continues this long after the liveness bound, then the network goes quiet.
const WORKLOAD_AFTER_FORM_MS: u64 = 2000;
const QUIET_MS: u64 = 3000;

/// The bound within which one ring of all live nodes must form after faults stop.
pub fn liveness_bound_ms(cfg: &TotemConfig) -> u64 {
    // Token loss detection, up to three gather rounds, a merge-detect period, slack.
    2 * cfg.token as u64 + 3 * cfg.consensus() as u64 + cfg.merge as u64 + 1000
}

struct Packet {
    at: u64,
    order: u64,
    to: u32,
    bytes: Rc<[u8]>,
    /// The sender's key for the packet's ring ("sealed" with it), if it is
    /// a ring packet: only a node holding the same key opens it.
    key: Option<RingKey>,
}

impl PartialEq for Packet {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.order) == (o.at, o.order)
    }
}
impl Eq for Packet {}
impl PartialOrd for Packet {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Packet {
    fn cmp(&self, o: &Self) -> Ordering {
        // Min-heap on (time, order).
        (o.at, o.order).cmp(&(self.at, self.order))
    }
}

/// A fault injected at a planned time.
pub enum Fault {
    Partition(Vec<u8>),
    Heal,
    Crash(u32),
    Restart(u32),
}

struct Node {
    totem: Option<Totem>,
    /// Index into `Sim::incs` of the current incarnation.
    inc: usize,
    incarnations: u32,
    persisted: u64,
    next_submit: u64,
    counter: u64,
    /// With `closed_loop`: the counter of the message its client waits for.
    awaiting: Option<u64>,
    /// Frames kept for a later `Transmit::SendKept`, as a transport keeps
    /// them sealed.
    kept: Vec<Vec<u8>>,
    /// The ring keys this incarnation's transport holds (its last
    /// `RingKeys`).
    keys: Vec<(RingId, RingKey)>,
    /// The node's process is not scheduled until this time (see `Scenario::stalls`).
    stalled_until: u64,
    /// When its next stall begins (`u64::MAX`: never).
    next_stall: u64,
}

impl Node {
    /// When the node next handles a timeout: when it is due and the process runs.
    fn timeout(&self) -> Option<u64> {
        Some(self.totem.as_ref()?.poll_timeout()?.0.max(self.stalled_until))
    }
}

/// Per-run figures, for `--report`.
#[derive(Default, Clone, Debug)]
pub struct Figures {
    pub formed_at_ms: Option<u64>,
    pub rotations: u64,
    pub delivered_at_rep: u64,
    pub mcast_sent: u64,
    /// Of those, frames built and sealed before their token visit.
    pub mcast_sent_ahead: u64,
    /// Safe acks received by live nodes, and deliveries they allowed.
    pub safe_acks: (u64, u64),
    /// Summed over the nodes alive at the end: token losses, and nodes
    /// failed for silence in gather and at a consensus timeout.
    pub token_losses: u64,
    pub failed_silent: u64,
    pub failed_consensus: u64,
    /// Summed over the nodes alive at the end: moves of the installed
    /// ring to its next key (`rekey_interval`, `rekey_packets`).
    pub rekeys: u64,
}

pub struct Sim {
    cfg: TotemConfig,
    sc: Scenario,
    rng: Rng,
    now: u64,
    order: u64,
    nodes: Vec<Node>,
    incs: Vec<Incarnation>,
    heap: BinaryHeap<Packet>,
    faults: Vec<(u64, Fault)>,
    next_fault: usize,
    groups: Vec<u8>,
    faulty_net: bool,
    pub workload: bool,
    pub workload_mean_ms: u64,
    formed_at: Option<u64>,
    config_changed: bool,
    corrupt: Vec<String>,
    /// Packets dropped because the receiver held no key they were sealed with.
    pub unopened: u64,
}

/// The simulator clock counts microseconds.
const MS: u64 = 1000;

/// Payload of a workload message: node, incarnation, counter, safe flag, total length, then a pattern.
pub fn make_payload(id: MsgId, safe: bool, len: usize) -> Vec<u8> {
    let len = len.max(PAYLOAD_HEADER);
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&id.0.to_le_bytes());
    v.extend_from_slice(&id.1.to_le_bytes());
    v.extend_from_slice(&id.2.to_le_bytes());
    v.push(safe as u8);
    v.extend_from_slice(&(len as u32).to_le_bytes());
    let seed = ((id.0 as u64) << 40) ^ ((id.1 as u64) << 32) ^ id.2;
    let mut i = 0u64;
    while v.len() < len {
        v.push((seed.wrapping_mul(31).wrapping_add(i * 7) >> 3) as u8);
        i += 1;
    }
    v
}

const PAYLOAD_HEADER: usize = 21;

/// Parses and verifies a workload payload: any change or truncation is detected.
pub fn parse_payload(b: &[u8]) -> Option<(MsgId, bool)> {
    if b.len() < PAYLOAD_HEADER {
        return None;
    }
    let node = u32::from_le_bytes(b[0..4].try_into().ok()?);
    let inc = u32::from_le_bytes(b[4..8].try_into().ok()?);
    let counter = u64::from_le_bytes(b[8..16].try_into().ok()?);
    let safe = match b[16] {
        0 => false,
        1 => true,
        _ => return None,
    };
    let id = (node, inc, counter);
    if make_payload(id, safe, b.len()) != b {
        return None;
    }
    Some((id, safe))
}

impl Sim {
    /// Replaces the planned faults (times in ms, before `FAULT_PHASE_MS`).
    pub fn set_faults(&mut self, mut faults: Vec<(u64, Fault)>) {
        faults.iter_mut().for_each(|f| f.0 *= MS);
        faults.sort_by_key(|f| f.0);
        self.faults = faults;
        self.next_fault = 0;
    }

    pub fn new(seed: u64, sc: &Scenario, cfg: TotemConfig) -> Sim {
        let mut rng = Rng::new(seed);
        let n = sc.nodes.max(1);
        let faults = Self::plan_faults(&mut rng, sc);
        let mut sim = Sim {
            cfg,
            sc: sc.clone(),
            rng,
            now: 0,
            order: 0,
            nodes: Vec::new(),
            incs: Vec::new(),
            heap: BinaryHeap::new(),
            faults,
            next_fault: 0,
            groups: vec![0; n as usize],
            faulty_net: true,
            workload: true,
            workload_mean_ms: if sc.gap_ms > 0 { sc.gap_ms } else { 100 },
            formed_at: None,
            config_changed: false,
            corrupt: Vec::new(),
            unopened: 0,
        };
        let sender = n.min(2);
        for id in 1..=n {
            let first = if sc.one_sender && id != sender { u64::MAX } else { sim.rng.range(0, 300) * MS };
            let next_stall = sim.stall_gap();
            sim.nodes.push(Node {
                totem: None,
                inc: 0,
                incarnations: 0,
                persisted: 0,
                next_submit: first,
                counter: 0,
                awaiting: None,
                kept: Vec::new(),
                keys: Vec::new(),
                stalled_until: 0,
                next_stall,
            });
            sim.start_node(id);
        }
        sim
    }

    /// Time to a node's next stall: uniform around the mean `1 / stalls` s.
    fn stall_gap(&mut self) -> u64 {
        if self.sc.stalls <= 0.0 {
            return u64::MAX;
        }
        let mean_ms = (1000.0 / self.sc.stalls).max(1.0) as u64;
        self.now + self.rng.range(1, 2 * mean_ms) * MS
    }

    fn plan_faults(rng: &mut Rng, sc: &Scenario) -> Vec<(u64, Fault)> {
        let n = sc.nodes.max(1);
        let mut f = Vec::new();
        if sc.partitions && n > 1 {
            let mut t = rng.range(300, 1500);
            while t < FAULT_PHASE_MS {
                let parts = if n > 2 && rng.chance(0.3) { 3 } else { 2 };
                let groups: Vec<u8> = (0..n).map(|_| rng.below(parts) as u8).collect();
                let end = (t + rng.range(300, 3000)).min(FAULT_PHASE_MS);
                f.push((t * MS, Fault::Partition(groups)));
                f.push((end * MS, Fault::Heal));
                t = end + rng.range(200, 2000);
            }
        }
        if sc.crashes {
            let episodes = rng.range(1, 3);
            for _ in 0..episodes {
                let node = 1 + rng.below(n as u64) as u32;
                let at = rng.range(300, FAULT_PHASE_MS - 200);
                let back = (at + rng.range(100, 3000)).min(FAULT_PHASE_MS);
                f.push((at * MS, Fault::Crash(node)));
                f.push((back * MS, Fault::Restart(node)));
            }
        }
        // Stable sort keeps generation order for equal times: deterministic.
        f.sort_by_key(|x| x.0);
        f
    }

    fn start_node(&mut self, id: u32) {
        let i = (id - 1) as usize;
        let node = &mut self.nodes[i];
        node.incarnations += 1;
        // Every incarnation runs the key exchange with its own seed.
        let seed: [u8; 32] = std::array::from_fn(|_| self.rng.next_u64() as u8);
        let node = &mut self.nodes[i];
        node.keys.clear();
        let mut t =
            match Totem::new_keyed(id, self.cfg.clone(), FRAME_SIZE, node.persisted, Micros(self.now), Some(seed)) {
                Ok(t) => t,
                Err(e) => panic!("simulator configuration rejected: {e}"),
            };
        t.set_skip_recovery_retransmit(self.sc.broken_recovery);
        // Half the nodes build frames ahead: it must not change what any
        // node sees (odd ones build every frame at the visit).
        t.set_pack_ahead(id.is_multiple_of(2));
        node.totem = Some(t);
        node.counter = 0;
        node.awaiting = None;
        node.kept.clear();
        self.incs.push(Incarnation {
            node: id,
            inc: node.incarnations,
            log: Vec::new(),
            crashed: false,
            submitted: Vec::new(),
        });
        node.inc = self.incs.len() - 1;
        self.drain(id);
    }

    /// Collects events and transmits of one node.
    fn drain(&mut self, id: u32) {
        let i = (id - 1) as usize;
        let inc_idx = self.nodes[i].inc;
        let node = &mut self.nodes[i];
        let Some(t) = node.totem.as_mut() else { return };
        let mut events = Vec::new();
        while let Some(e) = t.poll_event() {
            events.push(e);
        }
        let mut tx = Vec::new();
        while let Some(x) = t.poll_transmit() {
            match x {
                Transmit::Send { dest, bytes } => tx.push((dest, bytes)),
                Transmit::Keep { bytes } => node.kept.push(bytes),
                Transmit::SendKept { count } => {
                    let kept = std::mem::take(&mut node.kept);
                    tx.extend(kept.into_iter().take(count).map(|b| (Dest::Multicast, b)));
                }
            }
        }
        for e in events {
            match e {
                Event::PersistRingSeq(s) => {
                    let p = &mut self.nodes[i].persisted;
                    *p = (*p).max(s);
                }
                Event::Deliver { sender, msg } => match parse_payload(&msg) {
                    Some((mid, safe)) if mid.0 == sender => {
                        self.incs[inc_idx].log.push((self.now, Rec::Deliver(mid, safe)));
                        let me = &self.nodes[i];
                        if mid.0 == id && mid.1 == self.incs[inc_idx].inc && me.awaiting == Some(mid.2) {
                            let think = self.rng.range(0, 400);
                            let me = &mut self.nodes[i];
                            me.awaiting = None;
                            me.next_submit = me.next_submit.min(self.now + think);
                        }
                    }
                    _ => self.corrupt.push(format!(
                        "node {id} delivered a corrupt or truncated message of {} bytes from {sender}",
                        msg.len()
                    )),
                },
                Event::RingKeys(keys) => self.nodes[i].keys = keys,
                Event::ConfigChange(ConfigChange { kind, ring_id, members, .. }) => {
                    self.config_changed = true;
                    self.incs[inc_idx].log.push((self.now, Rec::Config { kind, ring: ring_id, members }));
                }
            }
        }
        for (dest, bytes) in tx {
            // A real transport cannot send more than a frame: such a packet
            // is lost every time it is sent.
            if bytes.len() > FRAME_SIZE {
                self.corrupt
                    .push(format!("node {id} sent a {}-byte packet, over the {FRAME_SIZE}-byte frame", bytes.len()));
                continue;
            }
            // A ring's packet goes under that ring's key; a node never
            // produces one for a ring it holds no key of.
            let key = match totem::wire::session_ring(&bytes) {
                None => None,
                Some(r) => match self.nodes[i].keys.iter().find(|(x, _)| *x == r) {
                    Some((_, k)) => Some(k.clone()),
                    None => {
                        self.corrupt.push(format!("node {id} sent a packet of ring {r:?} without holding its key"));
                        continue;
                    }
                },
            };
            let bytes: Rc<[u8]> = bytes.into();
            match dest {
                Dest::Multicast => {
                    for to in 1..=self.nodes.len() as u32 {
                        if to != id {
                            self.send(id, to, bytes.clone(), key.clone());
                        }
                    }
                }
                Dest::Node(to) => {
                    if to >= 1 && to as usize <= self.nodes.len() {
                        self.send(id, to, bytes, key);
                    }
                }
            }
        }
    }

    fn send(&mut self, from: u32, to: u32, bytes: Rc<[u8]>, key: Option<RingKey>) {
        if self.groups[(from - 1) as usize] != self.groups[(to - 1) as usize] {
            return;
        }
        let (loss, dup, spikes) =
            if self.faulty_net { (self.sc.loss, self.sc.dup, self.sc.spikes) } else { (0.0, 0.0, 0.0) };
        if loss > 0.0 && self.rng.chance(loss) {
            return;
        }
        let copies = if dup > 0.0 && self.rng.chance(dup) { 2 } else { 1 };
        for _ in 0..copies {
            let mut delay = self.rng.range(100, 1500);
            if spikes > 0.0 && self.rng.chance(spikes) {
                delay += self.rng.range(20_000, 400_000);
            }
            self.order += 1;
            self.heap.push(Packet {
                at: self.now + delay,
                order: self.order,
                to,
                bytes: bytes.clone(),
                key: key.clone(),
            });
        }
    }

    fn apply_fault(&mut self, f: Fault) {
        match f {
            Fault::Partition(g) => self.groups = g,
            Fault::Heal => self.groups.iter_mut().for_each(|g| *g = 0),
            Fault::Crash(id) => {
                let i = (id - 1) as usize;
                if self.nodes[i].totem.take().is_some() {
                    let inc = self.nodes[i].inc;
                    self.incs[inc].crashed = true;
                }
            }
            Fault::Restart(id) => {
                if self.nodes[(id - 1) as usize].totem.is_none() {
                    self.start_node(id);
                }
            }
        }
    }

    fn submit(&mut self, id: u32) {
        for _ in 0..if self.sc.one_sender { BURST } else { 1 } {
            self.submit_one(id);
        }
        self.drain(id);
    }

    fn submit_one(&mut self, id: u32) {
        let i = (id - 1) as usize;
        let r = self.rng.below(100);
        let len = if r < 70 {
            self.rng.range(21, 200)
        } else if r < 90 {
            self.rng.range(200, 1000)
        } else {
            self.rng.range(1000, 4 * FRAME_SIZE as u64)
        } as usize;
        let safe = self.rng.chance(0.3);
        let gap = if self.sc.closed_loop { 50 * MS } else { self.rng.range(1, 2 * self.workload_mean_ms) * MS };
        let node = &mut self.nodes[i];
        node.next_submit = self.now + gap;
        let Some(t) = node.totem.as_mut() else { return };
        let inc = &mut self.incs[node.inc];
        let id3 = (id, inc.inc, node.counter);
        let payload = make_payload(id3, safe, len);
        let g = if safe { Guarantee::Safe } else { Guarantee::Agreed };
        if t.submit(&payload, g).is_ok() {
            inc.submitted.push((node.counter, self.now, safe));
            if self.sc.closed_loop {
                node.awaiting = Some(node.counter);
            }
            node.counter += 1;
        }
    }

    fn live_ring_formed(&self) -> bool {
        let live: Vec<u32> =
            self.nodes.iter().enumerate().filter(|(_, n)| n.totem.is_some()).map(|(i, _)| i as u32 + 1).collect();
        let mut ring: Option<RingId> = None;
        for n in &self.nodes {
            let Some(t) = &n.totem else { continue };
            if t.state() != State::Operational || t.members() != live.as_slice() {
                return false;
            }
            match ring {
                None => ring = Some(t.ring_id()),
                Some(r) if r != t.ring_id() => return false,
                _ => {}
            }
        }
        true
    }

    /// Runs to the end; returns the trace for the checker.
    pub fn run(mut self) -> (Trace, Figures) {
        let bound = liveness_bound_ms(&self.cfg) * MS;
        let settle_start = FAULT_PHASE_MS * MS;
        let workload_end = settle_start + bound + WORKLOAD_AFTER_FORM_MS * MS;
        let end = workload_end + QUIET_MS * MS;
        let mut settled = false;
        let mut same_time = 0u64;
        let mut iterations = 0u64;
        let trace_progress = std::env::var_os("TOTEM_SIM_PROGRESS").is_some();
        loop {
            if !settled && self.now >= settle_start {
                settled = true;
                self.faulty_net = false;
                self.groups.iter_mut().for_each(|g| *g = 0);
                for id in 1..=self.nodes.len() as u32 {
                    if self.nodes[(id - 1) as usize].totem.is_none() {
                        self.start_node(id);
                    }
                }
                self.config_changed = true;
            }
            let t_pkt = self.heap.peek().map(|p| p.at);
            let t_fault = self.faults.get(self.next_fault).map(|f| f.0);
            let t_sub = if self.workload && self.now < workload_end {
                self.nodes.iter().filter(|n| n.totem.is_some()).map(|n| n.next_submit.max(n.stalled_until)).min()
            } else {
                None
            };
            let t_tmo = self.nodes.iter().filter_map(Node::timeout).min();
            let t_settle = if settled { None } else { Some(settle_start) };
            let t_stall = self.nodes.iter().map(|n| n.next_stall).min().filter(|t| *t != u64::MAX);
            let Some(next_us) = [t_pkt, t_fault, t_sub, t_tmo, t_settle, t_stall].into_iter().flatten().min() else {
                break;
            };
            if next_us > end {
                break;
            }
            if next_us <= self.now {
                same_time += 1;
                if same_time > 1_000_000 {
                    let what = if t_pkt == Some(next_us) {
                        "packets"
                    } else if t_tmo == Some(next_us) {
                        "timers"
                    } else {
                        "other"
                    };
                    self.corrupt.push(format!("simulation stuck at {} us: endless {what}", self.now));
                    break;
                }
            } else {
                same_time = 0;
            }
            iterations += 1;
            if trace_progress && (next_us / 100_000 != self.now / 100_000 || iterations.is_multiple_of(100_000)) {
                let states: Vec<String> = self
                    .nodes
                    .iter()
                    .map(|n| match &n.totem {
                        Some(t) => format!("{:?}{:?}{:?}", t.state(), t.ring_id().seq, t.members()),
                        None => "down".into(),
                    })
                    .collect();
                eprintln!(
                    "t={}us heap={} pkt={t_pkt:?} tmo={t_tmo:?} sub={t_sub:?} {:?}",
                    next_us,
                    self.heap.len(),
                    states
                );
            }
            self.now = next_us.max(self.now);
            let now_m = Micros(self.now);
            if t_fault == Some(next_us) {
                let (_, f) = std::mem::replace(&mut self.faults[self.next_fault], (0, Fault::Heal));
                self.next_fault += 1;
                self.apply_fault(f);
            } else if t_stall == Some(next_us) {
                for i in 0..self.nodes.len() {
                    if self.nodes[i].next_stall <= next_us {
                        let until = self.now + self.rng.range(50, 300) * MS;
                        self.nodes[i].stalled_until = until;
                        self.nodes[i].next_stall = until.max(self.stall_gap());
                    }
                }
            } else if t_pkt == Some(next_us) {
                let Some(mut p) = self.heap.pop() else { continue };
                let i = (p.to - 1) as usize;
                let node = &mut self.nodes[i];
                if node.stalled_until > self.now {
                    // Waits in the socket buffer until the process runs (in arrival order).
                    p.at = node.stalled_until;
                    self.order += 1;
                    p.order = self.order;
                    self.heap.push(p);
                    continue;
                }
                let opens = p.key.as_ref().is_none_or(|k| node.keys.iter().any(|(_, x)| x == k));
                if !opens {
                    // Sealed with a key this node does not hold (another
                    // ring's, or an incarnation's before a restart).
                    self.unopened += 1;
                } else if let Some(t) = node.totem.as_mut() {
                    t.handle_packet(0, &p.bytes, now_m);
                    self.drain(p.to);
                }
            } else if t_sub == Some(next_us) {
                for id in 1..=self.nodes.len() as u32 {
                    let n = &self.nodes[(id - 1) as usize];
                    if n.totem.is_some() && n.next_submit.max(n.stalled_until) <= next_us {
                        self.submit(id);
                    }
                }
            } else if t_tmo == Some(next_us) {
                for id in 1..=self.nodes.len() as u32 {
                    let i = (id - 1) as usize;
                    if self.nodes[i].timeout().is_none_or(|x| x > next_us) {
                        continue;
                    }
                    if let Some(t) = self.nodes[i].totem.as_mut() {
                        t.handle_timeout(now_m);
                        self.drain(id);
                    }
                }
            }
        }
        // The final ring: the one every live node is in at the end; formed when its last member installed it.
        if self.live_ring_formed() {
            let ring = self.nodes.iter().find_map(|n| n.totem.as_ref().map(|t| t.ring_id()));
            self.formed_at = self
                .nodes
                .iter()
                .filter(|n| n.totem.is_some())
                .map(|n| {
                    self.incs[n.inc]
                        .log
                        .iter()
                        .rev()
                        .find_map(|(t, r)| match r {
                            Rec::Config { kind: ConfigKind::Regular, ring: x, .. } if Some(*x) == ring => Some(*t),
                            _ => None,
                        })
                        .unwrap_or(u64::MAX)
                })
                .max();
        }
        let mut fig = Figures { formed_at_ms: self.formed_at.map(|t| t / MS), ..Default::default() };
        if let Some(t) = self.nodes.iter().filter_map(|n| n.totem.as_ref()).next() {
            fig.rotations = t.stats().token_rotations;
            fig.delivered_at_rep = t.stats().messages_delivered;
        }
        fig.mcast_sent = self.nodes.iter().filter_map(|n| n.totem.as_ref()).map(|t| t.stats().mcast_sent).sum();
        fig.mcast_sent_ahead =
            self.nodes.iter().filter_map(|n| n.totem.as_ref()).map(|t| t.stats().mcast_sent_ahead).sum();
        for t in self.nodes.iter().filter_map(|n| n.totem.as_ref()) {
            fig.safe_acks.0 += t.stats().safe_acks_received;
            fig.safe_acks.1 += t.stats().safe_by_acks;
        }
        for t in self.nodes.iter().filter_map(|n| n.totem.as_ref()) {
            fig.token_losses += t.stats().token_losses;
            fig.failed_silent += t.stats().failed_silent;
            fig.failed_consensus += t.stats().failed_consensus;
            fig.rekeys += t.stats().rekeys;
        }
        let trace = Trace {
            incs: self.incs,
            settle_start,
            formed_at: self.formed_at,
            liveness_bound: bound,
            end,
            extra: self.corrupt,
        };
        (trace, fig)
    }
}

/// Runs one seed and returns the violations found (empty: passed).
pub fn run_seed(seed: u64, sc: &Scenario) -> Vec<String> {
    let sim = Sim::new(seed, sc, TotemConfig::default());
    let (trace, _) = sim.run();
    crate::check::check(&trace)
}

/// One line describing a run: for `--verbose` and debugging.
pub fn summarize(seed: u64, sc: &Scenario) -> String {
    let sim = Sim::new(seed, sc, TotemConfig::default());
    let (trace, fig) = sim.run();
    let delivered: usize =
        trace.incs.iter().map(|i| i.log.iter().filter(|r| matches!(r.1, Rec::Deliver(..))).count()).sum();
    let configs: usize =
        trace.incs.iter().map(|i| i.log.iter().filter(|r| matches!(r.1, Rec::Config { .. })).count()).sum();
    let submitted: usize = trace.incs.iter().map(|i| i.submitted.len()).sum();
    format!(
        "seed {seed} [{}]: {} incarnations, {submitted} submitted, {delivered} deliveries, {configs} config events, final ring at {:?} ms, end {} ms, rotations {}, mcast {} ({} built ahead), safe acks {} (deliveries on them {}), token losses {}, failed silent {}, at consensus {}",
        sc.label(),
        trace.incs.len(),
        fig.formed_at_ms,
        trace.end / MS,
        fig.rotations,
        fig.mcast_sent,
        fig.mcast_sent_ahead,
        fig.safe_acks.0,
        fig.safe_acks.1,
        fig.token_losses,
        fig.failed_silent,
        fig.failed_consensus
    )
}

/// Prints every incarnation's configurations and the deliveries from `sender` (debugging aid).
pub fn dump(seed: u64, sc: &Scenario, sender: u32) -> String {
    let sim = Sim::new(seed, sc, TotemConfig::default());
    let (trace, _) = sim.run();
    let mut s = String::new();
    for inc in &trace.incs {
        s += &format!("== node {}#{} crashed={}\n", inc.node, inc.inc, inc.crashed);
        let mut run: Vec<String> = Vec::new();
        for (t, r) in &inc.log {
            match r {
                Rec::Deliver(id, _) if id.0 == sender => run.push(format!("{}.{}", id.1, id.2)),
                Rec::Deliver(..) => {}
                Rec::Config { kind, ring, members } => {
                    if !run.is_empty() {
                        s += &format!("   deliver {}\n", run.join(" "));
                        run.clear();
                    }
                    s += &format!("  {:>8}us {:?} {}/{} {:?}\n", t, kind, ring.rep, ring.seq, members);
                }
            }
        }
        if !run.is_empty() {
            s += &format!("   deliver {}\n", run.join(" "));
        }
        let sub: Vec<String> = inc.submitted.iter().map(|(c, t, _)| format!("{c}@{}", t / 1000)).collect();
        if inc.node == sender {
            s += &format!("   submitted {}\n", sub.join(" "));
        }
    }
    s
}
