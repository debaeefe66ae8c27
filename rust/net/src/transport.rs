//! UDP transports for Totem: IP multicast (IPv4/IPv6) and unicast to a
//! member list (`udpu`), non-blocking, for a single-threaded event loop.
//!
//! Owns: the sockets, their options (multicast group, interface, loop, TTL,
//! buffer sizes), framing every datagram through [`PacketCodec`], the
//! node id <-> address map learned from authenticated headers, drop
//! counters, and rate-limited diagnostics ([`NetEvent`]).
//!
//! Must not: block, spawn threads, log by itself (the executive drains
//! [`Transport::poll_event`] and logs), interpret Totem payloads, or send
//! anywhere but the configured group, the configured members and addresses
//! learned from packets that opened.
//!
//! # Sockets
//!
//! * Multicast: a *unicast socket* bound to `local_addr:mcastport` sends
//!   everything (multicast with `IP_MULTICAST_IF` set to the bound
//!   interface, TTL `ttl`, loop `multicast_loop`) and receives unicast
//!   (the token). A *group socket* bound to `mcastaddr:mcastport`
//!   (`SO_REUSEADDR`) joined on that interface receives the group. Both
//!   sockets use the same port, so the source address of every packet —
//!   multicast or unicast — is the node's unicast address, which is what
//!   the node id map learns. (The classic sent multicast from
//!   `mcastport - 1`; one port is enough here and keeps the firewall rule
//!   to a single port.)
//! * udpu: one socket bound to `local_addr:mcastport`; [`Dest::Multicast`]
//!   is a unicast to every member (to itself too if `multicast_loop`).
//!   Datagrams from addresses outside the member list are dropped.
//!
//! # Node ids and addresses
//!
//! Every frame carries the sender's node id in its clear, authenticated
//! header. Each packet that opens maps that node id to its source address
//! ([`Transport::node_addr`]); [`Dest::Node`] uses the map. A change is
//! reported as [`NetEvent::AddressChanged`] (a node that moved, or an
//! authenticated packet relayed by someone else before the real one
//! arrived: the node's next packet moves it back). Packets carrying our
//! own node id from another process are dropped and reported
//! ([`NetEvent::DuplicateNodeId`]).
//!
//! # Batches and segmentation offload
//!
//! [`Transport::send_batch`] takes everything Totem produced in one flush.
//! Consecutive frames to one destination go out in one `sendmsg` with a
//! `UDP_SEGMENT` control message (UDP GSO): the kernel routes, filters and
//! bridges one buffer and cuts it into the same datagrams one `send_to`
//! per frame would have made, in the same order (at most 64 per send,
//! under 64 KiB, equal sizes but a shorter last one). If the kernel refuses
//! GSO on the socket, the transport falls back for good to `sendmmsg`, one
//! datagram per frame ([`Stats::gso_fallbacks`]). Receiving sockets have
//! `UDP_GRO` on: the kernel may hand over several datagrams of one sender
//! in one buffer with their segment size; [`Transport::recv`] cuts it and
//! opens each datagram on its own, so a bad one costs only itself. The
//! frame format is the same either way.
//!
//! Both sockets are registered in one epoll instance whose fd is what
//! [`AsRawFd`] returns: poll it for readability, then call
//! [`Transport::recv`] until it returns `None`.
//!
//! One `Transport` is one ring; the redundant ring layer
//! ([`crate::rrp`]) drives two of them through
//! [`seal_frame`](Transport::seal_frame) and
//! [`send_frame`](Transport::send_frame), so the frame format is unchanged.

#![forbid(unsafe_code)]

use crate::batch::{self, ONLY_RING, Outbox, Outgoing, SealedBatch};
use crate::config::{BoundInterface, ConfigError, NetConfig, Security, TransportKind, max_payload_for, resolve_bind};
use crate::crypto::{
    EVERY_MEMBER, Header, KeyClass, KeyError, NodeId, OpenError, PacketCodec, SealError, random_boot_id,
};
use crate::ratelimit::RateLimiter;
use crate::sys;
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

/// Where a packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// Every node of the ring (the group, or every member with udpu).
    Multicast,
    /// One node, by node id (its address learned from its packets).
    Node(NodeId),
}

/// A datagram that opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Sender node id from the authenticated header.
    pub from: NodeId,
    /// Source address it came from.
    pub addr: SocketAddr,
    /// Totem payload.
    pub data: Vec<u8>,
    /// Sender's boot id from the authenticated header.
    pub boot_id: u64,
    /// Frame counter from the authenticated header: with the boot id, it
    /// names this datagram (the redundant ring layer sends the same sealed
    /// frame on both rings and drops the second copy by it).
    pub counter: u64,
    /// The key that opened it: the caller checks it is the one this kind
    /// of payload must be sealed with ([`Transport::set_key_classifier`]).
    pub key: KeyClass,
}

/// Something the executive should log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// Packets from `from` failed authentication (wrong key, tampering) or
    /// their checksum. At most one per second per source; `suppressed`
    /// counts those not reported since the previous event for that source.
    InvalidDigest { from: SocketAddr, suppressed: u64 },
    /// Frames that are not ours or use the other `secauth` mode. Same rate
    /// limit as above, separately.
    BadFrame { from: SocketAddr, error: OpenError, suppressed: u64 },
    /// Another process (at `from`) uses our node id. Rate-limited like
    /// `BadFrame`. Its packets are dropped.
    DuplicateNodeId { from: SocketAddr, suppressed: u64 },
    /// An authenticated packet of `node` came from a new address.
    AddressChanged { node: NodeId, old: SocketAddr, new: SocketAddr },
}

impl fmt::Display for NetEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let more = |f: &mut fmt::Formatter<'_>, n: u64| {
            if n > 0 { write!(f, " ({n} more suppressed)") } else { Ok(()) }
        };
        match self {
            NetEvent::InvalidDigest { from, suppressed } => {
                write!(f, "Invalid digest from {from}")?;
                more(f, *suppressed)
            }
            NetEvent::BadFrame { from, error, suppressed } => {
                write!(f, "Dropped packet from {from}: {error}")?;
                more(f, *suppressed)
            }
            NetEvent::DuplicateNodeId { from, suppressed } => {
                write!(f, "Another node at {from} uses our node id; its packets are dropped")?;
                more(f, *suppressed)
            }
            NetEvent::AddressChanged { node, old, new } => {
                write!(f, "node {node} moved from {old} to {new}")
            }
        }
    }
}

/// Counters, all monotonic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams handed to the kernel.
    pub sent: u64,
    /// Datagrams the kernel refused (buffer full, no route...).
    pub send_errors: u64,
    /// Datagrams that opened and were returned by `recv`.
    pub received: u64,
    /// Failed authentication / checksum (`Invalid digest`).
    pub invalid_digest: u64,
    /// Truncated, foreign, wrong version, or other secauth mode.
    pub bad_frame: u64,
    /// Replays rejected by the window.
    pub replayed: u64,
    /// Frames addressed to another node (a reflected or redirected token).
    pub not_for_us: u64,
    /// Frames under a session key we do not hold (another ring's, a
    /// retired one): normal while rings merge, not logged.
    pub unknown_key: u64,
    /// Frames not sent because the session key their class names is not
    /// installed (never sealed with the authkey instead).
    pub no_session_key: u64,
    /// udpu: from an address outside the member list.
    pub unknown_source: u64,
    /// Receive errors other than "would block".
    pub recv_errors: u64,
    /// Our own packets dropped because `multicast_loop` is off (on `lo`
    /// the kernel delivers them regardless of IP_MULTICAST_LOOP).
    pub own_dropped: u64,
    /// Authenticated packets carrying our node id from another process.
    pub foreign_self: u64,
    /// `sendmsg` calls that carried several datagrams with UDP GSO.
    pub gso_sends: u64,
    /// 1 once the kernel refused GSO on the sending socket: from then on
    /// batches go out with `sendmmsg`, one datagram per frame.
    pub gso_fallbacks: u64,
    /// Received buffers that held several datagrams coalesced by UDP GRO.
    pub gro_buffers: u64,
}

/// Frames refused from one source address, by reason (see
/// [`Transport::rejections`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejections {
    pub invalid_digest: u64,
    pub replayed: u64,
    pub not_for_us: u64,
    pub unknown_key: u64,
    /// Truncated, foreign, wrong version, other secauth mode, too many
    /// senders under one key.
    pub bad_frame: u64,
}

impl Rejections {
    /// Sum over the reasons.
    pub fn total(&self) -> u64 {
        self.invalid_digest + self.replayed + self.not_for_us + self.unknown_key + self.bad_frame
    }
}

/// Why a send failed. Totem treats all of these as a lost packet.
#[derive(Debug)]
pub enum SendError {
    /// Payload larger than [`Transport::max_payload`].
    TooLarge { len: usize, max: usize },
    /// No address known for this node id yet.
    UnknownNode(NodeId),
    /// Sealing failed.
    Seal(SealError),
    /// The kernel refused at least one destination (the others were sent).
    Io(io::Error),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::TooLarge { len, max } => write!(f, "payload of {len} bytes exceeds {max}"),
            SendError::UnknownNode(n) => write!(f, "no address known for node {n}"),
            SendError::Seal(e) => write!(f, "{e}"),
            SendError::Io(e) => write!(f, "send failed: {e}"),
        }
    }
}
impl std::error::Error for SendError {}

/// Why a transport could not be created.
#[derive(Debug)]
pub enum NetError {
    /// The configuration is inconsistent or matches no interface.
    Config(ConfigError),
    /// A socket call failed; `what` names the step.
    Io { what: &'static str, err: io::Error },
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Config(e) => write!(f, "{e}"),
            NetError::Io { what, err } => write!(f, "{what}: {err}"),
        }
    }
}
impl std::error::Error for NetError {}

impl From<ConfigError> for NetError {
    fn from(e: ConfigError) -> Self {
        NetError::Config(e)
    }
}

fn io_err(what: &'static str) -> impl FnOnce(io::Error) -> NetError {
    move |err| NetError::Io { what, err }
}

/// Largest datagram read; anything longer is truncated and fails to open.
const RECV_BUF: usize = 65536;
/// Datagrams examined per `recv` call before yielding (flood bound).
const RECV_BUDGET: usize = 256;
/// Log rate limit per source address.
const LOG_INTERVAL: Duration = Duration::from_secs(1);
/// Source addresses the log limiter remembers.
const LOG_KEYS: usize = 1024;
/// Bound on the node id -> address map (the classic allowed 384 nodes).
const MAX_NODES: usize = 4096;
/// Bound on queued, undrained events.
const MAX_EVENTS: usize = 1024;
/// Source addresses whose rejections are counted one by one; frames from
/// further sources count in the totals only.
const MAX_REJECT_SOURCES: usize = 1024;

enum Kind {
    Multicast { group: SocketAddr },
    Udpu { members: Vec<SocketAddr> },
}

/// One ring's transport. See the module doc.
pub struct Transport {
    kind: Kind,
    node_id: NodeId,
    local: SocketAddr,
    iface: BoundInterface,
    multicast_loop: bool,
    /// `sockets[0]` sends and receives unicast; `sockets[1]` (multicast
    /// only) receives the group.
    sockets: Vec<UdpSocket>,
    epoll: sys::Epoll,
    codec: PacketCodec,
    max_payload: usize,
    nodes: BTreeMap<NodeId, SocketAddr>,
    digest_log: RateLimiter<SocketAddr>,
    frame_log: RateLimiter<SocketAddr>,
    events: VecDeque<NetEvent>,
    stats: Stats,
    rejections: BTreeMap<SocketAddr, Rejections>,
    /// The key each outgoing payload is sealed with.
    key_class: fn(&[u8]) -> KeyClass,
    rxbuf: Vec<u8>,
    txbuf: Vec<u8>,
    buffer_sizes: (usize, usize),
    /// Send batches with UDP GSO (off after the kernel refused it once).
    gso: bool,
    /// The sockets have UDP_GRO on.
    gro: bool,
    /// Datagrams of the last GRO buffer in `rxbuf` not yet returned.
    pending: Option<Pending>,
    /// What [`send_outgoing`](Self::send_outgoing) seals and sends.
    outbox: Outbox,
    run_frames: Vec<usize>,
    run_targets: Vec<SocketAddr>,
}

/// The rest of a GRO-coalesced buffer: `rxbuf[next..end]`, cut every
/// `segment` bytes, all from `src`.
#[derive(Debug, Clone, Copy)]
struct Pending {
    src: SocketAddr,
    next: usize,
    end: usize,
    segment: usize,
}

impl batch::BatchSender for Transport {
    fn seal_into(&mut self, batch: &mut SealedBatch, dest: Dest, payload: &[u8]) -> Result<(), SendError> {
        let mut frame = std::mem::take(&mut self.txbuf);
        let r = self.seal_frame(dest, payload, &mut frame);
        if r.is_ok() {
            batch.push(dest, ONLY_RING, &frame);
        }
        self.txbuf = frame;
        r
    }

    fn send_sealed_batch(&mut self, batch: &SealedBatch) -> Result<(), SendError> {
        self.send_sealed(batch, ONLY_RING)
    }
}

/// Errors by which a kernel says it cannot do UDP GSO on this socket or
/// route (old kernel, no checksum offload, IPsec, path MTU below the
/// segment size).
fn gso_refused(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EIO | libc::ENOPROTOOPT | libc::EOPNOTSUPP | libc::EMSGSIZE))
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("node_id", &self.node_id)
            .field("local", &self.local)
            .field("iface", &self.iface.name)
            .field("codec", &self.codec)
            .finish_non_exhaustive()
    }
}

fn size_buffers(sock: &Socket, bytes: usize) -> (usize, usize) {
    if sys::force_buffers(sock.as_raw_fd(), bytes).is_err() {
        // Unprivileged: best effort, capped by net.core.{w,r}mem_max.
        let _ = sock.set_send_buffer_size(bytes);
        let _ = sock.set_recv_buffer_size(bytes);
    }
    (sock.send_buffer_size().unwrap_or(0), sock.recv_buffer_size().unwrap_or(0))
}

fn scoped(addr: IpAddr, port: u16, index: u32) -> SocketAddr {
    match addr {
        IpAddr::V6(a) => {
            let link_local =
                (a.segments()[0] & 0xffc0) == 0xfe80 || (a.is_multicast() && (a.segments()[0] & 0x000f) <= 2);
            SocketAddr::V6(SocketAddrV6::new(a, port, 0, if link_local { index } else { 0 }))
        }
        v4 => SocketAddr::new(v4, port),
    }
}

impl Transport {
    /// Creates the transport with a fresh random boot id.
    pub fn new(cfg: &NetConfig) -> Result<Transport, NetError> {
        let boot_id = random_boot_id().map_err(io_err("getrandom"))?;
        let ifs = sys::interfaces().map_err(io_err("getifaddrs"))?;
        Self::with_interfaces(cfg, &ifs, boot_id)
    }

    /// Creates the transport from an explicit interface list and boot id
    /// (tests; the boot id must be fresh per process start).
    pub fn with_interfaces(cfg: &NetConfig, ifs: &[sys::IfAddr], boot_id: u64) -> Result<Transport, NetError> {
        cfg.validate()?;
        let iface = resolve_bind(cfg.bindnetaddr, ifs)?;
        let node_id = cfg.node_id_for(iface.addr)?;
        let v6 = iface.addr.is_ipv6();
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let local = scoped(iface.addr, cfg.mcastport, iface.index);

        let ucast = Socket::new(domain, Type::DGRAM.cloexec(), Some(Protocol::UDP)).map_err(io_err("socket"))?;
        if v6 {
            ucast.set_only_v6(true).map_err(io_err("IPV6_V6ONLY"))?;
        }
        ucast.bind(&SockAddr::from(local)).map_err(io_err("bind unicast socket"))?;
        ucast.set_nonblocking(true).map_err(io_err("O_NONBLOCK"))?;
        let buffer_sizes = size_buffers(&ucast, cfg.buffer_bytes);

        let mut sockets = Vec::with_capacity(2);
        let kind = match &cfg.transport {
            TransportKind::Multicast { mcastaddr } => {
                let group = scoped(*mcastaddr, cfg.mcastport, iface.index);
                let msock =
                    Socket::new(domain, Type::DGRAM.cloexec(), Some(Protocol::UDP)).map_err(io_err("socket"))?;
                msock.set_reuse_address(true).map_err(io_err("SO_REUSEADDR"))?;
                match (mcastaddr, iface.addr) {
                    (IpAddr::V4(g), IpAddr::V4(a)) => {
                        sys::set_multicast_if_v4_index(ucast.as_raw_fd(), iface.index, a)
                            .map_err(io_err("IP_MULTICAST_IF"))?;
                        ucast.set_multicast_loop_v4(cfg.multicast_loop).map_err(io_err("IP_MULTICAST_LOOP"))?;
                        ucast.set_multicast_ttl_v4(cfg.ttl).map_err(io_err("IP_MULTICAST_TTL"))?;
                        msock.bind(&SockAddr::from(group)).map_err(io_err("bind group socket"))?;
                        msock
                            .join_multicast_v4_n(g, &InterfaceIndexOrAddress::Index(iface.index))
                            .map_err(io_err("IP_ADD_MEMBERSHIP"))?;
                        let _ = msock.set_multicast_all_v4(false);
                    }
                    (IpAddr::V6(g), IpAddr::V6(_)) => {
                        ucast.set_multicast_if_v6(iface.index).map_err(io_err("IPV6_MULTICAST_IF"))?;
                        ucast.set_multicast_loop_v6(cfg.multicast_loop).map_err(io_err("IPV6_MULTICAST_LOOP"))?;
                        ucast.set_multicast_hops_v6(cfg.ttl).map_err(io_err("IPV6_MULTICAST_HOPS"))?;
                        msock.set_only_v6(true).map_err(io_err("IPV6_V6ONLY"))?;
                        msock.bind(&SockAddr::from(group)).map_err(io_err("bind group socket"))?;
                        msock.join_multicast_v6(g, iface.index).map_err(io_err("IPV6_JOIN_GROUP"))?;
                    }
                    _ => return Err(ConfigError::FamilyMismatch(*mcastaddr).into()),
                }
                msock.set_nonblocking(true).map_err(io_err("O_NONBLOCK"))?;
                size_buffers(&msock, cfg.buffer_bytes);
                sockets.push(UdpSocket::from(ucast));
                sockets.push(UdpSocket::from(msock));
                Kind::Multicast { group }
            }
            TransportKind::Udpu { members } => {
                sockets.push(UdpSocket::from(ucast));
                let mut members: Vec<SocketAddr> =
                    members.iter().map(|m| scoped(*m, cfg.mcastport, iface.index)).collect();
                members.dedup();
                Kind::Udpu { members }
            }
        };

        let epoll = sys::Epoll::new().map_err(io_err("epoll_create1"))?;
        for (i, s) in sockets.iter().enumerate() {
            epoll.add(s.as_raw_fd(), i as u64).map_err(io_err("epoll_ctl"))?;
        }
        // Best effort: without GRO every datagram is read on its own.
        let gro = sockets.iter().all(|s| sys::udp::set_gro(s.as_raw_fd(), true).is_ok());
        let codec = match &cfg.security {
            Security::Off => PacketCodec::plain(node_id, boot_id),
            Security::On { authkey } => PacketCodec::sealed(authkey, node_id, boot_id)
                .map_err(|_| ConfigError::AuthkeyTooShort(authkey.len()))?,
        };
        let mut nodes = BTreeMap::new();
        nodes.insert(node_id, local);
        Ok(Transport {
            kind,
            node_id,
            local,
            iface,
            multicast_loop: cfg.multicast_loop,
            sockets,
            epoll,
            codec,
            max_payload: max_payload_for(cfg.netmtu, v6),
            nodes,
            digest_log: RateLimiter::new(LOG_INTERVAL, LOG_KEYS),
            frame_log: RateLimiter::new(LOG_INTERVAL, LOG_KEYS),
            events: VecDeque::new(),
            stats: Stats::default(),
            rejections: BTreeMap::new(),
            key_class: |_| KeyClass::Auth,
            rxbuf: vec![0u8; RECV_BUF],
            txbuf: Vec::with_capacity(RECV_BUF),
            buffer_sizes,
            gso: true,
            gro,
            pending: None,
            outbox: Outbox::default(),
            run_frames: Vec::new(),
            run_targets: Vec::new(),
        })
    }

    /// This node's id (configured, or derived from its IPv4 address).
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// `secauth` mode of this transport's frames.
    pub fn mode(&self) -> crate::crypto::Mode {
        self.codec.mode()
    }

    /// This process's boot id (in every header; fresh per start).
    pub fn boot_id(&self) -> u64 {
        self.codec.boot_id()
    }

    /// The unicast address this node sends from and receives tokens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Name of the interface `bindnetaddr` resolved to.
    pub fn interface_name(&self) -> &str {
        &self.iface.name
    }

    /// Largest payload [`send_to`](Self::send_to) accepts: `netmtu` minus
    /// IP/UDP headers minus the frame overhead. Totem sizes frames by it.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Effective (SO_SNDBUF, SO_RCVBUF) of the unicast socket as the kernel
    /// reports them.
    pub fn buffer_sizes(&self) -> (usize, usize) {
        self.buffer_sizes
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Frames refused per source address (at most
    /// 1024 sources; the totals are in [`stats`](Self::stats)).
    pub fn rejections(&self) -> impl Iterator<Item = (SocketAddr, &Rejections)> + '_ {
        self.rejections.iter().map(|(a, r)| (*a, r))
    }

    /// Sets how outgoing payloads choose their key: the caller knows which
    /// of its messages belong to a session (Totem: a ring's tokens and
    /// messages) and which go under the authkey (the key exchange). The
    /// default seals everything with the authkey.
    pub fn set_key_classifier(&mut self, classify: fn(&[u8]) -> KeyClass) {
        self.key_class = classify;
    }

    /// The classifier set by [`set_key_classifier`](Self::set_key_classifier).
    pub fn key_classifier(&self) -> fn(&[u8]) -> KeyClass {
        self.key_class
    }

    /// Replaces the session keys (see [`PacketCodec::set_session_keys`]):
    /// retired keys are erased and their frames no longer open.
    pub fn set_session_keys(&mut self, keys: &[(u64, &[u8; 32])]) -> Result<(), KeyError> {
        self.codec.set_session_keys(keys)
    }

    /// The last address an authenticated packet of `node` came from.
    pub fn node_addr(&self, node: NodeId) -> Option<SocketAddr> {
        self.nodes.get(&node).copied()
    }

    /// Known node id -> address pairs, in node id order.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, SocketAddr)> + '_ {
        self.nodes.iter().map(|(n, a)| (*n, *a))
    }

    /// Pins an address for `node` (e.g. from configuration) before any of
    /// its packets arrived.
    pub fn set_node_addr(&mut self, node: NodeId, addr: SocketAddr) {
        self.nodes.insert(node, addr);
    }

    /// Seals `payload` and sends it. Never blocks; a full socket buffer is
    /// a lost packet (`SendError::Io` with `WouldBlock`).
    pub fn send_to(&mut self, dest: Dest, payload: &[u8]) -> Result<(), SendError> {
        let mut frame = std::mem::take(&mut self.txbuf);
        let r = self.seal_frame(dest, payload, &mut frame).and_then(|()| self.send_frame(dest, &frame));
        self.txbuf = frame;
        r
    }

    /// Seals `payload` for `dest` into `out` with this transport's codec,
    /// under the key the classifier picks (checks the size limit). With
    /// [`send_frame`](Self::send_frame) this lets the redundant ring layer
    /// send one sealed frame on several rings.
    pub fn seal_frame(&mut self, dest: Dest, payload: &[u8], out: &mut Vec<u8>) -> Result<(), SendError> {
        self.seal_frame_as((self.key_class)(payload), dest, payload, out)
    }

    /// [`seal_frame`](Self::seal_frame) under the key `class`.
    pub fn seal_frame_as(
        &mut self,
        class: KeyClass,
        dest: Dest,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SendError> {
        if payload.len() > self.max_payload {
            return Err(SendError::TooLarge { len: payload.len(), max: self.max_payload });
        }
        let receiver = match dest {
            Dest::Multicast => EVERY_MEMBER,
            Dest::Node(n) => n,
        };
        let r = self.codec.seal_to(class, receiver, payload, out);
        if let Err(SealError::NoSessionKey(_)) = r {
            self.stats.no_session_key += 1;
        }
        r.map_err(SendError::Seal)
    }

    /// Sends an already sealed `frame` (from [`seal_frame`](Self::seal_frame)
    /// of a transport with the same node id, boot id and key).
    pub fn send_frame(&mut self, dest: Dest, frame: &[u8]) -> Result<(), SendError> {
        let mut targets = std::mem::take(&mut self.run_targets);
        targets.clear();
        // On error (an unknown node) there is no target.
        let r = self.targets(dest, &mut targets);
        let mut first_err = None;
        for &addr in &targets {
            match self.sockets[0].send_to(frame, addr) {
                Ok(_) => self.stats.sent += 1,
                Err(e) => {
                    self.stats.send_errors += 1;
                    first_err.get_or_insert(e);
                }
            }
        }
        self.run_targets = targets;
        r?;
        match first_err {
            Some(e) => Err(SendError::Io(e)),
            None => Ok(()),
        }
    }

    /// Seals and sends `packets` in their order: what Totem produced since
    /// the last flush, handed over in one go. Consecutive frames to the same
    /// destination leave in one `sendmsg` with UDP GSO where the kernel
    /// allows it (see [`Stats::gso_sends`], [`Stats::gso_fallbacks`]); the
    /// datagrams on the wire are the same as with one
    /// [`send_to`](Self::send_to) per packet, in the same order per
    /// destination, and every frame of a run to one destination (all
    /// members, with udpu) leaves before the next run (the token after the
    /// data before it). Works through the packets in bounded batches.
    /// Errors as `send_to`; the first one is returned after every packet
    /// was tried.
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

    /// Sends the frames of `batch` marked for a ring of `ring_mask`, as
    /// [`send_batch`](Self::send_batch) does (the redundant ring layer seals
    /// once and calls this per ring).
    pub(crate) fn send_sealed(&mut self, batch: &SealedBatch, ring_mask: u8) -> Result<(), SendError> {
        let mut run = std::mem::take(&mut self.run_frames);
        let mut targets = std::mem::take(&mut self.run_targets);
        let mut first_err = None;
        let mut i = 0;
        while i < batch.len() {
            if !batch.on_ring(i, ring_mask) {
                i += 1;
                continue;
            }
            // A run: this frame and the following ones for the same
            // destination (frames for other rings do not end it).
            let dest = batch.dest(i);
            run.clear();
            while i < batch.len() {
                if batch.on_ring(i, ring_mask) {
                    if batch.dest(i) != dest {
                        break;
                    }
                    run.push(i);
                }
                i += 1;
            }
            targets.clear();
            if let Err(e) = self.targets(dest, &mut targets) {
                first_err.get_or_insert(e);
                continue;
            }
            for &addr in &targets {
                if let Err(e) = self.send_run(addr, batch, &run) {
                    first_err.get_or_insert(SendError::Io(e));
                }
            }
        }
        self.run_frames = run;
        self.run_targets = targets;
        first_err.map_or(Ok(()), Err)
    }

    /// Where a packet for `dest` goes: one address, or every member (udpu).
    fn targets(&self, dest: Dest, out: &mut Vec<SocketAddr>) -> Result<(), SendError> {
        match (dest, &self.kind) {
            (Dest::Node(n), _) => out.push(*self.nodes.get(&n).ok_or(SendError::UnknownNode(n))?),
            (Dest::Multicast, Kind::Multicast { group }) => out.push(*group),
            (Dest::Multicast, Kind::Udpu { members }) => {
                let mut self_sent = false;
                for &m in members {
                    if m == self.local {
                        if !self.multicast_loop {
                            continue;
                        }
                        self_sent = true;
                    }
                    out.push(m);
                }
                if self.multicast_loop && !self_sent {
                    out.push(self.local);
                }
            }
        }
        Ok(())
    }

    /// Sends the frames `run` of `batch`, in order, to `addr`: GSO groups
    /// while the kernel takes them, else one datagram per frame. Returns
    /// the first error; every frame is tried and counted.
    fn send_run(&mut self, addr: SocketAddr, batch: &SealedBatch, run: &[usize]) -> io::Result<()> {
        let fd = self.sockets[0].as_raw_fd();
        let to = SockAddr::from(addr);
        let mut first_err = None;
        let mut parts: [&[u8]; batch::MAX_SEGMENTS] = [&[]; batch::MAX_SEGMENTS];
        let mut k = 0;
        while k < run.len() {
            let n = if self.gso {
                batch::gso_group_len(run[k..].iter().map(|&f| batch.frame(f).len()))
            } else {
                (run.len() - k).min(batch::MAX_SEGMENTS)
            };
            for (p, &f) in parts.iter_mut().zip(&run[k..k + n]) {
                *p = batch.frame(f);
            }
            let group = &parts[..n];
            k += n;
            if n > 1 && self.gso {
                // gso_group_len keeps the segment size within u16.
                let segment = u16::try_from(group[0].len()).unwrap_or(u16::MAX);
                match sys::udp::send_segments(fd, &to, group, Some(segment)) {
                    Ok(_) => {
                        self.stats.sent += n as u64;
                        self.stats.gso_sends += 1;
                        continue;
                    }
                    Err(e) if gso_refused(&e) => {
                        // Permanently: the socket and route do not change.
                        self.gso = false;
                        self.stats.gso_fallbacks += 1;
                    }
                    Err(e) => {
                        self.stats.send_errors += n as u64;
                        first_err.get_or_insert(e);
                        continue;
                    }
                }
            }
            let r = sys::udp::send_each(fd, &to, group);
            self.stats.sent += r.sent as u64;
            self.stats.send_errors += r.failed as u64;
            if let Some(e) = r.first_error {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Test and measurement switch: `false` sends batches as if the kernel
    /// had refused GSO (`sendmmsg`, one datagram per frame); `true` tries
    /// GSO again.
    pub fn set_gso(&mut self, on: bool) {
        self.gso = on;
    }

    /// Whether batches go out with GSO (false after a refusal).
    pub fn gso_enabled(&self) -> bool {
        self.gso
    }

    /// Test and measurement switch: UDP_GRO on the receiving sockets.
    pub fn set_gro(&mut self, on: bool) -> io::Result<()> {
        for s in &self.sockets {
            sys::udp::set_gro(s.as_raw_fd(), on)?;
        }
        self.gro = on;
        Ok(())
    }

    /// Whether the receiving sockets coalesce with UDP_GRO.
    pub fn gro_enabled(&self) -> bool {
        self.gro
    }

    /// The next datagram that opened, or `None` when nothing (valid) is
    /// queued. Never blocks. Bad datagrams are dropped and counted; their
    /// diagnostics go to [`poll_event`](Self::poll_event). `now` drives the
    /// log rate limit only. Examines a bounded number of datagrams per call;
    /// the fd stays readable if more are queued.
    ///
    /// The multicast group socket is drained before the unicast one: a
    /// token (unicast) must not overtake the data multicast just before
    /// it, or the receiver would ask for retransmission of packets that
    /// are merely still queued. Multicast cannot starve the token for
    /// long: Totem's flow control bounds what is sent per rotation.
    ///
    /// A buffer of datagrams coalesced by UDP GRO is cut at the segment
    /// size the kernel reports and every datagram is opened on its own.
    /// `None` means also that no such datagram is left in user space
    /// ([`has_buffered`](Self::has_buffered) is false); a caller that stops
    /// before `None` must come back while `has_buffered`, as the fd does not
    /// show them (or call [`recv_buffered`](Self::recv_buffered)).
    pub fn recv(&mut self, now: Instant) -> Option<Packet> {
        let n_sock = self.sockets.len();
        let mut budget = RECV_BUDGET;
        loop {
            // The rest of the last coalesced buffer comes first, whole
            // (at most 64 datagrams), whatever the budget.
            if let Some(p) = self.recv_buffered(now) {
                return Some(p);
            }
            if budget == 0 {
                return None;
            }
            // Highest index first: sockets[1] is the group socket, if any.
            let mut i = n_sock;
            let got = loop {
                if i == 0 {
                    break None;
                }
                match sys::udp::recv_segments(self.sockets[i - 1].as_raw_fd(), &mut self.rxbuf) {
                    Ok(r) => break Some(r),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => i -= 1,
                    Err(_) => {
                        self.stats.recv_errors += 1;
                        i -= 1;
                    }
                }
            };
            let r = got?;
            budget -= 1;
            let Some(src) = r.src else {
                self.stats.recv_errors += 1;
                continue;
            };
            if r.truncated {
                // Its tail fails to open and is counted there too.
                self.stats.recv_errors += 1;
            }
            let segment = match r.segment {
                Some(seg) if seg < r.len => {
                    self.stats.gro_buffers += 1;
                    seg
                }
                _ => r.len.max(1),
            };
            self.pending = Some(Pending { src, next: 0, end: r.len, segment });
        }
    }

    /// The next datagram that opened among those of a coalesced buffer
    /// already read, never reading the socket: at most one buffer (64
    /// datagrams) of work. For a caller that stopped calling
    /// [`recv`](Self::recv) before `None` to finish what the fd does not
    /// show.
    pub fn recv_buffered(&mut self, now: Instant) -> Option<Packet> {
        while let Some((start, end, src)) = self.next_segment() {
            if let Some(p) = self.accept(start, end, src, now) {
                return Some(p);
            }
        }
        None
    }

    /// True while datagrams of a coalesced buffer wait for
    /// [`recv`](Self::recv) (the fd does not show them).
    pub fn has_buffered(&self) -> bool {
        self.pending.is_some()
    }

    /// The next datagram of the current buffer: `rxbuf[start..end]`.
    fn next_segment(&mut self) -> Option<(usize, usize, SocketAddr)> {
        let p = self.pending.as_mut()?;
        let start = p.next;
        let end = (start + p.segment).min(p.end);
        let src = p.src;
        p.next = end;
        if end >= p.end {
            self.pending = None;
        }
        // An empty datagram still is one (it fails to open, counted).
        Some((start, end, src))
    }

    fn push_event(&mut self, ev: NetEvent) {
        if self.events.len() < MAX_EVENTS {
            self.events.push_back(ev);
        }
    }

    fn accept(&mut self, start: usize, end: usize, src: SocketAddr, now: Instant) -> Option<Packet> {
        if let Kind::Udpu { members } = &self.kind
            && src != self.local
            && !members.contains(&src)
        {
            self.stats.unknown_source += 1;
            return None;
        }
        let frame = &mut self.rxbuf[start..end];
        let len = frame.len();
        if !self.multicast_loop
            && let Ok(h) = Header::parse(frame, self.codec.mode())
            && h.node_id == self.node_id
            && h.boot_id == self.codec.boot_id()
        {
            self.stats.own_dropped += 1;
            return None;
        }
        match self.codec.open_in_place(frame) {
            Ok(h) => {
                if h.node_id == self.node_id && h.boot_id != self.codec.boot_id() {
                    // Another process with our node id: a misconfigured
                    // duplicate, or our own previous incarnation's packets
                    // still in flight. Never deliver or learn from it.
                    self.stats.foreign_self += 1;
                    if src != self.local
                        && let Some(suppressed) = self.frame_log.check(&src, now)
                    {
                        self.push_event(NetEvent::DuplicateNodeId { from: src, suppressed });
                    }
                    return None;
                }
                let data = frame[crate::crypto::HEADER_LEN..len - crate::crypto::TRAILER_LEN].to_vec();
                // Bounded: with secauth off anyone can invent node ids.
                if self.nodes.len() < MAX_NODES || self.nodes.contains_key(&h.node_id) {
                    match self.nodes.insert(h.node_id, src) {
                        Some(old) if old != src => {
                            self.push_event(NetEvent::AddressChanged { node: h.node_id, old, new: src })
                        }
                        _ => {}
                    }
                }
                self.stats.received += 1;
                // Every key that opens a frame is one we hold.
                let key = self.codec.class_of(h.key_id).unwrap_or(KeyClass::Auth);
                Some(Packet { from: h.node_id, addr: src, data, boot_id: h.boot_id, counter: h.counter, key })
            }
            Err(error) => {
                self.reject(src, error, now);
                None
            }
        }
    }

    /// Counts a refused frame, in total and for its source, and reports
    /// it (rate-limited) when it says something about the network.
    fn reject(&mut self, src: SocketAddr, error: OpenError, now: Instant) {
        let known = self.rejections.len() < MAX_REJECT_SOURCES || self.rejections.contains_key(&src);
        let mut scratch = Rejections::default();
        let by_source = if known { self.rejections.entry(src).or_default() } else { &mut scratch };
        match error {
            OpenError::InvalidDigest => {
                self.stats.invalid_digest += 1;
                by_source.invalid_digest += 1;
                if let Some(suppressed) = self.digest_log.check(&src, now) {
                    self.push_event(NetEvent::InvalidDigest { from: src, suppressed });
                }
            }
            OpenError::Replay => {
                self.stats.replayed += 1;
                by_source.replayed += 1;
            }
            OpenError::UnknownKey(_) => {
                self.stats.unknown_key += 1;
                by_source.unknown_key += 1;
            }
            error => {
                if matches!(error, OpenError::NotForUs { .. }) {
                    self.stats.not_for_us += 1;
                    by_source.not_for_us += 1;
                } else {
                    self.stats.bad_frame += 1;
                    by_source.bad_frame += 1;
                }
                if let Some(suppressed) = self.frame_log.check(&src, now) {
                    self.push_event(NetEvent::BadFrame { from: src, error, suppressed });
                }
            }
        }
    }

    /// Next diagnostic to log, if any. Drain after `recv`.
    pub fn poll_event(&mut self) -> Option<NetEvent> {
        self.events.pop_front()
    }

    /// Waits up to `timeout` for the fd to become readable (tests and
    /// simple drivers; the executive polls [`AsRawFd`] itself).
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        sys::wait_readable(self.epoll.as_raw_fd(), timeout.as_millis().min(i32::MAX as u128) as i32)
    }
}

impl AsRawFd for Transport {
    /// An epoll fd: readable exactly when a datagram is queued on any of
    /// the transport's sockets.
    fn as_raw_fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }
}

impl AsFd for Transport {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}

#[cfg(test)]
#[path = "transport_offload_tests.rs"]
mod offload_tests;
