//! Redundant ring (`rrp_mode: active | passive` with two `interface`
//! sections): two [`Transport`]s carry one Totem ring, so losing one
//! network changes nothing above this layer.
//!
//! Owns: choosing the ring(s) each packet goes on, dropping the second copy
//! of a packet that arrived on both rings, detecting a ring that stopped
//! carrying traffic ([`RingMonitor`], sans-IO), marking it FAULTY and
//! re-enabling it on request.
//!
//! Must not: know Totem's message formats (it only uses Totem's
//! destination: [`Dest::Node`] is the token, [`Dest::Multicast`] the rest),
//! block, keep a clock, or log (events go to [`RedundantTransport::poll_event`]).
//!
//! # Wire
//!
//! Every payload starts with one RRP byte, inside the sealed part:
//! [`COPY_EVERY_RING`] (the same sealed frame is sent on every usable ring)
//! or [`COPY_THIS_RING`] (sent on one ring only). Any other value is a bad
//! frame. The frame is sealed once (ring 0's codec; both transports share
//! node id, boot id and key) and the identical bytes go on each ring, so the
//! two copies carry the same (node id, boot id, counter): that names the
//! packet, the first copy is delivered and the second dropped
//! ([`DupWindow`]). Sending the same ciphertext twice is not nonce reuse
//! (same key, nonce *and* plaintext). A node with rrp and one without never
//! form a ring: the RRP node drops the other's frames (first byte not an
//! RRP byte: [`RrpEvent::BadRrpByte`], counted), and the other hands Totem
//! payloads whose magic is shifted by one byte, which Totem rejects. The
//! crypto frame format is the same as for one ring.
//!
//! # Modes
//!
//! * active: every packet on every usable ring, marked `COPY_EVERY_RING`.
//! * passive: the token ([`Dest::Node`]) on every usable ring, marked
//!   `COPY_EVERY_RING`; multicast data round-robin over usable rings,
//!   marked `COPY_THIS_RING`. Half the data is lost while a dead ring is
//!   not yet FAULTY; Totem retransmits it.
//!
//! # Fault detection ([`RingMonitor`])
//!
//! Only `COPY_EVERY_RING` frames count (a passive multicast is expected on
//! one ring only). Per sender and ring the monitor keeps the highest such
//! counter seen. When one ring has seen a counter the other has not, the
//! other ring gets a deadline `rrp_token_expired_timeout` (47 ms) away; if
//! its copy has not arrived by then, the ring's problem count goes up by
//! one. The next frame from that peer arms the next deadline, so a ring
//! that stays silent while the peer talks (the token alone passes every
//! few milliseconds) collects about one problem per timeout, and a peer
//! that goes quiet after a loss costs a single problem. Every
//! `rrp_problem_count_timeout` (2000 ms) each non-zero count goes down by
//! one, so sporadic loss is forgotten. A count reaching
//! `rrp_problem_count_threshold` (10) marks the ring FAULTY: nothing is sent
//! on it any more (received copies are still accepted), which in turn makes
//! every other node see it silent and mark it FAULTY too. The last usable
//! ring is never marked FAULTY. [`RedundantTransport::reenable`] clears the
//! faults and counts of this node; the executive makes it cluster-wide.

#![forbid(unsafe_code)]

use crate::batch::{self, Outbox, Outgoing, SealedBatch};
use crate::config::NetConfig;
use crate::crypto::{NodeId, random_boot_id};
use crate::transport::{Dest, NetError, NetEvent, Packet, SendError, Transport};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// RRP byte: this sealed frame goes on every usable ring.
pub const COPY_EVERY_RING: u8 = 0xA1;
/// RRP byte: this sealed frame goes on one ring only (passive data).
pub const COPY_THIS_RING: u8 = 0xA0;
/// Bytes RRP adds to every payload.
pub const RRP_OVERHEAD: usize = 1;
/// Rings supported.
pub const RINGS: usize = 2;
/// Counters remembered per sender for duplicate filtering.
pub const DUP_WINDOW: u64 = 4096;
/// Senders tracked (older ones are evicted when full).
const MAX_PEERS: usize = 4096;
/// Datagrams examined per `recv` call before yielding.
const RECV_BUDGET: usize = 512;
/// Bound on queued, undrained events.
const MAX_EVENTS: usize = 1024;

/// `rrp_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RrpMode {
    Active,
    Passive,
}

/// The fault detection parameters, with the classic names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RrpParams {
    pub mode: RrpMode,
    /// `rrp_problem_count_timeout`: one problem forgotten per period.
    pub problem_count_timeout: Duration,
    /// `rrp_problem_count_threshold`: problems that make a ring FAULTY.
    pub problem_count_threshold: u32,
    /// `rrp_token_expired_timeout`: how long a copy may lag on one ring.
    pub token_expired_timeout: Duration,
}

impl RrpParams {
    /// The classic defaults: 2000 ms, 10, 47 ms.
    pub fn new(mode: RrpMode) -> RrpParams {
        RrpParams {
            mode,
            problem_count_timeout: Duration::from_millis(2000),
            problem_count_threshold: 10,
            token_expired_timeout: Duration::from_millis(47),
        }
    }
}

/// Duplicate filter over one sender's counters (bitmap of the last
/// [`DUP_WINDOW`] counters). Older than the window counts as a duplicate:
/// dropping it is a loss Totem repairs.
#[derive(Debug, Clone)]
pub struct DupWindow {
    /// Highest counter seen; `None` before the first.
    top: Option<u64>,
    bits: Vec<u64>,
}

impl DupWindow {
    const WORDS: usize = (DUP_WINDOW / 64) as usize;

    pub fn new() -> DupWindow {
        DupWindow { top: None, bits: vec![0; Self::WORDS] }
    }

    fn slot(c: u64) -> (usize, u64) {
        let i = c % DUP_WINDOW;
        ((i / 64) as usize, 1 << (i % 64))
    }

    /// True the first time `c` is seen (within the window).
    pub fn first(&mut self, c: u64) -> bool {
        match self.top {
            Some(top) if c <= top => {
                if top - c >= DUP_WINDOW {
                    return false;
                }
                let (w, b) = Self::slot(c);
                let new = self.bits[w] & b == 0;
                self.bits[w] |= b;
                new
            }
            top => {
                match top {
                    Some(top) if c - top < DUP_WINDOW => {
                        for k in top + 1..=c {
                            let (w, b) = Self::slot(k);
                            self.bits[w] &= !b;
                        }
                    }
                    _ => self.bits.iter_mut().for_each(|w| *w = 0),
                }
                self.top = Some(c);
                let (w, b) = Self::slot(c);
                self.bits[w] |= b;
                true
            }
        }
    }
}

impl Default for DupWindow {
    fn default() -> Self {
        DupWindow::new()
    }
}

#[derive(Debug, Clone)]
struct Peer {
    boot_id: u64,
    /// Highest `COPY_EVERY_RING` counter seen per ring.
    seen: [Option<u64>; RINGS],
    /// Per ring: (when, counter it must have reached by then).
    deadline: [Option<(Instant, u64)>; RINGS],
    dup: DupWindow,
}

impl Peer {
    fn new(boot_id: u64) -> Peer {
        Peer { boot_id, seen: [None; RINGS], deadline: [None; RINGS], dup: DupWindow::new() }
    }
}

/// Sans-IO fault detector and duplicate filter; see the module doc.
#[derive(Debug, Clone)]
pub struct RingMonitor {
    params: RrpParams,
    faulty: [bool; RINGS],
    problems: [u32; RINGS],
    next_decay: Option<Instant>,
    peers: BTreeMap<NodeId, Peer>,
}

impl RingMonitor {
    pub fn new(params: RrpParams) -> RingMonitor {
        RingMonitor { params, faulty: [false; RINGS], problems: [0; RINGS], next_decay: None, peers: BTreeMap::new() }
    }

    pub fn params(&self) -> &RrpParams {
        &self.params
    }

    /// Whether `ring` is marked FAULTY.
    pub fn is_faulty(&self, ring: usize) -> bool {
        self.faulty.get(ring).copied().unwrap_or(true)
    }

    /// Current problem count of `ring`.
    pub fn problems(&self, ring: usize) -> u32 {
        self.problems.get(ring).copied().unwrap_or(0)
    }

    /// Records a frame that opened on `ring`; true when it is the first copy
    /// (deliver it), false for the second.
    pub fn on_receive(
        &mut self,
        ring: usize,
        from: NodeId,
        boot_id: u64,
        counter: u64,
        every_ring: bool,
        now: Instant,
    ) -> bool {
        if ring >= RINGS {
            return false;
        }
        if !self.peers.contains_key(&from) && self.peers.len() >= MAX_PEERS {
            // Bounded: forget the lowest node id (only reachable with
            // secauth off, where anyone can invent node ids).
            let _ = self.peers.pop_first();
        }
        let peer = self.peers.entry(from).or_insert_with(|| Peer::new(boot_id));
        if peer.boot_id != boot_id {
            *peer = Peer::new(boot_id); // restarted sender: counters restart
        }
        let first = peer.dup.first(counter);
        if every_ring {
            let s = &mut peer.seen[ring];
            *s = Some(s.map_or(counter, |v| v.max(counter)));
            let timeout = self.params.token_expired_timeout;
            for r in 0..RINGS {
                if let Some((_, target)) = peer.deadline[r]
                    && peer.seen[r].is_some_and(|s| s >= target)
                {
                    peer.deadline[r] = None;
                }
                let ahead = (0..RINGS).filter(|o| *o != r).filter_map(|o| peer.seen[o]).max();
                if !self.faulty[r]
                    && peer.deadline[r].is_none()
                    && let Some(ahead) = ahead
                    && peer.seen[r].is_none_or(|s| s < ahead)
                {
                    peer.deadline[r] = Some((now + timeout, ahead));
                }
            }
        }
        first
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let deadlines = self.peers.values().flat_map(|p| p.deadline.iter().flatten().map(|(t, _)| *t));
        deadlines.chain(self.next_decay).min()
    }

    /// Fires expired deadlines and the decay; returns the rings that became
    /// FAULTY now.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<usize> {
        if let Some(t) = self.next_decay
            && t <= now
        {
            for p in self.problems.iter_mut() {
                *p = p.saturating_sub(1);
            }
            self.next_decay = None;
        }
        for peer in self.peers.values_mut() {
            for r in 0..RINGS {
                let Some((t, _)) = peer.deadline[r] else {
                    continue;
                };
                if t > now {
                    continue;
                }
                // One problem per missed deadline; the next frame of this
                // peer arms the next one. (Re-arming here would turn one
                // burst of loss from a peer that then goes quiet into a
                // problem every timeout.)
                self.problems[r] = self.problems[r].saturating_add(1);
                peer.deadline[r] = None;
            }
        }
        let mut newly = Vec::new();
        for r in 0..RINGS {
            let others_usable = (0..RINGS).any(|o| o != r && !self.faulty[o]);
            if !self.faulty[r] && others_usable && self.problems[r] >= self.params.problem_count_threshold {
                self.faulty[r] = true;
                for peer in self.peers.values_mut() {
                    peer.deadline[r] = None;
                }
                newly.push(r);
            }
        }
        if self.next_decay.is_none() && self.problems.iter().any(|p| *p > 0) {
            self.next_decay = Some(now + self.params.problem_count_timeout);
        }
        newly
    }

    /// Clears every fault and problem count; returns the rings that were
    /// FAULTY.
    pub fn reenable(&mut self) -> Vec<usize> {
        let was: Vec<usize> = (0..RINGS).filter(|r| self.faulty[*r]).collect();
        self.faulty = [false; RINGS];
        self.problems = [0; RINGS];
        self.next_decay = None;
        for peer in self.peers.values_mut() {
            peer.seen = [None; RINGS];
            peer.deadline = [None; RINGS];
        }
        was
    }
}

/// Something the executive should log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RrpEvent {
    /// A diagnostic of one ring's transport.
    Net { ring: u32, event: NetEvent },
    /// `ring` stopped carrying traffic and is no longer used.
    Faulty { ring: u32, interface: SocketAddr },
    /// `ring` was FAULTY and is used again.
    Reenabled { ring: u32, interface: SocketAddr },
    /// A frame without a valid RRP byte (not from an RRP node).
    BadRrpByte { ring: u32, from: SocketAddr },
}

impl fmt::Display for RrpEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RrpEvent::Net { ring, event } => write!(f, "ring {ring}: {event}"),
            RrpEvent::Faulty { ring, interface } => {
                write!(f, "Marking ringid {ring} interface {} FAULTY", interface.ip())
            }
            RrpEvent::Reenabled { ring, interface } => {
                write!(f, "ringid {ring} interface {} re-enabled, active with no faults", interface.ip())
            }
            RrpEvent::BadRrpByte { ring, from } => {
                write!(
                    f,
                    "ring {ring}: frame from {from} without redundant ring header (is rrp_mode the same everywhere?)"
                )
            }
        }
    }
}

/// Status text of a usable ring (the stable `ais-cfgtool -s` value).
pub const STATUS_OK: &str = "active, no faults";
/// Status text of a FAULTY ring.
pub const STATUS_FAULTY: &str = "FAULTY";

/// Two transports, one ring. See the module doc.
pub struct RedundantTransport {
    rings: [Transport; RINGS],
    monitor: RingMonitor,
    next_data_ring: usize,
    next_recv_ring: usize,
    events: VecDeque<RrpEvent>,
    payload: Vec<u8>,
    frame: Vec<u8>,
    /// What [`send_outgoing`](Self::send_outgoing) seals and sends.
    outbox: Outbox,
    bad_rrp_byte: u64,
}

impl fmt::Debug for RedundantTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedundantTransport").field("rings", &self.rings).field("monitor", &self.monitor).finish()
    }
}

impl batch::BatchSender for RedundantTransport {
    fn seal_into(&mut self, batch: &mut SealedBatch, dest: Dest, payload: &[u8]) -> Result<(), SendError> {
        let rings = self.seal_for_rings(dest, payload)?;
        batch.push(dest, rings, &self.frame);
        Ok(())
    }

    fn send_sealed_batch(&mut self, batch: &SealedBatch) -> Result<(), SendError> {
        self.send_sealed(batch)
    }
}

impl RedundantTransport {
    /// Opens ring 0 and ring 1. Ring 1 takes ring 0's node id (derived
    /// from ring 0's address when not configured) and both share one boot
    /// id, so either ring opens the other's frames.
    pub fn new(ring0: &NetConfig, ring1: &NetConfig, params: RrpParams) -> Result<RedundantTransport, NetError> {
        let ifs = crate::local_interfaces().map_err(|err| NetError::Io { what: "getifaddrs", err })?;
        let boot_id = random_boot_id().map_err(|err| NetError::Io { what: "getrandom", err })?;
        Self::with_interfaces(ring0, ring1, params, &ifs, boot_id)
    }

    /// [`new`](Self::new) with an explicit interface list and boot id (tests).
    pub fn with_interfaces(
        ring0: &NetConfig,
        ring1: &NetConfig,
        params: RrpParams,
        ifs: &[crate::IfAddr],
        boot_id: u64,
    ) -> Result<RedundantTransport, NetError> {
        let t0 = Transport::with_interfaces(ring0, ifs, boot_id)?;
        let mut cfg1 = ring1.clone();
        cfg1.nodeid = Some(t0.node_id());
        let t1 = Transport::with_interfaces(&cfg1, ifs, boot_id)?;
        Ok(RedundantTransport {
            rings: [t0, t1],
            monitor: RingMonitor::new(params),
            next_data_ring: 0,
            next_recv_ring: 0,
            events: VecDeque::new(),
            payload: Vec::new(),
            frame: Vec::new(),
            outbox: Outbox::default(),
            bad_rrp_byte: 0,
        })
    }

    pub fn node_id(&self) -> NodeId {
        self.rings[0].node_id()
    }

    /// Ring 0's transport (this node's id and main address).
    pub fn ring0(&self) -> &Transport {
        &self.rings[0]
    }

    /// Ring `r`'s transport (addresses, counters).
    pub fn ring(&self, r: usize) -> Option<&Transport> {
        self.rings.get(r)
    }

    pub fn monitor(&self) -> &RingMonitor {
        &self.monitor
    }

    /// Frames without a valid RRP byte, dropped.
    pub fn bad_rrp_bytes(&self) -> u64 {
        self.bad_rrp_byte
    }

    /// Largest Totem payload: the smaller ring's, minus the RRP byte.
    pub fn max_payload(&self) -> usize {
        self.rings.iter().map(|t| t.max_payload()).min().unwrap_or(0).saturating_sub(RRP_OVERHEAD)
    }

    /// `(ring number, status text)` per ring.
    pub fn status(&self) -> Vec<(u32, String)> {
        (0..self.rings.len())
            .map(|r| (r as u32, if self.monitor.is_faulty(r) { STATUS_FAULTY } else { STATUS_OK }.to_string()))
            .collect()
    }

    /// The fds to poll (one epoll fd per ring).
    pub fn fds(&self) -> Vec<RawFd> {
        self.rings.iter().map(|t| t.as_raw_fd()).collect()
    }

    fn usable(&self) -> Vec<usize> {
        (0..self.rings.len()).filter(|r| !self.monitor.is_faulty(*r)).collect()
    }

    /// Sends `payload` per the mode (see the module doc). Ok when at least
    /// one ring took it.
    pub fn send_to(&mut self, dest: Dest, payload: &[u8]) -> Result<(), SendError> {
        let rings = self.seal_for_rings(dest, payload)?;
        let mut result = Err(SendError::Io(std::io::Error::other("no usable ring")));
        for r in (0..RINGS).filter(|r| rings & (1 << r) != 0) {
            match self.rings[r].send_frame(dest, &self.frame) {
                Ok(()) => result = Ok(()),
                Err(e) if result.is_err() => result = Err(e),
                Err(_) => {}
            }
        }
        result
    }

    /// Sends `packets` in order per the mode, like one
    /// [`send_to`](Self::send_to) each, but sealed once into a batch that
    /// each ring then sends with [`Transport::send_batch`]'s batching (ring
    /// 0's frames, then ring 1's; the order on each ring is Totem's).
    /// Bounded batches; the first error is returned after every packet was
    /// tried.
    pub fn send_batch<I, B>(&mut self, packets: I) -> Result<(), SendError>
    where
        I: IntoIterator<Item = (Dest, B)>,
        B: AsRef<[u8]>,
    {
        self.send_outgoing(packets.into_iter().map(|(dest, payload)| Outgoing::Send(dest, payload)))
    }

    /// [`send_batch`](Self::send_batch) with frames sealed ahead: see
    /// [`Outgoing`].
    pub fn send_outgoing<I, B>(&mut self, items: I) -> Result<(), SendError>
    where
        I: IntoIterator<Item = Outgoing<B>>,
        B: AsRef<[u8]>,
    {
        let mut outbox = std::mem::take(&mut self.outbox);
        let r = batch::seal_and_send(self, &mut outbox, items);
        self.outbox = outbox;
        r
    }

    /// Seals `payload` with its RRP byte into `self.frame`; returns the
    /// ring mask it goes on (0: no usable ring).
    fn seal_for_rings(&mut self, dest: Dest, payload: &[u8]) -> Result<u8, SendError> {
        let max = self.max_payload();
        if payload.len() > max {
            return Err(SendError::TooLarge { len: payload.len(), max });
        }
        let usable = self.usable();
        let (marker, rings) = match (self.monitor.params().mode, dest) {
            (RrpMode::Passive, Dest::Multicast) => {
                let i = self.next_data_ring % usable.len().max(1);
                self.next_data_ring = self.next_data_ring.wrapping_add(1);
                (COPY_THIS_RING, usable.get(i).map_or(0, |r| 1u8 << r))
            }
            _ => (COPY_EVERY_RING, usable.iter().fold(0u8, |m, r| m | 1 << r)),
        };
        // The key is chosen by the payload without its RRP byte.
        let class = (self.rings[0].key_classifier())(payload);
        self.payload.clear();
        self.payload.push(marker);
        self.payload.extend_from_slice(payload);
        self.rings[0].seal_frame_as(class, dest, &self.payload, &mut self.frame)?;
        Ok(rings)
    }

    /// [`Transport::set_key_classifier`] for both rings (called with the
    /// payload before its RRP byte).
    pub fn set_key_classifier(&mut self, classify: fn(&[u8]) -> crate::crypto::KeyClass) {
        self.rings.iter_mut().for_each(|t| t.set_key_classifier(classify));
    }

    /// [`Transport::set_session_keys`] for both rings (each opens with its
    /// own codec; ring 0's seals).
    pub fn set_session_keys(&mut self, keys: &[(u64, &[u8; 32])]) -> Result<(), crate::crypto::KeyError> {
        self.rings.iter_mut().try_for_each(|t| t.set_session_keys(keys))
    }

    /// Each ring sends its frames of `batch`; Ok when every frame that had
    /// a usable ring left on at least one (like `send_to`, a ring's error
    /// is reported only if no ring took anything).
    fn send_sealed(&mut self, batch: &SealedBatch) -> Result<(), SendError> {
        let mut ok = false;
        let mut first_err = None;
        let mut any = false;
        for r in 0..RINGS {
            let mask = 1u8 << r;
            if !(0..batch.len()).any(|i| batch.on_ring(i, mask)) {
                continue;
            }
            any = true;
            match self.rings[r].send_sealed(batch, mask) {
                Ok(()) => ok = true,
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if (0..batch.len()).any(|i| !batch.on_ring(i, u8::MAX)) || !any {
            return Err(SendError::Io(std::io::Error::other("no usable ring")));
        }
        match first_err {
            Some(e) if !ok => Err(e),
            _ => Ok(()),
        }
    }

    /// True while a ring holds datagrams of a coalesced buffer that
    /// [`recv`](Self::recv) has not returned yet.
    pub fn has_buffered(&self) -> bool {
        self.rings.iter().any(|t| t.has_buffered())
    }

    fn push_event(&mut self, ev: RrpEvent) {
        if self.events.len() < MAX_EVENTS {
            self.events.push_back(ev);
        }
    }

    /// The next packet (first copy only, RRP byte removed), or `None` when
    /// no ring has one queued. Bounded per call.
    pub fn recv(&mut self, now: Instant) -> Option<Packet> {
        let n = self.rings.len();
        let mut idle = 0;
        for _ in 0..RECV_BUDGET {
            if idle == n {
                break;
            }
            let r = self.next_recv_ring % n;
            self.next_recv_ring = (r + 1) % n;
            let Some(p) = self.rings[r].recv(now) else {
                idle += 1;
                continue;
            };
            idle = 0;
            if let Some(p) = self.first_copy(r, p, now) {
                return Some(p);
            }
        }
        // Past the budget: what the rings hold in user space (bounded), so
        // `None` leaves nothing behind that the fds would not show.
        self.recv_buffered(now)
    }

    /// Like [`Transport::recv_buffered`], over both rings.
    pub fn recv_buffered(&mut self, now: Instant) -> Option<Packet> {
        for r in 0..self.rings.len() {
            while let Some(p) = self.rings[r].recv_buffered(now) {
                if let Some(p) = self.first_copy(r, p, now) {
                    return Some(p);
                }
            }
        }
        None
    }

    /// `p` from ring `r` without its RRP byte, if it is the first copy.
    fn first_copy(&mut self, r: usize, mut p: Packet, now: Instant) -> Option<Packet> {
        let every = match p.data.first() {
            Some(&COPY_EVERY_RING) => true,
            Some(&COPY_THIS_RING) => false,
            _ => {
                self.bad_rrp_byte += 1;
                self.push_event(RrpEvent::BadRrpByte { ring: r as u32, from: p.addr });
                return None;
            }
        };
        if !self.monitor.on_receive(r, p.from, p.boot_id, p.counter, every, now) {
            return None;
        }
        p.data.remove(0);
        Some(p)
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.monitor.poll_timeout()
    }

    /// Runs fault detection; a ring that became FAULTY is reported.
    pub fn handle_timeout(&mut self, now: Instant) {
        for r in self.monitor.handle_timeout(now) {
            let interface = self.rings[r].local_addr();
            self.push_event(RrpEvent::Faulty { ring: r as u32, interface });
        }
    }

    /// Re-enables every FAULTY ring of this node; returns how many were.
    pub fn reenable(&mut self) -> usize {
        let was = self.monitor.reenable();
        for r in &was {
            let interface = self.rings[*r].local_addr();
            self.push_event(RrpEvent::Reenabled { ring: *r as u32, interface });
        }
        was.len()
    }

    /// Next diagnostic to log: transport events of both rings, faults.
    pub fn poll_event(&mut self) -> Option<RrpEvent> {
        for (r, t) in self.rings.iter_mut().enumerate() {
            if let Some(event) = t.poll_event() {
                return Some(RrpEvent::Net { ring: r as u32, event });
            }
        }
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn monitor() -> (RingMonitor, Instant) {
        (RingMonitor::new(RrpParams::new(RrpMode::Active)), Instant::now())
    }

    #[test]
    fn dup_window_first_copy_only_and_bounded_history() {
        let mut w = DupWindow::new();
        assert!(w.first(0));
        assert!(!w.first(0));
        assert!(w.first(5));
        assert!(w.first(3), "out of order within the window is new");
        assert!(!w.first(3));
        assert!(!w.first(5));
        assert!(w.first(5 + DUP_WINDOW));
        assert!(!w.first(5), "older than the window counts as seen");
        assert!(w.first(6 + DUP_WINDOW));
        assert!(w.first(4 + DUP_WINDOW), "slot reused after the window moved");
        assert!(w.first(u64::MAX));
        assert!(!w.first(u64::MAX));
    }

    #[test]
    fn both_copies_on_time_is_no_problem_and_second_copy_is_dropped() {
        let (mut m, t0) = monitor();
        for c in 0..1000u64 {
            let now = t0 + MS * c as u32;
            assert!(m.on_receive((c % 2) as usize, 7, 1, c, true, now));
            assert!(!m.on_receive(((c + 1) % 2) as usize, 7, 1, c, true, now + 10 * MS));
            assert!(m.handle_timeout(now + 10 * MS).is_empty());
        }
        assert_eq!((m.problems(0), m.problems(1)), (0, 0));
        assert!(!m.is_faulty(0) && !m.is_faulty(1));
    }

    #[test]
    fn silent_ring_becomes_faulty_at_the_threshold() {
        let (mut m, t0) = monitor();
        let p = *m.params();
        // Ring 1 carries nothing; node 7 sends on ring 0 every 10 ms.
        let mut now = t0;
        let mut faulty_at = None;
        for c in 0..200u64 {
            now = t0 + MS * (10 * c as u32);
            m.on_receive(0, 7, 1, c, true, now);
            if !m.handle_timeout(now).is_empty() {
                faulty_at = Some(now);
                break;
            }
            // the problem count only grows once per token_expired_timeout
            assert!(m.problems(1) <= (now - t0).as_millis() as u32 / p.token_expired_timeout.as_millis() as u32);
        }
        let at = faulty_at.expect("ring 1 never became faulty");
        assert!(m.is_faulty(1) && !m.is_faulty(0));
        let expect = p.token_expired_timeout * p.problem_count_threshold;
        assert!(at - t0 >= expect && at - t0 <= expect + 30 * MS * p.problem_count_threshold, "{:?}", at - t0);
        // Ring 0 alone never becomes faulty, whatever happens.
        for c in 200..400u64 {
            now += 10 * MS;
            m.on_receive(1, 7, 1, c, true, now);
            assert!(m.handle_timeout(now).is_empty());
        }
        assert!(!m.is_faulty(0));
        assert_eq!(m.reenable(), vec![1]);
        assert!(!m.is_faulty(1));
        assert_eq!(m.problems(1), 0);
        assert!(m.reenable().is_empty());
    }

    #[test]
    fn sporadic_loss_below_the_threshold_decays() {
        let (mut m, t0) = monitor();
        let p = *m.params();
        // One copy lost on ring 1 every 2.5 s (every 250th frame at 10 ms):
        // one problem per 2.5 s, one forgotten per 2 s: never FAULTY.
        let mut now = t0;
        for c in 0..2000u64 {
            now = t0 + MS * (10 * c as u32);
            m.on_receive(0, 9, 1, c, true, now);
            if c % 250 != 0 {
                m.on_receive(1, 9, 1, c, true, now + MS);
            }
            assert!(m.handle_timeout(now + 2 * MS).is_empty(), "faulty after {:?}", now - t0);
            let _ = m.handle_timeout(now + 5 * MS);
        }
        assert!(!m.is_faulty(1));
        assert!(m.problems(1) < p.problem_count_threshold);
        // With no more loss the count decays to zero.
        for k in 1..=p.problem_count_threshold {
            now += p.problem_count_timeout;
            let _ = m.handle_timeout(now);
            let _ = k;
        }
        assert_eq!(m.problems(1), 0);
        assert_eq!(m.poll_timeout(), None);
    }

    #[test]
    fn passive_data_on_one_ring_is_not_a_problem_and_restart_resets() {
        let (mut m, t0) = monitor();
        for c in 0..500u64 {
            let now = t0 + MS * c as u32;
            assert!(m.on_receive((c % 2) as usize, 3, 1, c, false, now));
            assert!(m.handle_timeout(now).is_empty());
        }
        assert_eq!((m.problems(0), m.problems(1)), (0, 0));
        // a restarted sender (new boot id) starts counting from 0 again
        assert!(m.on_receive(0, 3, 2, 0, true, t0));
        assert!(!m.on_receive(1, 3, 2, 0, true, t0));
    }

    #[test]
    fn a_burst_lost_on_one_ring_from_a_peer_that_goes_quiet_is_one_problem() {
        let (mut m, t0) = monitor();
        for c in 0..6u64 {
            m.on_receive(1, 5, 1, c, true, t0 + MS * c as u32);
        }
        for k in 1..40u32 {
            assert!(m.handle_timeout(t0 + 47 * MS * k).is_empty());
        }
        assert_eq!((m.problems(0), m.problems(1)), (1, 0));
        assert!(m.poll_timeout().is_some(), "the decay is pending");
        let _ = m.handle_timeout(t0 + 47 * MS * 40 + m.params().problem_count_timeout);
        assert_eq!(m.problems(0), 0);
    }

    #[test]
    fn deadline_is_met_by_a_later_copy() {
        let (mut m, t0) = monitor();
        m.on_receive(0, 4, 1, 10, true, t0);
        assert_eq!(m.poll_timeout(), Some(t0 + m.params().token_expired_timeout));
        m.on_receive(1, 4, 1, 11, true, t0 + 20 * MS); // newer frame: catches up
        assert_eq!(m.poll_timeout(), Some(t0 + 20 * MS + m.params().token_expired_timeout));
        m.on_receive(0, 4, 1, 11, true, t0 + 21 * MS);
        assert_eq!(m.poll_timeout(), None);
        assert!(m.handle_timeout(t0 + 500 * MS).is_empty());
        assert_eq!(m.problems(1), 0);
    }
}
