//! Extended virtual synchrony groups: `evs.h` (the openais 0.80 EVS API of
//! `libevs.so.2`, version node `OPENAIS_EVS_2.0`).
//!
//! Owns: the names, values and layout of the types, constants, enums and
//! callback typedefs of the classic openais 0.80 `evs.h`. cbindgen turns
//! this file, and only this file, into `include/corosync/evs.h` (config
//! `rust/capi/cbindgen/evs.toml`, style "both": the classic header has a
//! tagged `struct evs_group` next to `typedef`ed names).
//!
//! The `evs_*` functions follow the types: each checks and reads its
//! arguments into Rust values (NULL, negative counts, the guarantee, more
//! than `ais_ipc::evs::MAX_GROUPS` groups → `EVS_ERR_TOO_MANY_GROUPS`,
//! iovecs of more than `ais_ipc::evs::MAX_DATA` bytes →
//! `EVS_ERR_INVALID_PARAM`), calls `crate::evs`, and writes the results
//! back; then the conversions of the callbacks and groups.
//!
//! Must not: hold service logic, or use a Rust enum where C hands us a
//! value (see the enum convention in `abi/mod.rs`).
//!
//! `evs_error_t` shares most numbers with `SaAisErrorT` (OK, LIBRARY,
//! TIMEOUT, TRY_AGAIN, INVALID_PARAM, NO_MEMORY, BAD_HANDLE, ACCESS,
//! NOT_EXIST, EXIST), but not all: `EVS_ERR_NOT_SUPPORTED` is 20, where
//! `SA_AIS_ERR_NOT_SUPPORTED` is 19 (and 20 is `SA_AIS_ERR_BAD_OPERATION`);
//! SECURITY (29) and TOO_MANY_GROUPS (30) have no `SaAisErrorT` twin. An
//! `AisError` handed to C as a `evs_error_t` must be mapped, not cast.

// The exported functions are called from C; their pointer rules are the
// API's, checked at the boundary, and documented in the header.
#![allow(clippy::missing_safety_doc)]

use core::ffi::{c_char, c_int, c_uchar, c_uint, c_ushort, c_void};

pub type evs_handle_t = u64;

/// `evs_dispatch_t`: an integer; see [`enums::evs_dispatch_t`].
/// cbindgen:ignore
pub type evs_dispatch_t = c_uint;

/// `evs_guarantee_t`: an integer; see [`enums::evs_guarantee_t`].
/// cbindgen:ignore
pub type evs_guarantee_t = c_uint;

/// `evs_error_t`: an integer; see [`enums::evs_error_t`].
/// cbindgen:ignore
pub type evs_error_t = c_uint;

/// The classic header's `sizeof(struct in6_addr)`: the longest node address.
/// Printed by `cbindgen/evs.toml` as the classic expression (a `size_t`).
/// cbindgen:ignore
pub const TOTEMIP_ADDRLEN: usize = 16;

/// A node address, as the classic header declares it (no function takes
/// one: node ids identify members).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct evs_address {
    pub nodeid: c_uint,
    pub family: c_ushort,
    pub addr: [c_uchar; TOTEMIP_ADDRLEN],
}

/// A group: all 32 bytes of `key` are its name.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct evs_group {
    pub key: [c_char; 32],
}

/// A message delivered to a joined group: sender's node id, body, length.
pub type evs_deliver_fn_t = Option<unsafe extern "C" fn(nodeid: c_uint, msg: *mut c_void, msg_len: c_int)>;

/// A configuration change: the new members, those who left, those who
/// joined, as node ids.
pub type evs_confchg_fn_t = Option<
    unsafe extern "C" fn(
        member_list: *mut c_uint,
        member_list_entries: c_int,
        left_list: *mut c_uint,
        left_list_entries: c_int,
        joined_list: *mut c_uint,
        joined_list_entries: c_int,
    ),
>;

/// The callbacks an application hands to `evs_initialize`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct evs_callbacks_t {
    pub evs_deliver_fn: evs_deliver_fn_t,
    pub evs_confchg_fn: evs_confchg_fn_t,
}

/// The classic header's enums, as cbindgen prints them (see `sa_ais::enums`).
pub mod enums {
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum evs_dispatch_t {
        EVS_DISPATCH_ONE = 0,
        EVS_DISPATCH_ALL = 1,
        EVS_DISPATCH_BLOCKING = 2,
    }

    /// Delivery guarantees. The classic executive treats UNORDERED and FIFO
    /// as AGREED, and SAFE as not implemented.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum evs_guarantee_t {
        EVS_TYPE_UNORDERED = 0,
        EVS_TYPE_FIFO = 1,
        EVS_TYPE_AGREED = 2,
        EVS_TYPE_SAFE = 3,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum evs_error_t {
        EVS_OK = 1,
        EVS_ERR_LIBRARY = 2,
        EVS_ERR_TIMEOUT = 5,
        EVS_ERR_TRY_AGAIN = 6,
        EVS_ERR_INVALID_PARAM = 7,
        EVS_ERR_NO_MEMORY = 8,
        EVS_ERR_BAD_HANDLE = 9,
        EVS_ERR_ACCESS = 11,
        EVS_ERR_NOT_EXIST = 12,
        EVS_ERR_EXIST = 14,
        EVS_ERR_NOT_SUPPORTED = 20,
        EVS_ERR_SECURITY = 29,
        EVS_ERR_TOO_MANY_GROUPS = 30,
    }
}

crate::c_enum!(evs_dispatch_t { EVS_DISPATCH_ONE, EVS_DISPATCH_ALL, EVS_DISPATCH_BLOCKING });
crate::c_enum!(evs_guarantee_t { EVS_TYPE_UNORDERED, EVS_TYPE_FIFO, EVS_TYPE_AGREED, EVS_TYPE_SAFE });
crate::c_enum!(evs_error_t {
    EVS_OK,
    EVS_ERR_LIBRARY,
    EVS_ERR_TIMEOUT,
    EVS_ERR_TRY_AGAIN,
    EVS_ERR_INVALID_PARAM,
    EVS_ERR_NO_MEMORY,
    EVS_ERR_BAD_HANDLE,
    EVS_ERR_ACCESS,
    EVS_ERR_NOT_EXIST,
    EVS_ERR_EXIST,
    EVS_ERR_NOT_SUPPORTED,
    EVS_ERR_SECURITY,
    EVS_ERR_TOO_MANY_GROUPS,
});

// ---------------------------------------------------------------------------
// Functions. Each reads its arguments into Rust values (`abi::convert`),
// calls `crate::evs`, writes the results back, and returns an
// `evs_error_t` (mapped from the runtime's errors by
// `group_api::result_code`, never cast).

/// `struct iovec` of `<sys/uio.h>` (cbindgen prints it as `struct iovec`).
pub use libc::iovec;

use super::convert::{opt_out, out, out_slice, try_mut, try_ref, try_slice, write_slice};
use super::group_api::{count, dispatch_flags, gather, result_code};
use crate::error::{AisError, AisResult};
use crate::evs::{self, GroupKey};

/// Runs `body` and turns its result into an `evs_error_t`.
fn code(body: impl FnOnce() -> AisResult<()>) -> evs_error_t {
    result_code(body())
}

/// Opens a connection to the executive; `callbacks` is copied.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evs_initialize(handle: *mut evs_handle_t, callbacks: *mut evs_callbacks_t) -> evs_error_t {
    crate::boundary!(-> evs_error_t {
        code(|| {
            let handle = out!(handle)?;
            let callbacks = self::callbacks(try_ref!(callbacks)?);
            handle.write(evs::initialize(callbacks)?);
            Ok(())
        })
    })
}

/// Closes the handle; it is invalid from now on.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evs_finalize(handle: evs_handle_t) -> evs_error_t {
    crate::boundary!(-> evs_error_t { code(|| evs::finalize(handle)) })
}

/// The descriptor to poll: readable when a callback is pending.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evs_fd_get(handle: evs_handle_t, fd: *mut c_int) -> evs_error_t {
    crate::boundary!(-> evs_error_t {
        code(|| {
            let fd = out!(fd)?;
            fd.write(c_int::try_from(evs::selection_object(handle)?).map_err(|_| AisError::LIBRARY)?);
            Ok(())
        })
    })
}

/// Runs pending callbacks: `EVS_DISPATCH_ONE`, `_ALL` or `_BLOCKING`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evs_dispatch(handle: evs_handle_t, dispatch_types: evs_dispatch_t) -> evs_error_t {
    crate::boundary!(-> evs_error_t { code(|| evs::dispatch(handle, dispatch_flags(dispatch_types)?)) })
}

/// Joins `group_cnt` groups (joining one again is harmless).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evs_join(handle: evs_handle_t, groups: *mut evs_group, group_cnt: c_int) -> evs_error_t {
    crate::boundary!(-> evs_error_t {
        code(|| {
            let keys = group_keys(try_slice!(groups, group_count(group_cnt)?)?);
            evs::join(handle, keys)
        })
    })
}

/// Leaves `group_cnt` groups; `EVS_ERR_NOT_EXIST` (and no change) if one
/// of them was not joined.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evs_leave(handle: evs_handle_t, groups: *mut evs_group, group_cnt: c_int) -> evs_error_t {
    crate::boundary!(-> evs_error_t {
        code(|| {
            let keys = group_keys(try_slice!(groups, group_count(group_cnt)?)?);
            evs::leave(handle, keys)
        })
    })
}

/// Multicasts the concatenation of `iov_len` buffers to the groups the
/// handle joined. `EVS_OK` once the executive will multicast it: the
/// library does not wait for each answer (up to 32 messages of at most
/// 64 KiB unanswered; the executive never refuses them). `EVS_ERR_TRY_AGAIN`
/// (nothing sent) when that many are unanswered and no answer comes
/// within 10 ms (the executive holds a sender while its queue is full).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evs_mcast_joined(
    handle: evs_handle_t,
    guarantee: evs_guarantee_t,
    iovec: *mut iovec,
    iov_len: c_int,
) -> evs_error_t {
    crate::boundary!(-> evs_error_t {
        code(|| {
            enums::evs_guarantee_t::try_from(guarantee)?;
            let parts = gather(try_slice!(iovec, count(iov_len)?)?, evs::MAX_DATA)?;
            evs::mcast(handle, guarantee, None, &parts)
        })
    })
}

/// Multicasts to the `group_cnt` groups given, joined or not; answers
/// as `evs_mcast_joined` does.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evs_mcast_groups(
    handle: evs_handle_t,
    guarantee: evs_guarantee_t,
    groups: *mut evs_group,
    group_cnt: c_int,
    iovec: *mut iovec,
    iov_len: c_int,
) -> evs_error_t {
    crate::boundary!(-> evs_error_t {
        code(|| {
            enums::evs_guarantee_t::try_from(guarantee)?;
            let keys = group_keys(try_slice!(groups, group_count(group_cnt)?)?);
            let parts = gather(try_slice!(iovec, count(iov_len)?)?, evs::MAX_DATA)?;
            evs::mcast(handle, guarantee, Some(&keys), &parts)
        })
    })
}

/// This node's id and the node ids of the current configuration:
/// `*member_list_entries` is the room in `member_list` on entry and the
/// number of members that fit on return. As in the classic library,
/// `local_nodeid` and `member_list` may be NULL (not written).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evs_membership_get(
    handle: evs_handle_t,
    local_nodeid: *mut c_uint,
    member_list: *mut c_uint,
    member_list_entries: *mut c_uint,
) -> evs_error_t {
    crate::boundary!(-> evs_error_t {
        code(|| {
            let local = opt_out!(local_nodeid)?;
            let entries = try_mut!(member_list_entries)?;
            let room = usize::try_from(*entries).map_err(|_| AisError::INVALID_PARAM)?;
            if !member_list.is_aligned() {
                return Err(AisError::INVALID_PARAM);
            }
            let (node, members) = evs::membership_get(handle)?;
            let members = &members[..members.len().min(room)];
            if !member_list.is_null() {
                write_slice(out_slice!(member_list, members.len())?, members);
            }
            *entries = members.len() as c_uint;
            if let Some(local) = local {
                local.write(node);
            }
            Ok(())
        })
    })
}

// ---------------------------------------------------------------------------
// The C structs to and from the service's Rust types.

/// The application's callbacks, as `crate::evs` calls them.
fn callbacks(c: &evs_callbacks_t) -> evs::Callbacks {
    let deliver = c.evs_deliver_fn.map(|f| -> evs::DeliverFn {
        Box::new(move |node, data| {
            // The application gets its own copy (the API hands it a
            // writable pointer).
            let mut msg = data.to_vec();
            // SAFETY: the application's callback, of the API's type, with a
            // pointer valid for the call.
            unsafe { f(node, msg.as_mut_ptr().cast(), msg.len() as c_int) }
        })
    });
    let confchg = c.evs_confchg_fn.map(|f| -> evs::ConfchgFn {
        Box::new(move |mut members, mut left, mut joined| {
            // SAFETY: the application's callback, of the API's type; each
            // list pointer is valid for its count during the call.
            unsafe {
                f(
                    members.as_mut_ptr(),
                    members.len() as c_int,
                    left.as_mut_ptr(),
                    left.len() as c_int,
                    joined.as_mut_ptr(),
                    joined.len() as c_int,
                )
            }
        })
    });
    evs::Callbacks { deliver, confchg }
}

/// A number of groups: negative → `INVALID_PARAM`; more than one call
/// takes → `NO_RESOURCES` (`EVS_ERR_TOO_MANY_GROUPS`).
fn group_count(n: c_int) -> AisResult<usize> {
    let n = count(n)?;
    if n > evs::MAX_GROUPS {
        return Err(AisError::NO_RESOURCES);
    }
    Ok(n)
}

/// The keys of groups: all 32 bytes of each.
fn group_keys(groups: &[evs_group]) -> Vec<GroupKey> {
    groups.iter().map(|g| g.key.map(|c| c as u8)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_arrays() {
        let g = [evs_group { key: [1; 32] }, evs_group { key: [2; 32] }];
        assert_eq!(group_keys(&g), vec![[1u8; 32], [2u8; 32]]);
        assert_eq!(group_count(2), Ok(2));
        assert_eq!(group_count(-1), Err(AisError::INVALID_PARAM));
        assert_eq!(group_count(64), Ok(64));
        assert_eq!(group_count(65), Err(AisError::NO_RESOURCES));
    }
}
