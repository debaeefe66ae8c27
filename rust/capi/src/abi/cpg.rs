//! Closed process groups: `cpg.h` (the openais 0.80 CPG API of
//! `libcpg.so.2`, version node `OPENAIS_CPG_1.0`).
//!
//! Owns: the names, values and layout of the types, constants, enums and
//! callback typedefs of the classic openais 0.80 `cpg.h`. cbindgen turns
//! this file, and only this file, into `include/corosync/cpg.h` (config
//! `rust/capi/cbindgen/cpg.toml`, style "both": the classic header has the
//! tagged `struct cpg_name` and `struct cpg_address` next to `typedef`ed
//! names).
//!
//! The `cpg_*` functions follow the types: each checks and reads its
//! arguments into Rust values (NULL, name lengths, the guarantee, iovecs
//! of more than `ais_ipc::cpg::MAX_DATA` bytes → `CPG_ERR_INVALID_PARAM`),
//! calls `crate::cpg`, and writes the results back; then the conversions
//! of the callbacks, names and addresses.
//!
//! Must not: hold service logic, or use a Rust enum where C hands us a
//! value (see the enum convention in `abi/mod.rs`).
//!
//! `cpg_error_t` shares most numbers with `SaAisErrorT` (OK, LIBRARY,
//! TIMEOUT, TRY_AGAIN, INVALID_PARAM, NO_MEMORY, BAD_HANDLE, ACCESS,
//! NOT_EXIST, EXIST), but not all: `CPG_ERR_NOT_SUPPORTED` is 20, where
//! `SA_AIS_ERR_NOT_SUPPORTED` is 19 (and 20 is `SA_AIS_ERR_BAD_OPERATION`);
//! SECURITY (29) and TOO_MANY_GROUPS (30) have no `SaAisErrorT` twin. An
//! `AisError` handed to C as a `cpg_error_t` must be mapped, not cast.

// The exported functions are called from C; their pointer rules are the
// API's, checked at the boundary, and documented in the header.
#![allow(clippy::missing_safety_doc)]

use core::ffi::{c_char, c_int, c_uint, c_void};

pub type cpg_handle_t = u64;

/// `cpg_dispatch_t`: an integer; see [`enums::cpg_dispatch_t`].
/// cbindgen:ignore
pub type cpg_dispatch_t = c_uint;

/// `cpg_guarantee_t`: an integer; see [`enums::cpg_guarantee_t`].
/// cbindgen:ignore
pub type cpg_guarantee_t = c_uint;

/// `cpg_flow_control_state_t`: an integer; see [`enums::cpg_flow_control_state_t`].
/// cbindgen:ignore
pub type cpg_flow_control_state_t = c_uint;

/// `cpg_error_t`: an integer; see [`enums::cpg_error_t`].
/// cbindgen:ignore
pub type cpg_error_t = c_uint;

/// `cpg_reason_t`: an integer; see [`enums::cpg_reason_t`].
/// cbindgen:ignore
pub type cpg_reason_t = c_uint;

/// A process in a group: node, process id, and (in a configuration change)
/// why it is listed, a `cpg_reason_t` value.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct cpg_address {
    pub nodeid: u32,
    pub pid: u32,
    pub reason: u32,
}

pub const CPG_MAX_NAME_LENGTH: usize = 128;

/// A group name: `length` bytes of `value` are significant.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct cpg_name {
    pub length: u32,
    pub value: [c_char; CPG_MAX_NAME_LENGTH],
}

/// The most members a configuration change or membership query reports.
pub const CPG_MEMBERS_MAX: usize = 128;

/// A message multicast to a joined group: group, sender (node and pid),
/// body, length.
pub type cpg_deliver_fn_t = Option<
    unsafe extern "C" fn(
        handle: cpg_handle_t,
        group_name: *mut cpg_name,
        nodeid: u32,
        pid: u32,
        msg: *mut c_void,
        msg_len: c_int,
    ),
>;

/// A configuration change of a joined group: its members now, those who
/// left and those who joined (each with a `cpg_reason_t` in `reason`).
pub type cpg_confchg_fn_t = Option<
    unsafe extern "C" fn(
        handle: cpg_handle_t,
        group_name: *mut cpg_name,
        member_list: *mut cpg_address,
        member_list_entries: c_int,
        left_list: *mut cpg_address,
        left_list_entries: c_int,
        joined_list: *mut cpg_address,
        joined_list_entries: c_int,
    ),
>;

/// The callbacks an application hands to `cpg_initialize`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct cpg_callbacks_t {
    pub cpg_deliver_fn: cpg_deliver_fn_t,
    pub cpg_confchg_fn: cpg_confchg_fn_t,
}

/// The classic header's enums, as cbindgen prints them (see `sa_ais::enums`).
pub mod enums {
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum cpg_dispatch_t {
        CPG_DISPATCH_ONE = 0,
        CPG_DISPATCH_ALL = 1,
        CPG_DISPATCH_BLOCKING = 2,
    }

    /// Delivery guarantees. The classic executive treats UNORDERED and FIFO
    /// as AGREED, and SAFE as not implemented.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum cpg_guarantee_t {
        CPG_TYPE_UNORDERED = 0,
        CPG_TYPE_FIFO = 1,
        CPG_TYPE_AGREED = 2,
        CPG_TYPE_SAFE = 3,
    }

    /// ENABLED: new messages should not be sent until it is DISABLED again.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum cpg_flow_control_state_t {
        CPG_FLOW_CONTROL_DISABLED = 0,
        CPG_FLOW_CONTROL_ENABLED = 1,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum cpg_error_t {
        CPG_OK = 1,
        CPG_ERR_LIBRARY = 2,
        CPG_ERR_TIMEOUT = 5,
        CPG_ERR_TRY_AGAIN = 6,
        CPG_ERR_INVALID_PARAM = 7,
        CPG_ERR_NO_MEMORY = 8,
        CPG_ERR_BAD_HANDLE = 9,
        CPG_ERR_BUSY = 10,
        CPG_ERR_ACCESS = 11,
        CPG_ERR_NOT_EXIST = 12,
        CPG_ERR_EXIST = 14,
        CPG_ERR_NOT_SUPPORTED = 20,
        CPG_ERR_SECURITY = 29,
        CPG_ERR_TOO_MANY_GROUPS = 30,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum cpg_reason_t {
        CPG_REASON_JOIN = 1,
        CPG_REASON_LEAVE = 2,
        CPG_REASON_NODEDOWN = 3,
        CPG_REASON_NODEUP = 4,
        CPG_REASON_PROCDOWN = 5,
    }
}

crate::c_enum!(cpg_dispatch_t { CPG_DISPATCH_ONE, CPG_DISPATCH_ALL, CPG_DISPATCH_BLOCKING });
crate::c_enum!(cpg_guarantee_t { CPG_TYPE_UNORDERED, CPG_TYPE_FIFO, CPG_TYPE_AGREED, CPG_TYPE_SAFE });
crate::c_enum!(cpg_flow_control_state_t { CPG_FLOW_CONTROL_DISABLED, CPG_FLOW_CONTROL_ENABLED });
crate::c_enum!(cpg_error_t {
    CPG_OK,
    CPG_ERR_LIBRARY,
    CPG_ERR_TIMEOUT,
    CPG_ERR_TRY_AGAIN,
    CPG_ERR_INVALID_PARAM,
    CPG_ERR_NO_MEMORY,
    CPG_ERR_BAD_HANDLE,
    CPG_ERR_BUSY,
    CPG_ERR_ACCESS,
    CPG_ERR_NOT_EXIST,
    CPG_ERR_EXIST,
    CPG_ERR_NOT_SUPPORTED,
    CPG_ERR_SECURITY,
    CPG_ERR_TOO_MANY_GROUPS,
});
crate::c_enum!(cpg_reason_t {
    CPG_REASON_JOIN,
    CPG_REASON_LEAVE,
    CPG_REASON_NODEDOWN,
    CPG_REASON_NODEUP,
    CPG_REASON_PROCDOWN,
});

// ---------------------------------------------------------------------------
// Functions. Each reads its arguments into Rust values (`abi::convert`),
// calls `crate::cpg`, writes the results back, and returns a
// `cpg_error_t` (mapped from the runtime's errors by
// `group_api::result_code`, never cast).

/// `struct iovec` of `<sys/uio.h>` (cbindgen prints it as `struct iovec`).
pub use libc::iovec;

use super::convert::{out, out_slice, try_ref, try_slice};
use super::group_api::{count, dispatch_flags, gather, result_code};
use crate::cpg::{self, Address};
use crate::error::{AisError, AisResult};

/// Runs `body` and turns its result into a `cpg_error_t`.
fn code(body: impl FnOnce() -> AisResult<()>) -> cpg_error_t {
    result_code(body())
}

/// Opens a connection to the executive; `callbacks` is copied.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cpg_initialize(handle: *mut cpg_handle_t, callbacks: *mut cpg_callbacks_t) -> cpg_error_t {
    crate::boundary!(-> cpg_error_t {
        code(|| {
            let handle = out!(handle)?;
            let callbacks = self::callbacks(try_ref!(callbacks)?);
            handle.write(cpg::initialize(callbacks)?);
            Ok(())
        })
    })
}

/// Closes the handle; it is invalid from now on.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cpg_finalize(handle: cpg_handle_t) -> cpg_error_t {
    crate::boundary!(-> cpg_error_t { code(|| cpg::finalize(handle)) })
}

/// The descriptor to poll: readable when a callback is pending.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cpg_fd_get(handle: cpg_handle_t, fd: *mut c_int) -> cpg_error_t {
    crate::boundary!(-> cpg_error_t {
        code(|| {
            let fd = out!(fd)?;
            fd.write(c_int::try_from(cpg::selection_object(handle)?).map_err(|_| AisError::LIBRARY)?);
            Ok(())
        })
    })
}

/// The pointer last given to `cpg_context_set` (NULL at first).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cpg_context_get(handle: cpg_handle_t, context: *mut *mut c_void) -> cpg_error_t {
    crate::boundary!(-> cpg_error_t {
        code(|| {
            let context = out!(context)?;
            context.write(core::ptr::with_exposed_provenance_mut(cpg::context_get(handle)?));
            Ok(())
        })
    })
}

/// Stores a pointer of the application's with the handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cpg_context_set(handle: cpg_handle_t, context: *mut c_void) -> cpg_error_t {
    crate::boundary!(-> cpg_error_t { code(|| cpg::context_set(handle, context.expose_provenance())) })
}

/// Runs pending callbacks: `CPG_DISPATCH_ONE`, `_ALL` or `_BLOCKING`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cpg_dispatch(handle: cpg_handle_t, dispatch_types: cpg_dispatch_t) -> cpg_error_t {
    crate::boundary!(-> cpg_error_t { code(|| cpg::dispatch(handle, dispatch_flags(dispatch_types)?)) })
}

/// Joins `group`; returns once the join is ordered cluster-wide.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cpg_join(handle: cpg_handle_t, group: *mut cpg_name) -> cpg_error_t {
    crate::boundary!(-> cpg_error_t {
        code(|| {
            let group = name_bytes(try_ref!(group)?)?;
            cpg::join(handle, &group)
        })
    })
}

/// Leaves `group`; returns once the leave is ordered cluster-wide.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cpg_leave(handle: cpg_handle_t, group: *mut cpg_name) -> cpg_error_t {
    crate::boundary!(-> cpg_error_t {
        code(|| {
            let group = name_bytes(try_ref!(group)?)?;
            cpg::leave(handle, &group)
        })
    })
}

/// Multicasts the concatenation of `iov_len` buffers to every group the
/// handle joined. `CPG_OK` once the executive will multicast it: the
/// library does not wait for each answer (up to 32 messages of at most
/// 64 KiB unanswered; the executive never refuses them). `CPG_ERR_TRY_AGAIN`
/// (nothing sent) when that many are unanswered and no answer comes
/// within 10 ms (the executive holds a sender while its queue is full), or when the handle's own messages
/// sent and not yet dispatched back pass the library's limit.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cpg_mcast_joined(
    handle: cpg_handle_t,
    guarantee: cpg_guarantee_t,
    iovec: *mut iovec,
    iov_len: c_int,
) -> cpg_error_t {
    crate::boundary!(-> cpg_error_t {
        code(|| {
            enums::cpg_guarantee_t::try_from(guarantee)?;
            let parts = gather(try_slice!(iovec, count(iov_len)?)?, cpg::MAX_DATA)?;
            cpg::mcast_joined(handle, guarantee, &parts)
        })
    })
}

/// The members of `groupName`: at most `CPG_MEMBERS_MAX` entries are
/// written to `member_list`, their number to `*member_list_entries`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cpg_membership_get(
    handle: cpg_handle_t,
    groupName: *mut cpg_name,
    member_list: *mut cpg_address,
    member_list_entries: *mut c_int,
) -> cpg_error_t {
    crate::boundary!(-> cpg_error_t {
        code(|| {
            let group = try_ref!(groupName)?;
            let entries = out!(member_list_entries)?;
            // Room for CPG_MEMBERS_MAX entries, as the classic header tells
            // callers to provide.
            if member_list.is_null() || !member_list.is_aligned() {
                return Err(AisError::INVALID_PARAM);
            }
            let members = cpg::membership_get(handle, &name_bytes(group)?)?;
            let members = &members[..members.len().min(CPG_MEMBERS_MAX)];
            for (slot, &(nodeid, pid)) in out_slice!(member_list, members.len())?.iter_mut().zip(members) {
                slot.write(cpg_address { nodeid, pid, reason: 0 });
            }
            entries.write(members.len() as c_int);
            Ok(())
        })
    })
}

/// This node's id.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cpg_local_get(handle: cpg_handle_t, local_nodeid: *mut c_uint) -> cpg_error_t {
    crate::boundary!(-> cpg_error_t {
        code(|| {
            let out = out!(local_nodeid)?;
            out.write(cpg::local_get(handle)?);
            Ok(())
        })
    })
}

/// `CPG_FLOW_CONTROL_ENABLED` while this handle has many messages queued
/// and not yet delivered: the application should wait (and dispatch).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cpg_flow_control_state_get(
    handle: cpg_handle_t,
    flow_control_enabled: *mut cpg_flow_control_state_t,
) -> cpg_error_t {
    crate::boundary!(-> cpg_error_t {
        code(|| {
            let out = out!(flow_control_enabled)?;
            let state = match cpg::flow_control_state_get(handle)? {
                true => enums::cpg_flow_control_state_t::CPG_FLOW_CONTROL_ENABLED,
                false => enums::cpg_flow_control_state_t::CPG_FLOW_CONTROL_DISABLED,
            };
            out.write(state.into());
            Ok(())
        })
    })
}

// ---------------------------------------------------------------------------
// The C structs to and from the service's Rust types.

/// The application's callbacks, as `crate::cpg` calls them.
fn callbacks(c: &cpg_callbacks_t) -> cpg::Callbacks {
    let deliver = c.cpg_deliver_fn.map(|f| -> cpg::DeliverFn {
        Box::new(move |handle, name, node, pid, data| {
            let mut name = name_from(name);
            // The application gets its own copy (the API hands it a
            // writable pointer).
            let mut msg = data.to_vec();
            // SAFETY: the application's callback, of the API's type, with
            // pointers valid for the call.
            unsafe { f(handle, &mut name, node, pid, msg.as_mut_ptr().cast(), msg.len() as c_int) }
        })
    });
    let confchg = c.cpg_confchg_fn.map(|f| -> cpg::ConfchgFn {
        Box::new(move |handle, name, members, left, joined| {
            let mut name = name_from(name);
            let (mut m, mut l, mut j) = (addresses(members), addresses(left), addresses(joined));
            // SAFETY: the application's callback, of the API's type; each
            // list pointer is valid for its count during the call.
            unsafe {
                f(
                    handle,
                    &mut name,
                    m.as_mut_ptr(),
                    m.len() as c_int,
                    l.as_mut_ptr(),
                    l.len() as c_int,
                    j.as_mut_ptr(),
                    j.len() as c_int,
                )
            }
        })
    });
    cpg::Callbacks { deliver, confchg }
}

/// The significant bytes of a `cpg_name`; `length` over
/// `CPG_MAX_NAME_LENGTH` → `INVALID_PARAM`.
fn name_bytes(name: &cpg_name) -> AisResult<Vec<u8>> {
    let len = usize::try_from(name.length).map_err(|_| AisError::INVALID_PARAM)?;
    let value = name.value.get(..len).ok_or(AisError::INVALID_PARAM)?;
    Ok(value.iter().map(|&c| c as u8).collect())
}

fn name_from(bytes: &[u8]) -> cpg_name {
    let mut name = cpg_name { length: 0, value: [0; CPG_MAX_NAME_LENGTH] };
    let len = bytes.len().min(CPG_MAX_NAME_LENGTH);
    for (d, s) in name.value.iter_mut().zip(&bytes[..len]) {
        *d = *s as _;
    }
    name.length = len as u32;
    name
}

fn addresses(list: &[Address]) -> Vec<cpg_address> {
    list.iter().map(|a| cpg_address { nodeid: a.node, pid: a.pid, reason: a.reason }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let n = name_from(b"group");
        assert_eq!(name_bytes(&n), Ok(b"group".to_vec()));
        let mut bad = n;
        bad.length = CPG_MAX_NAME_LENGTH as u32;
        assert_eq!(name_bytes(&bad).map(|b| b.len()), Ok(CPG_MAX_NAME_LENGTH));
        bad.length = CPG_MAX_NAME_LENGTH as u32 + 1;
        assert_eq!(name_bytes(&bad), Err(AisError::INVALID_PARAM));
        bad.length = u32::MAX;
        assert_eq!(name_bytes(&bad), Err(AisError::INVALID_PARAM));
        assert_eq!(name_from(&[b'x'; 200]).length, CPG_MAX_NAME_LENGTH as u32);
    }
}
