//! Cluster membership: `saClm.h` (AIS CLM B.01.01).
//!
//! Owns: the names, values and layout of the types, constants, enums and
//! callback typedefs of the B.01.01 `saClm.h` as the classic openais header
//! defined them. cbindgen turns this file, and only this file, into
//! `include/corosync/saClm.h` (config `rust/capi/cbindgen/saClm.toml`).
//!
//! The eight `saClm*` functions are thin wrappers: pointer checks here,
//! the work in `crate::clm`.
//!
//! Must not: hold service logic, or use a Rust enum where C hands us a
//! value (the `...T` names of enums are integers here, the enum itself
//! lives in the inner `enums` module; see `abi/mod.rs`).

// The exported functions are called from C; their pointer rules are the
// spec's, checked at the boundary, and documented in the header.
#![allow(clippy::missing_safety_doc)]

use core::ffi::c_uint;

use super::convert::{dispatch_flags, opt_mut, opt_ref, out, try_mut, with_version};
use super::sa_ais::*;

pub type SaClmHandleT = SaUint64T;

pub type SaClmNodeIdT = SaUint32T;

/// The node id that names the calling node in `saClmClusterNodeGet`.
pub const SA_CLM_LOCAL_NODE_ID: SaClmNodeIdT = 0xffff_ffff_u32;

pub const SA_CLM_MAX_ADDRESS_LENGTH: usize = 64;

/// `SaClmNodeAddressFamilyT`: an integer; see [`enums::SaClmNodeAddressFamilyT`].
/// cbindgen:ignore
pub type SaClmNodeAddressFamilyT = c_uint;

/// A node's address: `length` bytes of `value` are significant.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaClmNodeAddressT {
    pub family: SaClmNodeAddressFamilyT,
    pub length: SaUint16T,
    pub value: [SaUint8T; SA_CLM_MAX_ADDRESS_LENGTH],
}

/// One node of the cluster, as `saClmClusterNodeGet` and tracking report it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaClmClusterNodeT {
    pub nodeId: SaClmNodeIdT,
    pub nodeAddress: SaClmNodeAddressT,
    pub nodeName: SaNameT,
    pub member: SaBoolT,
    pub bootTimestamp: SaTimeT,
    pub initialViewNumber: SaUint64T,
}

/// `SaClmClusterChangesT`: an integer; see [`enums::SaClmClusterChangesT`].
/// cbindgen:ignore
pub type SaClmClusterChangesT = c_uint;

/// A node and what happened to it in the view being reported.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaClmClusterNotificationT {
    pub clusterNode: SaClmClusterNodeT,
    pub clusterChange: SaClmClusterChangesT,
}

/// A view: `numberOfItems` entries at `notification` (caller's or library's
/// memory, as `saClmClusterTrack` says).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaClmClusterNotificationBufferT {
    pub viewNumber: SaUint64T,
    pub numberOfItems: SaUint32T,
    pub notification: *mut SaClmClusterNotificationT,
}

pub type SaClmClusterNodeGetCallbackT =
    Option<unsafe extern "C" fn(invocation: SaInvocationT, clusterNode: *const SaClmClusterNodeT, error: SaAisErrorT)>;

pub type SaClmClusterTrackCallbackT = Option<
    unsafe extern "C" fn(
        notificationBuffer: *const SaClmClusterNotificationBufferT,
        numberOfMembers: SaUint32T,
        error: SaAisErrorT,
    ),
>;

/// The callbacks an application hands to `saClmInitialize`; either may be NULL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaClmCallbacksT {
    pub saClmClusterNodeGetCallback: SaClmClusterNodeGetCallbackT,
    pub saClmClusterTrackCallback: SaClmClusterTrackCallbackT,
}

/// The spec's enums, as cbindgen prints them (see `sa_ais::enums`).
pub mod enums {
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaClmNodeAddressFamilyT {
        SA_CLM_AF_INET = 1,
        SA_CLM_AF_INET6 = 2,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaClmClusterChangesT {
        SA_CLM_NODE_NO_CHANGE = 1,
        SA_CLM_NODE_JOINED = 2,
        SA_CLM_NODE_LEFT = 3,
        SA_CLM_NODE_RECONFIGURED = 4,
    }
}

crate::c_enum!(SaClmNodeAddressFamilyT { SA_CLM_AF_INET, SA_CLM_AF_INET6 });
crate::c_enum!(SaClmClusterChangesT {
    SA_CLM_NODE_NO_CHANGE,
    SA_CLM_NODE_JOINED,
    SA_CLM_NODE_LEFT,
    SA_CLM_NODE_RECONFIGURED,
});

/// Opens a handle; `clmCallbacks` may be NULL (no callbacks).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saClmInitialize(
    clmHandle: *mut SaClmHandleT,
    clmCallbacks: *const SaClmCallbacksT,
    version: *mut SaVersionT,
) -> SaAisErrorT {
    crate::boundary!({
        let handle = out!(clmHandle)?;
        let version = try_mut!(version)?;
        let callbacks = opt_ref!(clmCallbacks)?;
        handle.write(with_version(version, |v| crate::clm::initialize(callbacks, v))?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saClmSelectionObjectGet(
    clmHandle: SaClmHandleT,
    selectionObject: *mut SaSelectionObjectT,
) -> SaAisErrorT {
    crate::boundary!({
        let out = out!(selectionObject)?;
        crate::clm::selection_object(clmHandle, out)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saClmDispatch(clmHandle: SaClmHandleT, dispatchFlags: SaDispatchFlagsT) -> SaAisErrorT {
    crate::boundary!({ crate::clm::dispatch(clmHandle, dispatch_flags(dispatchFlags)) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saClmFinalize(clmHandle: SaClmHandleT) -> SaAisErrorT {
    crate::boundary!({ crate::clm::finalize(clmHandle) })
}

/// `notificationBuffer` may be NULL; with `SA_TRACK_CURRENT` and a NULL
/// `notification` array, the array is allocated with `malloc` for the
/// caller to `free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saClmClusterTrack(
    clmHandle: SaClmHandleT,
    trackFlags: SaUint8T,
    notificationBuffer: *mut SaClmClusterNotificationBufferT,
) -> SaAisErrorT {
    crate::boundary!({
        let buffer = opt_mut!(notificationBuffer)?;
        crate::clm::cluster_track(clmHandle, trackFlags, buffer)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saClmClusterTrackStop(clmHandle: SaClmHandleT) -> SaAisErrorT {
    crate::boundary!({ crate::clm::cluster_track_stop(clmHandle) })
}

/// `timeout`: 0 or `SA_TIME_END` is no limit (as in openais 0.80); else
/// `SA_AIS_ERR_TIMEOUT` once that many nanoseconds pass.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saClmClusterNodeGet(
    clmHandle: SaClmHandleT,
    nodeId: SaClmNodeIdT,
    timeout: SaTimeT,
    clusterNode: *mut SaClmClusterNodeT,
) -> SaAisErrorT {
    crate::boundary!({
        let out = out!(clusterNode)?;
        crate::clm::cluster_node_get(clmHandle, nodeId, timeout, out)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saClmClusterNodeGetAsync(
    clmHandle: SaClmHandleT,
    invocation: SaInvocationT,
    nodeId: SaClmNodeIdT,
) -> SaAisErrorT {
    crate::boundary!({ crate::clm::cluster_node_get_async(clmHandle, invocation, nodeId) })
}
