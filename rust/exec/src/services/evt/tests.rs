//! Several simulated nodes, each with its own event service, fed one
//! global order of the messages they submit.

use super::*;
use crate::ordering::RingId;
use crate::service::{Encode, Output, Service};
use crate::services::replicated::wire::Msg;
use crate::services::testkit::{SimNode, begin_sync, finish_sync, run_ordered as run};

type Node = SimNode<EvtService>;

impl Node {
    fn request(&mut self, conn: u64, req: &Request) {
        self.with(|s, c| s.lib_request(c, ConnId(conn), req.id(), &req.encode())).unwrap();
    }
    /// Pulls every waiting event of `conn`: (sub, event).
    fn drain(&mut self, conn: u64) -> Vec<(u32, Event)> {
        let mut got = Vec::new();
        loop {
            self.request(conn, &Request::Pull);
            let (e, p) = self.last_reply();
            assert_eq!(e, error::OK);
            match Pulled::decode(&p).unwrap() {
                Some(p) => got.push((p.sub, p.event)),
                None => break,
            }
        }
        got
    }
    /// `EVENT_READY` callbacks sent to `conn`; clears them.
    fn ready_count(&mut self, conn: u64) -> usize {
        let mut n = 0;
        self.out.retain(|o| match o {
            Output::Dispatch { conn: c, id: wire::EVENT_READY, .. } if c.0 == conn => {
                n += 1;
                false
            }
            _ => true,
        });
        n
    }
}

fn sync_round(nodes: &mut [Node], members: &[usize], ring: RingId) {
    begin_sync(nodes, members, ring);
    nodes[members[0]].request(77, &Request::Unlink { name: b"x".to_vec() });
    assert_eq!(nodes[members[0]].last_reply().0, error::TRY_AGAIN);
    finish_sync(nodes, members);
    run(nodes, members);
}

fn cluster(n: u32, config: EvtConfig) -> Vec<Node> {
    let mut nodes: Vec<Node> = (1..=n).map(|i| Node::new(i, EvtService::new(Evt::new(config)))).collect();
    let all: Vec<usize> = (0..n as usize).collect();
    sync_round(&mut nodes, &all, RingId { rep: 1, seq: 4 });
    nodes
}

fn open_ok(nodes: &mut [Node], members: &[usize], at: usize, conn: u64, name: &str, flags: u8) -> u64 {
    nodes[at].request(conn, &Request::Open { token: 0, is_async: false, name: name.as_bytes().to_vec(), flags });
    run(nodes, members);
    let (e, p) = nodes[at].last_reply();
    assert_eq!(e, error::OK, "open {name}");
    u64::from_le_bytes(p[..8].try_into().unwrap())
}

fn event(patterns: &[&str], priority: u8, retention: i64, data: &str) -> Event {
    Event {
        patterns: patterns.iter().map(|p| p.as_bytes().to_vec()).collect(),
        priority,
        retention,
        publisher: b"pub".to_vec(),
        data: data.as_bytes().to_vec(),
        ..Event::default()
    }
}

fn publish(nodes: &mut [Node], members: &[usize], at: usize, conn: u64, open: u64, ev: Event) -> Result<u64, u32> {
    nodes[at].request(conn, &Request::Publish { open, event: ev });
    let (e, p) = nodes[at].last_reply();
    run(nodes, members);
    if e != error::OK {
        return Err(e);
    }
    Ok(u64::from_le_bytes(p[..8].try_into().unwrap()))
}

fn filter(kind: u32, p: &str) -> Filter {
    Filter { kind, pattern: p.as_bytes().to_vec() }
}

fn subscribe(node: &mut Node, conn: u64, open: u64, sub: u32, filters: Vec<Filter>) -> u32 {
    node.request(conn, &Request::Subscribe { open, sub, filters });
    node.last_reply().0
}

const PS: u8 = wire::PUBLISHER | wire::SUBSCRIBER | wire::CREATE;

#[test]
fn events_reach_matching_subscribers_on_every_node_once_in_order() {
    let mut n = cluster(3, EvtConfig::default());
    let all = [0, 1, 2];
    let p = open_ok(&mut n, &all, 0, 1, "ch", PS);
    let s1 = open_ok(&mut n, &all, 1, 2, "ch", wire::SUBSCRIBER);
    let s2 = open_ok(&mut n, &all, 2, 3, "ch", wire::SUBSCRIBER);
    assert_eq!(subscribe(&mut n[1], 2, s1, 10, vec![filter(wire::PREFIX_FILTER, "al")]), error::OK);
    assert_eq!(subscribe(&mut n[1], 2, s1, 11, vec![filter(wire::SUFFIX_FILTER, "rm")]), error::OK);
    assert_eq!(
        subscribe(&mut n[2], 3, s2, 20, vec![filter(wire::EXACT_FILTER, "alarm"), filter(wire::PASS_ALL_FILTER, "")]),
        error::OK
    );
    assert_eq!(subscribe(&mut n[2], 3, s2, 20, vec![]), error::EXIST);
    let mut ids = Vec::new();
    for (pat, data) in [("alarm", "a"), ("alert", "b"), ("storm", "c"), ("x", "d")] {
        ids.push(publish(&mut n, &all, 0, 1, p, event(&[pat], 2, 0, data)).unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > wire::EVENTID_RESERVED);
    assert_eq!(ids[0] >> 32, 1, "node id in the high bits");
    let got1: Vec<(u32, String)> =
        n[1].drain(2).into_iter().map(|(s, e)| (s, String::from_utf8(e.data).unwrap())).collect();
    assert_eq!(got1, vec![(10, "a".into()), (11, "a".into()), (10, "b".into()), (11, "c".into())]);
    let got2: Vec<(u32, u64)> = n[2].drain(3).into_iter().map(|(s, e)| (s, e.id)).collect();
    assert_eq!(got2, vec![(20, ids[0])]);
    assert!(n[0].drain(1).is_empty(), "publisher did not subscribe");
    let r0 = n[0].svc.replica().clone();
    assert!(n.iter().all(|x| *x.svc.replica() == r0), "replicas identical");
}

#[test]
fn selection_is_ready_exactly_while_events_wait() {
    let mut n = cluster(1, EvtConfig::default());
    let o = open_ok(&mut n, &[0], 0, 1, "ch", PS);
    assert_eq!(subscribe(&mut n[0], 1, o, 1, vec![]), error::OK);
    assert_eq!(n[0].ready_count(1), 0);
    publish(&mut n, &[0], 0, 1, o, event(&[], 1, 0, "1")).unwrap();
    publish(&mut n, &[0], 0, 1, o, event(&[], 1, 0, "2")).unwrap();
    assert_eq!(n[0].ready_count(1), 1, "one EVENT_READY for a non-empty queue");
    n[0].request(1, &Request::Pull);
    n[0].last_reply();
    assert_eq!(n[0].ready_count(1), 1, "another while one still waits");
    n[0].request(1, &Request::Pull);
    n[0].last_reply();
    assert_eq!(n[0].ready_count(1), 0);
}

#[test]
fn access_flags_and_bad_handles() {
    let mut n = cluster(2, EvtConfig::default());
    let all = [0, 1];
    n[0].request(1, &Request::Open { token: 0, is_async: false, name: b"none".to_vec(), flags: wire::PUBLISHER });
    run(&mut n, &all);
    assert_eq!(n[0].last_reply().0, error::NOT_EXIST);
    n[0].request(1, &Request::Open { token: 0, is_async: false, name: b"c".to_vec(), flags: 8 });
    assert_eq!(n[0].last_reply().0, error::BAD_FLAGS);
    let sub_only = open_ok(&mut n, &all, 0, 1, "c", wire::SUBSCRIBER | wire::CREATE);
    let pub_only = open_ok(&mut n, &all, 1, 2, "c", wire::PUBLISHER);
    assert_eq!(publish(&mut n, &all, 0, 1, sub_only, event(&[], 0, 0, "")), Err(error::ACCESS));
    assert_eq!(subscribe(&mut n[1], 2, pub_only, 1, vec![]), error::ACCESS);
    assert_eq!(
        publish(&mut n, &all, 0, 9, sub_only, event(&[], 0, 0, "")),
        Err(error::BAD_HANDLE),
        "another conn's open"
    );
    n[1].request(2, &Request::Unsubscribe { open: pub_only, sub: 1 });
    assert_eq!(n[1].last_reply().0, error::NOT_EXIST);
    n[1].request(2, &Request::Clear { open: pub_only, event_id: 1 });
    assert_eq!(n[1].last_reply().0, error::INVALID_PARAM);
    n[1].request(2, &Request::Clear { open: pub_only, event_id: 5000 });
    run(&mut n, &all);
    assert_eq!(n[1].last_reply().0, error::NOT_EXIST);
    n[1].request(2, &Request::Unlink { name: b"nope".to_vec() });
    run(&mut n, &all);
    assert_eq!(n[1].last_reply().0, error::NOT_EXIST);
    assert!(n[1].with(|s, c| s.lib_request(c, ConnId(2), 99, &[])).is_err(), "unknown request id");
    assert!(n[1].with(|s, c| s.lib_request(c, ConnId(2), wire::PUBLISH, &[1, 2])).is_err(), "malformed");
    n[1].with(|s, c| s.deliver(c, 1, &[200, 1, 2]));
    assert_eq!(n[1].svc.malformed(), 1);
}

#[test]
fn retained_events_reach_late_subscribers_until_cleared_or_expired() {
    let mut n = cluster(2, EvtConfig::default());
    let all = [0, 1];
    let p = open_ok(&mut n, &all, 0, 1, "ch", PS);
    let kept = publish(&mut n, &all, 0, 1, p, event(&["k"], 1, 3_600_000_000_000, "kept")).unwrap();
    let cleared = publish(&mut n, &all, 0, 1, p, event(&["c"], 1, 3_600_000_000_000, "cleared")).unwrap();
    publish(&mut n, &all, 0, 1, p, event(&["k"], 1, 0, "not retained")).unwrap();
    let short = publish(&mut n, &all, 0, 1, p, event(&["k"], 1, 1, "short")).unwrap();
    assert!(!n[0].svc.replica().retained.contains_key(&short) || n[0].svc.replica().retained[&short].expiry > 0);
    n[0].request(1, &Request::Clear { open: p, event_id: cleared });
    run(&mut n, &all);
    assert_eq!(n[0].last_reply().0, error::OK);
    // A tick moves cluster time past the short retention on both nodes.
    n[1].advance(std::time::Duration::from_millis(1));
    let mut tick = service::EVT.to_le_bytes().to_vec();
    tick.extend(Msg::Tick { ts: n[1].now.wall }.encode());
    n[1].net.submitted.push(tick);
    run(&mut n, &all);
    assert!(!n[0].svc.replica().retained.contains_key(&short));
    assert_eq!(n[0].svc.replica(), n[1].svc.replica(), "expiry identical");
    let s = open_ok(&mut n, &all, 1, 5, "ch", wire::SUBSCRIBER);
    assert_eq!(subscribe(&mut n[1], 5, s, 3, vec![filter(wire::PASS_ALL_FILTER, "")]), error::OK);
    let got: Vec<u64> = n[1].drain(5).into_iter().map(|(_, e)| e.id).collect();
    assert_eq!(got, vec![kept]);
}

#[test]
fn overflow_gives_the_lost_event_and_memory_stays_bounded() {
    let cfg = EvtConfig { delivery_queue_size: 5, delivery_queue_resume: 2 };
    let mut n = cluster(1, cfg);
    let o = open_ok(&mut n, &[0], 0, 1, "ch", PS);
    assert_eq!(subscribe(&mut n[0], 1, o, 4, vec![]), error::OK);
    for i in 0..50 {
        publish(&mut n, &[0], 0, 1, o, event(&[], 3, 0, &i.to_string())).unwrap();
    }
    assert_eq!(n[0].svc.dropped_events(), 45);
    let got = n[0].drain(1);
    assert_eq!(got.len(), 6);
    assert_eq!(got[0].1.id, wire::EVENTID_LOST);
    assert_eq!(got[0].1.patterns, vec![wire::LOST_EVENT_PATTERN.to_vec()]);
    assert_eq!(got[0].0, 4);
    let data: Vec<Vec<u8>> = got[1..].iter().map(|(_, e)| e.data.clone()).collect();
    assert_eq!(data, (0..5).map(|i: i32| i.to_string().into_bytes()).collect::<Vec<_>>());
}

#[test]
fn joining_node_receives_retained_events_and_counters() {
    let mut n = cluster(2, EvtConfig::default());
    let p = open_ok(&mut n, &[0, 1], 0, 1, "ch", PS);
    let id = publish(&mut n, &[0, 1], 0, 1, p, event(&["x"], 0, 3_600_000_000_000, "old")).unwrap();
    // Node 3 joins.
    n.push(Node::new(3, EvtService::default()));
    sync_round(&mut n, &[0, 1, 2], RingId { rep: 1, seq: 8 });
    let r0 = n[0].svc.replica().clone();
    assert!(n.iter().all(|x| *x.svc.replica() == r0), "replicas identical after sync");
    let s = open_ok(&mut n, &[0, 1, 2], 2, 7, "ch", wire::SUBSCRIBER);
    assert_eq!(subscribe(&mut n[2], 7, s, 1, vec![filter(wire::EXACT_FILTER, "x")]), error::OK);
    let got: Vec<u64> = n[2].drain(7).into_iter().map(|(_, e)| e.id).collect();
    assert_eq!(got, vec![id]);
    // Node 1 restarts empty and rejoins: its next id continues after the old one.
    n[0].restart(EvtService::default());
    sync_round(&mut n, &[0, 1, 2], RingId { rep: 1, seq: 12 });
    let p2 = open_ok(&mut n, &[0, 1, 2], 0, 1, "ch", PS);
    let id2 = publish(&mut n, &[0, 1, 2], 0, 1, p2, event(&[], 0, 0, "")).unwrap();
    assert!(id2 > id, "no id reuse after restart");
}

#[test]
fn unlinked_channel_lives_until_last_close_and_departed_nodes_close() {
    let mut n = cluster(2, EvtConfig::default());
    let all = [0, 1];
    let a = open_ok(&mut n, &all, 0, 1, "ch", PS);
    let _b = open_ok(&mut n, &all, 1, 2, "ch", PS);
    n[0].request(1, &Request::Unlink { name: b"ch".to_vec() });
    run(&mut n, &all);
    assert_eq!(n[0].last_reply().0, error::OK);
    assert_eq!(n[0].svc.replica().channels.len(), 1);
    assert_eq!(publish(&mut n, &all, 0, 1, a, event(&[], 0, 0, "")).map(|_| ()), Ok(()), "still usable");
    n[0].request(1, &Request::Close { open: a });
    run(&mut n, &all);
    assert_eq!(n[0].last_reply().0, error::OK);
    assert_eq!(n[0].svc.replica().channels.len(), 1);
    // Node 2 leaves: its open goes, and with it the channel.
    sync_round(&mut n, &[0], RingId { rep: 1, seq: 8 });
    assert!(n[0].svc.replica().channels.is_empty());
    // A client that goes away closes its opens.
    let c = open_ok(&mut n, &[0], 0, 3, "other", PS);
    assert!(n[0].svc.replica().opens.contains_key(&(1, c)));
    n[0].with(|s, ctx| s.conn_closed(ctx, ConnId(3)));
    run(&mut n, &[0]);
    assert!(n[0].svc.replica().opens.is_empty());
}

#[test]
fn async_open_answers_by_callback() {
    let mut n = cluster(1, EvtConfig::default());
    n[0].request(1, &Request::Open { token: 42, is_async: true, name: b"a".to_vec(), flags: PS });
    assert_eq!(n[0].last_reply().0, error::OK);
    run(&mut n, &[0]);
    let cb = n[0].out.iter().find_map(|o| match o {
        Output::Dispatch { id: wire::OPEN_CALLBACK, body, .. } => Some(body.clone()),
        _ => None,
    });
    let body = cb.expect("callback");
    assert_eq!(&body[..8], &42u64.to_le_bytes());
    assert_eq!(&body[8..12], &error::OK.to_le_bytes());
}

#[test]
fn partitions_merge_into_identical_replicas() {
    let mut n = cluster(3, EvtConfig::default());
    let p0 = open_ok(&mut n, &[0, 1, 2], 0, 1, "ch", PS);
    // Split: {1} and {2, 3}; each side retains an event and creates a channel
    // of the same new name.
    sync_round(&mut n, &[0], RingId { rep: 1, seq: 8 });
    sync_round(&mut n, &[1, 2], RingId { rep: 2, seq: 8 });
    let a = publish(&mut n, &[0], 0, 1, p0, event(&["x"], 0, 3_600_000_000_000, "a")).unwrap();
    let p1 = open_ok(&mut n, &[1, 2], 1, 2, "ch", PS);
    let b = publish(&mut n, &[1, 2], 1, 2, p1, event(&["x"], 0, 3_600_000_000_000, "b")).unwrap();
    let q0 = open_ok(&mut n, &[0], 0, 1, "new", PS);
    let q1 = open_ok(&mut n, &[1, 2], 2, 3, "new", PS);
    // Merge.
    sync_round(&mut n, &[0, 1, 2], RingId { rep: 1, seq: 12 });
    let r0 = n[0].svc.replica().clone();
    assert!(n.iter().all(|x| *x.svc.replica() == r0), "replicas identical after the merge");
    assert_eq!(r0.retained.keys().copied().collect::<Vec<_>>(), {
        let mut v = vec![a, b];
        v.sort();
        v
    });
    assert_eq!(r0.channels.values().filter(|c| c.name == b"new").count(), 1, "one channel per name");
    // Both opens of "new" now reach each other's subscribers.
    assert_eq!(subscribe(&mut n[2], 3, q1, 1, vec![]), error::OK);
    publish(&mut n, &[0, 1, 2], 0, 1, q0, event(&[], 0, 0, "hello")).unwrap();
    assert_eq!(n[2].drain(3).len(), 1);
}

#[test]
fn opens_and_subscriptions_per_client_are_bounded() {
    let mut n = cluster(1, EvtConfig::default());
    let o = open_ok(&mut n, &[0], 0, 1, "ch", PS);
    for sub in 0..MAX_SUBS_PER_OPEN as u32 {
        assert_eq!(subscribe(&mut n[0], 1, o, sub, vec![]), error::OK);
    }
    assert_eq!(subscribe(&mut n[0], 1, o, u32::MAX, vec![]), error::NO_RESOURCES);
    for _ in 1..MAX_OPENS_PER_CONN {
        n[0].request(1, &Request::Open { token: 0, is_async: false, name: b"ch".to_vec(), flags: wire::SUBSCRIBER });
    }
    n[0].request(1, &Request::Open { token: 0, is_async: false, name: b"ch".to_vec(), flags: wire::SUBSCRIBER });
    assert_eq!(n[0].last_reply().0, error::NO_RESOURCES, "in flight count too");
    run(&mut n, &[0]);
    n[0].request(2, &Request::Open { token: 0, is_async: false, name: b"ch".to_vec(), flags: wire::SUBSCRIBER });
    run(&mut n, &[0]);
    assert_eq!(n[0].last_reply().0, error::OK, "another connection is not affected");
}
