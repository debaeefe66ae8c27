//! Checkpoints: `saCkpt.h` (AIS CKPT B.01.01).
//!
//! Owns: the names, values and layout of the types, constants, enums and
//! callback typedefs of the B.01.01 `saCkpt.h` as the classic openais header
//! defined them, including `SaOffsetT` (which the classic headers define
//! here, not in `saAis.h`). cbindgen turns this file, and only this file,
//! into `include/corosync/saCkpt.h` (config `rust/capi/cbindgen/saCkpt.toml`,
//! which also holds the two initializer macros `SA_CKPT_DEFAULT_SECTION_ID`
//! and `SA_CKPT_GENERATED_SECTION_ID`, `{ 0, 0 }`: a brace initializer is
//! not something cbindgen can print from a Rust constant).
//!
//! The `saCkpt*` functions are not here yet: each prototype is added with
//! its implementation (an unimplemented function is neither declared nor
//! exported; see `rust/capi/README.md`).
//!
//! Must not: hold service logic, or use a Rust enum where C hands us a
//! value (see the enum convention in `abi/mod.rs`).

use core::ffi::{c_uint, c_void};

use super::sa_ais::*;

pub type SaCkptHandleT = SaUint64T;

pub type SaCkptCheckpointHandleT = SaUint64T;

pub type SaCkptSectionIterationHandleT = SaUint64T;

// Creation flags: bits of `SaCkptCheckpointCreationFlagsT`. Exactly one of
// the three SA_CKPT_WR_* bits is set; COLLOCATED may be added.
pub const SA_CKPT_WR_ALL_REPLICAS: i32 = 0x01;
pub const SA_CKPT_WR_ACTIVE_REPLICA: i32 = 0x02;
pub const SA_CKPT_WR_ACTIVE_REPLICA_WEAK: i32 = 0x04;
pub const SA_CKPT_CHECKPOINT_COLLOCATED: i32 = 0x08;

pub type SaCkptCheckpointCreationFlagsT = SaUint32T;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaCkptCheckpointCreationAttributesT {
    pub creationFlags: SaCkptCheckpointCreationFlagsT,
    pub checkpointSize: SaSizeT,
    pub retentionDuration: SaTimeT,
    pub maxSections: SaUint32T,
    pub maxSectionSize: SaSizeT,
    pub maxSectionIdSize: SaSizeT,
}

// Open flags: bits of `SaCkptCheckpointOpenFlagsT`.
pub const SA_CKPT_CHECKPOINT_READ: i32 = 0x01;
pub const SA_CKPT_CHECKPOINT_WRITE: i32 = 0x02;
pub const SA_CKPT_CHECKPOINT_CREATE: i32 = 0x04;

pub type SaCkptCheckpointOpenFlagsT = SaUint32T;

/// A section id: `idLen` bytes at `id`. `idLen == 0` is the default section
/// (`SA_CKPT_DEFAULT_SECTION_ID`) or, in section creation, a request for a
/// generated id (`SA_CKPT_GENERATED_SECTION_ID`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaCkptSectionIdT {
    pub idLen: SaUint16T,
    pub id: *mut SaUint8T,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaCkptSectionCreationAttributesT {
    pub sectionId: *mut SaCkptSectionIdT,
    pub expirationTime: SaTimeT,
}

/// `SaCkptSectionStateT`: an integer; see [`enums::SaCkptSectionStateT`].
/// cbindgen:ignore
pub type SaCkptSectionStateT = c_uint;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaCkptSectionDescriptorT {
    pub sectionId: SaCkptSectionIdT,
    pub expirationTime: SaTimeT,
    pub sectionSize: SaSizeT,
    pub sectionState: SaCkptSectionStateT,
    pub lastUpdate: SaTimeT,
}

/// `SaCkptSectionsChosenT`: an integer; see [`enums::SaCkptSectionsChosenT`].
/// cbindgen:ignore
pub type SaCkptSectionsChosenT = c_uint;

pub type SaOffsetT = SaUint64T;

/// One element of a read or write vector.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaCkptIOVectorElementT {
    pub sectionId: SaCkptSectionIdT,
    pub dataBuffer: *mut c_void,
    pub dataSize: SaSizeT,
    pub dataOffset: SaOffsetT,
    pub readSize: SaSizeT,
}

/// What `saCkptCheckpointStatusGet` reports.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaCkptCheckpointDescriptorT {
    pub checkpointCreationAttributes: SaCkptCheckpointCreationAttributesT,
    pub numberOfSections: SaUint32T,
    pub memoryUsed: SaUint32T,
}

pub type SaCkptCheckpointOpenCallbackT = Option<
    unsafe extern "C" fn(
        invocation: SaInvocationT,
        checkpointHandle: SaCkptCheckpointHandleT,
        error: SaAisErrorT,
    ),
>;

pub type SaCkptCheckpointSynchronizeCallbackT =
    Option<unsafe extern "C" fn(invocation: SaInvocationT, error: SaAisErrorT)>;

/// The callbacks an application hands to `saCkptInitialize`; either may be NULL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaCkptCallbacksT {
    pub saCkptCheckpointOpenCallback: SaCkptCheckpointOpenCallbackT,
    pub saCkptCheckpointSynchronizeCallback: SaCkptCheckpointSynchronizeCallbackT,
}

/// The spec's enums, as cbindgen prints them (see `sa_ais::enums`).
pub mod enums {
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaCkptSectionStateT {
        SA_CKPT_SECTION_VALID = 1,
        SA_CKPT_SECTION_CORRUPTED = 2,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaCkptSectionsChosenT {
        SA_CKPT_SECTIONS_FOREVER = 1,
        SA_CKPT_SECTIONS_LEQ_EXPIRATION_TIME = 2,
        SA_CKPT_SECTIONS_GEQ_EXPIRATION_TIME = 3,
        SA_CKPT_SECTIONS_CORRUPTED = 4,
        SA_CKPT_SECTIONS_ANY = 5,
    }
}

crate::c_enum!(SaCkptSectionStateT {
    SA_CKPT_SECTION_VALID,
    SA_CKPT_SECTION_CORRUPTED
});
crate::c_enum!(SaCkptSectionsChosenT {
    SA_CKPT_SECTIONS_FOREVER,
    SA_CKPT_SECTIONS_LEQ_EXPIRATION_TIME,
    SA_CKPT_SECTIONS_GEQ_EXPIRATION_TIME,
    SA_CKPT_SECTIONS_CORRUPTED,
    SA_CKPT_SECTIONS_ANY,
});
