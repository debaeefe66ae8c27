//! `libevs`: the extended virtual synchrony API (openais 0.80 `evs.h`)
//! over the shared runtime. The exported wrappers are in `abi/evs.rs`; the
//! messages in `ais_ipc::evs`; the service in the executive's
//! `services/evs.rs`.
//!
//! Decided here: argument checks (NULL, negative counts, guarantee,
//! iovecs), more than `ais_ipc::evs::MAX_GROUPS` groups in one call
//! (`EVS_ERR_TOO_MANY_GROUPS`), the message size limit
//! (`ais_ipc::evs::MAX_DATA`; more is `EVS_ERR_INVALID_PARAM`), and
//! turning callbacks into C calls. Multicasts are pipelined (see
//! `Connection::request_pipelined`).

use core::ffi::{c_int, c_uint};

use ais_ipc::evs::{self as wire, Callback, GroupKey, Request};

use crate::abi::convert::Out;
use crate::abi::evs::{evs_callbacks_t, evs_group};
use crate::error::{AisError, AisResult};
use crate::group_api;
use crate::runtime::{Connection, Instance, Library};

pub struct EvsState {
    callbacks: evs_callbacks_t,
}

static EVS: Library<EvsState> = Library::new(ais_ipc::service::EVS, &[]);

/// The keys of `count` groups at `groups`.
///
/// # Safety
/// If `count > 0`, `groups` must point to `count` `evs_group`s.
pub unsafe fn group_keys(groups: *const evs_group, count: c_int) -> AisResult<Vec<GroupKey>> {
    let n = usize::try_from(count).map_err(|_| AisError::INVALID_PARAM)?;
    if n > wire::MAX_GROUPS {
        return Err(AisError::NO_RESOURCES); // EVS_ERR_TOO_MANY_GROUPS
    }
    // SAFETY: forwarded to the caller.
    let groups = unsafe { crate::abi::convert::raw::try_slice(groups, n) }?;
    Ok(groups.iter().map(|g| g.key.map(|c| c as u8)).collect())
}

pub fn initialize(handle: Out<'_, u64>, callbacks: &evs_callbacks_t) -> AisResult<()> {
    let state = EvsState { callbacks: *callbacks };
    handle.write(EVS.initialize_with(Connection::open(ais_ipc::service::EVS)?, state)?);
    Ok(())
}

pub fn finalize(handle: u64) -> AisResult<()> {
    EVS.finalize(handle).map(drop)
}

pub fn fd_get(handle: u64, fd: Out<'_, c_int>) -> AisResult<()> {
    let so = EVS.selection_object(handle)?;
    fd.write(c_int::try_from(so).map_err(|_| AisError::LIBRARY)?);
    Ok(())
}

pub fn dispatch(handle: u64, flags: u32) -> AisResult<()> {
    let flags = group_api::dispatch_flags(flags)?;
    EVS.dispatch(handle, Ok(flags), deliver)
}

fn deliver(instance: &Instance<EvsState>, id: u32, body: &[u8]) -> AisResult<()> {
    let callbacks = instance.state.callbacks;
    match Callback::decode(id, body).map_err(|_| AisError::LIBRARY)? {
        Callback::Deliver { node, data } => {
            if let Some(f) = callbacks.evs_deliver_fn {
                let mut msg = data.to_vec();
                // SAFETY: a callback the application registered, called
                // with a pointer valid for the call.
                unsafe { f(node, msg.as_mut_ptr().cast(), msg.len() as c_int) };
            }
        }
        Callback::Confchg { members, left, joined } => {
            if let Some(f) = callbacks.evs_confchg_fn {
                let (mut m, mut l, mut j): (Vec<c_uint>, Vec<c_uint>, Vec<c_uint>) = (members, left, joined);
                // SAFETY: as above; each list pointer is valid for its count.
                unsafe {
                    f(
                        m.as_mut_ptr(),
                        m.len() as c_int,
                        l.as_mut_ptr(),
                        l.len() as c_int,
                        j.as_mut_ptr(),
                        j.len() as c_int,
                    )
                };
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

/// `evs_mcast_joined` (`groups` None) or `evs_mcast_groups`.
pub fn mcast(handle: u64, guarantee: u32, groups: Option<&[GroupKey]>, parts: &[&[u8]]) -> AisResult<()> {
    let id = if groups.is_some() { wire::MCAST_GROUPS } else { wire::MCAST_JOINED };
    // Pipelined: the executive takes every multicast of a handle it took
    // one from (see `Connection::request_pipelined`).
    EVS.get(handle)?.conn.request_pipelined(id, &wire::encode_mcast(guarantee, groups, parts))
}

/// Writes the local node id (if `local` is given), and at most `*entries`
/// (in: room in `member_list`) member node ids (if `member_list` is not
/// NULL); `*entries` becomes the number that fit.
///
/// # Safety
/// If not NULL, `member_list` must have room for `*entries` ids.
pub unsafe fn membership_get(
    handle: u64,
    local: Option<Out<'_, c_uint>>,
    member_list: *mut c_uint,
    entries: &mut c_uint,
) -> AisResult<()> {
    let room = usize::try_from(*entries).map_err(|_| AisError::INVALID_PARAM)?;
    if !member_list.is_aligned() {
        return Err(AisError::INVALID_PARAM);
    }
    let answer = request(handle, wire::MEMBERSHIP_GET, &Request::MembershipGet.encode())?;
    let (node, members) = wire::decode_membership(&answer).map_err(|_| AisError::LIBRARY)?;
    let members = &members[..members.len().min(room)];
    if !member_list.is_null() {
        for (i, m) in members.iter().enumerate() {
            // SAFETY: the caller said `member_list` has room for `room` ids.
            unsafe { member_list.add(i).write(*m) };
        }
    }
    *entries = members.len() as c_uint;
    if let Some(local) = local {
        local.write(node);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_arrays() {
        let g = [evs_group { key: [1; 32] }, evs_group { key: [2; 32] }];
        assert_eq!(unsafe { group_keys(g.as_ptr(), 2) }.unwrap(), vec![[1u8; 32], [2u8; 32]]);
        assert_eq!(unsafe { group_keys(g.as_ptr(), -1) }, Err(AisError::INVALID_PARAM));
        assert_eq!(unsafe { group_keys(core::ptr::null(), 1) }, Err(AisError::INVALID_PARAM));
        assert_eq!(unsafe { group_keys(g.as_ptr(), 65) }, Err(AisError::NO_RESOURCES));
    }

    #[test]
    fn unknown_handles_are_bad_handles() {
        assert_eq!(finalize(777), Err(AisError::BAD_HANDLE));
        assert_eq!(join(777, vec![[0; 32]]), Err(AisError::BAD_HANDLE));
        assert_eq!(mcast(777, 2, None, &[b"x"]), Err(AisError::BAD_HANDLE));
    }
}
