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
//! The `saLck*` functions of B.01.01 are at the end: each reads what C
//! hands it into Rust values and calls `crate::lck`, which never sees a
//! pointer or a C struct; the application's callbacks are wrapped here as
//! Rust closures.
//!
//! Must not: hold service logic, or use a Rust enum where C hands us a
//! value (see the enum convention in `abi/mod.rs`).

// The exported functions' safety contract is the C API's, as documented
// for each function by the spec; they check every pointer they can.
#![allow(clippy::missing_safety_doc)]

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

// ---------------------------------------------------------------------
// The functions of B.01.01.

use super::convert::{callback_code, dispatch_flags, name_bytes, opt_ref, out, try_mut, with_version};
use crate::lck::{self, Mode};

/// The application's C callbacks as the Rust closures `crate::lck` calls.
fn callbacks(c: &SaLckCallbacksT) -> lck::Callbacks {
    lck::Callbacks {
        open: c.saLckResourceOpenCallback.map(|f| -> lck::OpenFn {
            Box::new(move |invocation, result: crate::error::AisResult<u64>| {
                let handle = *result.as_ref().unwrap_or(&0);
                // SAFETY: the application's callback of the spec's type.
                unsafe { f(invocation, handle, callback_code(&result)) }
            })
        }),
        grant: c.saLckLockGrantCallback.map(|f| -> lck::GrantFn {
            // SAFETY: the application's callback of the spec's type.
            Box::new(move |invocation, status, result| unsafe { f(invocation, status, callback_code(&result)) })
        }),
        waiter: c.saLckLockWaiterCallback.map(|f| -> lck::WaiterFn {
            // SAFETY: the application's callback of the spec's type.
            Box::new(move |signal, lock_id, held, requested| unsafe { f(signal, lock_id, held, requested) })
        }),
        unlock: c.saLckResourceUnlockCallback.map(|f| -> lck::UnlockFn {
            // SAFETY: the application's callback of the spec's type.
            Box::new(move |invocation, result| unsafe { f(invocation, callback_code(&result)) })
        }),
    }
}

fn mode(raw: SaLckLockModeT) -> crate::error::AisResult<Mode> {
    Ok(match enums::SaLckLockModeT::try_from(raw)? {
        enums::SaLckLockModeT::SA_LCK_PR_LOCK_MODE => Mode::Pr,
        enums::SaLckLockModeT::SA_LCK_EX_LOCK_MODE => Mode::Ex,
    })
}

/// Opens a handle; `lckCallbacks` may be NULL (no callbacks).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saLckInitialize(
    lckHandle: *mut SaLckHandleT,
    lckCallbacks: *const SaLckCallbacksT,
    version: *mut SaVersionT,
) -> SaAisErrorT {
    crate::boundary!({
        let version = try_mut!(version)?;
        let handle = out!(lckHandle)?;
        let callbacks = opt_ref!(lckCallbacks)?.map(callbacks).unwrap_or_default();
        handle.write(with_version(version, |v| lck::initialize(v, callbacks))?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saLckSelectionObjectGet(
    lckHandle: SaLckHandleT,
    selectionObject: *mut SaSelectionObjectT,
) -> SaAisErrorT {
    crate::boundary!({
        let so = out!(selectionObject)?;
        so.write(lck::selection_object(lckHandle)?);
        Ok(())
    })
}

/// Reports `SA_LCK_OPT_ORPHAN_LOCKS` (deadlocks are not detected).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saLckOptionCheck(lckHandle: SaLckHandleT, lckOptions: *mut SaLckOptionsT) -> SaAisErrorT {
    crate::boundary!({
        let options = out!(lckOptions)?;
        options.write(lck::option_check(lckHandle)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saLckDispatch(lckHandle: SaLckHandleT, dispatchFlags: SaDispatchFlagsT) -> SaAisErrorT {
    crate::boundary!({ lck::dispatch(lckHandle, dispatch_flags(dispatchFlags)) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saLckFinalize(lckHandle: SaLckHandleT) -> SaAisErrorT {
    crate::boundary!({ lck::finalize(lckHandle) })
}

/// `timeout`: 0 or `SA_TIME_END` is no limit (as in openais 0.80); else
/// `SA_AIS_ERR_TIMEOUT` once that many nanoseconds pass.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saLckResourceOpen(
    lckHandle: SaLckHandleT,
    lockResourceName: *const SaNameT,
    resourceFlags: SaLckResourceOpenFlagsT,
    timeout: SaTimeT,
    lockResourceHandle: *mut SaLckResourceHandleT,
) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(lockResourceName)?;
        let handle = out!(lockResourceHandle)?;
        handle.write(lck::open(lckHandle, name, resourceFlags, timeout)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saLckResourceOpenAsync(
    lckHandle: SaLckHandleT,
    invocation: SaInvocationT,
    lockResourceName: *const SaNameT,
    resourceFlags: SaLckResourceOpenFlagsT,
) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(lockResourceName)?;
        lck::open_async(lckHandle, invocation, name, resourceFlags)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saLckResourceClose(lockResourceHandle: SaLckResourceHandleT) -> SaAisErrorT {
    crate::boundary!({ lck::close(lockResourceHandle) })
}

/// Blocks until the lock is granted, or `lockStatus` says why not; the
/// timeout (0 or `SA_TIME_END`: none) withdraws the request cluster-wide
/// (`SA_AIS_ERR_TIMEOUT`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saLckResourceLock(
    lockResourceHandle: SaLckResourceHandleT,
    lockId: *mut SaLckLockIdT,
    lockMode: SaLckLockModeT,
    lockFlags: SaLckLockFlagsT,
    waiterSignal: SaLckWaiterSignalT,
    timeout: SaTimeT,
    lockStatus: *mut SaLckLockStatusT,
) -> SaAisErrorT {
    crate::boundary!({
        let id_out = out!(lockId)?;
        let status_out = out!(lockStatus)?;
        let mode = mode(lockMode)?;
        let locked = lck::resource_lock(lockResourceHandle, mode, lockFlags, waiterSignal, timeout)?;
        id_out.write(locked.lock_id);
        status_out.write(locked.status);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saLckResourceLockAsync(
    lockResourceHandle: SaLckResourceHandleT,
    invocation: SaInvocationT,
    lockId: *mut SaLckLockIdT,
    lockMode: SaLckLockModeT,
    lockFlags: SaLckLockFlagsT,
    waiterSignal: SaLckWaiterSignalT,
) -> SaAisErrorT {
    crate::boundary!({
        let id_out = out!(lockId)?;
        let mode = mode(lockMode)?;
        id_out.write(lck::resource_lock_async(lockResourceHandle, invocation, mode, lockFlags, waiterSignal)?);
        Ok(())
    })
}

/// Unlocking a lock id again: `SA_AIS_ERR_NOT_EXIST`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saLckResourceUnlock(lockId: SaLckLockIdT, timeout: SaTimeT) -> SaAisErrorT {
    crate::boundary!({ lck::unlock(lockId, timeout) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saLckResourceUnlockAsync(invocation: SaInvocationT, lockId: SaLckLockIdT) -> SaAisErrorT {
    crate::boundary!({ lck::unlock_async(invocation, lockId) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saLckLockPurge(lockResourceHandle: SaLckResourceHandleT) -> SaAisErrorT {
    crate::boundary!({ lck::purge(lockResourceHandle) })
}
