//! Messages of the lock service ([`crate::service::LCK`]), shared by
//! `aisexec` and `libSaLck`.
//!
//! Requests (library -> executive). Every response body starts with a
//! `u32` error; what follows is present only if it is `OK`. `open` is the
//! executive's id of one resource open (what a resource handle names);
//! `lock` is the library's id of one lock (the `SaLckLockIdT` the
//! application holds), unique within its open.
//! ```text
//! OPEN    u64 token, bool async, bytes name, u32 open flags
//!         -> u64 open              (async: -> (), then OPEN_CALLBACK)
//! CLOSE   u64 open                                   -> ()
//! LOCK    u64 open, u64 lock, u32 mode, u32 lock flags, u64 waiter signal,
//!         i64 timeout (ns; 0: none), bool async, u64 token
//!         -> u32 lock status       (async: -> (), then GRANT_CALLBACK)
//! UNLOCK  u64 open, u64 lock, bool async, u64 token
//!         -> ()                    (async: -> (), then UNLOCK_CALLBACK)
//! PURGE   u64 open                                   -> ()
//! ```
//! Callbacks (executive -> library):
//! ```text
//! OPEN_CALLBACK    u64 token, u32 error, u64 open
//! GRANT_CALLBACK   u64 token, u32 error, u32 lock status
//! WAITER_CALLBACK  u64 waiter signal, u64 lock, u32 mode held, u32 mode requested
//! UNLOCK_CALLBACK  u64 token, u32 error
//! ```
//! A blocking `LOCK` is answered when the lock is granted (or not queued,
//! or its timeout ran out: `TIMEOUT`), however long that takes; a library
//! sends it on a connection of its own so that its other calls go on.

use crate::codec::{DecodeError, Reader, Writer};

pub const OPEN: u32 = 1;
pub const CLOSE: u32 = 2;
pub const LOCK: u32 = 3;
pub const UNLOCK: u32 = 4;
pub const PURGE: u32 = 5;

pub const OPEN_CALLBACK: u32 = 20;
pub const GRANT_CALLBACK: u32 = 21;
pub const WAITER_CALLBACK: u32 = 22;
pub const UNLOCK_CALLBACK: u32 = 23;

/// `SA_MAX_NAME_LENGTH`.
pub const MAX_NAME: usize = 256;

/// Open flags (`SA_LCK_RESOURCE_CREATE`).
pub const RESOURCE_CREATE: u32 = 0x1;
/// Lock flags (`SA_LCK_LOCK_NO_QUEUE`, `SA_LCK_LOCK_ORPHAN`).
pub const LOCK_NO_QUEUE: u32 = 0x1;
pub const LOCK_ORPHAN: u32 = 0x2;
pub const LOCK_FLAGS: u32 = LOCK_NO_QUEUE | LOCK_ORPHAN;

/// Lock modes (`SaLckLockModeT`).
pub const PR_MODE: u32 = 1;
pub const EX_MODE: u32 = 2;

/// Lock status (`SaLckLockStatusT`).
pub const GRANTED: u32 = 1;
pub const DEADLOCK: u32 = 2;
pub const NOT_QUEUED: u32 = 3;
pub const ORPHANED: u32 = 4;
pub const NO_MORE: u32 = 5;
pub const DUPLICATE_EX: u32 = 6;

/// A decoded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Open { token: u64, is_async: bool, name: Vec<u8>, flags: u32 },
    Close { open: u64 },
    Lock(LockRequest),
    Unlock { open: u64, lock: u64, is_async: bool, token: u64 },
    Purge { open: u64 },
}

/// One lock request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockRequest {
    pub open: u64,
    pub lock: u64,
    pub mode: u32,
    pub flags: u32,
    pub signal: u64,
    /// Nanoseconds; 0 for none (an async request has none).
    pub timeout: i64,
    pub is_async: bool,
    pub token: u64,
}

impl Request {
    pub fn id(&self) -> u32 {
        match self {
            Request::Open { .. } => OPEN,
            Request::Close { .. } => CLOSE,
            Request::Lock(_) => LOCK,
            Request::Unlock { .. } => UNLOCK,
            Request::Purge { .. } => PURGE,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Request::Open { token, is_async, name, flags } => {
                w.u64(*token).bool(*is_async).bytes(name).u32(*flags);
            }
            Request::Close { open } | Request::Purge { open } => {
                w.u64(*open);
            }
            Request::Lock(l) => {
                w.u64(l.open).u64(l.lock).u32(l.mode).u32(l.flags).u64(l.signal).i64(l.timeout);
                w.bool(l.is_async).u64(l.token);
            }
            Request::Unlock { open, lock, is_async, token } => {
                w.u64(*open).u64(*lock).bool(*is_async).u64(*token);
            }
        }
        w.into_vec()
    }

    /// Decodes request `id`; a mode other than PR or EX, unknown flag bits
    /// and a negative timeout are refused (the library checks them first).
    pub fn decode(id: u32, body: &[u8]) -> Result<Request, DecodeError> {
        let mut r = Reader::new(body);
        let req = match id {
            OPEN => Request::Open {
                token: r.u64("token")?,
                is_async: r.bool("async")?,
                name: r.bytes(MAX_NAME, "resource name")?.to_vec(),
                flags: r.u32("open flags")?,
            },
            CLOSE => Request::Close { open: r.u64("open")? },
            LOCK => {
                let l = LockRequest {
                    open: r.u64("open")?,
                    lock: r.u64("lock")?,
                    mode: r.u32("mode")?,
                    flags: r.u32("lock flags")?,
                    signal: r.u64("waiter signal")?,
                    timeout: r.i64("timeout")?,
                    is_async: r.bool("async")?,
                    token: r.u64("token")?,
                };
                if l.mode != PR_MODE && l.mode != EX_MODE {
                    return Err(DecodeError::BadValue { what: "lock mode", value: u64::from(l.mode) });
                }
                if l.flags & !LOCK_FLAGS != 0 {
                    return Err(DecodeError::BadValue { what: "lock flags", value: u64::from(l.flags) });
                }
                if l.timeout < 0 {
                    return Err(DecodeError::BadValue { what: "timeout", value: l.timeout as u64 });
                }
                Request::Lock(l)
            }
            UNLOCK => Request::Unlock {
                open: r.u64("open")?,
                lock: r.u64("lock")?,
                is_async: r.bool("async")?,
                token: r.u64("token")?,
            },
            PURGE => Request::Purge { open: r.u64("open")? },
            other => return Err(DecodeError::BadValue { what: "lck request id", value: u64::from(other) }),
        };
        r.finish()?;
        Ok(req)
    }
}

/// A callback from the executive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    Open { token: u64, error: u32, open: u64 },
    Grant { token: u64, error: u32, status: u32 },
    Waiter { signal: u64, lock: u64, held: u32, requested: u32 },
    Unlock { token: u64, error: u32 },
}

impl Callback {
    pub fn id(&self) -> u32 {
        match self {
            Callback::Open { .. } => OPEN_CALLBACK,
            Callback::Grant { .. } => GRANT_CALLBACK,
            Callback::Waiter { .. } => WAITER_CALLBACK,
            Callback::Unlock { .. } => UNLOCK_CALLBACK,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match *self {
            Callback::Open { token, error, open } => {
                w.u64(token).u32(error).u64(open);
            }
            Callback::Grant { token, error, status } => {
                w.u64(token).u32(error).u32(status);
            }
            Callback::Waiter { signal, lock, held, requested } => {
                w.u64(signal).u64(lock).u32(held).u32(requested);
            }
            Callback::Unlock { token, error } => {
                w.u64(token).u32(error);
            }
        }
        w.into_vec()
    }

    pub fn decode(id: u32, body: &[u8]) -> Result<Callback, DecodeError> {
        let mut r = Reader::new(body);
        let cb = match id {
            OPEN_CALLBACK => Callback::Open { token: r.u64("token")?, error: r.u32("error")?, open: r.u64("open")? },
            GRANT_CALLBACK => {
                Callback::Grant { token: r.u64("token")?, error: r.u32("error")?, status: r.u32("status")? }
            }
            WAITER_CALLBACK => Callback::Waiter {
                signal: r.u64("waiter signal")?,
                lock: r.u64("lock")?,
                held: r.u32("mode held")?,
                requested: r.u32("mode requested")?,
            },
            UNLOCK_CALLBACK => Callback::Unlock { token: r.u64("token")?, error: r.u32("error")? },
            other => return Err(DecodeError::BadValue { what: "lck callback id", value: u64::from(other) }),
        };
        r.finish()?;
        Ok(cb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock() -> LockRequest {
        LockRequest {
            open: 1,
            lock: 2,
            mode: EX_MODE,
            flags: LOCK_ORPHAN,
            signal: 3,
            timeout: 4,
            is_async: false,
            token: 5,
        }
    }

    #[test]
    fn requests_and_callbacks_round_trip_and_reject_truncation_and_trailing_bytes() {
        let reqs = [
            Request::Open { token: 3, is_async: true, name: b"res".to_vec(), flags: RESOURCE_CREATE },
            Request::Close { open: 9 },
            Request::Lock(lock()),
            Request::Unlock { open: 1, lock: 2, is_async: true, token: 7 },
            Request::Purge { open: 4 },
        ];
        for req in reqs {
            let body = req.encode();
            assert_eq!(Request::decode(req.id(), &body).unwrap(), req);
            for cut in 0..body.len() {
                assert!(Request::decode(req.id(), &body[..cut]).is_err(), "{req:?} cut at {cut}");
            }
            let mut long = body.clone();
            long.push(0);
            assert!(Request::decode(req.id(), &long).is_err(), "{req:?}");
        }
        let cbs = [
            Callback::Open { token: 1, error: 1, open: 3 },
            Callback::Grant { token: 1, error: 1, status: GRANTED },
            Callback::Waiter { signal: 9, lock: 8, held: PR_MODE, requested: EX_MODE },
            Callback::Unlock { token: 4, error: 12 },
        ];
        for cb in cbs {
            let body = cb.encode();
            assert_eq!(Callback::decode(cb.id(), &body).unwrap(), cb);
            assert!(Callback::decode(cb.id(), &body[..body.len() - 1]).is_err());
        }
        assert!(Request::decode(99, &[]).is_err());
        assert!(Callback::decode(99, &[]).is_err());
    }

    #[test]
    fn bad_modes_flags_and_timeouts_are_refused() {
        for bad in [
            LockRequest { mode: 0, ..lock() },
            LockRequest { mode: 3, ..lock() },
            LockRequest { flags: 4, ..lock() },
            LockRequest { timeout: -1, ..lock() },
        ] {
            assert!(Request::decode(LOCK, &Request::Lock(bad).encode()).is_err(), "{bad:?}");
        }
        let mut w = Writer::new();
        w.u64(1).bool(false).bytes(&[b'x'; MAX_NAME + 1]).u32(0);
        assert!(Request::decode(OPEN, w.as_slice()).is_err(), "name too long");
    }
}
