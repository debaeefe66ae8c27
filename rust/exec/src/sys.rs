//! Thin, checked wrappers over the Linux calls the executive needs
//! (epoll, signalfd, peer credentials, randomness, rlimits). All `unsafe`
//! of the main loop lives here.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(rc) }
}

/// An epoll instance; events carry a caller-chosen `u64` key.
pub struct Epoll {
    fd: OwnedFd,
}

pub const IN: u32 = libc::EPOLLIN as u32;
pub const OUT: u32 = libc::EPOLLOUT as u32;
pub const RDHUP: u32 = libc::EPOLLRDHUP as u32;
pub const HUP: u32 = libc::EPOLLHUP as u32;
pub const ERR: u32 = libc::EPOLLERR as u32;

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: plain syscall; the fd is owned on success.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        Ok(Epoll { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, key: u64, events: u32) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: key };
        // SAFETY: `ev` is a valid epoll_event for the call's duration.
        check(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut ev) }).map(drop)
    }

    pub fn add(&self, fd: RawFd, key: u64, events: u32) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, key, events)
    }

    pub fn modify(&self, fd: RawFd, key: u64, events: u32) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, key, events)
    }

    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    /// Waits up to `timeout_ms` (-1: forever); fills `out` with
    /// `(key, events)`. EINTR is an empty wait.
    pub fn wait(&self, out: &mut Vec<(u64, u32)>, max: usize, timeout_ms: i32) -> io::Result<()> {
        let timeout = u64::try_from(timeout_ms).ok().map(std::time::Duration::from_millis);
        self.wait_for(out, max, timeout)
    }

    /// As [`Epoll::wait`], to the microsecond (`None`: forever; at most
    /// [`MAX_EVENTS`] events), so a timer due in 200 us is not waited
    /// for a whole millisecond. Kernels before 5.11 (no `epoll_pwait2`)
    /// round up to milliseconds.
    pub fn wait_for(
        &self,
        out: &mut Vec<(u64, u32)>,
        max: usize,
        timeout: Option<std::time::Duration>,
    ) -> io::Result<()> {
        // Not zeroed: the kernel writes the first `n`, and zeroing all of
        // them (3 KB) every turn was 3% of the loop's CPU per request.
        let mut evs = [const { std::mem::MaybeUninit::<libc::epoll_event>::uninit() }; MAX_EVENTS];
        let max = max.clamp(1, MAX_EVENTS) as libc::c_int;
        let fd = self.fd.as_raw_fd();
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs().min(i32::MAX as u64) as libc::time_t,
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `evs` holds at least `max` events; `ts_ptr` is null or
        // points to a timespec that outlives the call; no signal mask.
        let mut n = unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                fd,
                evs.as_mut_ptr().cast::<libc::epoll_event>(),
                max,
                ts_ptr,
                std::ptr::null::<u8>(),
                0,
            )
        } as libc::c_int;
        if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
            let ms = timeout.map_or(-1, |t| t.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32);
            // SAFETY: as above.
            n = unsafe { libc::epoll_wait(fd, evs.as_mut_ptr().cast::<libc::epoll_event>(), max, ms) };
        }
        out.clear();
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(e) };
        }
        out.extend(evs[..n as usize].iter().map(|e| {
            // SAFETY: the kernel wrote the first `n` events (n <= max).
            let e = unsafe { e.assume_init_read() };
            (e.u64, e.events)
        }));
        Ok(())
    }
}

/// Most events one [`Epoll::wait_for`] returns.
pub const MAX_EVENTS: usize = 256;

/// Blocks `signals` for this thread (and threads it starts) and returns a
/// nonblocking signalfd that reports them.
pub fn signalfd(signals: &[libc::c_int]) -> io::Result<OwnedFd> {
    // SAFETY: sigset operations on a local set; sigprocmask/signalfd with
    // valid pointers.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        check(libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()))?;
        let fd = check(libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC))?;
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Reads one pending signal number from a signalfd.
pub fn read_signal(fd: &OwnedFd) -> Option<u32> {
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: reading at most `size` bytes into `info`.
    let n = unsafe { libc::read(fd.as_raw_fd(), (&mut info as *mut libc::signalfd_siginfo).cast(), size) };
    (n as usize == size).then_some(info.ssi_signo)
}

/// Ignores SIGPIPE (writes use MSG_NOSIGNAL too).
pub fn ignore_sigpipe() {
    // SAFETY: installing SIG_IGN is always valid.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// Credentials of a Unix socket's peer, as fixed at connect time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

pub fn peer_cred(fd: RawFd) -> io::Result<PeerCred> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for the call.
    check(unsafe {
        libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_PEERCRED, (&mut cred as *mut libc::ucred).cast(), &mut len)
    })?;
    Ok(PeerCred { pid: cred.pid, uid: cred.uid, gid: cred.gid })
}

/// This machine's physical memory in bytes, if the kernel says.
pub fn physical_memory() -> Option<u64> {
    // SAFETY: sysconf has no preconditions.
    let (pages, size) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    (pages > 0 && size > 0).then(|| (pages as u64).saturating_mul(size as u64))
}

/// A random `u64` from the kernel.
pub fn random_u64() -> io::Result<u64> {
    let mut buf = [0u8; 8];
    // SAFETY: writes at most 8 bytes into `buf`.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n != 8 {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::from_le_bytes(buf))
}

/// A nonblocking listening Unix socket at `path` with `backlog`, created
/// with file mode `mode`. The mode is set by the umask around `bind`, so
/// the file never exists with another mode and no path is looked up
/// again (`fchmod` on a socket descriptor does not change the file on
/// Linux, and a path `chmod` could follow a link planted after `bind`).
pub fn listen_unix(path: &Path, backlog: i32, mode: u32) -> io::Result<UnixListener> {
    // SAFETY: umask cannot fail; the old mask is restored below.
    let old = unsafe { libc::umask(!mode & 0o777) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = bound?;
    // Re-listen to raise std's default backlog.
    // SAFETY: plain syscall on an fd we own.
    check(unsafe { libc::listen(listener.as_raw_fd(), backlog) })?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Accepts one connection, nonblocking and close-on-exec.
pub fn accept(listener: &UnixListener) -> io::Result<UnixStream> {
    // SAFETY: null address pointers are allowed by accept4.
    let fd = check(unsafe {
        libc::accept4(
            listener.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    })?;
    // SAFETY: accept4 returned a new fd we now own.
    Ok(unsafe { UnixStream::from_raw_fd(fd) })
}

/// Sends without SIGPIPE; returns bytes written.
pub fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

/// Bytes a socket sent that its peer has not read yet, as the kernel
/// counts them (for a Unix socket: the buffers' full size, a little more
/// than the data).
pub fn unread_by_peer(fd: RawFd) -> io::Result<u64> {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (TIOCOUTQ's number on Linux) writes one int to `n`.
    check(unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n) })?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A nonblocking eventfd: another thread wakes the main loop by writing
/// to it ([`wake`]); the loop empties it with [`drain_wakes`].
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the returned fd is ours.
    let fd = check(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
    // SAFETY: eventfd returned a new fd we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes an eventfd readable (best effort: a full counter is readable
/// already).
pub fn wake(fd: &OwnedFd) {
    let one = 1u64.to_ne_bytes();
    // SAFETY: writes 8 bytes from `one`.
    let _ = unsafe { libc::write(fd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
}

/// Empties an eventfd (nonblocking).
pub fn drain_wakes(fd: RawFd) {
    let mut buf = [0u8; 8];
    // SAFETY: reads at most 8 bytes into `buf`.
    let _ = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
}

/// Raises the soft open-file limit to the hard limit; returns the new
/// soft limit.
pub fn raise_nofile_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid pointer to a local rlimit.
    unsafe {
        check(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim))?;
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            check(libc::setrlimit(libc::RLIMIT_NOFILE, &lim))?;
        }
    }
    Ok(lim.rlim_cur)
}

/// Puts the calling thread (the main loop) under SCHED_RR at the highest
/// real-time priority, as the classic executive ran. Threads and
/// processes it starts afterwards (metrics, AMF components) begin under
/// the normal policy (SCHED_RESET_ON_FORK): only the main loop is real-time.
pub fn set_realtime_priority() -> io::Result<()> {
    // SAFETY: plain syscalls with a valid sched_param.
    unsafe {
        let max = check(libc::sched_get_priority_max(libc::SCHED_RR))?;
        let param = libc::sched_param { sched_priority: max };
        check(libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param))?;
    }
    Ok(())
}

/// Puts the calling thread under the normal policy (from SCHED_RR, which
/// it may take again: see [`set_realtime_priority`]).
pub fn set_normal_policy() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: plain syscall with a valid sched_param.
    check(unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER | libc::SCHED_RESET_ON_FORK, &param) })?;
    Ok(())
}

/// Locks current and future memory of the process in RAM.
pub fn lock_memory() -> io::Result<()> {
    // SAFETY: plain syscall.
    unsafe { check(libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE)) }?;
    Ok(())
}

/// Device and inode of the file behind stderr (to compare with systemd's
/// `JOURNAL_STREAM`).
pub fn stderr_identity() -> Option<(u64, u64)> {
    // SAFETY: fstat fills the zeroed stat struct for an fd we only read.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(libc::STDERR_FILENO, &mut st) } != 0 {
        return None;
    }
    Some((st.st_dev, st.st_ino))
}
