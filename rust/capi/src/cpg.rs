//! `libcpg`: the closed process group API (openais 0.80 `cpg.h`) over the
//! shared runtime. The exported wrappers are in `abi/cpg.rs`; the
//! messages in `ais_ipc::cpg`; the service in the executive's
//! `services/cpg/`.
//!
//! Decided here: argument checks (NULL, name length, guarantee, iovec),
//! the message size limit (`ais_ipc::cpg::MAX_DATA`; more is
//! `CPG_ERR_INVALID_PARAM` without asking the executive), the per-handle
//! context pointer, and turning callbacks into C calls. Errors are
//! `AisError`s here; the wrappers map them with `group_api::result_code`.
//!
//! `cpg_mcast_joined` is pipelined (`Connection::request_pipelined`): it
//! returns once the message is written, and answers are read later; the
//! executive never refuses a multicast of a joined handle (it stops
//! reading the handle while its queue is full), so `TRY_AGAIN` comes from
//! the library: when the pipeline window stays full for 10 ms, or from
//! the handle's own messages sent but not yet dispatched back to it (each
//! comes back once, marked `own`). Past [`UNREAD_SOFT_MSGS`] /
//! [`UNREAD_SOFT_BYTES`] the state reads `ENABLED`; past the hard limits
//! `cpg_mcast_joined` answers `CPG_ERR_TRY_AGAIN` without sending. This
//! keeps a sender that does not dispatch from overrunning its own
//! callback queue in the executive (which drops a connection whose
//! unread callbacks pass 4 MiB).

use core::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use ais_ipc::cpg::{self as wire, Address, Callback, Request};

use crate::abi::convert::Out;
use crate::abi::cpg::{CPG_MAX_NAME_LENGTH, CPG_MEMBERS_MAX, cpg_address, cpg_callbacks_t, cpg_name};
use crate::error::{AisError, AisResult};
use crate::group_api;
use crate::runtime::{Connection, Instance, Library};

/// Per handle: the callbacks and the application's context pointer.
pub struct CpgState {
    callbacks: cpg_callbacks_t,
    context: AtomicPtr<c_void>,
    /// Own messages sent and not yet dispatched back: count and bytes.
    unread_msgs: AtomicUsize,
    unread_bytes: AtomicUsize,
}

pub const UNREAD_SOFT_MSGS: usize = 256;
pub const UNREAD_SOFT_BYTES: usize = 1024 * 1024;
pub const UNREAD_HARD_MSGS: usize = 1024;
pub const UNREAD_HARD_BYTES: usize = 2 * 1024 * 1024;

impl CpgState {
    fn unread_over(&self, msgs: usize, bytes: usize) -> bool {
        self.unread_msgs.load(Ordering::SeqCst) >= msgs || self.unread_bytes.load(Ordering::SeqCst) >= bytes
    }

    fn add_unread(&self, bytes: usize) {
        self.unread_msgs.fetch_add(1, Ordering::SeqCst);
        self.unread_bytes.fetch_add(bytes, Ordering::SeqCst);
    }

    fn sub_unread(&self, bytes: usize) {
        let dec = |by: usize| move |v: usize| Some(v.saturating_sub(by));
        let _ = self.unread_msgs.fetch_update(Ordering::SeqCst, Ordering::SeqCst, dec(1));
        let _ = self.unread_bytes.fetch_update(Ordering::SeqCst, Ordering::SeqCst, dec(bytes));
    }
}

static CPG: Library<CpgState> = Library::new(ais_ipc::service::CPG, &[]);

/// The significant bytes of a `cpg_name`; `length` over
/// `CPG_MAX_NAME_LENGTH` → `INVALID_PARAM`.
pub fn name_bytes(name: &cpg_name) -> AisResult<&[u8]> {
    let len = usize::try_from(name.length).map_err(|_| AisError::INVALID_PARAM)?;
    if len > CPG_MAX_NAME_LENGTH {
        return Err(AisError::INVALID_PARAM);
    }
    // SAFETY: `value` is `CPG_MAX_NAME_LENGTH` bytes, `len` at most that.
    Ok(unsafe { core::slice::from_raw_parts(name.value.as_ptr().cast::<u8>(), len) })
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

pub fn initialize(handle: Out<'_, u64>, callbacks: &cpg_callbacks_t) -> AisResult<()> {
    let state = CpgState {
        callbacks: *callbacks,
        context: AtomicPtr::new(core::ptr::null_mut()),
        unread_msgs: AtomicUsize::new(0),
        unread_bytes: AtomicUsize::new(0),
    };
    handle.write(CPG.initialize_with(Connection::open(ais_ipc::service::CPG)?, state)?);
    Ok(())
}

pub fn finalize(handle: u64) -> AisResult<()> {
    CPG.finalize(handle).map(drop)
}

pub fn fd_get(handle: u64, fd: Out<'_, c_int>) -> AisResult<()> {
    let so = CPG.selection_object(handle)?;
    fd.write(c_int::try_from(so).map_err(|_| AisError::LIBRARY)?);
    Ok(())
}

pub fn context_get(handle: u64, context: Out<'_, *mut c_void>) -> AisResult<()> {
    context.write(CPG.get(handle)?.state.context.load(Ordering::SeqCst));
    Ok(())
}

pub fn context_set(handle: u64, context: *mut c_void) -> AisResult<()> {
    CPG.get(handle)?.state.context.store(context, Ordering::SeqCst);
    Ok(())
}

pub fn dispatch(handle: u64, flags: u32) -> AisResult<()> {
    let flags = group_api::dispatch_flags(flags)?;
    CPG.dispatch(handle, Ok(flags), deliver)
}

fn addresses(list: &[Address]) -> Vec<cpg_address> {
    list.iter().map(|a| cpg_address { nodeid: a.node, pid: a.pid, reason: a.reason }).collect()
}

/// One callback from the executive, as a C call.
fn deliver(instance: &Instance<CpgState>, id: u32, body: &[u8]) -> AisResult<()> {
    let callbacks = instance.state.callbacks;
    match Callback::decode(id, body).map_err(|_| AisError::LIBRARY)? {
        Callback::Deliver { name, node, pid, own, data } => {
            if own {
                instance.state.sub_unread(data.len());
            }
            if let Some(f) = callbacks.cpg_deliver_fn {
                let mut name = name_from(name);
                // The application gets its own copy (the API hands it a
                // writable pointer).
                let mut msg = data.to_vec();
                // SAFETY: a callback the application registered, called
                // with valid pointers that outlive the call.
                unsafe { f(instance.handle, &mut name, node, pid, msg.as_mut_ptr().cast(), msg.len() as c_int) };
            }
        }
        Callback::Confchg { name, members, left, joined } => {
            if let Some(f) = callbacks.cpg_confchg_fn {
                let mut name = name_from(name);
                let (mut m, mut l, mut j) = (addresses(&members), addresses(&left), addresses(&joined));
                // SAFETY: as above; each list pointer is valid for its count.
                unsafe {
                    f(
                        instance.handle,
                        &mut name,
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

fn request(handle: u64, req: &Request<'_>) -> AisResult<Vec<u8>> {
    CPG.get(handle)?.conn.request(req.id(), &req.encode())
}

pub fn join(handle: u64, group: &cpg_name) -> AisResult<()> {
    request(handle, &Request::Join { name: name_bytes(group)? }).map(drop)
}

pub fn leave(handle: u64, group: &cpg_name) -> AisResult<()> {
    request(handle, &Request::Leave { name: name_bytes(group)? }).map(drop)
}

/// `cpg_mcast_joined` with the message already gathered from the iovecs.
pub fn mcast_joined(handle: u64, guarantee: u32, parts: &[&[u8]]) -> AisResult<()> {
    let instance = CPG.get(handle)?;
    let state = &instance.state;
    if state.unread_over(UNREAD_HARD_MSGS, UNREAD_HARD_BYTES) {
        return Err(AisError::TRY_AGAIN);
    }
    let len = parts.iter().map(|p| p.len()).sum();
    // Counted before sending: its delivery may be dispatched by another
    // thread before the answer reaches us.
    state.add_unread(len);
    // Pipelined: the executive takes every multicast of a joined handle
    // (see `Connection::request_pipelined`).
    let result = instance.conn.request_pipelined(wire::MCAST, &wire::encode_mcast(guarantee, parts));
    if result.is_err() {
        state.sub_unread(len);
    }
    result
}

/// Writes at most `CPG_MEMBERS_MAX` members (what the classic header
/// tells callers to provide room for) and their number.
///
/// # Safety
/// If not NULL, `member_list` must have room for `CPG_MEMBERS_MAX` entries.
pub unsafe fn membership_get(
    handle: u64,
    group: &cpg_name,
    member_list: *mut cpg_address,
    entries: Out<'_, c_int>,
) -> AisResult<()> {
    if member_list.is_null() || !member_list.is_aligned() {
        return Err(AisError::INVALID_PARAM);
    }
    let answer = request(handle, &Request::MembershipGet { name: name_bytes(group)? })?;
    let members = wire::decode_members(&answer).map_err(|_| AisError::LIBRARY)?;
    let members = &members[..members.len().min(CPG_MEMBERS_MAX)];
    for (i, (node, pid)) in members.iter().enumerate() {
        // SAFETY: the caller provides room for CPG_MEMBERS_MAX entries.
        unsafe { member_list.add(i).write(cpg_address { nodeid: *node, pid: *pid, reason: 0 }) };
    }
    entries.write(members.len() as c_int);
    Ok(())
}

pub fn local_get(handle: u64, nodeid: Out<'_, u32>) -> AisResult<()> {
    let answer = request(handle, &Request::LocalGet)?;
    nodeid.write(wire::decode_u32(&answer).map_err(|_| AisError::LIBRARY)?);
    Ok(())
}

pub fn flow_control_state_get(handle: u64, state: Out<'_, u32>) -> AisResult<()> {
    if CPG.get(handle)?.state.unread_over(UNREAD_SOFT_MSGS, UNREAD_SOFT_BYTES) {
        state.write(1);
        return Ok(());
    }
    let answer = request(handle, &Request::FlowControlGet)?;
    let value = wire::decode_u32(&answer).map_err(|_| AisError::LIBRARY)?;
    if value > 1 {
        return Err(AisError::LIBRARY);
    }
    state.write(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let n = name_from(b"group");
        assert_eq!(name_bytes(&n), Ok(&b"group"[..]));
        let mut bad = n;
        bad.length = CPG_MAX_NAME_LENGTH as u32 + 1;
        assert_eq!(name_bytes(&bad), Err(AisError::INVALID_PARAM));
        bad.length = u32::MAX;
        assert_eq!(name_bytes(&bad), Err(AisError::INVALID_PARAM));
    }

    #[test]
    fn unknown_handles_are_bad_handles() {
        assert_eq!(finalize(12345), Err(AisError::BAD_HANDLE));
        assert_eq!(context_set(12345, core::ptr::null_mut()), Err(AisError::BAD_HANDLE));
        assert_eq!(dispatch(12345, 0), Err(AisError::BAD_HANDLE));
        assert_eq!(dispatch(12345, 9), Err(AisError::INVALID_PARAM));
        assert_eq!(mcast_joined(0, 2, &[b"x"]), Err(AisError::BAD_HANDLE));
    }
}
