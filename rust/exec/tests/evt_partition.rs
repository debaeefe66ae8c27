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

use std::time::{Duration, Instant};

use ais_ipc::evt::{self as wire, Event, Filter, Pulled, Request};
use common::cluster::{Cluster, v4_id};
use common::*;

/// An event library connection to one executive.
struct Evt(Client);

impl Evt {
    fn connect(dir: &TempDir) -> Evt {
        Evt(Client::connect(&dir.socket(), ais_ipc::service::EVT))
    }

    /// One request; (error, payload). TRY_AGAIN (sync) is retried for 20 s.
    fn call(&mut self, req: &Request) -> (u32, Vec<u8>) {
        self.0.call_retrying(ais_ipc::service::EVT, req.id(), &req.encode())
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
        let event =
            Event { patterns: vec![b"p".to_vec()], priority: 1, retention, data: data.into(), ..Event::default() };
        let p = self.ok(&Request::Publish { open, event });
        u64::from_le_bytes(p[..8].try_into().unwrap())
    }

    fn subscribe(&mut self, open: u64, sub: u32) {
        self.ok(&Request::Subscribe {
            open,
            sub,
            filters: vec![Filter { kind: wire::PASS_ALL_FILTER, pattern: vec![] }],
        });
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
    let Some(cluster) = Cluster::start("evtp", "239.192.77.10", false, false) else { return };
    let wait = |want: &[(usize, &[u32])]| cluster.wait(want, Duration::from_secs(15));
    let all = [v4_id(1), v4_id(2), v4_id(3)];
    let (side12, side3) = ([v4_id(1), v4_id(2)], [v4_id(3)]);
    wait(&[(1, &all), (2, &all), (3, &all)]);

    let mut c1 = Evt::connect(cluster.dir(1));
    let mut c3 = Evt::connect(cluster.dir(3));
    let ch1 = c1.open("ch", ALL);
    let ch3 = c3.open("ch", ALL);
    let before = c1.publish(ch1, "before", HOUR);

    // Partition: {1, 2} | {3}. Each side retains an event and creates "new".
    cluster.lab.isolate(3).unwrap();
    let t = wait(&[(1, &side12), (2, &side12), (3, &side3)]);
    println!("partition 2+1 installed in {t:?}");
    let left = c1.publish(ch1, "left", HOUR);
    let right = c3.publish(ch3, "right", HOUR);
    let new1 = c1.open("new", ALL);
    let new3 = c3.open("new", ALL);
    c3.subscribe(new3, 9);

    // Heal: a new subscriber anywhere gets all three retained events once.
    cluster.lab.reconnect(3).unwrap();
    let t = wait(&[(1, &all), (2, &all), (3, &all)]);
    println!("healed into one ring in {t:?}");
    let mut want = vec![before, left, right];
    want.sort();
    for dir in &cluster.dirs {
        let mut c = Evt::connect(dir);
        let s = c.open("ch", wire::SUBSCRIBER);
        c.subscribe(s, 1);
        let mut ids: Vec<u64> = c.pull(3).iter().map(|p| p.event.id).collect();
        ids.sort();
        assert_eq!(ids, want, "retained events after the merge\n{}", cluster.logs());
    }
    // The two "new" channels are one now.
    c1.publish(new1, "across", 0);
    let got = c3.pull(1);
    assert_eq!(got.len(), 1, "{got:?}\n{}", cluster.logs());
    assert_eq!((got[0].sub, got[0].open, &got[0].event.data[..]), (9, new3, &b"across"[..]));
}
