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

use std::collections::HashMap;
use std::io::{self, BufReader};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ais_ipc::evs::{self, Callback, GroupKey};
use ais_ipc::frame::{read_message, write_message};
use ais_ipc::handshake::{HANDSHAKE_SERVICE, HELLO_ID, Hello, HelloReply, PROTOCOL_VERSION, Role};
use ais_ipc::{error, service};

/// The group every bench connection joins.
pub const GROUP: GroupKey = *b"totem-bench-group...............";
/// `EVS_TYPE_AGREED`.
const AGREED: u32 = 1;

fn hello(socket: &Path, role: Role, token: u64) -> io::Result<(UnixStream, Option<HelloReply>)> {
    let mut s = UnixStream::connect(socket)?;
    let h = Hello { protocol: PROTOCOL_VERSION, role, service: service::EVS, token };
    write_message(&mut s, HANDSHAKE_SERVICE, HELLO_ID, &h.encode())?;
    if role == Role::Dispatch {
        return Ok((s, None));
    }
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let (_, body) = read_message(&mut s)?;
    let reply = HelloReply::decode(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    Ok((s, Some(reply)))
}

fn refused(what: &str, code: u32) -> io::Error {
    io::Error::other(format!("{what}: SaAisErrorT {code}"))
}

/// One EVS connection: request channel (sending) and dispatch channel.
pub struct EvsConn {
    request: UnixStream,
    dispatch: Option<UnixStream>,
    pub local_node: u32,
}

impl EvsConn {
    /// Connects, joins [`GROUP`] and learns the local node id.
    pub fn connect(socket: &Path) -> io::Result<EvsConn> {
        let (request, reply) = hello(socket, Role::Request, 0)?;
        let reply = reply.ok_or_else(|| io::Error::other("no hello reply"))?;
        if reply.error != error::OK {
            return Err(refused("hello", reply.error));
        }
        let (dispatch, _) = hello(socket, Role::Dispatch, reply.token)?;
        let mut c = EvsConn { request, dispatch: Some(dispatch), local_node: 0 };
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
        match self.try_call(id, body)? {
            (error::OK, rest) => Ok(rest),
            (code, _) => Err(refused("request", code)),
        }
    }

    fn try_call(&mut self, id: u32, body: &[u8]) -> io::Result<(u32, Vec<u8>)> {
        write_message(&mut self.request, service::EVS, id, body)?;
        let (_, answer) = read_message(&mut self.request)?;
        if answer.len() < 4 {
            return Err(io::Error::other("short answer"));
        }
        let code = u32::from_le_bytes([answer[0], answer[1], answer[2], answer[3]]);
        Ok((code, answer[4..].to_vec()))
    }

    /// Multicasts `data`, retrying while the executive answers TRY_AGAIN.
    /// Returns how many TRY_AGAIN answers it took.
    pub fn mcast(&mut self, data: &[u8]) -> io::Result<u64> {
        let body = evs::encode_mcast(AGREED, None, &[data]);
        let mut retries = 0;
        loop {
            match self.try_call(evs::MCAST_JOINED, &body)?.0 {
                error::OK => return Ok(retries),
                error::TRY_AGAIN => {
                    retries += 1;
                    std::thread::sleep(Duration::from_micros(200));
                }
                code => return Err(refused("mcast", code)),
            }
        }
    }

    /// Hands the dispatch channel to a receiver thread.
    pub fn take_dispatch(&mut self) -> Option<UnixStream> {
        self.dispatch.take()
    }
}

/// The payload of message `seq` of `size` bytes.
pub fn payload(seq: u64, size: usize, buf: &mut Vec<u8>) {
    buf.clear();
    buf.resize(size, 0);
    let n = size.min(8);
    buf[..n].copy_from_slice(&seq.to_le_bytes()[..n]);
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
}

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
            if self.errors.len() < 10 {
                self.errors.push(format!(
                    "from node {node}: expected seq {} of {} bytes, got {} bytes starting {:02x?}",
                    next,
                    self.size,
                    data.len(),
                    &data[..n.min(data.len())]
                ));
            }
            // Resynchronise on what arrived, so one gap is reported once.
            let mut got = [0u8; 8];
            let k = n.min(data.len());
            got[..k].copy_from_slice(&data[..k]);
            *next = u64::from_le_bytes(got);
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

/// Reads `dispatch` until it closes, recording into `state`.
pub fn receive(dispatch: UnixStream, state: Arc<Mutex<RoundState>>) {
    let mut r = BufReader::with_capacity(256 * 1024, dispatch);
    while let Ok((h, body)) = read_message(&mut r) {
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

/// Runs one round: every sender multicasts `size`-byte messages for
/// `duration`; then waits (at most `drain`) until every receiver has all.
/// Sender `k` is on the node of receiver `k`.
pub fn round(
    senders: &mut [EvsConn],
    receivers: &[Arc<Mutex<RoundState>>],
    size: usize,
    duration: Duration,
    drain: Duration,
) -> RoundResult {
    for r in receivers {
        r.lock().unwrap_or_else(|e| e.into_inner()).reset(size);
    }
    let start = Instant::now();
    let mut errors = Vec::new();
    let results: Vec<(u64, u64, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = senders
            .iter_mut()
            .zip(receivers)
            .map(|(c, own)| {
                s.spawn(move || {
                    let (mut sent, mut retries, mut buf) = (0u64, 0u64, Vec::with_capacity(size));
                    let window = (MAX_IN_FLIGHT_BYTES / size.max(1)).max(1) as u64;
                    while start.elapsed() < duration {
                        // Stay at most `window` messages ahead of our own
                        // node's delivery, as an application would.
                        while sent >= own_delivered(own, c.local_node) + window && start.elapsed() < duration {
                            std::thread::sleep(Duration::from_micros(50));
                        }
                        payload(sent, size, &mut buf);
                        match c.mcast(&buf) {
                            Ok(r) => retries += r,
                            Err(e) => return (sent, retries, Some(format!("send: {e}"))),
                        }
                        sent += 1;
                    }
                    (sent, retries, None)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or((0, 0, Some("sender panicked".into())))).collect()
    });
    let sent: u64 = results.iter().map(|r| r.0).sum();
    let try_again: u64 = results.iter().map(|r| r.1).sum();
    errors.extend(results.into_iter().filter_map(|r| r.2));
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
            assert_eq!(st.errors.len(), 3, "{size}: {:?}", st.errors);
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
}
