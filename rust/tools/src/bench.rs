//! Throughput measurement through running executives, on the EVS service:
//! one connection per executive joins a group; senders multicast numbered
//! messages (`MCAST_JOINED`, agreed order) as fast as the executive accepts
//! them, and every connection's dispatch channel counts the deliveries and
//! checks each sender's sequence numbers (no loss, no reorder, no
//! duplicate).
//!
//! Payload: the low `min(size, 8)` bytes of the sender's sequence number
//! (little-endian), then zeros. Rounds (one per message size) are separated
//! by waiting until every receiver has everything, so a 1-byte message's
//! sequence modulo 256 together with the final count is enough.
//!
//! Senders call the client library's connection code one message at a
//! time (as a single-threaded libevs application calling
//! `evs_mcast_groups` does; the library pipelines multicasts, see
//! `ais_capi::runtime::Connection::request_pipelined`) or, with a window,
//! keep up to N raw requests in flight ([`Pipeline`]); a sequence number
//! refused with TRY_AGAIN after a later one was accepted is skipped, and
//! receivers accept exactly the skipped numbers as gaps.

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ais_capi::error::AisError;
use ais_capi::runtime::Connection;
use ais_ipc::evs::{self, Callback, GroupKey};
use ais_ipc::frame::{self, read_message, write_message};
use ais_ipc::handshake::{HANDSHAKE_SERVICE, HELLO_ID, Hello, HelloReply, PROTOCOL_VERSION, Role};
use ais_ipc::{error, service};

/// The group every bench connection joins.
pub const GROUP: GroupKey = *b"totem-bench-group...............";
/// `EVS_TYPE_AGREED`.
const AGREED: u32 = 1;

/// Opens one channel of a raw IPC connection to `service` (the request
/// channel answers the hello; a dispatch channel joins it by `token`).
pub fn hello(socket: &Path, service: u32, role: Role, token: u64) -> io::Result<(UnixStream, Option<HelloReply>)> {
    let mut s = UnixStream::connect(socket)?;
    let h = Hello { protocol: PROTOCOL_VERSION, role, service, token };
    write_message(&mut s, HANDSHAKE_SERVICE, HELLO_ID, &h.encode())?;
    if role == Role::Dispatch {
        return Ok((s, None));
    }
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let (_, body) = read_message(&mut s)?;
    let reply = HelloReply::decode(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    Ok((s, Some(reply)))
}

/// One request of `service` on a raw request channel and its answer:
/// the answer's error word and the body after it.
pub fn ask(request: &mut UnixStream, service: u32, id: u32, body: &[u8]) -> io::Result<(u32, Vec<u8>)> {
    write_message(request, service, id, body)?;
    let (_, answer) = read_message(request)?;
    if answer.len() < 4 {
        return Err(io::Error::other("short answer"));
    }
    let code = u32::from_le_bytes([answer[0], answer[1], answer[2], answer[3]]);
    Ok((code, answer[4..].to_vec()))
}

fn refused(what: &str, code: u32) -> io::Error {
    io::Error::other(format!("{what}: SaAisErrorT {code}"))
}

/// One EVS connection: request channel (sending) and dispatch channel.
pub struct EvsConn {
    request: UnixStream,
    dispatch: Option<UnixStream>,
    /// A second connection, through the client library's code, for
    /// sending (not joined, so it gets no deliveries).
    lib: Connection,
    payload: Vec<u8>,
    pub local_node: u32,
}

impl EvsConn {
    /// Connects, joins [`GROUP`] and learns the local node id.
    pub fn connect(socket: &Path) -> io::Result<EvsConn> {
        let (request, reply) = hello(socket, service::EVS, Role::Request, 0)?;
        let reply = reply.ok_or_else(|| io::Error::other("no hello reply"))?;
        if reply.error != error::OK {
            return Err(refused("hello", reply.error));
        }
        let (dispatch, _) = hello(socket, service::EVS, Role::Dispatch, reply.token)?;
        let lib = Connection::open_at(socket, service::EVS)
            .map_err(|e| io::Error::other(format!("library connection: {e:?}")))?;
        let mut c = EvsConn { request, dispatch: Some(dispatch), lib, payload: Vec::new(), local_node: 0 };
        let body = c.call(evs::JOIN, &evs::Request::Join { groups: vec![GROUP] }.encode())?;
        if !body.is_empty() {
            return Err(io::Error::other("unexpected JOIN answer"));
        }
        let body = c.call(evs::MEMBERSHIP_GET, &[])?;
        let (local, _) = evs::decode_membership(&body).map_err(|e| io::Error::other(e.to_string()))?;
        c.local_node = local;
        Ok(c)
    }

    /// A request and its answer; the body after an `OK` error word.
    fn call(&mut self, id: u32, body: &[u8]) -> io::Result<Vec<u8>> {
        match ask(&mut self.request, service::EVS, id, body)? {
            (error::OK, rest) => Ok(rest),
            (code, _) => Err(refused("request", code)),
        }
    }

    /// Multicasts message `seq` of `size` bytes to [`GROUP`] as
    /// `evs_mcast_groups` does, retrying while the library answers
    /// TRY_AGAIN. Returns how many TRY_AGAIN answers it took.
    pub fn send_through_library(&mut self, seq: u64, size: usize) -> io::Result<u64> {
        payload(seq, size, &mut self.payload);
        let body = evs::encode_mcast(AGREED, Some(&[GROUP]), &[&self.payload]);
        let mut retries = 0;
        loop {
            match self.lib.request_pipelined(evs::MCAST_GROUPS, &body) {
                Ok(()) => return Ok(retries),
                Err(e) if e == AisError::TRY_AGAIN => retries += 1,
                Err(e) => return Err(refused("mcast", e.0)),
            }
        }
    }

    /// Multicasts for `duration` from `start` with up to `window` requests
    /// in flight, staying at most `ahead` messages ahead of `own`'s
    /// deliveries from this node. Returns the bookkeeping (accepted count,
    /// TRY_AGAIN answers, skipped numbers).
    fn mcast_pipelined(
        &mut self,
        own: &Mutex<RoundState>,
        size: usize,
        window: usize,
        ahead: u64,
        start: Instant,
        duration: Duration,
    ) -> (Pipeline, Option<String>) {
        let mut p = Pipeline::new(window);
        let (mut request, mut frames, mut answer) = (McastFrame::new(size), Vec::new(), Vec::new());
        let mut reader = BufReader::with_capacity(64 * 1024, &self.request);
        let mut writer = &self.request;
        let mut limit = 0;
        loop {
            let sending = start.elapsed() < duration;
            if !sending && p.idle() {
                return (p, None);
            }
            frames.clear();
            if p.next_seq() >= limit {
                limit = own_delivered(own, self.local_node) + ahead;
            }
            while sending && p.can_send() && p.next_seq() < limit {
                frames.extend_from_slice(request.with_seq(p.next_seq()));
                p.sent();
            }
            if !frames.is_empty()
                && let Err(e) = writer.write_all(&frames)
            {
                return (p, Some(format!("send: {e}")));
            }
            if p.in_flight() == 0 {
                // Too far ahead of our own receiver: let it catch up.
                std::thread::sleep(Duration::from_micros(50));
                continue;
            }
            if reader.buffer().is_empty()
                && let Err(e) = wait_readable(reader.get_ref())
            {
                return (p, Some(format!("send: {e}")));
            }
            let code = match read_code(&mut reader, &mut answer) {
                Ok(code) => code,
                Err(e) => return (p, Some(format!("send: {e}"))),
            };
            match p.answer(code) {
                Ok(true) => std::thread::sleep(Duration::from_micros(200)),
                Ok(false) => {}
                Err(e) => return (p, Some(e)),
            }
        }
    }

    /// Hands the dispatch channel to a receiver thread.
    pub fn take_dispatch(&mut self) -> Option<UnixStream> {
        self.dispatch.take()
    }
}

/// Sequence bookkeeping of a sender with up to `window` requests in flight.
///
/// The executive answers and submits one connection's requests in order,
/// so accepted messages are delivered in increasing sequence order. After
/// a TRY_AGAIN the sender stops, collects the answers still due, and then
/// resends from the first refused number, unless a later request was
/// accepted meanwhile: refused numbers before the last accepted one are
/// then skipped (never sent again, listed in `skipped`) and sending resumes
/// after it. With a window of 1 this is plain retry-until-accepted.
#[derive(Debug)]
pub struct Pipeline {
    window: usize,
    next: u64,
    in_flight: VecDeque<u64>,
    /// Since a refusal: `(seq, accepted)` of each answer, in order.
    refused_run: Option<Vec<(u64, bool)>>,
    pub accepted: u64,
    pub try_again: u64,
    /// Numbers that will never be delivered, increasing.
    pub skipped: Vec<u64>,
}

impl Pipeline {
    pub fn new(window: usize) -> Pipeline {
        Pipeline {
            window: window.max(1),
            next: 0,
            in_flight: VecDeque::new(),
            refused_run: None,
            accepted: 0,
            try_again: 0,
            skipped: Vec::new(),
        }
    }

    /// The number the next request carries.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Nothing in flight and no refusal being sorted out.
    pub fn idle(&self) -> bool {
        self.in_flight.is_empty() && self.refused_run.is_none()
    }

    pub fn can_send(&self) -> bool {
        self.refused_run.is_none() && self.in_flight.len() < self.window
    }

    /// Request `next_seq()` was written.
    pub fn sent(&mut self) {
        self.in_flight.push_back(self.next);
        self.next += 1;
    }

    /// The answer to the oldest request in flight. `Ok(true)`: a refusal
    /// was sorted out; back off before sending again.
    pub fn answer(&mut self, code: u32) -> Result<bool, String> {
        let seq = self.in_flight.pop_front().ok_or("an answer with no request in flight")?;
        let accepted = match code {
            error::OK => true,
            error::TRY_AGAIN => false,
            c => return Err(format!("mcast: SaAisErrorT {c}")),
        };
        if accepted {
            self.accepted += 1;
        } else {
            self.try_again += 1;
            self.refused_run.get_or_insert_with(Vec::new);
        }
        let Some(run) = &mut self.refused_run else { return Ok(false) };
        run.push((seq, accepted));
        if !self.in_flight.is_empty() {
            return Ok(false);
        }
        let run = self.refused_run.take().unwrap_or_default();
        match run.iter().rposition(|&(_, ok)| ok) {
            Some(last) => {
                self.skipped.extend(run[..last].iter().filter(|r| !r.1).map(|r| r.0));
                self.next = run[last].0 + 1;
            }
            None => self.next = run.first().map_or(self.next, |r| r.0),
        }
        Ok(true)
    }
}

/// The payload of message `seq` of `size` bytes.
pub fn payload(seq: u64, size: usize, buf: &mut Vec<u8>) {
    buf.clear();
    buf.resize(size, 0);
    let n = size.min(8);
    buf[..n].copy_from_slice(&seq.to_le_bytes()[..n]);
}

/// A complete `MCAST_JOINED` request for `size`-byte payloads, built once
/// per round: only the sequence bytes change between messages, so sending
/// costs the bench no copies of the payload (it shares the CPUs with the
/// executives it measures).
pub struct McastFrame {
    bytes: Vec<u8>,
    size: usize,
}

impl McastFrame {
    pub fn new(size: usize) -> McastFrame {
        let mut buf = Vec::new();
        payload(0, size, &mut buf);
        let body = evs::encode_mcast(AGREED, None, &[&buf]);
        McastFrame { bytes: frame::encode(service::EVS, evs::MCAST_JOINED, &body), size }
    }

    /// The request carrying message `seq`.
    pub fn with_seq(&mut self, seq: u64) -> &[u8] {
        let n = self.size.min(8);
        // The payload is the last `size` bytes of the request.
        let at = self.bytes.len() - self.size;
        self.bytes[at..at + n].copy_from_slice(&seq.to_le_bytes()[..n]);
        &self.bytes
    }
}

/// Waits until `s` has bytes to read, as the client libraries do
/// (`poll` for POLLIN, then read). A thread blocked in `read` on a Unix
/// stream socket is also woken each time the peer consumes what the
/// thread wrote (the kernel's write-space wakeup does not filter by
/// event), so a blocking read costs a synchronous sender a second wakeup
/// per request: with 3 nodes on 2 cores, 1-byte messages went from about
/// 24k to 32k msg/s (median of five interleaved runs) with this wait.
fn wait_readable(s: &UnixStream) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd { fd: s.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    loop {
        // SAFETY: one valid pollfd for the duration of the call.
        if unsafe { libc::poll(&mut pfd, 1, -1) } >= 0 {
            // Readable, or hung up / in error: the read that follows reports it.
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Reads one message into `body` (reusing its allocation).
fn read_into<R: Read>(r: &mut R, body: &mut Vec<u8>) -> io::Result<frame::Header> {
    let mut head = [0u8; frame::HEADER_SIZE];
    r.read_exact(&mut head)?;
    let header = frame::Header::decode(&head).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    body.resize(header.body_len(), 0);
    r.read_exact(body)?;
    Ok(header)
}

/// Reads an answer into `buf` and returns its SaAisErrorT word.
fn read_code<R: Read>(r: &mut R, buf: &mut Vec<u8>) -> io::Result<u32> {
    read_into(r, buf)?;
    buf.first_chunk::<4>().map(|c| u32::from_le_bytes(*c)).ok_or_else(|| io::Error::other("short answer"))
}

/// What one receiver saw in the current round.
#[derive(Debug, Default)]
pub struct RoundState {
    pub size: usize,
    pub count: u64,
    pub last: Option<Instant>,
    /// Next expected sequence per sender node.
    next: HashMap<u32, u64>,
    pub errors: Vec<String>,
    pub confchgs: u64,
    pub closed: bool,
    /// Digest of the delivery order (sender, sequence) of this round; equal
    /// on every receiver when the order is total.
    pub order: u64,
    /// Forward jumps `(sender, expected, got)`: fine only where the sender
    /// skipped exactly those numbers (see [`RoundState::unexplained_gaps`]).
    gaps: Vec<(u32, u64, u64)>,
}

/// Most gaps recorded per round; more is an error in itself.
const MAX_GAPS: usize = 10_000;

impl RoundState {
    pub fn reset(&mut self, size: usize) {
        *self = RoundState { size, closed: self.closed, ..RoundState::default() };
    }

    fn deliver(&mut self, node: u32, data: &[u8], now: Instant) {
        let next = self.next.entry(node).or_insert(0);
        let n = self.size.min(8);
        let mut want = [0u8; 8];
        want[..n].copy_from_slice(&next.to_le_bytes()[..n]);
        if data.len() != self.size || data[..n] != want[..n] {
            let mut got = [0u8; 8];
            let k = n.min(data.len());
            got[..k].copy_from_slice(&data[..k]);
            let low = u64::from_le_bytes(got);
            // The full number: exact from 8 bytes on, else the nearest one
            // at or after the expected number with these low bytes.
            let got = if n == 8 { low } else { *next + (low.wrapping_sub(*next) & ((1u64 << (8 * n)) - 1)) };
            if data.len() == self.size && got > *next && self.gaps.len() < MAX_GAPS {
                self.gaps.push((node, *next, got));
            } else if self.errors.len() < 10 {
                self.errors.push(format!(
                    "from node {node}: expected seq {} of {} bytes, got {} bytes starting {:02x?}",
                    next,
                    self.size,
                    data.len(),
                    &data[..n.min(data.len())]
                ));
            }
            // Resynchronise on what arrived, so one gap is reported once.
            *next = if data.len() == self.size { got } else { low };
        }
        // FNV-1a over (sender, sequence) in delivery order.
        for b in node.to_le_bytes().into_iter().chain(next.to_le_bytes()) {
            self.order = (self.order ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        *next += 1;
        self.count += 1;
        self.last = Some(now);
    }
}

impl RoundState {
    /// Gaps not made of exactly the numbers each sender skipped (`skipped`
    /// by sender node, increasing), and skipped numbers that were never a
    /// gap here although later ones arrived.
    pub fn unexplained_gaps(&self, skipped: &HashMap<u32, Vec<u64>>) -> Vec<String> {
        let mut errors = Vec::new();
        if self.gaps.len() >= MAX_GAPS {
            errors.push(format!("{MAX_GAPS} or more sequence gaps"));
        }
        let none = Vec::new();
        let mut explained: HashMap<u32, usize> = HashMap::new();
        for &(node, from, to) in &self.gaps {
            let list = skipped.get(&node).unwrap_or(&none);
            let lo = list.partition_point(|&s| s < from);
            let hi = list.partition_point(|&s| s < to);
            if (hi - lo) as u64 != to - from {
                errors.push(format!("from node {node}: expected seq {from}, got {to} (not skipped by the sender)"));
            } else {
                *explained.entry(node).or_default() += hi - lo;
            }
        }
        for (node, list) in skipped {
            let next = self.next.get(node).copied().unwrap_or(0);
            let due = list.partition_point(|&s| s < next);
            if explained.get(node).copied().unwrap_or(0) != due {
                errors.push(format!("from node {node}: a skipped sequence number was delivered"));
            }
        }
        errors.truncate(10);
        errors
    }
}

/// Reads `dispatch` until it closes, recording into `state`.
pub fn receive(dispatch: UnixStream, state: Arc<Mutex<RoundState>>) {
    let mut r = BufReader::with_capacity(256 * 1024, dispatch);
    let mut body = Vec::new();
    while let Ok(h) = read_into(&mut r, &mut body) {
        let now = Instant::now();
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        match Callback::decode(h.id, &body) {
            Ok(Callback::Deliver { node, data }) => st.deliver(node, data, now),
            Ok(Callback::Confchg { .. }) => st.confchgs += 1,
            Err(e) => {
                if st.errors.len() < 10 {
                    st.errors.push(format!("bad callback: {e}"));
                }
            }
        }
    }
    state.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
}

/// The result of one round at the slowest receiver.
#[derive(Debug, Clone)]
pub struct RoundResult {
    pub size: usize,
    pub sent: u64,
    pub msgs_per_s: f64,
    pub mb_per_s: f64,
    pub try_again: u64,
    pub errors: Vec<String>,
}

/// Most bytes a sender keeps sent but not yet delivered back to its own
/// node. The executive drops a connection with more than 4 MiB of unread
/// callbacks; a sender far ahead of its own receiver could get there on a
/// busy machine.
pub const MAX_IN_FLIGHT_BYTES: usize = 1 << 20;

fn own_delivered(own: &Mutex<RoundState>, node: u32) -> u64 {
    own.lock().unwrap_or_else(|e| e.into_inner()).next.get(&node).copied().unwrap_or(0)
}

/// Largest `--window`: a gap of skipped numbers must stay below 256 so a
/// 1-byte payload still tells it apart.
pub const MAX_WINDOW: usize = 128;

/// Runs one round: every sender multicasts `size`-byte messages for
/// `duration`, one library call at a time; then waits (at most `drain`) until
/// every receiver has all. Sender `k` is on the node of receiver `k`.
pub fn round(
    senders: &mut [EvsConn],
    receivers: &[Arc<Mutex<RoundState>>],
    size: usize,
    duration: Duration,
    drain: Duration,
) -> RoundResult {
    round_with_window(senders, receivers, size, duration, drain, None)
}

/// [`round`], with `window` requests in flight per sender if given.
pub fn round_with_window(
    senders: &mut [EvsConn],
    receivers: &[Arc<Mutex<RoundState>>],
    size: usize,
    duration: Duration,
    drain: Duration,
    window: Option<usize>,
) -> RoundResult {
    for r in receivers {
        r.lock().unwrap_or_else(|e| e.into_inner()).reset(size);
    }
    let start = Instant::now();
    let mut errors = Vec::new();
    type SenderResult = (u64, u64, (u32, Vec<u64>), Option<String>);
    let results: Vec<SenderResult> = std::thread::scope(|s| {
        let handles: Vec<_> = senders
            .iter_mut()
            .zip(receivers)
            .map(|(c, own)| {
                s.spawn(move || {
                    // Stay at most `ahead` messages ahead of our own node's
                    // delivery, as an application would.
                    let ahead = (MAX_IN_FLIGHT_BYTES / size.max(1)).max(1) as u64;
                    let node = c.local_node;
                    if let Some(w) = window {
                        let (p, err) = c.mcast_pipelined(own, size, w.min(MAX_WINDOW), ahead, start, duration);
                        return (p.accepted, p.try_again, (node, p.skipped), err);
                    }
                    let (mut sent, mut retries) = (0u64, 0u64);
                    // Looked up only when reached: the receiver thread
                    // holds this lock for every delivery.
                    let mut limit = 0;
                    while start.elapsed() < duration {
                        while sent >= limit && start.elapsed() < duration {
                            limit = own_delivered(own, node) + ahead;
                            if sent >= limit {
                                std::thread::sleep(Duration::from_micros(50));
                            }
                        }
                        match c.send_through_library(sent, size) {
                            Ok(r) => retries += r,
                            Err(e) => return (sent, retries, (node, Vec::new()), Some(format!("send: {e}"))),
                        }
                        sent += 1;
                    }
                    (sent, retries, (node, Vec::new()), None)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or((0, 0, (0, Vec::new()), Some("sender panicked".into()))))
            .collect()
    });
    let sent: u64 = results.iter().map(|r| r.0).sum();
    let try_again: u64 = results.iter().map(|r| r.1).sum();
    let mut skipped: HashMap<u32, Vec<u64>> = HashMap::new();
    for (_, _, (node, list), err) in results {
        skipped.entry(node).or_default().extend(list);
        errors.extend(err);
    }
    let deadline = Instant::now() + drain;
    let mut slowest = f64::INFINITY;
    let mut orders = Vec::new();
    for (i, r) in receivers.iter().enumerate() {
        loop {
            let st = r.lock().unwrap_or_else(|e| e.into_inner());
            if st.count >= sent || st.closed || Instant::now() > deadline {
                if st.count != sent {
                    errors.push(format!("receiver {}: {} of {sent} delivered", i + 1, st.count));
                }
                if st.confchgs > 0 {
                    errors.push(format!("receiver {}: {} configuration changes during the run", i + 1, st.confchgs));
                }
                errors.extend(st.errors.iter().map(|e| format!("receiver {}: {e}", i + 1)));
                errors.extend(st.unexplained_gaps(&skipped).into_iter().map(|e| format!("receiver {}: {e}", i + 1)));
                orders.push(st.order);
                let took = st.last.map(|t| t.duration_since(start).as_secs_f64()).unwrap_or(f64::INFINITY);
                slowest = slowest.min(st.count as f64 / took);
                break;
            }
            drop(st);
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    if orders.windows(2).any(|w| w[0] != w[1]) && errors.is_empty() {
        errors.push(format!("receivers saw different delivery orders (digests {orders:x?})"));
    }
    RoundResult { size, sent, msgs_per_s: slowest, mb_per_s: slowest * size as f64 / 1e6, try_again, errors }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_prepared_request_equals_one_encoded_afresh() {
        let mut buf = Vec::new();
        for size in [1usize, 7, 8, 9, 100, 4096] {
            let mut request = McastFrame::new(size);
            for seq in [0u64, 1, 255, 256, 0x0102_0304_0506_0708, u64::MAX] {
                payload(seq, size, &mut buf);
                let body = evs::encode_mcast(AGREED, None, &[&buf]);
                let fresh = frame::encode(service::EVS, evs::MCAST_JOINED, &body);
                assert_eq!(request.with_seq(seq), &fresh[..], "size {size} seq {seq}");
            }
        }
    }

    use super::*;

    #[test]
    fn sequence_check_finds_gaps_reorder_and_bad_sizes() {
        let now = Instant::now();
        let mut buf = Vec::new();
        for size in [1usize, 5, 100] {
            let mut st = RoundState::default();
            st.reset(size);
            for seq in [0u64, 1, 2, 4, 3, 5] {
                payload(seq, size, &mut buf);
                st.deliver(7, &buf, now);
            }
            // 4 where 3 was due, then 3 where 5 was, then 5 where 4 was.
            assert_eq!(st.count, 6);
            let found = st.errors.len() + st.unexplained_gaps(&HashMap::new()).len();
            assert_eq!(found, 3, "{size}: {:?}", st.errors);
            // A gap is fine only where the sender says it skipped.
            let mut gap = RoundState::default();
            gap.reset(size);
            for seq in [0u64, 1, 4, 5] {
                payload(seq, size, &mut buf);
                gap.deliver(7, &buf, now);
            }
            assert_eq!(gap.unexplained_gaps(&HashMap::from([(7, vec![2, 3])])), Vec::<String>::new());
            assert!(!gap.unexplained_gaps(&HashMap::from([(7, vec![2])])).is_empty());
            assert!(!gap.unexplained_gaps(&HashMap::from([(7, vec![1, 2, 3])])).is_empty(), "1 was delivered");
            assert!(!gap.unexplained_gaps(&HashMap::new()).is_empty());
            let mut ok = RoundState::default();
            ok.reset(size);
            for seq in 0..300 {
                payload(seq, size, &mut buf);
                ok.deliver(1, &buf, now);
                ok.deliver(2, &buf, now);
            }
            assert!(ok.errors.is_empty(), "{:?}", ok.errors);
            let mut swapped = RoundState::default();
            swapped.reset(size);
            for seq in 0..300 {
                payload(seq, size, &mut buf);
                swapped.deliver(2, &buf, now);
                swapped.deliver(1, &buf, now);
            }
            assert!(swapped.errors.is_empty());
            assert_ne!(ok.order, swapped.order, "interleaving differs, so must the digest");
            ok.deliver(1, &buf[..size - 1], now);
            assert_eq!(ok.errors.len(), 1);
        }
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Fault {
        None,
        /// The executive loses one accepted message.
        LoseAccepted,
        /// The executive delivers one message it answered TRY_AGAIN.
        DeliverRefused,
    }

    /// A sender with `window` requests in flight against a model executive
    /// that answers in order and refuses bursts of requests (a full queue
    /// that drains between requests). Returns the receiver's complaints.
    fn pipelined_run(window: usize, size: usize, fault: Fault) -> (Pipeline, Vec<String>) {
        let now = Instant::now();
        let mut p = Pipeline::new(window);
        let mut st = RoundState::default();
        st.reset(size);
        let (mut answers, mut buf) = (VecDeque::new(), Vec::new());
        let (mut rng, mut refusing, mut faulted) = (0x2545_f491_4f6c_dd1du64 ^ window as u64, 0u64, false);
        while p.accepted < 3000 {
            while p.can_send() {
                rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                if refusing == 0 && (rng >> 33) % 23 == 0 {
                    refusing = (rng >> 40) % 6 + 1;
                }
                let accepted = refusing == 0;
                refusing = refusing.saturating_sub(1);
                let inject = !faulted
                    && p.accepted > 1000
                    && match fault {
                        Fault::None => false,
                        Fault::LoseAccepted => accepted,
                        Fault::DeliverRefused => !accepted,
                    };
                faulted |= inject;
                if accepted != inject {
                    payload(p.next_seq(), size, &mut buf);
                    st.deliver(9, &buf, now);
                }
                answers.push_back(if accepted { error::OK } else { error::TRY_AGAIN });
                p.sent();
            }
            let code = answers.pop_front().expect("an answer per request");
            p.answer(code).unwrap();
        }
        while let Some(code) = answers.pop_front() {
            p.answer(code).unwrap();
        }
        assert!(p.idle() && faulted == (fault != Fault::None));
        let skipped = HashMap::from([(9, p.skipped.clone())]);
        let mut complaints = st.errors.clone();
        complaints.extend(st.unexplained_gaps(&skipped));
        if fault == Fault::None {
            assert_eq!(st.count, p.accepted, "window {window} size {size}");
        }
        (p, complaints)
    }

    #[test]
    fn pipelined_retries_keep_the_sequence_check_exact() {
        for window in [1, 2, 5, 16, MAX_WINDOW] {
            for size in [1, 3, 100] {
                let (p, complaints) = pipelined_run(window, size, Fault::None);
                assert!(complaints.is_empty(), "window {window} size {size}: {complaints:?}");
                assert!(p.try_again > 100, "the model refuses often");
                // Refusal runs are shorter than larger windows, so later
                // requests get accepted and numbers get skipped.
                assert_eq!(p.skipped.is_empty(), window == 1, "window {window}: {} skipped", p.skipped.len());
                for fault in [Fault::LoseAccepted, Fault::DeliverRefused] {
                    let (_, complaints) = pipelined_run(window, size, fault);
                    assert!(!complaints.is_empty(), "window {window} size {size}: fault not found");
                }
            }
        }
    }

    #[test]
    fn a_refusal_with_nothing_accepted_after_resends_the_same_number() {
        let mut p = Pipeline::new(3);
        for _ in 0..3 {
            p.sent();
        }
        assert_eq!(p.answer(error::OK), Ok(false));
        assert_eq!(p.answer(error::TRY_AGAIN), Ok(false));
        assert!(!p.can_send(), "no sending while answers are due after a refusal");
        assert_eq!(p.answer(error::TRY_AGAIN), Ok(true));
        assert_eq!((p.next_seq(), p.skipped.clone(), p.accepted, p.try_again), (1, vec![], 1, 2));
        p.sent();
        p.sent();
        p.sent();
        assert_eq!(p.answer(error::TRY_AGAIN), Ok(false));
        assert_eq!(p.answer(error::OK), Ok(false));
        assert_eq!(p.answer(error::TRY_AGAIN), Ok(true));
        assert_eq!((p.next_seq(), p.skipped.clone()), (3, vec![1]));
        assert!(p.answer(error::OK).is_err(), "nothing in flight");
        p.sent();
        assert!(p.answer(error::NOT_EXIST).is_err());
    }
}
