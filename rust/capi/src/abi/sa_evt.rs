//! Events: `saEvt.h` (AIS EVT B.01.01).
//!
//! Owns: the names, values and layout of the types, constants, enums and
//! callback typedefs of the B.01.01 `saEvt.h` as the classic openais header
//! defined them, including its own additions to the spec: the reserved
//! event ids `SA_EVT_EVENTID_NONE` / `SA_EVT_EVENTID_LOST`, the lost-event
//! pattern `SA_EVT_LOST_EVENT` and the data limit `SA_EVT_DATA_MAX_LEN`.
//! cbindgen turns this file, and only this file, into
//! `include/corosync/saEvt.h` (config `rust/capi/cbindgen/saEvt.toml`,
//! which also holds the `SA_EVT_LOST_EVENT` string macro: cbindgen cannot
//! print a string constant).
//!
//! The 17 `saEvt*` functions of B.01.01 follow the types: each reads its
//! arguments into Rust values (`abi::convert`), calls `crate::evt`, and
//! writes the results back; then the conversions between the C structs
//! and the service's Rust types, and the pattern arrays handed to the
//! application (from `malloc`, for it to `free`).
//!
//! Must not: hold service logic, or use a Rust enum where C hands us a
//! value (see the enum convention in `abi/mod.rs`).

// The exported functions' safety contract is the C API's, as documented
// for each function by the spec; they check every pointer they can.
#![allow(clippy::missing_safety_doc)]

use core::ffi::{c_uint, c_void};

use super::sa_ais::*;

pub type SaEvtHandleT = SaUint64T;

pub type SaEvtEventHandleT = SaUint64T;

pub type SaEvtChannelHandleT = SaUint64T;

pub type SaEvtSubscriptionIdT = SaUint32T;

/// Called for each event matching a subscription; the event is read with
/// `saEvtEventAttributesGet` / `saEvtEventDataGet` through `eventHandle`.
/// (The classic header declares the last two parameters `const`; a
/// top-level `const` does not change the function type.)
pub type SaEvtEventDeliverCallbackT = Option<
    unsafe extern "C" fn(subscriptionId: SaEvtSubscriptionIdT, eventHandle: SaEvtEventHandleT, eventDataSize: SaSizeT),
>;

pub type SaEvtChannelOpenCallbackT =
    Option<unsafe extern "C" fn(invocation: SaInvocationT, channelHandle: SaEvtChannelHandleT, error: SaAisErrorT)>;

/// The callbacks an application hands to `saEvtInitialize`; either may be NULL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaEvtCallbacksT {
    pub saEvtChannelOpenCallback: SaEvtChannelOpenCallbackT,
    pub saEvtEventDeliverCallback: SaEvtEventDeliverCallbackT,
}

// Channel open flags: bits of `SaEvtChannelOpenFlagsT`.
pub const SA_EVT_CHANNEL_PUBLISHER: i32 = 0x1;
pub const SA_EVT_CHANNEL_SUBSCRIBER: i32 = 0x2;
pub const SA_EVT_CHANNEL_CREATE: i32 = 0x4;

/// One byte in the classic header (not the 32 bits of most flag types).
pub type SaEvtChannelOpenFlagsT = SaUint8T;

/// A pattern: `patternSize` bytes at `pattern`; `allocatedSize` is the room
/// the caller gave when the library fills it in.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaEvtEventPatternT {
    pub allocatedSize: SaSizeT,
    pub patternSize: SaSizeT,
    pub pattern: *mut SaUint8T,
}

// Event priorities: 0 is the highest, 3 the lowest.
pub const SA_EVT_HIGHEST_PRIORITY: i32 = 0;
pub const SA_EVT_LOWEST_PRIORITY: i32 = 3;

// Event ids 0..=1000 are reserved by openais and never given to a published
// event.
/// The id of an event allocated but not published yet.
pub const SA_EVT_EVENTID_NONE: i32 = 0;
/// The id of the "lost event" event (delivered when events were dropped).
pub const SA_EVT_EVENTID_LOST: i32 = 1;

/// The pattern of the "lost event" event. In C a string macro, printed
/// from `cbindgen/saEvt.toml`; the C ABI test checks the two agree.
/// cbindgen:ignore
pub const SA_EVT_LOST_EVENT: &str = "SA_EVT_LOST_EVENT_PATTERN";

/// The largest data an event may carry, in bytes.
pub const SA_EVT_DATA_MAX_LEN: i32 = 64 * 1024;

/// `patternsNumber` patterns at `patterns`; `allocatedNumber` is the room
/// the caller gave when the library fills it in.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaEvtEventPatternArrayT {
    pub allocatedNumber: SaSizeT,
    pub patternsNumber: SaSizeT,
    pub patterns: *mut SaEvtEventPatternT,
}

/// One byte, from 0 (`SA_EVT_HIGHEST_PRIORITY`) to 3 (`SA_EVT_LOWEST_PRIORITY`).
pub type SaEvtEventPriorityT = SaUint8T;

pub type SaEvtEventIdT = SaUint64T;

/// `SaEvtEventFilterTypeT`: an integer; see [`enums::SaEvtEventFilterTypeT`].
/// cbindgen:ignore
pub type SaEvtEventFilterTypeT = c_uint;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaEvtEventFilterT {
    pub filterType: SaEvtEventFilterTypeT,
    pub filter: SaEvtEventPatternT,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaEvtEventFilterArrayT {
    pub filtersNumber: SaSizeT,
    pub filters: *mut SaEvtEventFilterT,
}

/// The spec's enums, as cbindgen prints them (see `sa_ais::enums`).
pub mod enums {
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaEvtEventFilterTypeT {
        SA_EVT_PREFIX_FILTER = 1,
        SA_EVT_SUFFIX_FILTER = 2,
        SA_EVT_EXACT_FILTER = 3,
        SA_EVT_PASS_ALL_FILTER = 4,
    }
}

crate::c_enum!(SaEvtEventFilterTypeT {
    SA_EVT_PREFIX_FILTER,
    SA_EVT_SUFFIX_FILTER,
    SA_EVT_EXACT_FILTER,
    SA_EVT_PASS_ALL_FILTER,
});

// ---------------------------------------------------------------------
// The functions of B.01.01: arguments read into Rust values
// (`abi::convert`), the work done by `crate::evt`, its results written
// back.

use super::convert::{
    CAlloc, callback_code, dispatch_flags, name_bytes, name_from_bytes, opt_mut, opt_out, opt_ref, out, out_slice,
    try_mut, try_ref, try_slice, try_slice_mut, with_version, write_slice,
};
use crate::error::{AisError, AisResult};
use crate::evt::{self, EventData, Filter};

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtInitialize(
    evtHandle: *mut SaEvtHandleT,
    callbacks: *const SaEvtCallbacksT,
    version: *mut SaVersionT,
) -> SaAisErrorT {
    crate::boundary!({
        let version = try_mut!(version)?;
        let handle = out!(evtHandle)?;
        let callbacks = opt_ref!(callbacks)?.map(self::callbacks).unwrap_or_default();
        handle.write(with_version(version, |v| evt::initialize(v, callbacks))?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtSelectionObjectGet(
    evtHandle: SaEvtHandleT,
    selectionObject: *mut SaSelectionObjectT,
) -> SaAisErrorT {
    crate::boundary!({
        let so = out!(selectionObject)?;
        so.write(evt::selection_object(evtHandle)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtDispatch(evtHandle: SaEvtHandleT, dispatchFlags: SaDispatchFlagsT) -> SaAisErrorT {
    crate::boundary!({ evt::dispatch(evtHandle, dispatch_flags(dispatchFlags)) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtFinalize(evtHandle: SaEvtHandleT) -> SaAisErrorT {
    crate::boundary!({ evt::finalize(evtHandle) })
}

/// `timeout`: 0 or `SA_TIME_END` is no limit (as in openais 0.80); else
/// `SA_AIS_ERR_TIMEOUT` once that many nanoseconds pass.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtChannelOpen(
    evtHandle: SaEvtHandleT,
    channelName: *const SaNameT,
    channelOpenFlags: SaEvtChannelOpenFlagsT,
    timeout: SaTimeT,
    channelHandle: *mut SaEvtChannelHandleT,
) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(channelName)?;
        let handle = out!(channelHandle)?;
        handle.write(evt::open(evtHandle, name, channelOpenFlags, timeout)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtChannelOpenAsync(
    evtHandle: SaEvtHandleT,
    invocation: SaInvocationT,
    channelName: *const SaNameT,
    channelOpenFlags: SaEvtChannelOpenFlagsT,
) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(channelName)?;
        evt::open_async(evtHandle, invocation, name, channelOpenFlags)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtChannelClose(channelHandle: SaEvtChannelHandleT) -> SaAisErrorT {
    crate::boundary!({ evt::close(channelHandle) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtChannelUnlink(evtHandle: SaEvtHandleT, channelName: *const SaNameT) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(channelName)?;
        evt::unlink(evtHandle, name)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtEventAllocate(
    channelHandle: SaEvtChannelHandleT,
    eventHandle: *mut SaEvtEventHandleT,
) -> SaAisErrorT {
    crate::boundary!({
        let handle = out!(eventHandle)?;
        handle.write(evt::allocate(channelHandle)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtEventFree(eventHandle: SaEvtEventHandleT) -> SaAisErrorT {
    crate::boundary!({ evt::free(eventHandle) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtEventAttributesSet(
    eventHandle: SaEvtEventHandleT,
    patternArray: *const SaEvtEventPatternArrayT,
    priority: SaEvtEventPriorityT,
    retentionTime: SaTimeT,
    publisherName: *const SaNameT,
) -> SaAisErrorT {
    crate::boundary!({
        let patterns = opt_ref!(patternArray)?;
        let publisher = if publisherName.is_null() { None } else { Some(name_bytes!(publisherName)?) };
        // A malformed array is reported after a bad handle (see `evt`).
        evt::attributes_set(eventHandle, read_patterns(patterns), priority, retentionTime, publisher)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtEventAttributesGet(
    eventHandle: SaEvtEventHandleT,
    patternArray: *mut SaEvtEventPatternArrayT,
    priority: *mut SaEvtEventPriorityT,
    retentionTime: *mut SaTimeT,
    publisherName: *mut SaNameT,
    publishTime: *mut SaTimeT,
    eventId: *mut SaEvtEventIdT,
) -> SaAisErrorT {
    crate::boundary!({
        let patterns = opt_mut!(patternArray)?;
        let priority = opt_out!(priority)?;
        let retention = opt_out!(retentionTime)?;
        let publisher = opt_out!(publisherName)?;
        let publish_time = opt_out!(publishTime)?;
        let id = opt_out!(eventId)?;
        let e = evt::attributes_get(eventHandle)?;
        let publisher_name = name_from_bytes(&e.publisher)?;
        // Too small an array is NO_SPACE, with every other output written
        // all the same (as the classic library did).
        let written = match patterns {
            Some(a) => write_patterns(a, &e.patterns),
            None => Ok(()),
        };
        if let Some(o) = priority {
            o.write(e.priority);
        }
        if let Some(o) = retention {
            o.write(e.retention);
        }
        if let Some(o) = publisher {
            o.write(publisher_name);
        }
        if let Some(o) = publish_time {
            o.write(e.publish_time);
        }
        if let Some(o) = id {
            o.write(e.id);
        }
        written
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtEventDataGet(
    eventHandle: SaEvtEventHandleT,
    eventData: *mut c_void,
    eventDataSize: *mut SaSizeT,
) -> SaAisErrorT {
    crate::boundary!({
        let size = try_mut!(eventDataSize)?;
        let room = if eventData.is_null() { None } else { Some(*size) };
        match evt::data_get(eventHandle, room)? {
            EventData::NoSpace(need) => {
                *size = need;
                Err(AisError::NO_SPACE)
            }
            EventData::Fits(data) => {
                write_slice(out_slice!(eventData.cast::<u8>(), data.len())?, &data);
                *size = data.len() as SaSizeT;
                Ok(())
            }
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtEventPublish(
    eventHandle: SaEvtEventHandleT,
    eventData: *const c_void,
    eventDataSize: SaSizeT,
    eventId: *mut SaEvtEventIdT,
) -> SaAisErrorT {
    crate::boundary!({
        let id = out!(eventId)?;
        let len = usize::try_from(eventDataSize).map_err(|_| AisError::TOO_BIG)?;
        if len > evt::MAX_DATA {
            return Err(AisError::TOO_BIG);
        }
        let data = try_slice!(eventData.cast::<u8>(), len)?;
        id.write(evt::publish(eventHandle, data)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtEventSubscribe(
    channelHandle: SaEvtChannelHandleT,
    filters: *const SaEvtEventFilterArrayT,
    subscriptionId: SaEvtSubscriptionIdT,
) -> SaAisErrorT {
    crate::boundary!({
        let filters = try_ref!(filters)?;
        // A malformed array is reported after a bad handle (see `evt`).
        evt::subscribe(channelHandle, read_filters(filters), subscriptionId)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtEventUnsubscribe(
    channelHandle: SaEvtChannelHandleT,
    subscriptionId: SaEvtSubscriptionIdT,
) -> SaAisErrorT {
    crate::boundary!({ evt::unsubscribe(channelHandle, subscriptionId) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtEventRetentionTimeClear(
    channelHandle: SaEvtChannelHandleT,
    eventId: SaEvtEventIdT,
) -> SaAisErrorT {
    crate::boundary!({ evt::retention_time_clear(channelHandle, eventId) })
}

// ---------------------------------------------------------------------
// The C structs to and from the service's Rust types. The structs read
// here are ones C handed the function being run (see `abi::convert`).

/// The application's callbacks, as `crate::evt` calls them.
fn callbacks(c: &SaEvtCallbacksT) -> evt::Callbacks {
    let open = c.saEvtChannelOpenCallback.map(|f| -> evt::OpenFn {
        Box::new(move |invocation, result| {
            let handle = *result.as_ref().unwrap_or(&0);
            // SAFETY: the application's callback, of the spec's type.
            unsafe { f(invocation, handle, callback_code(&result)) }
        })
    });
    let deliver = c.saEvtEventDeliverCallback.map(|f| -> evt::DeliverFn {
        Box::new(move |subscription, event, size| {
            // SAFETY: the application's callback, of the spec's type.
            unsafe { f(subscription, event, size) }
        })
    });
    evt::Callbacks { open, deliver }
}

/// The patterns of a pattern array (NULL: none); too many, or too many
/// bytes in all → `TOO_BIG` (checked before copying).
fn read_patterns(a: Option<&SaEvtEventPatternArrayT>) -> AisResult<Vec<Vec<u8>>> {
    let Some(a) = a else { return Ok(Vec::new()) };
    let n = usize::try_from(a.patternsNumber).map_err(|_| AisError::INVALID_PARAM)?;
    if n > evt::MAX_PATTERNS {
        return Err(AisError::TOO_BIG);
    }
    let mut out = Vec::with_capacity(n);
    let mut total = 0usize;
    for p in try_slice!(a.patterns, n)? {
        let len = usize::try_from(p.patternSize).map_err(|_| AisError::INVALID_PARAM)?;
        total = total.saturating_add(len);
        if total > evt::MAX_PATTERN_BYTES {
            return Err(AisError::TOO_BIG);
        }
        out.push(try_slice!(p.pattern, len)?.to_vec());
    }
    Ok(out)
}

/// The filters of a filter array; limits as [`read_patterns`].
fn read_filters(filters: &SaEvtEventFilterArrayT) -> AisResult<Vec<Filter>> {
    let n = usize::try_from(filters.filtersNumber).map_err(|_| AisError::INVALID_PARAM)?;
    if n > 0 && filters.filters.is_null() {
        return Err(AisError::INVALID_PARAM);
    }
    if n > evt::MAX_PATTERNS {
        return Err(AisError::TOO_BIG);
    }
    let mut out = Vec::with_capacity(n);
    let mut total = 0usize;
    for f in try_slice!(filters.filters, n)? {
        let kind = enums::SaEvtEventFilterTypeT::try_from(f.filterType)? as u32;
        let len = usize::try_from(f.filter.patternSize).map_err(|_| AisError::INVALID_PARAM)?;
        total = total.saturating_add(len);
        if total > evt::MAX_PATTERN_BYTES {
            return Err(AisError::TOO_BIG);
        }
        let pattern =
            if kind == evt::PASS_ALL_FILTER { Vec::new() } else { try_slice!(f.filter.pattern, len)?.to_vec() };
        out.push(Filter { kind, pattern });
    }
    Ok(out)
}

/// Fills the caller's pattern array. With `patterns == NULL`, the array
/// and each pattern come from `malloc` (as the classic library did: the
/// application frees each `patterns[i].pattern`, then `patterns`, with
/// `free`). With an array given, too small a one (or too small a pattern
/// buffer) is `SA_AIS_ERR_NO_SPACE` with the needed numbers written back
/// and the patterns that fit copied.
fn write_patterns(a: &mut SaEvtEventPatternArrayT, pats: &[Vec<u8>]) -> AisResult<()> {
    let n = pats.len();
    if a.patterns.is_null() {
        // Every buffer first: if one allocation fails, all are freed.
        let buffers = pats.iter().map(|p| CAlloc::from_slice(p)).collect::<AisResult<Vec<_>>>()?;
        let entries: Vec<SaEvtEventPatternT> = buffers
            .iter()
            .zip(pats)
            .map(|(b, p)| SaEvtEventPatternT {
                allocatedSize: p.len() as u64,
                patternSize: p.len() as u64,
                pattern: b.as_ptr(),
            })
            .collect();
        a.patterns = CAlloc::from_slice(&entries)?.into_raw();
        for b in buffers {
            b.into_raw(); // handed over with the array
        }
        a.allocatedNumber = n as u64;
        a.patternsNumber = n as u64;
        return Ok(());
    }
    let room = usize::try_from(a.allocatedNumber).map_err(|_| AisError::INVALID_PARAM)?;
    a.patternsNumber = n as u64;
    if room < n {
        return Err(AisError::NO_SPACE);
    }
    let mut short = false;
    for (slot, p) in try_slice_mut!(a.patterns, n)?.iter_mut().zip(pats) {
        slot.patternSize = p.len() as u64;
        if (slot.allocatedSize as usize) < p.len() || (slot.pattern.is_null() && !p.is_empty()) {
            short = true;
            continue;
        }
        write_slice(out_slice!(slot.pattern, p.len())?, p);
    }
    if short { Err(AisError::NO_SPACE) } else { Ok(()) }
}
