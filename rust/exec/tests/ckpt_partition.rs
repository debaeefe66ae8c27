//! Checkpoints across a partition and its healing, on three executives in
//! network namespaces this test creates (`ais_tools::netns::Lab`, UDP
//! multicast): both sides keep working on their own; when the partition
//! heals, sync merges the two stores by the documented rule (a checkpoint
//! both sides changed keeps the copy of the side with the lowest node id;
//! checkpoints only one side has are kept), every node ends with the same
//! content, and an open made on the losing side stays usable.
//!
//! The clients speak the library wire format (`ais_ipc::ckpt`) on each
//! executive's unix socket. Every executive is killed and every namespace
//! deleted on every exit path (guards). Needs root and iproute2; otherwise
//! prints SKIPPED and passes, unless AIS_REQUIRE_NETNS=1.

mod common;

use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ais_ipc::ckpt::{self as wire, Attrs, ReadElement, Request, VectorResult, WriteElement};
use ais_ipc::frame::{read_message, write_message};
use ais_tools::netns::Lab;
use common::*;

fn node_dir(i: usize) -> TempDir {
    let dir = TempDir::new(&format!("ckpt-part-n{i}"));
    dir.config(&format!(
        "totem {{\n  version: 2\n  secauth: off\n  token: 1000\n  consensus: 1200\n  \
         interface {{\n    ringnumber: 0\n    bindnetaddr: {}\n    mcastaddr: 239.192.77.9\n    mcastport: 5405\n  }}\n}}\n{QUIET}",
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

/// A checkpoint library connection to one executive.
struct Ckpt(Client);

impl Ckpt {
    fn connect(dir: &TempDir) -> Ckpt {
        Ckpt(Client::connect(&dir.socket(), ais_ipc::service::CKPT))
    }

    /// One request; (error, payload). TRY_AGAIN (sync) is retried for 20 s.
    fn call(&mut self, req: &Request) -> (u32, Vec<u8>) {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            write_message(&mut self.0.request, ais_ipc::service::CKPT, req.id(), &req.encode()).unwrap();
            let (h, body) = read_message(&mut self.0.request).unwrap();
            assert_eq!(h.id, req.id());
            let error = u32::from_le_bytes(body[..4].try_into().unwrap());
            if error != ais_ipc::error::TRY_AGAIN || Instant::now() > until {
                return (error, body[4..].to_vec());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn open(&mut self, name: &str, create: bool) -> u64 {
        let attrs = Attrs {
            creation_flags: wire::WR_ALL_REPLICAS,
            checkpoint_size: 1000,
            retention: 3_600_000_000_000,
            max_sections: 1,
            max_section_size: 1000,
            max_section_id_size: 8,
        };
        let flags = wire::OPEN_READ | wire::OPEN_WRITE | if create { wire::OPEN_CREATE } else { 0 };
        let req = Request::Open {
            token: 0,
            is_async: false,
            name: name.as_bytes().to_vec(),
            attrs: create.then_some(attrs),
            flags,
        };
        let (e, p) = self.call(&req);
        assert_eq!(e, ais_ipc::error::OK, "open {name}");
        u64::from_le_bytes(p[..8].try_into().unwrap())
    }

    fn write(&mut self, open: u64, data: &str) {
        let req = Request::Write {
            open,
            elements: vec![WriteElement { id: vec![], offset: 0, data: format!("{data:<8}").into_bytes() }],
        };
        let (e, p) = self.call(&req);
        assert_eq!(e, ais_ipc::error::OK);
        assert_eq!(VectorResult::decode(&p).unwrap().error, ais_ipc::error::OK, "write {data}");
    }

    fn read(&mut self, open: u64) -> String {
        let req = Request::Read { open, elements: vec![ReadElement { id: vec![], offset: 0, size: 0 }] };
        let (e, p) = self.call(&req);
        assert_eq!(e, ais_ipc::error::OK);
        let v = VectorResult::decode(&p).unwrap();
        assert_eq!(v.error, ais_ipc::error::OK);
        String::from_utf8_lossy(&v.data[0]).trim().to_string()
    }

    fn exists(&mut self, name: &str) -> bool {
        let req =
            Request::Open { token: 0, is_async: false, name: name.as_bytes().to_vec(), attrs: None, flags: wire::OPEN_READ };
        self.call(&req).0 == ais_ipc::error::OK
    }
}

#[test]
fn a_partition_heals_into_one_store_by_the_merge_rule() {
    let lab = match Lab::create("ckptp", 3) {
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

    let mut c1 = Ckpt::connect(&dirs[0]);
    let mut c3 = Ckpt::connect(&dirs[2]);
    let shared1 = c1.open("shared", true);
    c1.write(shared1, "before");
    let shared3 = c3.open("shared", false);
    assert_eq!(c3.read(shared3), "before");

    // Partition: {1, 2} | {3}. Both sides change "shared" and make their own.
    lab.isolate(3).unwrap();
    let t = wait(&[(1, vec![node_id(1), node_id(2)]), (2, vec![node_id(1), node_id(2)]), (3, vec![node_id(3)])]);
    println!("partition 2+1 installed in {t:?}");
    c1.write(shared1, "left");
    c3.write(shared3, "right");
    let o1 = c1.open("only-left", true);
    c1.write(o1, "L");
    let o3 = c3.open("only-right", true);
    c3.write(o3, "R");
    assert_eq!(c3.read(shared3), "right");
    assert_eq!(c1.read(shared1), "left");

    // Heal: one store again, the same on every node.
    lab.reconnect(3).unwrap();
    let t = wait(&[(1, all.clone()), (2, all.clone()), (3, all.clone())]);
    println!("healed into one ring in {t:?}");
    let mut c2 = Ckpt::connect(&dirs[1]);
    for c in [&mut c1, &mut c2, &mut c3] {
        assert!(c.exists("only-left") && c.exists("only-right"));
        let h = c.open("shared", false);
        assert_eq!(c.read(h), "left", "the lowest node's side wins\n{}", logs());
        let h = c.open("only-right", false);
        assert_eq!(c.read(h), "R");
    }
    // The losing side's open now names the winning copy, and still works.
    assert_eq!(c3.read(shared3), "left");
    c3.write(shared3, "after");
    let h = c1.open("shared", false);
    assert_eq!(c1.read(h), "after");
    drop(execs);
    drop(lab);
}
