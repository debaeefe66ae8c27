//! Issue 25, local attacks on an executive that runs as root: files it
//! creates, the run directory it trusts, setuid starts, connection limits,
//! the lock file and log flooding.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::Duration;

use common::*;

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

fn mode(p: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

/// Starts `aisexec -f` on `dir` and returns its exit code and stderr,
/// for starts that must fail.
fn failed_start(dir: &TempDir, adjust: impl FnOnce(&mut std::process::Command)) -> (Option<i32>, String) {
    let mut c = command(dir, &["-f"]);
    adjust(&mut c);
    failed_run(c)
}

/// Runs `c` for at most 10 s (killed then); its exit code and stderr.
fn failed_run(mut c: std::process::Command) -> (Option<i32>, String) {
    let mut child = spawn_retrying(c.stdout(Stdio::null()).stderr(Stdio::piped()));
    let code = wait_child(&mut child, Duration::from_secs(10));
    if code.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (code, err)
}

#[test]
fn files_get_explicit_modes_under_umask_000_and_links_are_not_followed() {
    let dir = TempDir::new("umask");
    let log = dir.path().join("aisexec.log");
    dir.config(&format!(
        "logging {{\n to_syslog: no\n to_stderr: no\n to_file: yes\n logfile: {}\n}}\n",
        log.display()
    ));
    // A victim file, linked from the pid file's temporary name.
    std::fs::create_dir(dir.run_dir()).unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.run_dir().join("aisexec.pid.tmp")).unwrap();
    let exec = Exec::start_with(&dir, |c| {
        // SAFETY: umask is async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                libc::umask(0);
                Ok(())
            })
        };
    });
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(std::fs::read_to_string(dir.pid_file()).unwrap().trim(), exec.pid().to_string());
    assert_eq!(mode(&dir.pid_file()), 0o644);
    assert_eq!(mode(&dir.run_dir().join("aisexec.lock")), 0o600);
    assert_eq!(mode(&dir.socket()), 0o666);
    assert_eq!(mode(&log), 0o640);
    drop(exec);

    // A run directory the executive makes itself is 0755 under umask 000.
    let fresh = TempDir::new("umask-fresh");
    fresh.config(QUIET);
    let exec = Exec::start_with(&fresh, |c| {
        // SAFETY: as above.
        unsafe {
            c.pre_exec(|| {
                libc::umask(0);
                Ok(())
            })
        };
    });
    assert_eq!(mode(&fresh.run_dir()), 0o755);
    drop(exec);

    // A log file that is a link is refused, not written through.
    let linked = TempDir::new("loglink");
    let log = linked.path().join("aisexec.log");
    std::os::unix::fs::symlink(&victim, &log).unwrap();
    linked.config(&format!("logging {{\n to_syslog: no\n to_file: yes\n logfile: {}\n}}\n", log.display()));
    let (code, err) = failed_start(&linked, |_| {});
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot open log file"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

#[test]
fn a_run_directory_others_can_write_is_refused() {
    let dir = TempDir::new("rundir-mode");
    dir.config(QUIET);
    std::fs::create_dir(dir.run_dir()).unwrap();
    for m in [0o777, 0o775, 0o1777] {
        std::fs::set_permissions(dir.run_dir(), std::fs::Permissions::from_mode(m)).unwrap();
        let (code, err) = failed_start(&dir, |_| {});
        assert_eq!(code, Some(1), "{m:o}: {err}");
        assert!(err.contains("writable by group or others"), "{m:o}: {err}");
        assert!(!dir.socket().exists() && !dir.run_dir().join("aisexec.lock").exists());
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::fs::set_permissions(dir.run_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(dir.run_dir(), Some(65534), None).unwrap();
        let (code, err) = failed_start(&dir, |_| {});
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("owned by uid 65534"), "{err}");
    }
}

#[test]
fn a_set_user_id_start_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("not root: cannot make a setuid-root copy; not tested");
        return;
    }
    let dir = TempDir::new("setuid");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir.config(QUIET);
    let exe = dir.path().join("aisexec");
    std::fs::copy(AISEXEC, &exe).unwrap();
    for m in [0o4755, 0o2755] {
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(m)).unwrap();
        let mut c = std::process::Command::new(&exe);
        c.arg("-f");
        exec_env(&mut c, &dir);
        c.uid(65534).gid(65534);
        let (code, err) = failed_run(c);
        assert_eq!(code, Some(1), "{m:o}: {err}");
        assert!(err.contains("refusing to run set-user-id or set-group-id"), "{m:o}: {err}");
        assert!(!dir.run_dir().exists(), "{m:o}: created the run directory");
    }
}

const CONNECT_ENV: &str = "AIS_HARDENING_CONNECT";

/// Helper (run as another user by the test below): opens up to the
/// number of connections `CONNECT_ENV` names (`<socket> <n>`), prints
/// `OPENED <k> REFUSED <error>` and holds them until stdin closes.
#[test]
fn connect_many_helper() {
    let Some(arg) = std::env::var("AIS_HARDENING_CONNECT").ok() else { return };
    let (socket, n) = arg.rsplit_once(' ').unwrap();
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..n.parse::<usize>().unwrap() {
        let (req, reply) =
            hello(std::path::Path::new(socket), ais_ipc::handshake::Role::Request, ais_ipc::service::CFG, 0).unwrap();
        if reply.error != ais_ipc::error::OK {
            refused = reply.error;
            break;
        }
        held.push((req, dispatch_hello(std::path::Path::new(socket), ais_ipc::service::CFG, reply.token)));
    }
    println!("\nOPENED {} REFUSED {refused}", held.len());
    let _ = std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1]);
}

/// Runs [`connect_many_helper`] as uid 65534; returns what it printed and
/// the child (holding its connections until dropped).
fn connect_many_as_nobody(dir: &TempDir, n: usize) -> (String, ChildGuard) {
    let exe = dir.path().join("helper-client");
    if !exe.exists() {
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut child = spawn_retrying(
        std::process::Command::new(&exe)
            .args(["--exact", "connect_many_helper", "--nocapture", "--test-threads=1"])
            .env(CONNECT_ENV, format!("{} {n}", dir.socket().display()))
            .uid(65534)
            .gid(65534)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("OPENED") {
        line.clear();
        if std::io::BufRead::read_line(&mut out, &mut line).unwrap() == 0 {
            break;
        }
    }
    (line.trim().to_string(), ChildGuard(child))
}

/// Kills a helper on drop.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn connections_are_limited_per_process_and_per_user_with_room_for_root() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("not root: cannot connect as another user; not tested");
        return;
    }
    let dir = TempDir::new("connlimit");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir.config(&format!(
        "{QUIET}aisexec {{\n max_connections_per_uid: 5\n max_connections_per_process: 3\n}}\nuidgid {{\n uid: 65534\n}}\n"
    ));
    let exec = Exec::start(&dir);
    let no_resources = ais_ipc::error::NO_RESOURCES;
    let (first, _a) = connect_many_as_nobody(&dir, 10);
    assert_eq!(first, format!("OPENED 3 REFUSED {no_resources}"));
    let (second, b) = connect_many_as_nobody(&dir, 10);
    assert_eq!(second, format!("OPENED 2 REFUSED {no_resources}"));
    // Root is not held back by the user's limits.
    let mut clients: Vec<Client> = (0..20).map(|_| Client::connect(&dir.socket(), ais_ipc::service::CFG)).collect();
    clients[19].status().unwrap();
    // A process that goes gives its connections back to its user.
    drop(b);
    std::thread::sleep(Duration::from_millis(200));
    let (third, _c) = connect_many_as_nobody(&dir, 2);
    assert_eq!(third, "OPENED 2 REFUSED 0");
    let log = exec.stderr();
    assert!(log.contains("(max_connections_per_process)") && log.contains("(max_connections_per_uid)"), "{log}");
}

const FLOOD_ENV: &str = "AIS_HARDENING_FLOOD";

/// Helper: connects `<n>` times to `<socket>` (`FLOOD_ENV`) and prints how
/// many were refused with ACCESS; also tries to open the lock file.
#[test]
fn refused_flood_helper() {
    let Some(arg) = std::env::var(FLOOD_ENV).ok() else { return };
    let (socket, n) = arg.rsplit_once(' ').unwrap();
    let socket = std::path::Path::new(socket);
    let lock = std::fs::File::open(socket.with_file_name("aisexec.lock"));
    println!("\nLOCK {}", lock.map_or_else(|e| format!("{:?}", e.kind()), |_| "opened".into()));
    let mut access = 0;
    for _ in 0..n.parse::<usize>().unwrap() {
        if let Ok((_, r)) = hello(socket, ais_ipc::handshake::Role::Request, ais_ipc::service::CFG, 0)
            && r.error == ais_ipc::error::ACCESS
        {
            access += 1;
        }
    }
    println!("\nACCESS {access}");
}

#[test]
fn a_refused_user_can_neither_take_the_lock_nor_flood_the_log() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("not root: cannot connect as another user; not tested");
        return;
    }
    let dir = TempDir::new("flood");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir.config(QUIET);
    let exec = Exec::start(&dir);
    let exe = dir.path().join("helper-client");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let flood = |n: usize| {
        let c = &mut std::process::Command::new(&exe);
        c.args(["--exact", "refused_flood_helper", "--nocapture", "--test-threads=1"])
            .env(FLOOD_ENV, format!("{} {n}", dir.socket().display()))
            .uid(65534)
            .gid(65534)
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        String::from_utf8_lossy(&spawn_retrying(c).wait_with_output().unwrap().stdout).into_owned()
    };
    let started = std::time::Instant::now();
    let text = flood(2000);
    let secs = started.elapsed().as_secs() + 1;
    assert!(text.contains("LOCK PermissionDenied"), "{text}");
    assert!(text.contains("ACCESS 2000"), "{text}");
    // Still serving, and the log said at most 10 times a second why.
    Client::connect(&dir.socket(), ais_ipc::service::CFG).status().unwrap();
    let lines = exec.stderr().lines().filter(|l| l.contains("refused connection from pid")).count() as u64;
    assert!(lines >= 1 && lines <= 10 * secs, "{lines} lines in {secs} s");
    // The next refusal, a second later, says how many it left out (a
    // flood slower than a second is told in several such lines: a
    // real-time executive under load preempts the flooding client).
    std::thread::sleep(Duration::from_millis(1100));
    assert!(flood(1).contains("ACCESS 1"));
    let log = exec.stderr();
    let told: u64 = log
        .lines()
        .filter_map(|l| l.split_once(" (")?.1.strip_suffix(" similar lines suppressed)")?.parse::<u64>().ok())
        .sum();
    assert_eq!(told, 2000 - lines, "{log}");
}
