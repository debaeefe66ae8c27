//! `libSaAmf` for AMF **A.01.01** clients (`ais_amf.h`, openais <= 0.70.1),
//! in Rust types. The C side is `abi/ais_amf.rs`.
//!
//! An A.01.01 client is a component of the same model as a B.01.01 one:
//! the same service and messages, with `REGISTER_A` instead of `REGISTER`
//! (the executive then sends the readiness callback before the first CSI
//! and invokes the healthcheck of the component's first configured key).
//! The handles are a library of their own (version `A` only), so a handle
//! of one API is `BAD_HANDLE` for the other.
//!
//! A.01.01 functions without a handle (`saAmfResponse`, the state
//! queries, the error report) talk to the executive on the connection of
//! the handle a callback came through (responses) or of any open handle,
//! else on a connection of their own for the call.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use ais_ipc::amf::{self as wire, Callback, Request};
pub use ais_ipc::amf::{CsiDescriptor, Member};

use crate::error::{AisError, AisResult};
use crate::runtime::{Connection, DispatchFlags, Instance, Library, Version, version};

/// Healthcheck callback: (invocation, component).
pub type HealthcheckFn = Box<dyn Fn(u64, &[u8]) + Send + Sync>;
/// Readiness-state-set callback: (invocation, component, readiness).
pub type ReadinessFn = Box<dyn Fn(u64, &[u8], u32) + Send + Sync>;
/// Component-terminate callback: (invocation, component).
pub type TerminateFn = Box<dyn Fn(u64, &[u8]) + Send + Sync>;
/// CSI-set callback: (invocation, component, HA state, descriptor).
pub type CsiSetFn = Box<dyn Fn(u64, &[u8], u32, &CsiDescriptor) + Send + Sync>;
/// CSI-remove callback: (invocation, component, CSI, flags).
pub type CsiRemoveFn = Box<dyn Fn(u64, &[u8], &[u8], u32) + Send + Sync>;
/// Protection-group-track callback: (handle, CSI, notification, number of
/// members).
pub type PgTrackFn = Box<dyn Fn(u64, &[u8], &[Member], u32) + Send + Sync>;

/// The application's callbacks (`None`: not given).
#[derive(Default)]
pub struct Callbacks {
    pub healthcheck: Option<HealthcheckFn>,
    pub readiness: Option<ReadinessFn>,
    pub terminate: Option<TerminateFn>,
    pub csi_set: Option<CsiSetFn>,
    pub csi_remove: Option<CsiRemoveFn>,
    pub pg_track: Option<PgTrackFn>,
}

pub struct AmfAState {
    callbacks: Callbacks,
}

static AMF_A: Library<AmfAState> = Library::new(ais_ipc::service::AMF, &[version(b'A', 1, 1)]);

/// Most invocations remembered for `saAmfResponse` per process (oldest
/// forgotten first): a component that never answers costs this much.
const MAX_INVOCATIONS: usize = 4096;

/// Invocation -> the handle whose callback carried it.
static INVOCATIONS: Mutex<BTreeMap<u64, u64>> = Mutex::new(BTreeMap::new());

fn invocations() -> std::sync::MutexGuard<'static, BTreeMap<u64, u64>> {
    INVOCATIONS.lock().unwrap_or_else(|p| p.into_inner())
}

fn remember(invocation: u64, handle: u64) {
    let mut map = invocations();
    if map.len() >= MAX_INVOCATIONS {
        // Invocations grow: the smallest is the oldest.
        map.pop_first();
    }
    map.insert(invocation, handle);
}

/// `SaAmfRecommendedRecoveryT` A.01.01 -> B.01.01 (the executive's);
/// `None` for `SA_AMF_INTERNALLY_RECOVERED` (nothing for AMF to do).
pub fn recovery_from_a(a: u32) -> AisResult<Option<u32>> {
    Ok(Some(match a {
        1 => wire::NO_RECOMMENDATION,
        2 => return Ok(None),
        3 => wire::COMPONENT_RESTART,
        4 => wire::COMPONENT_FAILOVER,
        5 => wire::NODE_SWITCHOVER,
        6 => wire::NODE_FAILOVER,
        7 => wire::NODE_FAILFAST,
        8 => wire::CLUSTER_RESET,
        _ => return Err(AisError::INVALID_PARAM),
    }))
}

pub fn initialize(version: &mut Version, callbacks: Callbacks) -> AisResult<u64> {
    AMF_A.initialize(version, AmfAState { callbacks })
}

pub fn selection_object(handle: u64) -> AisResult<u64> {
    AMF_A.selection_object(handle)
}

pub fn dispatch(handle: u64, flags: AisResult<DispatchFlags>) -> AisResult<()> {
    AMF_A.dispatch(handle, flags, deliver)
}

pub fn finalize(handle: u64) -> AisResult<()> {
    AMF_A.finalize(handle)?;
    invocations().retain(|_, h| *h != handle);
    Ok(())
}

fn deliver(instance: &Instance<AmfAState>, id: u32, body: &[u8]) -> AisResult<()> {
    let cb = Callback::decode(id, body).map_err(|_| AisError::LIBRARY)?;
    let callbacks = &instance.state.callbacks;
    let handle = instance.handle;
    match cb {
        Callback::CsiSet { invocation, comp, ha, csi } => {
            remember(invocation, handle);
            if let Some(f) = &callbacks.csi_set {
                f(invocation, &comp, ha, &csi);
            }
        }
        Callback::CsiRemove { invocation, comp, csi, flags } => {
            remember(invocation, handle);
            if let Some(f) = &callbacks.csi_remove {
                f(invocation, &comp, &csi, flags);
            }
        }
        Callback::Healthcheck { invocation, comp, .. } => {
            remember(invocation, handle);
            if let Some(f) = &callbacks.healthcheck {
                f(invocation, &comp);
            }
        }
        Callback::Terminate { invocation, comp } => {
            remember(invocation, handle);
            if let Some(f) = &callbacks.terminate {
                f(invocation, &comp);
            }
        }
        Callback::Readiness { invocation, comp, state } => {
            remember(invocation, handle);
            if let Some(f) = &callbacks.readiness {
                f(invocation, &comp, state);
            }
        }
        Callback::PgChanged { csi, members, notification } => {
            if let Some(f) = &callbacks.pg_track {
                f(handle, &csi, &notification, members);
            }
        }
    }
    Ok(())
}

fn call(handle: u64, req: Request) -> AisResult<Vec<u8>> {
    AMF_A.get(handle)?.conn.request(req.id(), &req.encode())
}

/// A request of a function without a handle: on an open handle's
/// connection, else on one opened for it.
fn call_any(req: Request) -> AisResult<Vec<u8>> {
    if let Some((_, instance)) = AMF_A.handles().entries().into_iter().next() {
        return instance.conn.request(req.id(), &req.encode());
    }
    let conn = Connection::open(ais_ipc::service::AMF)?;
    let answer = conn.request(req.id(), &req.encode());
    conn.close();
    answer
}

/// `saAmfComponentRegister`: only SA-aware components registering
/// themselves (`proxy` None); they must have given the readiness, CSI set
/// and CSI remove callbacks (`INIT` otherwise).
pub fn component_register(handle: u64, comp: &[u8], proxy: Option<&[u8]>) -> AisResult<()> {
    let instance = AMF_A.get(handle)?;
    let cb = &instance.state.callbacks;
    if cb.csi_set.is_none() || cb.csi_remove.is_none() || cb.readiness.is_none() {
        return Err(AisError::INIT);
    }
    if proxy.is_some() {
        return Err(AisError::INVALID_PARAM);
    }
    call(handle, Request::RegisterA { comp: comp.to_vec() }).map(drop)
}

pub fn component_unregister(handle: u64, comp: &[u8], proxy: Option<&[u8]>) -> AisResult<()> {
    AMF_A.get(handle)?;
    if proxy.is_some() {
        return Err(AisError::INVALID_PARAM);
    }
    call(handle, Request::Unregister { comp: comp.to_vec() }).map(drop)
}

/// `saAmfCompNameGet`: `SA_AMF_COMPONENT_NAME` of this process.
pub fn comp_name_get(handle: u64) -> AisResult<Vec<u8>> {
    AMF_A.get(handle)?;
    let name = std::env::var_os(super::COMPONENT_NAME_ENV).ok_or(AisError::NOT_EXIST)?;
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(name.as_os_str()).to_vec();
    if bytes.len() > wire::MAX_NAME {
        return Err(AisError::NAME_TOO_LONG);
    }
    Ok(bytes)
}

/// What the executive says of a configured component: (readiness,
/// capability model); `NOT_EXIST` for one it does not know.
fn comp_info(comp: &[u8]) -> AisResult<(u32, u32)> {
    let answer = call_any(Request::CompInfo { comp: comp.to_vec() })?;
    let mut r = ais_ipc::Reader::new(&answer);
    let info = (r.u32("readiness"), r.u32("capability"));
    r.finish().map_err(|_| AisError::LIBRARY)?;
    match info {
        (Ok(readiness), Ok(capability)) => Ok((readiness, capability)),
        _ => Err(AisError::LIBRARY),
    }
}

pub fn readiness_state_get(comp: &[u8]) -> AisResult<u32> {
    comp_info(comp).map(|(readiness, _)| readiness)
}

pub fn capability_model_get(comp: &[u8]) -> AisResult<u32> {
    comp_info(comp).map(|(_, capability)| capability)
}

/// `saAmfPendingOperationGet`: this AMF runs no switchover or shutdown
/// operation, so a configured component has none pending (0).
pub fn pending_operation_get(comp: &[u8]) -> AisResult<u32> {
    comp_info(comp).map(|_| 0)
}

pub fn ha_state_get(comp: &[u8], csi: &[u8]) -> AisResult<u32> {
    let answer = call_any(Request::HaStateGet { comp: comp.to_vec(), csi: csi.to_vec() })?;
    let bytes: [u8; 4] = answer.as_slice().try_into().map_err(|_| AisError::LIBRARY)?;
    Ok(u32::from_le_bytes(bytes))
}

/// `saAmfResponse`: `result` already a B.01.01 code (the A codes of a
/// callback's answer, `SA_OK` and the errors up to 16, are the same).
/// An invocation no callback of this process carried is `INVALID_PARAM`.
pub fn response(invocation: u64, result: u32) -> AisResult<()> {
    let handle = invocations().get(&invocation).copied().ok_or(AisError::INVALID_PARAM)?;
    let answer = call(handle, Request::Response { invocation, error: result });
    if !matches!(answer, Err(AisError::TRY_AGAIN)) {
        invocations().remove(&invocation);
    }
    answer.map(drop)
}

/// `saAmfStoppingComplete`: this AMF never asks a component to stop
/// (readiness STOPPING), so no invocation is a stopping one.
pub fn stopping_complete(invocation: u64, _result: u32) -> AisResult<()> {
    let handle = invocations().get(&invocation).copied().ok_or(AisError::INVALID_PARAM)?;
    call(handle, Request::QuiescingDone { invocation, error: ais_ipc::error::OK }).map(drop)
}

/// `saAmfErrorReport` of `comp`, with the A.01.01 recommended recovery
/// (`INVALID_PARAM` if it is not one). `SA_AMF_INTERNALLY_RECOVERED`: the
/// component must exist, nothing else is done.
pub fn error_report(comp: &[u8], time: i64, recovery_a: u32) -> AisResult<()> {
    match recovery_from_a(recovery_a)? {
        None => comp_info(comp).map(drop),
        Some(recovery) => call_any(Request::ErrorReport { comp: comp.to_vec(), time, recovery }).map(drop),
    }
}

/// `saAmfErrorCancelAll`: `NOT_EXIST` unless the component is registered.
pub fn error_cancel_all(comp: &[u8]) -> AisResult<()> {
    call_any(Request::ErrorClear { comp: comp.to_vec() }).map(drop)
}

/// `saAmfProtectionGroupTrackStart`: the current members (with
/// `SA_TRACK_CURRENT`) and the changes come through the track callback,
/// which the C side gives the caller's buffer.
pub fn protection_group_track_start(handle: u64, csi: &[u8], flags: u8) -> AisResult<()> {
    let instance = AMF_A.get(handle)?;
    let known = wire::TRACK_CURRENT | wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY;
    let both = wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY;
    if flags == 0 || flags & !known != 0 || flags & both == both {
        return Err(AisError::BAD_FLAGS);
    }
    if instance.state.callbacks.pg_track.is_none() {
        return Err(AisError::INIT);
    }
    let req = Request::PgTrack { csi: csi.to_vec(), flags, by_callback: true };
    instance.conn.request(req.id(), &req.encode()).map(drop)
}

pub fn protection_group_track_stop(handle: u64, csi: &[u8]) -> AisResult<()> {
    call(handle, Request::PgTrackStop { csi: csi.to_vec() }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recoveries_map_to_b_ones() {
        assert_eq!(recovery_from_a(1), Ok(Some(wire::NO_RECOMMENDATION)));
        assert_eq!(recovery_from_a(2), Ok(None));
        assert_eq!(recovery_from_a(3), Ok(Some(wire::COMPONENT_RESTART)));
        assert_eq!(recovery_from_a(4), Ok(Some(wire::COMPONENT_FAILOVER)));
        assert_eq!(recovery_from_a(8), Ok(Some(wire::CLUSTER_RESET)));
        assert_eq!(recovery_from_a(0), Err(AisError::INVALID_PARAM));
        assert_eq!(recovery_from_a(9), Err(AisError::INVALID_PARAM));
    }

    #[test]
    fn a_handle_is_bad_for_unknown_calls_and_invocations_are_bounded() {
        assert_eq!(selection_object(12345), Err(AisError::BAD_HANDLE));
        assert_eq!(response(u64::MAX, 1), Err(AisError::INVALID_PARAM));
        for i in 0..(MAX_INVOCATIONS as u64 + 10) {
            remember(1 << 40 | i, 7);
        }
        assert!(invocations().len() <= MAX_INVOCATIONS);
        assert!(!invocations().contains_key(&(1 << 40)));
        invocations().retain(|_, h| *h != 7);
    }
}
