//! The AIS version check every `saXxxInitialize` performs.
//!
//! The rule (AIS B.01.01, "version compatibility"): the requested
//! `releaseCode` must be one the library supports, and the library must
//! support a `majorVersion` greater than or equal to the requested one.
//! Then the call succeeds and the version is set to that release code, the
//! highest major supported for it, and the highest minor of that major
//! (the requested minor does not matter). Otherwise the result is
//! `SA_AIS_ERR_VERSION` and the version is set to the closest supported
//! one: for a supported release code, its highest major and minor; for an
//! unsupported release code, the lowest supported release code above the
//! requested one, or if there is none the highest one below, with its
//! highest major and minor.
//!
//! The abi layer reads the caller's `SaVersionT` into a [`Version`] and
//! writes it back (`abi::convert::with_version`).

use crate::error::{AisError, AisResult};

/// An AIS version (`SaVersionT` as Rust sees it): release letter, major
/// and minor numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    pub release: u8,
    pub major: u8,
    pub minor: u8,
}

/// A [`Version`] from a release letter and two numbers:
/// `version(b'B', 1, 1)` is B.01.01.
pub const fn version(release: u8, major: u8, minor: u8) -> Version {
    Version { release, major, minor }
}

/// Checks `requested` against `supported` as described in the module doc,
/// and overwrites it with the version to report in both outcomes (the
/// spec's in/out parameter). An empty `supported` list is
/// `SA_AIS_ERR_VERSION` with `requested` untouched.
pub fn check_version(supported: &[Version], requested: &mut Version) -> AisResult<()> {
    let release = requested.release;
    let highest_for = |release: u8| -> Option<Version> {
        supported.iter().filter(|v| v.release == release).max_by_key(|v| (v.major, v.minor)).copied()
    };
    if let Some(best) = highest_for(release) {
        let ok = best.major >= requested.major;
        *requested = best;
        return if ok { Ok(()) } else { Err(AisError::VERSION) };
    }
    let above = supported.iter().map(|v| v.release).filter(|&r| r > release).min();
    let below = supported.iter().map(|v| v.release).filter(|&r| r < release).max();
    if let Some(best) = above.or(below).and_then(highest_for) {
        *requested = best;
    }
    Err(AisError::VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B0101: Version = version(b'B', 1, 1);

    fn check(supported: &[Version], req: Version) -> (AisResult<()>, Version) {
        let mut v = req;
        let r = check_version(supported, &mut v);
        (r, v)
    }

    #[test]
    fn same_version_is_ok() {
        assert_eq!(check(&[B0101], B0101), (Ok(()), B0101));
    }

    #[test]
    fn any_minor_is_ok_and_reports_ours() {
        for minor in [0, 1, 2, 0xff] {
            assert_eq!(check(&[B0101], version(b'B', 1, minor)), (Ok(()), B0101));
        }
    }

    #[test]
    fn lower_major_is_ok_and_reports_our_major() {
        let supported = [version(b'B', 2, 3)];
        assert_eq!(check(&supported, version(b'B', 1, 1)), (Ok(()), supported[0]));
        assert_eq!(check(&[B0101], version(b'B', 0, 9)), (Ok(()), B0101));
    }

    #[test]
    fn higher_major_is_version_error_with_our_highest() {
        assert_eq!(check(&[B0101], version(b'B', 2, 1)), (Err(AisError::VERSION), B0101));
        assert_eq!(check(&[B0101], version(b'B', 0xff, 0)), (Err(AisError::VERSION), B0101));
    }

    #[test]
    fn wrong_release_code_is_version_error_with_nearest_release() {
        // Below every supported release: the lowest one above.
        assert_eq!(check(&[B0101], version(b'A', 1, 1)), (Err(AisError::VERSION), B0101));
        // Above every supported release: the highest one below.
        assert_eq!(check(&[B0101], version(b'C', 1, 1)), (Err(AisError::VERSION), B0101));
        assert_eq!(check(&[B0101], version(0, 0, 0)), (Err(AisError::VERSION), B0101));
        assert_eq!(check(&[B0101], version(b'b', 1, 1)), (Err(AisError::VERSION), B0101));
    }

    #[test]
    fn several_releases_and_majors() {
        // As AMF: A.01.01 and B.01.01; plus a made-up B.02.04 and D.01.02.
        let supported =
            [version(b'A', 1, 1), version(b'B', 1, 1), version(b'B', 2, 4), version(b'B', 2, 2), version(b'D', 1, 2)];
        assert_eq!(check(&supported, version(b'A', 1, 0)), (Ok(()), version(b'A', 1, 1)));
        assert_eq!(check(&supported, version(b'B', 1, 1)), (Ok(()), version(b'B', 2, 4)));
        assert_eq!(check(&supported, version(b'A', 2, 0)), (Err(AisError::VERSION), version(b'A', 1, 1)));
        // C is between B and D: the lowest release above wins.
        assert_eq!(check(&supported, version(b'C', 1, 1)), (Err(AisError::VERSION), version(b'D', 1, 2)));
        assert_eq!(check(&supported, version(b'E', 1, 1)), (Err(AisError::VERSION), version(b'D', 1, 2)));
    }

    #[test]
    fn nothing_supported_leaves_the_request_alone() {
        assert_eq!(check(&[], B0101), (Err(AisError::VERSION), B0101));
    }
}
