//! Cluster membership: `saClm.h` (AIS CLM B.01.01).
//!
//! Owns: the names, values and layout of the types, constants, enums and
//! callback typedefs of the B.01.01 `saClm.h` as the classic openais header
//! defined them. cbindgen turns this file, and only this file, into
//! `include/corosync/saClm.h` (config `rust/capi/cbindgen/saClm.toml`).
//!
//! The eight `saClm*` functions follow the types: each reads its
//! arguments into Rust values (`abi::convert`), calls `crate::clm`, and
//! writes the results back; then the conversions between the C structs
//! and the service's Rust types.
//!
//! Must not: hold service logic, or use a Rust enum where C hands us a
//! value (the `...T` names of enums are integers here, the enum itself
//! lives in the inner `enums` module; see `abi/mod.rs`).

// The exported functions are called from C; their pointer rules are the
// spec's, checked at the boundary, and documented in the header.
#![allow(clippy::missing_safety_doc)]

use core::ffi::c_uint;

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

// ---------------------------------------------------------------------------
// The functions: arguments read into Rust values (`abi::convert`), the work
// done by `crate::clm`, its results written back.

use super::convert::{
    CAlloc, callback_code, dispatch_flags, opt_mut, opt_ref, out, out_slice, try_mut, with_version, write_slice,
};
use crate::clm::{self, Node, TrackReply, View, ViewInto};
use crate::error::{AisError, AisResult};

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
        let callbacks = opt_ref!(clmCallbacks)?.map(callbacks).unwrap_or_default();
        handle.write(with_version(version, |v| clm::initialize(v, callbacks))?);
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
        out.write(clm::selection_object(clmHandle)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saClmDispatch(clmHandle: SaClmHandleT, dispatchFlags: SaDispatchFlagsT) -> SaAisErrorT {
    crate::boundary!({ clm::dispatch(clmHandle, dispatch_flags(dispatchFlags)) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saClmFinalize(clmHandle: SaClmHandleT) -> SaAisErrorT {
    crate::boundary!({ clm::finalize(clmHandle) })
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
        let into = buffer.as_deref().map(|b| match b.notification.is_null() {
            true => ViewInto::Allocated,
            false => ViewInto::Array(b.numberOfItems),
        });
        let reply = clm::cluster_track(clmHandle, trackFlags, into)?;
        match (reply, buffer) {
            (TrackReply::Nothing, _) => Ok(()),
            (TrackReply::NoSpace(needed), Some(b)) => {
                b.numberOfItems = needed;
                Err(AisError::NO_SPACE)
            }
            (TrackReply::View(view), Some(b)) => fill(b, &notifications(&view), view.view_number),
            (_, None) => Err(AisError::LIBRARY),
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saClmClusterTrackStop(clmHandle: SaClmHandleT) -> SaAisErrorT {
    crate::boundary!({ clm::cluster_track_stop(clmHandle) })
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
        out.write(node(&clm::cluster_node_get(clmHandle, nodeId, timeout)?));
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saClmClusterNodeGetAsync(
    clmHandle: SaClmHandleT,
    invocation: SaInvocationT,
    nodeId: SaClmNodeIdT,
) -> SaAisErrorT {
    crate::boundary!({ clm::cluster_node_get_async(clmHandle, invocation, nodeId) })
}

// ---------------------------------------------------------------------------
// The C structs to and from the service's Rust types.

/// The application's callbacks, as `crate::clm` calls them.
fn callbacks(c: &SaClmCallbacksT) -> clm::Callbacks {
    let node_get = c.saClmClusterNodeGetCallback.map(|f| -> clm::NodeGetFn {
        Box::new(move |invocation, result: Result<&Node, AisError>| {
            // A zeroed node rather than NULL on an error, for programs that
            // look at it before the error.
            let node = result.map_or_else(|_| no_node(), node);
            // SAFETY: the application's callback, of the spec's type; `node`
            // lives until it returns.
            unsafe { f(invocation, &node, callback_code(&result)) }
        })
    });
    let track = c.saClmClusterTrackCallback.map(|f| -> clm::TrackFn {
        Box::new(move |view, members, result| {
            let mut list = notifications(view);
            let buffer = SaClmClusterNotificationBufferT {
                viewNumber: view.view_number,
                numberOfItems: list.len() as u32,
                notification: list.as_mut_ptr(),
            };
            // SAFETY: the application's callback, of the spec's type;
            // `buffer` and `list` live until it returns.
            unsafe { f(&buffer, members, callback_code(&result)) }
        })
    });
    clm::Callbacks { node_get, track }
}

/// A node as C sees it. Over-long fields (the decoder already bounds them)
/// are clipped rather than trusted.
fn node(n: &Node) -> SaClmClusterNodeT {
    let mut value = [0u8; SA_CLM_MAX_ADDRESS_LENGTH];
    let address_len = n.address.len().min(SA_CLM_MAX_ADDRESS_LENGTH);
    value[..address_len].copy_from_slice(&n.address[..address_len]);
    let mut name = SaNameT { length: 0, value: [0; SA_MAX_NAME_LENGTH] };
    let name_len = n.name.len().min(SA_MAX_NAME_LENGTH);
    name.value[..name_len].copy_from_slice(&n.name[..name_len]);
    name.length = name_len as u16;
    let member =
        if n.member { super::sa_ais::enums::SaBoolT::SA_TRUE } else { super::sa_ais::enums::SaBoolT::SA_FALSE };
    SaClmClusterNodeT {
        nodeId: n.node_id,
        nodeAddress: SaClmNodeAddressT { family: n.family, length: address_len as u16, value },
        nodeName: name,
        member: member as SaBoolT,
        bootTimestamp: n.boot_timestamp,
        initialViewNumber: n.initial_view,
    }
}

/// The all-zero node.
fn no_node() -> SaClmClusterNodeT {
    SaClmClusterNodeT {
        nodeId: 0,
        nodeAddress: SaClmNodeAddressT { family: 0, length: 0, value: [0; SA_CLM_MAX_ADDRESS_LENGTH] },
        nodeName: SaNameT { length: 0, value: [0; SA_MAX_NAME_LENGTH] },
        member: 0,
        bootTimestamp: 0,
        initialViewNumber: 0,
    }
}

/// The entries of a view (the decoder checked each change value).
fn notifications(view: &View) -> Vec<SaClmClusterNotificationT> {
    view.items
        .iter()
        .map(|(n, change)| SaClmClusterNotificationT { clusterNode: node(n), clusterChange: *change })
        .collect()
}

/// Writes a view into the caller's buffer (C handed it to us), allocating
/// the array if it is NULL.
fn fill(
    buffer: &mut SaClmClusterNotificationBufferT,
    list: &[SaClmClusterNotificationT],
    view_number: u64,
) -> AisResult<()> {
    if buffer.notification.is_null() {
        buffer.notification = CAlloc::from_slice(list)?.into_raw();
    } else if (buffer.numberOfItems as usize) < list.len() {
        // The executive checked the capacity; the view cannot have grown.
        return Err(AisError::LIBRARY);
    } else {
        write_slice(out_slice!(buffer.notification, list.len())?, list);
    }
    buffer.numberOfItems = list.len() as u32;
    buffer.viewNumber = view_number;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ais_ipc::clm::{AF_INET, AF_INET6, NODE_JOINED, NODE_LEFT};

    fn view(n: u32) -> View {
        View {
            view_number: 9,
            items: (1..=n)
                .map(|id| {
                    let node = Node {
                        node_id: id,
                        family: AF_INET,
                        address: b"10.0.0.1".to_vec(),
                        name: b"n".to_vec(),
                        member: true,
                        boot_timestamp: 1,
                        initial_view: 2,
                    };
                    (node, NODE_JOINED)
                })
                .collect(),
        }
    }

    fn empty_buffer(notification: *mut SaClmClusterNotificationT, items: u32) -> SaClmClusterNotificationBufferT {
        SaClmClusterNotificationBufferT { viewNumber: 0, numberOfItems: items, notification }
    }

    #[test]
    fn fields_land_where_c_reads_them() {
        let n = Node {
            node_id: 7,
            family: AF_INET6,
            address: b"fe80::7".to_vec(),
            name: b"seven".to_vec(),
            member: false,
            boot_timestamp: 99,
            initial_view: 4,
        };
        let c = node(&n);
        assert_eq!((c.nodeId, c.nodeAddress.family, c.nodeAddress.length), (7, 2, 7));
        assert_eq!(&c.nodeAddress.value[..8], b"fe80::7\0");
        assert_eq!((c.nodeName.length, &c.nodeName.value[..5]), (5, &b"seven"[..]));
        assert_eq!((c.member, c.bootTimestamp, c.initialViewNumber), (0, 99, 4));
        let v = View { view_number: 3, items: vec![(n, NODE_LEFT)] };
        let list = notifications(&v);
        assert_eq!((list.len(), list[0].clusterChange, list[0].clusterNode.nodeId), (1, 3, 7));
        let zero = no_node();
        assert_eq!((zero.nodeId, zero.nodeAddress.length, zero.nodeName.length, zero.member), (0, 0, 0, 0));
    }

    #[test]
    fn fill_allocates_when_the_array_is_null() {
        let list = notifications(&view(3));
        let mut b = empty_buffer(std::ptr::null_mut(), 0);
        fill(&mut b, &list, 9).unwrap();
        assert_eq!((b.viewNumber, b.numberOfItems), (9, 3));
        assert!(!b.notification.is_null());
        // SAFETY: fill allocated 3 entries there.
        let got = unsafe { std::slice::from_raw_parts(b.notification, 3) };
        assert_eq!(got.iter().map(|n| n.clusterNode.nodeId).collect::<Vec<_>>(), [1, 2, 3]);
        // SAFETY: allocated with calloc, as the application frees it.
        unsafe { libc::free(b.notification.cast()) };
    }

    #[test]
    fn fill_uses_the_callers_array_and_never_overruns_it() {
        let list = notifications(&view(2));
        let mut array = [SaClmClusterNotificationT { clusterNode: no_node(), clusterChange: 0 }; 3];
        let mut b = empty_buffer(array.as_mut_ptr(), 3);
        fill(&mut b, &list, 9).unwrap();
        assert_eq!((b.numberOfItems, b.notification), (2, array.as_mut_ptr()));
        assert_eq!(array[1].clusterNode.nodeId, 2);
        assert_eq!(array[2].clusterNode.nodeId, 0, "untouched");
        // An executive that ignored the capacity: an error, not an overrun.
        let mut b = empty_buffer(array.as_mut_ptr(), 1);
        assert_eq!(fill(&mut b, &list, 9), Err(AisError::LIBRARY));
        assert_eq!(b.numberOfItems, 1);
    }
}
