//! The common types of every SA Forum library: `saAis.h` (AIS B.01.01).
//!
//! Owns: the names, values and layout of the types, constants and error
//! codes of the public B.01.01 `saAis.h` as the classic openais header
//! defined them (stdint typedefs, `SA_TIME_*`, `SaNameT`, `SaVersionT`,
//! `SaNtfIdentifierT`, track flags, `SaDispatchFlagsT`, `SaAisErrorT`,
//! `SaSelectionObjectT`, `SaInvocationT`, `SaSizeT`, `SA_HANDLE_INVALID`).
//! cbindgen turns this file, and only this file, into
//! `include/corosync/saAis.h` (config `rust/capi/cbindgen/saAis.toml`).
//! `SaOffsetT` is not here: the classic headers define it in `saCkpt.h`.
//!
//! Must not: hold code, or use a Rust enum where C hands us a value (see
//! the enum convention in `abi/mod.rs`: the `...T` names of enums are
//! integers here, the enum itself lives in the inner `enums` module).

use core::ffi::{c_char, c_uchar, c_uint};

/// `SaBoolT`: an integer; see [`enums::SaBoolT`] for the values.
/// cbindgen:ignore
pub type SaBoolT = c_uint;

pub type SaInt8T = i8;
pub type SaInt16T = i16;
pub type SaInt32T = i32;
pub type SaInt64T = i64;

pub type SaUint8T = u8;
pub type SaUint16T = u16;
pub type SaUint32T = u32;
pub type SaUint64T = u64;

pub type SaFloatT = f32;
pub type SaDoubleT = f64;
pub type SaStringT = *mut c_char;
/// Nanoseconds. As the `timeout` of a call, 0 means no limit, as in openais
/// 0.80 (whose programs pass 0); so does `SA_TIME_END`. A positive timeout
/// is honoured: `SA_AIS_ERR_TIMEOUT` once it passes.
pub type SaTimeT = SaInt64T;

pub const SA_TIME_END: SaTimeT = 0x7fff_ffff_ffff_ffff_u64 as SaTimeT;
pub const SA_TIME_BEGIN: u64 = 0x0_u64;
pub const SA_TIME_UNKNOWN: u64 = 0x8000_0000_0000_0000_u64;

pub const SA_TIME_ONE_MICROSECOND: u64 = 1_000_u64;
pub const SA_TIME_ONE_MILLISECOND: u64 = 1_000_000_u64;
pub const SA_TIME_ONE_SECOND: u64 = 1_000_000_000_u64;
pub const SA_TIME_ONE_MINUTE: u64 = 60_000_000_000_u64;
pub const SA_TIME_ONE_HOUR: u64 = 3_600_000_000_000_u64;
pub const SA_TIME_ONE_DAY: u64 = 86_400_000_000_000_u64;
pub const SA_TIME_MAX: SaTimeT = SA_TIME_END;

pub const SA_MAX_NAME_LENGTH: usize = 256;

/// A name: `length` bytes of `value` are significant; not NUL-terminated.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaNameT {
    pub length: SaUint16T,
    pub value: [SaUint8T; SA_MAX_NAME_LENGTH],
}

/// A version: release code (a letter, e.g. `'B'`), major and minor.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaVersionT {
    pub releaseCode: c_char,
    pub majorVersion: c_uchar,
    pub minorVersion: c_uchar,
}

pub type SaNtfIdentifierT = SaUint64T;

pub const SA_TRACK_CURRENT: i32 = 0x01;
pub const SA_TRACK_CHANGES: i32 = 0x02;
pub const SA_TRACK_CHANGES_ONLY: i32 = 0x04;

/// `SaDispatchFlagsT`: an integer; see [`enums::SaDispatchFlagsT`].
/// cbindgen:ignore
pub type SaDispatchFlagsT = c_uint;

/// `SaAisErrorT`: an integer; see [`enums::SaAisErrorT`].
/// cbindgen:ignore
pub type SaAisErrorT = c_uint;

pub type SaSelectionObjectT = SaUint64T;

pub type SaInvocationT = SaUint64T;

pub type SaSizeT = SaUint64T;

pub const SA_HANDLE_INVALID: u64 = 0x0_u64;

/// The spec's enums, as cbindgen prints them (`typedef enum {...} Name;`).
/// Rust code never receives these from C: it receives the integer of the
/// same name above and converts it with `TryFrom`, which rejects values
/// outside the enum with `SA_AIS_ERR_INVALID_PARAM`.
pub mod enums {
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaBoolT {
        SA_FALSE = 0,
        SA_TRUE = 1,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaDispatchFlagsT {
        SA_DISPATCH_ONE = 1,
        SA_DISPATCH_ALL = 2,
        SA_DISPATCH_BLOCKING = 3,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaAisErrorT {
        SA_AIS_OK = 1,
        SA_AIS_ERR_LIBRARY = 2,
        SA_AIS_ERR_VERSION = 3,
        SA_AIS_ERR_INIT = 4,
        SA_AIS_ERR_TIMEOUT = 5,
        SA_AIS_ERR_TRY_AGAIN = 6,
        SA_AIS_ERR_INVALID_PARAM = 7,
        SA_AIS_ERR_NO_MEMORY = 8,
        SA_AIS_ERR_BAD_HANDLE = 9,
        SA_AIS_ERR_BUSY = 10,
        SA_AIS_ERR_ACCESS = 11,
        SA_AIS_ERR_NOT_EXIST = 12,
        SA_AIS_ERR_NAME_TOO_LONG = 13,
        SA_AIS_ERR_EXIST = 14,
        SA_AIS_ERR_NO_SPACE = 15,
        SA_AIS_ERR_INTERRUPT = 16,
        SA_AIS_ERR_NAME_NOT_FOUND = 17,
        SA_AIS_ERR_NO_RESOURCES = 18,
        SA_AIS_ERR_NOT_SUPPORTED = 19,
        SA_AIS_ERR_BAD_OPERATION = 20,
        SA_AIS_ERR_FAILED_OPERATION = 21,
        SA_AIS_ERR_MESSAGE_ERROR = 22,
        SA_AIS_ERR_QUEUE_FULL = 23,
        SA_AIS_ERR_QUEUE_NOT_AVAILABLE = 24,
        SA_AIS_ERR_BAD_FLAGS = 25,
        SA_AIS_ERR_TOO_BIG = 26,
        SA_AIS_ERR_NO_SECTIONS = 27,
        /// 28 is unused, as in the classic header.
        SA_AIS_ERR_SECURITY = 29,
    }
}

crate::c_enum!(SaBoolT { SA_FALSE, SA_TRUE });
crate::c_enum!(SaDispatchFlagsT { SA_DISPATCH_ONE, SA_DISPATCH_ALL, SA_DISPATCH_BLOCKING });
crate::c_enum!(SaAisErrorT {
    SA_AIS_OK,
    SA_AIS_ERR_LIBRARY,
    SA_AIS_ERR_VERSION,
    SA_AIS_ERR_INIT,
    SA_AIS_ERR_TIMEOUT,
    SA_AIS_ERR_TRY_AGAIN,
    SA_AIS_ERR_INVALID_PARAM,
    SA_AIS_ERR_NO_MEMORY,
    SA_AIS_ERR_BAD_HANDLE,
    SA_AIS_ERR_BUSY,
    SA_AIS_ERR_ACCESS,
    SA_AIS_ERR_NOT_EXIST,
    SA_AIS_ERR_NAME_TOO_LONG,
    SA_AIS_ERR_EXIST,
    SA_AIS_ERR_NO_SPACE,
    SA_AIS_ERR_INTERRUPT,
    SA_AIS_ERR_NAME_NOT_FOUND,
    SA_AIS_ERR_NO_RESOURCES,
    SA_AIS_ERR_NOT_SUPPORTED,
    SA_AIS_ERR_BAD_OPERATION,
    SA_AIS_ERR_FAILED_OPERATION,
    SA_AIS_ERR_MESSAGE_ERROR,
    SA_AIS_ERR_QUEUE_FULL,
    SA_AIS_ERR_QUEUE_NOT_AVAILABLE,
    SA_AIS_ERR_BAD_FLAGS,
    SA_AIS_ERR_TOO_BIG,
    SA_AIS_ERR_NO_SECTIONS,
    SA_AIS_ERR_SECURITY,
});
