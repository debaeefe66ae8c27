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
//! The 22 `saCkpt*` functions of B.01.01 follow the types: each reads its
//! arguments into Rust values (`abi::convert`), calls `crate::ckpt`, and
//! writes the results back; then the conversions between the C structs
//! and the service's Rust types, and the memory handed to the application
//! (a read element's buffer when `dataBuffer` is NULL, a generated
//! section id: from `malloc`, for the application to `free`).
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
    /// As in openais 0.80, the data may grow past this size as long as
    /// each section stays within `maxSectionSize` (programs written for
    /// the classic stack rely on it); `SA_AIS_ERR_NO_SPACE` comes when the
    /// executive's store as a whole has no room.
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
// The functions: arguments read into Rust values (`abi::convert`), the work
// done by `crate::ckpt`, its results written back.

use super::convert::{
    CAlloc, Out, callback_code, dispatch_flags, name_bytes, opt_out, opt_ref, out, out_slice, try_mut, try_ref,
    try_slice, try_slice_mut, with_version, write_slice,
};
use crate::ckpt::{self, Attrs, ReadWant, Section, Status, VectorError, WriteElement};
use crate::error::{AisError, AisResult};

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
        let callbacks = opt_ref!(callbacks)?.map(self::callbacks).unwrap_or_default();
        handle.write(with_version(version, |v| ckpt::initialize(v, callbacks))?);
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
        so.write(ckpt::selection_object(ckptHandle)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptDispatch(ckptHandle: SaCkptHandleT, dispatchFlags: SaDispatchFlagsT) -> SaAisErrorT {
    crate::boundary!({ ckpt::dispatch(ckptHandle, dispatch_flags(dispatchFlags)) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptFinalize(ckptHandle: SaCkptHandleT) -> SaAisErrorT {
    crate::boundary!({ ckpt::finalize(ckptHandle) })
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
        let attrs = opt_ref!(checkpointCreationAttributes)?.map(attrs);
        handle.write(ckpt::open(ckptHandle, name, attrs, checkpointOpenFlags, timeout)?);
        Ok(())
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
        let attrs = opt_ref!(checkpointCreationAttributes)?.map(attrs);
        ckpt::open_async(ckptHandle, invocation, name, attrs, checkpointOpenFlags)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointClose(checkpointHandle: SaCkptCheckpointHandleT) -> SaAisErrorT {
    crate::boundary!({ ckpt::close(checkpointHandle) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointUnlink(
    ckptHandle: SaCkptHandleT,
    checkpointName: *const SaNameT,
) -> SaAisErrorT {
    crate::boundary!({
        let name = name_bytes!(checkpointName)?;
        ckpt::unlink(ckptHandle, name)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointRetentionDurationSet(
    checkpointHandle: SaCkptCheckpointHandleT,
    retentionDuration: SaTimeT,
) -> SaAisErrorT {
    crate::boundary!({ ckpt::retention_duration_set(checkpointHandle, retentionDuration) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptActiveReplicaSet(checkpointHandle: SaCkptCheckpointHandleT) -> SaAisErrorT {
    crate::boundary!({ ckpt::active_replica_set(checkpointHandle) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointStatusGet(
    checkpointHandle: SaCkptCheckpointHandleT,
    checkpointStatus: *mut SaCkptCheckpointDescriptorT,
) -> SaAisErrorT {
    crate::boundary!({
        let status = out!(checkpointStatus)?;
        status.write(descriptor(ckpt::status_get(checkpointHandle)?));
        Ok(())
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
        // In/out: a generated id is written back.
        let section = try_mut!(attrs.sectionId)?;
        let id = section_id(section)?;
        let data = try_slice!(initialData.cast::<u8>(), data_len(initialDataSize)?)?;
        if let Some(new_id) = ckpt::section_create(checkpointHandle, id, attrs.expirationTime, data)? {
            // For the application to free(), as with the classic library.
            let id_len = new_id.len() as u16;
            section.id = CAlloc::from_slice(&new_id)?.into_raw();
            section.idLen = id_len;
        }
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptSectionDelete(
    checkpointHandle: SaCkptCheckpointHandleT,
    sectionId: *const SaCkptSectionIdT,
) -> SaAisErrorT {
    crate::boundary!({
        let id = section_id(try_ref!(sectionId)?)?;
        ckpt::section_delete(checkpointHandle, id)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptSectionExpirationTimeSet(
    checkpointHandle: SaCkptCheckpointHandleT,
    sectionId: *const SaCkptSectionIdT,
    expirationTime: SaTimeT,
) -> SaAisErrorT {
    crate::boundary!({
        let id = section_id(try_ref!(sectionId)?)?;
        ckpt::section_expiration_time_set(checkpointHandle, id, expirationTime)
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
        let chosen = enums::SaCkptSectionsChosenT::try_from(sectionsChosen)?;
        it.write(ckpt::iteration_initialize(checkpointHandle, chosen as u32, expirationTime)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptSectionIterationNext(
    sectionIterationHandle: SaCkptSectionIterationHandleT,
    sectionDescriptor: *mut SaCkptSectionDescriptorT,
) -> SaAisErrorT {
    crate::boundary!({
        let d = out!(sectionDescriptor)?;
        d.write(section_descriptor(&ckpt::iteration_next(sectionIterationHandle)?));
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptSectionIterationFinalize(
    sectionIterationHandle: SaCkptSectionIterationHandleT,
) -> SaAisErrorT {
    crate::boundary!({ ckpt::iteration_finalize(sectionIterationHandle) })
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
        let elements = write_elements(vector)?;
        vector_result(ckpt::write(checkpointHandle, elements), index)
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
        let id = section_id(try_ref!(sectionId)?)?;
        let data = try_slice!(dataBuffer.cast::<u8>(), data_len(dataSize)?)?;
        ckpt::overwrite(checkpointHandle, id, data)
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
        let wants = read_wants(vector)?;
        let data = vector_result(ckpt::read(checkpointHandle, wants), index)?;
        fill_read(vector, data)
    })
}

/// `timeout`: 0 or `SA_TIME_END` is no limit (as in openais 0.80); else
/// `SA_AIS_ERR_TIMEOUT` once that many nanoseconds pass.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointSynchronize(
    checkpointHandle: SaCkptCheckpointHandleT,
    timeout: SaTimeT,
) -> SaAisErrorT {
    crate::boundary!({ ckpt::synchronize(checkpointHandle, timeout) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn saCkptCheckpointSynchronizeAsync(
    checkpointHandle: SaCkptCheckpointHandleT,
    invocation: SaInvocationT,
) -> SaAisErrorT {
    crate::boundary!({ ckpt::synchronize_async(checkpointHandle, invocation) })
}

// ---------------------------------------------------------------------------
// The C structs to and from the service's Rust types. The structs read
// here are ones C handed the function being run (see `abi::convert`).

/// The application's callbacks, as `crate::ckpt` calls them.
fn callbacks(c: &SaCkptCallbacksT) -> ckpt::Callbacks {
    let open = c.saCkptCheckpointOpenCallback.map(|f| -> ckpt::OpenFn {
        Box::new(move |invocation, result| {
            let handle = *result.as_ref().unwrap_or(&0);
            // SAFETY: the application's callback, of the spec's type.
            unsafe { f(invocation, handle, callback_code(&result)) }
        })
    });
    let synchronize = c.saCkptCheckpointSynchronizeCallback.map(|f| -> ckpt::SynchronizeFn {
        Box::new(move |invocation, result| {
            // SAFETY: the application's callback, of the spec's type.
            unsafe { f(invocation, callback_code(&result)) }
        })
    });
    ckpt::Callbacks { open, synchronize }
}

fn attrs(a: &SaCkptCheckpointCreationAttributesT) -> Attrs {
    Attrs {
        creation_flags: a.creationFlags,
        checkpoint_size: a.checkpointSize,
        retention: a.retentionDuration,
        max_sections: a.maxSections,
        max_section_size: a.maxSectionSize,
        max_section_id_size: a.maxSectionIdSize,
    }
}

fn descriptor(s: Status) -> SaCkptCheckpointDescriptorT {
    let a = s.attrs;
    SaCkptCheckpointDescriptorT {
        checkpointCreationAttributes: SaCkptCheckpointCreationAttributesT {
            creationFlags: a.creation_flags,
            checkpointSize: a.checkpoint_size,
            retentionDuration: a.retention,
            maxSections: a.max_sections,
            maxSectionSize: a.max_section_size,
            maxSectionIdSize: a.max_section_id_size,
        },
        numberOfSections: s.sections,
        memoryUsed: s.memory_used,
    }
}

/// The bytes of a section id; one longer than a request may carry is the
/// caller's mistake (`INVALID_PARAM`), not a message the executive would
/// answer by dropping the connection.
fn section_id(id: &SaCkptSectionIdT) -> AisResult<Vec<u8>> {
    if usize::from(id.idLen) > ckpt::MAX_SECTION_ID {
        return Err(AisError::INVALID_PARAM);
    }
    Ok(try_slice!(id.id.cast_const(), usize::from(id.idLen))?.to_vec())
}

/// A section for C: its id points into the iteration's copy, which lives
/// until the iteration is finalized.
fn section_descriptor(s: &Section) -> SaCkptSectionDescriptorT {
    let id = if s.id.is_empty() { core::ptr::null_mut() } else { s.id.as_ptr().cast_mut() };
    SaCkptSectionDescriptorT {
        sectionId: SaCkptSectionIdT { idLen: s.id.len() as u16, id },
        expirationTime: s.expiration,
        sectionSize: s.size,
        sectionState: s.state,
        lastUpdate: s.last_update,
    }
}

/// A data size C gives; more than one call moves → `TOO_BIG`.
fn data_len(size: SaSizeT) -> AisResult<usize> {
    match usize::try_from(size) {
        Ok(len) if len <= ckpt::MAX_DATA => Ok(len),
        _ => Err(AisError::TOO_BIG),
    }
}

/// The elements of a write vector; more than one call moves → `TOO_BIG`
/// (checked before copying).
fn write_elements(vector: &[SaCkptIOVectorElementT]) -> AisResult<Vec<WriteElement>> {
    if vector.len() > ckpt::MAX_VECTOR {
        return Err(AisError::TOO_BIG);
    }
    let mut elements = Vec::with_capacity(vector.len());
    let mut total = 0usize;
    for e in vector {
        let id = section_id(&e.sectionId)?;
        let len = usize::try_from(e.dataSize).map_err(|_| AisError::TOO_BIG)?;
        total = total.saturating_add(len);
        if total > ckpt::MAX_DATA {
            return Err(AisError::TOO_BIG);
        }
        let data = try_slice!(e.dataBuffer.cast_const().cast::<u8>(), len)?;
        elements.push(WriteElement { id, offset: e.dataOffset, data: data.to_vec() });
    }
    Ok(elements)
}

/// What each element of a read vector asks for.
fn read_wants(vector: &[SaCkptIOVectorElementT]) -> AisResult<Vec<ReadWant>> {
    if vector.len() > ckpt::MAX_VECTOR {
        return Err(AisError::TOO_BIG);
    }
    vector
        .iter()
        .map(|e| {
            let room = if e.dataBuffer.is_null() { None } else { Some(e.dataSize) };
            Ok(ReadWant { id: section_id(&e.sectionId)?, offset: e.dataOffset, room })
        })
        .collect()
}

/// A vector call's result; an error about one element writes its index
/// to `erroneousVectorIndex` (if given).
fn vector_result<T>(result: Result<T, VectorError>, index: Option<Out<'_, u32>>) -> AisResult<T> {
    result.map_err(|e| {
        if let (Some(i), Some(out)) = (e.index, index) {
            out.write(i);
        }
        e.error
    })
}

/// Puts what was read into the elements: the caller's buffer, or a new
/// one. Every new buffer is allocated first, so a failure leaves nothing
/// behind.
fn fill_read(vector: &mut [SaCkptIOVectorElementT], data: Vec<Vec<u8>>) -> AisResult<()> {
    let mut fresh = Vec::new();
    for (e, d) in vector.iter().zip(&data) {
        if e.dataBuffer.is_null() {
            fresh.push(CAlloc::from_slice(d)?);
        }
    }
    let mut fresh = fresh.into_iter();
    for (e, d) in vector.iter_mut().zip(&data) {
        let n = if e.dataBuffer.is_null() {
            e.dataBuffer = fresh.next().ok_or(AisError::LIBRARY)?.into_raw().cast();
            d.len()
        } else {
            // At most `dataSize` bytes (the service's promise, kept here).
            let n = d.len().min(e.dataSize as usize);
            write_slice(out_slice!(e.dataBuffer.cast::<u8>(), n)?, &d[..n]);
            n
        };
        e.readSize = n as u64;
    }
    Ok(())
}
