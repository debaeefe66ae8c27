//! Three executives in network namespaces this test creates, joined by a
//! bridge in a "switch" namespace (`ais_tools::netns::Lab`), over UDP
//! multicast: IPv4 and IPv6 rings form; a partition 2+1 (node 3's switch
//! port leaves the bridge) gives both sides their own configuration; healing
//! gives one ring again; `kill -9` of a node is detected within token +
//! consensus (+ margin); the restarted node rejoins. Times are printed.
//! Under load from every node (EVS, `ais_tools::bench`), every node gets
//! every message, in each sender's order and in one total order.
//!
//! The status of each executive comes from the CFG service over its unix
//! socket, a file in its run directory reachable from the root namespace.
//! Every executive is killed by pid and every namespace deleted on every exit
//! path (guards). Needs root and iproute2; otherwise prints SKIPPED and
//! passes, unless AIS_REQUIRE_NETNS=1.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use ais_tools::netns::Lab;
use common::*;

const TOKEN_MS: u64 = 1000;
/// Classic default: 1.2 x token.
const CONSENSUS_MS: u64 = 1200;
/// Scheduling, polling and a debug build on a loaded 2-core machine.
const MARGIN_MS: u64 = 800;

/// The tests of this file run one at a time: timing assertions (failure
/// detection) must not compete with another test's load on 2 cores.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The lab, or None (test skipped) when namespaces cannot be made.
fn lab(tag: &str) -> Option<Lab> {
    match Lab::create(tag, 3) {
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
fn node_dir(tag: &str, i: usize, v6: bool, secauth: bool) -> TempDir {
    let dir = TempDir::new(&format!("netns-{tag}-n{i}"));
    // IPv4: bindnetaddr as the network (each node picks its own address),
    // node id derived; IPv6: host address and an explicit node id.
    let (bind, mcast, nodeid) = if v6 {
        (Lab::ipv6(i).to_string(), "ff15::a15:77", format!("  nodeid: {i}\n"))
    } else {
        (Lab::network(false).to_string(), "239.192.77.1", String::new())
    };
    dir.config(&format!(
        "totem {{\n  version: 2\n  secauth: {}\n  token: {TOKEN_MS}\n  consensus: {CONSENSUS_MS}\n{nodeid}  \
         interface {{\n    ringnumber: 0\n    bindnetaddr: {bind}\n    mcastaddr: {mcast}\n    mcastport: 5405\n  }}\n}}\n{QUIET}",
        if secauth { "on" } else { "off" }
    ));
    if secauth {
        std::fs::write(dir.path().join("authkey"), [0x3Cu8; 128]).unwrap();
    }
    dir
}

/// Starts `aisexec -f` inside node `i`'s namespace and waits for its socket.
fn start(lab: &Lab, i: usize, dir: &TempDir) -> Exec {
    let stderr_path = dir.path().join("stderr.log");
    let err = std::fs::File::create(&stderr_path).unwrap();
    let mut cmd = lab.command(i, AISEXEC);
    cmd.arg("-f")
        .env("COROSYNC_RUN_DIR", dir.run_dir())
        .env("COROSYNC_MAIN_CONFIG_FILE", dir.path().join("corosync.conf"))
        .env("COROSYNC_TOTEM_AUTHKEY_FILE", dir.path().join("authkey"))
        .env("COROSYNC_AMF_CONFIG_FILE", dir.path().join("amf.conf"))
        .env_remove("OPENAIS_MAIN_CONFIG_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err);
    let _ = std::fs::remove_file(dir.socket());
    let mut e = Exec { child: cmd.spawn().unwrap(), stderr_path };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(dir.socket()).is_err() {
        if let Ok(Some(status)) = e.child.try_wait() {
            panic!("aisexec in {} exited early: {status}; stderr: {}", lab.node_ns(i), e.stderr());
        }
        assert!(Instant::now() < deadline, "aisexec did not start; stderr: {}", e.stderr());
        std::thread::sleep(Duration::from_millis(10));
    }
    e
}

/// Members as the executive on `dir` reports them, or None if unreachable.
fn members(dir: &TempDir) -> Option<Vec<u32>> {
    let (mut request, reply) = hello(&dir.socket(), ais_ipc::handshake::Role::Request, ais_ipc::service::CFG, 0).ok()?;
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

/// The cluster under test; executives are dropped (killed) before the lab.
struct Cluster {
    execs: Vec<Option<Exec>>,
    dirs: Vec<TempDir>,
    lab: Lab,
}

impl Cluster {
    fn start(tag: &str, v6: bool, secauth: bool) -> Option<Cluster> {
        let lab = lab(tag)?;
        let dirs: Vec<TempDir> = (1..=3).map(|i| node_dir(tag, i, v6, secauth)).collect();
        let mut c = Cluster { execs: Vec::new(), dirs, lab };
        for i in 1..=3 {
            let e = start(&c.lab, i, &c.dirs[i - 1]);
            c.execs.push(Some(e));
        }
        Some(c)
    }

    fn logs(&self) -> String {
        self.execs
            .iter()
            .enumerate()
            .map(|(i, e)| format!("--- node {} ---\n{}", i + 1, e.as_ref().map(|e| e.stderr()).unwrap_or_default()))
            .collect()
    }

    /// Waits until node `i` (1-based) reports each wanted member list; the
    /// time it took.
    fn wait(&self, want: &[(usize, &[u32])], limit: Duration) -> Duration {
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

    fn kill(&mut self, i: usize) -> Instant {
        let e = self.execs[i - 1].as_mut().unwrap();
        e.signal(libc::SIGKILL);
        let at = Instant::now();
        assert!(e.wait_exit(Duration::from_secs(5)).is_some(), "kill -9 did not end node {i}");
        at
    }

    fn restart(&mut self, i: usize) {
        self.execs[i - 1] = Some(start(&self.lab, i, &self.dirs[i - 1]));
    }
}

fn v4_id(i: usize) -> u32 {
    // Derived from the IPv4 address as stored in memory (little-endian).
    u32::from_le_bytes(Lab::ipv4(i).octets())
}

#[test]
fn ipv4_multicast_ring_partition_heal_kill_rejoin() {
    let _serial = serial();
    let Some(mut c) = Cluster::start("v4", false, false) else { return };
    let all = [v4_id(1), v4_id(2), v4_id(3)];
    let (one, two, three) = ([v4_id(1), v4_id(2)], [v4_id(1), v4_id(3)], [v4_id(3)]);
    let t = c.wait(&[(1, &all), (2, &all), (3, &all)], Duration::from_secs(10));
    println!("ipv4: 3-node ring formed {t:?} after the last executive started");
    for (i, e) in c.execs.iter().enumerate() {
        let log = e.as_ref().unwrap().stderr();
        assert!(log.contains("processor joined"), "node {}: {log}", i + 1);
    }

    // Partition 2+1: node 3's switch port leaves the bridge.
    c.lab.isolate(3).unwrap();
    let t = c.wait(&[(1, &one), (2, &one), (3, &three)], Duration::from_secs(8));
    println!("ipv4: partition 2+1, both sides installed their configuration in {t:?}");
    // Heal: one ring of three again.
    c.lab.reconnect(3).unwrap();
    let t = c.wait(&[(1, &all), (2, &all), (3, &all)], Duration::from_secs(8));
    println!("ipv4: healed, one ring of 3 in {t:?}");

    // kill -9 node 2: the others install {1, 3} within token + consensus + margin.
    let killed = c.kill(2);
    let limit = Duration::from_millis(TOKEN_MS + CONSENSUS_MS + MARGIN_MS);
    c.wait(&[(1, &two), (3, &two)], limit);
    let t = killed.elapsed();
    println!("ipv4: new configuration {t:?} after kill -9 (token {TOKEN_MS} ms, consensus {CONSENSUS_MS} ms)");
    assert!(c.execs[0].as_ref().unwrap().stderr().contains("processor left"));

    // Restart it: it rejoins.
    let spawned = Instant::now();
    c.restart(2);
    let t = c.wait(&[(1, &all), (2, &all), (3, &all)], Duration::from_secs(5));
    println!("ipv4: restarted node rejoined {t:?} after its socket appeared ({:?} after spawn)", spawned.elapsed());
}

#[test]
fn ipv6_multicast_ring_kill_rejoin() {
    let _serial = serial();
    let Some(mut c) = Cluster::start("v6", true, false) else { return };
    let all: [u32; 3] = [1, 2, 3];
    let t = c.wait(&[(1, &all), (2, &all), (3, &all)], Duration::from_secs(10));
    println!("ipv6: 3-node ring formed {t:?} after the last executive started");

    let killed = c.kill(3);
    let limit = Duration::from_millis(TOKEN_MS + CONSENSUS_MS + MARGIN_MS);
    c.wait(&[(1, &[1, 2]), (2, &[1, 2])], limit);
    println!("ipv6: new configuration {:?} after kill -9", killed.elapsed());

    let spawned = Instant::now();
    c.restart(3);
    let t = c.wait(&[(1, &all), (2, &all), (3, &all)], Duration::from_secs(5));
    println!("ipv6: restarted node rejoined {t:?} after its socket appeared ({:?} after spawn)", spawned.elapsed());
}

#[test]
fn load_from_every_node_is_delivered_in_the_same_order_everywhere() {
    let _serial = serial();
    use ais_tools::bench::{self, EvsConn, RoundState};
    use std::sync::{Arc, Mutex};

    // secauth off: in a debug build the cipher alone is ~10x slower than in
    // release, which would turn this into a crypto benchmark.
    let Some(c) = Cluster::start("load", false, false) else { return };
    let all = [v4_id(1), v4_id(2), v4_id(3)];
    c.wait(&[(1, &all), (2, &all), (3, &all)], Duration::from_secs(10));
    // Every node sends (EVS, agreed order) and every node checks each
    // sender's sequence numbers: no loss, no reorder, no duplicate.
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    let mut threads = Vec::new();
    for d in &c.dirs {
        let mut conn = EvsConn::connect(&d.socket()).unwrap();
        let state = Arc::new(Mutex::new(RoundState::default()));
        let dispatch = conn.take_dispatch().unwrap();
        let st = Arc::clone(&state);
        threads.push(std::thread::spawn(move || bench::receive(dispatch, st)));
        receivers.push(state);
        senders.push(conn);
    }
    for size in [1, 1000, 10_000, 60_000] {
        let r = bench::round(&mut senders, &receivers, size, Duration::from_millis(400), Duration::from_secs(10));
        println!("load: {size} B from 3 senders: {} sent, {:.0} msg/s at the slowest receiver", r.sent, r.msgs_per_s);
        assert!(r.sent >= 3, "{size} B: nothing sent");
        assert!(r.errors.is_empty(), "{size} B: {:?}\n{}", r.errors, c.logs());
    }
    drop(senders);
    for t in threads {
        t.join().unwrap();
    }
}
