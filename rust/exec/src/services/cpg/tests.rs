//! The CPG service driven directly: several simulated nodes, each with its
//! own service and a capturing ordering layer, fed the same delivered
//! sequence (what Totem guarantees), must end with the same state and tell
//! their local members the same things.

use super::*;
use crate::ordering::RingId;
use crate::service::{Output, split_routed};
use crate::services::testkit;

type SimNode = testkit::SimNode<CpgService>;

impl SimNode {
    /// Callbacks dispatched so far (drained): (conn, decoded as owned text).
    fn callbacks(&mut self) -> Vec<(ConnId, String)> {
        let mut cbs = Vec::new();
        self.out.retain(|o| match o {
            Output::Dispatch { conn, id, body } => {
                cbs.push((*conn, describe(*id, body)));
                false
            }
            _ => true,
        });
        cbs
    }
}

/// A callback as a string, so nodes' views compare easily.
fn describe(id: u32, body: &[u8]) -> String {
    match Callback::decode(id, body).unwrap() {
        Callback::Deliver { name, node, pid, own, data } => {
            let own = if own { " (own)" } else { "" };
            format!(
                "deliver {} from {node}/{pid}{own}: {}",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(data)
            )
        }
        Callback::Confchg { name, members, left, joined } => {
            let list = |l: &[Address]| {
                l.iter().map(|a| format!("{}/{}:{}", a.node, a.pid, a.reason)).collect::<Vec<_>>().join(",")
            };
            format!(
                "confchg {} members [{}] left [{}] joined [{}]",
                String::from_utf8_lossy(name),
                list(&members),
                list(&left),
                list(&joined)
            )
        }
    }
}

struct Sim {
    nodes: Vec<SimNode>,
    /// Which nodes are in which partition: messages of a node reach only
    /// the nodes of its partition.
    partitions: Vec<Vec<usize>>,
}

impl Sim {
    /// Nodes with ids 1..=n, all in one configuration.
    fn new(n: usize) -> Sim {
        let nodes = (1..=n as NodeId).map(|node| SimNode::new(node, CpgService::new())).collect();
        Sim { nodes, partitions: vec![(0..n).collect()] }
    }

    fn id(i: usize) -> NodeId {
        i as NodeId + 1
    }

    fn open(&mut self, i: usize, conn: u64, pid: i32) {
        let info = ConnInfo { id: ConnId(conn), service: service::CPG, pid, uid: 0, gid: 0 };
        self.nodes[i].with(|s, ctx| s.conn_opened(ctx, &info));
    }

    fn close(&mut self, i: usize, conn: u64) {
        self.nodes[i].with(|s, ctx| s.conn_closed(ctx, ConnId(conn)));
    }

    fn send(&mut self, i: usize, conn: u64, req: Request<'_>) {
        let body = req.encode();
        self.nodes[i].with(|s, ctx| s.lib_request(ctx, ConnId(conn), req.id(), &body)).unwrap();
    }

    /// Sends and returns the immediate answer's status, if any.
    fn ask(&mut self, i: usize, conn: u64, req: Request<'_>) -> Option<u32> {
        self.send(i, conn, req);
        self.nodes[i].replies().pop().map(|r| r.2)
    }

    /// Orders every partition's submissions (node by node, in submit
    /// order) and delivers each to every node of the partition, until
    /// nothing more is submitted.
    fn run(&mut self) {
        for part in &self.partitions {
            testkit::run_ordered(&mut self.nodes, part);
        }
    }

    /// Installs `parts` as the new partitions, delivering a transitional
    /// and a regular configuration change to each node.
    fn reconfigure(&mut self, parts: Vec<Vec<usize>>) {
        let old = self.partitions.clone();
        for part in &parts {
            let members: Vec<NodeId> = part.iter().map(|&i| Self::id(i)).collect();
            for &i in part {
                let before: Vec<NodeId> =
                    old.iter().find(|p| p.contains(&i)).unwrap().iter().map(|&j| Self::id(j)).collect();
                let survivors: Vec<NodeId> = before.iter().copied().filter(|n| members.contains(n)).collect();
                let trans = ConfigChange {
                    kind: ConfigKind::Transitional,
                    ring_id: RingId { rep: members[0], seq: 8 },
                    members: survivors.clone(),
                    left: before.iter().copied().filter(|n| !members.contains(n)).collect(),
                    joined: Vec::new(),
                };
                let regular = ConfigChange {
                    kind: ConfigKind::Regular,
                    ring_id: RingId { rep: members[0], seq: 12 },
                    members: members.clone(),
                    left: trans.left.clone(),
                    joined: members.iter().copied().filter(|n| !survivors.contains(n)).collect(),
                };
                self.nodes[i].with(|s, ctx| {
                    s.config_change(ctx, &trans);
                    s.config_change(ctx, &regular);
                });
            }
        }
        self.partitions = parts;
    }

    fn assert_same_state(&self, nodes: &[usize]) {
        for w in nodes.windows(2) {
            assert_eq!(
                self.nodes[w[0]].svc.groups(),
                self.nodes[w[1]].svc.groups(),
                "nodes {} and {} differ",
                w[0],
                w[1]
            );
        }
    }
}

#[test]
fn members_on_every_node_see_the_same_messages_in_the_same_order() {
    let mut sim = Sim::new(3);
    sim.open(0, 10, 100);
    sim.open(1, 20, 200);
    sim.open(2, 30, 300);
    sim.open(2, 31, 301);
    for (i, conn) in [(0, 10), (1, 20), (2, 30)] {
        assert_eq!(sim.ask(i, conn, Request::Join { name: b"grp" }), None, "join is answered on delivery");
    }
    sim.run();
    for (i, conn) in [(0, 10), (1, 20), (2, 30)] {
        assert_eq!(sim.nodes[i].replies(), vec![(ConnId(conn), wire::JOIN, error::OK, vec![])]);
    }
    // A handle not in the group cannot send, and gets nothing.
    assert_eq!(sim.ask(2, 31, Request::Mcast { guarantee: 2, data: b"no" }), Some(error::NOT_EXIST));
    for i in 0..3 {
        sim.nodes[i].callbacks();
    }
    sim.ask(0, 10, Request::Mcast { guarantee: 2, data: b"a" });
    sim.ask(1, 20, Request::Mcast { guarantee: 3, data: b"b" });
    sim.ask(0, 10, Request::Mcast { guarantee: 0, data: b"c" });
    sim.run();
    let views: Vec<Vec<String>> =
        (0..3).map(|i| sim.nodes[i].callbacks().into_iter().map(|(_, s)| s.replace(" (own)", "")).collect()).collect();
    assert_eq!(views[0], vec!["deliver grp from 1/100: a", "deliver grp from 1/100: c", "deliver grp from 2/200: b"]);
    assert_eq!(views[0], views[1]);
    assert_eq!(views[1], views[2]);
    sim.assert_same_state(&[0, 1, 2]);
    // Everyone reports the same membership.
    sim.send(2, 31, Request::MembershipGet { name: b"grp" });
    let (_, _, status, payload) = sim.nodes[2].replies().pop().unwrap();
    assert_eq!(status, error::OK);
    assert_eq!(wire::decode_members(&payload).unwrap(), vec![(1, 100), (2, 200), (3, 300)]);
    // And the listing for ais-cpgtool.
    sim.send(1, 20, Request::ListGroups);
    let (_, _, status, payload) = sim.nodes[1].replies().pop().unwrap();
    assert_eq!(status, error::OK);
    assert_eq!(
        wire::decode_group_list(&payload).unwrap(),
        (false, vec![(b"grp".to_vec(), vec![(1, 100), (2, 200), (3, 300)])])
    );
}

#[test]
fn join_and_leave_confchgs_and_process_exit() {
    let mut sim = Sim::new(2);
    sim.open(0, 1, 11);
    sim.open(1, 2, 22);
    sim.ask(0, 1, Request::Join { name: b"g" });
    sim.run();
    assert_eq!(
        sim.nodes[0].callbacks(),
        vec![(ConnId(1), "confchg g members [1/11:0] left [] joined [1/11:1]".into())]
    );
    sim.ask(1, 2, Request::Join { name: b"g" });
    sim.run();
    let expect = "confchg g members [1/11:0,2/22:0] left [] joined [2/22:1]".to_string();
    assert_eq!(sim.nodes[0].callbacks(), vec![(ConnId(1), expect.clone())]);
    assert_eq!(sim.nodes[1].callbacks(), vec![(ConnId(2), expect)]);
    // Leave: the leaver hears of it too.
    sim.ask(0, 1, Request::Leave { name: b"g" });
    sim.run();
    let expect = "confchg g members [2/22:0] left [1/11:2] joined []".to_string();
    assert_eq!(sim.nodes[0].callbacks(), vec![(ConnId(1), expect.clone())]);
    assert_eq!(sim.nodes[1].callbacks(), vec![(ConnId(2), expect)]);
    // Process exit without finalize: PROCDOWN, ordered.
    sim.ask(0, 1, Request::Join { name: b"g" });
    sim.run();
    sim.nodes[0].callbacks();
    sim.nodes[1].callbacks();
    sim.close(0, 1);
    assert!(sim.nodes[0].svc.groups().contains(b"g", MemberKey { node: 1, conn: 1 }), "removal waits for delivery");
    sim.run();
    assert_eq!(
        sim.nodes[1].callbacks(),
        vec![(ConnId(2), "confchg g members [2/22:0] left [1/11:5] joined []".into())]
    );
    assert!(sim.nodes[0].callbacks().is_empty(), "nothing to a closed connection");
    sim.assert_same_state(&[0, 1]);
    assert_eq!(sim.nodes[0].svc.groups().members(b"g").len(), 1);
    // A closed connection that never joined costs no message.
    sim.open(0, 3, 33);
    sim.close(0, 3);
    assert!(sim.nodes[0].net.submitted.is_empty());
}

#[test]
fn a_node_leaving_removes_its_members_with_nodedown() {
    let mut sim = Sim::new(3);
    for i in 0..3 {
        sim.open(i, 5, 50 + i as i32);
        sim.ask(i, 5, Request::Join { name: b"g" });
    }
    sim.run();
    for i in 0..3 {
        sim.nodes[i].callbacks();
    }
    sim.reconfigure(vec![vec![0, 1], vec![2]]);
    sim.run();
    let expect = "confchg g members [1/50:0,2/51:0] left [3/52:3] joined []".to_string();
    assert_eq!(sim.nodes[0].callbacks(), vec![(ConnId(5), expect.clone())]);
    assert_eq!(sim.nodes[1].callbacks(), vec![(ConnId(5), expect)]);
    assert_eq!(
        sim.nodes[2].callbacks(),
        vec![(ConnId(5), "confchg g members [3/52:0] left [1/50:3,2/51:3] joined []".into())]
    );
    sim.assert_same_state(&[0, 1]);
    // Messages from a partition stay in it.
    sim.ask(2, 5, Request::Mcast { guarantee: 2, data: b"alone" });
    sim.run();
    assert!(sim.nodes[0].callbacks().is_empty());
    assert_eq!(sim.nodes[2].callbacks().len(), 1);
}

#[test]
fn merging_partitions_exchange_memberships_and_agree() {
    let mut sim = Sim::new(3);
    sim.reconfigure(vec![vec![0, 1], vec![2]]);
    sim.open(0, 1, 10);
    sim.open(1, 2, 20);
    sim.open(2, 3, 30);
    sim.open(2, 4, 40);
    sim.ask(0, 1, Request::Join { name: b"g" });
    sim.ask(1, 2, Request::Join { name: b"h" });
    sim.ask(2, 3, Request::Join { name: b"g" });
    sim.ask(2, 4, Request::Join { name: b"h" });
    sim.run();
    sim.ask(2, 4, Request::Leave { name: b"h" });
    sim.run();
    // In flight across the merge: node 3 submits a join and a leave that
    // are delivered only in the merged configuration.
    sim.ask(2, 4, Request::Join { name: b"g" });
    sim.ask(2, 3, Request::Leave { name: b"g" });
    assert_eq!(
        sim.nodes[2].svc.projected_own_members(3),
        vec![(b"g".to_vec(), 4, 40)],
        "the announcement describes node 3 after its pending operations"
    );
    for i in 0..3 {
        sim.nodes[i].callbacks();
    }
    sim.reconfigure(vec![vec![0, 1, 2]]);
    sim.run();
    sim.assert_same_state(&[0, 1, 2]);
    let g = sim.nodes[0].svc.groups();
    assert_eq!(g.members(b"g").iter().map(|(k, p)| (k.node, *p)).collect::<Vec<_>>(), vec![(1, 10), (3, 40)]);
    assert_eq!(g.members(b"h").iter().map(|(k, p)| (k.node, *p)).collect::<Vec<_>>(), vec![(2, 20)]);
    // Node 1's member of g learned of node 3's member with NODEUP.
    let seen = sim.nodes[0].callbacks();
    assert!(seen.iter().any(|(_, s)| s.contains("joined [3/40:")), "{seen:?}");
    assert!(sim.nodes[0].svc.stats.announcements >= 1);
    // And everyone delivers the same messages afterwards.
    for i in 0..3 {
        sim.nodes[i].callbacks();
    }
    sim.ask(2, 4, Request::Mcast { guarantee: 2, data: b"merged" });
    sim.run();
    assert_eq!(sim.nodes[0].callbacks(), vec![(ConnId(1), "deliver g from 3/40: merged".into())]);
    assert_eq!(sim.nodes[2].callbacks(), vec![(ConnId(4), "deliver g from 3/40 (own): merged".into())]);
}

#[test]
fn request_errors_limits_and_flow_control() {
    let mut sim = Sim::new(1);
    sim.open(0, 1, 10);
    assert_eq!(sim.ask(0, 1, Request::Leave { name: b"g" }), Some(error::NOT_EXIST));
    sim.ask(0, 1, Request::Join { name: b"g" });
    assert_eq!(sim.ask(0, 1, Request::Join { name: b"g" }), None, "queued behind the pending join");
    sim.run();
    let replies = sim.nodes[0].replies();
    assert_eq!(
        replies.iter().map(|r| r.2).collect::<Vec<_>>(),
        vec![error::OK, error::EXIST],
        "answers keep request order"
    );
    for k in 1..MAX_GROUPS_PER_CONN {
        sim.ask(0, 1, Request::Join { name: format!("g{k}").as_bytes() });
    }
    sim.run();
    sim.nodes[0].replies();
    assert_eq!(sim.ask(0, 1, Request::Join { name: b"one-too-many" }), Some(ERR_TOO_MANY_GROUPS));
    // Local queries.
    sim.send(0, 1, Request::LocalGet);
    assert_eq!(wire::decode_u32(&sim.nodes[0].replies()[0].3), Ok(1));
    sim.send(0, 1, Request::FlowControlGet);
    assert_eq!(wire::decode_u32(&sim.nodes[0].replies()[0].3), Ok(0));
    // Messages submitted and not delivered turn flow control on;
    // delivery turns it off. No multicast is refused.
    for _ in 0..INFLIGHT_SOFT_MSGS {
        assert_eq!(sim.ask(0, 1, Request::Mcast { guarantee: 2, data: b"x" }), Some(error::OK));
    }
    sim.send(0, 1, Request::FlowControlGet);
    assert_eq!(wire::decode_u32(&sim.nodes[0].replies()[0].3), Ok(1));
    for _ in 0..4 * INFLIGHT_SOFT_MSGS {
        assert_eq!(sim.ask(0, 1, Request::Mcast { guarantee: 2, data: b"x" }), Some(error::OK));
    }
    sim.run();
    sim.send(0, 1, Request::FlowControlGet);
    assert_eq!(wire::decode_u32(&sim.nodes[0].replies()[0].3), Ok(0));
    // A full ordering queue takes a multicast and holds its sender; a
    // leave is TRY_AGAIN and changes nothing.
    sim.nodes[0].net.set_full(true);
    let before = sim.nodes[0].net.submitted.len();
    assert_eq!(sim.ask(0, 1, Request::Mcast { guarantee: 2, data: b"x" }), Some(error::OK));
    assert_eq!(sim.nodes[0].net.submitted.len(), before + 1);
    assert!(sim.nodes[0].out.contains(&Output::Hold { conn: ConnId(1) }), "{:?}", sim.nodes[0].out);
    assert_eq!(sim.ask(0, 1, Request::Leave { name: b"g" }), Some(error::TRY_AGAIN));
    assert!(sim.nodes[0].svc.conns[&ConnId(1)].groups.contains(b"g".as_slice()));
    // A process exiting while the queue is full is removed once it drains.
    let queued = sim.nodes[0].net.submitted.len();
    sim.close(0, 1);
    assert_eq!(sim.nodes[0].net.submitted.len(), queued, "nothing submitted while full");
    sim.nodes[0].net.set_full(false);
    sim.nodes[0].with(|s, ctx| assert_eq!(s.sync_process(ctx), SyncStep::Done));
    sim.run();
    assert_eq!(sim.nodes[0].svc.groups().group_count(), 0);
}

#[test]
fn bad_input_is_refused_or_counted() {
    let mut sim = Sim::new(1);
    sim.open(0, 1, 10);
    let r = sim.nodes[0].with(|s, ctx| s.lib_request(ctx, ConnId(1), wire::JOIN, &[1, 2]));
    assert!(matches!(r, Err(RequestError::Malformed(_))));
    let r = sim.nodes[0].with(|s, ctx| s.lib_request(ctx, ConnId(1), 99, &[]));
    assert_eq!(r, Err(RequestError::UnknownId(99)));
    sim.nodes[0].with(|s, ctx| s.deliver(ctx, 2, &[0xff, 1]));
    assert_eq!(sim.nodes[0].svc.stats.bad_cluster_messages, 1);
}

#[test]
fn a_sender_in_two_groups_gets_one_copy_per_group_and_one_own_mark() {
    let mut sim = Sim::new(2);
    sim.open(0, 1, 10);
    sim.open(1, 2, 20);
    sim.ask(0, 1, Request::Join { name: b"x" });
    sim.ask(0, 1, Request::Join { name: b"y" });
    sim.ask(1, 2, Request::Join { name: b"y" });
    sim.run();
    sim.nodes[0].callbacks();
    sim.nodes[1].callbacks();
    sim.ask(0, 1, Request::Mcast { guarantee: 2, data: b"m" });
    sim.run();
    assert_eq!(
        sim.nodes[0].callbacks(),
        vec![(ConnId(1), "deliver x from 1/10 (own): m".into()), (ConnId(1), "deliver y from 1/10: m".into())]
    );
    assert_eq!(sim.nodes[1].callbacks(), vec![(ConnId(2), "deliver y from 1/10: m".into())]);
}

#[test]
fn messages_of_a_failed_node_in_the_transitional_configuration_are_still_delivered() {
    let mut sim = Sim::new(3);
    for i in 0..3 {
        sim.open(i, 5, 50 + i as i32);
        sim.ask(i, 5, Request::Join { name: b"g" });
    }
    sim.run();
    // Node 3 sends, then fails; its message is delivered to the survivors
    // after the transitional configuration.
    sim.ask(2, 5, Request::Mcast { guarantee: 2, data: b"last words" });
    let last = std::mem::take(&mut sim.nodes[2].net.submitted).pop().unwrap();
    for i in 0..2 {
        sim.nodes[i].callbacks();
    }
    let trans = ConfigChange {
        kind: ConfigKind::Transitional,
        ring_id: RingId { rep: 1, seq: 8 },
        members: vec![1, 2],
        left: vec![3],
        joined: vec![],
    };
    let regular = ConfigChange { kind: ConfigKind::Regular, ring_id: RingId { rep: 1, seq: 12 }, ..trans.clone() };
    for i in 0..2 {
        sim.nodes[i].with(|s, ctx| {
            s.config_change(ctx, &trans);
            s.deliver(ctx, 3, split_routed(&last).unwrap().1);
            s.config_change(ctx, &regular);
        });
        assert_eq!(
            sim.nodes[i].callbacks(),
            vec![
                (ConnId(5), "deliver g from 3/52: last words".to_string()),
                (ConnId(5), "confchg g members [1/50:0,2/51:0] left [3/52:3] joined []".to_string()),
            ]
        );
    }
    sim.partitions = vec![vec![0, 1], vec![2]];
    sim.assert_same_state(&[0, 1]);
}
