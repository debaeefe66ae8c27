//! `libSaEvt`: the event API (AIS EVT B.01.01) over the shared runtime.
//! The exported wrappers are in `abi/sa_evt.rs`; the messages in
//! `ais_ipc::evt`; the service in the executive's `services/evt/`.
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
//! bytes is `SA_AIS_ERR_TOO_BIG`. `saEvtEventAttributesGet` with
//! `patternArray->patterns == NULL` allocates the array and each pattern
//! with `malloc` (as the classic library did: the application frees each
//! `patterns[i].pattern`, then `patterns`, with `free`); with an array
//! given, too small a one (or too small a pattern buffer) is
//! `SA_AIS_ERR_NO_SPACE` with the needed numbers written back, the
//! patterns that fit copied and every other output written (as the classic
//! library did). `saEvtEventDataGet` answers as the classic library did: a
//! NULL buffer is `SA_AIS_ERR_NO_SPACE` with the size; an allocated (not
//! delivered) event is `SA_AIS_ERR_BAD_HANDLE`. An event not published yet
//! has the publish time `SA_TIME_UNKNOWN`.

use std::sync::{Arc, Mutex};

use ais_ipc::evt::{self as wire, Event, Filter, Pulled, Request};
use ais_ipc::{Reader, error};

use crate::abi::convert::Out;
use crate::abi::sa_ais::{SA_TIME_UNKNOWN, SaInvocationT, SaNameT, SaTimeT};
use crate::abi::sa_evt::{SaEvtCallbacksT, SaEvtEventFilterArrayT, SaEvtEventPatternArrayT, SaEvtEventPatternT, enums};
use crate::error::{AisError, AisResult};
use crate::runtime::{DispatchFlags, HandleTable, Instance, Library, Pending, Version, version};

/// Per library handle: the callbacks and the async opens in flight.
pub struct EvtState {
    callbacks: SaEvtCallbacksT,
    /// token -> invocation of each `saEvtChannelOpenAsync`.
    async_opens: Pending<SaInvocationT>,
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

/// `SA_EVT_DATA_MAX_LEN`.
pub const MAX_DATA: usize = wire::MAX_DATA;

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

/// `saEvtInitialize`; `callbacks` NULL means none.
pub fn initialize(callbacks: Option<&SaEvtCallbacksT>, version: &mut Version) -> AisResult<u64> {
    let callbacks = callbacks
        .copied()
        .unwrap_or(SaEvtCallbacksT { saEvtChannelOpenCallback: None, saEvtEventDeliverCallback: None });
    let state = EvtState { callbacks, async_opens: Pending::default() };
    EVT.initialize(version, state)
}

pub fn selection_object(handle: u64, out: Out<'_, u64>) -> AisResult<()> {
    out.write(EVT.selection_object(handle)?);
    Ok(())
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
            let mut err = r.u32("error").map_err(bad)?;
            let open = r.u64("open").map_err(bad)?;
            r.finish().map_err(bad)?;
            let Some(invocation) = instance.state.async_opens.take(token) else { return Ok(()) };
            let mut handle = 0;
            if err == error::OK {
                match CHANNELS.insert_child(EVT.handles(), instance.handle, |_| Channel { lib: instance.handle, open })
                {
                    Ok(h) => handle = h,
                    Err(e) => {
                        err = e.0;
                        let _ = instance.conn.request(wire::CLOSE, &Request::Close { open }.encode());
                    }
                }
            }
            if let Some(f) = instance.state.callbacks.saEvtChannelOpenCallback {
                // SAFETY: the application's callback of the spec's type.
                unsafe { f(invocation, handle, err) };
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
    let Some(callback) = instance.state.callbacks.saEvtEventDeliverCallback else { return Ok(()) };
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
    // SAFETY: the application's callback of the spec's type.
    unsafe { callback(p.sub, handle, size) };
    Ok(())
}

/// `saEvtChannelOpen`.
pub fn open(lib: u64, name: &[u8], flags: u8, timeout: SaTimeT, out: Out<'_, u64>) -> AisResult<()> {
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
    out.write(handle);
    Ok(())
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
pub fn open_async(lib: u64, invocation: SaInvocationT, name: &[u8], flags: u8) -> AisResult<()> {
    let instance = EVT.get(lib)?;
    if instance.state.callbacks.saEvtChannelOpenCallback.is_none() {
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

/// `SA_TIME_UNKNOWN`: the publish time of an event not published yet.
const TIME_UNKNOWN: SaTimeT = SA_TIME_UNKNOWN as SaTimeT;

/// `saEvtEventAllocate`: default attributes (no patterns, lowest
/// priority, no retention, empty publisher name, no id, publish time
/// unknown).
pub fn allocate(ch: u64, out: Out<'_, u64>) -> AisResult<()> {
    channel(ch)?;
    let event = Event { priority: wire::LOWEST_PRIORITY, publish_time: TIME_UNKNOWN, ..Event::default() };
    let h = EVENTS.insert_child(&CHANNELS, ch, |_| EventHandle {
        channel: ch,
        allocated: true,
        event: Mutex::new(event),
    })?;
    out.write(h);
    Ok(())
}

pub fn free(handle: u64) -> AisResult<()> {
    EVENTS.remove(handle)?;
    Ok(())
}

/// Copies a C pattern array (NULL: no patterns).
///
/// # Safety
/// As the C API: `patterns` points to `patternsNumber` patterns, each
/// `pattern` to `patternSize` bytes.
unsafe fn read_patterns(a: Option<&SaEvtEventPatternArrayT>) -> AisResult<Vec<Vec<u8>>> {
    let Some(a) = a else { return Ok(Vec::new()) };
    let n = usize::try_from(a.patternsNumber).map_err(|_| AisError::INVALID_PARAM)?;
    if n > wire::MAX_PATTERNS {
        return Err(AisError::TOO_BIG);
    }
    let pats = unsafe { crate::abi::convert::raw::try_slice(a.patterns, n) }?;
    let mut out = Vec::with_capacity(n);
    let mut total = 0usize;
    for p in pats {
        let len = usize::try_from(p.patternSize).map_err(|_| AisError::INVALID_PARAM)?;
        total = total.saturating_add(len);
        if total > wire::MAX_PATTERN_BYTES {
            return Err(AisError::TOO_BIG);
        }
        out.push(unsafe { crate::abi::convert::raw::try_slice(p.pattern, len) }?.to_vec());
    }
    Ok(out)
}

/// `saEvtEventAttributesSet`.
///
/// # Safety
/// As [`read_patterns`].
pub unsafe fn attributes_set(
    handle: u64,
    patterns: Option<&SaEvtEventPatternArrayT>,
    priority: u8,
    retention: SaTimeT,
    publisher: Option<&[u8]>,
) -> AisResult<()> {
    let ev = EVENTS.get(handle)?;
    if !ev.allocated {
        return Err(AisError::ACCESS);
    }
    if priority > wire::LOWEST_PRIORITY || retention < 0 {
        return Err(AisError::INVALID_PARAM);
    }
    let patterns = unsafe { read_patterns(patterns) }?;
    let mut e = lock(&ev.event);
    e.patterns = patterns;
    e.priority = priority;
    e.retention = retention;
    e.publisher = publisher.unwrap_or_default().to_vec();
    Ok(())
}

/// Where `saEvtEventAttributesGet` writes each attribute (None: not asked).
pub struct AttributeOuts<'a> {
    pub patterns: Option<&'a mut SaEvtEventPatternArrayT>,
    pub priority: Option<Out<'a, u8>>,
    pub retention: Option<Out<'a, SaTimeT>>,
    pub publisher: Option<Out<'a, SaNameT>>,
    pub publish_time: Option<Out<'a, SaTimeT>>,
    pub id: Option<Out<'a, u64>>,
}

/// `saEvtEventAttributesGet`. Too small a pattern array is `NO_SPACE`,
/// with every other output written all the same (as the classic library
/// did).
///
/// # Safety
/// A given pattern array's `patterns` (if not NULL) points to
/// `allocatedNumber` patterns, each with `allocatedSize` writable bytes.
pub unsafe fn attributes_get(handle: u64, outs: AttributeOuts<'_>) -> AisResult<()> {
    let ev = EVENTS.get(handle)?;
    let e = lock(&ev.event).clone();
    let publisher = crate::abi::convert::name_from_bytes(&e.publisher)?;
    let patterns = match outs.patterns {
        Some(a) => unsafe { write_patterns(a, &e.patterns) },
        None => Ok(()),
    };
    if let Some(o) = outs.priority {
        o.write(e.priority);
    }
    if let Some(o) = outs.retention {
        o.write(e.retention);
    }
    if let Some(o) = outs.publisher {
        o.write(publisher);
    }
    if let Some(o) = outs.publish_time {
        o.write(e.publish_time);
    }
    if let Some(o) = outs.id {
        o.write(e.id);
    }
    patterns
}

/// Fills a C pattern array (see the module doc for who allocates).
unsafe fn write_patterns(a: &mut SaEvtEventPatternArrayT, pats: &[Vec<u8>]) -> AisResult<()> {
    let n = pats.len();
    if a.patterns.is_null() {
        let array = unsafe { libc::calloc(n.max(1), size_of::<SaEvtEventPatternT>()) }.cast::<SaEvtEventPatternT>();
        if array.is_null() {
            return Err(AisError::NO_MEMORY);
        }
        for (i, p) in pats.iter().enumerate() {
            let buf = unsafe { libc::malloc(p.len().max(1)) }.cast::<u8>();
            if buf.is_null() {
                for j in 0..i {
                    unsafe { libc::free((*array.add(j)).pattern.cast()) };
                }
                unsafe { libc::free(array.cast()) };
                return Err(AisError::NO_MEMORY);
            }
            // SAFETY: fresh buffers of the right sizes.
            unsafe {
                std::ptr::copy_nonoverlapping(p.as_ptr(), buf, p.len());
                array.add(i).write(SaEvtEventPatternT {
                    allocatedSize: p.len() as u64,
                    patternSize: p.len() as u64,
                    pattern: buf,
                });
            }
        }
        a.patterns = array;
        a.allocatedNumber = n as u64;
        a.patternsNumber = n as u64;
        return Ok(());
    }
    let room = usize::try_from(a.allocatedNumber).map_err(|_| AisError::INVALID_PARAM)?;
    a.patternsNumber = n as u64;
    if room < n {
        return Err(AisError::NO_SPACE);
    }
    // SAFETY: the caller gave `allocatedNumber` patterns.
    let slots = unsafe { std::slice::from_raw_parts_mut(a.patterns, n) };
    let mut short = false;
    for (slot, p) in slots.iter_mut().zip(pats) {
        slot.patternSize = p.len() as u64;
        if (slot.allocatedSize as usize) < p.len() || (slot.pattern.is_null() && !p.is_empty()) {
            short = true;
            continue;
        }
        // SAFETY: `allocatedSize` writable bytes at `pattern`, per the caller.
        unsafe { std::ptr::copy_nonoverlapping(p.as_ptr(), slot.pattern, p.len()) };
    }
    if short { Err(AisError::NO_SPACE) } else { Ok(()) }
}

/// `saEvtEventDataGet`, as the classic library answered it: a NULL buffer
/// asks for the size (`NO_SPACE` with `*size` written); an event allocated
/// here has no data to get (`BAD_HANDLE`: data belongs to delivered
/// events); too small a buffer is `NO_SPACE` with the size.
///
/// # Safety
/// `data` points to `*size` writable bytes.
pub unsafe fn data_get(handle: u64, data: *mut u8, size: &mut u64) -> AisResult<()> {
    let ev = EVENTS.get(handle)?;
    let e = lock(&ev.event);
    let need = e.data.len();
    let room = usize::try_from(*size).unwrap_or(usize::MAX);
    if data.is_null() {
        *size = need as u64;
        return Err(AisError::NO_SPACE);
    }
    if ev.allocated {
        return Err(AisError::BAD_HANDLE);
    }
    *size = need as u64;
    if room < need {
        return Err(AisError::NO_SPACE);
    }
    // SAFETY: `room >= need` writable bytes, per the caller.
    unsafe { std::ptr::copy_nonoverlapping(e.data.as_ptr(), data, need) };
    Ok(())
}

/// `saEvtEventPublish`.
pub fn publish(handle: u64, data: &[u8], out: Out<'_, u64>) -> AisResult<()> {
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
    out.write(id);
    Ok(())
}

/// `saEvtEventSubscribe`.
///
/// # Safety
/// `filters` as the C API describes it.
pub unsafe fn subscribe(ch: u64, filters: &SaEvtEventFilterArrayT, sub: u32) -> AisResult<()> {
    let (instance, c) = channel(ch)?;
    if instance.state.callbacks.saEvtEventDeliverCallback.is_none() {
        return Err(AisError::INIT);
    }
    let n = usize::try_from(filters.filtersNumber).map_err(|_| AisError::INVALID_PARAM)?;
    if n > wire::MAX_PATTERNS {
        return Err(AisError::TOO_BIG);
    }
    let fs = unsafe { crate::abi::convert::raw::try_slice(filters.filters, n) }?;
    let mut out = Vec::with_capacity(n);
    let mut total = 0usize;
    for f in fs {
        let kind = enums::SaEvtEventFilterTypeT::try_from(f.filterType)? as u32;
        let len = usize::try_from(f.filter.patternSize).map_err(|_| AisError::INVALID_PARAM)?;
        total = total.saturating_add(len);
        if total > wire::MAX_PATTERN_BYTES {
            return Err(AisError::TOO_BIG);
        }
        let pattern = if kind == wire::PASS_ALL_FILTER {
            Vec::new()
        } else {
            unsafe { crate::abi::convert::raw::try_slice(f.filter.pattern, len) }?.to_vec()
        };
        out.push(Filter { kind, pattern });
    }
    instance.conn.request(wire::SUBSCRIBE, &Request::Subscribe { open: c.open, sub, filters: out }.encode())?;
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
