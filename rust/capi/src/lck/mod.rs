//! `libSaLck`: the lock API (AIS LCK B.01.01) over the shared runtime, in
//! Rust types: the C side (arguments, `SaLckCallbacksT`, the application's
//! callbacks) is `abi/sa_lck.rs`; the messages are in `ais_ipc::lck`; the
//! service in the executive's `services/lck/`.
//!
//! Handles: library handles in the runtime's [`Library`]; resource
//! handles are children of a library handle ([`RESOURCES`]), each naming
//! the executive's open id; lock ids are children of a resource handle
//! ([`LOCKS`]), and the executive knows a lock by (open, lock id). A lock
//! id lives from the lock call to its unlock (or the resource's close):
//! unlocking it again is `NOT_EXIST` (the table remembers it was one),
//! an id that never was one `BAD_HANDLE`.
//!
//! A blocking `saLckResourceLock` waits on a connection of its own, taken
//! from the handle's idle ones (opened when none is idle), so that the
//! handle's other calls (an unlock from a waiter callback, say) go on
//! meanwhile. Callbacks all come on the handle's own connection (the
//! executive sends them to the connection that opened the resource).
//! Its timeout is the executive's: the request is withdrawn cluster-wide
//! when it runs out (`TIMEOUT`); 0 and `SA_TIME_END` are no limit.
//!
//! Decided here: checks that need only the arguments (flags → `BAD_FLAGS`,
//! an async call whose callback was not given → `INIT`); a lock that is
//! not granted (`NOT_QUEUED`, `ORPHANED`, `DUPLICATE_EX`, an error) keeps
//! no lock id.

#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex};

use ais_ipc::lck::{self as wire, Callback, LockRequest, Request};

use crate::error::{AisError, AisResult};
use crate::runtime::{Connection, DispatchFlags, HandleTable, Instance, Library, Pending, Version, version};

/// `saLckResourceOpenCallback`: (invocation, the resource handle or the error).
pub type OpenFn = Box<dyn Fn(u64, AisResult<u64>) + Send + Sync>;
/// `saLckLockGrantCallback`: (invocation, lock status, result).
pub type GrantFn = Box<dyn Fn(u64, u32, AisResult<()>) + Send + Sync>;
/// `saLckLockWaiterCallback`: (waiter signal, lock id, mode held, mode requested).
pub type WaiterFn = Box<dyn Fn(u64, u64, u32, u32) + Send + Sync>;
/// `saLckResourceUnlockCallback`: (invocation, result).
pub type UnlockFn = Box<dyn Fn(u64, AisResult<()>) + Send + Sync>;

/// The application's callbacks (`None`: not given).
#[derive(Default)]
pub struct Callbacks {
    pub open: Option<OpenFn>,
    pub grant: Option<GrantFn>,
    pub waiter: Option<WaiterFn>,
    pub unlock: Option<UnlockFn>,
}

/// A lock mode (`SaLckLockModeT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Pr,
    Ex,
}

impl Mode {
    fn wire(self) -> u32 {
        match self {
            Mode::Pr => wire::PR_MODE,
            Mode::Ex => wire::EX_MODE,
        }
    }
}

/// What `saLckOptionCheck` reports: orphan locks (deadlocks are not
/// detected).
pub const OPTIONS: u32 = 0x1;

/// Per library handle.
pub struct LckState {
    callbacks: Callbacks,
    async_opens: Pending<u64>,
    /// token -> (invocation, lock id) of each async lock.
    async_locks: Pending<(u64, u64)>,
    /// token -> (invocation, lock id) of each async unlock.
    async_unlocks: Pending<(u64, u64)>,
    /// Connections for blocking lock calls: all, and those idle.
    lock_conns: Mutex<Vec<Arc<Connection>>>,
    idle: Mutex<Vec<Arc<Connection>>>,
}

/// One resource open (a `SaLckResourceHandleT`).
pub struct Resource {
    lib: u64,
    open: u64,
}

/// One lock id (a `SaLckLockIdT`).
pub struct LockId {
    resource: u64,
}

static LCK: Library<LckState> = Library::new(ais_ipc::service::LCK, &[version(b'B', 1, 1)]);
static RESOURCES: HandleTable<Resource> = HandleTable::new();
static LOCKS: HandleTable<LockId> = HandleTable::new();

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn resource(handle: u64) -> AisResult<(Arc<Instance<LckState>>, Arc<Resource>)> {
    let r = RESOURCES.get(handle)?;
    Ok((LCK.get(r.lib)?, r))
}

/// The lock id's resource and library; `NOT_EXIST` for one unlocked since.
fn lock_id(id: u64) -> AisResult<(Arc<Instance<LckState>>, Arc<Resource>)> {
    match LOCKS.get(id) {
        Ok(l) => resource(l.resource),
        Err(_) if LOCKS.was_removed(id) => Err(AisError::NOT_EXIST),
        Err(e) => Err(e),
    }
}

fn decode_u64(answer: &[u8]) -> AisResult<u64> {
    answer.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).ok_or(AisError::LIBRARY)
}

fn decode_u32(answer: &[u8]) -> AisResult<u32> {
    answer.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes).ok_or(AisError::LIBRARY)
}

/// `saLckInitialize`: the new handle.
pub fn initialize(version: &mut Version, callbacks: Callbacks) -> AisResult<u64> {
    let state = LckState {
        callbacks,
        async_opens: Pending::default(),
        async_locks: Pending::default(),
        async_unlocks: Pending::default(),
        lock_conns: Mutex::new(Vec::new()),
        idle: Mutex::new(Vec::new()),
    };
    LCK.initialize(version, state)
}

pub fn selection_object(handle: u64) -> AisResult<u64> {
    LCK.selection_object(handle)
}

/// `saLckOptionCheck`.
pub fn option_check(handle: u64) -> AisResult<u32> {
    LCK.get(handle)?;
    Ok(OPTIONS)
}

pub fn dispatch(handle: u64, flags: AisResult<DispatchFlags>) -> AisResult<()> {
    LCK.dispatch(handle, flags, deliver)
}

/// `saLckFinalize`: also closes the lock connections (a blocked lock call
/// returns `BAD_HANDLE`) and drops the resource handles and lock ids.
pub fn finalize(handle: u64) -> AisResult<()> {
    let instance = LCK.finalize(handle)?;
    for c in lock(&instance.state.lock_conns).drain(..) {
        c.close();
    }
    lock(&instance.state.idle).clear();
    for (r, _) in RESOURCES.remove_children(handle) {
        LOCKS.remove_children(r);
    }
    Ok(())
}

/// One callback from the executive.
fn deliver(instance: &Instance<LckState>, id: u32, body: &[u8]) -> AisResult<()> {
    let cbs = &instance.state.callbacks;
    match Callback::decode(id, body).map_err(|_| AisError::LIBRARY)? {
        Callback::Open { token, error, open } => {
            let Some(invocation) = instance.state.async_opens.take(token) else { return Ok(()) };
            let result = AisError::check(error).and_then(|()| new_resource(instance, open));
            if let Some(f) = &cbs.open {
                f(invocation, result);
            }
        }
        Callback::Grant { token, error, status } => {
            let Some((invocation, id)) = instance.state.async_locks.take(token) else { return Ok(()) };
            if error != ais_ipc::error::OK || status != wire::GRANTED {
                let _ = LOCKS.remove(id);
            }
            if let Some(f) = &cbs.grant {
                f(invocation, status, AisError::check(error));
            }
        }
        Callback::Waiter { signal, lock, held, requested } => {
            if let Some(f) = &cbs.waiter {
                f(signal, lock, held, requested);
            }
        }
        Callback::Unlock { token, error } => {
            let Some((invocation, id)) = instance.state.async_unlocks.take(token) else { return Ok(()) };
            if error == ais_ipc::error::OK || error == ais_ipc::error::NOT_EXIST {
                let _ = LOCKS.remove(id);
            }
            if let Some(f) = &cbs.unlock {
                f(invocation, AisError::check(error));
            }
        }
    }
    Ok(())
}

/// A resource handle for the executive's open `open`; closes it if none
/// can be made.
fn new_resource(instance: &Instance<LckState>, open: u64) -> AisResult<u64> {
    let lib = instance.handle;
    RESOURCES.insert_child(LCK.handles(), lib, |_| Resource { lib, open }).inspect_err(|_| {
        let _ = instance.conn.request(wire::CLOSE, &Request::Close { open }.encode());
    })
}

fn open_request(name: &[u8], flags: u32, token: u64, is_async: bool) -> AisResult<Request> {
    if name.is_empty() {
        return Err(AisError::INVALID_PARAM);
    }
    if flags & !wire::RESOURCE_CREATE != 0 {
        return Err(AisError::BAD_FLAGS);
    }
    Ok(Request::Open { token, is_async, name: name.to_vec(), flags })
}

/// `saLckResourceOpen`; `timeout` in nanoseconds (0, `SA_TIME_END`: none).
pub fn open(lib: u64, name: &[u8], flags: u32, timeout: i64) -> AisResult<u64> {
    let instance = LCK.get(lib)?;
    let req = open_request(name, flags, 0, false)?;
    let answer = instance.conn.request_within(wire::OPEN, &req.encode(), timeout)?;
    new_resource(&instance, decode_u64(&answer)?)
}

/// `saLckResourceOpenAsync`: the result comes by the open callback.
pub fn open_async(lib: u64, invocation: u64, name: &[u8], flags: u32) -> AisResult<()> {
    let instance = LCK.get(lib)?;
    if instance.state.callbacks.open.is_none() {
        return Err(AisError::INIT);
    }
    open_request(name, flags, 0, true)?;
    instance
        .state
        .async_opens
        .send(invocation, |token| instance.conn.request(wire::OPEN, &open_request(name, flags, token, true)?.encode()))
}

/// `saLckResourceClose`: releases this open's locks (except orphan ones)
/// and cancels its queued requests, cluster-wide.
pub fn close(handle: u64) -> AisResult<()> {
    let (instance, r) = resource(handle)?;
    instance.conn.request(wire::CLOSE, &Request::Close { open: r.open }.encode())?;
    RESOURCES.remove(handle)?;
    LOCKS.remove_children(handle);
    Ok(())
}

/// The outcome of a blocking lock call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    pub lock_id: u64,
    /// `SaLckLockStatusT`.
    pub status: u32,
}

fn lock_request(r: &Resource, id: u64, mode: Mode, flags: u32, signal: u64) -> AisResult<LockRequest> {
    if flags & !wire::LOCK_FLAGS != 0 {
        return Err(AisError::BAD_FLAGS);
    }
    Ok(LockRequest { open: r.open, lock: id, mode: mode.wire(), flags, signal, timeout: 0, is_async: false, token: 0 })
}

/// `saLckResourceLock`: waits until granted, not queued or timed out.
pub fn resource_lock(handle: u64, mode: Mode, flags: u32, signal: u64, timeout: i64) -> AisResult<Locked> {
    if timeout < 0 {
        return Err(AisError::INVALID_PARAM);
    }
    let (instance, r) = resource(handle)?;
    let mut req = lock_request(&r, 0, mode, flags, signal)?;
    req.timeout = timeout;
    let id = LOCKS.insert_child(&RESOURCES, handle, |_| LockId { resource: handle })?;
    req.lock = id;
    let status = lock_connection(&instance)
        .and_then(|conn| {
            let answer = conn.request(wire::LOCK, &Request::Lock(req).encode());
            idle(&instance, conn);
            answer
        })
        .and_then(|answer| decode_u32(&answer));
    match status {
        Ok(status) => {
            if status != wire::GRANTED {
                let _ = LOCKS.remove(id);
            }
            Ok(Locked { lock_id: id, status })
        }
        Err(e) => {
            let _ = LOCKS.remove(id);
            Err(e)
        }
    }
}

/// An idle lock connection of the handle, or a new one.
fn lock_connection(instance: &Instance<LckState>) -> AisResult<Arc<Connection>> {
    if let Some(c) = lock(&instance.state.idle).pop() {
        return Ok(c);
    }
    let c = Arc::new(Connection::open(ais_ipc::service::LCK)?);
    lock(&instance.state.lock_conns).push(Arc::clone(&c));
    Ok(c)
}

/// Gives a lock connection back (unless it broke or was closed).
fn idle(instance: &Instance<LckState>, conn: Arc<Connection>) {
    if !conn.is_broken() && !conn.is_closed() {
        lock(&instance.state.idle).push(conn);
    }
}

/// `saLckResourceLockAsync`: the lock id now, the status by the grant
/// callback.
pub fn resource_lock_async(handle: u64, invocation: u64, mode: Mode, flags: u32, signal: u64) -> AisResult<u64> {
    let (instance, r) = resource(handle)?;
    if instance.state.callbacks.grant.is_none() {
        return Err(AisError::INIT);
    }
    let mut req = lock_request(&r, 0, mode, flags, signal)?;
    let id = LOCKS.insert_child(&RESOURCES, handle, |_| LockId { resource: handle })?;
    req.lock = id;
    req.is_async = true;
    let sent = instance.state.async_locks.send((invocation, id), |token| {
        instance.conn.request(wire::LOCK, &Request::Lock(LockRequest { token, ..req }).encode())
    });
    match sent {
        Ok(()) => Ok(id),
        Err(e) => {
            let _ = LOCKS.remove(id);
            Err(e)
        }
    }
}

/// `saLckResourceUnlock`: releases (or cancels) lock `id`.
pub fn unlock(id: u64, timeout: i64) -> AisResult<()> {
    let (instance, r) = lock_id(id)?;
    let req = Request::Unlock { open: r.open, lock: id, is_async: false, token: 0 };
    match instance.conn.request_within(wire::UNLOCK, &req.encode(), timeout) {
        Ok(_) => {
            let _ = LOCKS.remove(id);
            Ok(())
        }
        Err(AisError::NOT_EXIST) => {
            let _ = LOCKS.remove(id);
            Err(AisError::NOT_EXIST)
        }
        Err(e) => Err(e),
    }
}

/// `saLckResourceUnlockAsync`: the result by the unlock callback.
pub fn unlock_async(invocation: u64, id: u64) -> AisResult<()> {
    let (instance, r) = lock_id(id)?;
    if instance.state.callbacks.unlock.is_none() {
        return Err(AisError::INIT);
    }
    instance.state.async_unlocks.send((invocation, id), |token| {
        let req = Request::Unlock { open: r.open, lock: id, is_async: true, token };
        instance.conn.request(wire::UNLOCK, &req.encode())
    })
}

/// `saLckLockPurge`: removes the orphan locks of the resource.
pub fn purge(handle: u64) -> AisResult<()> {
    let (instance, r) = resource(handle)?;
    instance.conn.request(wire::PURGE, &Request::Purge { open: r.open }.encode())?;
    Ok(())
}
