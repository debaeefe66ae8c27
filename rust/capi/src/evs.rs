//! `libevs`: the extended virtual synchrony API (openais 0.80 `evs.h`)
//! over the shared runtime, in Rust types. The C side (arguments, group
//! arrays, iovecs, the application's callbacks, error codes) is
//! `abi/evs.rs`; the messages are in `ais_ipc::evs`; the service in the
//! executive's `services/evs.rs`.
//!
//! Decided here: turning callbacks from the executive into calls of the
//! application's. Multicasts are pipelined (see
//! `Connection::request_pipelined`).

#![forbid(unsafe_code)]

use ais_ipc::evs::{self as wire, Callback, Request};
pub use ais_ipc::evs::{GroupKey, MAX_DATA, MAX_GROUPS};

use crate::error::{AisError, AisResult};
use crate::runtime::{Connection, DispatchFlags, Instance, Library};

/// `evs_deliver_fn_t`: (sender's node id, message).
pub type DeliverFn = Box<dyn Fn(u32, &[u8]) + Send + Sync>;
/// `evs_confchg_fn_t`: (members, left, joined), as node ids.
pub type ConfchgFn = Box<dyn Fn(Vec<u32>, Vec<u32>, Vec<u32>) + Send + Sync>;

/// The application's callbacks (`None`: not given).
#[derive(Default)]
pub struct Callbacks {
    pub deliver: Option<DeliverFn>,
    pub confchg: Option<ConfchgFn>,
}

pub struct EvsState {
    callbacks: Callbacks,
}

static EVS: Library<EvsState> = Library::new(ais_ipc::service::EVS, &[]);

/// `evs_initialize`: the new handle.
pub fn initialize(callbacks: Callbacks) -> AisResult<u64> {
    EVS.initialize_with(Connection::open(ais_ipc::service::EVS)?, EvsState { callbacks })
}

pub fn finalize(handle: u64) -> AisResult<()> {
    EVS.finalize(handle).map(drop)
}

/// `evs_fd_get`: the selection object.
pub fn selection_object(handle: u64) -> AisResult<u64> {
    EVS.selection_object(handle)
}

pub fn dispatch(handle: u64, flags: DispatchFlags) -> AisResult<()> {
    EVS.dispatch(handle, Ok(flags), deliver)
}

fn deliver(instance: &Instance<EvsState>, id: u32, body: &[u8]) -> AisResult<()> {
    let callbacks = &instance.state.callbacks;
    match Callback::decode(id, body).map_err(|_| AisError::LIBRARY)? {
        Callback::Deliver { node, data } => {
            if let Some(f) = &callbacks.deliver {
                f(node, data);
            }
        }
        Callback::Confchg { members, left, joined } => {
            if let Some(f) = &callbacks.confchg {
                f(members, left, joined);
            }
        }
    }
    Ok(())
}

fn request(handle: u64, id: u32, body: &[u8]) -> AisResult<Vec<u8>> {
    EVS.get(handle)?.conn.request(id, body)
}

pub fn join(handle: u64, groups: Vec<GroupKey>) -> AisResult<()> {
    let req = Request::Join { groups };
    request(handle, req.id(), &req.encode()).map(drop)
}

pub fn leave(handle: u64, groups: Vec<GroupKey>) -> AisResult<()> {
    let req = Request::Leave { groups };
    request(handle, req.id(), &req.encode()).map(drop)
}

/// `evs_mcast_joined` (`groups` None) or `evs_mcast_groups`; `guarantee`:
/// an `evs_guarantee_t` value the abi layer checked.
pub fn mcast(handle: u64, guarantee: u32, groups: Option<&[GroupKey]>, parts: &[&[u8]]) -> AisResult<()> {
    let id = if groups.is_some() { wire::MCAST_GROUPS } else { wire::MCAST_JOINED };
    // Pipelined: the executive takes every multicast of a handle it took
    // one from (see `Connection::request_pipelined`).
    EVS.get(handle)?.conn.request_pipelined(id, &wire::encode_mcast(guarantee, groups, parts))
}

/// `evs_membership_get`: the local node id and the members' node ids.
pub fn membership_get(handle: u64) -> AisResult<(u32, Vec<u32>)> {
    let answer = request(handle, wire::MEMBERSHIP_GET, &Request::MembershipGet.encode())?;
    wire::decode_membership(&answer).map_err(|_| AisError::LIBRARY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_handles_are_bad_handles() {
        assert_eq!(finalize(777), Err(AisError::BAD_HANDLE));
        assert_eq!(join(777, vec![[0; 32]]), Err(AisError::BAD_HANDLE));
        assert_eq!(mcast(777, 2, None, &[b"x"]), Err(AisError::BAD_HANDLE));
        assert_eq!(membership_get(777), Err(AisError::BAD_HANDLE));
        assert_eq!(dispatch(777, DispatchFlags::All), Err(AisError::BAD_HANDLE));
    }
}
