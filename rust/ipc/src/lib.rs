//! The wire format between the client libraries and `aisexec`.
//!
//! Owns: where the executive's socket lives, the framing of every message
//! (a fixed header, then an explicit little-endian body), the connection
//! handshake, service ids, and bounded decoding primitives. It does no I/O
//! beyond the blocking frame helpers in [`frame`], and it must never panic or
//! allocate more than [`MAX_MESSAGE_SIZE`] on any input.
//!
//! A client "connection" is two Unix stream sockets to the same path:
//! the *request* channel (request -> response, strictly alternating) and the
//! *dispatch* channel (executive -> library callbacks only). The dispatch
//! socket is the application's selection object: it is readable exactly when
//! a callback is pending.
#![forbid(unsafe_code)]

pub mod amf;
pub mod cfg;
pub mod ckpt;
pub mod clm;
pub mod codec;
pub mod cpg;
pub mod evs;
pub mod evt;
pub mod frame;
pub mod handshake;
pub mod lck;
pub mod msg;

pub use codec::{DecodeError, Reader, Writer};
pub use frame::{HEADER_SIZE, Header, MAX_MESSAGE_SIZE};

use std::path::PathBuf;

/// Default run directory of the executive.
pub const DEFAULT_RUN_DIR: &str = "/var/run/ais";
/// Environment variable overriding the run directory (tests, several
/// executives on one machine). Honoured by the executive and the libraries.
pub const RUN_DIR_ENV: &str = "COROSYNC_RUN_DIR";
/// File name of the executive's socket inside the run directory.
pub const SOCKET_NAME: &str = "aisexec.sock";

/// The run directory to use, from the environment or the default.
pub fn run_dir() -> PathBuf {
    match std::env::var_os(RUN_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_RUN_DIR),
    }
}

/// Path of the executive's socket.
pub fn socket_path() -> PathBuf {
    run_dir().join(SOCKET_NAME)
}

/// Service ids, as in the classic executive. Service 7 (`CFG`) is the
/// executive's own administration service (status, ring control).
pub mod service {
    pub const EVS: u32 = 0;
    pub const CLM: u32 = 1;
    pub const AMF: u32 = 2;
    pub const CKPT: u32 = 3;
    pub const EVT: u32 = 4;
    pub const LCK: u32 = 5;
    pub const MSG: u32 = 6;
    pub const CFG: u32 = 7;
    pub const CPG: u32 = 8;
    /// One past the highest service id.
    pub const COUNT: u32 = 9;

    /// A short lowercase name for logs.
    pub fn name(id: u32) -> &'static str {
        match id {
            EVS => "evs",
            CLM => "clm",
            AMF => "amf",
            CKPT => "ckpt",
            EVT => "evt",
            LCK => "lck",
            MSG => "msg",
            CFG => "cfg",
            CPG => "cpg",
            _ => "unknown",
        }
    }
}

/// `SaAisErrorT` values (AIS B.01.01) as carried on the wire. The C
/// headers define the same values; a test in `ais-capi` checks they agree.
pub mod error {
    pub const OK: u32 = 1;
    pub const LIBRARY: u32 = 2;
    pub const VERSION: u32 = 3;
    pub const INIT: u32 = 4;
    pub const TIMEOUT: u32 = 5;
    pub const TRY_AGAIN: u32 = 6;
    pub const INVALID_PARAM: u32 = 7;
    pub const NO_MEMORY: u32 = 8;
    pub const BAD_HANDLE: u32 = 9;
    pub const BUSY: u32 = 10;
    pub const ACCESS: u32 = 11;
    pub const NOT_EXIST: u32 = 12;
    pub const NAME_TOO_LONG: u32 = 13;
    pub const EXIST: u32 = 14;
    pub const NO_SPACE: u32 = 15;
    pub const INTERRUPT: u32 = 16;
    pub const NAME_NOT_FOUND: u32 = 17;
    pub const NO_RESOURCES: u32 = 18;
    pub const NOT_SUPPORTED: u32 = 19;
    pub const BAD_OPERATION: u32 = 20;
    pub const FAILED_OPERATION: u32 = 21;
    pub const MESSAGE_ERROR: u32 = 22;
    pub const QUEUE_FULL: u32 = 23;
    pub const QUEUE_NOT_AVAILABLE: u32 = 24;
    pub const BAD_FLAGS: u32 = 25;
    pub const TOO_BIG: u32 = 26;
    pub const NO_SECTIONS: u32 = 27;
}
