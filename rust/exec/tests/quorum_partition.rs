//! Acknowledged checkpoint writes across a partition and its healing, on
//! three executives in network namespaces this test creates
//! (`ais_tools::netns::Lab`, UDP multicast). Node 3's link is cut while a
//! writer on node 1 and one on node 3 overwrite one checkpoint as fast as
//! they are answered; the writers stop, the link comes back.
//!
//! With `quorum { expected_votes: 3 }`: node 3 alone is not quorate, every
//! write there is refused (`TRY_AGAIN`) while reads still answer, and after
//! the heal every node holds node 1's last acknowledged value: no
//! acknowledged write is lost. Without a quorum section: both sides
//! acknowledge writes, the heal keeps one side (today's rule), node 3's
//! acknowledged writes are lost, and the log warned about it at start.
//!
//! The clients speak the library wire format (`ais_ipc::ckpt`). Every
//! executive is killed and every namespace deleted on every exit path
//! (guards). Needs root and iproute2; otherwise prints SKIPPED and passes,
//! unless AIS_REQUIRE_NETNS=1.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ais_ipc::cfg::{QUORATE, QUORUM_CONFIGURED, QuorumStatus};
use ais_ipc::ckpt::{self as wire, Attrs, ReadElement, Request, VectorResult, WriteElement};
use ais_ipc::error;
use common::cluster::{Cluster, v4_id};
use common::*;

const QUORUM: &str = "quorum {\n  provider: corosync_votequorum\n  expected_votes: 3\n}\n";
/// How long the writers run once the partition is installed.
const WRITING: Duration = Duration::from_secs(3);

struct Ckpt(Client);

impl Ckpt {
    fn connect(dir: &TempDir) -> Ckpt {
        Ckpt(Client::connect(&dir.socket(), ais_ipc::service::CKPT))
    }

    fn open(&mut self, name: &str, create: bool) -> u64 {
        let attrs = Attrs {
            creation_flags: wire::WR_ALL_REPLICAS,
            checkpoint_size: 100,
            retention: 3_600_000_000_000,
            max_sections: 1,
            max_section_size: 100,
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
        let (e, p) = self.0.call_retrying(ais_ipc::service::CKPT, req.id(), &req.encode());
        assert_eq!(e, error::OK, "open {name}");
        u64::from_le_bytes(p[..8].try_into().unwrap())
    }

    /// One write, answered as it is: the error.
    fn write(&mut self, open: u64, data: &str) -> u32 {
        let req = Request::Write {
            open,
            elements: vec![WriteElement { id: vec![], offset: 0, data: format!("{data:<12}").into_bytes() }],
        };
        let (e, p) = self.0.call_once(ais_ipc::service::CKPT, req.id(), &req.encode());
        if e != error::OK {
            return e;
        }
        VectorResult::decode(&p).unwrap().error
    }

    fn read(&mut self, open: u64) -> Result<String, u32> {
        let req = Request::Read { open, elements: vec![ReadElement { id: vec![], offset: 0, size: 0 }] };
        let (e, p) = self.0.call_retrying(ais_ipc::service::CKPT, req.id(), &req.encode());
        if e != error::OK {
            return Err(e);
        }
        let v = VectorResult::decode(&p).unwrap();
        if v.error != error::OK {
            return Err(v.error);
        }
        Ok(String::from_utf8_lossy(&v.data[0]).trim().to_string())
    }
}

/// What one writer saw.
#[derive(Debug, Default)]
struct Written {
    acked: Vec<String>,
    try_again: u64,
    other: Vec<u32>,
}

/// Overwrites `open` with `tag-<n>` until `stop`, one write at a time.
fn writer(mut c: Ckpt, open: u64, tag: &str, stop: &AtomicBool) -> Written {
    let mut w = Written::default();
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let value = format!("{tag}-{n}");
        match c.write(open, &value) {
            error::OK => w.acked.push(value),
            error::TRY_AGAIN => {
                w.try_again += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            e => w.other.push(e),
        }
    }
    w
}

/// The quorum node `i` reports (as `ais-cfgtool -k` shows it).
fn quorum_of(cluster: &Cluster, i: usize) -> QuorumStatus {
    Client::connect(&cluster.dir(i).socket(), ais_ipc::service::CFG).status().unwrap().quorum
}

/// Cuts node 3 off with a writer on each side, stops them, heals; what
/// each writer saw, the value each node reads after the heal, and the
/// quorum of nodes 1 and 3 during the partition.
fn partition_with_writers(cluster: &Cluster) -> (Written, Written, Vec<String>, [QuorumStatus; 2]) {
    let wait = |want: &[(usize, &[u32])]| cluster.wait(want, Duration::from_secs(20));
    let all = [v4_id(1), v4_id(2), v4_id(3)];
    wait(&[(1, &all), (2, &all), (3, &all)]);
    let mut c1 = Ckpt::connect(cluster.dir(1));
    let h1 = c1.open("q", true);
    assert_eq!(c1.write(h1, "before"), error::OK);
    let mut c3 = Ckpt::connect(cluster.dir(3));
    let h3 = c3.open("q", false);
    let mut reader3 = Ckpt::connect(cluster.dir(3));
    let r3 = reader3.open("q", false);

    let stop = AtomicBool::new(false);
    let mut seen = [QuorumStatus::default(); 2];
    let (w1, w3) = std::thread::scope(|s| {
        // Cut first: every write of node 3 is then made after the cut,
        // most before the cut is noticed.
        cluster.lab.isolate(3).unwrap();
        let t1 = s.spawn(|| writer(c1, h1, "one", &stop));
        let t3 = s.spawn(|| writer(c3, h3, "three", &stop));
        let t = wait(&[(1, &[v4_id(1), v4_id(2)]), (2, &[v4_id(1), v4_id(2)]), (3, &[v4_id(3)])]);
        println!("partition 2+1 installed in {t:?}");
        seen = [quorum_of(cluster, 1), quorum_of(cluster, 3)];
        let until = Instant::now() + WRITING;
        while Instant::now() < until {
            // Reads answer on the lone side, from the state it has.
            assert!(reader3.read(r3).is_ok(), "a read on node 3 during the partition");
            std::thread::sleep(Duration::from_millis(200));
        }
        stop.store(true, Ordering::Relaxed);
        (t1.join().unwrap(), t3.join().unwrap())
    });
    println!(
        "node 1: {} acked, {} TRY_AGAIN; node 3: {} acked, {} TRY_AGAIN",
        w1.acked.len(),
        w1.try_again,
        w3.acked.len(),
        w3.try_again
    );
    assert!(w1.other.is_empty() && w3.other.is_empty(), "{:?} {:?}", w1.other, w3.other);

    cluster.lab.reconnect(3).unwrap();
    let t = wait(&[(1, &all), (2, &all), (3, &all)]);
    println!("healed in {t:?}");
    let values = (1..=3)
        .map(|i| {
            let mut c = Ckpt::connect(cluster.dir(i));
            let h = c.open("q", false);
            c.read(h).unwrap()
        })
        .collect();
    (w1, w3, values, seen)
}

#[test]
fn with_quorum_the_lone_node_refuses_writes_and_no_acknowledged_write_is_lost() {
    let Some(cluster) = Cluster::start_with("quor", "239.192.77.11", false, false, QUORUM) else { return };
    let (w1, w3, values, [q1, q3]) = partition_with_writers(&cluster);
    let quorate = QuorumStatus { flags: QUORUM_CONFIGURED | QUORATE, expected_votes: 3, total_votes: 2, quorum: 2 };
    assert_eq!(q1, quorate);
    assert_eq!(q3, QuorumStatus { flags: QUORUM_CONFIGURED, total_votes: 1, ..quorate });
    assert_eq!(quorum_of(&cluster, 3), QuorumStatus { total_votes: 3, ..quorate }, "after the heal");
    assert!(!w1.acked.is_empty(), "the majority kept writing");
    assert!(w3.acked.is_empty(), "node 3 acknowledged {:?} without quorum", w3.acked);
    assert!(w3.try_again > 0, "node 3's writer was refused");
    let last = w1.acked.last().unwrap();
    assert_eq!(values, vec![last.clone(); 3], "the last acknowledged write everywhere\n{}", cluster.logs());
    let logs = cluster.logs();
    assert!(logs.contains("not quorate"), "the lone node says why\n{logs}");
    assert!(!logs.contains("no quorum configured"));
}

#[test]
fn without_quorum_both_sides_acknowledge_and_the_heal_loses_one_side_with_a_warning() {
    let Some(cluster) = Cluster::start_with("noquo", "239.192.77.12", false, false, "") else { return };
    let (w1, w3, values, [q1, q3]) = partition_with_writers(&cluster);
    assert_eq!((q1.flags, q3.flags), (0, 0), "quorum not configured");
    assert!(!w1.acked.is_empty() && !w3.acked.is_empty(), "both sides acknowledge writes");
    // Today's merge rule: the side of the lowest node id wins.
    assert_eq!(values, vec![w1.acked.last().unwrap().clone(); 3]);
    assert!(!w3.acked.iter().any(|v| values.contains(v)), "node 3's acknowledged writes are gone");
    assert!(cluster.logs().contains("no quorum configured"), "the warning at start");
}
