//! Several simulated nodes, each with its own CLM service, fed the same
//! ordered sequence of configuration changes and messages.

use ais_ipc::clm::{self as wire, NodeGetCallback, TrackCallback, TrackStart};
use ais_ipc::error;

use super::*;
use crate::service::{Output, split_routed};
use crate::services::testkit;

type SimNode = testkit::SimNode<ClmService>;

fn sim_node(node: NodeId, address: &str, boot: i64) -> SimNode {
    let identity = LocalIdentity { name: format!("host{node}").into_bytes(), boot_timestamp: boot };
    let mut n = SimNode::new(node, ClmService::new(identity));
    n.net.address = address.into();
    n
}

impl SimNode {
    fn request(&mut self, conn: u64, id: u32, body: &[u8]) -> Result<(), RequestError> {
        self.with(|s, ctx| s.lib_request(ctx, ConnId(conn), id, body))
    }

    fn take_out(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }
}

fn regular(members: &[NodeId], seq: u64) -> ConfigChange {
    ConfigChange {
        kind: ConfigKind::Regular,
        ring_id: RingId { rep: members[0], seq },
        members: members.to_vec(),
        left: Vec::new(),
        joined: Vec::new(),
    }
}

/// Delivers a regular configuration of `members` to those nodes, and
/// returns what each of them submitted (sender, payload), in node order.
fn confchg(nodes: &mut [SimNode], members: &[NodeId], seq: u64) -> Vec<(NodeId, Vec<u8>)> {
    let change = regular(members, seq);
    let mut sent = Vec::new();
    for n in nodes.iter_mut().filter(|n| members.contains(&n.id())) {
        n.with(|s, ctx| s.config_change(ctx, &change));
        for msg in std::mem::take(&mut n.net.submitted) {
            let (svc, payload) = split_routed(&msg).unwrap();
            assert_eq!(svc, service::CLM);
            sent.push((n.id(), payload.to_vec()));
        }
    }
    sent
}

/// Delivers `msgs` in this order to every node in `members`.
fn deliver(nodes: &mut [SimNode], members: &[NodeId], msgs: &[(NodeId, Vec<u8>)]) {
    for n in nodes.iter_mut().filter(|n| members.contains(&n.id())) {
        for (sender, payload) in msgs {
            n.with(|s, ctx| s.deliver(ctx, *sender, payload));
        }
    }
}

fn settle(nodes: &mut [SimNode], members: &[NodeId], seq: u64) {
    let msgs = confchg(nodes, members, seq);
    assert_eq!(msgs.len(), members.len(), "each member announces itself once");
    deliver(nodes, members, &msgs);
}

fn cluster() -> Vec<SimNode> {
    vec![sim_node(1, "10.0.0.1", 100), sim_node(2, "10.0.0.2", 200), sim_node(3, "fe80::3", 300)]
}

fn assert_agree(nodes: &[SimNode], members: &[NodeId]) -> u64 {
    let first = nodes.iter().find(|n| members.contains(&n.id())).unwrap();
    let (view, ids) = first.svc.view();
    assert_eq!(ids, members);
    let table: Vec<Node> = first.svc.members().cloned().collect();
    for n in nodes.iter().filter(|n| members.contains(&n.id())) {
        assert_eq!(n.svc.view(), (view, ids.clone()), "node {}", n.id());
        assert_eq!(n.svc.members().cloned().collect::<Vec<_>>(), table, "node {}", n.id());
    }
    view
}

fn track_callbacks(out: &[Output], conn: u64) -> Vec<TrackCallback> {
    out.iter()
        .filter_map(|o| match o {
            Output::Dispatch { conn: c, id: wire::TRACK_CALLBACK, body } if *c == ConnId(conn) => {
                Some(TrackCallback::decode(body).unwrap())
            }
            _ => None,
        })
        .collect()
}

fn changes(cb: &TrackCallback) -> Vec<(NodeId, u32, bool)> {
    cb.view.items.iter().map(|(n, c)| (n.node_id, *c, n.member)).collect()
}

fn reply(out: &[Output], conn: u64) -> (u32, Vec<u8>) {
    let r = out.iter().find_map(|o| match o {
        Output::Reply { conn: c, body, .. } if *c == ConnId(conn) => Some(body.clone()),
        _ => None,
    });
    let body = r.expect("a reply");
    (u32::from_le_bytes(body[..4].try_into().unwrap()), body[4..].to_vec())
}

#[test]
fn three_nodes_agree_on_view_and_table() {
    let mut nodes = cluster();
    settle(&mut nodes, &[1, 2, 3], 4);
    assert_eq!(assert_agree(&nodes, &[1, 2, 3]), 1);
    let table: Vec<Node> = nodes[0].svc.members().cloned().collect();
    assert_eq!(table[0].address, b"10.0.0.1");
    assert_eq!(table[0].family, wire::AF_INET);
    assert_eq!(table[2].address, b"fe80::3");
    assert_eq!(table[2].family, wire::AF_INET6);
    assert_eq!(table[1].name, b"host2");
    assert_eq!(table[1].boot_timestamp, 200);
    assert!(table.iter().all(|n| n.member && n.initial_view == 1));
}

#[test]
fn view_waits_for_every_member_and_stale_rings_are_ignored() {
    let mut nodes = cluster();
    let msgs = confchg(&mut nodes, &[1, 2, 3], 4);
    deliver(&mut nodes, &[1, 2, 3], &msgs[..2]);
    assert_eq!(nodes[0].svc.view().0, 0, "incomplete view not used");
    // Node 3 fails before its announcement is delivered.
    let late = msgs[2].clone();
    let msgs = confchg(&mut nodes, &[1, 2], 8);
    deliver(&mut nodes, &[1, 2], &[late]);
    assert_eq!(nodes[0].svc.view().0, 0, "old ring's info ignored");
    deliver(&mut nodes, &[1, 2], &msgs);
    assert_eq!(assert_agree(&nodes, &[1, 2]), 1);
    // Garbage is counted, not applied.
    nodes[0].with(|s, ctx| s.deliver(ctx, 2, &[9, 9]));
    assert_eq!(nodes[0].svc.malformed, 1);
    assert_eq!(assert_agree(&nodes, &[1, 2]), 1);
}

#[test]
fn leave_and_rejoin_give_the_right_callbacks_and_the_same_view_everywhere() {
    let mut nodes = cluster();
    settle(&mut nodes, &[1, 2, 3], 4);
    nodes[0]
        .request(
            10,
            wire::TRACK_START,
            &TrackStart { flags: wire::TRACK_CHANGES, current_in_reply: false, capacity: 0 }.encode(),
        )
        .unwrap();
    nodes[1]
        .request(
            20,
            wire::TRACK_START,
            &TrackStart { flags: wire::TRACK_CHANGES_ONLY, current_in_reply: false, capacity: 0 }.encode(),
        )
        .unwrap();
    assert_eq!(reply(&nodes[0].take_out(), 10).0, error::OK);
    assert_eq!(reply(&nodes[1].take_out(), 20).0, error::OK);

    // Node 3 is killed.
    settle(&mut nodes, &[1, 2], 8);
    assert_eq!(assert_agree(&nodes, &[1, 2]), 2);
    let cbs = track_callbacks(&nodes[0].take_out(), 10);
    assert_eq!(cbs.len(), 1);
    assert_eq!((cbs[0].view.view_number, cbs[0].number_of_members), (2, 2));
    assert_eq!(
        changes(&cbs[0]),
        [(1, wire::NODE_NO_CHANGE, true), (2, wire::NODE_NO_CHANGE, true), (3, wire::NODE_LEFT, false)]
    );
    let cbs = track_callbacks(&nodes[1].take_out(), 20);
    assert_eq!(changes(&cbs[0]), [(3, wire::NODE_LEFT, false)]);
    assert_eq!(cbs[0].number_of_members, 2);

    // Node 3 restarts (fresh state, new boot time) and rejoins.
    nodes[2] = sim_node(3, "fe80::3", 301);
    settle(&mut nodes, &[1, 2, 3], 12);
    assert_eq!(assert_agree(&nodes, &[1, 2, 3]), 3, "the rejoined node adopts the cluster's numbering");
    let table: Vec<Node> = nodes[2].svc.members().cloned().collect();
    assert_eq!(table.iter().map(|n| n.initial_view).collect::<Vec<_>>(), [1, 1, 3]);
    assert_eq!(table[2].boot_timestamp, 301);
    let cbs = track_callbacks(&nodes[0].take_out(), 10);
    assert_eq!(
        changes(&cbs[0]),
        [(1, wire::NODE_NO_CHANGE, true), (2, wire::NODE_NO_CHANGE, true), (3, wire::NODE_JOINED, true)]
    );
    assert_eq!((cbs[0].view.view_number, cbs[0].number_of_members), (3, 3));
    let cbs = track_callbacks(&nodes[1].take_out(), 20);
    assert_eq!(changes(&cbs[0]), [(3, wire::NODE_JOINED, true)]);

    // Closing the connection ends its tracking.
    nodes[0].with(|s, ctx| s.conn_closed(ctx, ConnId(10)));
    settle(&mut nodes, &[1, 2], 16);
    assert!(track_callbacks(&nodes[0].take_out(), 10).is_empty());
    assert_eq!(track_callbacks(&nodes[1].take_out(), 20).len(), 1);
}

#[test]
fn a_new_ring_with_the_same_members_bumps_the_view_without_callbacks() {
    let mut nodes = cluster();
    settle(&mut nodes, &[1, 2, 3], 4);
    nodes[0]
        .request(
            1,
            wire::TRACK_START,
            &TrackStart { flags: wire::TRACK_CHANGES, current_in_reply: false, capacity: 0 }.encode(),
        )
        .unwrap();
    nodes[0].take_out();
    settle(&mut nodes, &[1, 2, 3], 8);
    assert_eq!(assert_agree(&nodes, &[1, 2, 3]), 2);
    assert!(track_callbacks(&nodes[0].take_out(), 1).is_empty());
}

#[test]
fn requests_before_the_first_view_are_try_again() {
    let mut n = sim_node(1, "127.0.0.1", 1);
    n.request(1, wire::NODE_GET, &wire::encode_node_get(wire::LOCAL_NODE_ID)).unwrap();
    n.request(2, wire::TRACK_START, &TrackStart { flags: 1, current_in_reply: true, capacity: 16 }.encode()).unwrap();
    n.request(3, wire::NODE_GET_ASYNC, &wire::encode_node_get_async(1, 1)).unwrap();
    let out = n.take_out();
    for conn in 1..=3 {
        assert_eq!(reply(&out, conn).0, error::TRY_AGAIN, "conn {conn}");
    }
    assert_eq!(out.len(), 3, "no callback");
}

#[test]
fn library_requests() {
    let mut nodes = vec![sim_node(1, "127.0.0.1", 5), sim_node(2, "127.0.0.2", 6)];
    settle(&mut nodes, &[1, 2], 4);
    let n = &mut nodes[0];

    // Bad flag combinations are answered, not fatal.
    for flags in [0u8, 6, 7, 8] {
        n.request(1, wire::TRACK_START, &TrackStart { flags, current_in_reply: true, capacity: 16 }.encode()).unwrap();
        assert_eq!(reply(&n.take_out(), 1).0, error::BAD_FLAGS, "flags {flags}");
    }
    // CURRENT in the reply.
    n.request(1, wire::TRACK_START, &TrackStart { flags: 1, current_in_reply: true, capacity: 16 }.encode()).unwrap();
    let out = n.take_out();
    let (status, payload) = reply(&out, 1);
    assert_eq!(status, error::OK);
    let TrackReply::View(view) = TrackReply::decode(&payload).unwrap() else { panic!("no view") };
    assert_eq!(view.view_number, 1);
    assert_eq!(view.items.iter().map(|(n, c)| (n.node_id, *c)).collect::<Vec<_>>(), [(1, 1), (2, 1)]);
    assert_eq!(out.len(), 1, "no callback");
    // CURRENT by callback.
    n.request(1, wire::TRACK_START, &TrackStart { flags: 1, current_in_reply: false, capacity: 0 }.encode()).unwrap();
    let out = n.take_out();
    assert_eq!(reply(&out, 1), (error::OK, Vec::new()));
    let cbs = track_callbacks(&out, 1);
    assert_eq!((cbs.len(), cbs[0].number_of_members, cbs[0].view.items.len()), (1, 2, 2));
    // A buffer too small: the needed count, and tracking not started.
    n.request(1, wire::TRACK_START, &TrackStart { flags: 3, current_in_reply: true, capacity: 1 }.encode()).unwrap();
    let out = n.take_out();
    assert_eq!(reply(&out, 1), (error::OK, TrackReply::NoSpace(2).encode()));
    assert_eq!(out.len(), 1);
    // CURRENT alone does not start tracking.
    n.request(1, wire::TRACK_STOP, &[]).unwrap();
    assert_eq!(reply(&n.take_out(), 1).0, error::NOT_EXIST);
    n.request(1, wire::TRACK_START, &TrackStart { flags: 3, current_in_reply: true, capacity: 16 }.encode()).unwrap();
    n.take_out();
    n.request(1, wire::TRACK_STOP, &[]).unwrap();
    assert_eq!(reply(&n.take_out(), 1).0, error::OK);
    n.request(1, wire::TRACK_STOP, &[]).unwrap();
    assert_eq!(reply(&n.take_out(), 1).0, error::NOT_EXIST);

    // Node get: local, other, unknown.
    n.request(1, wire::NODE_GET, &wire::encode_node_get(wire::LOCAL_NODE_ID)).unwrap();
    let (status, payload) = reply(&n.take_out(), 1);
    assert_eq!(status, error::OK);
    let local = wire::decode_node(&payload).unwrap();
    assert_eq!((local.node_id, &local.address[..], local.boot_timestamp), (1, &b"127.0.0.1"[..], 5));
    n.request(1, wire::NODE_GET, &wire::encode_node_get(2)).unwrap();
    let (status, payload) = reply(&n.take_out(), 1);
    assert_eq!((status, wire::decode_node(&payload).unwrap().node_id), (error::OK, 2));
    n.request(1, wire::NODE_GET, &wire::encode_node_get(77)).unwrap();
    assert_eq!(reply(&n.take_out(), 1), (error::NOT_EXIST, Vec::new()));

    // Async: reply OK, the result comes as a callback.
    n.request(1, wire::NODE_GET_ASYNC, &wire::encode_node_get_async(42, 2)).unwrap();
    n.request(1, wire::NODE_GET_ASYNC, &wire::encode_node_get_async(43, 77)).unwrap();
    let out = n.take_out();
    let cbs: Vec<NodeGetCallback> = out
        .iter()
        .filter_map(|o| match o {
            Output::Dispatch { id: wire::NODE_GET_CALLBACK, body, .. } => Some(NodeGetCallback::decode(body).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(cbs.len(), 2);
    assert_eq!((cbs[0].invocation, cbs[0].result.as_ref().map(|n| n.node_id)), (42, Ok(2)));
    assert_eq!((cbs[1].invocation, cbs[1].result.clone()), (43, Err(error::NOT_EXIST)));

    // Malformed and unknown requests are errors (the connection is closed).
    assert!(matches!(n.request(1, wire::NODE_GET, &[1, 2]), Err(RequestError::Malformed(_))));
    assert!(matches!(n.request(1, wire::TRACK_STOP, &[1]), Err(RequestError::Malformed(_))));
    assert_eq!(n.request(1, 99, &[]), Err(RequestError::UnknownId(99)));
}

#[test]
fn an_announcement_refused_by_a_full_queue_is_retried_by_sync_process() {
    let mut nodes = vec![sim_node(1, "127.0.0.1", 5), sim_node(2, "127.0.0.2", 6)];
    nodes[1].net.refuse = 2;
    let mut msgs = confchg(&mut nodes, &[1, 2], 4);
    assert_eq!(msgs.len(), 1, "node 2 could not queue its announcement");
    assert_eq!(nodes[1].with(|s, ctx| s.sync_process(ctx)), SyncStep::MoreToSend);
    assert_eq!(nodes[1].with(|s, ctx| s.sync_process(ctx)), SyncStep::Done);
    assert_eq!(nodes[1].with(|s, ctx| s.sync_process(ctx)), SyncStep::Done, "sent once");
    assert_eq!(nodes[0].with(|s, ctx| s.sync_process(ctx)), SyncStep::Done);
    let late = std::mem::take(&mut nodes[1].net.submitted);
    assert_eq!(late.len(), 1);
    msgs.push((2, split_routed(&late[0]).unwrap().1.to_vec()));
    deliver(&mut nodes, &[1, 2], &msgs);
    assert_eq!(assert_agree(&nodes, &[1, 2]), 1);
}

#[test]
fn a_node_that_was_alone_first_joins_with_the_clusters_numbering() {
    let mut nodes = cluster();
    settle(&mut nodes, &[1, 2, 3], 4);
    settle(&mut nodes, &[1, 2], 8);
    settle(&mut nodes, &[1, 2], 12);
    assert_eq!(assert_agree(&nodes, &[1, 2]), 3);
    // Node 3 restarts and first forms a ring of its own (view 1 there).
    nodes[2] = sim_node(3, "fe80::3", 301);
    settle(&mut nodes, &[3], 16);
    assert_eq!(nodes[2].svc.view(), (1, vec![3]));
    // The partitions merge: the higher numbering wins; node 3 is new in it.
    settle(&mut nodes, &[1, 2, 3], 20);
    assert_eq!(assert_agree(&nodes, &[1, 2, 3]), 4);
    let initial: Vec<u64> = nodes[0].svc.members().map(|n| n.initial_view).collect();
    assert_eq!(initial, [1, 1, 4]);
}

#[test]
fn a_hostile_last_view_does_not_overflow_the_view_number() {
    let mut nodes = cluster();
    let mut msgs = confchg(&mut nodes, &[1, 2, 3], 5);
    // Node 3's announcement rewritten on the wire: the largest view.
    let mut info = wire::NodeInfo::decode(&msgs[2].1).unwrap();
    info.last_view = u64::MAX;
    msgs[2].1 = info.encode();
    // Before: `newest + 1` overflowed (a panic in debug builds).
    deliver(&mut nodes, &[1, 2, 3], &msgs);
    assert_eq!(assert_agree(&nodes, &[1, 2, 3]), u64::MAX);
}
