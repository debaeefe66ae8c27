//! Helpers for tests that run the real `aisexec` binary: temporary run
//! directories and configs, a guard that always kills the child, and a
//! minimal blocking IPC client.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ais_ipc::frame::{read_message, write_message};
use ais_ipc::handshake::{HANDSHAKE_SERVICE, HELLO_ID, Hello, HelloReply, PROTOCOL_VERSION, Role};

pub const AISEXEC: &str = env!("CARGO_BIN_EXE_aisexec");
/// Quiet logging for tests: stderr only, no syslog.
pub const QUIET: &str = "logging {\n to_syslog: no\n to_stderr: yes\n}\n";
/// Multi-node tests say that their executives run as normal, polling
/// processes throughout (not the default `auto`, real-time while other
/// work holds the CPU): three executives and the test's clients share
/// the host's two CPUs (with other builds), and real-time ones would
/// keep the clients off them under load, so that their unread callbacks
/// got their connections dropped. `executive.rs` tests the policies.
pub const POLLING: &str = "aisexec {\n realtime_priority: no\n}\n";

/// A directory removed when the test ends.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("aisexec-it-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn run_dir(&self) -> PathBuf {
        self.0.join("run")
    }
    pub fn socket(&self) -> PathBuf {
        self.run_dir().join(ais_ipc::SOCKET_NAME)
    }
    pub fn pid_file(&self) -> PathBuf {
        self.run_dir().join("aisexec.pid")
    }
    /// Writes `corosync.conf` and returns its path.
    pub fn config(&self, text: &str) -> PathBuf {
        let p = self.0.join("corosync.conf");
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes an authkey readable by its owner only (the executive refuses
/// others).
pub fn write_authkey(path: &Path, key: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, key).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Points an executive's command at `dir`'s run dir, config and authkey.
pub fn exec_env(c: &mut Command, dir: &TempDir) {
    c.env("COROSYNC_RUN_DIR", dir.run_dir())
        .env("COROSYNC_MAIN_CONFIG_FILE", dir.path().join("corosync.conf"))
        .env("COROSYNC_TOTEM_AUTHKEY_FILE", dir.path().join("authkey"))
        .env("COROSYNC_AMF_CONFIG_FILE", dir.path().join("amf.conf"))
        .env_remove("OPENAIS_MAIN_CONFIG_FILE")
        .stdin(Stdio::null());
}

/// The command to start an executive on `dir`'s run dir and config.
pub fn command(dir: &TempDir, args: &[&str]) -> Command {
    let mut c = Command::new(AISEXEC);
    c.args(args);
    exec_env(&mut c, dir);
    c
}

/// A running foreground executive, killed (by pid) when dropped.
pub struct Exec {
    pub child: Child,
    pub stderr_path: PathBuf,
}

impl Exec {
    /// Starts `aisexec -f` and waits until its socket accepts.
    pub fn start(dir: &TempDir) -> Exec {
        Exec::start_with(dir, |_| {})
    }

    /// As [`Exec::start`], after `adjust` changes the command.
    pub fn start_with(dir: &TempDir, adjust: impl FnOnce(&mut Command)) -> Exec {
        let stderr_path = dir.path().join("stderr.log");
        let err = std::fs::File::create(&stderr_path).unwrap();
        let mut cmd = command(dir, &["-f"]);
        cmd.stdout(Stdio::null()).stderr(err);
        adjust(&mut cmd);
        let child = cmd.spawn().unwrap();
        let mut e = Exec { child, stderr_path };
        let deadline = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(dir.socket()).is_err() {
            if let Ok(Some(status)) = e.child.try_wait() {
                panic!("aisexec exited early: {status}; stderr: {}", e.stderr());
            }
            assert!(Instant::now() < deadline, "aisexec did not start; stderr: {}", e.stderr());
            std::thread::sleep(Duration::from_millis(10));
        }
        e
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Waits up to `limit` for `needle` in the log (a line written after
    /// the socket is bound may come after [`Exec::start`] returns).
    pub fn wait_stderr(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !self.stderr().contains(needle) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// Waits for exit up to `limit`; the exit code, or None on timeout.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        wait_child(&mut self.child, limit)
    }

    /// Resident memory of the executive in kB.
    pub fn rss_kb(&self) -> u64 {
        rss_kb(self.child.id())
    }
}

impl Drop for Exec {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn wait_child(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status.code().unwrap_or(-1));
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Opens one channel and does its hello; returns the socket and reply.
/// A write failure is tolerated (a refused peer may be closed already)
/// so the reply the executive left can still be read.
pub fn hello(socket: &Path, role: Role, service: u32, token: u64) -> std::io::Result<(UnixStream, HelloReply)> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let h = Hello { protocol: PROTOCOL_VERSION, role, service, token };
    let _ = write_message(&mut s, HANDSHAKE_SERVICE, HELLO_ID, &h.encode());
    let (header, body) = read_message(&mut s)?;
    assert_eq!(header.service, HANDSHAKE_SERVICE);
    let reply = HelloReply::decode(&body).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    Ok((s, reply))
}

/// Opens a dispatch channel with `token`; a successful pairing is not
/// answered, so nothing is read.
pub fn dispatch_hello(socket: &Path, service: u32, token: u64) -> UnixStream {
    let mut s = UnixStream::connect(socket).unwrap();
    let h = Hello { protocol: PROTOCOL_VERSION, role: Role::Dispatch, service, token };
    write_message(&mut s, HANDSHAKE_SERVICE, HELLO_ID, &h.encode()).unwrap();
    s
}

/// A connected library connection: request and dispatch channels.
pub struct Client {
    pub request: UnixStream,
    pub dispatch: UnixStream,
}

impl Client {
    /// Connects to service `service`; panics if any step is refused.
    pub fn connect(socket: &Path, service: u32) -> Client {
        let (request, r) = hello(socket, Role::Request, service, 0).unwrap();
        assert_eq!(r.error, ais_ipc::error::OK, "request hello refused");
        let dispatch = dispatch_hello(socket, service, r.token);
        Client { request, dispatch }
    }

    /// Sends a CFG STATUS request and decodes the answer.
    pub fn status(&mut self) -> std::io::Result<ais_ipc::cfg::Status> {
        write_message(&mut self.request, ais_ipc::service::CFG, ais_ipc::cfg::STATUS, &[])?;
        let (h, body) = read_message(&mut self.request)?;
        assert_eq!((h.service, h.id), (ais_ipc::service::CFG, ais_ipc::cfg::STATUS));
        Ok(ais_ipc::cfg::Status::decode_response(&body).unwrap().unwrap())
    }

    /// One request to `service`, answered as it is; (error, payload).
    pub fn call_once(&mut self, service: u32, id: u32, body: &[u8]) -> (u32, Vec<u8>) {
        write_message(&mut self.request, service, id, body).unwrap();
        let (h, reply) = read_message(&mut self.request).unwrap();
        assert_eq!(h.id, id);
        let error = u32::from_le_bytes(reply[..4].try_into().unwrap());
        (error, reply[4..].to_vec())
    }

    /// One request to `service`; (error, payload). TRY_AGAIN (a sync in
    /// progress) is retried for up to 20 s.
    pub fn call_retrying(&mut self, service: u32, id: u32, body: &[u8]) -> (u32, Vec<u8>) {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            write_message(&mut self.request, service, id, body).unwrap();
            let (h, reply) = read_message(&mut self.request).unwrap();
            assert_eq!(h.id, id);
            let error = u32::from_le_bytes(reply[..4].try_into().unwrap());
            if error != ais_ipc::error::TRY_AGAIN || Instant::now() > until {
                return (error, reply[4..].to_vec());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// True when `s` reaches end of file (or reset) within the timeout.
pub fn sees_eof(s: &mut UnixStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// The number right after `key` in a log `line` ("window_size 300");
/// panics, naming the line, if there is none.
pub fn number_after(line: &str, key: &str) -> u64 {
    let rest = &line[line.find(key).unwrap_or_else(|| panic!("no {key} in {line}")) + key.len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{line}"))
}

/// Writes raw bytes, ignoring errors (the peer may close first).
pub fn send_raw(s: &mut UnixStream, bytes: &[u8]) {
    let _ = s.write_all(bytes);
}

/// `ais-cfgtool -S` (the tool's own code) against `socket`, as a map.
pub fn stats(socket: &Path) -> BTreeMap<String, u64> {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ais_tools::cfgtool::run(&["-S"], socket, &mut out, &mut err);
    assert_eq!(code, 0, "ais-cfgtool -S: {}", String::from_utf8_lossy(&err));
    let text = String::from_utf8(out).unwrap();
    text.lines()
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap_or_else(|| panic!("not 'key: value': {l:?}"));
            (k.to_string(), v.parse().unwrap_or_else(|_| panic!("not a number: {l:?}")))
        })
        .collect()
}

pub mod cluster;
