//! What the C sides of `libevs` and `libcpg` (`abi/evs.rs`, `abi/cpg.rs`)
//! share: their error codes, dispatch flags, counts and iovec messages.
//!
//! Owns: the mapping from the runtime's and the wire's `SaAisErrorT`
//! values to `evs_error_t` / `cpg_error_t` (the two enums have the same
//! numbers, which agree with `SaAisErrorT` for most values but not all;
//! see `abi/cpg.rs`), and reading an application's `struct iovec` array.

use core::ffi::c_int;

use ais_ipc::error as sa;

use super::convert::try_slice;
use crate::error::{AisError, AisResult};
use crate::runtime::DispatchFlags;

/// `EVS_OK` / `CPG_OK`.
pub const OK: u32 = 1;
/// `*_ERR_NOT_SUPPORTED` (19 in `SaAisErrorT`).
const ERR_NOT_SUPPORTED: u32 = 20;
/// `*_ERR_TOO_MANY_GROUPS`.
const ERR_TOO_MANY_GROUPS: u32 = 30;

/// An error as an `evs_error_t` / `cpg_error_t` value (never a number
/// outside those enums).
pub fn error_code(e: AisError) -> u32 {
    match e.0 {
        sa::LIBRARY
        | sa::TIMEOUT
        | sa::TRY_AGAIN
        | sa::INVALID_PARAM
        | sa::NO_MEMORY
        | sa::BAD_HANDLE
        | sa::ACCESS
        | sa::NOT_EXIST
        | sa::EXIST => e.0,
        // What the services send for "too many groups" (ais_ipc::cpg/evs).
        sa::NO_RESOURCES => ERR_TOO_MANY_GROUPS,
        sa::NOT_SUPPORTED => ERR_NOT_SUPPORTED,
        sa::BUSY | sa::QUEUE_FULL | sa::INTERRUPT => sa::TRY_AGAIN,
        sa::NO_SPACE => sa::NO_MEMORY,
        sa::TOO_BIG | sa::NAME_TOO_LONG | sa::BAD_FLAGS | sa::BAD_OPERATION => sa::INVALID_PARAM,
        _ => sa::LIBRARY,
    }
}

/// A result as an `evs_error_t` / `cpg_error_t` value.
pub fn result_code(r: AisResult<()>) -> u32 {
    match r {
        Ok(()) => OK,
        Err(e) => error_code(e),
    }
}

/// `EVS_DISPATCH_*` / `CPG_DISPATCH_*` (0, 1, 2); anything else is
/// `INVALID_PARAM`.
pub fn dispatch_flags(raw: u32) -> AisResult<DispatchFlags> {
    match raw {
        0 => Ok(DispatchFlags::One),
        1 => Ok(DispatchFlags::All),
        2 => Ok(DispatchFlags::Blocking),
        _ => Err(AisError::INVALID_PARAM),
    }
}

/// A count C gives as an `int` (of groups, of iovecs): negative →
/// `INVALID_PARAM`.
pub fn count(n: c_int) -> AisResult<usize> {
    usize::try_from(n).map_err(|_| AisError::INVALID_PARAM)
}

/// The pieces of a message given as iovecs (C handed them to us, see
/// `abi::convert`). A NULL base with a length → `INVALID_PARAM`; more than
/// `max` bytes in all → `TOO_BIG` (`*_ERR_INVALID_PARAM` in C).
pub fn gather(iovs: &[libc::iovec], max: usize) -> AisResult<Vec<&[u8]>> {
    // Not `with_capacity(iovs.len())`: the count is the caller's word, and
    // a lie must not reserve memory before the total is checked.
    let mut parts = Vec::new();
    let mut total = 0usize;
    for v in iovs {
        total = total.checked_add(v.iov_len).ok_or(AisError::TOO_BIG)?;
        if total > max {
            return Err(AisError::TOO_BIG);
        }
        parts.push(try_slice!(v.iov_base.cast::<u8>().cast_const(), v.iov_len)?);
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_onto_the_openais_enums() {
        assert_eq!(result_code(Ok(())), 1);
        for same in [2, 5, 6, 7, 8, 9, 11, 12, 14] {
            assert_eq!(error_code(AisError(same)), same);
        }
        assert_eq!(error_code(AisError::NOT_SUPPORTED), 20);
        assert_eq!(error_code(AisError::NO_RESOURCES), 30);
        assert_eq!(error_code(AisError::TOO_BIG), 7);
        assert_eq!(error_code(AisError::QUEUE_FULL), 6);
        // Never a value outside the enum, nor OK for a failure.
        for v in 0..40 {
            let c = error_code(AisError(v));
            assert!([2, 5, 6, 7, 8, 9, 11, 12, 14, 20, 29, 30].contains(&c), "{v} -> {c}");
        }
    }

    #[test]
    fn dispatch_flags_shift_by_one() {
        assert_eq!(dispatch_flags(0), Ok(DispatchFlags::One));
        assert_eq!(dispatch_flags(1), Ok(DispatchFlags::All));
        assert_eq!(dispatch_flags(2), Ok(DispatchFlags::Blocking));
        assert_eq!(dispatch_flags(3), Err(AisError::INVALID_PARAM));
    }

    #[test]
    fn iovecs() {
        let a = *b"abc";
        let b = *b"de";
        let iov = [
            libc::iovec { iov_base: a.as_ptr() as *mut _, iov_len: 3 },
            libc::iovec { iov_base: core::ptr::null_mut(), iov_len: 0 },
            libc::iovec { iov_base: b.as_ptr() as *mut _, iov_len: 2 },
        ];
        let parts = gather(&iov, 5).unwrap();
        assert_eq!(parts.concat(), b"abcde");
        assert_eq!(gather(&iov, 4).err(), Some(AisError::TOO_BIG));
        assert!(gather(&[], 5).unwrap().is_empty());
        assert_eq!(count(-1), Err(AisError::INVALID_PARAM));
        assert_eq!(count(3), Ok(3));
        let bad = [libc::iovec { iov_base: core::ptr::null_mut(), iov_len: 1 }];
        assert_eq!(gather(&bad, 5).err(), Some(AisError::INVALID_PARAM));
        // A length that does not fit next to the others: no overflow.
        let huge = [
            libc::iovec { iov_base: a.as_ptr() as *mut _, iov_len: usize::MAX },
            libc::iovec { iov_base: a.as_ptr() as *mut _, iov_len: 2 },
        ];
        assert_eq!(gather(&huge, 5).err(), Some(AisError::TOO_BIG));
    }
}
