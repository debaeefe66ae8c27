//! The IPC server: the executive's Unix socket, the handshake that pairs a
//! request and a dispatch socket into one library connection, credential
//! checks, and bounded per-socket buffers.
//!
//! Owns every client socket; turns socket activity into [`ServerEvent`]s
//! for the main loop and sends what services answer. It never interprets
//! request bodies.
//!
//! Choices (documented for library authors):
//! - Credentials are read with `SO_PEERCRED` right after `accept`, never
//!   later; a refused peer gets `HelloReply { error: ACCESS }` and is
//!   closed.
//! - Hello errors: protocol version mismatch -> `VERSION`; a service id
//!   that is not registered in this executive -> `NOT_EXIST`; a dispatch
//!   Hello whose token is unknown, already paired, for another service or
//!   from another uid -> `BAD_HANDLE`; a non-zero token on a request Hello
//!   -> `INVALID_PARAM`; over a connection limit ([`limits`]) ->
//!   `NO_RESOURCES`. The socket is
//!   closed after the reply. A successful dispatch Hello is not answered
//!   (the dispatch channel carries only callbacks); requests that arrive
//!   before the dispatch channel is paired wait, unread, until it is.
//! - A malformed or oversized frame, a request for another service, or
//!   anything sent on the dispatch channel closes that one connection
//!   (both sockets), with a log line and a count.
//! - Request channel: when more than [`QUEUE_LIMIT`] bytes of responses
//!   wait unread, the executive stops reading requests from that socket
//!   (backpressure) until the client reads.
//! - Dispatch channel: callbacks cannot be paused (they come from ordered
//!   delivery), so when more than [`QUEUE_LIMIT`] bytes wait unread the
//!   connection is dropped with a log line.
//! - All clients together may leave at most `unread_budget` bytes unread
//!   (`aisexec { callback_budget_mb }`, by default an eighth of the
//!   machine's memory): past it, at the end of a turn, the connections
//!   with the most unread are dropped, largest first, with a log line.
//! - Output is queued and written once per main-loop turn
//!   ([`Server::flush_pending`]), so a burst of callbacks costs one
//!   `send` per socket, not one per frame. The limits above are checked
//!   whenever a socket's queue passes [`QUEUE_LIMIT`] (it is flushed at
//!   once then) and after every flush. Within one connection, frames
//!   reach the two sockets in the order they were sent: queuing on one
//!   socket first flushes what waits on the other.
//! - A socket that does not complete its handshake within
//!   [`HANDSHAKE_TIMEOUT`] (Hello, or the dispatch channel for a request
//!   channel) is closed.

#![forbid(unsafe_code)]

pub mod access;
pub mod channel;
pub mod limits;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ais_ipc::error;
use ais_ipc::handshake::{
    HANDSHAKE_SERVICE, HELLO_ID, HELLO_REPLY_ID, Hello, HelloReply, PROTOCOL_VERSION, Role as HelloRole,
};

use crate::service::{ConnId, ConnInfo};
use crate::sys::{self, Epoll, PeerCred};
pub use access::AccessPolicy;
use channel::{Channel, READ_CHUNK, ReadOutcome};

/// Unread bytes allowed per channel (see the module doc for what happens).
pub const QUEUE_LIMIT: usize = 4 * 1024 * 1024;
/// Time allowed for a handshake to complete.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most client sockets at once.
pub const MAX_SOCKETS: usize = 16 * 1024;
/// Listen backlog.
const BACKLOG: i32 = 1024;
/// Accepts per readable event, for fairness.
const ACCEPT_BATCH: usize = 64;
/// Pause after running out of descriptors or memory while accepting.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Epoll key of the listening socket; client keys start at [`FIRST_KEY`].
/// Keys in between are free for the main loop.
pub const LISTEN_KEY: u64 = 0;
pub const FIRST_KEY: u64 = 1 << 20;

/// What the main loop learns from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// Both channels are up.
    Opened(ConnInfo),
    /// A request frame on an opened connection.
    Request { conn: ConnId, id: u32, body: Vec<u8> },
    /// An opened connection is gone; hand it to the service's cleanup.
    Closed { conn: ConnId, service: u32 },
}

/// Counters, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub accepted: u64,
    pub refused: u64,
    pub malformed: u64,
    pub handshake_timeouts: u64,
    pub slow_dropped: u64,
    /// Times a connection was held for a full ordering queue.
    pub held: u64,
}

/// What waits for one connection's client, now (see [`Server::queues`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnQueues {
    pub info: ConnInfo,
    /// Responses queued here, not yet written to the socket.
    pub responses: usize,
    /// Callbacks queued here, not yet written to the socket.
    pub callbacks: usize,
    /// Bytes the client has not read on either channel: queued here, and
    /// in the socket buffers as the kernel counts them.
    pub unread_bytes: u64,
}

/// Hashes socket keys and connection ids: counters we assign, never
/// chosen by a peer, so a multiplicative hash is safe and much cheaper than
/// SipHash (which showed in per-message profiles: several lookups per
/// frame sent).
#[derive(Default)]
struct CounterHasher(u64);

impl Hasher for CounterHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type CounterMap<K, V> = HashMap<K, V, BuildHasherDefault<CounterHasher>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Hello { deadline: Instant },
    Request(ConnId),
    Dispatch(ConnId),
}

struct Sock {
    ch: Channel,
    role: Role,
    /// Not reading requests until responses drain.
    paused: bool,
    /// Not reading requests until the ordering queue has room
    /// ([`Server::hold`]).
    held: bool,
    interest: u32,
    /// Listed in `Server::pending` (output queued since the last flush).
    pending: bool,
}

struct Conn {
    info: ConnInfo,
    request: u64,
    dispatch: Option<u64>,
    token: u64,
    pair_deadline: Instant,
}

pub struct Server {
    listener: UnixListener,
    path: PathBuf,
    policy: AccessPolicy,
    services: Vec<u32>,
    socks: CounterMap<u64, Sock>,
    conns: CounterMap<ConnId, Conn>,
    tokens: HashMap<u64, ConnId>,
    /// `(deadline, key)` in creation order (so in deadline order).
    deadlines: VecDeque<(Instant, u64)>,
    next_key: u64,
    next_conn: u64,
    events: Vec<ServerEvent>,
    /// Sockets with output queued this turn, in the order first queued.
    pending: Vec<u64>,
    /// Request sockets held by [`Server::hold`].
    held: Vec<u64>,
    scratch: Vec<u8>,
    accept_paused_until: Option<Instant>,
    /// Sockets held per user and process ([`limits`]).
    usage: limits::Usage,
    /// Output left unread, per socket and in all.
    backlog: limits::Backlog,
    pub stats: Stats,
    /// Callbacks sent on dispatch channels, in all.
    pub callbacks_sent: u64,
}

/// Removes `path` if it is a stale socket; errors if it is anything else.
fn clear_stale_socket(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => {
            Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} exists and is not a socket", path.display())))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Updates the epoll registration if what `sock` waits for changed.
fn set_interest(epoll: &Epoll, key: u64, sock: &mut Sock) {
    let want = interest(sock);
    if want != sock.interest {
        sock.interest = want;
        let _ = epoll.modify(sock.ch.fd(), key, want);
    }
}

fn interest(sock: &Sock) -> u32 {
    let mut ev = sys::RDHUP;
    if !sock.paused && !sock.held {
        ev |= sys::IN;
    }
    if sock.ch.queued() > 0 {
        ev |= sys::OUT;
    }
    ev
}

impl Server {
    /// Binds the socket at `path` (mode 0666: the credential check is the
    /// guard) and registers it. The caller holds the run-dir lock, so an
    /// existing socket there is stale.
    pub fn bind(path: &Path, policy: AccessPolicy, services: Vec<u32>, epoll: &Epoll) -> io::Result<Server> {
        clear_stale_socket(path)?;
        let listener = sys::listen_unix(path, BACKLOG, 0o666)?;
        epoll.add(listener.as_raw_fd(), LISTEN_KEY, sys::IN)?;
        Ok(Server {
            listener,
            path: path.to_path_buf(),
            policy,
            services,
            socks: CounterMap::default(),
            conns: CounterMap::default(),
            tokens: HashMap::new(),
            deadlines: VecDeque::new(),
            next_key: FIRST_KEY,
            next_conn: 1,
            events: Vec::new(),
            pending: Vec::new(),
            held: Vec::new(),
            scratch: vec![0; READ_CHUNK],
            accept_paused_until: None,
            usage: limits::Usage::default(),
            backlog: limits::Backlog::default(),
            stats: Stats::default(),
            callbacks_sent: 0,
        })
    }

    /// Events produced since the last call.
    pub fn take_events(&mut self) -> Vec<ServerEvent> {
        std::mem::take(&mut self.events)
    }

    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Every connection's queues, by connection id (for statistics: one
    /// `ioctl` per socket).
    pub fn queues(&self) -> Vec<ConnQueues> {
        let sock = |key: Option<u64>| {
            let Some(s) = key.and_then(|k| self.socks.get(&k)) else { return (0, 0) };
            let kernel = sys::unread_by_peer(s.ch.fd()).unwrap_or(0);
            (s.ch.queued_frames(), s.ch.queued() as u64 + kernel)
        };
        let mut out: Vec<ConnQueues> = self
            .conns
            .values()
            .map(|c| {
                let (responses, r_bytes) = sock(Some(c.request));
                let (callbacks, d_bytes) = sock(c.dispatch);
                ConnQueues { info: c.info, responses, callbacks, unread_bytes: r_bytes + d_bytes }
            })
            .collect();
        out.sort_unstable_by_key(|q| q.info.id.0);
        out
    }

    pub fn conn_info(&self, conn: ConnId) -> Option<ConnInfo> {
        self.conns.get(&conn).map(|c| c.info)
    }

    /// The earliest moment [`Server::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let d = self.deadlines.front().map(|d| d.0);
        match (d, self.accept_paused_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Handles an epoll event for `key` (the listener or a client).
    pub fn handle(&mut self, epoll: &Epoll, key: u64, events: u32, now: Instant) {
        if key == LISTEN_KEY {
            self.accept_ready(epoll, now);
            return;
        }
        if events & sys::OUT != 0 {
            self.flush_key(epoll, key);
        }
        if events & (sys::IN | sys::HUP | sys::ERR | sys::RDHUP) != 0 {
            self.read_key(epoll, key, events, now);
        }
    }

    fn accept_ready(&mut self, epoll: &Epoll, now: Instant) {
        for _ in 0..ACCEPT_BATCH {
            let stream = match sys::accept(&self.listener) {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNABORTED | libc::EINTR)) => continue,
                Err(e) => {
                    crate::log_error!(Ipc, "accept failed: {e}; pausing accepts for {ACCEPT_BACKOFF:?}");
                    let _ = epoll.modify(self.listener.as_raw_fd(), LISTEN_KEY, 0);
                    self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
                    return;
                }
            };
            // Credentials are fixed at connect(); read them now, once.
            let cred = match sys::peer_cred(stream.as_raw_fd()) {
                Ok(c) => c,
                Err(e) => {
                    crate::log_limited!(Warning, Ipc, "cannot read peer credentials: {e}; closing");
                    continue;
                }
            };
            let mut ch = Channel::new(stream, cred);
            if !self.policy.allows(&cred) {
                self.stats.refused += 1;
                crate::log_limited!(
                    Notice,
                    Ipc,
                    "refused connection from pid {} uid {} gid {}: not allowed",
                    cred.pid,
                    cred.uid,
                    cred.gid
                );
                refuse(&mut ch, error::ACCESS);
                continue;
            }
            if let Err(why) = self.usage.admit(&self.policy.limits, &cred) {
                self.stats.refused += 1;
                crate::log_limited!(
                    Warning,
                    Ipc,
                    "refused connection from pid {} uid {}: {}",
                    cred.pid,
                    cred.uid,
                    why.describe(&self.policy.limits)
                );
                refuse(&mut ch, error::NO_RESOURCES);
                continue;
            }
            self.stats.accepted += 1;
            let key = self.next_key;
            self.next_key += 1;
            let deadline = now + HANDSHAKE_TIMEOUT;
            let sock = Sock {
                ch,
                role: Role::Hello { deadline },
                paused: false,
                held: false,
                interest: sys::IN | sys::RDHUP,
                pending: false,
            };
            if let Err(e) = epoll.add(sock.ch.fd(), key, sock.interest) {
                crate::log_error!(Ipc, "cannot watch a client socket: {e}");
                continue;
            }
            self.usage.add(&cred);
            self.socks.insert(key, sock);
            self.deadlines.push_back((deadline, key));
        }
    }

    /// Closes sockets whose handshake is overdue; resumes accepting.
    pub fn handle_timeout(&mut self, epoll: &Epoll, now: Instant) {
        if self.accept_paused_until.is_some_and(|t| t <= now) {
            self.accept_paused_until = None;
            let _ = epoll.modify(self.listener.as_raw_fd(), LISTEN_KEY, sys::IN);
        }
        while let Some(&(deadline, key)) = self.deadlines.front() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_front();
            let Some(sock) = self.socks.get(&key) else { continue };
            match sock.role {
                Role::Hello { deadline: d } if d == deadline => {
                    self.stats.handshake_timeouts += 1;
                    crate::log_limited!(
                        Notice,
                        Ipc,
                        "pid {}: no hello within {HANDSHAKE_TIMEOUT:?}; closing",
                        sock.ch.cred.pid
                    );
                    self.take_sock(key);
                }
                Role::Request(conn) => {
                    let unpaired =
                        self.conns.get(&conn).is_some_and(|c| c.dispatch.is_none() && c.pair_deadline == deadline);
                    if unpaired {
                        self.stats.handshake_timeouts += 1;
                        crate::log_limited!(
                            Notice,
                            Ipc,
                            "pid {}: dispatch channel never connected; closing",
                            sock.ch.cred.pid
                        );
                        self.close_conn(conn);
                    }
                }
                _ => {}
            }
        }
    }

    fn read_key(&mut self, epoll: &Epoll, key: u64, events: u32, now: Instant) {
        let Some(sock) = self.socks.get_mut(&key) else { return };
        if sock.paused || sock.held {
            // Not reading, but a hangup must not spin the loop: the peer
            // is gone or stopped talking while we wait on it.
            if events & (sys::HUP | sys::ERR | sys::RDHUP) != 0 {
                self.drain_held(epoll, key, now);
                self.close_key(key);
            }
            return;
        }
        let outcome = sock.ch.read_some(&mut self.scratch);
        // Frames already complete are handled even if the peer closed after
        // sending them (a client may send its last request and exit).
        self.process_frames(epoll, key, now);
        if outcome == ReadOutcome::Closed {
            // The dispatch channel may close first: a held request channel
            // still hands over what it holds.
            if let Some(other) = self.partner(key) {
                self.drain_held(epoll, other, now);
            }
            self.close_key(key);
        }
    }

    fn process_frames(&mut self, epoll: &Epoll, key: u64, now: Instant) {
        loop {
            let Some(sock) = self.socks.get_mut(&key) else { return };
            if sock.paused || sock.held {
                return;
            }
            let role = sock.role;
            if let Role::Request(conn) = role
                && self.conns.get(&conn).is_some_and(|c| c.dispatch.is_none())
            {
                // Requests wait until the dispatch channel is paired.
                if sock.ch.has_input() {
                    sock.paused = true;
                    set_interest(epoll, key, sock);
                }
                return;
            }
            let frame = match sock.ch.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(e) => {
                    self.protocol_error(key, &format!("bad frame header: {e}"));
                    return;
                }
            };
            let (header, body) = frame;
            match role {
                Role::Hello { .. } => {
                    if header.service != HANDSHAKE_SERVICE || header.id != HELLO_ID {
                        self.protocol_error(key, "first message is not a hello");
                        return;
                    }
                    match Hello::decode(&body) {
                        Ok(hello) => self.hello(epoll, key, hello, now),
                        Err(e) => {
                            self.protocol_error(key, &format!("bad hello: {e}"));
                            return;
                        }
                    }
                }
                Role::Request(conn) => {
                    let Some(c) = self.conns.get(&conn) else { return };
                    if header.service != c.info.service {
                        let why = format!("request for service {} on a {} connection", header.service, c.info.service);
                        self.protocol_error(key, &why);
                        return;
                    }
                    self.events.push(ServerEvent::Request { conn, id: header.id, body });
                }
                Role::Dispatch(_) => {
                    self.protocol_error(key, "data sent on the dispatch channel");
                    return;
                }
            }
        }
    }

    fn hello(&mut self, epoll: &Epoll, key: u64, hello: Hello, now: Instant) {
        let Some(sock) = self.socks.get(&key) else { return };
        let cred = sock.ch.cred;
        if hello.protocol != PROTOCOL_VERSION {
            crate::log_limited!(
                Notice,
                Ipc,
                "pid {}: protocol version {} unsupported (want {PROTOCOL_VERSION})",
                cred.pid,
                hello.protocol
            );
            return self.reject(key, error::VERSION);
        }
        if !self.services.contains(&hello.service) {
            crate::log_limited!(Notice, Ipc, "pid {}: service {} not available", cred.pid, hello.service);
            return self.reject(key, error::NOT_EXIST);
        }
        match hello.role {
            HelloRole::Request => {
                if hello.token != 0 {
                    return self.reject(key, error::INVALID_PARAM);
                }
                let token = self.new_token();
                let conn = ConnId(self.next_conn);
                self.next_conn += 1;
                let info = ConnInfo { id: conn, service: hello.service, pid: cred.pid, uid: cred.uid, gid: cred.gid };
                let pair_deadline = now + HANDSHAKE_TIMEOUT;
                self.conns.insert(conn, Conn { info, request: key, dispatch: None, token, pair_deadline });
                self.tokens.insert(token, conn);
                self.deadlines.push_back((pair_deadline, key));
                if let Some(sock) = self.socks.get_mut(&key) {
                    sock.role = Role::Request(conn);
                }
                self.send_on(
                    epoll,
                    key,
                    HANDSHAKE_SERVICE,
                    HELLO_REPLY_ID,
                    &HelloReply { error: error::OK, token }.encode(),
                );
            }
            HelloRole::Dispatch => {
                let pair = self
                    .tokens
                    .get(&hello.token)
                    .and_then(|c| self.conns.get(c))
                    .filter(|c| c.dispatch.is_none() && c.info.service == hello.service && c.info.uid == cred.uid);
                let Some(conn) = pair.map(|c| c.info.id) else {
                    crate::log_limited!(Notice, Ipc, "pid {}: dispatch hello with an unknown token", cred.pid);
                    return self.reject(key, error::BAD_HANDLE);
                };
                self.tokens.remove(&hello.token);
                let Some(c) = self.conns.get_mut(&conn) else { return };
                c.dispatch = Some(key);
                let (info, request_key) = (c.info, c.request);
                if let Some(sock) = self.socks.get_mut(&key) {
                    sock.role = Role::Dispatch(conn);
                }
                crate::log_debug!(
                    Ipc,
                    "connection {} opened: service {} pid {} uid {}",
                    conn.0,
                    ais_ipc::service::name(info.service),
                    info.pid,
                    info.uid
                );
                self.events.push(ServerEvent::Opened(info));
                // Serve requests that arrived before the pairing.
                if let Some(req) = self.socks.get_mut(&request_key) {
                    req.paused = req.ch.queued() > QUEUE_LIMIT;
                    set_interest(epoll, request_key, req);
                }
                self.process_frames(epoll, request_key, now);
            }
        }
    }

    /// Stops reading `conn`'s requests (those already read are handled)
    /// until [`Server::release_held`]: the ordering queue went past its
    /// limit with one of them.
    pub fn hold(&mut self, epoll: &Epoll, conn: ConnId) {
        let Some(key) = self.conns.get(&conn).map(|c| c.request) else { return };
        let Some(sock) = self.socks.get_mut(&key) else { return };
        if !sock.held {
            self.stats.held += 1;
            sock.held = true;
            set_interest(epoll, key, sock);
            self.held.push(key);
        }
    }

    /// Reads held connections again (the ordering queue has room) and
    /// handles what they already sent; true if any was held.
    pub fn release_held(&mut self, epoll: &Epoll, now: Instant) -> bool {
        if self.held.is_empty() {
            return false;
        }
        for key in std::mem::take(&mut self.held) {
            let Some(sock) = self.socks.get_mut(&key) else { continue };
            sock.held = false;
            set_interest(epoll, key, sock);
            self.process_frames(epoll, key, now);
        }
        true
    }

    /// A client hung up: if socket `key` is held (and not paused for its
    /// output), its unread requests are still handed over (it may have been
    /// told its messages were sent; see
    /// [`crate::service::Ctx::submit_or_hold`]). Bounded by its socket
    /// buffer: the peer cannot write more.
    fn drain_held(&mut self, epoll: &Epoll, key: u64, now: Instant) {
        let Some(sock) = self.socks.get_mut(&key) else { return };
        if !sock.held || sock.paused {
            return;
        }
        sock.held = false;
        self.held.retain(|&k| k != key);
        loop {
            let Some(sock) = self.socks.get_mut(&key) else { return };
            let before = sock.ch.buffered();
            let outcome = sock.ch.read_some(&mut self.scratch);
            let grew = sock.ch.buffered() > before;
            self.process_frames(epoll, key, now);
            if outcome == ReadOutcome::Closed || !grew {
                return;
            }
        }
    }

    fn new_token(&self) -> u64 {
        loop {
            // getrandom does not fail for 8 bytes once the pool is ready;
            // fall back to a counter-derived value rather than abort.
            let t = sys::random_u64().unwrap_or(self.next_conn.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            if t != 0 && !self.tokens.contains_key(&t) {
                return t;
            }
        }
    }

    /// Answers a Hello with `err` and closes the socket (not a connection).
    fn reject(&mut self, key: u64, err: u32) {
        if let Some(mut sock) = self.take_sock(key) {
            refuse(&mut sock.ch, err);
        }
    }

    fn protocol_error(&mut self, key: u64, why: &str) {
        self.stats.malformed += 1;
        if let Some(sock) = self.socks.get(&key) {
            crate::log_limited!(Warning, Ipc, "pid {}: {why}; closing its connection", sock.ch.cred.pid);
        }
        self.close_key(key);
    }

    /// Closes the socket `key` and, if it belongs to one, its connection.
    fn close_key(&mut self, key: u64) {
        match self.socks.get(&key).map(|s| s.role) {
            Some(Role::Request(conn)) | Some(Role::Dispatch(conn)) => self.close_conn(conn),
            Some(Role::Hello { .. }) => self.remove_sock(key),
            None => {}
        }
    }

    /// Closes both sockets of `conn`; an opened connection yields
    /// [`ServerEvent::Closed`].
    pub fn close_conn(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else { return };
        self.tokens.remove(&c.token);
        self.remove_sock(c.request);
        if let Some(d) = c.dispatch {
            self.remove_sock(d);
            crate::log_debug!(Ipc, "connection {} closed", conn.0);
            self.events.push(ServerEvent::Closed { conn, service: c.info.service });
        }
    }

    /// Drops socket `key`, first sending (best effort, without blocking)
    /// what was queued for it this turn, as an immediate write would have.
    fn remove_sock(&mut self, key: u64) {
        if let Some(mut sock) = self.take_sock(key)
            && sock.pending
        {
            let _ = sock.ch.flush();
        }
    }

    /// Removes socket `key` from the table and from its owner's counts.
    fn take_sock(&mut self, key: u64) -> Option<Sock> {
        let sock = self.socks.remove(&key)?;
        self.usage.remove(&sock.ch.cred);
        self.backlog.note(key, 0);
        Some(sock)
    }

    /// The other socket of the connection `key` belongs to.
    fn partner(&self, key: u64) -> Option<u64> {
        let conn = match self.socks.get(&key)?.role {
            Role::Request(c) | Role::Dispatch(c) => self.conns.get(&c)?,
            Role::Hello { .. } => return None,
        };
        if conn.request == key { conn.dispatch } else { Some(conn.request) }
    }

    /// Queues a frame on socket `key`; it is sent by the next
    /// [`Server::flush_pending`], or now if the queue passed its limit.
    fn send_on(&mut self, epoll: &Epoll, key: u64, service: u32, id: u32, body: &[u8]) {
        // Keep the connection's order across its two sockets.
        if let Some(other) = self.partner(key)
            && self.socks.get(&other).is_some_and(|s| s.pending)
        {
            self.flush_key(epoll, other);
        }
        let Some(sock) = self.socks.get_mut(&key) else { return };
        sock.ch.queue(service, id, body);
        if sock.ch.queued() > QUEUE_LIMIT {
            self.flush_key(epoll, key);
        } else if !sock.pending {
            sock.pending = true;
            self.pending.push(key);
        }
    }

    /// Sends what every socket queued since the last call (one `send` per
    /// socket) and applies the queue limits. The main loop calls this at
    /// the end of each turn, so nothing waits longer than the turn.
    pub fn flush_pending(&mut self, epoll: &Epoll) {
        while !self.pending.is_empty() {
            for key in std::mem::take(&mut self.pending) {
                self.flush_key(epoll, key);
            }
        }
        let budget = self.policy.limits.unread_budget;
        if self.backlog.total() > budget {
            self.drop_over_budget(budget);
        }
    }

    /// All clients together left more than `budget` bytes unread: drops
    /// the connections with the most, until the rest fit.
    fn drop_over_budget(&mut self, budget: usize) {
        let total = self.backlog.total();
        for key in self.backlog.over_budget(budget) {
            let Some(sock) = self.socks.get(&key) else { continue };
            let (Role::Request(conn) | Role::Dispatch(conn)) = sock.role else { continue };
            self.stats.slow_dropped += 1;
            crate::log_limited!(
                Warning,
                Ipc,
                "pid {}: {} bytes unread, the most of all clients, who left {total} unread (budget {budget}); \
                 dropping its connection",
                sock.ch.cred.pid,
                sock.ch.queued()
            );
            self.close_conn(conn);
        }
    }

    fn flush_key(&mut self, epoll: &Epoll, key: u64) {
        let Some(sock) = self.socks.get_mut(&key) else { return };
        sock.pending = false;
        if sock.ch.flush().is_err() {
            self.close_key(key);
            return;
        }
        let queued = sock.ch.queued();
        self.backlog.note(key, queued);
        let was_paused = sock.paused;
        match sock.role {
            Role::Request(_) => sock.paused = queued > QUEUE_LIMIT,
            Role::Dispatch(conn) if queued > QUEUE_LIMIT => {
                self.stats.slow_dropped += 1;
                crate::log_limited!(
                    Warning,
                    Ipc,
                    "pid {}: {queued} bytes of callbacks unread; dropping its connection",
                    sock.ch.cred.pid
                );
                self.close_conn(conn);
                return;
            }
            _ => {}
        }
        set_interest(epoll, key, sock);
        // Resumed: requests may already be buffered.
        if was_paused && !sock.paused && sock.ch.has_input() {
            self.process_frames(epoll, key, Instant::now());
        }
    }

    /// Sends a response on `conn`'s request channel (ignored if gone).
    pub fn send_reply(&mut self, epoll: &Epoll, conn: ConnId, id: u32, body: &[u8]) {
        if let Some(c) = self.conns.get(&conn) {
            let (key, service) = (c.request, c.info.service);
            self.send_on(epoll, key, service, id, body);
        }
    }

    /// Sends a callback on `conn`'s dispatch channel (ignored if gone).
    pub fn send_dispatch(&mut self, epoll: &Epoll, conn: ConnId, id: u32, body: &[u8]) {
        if let Some(c) = self.conns.get(&conn)
            && let Some(key) = c.dispatch
        {
            let service = c.info.service;
            self.callbacks_sent += 1;
            self.send_on(epoll, key, service, id, body);
        }
    }

    /// Closes every client (they see end of file) and removes the socket
    /// file. Opened connections yield `Closed` events.
    pub fn shutdown(&mut self) {
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for c in conns {
            self.close_conn(c);
        }
        let keys: Vec<u64> = self.socks.keys().copied().collect();
        for key in keys {
            self.remove_sock(key);
        }
        self.pending.clear();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Best effort: tell a refused peer why, then drop the socket.
fn refuse(ch: &mut Channel, err: u32) {
    ch.queue(HANDSHAKE_SERVICE, HELLO_REPLY_ID, &HelloReply { error: err, token: 0 }.encode());
    let _ = ch.flush();
}

/// The peer credentials type, re-exported for callers.
pub type Credentials = PeerCred;

#[cfg(test)]
mod tests;
