//! User and group name lookups (reentrant libc calls).

use std::ffi::CString;

const BUF_LEN: usize = 16 * 1024;

/// The uid of user `name`, if it exists.
pub fn uid_of(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; BUF_LEN];
    // SAFETY: all pointers point to live, correctly sized storage.
    unsafe {
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwnam_r(cname.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut result);
        (rc == 0 && !result.is_null()).then_some(pw.pw_uid)
    }
}

/// The gid of group `name`, if it exists.
pub fn gid_of(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; BUF_LEN];
    // SAFETY: as above.
    unsafe {
        let mut gr: libc::group = std::mem::zeroed();
        let mut result: *mut libc::group = std::ptr::null_mut();
        let rc = libc::getgrnam_r(cname.as_ptr(), &mut gr, buf.as_mut_ptr(), buf.len(), &mut result);
        (rc == 0 && !result.is_null()).then_some(gr.gr_gid)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_exists_and_nonsense_does_not() {
        assert_eq!(super::uid_of("root"), Some(0));
        assert_eq!(super::gid_of("root"), Some(0));
        assert_eq!(super::uid_of("no-such-user-xyz"), None);
        assert_eq!(super::uid_of("a\0b"), None);
    }
}
