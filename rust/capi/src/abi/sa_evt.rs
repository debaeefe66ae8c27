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
//! The 17 `saEvt*` functions of B.01.01 are at the end of this file, as
//! thin wrappers over `crate::evt`.
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
// The functions of B.01.01.

use super::convert::{
    dispatch_flags, name_bytes, opt_mut, opt_out, opt_ref, out, try_mut, try_ref, try_slice, with_version,
};

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtInitialize(
    evtHandle: *mut SaEvtHandleT,
    callbacks: *const SaEvtCallbacksT,
    version: *mut SaVersionT,
) -> SaAisErrorT {
    crate::boundary!({
        let version = try_mut!(version)?;
        let handle = out!(evtHandle)?;
        let callbacks = opt_ref!(callbacks)?;
        handle.write(with_version(version, |v| crate::evt::initialize(callbacks, v))?);
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
        crate::evt::selection_object(evtHandle, so)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtDispatch(evtHandle: SaEvtHandleT, dispatchFlags: SaDispatchFlagsT) -> SaAisErrorT {
    crate::boundary!({ crate::evt::dispatch(evtHandle, dispatch_flags(dispatchFlags)) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtFinalize(evtHandle: SaEvtHandleT) -> SaAisErrorT {
    crate::boundary!({ crate::evt::finalize(evtHandle) })
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
        crate::evt::open(evtHandle, name, channelOpenFlags, timeout, handle)
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
        crate::evt::open_async(evtHandle, invocation, name, channelOpenFlags)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtChannelClose(channelHandle: SaEvtChannelHandleT) -> SaAisErrorT {
    crate::boundary!({ crate::evt::close(channelHandle) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtChannelUnlink(evtHandle: SaEvtHandleT, channelName: *const SaNameT) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(channelName)?;
        crate::evt::unlink(evtHandle, name)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtEventAllocate(
    channelHandle: SaEvtChannelHandleT,
    eventHandle: *mut SaEvtEventHandleT,
) -> SaAisErrorT {
    crate::boundary!({
        let handle = out!(eventHandle)?;
        crate::evt::allocate(channelHandle, handle)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtEventFree(eventHandle: SaEvtEventHandleT) -> SaAisErrorT {
    crate::boundary!({ crate::evt::free(eventHandle) })
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
        unsafe { crate::evt::attributes_set(eventHandle, patterns, priority, retentionTime, publisher) }
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
        let outs = crate::evt::AttributeOuts {
            patterns: opt_mut!(patternArray)?,
            priority: opt_out!(priority)?,
            retention: opt_out!(retentionTime)?,
            publisher: opt_out!(publisherName)?,
            publish_time: opt_out!(publishTime)?,
            id: opt_out!(eventId)?,
        };
        unsafe { crate::evt::attributes_get(eventHandle, outs) }
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
        unsafe { crate::evt::data_get(eventHandle, eventData.cast(), size) }
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
        let len = usize::try_from(eventDataSize).map_err(|_| crate::error::AisError::TOO_BIG)?;
        if len > crate::evt::MAX_DATA {
            return Err(crate::error::AisError::TOO_BIG);
        }
        let data = try_slice!(eventData.cast::<u8>(), len)?;
        crate::evt::publish(eventHandle, data, id)
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
        unsafe { crate::evt::subscribe(channelHandle, filters, subscriptionId) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtEventUnsubscribe(
    channelHandle: SaEvtChannelHandleT,
    subscriptionId: SaEvtSubscriptionIdT,
) -> SaAisErrorT {
    crate::boundary!({ crate::evt::unsubscribe(channelHandle, subscriptionId) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saEvtEventRetentionTimeClear(
    channelHandle: SaEvtChannelHandleT,
    eventId: SaEvtEventIdT,
) -> SaAisErrorT {
    crate::boundary!({ crate::evt::retention_time_clear(channelHandle, eventId) })
}
