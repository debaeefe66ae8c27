//! Executives in network namespaces the test creates (`ais_tools::netns::Lab`,
//! a bridge in a "switch" namespace), over UDP multicast: the lab (or a
//! skipped test), each node's run directory and config, start / kill -9 /
//! restart, and waiting for the members each node reports. Every executive
//! is killed and every namespace deleted on every exit path (guards, in
//! that order).

use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ais_tools::netns::Lab;

use super::{AISEXEC, Exec, POLLING, QUIET, TempDir, dispatch_hello, hello};

pub const TOKEN_MS: u64 = 1000;
/// Classic default: 1.2 x token.
pub const CONSENSUS_MS: u64 = 1200;

/// The lab of `nodes` namespaces, or None (test skipped) when namespaces
/// cannot be made, unless AIS_REQUIRE_NETNS=1.
pub fn lab(tag: &str, nodes: usize) -> Option<Lab> {
    lab_or_skip(tag, Lab::create(tag, nodes))
}

/// A lab that was (or could not be) created: None skips the test, unless
/// AIS_REQUIRE_NETNS=1.
pub fn lab_or_skip(tag: &str, created: Result<Lab, String>) -> Option<Lab> {
    match created {
        Ok(lab) => Some(lab),
        Err(e) if std::env::var("AIS_REQUIRE_NETNS").is_ok_and(|v| v == "1") => {
            panic!("cannot create network namespaces: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED {tag}: cannot create network namespaces: {e}");
            None
        }
    }
}

/// Node `i`'s run directory and multicast config (and authkey with secauth).
/// IPv4: bindnetaddr is the network (each node picks its own address), the
/// node id derived; IPv6: the host address and an explicit node id.
pub fn node_dir(tag: &str, i: usize, mcastaddr: &str, v6: bool, secauth: bool) -> TempDir {
    let dir = TempDir::new(&format!("netns-{tag}-n{i}"));
    let (bind, nodeid) = if v6 {
        (Lab::ipv6(i).to_string(), format!("  nodeid: {i}\n"))
    } else {
        (Lab::network(false).to_string(), String::new())
    };
    dir.config(&format!(
        "totem {{\n  version: 2\n  secauth: {}\n  token: {TOKEN_MS}\n  consensus: {CONSENSUS_MS}\n{nodeid}  \
         interface {{\n    ringnumber: 0\n    bindnetaddr: {bind}\n    mcastaddr: {mcastaddr}\n    mcastport: 5405\n  }}\n}}\n{QUIET}{POLLING}",
        if secauth { "on" } else { "off" }
    ));
    if secauth {
        super::write_authkey(&dir.path().join("authkey"), &[0x3Cu8; 128]);
    }
    dir
}

/// Starts `aisexec -f` inside node `i`'s namespace and waits (10 s at most)
/// for its socket.
pub fn start_in(lab: &Lab, i: usize, dir: &TempDir) -> Exec {
    start_cmd_in(lab, i, dir, &[AISEXEC, "-f"], |_| {})
}

/// As [`start_in`], running `argv` (which must exec the executive, so its
/// pid is the executive's) after `adjust` changed the command.
pub fn start_cmd_in(lab: &Lab, i: usize, dir: &TempDir, argv: &[&str], adjust: impl FnOnce(&mut Command)) -> Exec {
    let stderr_path = dir.path().join("stderr.log");
    let err = std::fs::File::create(&stderr_path).unwrap();
    let mut cmd = lab.command(i, argv[0]);
    cmd.args(&argv[1..]);
    super::exec_env(&mut cmd, dir);
    cmd.stdout(Stdio::null()).stderr(err);
    adjust(&mut cmd);
    // A killed node's socket would fool the wait.
    let _ = std::fs::remove_file(dir.socket());
    let mut e = Exec { child: cmd.spawn().unwrap(), stderr_path };
    let deadline = Instant::now() + Duration::from_secs(10);
    while UnixStream::connect(dir.socket()).is_err() {
        if let Ok(Some(status)) = e.child.try_wait() {
            panic!("aisexec in {} exited early: {status}; stderr: {}", lab.node_ns(i), e.stderr());
        }
        assert!(Instant::now() < deadline, "aisexec did not start; stderr: {}", e.stderr());
        std::thread::sleep(Duration::from_millis(10));
    }
    e
}

/// Members as the executive on `dir` reports them (CFG status), sorted, or
/// None if unreachable.
pub fn members(dir: &TempDir) -> Option<Vec<u32>> {
    let (mut request, reply) =
        hello(&dir.socket(), ais_ipc::handshake::Role::Request, ais_ipc::service::CFG, 0).ok()?;
    if reply.error != ais_ipc::error::OK {
        return None;
    }
    let _dispatch = dispatch_hello(&dir.socket(), ais_ipc::service::CFG, reply.token);
    ais_ipc::frame::write_message(&mut request, ais_ipc::service::CFG, ais_ipc::cfg::STATUS, &[]).ok()?;
    let (_, body) = ais_ipc::frame::read_message(&mut request).ok()?;
    let status = ais_ipc::cfg::Status::decode_response(&body).ok()?.ok()?;
    let mut m: Vec<u32> = status.members.iter().map(|m| m.node_id).collect();
    m.sort();
    Some(m)
}

/// Node `i`'s id when derived from its IPv4 address (as stored in memory,
/// little-endian).
pub fn v4_id(i: usize) -> u32 {
    u32::from_le_bytes(Lab::ipv4(i).octets())
}

/// The cluster under test. Fields drop in order: executives (killed)
/// before their directories and the lab.
pub struct Cluster {
    pub execs: Vec<Option<Exec>>,
    pub dirs: Vec<TempDir>,
    pub lab: Lab,
}

impl Cluster {
    /// Three executives, each started (socket up); None if skipped.
    pub fn start(tag: &str, mcastaddr: &str, v6: bool, secauth: bool) -> Option<Cluster> {
        Cluster::start_with(tag, mcastaddr, v6, secauth, "")
    }

    /// As [`Cluster::start`], with `extra` added to every node's config.
    pub fn start_with(tag: &str, mcastaddr: &str, v6: bool, secauth: bool, extra: &str) -> Option<Cluster> {
        Cluster::start_edited(tag, mcastaddr, v6, secauth, |text| text + extra)
    }

    /// As [`Cluster::start`], with every node's config text passed
    /// through `edit` first.
    pub fn start_edited(
        tag: &str,
        mcastaddr: &str,
        v6: bool,
        secauth: bool,
        edit: impl Fn(String) -> String,
    ) -> Option<Cluster> {
        let lab = lab(tag, 3)?;
        let dirs: Vec<TempDir> = (1..=3).map(|i| node_dir(tag, i, mcastaddr, v6, secauth)).collect();
        for d in &dirs {
            let path = d.path().join("corosync.conf");
            let text = edit(std::fs::read_to_string(&path).unwrap());
            d.config(&text);
        }
        let mut c = Cluster { execs: Vec::new(), dirs, lab };
        for i in 1..=3 {
            let e = start_in(&c.lab, i, &c.dirs[i - 1]);
            c.execs.push(Some(e));
        }
        Some(c)
    }

    /// Node `i`'s (1-based) directory.
    pub fn dir(&self, i: usize) -> &TempDir {
        &self.dirs[i - 1]
    }

    pub fn logs(&self) -> String {
        self.execs
            .iter()
            .enumerate()
            .map(|(i, e)| format!("--- node {} ---\n{}", i + 1, e.as_ref().map(|e| e.stderr()).unwrap_or_default()))
            .collect()
    }

    /// Waits until node `i` (1-based) reports each wanted member list; the
    /// time it took. Panics with what was seen and the logs after `limit`.
    pub fn wait(&self, want: &[(usize, &[u32])], limit: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if want.iter().all(|(i, m)| members(&self.dirs[i - 1]).as_deref() == Some(*m)) {
                return start.elapsed();
            }
            if start.elapsed() > limit {
                let seen: Vec<_> = want.iter().map(|(i, _)| (*i, members(&self.dirs[i - 1]))).collect();
                panic!("wanted {want:?} within {limit:?}; seen {seen:?}\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `kill -9` of node `i`; when it was sent.
    pub fn kill(&mut self, i: usize) -> Instant {
        let e = self.execs[i - 1].as_mut().unwrap();
        e.signal(libc::SIGKILL);
        let at = Instant::now();
        assert!(e.wait_exit(Duration::from_secs(5)).is_some(), "kill -9 did not end node {i}");
        at
    }

    pub fn restart(&mut self, i: usize) {
        self.execs[i - 1] = Some(start_in(&self.lab, i, &self.dirs[i - 1]));
    }
}
