//! Issue 25 item 2: the library trusts only an executive running as root,
//! as the account the configuration names (`aisexec { user }`) or as its
//! own user, and a setuid program ignores `COROSYNC_RUN_DIR`.
//! The helpers below are this test binary run again, as another user or
//! setuid, with a variable saying what to do.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ais_capi::error::AisError;
use ais_capi::runtime::Connection;
use ais_capi::runtime::connection::socket_path;

const LISTEN_ENV: &str = "AIS_TRUST_TEST_LISTEN";
const PRINT_ENV: &str = "AIS_TRUST_TEST_PRINT_PATH";
const CONNECT_ENV: &str = "AIS_TRUST_TEST_CONNECT";

/// Helper: connects to the socket in `CONNECT_ENV` (with the configuration
/// its environment names) and prints what the library answered.
#[test]
fn connect_helper() {
    let Some(path) = std::env::var_os(CONNECT_ENV) else { return };
    let got = Connection::open_with_timeout(Path::new(&path), ais_ipc::service::CLM, Duration::from_millis(500));
    println!("\nRESULT={:?}", got.err());
}

/// Helper: listens at the path in `LISTEN_ENV` until stdin closes.
#[test]
fn listen_helper() {
    let Some(path) = std::env::var_os(LISTEN_ENV) else { return };
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let _ = std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1]);
}

/// Helper: prints the socket path the library would use.
#[test]
fn print_path_helper() {
    if std::env::var_os(PRINT_ENV).is_none() {
        return;
    }
    println!("\nSOCKET={}", socket_path().display());
}

/// Spawns `c`, again while the kernel says "text file busy": a copy of
/// this binary just written may still be open for writing in a child
/// another test thread is forking (the descriptor closes at its exec).
fn spawn_retrying(c: &mut std::process::Command) -> std::process::Child {
    for _ in 0..100 {
        match c.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => return other.unwrap(),
        }
    }
    c.spawn().unwrap()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A directory others can enter, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("ais-trust-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        Dir(d)
    }

    /// A copy of this test binary in the directory, with `mode`.
    fn copy_of_self(&self, name: &str, mode: u32) -> PathBuf {
        let exe = self.0.join(name);
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(mode)).unwrap();
        exe
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn helper(exe: &Path, name: &str) -> Command {
    let mut c = Command::new(exe);
    c.args(["--exact", name, "--nocapture", "--test-threads=1"]).uid(65534).gid(65534);
    c
}

#[test]
fn an_executive_of_another_user_is_not_trusted() {
    if !is_root() {
        println!("not root: cannot listen as another user; not tested");
        return;
    }
    let dir = Dir::new("peer");
    let exe = dir.copy_of_self("helper", 0o755);
    let socket = dir.0.join("aisexec.sock");
    let mut child = spawn_retrying(
        helper(&exe, "listen_helper").env(LISTEN_ENV, &socket).stdin(Stdio::piped()).stdout(Stdio::null()),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    // Until it connects: the file appears at bind, a moment before listen,
    // and a connect in between is refused (TRY_AGAIN, not the answer tested).
    while std::os::unix::net::UnixStream::connect(&socket).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let got = Connection::open_with_timeout(&socket, ais_ipc::service::CLM, Duration::from_secs(5)).err();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(got, Some(AisError::ACCESS));
}

fn printed_path(exe: &Path, run_dir: &Path) -> String {
    let mut c = helper(exe, "print_path_helper");
    c.env(PRINT_ENV, "1").env(ais_ipc::RUN_DIR_ENV, run_dir).stdin(Stdio::null()).stdout(Stdio::piped());
    let out = spawn_retrying(&mut c).wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace().find_map(|w| w.strip_prefix("SOCKET=")).map(str::to_string).unwrap_or(text)
}

#[test]
fn a_setuid_program_ignores_the_run_dir_variable() {
    if !is_root() {
        println!("not root: cannot make a setuid copy; not tested");
        return;
    }
    let dir = Dir::new("setuid");
    let elsewhere = dir.0.join("elsewhere");
    let plain = dir.copy_of_self("plain", 0o755);
    assert_eq!(printed_path(&plain, &elsewhere), elsewhere.join(ais_ipc::SOCKET_NAME).display().to_string());
    let default = Path::new(ais_ipc::DEFAULT_RUN_DIR).join(ais_ipc::SOCKET_NAME).display().to_string();
    for (name, mode) in [("setuid", 0o4755), ("setgid", 0o2755)] {
        let exe = dir.copy_of_self(name, mode);
        assert_eq!(printed_path(&exe, &elsewhere), default, "{name}");
    }
}

/// The executive (here: a socket another user listens on, uid 65534) is
/// trusted when the configuration file says the executive runs as that
/// account, and refused when it names another. The library reads the file
/// the executive would (`COROSYNC_MAIN_CONFIG_FILE` here).
#[test]
fn the_configured_executive_user_is_trusted_and_no_other() {
    if !is_root() {
        println!("not root: cannot listen as another user; not tested");
        return;
    }
    if ais_capi::runtime::executive_user::uid_of("nobody") != Some(65534) {
        println!("no 'nobody' account with uid 65534; not tested");
        return;
    }
    let dir = Dir::new("configured");
    let exe = dir.copy_of_self("helper", 0o755);
    let socket = dir.0.join("aisexec.sock");
    let mut child = spawn_retrying(
        helper(&exe, "listen_helper").env(LISTEN_ENV, &socket).stdin(Stdio::piped()).stdout(Stdio::null()),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    // Until it connects: the file appears at bind, a moment before listen,
    // and a connect in between is refused (TRY_AGAIN, not the answer tested).
    while std::os::unix::net::UnixStream::connect(&socket).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let connect_with = |user: &str| -> String {
        let conf = dir.0.join(format!("{user}.conf"));
        std::fs::write(&conf, format!("totem {{\n version: 2\n}}\naisexec {{\n user: {user}\n group: root\n}}\n"))
            .unwrap();
        let mut c = Command::new(std::env::current_exe().unwrap());
        c.args(["--exact", "connect_helper", "--nocapture", "--test-threads=1"])
            .env(CONNECT_ENV, &socket)
            .env("COROSYNC_MAIN_CONFIG_FILE", &conf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let out = spawn_retrying(&mut c).wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace().find_map(|w| w.strip_prefix("RESULT=")).map(str::to_string).unwrap_or(text)
    };
    // Trusted: the handshake goes on (the fake never answers: TRY_AGAIN).
    let as_configured = connect_with("nobody");
    // Another account configured: refused before anything is sent.
    let as_other = connect_with("root");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(as_configured, format!("{:?}", Some(AisError::TRY_AGAIN)));
    assert_eq!(as_other, format!("{:?}", Some(AisError::ACCESS)));
}
