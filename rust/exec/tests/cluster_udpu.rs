//! Several executives on one machine (127.0.0.1-3, unicast transport) form
//! one ring, survive `kill -9` of a member, let it rejoin, and keep out a
//! node with another key or another `secauth` mode.
//!
//! Each test uses its own port so the tests can run in parallel; every
//! executive is killed by its guard when the test ends, also on failure.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// Writes node `i`'s config (and authkey, if given) into its own directory.
fn node_dir(tag: &str, i: u32, port: u16, secauth: bool, key: Option<&[u8]>) -> TempDir {
    let dir = TempDir::new(&format!("{tag}-n{i}"));
    let members: String = (1..=3).map(|m| format!("    member {{\n      memberaddr: 127.0.0.{m}\n    }}\n")).collect();
    dir.config(&format!(
        "totem {{\n  version: 2\n  secauth: {}\n  transport: udpu\n  token: 1000\n  \
         interface {{\n    ringnumber: 0\n    bindnetaddr: 127.0.0.{i}\n    mcastport: {port}\n{members}  }}\n}}\n{QUIET}{POLLING}",
        if secauth { "on" } else { "off" }
    ));
    if let Some(k) = key {
        write_authkey(&dir.path().join("authkey"), k);
    }
    dir
}

fn node_id(i: u32) -> u32 {
    // Derived from the IPv4 address as stored in memory (little-endian).
    u32::from_le_bytes([127, 0, 0, i as u8])
}

/// Members as the executive on `dir` reports them, or None if unreachable.
fn members(dir: &TempDir) -> Option<Vec<u32>> {
    if !dir.socket().exists() {
        return None;
    }
    let mut c = std::panic::catch_unwind(|| Client::connect(&dir.socket(), ais_ipc::service::CFG)).ok()?;
    let mut m: Vec<u32> = c.status().ok()?.members.iter().map(|m| m.node_id).collect();
    m.sort();
    Some(m)
}

/// Waits until every executive in `dirs` reports exactly `want`; the time it took.
fn wait_members(dirs: &[&TempDir], want: &[u32], limit: Duration, execs: &[&Exec]) -> Duration {
    let start = Instant::now();
    loop {
        if dirs.iter().all(|d| members(d).as_deref() == Some(want)) {
            return start.elapsed();
        }
        if start.elapsed() > limit {
            let seen: Vec<_> = dirs.iter().map(|d| members(d)).collect();
            let logs: Vec<String> = execs.iter().map(|e| e.stderr()).collect();
            panic!("no ring {want:?} within {limit:?}; seen {seen:?}\nlogs:\n{}", logs.join("\n----\n"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The start line names the flow control in use: the defaults (window 300,
/// max_messages a third of it), unless the receive buffer was too small
/// for that window, which the executive then logs.
fn assert_default_flow_control(log: &str) {
    let line = log.lines().find(|l| l.contains("window_size ")).unwrap_or_else(|| panic!("no start line in: {log}"));
    let (window, max) = (number_after(line, "window_size "), number_after(line, "max_messages "));
    assert_eq!(max, window.div_ceil(3), "{line}");
    assert!(window == 300 || log.contains("receive buffer"), "{line}");
}

#[test]
fn three_nodes_form_a_ring_survive_kill_and_rejoin() {
    let port = 16405;
    let dirs: Vec<TempDir> = (1..=3).map(|i| node_dir("udpu3", i, port, false, None)).collect();
    let mut execs: Vec<Exec> = dirs.iter().map(Exec::start).collect();
    let all = [node_id(1), node_id(2), node_id(3)];
    let refs: Vec<&TempDir> = dirs.iter().collect();
    let formed = wait_members(&refs, &all, Duration::from_secs(10), &execs.iter().collect::<Vec<_>>());
    println!("3-node ring formed {formed:?} after the last start");
    for e in &execs {
        assert!(e.stderr().contains("processor joined"), "membership lines: {}", e.stderr());
        assert_default_flow_control(&e.stderr());
    }

    // kill -9 node 3: the survivors install {1, 2} within token + consensus + margin.
    execs[2].signal(libc::SIGKILL);
    let _ = execs[2].wait_exit(Duration::from_secs(5));
    let survivors = [node_id(1), node_id(2)];
    let limit = Duration::from_millis(1000 + 1200 + 800);
    let took = wait_members(&refs[..2], &survivors, limit, &execs.iter().collect::<Vec<_>>());
    println!("new configuration {took:?} after kill -9 (token 1000 ms)");
    assert!(execs[0].stderr().contains("processor left"), "{}", execs[0].stderr());

    // Restart it: it rejoins.
    let started = Instant::now();
    execs[2] = Exec::start(&dirs[2]);
    let took = wait_members(&refs, &all, Duration::from_secs(5), &execs.iter().collect::<Vec<_>>());
    println!("restarted node rejoined {took:?} after its socket appeared ({:?} after spawn)", started.elapsed());
}

#[test]
fn a_node_with_another_key_never_joins() {
    let port = 16415;
    let good = [7u8; 128];
    let bad = [9u8; 128];
    let dirs: Vec<TempDir> =
        (1..=3).map(|i| node_dir("wrongkey", i, port, true, Some(if i == 3 { &bad } else { &good }))).collect();
    let execs: Vec<Exec> = dirs.iter().map(Exec::start).collect();
    let refs: Vec<&TempDir> = dirs.iter().collect();
    let er: Vec<&Exec> = execs.iter().collect();
    wait_members(&refs[..2], &[node_id(1), node_id(2)], Duration::from_secs(10), &er);
    // Give the intruder time to try (several token rotations and joins).
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(members(&dirs[0]).unwrap(), vec![node_id(1), node_id(2)]);
    assert_eq!(members(&dirs[2]).unwrap(), vec![node_id(3)], "intruder is alone");
    let log = execs[0].stderr();
    assert!(log.contains("Invalid digest"), "no 'Invalid digest' in: {log}");
    let lines = log.lines().filter(|l| l.contains("Invalid digest")).count();
    assert!(lines <= 6, "Invalid digest not rate limited: {lines} lines in about 3 s");
}

#[test]
fn secauth_on_and_off_never_form_one_ring() {
    let port = 16425;
    let key = [5u8; 128];
    let dirs: Vec<TempDir> =
        (1..=3).map(|i| node_dir("mixed", i, port, i != 3, if i != 3 { Some(&key[..]) } else { None })).collect();
    let execs: Vec<Exec> = dirs.iter().map(Exec::start).collect();
    let refs: Vec<&TempDir> = dirs.iter().collect();
    let er: Vec<&Exec> = execs.iter().collect();
    wait_members(&refs[..2], &[node_id(1), node_id(2)], Duration::from_secs(10), &er);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(members(&dirs[0]).unwrap(), vec![node_id(1), node_id(2)]);
    assert_eq!(members(&dirs[2]).unwrap(), vec![node_id(3)]);
}

/// Totem packets that do not decode (here: from a member address, in a
/// well-formed transport frame) are counted by class and reported by
/// `ais-cfgtool -k` and in the shutdown line, not only counted.
#[test]
fn malformed_totem_packets_are_reported() {
    let port = 16435;
    let dir = node_dir("malformed", 1, port, false, None);
    let mut exec = Exec::start(&dir);
    wait_members(&[&dir], &[node_id(1)], Duration::from_secs(10), &[&exec]);
    // Node 2's address (not running), a transport frame that opens, and
    // inside it Totem payloads: one too short, two with a wrong magic.
    let injector = std::net::UdpSocket::bind(("127.0.0.2", port)).unwrap();
    let mut codec = ais_net::PacketCodec::plain(node_id(2), 1);
    for payload in [&b"x"[..], &[0xee; 64], &[0xee; 64]] {
        injector.send_to(&codec.seal(payload).unwrap(), ("127.0.0.1", port)).unwrap();
    }
    let counter = |name: &str| {
        let status = ais_tools::cfgtool::status(&dir.socket()).unwrap();
        status.counters.iter().find(|c| c.name == name).map(|c| c.value)
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while counter("totem_malformed") != Some(3) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(counter("totem_malformed"), Some(3), "{}", exec.stderr());
    assert_eq!(counter("totem_malformed_short"), Some(1));
    assert_eq!(counter("totem_malformed_bad_magic"), Some(2));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(ais_tools::cfgtool::run(&["-k"], &dir.socket(), &mut out, &mut err), 0);
    assert!(String::from_utf8(out).unwrap().contains("\ntotem_malformed: 3\n"));
    exec.signal(libc::SIGTERM);
    assert_eq!(exec.wait_exit(Duration::from_secs(10)), Some(0));
    let log = exec.stderr();
    let line = log.lines().find(|l| l.contains("malformed packets")).unwrap_or_else(|| panic!("no counters: {log}"));
    assert!(line.contains("malformed packets 3 (short 1, bad_magic 2, bad_type 0"), "{line}");
}
