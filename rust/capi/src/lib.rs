//! The client side of every AIS C library.
//!
//! Owns: the C ABI types (`abi`, from which cbindgen generates the headers in
//! `include/corosync/`), the boundary helpers every exported function goes
//! through (`boundary`: panic catching, pointer checks), and the runtime shared
//! by all libraries (`runtime`: handle table, connection to the executive,
//! selection object, dispatch). Each service's C API will live in its own
//! module next to these. This crate is built as a static archive and linked
//! into each shared object by `scripts/link-libs.sh`, which applies the
//! soname and version script; only functions listed in `symbols/` are
//! exported.

pub mod abi;
pub mod boundary;
pub mod ckpt;
pub mod clm;
pub mod cpg;
pub mod error;
pub mod evs;
pub mod evt;
pub mod runtime;
