//! Checks of the Rust side of the ABI (the C side is c-tests/abi/).

use super::sa_ais::*;
use crate::error::AisError;
use ais_ipc::error as wire;

/// Every `SaAisErrorT` value, next to the wire constant of the same name.
#[test]
fn error_codes_match_the_wire() {
    use enums::SaAisErrorT as E;
    let pairs = [
        (E::SA_AIS_OK, wire::OK),
        (E::SA_AIS_ERR_LIBRARY, wire::LIBRARY),
        (E::SA_AIS_ERR_VERSION, wire::VERSION),
        (E::SA_AIS_ERR_INIT, wire::INIT),
        (E::SA_AIS_ERR_TIMEOUT, wire::TIMEOUT),
        (E::SA_AIS_ERR_TRY_AGAIN, wire::TRY_AGAIN),
        (E::SA_AIS_ERR_INVALID_PARAM, wire::INVALID_PARAM),
        (E::SA_AIS_ERR_NO_MEMORY, wire::NO_MEMORY),
        (E::SA_AIS_ERR_BAD_HANDLE, wire::BAD_HANDLE),
        (E::SA_AIS_ERR_BUSY, wire::BUSY),
        (E::SA_AIS_ERR_ACCESS, wire::ACCESS),
        (E::SA_AIS_ERR_NOT_EXIST, wire::NOT_EXIST),
        (E::SA_AIS_ERR_NAME_TOO_LONG, wire::NAME_TOO_LONG),
        (E::SA_AIS_ERR_EXIST, wire::EXIST),
        (E::SA_AIS_ERR_NO_SPACE, wire::NO_SPACE),
        (E::SA_AIS_ERR_INTERRUPT, wire::INTERRUPT),
        (E::SA_AIS_ERR_NAME_NOT_FOUND, wire::NAME_NOT_FOUND),
        (E::SA_AIS_ERR_NO_RESOURCES, wire::NO_RESOURCES),
        (E::SA_AIS_ERR_NOT_SUPPORTED, wire::NOT_SUPPORTED),
        (E::SA_AIS_ERR_BAD_OPERATION, wire::BAD_OPERATION),
        (E::SA_AIS_ERR_FAILED_OPERATION, wire::FAILED_OPERATION),
        (E::SA_AIS_ERR_MESSAGE_ERROR, wire::MESSAGE_ERROR),
        (E::SA_AIS_ERR_QUEUE_FULL, wire::QUEUE_FULL),
        (E::SA_AIS_ERR_QUEUE_NOT_AVAILABLE, wire::QUEUE_NOT_AVAILABLE),
        (E::SA_AIS_ERR_BAD_FLAGS, wire::BAD_FLAGS),
        (E::SA_AIS_ERR_TOO_BIG, wire::TOO_BIG),
        (E::SA_AIS_ERR_NO_SECTIONS, wire::NO_SECTIONS),
    ];
    for (i, (code, wire)) in pairs.iter().enumerate() {
        // 1..=27 in order, each equal to the wire value, both directions.
        assert_eq!(*code as u32, i as u32 + 1, "{code:?}");
        assert_eq!(SaAisErrorT::from(*code), *wire, "{code:?}");
        assert_eq!(enums::SaAisErrorT::try_from(*wire), Ok(*code));
        if *code != E::SA_AIS_OK {
            assert_eq!(SaAisErrorT::from(AisError(*wire)), *wire, "{code:?}");
        }
    }
    assert_eq!(enums::SaAisErrorT::try_from(0), Err(AisError::INVALID_PARAM));
    assert_eq!(enums::SaAisErrorT::try_from(28), Err(AisError::INVALID_PARAM));
    assert_eq!(enums::SaAisErrorT::try_from(29), Ok(E::SA_AIS_ERR_SECURITY));
    assert_eq!(SaAisErrorT::from(AisError(29)), 29);
    assert_eq!(enums::SaAisErrorT::try_from(30), Err(AisError::INVALID_PARAM));
}

#[test]
fn enums_reject_values_outside_the_spec() {
    use enums::SaDispatchFlagsT as D;
    assert_eq!(D::try_from(1), Ok(D::SA_DISPATCH_ONE));
    assert_eq!(D::try_from(2), Ok(D::SA_DISPATCH_ALL));
    assert_eq!(D::try_from(3), Ok(D::SA_DISPATCH_BLOCKING));
    for bad in [0, 4, 0x8000_0000, u32::MAX] {
        assert_eq!(D::try_from(bad), Err(AisError::INVALID_PARAM), "{bad}");
    }
    assert_eq!(SaDispatchFlagsT::from(D::SA_DISPATCH_BLOCKING), 3);
    assert_eq!(enums::SaBoolT::try_from(0), Ok(enums::SaBoolT::SA_FALSE));
    assert_eq!(enums::SaBoolT::try_from(1), Ok(enums::SaBoolT::SA_TRUE));
    assert_eq!(enums::SaBoolT::try_from(2), Err(AisError::INVALID_PARAM));
}

#[test]
fn layouts() {
    use core::mem::{align_of, offset_of, size_of};
    assert_eq!(size_of::<SaNameT>(), 258);
    assert_eq!(align_of::<SaNameT>(), 2);
    assert_eq!(offset_of!(SaNameT, value), 2);
    assert_eq!(size_of::<SaVersionT>(), 3);
    assert_eq!(offset_of!(SaVersionT, minorVersion), 2);
    // A C enum is an unsigned int here, and so is its Rust mirror.
    assert_eq!(size_of::<enums::SaAisErrorT>(), size_of::<SaAisErrorT>());
    assert_eq!(SA_TIME_END, i64::MAX);
    assert_eq!(SA_TIME_UNKNOWN, 1 << 63);
}

/// saClm.h: layouts (x86_64 / LP64 numbers, as the C test has them) and enums.
#[test]
fn clm_layouts_and_enums() {
    use super::sa_clm::{self as clm, enums as e};
    use core::mem::{align_of, offset_of, size_of};
    assert_eq!(size_of::<clm::SaClmNodeAddressT>(), 72);
    assert_eq!(offset_of!(clm::SaClmNodeAddressT, value), 6);
    assert_eq!(size_of::<clm::SaClmClusterNodeT>(), 360);
    assert_eq!(align_of::<clm::SaClmClusterNodeT>(), 8);
    assert_eq!(offset_of!(clm::SaClmClusterNodeT, nodeName), 76);
    assert_eq!(offset_of!(clm::SaClmClusterNodeT, member), 336);
    assert_eq!(offset_of!(clm::SaClmClusterNodeT, bootTimestamp), 344);
    assert_eq!(offset_of!(clm::SaClmClusterNodeT, initialViewNumber), 352);
    assert_eq!(size_of::<clm::SaClmClusterNotificationT>(), 368);
    assert_eq!(offset_of!(clm::SaClmClusterNotificationT, clusterChange), 360);
    assert_eq!(size_of::<clm::SaClmClusterNotificationBufferT>(), 24);
    assert_eq!(offset_of!(clm::SaClmClusterNotificationBufferT, notification), 16);
    // A NULL callback is None: the fields are nullable function pointers.
    assert_eq!(size_of::<clm::SaClmCallbacksT>(), 16);
    assert_eq!(clm::SA_CLM_LOCAL_NODE_ID, u32::MAX);

    let af = e::SaClmNodeAddressFamilyT::try_from;
    assert_eq!(af(1), Ok(e::SaClmNodeAddressFamilyT::SA_CLM_AF_INET));
    assert_eq!(af(2), Ok(e::SaClmNodeAddressFamilyT::SA_CLM_AF_INET6));
    for bad in [0, 3, u32::MAX] {
        assert_eq!(af(bad), Err(AisError::INVALID_PARAM), "{bad}");
    }
    let change = e::SaClmClusterChangesT::try_from;
    assert_eq!(change(4), Ok(e::SaClmClusterChangesT::SA_CLM_NODE_RECONFIGURED));
    assert_eq!(change(5), Err(AisError::INVALID_PARAM));
    assert_eq!(clm::SaClmClusterChangesT::from(e::SaClmClusterChangesT::SA_CLM_NODE_LEFT), 3);
}

/// saCkpt.h: layouts (x86_64 / LP64) and enums.
#[test]
fn ckpt_layouts_and_enums() {
    use super::sa_ckpt::{self as ckpt, enums as e};
    use core::mem::{offset_of, size_of};
    assert_eq!(size_of::<ckpt::SaCkptCheckpointCreationAttributesT>(), 48);
    assert_eq!(offset_of!(ckpt::SaCkptCheckpointCreationAttributesT, maxSections), 24);
    assert_eq!(offset_of!(ckpt::SaCkptCheckpointCreationAttributesT, maxSectionIdSize), 40);
    assert_eq!(size_of::<ckpt::SaCkptSectionIdT>(), 16);
    assert_eq!(offset_of!(ckpt::SaCkptSectionIdT, id), 8);
    assert_eq!(size_of::<ckpt::SaCkptSectionCreationAttributesT>(), 16);
    assert_eq!(size_of::<ckpt::SaCkptSectionDescriptorT>(), 48);
    assert_eq!(offset_of!(ckpt::SaCkptSectionDescriptorT, sectionState), 32);
    assert_eq!(offset_of!(ckpt::SaCkptSectionDescriptorT, lastUpdate), 40);
    assert_eq!(size_of::<ckpt::SaCkptIOVectorElementT>(), 48);
    assert_eq!(offset_of!(ckpt::SaCkptIOVectorElementT, dataOffset), 32);
    assert_eq!(size_of::<ckpt::SaOffsetT>(), 8);
    assert_eq!(size_of::<ckpt::SaCkptCheckpointDescriptorT>(), 56);
    assert_eq!(offset_of!(ckpt::SaCkptCheckpointDescriptorT, memoryUsed), 52);
    assert_eq!(size_of::<ckpt::SaCkptCallbacksT>(), 16);

    let chosen = e::SaCkptSectionsChosenT::try_from;
    assert_eq!(chosen(1), Ok(e::SaCkptSectionsChosenT::SA_CKPT_SECTIONS_FOREVER));
    assert_eq!(chosen(5), Ok(e::SaCkptSectionsChosenT::SA_CKPT_SECTIONS_ANY));
    for bad in [0, 6, u32::MAX] {
        assert_eq!(chosen(bad), Err(AisError::INVALID_PARAM), "{bad}");
    }
    let state = e::SaCkptSectionStateT::try_from;
    assert_eq!(state(2), Ok(e::SaCkptSectionStateT::SA_CKPT_SECTION_CORRUPTED));
    assert_eq!(state(3), Err(AisError::INVALID_PARAM));
}

/// evs.h and cpg.h: layouts, enums, and which error numbers they share
/// with `SaAisErrorT` (the wrappers must map the others, not cast).
#[test]
fn evs_cpg_layouts_enums_and_errors() {
    use super::{cpg, evs};
    use core::mem::{offset_of, size_of};
    assert_eq!(size_of::<evs::evs_group>(), 32);
    assert_eq!(size_of::<evs::evs_callbacks_t>(), 16);
    assert_eq!(size_of::<cpg::cpg_address>(), 12);
    assert_eq!(offset_of!(cpg::cpg_address, reason), 8);
    assert_eq!(size_of::<cpg::cpg_name>(), 132);
    assert_eq!(offset_of!(cpg::cpg_name, value), 4);
    assert_eq!(size_of::<cpg::cpg_callbacks_t>(), 16);

    // Dispatch flags start at 0 here, not at 1 as SA_DISPATCH_* do.
    let d = evs::enums::evs_dispatch_t::try_from;
    assert_eq!(d(0), Ok(evs::enums::evs_dispatch_t::EVS_DISPATCH_ONE));
    assert_eq!(d(2), Ok(evs::enums::evs_dispatch_t::EVS_DISPATCH_BLOCKING));
    assert_eq!(d(3), Err(AisError::INVALID_PARAM));
    let d = cpg::enums::cpg_dispatch_t::try_from;
    assert_eq!(d(0), Ok(cpg::enums::cpg_dispatch_t::CPG_DISPATCH_ONE));
    assert_eq!(d(3), Err(AisError::INVALID_PARAM));
    let g = cpg::enums::cpg_guarantee_t::try_from;
    assert_eq!(g(3), Ok(cpg::enums::cpg_guarantee_t::CPG_TYPE_SAFE));
    assert_eq!(g(4), Err(AisError::INVALID_PARAM));
    let r = cpg::enums::cpg_reason_t::try_from;
    assert_eq!(r(5), Ok(cpg::enums::cpg_reason_t::CPG_REASON_PROCDOWN));
    assert_eq!(r(0), Err(AisError::INVALID_PARAM));

    use cpg::enums::cpg_error_t as C;
    use enums::SaAisErrorT as S;
    use evs::enums::evs_error_t as E;
    let shared = [
        (E::EVS_OK, C::CPG_OK, S::SA_AIS_OK),
        (E::EVS_ERR_LIBRARY, C::CPG_ERR_LIBRARY, S::SA_AIS_ERR_LIBRARY),
        (E::EVS_ERR_TIMEOUT, C::CPG_ERR_TIMEOUT, S::SA_AIS_ERR_TIMEOUT),
        (E::EVS_ERR_TRY_AGAIN, C::CPG_ERR_TRY_AGAIN, S::SA_AIS_ERR_TRY_AGAIN),
        (E::EVS_ERR_INVALID_PARAM, C::CPG_ERR_INVALID_PARAM, S::SA_AIS_ERR_INVALID_PARAM),
        (E::EVS_ERR_NO_MEMORY, C::CPG_ERR_NO_MEMORY, S::SA_AIS_ERR_NO_MEMORY),
        (E::EVS_ERR_BAD_HANDLE, C::CPG_ERR_BAD_HANDLE, S::SA_AIS_ERR_BAD_HANDLE),
        (E::EVS_ERR_ACCESS, C::CPG_ERR_ACCESS, S::SA_AIS_ERR_ACCESS),
        (E::EVS_ERR_NOT_EXIST, C::CPG_ERR_NOT_EXIST, S::SA_AIS_ERR_NOT_EXIST),
        (E::EVS_ERR_EXIST, C::CPG_ERR_EXIST, S::SA_AIS_ERR_EXIST),
    ];
    for (evs_code, cpg_code, sa_code) in shared {
        assert_eq!(evs_code as u32, sa_code as u32, "{evs_code:?}");
        assert_eq!(cpg_code as u32, sa_code as u32, "{cpg_code:?}");
    }
    // Not shared: 20 is NOT_SUPPORTED here but BAD_OPERATION in SaAisErrorT.
    assert_eq!(E::EVS_ERR_NOT_SUPPORTED as u32, 20);
    assert_eq!(C::CPG_ERR_NOT_SUPPORTED as u32, 20);
    assert_eq!(S::SA_AIS_ERR_NOT_SUPPORTED as u32, 19);
    assert_eq!(evs::enums::evs_error_t::try_from(19), Err(AisError::INVALID_PARAM));
    assert_eq!(evs::evs_error_t::from(E::EVS_ERR_TOO_MANY_GROUPS), 30);
    assert_eq!(cpg::cpg_error_t::from(C::CPG_ERR_SECURITY), 29);
}

/// saEvt.h: layouts (x86_64 / LP64, as the C test has them), the one-byte
/// flag and priority types, the constants services use, and the enum.
#[test]
fn evt_layouts_constants_and_enums() {
    use super::sa_evt::{self as evt, enums as e};
    use core::mem::{offset_of, size_of};
    assert_eq!(size_of::<evt::SaEvtChannelOpenFlagsT>(), 1);
    assert_eq!(size_of::<evt::SaEvtEventPriorityT>(), 1);
    assert_eq!(size_of::<evt::SaEvtSubscriptionIdT>(), 4);
    assert_eq!(size_of::<evt::SaEvtEventPatternT>(), 24);
    assert_eq!(offset_of!(evt::SaEvtEventPatternT, pattern), 16);
    assert_eq!(size_of::<evt::SaEvtEventPatternArrayT>(), 24);
    assert_eq!(offset_of!(evt::SaEvtEventPatternArrayT, patterns), 16);
    assert_eq!(size_of::<evt::SaEvtEventFilterT>(), 32);
    assert_eq!(offset_of!(evt::SaEvtEventFilterT, filter), 8);
    assert_eq!(size_of::<evt::SaEvtEventFilterArrayT>(), 16);
    assert_eq!(size_of::<evt::SaEvtCallbacksT>(), 16);
    assert_eq!(offset_of!(evt::SaEvtCallbacksT, saEvtEventDeliverCallback), 8);
    assert_eq!(evt::SA_EVT_DATA_MAX_LEN, 65536);
    assert_eq!(evt::SA_EVT_LOST_EVENT, "SA_EVT_LOST_EVENT_PATTERN");
    // Every open flag fits the one-byte flag type.
    let all = evt::SA_EVT_CHANNEL_PUBLISHER | evt::SA_EVT_CHANNEL_SUBSCRIBER | evt::SA_EVT_CHANNEL_CREATE;
    assert_eq!(evt::SaEvtChannelOpenFlagsT::try_from(all), Ok(7));

    let f = e::SaEvtEventFilterTypeT::try_from;
    assert_eq!(f(1), Ok(e::SaEvtEventFilterTypeT::SA_EVT_PREFIX_FILTER));
    assert_eq!(f(4), Ok(e::SaEvtEventFilterTypeT::SA_EVT_PASS_ALL_FILTER));
    for bad in [0, 5, u32::MAX] {
        assert_eq!(f(bad), Err(AisError::INVALID_PARAM), "{bad}");
    }
    assert_eq!(evt::SaEvtEventFilterTypeT::from(e::SaEvtEventFilterTypeT::SA_EVT_EXACT_FILTER), 3);
}

/// saLck.h: layouts, the two spellings of the grant callback, and enums.
#[test]
fn lck_layouts_and_enums() {
    use super::sa_lck::{self as lck, enums as e};
    use core::mem::{offset_of, size_of};
    assert_eq!(size_of::<lck::SaLckWaiterSignalT>(), 8);
    assert_eq!(size_of::<lck::SaLckCallbacksT>(), 32);
    assert_eq!(offset_of!(lck::SaLckCallbacksT, saLckLockGrantCallback), 8);
    assert_eq!(offset_of!(lck::SaLckCallbacksT, saLckLockWaiterCallback), 16);
    assert_eq!(offset_of!(lck::SaLckCallbacksT, saLckResourceUnlockCallback), 24);
    // The spec's spelling is the classic one, not a look-alike.
    let grant: lck::SaLckLockGrantCallbackT = None;
    let _: lck::SaLckLockGrantcallbackT = grant;

    let status = e::SaLckLockStatusT::try_from;
    assert_eq!(status(1), Ok(e::SaLckLockStatusT::SA_LCK_LOCK_GRANTED));
    assert_eq!(status(6), Ok(e::SaLckLockStatusT::SA_LCK_LOCK_DUPLICATE_EX));
    for bad in [0, 7, u32::MAX] {
        assert_eq!(status(bad), Err(AisError::INVALID_PARAM), "{bad}");
    }
    let mode = e::SaLckLockModeT::try_from;
    assert_eq!(mode(1), Ok(e::SaLckLockModeT::SA_LCK_PR_LOCK_MODE));
    assert_eq!(mode(2), Ok(e::SaLckLockModeT::SA_LCK_EX_LOCK_MODE));
    for bad in [0, 3, u32::MAX] {
        assert_eq!(mode(bad), Err(AisError::INVALID_PARAM), "{bad}");
    }
    assert_eq!(lck::SaLckLockStatusT::from(e::SaLckLockStatusT::SA_LCK_LOCK_NOT_QUEUED), 3);
}

/// saMsg.h: layouts (per-priority arrays of LOWEST_PRIORITY + 1), enums.
#[test]
fn msg_layouts_and_enums() {
    use super::sa_msg::{self as msg, enums as e};
    use core::mem::{align_of, offset_of, size_of};
    assert_eq!(msg::PRIORITY_AREAS, 4);
    assert_eq!(size_of::<msg::SaMsgQueueCreationAttributesT>(), 48);
    assert_eq!(offset_of!(msg::SaMsgQueueCreationAttributesT, size), 8);
    assert_eq!(offset_of!(msg::SaMsgQueueCreationAttributesT, retentionTime), 40);
    assert_eq!(size_of::<msg::SaMsgQueueUsageT>(), 24);
    assert_eq!(size_of::<msg::SaMsgQueueStatusT>(), 120);
    assert_eq!(offset_of!(msg::SaMsgQueueStatusT, saMsgQueueUsage), 24);
    assert_eq!(size_of::<msg::SaMsgQueueGroupMemberT>(), 258);
    assert_eq!(size_of::<msg::SaMsgQueueGroupNotificationT>(), 264);
    assert_eq!(align_of::<msg::SaMsgQueueGroupNotificationT>(), 4);
    assert_eq!(offset_of!(msg::SaMsgQueueGroupNotificationT, change), 260);
    assert_eq!(size_of::<msg::SaMsgQueueGroupNotificationBufferT>(), 24);
    assert_eq!(offset_of!(msg::SaMsgQueueGroupNotificationBufferT, queueGroupPolicy), 16);
    assert_eq!(size_of::<msg::SaMsgMessageT>(), 40);
    assert_eq!(offset_of!(msg::SaMsgMessageT, version), 4);
    assert_eq!(offset_of!(msg::SaMsgMessageT, senderName), 16);
    assert_eq!(offset_of!(msg::SaMsgMessageT, priority), 32);
    assert_eq!(size_of::<msg::SaMsgCallbacksT>(), 32);
    assert_eq!(offset_of!(msg::SaMsgCallbacksT, saMsgMessageReceivedCallback), 24);

    let policy = e::SaMsgQueueGroupPolicyT::try_from;
    assert_eq!(policy(1), Ok(e::SaMsgQueueGroupPolicyT::SA_MSG_QUEUE_GROUP_ROUND_ROBIN));
    assert_eq!(policy(4), Ok(e::SaMsgQueueGroupPolicyT::SA_MSG_QUEUE_GROUP_BROADCAST));
    for bad in [0, 5, u32::MAX] {
        assert_eq!(policy(bad), Err(AisError::INVALID_PARAM), "{bad}");
    }
    let change = e::SaMsgQueueGroupChangesT::try_from;
    assert_eq!(change(4), Ok(e::SaMsgQueueGroupChangesT::SA_MSG_QUEUE_GROUP_STATE_CHANGED));
    assert_eq!(change(0), Err(AisError::INVALID_PARAM));
    assert_eq!(msg::SaMsgQueueGroupChangesT::from(e::SaMsgQueueGroupChangesT::SA_MSG_QUEUE_GROUP_ADDED), 2);
}

/// `evs.h` prints `TOTEMIP_ADDRLEN` as the classic `sizeof(struct in6_addr)`.
#[test]
fn totemip_addrlen_is_an_in6_addr() {
    assert_eq!(super::evs::TOTEMIP_ADDRLEN, size_of::<libc::in6_addr>());
}

/// The runtime's "no limit" is the header's `SA_TIME_END` (the runtime
/// does not see the headers' constants; cbindgen needs a literal here).
#[test]
fn time_end_is_the_runtimes_no_limit() {
    assert_eq!(SA_TIME_END, crate::runtime::connection::TIME_END);
}

/// An event not published yet has `SA_TIME_UNKNOWN` for publish time.
#[test]
fn time_unknown_is_the_evt_default() {
    assert_eq!(SA_TIME_UNKNOWN as SaTimeT, crate::evt::TIME_UNKNOWN);
}
