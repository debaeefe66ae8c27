//! The few socket calls the runtime makes, on non-blocking Unix stream
//! sockets.
//!
//! Owns: connecting (close-on-exec, non-blocking, so a full listen backlog
//! is an error instead of a hang), sending without `SIGPIPE`
//! (`MSG_NOSIGNAL`: the application's signal handlers are never touched),
//! receiving, waiting with `poll` until a deadline, and `shutdown`. Every
//! wait is bounded by the deadline given; `None` waits until the socket is
//! ready, closed or shut down.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering as AtomicOrdering};
use std::time::Instant;

/// Connects a new non-blocking, close-on-exec Unix stream socket to `path`.
pub fn connect_unix(path: &Path) -> io::Result<OwnedFd> {
    // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    // Room for the terminating NUL is required.
    if bytes.is_empty() || bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    // SAFETY: plain syscall; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor we own.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let len = (std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1) as libc::socklen_t;
    loop {
        // SAFETY: `addr` is a valid sockaddr_un of at least `len` bytes.
        let rc = unsafe { libc::connect(fd, (&raw const addr).cast::<libc::sockaddr>(), len) };
        if rc == 0 {
            return Ok(owned);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// The uid of the process that listens at the other end of `fd`, as the
/// kernel recorded it (`SO_PEERCRED`).
pub fn peer_uid(fd: RawFd) -> io::Result<u32> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for the call.
    let rc = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_PEERCRED, (&raw mut cred).cast(), &mut len) };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(cred.uid) }
}

/// The uid of account `name`, if it exists.
pub fn uid_of(name: &str) -> Option<u32> {
    let cname = std::ffi::CString::new(name).ok()?;
    let mut size = 1024usize;
    while size <= 1 << 20 {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: zeroed passwd is a valid out parameter.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; `buf` has `size` bytes.
        let rc = unsafe { libc::getpwnam_r(cname.as_ptr(), &mut pw, buf.as_mut_ptr(), size, &mut result) };
        if rc == libc::ERANGE {
            size *= 4;
            continue;
        }
        return (rc == 0 && !result.is_null()).then_some(pw.pw_uid);
    }
    None
}

/// This process's effective uid.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether this program runs with privileges its caller lacks (setuid,
/// setgid, file capabilities): the kernel's `AT_SECURE`, the test
/// `secure_getenv` makes.
pub fn secure_exec() -> bool {
    // SAFETY: getauxval has no preconditions.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// This process's id, read once and again in a child after `fork()`
/// (a `pthread_atfork` handler), so a handle lookup costs no system call.
pub fn current_pid() -> u32 {
    static PID: AtomicU32 = AtomicU32::new(0);
    static REGISTER: Once = Once::new();
    extern "C" fn forked_child() {
        // SAFETY: getpid is async-signal-safe, as a fork handler must be.
        PID.store(unsafe { libc::getpid() } as u32, AtomicOrdering::Relaxed);
    }
    REGISTER.call_once(|| {
        // SAFETY: registers a handler that only stores getpid().
        unsafe { libc::pthread_atfork(None, None, Some(forked_child)) };
        forked_child();
    });
    PID.load(AtomicOrdering::Relaxed)
}

/// Sends all of `buf`, waiting for room until `deadline`. A timeout is
/// `ErrorKind::TimedOut` with the number of bytes already sent in `sent`.
pub fn send_all(fd: RawFd, buf: &[u8], deadline: Option<Instant>, sent: &mut usize) -> io::Result<()> {
    *sent = 0;
    while *sent < buf.len() {
        let rest = &buf[*sent..];
        // SAFETY: `rest` is a valid buffer of `rest.len()` bytes.
        let n = unsafe { libc::send(fd, rest.as_ptr().cast(), rest.len(), libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
        if n >= 0 {
            *sent += n as usize;
            continue;
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => {}
            Some(libc::EAGAIN) => {
                if !wait(fd, libc::POLLOUT, deadline)? {
                    return Err(io::ErrorKind::TimedOut.into());
                }
            }
            _ => return Err(err),
        }
    }
    Ok(())
}

/// Receives what is there, at most `buf.len()` bytes, without waiting.
/// `Ok(None)`: nothing yet; `Ok(Some(0))`: end of stream.
pub fn recv_now(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        // SAFETY: `buf` is a valid writable buffer of `buf.len()` bytes.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => {}
            Some(libc::EAGAIN) => return Ok(None),
            _ => return Err(err),
        }
    }
}

/// Waits until `fd` is readable (or closed, or in error) or `deadline`
/// passes; true if readable.
pub fn wait_readable(fd: RawFd, deadline: Option<Instant>) -> io::Result<bool> {
    wait(fd, libc::POLLIN, deadline)
}

/// True if `fd` is readable right now.
pub fn is_readable(fd: RawFd) -> io::Result<bool> {
    poll_once(fd, libc::POLLIN, 0)
}

fn wait(fd: RawFd, events: libc::c_short, deadline: Option<Instant>) -> io::Result<bool> {
    loop {
        let timeout_ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up so we never wake just before the deadline.
                let ms = left.as_micros().div_ceil(1000);
                ms.min(i32::MAX as u128) as i32
            }
        };
        match poll_once(fd, events, timeout_ms) {
            Ok(true) => return Ok(true),
            Ok(false) if timeout_ms == 0 => return Ok(false),
            Ok(false) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn poll_once(fd: RawFd, events: libc::c_short, timeout_ms: i32) -> io::Result<bool> {
    let mut pfd = libc::pollfd { fd, events, revents: 0 };
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc > 0 && pfd.revents != 0)
}

/// Shuts both directions of a socket down: wakes every thread polling or
/// reading it (they see end of stream) and tells the peer we are gone,
/// while the descriptor itself stays open and valid.
pub fn shutdown(fd: &OwnedFd) {
    // SAFETY: plain syscall on a descriptor we own; errors (e.g. already
    // disconnected) change nothing for us.
    unsafe {
        libc::shutdown(fd.as_raw_fd(), libc::SHUT_RDWR);
    }
}
