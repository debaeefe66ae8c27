//! Process plumbing: the run directory and its lock, the pid file, and
//! detaching as a daemon with a readiness pipe so the starting command
//! exits only once the executive serves (or fails, with the reason).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const LOCK_NAME: &str = "aisexec.lock";
pub const PID_NAME: &str = "aisexec.pid";

/// The run directory, held exclusively while this value lives (an
/// `flock` on the lock file; released by the kernel if we die).
pub struct RunDir {
    pub dir: PathBuf,
    _lock: File,
    pid_file: Option<PathBuf>,
}

impl RunDir {
    /// Creates `dir` (mode 0755) if missing, refuses it if another user
    /// could write it, and takes its lock. The lock file is 0600: `flock`
    /// works on a read-only descriptor, so anyone who could open it could
    /// keep the executive from starting.
    pub fn acquire(dir: &Path) -> Result<RunDir, String> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(|e| format!("cannot create run directory {}: {e}", dir.display()))?;
        crate::files::check_private_dir(dir).map_err(|e| format!("run directory: {e}"))?;
        let lock_path = dir.join(LOCK_NAME);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&lock_path)
            .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
        // A lock file left by an older version may be 0644.
        lock.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot chmod {}: {e}", lock_path.display()))?;
        // SAFETY: flock on an fd we own.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = io::Error::last_os_error();
            return Err(if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                format!(
                    "another aisexec is already running with run directory {} (lock {} is held)",
                    dir.display(),
                    lock_path.display()
                )
            } else {
                format!("cannot lock {}: {e}", lock_path.display())
            });
        }
        // Absolute, so a daemon's chdir("/") does not move it.
        let dir = std::fs::canonicalize(dir).map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
        Ok(RunDir { dir, _lock: lock, pid_file: None })
    }

    /// Writes this process's pid to the pid file.
    pub fn write_pid_file(&mut self) -> io::Result<()> {
        let path = self.dir.join(PID_NAME);
        crate::files::replace(&path, format!("{}\n", std::process::id()).as_bytes(), 0o644, false)?;
        self.pid_file = Some(path);
        Ok(())
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if let Some(p) = &self.pid_file {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The write end of the readiness pipe, held by the daemon.
pub struct Ready {
    pipe: Option<File>,
}

impl Ready {
    /// Foreground: nobody waits.
    pub fn none() -> Ready {
        Ready { pipe: None }
    }

    /// Tells the waiting parent that startup succeeded.
    pub fn ok(&mut self) {
        if let Some(mut p) = self.pipe.take() {
            let _ = p.write_all(b"OK");
        }
    }

    /// Tells the waiting parent why startup failed.
    pub fn fail(&mut self, why: &str) {
        if let Some(mut p) = self.pipe.take() {
            let _ = p.write_all(why.as_bytes());
        }
    }
}

fn pipe() -> io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two fresh fds we now own.
    unsafe { Ok((File::from(OwnedFd::from_raw_fd(fds[0])), File::from(OwnedFd::from_raw_fd(fds[1])))) }
}

fn fork() -> io::Result<libc::pid_t> {
    // SAFETY: called while single-threaded (before the main loop starts).
    let pid = unsafe { libc::fork() };
    if pid < 0 { Err(io::Error::last_os_error()) } else { Ok(pid) }
}

/// Detaches: double fork and `setsid`, stdio to /dev/null, cwd `/`. The
/// original process waits for the daemon's readiness message and exits
/// with 0 (ready) or 1 (the daemon's error printed on stderr); it never
/// returns. Must be called while single-threaded.
pub fn daemonize() -> io::Result<Ready> {
    let (mut rd, wr) = pipe()?;
    if fork()? > 0 {
        drop(wr);
        let mut msg = Vec::new();
        let _ = rd.read_to_end(&mut msg);
        // Reap the intermediate child.
        // SAFETY: waiting on any child with a valid status pointer.
        unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) };
        if msg == b"OK" {
            std::process::exit(0);
        }
        let text = String::from_utf8_lossy(&msg);
        let why = if text.is_empty() { "the daemon exited during startup" } else { &text };
        eprintln!("aisexec: {why}");
        std::process::exit(1);
    }
    drop(rd);
    // SAFETY: plain syscalls in the child.
    unsafe {
        if libc::setsid() < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    if fork()? > 0 {
        // SAFETY: leave the intermediate child without running destructors.
        unsafe { libc::_exit(0) };
    }
    std::env::set_current_dir("/")?;
    let null = OpenOptions::new().read(true).write(true).open("/dev/null")?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors.
        unsafe { libc::dup2(null.as_raw_fd(), fd) };
    }
    Ok(Ready { pipe: Some(wr) })
}
