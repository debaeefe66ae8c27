//! The executive as a process: startup, credentials, robustness, load,
//! shutdown. Every test uses its own run directory and config and kills
//! what it starts.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ais_ipc::handshake::{HANDSHAKE_SERVICE, HELLO_ID, Role};
use ais_ipc::{error, service};
use common::*;

/// Env var that turns `connect_helper` into a real client (run as
/// another user by `credentials_are_checked_at_accept`).
const HELPER_ENV: &str = "AISEXEC_TEST_HELPER_SOCKET";

/// Not a test on its own: when re-executed with `HELPER_ENV` set, connects
/// and prints the error code the executive answered.
#[test]
fn connect_helper() {
    let Some(socket) = std::env::var_os(HELPER_ENV) else { return };
    match hello(Path::new(&socket), Role::Request, service::CFG, 0) {
        Ok((_, reply)) => println!("\nHELLO-ERROR={}", reply.error),
        Err(e) => println!("\nHELLO-IO={}", e.kind()),
    }
}

/// Runs `connect_helper` as `uid`/`gid`. The test binary is copied into
/// `dir` first, since the build directory may not be reachable by them.
fn connect_as(dir: &TempDir, uid: u32, gid: u32) -> String {
    let socket = dir.socket();
    let exe = dir.path().join("helper-client");
    if !exe.exists() {
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let out = std::process::Command::new(&exe)
        .args(["--exact", "connect_helper", "--nocapture", "--test-threads=1"])
        .env(HELPER_ENV, &socket)
        .uid(uid)
        .gid(gid)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    match text.split_whitespace().find(|w| w.starts_with("HELLO-")) {
        Some(w) => w.to_string(),
        None => format!("no result: {:?} {text} {}", out.status, String::from_utf8_lossy(&out.stderr)),
    }
}

#[test]
fn credentials_are_checked_at_accept() {
    let dir = TempDir::new("creds");
    // The test directory must be reachable by the unprivileged users.
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    dir.config(&format!("{QUIET}aisexec {{\n user: root\n group: root\n}}\nuidgid {{\n uid: 65533\n}}\n"));
    let exec = Exec::start(&dir);
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        println!("not root: cannot run a client as another user; credential refusal not tested");
        return;
    }
    assert_eq!(connect_as(&dir, 65534, 65534), format!("HELLO-ERROR={}", error::ACCESS));
    assert_eq!(connect_as(&dir, 65533, 65534), format!("HELLO-ERROR={}", error::OK));
    // Root is always allowed and the executive still serves.
    Client::connect(&dir.socket(), service::CFG).status().unwrap();
    let log = exec.stderr();
    assert!(log.contains("refused connection from pid") && log.contains("uid 65534"), "{log}");
}

#[test]
fn ten_thousand_sequential_connects_without_refusal() {
    let dir = TempDir::new("10k");
    dir.config(QUIET);
    let _exec = Exec::start(&dir);
    let socket = dir.socket();
    let start = Instant::now();
    let mut refused = 0;
    for _ in 0..10_000 {
        let (req, r) = hello(&socket, Role::Request, service::CFG, 0).unwrap();
        if r.error != error::OK {
            refused += 1;
            continue;
        }
        let disp = dispatch_hello(&socket, service::CFG, r.token);
        // The answer to a request proves the pair was accepted.
        let mut c = Client { request: req, dispatch: disp };
        if c.status().is_err() {
            refused += 1;
        }
    }
    let took = start.elapsed();
    println!("10000 sequential connects (both channels + one request each): {took:?}, {refused} refused");
    assert_eq!(refused, 0);
}

fn frame(size: u32, service: u32, id: u32) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [size, service, id] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    v
}

#[test]
fn bad_input_closes_only_that_connection() {
    let dir = TempDir::new("malformed");
    dir.config(QUIET);
    let exec = Exec::start(&dir);
    let socket = dir.socket();
    let mut good = Client::connect(&socket, service::CFG);
    good.status().unwrap();

    // Oversized frame on an opened connection.
    let mut c = Client::connect(&socket, service::CFG);
    send_raw(&mut c.request, &frame(ais_ipc::MAX_MESSAGE_SIZE as u32 + 1, service::CFG, 1));
    assert!(sees_eof(&mut c.request) && sees_eof(&mut c.dispatch));
    // Size smaller than a header.
    let mut c = Client::connect(&socket, service::CFG);
    send_raw(&mut c.request, &frame(3, service::CFG, 1));
    assert!(sees_eof(&mut c.request));
    // Well framed but malformed request body; unknown request id.
    let mut c = Client::connect(&socket, service::CFG);
    let mut f = frame(13, service::CFG, ais_ipc::cfg::STATUS);
    f.push(0);
    send_raw(&mut c.request, &f);
    assert!(sees_eof(&mut c.request));
    let mut c = Client::connect(&socket, service::CFG);
    send_raw(&mut c.request, &frame(12, service::CFG, 999));
    assert!(sees_eof(&mut c.request));
    // Data on the dispatch channel.
    let mut c = Client::connect(&socket, service::CFG);
    send_raw(&mut c.dispatch, &frame(12, service::CFG, 1));
    assert!(sees_eof(&mut c.request));
    // Garbage instead of a hello.
    let mut s = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    send_raw(&mut s, b"GET / HTTP/1.0\r\n\r\n");
    assert!(sees_eof(&mut s));
    // A hello with a bad role field.
    let mut s = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    let mut f = frame(36, HANDSHAKE_SERVICE, HELLO_ID);
    f.extend_from_slice(&[1, 0, 0, 0, 9, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    send_raw(&mut s, &f);
    assert!(sees_eof(&mut s));

    // The well-behaved client kept working throughout.
    assert_eq!(good.status().unwrap().local_node_id, 1);
    let log = exec.stderr();
    assert!(log.contains("bad frame header"), "{log}");
    assert!(log.contains("unknown request id 999"), "{log}");
}

#[test]
fn random_and_mutated_input_never_hurts_the_executive() {
    let dir = TempDir::new("fuzz");
    dir.config(QUIET);
    let mut exec = Exec::start(&dir);
    let socket = dir.socket();
    let mut good = Client::connect(&socket, service::CFG);
    let (mut rng, _seed) = ais_testrng::seeded(0x5eed_1234);
    let valid_hello = {
        let h = ais_ipc::handshake::Hello { protocol: 1, role: Role::Request, service: service::CFG, token: 0 };
        ais_ipc::frame::encode(HANDSHAKE_SERVICE, HELLO_ID, &h.encode())
    };
    let status = ais_ipc::frame::encode(service::CFG, ais_ipc::cfg::STATUS, &[]);
    for round in 0..ais_testrng::iters(300) {
        let mut bytes: Vec<u8> = match round % 3 {
            // Pure noise.
            0 => {
                let n = rng.index(200);
                rng.bytes(n)
            }
            // A hello with some bytes flipped.
            1 => {
                let mut v = valid_hello.clone();
                for _ in 0..1 + rng.below(3) {
                    let i = rng.index(v.len());
                    v[i] ^= 1 << rng.below(8);
                }
                v
            }
            // A valid hello, then a mutated request.
            _ => {
                let mut v = status.clone();
                let i = rng.index(v.len());
                v[i] = rng.byte();
                let mut all = valid_hello.clone();
                all.extend_from_slice(&v);
                all
            }
        };
        bytes.truncate(4096);
        let mut s = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        send_raw(&mut s, &bytes);
    }
    assert_eq!(good.status().unwrap().local_node_id, 1);
    assert!(exec.child.try_wait().unwrap().is_none(), "executive died");
    exec.signal(libc::SIGTERM);
    assert_eq!(exec.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn help_version_and_bad_options() {
    let dir = TempDir::new("cli");
    let out = command(&dir, &["-h"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("usage: aisexec [-f] [-t] [-v] [-h]"));
    let out = command(&dir, &["-v"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("aisexec "));
    let out = command(&dir, &["-q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option '-q'"));
}

#[test]
fn handshake_errors_have_their_codes() {
    let dir = TempDir::new("hello");
    dir.config(QUIET);
    let _exec = Exec::start(&dir);
    let socket = dir.socket();
    let (_, r) = hello(&socket, Role::Request, service::COUNT, 0).unwrap();
    assert_eq!(r.error, error::NOT_EXIST, "service id past the table");
    let (_, r) = hello(&socket, Role::Request, 4242, 0).unwrap();
    assert_eq!(r.error, error::NOT_EXIST, "unknown service");
    let (_, r) = hello(&socket, Role::Dispatch, service::CFG, 12345).unwrap();
    assert_eq!(r.error, error::BAD_HANDLE, "unknown token");
    // Version mismatch.
    let mut s = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    let h = ais_ipc::handshake::Hello { protocol: 99, role: Role::Request, service: service::CFG, token: 0 };
    ais_ipc::frame::write_message(&mut s, HANDSHAKE_SERVICE, HELLO_ID, &h.encode()).unwrap();
    let (_, body) = ais_ipc::frame::read_message(&mut s).unwrap();
    assert_eq!(ais_ipc::handshake::HelloReply::decode(&body).unwrap().error, error::VERSION);
    // A token pairs once only.
    let (req, r) = hello(&socket, Role::Request, service::CFG, 0).unwrap();
    let d1 = dispatch_hello(&socket, service::CFG, r.token);
    let mut c = Client { request: req, dispatch: d1 };
    c.status().unwrap();
    let (_, d) = hello(&socket, Role::Dispatch, service::CFG, r.token).unwrap();
    assert_eq!(d.error, error::BAD_HANDLE);
    // A dispatch hello for another service does not pair either.
    let (_req2, r2) = hello(&socket, Role::Request, service::CFG, 0).unwrap();
    let (_, d) = hello(&socket, Role::Dispatch, 4242, r2.token).unwrap();
    assert_eq!(d.error, error::NOT_EXIST);
}

#[test]
fn request_sent_before_the_dispatch_channel_waits_for_it() {
    let dir = TempDir::new("early");
    dir.config(QUIET);
    let _exec = Exec::start(&dir);
    let socket = dir.socket();
    let (mut req, r) = hello(&socket, Role::Request, service::CFG, 0).unwrap();
    ais_ipc::frame::write_message(&mut req, service::CFG, ais_ipc::cfg::STATUS, &[]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let _disp = dispatch_hello(&socket, service::CFG, r.token);
    let (h, body) = ais_ipc::frame::read_message(&mut req).unwrap();
    assert_eq!(h.id, ais_ipc::cfg::STATUS);
    assert!(ais_ipc::cfg::Status::decode_response(&body).unwrap().is_ok());
}

#[test]
fn five_hundred_clients_cost_little_memory() {
    let dir = TempDir::new("500");
    dir.config(QUIET);
    let exec = Exec::start(&dir);
    let before = exec.rss_kb();
    let mut clients: Vec<Client> = (0..500).map(|_| Client::connect(&dir.socket(), service::CFG)).collect();
    for c in clients.iter_mut() {
        c.status().unwrap();
    }
    let rss = exec.rss_kb();
    println!("executive VmRSS: {before} kB idle, {rss} kB with 500 clients connected");
    assert!(rss < 100 * 1024 / 4, "RSS {rss} kB is not well under 100 MB");
    // Clients that vanish leave nothing behind: all 500 go, one more works.
    drop(clients);
    let mut c = Client::connect(&dir.socket(), service::CFG);
    c.status().unwrap();
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let dir = TempDir::new("term");
    dir.config(QUIET);
    let mut exec = Exec::start(&dir);
    assert!(dir.pid_file().exists());
    assert_eq!(std::fs::read_to_string(dir.pid_file()).unwrap().trim(), exec.pid().to_string());
    let mut c = Client::connect(&dir.socket(), service::CFG);
    exec.signal(libc::SIGTERM);
    assert!(sees_eof(&mut c.request), "request channel not closed");
    assert!(sees_eof(&mut c.dispatch), "dispatch channel not closed");
    assert_eq!(exec.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(!dir.socket().exists(), "socket left behind");
    assert!(!dir.pid_file().exists(), "pid file left behind");
    // The lock is released: a new executive starts on the same run dir.
    let mut again = Exec::start(&dir);
    again.signal(libc::SIGINT);
    assert_eq!(again.wait_exit(Duration::from_secs(10)), Some(0));
}

/// Waits (5 s at most) until the file at `path` contains `text`.
fn wait_for_text(path: &Path, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = std::fs::read_to_string(path).unwrap_or_default();
        if got.contains(text) {
            return got;
        }
        assert!(Instant::now() < deadline, "no '{text}' in {} within 5 s: {got}", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sighup_reopens_the_log_file_and_keeps_running() {
    // Before: SIGHUP's default action killed the executive (exit 129),
    // leaving its socket and pid file behind.
    let dir = TempDir::new("sighup");
    let log = dir.path().join("aisexec.log");
    let rotated = dir.path().join("aisexec.log.1");
    dir.config(&format!(
        "logging {{\n to_syslog: no\n to_stderr: no\n to_logfile: yes\n logfile: {}\n}}\n",
        log.display()
    ));
    let mut exec = Exec::start(&dir);
    wait_for_text(&log, "ready: listening on");
    // What logrotate does: rename, then SIGHUP.
    std::fs::rename(&log, &rotated).unwrap();
    exec.signal(libc::SIGHUP);
    let fresh = wait_for_text(&log, &format!("SIGHUP: log file {} reopened", log.display()));
    assert!(!fresh.contains("starting"), "the new file starts at the reopen: {fresh}");
    assert_eq!(exec.child.try_wait().unwrap(), None, "SIGHUP ended the executive");
    // It still serves, and its lines go to the new file only.
    let mut c = Client::connect(&dir.socket(), service::CFG);
    c.status().unwrap();
    drop(c);
    exec.signal(libc::SIGHUP);
    exec.signal(libc::SIGTERM);
    assert_eq!(exec.wait_exit(Duration::from_secs(10)), Some(0));
    let fresh = std::fs::read_to_string(&log).unwrap();
    assert!(fresh.contains("[MAIN  ] stopped"), "{fresh}");
    assert_eq!(fresh.matches("reopened").count(), 2, "{fresh}");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("ready: listening on") && !old.contains("reopened") && !old.contains("stopped"), "{old}");
    assert!(!dir.socket().exists(), "socket left behind");
    assert!(!dir.pid_file().exists(), "pid file left behind");
    assert!(exec.stderr().is_empty(), "{}", exec.stderr());
}

/// A documentation network that no local interface address is in.
fn absent_network() -> std::net::Ipv4Addr {
    let ifs = ais_net::local_interfaces().unwrap();
    ["192.0.2.0", "198.51.100.0", "203.0.113.0"]
        .iter()
        .map(|n| n.parse::<std::net::Ipv4Addr>().unwrap())
        .find(|net| ais_net::config::resolve_bind((*net).into(), &ifs).is_err())
        .expect("every documentation network is local here")
}

#[test]
fn check_option_reports_a_usable_configuration_and_starts_nothing() {
    let dir = TempDir::new("check");
    // Runs beside a live executive on the same run directory: -t takes no
    // lock and binds nothing.
    dir.config(QUIET);
    let _live = Exec::start(&dir);
    let conf = dir.config(&format!(
        "compatibility: whitetank\ntotem {{\n version: 2\n nodeid: 3\n threads: 2\n secauth: off\n transport: udpu\n interface {{\n  \
         ringnumber: 0\n  bindnetaddr: 127.0.0.1\n  mcastport: 16715\n  member {{\n   memberaddr: 127.0.0.1\n  }}\n }}\n}}\n{QUIET}"
    ));
    let out = command(&dir, &["-t"]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout,
        format!(
            "configuration read from {c} (named by COROSYNC_MAIN_CONFIG_FILE)\n\
             {c}:5: threads: ignored: packets are sealed and sent by the main loop, without threads\n\
             ring 0: node id 3 on 127.0.0.1 (lo) port 16715\nconfiguration OK\n",
            c = conf.display()
        )
    );
    // Unusable: the error with file, line and key, exit 1. The network is
    // one of the documentation ones that no interface of this host is on
    // (a CI host may well sit on 192.0.2.0/24).
    let absent = absent_network();
    dir.config(&format!(
        "totem {{\n interface {{\n  ringnumber: 0\n  bindnetaddr: {absent}\n  mcastaddr: 239.1.2.3\n }}\n secauth: off\n}}\n"
    ));
    let out = command(&dir, &["-t"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "aisexec: {}:2: bindnetaddr: no local interface address matches bindnetaddr {absent}\n",
            conf.display()
        )
    );
    dir.config("logging {\n to_logfile: yes\n logfile: /nonexistent-dir/ais.log\n}\n");
    let out = command(&dir, &["-t"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("logfile: directory /nonexistent-dir does not exist"), "{err}");
    dir.config("totem {\n tokn: 1000\n}\n");
    let out = command(&dir, &["-t"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("{}:2: tokn: unknown key in totem", conf.display()))
    );
    // The live one was not disturbed.
    Client::connect(&dir.socket(), service::CFG).status().unwrap();
}

/// Kills a daemon by pid on drop (it is not our child).
struct PidGuard(i32);

impl Drop for PidGuard {
    fn drop(&mut self) {
        // SAFETY: plain kill by pid.
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }
}

fn alive(pid: i32) -> bool {
    // A zombie still exists for kill(0); check /proc state instead.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        .unwrap_or(false)
}

#[test]
fn daemon_mode_detaches_and_writes_its_pid() {
    let dir = TempDir::new("daemon");
    dir.config(QUIET);
    let mut parent = command(&dir, &[]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let code = wait_child(&mut parent, Duration::from_secs(10));
    assert_eq!(code, Some(0), "starting command did not exit 0");
    let pid: i32 = std::fs::read_to_string(dir.pid_file()).unwrap().trim().parse().unwrap();
    let _guard = PidGuard(pid);
    assert_ne!(pid as u32, parent.id());
    assert!(alive(pid));
    // It serves.
    let mut c = Client::connect(&dir.socket(), service::CFG);
    c.status().unwrap();
    // Detached: its own session.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
    // SAFETY: getsid(0) is always valid.
    let our_session = unsafe { libc::getsid(0) };
    assert_ne!(fields[3], our_session.to_string(), "daemon still in the starter's session");
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(Instant::now() < deadline, "daemon did not stop");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!dir.socket().exists() && !dir.pid_file().exists());
}

#[test]
fn second_executive_on_one_run_dir_is_refused() {
    let dir = TempDir::new("second");
    dir.config(QUIET);
    let first = Exec::start(&dir);
    for args in [&["-f"][..], &[][..]] {
        let mut second = command(&dir, args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let code = wait_child(&mut second, Duration::from_secs(10));
        let mut err = String::new();
        std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("another aisexec is already running with run directory"), "{err}");
    }
    // The first one is untouched.
    assert!(dir.socket().exists());
    assert_eq!(std::fs::read_to_string(dir.pid_file()).unwrap().trim(), first.pid().to_string());
    Client::connect(&dir.socket(), service::CFG).status().unwrap();
}

#[test]
fn config_error_stops_startup_with_file_line_key() {
    let dir = TempDir::new("cfgerr");
    let conf = dir.config("totem {\n tokn: 1000\n}\n");
    for args in [&["-f"][..], &[][..]] {
        let out = command(&dir, args).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("{}:2: tokn: unknown key in totem", conf.display())), "{err}");
        assert!(!dir.socket().exists());
    }
}

#[test]
fn config_file_and_authkey_paths_come_from_the_environment() {
    let dir = TempDir::new("envpaths");
    // OPENAIS_MAIN_CONFIG_FILE is honoured when the COROSYNC_ one is unset.
    let other = dir.path().join("openais.conf");
    std::fs::write(&other, "amf {\n mode: maybe\n}\n").unwrap();
    let out = command(&dir, &["-f"])
        .env_remove("COROSYNC_MAIN_CONFIG_FILE")
        .env("OPENAIS_MAIN_CONFIG_FILE", &other)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:2: mode: expected one of enabled|disabled, got 'maybe'", other.display())),
        "{err}"
    );
    // secauth on: the authkey named by COROSYNC_TOTEM_AUTHKEY_FILE must exist.
    dir.config(&format!("{QUIET}totem {{\n secauth: on\n}}\n"));
    let out = command(&dir, &["-f"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let key = dir.path().join("authkey");
    assert!(err.contains(&format!("{}: authkey: cannot read:", key.display())), "{err}");
    // With a sane key (its owner's only) it starts.
    write_authkey(&key, &[0x5au8; 128]);
    let mut exec = Exec::start(&dir);
    exec.signal(libc::SIGTERM);
    assert_eq!(exec.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn no_config_file_runs_a_single_node_on_loopback() {
    if Path::new("/etc/ais/corosync.conf").exists() || Path::new("/etc/ais/openais.conf").exists() {
        return; // the machine has a real config: the default path is taken
    }
    let dir = TempDir::new("noconf");
    // No variable names a config file, and the default one is absent.
    let mut exec = Exec::start_with(&dir, |c| {
        c.env_remove("COROSYNC_MAIN_CONFIG_FILE");
    });
    let s = Client::connect(&dir.socket(), service::CFG).status().unwrap();
    assert_eq!((s.local_node_id, s.members.len()), (1, 1));
    assert!(
        exec.stderr().contains(
            "no configuration file (/etc/ais/corosync.conf, /etc/ais/openais.conf do not exist): running a single-node cluster on loopback"
        ),
        "{}",
        exec.stderr()
    );
    exec.signal(libc::SIGTERM);
    assert_eq!(exec.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn under_systemd_with_syslog_the_journal_gets_no_second_copy_on_stderr() {
    use std::os::unix::fs::MetadataExt;
    let dir = TempDir::new("journal");
    dir.config("logging {\n to_syslog: yes\n to_stderr: yes\n}\n");
    // systemd names the journal stream behind stderr in JOURNAL_STREAM.
    let journal = |c: &mut std::process::Command| {
        let m = std::fs::metadata(dir.path().join("stderr.log")).unwrap();
        c.env("JOURNAL_STREAM", format!("{}:{}", m.dev(), m.ino()));
    };
    let exec = Exec::start_with(&dir, journal);
    Client::connect(&dir.socket(), service::CFG).status().unwrap();
    drop(exec);
    let quiet = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(!quiet.contains("ready: listening on"), "{quiet}");
    // A stderr that is not the named stream (or no systemd) keeps the lines.
    let other = |c: &mut std::process::Command| {
        c.env("JOURNAL_STREAM", "1:1");
    };
    let exec = Exec::start_with(&dir, other);
    assert!(exec.wait_stderr("ready: listening on", Duration::from_secs(5)), "{}", exec.stderr());
    drop(exec);
    // Without syslog, stderr is the only copy: it stays even into the journal.
    dir.config("logging {\n to_syslog: no\n to_stderr: yes\n}\n");
    let exec = Exec::start_with(&dir, journal);
    assert!(exec.wait_stderr("ready: listening on", Duration::from_secs(5)), "{}", exec.stderr());
}

#[test]
fn logging_to_a_file_with_timestamps_and_subsystem_debug() {
    let dir = TempDir::new("logfile");
    let log = dir.path().join("ais.log");
    dir.config(&format!(
        "logging {{\n to_stderr: no\n to_syslog: no\n to_file: yes\n logfile: {}\n timestamp: on\n logger_subsys {{\n  subsys: IPC\n  debug: on\n }}\n}}\n",
        log.display()
    ));
    let exec = Exec::start(&dir);
    Client::connect(&dir.socket(), service::CFG).status().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let text = std::fs::read_to_string(&log).unwrap();
    // Debug on for IPC only: its connection line is there, MAIN's debug
    // line (open file limit) is not.
    assert!(text.contains("[IPC   ] connection 1 opened: service cfg"), "{text}");
    assert!(!text.contains("open file limit"), "{text}");
    let ready = text.lines().find(|l| l.contains("[MAIN  ] ready: listening on")).unwrap();
    // "Mon DD HH:MM:SS notice  [MAIN  ] ..."
    assert_eq!(ready.find("notice  [MAIN"), Some(16), "{ready}");
    assert!(exec.stderr().is_empty(), "{}", exec.stderr());
}

#[test]
fn client_not_reading_its_responses_is_throttled_not_buffered() {
    let dir = TempDir::new("backpressure");
    dir.config(QUIET);
    let exec = Exec::start(&dir);
    let mut hog = Client::connect(&dir.socket(), service::CFG);
    const REQUESTS: usize = 200_000; // ~16 MB of responses, 4x the queue limit
    let mut writer = hog.request.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let one = ais_ipc::frame::encode(service::CFG, ais_ipc::cfg::STATUS, &[]);
        let batch: Vec<u8> = one.iter().copied().cycle().take(one.len() * 1000).collect();
        for _ in 0..REQUESTS / 1000 {
            std::io::Write::write_all(&mut writer, &batch).unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let rss = exec.rss_kb();
    println!("executive VmRSS with an unread 16 MB response backlog: {rss} kB");
    assert!(rss < 20 * 1024, "executive buffered the backlog: {rss} kB");
    // Everyone else is still served.
    Client::connect(&dir.socket(), service::CFG).status().unwrap();
    // Reading resumes the flow; every request gets its answer, in order.
    for _ in 0..REQUESTS {
        let (h, _) = ais_ipc::frame::read_message(&mut hog.request).unwrap();
        assert_eq!(h.id, ais_ipc::cfg::STATUS);
    }
    sender.join().unwrap();
}

#[test]
fn cfgtool_status_against_a_live_executive() {
    let dir = TempDir::new("cfgtool");
    let conf = dir.config(&format!("{QUIET}totem {{\n nodeid: 42\n}}\n"));
    let exec = Exec::start(&dir);
    // A file without an interface: the log says this node is alone.
    let alone = format!("no totem interface in {}: running a single-node cluster on loopback", conf.display());
    assert!(exec.wait_stderr(&alone, Duration::from_secs(10)), "{}", exec.stderr());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ais_tools::cfgtool::run(&["-k"], &dir.socket(), &mut out, &mut err);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "local_node_id: 42\nring_id: 42.4\nring0_status: active, no faults\nmember: 42 127.0.0.1\nquorum: not configured\n"
    );
}

#[test]
fn relative_run_dir_survives_detaching() {
    let dir = TempDir::new("relative");
    dir.config(QUIET);
    let mut parent = command(&dir, &[])
        .current_dir(dir.path())
        .env("COROSYNC_RUN_DIR", "rel-run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(wait_child(&mut parent, Duration::from_secs(10)), Some(0));
    let run = dir.path().join("rel-run");
    let pid: i32 = std::fs::read_to_string(run.join("aisexec.pid")).unwrap().trim().parse().unwrap();
    let _guard = PidGuard(pid);
    Client::connect(&run.join(ais_ipc::SOCKET_NAME), service::CFG).status().unwrap();
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(Instant::now() < deadline, "daemon did not stop");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!run.join(ais_ipc::SOCKET_NAME).exists());
}

/// Policy (with its flags) and priority of thread `tid`.
fn scheduling(tid: i32) -> (i32, i32) {
    let mut p = libc::sched_param { sched_priority: -1 };
    // SAFETY: plain syscalls with a valid sched_param.
    let policy = unsafe {
        libc::sched_getparam(tid, &mut p);
        libc::sched_getscheduler(tid)
    };
    (policy, p.sched_priority)
}

/// What `scheduling` reads of a main loop sleeping real-time: SCHED_RR
/// (reset on fork) at the highest priority.
fn realtime_scheduling() -> (i32, i32) {
    // SAFETY: plain syscall.
    (libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, unsafe { libc::sched_get_priority_max(libc::SCHED_RR) })
}

/// `tid`'s policy once it is `want`, or after 5 s.
fn settled_scheduling(tid: i32, want: (i32, i32)) -> (i32, i32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while scheduling(tid) != want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    scheduling(tid)
}

/// Every thread of `pid` but the main one.
fn other_threads(pid: u32) -> Vec<i32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks.filter_map(|t| t.ok()?.file_name().to_str()?.parse().ok()).filter(|t| *t != pid as i32).collect()
}

/// Whether this process may take SCHED_RR (tried on a thread that ends).
fn may_use_realtime() -> bool {
    std::thread::spawn(|| {
        let p = libc::sched_param { sched_priority: 1 };
        // SAFETY: plain syscall with a valid sched_param, on this thread only.
        unsafe { libc::sched_setscheduler(0, libc::SCHED_RR, &p) == 0 }
    })
    .join()
    .unwrap()
}

#[test]
fn main_loop_is_realtime_where_configured_and_permitted() {
    let normal = (libc::SCHED_OTHER, 0);
    let rr = realtime_scheduling();
    // As classic openais: SCHED_RR at the highest priority. Threads it
    // starts (the metrics server here) and its children begin normal.
    let dir = TempDir::new("sched-no");
    dir.config(&format!("{QUIET}aisexec {{\n realtime_priority: no\n}}\n"));
    let e = Exec::start(&dir);
    let mut c = Client::connect(&dir.socket(), service::CFG);
    c.status().unwrap();
    assert_eq!(scheduling(e.pid() as i32), normal, "{}", e.stderr());
    assert!(!e.stderr().contains("real-time"), "{}", e.stderr());

    let dir = TempDir::new("sched-yes");
    dir.config(&format!("{QUIET}aisexec {{\n realtime_priority: yes\n metrics: 127.0.0.1:0\n}}\n"));
    let e = Exec::start(&dir);
    if !may_use_realtime() {
        assert_eq!(scheduling(e.pid() as i32), normal, "{}", e.stderr());
        assert!(e.stderr().contains("cannot set real-time priority"), "{}", e.stderr());
        return;
    }
    // (It polls a moment after startup, under the normal policy.)
    assert_eq!(settled_scheduling(e.pid() as i32, rr), rr, "{}", e.stderr());
    assert!(e.stderr().contains("running with real-time priority (SCHED_RR)"), "{}", e.stderr());
    let threads = other_threads(e.pid());
    assert!(!threads.is_empty(), "the metrics thread");
    for t in threads {
        assert_eq!(scheduling(t), normal, "thread {t}");
    }
    // Requests make the loop poll, under the normal policy; it goes
    // back to SCHED_RR before it sleeps.
    let mut c = Client::connect(&dir.socket(), service::CFG);
    for _ in 0..200 {
        c.status().unwrap();
    }
    assert_eq!(settled_scheduling(e.pid() as i32, rr), rr, "sleeping real-time again: {}", e.stderr());
}

/// Busy loops on every CPU while it lives ("other work").
struct BusyLoops(std::sync::Arc<std::sync::atomic::AtomicBool>, Vec<std::thread::JoinHandle<()>>);

impl BusyLoops {
    fn start() -> BusyLoops {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cpus)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        BusyLoops(stop, threads)
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.1.drain(..) {
            let _ = t.join();
        }
    }
}

/// The default, `auto`: a normal process while the CPU is its own (the
/// request/answer loops of 3 nodes on a quiet machine are faster so);
/// once other work holds the CPU (a polling turn waited for it), the loop
/// sleeps under SCHED_RR, so that a request or packet wakes it ahead of
/// that work, as `yes` does. (On a node of its own a calling client is
/// awaited real-time anyway, see above; that polling notices other work
/// is `polling_pauses_while_other_work_holds_the_cpu`.)
#[test]
fn by_default_the_main_loop_sleeps_real_time_while_other_work_holds_the_cpu() {
    let dir = TempDir::new("sched-auto");
    dir.config(QUIET);
    let e = Exec::start(&dir);
    if !may_use_realtime() {
        assert!(e.stderr().contains("no real-time priority (SCHED_RR)"), "{}", e.stderr());
        return;
    }
    let mut c = Client::connect(&dir.socket(), service::CFG);
    c.status().unwrap();
    assert!(e.stderr().contains("real-time priority (SCHED_RR) while other work holds the CPU"), "{}", e.stderr());
    let rr = realtime_scheduling();
    let busy = BusyLoops::start();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = false;
    while !seen && Instant::now() < deadline {
        // Requests make it poll; a polling turn soon waits for the CPU.
        c.status().unwrap();
        seen = scheduling(e.pid() as i32) == rr;
    }
    drop(busy);
    assert!(seen, "never sleeping under SCHED_RR beside busy loops: {}", e.stderr());
    for t in other_threads(e.pid()) {
        assert_eq!(scheduling(t), (libc::SCHED_OTHER, 0), "thread {t}");
    }
}

/// Polling stops for a while once a polling turn waited for the CPU
/// (`exec.poll_pauses`). With `realtime_priority: no` the loop polls for
/// a calling client's next request as a normal process; beside a busy
/// loop on every CPU, a turn that finds nothing yields its CPU to one of
/// them for a time slice.
#[test]
fn polling_pauses_while_other_work_holds_the_cpu() {
    let dir = TempDir::new("poll-pauses");
    dir.config(&format!("{QUIET}{POLLING}"));
    let _e = Exec::start(&dir);
    let mut c = Client::connect(&dir.socket(), service::CFG);
    c.status().unwrap();
    let before = stats(&dir.socket())["exec.poll_pauses"];
    let busy = BusyLoops::start();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut paused = false;
    while !paused && Instant::now() < deadline {
        for _ in 0..100 {
            c.status().unwrap();
        }
        paused = stats(&dir.socket())["exec.poll_pauses"] > before;
    }
    drop(busy);
    assert!(paused, "polling never paused beside busy loops ({before} pauses before)");
}

/// By default (`auto`), a client calling in a loop is awaited under
/// SCHED_RR even on a quiet machine: its request then wakes the loop at
/// once, ahead of the client itself where they share a CPU.
#[test]
fn by_default_a_calling_client_is_awaited_real_time() {
    let dir = TempDir::new("sched-client");
    dir.config(QUIET);
    let e = Exec::start(&dir);
    if !may_use_realtime() {
        return; // the test above checks the warning
    }
    let rr = realtime_scheduling();
    let mut c = Client::connect(&dir.socket(), service::CFG);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut calls = 0;
    let mut seen = false;
    while !seen && Instant::now() < deadline {
        c.status().unwrap();
        calls += 1;
        seen = scheduling(e.pid() as i32) == rr;
    }
    assert!(seen, "never awaiting the client under SCHED_RR in {calls} calls: {}", e.stderr());
}

#[test]
fn an_executive_without_the_right_to_realtime_runs_as_a_normal_process() {
    // SAFETY: plain syscall.
    if unsafe { libc::geteuid() } != 0 {
        return; // needs root to start one as another user
    }
    let dir = TempDir::new("sched-user");
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    dir.config(&format!("{QUIET}aisexec {{\n realtime_priority: yes\n}}\n"));
    let e = Exec::start_with(&dir, |c| {
        // Without CAP_SYS_NICE and with RLIMIT_RTPRIO 0 (the usual default).
        c.uid(65533).gid(65533);
        // SAFETY: setrlimit is async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                if libc::setrlimit(libc::RLIMIT_RTPRIO, &none) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    assert_eq!(scheduling(e.pid() as i32), (libc::SCHED_OTHER, 0), "{}", e.stderr());
    assert!(e.stderr().contains("cannot set real-time priority (SCHED_RR): Operation not permitted"), "{}", e.stderr());
    Client::connect(&dir.socket(), service::CFG).status().unwrap();
}
