//! `libSaEvt`: the event API (AIS EVT B.01.01) over the shared runtime,
//! in Rust types. The C side (arguments, pattern and filter arrays, the
//! application's callbacks, memory handed to the application) is
//! `abi/sa_evt.rs`; the messages are in `ais_ipc::evt`; the service in the
//! executive's `services/evt/`.
//!
//! Handles: library handles in the runtime's [`Library`]; channel handles
//! are children of a library handle ([`CHANNELS`]), each naming the
//! executive's open id; event handles (allocated, or delivered) are
//! children of a channel handle ([`EVENTS`]). Finalize drops a library
//! handle's channels and their events; close drops a channel's events.
//!
//! Delivery: the executive says `EVENT_READY` on the dispatch channel;
//! dispatch answers it by pulling one event (`PULL`) and calls the deliver
//! callback with a new event handle, which the application frees with
//! `saEvtEventFree`.
//!
//! Decided here: checks that need only the arguments; an event received
//! by the deliver callback cannot be changed (`AttributesSet` →
//! `SA_AIS_ERR_ACCESS`); a publish of more than `SA_EVT_DATA_MAX_LEN`
//! bytes is `SA_AIS_ERR_TOO_BIG`. `saEvtEventDataGet` answers as the
//! classic library did: no buffer is `SA_AIS_ERR_NO_SPACE` with the size;
//! an allocated (not delivered) event is `SA_AIS_ERR_BAD_HANDLE`. An event
//! not published yet has the publish time `SA_TIME_UNKNOWN`.

#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex};

use ais_ipc::Reader;
use ais_ipc::evt::{self as wire, Pulled, Request};
pub use ais_ipc::evt::{Event, Filter, MAX_DATA, MAX_PATTERN_BYTES, MAX_PATTERNS, PASS_ALL_FILTER};

use crate::error::{AisError, AisResult};
use crate::runtime::{DispatchFlags, HandleTable, Instance, Library, Pending, Version, version};

/// `SaEvtChannelOpenCallbackT`: (invocation, the new channel handle or
/// the error).
pub type OpenFn = Box<dyn Fn(u64, AisResult<u64>) + Send + Sync>;
/// `SaEvtEventDeliverCallbackT`: (subscription id, the new event handle,
/// the event's data size).
pub type DeliverFn = Box<dyn Fn(u32, u64, u64) + Send + Sync>;

/// The application's callbacks (`None`: not given).
#[derive(Default)]
pub struct Callbacks {
    pub open: Option<OpenFn>,
    pub deliver: Option<DeliverFn>,
}

/// Per library handle: the callbacks and the async opens in flight.
pub struct EvtState {
    callbacks: Callbacks,
    /// token -> invocation of each `saEvtChannelOpenAsync`.
    async_opens: Pending<u64>,
}

/// One open channel (a `SaEvtChannelHandleT`).
pub struct Channel {
    lib: u64,
    open: u64,
}

/// One event handle.
pub struct EventHandle {
    channel: u64,
    /// Allocated here (true) or received by the deliver callback.
    allocated: bool,
    event: Mutex<Event>,
}

static EVT: Library<EvtState> = Library::new(ais_ipc::service::EVT, &[version(b'B', 1, 1)]);
static CHANNELS: HandleTable<Channel> = HandleTable::new();
static EVENTS: HandleTable<EventHandle> = HandleTable::new();

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn channel(handle: u64) -> AisResult<(Arc<Instance<EvtState>>, Arc<Channel>)> {
    let ch = CHANNELS.get(handle)?;
    Ok((EVT.get(ch.lib)?, ch))
}

/// `saEvtInitialize`: the new handle.
pub fn initialize(version: &mut Version, callbacks: Callbacks) -> AisResult<u64> {
    let state = EvtState { callbacks, async_opens: Pending::default() };
    EVT.initialize(version, state)
}

pub fn selection_object(handle: u64) -> AisResult<u64> {
    EVT.selection_object(handle)
}

pub fn dispatch(handle: u64, flags: AisResult<DispatchFlags>) -> AisResult<()> {
    EVT.dispatch(handle, flags, deliver)
}

pub fn finalize(handle: u64) -> AisResult<()> {
    EVT.finalize(handle)?;
    for (ch, _) in CHANNELS.remove_children(handle) {
        EVENTS.remove_children(ch);
    }
    Ok(())
}

/// One callback from the executive.
fn deliver(instance: &Instance<EvtState>, id: u32, body: &[u8]) -> AisResult<()> {
    let bad = |_| AisError::LIBRARY;
    match id {
        wire::OPEN_CALLBACK => {
            let mut r = Reader::new(body);
            let token = r.u64("token").map_err(bad)?;
            let err = r.u32("error").map_err(bad)?;
            let open = r.u64("open").map_err(bad)?;
            r.finish().map_err(bad)?;
            let Some(invocation) = instance.state.async_opens.take(token) else { return Ok(()) };
            let handle = AisError::check(err).and_then(|()| {
                CHANNELS
                    .insert_child(EVT.handles(), instance.handle, |_| Channel { lib: instance.handle, open })
                    .inspect_err(|_| {
                        let _ = instance.conn.request(wire::CLOSE, &Request::Close { open }.encode());
                    })
            });
            if let Some(f) = &instance.state.callbacks.open {
                f(invocation, handle);
            }
            Ok(())
        }
        wire::EVENT_READY => {
            if !body.is_empty() {
                return Err(AisError::LIBRARY);
            }
            let answer = instance.conn.request(wire::PULL, &Request::Pull.encode())?;
            let Some(p) = Pulled::decode(&answer).map_err(bad)? else { return Ok(()) };
            deliver_event(instance, p)
        }
        _ => Err(AisError::LIBRARY),
    }
}

fn deliver_event(instance: &Instance<EvtState>, p: Pulled) -> AisResult<()> {
    let Some(callback) = &instance.state.callbacks.deliver else { return Ok(()) };
    // The channel handle of the open (gone if closed meanwhile: dropped).
    let Some((ch, _)) = CHANNELS.children(instance.handle).into_iter().find(|(_, c)| c.open == p.open) else {
        return Ok(());
    };
    let size = p.event.data.len() as u64;
    let handle = EVENTS.insert_child(&CHANNELS, ch, |_| EventHandle {
        channel: ch,
        allocated: false,
        event: Mutex::new(p.event),
    })?;
    callback(p.sub, handle, size);
    Ok(())
}

/// `saEvtChannelOpen`: the new channel handle; `timeout` in nanoseconds,
/// as the API's.
pub fn open(lib: u64, name: &[u8], flags: u8, timeout: i64) -> AisResult<u64> {
    let instance = EVT.get(lib)?;
    let req = open_request(name, flags, 0, false)?;
    let answer = instance.conn.request_within(wire::OPEN, &req.encode(), timeout)?;
    let open = u64::from_le_bytes(answer.get(..8).and_then(|b| b.try_into().ok()).ok_or(AisError::LIBRARY)?);
    let handle = match CHANNELS.insert_child(EVT.handles(), lib, |_| Channel { lib, open }) {
        Ok(h) => h,
        Err(e) => {
            let _ = instance.conn.request(wire::CLOSE, &Request::Close { open }.encode());
            return Err(e);
        }
    };
    Ok(handle)
}

fn open_request(name: &[u8], flags: u8, token: u64, is_async: bool) -> AisResult<Request> {
    if name.is_empty() {
        return Err(AisError::INVALID_PARAM);
    }
    if flags & !(wire::PUBLISHER | wire::SUBSCRIBER | wire::CREATE) != 0 {
        return Err(AisError::BAD_FLAGS);
    }
    Ok(Request::Open { token, is_async, name: name.to_vec(), flags })
}

/// `saEvtChannelOpenAsync`: the result comes by the open callback.
pub fn open_async(lib: u64, invocation: u64, name: &[u8], flags: u8) -> AisResult<()> {
    let instance = EVT.get(lib)?;
    if instance.state.callbacks.open.is_none() {
        return Err(AisError::INIT);
    }
    instance.state.async_opens.send(invocation, |token| {
        let req = open_request(name, flags, token, true)?;
        instance.conn.request(wire::OPEN, &req.encode())
    })
}

/// `saEvtChannelClose`: also frees the channel's event handles.
pub fn close(handle: u64) -> AisResult<()> {
    let (instance, ch) = channel(handle)?;
    instance.conn.request(wire::CLOSE, &Request::Close { open: ch.open }.encode())?;
    CHANNELS.remove(handle)?;
    EVENTS.remove_children(handle);
    Ok(())
}

/// `saEvtChannelUnlink`.
pub fn unlink(lib: u64, name: &[u8]) -> AisResult<()> {
    let instance = EVT.get(lib)?;
    if name.is_empty() {
        return Err(AisError::INVALID_PARAM);
    }
    instance.conn.request(wire::UNLINK, &Request::Unlink { name: name.to_vec() }.encode())?;
    Ok(())
}

/// `SA_TIME_UNKNOWN`: the publish time of an event not published yet
/// (the abi tests check the two agree).
pub const TIME_UNKNOWN: i64 = i64::MIN;

/// `saEvtEventAllocate`: default attributes (no patterns, lowest
/// priority, no retention, empty publisher name, no id, publish time
/// unknown).
pub fn allocate(ch: u64) -> AisResult<u64> {
    channel(ch)?;
    let event = Event { priority: wire::LOWEST_PRIORITY, publish_time: TIME_UNKNOWN, ..Event::default() };
    EVENTS.insert_child(&CHANNELS, ch, |_| EventHandle { channel: ch, allocated: true, event: Mutex::new(event) })
}

pub fn free(handle: u64) -> AisResult<()> {
    EVENTS.remove(handle)?;
    Ok(())
}

/// `saEvtEventAttributesSet`. `patterns` as the abi layer read them: a
/// malformed array is reported after this function's own checks.
pub fn attributes_set(
    handle: u64,
    patterns: AisResult<Vec<Vec<u8>>>,
    priority: u8,
    retention: i64,
    publisher: Option<&[u8]>,
) -> AisResult<()> {
    let ev = EVENTS.get(handle)?;
    if !ev.allocated {
        return Err(AisError::ACCESS);
    }
    if priority > wire::LOWEST_PRIORITY || retention < 0 {
        return Err(AisError::INVALID_PARAM);
    }
    let patterns = patterns?;
    let mut e = lock(&ev.event);
    e.patterns = patterns;
    e.priority = priority;
    e.retention = retention;
    e.publisher = publisher.unwrap_or_default().to_vec();
    Ok(())
}

/// `saEvtEventAttributesGet`: the event's attributes (and data).
pub fn attributes_get(handle: u64) -> AisResult<Event> {
    Ok(lock(&EVENTS.get(handle)?.event).clone())
}

/// What `saEvtEventDataGet` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventData {
    /// The data, which fits the caller's buffer.
    Fits(Vec<u8>),
    /// Only its size (`SA_AIS_ERR_NO_SPACE`): no buffer, or too small a one.
    NoSpace(u64),
}

/// `saEvtEventDataGet`, as the classic library answered it: `room` is
/// the size of the caller's buffer (`None`: no buffer, a question for the
/// size); an event allocated here has no data to get (`BAD_HANDLE`: data
/// belongs to delivered events).
pub fn data_get(handle: u64, room: Option<u64>) -> AisResult<EventData> {
    let ev = EVENTS.get(handle)?;
    let e = lock(&ev.event);
    let need = e.data.len();
    let Some(room) = room else { return Ok(EventData::NoSpace(need as u64)) };
    if ev.allocated {
        return Err(AisError::BAD_HANDLE);
    }
    if usize::try_from(room).unwrap_or(usize::MAX) < need {
        return Ok(EventData::NoSpace(need as u64));
    }
    Ok(EventData::Fits(e.data.clone()))
}

/// `saEvtEventPublish`: the event's id.
pub fn publish(handle: u64, data: &[u8]) -> AisResult<u64> {
    let ev = EVENTS.get(handle)?;
    let (instance, ch) = channel(ev.channel)?;
    if data.len() > wire::MAX_DATA {
        return Err(AisError::TOO_BIG);
    }
    let mut event = lock(&ev.event).clone();
    event.data = data.to_vec();
    let req = Request::Publish { open: ch.open, event };
    let answer = instance.conn.request(wire::PUBLISH, &req.encode())?;
    let mut r = Reader::new(&answer);
    let id = r.u64("event id").map_err(|_| AisError::LIBRARY)?;
    let time = r.i64("publish time").map_err(|_| AisError::LIBRARY)?;
    {
        let mut e = lock(&ev.event);
        e.id = id;
        e.publish_time = time;
    }
    Ok(id)
}

/// `saEvtEventSubscribe`. `filters` as the abi layer read them: a
/// malformed array is reported after this function's own checks.
pub fn subscribe(ch: u64, filters: AisResult<Vec<Filter>>, sub: u32) -> AisResult<()> {
    let (instance, c) = channel(ch)?;
    if instance.state.callbacks.deliver.is_none() {
        return Err(AisError::INIT);
    }
    let filters = filters?;
    instance.conn.request(wire::SUBSCRIBE, &Request::Subscribe { open: c.open, sub, filters }.encode())?;
    Ok(())
}

pub fn unsubscribe(ch: u64, sub: u32) -> AisResult<()> {
    let (instance, c) = channel(ch)?;
    instance.conn.request(wire::UNSUBSCRIBE, &Request::Unsubscribe { open: c.open, sub }.encode())?;
    Ok(())
}

pub fn retention_time_clear(ch: u64, event_id: u64) -> AisResult<()> {
    let (instance, c) = channel(ch)?;
    instance.conn.request(wire::CLEAR, &Request::Clear { open: c.open, event_id }.encode())?;
    Ok(())
}
