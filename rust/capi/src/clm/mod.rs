//! `libSaClm`: the cluster membership API (AIS CLM B.01.01) over the
//! shared runtime. The exported wrappers are in `abi/sa_clm.rs`; the
//! messages in `ais_ipc::clm`; the service in the executive's
//! `services/clm.rs`.
//!
//! What is decided here rather than in the executive: the checks that
//! need only the call's arguments and the handle's callbacks (track flags
//! → `BAD_FLAGS`, a needed callback that is NULL → `INIT`), and the
//! notification buffer of `SA_TRACK_CURRENT`: the caller's array, or one
//! this library allocates with `malloc` when `notification` is NULL (the
//! application releases it with `free`, as with the classic library).

mod convert;

use ais_ipc::clm::{self as wire, NodeGetCallback, TrackCallback, TrackReply, TrackStart};

use crate::abi::convert::Out;
use crate::abi::sa_ais::SaTimeT;
use crate::abi::sa_clm::{
    SaClmCallbacksT, SaClmClusterNodeT, SaClmClusterNotificationBufferT, SaClmClusterNotificationT,
};
use crate::error::{AisError, AisResult};
use crate::runtime::{DispatchFlags, Instance, Library, Version, version};

/// Per handle: the callbacks given to `saClmInitialize`.
pub struct ClmState {
    callbacks: SaClmCallbacksT,
}

static CLM: Library<ClmState> = Library::new(ais_ipc::service::CLM, &[version(b'B', 1, 1)]);

/// `saClmInitialize`; `callbacks` NULL means none.
pub fn initialize(callbacks: Option<&SaClmCallbacksT>, version: &mut Version) -> AisResult<u64> {
    let callbacks = callbacks
        .copied()
        .unwrap_or(SaClmCallbacksT { saClmClusterNodeGetCallback: None, saClmClusterTrackCallback: None });
    CLM.initialize(version, ClmState { callbacks })
}

pub fn selection_object(handle: u64, out: Out<'_, u64>) -> AisResult<()> {
    out.write(CLM.selection_object(handle)?);
    Ok(())
}

pub fn dispatch(handle: u64, flags: AisResult<DispatchFlags>) -> AisResult<()> {
    CLM.dispatch(handle, flags, deliver)
}

pub fn finalize(handle: u64) -> AisResult<()> {
    CLM.finalize(handle).map(drop)
}

/// One callback from the executive.
fn deliver(instance: &Instance<ClmState>, id: u32, body: &[u8]) -> AisResult<()> {
    let callbacks = instance.state.callbacks;
    match id {
        wire::TRACK_CALLBACK => {
            let cb = TrackCallback::decode(body).map_err(|_| AisError::LIBRARY)?;
            let mut list = convert::notifications(&cb.view);
            let buffer = SaClmClusterNotificationBufferT {
                viewNumber: cb.view.view_number,
                numberOfItems: list.len() as u32,
                notification: list.as_mut_ptr(),
            };
            if let Some(f) = callbacks.saClmClusterTrackCallback {
                // SAFETY: the application's callback of the spec's type;
                // `buffer` and `list` live until it returns.
                unsafe { f(&buffer, cb.number_of_members, cb.error) };
            }
            Ok(())
        }
        wire::NODE_GET_CALLBACK => {
            let cb = NodeGetCallback::decode(body).map_err(|_| AisError::LIBRARY)?;
            let (node, error) = match &cb.result {
                Ok(n) => (convert::node(n), ais_ipc::error::OK),
                // A zeroed node rather than NULL, for programs that look
                // at it before the error.
                // SAFETY: all-zero is a valid value of this plain C struct.
                Err(e) => (unsafe { std::mem::zeroed::<SaClmClusterNodeT>() }, *e),
            };
            if let Some(f) = callbacks.saClmClusterNodeGetCallback {
                // SAFETY: as above; `node` lives until it returns.
                unsafe { f(cb.invocation, &node, error) };
            }
            Ok(())
        }
        _ => Err(AisError::LIBRARY),
    }
}

/// `saClmClusterTrack`.
pub fn cluster_track(handle: u64, flags: u8, buffer: Option<&mut SaClmClusterNotificationBufferT>) -> AisResult<()> {
    let instance = CLM.get(handle)?;
    if !wire::track_flags_valid(flags) {
        return Err(AisError::BAD_FLAGS);
    }
    let current = flags & wire::TRACK_CURRENT != 0;
    let changes = flags & (wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY) != 0;
    // The buffer matters only for CURRENT.
    let buffer = if current { buffer } else { None };
    let needs_callback = changes || (current && buffer.is_none());
    if needs_callback && instance.state.callbacks.saClmClusterTrackCallback.is_none() {
        return Err(AisError::INIT);
    }
    let capacity = match &buffer {
        Some(b) if !b.notification.is_null() => b.numberOfItems,
        _ => u32::MAX,
    };
    let request = TrackStart { flags, current_in_reply: buffer.is_some(), capacity };
    let answer = instance.conn.request(wire::TRACK_START, &request.encode())?;
    let reply = TrackReply::decode(&answer).map_err(|_| AisError::LIBRARY)?;
    match (buffer, reply) {
        (None, TrackReply::Nothing) => Ok(()),
        (Some(b), TrackReply::NoSpace(needed)) => {
            b.numberOfItems = needed;
            Err(AisError::NO_SPACE)
        }
        (Some(b), TrackReply::View(view)) => fill(b, &convert::notifications(&view), view.view_number),
        _ => Err(AisError::LIBRARY),
    }
}

/// Writes a view into the caller's buffer, allocating the array if it
/// is NULL.
fn fill(
    buffer: &mut SaClmClusterNotificationBufferT,
    list: &[SaClmClusterNotificationT],
    view_number: u64,
) -> AisResult<()> {
    let mut target = buffer.notification;
    if target.is_null() {
        let bytes = size_of::<SaClmClusterNotificationT>() * list.len().max(1);
        // SAFETY: plain allocation; the application frees it with free().
        target = unsafe { libc::malloc(bytes) }.cast::<SaClmClusterNotificationT>();
        if target.is_null() {
            return Err(AisError::NO_MEMORY);
        }
    } else if (buffer.numberOfItems as usize) < list.len() {
        // The executive checked the capacity; the view cannot have grown.
        return Err(AisError::LIBRARY);
    }
    // SAFETY: `target` holds at least `list.len()` entries: allocated
    // above, or the caller's array of `numberOfItems` entries.
    unsafe { std::ptr::copy_nonoverlapping(list.as_ptr(), target, list.len()) };
    buffer.notification = target;
    buffer.numberOfItems = list.len() as u32;
    buffer.viewNumber = view_number;
    Ok(())
}

/// `saClmClusterTrackStop`.
pub fn cluster_track_stop(handle: u64) -> AisResult<()> {
    CLM.get(handle)?.conn.request(wire::TRACK_STOP, &[]).map(drop)
}

/// `saClmClusterNodeGet`.
pub fn cluster_node_get(handle: u64, node_id: u32, timeout: SaTimeT, out: Out<'_, SaClmClusterNodeT>) -> AisResult<()> {
    let instance = CLM.get(handle)?;
    let answer = instance.conn.request_within(wire::NODE_GET, &wire::encode_node_get(node_id), timeout)?;
    let node = wire::decode_node(&answer).map_err(|_| AisError::LIBRARY)?;
    out.write(convert::node(&node));
    Ok(())
}

/// `saClmClusterNodeGetAsync`.
pub fn cluster_node_get_async(handle: u64, invocation: u64, node_id: u32) -> AisResult<()> {
    let instance = CLM.get(handle)?;
    if instance.state.callbacks.saClmClusterNodeGetCallback.is_none() {
        return Err(AisError::INIT);
    }
    instance.conn.request(wire::NODE_GET_ASYNC, &wire::encode_node_get_async(invocation, node_id)).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ais_ipc::clm::{AF_INET, NODE_JOINED, Node, View};

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
    fn fill_allocates_when_the_array_is_null() {
        let list = convert::notifications(&view(3));
        let mut b = empty_buffer(std::ptr::null_mut(), 0);
        fill(&mut b, &list, 9).unwrap();
        assert_eq!((b.viewNumber, b.numberOfItems), (9, 3));
        assert!(!b.notification.is_null());
        // SAFETY: fill allocated 3 entries there.
        let got = unsafe { std::slice::from_raw_parts(b.notification, 3) };
        assert_eq!(got.iter().map(|n| n.clusterNode.nodeId).collect::<Vec<_>>(), [1, 2, 3]);
        // SAFETY: allocated with malloc, as the application frees it.
        unsafe { libc::free(b.notification.cast()) };
    }

    #[test]
    fn fill_uses_the_callers_array_and_never_overruns_it() {
        let list = convert::notifications(&view(2));
        // SAFETY: all-zero is a valid value of this plain C struct.
        let mut array = [unsafe { std::mem::zeroed::<SaClmClusterNotificationT>() }; 3];
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
