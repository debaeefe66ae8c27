//! What C hands us, as Rust values; and Rust values written back to C.
//!
//! Owns: the readers of the pointers an exported function receives
//! (`try_ref!`, `opt_ref!`, `try_mut!`, `opt_mut!`, `try_slice!`,
//! `try_slice_mut!`, `name_bytes!`, `name_bytes_or!`), its output
//! parameters (`out!`, `opt_out!`, `out_slice!`), memory handed to
//! the application ([`CAlloc`]), and the conversions of the types every
//! header shares (`SaNameT`, `SaVersionT`, `SaDispatchFlagsT`). Must not:
//! know any service.
//!
//! # The one rule behind every macro
//!
//! The macros are the audited `unsafe` of argument conversion: each
//! expands to one call of the `unsafe fn` of the same name below, inside
//! one `unsafe` block whose `SAFETY` comment is this rule:
//!
//! > A pointer C hands an exported function, and every pointer inside what
//! > it points to, is by the API's contract NULL or valid for the size the
//! > API documents (one `T`, `len` elements, `idLen` bytes, ...) for the
//! > whole call, and nobody else writes what we read, or touches what we
//! > write, while the call runs. The helper checks NULL, alignment and
//! > sizes; the contract is the rest.
//!
//! So use them only on such pointers: the arguments of the exported
//! function being run (`abi/<header>.rs`), and the pointers inside the C
//! structs they point to, read by the private helpers of the same file
//! (which take those structs by reference, and are called only by the
//! exported functions with what C handed them). Everything else that is
//! `unsafe` (calling an application's callback, a `Drop` of C memory) is
//! its own block with its own `SAFETY` line.
//!
//! Each macro gives an `AisResult`: NULL (where not allowed), misaligned,
//! or too large → `SA_AIS_ERR_INVALID_PARAM`. Outputs are taken first
//! (`let handle = out!(ckptHandle)?;`) and written last
//! (`handle.write(value)`), so a failed call leaves the caller's memory
//! untouched.

use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use super::sa_ais::{SA_MAX_NAME_LENGTH, SaDispatchFlagsT, SaNameT, SaVersionT, enums};
use crate::error::{AisError, AisResult};
use crate::runtime::{DispatchFlags, Version};

// ---------------------------------------------------------------------------
// The macros (see the module doc for where they may be used).

/// `&T` from a `*const T` C handed us: [`try_ref`].
macro_rules! try_ref {
    ($p:expr) => {
        match $p {
            p => {
                // SAFETY: a pointer C handed us (see `abi::convert`).
                unsafe { $crate::abi::convert::raw::try_ref(p) }
            }
        }
    };
}

/// `Option<&T>` (NULL: `None`): [`opt_ref`].
macro_rules! opt_ref {
    ($p:expr) => {
        match $p {
            p => {
                // SAFETY: a pointer C handed us (see `abi::convert`).
                unsafe { $crate::abi::convert::raw::opt_ref(p) }
            }
        }
    };
}

/// `&mut T` (an in/out parameter): [`try_mut`].
macro_rules! try_mut {
    ($p:expr) => {
        match $p {
            p => {
                // SAFETY: a pointer C handed us (see `abi::convert`).
                unsafe { $crate::abi::convert::raw::try_mut(p) }
            }
        }
    };
}

/// `Option<&mut T>` (NULL: `None`): [`opt_mut`].
macro_rules! opt_mut {
    ($p:expr) => {
        match $p {
            p => {
                // SAFETY: a pointer C handed us (see `abi::convert`).
                unsafe { $crate::abi::convert::raw::opt_mut(p) }
            }
        }
    };
}

/// `&[T]` of `len` elements: [`try_slice`].
macro_rules! try_slice {
    ($p:expr, $len:expr) => {
        match ($p, $len) {
            (p, len) => {
                // SAFETY: a pointer C handed us (see `abi::convert`).
                unsafe { $crate::abi::convert::raw::try_slice(p, len) }
            }
        }
    };
}

/// `&mut [T]` of `len` elements (an in/out array): [`try_slice_mut`].
macro_rules! try_slice_mut {
    ($p:expr, $len:expr) => {
        match ($p, $len) {
            (p, len) => {
                // SAFETY: a pointer C handed us (see `abi::convert`).
                unsafe { $crate::abi::convert::raw::try_slice_mut(p, len) }
            }
        }
    };
}

/// An output parameter: [`out`].
macro_rules! out {
    ($p:expr) => {
        match $p {
            p => {
                // SAFETY: a pointer C handed us (see `abi::convert`).
                unsafe { $crate::abi::convert::raw::out(p) }
            }
        }
    };
}

/// An optional output parameter (NULL: `None`): [`opt_out`].
macro_rules! opt_out {
    ($p:expr) => {
        match $p {
            p => {
                // SAFETY: a pointer C handed us (see `abi::convert`).
                unsafe { $crate::abi::convert::raw::opt_out(p) }
            }
        }
    };
}

/// `len` elements to fill (an output array or buffer): [`out_slice`].
macro_rules! out_slice {
    ($p:expr, $len:expr) => {
        match ($p, $len) {
            (p, len) => {
                // SAFETY: a pointer C handed us (see `abi::convert`).
                unsafe { $crate::abi::convert::raw::out_slice(p, len) }
            }
        }
    };
}

/// The significant bytes of an `SaNameT`: [`name_bytes_or`] with
/// `INVALID_PARAM` for a long name.
macro_rules! name_bytes {
    ($p:expr) => {
        $crate::abi::convert::name_bytes_or!($p, $crate::error::AisError::INVALID_PARAM)
    };
}

/// The significant bytes of an `SaNameT`, `$too_long` for a long name:
/// [`name_bytes_or`].
macro_rules! name_bytes_or {
    ($p:expr, $too_long:expr) => {
        match ($p, $too_long) {
            (p, too_long) => {
                // SAFETY: a pointer C handed us (see `abi::convert`).
                unsafe { $crate::abi::convert::raw::name_bytes_or(p, too_long) }
            }
        }
    };
}

#[allow(unused_imports)] // each is used by some header's file, not necessarily yet
pub(crate) use {
    name_bytes, name_bytes_or, opt_mut, opt_out, opt_ref, out, out_slice, try_mut, try_ref, try_slice, try_slice_mut,
};

/// An output parameter, checked (`out!`) but not yet written. Written
/// once, by [`Out::write`], as the last step of a successful call.
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

/// Copies `src` to the start of `dest`, as much as fits.
pub fn write_slice<T: Copy>(dest: &mut [MaybeUninit<T>], src: &[T]) {
    for (d, s) in dest.iter_mut().zip(src) {
        d.write(*s);
    }
}

// ---------------------------------------------------------------------------
// The readers behind the macros. Each `# Safety` is the module doc's rule.
pub mod raw {
    use super::*;

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

    /// As [`try_ref`], NULL being `None`.
    ///
    /// # Safety
    /// As [`try_ref`].
    pub unsafe fn opt_ref<'a, T>(p: *const T) -> AisResult<Option<&'a T>> {
        if p.is_null() {
            return Ok(None);
        }
        // SAFETY: forwarded to the caller.
        try_ref!(p).map(Some)
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

    /// As [`try_mut`], NULL being `None`.
    ///
    /// # Safety
    /// As [`try_mut`].
    pub unsafe fn opt_mut<'a, T>(p: *mut T) -> AisResult<Option<&'a mut T>> {
        if p.is_null() {
            return Ok(None);
        }
        // SAFETY: forwarded to the caller.
        try_mut!(p).map(Some)
    }

    /// Checks that `len` elements at `p` can be a slice: `len == 0` always
    /// can (whatever `p` is); otherwise NULL, misaligned or a size past
    /// `isize::MAX` → `SA_AIS_ERR_INVALID_PARAM`. `Ok(false)`: empty.
    fn check_slice<T>(p: *const T, len: usize) -> AisResult<bool> {
        if len == 0 {
            return Ok(false);
        }
        if p.is_null() || !p.is_aligned() {
            return Err(AisError::INVALID_PARAM);
        }
        match len.checked_mul(size_of::<T>()) {
            Some(bytes) if bytes <= isize::MAX as usize => Ok(true),
            _ => Err(AisError::INVALID_PARAM),
        }
    }

    /// `len` elements at `p`; see `check_slice` for what is refused.
    ///
    /// # Safety
    /// If `len > 0`, `p` must point to `len` initialized elements that stay
    /// valid and unwritten for `'a`.
    pub unsafe fn try_slice<'a, T>(p: *const T, len: usize) -> AisResult<&'a [T]> {
        if !check_slice(p, len)? {
            return Ok(&[]);
        }
        // SAFETY: non-NULL, aligned, size in range; the rest is the caller's.
        Ok(unsafe { core::slice::from_raw_parts(p, len) })
    }

    /// `len` elements at `p` to read and change; see `check_slice`.
    ///
    /// # Safety
    /// If `len > 0`, `p` must point to `len` initialized elements that nobody
    /// else reads or writes for `'a`.
    pub unsafe fn try_slice_mut<'a, T>(p: *mut T, len: usize) -> AisResult<&'a mut [T]> {
        if !check_slice(p, len)? {
            return Ok(&mut []);
        }
        // SAFETY: non-NULL, aligned, size in range; the rest is the caller's.
        Ok(unsafe { core::slice::from_raw_parts_mut(p, len) })
    }

    /// `len` elements at `p` to write, whatever they hold now (C callers hand
    /// us uninitialized buffers); see `check_slice`. Fill them with
    /// [`write_slice`].
    ///
    /// # Safety
    /// If `len > 0`, `p` must be valid for writing `len` elements that nobody
    /// else reads or writes for `'a`.
    pub unsafe fn out_slice<'a, T>(p: *mut T, len: usize) -> AisResult<&'a mut [MaybeUninit<T>]> {
        if !check_slice(p, len)? {
            return Ok(&mut []);
        }
        // SAFETY: non-NULL, aligned, size in range; `MaybeUninit` asks nothing
        // of the contents; the rest is the caller's.
        Ok(unsafe { core::slice::from_raw_parts_mut(p.cast::<MaybeUninit<T>>(), len) })
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
        out!(p).map(Some)
    }

    /// The significant bytes of an `SaNameT` (`value[..length]`). NULL →
    /// `SA_AIS_ERR_INVALID_PARAM`; a `length` over `SA_MAX_NAME_LENGTH` →
    /// `too_long` (`INVALID_PARAM` for most functions, `NAME_TOO_LONG` where
    /// the spec says so).
    ///
    /// Only `length` and the first `length` bytes of `value` are read: C
    /// callers often leave the rest of the array uninitialized.
    ///
    /// # Safety
    /// If not NULL, `p` must point to an `SaNameT` whose `length` and first
    /// `length` bytes of `value` are initialized and stay unwritten for `'a`.
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
}

// ---------------------------------------------------------------------------
// Values every header shares.

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

impl From<SaVersionT> for Version {
    fn from(v: SaVersionT) -> Version {
        Version { release: v.releaseCode as u8, major: v.majorVersion, minor: v.minorVersion }
    }
}

impl From<Version> for SaVersionT {
    fn from(v: Version) -> SaVersionT {
        SaVersionT { releaseCode: v.release as _, majorVersion: v.major, minorVersion: v.minor }
    }
}

/// Runs `initialize` on the caller's version (the in/out `SaVersionT` of
/// every `saXxxInitialize`) and writes back what it leaves there, on
/// success and failure alike, as the spec says.
pub fn with_version<T>(
    version: &mut SaVersionT,
    initialize: impl FnOnce(&mut Version) -> AisResult<T>,
) -> AisResult<T> {
    let mut v = Version::from(*version);
    let result = initialize(&mut v);
    *version = SaVersionT::from(v);
    result
}

/// An `SaDispatchFlagsT` value; anything else is `INVALID_PARAM`. The
/// result is handed to the service as it is: the runtime reports a bad
/// value after a bad handle (`Library::dispatch`).
pub fn dispatch_flags(raw: SaDispatchFlagsT) -> AisResult<DispatchFlags> {
    Ok(match enums::SaDispatchFlagsT::try_from(raw)? {
        enums::SaDispatchFlagsT::SA_DISPATCH_ONE => DispatchFlags::One,
        enums::SaDispatchFlagsT::SA_DISPATCH_ALL => DispatchFlags::All,
        enums::SaDispatchFlagsT::SA_DISPATCH_BLOCKING => DispatchFlags::Blocking,
    })
}

/// The `SaAisErrorT` an application's callback is given for a result:
/// `SA_AIS_OK`, or the error's value as the executive sent it.
pub fn callback_code<T>(result: &AisResult<T>) -> u32 {
    match result {
        Ok(_) => enums::SaAisErrorT::SA_AIS_OK as u32,
        Err(e) => e.0,
    }
}

/// Memory from the C allocator, handed to the application, which
/// releases it with `free()` (as with the classic libraries): freed here
/// instead if the call fails before [`into_raw`](Self::into_raw).
pub struct CAlloc<T: Copy> {
    ptr: NonNull<T>,
}

impl<T: Copy> CAlloc<T> {
    /// A copy of `items` in fresh zeroed memory (room for one item at
    /// least, so that an empty array is not NULL); `NO_MEMORY` if there
    /// is none.
    pub fn from_slice(items: &[T]) -> AisResult<Self> {
        // SAFETY: a plain allocation; calloc checks the size for overflow.
        let p = unsafe { libc::calloc(items.len().max(1), size_of::<T>()) }.cast::<T>();
        let ptr = NonNull::new(p).ok_or(AisError::NO_MEMORY)?;
        let alloc = CAlloc { ptr };
        // SAFETY: fresh memory for at least `items.len()` elements, aligned
        // for any C type, not overlapping `items`.
        unsafe { ptr.as_ptr().copy_from_nonoverlapping(items.as_ptr(), items.len()) };
        Ok(alloc)
    }

    /// Where the memory is (still ours).
    pub fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// Hands the memory over: the application frees it.
    pub fn into_raw(self) -> *mut T {
        let p = self.ptr.as_ptr();
        core::mem::forget(self);
        p
    }
}

impl<T: Copy> Drop for CAlloc<T> {
    fn drop(&mut self) {
        // SAFETY: from calloc, not handed over (that forgets `self`).
        unsafe { libc::free(self.ptr.as_ptr().cast()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_misaligned_pointers_are_invalid_param() {
        assert_eq!(try_ref!(ptr::null::<u32>()).err(), Some(AisError::INVALID_PARAM));
        assert_eq!(try_mut!(ptr::null_mut::<u32>()).err(), Some(AisError::INVALID_PARAM));
        assert!(out!(ptr::null_mut::<u32>()).is_err());
        assert!(opt_out!(ptr::null_mut::<u32>()).unwrap().is_none());
        assert!(opt_ref!(ptr::null::<u32>()).unwrap().is_none());
        assert!(opt_mut!(ptr::null_mut::<u32>()).unwrap().is_none());
        let words = [0u32; 2];
        let odd = (words.as_ptr() as *const u8).wrapping_add(1) as *const u32;
        assert_eq!(try_ref!(odd).err(), Some(AisError::INVALID_PARAM));
        assert_eq!(opt_ref!(odd).err(), Some(AisError::INVALID_PARAM));
        assert!(out!(odd as *mut u32).is_err());
        assert!(opt_out!(odd as *mut u32).is_err());
        assert_eq!(*try_ref!(&words[1]).unwrap(), 0);
    }

    #[test]
    fn slices() {
        assert_eq!(try_slice!(ptr::null::<u8>(), 0).unwrap(), &[] as &[u8]);
        assert_eq!(try_slice!(ptr::null::<u8>(), 1).err(), Some(AisError::INVALID_PARAM));
        let mut v = [1u64, 2, 3];
        assert_eq!(try_slice!(v.as_ptr(), 3).unwrap(), &v);
        assert_eq!(try_slice!(v.as_ptr(), usize::MAX / 4).err(), Some(AisError::INVALID_PARAM));
        try_slice_mut!(v.as_mut_ptr(), 2).unwrap()[1] = 7;
        assert_eq!(v, [1, 7, 3]);
        assert_eq!(try_slice_mut!(ptr::null_mut::<u64>(), 1).err(), Some(AisError::INVALID_PARAM));
        write_slice(out_slice!(v.as_mut_ptr(), 2).unwrap(), &[9, 8, 7]);
        assert_eq!(v, [9, 8, 3], "no more than the slice");
        assert!(out_slice!(ptr::null_mut::<u64>(), 0).unwrap().is_empty());
        assert_eq!(out_slice!(ptr::null_mut::<u64>(), 1).err(), Some(AisError::INVALID_PARAM));
    }

    #[test]
    fn names() {
        let mut name = MaybeUninit::<SaNameT>::uninit();
        let p = name.as_mut_ptr();
        // SAFETY: writes within the fields of `name`. Only `length` and the
        // significant bytes are initialized, as C callers leave them.
        let set = |len: u16, fill: &[u8]| unsafe {
            ptr::addr_of_mut!((*p).length).write(len);
            ptr::addr_of_mut!((*p).value).cast::<u8>().copy_from(fill.as_ptr(), fill.len());
        };
        set(3, b"abc");
        assert_eq!(name_bytes!(p).unwrap(), b"abc");
        set(256, &[b'x'; 256]);
        assert_eq!(name_bytes!(p).unwrap().len(), 256);
        set(257, b"");
        assert_eq!(name_bytes!(p).err(), Some(AisError::INVALID_PARAM));
        assert_eq!(name_bytes_or!(p, AisError::NAME_TOO_LONG).err(), Some(AisError::NAME_TOO_LONG));
        assert_eq!(name_bytes!(ptr::null()).err(), Some(AisError::INVALID_PARAM));
        let n = name_from_bytes(b"node1").unwrap();
        assert_eq!((n.length, &n.value[..5], n.value[5]), (5, &b"node1"[..], 0));
        assert!(name_from_bytes(&[b'a'; 256]).is_ok());
        assert_eq!(name_from_bytes(&[b'a'; 257]).err(), Some(AisError::NAME_TOO_LONG));
    }

    #[test]
    fn versions_go_in_and_come_back() {
        let mut v = SaVersionT { releaseCode: b'B' as _, majorVersion: 7, minorVersion: 9 };
        let mut seen = None;
        let result = with_version(&mut v, |v| {
            seen = Some(*v);
            *v = Version { release: b'A', major: 1, minor: 1 };
            Ok(5)
        });
        assert_eq!((result, seen), (Ok(5), Some(Version { release: b'B', major: 7, minor: 9 })));
        assert_eq!((v.releaseCode as u8, v.majorVersion, v.minorVersion), (b'A', 1, 1));
        // Written back on failure too.
        assert_eq!(
            with_version(&mut v, |v| -> AisResult<()> {
                v.major = 3;
                Err(AisError::VERSION)
            }),
            Err(AisError::VERSION)
        );
        assert_eq!(v.majorVersion, 3);
    }

    #[test]
    fn dispatch_flags_are_checked() {
        assert_eq!(dispatch_flags(1), Ok(DispatchFlags::One));
        assert_eq!(dispatch_flags(2), Ok(DispatchFlags::All));
        assert_eq!(dispatch_flags(3), Ok(DispatchFlags::Blocking));
        for bad in [0, 4, 0x100, u32::MAX] {
            assert_eq!(dispatch_flags(bad), Err(AisError::INVALID_PARAM), "{bad}");
        }
    }

    #[test]
    fn callback_codes_pass_the_executive_value() {
        assert_eq!(callback_code(&Ok(())), 1);
        assert_eq!(callback_code::<()>(&Err(AisError::NOT_EXIST)), 12);
        assert_eq!(callback_code::<()>(&Err(AisError(99))), 99);
    }

    #[test]
    fn c_allocations() {
        let a = CAlloc::from_slice(b"abc").unwrap();
        let p = a.into_raw();
        // SAFETY: three bytes copied there.
        assert_eq!(unsafe { core::slice::from_raw_parts(p, 3) }, b"abc");
        // SAFETY: handed over to us as the application.
        unsafe { libc::free(p.cast()) };
        // Empty: still a pointer to free, never NULL.
        let empty = CAlloc::<u64>::from_slice(&[]).unwrap().into_raw();
        assert!(!empty.is_null());
        // SAFETY: as above.
        unsafe { libc::free(empty.cast()) };
        // Dropped before being handed over: freed (no leak under ASan).
        drop(CAlloc::from_slice(&[1u32, 2]).unwrap());
    }
}
