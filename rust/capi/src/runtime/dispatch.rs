//! `saXxxDispatch`: reading callbacks from the dispatch socket.
//!
//! Owns: the `SA_DISPATCH_ONE/ALL/BLOCKING` semantics. The executive writes
//! one frame per callback, so the dispatch socket (the selection object)
//! is readable exactly when a callback is pending; the reader never takes
//! bytes of a following frame (see `frame_reader.rs`).
//!
//! Locking: one thread at a time reads a frame (the dispatch lock); the
//! callback runs after the lock is released, so it may call any API
//! function on the same handle, including dispatch and finalize. A
//! blocking dispatch waits in `poll` without the lock, so other threads
//! can dispatch meanwhile. Finalize (`Connection::close`) shuts the socket
//! down, which wakes a blocking dispatch; it then returns `SA_AIS_OK`.
//! The descriptor is not closed by finalize, only when the last user of
//! the connection drops it, so a thread still polling it never sees a
//! reused descriptor through us.
//!
//! A frame that has started arriving is waited for by `ONE`/`ALL` while
//! its bytes keep coming: up to [`PARTIAL_FRAME_WAIT`] without progress,
//! [`PARTIAL_FRAME_LIMIT`] in all. If it is still incomplete they return
//! `SA_AIS_OK` and keep what arrived for the next call.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::connection::Connection;
use super::frame_reader::ReadFault;
use super::sys;
use crate::error::{AisError, AisResult};

/// `SA_DISPATCH_ONE`, `_ALL`, `_BLOCKING` (and the `EVS_`/`CPG_`
/// twins), as the abi layer hands them in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DispatchFlags {
    One,
    All,
    Blocking,
}

/// How long `SA_DISPATCH_ONE`/`_ALL` wait for more of a callback whose
/// first bytes arrived, when no byte comes.
pub const PARTIAL_FRAME_WAIT: Duration = Duration::from_millis(200);
/// How long they wait for the rest of one callback in all.
pub const PARTIAL_FRAME_LIMIT: Duration = Duration::from_secs(2);

impl Connection {
    /// Dispatches pending callbacks by calling `callback(id, body)` for
    /// each, per `flags`:
    /// - `SA_DISPATCH_ONE`: the first pending callback, if any; `OK` also
    ///   when none was pending.
    /// - `SA_DISPATCH_ALL`: every pending callback, then `OK`.
    /// - `SA_DISPATCH_BLOCKING`: callbacks as they come, until the handle
    ///   is finalized (`OK`) or the connection breaks (`LIBRARY`).
    ///
    /// An error the callback returns (e.g. `LIBRARY` for a body it cannot
    /// decode) stops dispatch and is returned. Finalize inside a callback
    /// ends dispatch with `OK`. On a finalized handle: `BAD_HANDLE`; on a
    /// broken connection (including a malformed frame from the
    /// executive): `LIBRARY`.
    pub fn dispatch(
        &self,
        flags: DispatchFlags,
        mut callback: impl FnMut(u32, &[u8]) -> AisResult<()>,
    ) -> AisResult<()> {
        self.usable()?;
        let blocking = flags == DispatchFlags::Blocking;
        loop {
            let next = match self.next_callback(blocking) {
                Err(AisError::BAD_HANDLE) if self.is_closed() => return Ok(()),
                other => other?,
            };
            let Some((id, body)) = next else {
                return Ok(());
            };
            callback(id, &body)?;
            if self.is_closed() || flags == DispatchFlags::One {
                return Ok(());
            }
        }
    }

    /// The next callback: `None` if none is pending (never when
    /// `blocking`, which waits for one).
    fn next_callback(&self, blocking: bool) -> AisResult<Option<(u32, Vec<u8>)>> {
        let fd = self.dispatch_fd.as_raw_fd();
        loop {
            self.usable()?;
            if blocking && sys::wait_readable(fd, None).is_err() {
                return Err(self.fault());
            }
            let mut reader = self.dispatch.lock().unwrap_or_else(|e| e.into_inner());
            self.usable()?;
            let mut got = reader.read_now(fd);
            if !blocking {
                let limit = Instant::now() + PARTIAL_FRAME_LIMIT;
                while matches!(got, Ok(None)) && reader.is_partial() {
                    let before = reader.received();
                    let wait = (Instant::now() + PARTIAL_FRAME_WAIT).min(limit);
                    got = reader.read_until(fd, Some(wait));
                    if reader.received() == before || Instant::now() >= limit {
                        break;
                    }
                }
            }
            match got {
                Ok(Some((header, body))) => {
                    if header.service != self.service {
                        return Err(self.fault());
                    }
                    return Ok(Some((header.id, body)));
                }
                // Nothing (or only part of a frame) here; a blocking
                // dispatch polls again, without the lock.
                Ok(None) if blocking => continue,
                Ok(None) => return Ok(None),
                Err(ReadFault::Eof | ReadFault::Malformed(_) | ReadFault::Io(_)) => {
                    return Err(self.fault());
                }
            }
        }
    }

    /// True if a callback (or the news of a broken or closed connection)
    /// is waiting on the selection object right now.
    pub fn callback_pending(&self) -> bool {
        sys::is_readable(self.dispatch_fd.as_raw_fd()).unwrap_or(true)
    }
}
