//! `libSaClm`: the cluster membership API (AIS CLM B.01.01) over the
//! shared runtime, in Rust types. The C side (arguments, the C structs,
//! the application's callbacks) is `abi/sa_clm.rs`; the messages are in
//! `ais_ipc::clm`; the service in the executive's `services/clm.rs`.
//!
//! What is decided here rather than in the executive: the checks that
//! need only the call's arguments and the handle's callbacks (track flags
//! → `BAD_FLAGS`, a needed callback that was not given → `INIT`), and
//! what `SA_TRACK_CURRENT` brings back for the caller's buffer.

#![forbid(unsafe_code)]

use ais_ipc::clm::{self as wire, NodeGetCallback, TrackCallback, TrackStart};
pub use ais_ipc::clm::{Node, TrackReply, View};

use crate::error::{AisError, AisResult};
use crate::runtime::{DispatchFlags, Instance, Library, Version, version};

/// `saClmClusterNodeGetCallback`: (invocation, the node or the error).
pub type NodeGetFn = Box<dyn Fn(u64, Result<&Node, AisError>) + Send + Sync>;
/// `saClmClusterTrackCallback`: (view, number of members, result).
pub type TrackFn = Box<dyn Fn(&View, u32, AisResult<()>) + Send + Sync>;

/// The application's callbacks (`None`: not given).
#[derive(Default)]
pub struct Callbacks {
    pub node_get: Option<NodeGetFn>,
    pub track: Option<TrackFn>,
}

/// Per handle: the callbacks given to `saClmInitialize`.
pub struct ClmState {
    callbacks: Callbacks,
}

static CLM: Library<ClmState> = Library::new(ais_ipc::service::CLM, &[version(b'B', 1, 1)]);

/// `saClmInitialize`: the new handle.
pub fn initialize(version: &mut Version, callbacks: Callbacks) -> AisResult<u64> {
    CLM.initialize(version, ClmState { callbacks })
}

pub fn selection_object(handle: u64) -> AisResult<u64> {
    CLM.selection_object(handle)
}

pub fn dispatch(handle: u64, flags: AisResult<DispatchFlags>) -> AisResult<()> {
    CLM.dispatch(handle, flags, deliver)
}

pub fn finalize(handle: u64) -> AisResult<()> {
    CLM.finalize(handle).map(drop)
}

/// One callback from the executive.
fn deliver(instance: &Instance<ClmState>, id: u32, body: &[u8]) -> AisResult<()> {
    let callbacks = &instance.state.callbacks;
    match id {
        wire::TRACK_CALLBACK => {
            let cb = TrackCallback::decode(body).map_err(|_| AisError::LIBRARY)?;
            if let Some(f) = &callbacks.track {
                f(&cb.view, cb.number_of_members, AisError::check(cb.error));
            }
            Ok(())
        }
        wire::NODE_GET_CALLBACK => {
            let cb = NodeGetCallback::decode(body).map_err(|_| AisError::LIBRARY)?;
            if let Some(f) = &callbacks.node_get {
                f(cb.invocation, cb.result.as_ref().map_err(|e| AisError(*e)));
            }
            Ok(())
        }
        _ => Err(AisError::LIBRARY),
    }
}

/// Where `SA_TRACK_CURRENT` is to put the current view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewInto {
    /// The caller's array, with room for this many entries.
    Array(u32),
    /// An array the library allocates.
    Allocated,
}

/// `saClmClusterTrack`; `buffer`: where the caller wants the current view
/// (`None`: it gave no buffer). Returns what goes into that buffer:
/// `Nothing` (no buffer, or no `SA_TRACK_CURRENT`: then the view comes by
/// the callback), the view, or `NoSpace(entries needed)`.
pub fn cluster_track(handle: u64, flags: u8, buffer: Option<ViewInto>) -> AisResult<TrackReply> {
    let instance = CLM.get(handle)?;
    if !wire::track_flags_valid(flags) {
        return Err(AisError::BAD_FLAGS);
    }
    let current = flags & wire::TRACK_CURRENT != 0;
    let changes = flags & (wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY) != 0;
    // The buffer matters only for CURRENT.
    let buffer = if current { buffer } else { None };
    let needs_callback = changes || (current && buffer.is_none());
    if needs_callback && instance.state.callbacks.track.is_none() {
        return Err(AisError::INIT);
    }
    let capacity = match buffer {
        Some(ViewInto::Array(room)) => room,
        _ => u32::MAX,
    };
    let request = TrackStart { flags, current_in_reply: buffer.is_some(), capacity };
    let answer = instance.conn.request(wire::TRACK_START, &request.encode())?;
    let reply = TrackReply::decode(&answer).map_err(|_| AisError::LIBRARY)?;
    match (buffer, &reply) {
        (None, TrackReply::Nothing) | (Some(_), TrackReply::NoSpace(_) | TrackReply::View(_)) => Ok(reply),
        _ => Err(AisError::LIBRARY),
    }
}

/// `saClmClusterTrackStop`.
pub fn cluster_track_stop(handle: u64) -> AisResult<()> {
    CLM.get(handle)?.conn.request(wire::TRACK_STOP, &[]).map(drop)
}

/// `saClmClusterNodeGet`; `timeout` in nanoseconds, as the API's.
pub fn cluster_node_get(handle: u64, node_id: u32, timeout: i64) -> AisResult<Node> {
    let instance = CLM.get(handle)?;
    let answer = instance.conn.request_within(wire::NODE_GET, &wire::encode_node_get(node_id), timeout)?;
    wire::decode_node(&answer).map_err(|_| AisError::LIBRARY)
}

/// `saClmClusterNodeGetAsync`: the node comes by the node-get callback.
pub fn cluster_node_get_async(handle: u64, invocation: u64, node_id: u32) -> AisResult<()> {
    let instance = CLM.get(handle)?;
    if instance.state.callbacks.node_get.is_none() {
        return Err(AisError::INIT);
    }
    instance.conn.request(wire::NODE_GET_ASYNC, &wire::encode_node_get_async(invocation, node_id)).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_handles_are_bad_handles() {
        assert_eq!(cluster_track(777, wire::TRACK_CURRENT, None), Err(AisError::BAD_HANDLE));
        assert_eq!(cluster_node_get(777, 1, -1).err(), Some(AisError::BAD_HANDLE));
        assert_eq!(dispatch(777, Err(AisError::INVALID_PARAM)), Err(AisError::BAD_HANDLE));
        assert_eq!(finalize(777), Err(AisError::BAD_HANDLE));
    }
}
