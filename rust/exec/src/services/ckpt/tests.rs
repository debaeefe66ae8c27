//! Several simulated nodes, each with its own checkpoint service, fed one
//! global order of the messages they submit.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ais_ipc::ckpt::{Attrs, ReadElement, VectorResult, WriteElement};

use super::*;
use crate::ordering::{ClusterEvent, ClusterStatus, ConfigChange, ConfigKind, Ordering, QueueFull, RingId};
use crate::service::{Ctx, Encode, Output, Service, SyncStep};
use crate::services::replicated::wire::{self as engine_wire, Msg};
use crate::services::testkit::{FakeNet, SimNode, begin_sync, finish_sync, run_ordered as run};

type Node = SimNode<CkptService>;

impl Node {
    fn request(&mut self, conn: u64, req: &Request) {
        self.with(|s, c| s.lib_request(c, ConnId(conn), req.id(), &req.encode())).unwrap();
    }
}

fn attrs(size: u64, sections: u32, section_size: u64) -> Attrs {
    Attrs {
        creation_flags: wire::WR_ALL_REPLICAS,
        checkpoint_size: size,
        retention: 1_000_000_000,
        max_sections: sections,
        max_section_size: section_size,
        max_section_id_size: 16,
    }
}

fn open(name: &str, a: Option<Attrs>, flags: u32) -> Request {
    Request::Open { token: 0, is_async: false, name: name.as_bytes().to_vec(), attrs: a, flags }
}

const RWC: u32 = wire::OPEN_READ | wire::OPEN_WRITE | wire::OPEN_CREATE;

fn open_ok(nodes: &mut [Node], members: &[usize], at: usize, conn: u64, req: Request) -> u64 {
    nodes[at].request(conn, &req);
    run(nodes, members);
    let (e, p) = nodes[at].last_reply();
    assert_eq!(e, error::OK, "open");
    u64::from_le_bytes(p[..8].try_into().unwrap())
}

fn write(open: u64, id: &[u8], offset: u64, data: &[u8]) -> Request {
    Request::Write { open, elements: vec![WriteElement { id: id.to_vec(), offset, data: data.to_vec() }] }
}

fn read_one(nodes: &mut [Node], members: &[usize], at: usize, conn: u64, open: u64, id: &[u8]) -> Result<Vec<u8>, u32> {
    let req = Request::Read { open, elements: vec![ReadElement { id: id.to_vec(), offset: 0, size: 0 }] };
    nodes[at].request(conn, &req);
    run(nodes, members);
    let (e, p) = nodes[at].last_reply();
    if e != error::OK {
        return Err(e);
    }
    let v = VectorResult::decode(&p).unwrap();
    if v.error != error::OK {
        return Err(v.error);
    }
    Ok(v.data[0].clone())
}

fn cluster(n: u32) -> Vec<Node> {
    (1..=n).map(|id| Node::new(id, CkptService::default())).collect()
}

#[test]
fn replicas_fed_the_same_order_end_identical() {
    let mut nodes = cluster(3);
    let all = [0, 1, 2];
    let a = open_ok(&mut nodes, &all, 0, 10, open("ck", Some(attrs(1000, 10, 100)), RWC));
    let b = open_ok(&mut nodes, &all, 1, 20, open("ck", Some(attrs(1000, 10, 100)), RWC));
    for (i, id) in [b"s1", b"s2"].iter().enumerate() {
        let req =
            Request::SectionCreate { open: a, id: id.to_vec(), expiration: store::TIME_END, data: vec![i as u8; 5] };
        nodes[0].request(10, &req);
    }
    // Interleaved writes from two nodes, ordered once.
    for k in 0..20u8 {
        nodes[0].request(10, &write(a, b"s1", u64::from(k), &[k]));
        nodes[1].request(20, &write(b, b"s2", u64::from(k) * 2, &[k, k]));
    }
    run(&mut nodes, &all);
    for r in nodes[0].replies().into_iter().chain(nodes[1].replies()) {
        assert_eq!(r.2, error::OK, "{r:?}");
        if r.1 == wire::WRITE {
            assert_eq!(VectorResult::decode(&r.3).unwrap().error, error::OK);
        }
    }
    assert_eq!(nodes[0].svc.store(), nodes[1].svc.store());
    assert_eq!(nodes[1].svc.store(), nodes[2].svc.store());
    // A reader on another node sees the last write.
    let c = open_ok(&mut nodes, &all, 2, 30, open("ck", None, wire::OPEN_READ));
    let s1 = read_one(&mut nodes, &all, 2, 30, c, b"s1").unwrap();
    assert_eq!(s1.len(), 20);
    assert_eq!(s1[19], 19);
    assert_eq!(read_one(&mut nodes, &all, 2, 30, c, b"s2").unwrap().len(), 40);
}

#[test]
fn error_paths() {
    let mut nodes = cluster(2);
    let all = [0, 1];
    let a = open_ok(&mut nodes, &all, 0, 1, open("e", Some(attrs(100, 2, 60)), RWC));
    // Different attributes: EXIST; none and no checkpoint: NOT_EXIST.
    nodes[1].request(2, &open("e", Some(attrs(100, 3, 60)), RWC));
    run(&mut nodes, &all);
    assert_eq!(nodes[1].last_reply().0, error::EXIST);
    nodes[1].request(2, &open("nope", None, wire::OPEN_READ));
    run(&mut nodes, &all);
    assert_eq!(nodes[1].last_reply().0, error::NOT_EXIST);
    // Bad attributes and flags are refused before ordering.
    nodes[1].request(2, &open("x", Some(attrs(1000, 2, 60)), RWC));
    assert_eq!(nodes[1].last_reply().0, error::INVALID_PARAM);
    nodes[1].request(2, &open("x", None, 0x40));
    assert_eq!(nodes[1].last_reply().0, error::BAD_FLAGS);
    nodes[1].request(2, &open("x", Some(attrs(10, 1, 10)), wire::OPEN_READ));
    assert_eq!(nodes[1].last_reply().0, error::INVALID_PARAM);
    assert!(nodes[1].net.submitted.is_empty());
    // Read-only open: writes are ACCESS.
    let r = open_ok(&mut nodes, &all, 1, 2, open("e", None, wire::OPEN_READ));
    nodes[1]
        .request(2, &Request::SectionCreate { open: r, id: b"z".to_vec(), expiration: store::TIME_END, data: vec![] });
    run(&mut nodes, &all);
    assert_eq!(nodes[1].last_reply().0, error::ACCESS);
    // Someone else's open id (other connection or node): BAD_HANDLE.
    nodes[1].request(3, &Request::Close { open: r });
    run(&mut nodes, &all);
    assert_eq!(nodes[1].last_reply().0, error::BAD_HANDLE);
    nodes[1].request(2, &Request::Close { open: a });
    run(&mut nodes, &all);
    assert_eq!(nodes[1].last_reply().0, error::BAD_HANDLE);
    // Sections: NO_SPACE by count and by size, INVALID_PARAM past maxSectionSize.
    for id in [b"a", b"b"] {
        nodes[0].request(
            1,
            &Request::SectionCreate { open: a, id: id.to_vec(), expiration: store::TIME_END, data: vec![1; 50] },
        );
    }
    nodes[0]
        .request(1, &Request::SectionCreate { open: a, id: b"c".to_vec(), expiration: store::TIME_END, data: vec![] });
    run(&mut nodes, &all);
    let errs: Vec<u32> = nodes[0].replies().iter().map(|r| r.2).collect();
    assert_eq!(errs, [error::OK, error::OK, error::NO_SPACE]);
    nodes[0].request(1, &write(a, b"a", 55, &[1; 10]));
    run(&mut nodes, &all);
    let v = VectorResult::decode(&nodes[0].last_reply().1).unwrap();
    assert_eq!((v.error, v.erroneous_index), (error::INVALID_PARAM, 0));
    // Total over checkpointSize (100): accepted, as openais 0.80 did (the
    // store's reservation bounds memory; before, NO_SPACE at element 1).
    let req = Request::Write {
        open: a,
        elements: vec![
            WriteElement { id: b"a".to_vec(), offset: 0, data: vec![9; 50] },
            WriteElement { id: b"b".to_vec(), offset: 50, data: vec![9; 1] },
        ],
    };
    nodes[0].request(1, &req);
    run(&mut nodes, &all);
    let v = VectorResult::decode(&nodes[0].last_reply().1).unwrap();
    assert_eq!((v.error, v.erroneous_index), (error::OK, 0));
    assert_eq!(read_one(&mut nodes, &all, 0, 1, a, b"a").unwrap(), vec![9; 50]);
    nodes[0].request(1, &write(a, b"zz", 0, &[1]));
    run(&mut nodes, &all);
    let v = VectorResult::decode(&nodes[0].last_reply().1).unwrap();
    assert_eq!(v.error, error::NOT_EXIST);
    assert_eq!(nodes[0].svc.store(), nodes[1].svc.store());
}

#[test]
fn unlink_hides_the_name_and_data_lives_until_the_last_close() {
    let mut nodes = cluster(2);
    let all = [0, 1];
    let a = open_ok(&mut nodes, &all, 0, 1, open("u", Some(attrs(100, 1, 100)), RWC));
    nodes[0].request(1, &write(a, b"", 0, b"kept"));
    nodes[1].request(5, &Request::Unlink { name: b"u".to_vec() });
    run(&mut nodes, &all);
    nodes[1].request(5, &open("u", None, wire::OPEN_READ));
    run(&mut nodes, &all);
    assert_eq!(nodes[1].last_reply().0, error::NOT_EXIST);
    assert_eq!(read_one(&mut nodes, &all, 0, 1, a, b"").unwrap(), b"kept");
    // A new checkpoint may take the name meanwhile.
    open_ok(&mut nodes, &all, 1, 5, open("u", Some(attrs(10, 1, 10)), RWC));
    assert_eq!(nodes[0].svc.store().ckpts.len(), 2);
    nodes[0].request(1, &Request::Close { open: a });
    run(&mut nodes, &all);
    assert_eq!(nodes[0].svc.store().ckpts.len(), 1);
    assert_eq!(nodes[0].svc.store(), nodes[1].svc.store());
}

#[test]
fn retention_expires_at_the_same_point_of_the_order_everywhere() {
    let mut nodes = cluster(3);
    let all = [0, 1, 2];
    let a = open_ok(&mut nodes, &all, 0, 1, open("r", Some(attrs(100, 2, 100)), RWC));
    nodes[0].request(1, &Request::RetentionSet { open: a, duration: 5_000_000_000 });
    nodes[0].request(1, &Request::Close { open: a });
    run(&mut nodes, &all);
    let closed_at = nodes[0].svc.store().time;
    for n in &nodes {
        assert_eq!(n.svc.store().ckpts.len(), 1, "retained");
        assert_eq!(n.svc.store().next_deadline(), Some(closed_at + 5_000_000_000));
    }
    // A tick from node 2 with a time before the deadline keeps it...
    let early = Msg::Tick { ts: closed_at + 4_000_000_000 }.encode();
    for n in nodes.iter_mut() {
        n.with(|s, c| s.deliver(c, 2, &early));
        assert_eq!(n.svc.store().ckpts.len(), 1);
    }
    // ...one past it deletes it on every replica, whatever their clocks.
    let late = Msg::Tick { ts: closed_at + 5_000_000_000 }.encode();
    for n in nodes.iter_mut() {
        n.with(|s, c| s.deliver(c, 2, &late));
        assert!(n.svc.store().ckpts.is_empty());
        assert!(n.svc.store().by_name.is_empty());
    }
    // Reopening without CREATE now fails everywhere.
    nodes[2].request(9, &open("r", None, wire::OPEN_READ));
    run(&mut nodes, &all);
    assert_eq!(nodes[2].last_reply().0, error::NOT_EXIST);
}

#[test]
fn a_node_that_leaves_loses_its_opens_and_sections_expire() {
    let mut nodes = cluster(2);
    let all = [0, 1];
    let forever = Attrs { retention: store::TIME_END, ..attrs(100, 3, 100) };
    let a = open_ok(&mut nodes, &all, 1, 1, open("l", Some(forever), RWC));
    let exp = nodes[1].now.wall + 2_000_000_000_000;
    nodes[1].request(1, &Request::SectionCreate { open: a, id: b"t".to_vec(), expiration: exp, data: vec![1] });
    run(&mut nodes, &all);
    let change = ConfigChange {
        kind: ConfigKind::Transitional,
        ring_id: RingId { rep: 1, seq: 8 },
        members: vec![1],
        left: vec![2],
        joined: vec![],
    };
    nodes[0].with(|s, c| s.config_change(c, &change));
    assert!(nodes[0].svc.store().openers.is_empty());
    let c = &nodes[0].svc.store().ckpts.values().next().unwrap();
    assert!(c.idle_since.is_some());
    // The section expires when cluster time passes its expiration.
    nodes[0].with(|s, c| s.deliver(c, 1, &Msg::Tick { ts: exp }.encode()));
    let c = &nodes[0].svc.store().ckpts.values().next().unwrap();
    assert!(c.sections.is_empty());
}

#[test]
fn generated_section_ids_are_unique_and_identical_on_every_replica() {
    let mut nodes = cluster(2);
    let all = [0, 1];
    let a = open_ok(&mut nodes, &all, 0, 1, open("g", Some(attrs(100, 10, 10)), RWC));
    let b = open_ok(&mut nodes, &all, 1, 2, open("g", None, wire::OPEN_WRITE));
    nodes[0].request(1, &Request::SectionCreate { open: a, id: vec![1], expiration: store::TIME_END, data: vec![] });
    for _ in 0..3 {
        nodes[0].request(1, &Request::SectionCreate { open: a, id: vec![], expiration: store::TIME_END, data: vec![] });
        nodes[1].request(2, &Request::SectionCreate { open: b, id: vec![], expiration: store::TIME_END, data: vec![] });
    }
    run(&mut nodes, &all);
    let mut ids = BTreeSet::new();
    for r in nodes[0].replies().into_iter().chain(nodes[1].replies()) {
        assert_eq!(r.2, error::OK);
        assert!(ids.insert(r.3), "duplicate id");
    }
    assert_eq!(ids.len(), 7);
    assert_eq!(nodes[0].svc.store(), nodes[1].svc.store());
}

/// Runs one sync round over `members` (indices) for the ring `ring`.
fn sync_round(nodes: &mut [Node], members: &[usize], ring: RingId) {
    begin_sync(nodes, members, ring);
    // Requests during sync are TRY_AGAIN.
    nodes[members[0]].request(77, &Request::Unlink { name: b"x".to_vec() });
    assert_eq!(nodes[members[0]].last_reply().0, error::TRY_AGAIN);
    // Hellos first, then the senders' state.
    finish_sync(nodes, members);
    for &i in members {
        assert!(!nodes[i].svc.is_syncing());
    }
}

#[test]
fn a_joining_node_receives_every_checkpoint_in_full() {
    let mut nodes = cluster(3);
    let old = [0, 1];
    sync_round(&mut nodes, &old, RingId { rep: 1, seq: 4 });
    let a = open_ok(&mut nodes, &old, 0, 1, open("big", Some(attrs(3 << 20, 4, 1 << 20)), RWC));
    // A section larger than one sync chunk, and a second checkpoint.
    nodes[0]
        .request(1, &Request::SectionCreate { open: a, id: b"s".to_vec(), expiration: store::TIME_END, data: vec![] });
    let data: Vec<u8> = (0..(700 * 1024)).map(|i| (i % 251) as u8).collect();
    nodes[0].request(1, &write(a, b"s", 0, &data));
    run(&mut nodes, &old);
    let b = open_ok(&mut nodes, &old, 1, 2, open("small", Some(attrs(10, 1, 10)), RWC));
    nodes[1].request(2, &write(b, b"", 0, b"hi"));
    run(&mut nodes, &old);
    assert!(nodes[2].svc.store().ckpts.is_empty());
    sync_round(&mut nodes, &[0, 1, 2], RingId { rep: 1, seq: 8 });
    assert_eq!(nodes[0].svc.store(), nodes[2].svc.store());
    assert_eq!(nodes[1].svc.store(), nodes[2].svc.store());
    let c = open_ok(&mut nodes, &[0, 1, 2], 2, 3, open("big", None, wire::OPEN_READ));
    assert_eq!(read_one(&mut nodes, &[0, 1, 2], 2, 3, c, b"s").unwrap(), data);
    // The old opens still work after the merge.
    nodes[0].request(1, &write(a, b"s", 0, b"new"));
    run(&mut nodes, &[0, 1, 2]);
    assert_eq!(&read_one(&mut nodes, &[0, 1, 2], 2, 3, c, b"s").unwrap()[..3], b"new");
}

#[test]
fn merging_two_rings_with_the_same_name_keeps_the_lowest_senders_copy() {
    let mut nodes = cluster(4);
    sync_round(&mut nodes, &[0, 1], RingId { rep: 1, seq: 4 });
    sync_round(&mut nodes, &[2, 3], RingId { rep: 3, seq: 4 });
    let a = open_ok(&mut nodes, &[0, 1], 1, 1, open("dup", Some(attrs(10, 1, 10)), RWC));
    nodes[1].request(1, &write(a, b"", 0, b"low"));
    run(&mut nodes, &[0, 1]);
    let b = open_ok(&mut nodes, &[2, 3], 3, 2, open("dup", Some(attrs(10, 1, 10)), RWC));
    nodes[3].request(2, &write(b, b"", 0, b"high"));
    run(&mut nodes, &[2, 3]);
    sync_round(&mut nodes, &[0, 1, 2, 3], RingId { rep: 1, seq: 12 });
    for n in &nodes[1..] {
        assert_eq!(n.svc.store(), nodes[0].svc.store());
    }
    // Node 4's open now reads the winning (node 1's group) content.
    assert_eq!(read_one(&mut nodes, &[0, 1, 2, 3], 3, 2, b, b"").unwrap(), b"low");
    assert_eq!(nodes[0].svc.store().ckpts.len(), 1);
}

#[test]
fn garbage_from_the_network_is_counted_not_applied() {
    let mut nodes = cluster(1);
    nodes[0].with(|s, c| {
        s.deliver(c, 1, &[]);
        s.deliver(c, 1, &[1, 2, 3]);
        s.deliver(c, 1, &[99]);
    });
    assert_eq!(nodes[0].svc.malformed(), 3);
    let bad = Msg::Request(engine_wire::Request { conn: 1, seq: 1, new_id: 1, ts: 0, msg_id: 999, body: &[] });
    nodes[0].with(|s, c| s.deliver(c, 1, &bad.encode()));
    assert_eq!(nodes[0].svc.malformed(), 4);
    assert!(nodes[0].svc.store().ckpts.is_empty());
}

#[test]
fn a_closed_connection_closes_its_opens_everywhere() {
    let mut nodes = cluster(2);
    let all = [0, 1];
    open_ok(&mut nodes, &all, 0, 1, open("c", Some(attrs(10, 1, 10)), RWC));
    // An open still in flight when the connection closes is undone too.
    nodes[0].request(1, &open("c", None, wire::OPEN_READ));
    nodes[0].with(|s, c| s.conn_closed(c, ConnId(1)));
    run(&mut nodes, &all);
    assert!(nodes[0].svc.store().openers.is_empty(), "{:?}", nodes[0].svc.store().openers);
    assert_eq!(nodes[0].svc.store(), nodes[1].svc.store());
}

#[test]
fn a_full_send_queue_is_one_try_again_answer() {
    let mut nodes = cluster(1);
    nodes[0].net.set_full(true);
    nodes[0].request(1, &open("q", Some(attrs(10, 1, 10)), RWC));
    let async_open = Request::Open { token: 5, is_async: true, name: b"q".to_vec(), attrs: None, flags: 1 };
    nodes[0].request(1, &async_open);
    let replies = nodes[0].replies();
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(replies.iter().all(|r| r.2 == error::TRY_AGAIN));
    assert!(nodes[0].out.is_empty());
    // With room again the async open is accepted, then answered by callback.
    nodes[0].net.set_full(false);
    nodes[0].request(1, &async_open);
    assert_eq!(nodes[0].last_reply().0, error::OK);
    run(&mut nodes, &[0]);
    let callbacks: Vec<_> = std::mem::take(&mut nodes[0].out)
        .into_iter()
        .filter_map(|o| match o {
            Output::Dispatch { id, body, .. } => Some((id, body)),
            _ => None,
        })
        .collect();
    assert_eq!(callbacks.len(), 1);
    assert_eq!(callbacks[0].0, wire::OPEN_CALLBACK);
    assert_eq!(&callbacks[0].1[8..12], &error::NOT_EXIST.to_le_bytes());
}

#[test]
fn the_timer_lets_cluster_time_pass_when_something_is_due() {
    let mut nodes = cluster(2);
    let all = [0, 1];
    let quick = Attrs { retention: 200_000_000, ..attrs(10, 1, 10) };
    let a = open_ok(&mut nodes, &all, 0, 1, open("t", Some(quick), RWC));
    assert_eq!(nodes[1].poll_timeout(), None, "nothing due while open");
    nodes[0].request(1, &Request::Close { open: a });
    run(&mut nodes, &all);
    // Retained for 200 ms: the timer is armed for then, nothing happens before.
    let due = nodes[1].poll_timeout().expect("a deadline");
    assert_eq!(due.saturating_duration_since(nodes[1].now.mono), Duration::from_millis(200));
    nodes[1].advance(Duration::from_millis(199));
    nodes[1].with(|s, c| s.handle_timeout(c));
    assert!(nodes[1].net.submitted.is_empty(), "not due yet");
    nodes[1].advance(Duration::from_millis(1));
    nodes[1].with(|s, c| s.handle_timeout(c));
    assert_eq!(nodes[1].net.submitted.len(), 1, "one tick");
    // A tick in flight: no second one; still there until it is delivered.
    assert_eq!(nodes[1].poll_timeout(), None);
    assert_eq!(nodes[0].svc.store().ckpts.len(), 1);
    run(&mut nodes, &all);
    for n in &nodes {
        assert!(n.svc.store().ckpts.is_empty());
    }
    assert_eq!(nodes[0].poll_timeout(), None);
}

#[test]
fn requests_delivered_during_an_aborted_sync_are_applied_after_the_next() {
    let mut nodes = cluster(2);
    let all = [0, 1];
    sync_round(&mut nodes, &all, RingId { rep: 1, seq: 4 });
    let a = open_ok(&mut nodes, &all, 0, 1, open("h", Some(attrs(10, 1, 10)), RWC));
    // The request was submitted in the old ring and is delivered in the new
    // one, while it syncs.
    nodes[0].request(1, &write(a, b"", 0, b"late"));
    begin_sync(&mut nodes, &all, RingId { rep: 1, seq: 8 });
    run(&mut nodes, &all);
    assert!(nodes[0].replies().is_empty(), "held, not answered yet");
    // Interrupted by another ring before activation: held requests stay held.
    for n in nodes.iter_mut() {
        n.with(|s, c| s.sync_abort(c));
    }
    sync_round(&mut nodes, &all, RingId { rep: 1, seq: 12 });
    let replies = nodes[0].replies();
    let write_reply = replies.iter().find(|r| r.1 == wire::WRITE).expect("answered after the merge");
    assert_eq!(VectorResult::decode(&write_reply.3).unwrap().error, error::OK);
    let r = open_ok(&mut nodes, &all, 1, 9, open("h", None, wire::OPEN_READ));
    assert_eq!(read_one(&mut nodes, &all, 1, 9, r, b"").unwrap(), b"late");
    assert_eq!(nodes[0].svc.store(), nodes[1].svc.store());
}

#[test]
fn a_lowest_node_restarted_before_anyone_noticed_does_not_wipe_the_cluster() {
    let mut nodes = cluster(3);
    let all = [0, 1, 2];
    sync_round(&mut nodes, &all, RingId { rep: 1, seq: 4 });
    let a = open_ok(&mut nodes, &all, 1, 1, open("keep", Some(attrs(10, 1, 10)), RWC));
    nodes[1].request(1, &write(a, b"", 0, b"data"));
    run(&mut nodes, &all);
    // Node 1 (the lowest id) restarts empty; the next ring has the same
    // members, so only the hellos tell that it is not in the old group.
    nodes[0].restart(CkptService::default());
    sync_round(&mut nodes, &all, RingId { rep: 1, seq: 8 });
    for n in &nodes {
        assert_eq!(n.svc.store(), nodes[1].svc.store());
        assert_eq!(n.svc.store().ckpts.len(), 1);
    }
    let r = open_ok(&mut nodes, &all, 0, 2, open("keep", None, wire::OPEN_READ));
    assert_eq!(read_one(&mut nodes, &all, 0, 2, r, b"").unwrap(), b"data");
}

#[test]
fn malformed_requests_are_refused_not_ordered() {
    let mut nodes = cluster(1);
    let r = nodes[0].with(|s, c| s.lib_request(c, ConnId(1), wire::WRITE, &[1, 2, 3]));
    assert!(matches!(r, Err(RequestError::Malformed(_))), "{r:?}");
    let r = nodes[0].with(|s, c| s.lib_request(c, ConnId(1), 999, &[]));
    assert_eq!(r, Err(RequestError::UnknownId(999)));
    // A hostile element count is refused without allocating for it.
    let mut w = ais_ipc::Writer::new();
    w.u64(1).u32(u32::MAX);
    let r = nodes[0].with(|s, c| s.lib_request(c, ConnId(1), wire::READ, w.as_slice()));
    assert!(matches!(r, Err(RequestError::Malformed(_))));
    assert!(nodes[0].net.submitted.is_empty());
    assert!(nodes[0].replies().is_empty());
}

#[test]
fn a_full_send_queue_during_sync_only_delays_it() {
    let mut nodes = cluster(2);
    sync_round(&mut nodes, &[0], RingId { rep: 1, seq: 4 });
    let a = open_ok(&mut nodes, &[0], 0, 1, open("q", Some(attrs(3 << 20, 4, 1 << 20)), RWC));
    for id in [b"x", b"y"] {
        nodes[0].request(
            1,
            &Request::SectionCreate { open: a, id: id.to_vec(), expiration: store::TIME_END, data: vec![] },
        );
        nodes[0].request(1, &write(a, id, 0, &vec![id[0]; 600 * 1024]));
    }
    run(&mut nodes, &[0]);
    let ring = RingId { rep: 1, seq: 8 };
    let change =
        ConfigChange { kind: ConfigKind::Regular, ring_id: ring, members: vec![1, 2], left: vec![], joined: vec![2] };
    for n in nodes.iter_mut() {
        n.with(|s, c| {
            s.config_change(c, &change);
            s.sync_init(c, &change);
        });
    }
    // The queue takes one message per turn.
    let mut turns = 0;
    loop {
        turns += 1;
        assert!(turns < 50, "sync never finished");
        let mut done = true;
        for n in nodes.iter_mut() {
            let before = n.net.submitted.len();
            // Accept one submission, then refuse.
            let step = {
                let mut out = Vec::new();
                let mut limited = OneThenFull { inner: &mut n.net, left: 1 };
                let mut ctx = Ctx::new(n.now, service::CKPT, &mut limited, &mut out);
                n.svc.sync_process(&mut ctx)
            };
            assert!(n.net.submitted.len() <= before + 1);
            done &= step == SyncStep::Done;
        }
        run(&mut nodes, &[0, 1]);
        if done {
            break;
        }
    }
    assert!(turns > 5, "a one-message queue should take several turns, took {turns}");
    for n in nodes.iter_mut() {
        n.with(|s, c| s.sync_activate(c));
    }
    assert_eq!(nodes[0].svc.store(), nodes[1].svc.store());
    assert_eq!(nodes[1].svc.store().ckpts.values().next().unwrap().used, 2 * 600 * 1024);
}

/// An ordering layer that accepts `left` more submissions, then is full.
struct OneThenFull<'a> {
    inner: &'a mut FakeNet,
    left: usize,
}

impl Ordering for OneThenFull<'_> {
    fn local_node(&self) -> NodeId {
        self.inner.node
    }
    fn submit(&mut self, payload: Vec<u8>, g: Guarantee) -> Result<(), QueueFull> {
        if self.left == 0 {
            return Err(QueueFull);
        }
        self.left -= 1;
        self.inner.submit(payload, g)
    }
    fn poll_event(&mut self) -> Option<ClusterEvent> {
        None
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    fn fds(&self) -> Vec<std::os::fd::RawFd> {
        Vec::new()
    }
    fn handle_readable(&mut self, _fd: std::os::fd::RawFd, _now: Instant) {}
    fn status(&self) -> ClusterStatus {
        self.inner.status()
    }
}
