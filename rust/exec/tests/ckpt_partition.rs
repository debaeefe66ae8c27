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

use std::time::Duration;

use ais_ipc::ckpt::{self as wire, Attrs, ReadElement, Request, VectorResult, WriteElement};
use common::cluster::{Cluster, v4_id};
use common::*;

/// A checkpoint library connection to one executive.
struct Ckpt(Client);

impl Ckpt {
    fn connect(dir: &TempDir) -> Ckpt {
        Ckpt(Client::connect(&dir.socket(), ais_ipc::service::CKPT))
    }

    /// One request; (error, payload). TRY_AGAIN (sync) is retried for 20 s.
    fn call(&mut self, req: &Request) -> (u32, Vec<u8>) {
        self.0.call_retrying(ais_ipc::service::CKPT, req.id(), &req.encode())
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
        let req = Request::Open {
            token: 0,
            is_async: false,
            name: name.as_bytes().to_vec(),
            attrs: None,
            flags: wire::OPEN_READ,
        };
        self.call(&req).0 == ais_ipc::error::OK
    }
}

#[test]
fn a_partition_heals_into_one_store_by_the_merge_rule() {
    let Some(cluster) = Cluster::start("ckptp", "239.192.77.9", false, false) else { return };
    let wait = |want: &[(usize, &[u32])]| cluster.wait(want, Duration::from_secs(15));
    let all = [v4_id(1), v4_id(2), v4_id(3)];
    let (side12, side3) = ([v4_id(1), v4_id(2)], [v4_id(3)]);
    wait(&[(1, &all), (2, &all), (3, &all)]);

    let mut c1 = Ckpt::connect(cluster.dir(1));
    let mut c3 = Ckpt::connect(cluster.dir(3));
    let shared1 = c1.open("shared", true);
    c1.write(shared1, "before");
    let shared3 = c3.open("shared", false);
    assert_eq!(c3.read(shared3), "before");

    // Partition: {1, 2} | {3}. Both sides change "shared" and make their own.
    cluster.lab.isolate(3).unwrap();
    let t = wait(&[(1, &side12), (2, &side12), (3, &side3)]);
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
    cluster.lab.reconnect(3).unwrap();
    let t = wait(&[(1, &all), (2, &all), (3, &all)]);
    println!("healed into one ring in {t:?}");
    let mut c2 = Ckpt::connect(cluster.dir(2));
    for c in [&mut c1, &mut c2, &mut c3] {
        assert!(c.exists("only-left") && c.exists("only-right"));
        let h = c.open("shared", false);
        assert_eq!(c.read(h), "left", "the lowest node's side wins\n{}", cluster.logs());
        let h = c.open("only-right", false);
        assert_eq!(c.read(h), "R");
    }
    // The losing side's open now names the winning copy, and still works.
    assert_eq!(c3.read(shared3), "left");
    c3.write(shared3, "after");
    let h = c1.open("shared", false);
    assert_eq!(c1.read(h), "after");
}
