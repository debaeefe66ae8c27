//! Events across a partition and its healing, on three executives in
//! network namespaces this test creates (`ais_tools::netns::Lab`, UDP
//! multicast): both sides publish retained events and create a channel of
//! the same name; when the partition heals, sync merges the replicas
//! (union of retained events, one live channel per name), so a new
//! subscriber on any node receives both sides' retained events once each,
//! and opens made on either side of the same-named channel now reach each
//! other.
//!
//! The clients speak the library wire format (`ais_ipc::evt`) on each
//! executive's unix socket. Every executive is killed and every namespace
//! deleted on every exit path (guards). Needs root and iproute2; otherwise
//! prints SKIPPED and passes, unless AIS_REQUIRE_NETNS=1.

mod common;

use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ais_ipc::evt::{self as wire, Event, Filter, Pulled, Request};
use ais_ipc::frame::{read_message, write_message};
use ais_tools::netns::Lab;
use common::*;

fn node_dir(i: usize) -> TempDir {
    let dir = TempDir::new(&format!("evt-part-n{i}"));
    dir.config(&format!(
        "totem {{\n  version: 2\n  secauth: off\n  token: 1000\n  consensus: 1200\n  \
         interface {{\n    ringnumber: 0\n    bindnetaddr: {}\n    mcastaddr: 239.192.77.10\n    mcastport: 5405\n  }}\n}}\n{QUIET}",
        Lab::network(false)
    ));
    dir
}

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
    let e = Exec { child: cmd.spawn().unwrap(), stderr_path };
    let deadline = Instant::now() + Duration::from_secs(10);
    while UnixStream::connect(dir.socket()).is_err() {
        assert!(Instant::now() < deadline, "aisexec did not start; stderr: {}", e.stderr());
        std::thread::sleep(Duration::from_millis(10));
    }
    e
}

fn node_id(i: usize) -> u32 {
    u32::from_le_bytes(Lab::ipv4(i).octets())
}

fn members(dir: &TempDir) -> Option<Vec<u32>> {
    let mut c = std::panic::catch_unwind(|| Client::connect(&dir.socket(), ais_ipc::service::CFG)).ok()?;
    let mut m: Vec<u32> = c.status().ok()?.members.iter().map(|m| m.node_id).collect();
    m.sort();
    Some(m)
}

/// An event library connection to one executive.
struct Evt(Client);

impl Evt {
    fn connect(dir: &TempDir) -> Evt {
        Evt(Client::connect(&dir.socket(), ais_ipc::service::EVT))
    }

    /// One request; (error, payload). TRY_AGAIN (sync) is retried for 20 s.
    fn call(&mut self, req: &Request) -> (u32, Vec<u8>) {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            write_message(&mut self.0.request, ais_ipc::service::EVT, req.id(), &req.encode()).unwrap();
            let (h, body) = read_message(&mut self.0.request).unwrap();
            assert_eq!(h.id, req.id());
            let error = u32::from_le_bytes(body[..4].try_into().unwrap());
            if error != ais_ipc::error::TRY_AGAIN || Instant::now() > until {
                return (error, body[4..].to_vec());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ok(&mut self, req: &Request) -> Vec<u8> {
        let (e, p) = self.call(req);
        assert_eq!(e, ais_ipc::error::OK, "{req:?}");
        p
    }

    fn open(&mut self, name: &str, flags: u8) -> u64 {
        let p = self.ok(&Request::Open { token: 0, is_async: false, name: name.as_bytes().to_vec(), flags });
        u64::from_le_bytes(p[..8].try_into().unwrap())
    }

    fn publish(&mut self, open: u64, data: &str, retention: i64) -> u64 {
        let event = Event { patterns: vec![b"p".to_vec()], priority: 1, retention, data: data.into(), ..Event::default() };
        let p = self.ok(&Request::Publish { open, event });
        u64::from_le_bytes(p[..8].try_into().unwrap())
    }

    fn subscribe(&mut self, open: u64, sub: u32) {
        self.ok(&Request::Subscribe { open, sub, filters: vec![Filter { kind: wire::PASS_ALL_FILTER, pattern: vec![] }] });
    }

    /// Pulls until `want` events arrived (or 10 s), then once more.
    fn pull(&mut self, want: usize) -> Vec<Pulled> {
        let mut got = Vec::new();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            match Pulled::decode(&self.ok(&Request::Pull)).unwrap() {
                Some(p) => got.push(p),
                None if got.len() >= want => break,
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        got
    }
}

const ALL: u8 = wire::CREATE | wire::PUBLISHER | wire::SUBSCRIBER;
const HOUR: i64 = 3_600_000_000_000;

#[test]
fn a_partition_heals_into_one_event_replica() {
    let lab = match Lab::create("evtp", 3) {
        Ok(lab) => lab,
        Err(e) if std::env::var("AIS_REQUIRE_NETNS").is_ok_and(|v| v == "1") => panic!("no namespaces: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: cannot create network namespaces: {e}");
            return;
        }
    };
    let dirs: Vec<TempDir> = (1..=3).map(node_dir).collect();
    let execs: Vec<Exec> = (1..=3).map(|i| start(&lab, i, &dirs[i - 1])).collect();
    let logs = || execs.iter().map(|e| e.stderr()).collect::<Vec<_>>().join("\n----\n");
    let wait = |want: &[(usize, Vec<u32>)]| {
        let start = Instant::now();
        while !want.iter().all(|(i, m)| members(&dirs[i - 1]).as_ref() == Some(m)) {
            assert!(start.elapsed() < Duration::from_secs(15), "no configuration {want:?}\n{}", logs());
            std::thread::sleep(Duration::from_millis(20));
        }
        start.elapsed()
    };
    let all = vec![node_id(1), node_id(2), node_id(3)];
    wait(&[(1, all.clone()), (2, all.clone()), (3, all.clone())]);

    let mut c1 = Evt::connect(&dirs[0]);
    let mut c3 = Evt::connect(&dirs[2]);
    let ch1 = c1.open("ch", ALL);
    let ch3 = c3.open("ch", ALL);
    let before = c1.publish(ch1, "before", HOUR);

    // Partition: {1, 2} | {3}. Each side retains an event and creates "new".
    lab.isolate(3).unwrap();
    let t = wait(&[(1, vec![node_id(1), node_id(2)]), (2, vec![node_id(1), node_id(2)]), (3, vec![node_id(3)])]);
    println!("partition 2+1 installed in {t:?}");
    let left = c1.publish(ch1, "left", HOUR);
    let right = c3.publish(ch3, "right", HOUR);
    let new1 = c1.open("new", ALL);
    let new3 = c3.open("new", ALL);
    c3.subscribe(new3, 9);

    // Heal: a new subscriber anywhere gets all three retained events once.
    lab.reconnect(3).unwrap();
    let t = wait(&[(1, all.clone()), (2, all.clone()), (3, all.clone())]);
    println!("healed into one ring in {t:?}");
    let mut want = vec![before, left, right];
    want.sort();
    for dir in &dirs {
        let mut c = Evt::connect(dir);
        let s = c.open("ch", wire::SUBSCRIBER);
        c.subscribe(s, 1);
        let mut ids: Vec<u64> = c.pull(3).iter().map(|p| p.event.id).collect();
        ids.sort();
        assert_eq!(ids, want, "retained events after the merge\n{}", logs());
    }
    // The two "new" channels are one now.
    c1.publish(new1, "across", 0);
    let got = c3.pull(1);
    assert_eq!(got.len(), 1, "{got:?}\n{}", logs());
    assert_eq!((got[0].sub, got[0].open, &got[0].event.data[..]), (9, new3, &b"across"[..]));
    drop(execs);
    drop(lab);
}
