//! `libSaAmf`: the availability management API (AIS AMF B.01.01) over
//! the shared runtime, in Rust types. The C side (arguments, the C
//! structs, the application's callbacks) is `abi/sa_amf.rs`; the messages
//! are in `ais_ipc::amf`; the service in the executive's `services/amf/`.
//!
//! Decided here rather than in the executive: checks that need only the
//! call's arguments and the handle's callbacks (a component registers only
//! with the CSI set, CSI remove and terminate callbacks given, else
//! `SA_AIS_ERR_INIT`; an AMF-invoked healthcheck needs the healthcheck
//! callback), and `saAmfComponentNameGet`, which reads the
//! `SA_AMF_COMPONENT_NAME` environment variable the executive sets for
//! the components it instantiates (`SA_AIS_ERR_NOT_EXIST` when unset).

#![forbid(unsafe_code)]

pub mod a;

use ais_ipc::amf::{self as wire, Callback, Request};
pub use ais_ipc::amf::{CsiDescriptor, Member};

use crate::error::{AisError, AisResult};
use crate::runtime::{DispatchFlags, Instance, Library, Version, version};

/// `saAmfCSISetCallback`: (invocation, component, HA state, descriptor).
pub type CsiSetFn = Box<dyn Fn(u64, &[u8], u32, &CsiDescriptor) + Send + Sync>;
/// `saAmfCSIRemoveCallback`: (invocation, component, CSI, flags).
pub type CsiRemoveFn = Box<dyn Fn(u64, &[u8], &[u8], u32) + Send + Sync>;
/// `saAmfComponentTerminateCallback`: (invocation, component).
pub type TerminateFn = Box<dyn Fn(u64, &[u8]) + Send + Sync>;
/// `saAmfHealthcheckCallback`: (invocation, component, key).
pub type HealthcheckFn = Box<dyn Fn(u64, &[u8], &[u8]) + Send + Sync>;
/// `saAmfProtectionGroupTrackCallback`: (CSI, notification, number of
/// members).
pub type PgTrackFn = Box<dyn Fn(&[u8], &[Member], u32) + Send + Sync>;

/// The application's callbacks (`None`: not given).
#[derive(Default)]
pub struct Callbacks {
    pub healthcheck: Option<HealthcheckFn>,
    pub csi_set: Option<CsiSetFn>,
    pub csi_remove: Option<CsiRemoveFn>,
    pub pg_track: Option<PgTrackFn>,
    pub terminate: Option<TerminateFn>,
}

/// Who is to run a healthcheck (`SaAmfHealthcheckInvocationT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthcheckBy {
    Amf,
    Component,
}

/// Per handle: the callbacks given to `saAmfInitialize`.
pub struct AmfState {
    callbacks: Callbacks,
}

static AMF: Library<AmfState> = Library::new(ais_ipc::service::AMF, &[version(b'B', 1, 1)]);

/// The environment variable naming the component a process is.
pub const COMPONENT_NAME_ENV: &str = "SA_AMF_COMPONENT_NAME";

pub fn initialize(version: &mut Version, callbacks: Callbacks) -> AisResult<u64> {
    AMF.initialize(version, AmfState { callbacks })
}

pub fn selection_object(handle: u64) -> AisResult<u64> {
    AMF.selection_object(handle)
}

pub fn dispatch(handle: u64, flags: AisResult<DispatchFlags>) -> AisResult<()> {
    AMF.dispatch(handle, flags, deliver)
}

pub fn finalize(handle: u64) -> AisResult<()> {
    AMF.finalize(handle).map(drop)
}

fn deliver(instance: &Instance<AmfState>, id: u32, body: &[u8]) -> AisResult<()> {
    let cb = Callback::decode(id, body).map_err(|_| AisError::LIBRARY)?;
    let callbacks = &instance.state.callbacks;
    match cb {
        Callback::CsiSet { invocation, comp, ha, csi } => {
            if let Some(f) = &callbacks.csi_set {
                f(invocation, &comp, ha, &csi);
            }
        }
        Callback::CsiRemove { invocation, comp, csi, flags } => {
            if let Some(f) = &callbacks.csi_remove {
                f(invocation, &comp, &csi, flags);
            }
        }
        Callback::Healthcheck { invocation, comp, key } => {
            if let Some(f) = &callbacks.healthcheck {
                f(invocation, &comp, &key);
            }
        }
        Callback::PgChanged { csi, members, notification } => {
            if let Some(f) = &callbacks.pg_track {
                f(&csi, &notification, members);
            }
        }
        Callback::Terminate { invocation, comp } => {
            if let Some(f) = &callbacks.terminate {
                f(invocation, &comp);
            }
        }
        // Only A.01.01 components are sent readiness callbacks.
        Callback::Readiness { .. } => {}
    }
    Ok(())
}

fn call(handle: u64, req: Request) -> AisResult<Vec<u8>> {
    AMF.get(handle)?.conn.request(req.id(), &req.encode())
}

/// `saAmfComponentRegister`; a proxy is not supported (`proxy` must be
/// `None`: only SA-aware components that register themselves).
pub fn component_register(handle: u64, comp: &[u8], proxy: Option<&[u8]>) -> AisResult<()> {
    let instance = AMF.get(handle)?;
    let cb = &instance.state.callbacks;
    if cb.csi_set.is_none() || cb.csi_remove.is_none() || cb.terminate.is_none() {
        return Err(AisError::INIT);
    }
    if proxy.is_some() {
        return Err(AisError::INVALID_PARAM);
    }
    call(handle, Request::Register { comp: comp.to_vec() }).map(drop)
}

pub fn component_unregister(handle: u64, comp: &[u8], proxy: Option<&[u8]>) -> AisResult<()> {
    AMF.get(handle)?;
    if proxy.is_some() {
        return Err(AisError::INVALID_PARAM);
    }
    call(handle, Request::Unregister { comp: comp.to_vec() }).map(drop)
}

/// `saAmfComponentNameGet`: this process's component name, from its
/// environment.
pub fn component_name_get(handle: u64) -> AisResult<Vec<u8>> {
    AMF.get(handle)?;
    let name = std::env::var_os(COMPONENT_NAME_ENV).ok_or(AisError::NOT_EXIST)?;
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(name.as_os_str()).to_vec();
    if bytes.len() > wire::MAX_NAME {
        return Err(AisError::NAME_TOO_LONG);
    }
    Ok(bytes)
}

pub fn ha_state_get(handle: u64, comp: &[u8], csi: &[u8]) -> AisResult<u32> {
    let answer = call(handle, Request::HaStateGet { comp: comp.to_vec(), csi: csi.to_vec() })?;
    let bytes: [u8; 4] = answer.as_slice().try_into().map_err(|_| AisError::LIBRARY)?;
    Ok(u32::from_le_bytes(bytes))
}

/// `saAmfResponse`: `result` is the application's `SaAisErrorT`.
pub fn response(handle: u64, invocation: u64, result: u32) -> AisResult<()> {
    call(handle, Request::Response { invocation, error: result }).map(drop)
}

/// `saAmfHealthcheckStart`; `recovery` already checked to be a
/// `SaAmfRecommendedRecoveryT`.
pub fn healthcheck_start(handle: u64, comp: &[u8], key: &[u8], by: HealthcheckBy, recovery: u32) -> AisResult<()> {
    let instance = AMF.get(handle)?;
    if by == HealthcheckBy::Amf && instance.state.callbacks.healthcheck.is_none() {
        return Err(AisError::INIT);
    }
    let invocation_type = match by {
        HealthcheckBy::Amf => wire::HC_AMF_INVOKED,
        HealthcheckBy::Component => wire::HC_COMPONENT_INVOKED,
    };
    call(handle, Request::HcStart { comp: comp.to_vec(), key: key.to_vec(), invocation_type, recovery }).map(drop)
}

pub fn healthcheck_confirm(handle: u64, comp: &[u8], key: &[u8], result: u32) -> AisResult<()> {
    call(handle, Request::HcConfirm { comp: comp.to_vec(), key: key.to_vec(), result }).map(drop)
}

pub fn healthcheck_stop(handle: u64, comp: &[u8], key: &[u8]) -> AisResult<()> {
    call(handle, Request::HcStop { comp: comp.to_vec(), key: key.to_vec() }).map(drop)
}

/// `saAmfComponentErrorReport` (the notification id is not used: there
/// is no notification service).
pub fn component_error_report(handle: u64, comp: &[u8], time: i64, recovery: u32) -> AisResult<()> {
    call(handle, Request::ErrorReport { comp: comp.to_vec(), time, recovery }).map(drop)
}

/// `saAmfComponentErrorClear`: `NOT_EXIST` unless the component is
/// registered.
pub fn component_error_clear(handle: u64, comp: &[u8]) -> AisResult<()> {
    call(handle, Request::ErrorClear { comp: comp.to_vec() }).map(drop)
}

/// `saAmfCSIQuiescingComplete`: this AMF never assigns QUIESCING, so no
/// invocation is a quiescing one (`INVALID_PARAM`).
pub fn csi_quiescing_complete(handle: u64, invocation: u64, result: u32) -> AisResult<()> {
    call(handle, Request::QuiescingDone { invocation, error: result }).map(drop)
}

/// `saAmfPmStart`: the process itself is monitored (whatever the
/// descendants depth); any end of it is an error of the component when
/// `errors` has any bit (its exit status is not visible to the executive).
pub fn pm_start(handle: u64, comp: &[u8], pid: u64, depth: i32, errors: u32, recovery: u32) -> AisResult<()> {
    call(handle, Request::PmStart { comp: comp.to_vec(), pid, depth, errors, recovery }).map(drop)
}

pub fn pm_stop(handle: u64, comp: &[u8], qualifier: u32, pid: i64, errors: u32) -> AisResult<()> {
    if errors == 0 || errors & !wire::PM_ERRORS != 0 {
        return Err(AisError::INVALID_PARAM);
    }
    call(handle, Request::PmStop { comp: comp.to_vec(), qualifier, pid, errors }).map(drop)
}

/// Where `SA_TRACK_CURRENT` is to put the current members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembersInto {
    /// No buffer: the track callback delivers them.
    Callback,
    /// The caller's array, with room for this many.
    Array(u32),
    /// An array the library allocates.
    Allocated,
}

/// What `saAmfProtectionGroupTrack` brings back for the caller's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackReply {
    Nothing,
    Members(Vec<Member>),
    /// The caller's array is too small: this many are needed.
    NoSpace(u32),
}

pub fn protection_group_track(handle: u64, csi: &[u8], flags: u8, into: MembersInto) -> AisResult<TrackReply> {
    let instance = AMF.get(handle)?;
    let known = wire::TRACK_CURRENT | wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY;
    let both = wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY;
    if flags == 0 || flags & !known != 0 || flags & both == both {
        return Err(AisError::BAD_FLAGS);
    }
    let current = flags & wire::TRACK_CURRENT != 0;
    let changes = flags & (wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY) != 0;
    let by_callback = current && into == MembersInto::Callback;
    if (changes || by_callback) && instance.state.callbacks.pg_track.is_none() {
        return Err(AisError::INIT);
    }
    let req = Request::PgTrack { csi: csi.to_vec(), flags, by_callback };
    let answer = instance.conn.request(req.id(), &req.encode())?;
    let mut r = ais_ipc::Reader::new(&answer);
    let members = wire::read_members(&mut r).map_err(|_| AisError::LIBRARY)?;
    r.finish().map_err(|_| AisError::LIBRARY)?;
    Ok(match into {
        _ if !current || by_callback => TrackReply::Nothing,
        MembersInto::Array(room) if (room as usize) < members.len() => TrackReply::NoSpace(members.len() as u32),
        _ => TrackReply::Members(members),
    })
}

pub fn protection_group_track_stop(handle: u64, csi: &[u8]) -> AisResult<()> {
    call(handle, Request::PgTrackStop { csi: csi.to_vec() }).map(drop)
}
