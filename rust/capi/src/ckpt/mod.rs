//! `libSaCkpt`: the checkpoint API (AIS CKPT B.01.01) over the shared
//! runtime, in Rust types. The C side (arguments, the C structs, the
//! application's callbacks, memory handed to the application) is
//! `abi/sa_ckpt.rs`; the messages are in `ais_ipc::ckpt`; the service in
//! the executive's `services/ckpt/`.
//!
//! Handles: library handles in the runtime's [`Library`]; checkpoint
//! handles are children of a library handle ([`CHECKPOINTS`]), each naming
//! the executive's open id; section iteration handles are children of a
//! checkpoint handle ([`ITERATIONS`]). Finalize drops a library handle's
//! checkpoints and their iterations; close drops a checkpoint's iterations.
//!
//! Decided here: checks that need only the arguments (flags, names, a
//! callback that was not given → `INIT`); reads asked "to the end" (a
//! read element without a buffer) and reads too large for one message.
//! Section ids returned by iteration live until the iteration is
//! finalized.
//!
//! One call moves at most `ais_ipc::ckpt::MAX_DATA` bytes of data (about
//! 1 MiB); more is `SA_AIS_ERR_TOO_BIG`.
//!
//! An open that times out (`SA_AIS_ERR_TIMEOUT`) may still complete in the
//! executive afterwards; that open is then held by the library handle's
//! connection and released at `saCkptFinalize` (or when the process exits).

#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex};

use ais_ipc::ckpt::{self as wire, Descriptor, ReadElement, Request, VectorResult};
pub use ais_ipc::ckpt::{Attrs, MAX_DATA, MAX_SECTION_ID, MAX_VECTOR, WriteElement};
use ais_ipc::{Reader, error};

use crate::error::{AisError, AisResult};
use crate::runtime::{DispatchFlags, HandleTable, Instance, Library, Pending, Version, version};

/// `SaCkptCheckpointOpenCallbackT`: (invocation, the new checkpoint
/// handle or the error).
pub type OpenFn = Box<dyn Fn(u64, AisResult<u64>) + Send + Sync>;
/// `SaCkptCheckpointSynchronizeCallbackT`: (invocation, result).
pub type SynchronizeFn = Box<dyn Fn(u64, AisResult<()>) + Send + Sync>;

/// The application's callbacks (`None`: not given).
#[derive(Default)]
pub struct Callbacks {
    pub open: Option<OpenFn>,
    pub synchronize: Option<SynchronizeFn>,
}

/// Per library handle: the callbacks, and the async calls in flight.
pub struct CkptState {
    callbacks: Callbacks,
    /// token -> (invocation, open flags) of each `saCkptCheckpointOpenAsync`.
    async_opens: Pending<(u64, u32)>,
    /// token -> invocation of each `saCkptCheckpointSynchronizeAsync`.
    async_syncs: Pending<u64>,
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
    expiration: i64,
    state: Mutex<IterationState>,
}

#[derive(Default)]
struct IterationState {
    /// The id of the last section returned (the next starts after it).
    after: Option<Vec<u8>>,
    /// Every id handed to the application (which reads it through the
    /// descriptor), alive until finalize.
    ids: Vec<Arc<[u8]>>,
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

/// `saCkptInitialize`: the new handle.
pub fn initialize(version: &mut Version, callbacks: Callbacks) -> AisResult<u64> {
    let state = CkptState { callbacks, async_opens: Pending::default(), async_syncs: Pending::default() };
    CKPT.initialize(version, state)
}

pub fn selection_object(handle: u64) -> AisResult<u64> {
    CKPT.selection_object(handle)
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
            let err = r.u32("error").map_err(bad)?;
            let open = r.u64("open").map_err(bad)?;
            r.finish().map_err(bad)?;
            let Some((invocation, _flags)) = instance.state.async_opens.take(token) else {
                return Ok(()); // not ours (cannot happen) or already gone
            };
            let handle = AisError::check(err).and_then(|()| {
                CHECKPOINTS.insert_child(CKPT.handles(), instance.handle, |_| Checkpoint { lib: instance.handle, open })
            });
            if let Some(f) = &instance.state.callbacks.open {
                f(invocation, handle);
            }
            Ok(())
        }
        wire::SYNC_CALLBACK => {
            let token = r.u64("token").map_err(bad)?;
            let err = r.u32("error").map_err(bad)?;
            r.finish().map_err(bad)?;
            let Some(invocation) = instance.state.async_syncs.take(token) else { return Ok(()) };
            if let Some(f) = &instance.state.callbacks.synchronize {
                f(invocation, AisError::check(err));
            }
            Ok(())
        }
        _ => Err(AisError::LIBRARY),
    }
}

fn open_request(name: &[u8], attrs: Option<Attrs>, flags: u32, token: u64, is_async: bool) -> AisResult<Request> {
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
    Ok(Request::Open { token, is_async, name: name.to_vec(), attrs, flags })
}

/// `saCkptCheckpointOpen`: the new checkpoint handle. `attrs` exactly
/// when creating; `timeout` in nanoseconds, as the API's.
pub fn open(lib: u64, name: &[u8], attrs: Option<Attrs>, flags: u32, timeout: i64) -> AisResult<u64> {
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
    Ok(handle)
}

/// `saCkptCheckpointOpenAsync`: the result comes by the open callback.
pub fn open_async(lib: u64, invocation: u64, name: &[u8], attrs: Option<Attrs>, flags: u32) -> AisResult<()> {
    let instance = CKPT.get(lib)?;
    if instance.state.callbacks.open.is_none() {
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

pub fn retention_duration_set(handle: u64, duration: i64) -> AisResult<()> {
    if duration < 0 {
        return Err(AisError::INVALID_PARAM);
    }
    simple(handle, |open| Request::RetentionSet { open, duration }).map(drop)
}

pub fn active_replica_set(handle: u64) -> AisResult<()> {
    simple(handle, |open| Request::ActiveSet { open }).map(drop)
}

/// What `saCkptCheckpointStatusGet` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub attrs: Attrs,
    pub sections: u32,
    pub memory_used: u32,
}

/// `saCkptCheckpointStatusGet`.
pub fn status_get(handle: u64) -> AisResult<Status> {
    let answer = simple(handle, |open| Request::StatusGet { open })?;
    let mut r = Reader::new(&answer);
    let attrs = Attrs::decode(&mut r).map_err(|_| AisError::LIBRARY)?;
    let sections = r.u32("sections").map_err(|_| AisError::LIBRARY)?;
    let memory_used = r.u32("used").map_err(|_| AisError::LIBRARY)?;
    Ok(Status { attrs, sections, memory_used })
}

/// `saCkptSectionCreate` of section `id` (empty: an id the service
/// generates, which is returned).
pub fn section_create(handle: u64, id: Vec<u8>, expiration: i64, data: &[u8]) -> AisResult<Option<Vec<u8>>> {
    if data.len() > wire::MAX_DATA {
        return Err(AisError::TOO_BIG);
    }
    let generated = id.is_empty();
    let answer = simple(handle, |open| Request::SectionCreate { open, id, expiration, data: data.to_vec() })?;
    if !generated {
        return Ok(None);
    }
    let id = Reader::new(&answer).bytes(wire::MAX_SECTION_ID, "id").map_err(|_| AisError::LIBRARY)?;
    Ok(Some(id.to_vec()))
}

pub fn section_delete(handle: u64, id: Vec<u8>) -> AisResult<()> {
    simple(handle, |open| Request::SectionDelete { open, id }).map(drop)
}

pub fn section_expiration_time_set(handle: u64, id: Vec<u8>, expiration: i64) -> AisResult<()> {
    simple(handle, |open| Request::ExpirationSet { open, id, expiration }).map(drop)
}

/// `saCkptSectionIterationInitialize` (`chosen`: an
/// `SaCkptSectionsChosenT` value the abi layer checked). Asks the
/// executive for the checkpoint's status first, so that a checkpoint with
/// nothing to iterate answers here: a closed open is `BAD_HANDLE`, a
/// collocated checkpoint without an active replica `NOT_EXIST` (as the
/// classic library did).
pub fn iteration_initialize(handle: u64, chosen: u32, expiration: i64) -> AisResult<u64> {
    simple(handle, |open| Request::StatusGet { open })?;
    ITERATIONS.insert_child(&CHECKPOINTS, handle, |_| Iteration {
        checkpoint: handle,
        chosen,
        expiration,
        state: Mutex::new(IterationState::default()),
    })
}

/// A section as iteration reports it. `id` is shared with the iteration,
/// which keeps it until it is finalized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub id: Arc<[u8]>,
    pub expiration: i64,
    pub size: u64,
    pub state: u32,
    pub last_update: i64,
}

/// `saCkptSectionIterationNext`: `NO_SECTIONS` at the end.
pub fn iteration_next(iteration: u64) -> AisResult<Section> {
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
    let id: Arc<[u8]> = d.id.as_slice().into();
    state.ids.push(id.clone());
    state.after = Some(d.id);
    Ok(Section { id, expiration: d.expiration, size: d.size, state: d.state, last_update: d.last_update })
}

pub fn iteration_finalize(iteration: u64) -> AisResult<()> {
    ITERATIONS.remove(iteration).map(drop)
}

/// The failure of a vector call: the error, and the index of the element
/// it is about (for `erroneousVectorIndex`), if it is about one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VectorError {
    pub error: AisError,
    pub index: Option<u32>,
}

impl From<AisError> for VectorError {
    fn from(error: AisError) -> Self {
        VectorError { error, index: None }
    }
}

/// `saCkptCheckpointWrite`.
pub fn write(handle: u64, elements: Vec<WriteElement>) -> Result<(), VectorError> {
    if elements.len() > wire::MAX_VECTOR {
        return Err(AisError::TOO_BIG.into());
    }
    let answer = simple(handle, |open| Request::Write { open, elements })?;
    let v = VectorResult::decode(&answer).map_err(|_| AisError::LIBRARY)?;
    if v.error != error::OK {
        return Err(VectorError { error: AisError(v.error), index: Some(v.erroneous_index) });
    }
    Ok(())
}

/// `saCkptSectionOverwrite`.
pub fn overwrite(handle: u64, id: Vec<u8>, data: &[u8]) -> AisResult<()> {
    if data.len() > wire::MAX_DATA {
        return Err(AisError::TOO_BIG);
    }
    simple(handle, |open| Request::Overwrite { open, id, data: data.to_vec() }).map(drop)
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

/// One element of `saCkptCheckpointRead`: a section, an offset, and the
/// room in the caller's buffer (`None`: no buffer; everything from the
/// offset on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadWant {
    pub id: Vec<u8>,
    pub offset: u64,
    pub room: Option<u64>,
}

/// `saCkptCheckpointRead`: the data of each element (at most its room).
///
/// The whole vector is read in one ordered request when the answer fits
/// one message (about 1 MiB); then it is one consistent snapshot. A larger
/// read is split into pieces, each a snapshot of its own.
pub fn read(handle: u64, wants: Vec<ReadWant>) -> Result<Vec<Vec<u8>>, VectorError> {
    if wants.len() > wire::MAX_VECTOR {
        return Err(AisError::TOO_BIG.into());
    }
    // No buffer: everything from the offset on (size 0). A zero-size
    // buffer still checks that the section exists (size 1, none kept).
    let size = |w: &ReadWant| w.room.map(|room| room.max(1));
    let elements =
        wants.iter().map(|w| ReadElement { id: w.id.clone(), offset: w.offset, size: size(w).unwrap_or(0) }).collect();
    let failed = |e: u32, index: u32| VectorError { error: AisError(e), index: Some(index) };
    let mut data = match read_request(handle, elements)? {
        Ok(data) => data,
        Err((e, _)) if e == error::TOO_BIG => {
            let mut data = Vec::with_capacity(wants.len());
            for (i, w) in wants.iter().enumerate() {
                match read_in_pieces(handle, &w.id, w.offset, size(w))? {
                    Ok(d) => data.push(d),
                    Err(err) => return Err(failed(err, i as u32)),
                }
            }
            data
        }
        Err((e, index)) => return Err(failed(e, index)),
    };
    for (d, w) in data.iter_mut().zip(&wants) {
        if let Some(room) = w.room {
            d.truncate(usize::try_from(room).unwrap_or(usize::MAX));
        }
    }
    Ok(data)
}

/// `saCkptCheckpointSynchronize`.
pub fn synchronize(handle: u64, timeout: i64) -> AisResult<()> {
    let (instance, ck) = checkpoint(handle)?;
    let req = Request::Synchronize { open: ck.open, is_async: false, token: 0 };
    instance.conn.request_within(wire::SYNCHRONIZE, &req.encode(), timeout).map(drop)
}

/// `saCkptCheckpointSynchronizeAsync`: the result comes by the
/// synchronize callback.
pub fn synchronize_async(handle: u64, invocation: u64) -> AisResult<()> {
    let (instance, ck) = checkpoint(handle)?;
    if instance.state.callbacks.synchronize.is_none() {
        return Err(AisError::INIT);
    }
    instance.state.async_syncs.send(invocation, |token| {
        let req = Request::Synchronize { open: ck.open, is_async: true, token };
        instance.conn.request(wire::SYNCHRONIZE, &req.encode())
    })
}
