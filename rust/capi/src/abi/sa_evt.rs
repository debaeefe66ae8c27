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
//! The `saEvt*` functions are not here yet: each prototype is added with
//! its implementation (an unimplemented function is neither declared nor
//! exported; see `rust/capi/README.md`).
//!
//! Must not: hold service logic, or use a Rust enum where C hands us a
//! value (see the enum convention in `abi/mod.rs`).

use core::ffi::c_uint;

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
    unsafe extern "C" fn(
        subscriptionId: SaEvtSubscriptionIdT,
        eventHandle: SaEvtEventHandleT,
        eventDataSize: SaSizeT,
    ),
>;

pub type SaEvtChannelOpenCallbackT = Option<
    unsafe extern "C" fn(
        invocation: SaInvocationT,
        channelHandle: SaEvtChannelHandleT,
        error: SaAisErrorT,
    ),
>;

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
