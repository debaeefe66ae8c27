//! Availability management, A.01.01: `ais_amf.h` (openais <= 0.70.1).
//!
//! Owns: the C side of the 17 A.01.01 functions and the Rust form of the
//! types they take (names, values and layout as in the hand-written
//! `include/corosync/ais_amf.h`; cbindgen does not read this file). Each
//! function is exported as `aisAmfA_<name>`; the link step binds that to
//! `<name>@OPENAIS_AMF_A.01.01` (`rust/capi/symbols/OPENAIS_AMF_A.01.01`),
//! and the header binds the program's calls to the same versioned name.
//!
//! A.01.01 returns `SaErrorT`, whose values differ from `SaAisErrorT`
//! from 17 on: the service's errors are translated ([`a_code`]).
//!
//! Must not: hold service logic (that is `crate::amf::a`).

#![allow(clippy::missing_safety_doc)]

use core::ffi::{c_char, c_uint};
use std::collections::BTreeMap;
use std::sync::Mutex;

use super::convert::{dispatch_flags, name_bytes, name_from_bytes, out, try_ref};
use super::sa_ais::*;
use crate::amf::a::{self as amf_a, CsiDescriptor, Member};
use crate::error::{AisError, AisResult};
use crate::runtime::Version;

/// `SaErrorT`: an integer (the header's enum).
pub type SaErrorT = c_uint;
pub type SaAmfHandleT = SaUint64T;
pub type SaAmfHealthcheckT = c_uint;
pub type SaAmfReadinessStateT = c_uint;
pub type SaAmfHAStateT = c_uint;
pub type SaAmfComponentCapabilityModelT = c_uint;
pub type SaAmfCSIFlagsT = SaUint32T;
pub type SaAmfCSITransitionDescriptorT = c_uint;
pub type SaAmfExternalComponentActionT = c_uint;
pub type SaAmfPendingOperationFlagsT = SaUint32T;
pub type SaAmfProtectionGroupChangesT = c_uint;
pub type SaAmfRecommendedRecoveryT = c_uint;

pub const SA_OK: SaErrorT = 1;
pub const SA_ERR_LIBRARY: SaErrorT = 2;
pub const SA_ERR_NO_SPACE: SaErrorT = 15;
pub const SA_AMF_HEARTBEAT: SaAmfHealthcheckT = 1;
pub const SA_AMF_CSI_ADD_NEW_ISTANCE: SaAmfCSIFlagsT = 0x01;
pub const SA_AMF_CSI_ALL_INSTANCES: SaAmfCSIFlagsT = 0x02;
pub const SA_AMF_CSI_NEW_ASSIGN: SaAmfCSITransitionDescriptorT = 1;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfProtectionGroupMemberT {
    pub compName: SaNameT,
    pub readinessState: SaAmfReadinessStateT,
    pub haState: SaAmfHAStateT,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfProtectionGroupNotificationT {
    pub member: SaAmfProtectionGroupMemberT,
    pub change: SaAmfProtectionGroupChangesT,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfErrorDescriptorT {
    pub errorReportType: c_uint,
    pub probableCause: c_uint,
    pub errorImpactAndSeverity: c_uint,
    pub recommendedRecovery: SaAmfRecommendedRecoveryT,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfErrorBufferT {
    pub buffer: *mut c_char,
    pub size: SaSizeT,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfAdditionalDataT {
    pub specificProblem: *mut SaAmfErrorBufferT,
    pub additionalText: *mut SaAmfErrorBufferT,
    pub additionalInformation: *mut SaAmfErrorBufferT,
}

pub type SaAmfHealthcheckCallbackT =
    Option<unsafe extern "C" fn(invocation: SaInvocationT, compName: *const SaNameT, checkType: SaAmfHealthcheckT)>;
pub type SaAmfReadinessStateSetCallbackT = Option<
    unsafe extern "C" fn(invocation: SaInvocationT, compName: *const SaNameT, readinessState: SaAmfReadinessStateT),
>;
pub type SaAmfComponentTerminateCallbackT =
    Option<unsafe extern "C" fn(invocation: SaInvocationT, compName: *const SaNameT)>;
pub type SaAmfCSISetCallbackT = Option<
    unsafe extern "C" fn(
        invocation: SaInvocationT,
        compName: *const SaNameT,
        csiName: *const SaNameT,
        csiFlags: SaAmfCSIFlagsT,
        haState: *mut SaAmfHAStateT,
        activeCompName: *mut SaNameT,
        transitionDescriptor: SaAmfCSITransitionDescriptorT,
    ),
>;
pub type SaAmfCSIRemoveCallbackT = Option<
    unsafe extern "C" fn(
        invocation: SaInvocationT,
        compName: *const SaNameT,
        csiName: *const SaNameT,
        csiFlags: *const SaAmfCSIFlagsT,
    ),
>;
pub type SaAmfProtectionGroupTrackCallbackT = Option<
    unsafe extern "C" fn(
        csiName: *const SaNameT,
        notificationBuffer: *mut SaAmfProtectionGroupNotificationT,
        numberOfItems: SaUint32T,
        numberOfMembers: SaUint32T,
        error: SaErrorT,
    ),
>;
pub type SaAmfExternalComponentRestartCallbackT =
    Option<unsafe extern "C" fn(invocation: SaInvocationT, externalCompName: *const SaNameT)>;
pub type SaAmfExternalComponentControlCallbackT = Option<
    unsafe extern "C" fn(
        invocation: SaInvocationT,
        externalCompName: *const SaNameT,
        controlAction: SaAmfExternalComponentActionT,
    ),
>;
pub type SaAmfPendingOperationConfirmCallbackT = Option<
    unsafe extern "C" fn(
        invocation: SaInvocationT,
        compName: *const SaNameT,
        pendingOperationFlags: SaAmfPendingOperationFlagsT,
    ),
>;
pub type SaAmfPendingOperationExpiredCallbackT =
    Option<unsafe extern "C" fn(compName: *const SaNameT, pendingOperationFlags: SaAmfPendingOperationFlagsT)>;

/// The A.01.01 callbacks, in the header's order.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfCallbacksT {
    pub saAmfHealthcheckCallback: SaAmfHealthcheckCallbackT,
    pub saAmfReadinessStateSetCallback: SaAmfReadinessStateSetCallbackT,
    pub saAmfComponentTerminateCallback: SaAmfComponentTerminateCallbackT,
    pub saAmfCSISetCallback: SaAmfCSISetCallbackT,
    pub saAmfCSIRemoveCallback: SaAmfCSIRemoveCallbackT,
    pub saAmfProtectionGroupTrackCallback: SaAmfProtectionGroupTrackCallbackT,
    pub saAmfExternalComponentRestartCallback: SaAmfExternalComponentRestartCallbackT,
    pub saAmfExternalComponentControlCallback: SaAmfExternalComponentControlCallbackT,
    pub saAmfPendingOperationConfirmCallback: SaAmfPendingOperationConfirmCallbackT,
    pub saAmfPendingOperationExpiredCallback: SaAmfPendingOperationExpiredCallbackT,
}

/// The `SaErrorT` of a result: the codes up to 16 are those of
/// `SaAisErrorT`; above, the A.01.01 numbering.
fn a_code(result: AisResult<()>) -> SaErrorT {
    let Err(AisError(code)) = result else { return SA_OK };
    match code {
        1..=16 => code,
        17 => 18,            // NAME_NOT_FOUND
        18..=22 => code + 1, // NO_RESOURCES .. MESSAGE_ERROR
        23 | 24 => code + 2, // QUEUE_FULL, QUEUE_NOT_AVAILABLE
        25 => 28,            // BAD_FLAGS
        _ => SA_ERR_LIBRARY,
    }
}

/// The `SaErrorT` an application answers with, as the executive takes it
/// (`SA_OK` is OK; any error is a failure, whatever its number).
fn result_from_a(error: SaErrorT) -> u32 {
    if error == SA_OK { ais_ipc::error::OK } else { ais_ipc::error::FAILED_OPERATION }
}

/// The caller's `SaVersionT` is `const` in A.01.01: it is read, never
/// written back.
fn read_version(v: &SaVersionT) -> Version {
    Version { release: v.releaseCode as u8, major: v.majorVersion, minor: v.minorVersion }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfInitialize(
    amfHandle: *mut SaAmfHandleT,
    amfCallbacks: *const SaAmfCallbacksT,
    version: *const SaVersionT,
) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| {
            let mut v = read_version(try_ref!(version)?);
            let handle = out!(amfHandle)?;
            let callbacks = if amfCallbacks.is_null() {
                amf_a::Callbacks::default()
            } else {
                callbacks(try_ref!(amfCallbacks)?)
            };
            handle.write(amf_a::initialize(&mut v, callbacks)?);
            Ok(())
        })())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfSelectionObjectGet(
    amfHandle: *const SaAmfHandleT,
    selectionObject: *mut SaSelectionObjectT,
) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| {
            let handle = *try_ref!(amfHandle)?;
            let out = out!(selectionObject)?;
            out.write(amf_a::selection_object(handle)?);
            Ok(())
        })())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfDispatch(
    amfHandle: *const SaAmfHandleT,
    dispatchFlags: SaDispatchFlagsT,
) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| amf_a::dispatch(*try_ref!(amfHandle)?, dispatch_flags(dispatchFlags)))())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfFinalize(amfHandle: *const SaAmfHandleT) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| {
            let handle = *try_ref!(amfHandle)?;
            amf_a::finalize(handle)?;
            trackers().retain(|(h, _), _| *h != handle);
            Ok(())
        })())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfComponentRegister(
    amfHandle: *const SaAmfHandleT,
    compName: *const SaNameT,
    proxyCompName: *const SaNameT,
) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| {
            let handle = *try_ref!(amfHandle)?;
            let comp = name_bytes!(compName)?;
            let proxy = if proxyCompName.is_null() { None } else { Some(name_bytes!(proxyCompName)?) };
            amf_a::component_register(handle, comp, proxy)
        })())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfComponentUnregister(
    amfHandle: *const SaAmfHandleT,
    compName: *const SaNameT,
    proxyCompName: *const SaNameT,
) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| {
            let handle = *try_ref!(amfHandle)?;
            let comp = name_bytes!(compName)?;
            let proxy = if proxyCompName.is_null() { None } else { Some(name_bytes!(proxyCompName)?) };
            amf_a::component_unregister(handle, comp, proxy)
        })())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfCompNameGet(amfHandle: *const SaAmfHandleT, compName: *mut SaNameT) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| {
            let handle = *try_ref!(amfHandle)?;
            let out = out!(compName)?;
            out.write(name_from_bytes(&amf_a::comp_name_get(handle)?)?);
            Ok(())
        })())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfReadinessStateGet(
    compName: *const SaNameT,
    readinessState: *mut SaAmfReadinessStateT,
) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| {
            let comp = name_bytes!(compName)?;
            let out = out!(readinessState)?;
            out.write(amf_a::readiness_state_get(comp)?);
            Ok(())
        })())
    })
}

/// This AMF never sets a component STOPPING: every invocation is
/// `SA_ERR_INVALID_PARAM`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfStoppingComplete(invocation: SaInvocationT, error: SaErrorT) -> SaErrorT {
    crate::boundary!(-> SaErrorT { a_code(amf_a::stopping_complete(invocation, result_from_a(error))) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfHAStateGet(
    compName: *const SaNameT,
    csiName: *const SaNameT,
    haState: *mut SaAmfHAStateT,
) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| {
            let comp = name_bytes!(compName)?;
            let csi = name_bytes!(csiName)?;
            let out = out!(haState)?;
            out.write(amf_a::ha_state_get(comp, csi)?);
            Ok(())
        })())
    })
}

/// The members and changes come through the track callback, written into
/// `notificationBuffer` (at most `numberOfItems`; more members:
/// `SA_ERR_NO_SPACE` in the callback). A NULL buffer: the callback gets
/// an array of the library's, valid while it runs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfProtectionGroupTrackStart(
    amfHandle: *const SaAmfHandleT,
    csiName: *const SaNameT,
    trackFlags: SaUint8T,
    notificationBuffer: *const SaAmfProtectionGroupNotificationT,
    numberOfItems: SaUint32T,
) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| {
            let handle = *try_ref!(amfHandle)?;
            let csi = name_bytes!(csiName)?;
            let buffer = Buffer { at: notificationBuffer as usize, items: numberOfItems };
            // Known before the current members can arrive.
            let key = (handle, csi.to_vec());
            let before = trackers().insert(key.clone(), buffer);
            let result = amf_a::protection_group_track_start(handle, csi, trackFlags);
            if result.is_err() {
                match before {
                    Some(b) => trackers().insert(key, b),
                    None => trackers().remove(&key),
                };
            }
            result
        })())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfProtectionGroupTrackStop(
    amfHandle: *const SaAmfHandleT,
    csiName: *const SaNameT,
) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| {
            let handle = *try_ref!(amfHandle)?;
            let csi = name_bytes!(csiName)?;
            amf_a::protection_group_track_stop(handle, csi)?;
            trackers().remove(&(handle, csi.to_vec()));
            Ok(())
        })())
    })
}

/// The erroneous component's recovery is the descriptor's recommended
/// one; `reportingComponent` must be a valid name, `additionalData` may
/// be NULL (it is not kept: there is no notification service).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfErrorReport(
    reportingComponent: *const SaNameT,
    erroneousComponent: *const SaNameT,
    errorDetectionTime: SaTimeT,
    errorDescriptor: *const SaAmfErrorDescriptorT,
    additionalData: *const SaAmfAdditionalDataT,
) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| {
            let _unused = additionalData;
            name_bytes!(reportingComponent)?;
            let comp = name_bytes!(erroneousComponent)?;
            let descriptor = try_ref!(errorDescriptor)?;
            amf_a::error_report(comp, errorDetectionTime, descriptor.recommendedRecovery)
        })())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfErrorCancelAll(compName: *const SaNameT) -> SaErrorT {
    crate::boundary!(-> SaErrorT { a_code((|| amf_a::error_cancel_all(name_bytes!(compName)?))()) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfComponentCapabilityModelGet(
    compName: *const SaNameT,
    componentCapabilityModel: *mut SaAmfComponentCapabilityModelT,
) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| {
            let comp = name_bytes!(compName)?;
            let out = out!(componentCapabilityModel)?;
            out.write(amf_a::capability_model_get(comp)?);
            Ok(())
        })())
    })
}

/// This AMF runs no switchover or shutdown: 0 for a configured component.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfPendingOperationGet(
    compName: *const SaNameT,
    pendingOperationFlags: *mut SaAmfPendingOperationFlagsT,
) -> SaErrorT {
    crate::boundary!(-> SaErrorT {
        a_code((|| {
            let comp = name_bytes!(compName)?;
            let out = out!(pendingOperationFlags)?;
            out.write(amf_a::pending_operation_get(comp)?);
            Ok(())
        })())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aisAmfA_saAmfResponse(invocation: SaInvocationT, error: SaErrorT) -> SaErrorT {
    crate::boundary!(-> SaErrorT { a_code(amf_a::response(invocation, result_from_a(error))) })
}

// ---------------------------------------------------------------------
// Callbacks and the protection group buffers.

/// The buffer a tracking's callbacks write into (address; 0: none).
#[derive(Clone, Copy)]
struct Buffer {
    at: usize,
    items: u32,
}

/// (handle, CSI) -> the caller's buffer of `saAmfProtectionGroupTrackStart`.
static TRACKERS: Mutex<BTreeMap<(u64, Vec<u8>), Buffer>> = Mutex::new(BTreeMap::new());

fn trackers() -> std::sync::MutexGuard<'static, BTreeMap<(u64, Vec<u8>), Buffer>> {
    TRACKERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// B.01.01 CSI flags (`wire`) to A.01.01 ones.
fn csi_flags(b: u32) -> SaAmfCSIFlagsT {
    let mut a = 0;
    if b & ais_ipc::amf::CSI_ADD_ONE != 0 {
        a |= SA_AMF_CSI_ADD_NEW_ISTANCE;
    }
    if b & ais_ipc::amf::CSI_TARGET_ALL != 0 {
        a |= SA_AMF_CSI_ALL_INSTANCES;
    }
    a
}

fn notification(m: &Member) -> AisResult<SaAmfProtectionGroupNotificationT> {
    Ok(SaAmfProtectionGroupNotificationT {
        member: SaAmfProtectionGroupMemberT {
            compName: name_from_bytes(&m.comp)?,
            // A member is assigned, hence in service.
            readinessState: ais_ipc::amf::READINESS_IN_SERVICE,
            haState: m.ha,
        },
        change: m.change,
    })
}

fn callbacks(c: &SaAmfCallbacksT) -> amf_a::Callbacks {
    let healthcheck = c.saAmfHealthcheckCallback.map(|f| -> amf_a::HealthcheckFn {
        Box::new(move |invocation, comp| {
            let Ok(name) = name_from_bytes(comp) else { return };
            // SAFETY: the application's callback, of the header's type;
            // the name lives until it returns.
            unsafe { f(invocation, &name, SA_AMF_HEARTBEAT) }
        })
    });
    let readiness = c.saAmfReadinessStateSetCallback.map(|f| -> amf_a::ReadinessFn {
        Box::new(move |invocation, comp, state| {
            let Ok(name) = name_from_bytes(comp) else { return };
            // SAFETY: the application's callback, of the header's type.
            unsafe { f(invocation, &name, state) }
        })
    });
    let terminate = c.saAmfComponentTerminateCallback.map(|f| -> amf_a::TerminateFn {
        Box::new(move |invocation, comp| {
            let Ok(name) = name_from_bytes(comp) else { return };
            // SAFETY: the application's callback, of the header's type.
            unsafe { f(invocation, &name) }
        })
    });
    let csi_set = c.saAmfCSISetCallback.map(|f| -> amf_a::CsiSetFn {
        Box::new(move |invocation, comp, ha, d: &CsiDescriptor| {
            let (Ok(name), Ok(csi), Ok(mut active)) =
                (name_from_bytes(comp), name_from_bytes(&d.csi), name_from_bytes(&d.active_comp))
            else {
                return;
            };
            let mut ha = ha;
            let transition = if d.transition == 0 { SA_AMF_CSI_NEW_ASSIGN } else { d.transition };
            // SAFETY: the application's callback, of the header's type;
            // the names and the HA state live until it returns.
            unsafe { f(invocation, &name, &csi, csi_flags(d.flags), &mut ha, &mut active, transition) }
        })
    });
    let csi_remove = c.saAmfCSIRemoveCallback.map(|f| -> amf_a::CsiRemoveFn {
        Box::new(move |invocation, comp, csi, flags| {
            let (Ok(name), Ok(csi)) = (name_from_bytes(comp), name_from_bytes(csi)) else { return };
            let flags = csi_flags(flags);
            // SAFETY: the application's callback, of the header's type.
            unsafe { f(invocation, &name, &csi, &flags) }
        })
    });
    let pg_track = c.saAmfProtectionGroupTrackCallback.map(|f| -> amf_a::PgTrackFn {
        Box::new(move |handle, csi, members, number| {
            let Ok(csi_name) = name_from_bytes(csi) else { return };
            let Ok(mut list) = members.iter().map(notification).collect::<AisResult<Vec<_>>>() else { return };
            let buffer = trackers().get(&(handle, csi.to_vec())).copied();
            match buffer {
                Some(b) if b.at != 0 => {
                    let n = list.len().min(b.items as usize);
                    let error = if n < list.len() { SA_ERR_NO_SPACE } else { SA_OK };
                    let dest = b.at as *mut SaAmfProtectionGroupNotificationT;
                    // SAFETY: the buffer the application gave
                    // saAmfProtectionGroupTrackStart for this tracking, with
                    // room for `items` entries (the A.01.01 contract: it
                    // stays valid until saAmfProtectionGroupTrackStop);
                    // `n` is at most `items`.
                    unsafe {
                        core::ptr::copy_nonoverlapping(list.as_ptr(), dest, n);
                        f(&csi_name, dest, n as u32, number, error)
                    }
                }
                _ => {
                    // SAFETY: the application's callback; `list` lives
                    // until it returns.
                    unsafe { f(&csi_name, list.as_mut_ptr(), list.len() as u32, number, SA_OK) }
                }
            }
        })
    });
    amf_a::Callbacks { healthcheck, readiness, terminate, csi_set, csi_remove, pg_track }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_take_the_a_numbers() {
        assert_eq!(a_code(Ok(())), 1);
        assert_eq!(a_code(Err(AisError::BAD_HANDLE)), 9);
        assert_eq!(a_code(Err(AisError::INTERRUPT)), 16);
        assert_eq!(a_code(Err(AisError(17))), 18); // NAME_NOT_FOUND
        assert_eq!(a_code(Err(AisError::NO_RESOURCES)), 19);
        assert_eq!(a_code(Err(AisError::NOT_SUPPORTED)), 20);
        assert_eq!(a_code(Err(AisError::QUEUE_FULL)), 25);
        assert_eq!(a_code(Err(AisError::BAD_FLAGS)), 28);
        assert_eq!(a_code(Err(AisError::TOO_BIG)), 2);
    }

    #[test]
    fn csi_flags_take_the_a_bits() {
        assert_eq!(csi_flags(ais_ipc::amf::CSI_ADD_ONE), SA_AMF_CSI_ADD_NEW_ISTANCE);
        assert_eq!(csi_flags(ais_ipc::amf::CSI_TARGET_ONE), 0);
        assert_eq!(csi_flags(ais_ipc::amf::CSI_TARGET_ALL), SA_AMF_CSI_ALL_INSTANCES);
    }

    #[test]
    fn layouts_are_the_headers() {
        assert_eq!(core::mem::size_of::<SaAmfProtectionGroupNotificationT>(), 272);
        assert_eq!(core::mem::size_of::<SaAmfErrorDescriptorT>(), 16);
        assert_eq!(core::mem::size_of::<SaAmfAdditionalDataT>(), 24);
        assert_eq!(core::mem::size_of::<SaAmfCallbacksT>(), 80);
    }
}
