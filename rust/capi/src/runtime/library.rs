//! The part of every library's API that is the same for all of them:
//! initialize, selection object, dispatch, finalize.
//!
//! Owns: the handle table of a library's handles, each an [`Instance`]
//! (its connection plus the service's own per-handle state `S`). A
//! service keeps one `static` [`Library`] and writes only what is its own
//! (decoding callbacks, its requests, its nested handles).

use std::sync::Arc;

use super::connection::Connection;
use super::dispatch::DispatchFlags;
use super::handle::HandleTable;
use super::version::{Version, check_version};
use crate::error::AisResult;

/// One library handle: the connection and the service's state.
#[derive(Debug)]
pub struct Instance<S> {
    /// This instance's handle.
    pub handle: u64,
    pub conn: Connection,
    pub state: S,
}

/// All handles of one library (e.g. every `SaClmHandleT` of a process).
pub struct Library<S> {
    service: u32,
    versions: &'static [Version],
    handles: HandleTable<Instance<S>>,
}

impl<S> Library<S> {
    /// A library talking to `service` (an `ais_ipc::service` id),
    /// supporting `versions`.
    pub const fn new(service: u32, versions: &'static [Version]) -> Self {
        Library { service, versions, handles: HandleTable::new() }
    }

    /// `saXxxInitialize`: the version check (`VERSION`, with `version`
    /// written back either way), then a connection to the executive
    /// (`TRY_AGAIN`, `ACCESS`, ...); returns the new handle.
    pub fn initialize(&self, version: &mut Version, state: S) -> AisResult<u64> {
        check_version(self.versions, version)?;
        self.initialize_with(Connection::open(self.service)?, state)
    }

    /// As [`initialize`](Self::initialize) without the version check, on
    /// a connection made by the caller (tests, or a library that must
    /// pick the socket itself).
    pub fn initialize_with(&self, conn: Connection, state: S) -> AisResult<u64> {
        self.handles.insert_with(|handle| Instance { handle, conn, state })
    }

    /// The instance of a live handle; `BAD_HANDLE` otherwise.
    pub fn get(&self, handle: u64) -> AisResult<Arc<Instance<S>>> {
        self.handles.get(handle)
    }

    /// `saXxxSelectionObjectGet`.
    pub fn selection_object(&self, handle: u64) -> AisResult<u64> {
        Ok(self.get(handle)?.conn.selection_object())
    }

    /// `saXxxDispatch`: `deliver(instance, id, body)` for each callback,
    /// called with no lock held (see `Connection::dispatch`). `flags` as
    /// the abi layer read them: an invalid value is reported after an
    /// unknown handle (`BAD_HANDLE` first).
    pub fn dispatch(
        &self,
        handle: u64,
        flags: AisResult<DispatchFlags>,
        mut deliver: impl FnMut(&Instance<S>, u32, &[u8]) -> AisResult<()>,
    ) -> AisResult<()> {
        let instance = self.get(handle)?;
        instance.conn.dispatch(flags?, |id, body| deliver(&instance, id, body))
    }

    /// `saXxxFinalize`: the handle is invalid from now on, its connection
    /// closed (a blocking dispatch on it returns `OK`, other calls in
    /// flight `BAD_HANDLE`). Returns the instance so the service can drop
    /// its nested handles (`children.remove_children(handle)`).
    ///
    /// A handle inherited across `fork()` is removed too, and its
    /// connection, the parent's, only marked closed (see
    /// `Connection::close`): the child's copy of the descriptors closes
    /// when the instance is dropped, the parent's connection goes on.
    pub fn finalize(&self, handle: u64) -> AisResult<Arc<Instance<S>>> {
        let instance = self.handles.remove(handle).or_else(|e| self.handles.remove_inherited(handle).map_err(|_| e))?;
        instance.conn.close();
        Ok(instance)
    }

    /// The handle table itself (e.g. as the parent table of nested
    /// handles: `CHILDREN.insert_child(LIB.handles(), lib, ...)`).
    pub fn handles(&self) -> &HandleTable<Instance<S>> {
        &self.handles
    }
}
