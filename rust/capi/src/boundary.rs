//! What every exported function goes through: panic catching, pointer
//! checks, reading the common structs, turning results into return codes.
//!
//! Owns: [`boundary!`](crate::boundary!), the only way an exported function's body runs
//! (a test checks that every function listed in `rust/capi/symbols/` is
//! defined with `#[unsafe(no_mangle)]` and a body that starts with
//! `boundary!`), and the small layer that turns what C hands us into Rust
//! values. Must not: hold service logic, or write an output parameter
//! before the call has succeeded.
//!
//! An exported function looks like this:
//!
//! ```ignore
//! #[unsafe(no_mangle)]
//! pub unsafe extern "C" fn saCkptDispatch(
//!     handle: SaCkptHandleT,
//!     flags: SaDispatchFlagsT,
//! ) -> SaAisErrorT {
//!     boundary!({
//!         let flags = enums::SaDispatchFlagsT::try_from(flags)?; // INVALID_PARAM
//!         crate::ckpt::dispatch(handle, flags)                    // AisResult<()>
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
//! Output parameters: take them with [`out`] (NULL → `INVALID_PARAM`)
//! *before* doing the work, and [`Out::write`] them as the last step, so a
//! failed call leaves the caller's memory untouched.
//!
//! The crate must be built with `panic = "unwind"` (the default): with
//! `panic = "abort"` nothing is caught.
//!
//! A caught panic is a bug of ours, reported in one line on the C
//! program's stderr (`libais: internal error: ...`) instead of Rust's
//! multi-line panic message; see [`PanicReport`] (environment variable
//! `AIS_LIB_PANIC=line|off|full`). Panics outside a boundary (e.g. in a
//! Rust program that links this crate) are left to the previous hook.

use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use std::cell::Cell;
#[cfg(not(test))]
use std::io::Write;
use std::panic::{AssertUnwindSafe, PanicHookInfo, catch_unwind};
use std::sync::Once;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::abi::sa_ais::{SA_MAX_NAME_LENGTH, SaAisErrorT, SaNameT, SaVersionT, enums};
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

/// A reference to what `p` points to; NULL or misaligned →
/// `SA_AIS_ERR_INVALID_PARAM`.
///
/// # Safety
/// If not NULL, `p` must point to an initialized `T` that stays valid and
/// is not written by anyone else for `'a`.
pub unsafe fn try_ref<'a, T>(p: *const T) -> AisResult<&'a T> {
    if p.is_null() || !p.is_aligned() {
        return Err(AisError::INVALID_PARAM);
    }
    // SAFETY: non-NULL and aligned checked above; the rest is the caller's.
    Ok(unsafe { &*p })
}

/// A mutable reference (an in/out parameter); NULL or misaligned →
/// `SA_AIS_ERR_INVALID_PARAM`.
///
/// # Safety
/// If not NULL, `p` must point to an initialized `T` that nobody else
/// reads or writes for `'a`.
pub unsafe fn try_mut<'a, T>(p: *mut T) -> AisResult<&'a mut T> {
    if p.is_null() || !p.is_aligned() {
        return Err(AisError::INVALID_PARAM);
    }
    // SAFETY: non-NULL and aligned checked above; the rest is the caller's.
    Ok(unsafe { &mut *p })
}

/// `len` elements at `p`. `len == 0` gives an empty slice whatever `p` is;
/// otherwise NULL, misaligned or a size past `isize::MAX` →
/// `SA_AIS_ERR_INVALID_PARAM`.
///
/// # Safety
/// If `len > 0`, `p` must point to `len` initialized elements that stay
/// valid and unwritten for `'a`.
pub unsafe fn try_slice<'a, T>(p: *const T, len: usize) -> AisResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() || !p.is_aligned() {
        return Err(AisError::INVALID_PARAM);
    }
    match len.checked_mul(size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => {}
        _ => return Err(AisError::INVALID_PARAM),
    }
    // SAFETY: non-NULL, aligned, size in range; the rest is the caller's.
    Ok(unsafe { core::slice::from_raw_parts(p, len) })
}

/// An output parameter, checked but not yet written. Written once, by
/// [`Out::write`], as the last step of a successful call.
pub struct Out<'a, T> {
    ptr: NonNull<T>,
    _lifetime: PhantomData<&'a mut T>,
}

impl<T> Out<'_, T> {
    /// Stores `value` (the old contents, uninitialized as far as we know,
    /// are not read or dropped).
    pub fn write(self, value: T) {
        // SAFETY: `out` checked non-NULL and aligned; the caller of `out`
        // promised the memory is writable for the lifetime.
        unsafe { self.ptr.as_ptr().write(value) }
    }
}

/// Takes an output parameter; NULL or misaligned →
/// `SA_AIS_ERR_INVALID_PARAM`.
///
/// # Safety
/// If not NULL, `p` must be valid for writing a `T` for `'a`.
pub unsafe fn out<'a, T>(p: *mut T) -> AisResult<Out<'a, T>> {
    match NonNull::new(p) {
        Some(ptr) if p.is_aligned() => Ok(Out { ptr, _lifetime: PhantomData }),
        _ => Err(AisError::INVALID_PARAM),
    }
}

/// Takes an optional output parameter: NULL → `None`; misaligned →
/// `SA_AIS_ERR_INVALID_PARAM`.
///
/// # Safety
/// As [`out`].
pub unsafe fn opt_out<'a, T>(p: *mut T) -> AisResult<Option<Out<'a, T>>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded to the caller.
    unsafe { out(p) }.map(Some)
}

/// The significant bytes of an `SaNameT` (`value[..length]`). NULL, or a
/// `length` over `SA_MAX_NAME_LENGTH` → `SA_AIS_ERR_INVALID_PARAM`. For the
/// functions whose spec returns `SA_AIS_ERR_NAME_TOO_LONG` for a long name,
/// use [`name_bytes_or`].
///
/// Only `length` and the first `length` bytes of `value` are read: C
/// callers often leave the rest of the array uninitialized.
///
/// # Safety
/// If not NULL, `p` must point to an `SaNameT` whose `length` and first
/// `length` bytes of `value` are initialized and stay unwritten for `'a`.
pub unsafe fn name_bytes<'a>(p: *const SaNameT) -> AisResult<&'a [u8]> {
    // SAFETY: forwarded to the caller.
    unsafe { name_bytes_or(p, AisError::INVALID_PARAM) }
}

/// As [`name_bytes`], returning `too_long` when `length` is over
/// `SA_MAX_NAME_LENGTH`.
///
/// # Safety
/// As [`name_bytes`].
pub unsafe fn name_bytes_or<'a>(p: *const SaNameT, too_long: AisError) -> AisResult<&'a [u8]> {
    if p.is_null() || !p.is_aligned() {
        return Err(AisError::INVALID_PARAM);
    }
    // SAFETY: non-NULL and aligned; the caller promised `length` is set.
    let len = usize::from(unsafe { ptr::addr_of!((*p).length).read() });
    if len > SA_MAX_NAME_LENGTH {
        return Err(too_long);
    }
    // SAFETY: `len <= SA_MAX_NAME_LENGTH` bytes inside `value`, initialized
    // per the caller's promise; u8 has no alignment requirement.
    Ok(unsafe { core::slice::from_raw_parts(ptr::addr_of!((*p).value).cast::<u8>(), len) })
}

/// Builds an `SaNameT` for C from bytes; more than `SA_MAX_NAME_LENGTH`
/// bytes → `SA_AIS_ERR_NAME_TOO_LONG`. The unused tail is zeroed.
pub fn name_from_bytes(bytes: &[u8]) -> AisResult<SaNameT> {
    if bytes.len() > SA_MAX_NAME_LENGTH {
        return Err(AisError::NAME_TOO_LONG);
    }
    let mut name = SaNameT { length: bytes.len() as u16, value: [0; SA_MAX_NAME_LENGTH] };
    name.value[..bytes.len()].copy_from_slice(bytes);
    Ok(name)
}

/// A copy of the caller's `SaVersionT`; NULL → `SA_AIS_ERR_INVALID_PARAM`.
/// (Every bit pattern of its three bytes is a valid value; checking the
/// version against what a library supports is the runtime's job.)
///
/// # Safety
/// If not NULL, `p` must point to an initialized `SaVersionT`.
pub unsafe fn read_version(p: *const SaVersionT) -> AisResult<SaVersionT> {
    // SAFETY: forwarded to the caller.
    unsafe { try_ref(p) }.copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::MaybeUninit;

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

    #[test]
    fn null_and_misaligned_pointers_are_invalid_param() {
        unsafe {
            assert_eq!(try_ref::<u32>(ptr::null()).err(), Some(AisError::INVALID_PARAM));
            assert_eq!(try_mut::<u32>(ptr::null_mut()).err(), Some(AisError::INVALID_PARAM));
            assert!(out::<u32>(ptr::null_mut()).is_err());
            assert!(opt_out::<u32>(ptr::null_mut()).unwrap().is_none());
            let words = [0u32; 2];
            let odd = (words.as_ptr() as *const u8).wrapping_add(1) as *const u32;
            assert_eq!(try_ref(odd).err(), Some(AisError::INVALID_PARAM));
            assert!(out(odd as *mut u32).is_err());
            assert_eq!(*try_ref(&words[1]).unwrap(), 0);
        }
    }

    #[test]
    fn slices() {
        unsafe {
            assert_eq!(try_slice::<u8>(ptr::null(), 0).unwrap(), &[] as &[u8]);
            assert_eq!(try_slice::<u8>(ptr::null(), 1).err(), Some(AisError::INVALID_PARAM));
            let v = [1u64, 2, 3];
            assert_eq!(try_slice(v.as_ptr(), 3).unwrap(), &v);
            assert_eq!(try_slice(v.as_ptr(), usize::MAX / 4).err(), Some(AisError::INVALID_PARAM));
        }
    }

    #[test]
    fn names() {
        let mut name = MaybeUninit::<SaNameT>::uninit();
        unsafe {
            // Only length and the significant bytes are initialized.
            let p = name.as_mut_ptr();
            ptr::addr_of_mut!((*p).length).write(3);
            ptr::addr_of_mut!((*p).value).cast::<u8>().copy_from(b"abc".as_ptr(), 3);
            assert_eq!(name_bytes(p).unwrap(), b"abc");
            ptr::addr_of_mut!((*p).length).write(256);
            ptr::addr_of_mut!((*p).value).cast::<u8>().write_bytes(b'x', 256);
            assert_eq!(name_bytes(p).unwrap().len(), 256);
            ptr::addr_of_mut!((*p).length).write(257);
            assert_eq!(name_bytes(p).err(), Some(AisError::INVALID_PARAM));
            assert_eq!(name_bytes_or(p, AisError::NAME_TOO_LONG).err(), Some(AisError::NAME_TOO_LONG));
            assert_eq!(name_bytes(ptr::null()).err(), Some(AisError::INVALID_PARAM));
        }
        let n = name_from_bytes(b"node1").unwrap();
        assert_eq!((n.length, &n.value[..5], n.value[5]), (5, &b"node1"[..], 0));
        assert!(name_from_bytes(&[b'a'; 256]).is_ok());
        assert_eq!(name_from_bytes(&[b'a'; 257]).err(), Some(AisError::NAME_TOO_LONG));
    }

    #[test]
    fn versions() {
        let v = SaVersionT { releaseCode: b'B' as _, majorVersion: 1, minorVersion: 1 };
        assert_eq!(unsafe { read_version(&v) }, Ok(v));
        assert_eq!(unsafe { read_version(ptr::null()) }, Err(AisError::INVALID_PARAM));
    }

    /// The shape every exported function has: outputs are written only when
    /// the call succeeds.
    unsafe fn get_thing(fail: bool, result: *mut u64) -> SaAisErrorT {
        crate::boundary!({
            let result = unsafe { out(result) }?;
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
        assert_eq!(unsafe { get_thing(true, &mut value) }, 6);
        assert_eq!(value, 7);
        assert_eq!(unsafe { get_thing(false, &mut value) }, 1);
        assert_eq!(value, 42);
        assert_eq!(unsafe { get_thing(false, ptr::null_mut()) }, 7);
    }
}
