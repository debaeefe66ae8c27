//! Locks: `saLck.h` (AIS LCK B.01.01).
//!
//! Owns: the names, values and layout of the types, constants, enums and
//! callback typedefs of the B.01.01 `saLck.h` as the classic openais header
//! defined them. That header spells the grant callback's type
//! `SaLckLockGrantcallbackT` (lower-case `c`); it is kept, and the spec's
//! spelling `SaLckLockGrantCallbackT` is added as a typedef of it, so that
//! programs written against either compile. cbindgen turns this file, and
//! only this file, into `include/corosync/saLck.h` (config
//! `rust/capi/cbindgen/saLck.toml`).
//!
//! The `saLck*` functions are not here yet: each prototype is added with
//! its implementation (an unimplemented function is neither declared nor
//! exported; see `rust/capi/README.md`).
//!
//! Must not: hold service logic, or use a Rust enum where C hands us a
//! value (see the enum convention in `abi/mod.rs`).

use core::ffi::c_uint;

use super::sa_ais::*;

pub type SaLckHandleT = SaUint64T;

pub type SaLckLockIdT = SaUint64T;

pub type SaLckResourceHandleT = SaUint64T;

// Lock flags: bits of `SaLckLockFlagsT`.
pub const SA_LCK_LOCK_NO_QUEUE: i32 = 0x1;
pub const SA_LCK_LOCK_ORPHAN: i32 = 0x2;

pub type SaLckLockFlagsT = SaUint32T;

// Resource open flags: bits of `SaLckResourceOpenFlagsT`.
pub const SA_LCK_RESOURCE_CREATE: i32 = 0x1;

pub type SaLckResourceOpenFlagsT = SaUint32T;

/// `SaLckLockStatusT`: an integer; see [`enums::SaLckLockStatusT`].
/// cbindgen:ignore
pub type SaLckLockStatusT = c_uint;

/// `SaLckLockModeT`: an integer; see [`enums::SaLckLockModeT`].
/// cbindgen:ignore
pub type SaLckLockModeT = c_uint;

// Implementation options `saLckOptionCheck` reports: bits of `SaLckOptionsT`.
pub const SA_LCK_OPT_ORPHAN_LOCKS: i32 = 0x1;
pub const SA_LCK_OPT_DEADLOCK_DETECTION: i32 = 0x2;

pub type SaLckOptionsT = SaUint32T;

/// The caller's value handed back to the holder's waiter callback.
pub type SaLckWaiterSignalT = SaUint64T;

pub type SaLckResourceOpenCallbackT = Option<
    unsafe extern "C" fn(invocation: SaInvocationT, lockResourceHandle: SaLckResourceHandleT, error: SaAisErrorT),
>;

/// The classic header's spelling (lower-case `c`); see
/// `SaLckLockGrantCallbackT` for the spec's.
pub type SaLckLockGrantcallbackT =
    Option<unsafe extern "C" fn(invocation: SaInvocationT, lockStatus: SaLckLockStatusT, error: SaAisErrorT)>;

/// The spec's spelling of `SaLckLockGrantcallbackT`: the same type.
pub type SaLckLockGrantCallbackT = SaLckLockGrantcallbackT;

/// Tells a holder that another process waits for a lock it holds.
pub type SaLckLockWaiterCallbackT = Option<
    unsafe extern "C" fn(
        waiterSignal: SaLckWaiterSignalT,
        lockId: SaLckLockIdT,
        modeHeld: SaLckLockModeT,
        modeRequested: SaLckLockModeT,
    ),
>;

pub type SaLckResourceUnlockCallbackT = Option<unsafe extern "C" fn(invocation: SaInvocationT, error: SaAisErrorT)>;

/// The callbacks an application hands to `saLckInitialize`; any may be NULL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaLckCallbacksT {
    pub saLckResourceOpenCallback: SaLckResourceOpenCallbackT,
    pub saLckLockGrantCallback: SaLckLockGrantcallbackT,
    pub saLckLockWaiterCallback: SaLckLockWaiterCallbackT,
    pub saLckResourceUnlockCallback: SaLckResourceUnlockCallbackT,
}

/// The spec's enums, as cbindgen prints them (see `sa_ais::enums`).
pub mod enums {
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaLckLockStatusT {
        SA_LCK_LOCK_GRANTED = 1,
        SA_LCK_LOCK_DEADLOCK = 2,
        SA_LCK_LOCK_NOT_QUEUED = 3,
        SA_LCK_LOCK_ORPHANED = 4,
        SA_LCK_LOCK_NO_MORE = 5,
        SA_LCK_LOCK_DUPLICATE_EX = 6,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaLckLockModeT {
        SA_LCK_PR_LOCK_MODE = 1,
        SA_LCK_EX_LOCK_MODE = 2,
    }
}

crate::c_enum!(SaLckLockStatusT {
    SA_LCK_LOCK_GRANTED,
    SA_LCK_LOCK_DEADLOCK,
    SA_LCK_LOCK_NOT_QUEUED,
    SA_LCK_LOCK_ORPHANED,
    SA_LCK_LOCK_NO_MORE,
    SA_LCK_LOCK_DUPLICATE_EX,
});
crate::c_enum!(SaLckLockModeT { SA_LCK_PR_LOCK_MODE, SA_LCK_EX_LOCK_MODE });
