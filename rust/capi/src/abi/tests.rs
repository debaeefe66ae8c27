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
    assert_eq!(
        enums::SaAisErrorT::try_from(0),
        Err(AisError::INVALID_PARAM)
    );
    assert_eq!(
        enums::SaAisErrorT::try_from(28),
        Err(AisError::INVALID_PARAM)
    );
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
