//! What every exported function goes through: panic catching, and
//! turning results into return codes.
//!
//! Owns: [`boundary!`](crate::boundary!), the only way an exported function's body runs
//! (a test checks that every function listed in `rust/capi/symbols/` is
//! defined with `#[unsafe(no_mangle)]` and a body that starts with
//! `boundary!`). Turning what C hands us into Rust values is
//! `abi::convert`'s job. Must not: hold service logic.
//!
//! An exported function looks like this:
//!
//! ```ignore
//! #[unsafe(no_mangle)]
//! pub unsafe extern "C" fn saCkptSelectionObjectGet(
//!     handle: SaCkptHandleT,
//!     selectionObject: *mut SaSelectionObjectT,
//! ) -> SaAisErrorT {
//!     boundary!({
//!         let so = out!(selectionObject)?;              // NULL → INVALID_PARAM
//!         so.write(crate::ckpt::selection_object(handle)?); // AisResult<u64>
//!         Ok(())
//!     })
//! }
//! ```
//!
//! - `boundary!({ body })`: `body` is an `AisResult<()>`; the function
//!   returns `SA_AIS_OK` or the error's code; a panic returns
//!   `SA_AIS_ERR_LIBRARY`.
//! - `boundary!(-> T { body })`: `body` returns `T` itself; a panic returns
//!   `<T as PanicDefault>::panic_default()` (add an impl for a new `T`).
//!
//! The crate must be built with `panic = "unwind"` (the default): with
//! `panic = "abort"` nothing is caught.
//!
//! A caught panic is a bug of ours, reported in one line on the C
//! program's stderr (`libais: internal error: ...`) instead of Rust's
//! multi-line panic message; see [`PanicReport`] (environment variable
//! `AIS_LIB_PANIC=line|off|full`). Panics outside a boundary (e.g. in a
//! Rust program that links this crate) are left to the previous hook.

use core::ptr;
use std::cell::Cell;
#[cfg(not(test))]
use std::io::Write;
use std::panic::{AssertUnwindSafe, PanicHookInfo, catch_unwind};
use std::sync::Once;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::abi::sa_ais::{SaAisErrorT, enums};
use crate::error::{AisError, AisResult};

/// `SA_AIS_OK` as the integer an exported function returns.
pub const SA_AIS_OK: SaAisErrorT = enums::SaAisErrorT::SA_AIS_OK as SaAisErrorT;
/// `SA_AIS_ERR_LIBRARY` as the integer an exported function returns.
pub const SA_AIS_ERR_LIBRARY: SaAisErrorT = enums::SaAisErrorT::SA_AIS_ERR_LIBRARY as SaAisErrorT;

/// Runs the body of an exported function: catches panics and turns the
/// body's value into the C return value. See the module doc.
#[macro_export]
macro_rules! boundary {
    (-> $ret:ty $body:block) => {
        $crate::boundary::run_raw::<$ret, _>(move || -> $ret { $body })
    };
    ($body:block) => {
        $crate::boundary::run(move || -> $crate::error::AisResult<()> { $body })
    };
}

/// What an exported function returns when its body panicked.
pub trait PanicDefault {
    fn panic_default() -> Self;
}

/// `SaAisErrorT` (and the openais `evs_error_t`/`cpg_error_t`, which share
/// its values): `SA_AIS_ERR_LIBRARY`.
impl PanicDefault for SaAisErrorT {
    fn panic_default() -> Self {
        SA_AIS_ERR_LIBRARY
    }
}

impl PanicDefault for () {
    fn panic_default() -> Self {}
}

impl<T> PanicDefault for *mut T {
    fn panic_default() -> Self {
        ptr::null_mut()
    }
}

impl<T> PanicDefault for *const T {
    fn panic_default() -> Self {
        ptr::null()
    }
}

/// Runs `f`, a body returning `AisResult<()>`; see [`boundary!`].
#[doc(hidden)]
pub fn run(f: impl FnOnce() -> AisResult<()>) -> SaAisErrorT {
    match catch_in_boundary(f) {
        Ok(result) => result_code(result),
        Err(()) => SA_AIS_ERR_LIBRARY,
    }
}

/// Runs `f`, a body returning the C return value itself; see [`boundary!`].
#[doc(hidden)]
pub fn run_raw<R: PanicDefault, F: FnOnce() -> R>(f: F) -> R {
    catch_in_boundary(f).unwrap_or_else(|()| R::panic_default())
}

/// How a panic caught at the boundary is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PanicReport {
    /// One line on stderr: `libais: internal error: <message> at
    /// <file>:<line>; the call returns an error`. The default.
    Line = 0,
    /// Nothing.
    Off = 1,
    /// Whatever the previous panic hook does (Rust's default message).
    Full = 2,
}

/// Unset: read `AIS_LIB_PANIC` on first use.
const REPORT_UNSET: u8 = u8::MAX;
static REPORT: AtomicU8 = AtomicU8::new(REPORT_UNSET);

/// Chooses how caught panics are reported, overriding `AIS_LIB_PANIC`.
pub fn set_panic_report(report: PanicReport) {
    REPORT.store(report as u8, Ordering::Relaxed);
}

fn panic_report() -> PanicReport {
    match REPORT.load(Ordering::Relaxed) {
        0 => PanicReport::Line,
        1 => PanicReport::Off,
        2 => PanicReport::Full,
        _ => {
            let report = match std::env::var("AIS_LIB_PANIC").as_deref() {
                Ok("off" | "quiet" | "0") => PanicReport::Off,
                Ok("full") => PanicReport::Full,
                _ => PanicReport::Line,
            };
            // A concurrent `set_panic_report` wins.
            let _ = REPORT.compare_exchange(REPORT_UNSET, report as u8, Ordering::Relaxed, Ordering::Relaxed);
            report
        }
    }
}

thread_local! {
    /// How many boundaries this thread is inside (a callback may call the
    /// API again).
    static BOUNDARY_DEPTH: Cell<u32> = const { Cell::new(0) };
}

#[cfg(test)]
thread_local! {
    /// The last report line of this thread, for tests.
    static LAST_REPORT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` catching panics, with the quiet hook in place.
fn catch_in_boundary<R>(f: impl FnOnce() -> R) -> Result<R, ()> {
    install_panic_hook();
    let _ = BOUNDARY_DEPTH.try_with(|d| d.set(d.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    let _ = BOUNDARY_DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
    result.map_err(|_| ())
}

/// Installs, once per process, a hook that reports panics inside a
/// boundary per [`PanicReport`] and passes every other panic to the hook
/// that was there before.
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let inside = BOUNDARY_DEPTH.try_with(|d| d.get() > 0).unwrap_or(false);
            if !inside {
                return previous(info);
            }
            match panic_report() {
                PanicReport::Full => previous(info),
                PanicReport::Off => {}
                PanicReport::Line => {
                    let line = report_line(info);
                    // Unit tests look at the line instead of printing it
                    // past the test harness's output capture.
                    #[cfg(test)]
                    let _ = LAST_REPORT.try_with(|r| *r.borrow_mut() = Some(line));
                    // One write; a closed stderr is not our problem.
                    #[cfg(not(test))]
                    let _ = std::io::stderr().write_all(line.as_bytes());
                }
            }
        }));
    });
}

/// The one-line report of a caught panic, newline included.
fn report_line(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    let mut message: String = message.chars().map(|c| if c.is_control() { ' ' } else { c }).take(300).collect();
    if let Some(at) = info.location() {
        message = format!("{message} at {}:{}", at.file(), at.line());
    }
    format!("libais: internal error: {message}; the call returns an error\n")
}

/// The return code of a result: `SA_AIS_OK` or the error's value.
pub fn result_code(result: AisResult<()>) -> SaAisErrorT {
    match result {
        Ok(()) => SA_AIS_OK,
        Err(e) => SaAisErrorT::from(e),
    }
}

/// An error's `SaAisErrorT`. A value that is not an error code of the spec
/// (say, a malformed reply carried `SA_AIS_OK` or 99 as an error) becomes
/// `SA_AIS_ERR_LIBRARY`, so C never sees a value outside the enum, nor
/// `SA_AIS_OK` for a failure.
impl From<AisError> for SaAisErrorT {
    fn from(e: AisError) -> SaAisErrorT {
        match enums::SaAisErrorT::try_from(e.0) {
            Ok(enums::SaAisErrorT::SA_AIS_OK) | Err(_) => SA_AIS_ERR_LIBRARY,
            Ok(code) => SaAisErrorT::from(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_body() -> SaAisErrorT {
        crate::boundary!({ Ok(()) })
    }

    fn err_body() -> SaAisErrorT {
        crate::boundary!({ Err(AisError::BAD_HANDLE) })
    }

    fn panicking_body(really: bool) -> SaAisErrorT {
        crate::boundary!({
            if really {
                panic!("a bug");
            }
            Ok(())
        })
    }

    fn panicking_raw() -> *mut u8 {
        crate::boundary!(-> *mut u8 {
            panic!("a bug")
        })
    }

    fn raw_body() -> SaAisErrorT {
        crate::boundary!(-> SaAisErrorT { 27 })
    }

    #[test]
    fn results_become_codes() {
        assert_eq!(ok_body(), 1);
        assert_eq!(err_body(), 9);
        assert_eq!(raw_body(), 27);
        assert_eq!(result_code(Err(AisError::TRY_AGAIN)), 6);
    }

    #[test]
    fn panics_become_library_errors() {
        assert_eq!(panicking_body(false), SA_AIS_OK);
        assert_eq!(panicking_body(true), SA_AIS_ERR_LIBRARY);
        assert!(panicking_raw().is_null());
    }

    #[test]
    fn a_caught_panic_is_reported_in_one_line() {
        LAST_REPORT.with(|r| r.borrow_mut().take());
        assert_eq!(panicking_body(true), SA_AIS_ERR_LIBRARY);
        let line = LAST_REPORT.with(|r| r.borrow_mut().take()).unwrap();
        assert!(line.starts_with("libais: internal error: a bug at "), "{line}");
        assert!(line.contains("boundary.rs:"), "{line}");
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.ends_with('\n'));
        // Outside a boundary the hook stays out of the way.
        let caught = std::panic::catch_unwind(|| panic!("outside"));
        assert!(caught.is_err());
        assert!(LAST_REPORT.with(|r| r.borrow().is_none()));
        // The depth is back to zero after a caught panic.
        assert_eq!(BOUNDARY_DEPTH.with(Cell::get), 0);
    }

    #[test]
    fn errors_outside_the_spec_become_library() {
        for bad in [0, 1, 28, 99, u32::MAX] {
            assert_eq!(SaAisErrorT::from(AisError(bad)), SA_AIS_ERR_LIBRARY, "{bad}");
        }
        for good in 2..=27 {
            assert_eq!(SaAisErrorT::from(AisError(good)), good);
        }
    }

    /// The shape every exported function has: outputs are written only when
    /// the call succeeds.
    unsafe fn get_thing(fail: bool, result: *mut u64) -> SaAisErrorT {
        crate::boundary!({
            let result = crate::abi::convert::out!(result)?;
            if fail {
                return Err(AisError::TRY_AGAIN);
            }
            result.write(42);
            Ok(())
        })
    }

    #[test]
    fn outputs_written_only_on_success() {
        let mut value = 7u64;
        // SAFETY: a valid pointer (or NULL, below), as `get_thing` wants.
        assert_eq!(unsafe { get_thing(true, &mut value) }, 6);
        assert_eq!(value, 7);
        // SAFETY: as above.
        assert_eq!(unsafe { get_thing(false, &mut value) }, 1);
        assert_eq!(value, 42);
        // SAFETY: as above.
        assert_eq!(unsafe { get_thing(false, ptr::null_mut()) }, 7);
    }
}
