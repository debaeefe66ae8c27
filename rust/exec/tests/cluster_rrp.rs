//! Redundant ring in network namespaces: three executives, each with two
//! interfaces (`eth0` on bridge `br0`, `eth1` on bridge `br1`, created by
//! `ais_tools::netns::Lab::create_redundant`), UDP multicast on both rings,
//! `rrp_mode: active` (secauth off) and `passive` (secauth on).
//!
//! The ring forms over both networks; one network is cut for every node
//! (its switch ports leave the bridge; network 1 in active mode, network 0
//! in passive mode): no configuration change anywhere, every node reports
//! `ringN_status: FAULTY` and logs `Marking ringid N ... FAULTY`; the
//! network comes back and `ais-cfgtool -r` on one node re-enables the ring
//! on every node; the ring id and members never change.
//!
//! Every executive is killed by pid and every namespace deleted on every
//! exit path (guards). Needs root and iproute2; otherwise prints SKIPPED
//! and passes, unless AIS_REQUIRE_NETNS=1.

mod common;

use std::time::{Duration, Instant};

use ais_ipc::cfg::Status;
use ais_tools::netns::Lab;
use common::cluster::v4_id;
use common::*;

/// One test at a time: both use every core for a while.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lab(tag: &str) -> Option<Lab> {
    common::cluster::lab_or_skip(tag, Lab::create_redundant(tag, 3))
}

fn node_dir(tag: &str, i: usize, mode: &str, secauth: bool) -> TempDir {
    let dir = TempDir::new(&format!("rrp-{tag}-n{i}"));
    if secauth {
        write_authkey(&dir.path().join("authkey"), &[0x5Au8; 128]);
    }
    let secauth = if secauth { "on" } else { "off" };
    dir.config(&format!(
        "totem {{\n  version: 2\n  secauth: {secauth}\n  token: 1000\n  consensus: 1200\n  rrp_mode: {mode}\n\
         interface {{\n    ringnumber: 0\n    bindnetaddr: 10.0.0.0\n    mcastaddr: 239.192.77.1\n    mcastport: 5405\n  }}\n\
         interface {{\n    ringnumber: 1\n    bindnetaddr: 10.0.1.0\n    mcastaddr: 239.192.78.1\n    mcastport: 5405\n  }}\n}}\n{QUIET}{POLLING}"
    ));
    dir
}

fn status(dir: &TempDir) -> Option<Status> {
    ais_tools::cfgtool::status(&dir.socket()).ok()
}

fn ring_status(s: &Status, ring: u32) -> &str {
    s.rings.iter().find(|r| r.number == ring).map_or("missing", |r| r.status.as_str())
}

/// Executives are dropped (killed) before the lab.
struct Cluster {
    execs: Vec<Exec>,
    dirs: Vec<TempDir>,
    lab: Lab,
}

impl Cluster {
    fn logs(&self) -> String {
        self.execs.iter().enumerate().map(|(i, e)| format!("--- node {} ---\n{}", i + 1, e.stderr())).collect()
    }

    /// Waits until `ok` holds for every node's status; the statuses.
    fn wait(&self, what: &str, limit: Duration, ok: impl Fn(&Status) -> bool) -> Vec<Status> {
        let start = Instant::now();
        loop {
            let all: Vec<Option<Status>> = self.dirs.iter().map(status).collect();
            if all.iter().all(|s| s.as_ref().is_some_and(&ok)) {
                println!("{what}: {:?}", start.elapsed());
                return all.into_iter().flatten().collect();
            }
            if start.elapsed() > limit {
                panic!("{what}: not within {limit:?}; seen {all:#?}\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn members(s: &Status) -> Vec<u32> {
    let mut m: Vec<u32> = s.members.iter().map(|m| m.node_id).collect();
    m.sort();
    m
}

fn one_ring_lost_and_reenabled(mode: &str, net: u32, secauth: bool) {
    let other = 1 - net;
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tag = format!("rrp{}", &mode[..1]);
    let Some(lab) = lab(&tag) else { return };
    let dirs: Vec<TempDir> = (1..=3).map(|i| node_dir(&tag, i, mode, secauth)).collect();
    let mut c = Cluster { execs: Vec::new(), dirs, lab };
    for i in 1..=3 {
        let e = common::cluster::start_in(&c.lab, i, &c.dirs[i - 1]);
        c.execs.push(e);
    }
    let all = vec![v4_id(1), v4_id(2), v4_id(3)];
    let healthy = |s: &Status| {
        members(s) == all && ring_status(s, 0) == "active, no faults" && ring_status(s, 1) == "active, no faults"
    };
    let formed = c.wait(&format!("{mode}: 3-node ring on both networks"), Duration::from_secs(15), healthy);
    let ring_id = (formed[0].ring_rep, formed[0].ring_seq);
    // Log lengths once formed: later membership lines would be changes.
    let formed_at: Vec<usize> = c.execs.iter().map(|e| e.stderr().len()).collect();
    assert!(formed.iter().all(|s| (s.ring_rep, s.ring_seq) == ring_id), "{formed:?}");
    // The member address lists both rings.
    assert!(formed[0].members.iter().any(|m| m.address.contains("10.0.1.")), "{formed:?}");

    // Load from every node (EVS, agreed order; every receiver checks each
    // sender's sequence: no loss, reorder or duplicate): first with both
    // rings up (no spurious fault), then while the network goes away for
    // every node, 300 ms into the round.
    use ais_tools::bench::{self, EvsConn, RoundState};
    use std::sync::{Arc, Mutex};
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
    let r = bench::round(&mut senders, &receivers, 1000, Duration::from_millis(700), Duration::from_secs(10));
    println!("{mode}: {} messages of 1000 B with both rings, {:.0} msg/s", r.sent, r.msgs_per_s);
    assert!(r.sent >= 3 && r.errors.is_empty(), "{:?}\n{}", r.errors, c.logs());
    c.wait(&format!("{mode}: both rings still fine after load"), Duration::from_millis(100), healthy);
    // Detection time under load: from the cut until every node says FAULTY.
    let detected = std::sync::OnceLock::new();
    let r = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            c.lab.network_down(net as usize).unwrap();
            let cut = Instant::now();
            while cut.elapsed() < Duration::from_secs(10) {
                let all = c.dirs.iter().map(status).all(|s| s.is_some_and(|s| ring_status(&s, net) == "FAULTY"));
                if all {
                    let _ = detected.set(cut.elapsed());
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        bench::round(&mut senders, &receivers, 1000, Duration::from_millis(1500), Duration::from_secs(10))
    });
    println!("{mode}: {} messages of 1000 B while network {net} went down, {:.0} msg/s", r.sent, r.msgs_per_s);
    assert!(r.sent >= 3 && r.errors.is_empty(), "{:?}\n{}", r.errors, c.logs());
    drop(senders);
    for t in threads {
        t.join().unwrap();
    }

    let same_ring = |s: &Status| (s.ring_rep, s.ring_seq) == ring_id && members(s) == all;
    c.wait(&format!("{mode}: ring {net} FAULTY everywhere"), Duration::from_secs(10), |s| {
        same_ring(s) && ring_status(s, net) == "FAULTY" && ring_status(s, other) == "active, no faults"
    });
    if let Some(t) = detected.get() {
        println!("{mode}: ring {net} FAULTY on every node {t:?} after the cut, under load");
    }
    // Still the same ring a while later (token 1000: a loss would show).
    std::thread::sleep(Duration::from_millis(2500));
    c.wait(&format!("{mode}: unchanged while ring {net} is down"), Duration::from_millis(100), |s| {
        same_ring(s) && ring_status(s, net) == "FAULTY"
    });
    for (i, e) in c.execs.iter().enumerate() {
        let log = e.stderr();
        let want = format!("Marking ringid {net} interface {} FAULTY", Lab::ipv4_on(net as u8, i + 1));
        assert!(log.contains(&want), "node {}: no '{want}':\n{log}", i + 1);
    }

    // The network is back; `ais-cfgtool -r` on node 2 re-enables the ring
    // everywhere.
    c.lab.network_up(net as usize).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ais_tools::cfgtool::run(&["-r"], &c.dirs[1].socket(), &mut out, &mut err);
    assert_eq!(code, 0, "ais-cfgtool -r: {}", String::from_utf8_lossy(&err));
    c.wait(&format!("{mode}: ring {net} active again everywhere"), Duration::from_secs(5), |s| {
        same_ring(s) && ring_status(s, net) == "active, no faults"
    });
    // And it stays so (both networks carry traffic again).
    std::thread::sleep(Duration::from_millis(1500));
    c.wait(&format!("{mode}: still healthy"), Duration::from_millis(100), |s| same_ring(s) && healthy(s));
    for (i, e) in c.execs.iter().enumerate() {
        let log = e.stderr();
        let since = log.get(formed_at[i]..).unwrap_or("");
        assert!(
            !since.contains("processor left") && !since.contains("configuration:"),
            "node {}: membership changed:\n{log}",
            i + 1
        );
        assert!(log.contains("re-enabled"), "node {}: no re-enable line:\n{log}", i + 1);
    }
}

#[test]
fn active_rrp_survives_one_network_and_reenables() {
    one_ring_lost_and_reenabled("active", 1, false);
}

#[test]
fn passive_rrp_survives_one_network_and_reenables() {
    // secauth on: one sealed frame opens on both rings.
    one_ring_lost_and_reenabled("passive", 0, true);
}
