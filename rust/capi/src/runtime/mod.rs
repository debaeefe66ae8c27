//! The client runtime shared by every library.
//!
//! Owns what every `saXxx`/`evs_`/`cpg_` library does the same way:
//! - [`HandleTable`]: the `u64` handles C holds, mapped to `Arc<T>` state;
//!   stale, foreign or garbage handles are `SA_AIS_ERR_BAD_HANDLE`; nested
//!   handles name their parent ([`handle`]).
//! - [`check_version`]: the AIS version rule of `saXxxInitialize`
//!   ([`version`](mod@version)).
//! - [`Connection`]: the two sockets to the executive, the handshake,
//!   request/response from any number of threads, the selection object,
//!   dispatch (`SA_DISPATCH_ONE/ALL/BLOCKING`) and finalize
//!   ([`connection`], [`dispatch`]).
//! - [`Library`]: the above put together for the calls every library has
//!   (initialize, selection object, dispatch, finalize), over a table of
//!   [`Instance`]s (connection + the service's per-handle state).
//!
//! Must not: know any service's messages (the service modules encode and
//! decode bodies), export C symbols, or panic on anything the executive
//! sends (every frame is size-checked; malformed input is
//! `SA_AIS_ERR_LIBRARY`).
//!
//! Errors a service sees from the runtime: `TRY_AGAIN` (executive not
//! running, not answering the handshake in time, or syncing),
//! `LIBRARY` (connection broken or executive sent garbage; stays so),
//! `BAD_HANDLE` (handle unknown, or finalized while the call ran),
//! `TIMEOUT` (a request's deadline passed; the connection stays usable),
//! and whatever status the executive answers.
//!
//! A service module on top of it (Rust types only; the exported functions
//! in `abi/` read the C arguments and call functions like these):
//!
//! ```ignore
//! static CLM: Library<ClmState> = Library::new(ais_ipc::service::CLM, &[version(b'B', 1, 1)]);
//! struct ClmState { callbacks: Callbacks } // Rust closures around the C callbacks
//!
//! pub fn initialize(v: &mut Version, callbacks: Callbacks) -> AisResult<u64> {
//!     CLM.initialize(v, ClmState { callbacks }) // VERSION, TRY_AGAIN, ...
//! }
//! pub fn dispatch(handle: u64, flags: AisResult<DispatchFlags>) -> AisResult<()> {
//!     CLM.dispatch(handle, flags, |inst, id, body| deliver(inst, id, body)) // no lock held
//! }
//! pub fn finalize(handle: u64) -> AisResult<()> {
//!     CLM.finalize(handle).map(drop) // wakes a BLOCKING dispatch, in-flight calls → BAD_HANDLE
//! }
//! pub fn node_get(handle: u64, node: u32, timeout: i64) -> AisResult<Vec<u8>> {
//!     CLM.get(handle)?.conn.request_within(CLM_NODE_GET, &node.to_le_bytes(), timeout)
//! }
//! ```
//!
//! The pieces can also be used alone (`HandleTable<T>`, `Connection::
//! open`, `check_version`) where a library's shape differs.
//!
//! Nested handles (a checkpoint opened through a library handle) live in a
//! second table: `CHECKPOINTS.insert_child(CKPT.handles(), lib, |h| ...)`,
//! and the library's finalize runs `CHECKPOINTS.remove_children(lib)`
//! after `CKPT.finalize(lib)`.

mod answer_reader;
pub mod connection;
pub mod dispatch;
pub mod executive_user;
mod frame_reader;
pub mod handle;
pub mod library;
pub mod pending;
mod sys;
pub mod version;

pub use connection::Connection;
pub use dispatch::DispatchFlags;
pub use handle::HandleTable;
pub use library::{Instance, Library};
pub use pending::Pending;
pub use version::{Version, check_version, version};
