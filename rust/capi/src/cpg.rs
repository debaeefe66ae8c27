//! `libcpg`: the closed process group API (openais 0.80 `cpg.h`) over the
//! shared runtime, in Rust types. The C side (arguments, names, iovecs,
//! the application's callbacks, error codes) is `abi/cpg.rs`; the
//! messages are in `ais_ipc::cpg`; the service in the executive's
//! `services/cpg/`.
//!
//! Decided here: the per-handle context (the application's pointer, kept
//! as an address and never dereferenced), flow control, and turning
//! callbacks from the executive into calls of the application's. Errors
//! are `AisError`s here; the C side maps them with
//! `abi::group_api::result_code`.
//!
//! `cpg_mcast_joined` is pipelined (`Connection::request_pipelined`): it
//! returns once the message is written, and answers are read later; the
//! executive never refuses a multicast of a joined handle (it stops
//! reading the handle while its queue is full), so `TRY_AGAIN` comes from
//! the library: when the pipeline window stays full for 10 ms, or from
//! the handle's own messages sent but not yet dispatched back to it (each
//! comes back once, marked `own`). Past [`UNREAD_SOFT_MSGS`] /
//! [`UNREAD_SOFT_BYTES`] the state (`cpg_flow_control_state_get`, which
//! asks nobody) reads `ENABLED`; past the hard limits
//! `cpg_mcast_joined` answers `CPG_ERR_TRY_AGAIN` without sending. This
//! keeps a sender that does not dispatch from overrunning its own
//! callback queue in the executive (which drops a connection whose
//! unread callbacks pass 4 MiB).

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use ais_ipc::cpg::{self as wire, Callback, Request};
pub use ais_ipc::cpg::{Address, MAX_DATA};

use crate::error::{AisError, AisResult};
use crate::runtime::{Connection, DispatchFlags, Instance, Library};

/// `cpg_deliver_fn_t`: (handle, group name, sender's node and pid,
/// message).
pub type DeliverFn = Box<dyn Fn(u64, &[u8], u32, u32, &[u8]) + Send + Sync>;
/// `cpg_confchg_fn_t`: (handle, group name, members, left, joined).
pub type ConfchgFn = Box<dyn Fn(u64, &[u8], &[Address], &[Address], &[Address]) + Send + Sync>;

/// The application's callbacks (`None`: not given).
#[derive(Default)]
pub struct Callbacks {
    pub deliver: Option<DeliverFn>,
    pub confchg: Option<ConfchgFn>,
}

/// Per handle: the callbacks and the application's context.
pub struct CpgState {
    callbacks: Callbacks,
    /// The address of the application's context pointer.
    context: AtomicUsize,
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

/// `cpg_initialize`: the new handle.
pub fn initialize(callbacks: Callbacks) -> AisResult<u64> {
    let state = CpgState {
        callbacks,
        context: AtomicUsize::new(0),
        unread_msgs: AtomicUsize::new(0),
        unread_bytes: AtomicUsize::new(0),
    };
    CPG.initialize_with(Connection::open(ais_ipc::service::CPG)?, state)
}

pub fn finalize(handle: u64) -> AisResult<()> {
    CPG.finalize(handle).map(drop)
}

/// `cpg_fd_get`: the selection object.
pub fn selection_object(handle: u64) -> AisResult<u64> {
    CPG.selection_object(handle)
}

/// `cpg_context_get`: the address last given to `context_set` (0 at
/// first).
pub fn context_get(handle: u64) -> AisResult<usize> {
    Ok(CPG.get(handle)?.state.context.load(Ordering::SeqCst))
}

/// `cpg_context_set`: `context` is the address of the application's
/// pointer, kept for `context_get`.
pub fn context_set(handle: u64, context: usize) -> AisResult<()> {
    CPG.get(handle)?.state.context.store(context, Ordering::SeqCst);
    Ok(())
}

pub fn dispatch(handle: u64, flags: DispatchFlags) -> AisResult<()> {
    CPG.dispatch(handle, Ok(flags), deliver)
}

/// One callback from the executive, as a call of the application's.
fn deliver(instance: &Instance<CpgState>, id: u32, body: &[u8]) -> AisResult<()> {
    let callbacks = &instance.state.callbacks;
    match Callback::decode(id, body).map_err(|_| AisError::LIBRARY)? {
        Callback::Deliver { name, node, pid, own, data } => {
            if own {
                instance.state.sub_unread(data.len());
            }
            if let Some(f) = &callbacks.deliver {
                f(instance.handle, name, node, pid, data);
            }
        }
        Callback::Confchg { name, members, left, joined } => {
            if let Some(f) = &callbacks.confchg {
                f(instance.handle, name, &members, &left, &joined);
            }
        }
    }
    Ok(())
}

fn request(handle: u64, req: &Request<'_>) -> AisResult<Vec<u8>> {
    CPG.get(handle)?.conn.request(req.id(), &req.encode())
}

pub fn join(handle: u64, group: &[u8]) -> AisResult<()> {
    request(handle, &Request::Join { name: group }).map(drop)
}

pub fn leave(handle: u64, group: &[u8]) -> AisResult<()> {
    request(handle, &Request::Leave { name: group }).map(drop)
}

/// `cpg_mcast_joined`, the message in pieces; `guarantee`: a
/// `cpg_guarantee_t` value the abi layer checked.
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

/// `cpg_membership_get`: the members of `group`, as (node, pid).
pub fn membership_get(handle: u64, group: &[u8]) -> AisResult<Vec<(u32, u32)>> {
    let answer = request(handle, &Request::MembershipGet { name: group })?;
    wire::decode_members(&answer).map_err(|_| AisError::LIBRARY)
}

/// `cpg_local_get`: this node's id.
pub fn local_get(handle: u64) -> AisResult<u32> {
    let answer = request(handle, &Request::LocalGet)?;
    wire::decode_u32(&answer).map_err(|_| AisError::LIBRARY)
}

/// `cpg_flow_control_state_get`: whether flow control is on. Answered
/// here, without asking the executive (as the classic library did:
/// programs call it before every multicast, and a round trip each time
/// halved their rate). The own messages not yet dispatched include every
/// one the executive still has in flight for this handle, so this is on
/// at least whenever the executive's count would be.
pub fn flow_control_state_get(handle: u64) -> AisResult<bool> {
    Ok(CPG.get(handle)?.state.unread_over(UNREAD_SOFT_MSGS, UNREAD_SOFT_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_handles_are_bad_handles() {
        assert_eq!(finalize(12345), Err(AisError::BAD_HANDLE));
        assert_eq!(context_set(12345, 0), Err(AisError::BAD_HANDLE));
        assert_eq!(dispatch(12345, DispatchFlags::One), Err(AisError::BAD_HANDLE));
        assert_eq!(membership_get(12345, b"g"), Err(AisError::BAD_HANDLE));
        assert_eq!(mcast_joined(0, 2, &[b"x"]), Err(AisError::BAD_HANDLE));
    }
}
