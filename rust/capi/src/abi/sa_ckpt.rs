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
//! The 22 `saCkpt*` functions of B.01.01 are at the end of this file, as
//! thin wrappers over `crate::ckpt`.
//!
//! Must not: hold service logic, or use a Rust enum where C hands us a
//! value (see the enum convention in `abi/mod.rs`).
// The exported functions' safety contract is the C API's, as documented
// for each function by the spec; they check every pointer they can.
#![allow(clippy::missing_safety_doc)]

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
    unsafe extern "C" fn(invocation: SaInvocationT, checkpointHandle: SaCkptCheckpointHandleT, error: SaAisErrorT),
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

crate::c_enum!(SaCkptSectionStateT { SA_CKPT_SECTION_VALID, SA_CKPT_SECTION_CORRUPTED });
crate::c_enum!(SaCkptSectionsChosenT {
    SA_CKPT_SECTIONS_FOREVER,
    SA_CKPT_SECTIONS_LEQ_EXPIRATION_TIME,
    SA_CKPT_SECTIONS_GEQ_EXPIRATION_TIME,
    SA_CKPT_SECTIONS_CORRUPTED,
    SA_CKPT_SECTIONS_ANY,
});

// ---------------------------------------------------------------------------
// The API functions (thin wrappers; the work is in `crate::ckpt`).

use super::convert::{
    dispatch_flags, name_bytes, opt_out, opt_ref, out, try_mut, try_ref, try_slice, try_slice_mut, with_version,
};

/// `saCkptInitialize`: `callbacks` may be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptInitialize(
    ckptHandle: *mut SaCkptHandleT,
    callbacks: *const SaCkptCallbacksT,
    version: *mut SaVersionT,
) -> SaAisErrorT {
    crate::boundary!({
        let version = try_mut!(version)?;
        let handle = out!(ckptHandle)?;
        let callbacks = opt_ref!(callbacks)?;
        handle.write(with_version(version, |v| crate::ckpt::initialize(callbacks, v))?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptSelectionObjectGet(
    ckptHandle: SaCkptHandleT,
    selectionObject: *mut SaSelectionObjectT,
) -> SaAisErrorT {
    crate::boundary!({
        let so = out!(selectionObject)?;
        crate::ckpt::selection_object(ckptHandle, so)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptDispatch(ckptHandle: SaCkptHandleT, dispatchFlags: SaDispatchFlagsT) -> SaAisErrorT {
    crate::boundary!({ crate::ckpt::dispatch(ckptHandle, dispatch_flags(dispatchFlags)) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptFinalize(ckptHandle: SaCkptHandleT) -> SaAisErrorT {
    crate::boundary!({ crate::ckpt::finalize(ckptHandle) })
}

/// `timeout`: 0 or `SA_TIME_END` is no limit (as in openais 0.80); else
/// `SA_AIS_ERR_TIMEOUT` once that many nanoseconds pass.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointOpen(
    ckptHandle: SaCkptHandleT,
    checkpointName: *const SaNameT,
    checkpointCreationAttributes: *const SaCkptCheckpointCreationAttributesT,
    checkpointOpenFlags: SaCkptCheckpointOpenFlagsT,
    timeout: SaTimeT,
    checkpointHandle: *mut SaCkptCheckpointHandleT,
) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(checkpointName)?;
        let handle = out!(checkpointHandle)?;
        let attrs = opt_ref!(checkpointCreationAttributes)?;
        crate::ckpt::open(ckptHandle, name, attrs, checkpointOpenFlags, timeout, handle)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointOpenAsync(
    ckptHandle: SaCkptHandleT,
    invocation: SaInvocationT,
    checkpointName: *const SaNameT,
    checkpointCreationAttributes: *const SaCkptCheckpointCreationAttributesT,
    checkpointOpenFlags: SaCkptCheckpointOpenFlagsT,
) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(checkpointName)?;
        let attrs = opt_ref!(checkpointCreationAttributes)?;
        crate::ckpt::open_async(ckptHandle, invocation, name, attrs, checkpointOpenFlags)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointClose(checkpointHandle: SaCkptCheckpointHandleT) -> SaAisErrorT {
    crate::boundary!({ crate::ckpt::close(checkpointHandle) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointUnlink(
    ckptHandle: SaCkptHandleT,
    checkpointName: *const SaNameT,
) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(checkpointName)?;
        crate::ckpt::unlink(ckptHandle, name)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointRetentionDurationSet(
    checkpointHandle: SaCkptCheckpointHandleT,
    retentionDuration: SaTimeT,
) -> SaAisErrorT {
    crate::boundary!({ crate::ckpt::retention_duration_set(checkpointHandle, retentionDuration) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptActiveReplicaSet(checkpointHandle: SaCkptCheckpointHandleT) -> SaAisErrorT {
    crate::boundary!({ crate::ckpt::active_replica_set(checkpointHandle) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointStatusGet(
    checkpointHandle: SaCkptCheckpointHandleT,
    checkpointStatus: *mut SaCkptCheckpointDescriptorT,
) -> SaAisErrorT {
    crate::boundary!({
        let status = out!(checkpointStatus)?;
        crate::ckpt::status_get(checkpointHandle, status)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptSectionCreate(
    checkpointHandle: SaCkptCheckpointHandleT,
    sectionCreationAttributes: *mut SaCkptSectionCreationAttributesT,
    initialData: *const c_void,
    initialDataSize: SaSizeT,
) -> SaAisErrorT {
    crate::boundary!({
        let attrs = try_ref!(sectionCreationAttributes)?;
        unsafe { crate::ckpt::section_create(checkpointHandle, attrs, initialData.cast(), initialDataSize) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptSectionDelete(
    checkpointHandle: SaCkptCheckpointHandleT,
    sectionId: *const SaCkptSectionIdT,
) -> SaAisErrorT {
    crate::boundary!({
        let id = try_ref!(sectionId)?;
        unsafe { crate::ckpt::section_delete(checkpointHandle, id) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptSectionExpirationTimeSet(
    checkpointHandle: SaCkptCheckpointHandleT,
    sectionId: *const SaCkptSectionIdT,
    expirationTime: SaTimeT,
) -> SaAisErrorT {
    crate::boundary!({
        let id = try_ref!(sectionId)?;
        unsafe { crate::ckpt::section_expiration_time_set(checkpointHandle, id, expirationTime) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptSectionIterationInitialize(
    checkpointHandle: SaCkptCheckpointHandleT,
    sectionsChosen: SaCkptSectionsChosenT,
    expirationTime: SaTimeT,
    sectionIterationHandle: *mut SaCkptSectionIterationHandleT,
) -> SaAisErrorT {
    crate::boundary!({
        let it = out!(sectionIterationHandle)?;
        crate::ckpt::iteration_initialize(checkpointHandle, sectionsChosen, expirationTime, it)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptSectionIterationNext(
    sectionIterationHandle: SaCkptSectionIterationHandleT,
    sectionDescriptor: *mut SaCkptSectionDescriptorT,
) -> SaAisErrorT {
    crate::boundary!({
        let d = out!(sectionDescriptor)?;
        crate::ckpt::iteration_next(sectionIterationHandle, d)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptSectionIterationFinalize(
    sectionIterationHandle: SaCkptSectionIterationHandleT,
) -> SaAisErrorT {
    crate::boundary!({ crate::ckpt::iteration_finalize(sectionIterationHandle) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointWrite(
    checkpointHandle: SaCkptCheckpointHandleT,
    ioVector: *const SaCkptIOVectorElementT,
    numberOfElements: SaUint32T,
    erroneousVectorIndex: *mut SaUint32T,
) -> SaAisErrorT {
    crate::boundary!({
        let vector = try_slice!(ioVector, numberOfElements as usize)?;
        let index = opt_out!(erroneousVectorIndex)?;
        unsafe { crate::ckpt::write(checkpointHandle, vector, index) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptSectionOverwrite(
    checkpointHandle: SaCkptCheckpointHandleT,
    sectionId: *const SaCkptSectionIdT,
    dataBuffer: *const c_void,
    dataSize: SaSizeT,
) -> SaAisErrorT {
    crate::boundary!({
        let id = try_ref!(sectionId)?;
        unsafe { crate::ckpt::overwrite(checkpointHandle, id, dataBuffer.cast(), dataSize) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointRead(
    checkpointHandle: SaCkptCheckpointHandleT,
    ioVector: *mut SaCkptIOVectorElementT,
    numberOfElements: SaUint32T,
    erroneousVectorIndex: *mut SaUint32T,
) -> SaAisErrorT {
    crate::boundary!({
        let vector = try_slice_mut!(ioVector, numberOfElements as usize)?;
        let index = opt_out!(erroneousVectorIndex)?;
        unsafe { crate::ckpt::read(checkpointHandle, vector, index) }
    })
}

/// `timeout`: 0 or `SA_TIME_END` is no limit (as in openais 0.80); else
/// `SA_AIS_ERR_TIMEOUT` once that many nanoseconds pass.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointSynchronize(
    checkpointHandle: SaCkptCheckpointHandleT,
    timeout: SaTimeT,
) -> SaAisErrorT {
    crate::boundary!({ crate::ckpt::synchronize(checkpointHandle, timeout) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointSynchronizeAsync(
    checkpointHandle: SaCkptCheckpointHandleT,
    invocation: SaInvocationT,
) -> SaAisErrorT {
    crate::boundary!({ crate::ckpt::synchronize_async(checkpointHandle, invocation) })
}
