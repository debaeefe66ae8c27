//! How the executive (running as root) creates and trusts files: never
//! through a symbolic link, temporary files always fresh, modes explicit,
//! and only in directories no other user can write.
//!
//! Owns the checks; callers decide which file goes where.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// The umask set at startup: whatever the caller's umask, nothing the
/// executive creates is group- or world-writable.
pub const UMASK: libc::mode_t = 0o022;

/// Sets [`UMASK`] (a process-wide setting; called once at start).
pub fn set_umask() {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(UMASK) };
}

/// Refuses a set-user-id or set-group-id start: the environment names
/// the files the executive writes, so a setuid copy run by an ordinary
/// user would write root's files where that user says.
pub fn check_not_setid() -> Result<(), String> {
    // SAFETY: these getters cannot fail.
    let (uid, euid, gid, egid) = unsafe { (libc::getuid(), libc::geteuid(), libc::getgid(), libc::getegid()) };
    if uid != euid || gid != egid {
        return Err(format!(
            "refusing to run set-user-id or set-group-id (uid {uid} euid {euid} gid {gid} egid {egid}); start aisexec as the user it runs as"
        ));
    }
    Ok(())
}

/// Opens `path` for appending, created with `mode` if missing; a symbolic
/// link at `path` is an error (`ELOOP`), not followed.
pub fn open_append(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(mode).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)
}

/// Replaces `path` with `contents` (mode `mode`) so a reader sees the old
/// or the new file, never half of one: written to `<path>.tmp` created
/// fresh (`O_EXCL|O_NOFOLLOW`, so a planted file or link there is
/// removed, never written through), then renamed. With `durable`, the
/// data and then the directory entry are synced.
pub fn replace(path: &Path, contents: &[u8], mode: u32, durable: bool) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = Path::new(&tmp);
    match std::fs::remove_file(tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(tmp)?;
    f.write_all(contents)?;
    if durable {
        f.sync_all()?;
    }
    drop(f);
    std::fs::rename(tmp, path)?;
    if durable {
        // The rename itself survives a crash only once the directory is synced.
        File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()?;
    }
    Ok(())
}

/// Refuses a directory another user could change: it must be a directory
/// owned by our effective user and writable by no group or other.
pub fn check_private_dir(dir: &Path) -> Result<(), String> {
    let m = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    if !m.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    if m.uid() != euid {
        return Err(format!(
            "{} is owned by uid {}, not by this executive's user (uid {euid})",
            dir.display(),
            m.uid()
        ));
    }
    if m.mode() & 0o022 != 0 {
        return Err(format!(
            "{} is writable by group or others (mode {:o}); refusing to use it",
            dir.display(),
            m.mode() & 0o7777
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("ais-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        d
    }

    #[test]
    fn replace_never_writes_through_a_planted_link() {
        let d = temp_dir("replace");
        let victim = d.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let target = d.join("aisexec.pid");
        std::os::unix::fs::symlink(&victim, d.join("aisexec.pid.tmp")).unwrap();
        replace(&target, b"42\n", 0o644, true).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "42\n");
        assert!(!std::fs::symlink_metadata(&target).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o777, 0o644);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn open_append_refuses_a_link() {
        let d = temp_dir("append");
        let victim = d.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let log = d.join("log");
        std::os::unix::fs::symlink(&victim, &log).unwrap();
        let e = open_append(&log, 0o640).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        let d = temp_dir("private");
        check_private_dir(&d).unwrap();
        for mode in [0o775, 0o757, 0o1777] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = check_private_dir(&d).unwrap_err();
            assert!(e.contains("writable by group or others"), "{mode:o}: {e}");
        }
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            std::os::unix::fs::chown(&d, Some(65534), None).unwrap();
            assert!(check_private_dir(&d).unwrap_err().contains("owned by uid 65534"));
        }
        assert!(check_private_dir(&d.join("missing")).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
