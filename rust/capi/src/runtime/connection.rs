//! One library handle's connection to the executive.
//!
//! Owns: the two sockets of a connection (see `ais_ipc`), the handshake,
//! request/response on the request channel, and the connection's state.
//! Dispatch lives in `dispatch.rs`.
//!
//! States: *open*; *broken* (the executive went away, or sent something
//! malformed: every later call gives `SA_AIS_ERR_LIBRARY`); *closed* (the
//! handle was finalized: calls racing with the finalize give
//! `SA_AIS_ERR_BAD_HANDLE`, a blocking dispatch returns `SA_AIS_OK`).
//! Breaking or closing shuts both sockets down, which wakes every thread
//! waiting on them, and makes the selection object readable, so an
//! application polling it calls dispatch and learns what happened. The
//! descriptors themselves stay open until the last user of the
//! `Arc<Connection>` drops it, so no thread ever polls a closed or reused
//! descriptor through us.
//!
//! Pipelining: multicasts ([`Connection::request_pipelined`]) do not wait
//! for their answers, which is what lets a single-threaded application
//! send faster than one round trip to the executive per message. The
//! answers are read, in order, by later calls.
//!
//! Timeouts: a request given a deadline that passes returns
//! `SA_AIS_ERR_TIMEOUT` and the connection stays usable. The executive
//! answers every request, in order; the late answer's id is remembered and
//! the next request reads and discards it before its own. (Marking the
//! connection broken instead would turn one slow answer into the loss of
//! the whole handle.) If more than [`MAX_LATE_RESPONSES`] answers are
//! outstanding, the executive is not answering at all: broken.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ais_ipc::frame::{self, HEADER_SIZE, MAX_MESSAGE_SIZE};
use ais_ipc::handshake::{HANDSHAKE_SERVICE, HELLO_ID, HELLO_REPLY_ID, Hello, HelloReply, PROTOCOL_VERSION, Role};

use super::answer_reader::AnswerReader;
use super::executive_user;
use super::frame_reader::{FrameReader, ReadFault};
use super::sys;
use crate::error::{AisError, AisResult};

/// How long connecting and the handshake may take in all; past it,
/// `SA_AIS_ERR_TRY_AGAIN` (the executive is alive but not answering).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Outstanding answers to timed-out requests before the connection is
/// declared broken.
pub const MAX_LATE_RESPONSES: usize = 64;
/// Pipelined requests (see [`Connection::request_pipelined`]) whose
/// answers may be outstanding, and their bytes. A few dozen small
/// messages hide the round trip to the executive; the byte bound keeps
/// them within the socket buffer, so sending never blocks on a held
/// connection.
pub const PIPELINE_MSGS: usize = 32;
pub const PIPELINE_BYTES: usize = 128 * 1024;
/// Larger requests are not pipelined (the round trip is small next to
/// their cost).
pub const PIPELINE_MAX_REQUEST: usize = 64 * 1024;
/// How long a pipelined call waits for an answer when the window is full
/// (the executive holds a sender while its queue is full) before
/// `TRY_AGAIN` without sending.
pub const PIPELINE_WAIT: Duration = Duration::from_millis(10);

const OPEN: u8 = 0;
const BROKEN: u8 = 1;
const CLOSED: u8 = 2;

pub struct Connection {
    pub(super) service: u32,
    state: AtomicU8,
    request_fd: OwnedFd,
    pub(super) dispatch_fd: OwnedFd,
    request: Mutex<RequestChannel>,
    pub(super) dispatch: Mutex<FrameReader>,
    /// The process that connected: a child after `fork()` shares the
    /// sockets and must not shut them down.
    pid: u32,
}

struct RequestChannel {
    reader: AnswerReader,
    /// Requests whose answers have not been read, oldest first.
    late: VecDeque<Unanswered>,
    /// The id of the last request if it was a pipelinable one answered OK
    /// (or pipelined after one): the next of that id may be pipelined (the
    /// executive would take it too).
    pipeline_ready: Option<u32>,
    /// Pipelined requests in `late`, and their bytes.
    pipelined: usize,
    pipelined_bytes: usize,
    /// An error answer to a pipelined request, for the next pipelined call.
    deferred: Option<AisError>,
}

/// A request whose answer has not been read.
#[derive(Debug, Clone, Copy)]
struct Unanswered {
    id: u32,
    /// Pipelined: its size, and nobody waits for the answer.
    pipelined: Option<usize>,
}

impl RequestChannel {
    fn new() -> RequestChannel {
        RequestChannel {
            reader: AnswerReader::new(),
            late: VecDeque::new(),
            pipeline_ready: None,
            pipelined: 0,
            pipelined_bytes: 0,
            deferred: None,
        }
    }

    fn window_full(&self, len: usize) -> bool {
        self.pipelined >= PIPELINE_MSGS || self.pipelined_bytes + len > PIPELINE_BYTES
    }
}

/// The executive's socket: in the run directory `COROSYNC_RUN_DIR` names,
/// unless this program is setuid or setgid (then the variable is ignored,
/// as `secure_getenv` would, and the default directory is used).
pub fn socket_path() -> PathBuf {
    if sys::secure_exec() {
        Path::new(ais_ipc::DEFAULT_RUN_DIR).join(ais_ipc::SOCKET_NAME)
    } else {
        ais_ipc::socket_path()
    }
}

/// The process we reached must run as root, as the account the
/// configuration says the executive runs as (`aisexec { user }`), or as
/// our own effective user (see [`executive_user`]): otherwise
/// `SA_AIS_ERR_ACCESS`. The file is read only for an executive of another
/// user.
fn check_executive(fd: &OwnedFd) -> AisResult<()> {
    let peer = sys::peer_uid(fd.as_raw_fd()).map_err(|_| AisError::LIBRARY)?;
    let own = sys::effective_uid();
    if executive_user::trusted(peer, own, None)
        || executive_user::trusted(peer, own, executive_user::configured_uid(sys::secure_exec()))
    {
        Ok(())
    } else {
        Err(AisError::ACCESS)
    }
}

/// What reading one answer gave.
enum Answer {
    /// The deadline passed first.
    NotYet,
    /// An answer to a pipelined request (checked and recorded).
    Pipelined,
    /// An answer to a request someone waits for: its result.
    Awaited(AisResult<Vec<u8>>),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("service", &self.service)
            .field("state", &self.state.load(Ordering::Relaxed))
            .field("request_fd", &self.request_fd.as_raw_fd())
            .field("dispatch_fd", &self.dispatch_fd.as_raw_fd())
            .finish()
    }
}

impl Connection {
    /// Connects to the executive's socket for `service`: see
    /// [`socket_path`].
    pub fn open(service: u32) -> AisResult<Connection> {
        Self::open_at(&socket_path(), service)
    }

    /// Connects to the socket at `path`.
    pub fn open_at(path: &Path, service: u32) -> AisResult<Connection> {
        Self::open_with_timeout(path, service, HANDSHAKE_TIMEOUT)
    }

    /// Connects to the socket at `path`, giving up after `timeout`
    /// (`SA_AIS_ERR_TRY_AGAIN`). Errors: executive not running →
    /// `TRY_AGAIN`; socket not accessible → `ACCESS`; the executive's
    /// refusal (its `HelloReply` error, e.g. `ACCESS`, `VERSION`, or
    /// `TRY_AGAIN` while it syncs) as is; a malformed answer → `LIBRARY`.
    pub fn open_with_timeout(path: &Path, service: u32, timeout: Duration) -> AisResult<Connection> {
        // A timeout too large to add is no limit (not a panic).
        let deadline = Instant::now().checked_add(timeout);
        let request_fd = sys::connect_unix(path).map_err(connect_error)?;
        check_executive(&request_fd)?;
        let hello = Hello { protocol: PROTOCOL_VERSION, role: Role::Request, service, token: 0 };
        send_frame(&request_fd, HANDSHAKE_SERVICE, HELLO_ID, &hello.encode(), deadline)?;
        let (header, body) = match FrameReader::new().read_until(request_fd.as_raw_fd(), deadline) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Err(AisError::TRY_AGAIN),
            // Closed on us before answering: refused without a reason, or
            // the executive is going down.
            Err(ReadFault::Eof) => return Err(AisError::TRY_AGAIN),
            Err(ReadFault::Io(e)) => return Err(connect_error(e)),
            Err(ReadFault::Malformed(_)) => return Err(AisError::LIBRARY),
        };
        if header.service != HANDSHAKE_SERVICE || header.id != HELLO_REPLY_ID {
            return Err(AisError::LIBRARY);
        }
        let reply = HelloReply::decode(&body).map_err(|_| AisError::LIBRARY)?;
        AisError::check(reply.error)?;

        let dispatch_fd = sys::connect_unix(path).map_err(connect_error)?;
        let hello = Hello { role: Role::Dispatch, token: reply.token, ..hello };
        send_frame(&dispatch_fd, HANDSHAKE_SERVICE, HELLO_ID, &hello.encode(), deadline)?;
        Ok(Connection {
            service,
            state: AtomicU8::new(OPEN),
            request_fd,
            dispatch_fd,
            request: Mutex::new(RequestChannel::new()),
            dispatch: Mutex::new(FrameReader::new()),
            pid: sys::current_pid(),
        })
    }

    /// The service this connection talks to.
    pub fn service(&self) -> u32 {
        self.service
    }

    /// The application's selection object: the dispatch socket, readable
    /// exactly when a callback is pending (or the connection is broken or
    /// closed, so that dispatch reports it).
    pub fn selection_object(&self) -> u64 {
        self.dispatch_fd.as_raw_fd() as u64
    }

    /// Sends request `id` with `body` and waits for its answer, however
    /// long it takes. `Ok(rest)`: the answer's status was `SA_AIS_OK` and
    /// `rest` is the body after it; `Err(e)`: the status `e` (e.g.
    /// `TRY_AGAIN` while the executive syncs), `LIBRARY` if the connection
    /// broke, `BAD_HANDLE` if it was closed meanwhile, `TOO_BIG` if the
    /// body does not fit one message. Many threads may call this at once;
    /// their requests take turns.
    pub fn request(&self, id: u32, body: &[u8]) -> AisResult<Vec<u8>> {
        self.request_inner(id, body, None)
    }

    /// As [`request`](Self::request), but `SA_AIS_ERR_TIMEOUT` once
    /// `deadline` passes (including time spent waiting for other threads'
    /// requests). The connection stays usable; see the module doc.
    pub fn request_until(&self, id: u32, body: &[u8], deadline: Instant) -> AisResult<Vec<u8>> {
        self.request_inner(id, body, Some(deadline))
    }

    /// As [`request_until`](Self::request_until) with a deadline
    /// `timeout` nanoseconds (an API call's `SaTimeT`) from now; see
    /// [`deadline_after`].
    pub fn request_within(&self, id: u32, body: &[u8], timeout: i64) -> AisResult<Vec<u8>> {
        let deadline = deadline_after(timeout)?;
        self.request_inner(id, body, deadline)
    }

    /// Finalize: marks the connection closed and shuts both sockets down,
    /// waking every thread blocked on them. Idempotent. In a child after
    /// `fork()` the sockets are the parent's too: only marked closed here
    /// (the child's descriptors close when the connection is dropped).
    pub fn close(&self) {
        self.state.store(CLOSED, Ordering::SeqCst);
        if self.pid == sys::current_pid() {
            sys::shutdown(&self.request_fd);
            sys::shutdown(&self.dispatch_fd);
        }
    }

    pub fn is_closed(&self) -> bool {
        self.state.load(Ordering::SeqCst) == CLOSED
    }

    /// True once the connection broke (and was not closed since).
    pub fn is_broken(&self) -> bool {
        self.state.load(Ordering::SeqCst) == BROKEN
    }

    /// `Ok` while open; the error a call gets otherwise.
    pub(super) fn usable(&self) -> AisResult<()> {
        match self.state.load(Ordering::SeqCst) {
            OPEN => Ok(()),
            BROKEN => Err(AisError::LIBRARY),
            _ => Err(AisError::BAD_HANDLE),
        }
    }

    /// Something went wrong with the stream: broken (`LIBRARY`) unless it
    /// was closed by finalize meanwhile (`BAD_HANDLE`).
    pub(super) fn fault(&self) -> AisError {
        match self.state.compare_exchange(OPEN, BROKEN, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => {
                sys::shutdown(&self.request_fd);
                sys::shutdown(&self.dispatch_fd);
                AisError::LIBRARY
            }
            Err(BROKEN) => AisError::LIBRARY,
            Err(_) => AisError::BAD_HANDLE,
        }
    }

    fn request_inner(&self, id: u32, body: &[u8], deadline: Option<Instant>) -> AisResult<Vec<u8>> {
        let mut channel = self.lock_checked(body, deadline)?;
        channel.pipeline_ready = None;
        self.call_locked(&mut channel, id, body, deadline)
    }

    /// Sends a request the executive never refuses while the previous one
    /// of its kind was accepted (a multicast of a joined handle: the
    /// executive holds a sender rather than refuse it) and returns
    /// without waiting for the answer, keeping up to [`PIPELINE_MSGS`] /
    /// [`PIPELINE_BYTES`] unanswered. The first request of an id after any
    /// request of another, or one larger than [`PIPELINE_MAX_REQUEST`], waits
    /// for its answer as [`request`](Self::request) does. With the window
    /// full, waits up to [`PIPELINE_WAIT`] for answers, then `TRY_AGAIN`
    /// (nothing sent). Answers are read when the window is full and by
    /// the next request that waits for its own; an error answer to a
    /// pipelined request (none is expected) is returned by the first call
    /// of this function after it was read, which then sends nothing.
    pub fn request_pipelined(&self, id: u32, body: &[u8]) -> AisResult<()> {
        let mut channel = self.lock_checked(body, None)?;
        if let Some(e) = channel.deferred.take() {
            return Err(e);
        }
        if channel.pipeline_ready != Some(id) || body.len() > PIPELINE_MAX_REQUEST {
            channel.pipeline_ready = None;
            self.call_locked(&mut channel, id, body, None)?;
            channel.pipeline_ready = Some(id);
            return Ok(());
        }
        if channel.window_full(body.len()) {
            // Take every answer that is there; wait only for the first.
            let deadline = Instant::now() + PIPELINE_WAIT;
            while channel.window_full(body.len()) {
                if let Answer::NotYet = self.read_answer(&mut channel, Some(deadline))? {
                    return Err(AisError::TRY_AGAIN);
                }
            }
            while channel.pipelined > 0 {
                if let Answer::NotYet = self.read_answer(&mut channel, Some(Instant::now()))? {
                    break;
                }
            }
            if let Some(e) = channel.deferred.take() {
                return Err(e);
            }
        }
        // The window keeps it within the socket buffer: no deadline needed.
        self.send_locked(&mut channel, id, body, None, Some(body.len()))?;
        channel.pipelined += 1;
        channel.pipelined_bytes += body.len();
        Ok(())
    }

    /// The request channel of a usable connection, for a body that fits.
    fn lock_checked(&self, body: &[u8], deadline: Option<Instant>) -> AisResult<MutexGuard<'_, RequestChannel>> {
        if HEADER_SIZE + body.len() > MAX_MESSAGE_SIZE {
            return Err(AisError::TOO_BIG);
        }
        self.usable()?;
        let channel = self.lock_request(deadline)?;
        self.usable()?;
        Ok(channel)
    }

    /// Sends a request and reads answers, in order, up to its own.
    fn call_locked(
        &self,
        channel: &mut RequestChannel,
        id: u32,
        body: &[u8],
        deadline: Option<Instant>,
    ) -> AisResult<Vec<u8>> {
        self.send_locked(channel, id, body, deadline, None)?;
        loop {
            match self.read_answer(channel, deadline)? {
                Answer::NotYet => {
                    if channel.late.len() > MAX_LATE_RESPONSES + PIPELINE_MSGS {
                        self.fault();
                    }
                    return Err(AisError::TIMEOUT);
                }
                // Ours is the last one.
                Answer::Awaited(result) if channel.late.is_empty() => return result,
                Answer::Awaited(_) | Answer::Pipelined => {}
            }
        }
    }

    /// Sends one request and records it as unanswered.
    fn send_locked(
        &self,
        channel: &mut RequestChannel,
        id: u32,
        body: &[u8],
        deadline: Option<Instant>,
        pipelined: Option<usize>,
    ) -> AisResult<()> {
        let message = frame::encode(self.service, id, body);
        let mut sent = 0;
        match sys::send_all(self.request_fd.as_raw_fd(), &message, deadline, &mut sent) {
            Ok(()) => {}
            // Nothing of it went out: as if never asked.
            Err(e) if e.kind() == io::ErrorKind::TimedOut && sent == 0 => {
                return Err(AisError::TIMEOUT);
            }
            // Half a message in the stream cannot be taken back.
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                self.fault();
                return Err(AisError::TIMEOUT);
            }
            Err(_) => return Err(self.fault()),
        }
        channel.late.push_back(Unanswered { id, pipelined });
        Ok(())
    }

    /// Reads the oldest unanswered request's answer, waiting until
    /// `deadline`. Answers come in request order.
    fn read_answer(&self, channel: &mut RequestChannel, deadline: Option<Instant>) -> AisResult<Answer> {
        let Some(&expected) = channel.late.front() else { return Err(self.fault()) };
        let (header, answer) = match channel.reader.read_until(self.request_fd.as_raw_fd(), deadline) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(Answer::NotYet),
            Err(_) => return Err(self.fault()),
        };
        if header.service != self.service || header.id != expected.id {
            return Err(self.fault());
        }
        channel.late.pop_front();
        let Some(status) = answer.first_chunk::<4>() else { return Err(self.fault()) };
        let result = AisError::check(u32::from_le_bytes(*status)).map(|()| answer[4..].to_vec());
        match expected.pipelined {
            None => Ok(Answer::Awaited(result)),
            Some(len) => {
                channel.pipelined -= 1;
                channel.pipelined_bytes -= len;
                if let Err(e) = result {
                    channel.pipeline_ready = None;
                    channel.deferred.get_or_insert(e);
                }
                Ok(Answer::Pipelined)
            }
        }
    }

    /// The request channel; waiting for it counts against the deadline.
    fn lock_request(&self, deadline: Option<Instant>) -> AisResult<MutexGuard<'_, RequestChannel>> {
        let Some(deadline) = deadline else {
            return Ok(self.request.lock().unwrap_or_else(|e| e.into_inner()));
        };
        loop {
            match self.request.try_lock() {
                Ok(guard) => return Ok(guard),
                Err(std::sync::TryLockError::Poisoned(e)) => return Ok(e.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return Err(AisError::TIMEOUT);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
}

/// `SA_TIME_END`: no limit (the abi tests check the two agree).
pub const TIME_END: i64 = i64::MAX;

/// The deadline `timeout` nanoseconds from now: `None` (no limit) for 0,
/// `SA_TIME_END` or a time too far to represent; a negative timeout is
/// `SA_AIS_ERR_INVALID_PARAM`. 0 is no limit because every openais 0.80
/// program passes 0 and its library ignored the timeout; a deadline of
/// "now" would fail those calls, or pass them by a race.
pub fn deadline_after(timeout: i64) -> AisResult<Option<Instant>> {
    if timeout < 0 {
        return Err(AisError::INVALID_PARAM);
    }
    if timeout == 0 || timeout == TIME_END {
        return Ok(None);
    }
    Ok(Instant::now().checked_add(Duration::from_nanos(timeout as u64)))
}

/// A connect error as the application sees it.
fn connect_error(e: io::Error) -> AisError {
    match e.raw_os_error() {
        // Not running (no socket, or nobody listening), or too busy to
        // take another connection right now.
        Some(libc::ENOENT | libc::ECONNREFUSED | libc::EAGAIN | libc::ENOTDIR | libc::ECONNRESET) => {
            AisError::TRY_AGAIN
        }
        Some(libc::EACCES | libc::EPERM) => AisError::ACCESS,
        _ => AisError::LIBRARY,
    }
}

/// Sends one handshake message before `deadline`.
fn send_frame(fd: &OwnedFd, service: u32, id: u32, body: &[u8], deadline: Option<Instant>) -> AisResult<()> {
    let mut sent = 0;
    match sys::send_all(fd.as_raw_fd(), &frame::encode(service, id, body), deadline, &mut sent) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(AisError::TRY_AGAIN),
        // The executive closed on us: it is going away.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET)) => Err(AisError::TRY_AGAIN),
        Err(_) => Err(AisError::LIBRARY),
    }
}
