//! `libSaCkpt`: the checkpoint API (AIS CKPT B.01.01) over the shared
//! runtime. The exported wrappers are in `abi/sa_ckpt.rs`; the messages in
//! `ais_ipc::ckpt`; the service in the executive's `services/ckpt/`.
//!
//! Handles: library handles in the runtime's [`Library`]; checkpoint
//! handles are children of a library handle ([`CHECKPOINTS`]), each naming
//! the executive's open id; section iteration handles are children of a
//! checkpoint handle ([`ITERATIONS`]). Finalize drops a library handle's
//! checkpoints and their iterations; close drops a checkpoint's iterations.
//!
//! Decided here: checks that need only the arguments (NULL pointers, enum
//! values, a callback that was not given → `INIT`); memory the library
//! hands out: a read element whose `dataBuffer` is NULL gets a buffer from
//! `malloc` (the application releases it with `free`, as with the classic
//! library), and so does the id of a section created with
//! `SA_CKPT_GENERATED_SECTION_ID`. Section ids returned by iteration live
//! until the iteration is finalized.
//!
//! One call moves at most `ais_ipc::ckpt::MAX_DATA` bytes of data (about
//! 1 MiB); more is `SA_AIS_ERR_TOO_BIG`.
//!
//! An open that times out (`SA_AIS_ERR_TIMEOUT`) may still complete in the
//! executive afterwards; that open is then held by the library handle's
//! connection and released at `saCkptFinalize` (or when the process exits).

use std::sync::{Arc, Mutex};

use ais_ipc::ckpt::{self as wire, Attrs, Descriptor, ReadElement, Request, VectorResult, WriteElement};
use ais_ipc::{Reader, error};

use crate::abi::convert::Out;
use crate::abi::sa_ais::{SaInvocationT, SaTimeT};
use crate::abi::sa_ckpt::{
    SaCkptCallbacksT, SaCkptCheckpointCreationAttributesT, SaCkptCheckpointDescriptorT, SaCkptIOVectorElementT,
    SaCkptSectionCreationAttributesT, SaCkptSectionDescriptorT, SaCkptSectionIdT, enums,
};
use crate::error::{AisError, AisResult};
use crate::runtime::{DispatchFlags, HandleTable, Instance, Library, Pending, Version, version};

/// Per library handle: the callbacks, and the async calls in flight.
pub struct CkptState {
    callbacks: SaCkptCallbacksT,
    /// token -> (invocation, open flags) of each `saCkptCheckpointOpenAsync`.
    async_opens: Pending<(SaInvocationT, u32)>,
    /// token -> invocation of each `saCkptCheckpointSynchronizeAsync`.
    async_syncs: Pending<SaInvocationT>,
}

/// One open checkpoint (a `SaCkptCheckpointHandleT`).
pub struct Checkpoint {
    lib: u64,
    /// The executive's id of this open.
    open: u64,
}

/// One section iteration.
pub struct Iteration {
    checkpoint: u64,
    chosen: u32,
    expiration: SaTimeT,
    state: Mutex<IterationState>,
}

#[derive(Default)]
struct IterationState {
    /// The id of the last section returned (the next starts after it).
    after: Option<Vec<u8>>,
    /// Every id handed to the application, alive until finalize.
    ids: Vec<Box<[u8]>>,
}

static CKPT: Library<CkptState> = Library::new(ais_ipc::service::CKPT, &[version(b'B', 1, 1)]);
static CHECKPOINTS: HandleTable<Checkpoint> = HandleTable::new();
static ITERATIONS: HandleTable<Iteration> = HandleTable::new();

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The library instance and checkpoint behind a checkpoint handle.
fn checkpoint(handle: u64) -> AisResult<(Arc<Instance<CkptState>>, Arc<Checkpoint>)> {
    let ck = CHECKPOINTS.get(handle)?;
    Ok((CKPT.get(ck.lib)?, ck))
}

/// `saCkptInitialize`; `callbacks` NULL means none.
pub fn initialize(callbacks: Option<&SaCkptCallbacksT>, version: &mut Version) -> AisResult<u64> {
    let callbacks = callbacks
        .copied()
        .unwrap_or(SaCkptCallbacksT { saCkptCheckpointOpenCallback: None, saCkptCheckpointSynchronizeCallback: None });
    let state = CkptState { callbacks, async_opens: Pending::default(), async_syncs: Pending::default() };
    CKPT.initialize(version, state)
}

pub fn selection_object(handle: u64, out: Out<'_, u64>) -> AisResult<()> {
    out.write(CKPT.selection_object(handle)?);
    Ok(())
}

pub fn dispatch(handle: u64, flags: AisResult<DispatchFlags>) -> AisResult<()> {
    CKPT.dispatch(handle, flags, deliver)
}

pub fn finalize(handle: u64) -> AisResult<()> {
    CKPT.finalize(handle)?;
    for (ck, _) in CHECKPOINTS.remove_children(handle) {
        ITERATIONS.remove_children(ck);
    }
    Ok(())
}

/// One callback from the executive.
fn deliver(instance: &Instance<CkptState>, id: u32, body: &[u8]) -> AisResult<()> {
    let mut r = Reader::new(body);
    let bad = |_| AisError::LIBRARY;
    match id {
        wire::OPEN_CALLBACK => {
            let token = r.u64("token").map_err(bad)?;
            let mut err = r.u32("error").map_err(bad)?;
            let open = r.u64("open").map_err(bad)?;
            r.finish().map_err(bad)?;
            let Some((invocation, _flags)) = instance.state.async_opens.take(token) else {
                return Ok(()); // not ours (cannot happen) or already gone
            };
            let mut handle = 0;
            if err == error::OK {
                match CHECKPOINTS
                    .insert_child(CKPT.handles(), instance.handle, |_| Checkpoint { lib: instance.handle, open })
                {
                    Ok(h) => handle = h,
                    Err(e) => err = e.0,
                }
            }
            if let Some(f) = instance.state.callbacks.saCkptCheckpointOpenCallback {
                // SAFETY: the application's callback of the spec's type.
                unsafe { f(invocation, handle, err) };
            }
            Ok(())
        }
        wire::SYNC_CALLBACK => {
            let token = r.u64("token").map_err(bad)?;
            let err = r.u32("error").map_err(bad)?;
            r.finish().map_err(bad)?;
            let Some(invocation) = instance.state.async_syncs.take(token) else { return Ok(()) };
            if let Some(f) = instance.state.callbacks.saCkptCheckpointSynchronizeCallback {
                // SAFETY: the application's callback of the spec's type.
                unsafe { f(invocation, err) };
            }
            Ok(())
        }
        _ => Err(AisError::LIBRARY),
    }
}

fn wire_attrs(a: &SaCkptCheckpointCreationAttributesT) -> Attrs {
    Attrs {
        creation_flags: a.creationFlags,
        checkpoint_size: a.checkpointSize,
        retention: a.retentionDuration,
        max_sections: a.maxSections,
        max_section_size: a.maxSectionSize,
        max_section_id_size: a.maxSectionIdSize,
    }
}

fn open_request(
    name: &[u8],
    attrs: Option<&SaCkptCheckpointCreationAttributesT>,
    flags: u32,
    token: u64,
    is_async: bool,
) -> AisResult<Request> {
    if name.is_empty() {
        return Err(AisError::INVALID_PARAM);
    }
    if flags & !(wire::OPEN_READ | wire::OPEN_WRITE | wire::OPEN_CREATE) != 0 {
        return Err(AisError::BAD_FLAGS);
    }
    // Attributes exactly when creating.
    if (flags & wire::OPEN_CREATE != 0) != attrs.is_some() {
        return Err(AisError::INVALID_PARAM);
    }
    Ok(Request::Open { token, is_async, name: name.to_vec(), attrs: attrs.map(wire_attrs), flags })
}

/// `saCkptCheckpointOpen`.
pub fn open(
    lib: u64,
    name: &[u8],
    attrs: Option<&SaCkptCheckpointCreationAttributesT>,
    flags: u32,
    timeout: SaTimeT,
    out: Out<'_, u64>,
) -> AisResult<()> {
    let instance = CKPT.get(lib)?;
    let req = open_request(name, attrs, flags, 0, false)?;
    let answer = instance.conn.request_within(wire::OPEN, &req.encode(), timeout)?;
    let open = u64::from_le_bytes(answer.get(..8).and_then(|b| b.try_into().ok()).ok_or(AisError::LIBRARY)?);
    let handle = match CHECKPOINTS.insert_child(CKPT.handles(), lib, |_| Checkpoint { lib, open }) {
        Ok(h) => h,
        Err(e) => {
            let _ = instance.conn.request(wire::CLOSE, &Request::Close { open }.encode());
            return Err(e);
        }
    };
    out.write(handle);
    Ok(())
}

/// `saCkptCheckpointOpenAsync`: the result comes by the open callback.
pub fn open_async(
    lib: u64,
    invocation: SaInvocationT,
    name: &[u8],
    attrs: Option<&SaCkptCheckpointCreationAttributesT>,
    flags: u32,
) -> AisResult<()> {
    let instance = CKPT.get(lib)?;
    if instance.state.callbacks.saCkptCheckpointOpenCallback.is_none() {
        return Err(AisError::INIT);
    }
    instance.state.async_opens.send((invocation, flags), |token| {
        let req = open_request(name, attrs, flags, token, true)?;
        instance.conn.request(wire::OPEN, &req.encode())
    })
}

/// `saCkptCheckpointClose`.
pub fn close(handle: u64) -> AisResult<()> {
    let (instance, ck) = checkpoint(handle)?;
    instance.conn.request(wire::CLOSE, &Request::Close { open: ck.open }.encode())?;
    CHECKPOINTS.remove(handle)?;
    ITERATIONS.remove_children(handle);
    Ok(())
}

/// `saCkptCheckpointUnlink`.
pub fn unlink(lib: u64, name: &[u8]) -> AisResult<()> {
    let instance = CKPT.get(lib)?;
    if name.is_empty() {
        return Err(AisError::INVALID_PARAM);
    }
    instance.conn.request(wire::UNLINK, &Request::Unlink { name: name.to_vec() }.encode())?;
    Ok(())
}

/// A request about an open checkpoint, answered with nothing.
fn simple(handle: u64, make: impl FnOnce(u64) -> Request) -> AisResult<Vec<u8>> {
    let (instance, ck) = checkpoint(handle)?;
    let req = make(ck.open);
    instance.conn.request(req.id(), &req.encode())
}

pub fn retention_duration_set(handle: u64, duration: SaTimeT) -> AisResult<()> {
    if duration < 0 {
        return Err(AisError::INVALID_PARAM);
    }
    simple(handle, |open| Request::RetentionSet { open, duration }).map(drop)
}

pub fn active_replica_set(handle: u64) -> AisResult<()> {
    simple(handle, |open| Request::ActiveSet { open }).map(drop)
}

pub fn status_get(handle: u64, out: Out<'_, SaCkptCheckpointDescriptorT>) -> AisResult<()> {
    let answer = simple(handle, |open| Request::StatusGet { open })?;
    let mut r = Reader::new(&answer);
    let a = Attrs::decode(&mut r).map_err(|_| AisError::LIBRARY)?;
    let sections = r.u32("sections").map_err(|_| AisError::LIBRARY)?;
    let used = r.u32("used").map_err(|_| AisError::LIBRARY)?;
    out.write(SaCkptCheckpointDescriptorT {
        checkpointCreationAttributes: SaCkptCheckpointCreationAttributesT {
            creationFlags: a.creation_flags,
            checkpointSize: a.checkpoint_size,
            retentionDuration: a.retention,
            maxSections: a.max_sections,
            maxSectionSize: a.max_section_size,
            maxSectionIdSize: a.max_section_id_size,
        },
        numberOfSections: sections,
        memoryUsed: used,
    });
    Ok(())
}

/// The bytes of a section id.
///
/// # Safety
/// `id.id` must point to `id.idLen` readable bytes when `idLen > 0`.
unsafe fn id_bytes(id: &SaCkptSectionIdT) -> AisResult<Vec<u8>> {
    // SAFETY: forwarded to the caller.
    Ok(unsafe { crate::abi::convert::raw::try_slice(id.id.cast_const(), usize::from(id.idLen)) }?.to_vec())
}

/// `saCkptSectionCreate`. A generated id is written back to the caller's
/// `sectionId` in memory from `malloc`.
///
/// # Safety
/// `attrs.sectionId` must be NULL or a valid, writable `SaCkptSectionIdT`
/// whose `id` points to `idLen` bytes; `data` to `size` bytes.
pub unsafe fn section_create(
    handle: u64,
    attrs: &SaCkptSectionCreationAttributesT,
    data: *const u8,
    size: u64,
) -> AisResult<()> {
    // SAFETY: the caller's promise.
    let section = unsafe { crate::abi::convert::raw::try_mut(attrs.sectionId) }?;
    // SAFETY: as above.
    let id = unsafe { id_bytes(section) }?;
    let len = usize::try_from(size).map_err(|_| AisError::TOO_BIG)?;
    if len > wire::MAX_DATA {
        return Err(AisError::TOO_BIG);
    }
    // SAFETY: as above.
    let data = unsafe { crate::abi::convert::raw::try_slice(data, len) }?;
    let generated = id.is_empty();
    let answer = simple(handle, |open| Request::SectionCreate {
        open,
        id,
        expiration: attrs.expirationTime,
        data: data.to_vec(),
    })?;
    if generated {
        let new_id = Reader::new(&answer).bytes(wire::MAX_SECTION_ID, "id").map_err(|_| AisError::LIBRARY)?;
        // SAFETY: plain allocation; the application frees it with free().
        let p = unsafe { libc::malloc(new_id.len().max(1)) }.cast::<u8>();
        if p.is_null() {
            return Err(AisError::NO_MEMORY);
        }
        // SAFETY: `p` has room for `new_id.len()` bytes.
        unsafe { p.copy_from_nonoverlapping(new_id.as_ptr(), new_id.len()) };
        section.idLen = new_id.len() as u16;
        section.id = p;
    }
    Ok(())
}

/// # Safety
/// As [`id_bytes`].
pub unsafe fn section_delete(handle: u64, id: &SaCkptSectionIdT) -> AisResult<()> {
    // SAFETY: forwarded.
    let id = unsafe { id_bytes(id) }?;
    simple(handle, |open| Request::SectionDelete { open, id }).map(drop)
}

/// # Safety
/// As [`id_bytes`].
pub unsafe fn section_expiration_time_set(handle: u64, id: &SaCkptSectionIdT, expiration: SaTimeT) -> AisResult<()> {
    // SAFETY: forwarded.
    let id = unsafe { id_bytes(id) }?;
    simple(handle, |open| Request::ExpirationSet { open, id, expiration }).map(drop)
}

/// `saCkptSectionIterationInitialize`. Asks the executive for the
/// checkpoint's status first, so that a checkpoint with nothing to iterate
/// answers here: a closed open is `BAD_HANDLE`, a collocated checkpoint
/// without an active replica `NOT_EXIST` (as the classic library did).
pub fn iteration_initialize(handle: u64, chosen: u32, expiration: SaTimeT, out: Out<'_, u64>) -> AisResult<()> {
    let chosen = enums::SaCkptSectionsChosenT::try_from(chosen)? as u32;
    simple(handle, |open| Request::StatusGet { open })?;
    let it = ITERATIONS.insert_child(&CHECKPOINTS, handle, |_| Iteration {
        checkpoint: handle,
        chosen,
        expiration,
        state: Mutex::new(IterationState::default()),
    })?;
    out.write(it);
    Ok(())
}

/// `saCkptSectionIterationNext`: `NO_SECTIONS` at the end.
pub fn iteration_next(iteration: u64, out: Out<'_, SaCkptSectionDescriptorT>) -> AisResult<()> {
    let it = ITERATIONS.get(iteration)?;
    let mut state = lock(&it.state);
    let after = state.after.clone();
    let answer =
        simple(it.checkpoint, |open| Request::IterNext { open, chosen: it.chosen, expiration: it.expiration, after })?;
    let mut r = Reader::new(&answer);
    if !r.bool("found").map_err(|_| AisError::LIBRARY)? {
        return Err(AisError::NO_SECTIONS);
    }
    let d = Descriptor::decode(&mut r).map_err(|_| AisError::LIBRARY)?;
    let mut id: Box<[u8]> = d.id.clone().into_boxed_slice();
    let ptr = if id.is_empty() { std::ptr::null_mut() } else { id.as_mut_ptr() };
    state.ids.push(id);
    state.after = Some(d.id.clone());
    out.write(SaCkptSectionDescriptorT {
        sectionId: SaCkptSectionIdT { idLen: d.id.len() as u16, id: ptr },
        expirationTime: d.expiration,
        sectionSize: d.size,
        sectionState: d.state,
        lastUpdate: d.last_update,
    });
    Ok(())
}

pub fn iteration_finalize(iteration: u64) -> AisResult<()> {
    ITERATIONS.remove(iteration).map(drop)
}

/// `saCkptCheckpointWrite`; on an element's error, its index goes to
/// `erroneous` (if given).
///
/// # Safety
/// Each element's `sectionId.id` and `dataBuffer` must point to
/// `idLen` and `dataSize` readable bytes.
pub unsafe fn write(handle: u64, vector: &[SaCkptIOVectorElementT], erroneous: Option<Out<'_, u32>>) -> AisResult<()> {
    if vector.len() > wire::MAX_VECTOR {
        return Err(AisError::TOO_BIG);
    }
    let mut elements = Vec::with_capacity(vector.len());
    let mut total = 0usize;
    for e in vector {
        // SAFETY: the caller's promise.
        let id = unsafe { id_bytes(&e.sectionId) }?;
        let len = usize::try_from(e.dataSize).map_err(|_| AisError::TOO_BIG)?;
        total = total.saturating_add(len);
        if total > wire::MAX_DATA {
            return Err(AisError::TOO_BIG);
        }
        // SAFETY: the caller's promise.
        let data = unsafe { crate::abi::convert::raw::try_slice(e.dataBuffer.cast_const().cast::<u8>(), len) }?;
        elements.push(WriteElement { id, offset: e.dataOffset, data: data.to_vec() });
    }
    if elements.len() > wire::MAX_VECTOR {
        return Err(AisError::TOO_BIG);
    }
    let answer = simple(handle, |open| Request::Write { open, elements })?;
    let v = VectorResult::decode(&answer).map_err(|_| AisError::LIBRARY)?;
    if v.error != error::OK {
        if let Some(out) = erroneous {
            out.write(v.erroneous_index);
        }
        return Err(AisError(v.error));
    }
    Ok(())
}

/// `saCkptSectionOverwrite`.
///
/// # Safety
/// As [`id_bytes`]; `data` must point to `size` bytes.
pub unsafe fn overwrite(handle: u64, id: &SaCkptSectionIdT, data: *const u8, size: u64) -> AisResult<()> {
    // SAFETY: forwarded.
    let id = unsafe { id_bytes(id) }?;
    let len = usize::try_from(size).map_err(|_| AisError::TOO_BIG)?;
    if len > wire::MAX_DATA {
        return Err(AisError::TOO_BIG);
    }
    // SAFETY: forwarded.
    let data = unsafe { crate::abi::convert::raw::try_slice(data, len) }?.to_vec();
    simple(handle, |open| Request::Overwrite { open, id, data }).map(drop)
}

/// Most bytes asked for in one piece when a read is split (see [`read`]).
const READ_CHUNK: u64 = (wire::MAX_DATA - 4096) as u64;

/// The data of each element, or an element's (error, index).
type ReadOutcome = Result<Vec<Vec<u8>>, (u32, u32)>;

/// One READ request.
fn read_request(handle: u64, elements: Vec<ReadElement>) -> AisResult<ReadOutcome> {
    let n = elements.len();
    let answer = simple(handle, |open| Request::Read { open, elements })?;
    let v = VectorResult::decode(&answer).map_err(|_| AisError::LIBRARY)?;
    if v.error != error::OK {
        return Ok(Err((v.error, v.erroneous_index)));
    }
    if v.data.len() != n {
        return Err(AisError::LIBRARY);
    }
    Ok(Ok(v.data))
}

/// Reads `want` bytes (`None`: to the end) of one section from `offset`
/// in pieces of at most [`READ_CHUNK`].
fn read_in_pieces(handle: u64, id: &[u8], offset: u64, want: Option<u64>) -> AisResult<Result<Vec<u8>, u32>> {
    let mut data = Vec::new();
    loop {
        let got = data.len() as u64;
        let ask = match want {
            Some(w) if got >= w => return Ok(Ok(data)),
            Some(w) => (w - got).min(READ_CHUNK),
            None => READ_CHUNK,
        };
        // A read past u64::MAX is past any section's end (and must not
        // overflow on a caller's huge `dataOffset`).
        let Some(at) = offset.checked_add(got) else { return Ok(Err(error::INVALID_PARAM)) };
        let element = ReadElement { id: id.to_vec(), offset: at, size: ask };
        match read_request(handle, vec![element])? {
            Ok(mut pieces) => {
                let piece = pieces.pop().unwrap_or_default();
                // An executive answering more than asked is broken; taking
                // it could grow `data` without end.
                if piece.len() as u64 > ask {
                    return Err(AisError::LIBRARY);
                }
                let short = (piece.len() as u64) < ask;
                data.extend_from_slice(&piece);
                if short {
                    return Ok(Ok(data));
                }
            }
            // Past the end after a full piece: the end.
            Err((e, _)) if e == error::INVALID_PARAM && got > 0 => return Ok(Ok(data)),
            Err((e, _)) => return Ok(Err(e)),
        }
    }
}

/// `saCkptCheckpointRead`: fills each element's buffer (or a new one from
/// `malloc` when `dataBuffer` is NULL) and sets `readSize`.
///
/// The whole vector is read in one ordered request when the answer fits
/// one message (about 1 MiB); then it is one consistent snapshot. A larger
/// read is split into pieces, each a snapshot of its own.
///
/// # Safety
/// Each element's `sectionId.id` must point to `idLen` bytes and a
/// non-NULL `dataBuffer` to `dataSize` writable bytes.
pub unsafe fn read(
    handle: u64,
    vector: &mut [SaCkptIOVectorElementT],
    erroneous: Option<Out<'_, u32>>,
) -> AisResult<()> {
    if vector.len() > wire::MAX_VECTOR {
        return Err(AisError::TOO_BIG);
    }
    let mut ids = Vec::with_capacity(vector.len());
    let mut elements = Vec::with_capacity(vector.len());
    for e in vector.iter() {
        // SAFETY: the caller's promise.
        let id = unsafe { id_bytes(&e.sectionId) }?;
        // NULL buffer: everything from the offset on (size 0). A zero-size
        // buffer still checks that the section exists (size 1, none kept).
        let size = match (e.dataBuffer.is_null(), e.dataSize) {
            (true, _) => 0,
            (false, 0) => 1,
            (false, n) => n,
        };
        elements.push(ReadElement { id: id.clone(), offset: e.dataOffset, size });
        ids.push(id);
    }
    let fail = |erroneous: Option<Out<'_, u32>>, e: u32, index: u32| {
        if let Some(out) = erroneous {
            out.write(index);
        }
        Err(AisError(e))
    };
    let data = match read_request(handle, elements)? {
        Ok(data) => data,
        Err((e, _)) if e == error::TOO_BIG => {
            let mut data = Vec::with_capacity(vector.len());
            for (i, (e, id)) in vector.iter().zip(&ids).enumerate() {
                let want = if e.dataBuffer.is_null() { None } else { Some(e.dataSize.max(1)) };
                match read_in_pieces(handle, id, e.dataOffset, want)? {
                    Ok(d) => data.push(d),
                    Err(err) => return fail(erroneous, err, i as u32),
                }
            }
            data
        }
        Err((e, index)) => return fail(erroneous, e, index),
    };
    // Allocate every buffer first, so a failure leaves nothing behind.
    let mut fresh: Vec<*mut u8> = Vec::new();
    for (e, d) in vector.iter().zip(&data) {
        if e.dataBuffer.is_null() {
            // SAFETY: plain allocation; the application frees it with free().
            let p = unsafe { libc::malloc(d.len().max(1)) }.cast::<u8>();
            if p.is_null() {
                for q in fresh {
                    // SAFETY: allocated just above, not handed out.
                    unsafe { libc::free(q.cast()) };
                }
                return Err(AisError::NO_MEMORY);
            }
            fresh.push(p);
        }
    }
    let mut fresh = fresh.into_iter();
    for (e, d) in vector.iter_mut().zip(data) {
        if e.dataBuffer.is_null() {
            let p = fresh.next().ok_or(AisError::LIBRARY)?;
            // SAFETY: `p` has room for `d.len()` bytes.
            unsafe { p.copy_from_nonoverlapping(d.as_ptr(), d.len()) };
            e.dataBuffer = p.cast();
            e.readSize = d.len() as u64;
        } else {
            let n = d.len().min(e.dataSize as usize);
            // SAFETY: the caller's buffer holds `dataSize` >= n bytes.
            unsafe { e.dataBuffer.cast::<u8>().copy_from_nonoverlapping(d.as_ptr(), n) };
            e.readSize = n as u64;
        }
    }
    Ok(())
}

/// `saCkptCheckpointSynchronize`.
pub fn synchronize(handle: u64, timeout: SaTimeT) -> AisResult<()> {
    let (instance, ck) = checkpoint(handle)?;
    let req = Request::Synchronize { open: ck.open, is_async: false, token: 0 };
    instance.conn.request_within(wire::SYNCHRONIZE, &req.encode(), timeout).map(drop)
}

/// `saCkptCheckpointSynchronizeAsync`: the result comes by the
/// synchronize callback.
pub fn synchronize_async(handle: u64, invocation: SaInvocationT) -> AisResult<()> {
    let (instance, ck) = checkpoint(handle)?;
    if instance.state.callbacks.saCkptCheckpointSynchronizeCallback.is_none() {
        return Err(AisError::INIT);
    }
    instance.state.async_syncs.send(invocation, |token| {
        let req = Request::Synchronize { open: ck.open, is_async: true, token };
        instance.conn.request(wire::SYNCHRONIZE, &req.encode())
    })
}
