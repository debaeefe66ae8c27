//! The error type of the Rust side of the libraries.

/// An AIS error: an `SaAisErrorT` value other than `SA_AIS_OK`. Runtime
/// and service code return `Result<T, AisError>`; the boundary turns it
/// into the C enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AisError(pub u32);

impl AisError {
    pub const LIBRARY: AisError = AisError(ais_ipc::error::LIBRARY);
    pub const VERSION: AisError = AisError(ais_ipc::error::VERSION);
    pub const INIT: AisError = AisError(ais_ipc::error::INIT);
    pub const TIMEOUT: AisError = AisError(ais_ipc::error::TIMEOUT);
    pub const TRY_AGAIN: AisError = AisError(ais_ipc::error::TRY_AGAIN);
    pub const INVALID_PARAM: AisError = AisError(ais_ipc::error::INVALID_PARAM);
    pub const NO_MEMORY: AisError = AisError(ais_ipc::error::NO_MEMORY);
    pub const BAD_HANDLE: AisError = AisError(ais_ipc::error::BAD_HANDLE);
    pub const BUSY: AisError = AisError(ais_ipc::error::BUSY);
    pub const ACCESS: AisError = AisError(ais_ipc::error::ACCESS);
    pub const NOT_EXIST: AisError = AisError(ais_ipc::error::NOT_EXIST);
    pub const NAME_TOO_LONG: AisError = AisError(ais_ipc::error::NAME_TOO_LONG);
    pub const EXIST: AisError = AisError(ais_ipc::error::EXIST);
    pub const NO_SPACE: AisError = AisError(ais_ipc::error::NO_SPACE);
    pub const INTERRUPT: AisError = AisError(ais_ipc::error::INTERRUPT);
    pub const NO_RESOURCES: AisError = AisError(ais_ipc::error::NO_RESOURCES);
    pub const NOT_SUPPORTED: AisError = AisError(ais_ipc::error::NOT_SUPPORTED);
    pub const BAD_OPERATION: AisError = AisError(ais_ipc::error::BAD_OPERATION);
    pub const FAILED_OPERATION: AisError = AisError(ais_ipc::error::FAILED_OPERATION);
    pub const QUEUE_FULL: AisError = AisError(ais_ipc::error::QUEUE_FULL);
    pub const BAD_FLAGS: AisError = AisError(ais_ipc::error::BAD_FLAGS);
    pub const TOO_BIG: AisError = AisError(ais_ipc::error::TOO_BIG);
    pub const NO_SECTIONS: AisError = AisError(ais_ipc::error::NO_SECTIONS);

    /// Turns a wire result code into a `Result`.
    pub fn check(code: u32) -> Result<(), AisError> {
        if code == ais_ipc::error::OK { Ok(()) } else { Err(AisError(code)) }
    }
}

pub type AisResult<T> = Result<T, AisError>;
