//! Availability management: `saAmf.h` (AIS AMF B.01.01).
//!
//! Owns: the names, values and layout of the types, constants, enums and
//! callback typedefs of the B.01.01 `saAmf.h` as the classic openais
//! header defined them, lower-case typedef names (`saAmfCompCategoryT`,
//! `saAmfRedundancyModelT`, `saAmfCompCapabilityModelT`) and the misspelt
//! `SA_AMF_N_WAY_ACTIVE_REDUNDACY_MODEL` included: they are part of the
//! ABI. cbindgen turns this file, and only this file, into
//! `include/corosync/saAmf.h` (config `rust/capi/cbindgen/saAmf.toml`).
//!
//! The 19 `saAmf*` functions of B.01.01 are at the end of this file, as
//! thin wrappers over `crate::amf` (which sees Rust values only): the C
//! arguments are read and checked here, the application's callbacks
//! wrapped in closures that build the C structs.
//!
//! Must not: hold service logic, or use a Rust enum where C hands us a
//! value (see the enum convention in `abi/mod.rs`).

// The exported functions' safety contract is the C API's, as documented
// for each function by the spec; they check every pointer they can.
#![allow(clippy::missing_safety_doc)]

use core::ffi::c_uint;

use super::sa_ais::*;

pub type SaAmfHandleT = SaUint64T;

// Process monitoring errors: bits of `SaAmfPmErrorsT`.
pub const SA_AMF_PM_ZERO_EXIT: i32 = 0x1;
pub const SA_AMF_PM_NON_ZERO_EXIT: i32 = 0x2;
pub const SA_AMF_PM_ABNORMAL_END: i32 = 0x4;

pub type SaAmfPmErrorsT = SaUint32T;

/// `SaAmfPmStopQualifierT`: an integer; see [`enums::SaAmfPmStopQualifierT`].
/// cbindgen:ignore
pub type SaAmfPmStopQualifierT = c_uint;

/// `SaAmfHealthcheckInvocationT`: an integer; see [`enums::SaAmfHealthcheckInvocationT`].
/// cbindgen:ignore
pub type SaAmfHealthcheckInvocationT = c_uint;

pub const SA_AMF_HEALTHCHECK_KEY_MAX: usize = 32;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfHealthcheckKeyT {
    pub key: [SaUint8T; SA_AMF_HEALTHCHECK_KEY_MAX],
    pub keyLen: SaUint16T,
}

/// `SaAmfHAStateT`: an integer; see [`enums::SaAmfHAStateT`].
/// cbindgen:ignore
pub type SaAmfHAStateT = c_uint;

/// `SaAmfReadinessStateT`: an integer; see [`enums::SaAmfReadinessStateT`].
/// cbindgen:ignore
pub type SaAmfReadinessStateT = c_uint;

/// `SaAmfPresenceStateT`: an integer; see [`enums::SaAmfPresenceStateT`].
/// cbindgen:ignore
pub type SaAmfPresenceStateT = c_uint;

/// `SaAmfOperationalStateT`: an integer; see [`enums::SaAmfOperationalStateT`].
/// cbindgen:ignore
pub type SaAmfOperationalStateT = c_uint;

/// `SaAmfAdminStateT`: an integer; see [`enums::SaAmfAdminStateT`].
/// cbindgen:ignore
pub type SaAmfAdminStateT = c_uint;

/// `SaAmfAssignmentStateT`: an integer; see [`enums::SaAmfAssignmentStateT`].
/// cbindgen:ignore
pub type SaAmfAssignmentStateT = c_uint;

/// `SaAmfProxyStatusT`: an integer; see [`enums::SaAmfProxyStatusT`].
/// cbindgen:ignore
pub type SaAmfProxyStatusT = c_uint;

/// `SaAmfStateT`: an integer; see [`enums::SaAmfStateT`].
/// cbindgen:ignore
pub type SaAmfStateT = c_uint;

// CSI flags: bits of `SaAmfCSIFlagsT`.
pub const SA_AMF_CSI_ADD_ONE: i32 = 0x1;
pub const SA_AMF_CSI_TARGET_ONE: i32 = 0x2;
pub const SA_AMF_CSI_TARGET_ALL: i32 = 0x4;

pub type SaAmfCSIFlagsT = SaUint32T;

/// `SaAmfCSITransitionDescriptorT`: an integer; see [`enums::SaAmfCSITransitionDescriptorT`].
/// cbindgen:ignore
pub type SaAmfCSITransitionDescriptorT = c_uint;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfCSIActiveDescriptorT {
    pub transitionDescriptor: SaAmfCSITransitionDescriptorT,
    pub activeCompName: SaNameT,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfCSIStandbyDescriptorT {
    pub activeCompName: SaNameT,
    pub standbyRank: SaUint32T,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union SaAmfCSIStateDescriptorT {
    pub activeDescriptor: SaAmfCSIActiveDescriptorT,
    pub standbyDescriptor: SaAmfCSIStandbyDescriptorT,
}

/// One attribute of a CSI: NUL-terminated name and value.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfCSIAttributeT {
    pub attrName: *mut SaUint8T,
    pub attrValue: *mut SaUint8T,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfCSIAttributeListT {
    pub attr: *mut SaAmfCSIAttributeT,
    pub number: SaUint32T,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfCSIDescriptorT {
    pub csiFlags: SaAmfCSIFlagsT,
    pub csiName: SaNameT,
    pub csiStateDescriptor: SaAmfCSIStateDescriptorT,
    pub csiAttr: SaAmfCSIAttributeListT,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfProtectionGroupMemberT {
    pub compName: SaNameT,
    pub haState: SaAmfHAStateT,
    pub rank: SaUint32T,
}

/// `SaAmfProtectionGroupChangesT`: an integer; see [`enums::SaAmfProtectionGroupChangesT`].
/// cbindgen:ignore
pub type SaAmfProtectionGroupChangesT = c_uint;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfProtectionGroupNotificationT {
    pub member: SaAmfProtectionGroupMemberT,
    pub change: SaAmfProtectionGroupChangesT,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfProtectionGroupNotificationBufferT {
    pub numberOfItems: SaUint32T,
    pub notification: *mut SaAmfProtectionGroupNotificationT,
}

/// `SaAmfRecommendedRecoveryT`: an integer; see [`enums::SaAmfRecommendedRecoveryT`].
/// cbindgen:ignore
pub type SaAmfRecommendedRecoveryT = c_uint;

// Component categories: bits of `saAmfCompCategoryT`.
pub const SA_AMF_COMP_SA_AWARE: i32 = 0x0001;
pub const SA_AMF_COMP_PROXY: i32 = 0x0002;
pub const SA_AMF_COMP_PROXIED: i32 = 0x0004;
pub const SA_AMF_COMP_LOCAL: i32 = 0x0008;

pub type saAmfCompCategoryT = SaUint32T;

/// `saAmfRedundancyModelT`: an integer; see [`enums::saAmfRedundancyModelT`].
/// cbindgen:ignore
pub type saAmfRedundancyModelT = c_uint;

/// `saAmfCompCapabilityModelT`: an integer; see [`enums::saAmfCompCapabilityModelT`].
/// cbindgen:ignore
pub type saAmfCompCapabilityModelT = c_uint;

/// `SaAmfAdditionalInfoIdT`: an integer; see [`enums::SaAmfAdditionalInfoIdT`].
/// cbindgen:ignore
pub type SaAmfAdditionalInfoIdT = c_uint;

pub type SaAmfHealthcheckCallbackT = Option<
    unsafe extern "C" fn(
        invocation: SaInvocationT,
        compName: *const SaNameT,
        healthcheckKey: *mut SaAmfHealthcheckKeyT,
    ),
>;

pub type SaAmfComponentTerminateCallbackT =
    Option<unsafe extern "C" fn(invocation: SaInvocationT, compName: *const SaNameT)>;

pub type SaAmfCSISetCallbackT = Option<
    unsafe extern "C" fn(
        invocation: SaInvocationT,
        compName: *const SaNameT,
        haState: SaAmfHAStateT,
        csiDescriptor: *mut SaAmfCSIDescriptorT,
    ),
>;

pub type SaAmfCSIRemoveCallbackT = Option<
    unsafe extern "C" fn(
        invocation: SaInvocationT,
        compName: *const SaNameT,
        csiName: *const SaNameT,
        csiFlags: SaAmfCSIFlagsT,
    ),
>;

pub type SaAmfExternalComponentInstantiateCallbackT =
    Option<unsafe extern "C" fn(invocation: SaInvocationT, proxiedCompName: *const SaNameT)>;

pub type SaAmfExternalComponentCleanupCallbackT =
    Option<unsafe extern "C" fn(invocation: SaInvocationT, proxiedCompName: *const SaNameT)>;

pub type SaAmfProtectionGroupTrackCallbackT = Option<
    unsafe extern "C" fn(
        csiName: *const SaNameT,
        notificationBuffer: *mut SaAmfProtectionGroupNotificationBufferT,
        numberOfMembers: SaUint32T,
        error: SaAisErrorT,
    ),
>;

/// The callbacks an application hands to `saAmfInitialize`; any may be NULL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaAmfCallbacksT {
    pub saAmfHealthcheckCallback: SaAmfHealthcheckCallbackT,
    pub saAmfComponentTerminateCallback: SaAmfComponentTerminateCallbackT,
    pub saAmfCSISetCallback: SaAmfCSISetCallbackT,
    pub saAmfCSIRemoveCallback: SaAmfCSIRemoveCallbackT,
    pub saAmfProtectionGroupTrackCallback: SaAmfProtectionGroupTrackCallbackT,
    pub saAmfExternalComponentInstantiateCallback: SaAmfExternalComponentInstantiateCallbackT,
    pub saAmfExternalComponentCleanupCallback: SaAmfExternalComponentCleanupCallbackT,
}

/// The spec's enums, as cbindgen prints them (see `sa_ais::enums`).
pub mod enums {
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfPmStopQualifierT {
        SA_AMF_PM_PROC = 1,
        SA_AMF_PM_PROC_AND_DESCENDENTS = 2,
        SA_AMF_PM_ALL_PROCESSES = 3,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfHealthcheckInvocationT {
        SA_AMF_HEALTHCHECK_AMF_INVOKED = 1,
        SA_AMF_HEALTHCHECK_COMPONENT_INVOKED = 2,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfHAStateT {
        SA_AMF_HA_ACTIVE = 1,
        SA_AMF_HA_STANDBY = 2,
        SA_AMF_HA_QUIESCED = 3,
        SA_AMF_HA_QUIESCING = 4,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfReadinessStateT {
        SA_AMF_READINESS_OUT_OF_SERVICE = 1,
        SA_AMF_READINESS_IN_SERVICE = 2,
        SA_AMF_READINESS_STOPPING = 3,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfPresenceStateT {
        SA_AMF_PRESENCE_UNINSTANTIATED = 1,
        SA_AMF_PRESENCE_INSTANTIATING = 2,
        SA_AMF_PRESENCE_INSTANTIATED = 3,
        SA_AMF_PRESENCE_TERMINATING = 4,
        SA_AMF_PRESENCE_RESTARTING = 5,
        SA_AMF_PRESENCE_INSTANTIATION_FAILED = 6,
        SA_AMF_PRESENCE_TERMINATION_FAILED = 7,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfOperationalStateT {
        SA_AMF_OPERATIONAL_ENABLED = 1,
        SA_AMF_OPERATIONAL_DISABLED = 2,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfAdminStateT {
        SA_AMF_ADMIN_UNLOCKED = 1,
        SA_AMF_ADMIN_LOCKED = 2,
        SA_AMF_ADMIN_LOCKED_INSTANTIATION = 3,
        SA_AMF_ADMIN_SHUTTING_DOWN = 4,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfAssignmentStateT {
        SA_AMF_ASSIGNMENT_UNASSIGNED = 1,
        SA_AMF_ASSIGNMENT_FULLY_ASSIGNED = 2,
        SA_AMF_ASSIGNMENT_PARTIALLY_ASSIGNED = 3,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfProxyStatusT {
        SA_AMF_PROXY_STATUS_UNPROXIED = 1,
        SA_AMF_PROXY_STATUS_PROXIED = 2,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfStateT {
        SA_AMF_READINESS_STATE = 1,
        SA_AMF_HA_STATE = 2,
        SA_AMF_PRESENCE_STATE = 3,
        SA_AMF_OP_STATE = 4,
        SA_AMF_ADMIN_STATE = 5,
        SA_AMF_ASSIGNMENT_STATE = 6,
        SA_AMF_PROXY_STATUS = 7,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfCSITransitionDescriptorT {
        SA_AMF_CSI_NEW_ASSIGN = 1,
        SA_AMF_CSI_QUIESCED = 2,
        SA_AMF_CSI_NOT_QUIESCED = 3,
        SA_AMF_CSI_STILL_ACTIVE = 4,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfProtectionGroupChangesT {
        SA_AMF_PROTECTION_GROUP_NO_CHANGE = 1,
        SA_AMF_PROTECTION_GROUP_ADDED = 2,
        SA_AMF_PROTECTION_GROUP_REMOVED = 3,
        SA_AMF_PROTECTION_GROUP_STATE_CHANGE = 4,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfRecommendedRecoveryT {
        SA_AMF_NO_RECOMMENDATION = 1,
        SA_AMF_COMPONENT_RESTART = 2,
        SA_AMF_COMPONENT_FAILOVER = 3,
        SA_AMF_NODE_SWITCHOVER = 4,
        SA_AMF_NODE_FAILOVER = 5,
        SA_AMF_NODE_FAILFAST = 6,
        SA_AMF_CLUSTER_RESET = 7,
        SA_AMF_APPLICATION_RESTART = 8,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum saAmfRedundancyModelT {
        SA_AMF_2N_REDUNDANCY_MODEL = 1,
        SA_AMF_NPM_REDUNDANCY_MODEL = 2,
        SA_AMF_N_WAY_REDUNDANCY_MODEL = 3,
        SA_AMF_N_WAY_ACTIVE_REDUNDACY_MODEL = 4,
        SA_AMF_NO_REDUNDANCY_MODEL = 5,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum saAmfCompCapabilityModelT {
        SA_AMF_COMP_X_ACTIVE_AND_Y_STANDBY = 1,
        SA_AMF_COMP_X_ACTIVE_OR_Y_STANDBY = 2,
        SA_AMF_COMP_ONE_ACTIVE_OR_Y_STANDBY = 3,
        SA_AMF_COMP_ONE_ACTIVE_OR_ONE_STANDBY = 4,
        SA_AMF_COMP_X_ACTIVE = 5,
        SA_AMF_COMP_1_ACTIVE = 6,
        SA_AMF_COMP_NON_PRE_INSTANTIABLE = 7,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAmfAdditionalInfoIdT {
        SA_AMF_NODE_NAME = 1,
        SA_AMF_SI_NAME = 2,
    }
}

crate::c_enum!(SaAmfPmStopQualifierT { SA_AMF_PM_PROC, SA_AMF_PM_PROC_AND_DESCENDENTS, SA_AMF_PM_ALL_PROCESSES });
crate::c_enum!(SaAmfHealthcheckInvocationT { SA_AMF_HEALTHCHECK_AMF_INVOKED, SA_AMF_HEALTHCHECK_COMPONENT_INVOKED });
crate::c_enum!(SaAmfHAStateT { SA_AMF_HA_ACTIVE, SA_AMF_HA_STANDBY, SA_AMF_HA_QUIESCED, SA_AMF_HA_QUIESCING });
crate::c_enum!(SaAmfRecommendedRecoveryT {
    SA_AMF_NO_RECOMMENDATION,
    SA_AMF_COMPONENT_RESTART,
    SA_AMF_COMPONENT_FAILOVER,
    SA_AMF_NODE_SWITCHOVER,
    SA_AMF_NODE_FAILOVER,
    SA_AMF_NODE_FAILFAST,
    SA_AMF_CLUSTER_RESET,
    SA_AMF_APPLICATION_RESTART,
});

// ---------------------------------------------------------------------
// The functions of B.01.01.

use super::convert::{
    CAlloc, dispatch_flags, name_bytes, name_from_bytes, out, out_slice, try_mut, try_ref, with_version, write_slice,
};
use crate::amf::{self, CsiDescriptor, HealthcheckBy, Member, MembersInto, TrackReply};
use crate::error::{AisError, AisResult};

/// Opens a handle; `amfCallbacks` may be NULL (no callbacks).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfInitialize(
    amfHandle: *mut SaAmfHandleT,
    amfCallbacks: *const SaAmfCallbacksT,
    version: *mut SaVersionT,
) -> SaAisErrorT {
    crate::boundary!({
        let version = try_mut!(version)?;
        let handle = out!(amfHandle)?;
        let callbacks =
            if amfCallbacks.is_null() { amf::Callbacks::default() } else { callbacks(try_ref!(amfCallbacks)?) };
        handle.write(with_version(version, |v| amf::initialize(v, callbacks))?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfSelectionObjectGet(
    amfHandle: SaAmfHandleT,
    selectionObject: *mut SaSelectionObjectT,
) -> SaAisErrorT {
    crate::boundary!({
        let out = out!(selectionObject)?;
        out.write(amf::selection_object(amfHandle)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfDispatch(amfHandle: SaAmfHandleT, dispatchFlags: SaDispatchFlagsT) -> SaAisErrorT {
    crate::boundary!({ amf::dispatch(amfHandle, dispatch_flags(dispatchFlags)) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfFinalize(amfHandle: SaAmfHandleT) -> SaAisErrorT {
    crate::boundary!({ amf::finalize(amfHandle) })
}

/// `proxyCompName` must be NULL: only SA-aware components that register
/// themselves are supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfComponentRegister(
    amfHandle: SaAmfHandleT,
    compName: *const SaNameT,
    proxyCompName: *const SaNameT,
) -> SaAisErrorT {
    crate::boundary!({
        let comp = name_bytes!(compName)?;
        let proxy = if proxyCompName.is_null() { None } else { Some(name_bytes!(proxyCompName)?) };
        amf::component_register(amfHandle, comp, proxy)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfComponentUnregister(
    amfHandle: SaAmfHandleT,
    compName: *const SaNameT,
    proxyCompName: *const SaNameT,
) -> SaAisErrorT {
    crate::boundary!({
        let comp = name_bytes!(compName)?;
        let proxy = if proxyCompName.is_null() { None } else { Some(name_bytes!(proxyCompName)?) };
        amf::component_unregister(amfHandle, comp, proxy)
    })
}

/// The name in `SA_AMF_COMPONENT_NAME`; `SA_AIS_ERR_NOT_EXIST` when unset.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfComponentNameGet(amfHandle: SaAmfHandleT, compName: *mut SaNameT) -> SaAisErrorT {
    crate::boundary!({
        let out = out!(compName)?;
        out.write(name_from_bytes(&amf::component_name_get(amfHandle)?)?);
        Ok(())
    })
}

/// The key as bytes; `keyLen` above `SA_AMF_HEALTHCHECK_KEY_MAX` or 0 is
/// `SA_AIS_ERR_INVALID_PARAM`.
fn key_bytes(key: &SaAmfHealthcheckKeyT) -> AisResult<&[u8]> {
    match usize::from(key.keyLen) {
        0 => Err(AisError::INVALID_PARAM),
        n => key.key.get(..n).ok_or(AisError::INVALID_PARAM),
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfHealthcheckStart(
    amfHandle: SaAmfHandleT,
    compName: *const SaNameT,
    healthcheckKey: *const SaAmfHealthcheckKeyT,
    invocationType: SaAmfHealthcheckInvocationT,
    recommendedRecovery: SaAmfRecommendedRecoveryT,
) -> SaAisErrorT {
    crate::boundary!({
        let comp = name_bytes!(compName)?;
        let key = key_bytes(try_ref!(healthcheckKey)?)?;
        let by = match enums::SaAmfHealthcheckInvocationT::try_from(invocationType)? {
            enums::SaAmfHealthcheckInvocationT::SA_AMF_HEALTHCHECK_AMF_INVOKED => HealthcheckBy::Amf,
            enums::SaAmfHealthcheckInvocationT::SA_AMF_HEALTHCHECK_COMPONENT_INVOKED => HealthcheckBy::Component,
        };
        let recovery = enums::SaAmfRecommendedRecoveryT::try_from(recommendedRecovery)? as u32;
        amf::healthcheck_start(amfHandle, comp, key, by, recovery)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfHealthcheckConfirm(
    amfHandle: SaAmfHandleT,
    compName: *const SaNameT,
    healthcheckKey: *const SaAmfHealthcheckKeyT,
    healthcheckResult: SaAisErrorT,
) -> SaAisErrorT {
    crate::boundary!({
        let comp = name_bytes!(compName)?;
        let key = key_bytes(try_ref!(healthcheckKey)?)?;
        amf::healthcheck_confirm(amfHandle, comp, key, healthcheckResult)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfHealthcheckStop(
    amfHandle: SaAmfHandleT,
    compName: *const SaNameT,
    healthcheckKey: *const SaAmfHealthcheckKeyT,
) -> SaAisErrorT {
    crate::boundary!({
        let comp = name_bytes!(compName)?;
        let key = key_bytes(try_ref!(healthcheckKey)?)?;
        amf::healthcheck_stop(amfHandle, comp, key)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfHAStateGet(
    amfHandle: SaAmfHandleT,
    compName: *const SaNameT,
    csiName: *const SaNameT,
    haState: *mut SaAmfHAStateT,
) -> SaAisErrorT {
    crate::boundary!({
        let comp = name_bytes!(compName)?;
        let csi = name_bytes!(csiName)?;
        let out = out!(haState)?;
        out.write(amf::ha_state_get(amfHandle, comp, csi)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfComponentErrorReport(
    amfHandle: SaAmfHandleT,
    erroneousComponent: *const SaNameT,
    errorDetectionTime: SaTimeT,
    recommendedRecovery: SaAmfRecommendedRecoveryT,
    ntfIdentifier: SaNtfIdentifierT,
) -> SaAisErrorT {
    crate::boundary!({
        let _unused = ntfIdentifier;
        let comp = name_bytes!(erroneousComponent)?;
        let recovery = enums::SaAmfRecommendedRecoveryT::try_from(recommendedRecovery)? as u32;
        amf::component_error_report(amfHandle, comp, errorDetectionTime, recovery)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfResponse(
    amfHandle: SaAmfHandleT,
    invocation: SaInvocationT,
    error: SaAisErrorT,
) -> SaAisErrorT {
    crate::boundary!({ amf::response(amfHandle, invocation, error) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfComponentErrorClear(
    amfHandle: SaAmfHandleT,
    compName: *const SaNameT,
    ntfIdentifier: SaNtfIdentifierT,
) -> SaAisErrorT {
    crate::boundary!({
        let _unused = ntfIdentifier;
        let comp = name_bytes!(compName)?;
        amf::component_error_clear(amfHandle, comp)
    })
}

/// This AMF never assigns QUIESCING: every invocation is
/// `SA_AIS_ERR_INVALID_PARAM`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfCSIQuiescingComplete(
    amfHandle: SaAmfHandleT,
    invocation: SaInvocationT,
    error: SaAisErrorT,
) -> SaAisErrorT {
    crate::boundary!({ amf::csi_quiescing_complete(amfHandle, invocation, error) })
}

/// Monitors the process itself (any `descendentsTreeDepth`); its end is an
/// error of the component.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfPmStart(
    amfHandle: SaAmfHandleT,
    compName: *const SaNameT,
    processId: SaUint64T,
    descendentsTreeDepth: SaInt32T,
    pmErrors: SaAmfPmErrorsT,
    recommendedRecovery: SaAmfRecommendedRecoveryT,
) -> SaAisErrorT {
    crate::boundary!({
        let comp = name_bytes!(compName)?;
        let recovery = enums::SaAmfRecommendedRecoveryT::try_from(recommendedRecovery)? as u32;
        amf::pm_start(amfHandle, comp, processId, descendentsTreeDepth, pmErrors, recovery)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfPmStop(
    amfHandle: SaAmfHandleT,
    compName: *const SaNameT,
    stopQualifier: SaAmfPmStopQualifierT,
    processId: SaInt64T,
    pmErrors: SaAmfPmErrorsT,
) -> SaAisErrorT {
    crate::boundary!({
        let comp = name_bytes!(compName)?;
        let qualifier = enums::SaAmfPmStopQualifierT::try_from(stopQualifier)? as u32;
        amf::pm_stop(amfHandle, comp, qualifier, processId, pmErrors)
    })
}

/// `notificationBuffer` NULL with `SA_TRACK_CURRENT`: the current members
/// come by callback; a NULL `notification` array is allocated with
/// `malloc` for the caller to `free`; too small an array is
/// `SA_AIS_ERR_NO_SPACE` with the needed count in `numberOfItems`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfProtectionGroupTrack(
    amfHandle: SaAmfHandleT,
    csiName: *const SaNameT,
    trackFlags: SaUint8T,
    notificationBuffer: *mut SaAmfProtectionGroupNotificationBufferT,
) -> SaAisErrorT {
    crate::boundary!({
        let csi = name_bytes!(csiName)?;
        let buffer = if notificationBuffer.is_null() { None } else { Some(try_mut!(notificationBuffer)?) };
        let into = match &buffer {
            None => MembersInto::Callback,
            Some(b) if b.notification.is_null() => MembersInto::Allocated,
            Some(b) => MembersInto::Array(b.numberOfItems),
        };
        match (amf::protection_group_track(amfHandle, csi, trackFlags, into)?, buffer) {
            (TrackReply::Nothing, _) => Ok(()),
            (TrackReply::NoSpace(needed), Some(b)) => {
                b.numberOfItems = needed;
                Err(AisError::NO_SPACE)
            }
            (TrackReply::Members(m), Some(b)) => fill(b, &m),
            (_, None) => Err(AisError::LIBRARY),
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saAmfProtectionGroupTrackStop(
    amfHandle: SaAmfHandleT,
    csiName: *const SaNameT,
) -> SaAisErrorT {
    crate::boundary!({
        let csi = name_bytes!(csiName)?;
        amf::protection_group_track_stop(amfHandle, csi)
    })
}

// ---------------------------------------------------------------------
// The C structs from the service's Rust types.

/// The application's callbacks, as `crate::amf` calls them.
fn callbacks(c: &SaAmfCallbacksT) -> amf::Callbacks {
    let healthcheck = c.saAmfHealthcheckCallback.map(|f| -> amf::HealthcheckFn {
        Box::new(move |invocation, comp, key| {
            let (Ok(name), Some(mut k)) = (name_from_bytes(comp), healthcheck_key(key)) else { return };
            // SAFETY: the application's callback, of the spec's type; the
            // name and key live until it returns.
            unsafe { f(invocation, &name, &mut k) }
        })
    });
    let csi_set = c.saAmfCSISetCallback.map(|f| -> amf::CsiSetFn {
        Box::new(move |invocation, comp, ha, csi| {
            let Ok(name) = name_from_bytes(comp) else { return };
            let Some(mut d) = CDescriptor::new(ha, csi) else { return };
            // SAFETY: the application's callback, of the spec's type; the
            // descriptor and what it points to live until it returns.
            unsafe { f(invocation, &name, ha, d.as_mut_ptr()) }
        })
    });
    let csi_remove = c.saAmfCSIRemoveCallback.map(|f| -> amf::CsiRemoveFn {
        Box::new(move |invocation, comp, csi, flags| {
            let (Ok(name), Ok(csi)) = (name_from_bytes(comp), name_from_bytes(csi)) else { return };
            // SAFETY: the application's callback, of the spec's type.
            unsafe { f(invocation, &name, &csi, flags) }
        })
    });
    let terminate = c.saAmfComponentTerminateCallback.map(|f| -> amf::TerminateFn {
        Box::new(move |invocation, comp| {
            let Ok(name) = name_from_bytes(comp) else { return };
            // SAFETY: the application's callback, of the spec's type.
            unsafe { f(invocation, &name) }
        })
    });
    let pg_track = c.saAmfProtectionGroupTrackCallback.map(|f| -> amf::PgTrackFn {
        Box::new(move |csi, members, number| {
            let Ok(csi) = name_from_bytes(csi) else { return };
            let Ok(mut list) = members.iter().map(pg_notification).collect::<AisResult<Vec<_>>>() else { return };
            let mut buffer = SaAmfProtectionGroupNotificationBufferT {
                numberOfItems: list.len() as u32,
                notification: list.as_mut_ptr(),
            };
            // SAFETY: the application's callback, of the spec's type;
            // `buffer` and `list` live until it returns.
            unsafe { f(&csi, &mut buffer, number, SaAisErrorT::from(ais_ipc::error::OK)) }
        })
    });
    amf::Callbacks { healthcheck, csi_set, csi_remove, pg_track, terminate }
}

fn pg_notification(m: &Member) -> AisResult<SaAmfProtectionGroupNotificationT> {
    Ok(SaAmfProtectionGroupNotificationT {
        member: SaAmfProtectionGroupMemberT { compName: name_from_bytes(&m.comp)?, haState: m.ha, rank: m.rank },
        change: m.change,
    })
}

/// Writes the members into the caller's buffer, allocating the array
/// (with `malloc`, for the application to `free`) if it is NULL.
fn fill(buffer: &mut SaAmfProtectionGroupNotificationBufferT, members: &[Member]) -> AisResult<()> {
    let list = members.iter().map(pg_notification).collect::<AisResult<Vec<_>>>()?;
    if buffer.notification.is_null() {
        buffer.notification = CAlloc::from_slice(&list)?.into_raw();
    } else if (buffer.numberOfItems as usize) < list.len() {
        return Err(AisError::LIBRARY);
    } else {
        write_slice(out_slice!(buffer.notification, list.len())?, &list);
    }
    buffer.numberOfItems = list.len() as u32;
    Ok(())
}

fn healthcheck_key(key: &[u8]) -> Option<SaAmfHealthcheckKeyT> {
    let mut k = SaAmfHealthcheckKeyT { key: [0; SA_AMF_HEALTHCHECK_KEY_MAX], keyLen: key.len() as u16 };
    k.key.get_mut(..key.len())?.copy_from_slice(key);
    Some(k)
}

/// A `SaAmfCSIDescriptorT` with the attribute strings it points to.
struct CDescriptor {
    /// NUL-terminated names and values, pointed to by `attrs`.
    _strings: Vec<Vec<u8>>,
    attrs: Vec<SaAmfCSIAttributeT>,
    descriptor: SaAmfCSIDescriptorT,
}

impl CDescriptor {
    /// None if a name is too long (the decoder already bounds them).
    fn new(ha: u32, d: &CsiDescriptor) -> Option<Box<CDescriptor>> {
        let active = name_from_bytes(&d.active_comp).ok()?;
        let state = if ha == enums::SaAmfHAStateT::SA_AMF_HA_STANDBY as u32 {
            SaAmfCSIStateDescriptorT {
                standbyDescriptor: SaAmfCSIStandbyDescriptorT { activeCompName: active, standbyRank: d.standby_rank },
            }
        } else {
            SaAmfCSIStateDescriptorT {
                activeDescriptor: SaAmfCSIActiveDescriptorT {
                    transitionDescriptor: d.transition,
                    activeCompName: active,
                },
            }
        };
        let nul = |b: &[u8]| b.iter().copied().chain([0]).collect::<Vec<u8>>();
        let mut strings: Vec<Vec<u8>> = d.attrs.iter().flat_map(|(k, v)| [nul(k), nul(v)]).collect();
        let attrs = strings
            .chunks_mut(2)
            .map(|kv| SaAmfCSIAttributeT { attrName: kv[0].as_mut_ptr(), attrValue: kv[1].as_mut_ptr() })
            .collect::<Vec<_>>();
        let mut c = Box::new(CDescriptor {
            _strings: strings,
            attrs,
            descriptor: SaAmfCSIDescriptorT {
                csiFlags: d.flags,
                csiName: name_from_bytes(&d.csi).ok()?,
                csiStateDescriptor: state,
                csiAttr: SaAmfCSIAttributeListT { attr: core::ptr::null_mut(), number: d.attrs.len() as u32 },
            },
        });
        c.descriptor.csiAttr.attr = if c.attrs.is_empty() { core::ptr::null_mut() } else { c.attrs.as_mut_ptr() };
        Some(c)
    }

    fn as_mut_ptr(&mut self) -> *mut SaAmfCSIDescriptorT {
        &mut self.descriptor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_descriptor_points_at_nul_terminated_attributes() {
        let d = CsiDescriptor {
            flags: 1,
            csi: b"safCsi=A".to_vec(),
            transition: 3,
            active_comp: b"c1".to_vec(),
            standby_rank: 0,
            attrs: vec![(b"port".to_vec(), b"8080".to_vec()), (b"x".to_vec(), b"".to_vec())],
        };
        let mut c = CDescriptor::new(1, &d).unwrap();
        let p = c.as_mut_ptr();
        // SAFETY: `p` points into `c`, alive here; the strings are NUL-terminated.
        unsafe {
            assert_eq!((*p).csiAttr.number, 2);
            let a = *(*p).csiAttr.attr.add(1);
            assert_eq!(core::ffi::CStr::from_ptr(a.attrName.cast()).to_bytes(), b"x");
            assert_eq!(core::ffi::CStr::from_ptr(a.attrValue.cast()).to_bytes(), b"");
            let a = *(*p).csiAttr.attr;
            assert_eq!(core::ffi::CStr::from_ptr(a.attrValue.cast()).to_bytes(), b"8080");
            assert_eq!((*p).csiStateDescriptor.activeDescriptor.transitionDescriptor, 3);
            let name = (*p).csiName;
            assert_eq!(name.value[..8], *b"safCsi=A");
        }
        let standby = CDescriptor::new(2, &CsiDescriptor { standby_rank: 1, ..d }).unwrap();
        // SAFETY: a standby descriptor is written as the union's standby member.
        unsafe { assert_eq!(standby.descriptor.csiStateDescriptor.standbyDescriptor.standbyRank, 1) };
        assert!(healthcheck_key(&[0; 33]).is_none());
    }
}
