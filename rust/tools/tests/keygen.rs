//! ais-keygen, run as a program. Every test writes under its own temporary
//! directory with `-k`; none ever writes the default /etc/ais/authkey.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const KEYGEN: &str = env!("CARGO_BIN_EXE_ais-keygen");

/// A directory removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("ais-keygen-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn keygen(args: &[&str]) -> Output {
    Command::new(KEYGEN).args(args).output().unwrap()
}

fn keygen_to(path: &Path) -> Vec<u8> {
    let out = keygen(&["-k", path.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Gathering 1024 bits for key from /dev/urandom."), "{stdout}");
    assert!(stdout.contains(&format!("Writing authkey to {}.", path.display())), "{stdout}");
    fs::read(path).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn is_root() -> bool {
    fs::metadata("/proc/self").unwrap().uid() == 0
}

#[test]
fn writes_128_bytes_mode_0400() {
    let dir = TempDir::new("basic");
    let key = dir.0.join("authkey");
    assert_eq!(keygen_to(&key).len(), 128);
    assert_eq!(mode(&key), 0o400);
}

#[test]
fn two_runs_give_different_keys_and_replace_the_file() {
    let dir = TempDir::new("twice");
    let key = dir.0.join("authkey");
    let first = keygen_to(&key);
    let second = keygen_to(&key);
    assert_ne!(first, second);
    assert_eq!(mode(&key), 0o400);
    // Only the key is left: no temporary file behind.
    let names: Vec<_> = fs::read_dir(&dir.0).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["authkey"]);
}

#[test]
fn creates_the_parent_directory() {
    let dir = TempDir::new("parent");
    let key = dir.0.join("etc/ais/authkey");
    assert_eq!(keygen_to(&key).len(), 128);
    // 0755 less the umask: never writable by others.
    let m = mode(&dir.0.join("etc/ais"));
    assert_eq!((m & 0o700, m & 0o022), (0o700, 0), "{m:o}");
}

#[test]
fn help_and_bad_arguments() {
    let out = keygen(&["-h"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("usage: ais-keygen"));
    for bad in [&["-x"][..], &["-k"][..]] {
        let out = keygen(bad);
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage: ais-keygen"));
    }
}

/// Runs ais-keygen as `nobody` when the tests run as root, as themselves
/// otherwise.
fn keygen_unprivileged(args: &[&str]) -> Output {
    let mut cmd = Command::new(KEYGEN);
    cmd.args(args);
    if is_root() {
        cmd.uid(65534).gid(65534);
    }
    cmd.output().unwrap()
}

#[test]
fn refuses_without_root_unless_k_is_given() {
    let out = keygen_unprivileged(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must be run as root"), "{err}");
    assert!(out.stdout.is_empty(), "nothing gathered or written");

    let dir = TempDir::new("nonroot");
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o777)).unwrap();
    let key = dir.0.join("authkey");
    let out = keygen_unprivileged(&["-k", key.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fs::read(&key).unwrap().len(), 128);
    assert_eq!(mode(&key), 0o400);
}
