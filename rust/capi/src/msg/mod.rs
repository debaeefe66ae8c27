//! `libSaMsg`: the message queue API (AIS MSG B.01.01) over the shared
//! runtime, in Rust types: it never sees a C pointer or struct. The C side
//! (arguments, `SaMsgMessageT`, the application's callbacks) is
//! `abi/sa_msg.rs`; the messages are in `ais_ipc::msg`; the service in the
//! executive's `services/msg/`.
//!
//! Handles: library handles in the runtime's [`Library`]; queue handles
//! are children of a library handle ([`QUEUES`]), each naming the
//! executive's open id. Finalize drops a library handle's queues.
//!
//! Blocking calls. `saMsgMessageGet` and `saMsgMessageSendReceive` wait
//! in the executive (their timeout is the executive's, so a get never both
//! times out and takes a message). Each runs on a connection of its own,
//! taken from the handle's pool of spare connections ([`Blocking`]), so a
//! blocked get does not hold up the handle's other calls: a
//! `saMsgMessageCancel` from another thread reaches the executive and
//! wakes it. Finalize closes the pool, which ends waits in flight with
//! `BAD_HANDLE`.
//!
//! Decided here: checks that need only the arguments and the handle's
//! callbacks (flags → `BAD_FLAGS`, a needed callback not given → `INIT`).
//! A get's timeout 0 means "do not wait" (the spec's), unlike the other
//! calls, where 0 is no limit as with the classic library.

#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex, MutexGuard};

use ais_ipc::msg::{self as wire, Attrs, Got, Members, Message, Request, Status};

use crate::error::{AisError, AisResult};
use crate::runtime::{Connection, DispatchFlags, HandleTable, Instance, Library, Pending, Version, version};

/// `saMsgQueueOpenCallback`: (invocation, the new queue handle or error).
pub type OpenFn = Box<dyn Fn(u64, AisResult<u64>) + Send + Sync>;
/// `saMsgQueueGroupTrackCallback`: (group, members, result).
pub type TrackFn = Box<dyn Fn(&[u8], &Members, AisResult<()>) + Send + Sync>;
/// `saMsgMessageDeliveredCallback`: (invocation, result).
pub type DeliveredFn = Box<dyn Fn(u64, AisResult<()>) + Send + Sync>;
/// `saMsgMessageReceivedCallback`: (queue handle).
pub type ReceivedFn = Box<dyn Fn(u64) + Send + Sync>;

/// The application's callbacks (`None`: not given).
#[derive(Default)]
pub struct Callbacks {
    pub open: Option<OpenFn>,
    pub track: Option<TrackFn>,
    pub delivered: Option<DeliveredFn>,
    pub received: Option<ReceivedFn>,
}

/// Spare connections for blocking calls; `closed` once finalized.
#[derive(Default)]
struct Blocking {
    idle: Vec<Arc<Connection>>,
    busy: Vec<Arc<Connection>>,
    closed: bool,
}

/// Per library handle.
pub struct MsgState {
    callbacks: Callbacks,
    /// token -> invocation of each `saMsgQueueOpenAsync`.
    async_opens: Pending<u64>,
    /// token -> invocation of each send or reply with a delivered ack.
    acks: Pending<u64>,
    blocking: Mutex<Blocking>,
}

/// One open queue (a `SaMsgQueueHandleT`).
pub struct QueueHandle {
    lib: u64,
    /// The executive's id of this open.
    open: u64,
}

static MSG: Library<MsgState> = Library::new(ais_ipc::service::MSG, &[version(b'B', 1, 1)]);
static QUEUES: HandleTable<QueueHandle> = HandleTable::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn queue(handle: u64) -> AisResult<(Arc<Instance<MsgState>>, Arc<QueueHandle>)> {
    let q = QUEUES.get(handle)?;
    Ok((MSG.get(q.lib)?, q))
}

/// `saMsgInitialize`: the new handle.
pub fn initialize(version: &mut Version, callbacks: Callbacks) -> AisResult<u64> {
    let state = MsgState {
        callbacks,
        async_opens: Pending::default(),
        acks: Pending::default(),
        blocking: Mutex::new(Blocking::default()),
    };
    MSG.initialize(version, state)
}

pub fn selection_object(handle: u64) -> AisResult<u64> {
    MSG.selection_object(handle)
}

pub fn dispatch(handle: u64, flags: AisResult<DispatchFlags>) -> AisResult<()> {
    MSG.dispatch(handle, flags, deliver)
}

pub fn finalize(handle: u64) -> AisResult<()> {
    let instance = MSG.finalize(handle)?;
    QUEUES.remove_children(handle);
    let mut b = lock(&instance.state.blocking);
    b.closed = true;
    for c in b.idle.drain(..) {
        c.close();
    }
    for c in &b.busy {
        c.close();
    }
    Ok(())
}

/// Runs `call` on a spare connection of the handle (opened when none is
/// idle); a closed handle is `BAD_HANDLE`.
fn on_blocking<R>(instance: &Instance<MsgState>, call: impl FnOnce(&Connection) -> AisResult<R>) -> AisResult<R> {
    let spare = {
        let mut b = lock(&instance.state.blocking);
        if b.closed {
            return Err(AisError::BAD_HANDLE);
        }
        b.idle.pop()
    };
    let conn = match spare {
        Some(c) => c,
        None => Arc::new(Connection::open(ais_ipc::service::MSG)?),
    };
    {
        let mut b = lock(&instance.state.blocking);
        if b.closed {
            conn.close();
            return Err(AisError::BAD_HANDLE);
        }
        b.busy.push(conn.clone());
    }
    let result = call(&conn);
    let mut b = lock(&instance.state.blocking);
    b.busy.retain(|c| !Arc::ptr_eq(c, &conn));
    if b.closed {
        return Err(AisError::BAD_HANDLE);
    }
    if !conn.is_broken() {
        b.idle.push(conn);
    }
    result
}

/// The queue handle of open `open` of library handle `lib`.
fn queue_of(lib: u64, open: u64) -> Option<u64> {
    QUEUES.children(lib).into_iter().find(|(_, q)| q.open == open).map(|(h, _)| h)
}

/// One callback from the executive.
fn deliver(instance: &Instance<MsgState>, id: u32, body: &[u8]) -> AisResult<()> {
    let bad = |_| AisError::LIBRARY;
    let callbacks = &instance.state.callbacks;
    match id {
        wire::OPEN_CALLBACK => {
            let (token, err, open) = wire::decode_open_callback(body).map_err(bad)?;
            let Some(invocation) = instance.state.async_opens.take(token) else { return Ok(()) };
            let result = AisError::check(err).and_then(|()| add_queue(instance, open));
            if let Some(f) = &callbacks.open {
                f(invocation, result);
            }
        }
        wire::DELIVERED_CALLBACK => {
            let (token, err) = wire::decode_delivered_callback(body).map_err(bad)?;
            let Some(invocation) = instance.state.acks.take(token) else { return Ok(()) };
            if let Some(f) = &callbacks.delivered {
                f(invocation, AisError::check(err));
            }
        }
        wire::RECEIVED_CALLBACK => {
            let open = wire::decode_received_callback(body).map_err(bad)?;
            if let (Some(h), Some(f)) = (queue_of(instance.handle, open), &callbacks.received) {
                f(h);
            }
        }
        wire::TRACK_CALLBACK => {
            let cb = wire::TrackCallback::decode(body).map_err(bad)?;
            if let Some(f) = &callbacks.track {
                f(&cb.group, &cb.members, AisError::check(cb.error));
            }
        }
        _ => return Err(AisError::LIBRARY),
    }
    Ok(())
}

/// A queue handle for open `open`; if none can be made, the open is closed.
fn add_queue(instance: &Instance<MsgState>, open: u64) -> AisResult<u64> {
    let lib = instance.handle;
    QUEUES.insert_child(MSG.handles(), lib, |_| QueueHandle { lib, open }).inspect_err(|_| {
        let _ = instance.conn.request(wire::CLOSE, &Request::Close { open }.encode());
    })
}

fn open_request(name: &[u8], attrs: Option<Attrs>, flags: u32, token: u64, is_async: bool) -> AisResult<Request> {
    let check = wire::validate_open(name, attrs.as_ref(), flags);
    AisError::check(check)?;
    Ok(Request::Open { token, is_async, name: name.to_vec(), attrs, flags })
}

/// `saMsgQueueOpen`: the new queue handle.
pub fn queue_open(lib: u64, name: &[u8], attrs: Option<Attrs>, flags: u32, timeout: i64) -> AisResult<u64> {
    let instance = MSG.get(lib)?;
    let req = open_request(name, attrs, flags, 0, false)?;
    if flags & wire::OPEN_RECEIVE_CALLBACK != 0 && instance.state.callbacks.received.is_none() {
        return Err(AisError::INIT);
    }
    let answer = instance.conn.request_within(wire::OPEN, &req.encode(), timeout)?;
    let open = u64::from_le_bytes(answer.get(..8).and_then(|b| b.try_into().ok()).ok_or(AisError::LIBRARY)?);
    add_queue(&instance, open)
}

/// `saMsgQueueOpenAsync`: the queue handle comes by the open callback.
pub fn queue_open_async(lib: u64, invocation: u64, name: &[u8], attrs: Option<Attrs>, flags: u32) -> AisResult<()> {
    let instance = MSG.get(lib)?;
    let callbacks = &instance.state.callbacks;
    let needs_received = flags & wire::OPEN_RECEIVE_CALLBACK != 0 && callbacks.received.is_none();
    if callbacks.open.is_none() || needs_received {
        return Err(AisError::INIT);
    }
    instance.state.async_opens.send(invocation, |token| {
        let req = open_request(name, attrs, flags, token, true)?;
        instance.conn.request(wire::OPEN, &req.encode())
    })
}

/// `saMsgQueueClose`.
pub fn queue_close(handle: u64) -> AisResult<()> {
    let (instance, q) = queue(handle)?;
    instance.conn.request(wire::CLOSE, &Request::Close { open: q.open }.encode())?;
    QUEUES.remove(handle).map(drop)
}

fn named(lib: u64, name: &[u8], req: impl FnOnce(Vec<u8>) -> Request) -> AisResult<Vec<u8>> {
    let instance = MSG.get(lib)?;
    if name.is_empty() {
        return Err(AisError::INVALID_PARAM);
    }
    let req = req(name.to_vec());
    instance.conn.request(req.id(), &req.encode())
}

/// `saMsgQueueStatusGet` (by the library handle: the header's type says
/// queue handle, but the call names the queue).
pub fn queue_status_get(lib: u64, name: &[u8]) -> AisResult<Status> {
    let answer = named(lib, name, |name| Request::StatusGet { name })?;
    Status::decode(&answer).map_err(|_| AisError::LIBRARY)
}

/// `saMsgQueueUnlink` (by the library handle, as status).
pub fn queue_unlink(lib: u64, name: &[u8]) -> AisResult<()> {
    named(lib, name, |name| Request::Unlink { name }).map(drop)
}

pub fn group_create(lib: u64, group: &[u8], policy: u32) -> AisResult<()> {
    if !(wire::ROUND_ROBIN..=wire::BROADCAST).contains(&policy) {
        MSG.get(lib)?;
        return Err(AisError::INVALID_PARAM);
    }
    named(lib, group, |group| Request::GroupCreate { group, policy }).map(drop)
}

pub fn group_insert(lib: u64, group: &[u8], queue: &[u8]) -> AisResult<()> {
    if queue.is_empty() {
        return Err(AisError::INVALID_PARAM);
    }
    named(lib, group, |group| Request::GroupInsert { group, queue: queue.to_vec() }).map(drop)
}

pub fn group_remove(lib: u64, group: &[u8], queue: &[u8]) -> AisResult<()> {
    if queue.is_empty() {
        return Err(AisError::INVALID_PARAM);
    }
    named(lib, group, |group| Request::GroupRemove { group, queue: queue.to_vec() }).map(drop)
}

pub fn group_delete(lib: u64, group: &[u8]) -> AisResult<()> {
    named(lib, group, |group| Request::GroupDelete { group }).map(drop)
}

/// Where `SA_TRACK_CURRENT` is to put the members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembersInto {
    /// The caller's array, with room for this many entries.
    Array(u32),
    /// An array the library allocates.
    Allocated,
}

/// `saMsgQueueGroupTrack`; `buffer`: the caller's buffer (`None`: none).
/// Returns the members for that buffer (with CURRENT and a buffer), else
/// `None` (they come by the callback). Too small an array: `Err(needed)`
/// inside `Ok`.
pub fn group_track(lib: u64, group: &[u8], flags: u8, buffer: Option<MembersInto>) -> AisResult<Option<Members>> {
    let instance = MSG.get(lib)?;
    if !wire::track_flags_valid(flags) {
        return Err(AisError::BAD_FLAGS);
    }
    let current = flags & wire::TRACK_CURRENT != 0;
    let buffer = if current { buffer } else { None };
    let changes = flags & (wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY) != 0;
    if (changes || (current && buffer.is_none())) && instance.state.callbacks.track.is_none() {
        return Err(AisError::INIT);
    }
    if group.is_empty() {
        return Err(AisError::INVALID_PARAM);
    }
    let req = Request::GroupTrack { group: group.to_vec(), flags, current_in_reply: buffer.is_some() };
    let answer = instance.conn.request(wire::GROUP_TRACK, &req.encode())?;
    wire::decode_track_reply(&answer).map_err(|_| AisError::LIBRARY)
}

pub fn group_track_stop(lib: u64, group: &[u8]) -> AisResult<()> {
    named(lib, group, |group| Request::TrackStop { group }).map(drop)
}

/// Checks a message's size.
fn check_message(msg: &Message) -> AisResult<()> {
    if msg.data.len() > wire::MAX_DATA {
        return Err(AisError::TOO_BIG);
    }
    Ok(())
}

/// `saMsgMessageSend`.
pub fn send(lib: u64, to: &[u8], msg: Message, timeout: i64) -> AisResult<()> {
    check_message(&msg)?;
    let instance = MSG.get(lib)?;
    if to.is_empty() {
        return Err(AisError::INVALID_PARAM);
    }
    let req = Request::Send { to: to.to_vec(), msg, mode: wire::MODE_SYNC, token: 0 };
    instance.conn.request_within(wire::SEND, &req.encode(), timeout).map(drop)
}

/// The send mode for `ack_flags`, checking that an ack can be delivered.
fn ack_mode(instance: &Instance<MsgState>, ack_flags: u32) -> AisResult<u32> {
    if ack_flags & !wire::DELIVERED_ACK != 0 {
        return Err(AisError::BAD_FLAGS);
    }
    if ack_flags == 0 {
        return Ok(wire::MODE_ASYNC);
    }
    if instance.state.callbacks.delivered.is_none() {
        return Err(AisError::INIT);
    }
    Ok(wire::MODE_ACK)
}

/// Sends an async request: with an ack, its token finds `invocation` again.
fn send_async_request(
    instance: &Instance<MsgState>,
    invocation: u64,
    mode: u32,
    make: impl FnOnce(u64) -> Request,
) -> AisResult<()> {
    if mode == wire::MODE_ASYNC {
        let req = make(0);
        return instance.conn.request(req.id(), &req.encode()).map(drop);
    }
    instance.state.acks.send(invocation, |token| {
        let req = make(token);
        instance.conn.request(req.id(), &req.encode())
    })
}

/// `saMsgMessageSendAsync`.
pub fn send_async(lib: u64, invocation: u64, to: &[u8], msg: Message, ack_flags: u32) -> AisResult<()> {
    check_message(&msg)?;
    let instance = MSG.get(lib)?;
    let mode = ack_mode(&instance, ack_flags)?;
    if to.is_empty() {
        return Err(AisError::INVALID_PARAM);
    }
    send_async_request(&instance, invocation, mode, |token| Request::Send { to: to.to_vec(), msg, mode, token })
}

/// `saMsgMessageGet`: the next message, or `Got::NoSpace` when it needs
/// more than `room` bytes (`u64::MAX`: any size).
pub fn get(handle: u64, room: u64, timeout: i64) -> AisResult<Got> {
    if timeout < 0 {
        return Err(AisError::INVALID_PARAM);
    }
    let (instance, q) = queue(handle)?;
    let req = Request::Get { open: q.open, timeout, room };
    let answer = on_blocking(&instance, |conn| conn.request(wire::GET, &req.encode()))?;
    Got::decode(&answer).map_err(|_| AisError::LIBRARY)
}

/// `saMsgMessageCancel`.
pub fn cancel(handle: u64) -> AisResult<()> {
    let (instance, q) = queue(handle)?;
    instance.conn.request(wire::CANCEL, &Request::Cancel { open: q.open }.encode()).map(drop)
}

/// `saMsgMessageSendReceive`: the reply (or `Got::NoSpace`).
pub fn send_receive(lib: u64, to: &[u8], msg: Message, room: u64, timeout: i64) -> AisResult<Got> {
    check_message(&msg)?;
    if timeout < 0 {
        return Err(AisError::INVALID_PARAM);
    }
    let instance = MSG.get(lib)?;
    if to.is_empty() {
        return Err(AisError::INVALID_PARAM);
    }
    // 0 is no limit, as for the other calls that wait for the executive.
    let timeout = if timeout == 0 { wire::TIME_END } else { timeout };
    let req = Request::SendReceive { to: to.to_vec(), msg, timeout, room };
    let answer = on_blocking(&instance, |conn| conn.request(wire::SEND_RECEIVE, &req.encode()))?;
    Got::decode(&answer).map_err(|_| AisError::LIBRARY)
}

/// `saMsgMessageReply`.
pub fn reply(lib: u64, sender_id: u64, msg: Message, timeout: i64) -> AisResult<()> {
    check_message(&msg)?;
    let instance = MSG.get(lib)?;
    let req = Request::Reply { sender_id, msg, mode: wire::MODE_SYNC, token: 0 };
    instance.conn.request_within(wire::REPLY, &req.encode(), timeout).map(drop)
}

/// `saMsgMessageReplyAsync`.
pub fn reply_async(lib: u64, invocation: u64, sender_id: u64, msg: Message, ack_flags: u32) -> AisResult<()> {
    check_message(&msg)?;
    let instance = MSG.get(lib)?;
    let mode = ack_mode(&instance, ack_flags)?;
    send_async_request(&instance, invocation, mode, |token| Request::Reply { sender_id, msg, mode, token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_handles_are_bad_handles() {
        assert_eq!(queue_close(777), Err(AisError::BAD_HANDLE));
        assert_eq!(get(777, 0, 0).err(), Some(AisError::BAD_HANDLE));
        assert_eq!(cancel(777), Err(AisError::BAD_HANDLE));
        assert_eq!(queue_unlink(777, b"q"), Err(AisError::BAD_HANDLE));
        assert_eq!(group_create(777, b"g", 9), Err(AisError::BAD_HANDLE));
        assert_eq!(send(777, b"q", Message::default(), 0), Err(AisError::BAD_HANDLE));
        assert_eq!(finalize(777), Err(AisError::BAD_HANDLE));
    }

    #[test]
    fn open_arguments_are_checked_before_anything_is_sent() {
        let a = Attrs::default();
        assert_eq!(wire::validate_open(b"q", Some(&a), 0x8 | wire::OPEN_CREATE), ais_ipc::error::BAD_FLAGS);
        assert_eq!(wire::validate_open(b"q", None, wire::OPEN_CREATE), ais_ipc::error::INVALID_PARAM);
        assert_eq!(wire::validate_open(b"q", Some(&a), 0), ais_ipc::error::INVALID_PARAM);
        assert_eq!(wire::validate_open(b"", None, 0), ais_ipc::error::INVALID_PARAM);
        let bad = Attrs { creation_flags: 2, ..a };
        assert_eq!(wire::validate_open(b"q", Some(&bad), wire::OPEN_CREATE), ais_ipc::error::BAD_FLAGS);
        assert_eq!(wire::validate_open(b"q", Some(&a), wire::OPEN_CREATE | wire::OPEN_EMPTY), ais_ipc::error::OK);
    }
}
