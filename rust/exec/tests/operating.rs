//! Operating the executive: the live statistics (`ais-cfgtool -S`) on one
//! node and on three under load, with retransmits provoked by a rate
//! limit on one node's switch port (a tbf qdisc in the lab's switch
//! namespace); the Prometheus endpoint scraped and parsed; readiness sent
//! to a `NOTIFY_SOCKET`; the systemd unit checked by `systemd-analyze
//! verify` where it exists.
//!
//! The single-node tests run on 127.0.0.1 with their own ports; the
//! three-node test needs root and iproute2 (else SKIPPED, unless
//! AIS_REQUIRE_NETNS=1). Every executive and namespace is removed by its
//! guard.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::{Duration, Instant};

use common::cluster::*;
use common::*;

/// One HTTP GET; the status line and the body.
fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no header end: {text:?}"));
    (head.lines().next().unwrap().to_string(), body.to_string())
}

/// Parses the Prometheus text format strictly enough to catch a broken
/// exposition: every sample's metric has a `# TYPE` line before it, names
/// are valid, values are numbers. Returns `name{labels}` -> value.
fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let mut typed = std::collections::HashSet::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(matches!(kind, "counter" | "gauge"), "{line}");
            assert!(typed.insert(name.to_string()), "TYPE twice: {line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad sample {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && name.starts_with("ais_"), "{line}");
        assert!(typed.contains(name), "sample before its TYPE: {line}");
        if name.ends_with("_total") {
            assert!(value.parse::<u64>().is_ok(), "{line}");
        }
        samples.insert(series.to_string(), value.parse::<f64>().unwrap_or_else(|_| panic!("{line}")));
    }
    samples
}

#[test]
fn one_node_statistics_metrics_endpoint_and_readiness() {
    let dir = TempDir::new("operating1");
    let port = 19405;
    dir.config(&format!("aisexec {{\n  metrics: 127.0.0.1:{port}\n}}\n{QUIET}"));
    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut e = Exec::start_with(&dir, |c| {
        c.env("NOTIFY_SOCKET", &notify_path);
    });
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1");

    let before = stats(&dir.socket());
    assert_eq!(before["cluster.members"], 1);
    assert!(before.contains_key("service.ckpt.checkpoints"), "{before:?}");
    // A STATUS request through a client, then the counters moved.
    let mut c = Client::connect(&dir.socket(), ais_ipc::service::CFG);
    c.status().unwrap();
    let after = stats(&dir.socket());
    assert!(after["service.cfg.requests"] >= before["service.cfg.requests"] + 2, "{after:?}");
    assert!(after["ipc.accepted"] > before["ipc.accepted"], "{after:?}");
    drop(c);

    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let (status, body) = http_get(&addr, "/metrics");
    println!("scrape took {:?}", started.elapsed());
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let m = parse_prometheus(&body);
    assert_eq!(m["ais_cluster_members"], 1.0, "{body}");
    assert!(m["ais_ipc_accepted_total"] >= after["ipc.accepted"] as f64, "{body}");
    assert!(m.contains_key("ais_service_requests_total{service=\"cfg\"}"), "{body}");
    assert_eq!(http_get(&addr, "/other").0, "HTTP/1.1 404 Not Found");

    e.signal(libc::SIGTERM);
    let n = notify.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1");
    assert_eq!(e.wait_exit(Duration::from_secs(10)), Some(0), "{}", e.stderr());
}

#[test]
fn hires_timestamps_and_a_level_in_every_line() {
    let dir = TempDir::new("operating-hires");
    let log = dir.path().join("ais.log");
    dir.config(&format!(
        "logging {{\n to_stderr: no\n to_syslog: no\n to_file: yes\n logfile: {}\n timestamp: hires\n}}\n",
        log.display()
    ));
    let mut e = Exec::start(&dir);
    e.signal(libc::SIGTERM);
    assert_eq!(e.wait_exit(Duration::from_secs(10)), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() >= 3, "{text}");
    for line in text.lines() {
        // "Mon DD HH:MM:SS.mmm level   [SUBSYS] text"
        let (stamp, rest) = line.split_at(20);
        let ms = &stamp[16..19];
        assert!(stamp.as_bytes()[15] == b'.' && ms.bytes().all(|b| b.is_ascii_digit()), "{line}");
        let level = rest.split_whitespace().next().unwrap();
        assert!(["error", "warning", "notice", "info", "debug"].contains(&level), "{line}");
        assert_eq!(rest.find('['), Some(8), "{line}");
    }
}

#[test]
fn a_missing_log_directory_is_named() {
    let dir = TempDir::new("operating-logdir");
    let missing = dir.path().join("no-such-dir");
    dir.config(&format!(
        "logging {{\n to_stderr: no\n to_syslog: no\n to_file: yes\n logfile: {}/ais.log\n}}\n",
        missing.display()
    ));
    let out = command(&dir, &["-f"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("directory {} does not exist", missing.display())), "{err}");
}

#[test]
fn classic_status_addresses_and_shutdown_by_the_tool() {
    let dir = TempDir::new("operating-cfgtool");
    dir.config(QUIET);
    let mut e = Exec::start(&dir);
    let run = |args: &[&str]| {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = ais_tools::cfgtool::run(args, &dir.socket(), &mut out, &mut err);
        (code, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
    };
    let (code, out, err) = run(&["-s"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, include_str!("../../tools/tests/golden/status-loopback.txt"));
    let status = ais_tools::cfgtool::status(&dir.socket()).unwrap();
    let id = status.local_node_id.to_string();
    assert_eq!(run(&["-a", &id]).1, "127.0.0.1\n");
    let (code, _, err) = run(&["-a", "7777"]);
    assert_eq!(code, 1);
    assert!(err.contains("node 7777 is not a member"), "{err}");
    let (code, _, err) = run(&["-H"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(e.wait_exit(Duration::from_secs(10)), Some(0), "{}", e.stderr());
    assert!(e.stderr().contains("shutdown requested by pid"), "{}", e.stderr());
}

#[test]
fn a_metrics_port_in_use_is_named_and_fatal() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = TempDir::new("operating-port");
    dir.config(&format!("aisexec {{\n  metrics: {addr}\n}}\n{QUIET}"));
    let out = command(&dir, &["-f"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("cannot listen on 127.0.0.1 port {}", addr.port())), "{err}");
}

#[test]
fn a_bad_metrics_address_names_its_line() {
    let dir = TempDir::new("operating-badaddr");
    dir.config("aisexec {\n  metrics: localhost\n}\n");
    let out = command(&dir, &["-t"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains(":2:") && err.contains("metrics"), "{err}");
}

#[test]
fn the_systemd_unit_verifies() {
    let Ok(v) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("SKIPPED: no systemd-analyze");
        return;
    };
    assert!(v.status.success());
    let dir = TempDir::new("operating-unit");
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../init/aisexec.service.in")).unwrap();
    let bin = dir.path().join("aisexec");
    std::fs::copy(AISEXEC, &bin).unwrap();
    let unit = unit.replace("@SBINDIR@", dir.path().to_str().unwrap()).replace("@SYSCONFDIR@", "/etc");
    assert!(unit.contains("Type=notify"), "{unit}");
    let path = dir.path().join("aisexec.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&path).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && !text.contains("aisexec.service"), "{text}");
}

#[test]
fn three_nodes_under_load_show_moving_counters_and_retransmits() {
    use ais_tools::bench::{self, EvsConn, RoundState};
    use std::sync::{Arc, Mutex};

    let Some(c) = Cluster::start("stats", "239.192.77.9", false, false) else { return };
    let all = [v4_id(1), v4_id(2), v4_id(3)];
    c.wait(&[(1, &all), (2, &all), (3, &all)], Duration::from_secs(10));
    let before: Vec<_> = (1..=3).map(|i| stats(&c.dir(i).socket())).collect();
    for s in &before {
        assert_eq!(s["cluster.members"], 3, "{s:?}");
        assert_eq!(s["totem.interface0.faulty"], 0, "{s:?}");
    }

    let mut sender = EvsConn::connect(&c.dir(1).socket()).unwrap();
    let mut receivers = Vec::new();
    let mut threads = Vec::new();
    for i in [2, 3] {
        let mut conn = EvsConn::connect(&c.dir(i).socket()).unwrap();
        let state = Arc::new(Mutex::new(RoundState::default()));
        let st = Arc::clone(&state);
        let dispatch = conn.take_dispatch().unwrap();
        threads.push(std::thread::spawn(move || bench::receive(dispatch, st)));
        receivers.push((conn, state));
    }
    let states: Vec<_> = receivers.iter().map(|(_, s)| Arc::clone(s)).collect();
    let r = bench::round(
        std::slice::from_mut(&mut sender),
        &states,
        1000,
        Duration::from_millis(400),
        Duration::from_secs(10),
    );
    assert!(r.sent > 0 && r.errors.is_empty(), "{:?}\n{}", r.errors, c.logs());
    let loaded: Vec<_> = (1..=3).map(|i| stats(&c.dir(i).socket())).collect();
    assert!(loaded[0]["totem.ring0.sent"] > before[0]["totem.ring0.sent"], "{:?}", loaded[0]);
    assert!(loaded[0]["service.evs.requests"] >= before[0]["service.evs.requests"] + r.sent, "{:?}", loaded[0]);
    for i in [1, 2] {
        assert!(loaded[i]["totem.ring0.received"] > before[i]["totem.ring0.received"], "{:?}", loaded[i]);
        assert!(loaded[i]["service.evs.ordered"] >= before[i]["service.evs.ordered"] + r.sent, "{:?}", loaded[i]);
    }

    // Node 3's switch port passes only 2 Mbit/s with a small queue: the
    // frames of a burst beyond it are dropped, node 3 asks for them again.
    let sw = c.lab.switch_ns();
    let tc = Command::new("ip")
        .args(["netns", "exec", &sw, "tc", "qdisc", "add", "dev", "p3", "root", "tbf"])
        .args(["rate", "2mbit", "burst", "16kb", "limit", "16kb"])
        .output()
        .unwrap();
    if !tc.status.success() {
        eprintln!("SKIPPED retransmits: tc tbf: {}", String::from_utf8_lossy(&tc.stderr));
        return;
    }
    let r = bench::round(
        std::slice::from_mut(&mut sender),
        &states,
        1000,
        Duration::from_millis(1000),
        Duration::from_secs(20),
    );
    println!("under the rate limit: {} sent, {:.0} msg/s", r.sent, r.msgs_per_s);
    let _ = Command::new("ip").args(["netns", "exec", &sw, "tc", "qdisc", "del", "dev", "p3", "root"]).output();
    let deadline = Instant::now() + Duration::from_secs(10);
    let moved = |now: &[BTreeMap<String, u64>], key: &str| -> Vec<u64> {
        (0..3).map(|i| now[i][key] - loaded[i][key]).collect::<Vec<u64>>()
    };
    let (retransmitted, asked, seen) = loop {
        let now: Vec<_> = (1..=3).map(|i| stats(&c.dir(i).socket())).collect();
        let n: u64 = moved(&now, "totem.ring0.retransmitted").iter().sum();
        let asked = moved(&now, "totem.ring0.retransmit_requests_sent");
        let seen: u64 = moved(&now, "totem.ring0.retransmit_requests_received").iter().sum();
        if (n > 0 && asked[2] > 0) || Instant::now() > deadline {
            break (n, asked, seen);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(retransmitted > 0, "no retransmits behind the rate limit\n{}", c.logs());
    // Node 3 (behind the limit) asked; the others saw the requests.
    assert!(asked[2] > 0, "node 3 asked for no retransmission: {asked:?}\n{}", c.logs());
    assert!(seen > 0, "no node saw a request");
    println!("retransmitted {retransmitted} frames; requests sent per node {asked:?}, seen {seen}");
    assert!(c.logs().contains("Retransmit: "), "no retransmit line\n{}", c.logs());
    // Node 3 says it missed frames (its line comes within the report gap).
    let asked_line = |logs: &str| {
        logs.lines()
            .filter_map(|l| l.split_once(" missed here")?.0.rsplit(' ').next()?.parse::<u64>().ok())
            .any(|n| n > 0)
    };
    let deadline = Instant::now() + aisexec::ring_watch::RETRANSMIT_REPORT_GAP + Duration::from_secs(2);
    while !asked_line(&c.logs()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(asked_line(&c.logs()), "no node logged frames it missed\n{}", c.logs());
    drop(sender);
    drop(receivers);
    for t in threads {
        t.join().unwrap();
    }
}

/// Issue 25, item 8 (rekeying), live: three executives with `secauth: on`
/// and `rekey_interval: 200` keep one ring while it moves to fresh keys
/// several times under an EVS load: every message reaches both other
/// nodes in order, no membership change, no frame met a receiver that
/// lacked its key.
#[test]
fn a_secure_ring_rekeys_under_load_without_a_membership_change() {
    use ais_tools::bench::{self, EvsConn, RoundState};
    use std::sync::{Arc, Mutex};

    let edit = |t: String| t.replacen("  token: ", "  rekey_interval: 200\n  token: ", 1);
    let Some(c) = Cluster::start_edited("rekey", "239.192.77.11", false, true, edit) else { return };
    let all = [v4_id(1), v4_id(2), v4_id(3)];
    c.wait(&[(1, &all), (2, &all), (3, &all)], Duration::from_secs(10));
    let before: Vec<_> = (1..=3).map(|i| stats(&c.dir(i).socket())).collect();
    let mut sender = EvsConn::connect(&c.dir(1).socket()).unwrap();
    let mut receivers = Vec::new();
    let mut threads = Vec::new();
    for i in [2, 3] {
        let mut conn = EvsConn::connect(&c.dir(i).socket()).unwrap();
        let state = Arc::new(Mutex::new(RoundState::default()));
        let st = Arc::clone(&state);
        let dispatch = conn.take_dispatch().unwrap();
        threads.push(std::thread::spawn(move || bench::receive(dispatch, st)));
        receivers.push((conn, state));
    }
    let states: Vec<_> = receivers.iter().map(|(_, s)| Arc::clone(s)).collect();
    let r = bench::round(
        std::slice::from_mut(&mut sender),
        &states,
        1000,
        Duration::from_millis(2000),
        Duration::from_secs(10),
    );
    assert!(r.sent > 0 && r.errors.is_empty(), "{:?}\n{}", r.errors, c.logs());
    let after: Vec<_> = (1..=3).map(|i| stats(&c.dir(i).socket())).collect();
    for i in 0..3 {
        let rekeys = after[i]["totem.ring0.rekeys"] - before[i]["totem.ring0.rekeys"];
        assert!(rekeys >= 4, "node {}: {rekeys} rekeys in 2 s\n{:?}", i + 1, after[i]);
        assert_eq!(after[i]["totem.ring0.rings_installed"], before[i]["totem.ring0.rings_installed"], "node {}", i + 1);
        assert_eq!(
            after[i]["totem.interface0.unknown_key"],
            before[i]["totem.interface0.unknown_key"],
            "node {}: a frame under a key it did not hold",
            i + 1
        );
    }
    for i in [1, 2] {
        assert!(after[i]["service.evs.ordered"] >= before[i]["service.evs.ordered"] + r.sent, "{:?}", after[i]);
    }
    println!("{} messages of 1000 bytes, {} rekeys at node 1", r.sent, after[0]["totem.ring0.rekeys"]);
    drop(sender);
    drop(receivers);
    for t in threads {
        let _ = t.join();
    }
}

/// The `ipc.connN.*` gauges of the connections whose `what` is positive.
fn conns_with(s: &BTreeMap<String, u64>, what: &str) -> Vec<(String, u64)> {
    s.iter()
        .filter_map(|(k, v)| {
            let conn = k.strip_prefix("ipc.")?.strip_suffix(&format!(".{what}"))?;
            (conn.starts_with("conn") && *v > 0).then(|| (conn.to_string(), *v))
        })
        .collect()
}

#[test]
fn queue_gauges_show_unread_responses_and_callbacks() {
    use ais_ipc::frame::{read_message, write_message};
    use ais_tools::bench::EvsConn;

    let dir = TempDir::new("operating-queues");
    let port = 19407;
    dir.config(&format!("aisexec {{\n  metrics: 127.0.0.1:{port}\n}}\n{QUIET}"));
    let mut e = Exec::start(&dir);
    let idle = stats(&dir.socket());
    assert_eq!(idle["totem.ring0.send_queue"], 0, "{idle:?}");
    assert_eq!(idle["ipc.callbacks_queued"] + idle["ipc.responses_queued"], 0, "{idle:?}");

    // A client that asks and never reads the answers: they fill its
    // socket, then queue in the executive.
    // Enough to fill the executive's socket buffer twice over (its size
    // is the host's default), so the rest queues in the executive.
    let socket_buffer: usize = std::fs::read_to_string("/proc/sys/net/core/wmem_default")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(212_992);
    if socket_buffer > 1 << 20 {
        // Filling it twice would pass the executive's 4 MB queue limit.
        eprintln!("SKIPPED: socket buffers of {socket_buffer} bytes (net.core.wmem_default)");
        return;
    }
    let mut asker = Client::connect(&dir.socket(), ais_ipc::service::CFG);
    write_message(&mut asker.request, ais_ipc::service::CFG, ais_ipc::cfg::STATUS, &[]).unwrap();
    let answer_size = ais_ipc::HEADER_SIZE + read_message(&mut asker.request).unwrap().1.len();
    let asked = 2 * socket_buffer / answer_size + 1000;
    let mut requests = Vec::new();
    for _ in 0..asked {
        write_message(&mut requests, ais_ipc::service::CFG, ais_ipc::cfg::STATUS, &[]).unwrap();
    }
    asker.request.write_all(&requests).unwrap();
    // A client joined to an EVS group that never reads its deliveries.
    let mut member = EvsConn::connect(&dir.socket()).unwrap();
    let sent = (2 * socket_buffer / (8 * 1024) + 20) as u64;
    for seq in 0..sent {
        member.send_through_library(seq, 8 * 1024).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let piled = loop {
        let s = stats(&dir.socket());
        let full = |what| conns_with(&s, what).len() == 1;
        if (full("responses_queued") && full("callbacks_queued")) || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let responses = conns_with(&piled, "responses_queued");
    let callbacks = conns_with(&piled, "callbacks_queued");
    assert_eq!(responses.len(), 1, "{piled:?}");
    assert_eq!(callbacks.len(), 1, "{piled:?}");
    let (asker_conn, member_conn) = (&responses[0].0, &callbacks[0].0);
    assert_ne!(asker_conn, member_conn);
    assert_eq!(piled[&format!("ipc.{asker_conn}.service")], u64::from(ais_ipc::service::CFG));
    assert_eq!(piled[&format!("ipc.{member_conn}.service")], u64::from(ais_ipc::service::EVS));
    assert_eq!(piled[&format!("ipc.{member_conn}.pid")], u64::from(std::process::id()));
    // Unread: what is queued and what fills the socket.
    assert!(piled[&format!("ipc.{member_conn}.unread_bytes")] > 400 * 1024, "{piled:?}");
    assert!(piled["ipc.callbacks_queued"] >= callbacks[0].1, "{piled:?}");
    assert!(piled["ipc.unread_bytes"] > 400 * 1024, "{piled:?}");
    assert!(piled["service.evs.callbacks_queued"] >= callbacks[0].1, "{piled:?}");
    assert!(piled["service.cfg.responses_queued"] >= responses[0].1, "{piled:?}");

    // The same through the metrics endpoint, a connection as a label.
    let (_, body) = http_get(&format!("127.0.0.1:{port}"), "/metrics");
    let m = parse_prometheus(&body);
    let label = member_conn.trim_start_matches("conn");
    assert!(m[&format!("ais_ipc_conn_callbacks_queued{{conn=\"{label}\"}}")] > 0.0, "{body}");
    assert!(m["ais_ipc_callbacks_queued"] > 0.0, "{body}");
    assert!(m.contains_key("ais_totem_send_queue{ring=\"0\"}"), "{body}");

    // Both clients read everything: their gauges go back to zero (the
    // member's sending connection leaves a few answers unread).
    let mut dispatch = member.take_dispatch().unwrap();
    dispatch.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    asker.request.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let (mut answers, mut deliveries) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while (answers < asked || deliveries < sent) && Instant::now() < deadline {
        if answers < asked && read_message(&mut asker.request).is_ok() {
            answers += 1;
        }
        if deliveries < sent && read_message(&mut dispatch).is_ok() {
            deliveries += 1;
        }
    }
    assert_eq!((answers, deliveries), (asked, sent));
    let drained = stats(&dir.socket());
    for conn in [asker_conn, member_conn] {
        assert_eq!(drained[&format!("ipc.{conn}.unread_bytes")], 0, "{drained:?}");
    }
    assert_eq!(drained["ipc.callbacks_queued"] + drained["ipc.responses_queued"], 0, "{drained:?}");
    drop(member);
    drop(asker);
    e.signal(libc::SIGTERM);
    assert_eq!(e.wait_exit(Duration::from_secs(10)), Some(0), "{}", e.stderr());
}

#[test]
fn an_idle_executive_answers_a_scrape_at_once() {
    // The loop sleeps up to a second when idle; the scrape wakes it. Five
    // scrapes at different points of that second: without the wakeup,
    // most would wait hundreds of milliseconds.
    let dir = TempDir::new("operating-idle-scrape");
    let port = 19408;
    dir.config(&format!("aisexec {{\n  metrics: 127.0.0.1:{port}\n}}\n{QUIET}"));
    let mut e = Exec::start(&dir);
    let addr = format!("127.0.0.1:{port}");
    assert_eq!(http_get(&addr, "/metrics").0, "HTTP/1.1 200 OK");
    let mut took = Vec::new();
    for pause in [130, 270, 410, 550, 690] {
        std::thread::sleep(Duration::from_millis(pause));
        let start = Instant::now();
        let (status, body) = http_get(&addr, "/metrics");
        took.push(start.elapsed());
        assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
        assert!(parse_prometheus(&body).contains_key("ais_cluster_members"), "{body}");
    }
    println!("idle scrapes took {took:?}");
    assert!(took.iter().all(|t| *t < Duration::from_millis(300)), "{took:?}");
    e.signal(libc::SIGTERM);
    assert_eq!(e.wait_exit(Duration::from_secs(10)), Some(0), "{}", e.stderr());
}
