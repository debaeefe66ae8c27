//! The client side of every AIS C library.
//!
//! Two layers, and the runtime under them:
//! - the C side: `abi` (the C types, from which cbindgen generates the
//!   headers in `include/corosync/`; the exported functions, which turn
//!   what C hands us into Rust values with `abi::convert` and write the
//!   results back) and `boundary` (panic catching and return codes around
//!   every exported function);
//! - the service modules (`clm`, `ckpt`, `evt`, `evs`, `cpg`), safe Rust
//!   on Rust types: the API's semantics, handles, requests and callbacks;
//! - `runtime`, shared by the services: handle table, connection to the
//!   executive, selection object, dispatch.
//!
//! The dependency goes one way: abi → services → runtime
//! (`tests/layers.rs` checks it). This crate is built as a static archive
//! and linked into each shared object by `scripts/link-libs.sh`, which
//! applies the soname and version script; only functions listed in
//! `symbols/` are exported.

// Every `unsafe` block says why it holds.
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod abi;
pub mod amf;
pub mod boundary;
pub mod ckpt;
pub mod clm;
pub mod cpg;
pub mod error;
pub mod evs;
pub mod evt;
pub mod lck;
pub mod msg;
pub mod runtime;
