//! The message service on simulated nodes (one global order, virtual time).

use std::time::Duration;

use ais_ipc::error;
use ais_ipc::msg::{self as wire, Attrs, Got, Message, Request};

use super::*;
use crate::ordering::{ConfigChange, ConfigKind, RingId};
use crate::service::{Output, Service};
use crate::services::testkit::{SimNode, begin_sync, finish_sync, run_ordered as run};

type Node = SimNode<MsgService>;

/// The data of the message in a GET or SEND_RECEIVE answer.
fn got_data(payload: &[u8]) -> Vec<u8> {
    match Got::decode(payload) {
        Ok(Got::Message { msg, .. }) => msg.data,
        other => panic!("not a message: {other:?}"),
    }
}

fn cluster(n: u32) -> Vec<Node> {
    let mut nodes: Vec<Node> = (1..=n).map(|id| Node::new(id, MsgService::default())).collect();
    let all: Vec<usize> = (0..n as usize).collect();
    begin_sync(&mut nodes, &all, RingId { rep: 1, seq: 4 });
    finish_sync(&mut nodes, &all);
    nodes
}

fn attrs(flags: u32) -> Attrs {
    Attrs { creation_flags: flags, size: [1000; 4], retention: 5_000_000_000 }
}

fn msg(priority: u8, data: &[u8]) -> Message {
    Message { priority, data: data.to_vec(), ..Message::default() }
}

impl Node {
    fn ask(&mut self, conn: u64, req: &Request) {
        self.with(|s, c| s.lib_request(c, ConnId(conn), req.id(), &req.encode())).unwrap();
    }

    /// Answers (conn, id, error, payload), removed; callbacks stay.
    fn answers(&mut self) -> Vec<(u64, u32, u32, Vec<u8>)> {
        self.replies().into_iter().map(|(c, id, e, p)| (c.0, id, e, p)).collect()
    }

    /// Callbacks (conn, id, body), removed.
    fn callbacks(&mut self) -> Vec<(u64, u32, Vec<u8>)> {
        let mut out = Vec::new();
        self.out.retain(|o| match o {
            Output::Dispatch { conn, id, body } => {
                out.push((conn.0, *id, body.clone()));
                false
            }
            _ => true,
        });
        out
    }

    fn open(&mut self, conn: u64, name: &str, create: Option<Attrs>, flags: u32) {
        let flags = flags | if create.is_some() { wire::OPEN_CREATE } else { 0 };
        self.ask(conn, &Request::Open { token: 0, is_async: false, name: name.into(), attrs: create, flags });
    }

    fn send(&mut self, conn: u64, to: &str, m: Message) {
        self.ask(conn, &Request::Send { to: to.into(), msg: m, mode: wire::MODE_SYNC, token: 0 });
    }

    fn get(&mut self, conn: u64, open: u64, timeout: i64) {
        self.ask(conn, &Request::Get { open, timeout, room: u64::MAX });
    }
}

/// The open id in an OPEN answer.
fn open_id(answer: &(u64, u32, u32, Vec<u8>)) -> u64 {
    assert_eq!(answer.2, error::OK, "open failed");
    u64::from_le_bytes(answer.3[..8].try_into().unwrap())
}

fn same_everywhere(nodes: &[Node]) {
    for n in &nodes[1..] {
        assert_eq!(n.svc.state(), nodes[0].svc.state(), "replicas differ");
    }
}

#[test]
fn messages_from_other_nodes_arrive_in_priority_then_sender_order() {
    let mut n = cluster(3);
    let all = [0, 1, 2];
    n[0].open(1, "q", Some(attrs(0)), 0);
    run(&mut n, &all);
    let open = open_id(&n[0].answers()[0]);
    for i in 0..3u8 {
        n[1].send(2, "q", msg(2, &[b'b', i]));
        n[2].send(3, "q", msg(2, &[b'c', i]));
    }
    n[2].send(3, "q", msg(0, b"urgent"));
    run(&mut n, &all);
    assert!(n[1].answers().iter().all(|a| a.2 == error::OK));
    same_everywhere(&n);
    let mut got = Vec::new();
    for _ in 0..7 {
        n[0].get(1, open, 0);
        run(&mut n, &all);
        got.push(got_data(&n[0].answers()[0].3));
    }
    assert_eq!(got[0], b"urgent");
    let from_b: Vec<_> = got.iter().filter(|d| d[0] == b'b').map(|d| d[1]).collect();
    assert_eq!(from_b, [0, 1, 2], "one sender's order is kept");
    n[0].get(1, open, 0);
    run(&mut n, &all);
    assert_eq!(n[0].answers()[0].2, error::TIMEOUT, "empty, no wait");
    same_everywhere(&n);
}

#[test]
fn a_blocked_get_is_answered_by_a_send_or_times_out_or_is_cancelled() {
    let mut n = cluster(2);
    let all = [0, 1];
    n[0].open(1, "q", Some(attrs(0)), 0);
    run(&mut n, &all);
    let open = open_id(&n[0].answers()[0]);
    // Blocks on connection 7 (the library's connection for blocking calls).
    n[0].get(7, open, 1_000_000_000);
    run(&mut n, &all);
    assert!(n[0].answers().is_empty());
    n[1].send(2, "q", msg(1, b"hello"));
    run(&mut n, &all);
    let a = n[0].answers();
    assert_eq!((a[0].0, a[0].1), (7, wire::GET));
    assert_eq!(got_data(&a[0].3), b"hello");
    // Timeout: the deadline is local to node 1; its expiry is ordered.
    n[0].get(7, open, 1_000_000_000);
    run(&mut n, &all);
    n[0].advance(Duration::from_millis(500));
    assert!(n[0].poll_timeout().is_some_and(|t| t > n[0].now.mono));
    n[0].advance(Duration::from_millis(600));
    n[0].with(|s, c| s.handle_timeout(c));
    run(&mut n, &all);
    assert_eq!(n[0].answers()[0].2, error::TIMEOUT);
    n[1].send(2, "q", msg(1, b"kept"));
    run(&mut n, &all);
    assert_eq!(n[0].svc.state().queues[&b"q"[..]].count(), 1, "nobody waits: the message is queued");
    n[0].get(7, open, wire::TIME_END);
    run(&mut n, &all);
    assert_eq!(got_data(&n[0].answers()[0].3), b"kept");
    // Cancel wakes every blocked get of the open.
    n[0].get(7, open, wire::TIME_END);
    n[0].get(8, open, wire::TIME_END);
    run(&mut n, &all);
    n[0].ask(1, &Request::Cancel { open });
    run(&mut n, &all);
    let mut a = n[0].answers();
    a.sort();
    let codes: Vec<_> = a.iter().map(|x| (x.0, x.2)).collect();
    assert_eq!(codes, [(1, error::OK), (7, error::INTERRUPT), (8, error::INTERRUPT)]);
    same_everywhere(&n);
}

#[test]
fn send_receive_waits_for_the_reply_from_another_node() {
    let mut n = cluster(2);
    let all = [0, 1];
    n[0].open(1, "server", Some(attrs(0)), wire::OPEN_RECEIVE_CALLBACK);
    run(&mut n, &all);
    let open = open_id(&n[0].answers()[0]);
    n[1].ask(5, &Request::SendReceive { to: "server".into(), msg: msg(0, b"ping"), timeout: wire::TIME_END, room: 10 });
    run(&mut n, &all);
    assert!(n[1].answers().is_empty(), "waits for the reply");
    let cb = n[0].callbacks();
    assert_eq!((cb[0].0, cb[0].1), (1, wire::RECEIVED_CALLBACK));
    n[0].get(1, open, 0);
    run(&mut n, &all);
    let Ok(Got::Message { sender_id, .. }) = Got::decode(&n[0].answers()[0].3) else { panic!() };
    assert_ne!(sender_id, 0);
    let reply = |data: &[u8]| Request::Reply { sender_id, msg: msg(0, data), mode: wire::MODE_SYNC, token: 0 };
    n[0].ask(1, &reply(b"far too long a pong"));
    run(&mut n, &all);
    assert_eq!(n[0].answers()[0].2, error::NO_SPACE);
    n[0].ask(1, &reply(b"pong"));
    run(&mut n, &all);
    assert_eq!(n[0].answers()[0].2, error::OK);
    assert_eq!(got_data(&n[1].answers()[0].3), b"pong");
    n[0].ask(1, &reply(b"again"));
    run(&mut n, &all);
    assert_eq!(n[0].answers()[0].2, error::NOT_EXIST, "the sender has its reply");
    same_everywhere(&n);
}

#[test]
fn queued_messages_survive_the_death_of_the_node_that_had_the_queue_open() {
    let mut n = cluster(3);
    let all = [0, 1, 2];
    n[0].open(1, "q", Some(attrs(wire::PERSISTENT)), 0);
    run(&mut n, &all);
    for i in 0..5u8 {
        n[1].send(2, "q", msg(3, &[i]));
    }
    run(&mut n, &all);
    // Node 1 dies.
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
    let rest = [1, 2];
    n[2].open(3, "q", None, 0);
    run(&mut n, &rest);
    let open = open_id(&n[2].answers()[0]);
    for i in 0..5u8 {
        n[2].get(3, open, 0);
        run(&mut n, &rest);
        assert_eq!(got_data(&n[2].answers()[0].3), [i]);
    }
}

#[test]
fn a_joining_node_gets_queues_messages_and_groups() {
    let mut n = cluster(2);
    n.push(Node::new(3, MsgService::default()));
    n[0].open(1, "q", Some(attrs(0)), 0);
    n[0].ask(1, &Request::GroupCreate { group: "g".into(), policy: wire::ROUND_ROBIN });
    n[0].ask(1, &Request::GroupInsert { group: "g".into(), queue: "q".into() });
    n[1].send(2, "q", msg(1, b"x"));
    run(&mut n, &[0, 1]);
    begin_sync(&mut n, &[0, 1, 2], RingId { rep: 1, seq: 8 });
    finish_sync(&mut n, &[0, 1, 2]);
    same_everywhere(&n);
    n[2].send(3, "g", msg(1, b"y"));
    run(&mut n, &[0, 1, 2]);
    assert_eq!(n[2].answers()[0].2, error::OK);
    assert_eq!(n[2].svc.state().queues[&b"q"[..]].count(), 2);
    same_everywhere(&n);
}

#[test]
fn tracking_reports_current_members_and_changes() {
    let mut n = cluster(2);
    let all = [0, 1];
    n[0].open(1, "a", Some(attrs(0)), 0);
    n[0].ask(1, &Request::GroupCreate { group: "g".into(), policy: wire::BROADCAST });
    n[0].ask(1, &Request::GroupInsert { group: "g".into(), queue: "a".into() });
    run(&mut n, &all);
    n[0].answers();
    let track = |flags, in_reply| Request::GroupTrack { group: "g".into(), flags, current_in_reply: in_reply };
    n[1].ask(2, &track(wire::TRACK_CURRENT, true));
    n[1].ask(3, &track(wire::TRACK_CHANGES_ONLY, false));
    n[1].ask(4, &track(0x40, false));
    run(&mut n, &all);
    let a = n[1].answers();
    let members = wire::decode_track_reply(&a.iter().find(|x| x.0 == 2).unwrap().3).unwrap().unwrap();
    assert_eq!(members.items, [(b"a".to_vec(), wire::NO_CHANGE)]);
    assert_eq!(a.iter().find(|x| x.0 == 4).unwrap().2, error::BAD_FLAGS);
    n[0].open(1, "b", Some(attrs(0)), 0);
    n[0].ask(1, &Request::GroupInsert { group: "g".into(), queue: "b".into() });
    run(&mut n, &all);
    let cb = n[1].callbacks();
    assert_eq!(cb.len(), 1);
    let t = wire::TrackCallback::decode(&cb[0].2).unwrap();
    assert_eq!((t.members.members, t.members.items), (2, vec![(b"b".to_vec(), wire::ADDED)]));
    n[1].ask(3, &Request::TrackStop { group: "g".into() });
    assert_eq!(n[1].answers()[0].2, error::OK);
    n[1].ask(3, &Request::TrackStop { group: "g".into() });
    assert_eq!(n[1].answers()[0].2, error::NOT_EXIST);
}
