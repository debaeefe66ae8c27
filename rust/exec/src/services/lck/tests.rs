//! Several simulated nodes, each with its own lock service, fed one global
//! order of the messages they submit.

use std::time::Duration;

use ais_ipc::lck::LockRequest;

use super::*;
use crate::ordering::{ConfigChange, ConfigKind, RingId};
use crate::service::{Output, Service};
use crate::services::testkit::{SimNode, begin_sync, finish_sync, run_ordered as run};

type Node = SimNode<LckService>;

const PR: u32 = wire::PR_MODE;
const EX: u32 = wire::EX_MODE;

impl Node {
    fn request(&mut self, conn: u64, req: &Request) {
        self.with(|s, c| s.lib_request(c, ConnId(conn), req.id(), &req.encode())).unwrap();
    }

    /// Replies of `conn` as (msg id, error, status or open id).
    fn answers(&mut self, conn: u64) -> Vec<(u32, u32, u64)> {
        self.replies()
            .into_iter()
            .filter(|r| r.0.0 == conn)
            .map(|(_, id, e, p)| {
                let v = match p.len() {
                    4 => u64::from(u32::from_le_bytes(p[..4].try_into().unwrap())),
                    8 => u64::from_le_bytes(p[..8].try_into().unwrap()),
                    _ => 0,
                };
                (id, e, v)
            })
            .collect()
    }

    /// Callbacks sent so far, removed.
    fn callbacks(&mut self) -> Vec<(u64, Callback)> {
        let mut got = Vec::new();
        self.out.retain(|o| match o {
            Output::Dispatch { conn, id, body } => {
                got.push((conn.0, Callback::decode(*id, body).unwrap()));
                false
            }
            _ => true,
        });
        got
    }
}

fn cluster(n: u32) -> Vec<Node> {
    let mut nodes: Vec<Node> = (1..=n).map(|i| Node::new(i, LckService::default())).collect();
    let all: Vec<usize> = (0..n as usize).collect();
    begin_sync(&mut nodes, &all, RingId { rep: 1, seq: 4 });
    finish_sync(&mut nodes, &all);
    nodes
}

fn same_everywhere(nodes: &[Node]) {
    for n in &nodes[1..] {
        assert_eq!(*n.svc, *nodes[0].svc, "replicas differ");
    }
}

/// Opens `name` (creating it) on node `at` for `conn`; the open id.
fn open(n: &mut [Node], at: usize, conn: u64, name: &str) -> u64 {
    let all: Vec<usize> = (0..n.len()).collect();
    n[at].request(conn, &Request::Open { token: 0, is_async: false, name: name.into(), flags: wire::RESOURCE_CREATE });
    run(n, &all);
    let a = n[at].answers(conn);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].1, error::OK);
    a[0].2
}

fn lock(open: u64, lock: u64, mode: u32, flags: u32) -> Request {
    Request::Lock(LockRequest { open, lock, mode, flags, signal: lock * 10, timeout: 0, is_async: false, token: 0 })
}

fn unlock(open: u64, lock: u64) -> Request {
    Request::Unlock { open, lock, is_async: false, token: 0 }
}

#[test]
fn ex_excludes_pr_shares_and_requests_are_served_in_order() {
    let mut n = cluster(3);
    let all = [0, 1, 2];
    let o1 = open(&mut n, 0, 1, "r");
    let o2 = open(&mut n, 1, 2, "r");
    let o3 = open(&mut n, 2, 3, "r");
    n[0].request(1, &lock(o1, 1, PR, 0));
    run(&mut n, &all);
    assert_eq!(n[0].answers(1), [(wire::LOCK, error::OK, u64::from(wire::GRANTED))]);
    // EX from node 2 waits; the PR holder hears of it (held PR, asked EX).
    n[1].request(2, &lock(o2, 2, EX, 0));
    run(&mut n, &all);
    assert_eq!(n[1].answers(2), []);
    assert_eq!(n[0].callbacks(), [(1, Callback::Waiter { signal: 10, lock: 1, held: PR, requested: EX })]);
    // A PR request after the EX waits behind it (no starvation).
    n[2].request(3, &lock(o3, 3, PR, 0));
    run(&mut n, &all);
    assert_eq!(n[2].answers(3), []);
    assert_eq!(n[0].callbacks(), [], "a PR holder does not block a PR request");
    // The unlock grants the EX on another node; the next unlock the PR.
    n[0].request(1, &unlock(o1, 1));
    assert_eq!(n[0].answers(1), [(wire::UNLOCK, error::OK, 0)], "a held lock's unlock: OK once ordered");
    assert!(n[2].svc.table().holds((1, o1), 1), "released when applied");
    run(&mut n, &all);
    assert_eq!(n[1].answers(2), [(wire::LOCK, error::OK, u64::from(wire::GRANTED))]);
    assert_eq!(n[2].answers(3), []);
    same_everywhere(&n);
    n[1].request(2, &unlock(o2, 2));
    run(&mut n, &all);
    assert_eq!(n[1].answers(2), [(wire::UNLOCK, error::OK, 0)]);
    assert_eq!(n[2].answers(3), [(wire::LOCK, error::OK, u64::from(wire::GRANTED))]);
    // Unlocking again: NOT_EXIST; an unknown open: BAD_HANDLE.
    n[1].request(2, &unlock(o2, 2));
    run(&mut n, &all);
    assert_eq!(n[1].answers(2), [(wire::UNLOCK, error::NOT_EXIST, 0)]);
    n[1].request(2, &unlock(999, 2));
    assert_eq!(n[1].answers(2), [(wire::UNLOCK, error::BAD_HANDLE, 0)]);
    same_everywhere(&n);
}

#[test]
fn no_queue_duplicate_ex_and_async_grants() {
    let mut n = cluster(2);
    let all = [0, 1];
    let o1 = open(&mut n, 0, 1, "r");
    let o2 = open(&mut n, 1, 2, "r");
    n[0].request(1, &lock(o1, 1, EX, 0));
    n[0].request(1, &lock(o1, 2, EX, 0));
    n[1].request(2, &lock(o2, 3, PR, wire::LOCK_NO_QUEUE));
    run(&mut n, &all);
    let st = |s: u32| (wire::LOCK, error::OK, u64::from(s));
    assert_eq!(n[0].answers(1), [st(wire::GRANTED), st(wire::DUPLICATE_EX)]);
    assert_eq!(n[1].answers(2), [st(wire::NOT_QUEUED)]);
    let async_lock = Request::Lock(LockRequest {
        open: o2,
        lock: 4,
        mode: PR,
        flags: 0,
        signal: 0,
        timeout: 0,
        is_async: true,
        token: 77,
    });
    n[1].request(2, &async_lock);
    run(&mut n, &all);
    assert_eq!(n[1].answers(2), [(wire::LOCK, error::OK, 0)], "accepted at once");
    n[0].request(1, &Request::Unlock { open: o1, lock: 1, is_async: true, token: 5 });
    run(&mut n, &all);
    assert_eq!(n[0].answers(1), [(wire::UNLOCK, error::OK, 0)]);
    assert_eq!(n[0].callbacks().last(), Some(&(1, Callback::Unlock { token: 5, error: error::OK })));
    assert_eq!(n[1].callbacks(), [(2, Callback::Grant { token: 77, error: error::OK, status: wire::GRANTED })]);
    same_everywhere(&n);
}

#[test]
fn a_lock_whose_timeout_runs_out_is_withdrawn_everywhere() {
    let mut n = cluster(3);
    let all = [0, 1, 2];
    let o1 = open(&mut n, 0, 1, "r");
    let o2 = open(&mut n, 1, 2, "r");
    n[0].request(1, &lock(o1, 1, EX, 0));
    run(&mut n, &all);
    let timed = Request::Lock(LockRequest {
        open: o2,
        lock: 2,
        mode: EX,
        flags: 0,
        signal: 0,
        timeout: 50_000_000,
        is_async: false,
        token: 0,
    });
    n[1].request(2, &timed);
    run(&mut n, &all);
    assert_eq!(n[1].answers(2), []);
    n[1].advance(Duration::from_millis(50));
    n[1].with(|s, c| s.handle_timeout(c));
    run(&mut n, &all);
    assert_eq!(n[1].answers(2), [(wire::LOCK, error::TIMEOUT, 0)]);
    assert!(n.iter().all(|x| x.svc.table().resources[&b"r"[..]].queue.is_empty()));
    n[0].request(1, &unlock(o1, 1));
    run(&mut n, &all);
    assert_eq!(n[1].answers(2), [], "never granted later");
    // The same lock id may be asked again.
    n[1].request(2, &lock(o2, 2, EX, 0));
    run(&mut n, &all);
    assert_eq!(n[1].answers(2), [(wire::LOCK, error::OK, u64::from(wire::GRANTED))]);
    same_everywhere(&n);
}

#[test]
fn a_dead_client_releases_its_locks_but_orphans_stay_until_purged() {
    let mut n = cluster(3);
    let all = [0, 1, 2];
    let o1 = open(&mut n, 0, 1, "r");
    let o2 = open(&mut n, 1, 2, "r");
    let o3 = open(&mut n, 2, 3, "r");
    n[0].request(1, &lock(o1, 1, EX, 0));
    run(&mut n, &all);
    n[1].request(2, &lock(o2, 2, EX, wire::LOCK_ORPHAN));
    run(&mut n, &all);
    n[0].answers(1);
    // Client 1 dies: node 2's waiter gets the lock, with ORPHAN.
    n[0].with(|s, c| s.conn_closed(c, ConnId(1)));
    run(&mut n, &all);
    assert_eq!(n[1].answers(2), [(wire::LOCK, error::OK, u64::from(wire::GRANTED))]);
    // Client 2 dies: its ORPHAN lock stays.
    n[1].with(|s, c| s.conn_closed(c, ConnId(2)));
    run(&mut n, &all);
    assert_eq!(n[2].svc.table().orphans(b"r"), 1);
    // An ORPHAN request is told ORPHANED; another one waits.
    n[2].request(3, &lock(o3, 3, PR, wire::LOCK_ORPHAN));
    n[2].request(3, &lock(o3, 4, PR, 0));
    run(&mut n, &all);
    assert_eq!(n[2].answers(3), [(wire::LOCK, error::OK, u64::from(wire::ORPHANED))]);
    // Purge from any node lets the waiter through.
    let o4 = open(&mut n, 0, 9, "r");
    n[0].request(9, &Request::Purge { open: o4 });
    run(&mut n, &all);
    assert_eq!(n[0].answers(9), [(wire::PURGE, error::OK, 0)]);
    assert_eq!(n[2].answers(3), [(wire::LOCK, error::OK, u64::from(wire::GRANTED))]);
    assert_eq!(n[0].svc.table().orphans(b"r"), 0);
    same_everywhere(&n);
    // Everything closed: the resource is gone; opening without CREATE fails.
    n[2].with(|s, c| s.conn_closed(c, ConnId(3)));
    n[0].with(|s, c| s.conn_closed(c, ConnId(9)));
    run(&mut n, &all);
    assert!(n[1].svc.table().resources.is_empty());
    n[1].request(5, &Request::Open { token: 0, is_async: false, name: b"r".to_vec(), flags: 0 });
    run(&mut n, &all);
    assert_eq!(n[1].answers(5), [(wire::OPEN, error::NOT_EXIST, 0)]);
}

#[test]
fn a_departed_node_releases_and_a_joining_node_gets_the_state() {
    let mut n = cluster(3);
    let all = [0, 1, 2];
    let o1 = open(&mut n, 0, 1, "r");
    let o2 = open(&mut n, 1, 2, "r");
    n[0].request(1, &lock(o1, 1, EX, 0));
    run(&mut n, &all);
    n[1].request(2, &lock(o2, 2, EX, 0));
    run(&mut n, &all);
    n[0].answers(1);
    let change = ConfigChange {
        kind: ConfigKind::Transitional,
        ring_id: RingId { rep: 2, seq: 8 },
        members: vec![2, 3],
        left: vec![1],
        joined: vec![],
    };
    for node in n[1..].iter_mut() {
        node.with(|s, c| s.config_change(c, &change));
    }
    assert_eq!(n[1].answers(2), [(wire::LOCK, error::OK, u64::from(wire::GRANTED))], "granted at the change");
    // Node 1 restarts and joins: it gets the table before it serves.
    n[0].restart(LckService::default());
    begin_sync(&mut n, &all, RingId { rep: 1, seq: 12 });
    n[0].request(4, &Request::Open { token: 0, is_async: false, name: b"r".to_vec(), flags: 0 });
    assert_eq!(n[0].answers(4), [(wire::OPEN, error::TRY_AGAIN, 0)]);
    finish_sync(&mut n, &all);
    same_everywhere(&n);
    let o4 = open(&mut n, 0, 4, "r");
    n[0].request(4, &lock(o4, 1, EX, wire::LOCK_NO_QUEUE));
    run(&mut n, &all);
    assert_eq!(n[0].answers(4), [(wire::LOCK, error::OK, u64::from(wire::NOT_QUEUED))], "node 2 holds it");
}

#[test]
fn partitions_that_merge_keep_one_holder_and_every_queue() {
    let mut n = cluster(2);
    // Split: each side grants EX on "r" to its own client, and queues one.
    let change = |members: Vec<u32>| ConfigChange {
        kind: ConfigKind::Transitional,
        ring_id: RingId { rep: 3, seq: 16 },
        members,
        left: vec![],
        joined: vec![],
    };
    n[0].with(|s, c| s.config_change(c, &change(vec![1])));
    n[1].with(|s, c| s.config_change(c, &change(vec![2])));
    begin_sync(&mut n, &[0], RingId { rep: 1, seq: 20 });
    finish_sync(&mut n, &[0]);
    begin_sync(&mut n, &[1], RingId { rep: 2, seq: 20 });
    finish_sync(&mut n, &[1]);
    for (i, conn) in [(0usize, 1u64), (1, 2)] {
        let o = open(&mut n[i..=i], 0, conn, "r");
        let q = open(&mut n[i..=i], 0, conn + 10, "r");
        n[i].request(conn, &lock(o, 1, EX, 0));
        n[i].request(conn + 10, &lock(q, 2, EX, 0));
        run(&mut n[i..=i], &[0]);
        assert_eq!(n[i].answers(conn), [(wire::LOCK, error::OK, u64::from(wire::GRANTED))]);
    }
    begin_sync(&mut n, &[0, 1], RingId { rep: 1, seq: 24 });
    finish_sync(&mut n, &[0, 1]);
    same_everywhere(&n);
    let r = &n[0].svc.table().resources[&b"r"[..]];
    assert_eq!(r.granted.len(), 1, "one EX holder");
    assert_eq!(r.granted[0].open.0, 1, "the lower group's");
    assert_eq!(r.queue.len(), 2, "both queues kept");
}
