//! The EVS service: extended virtual synchrony groups for `libevs`.
//!
//! Model (as the classic EVS API): a *group* is a 32-byte key; a
//! connection joins groups, and a message multicast to a set of groups is
//! delivered, in the cluster's total order, to every connection on every
//! node that has joined at least one of those groups when the message is
//! delivered there (the sender included). Group membership is local to
//! each node (it only filters delivery), so it is not replicated and
//! needs no sync: the ordered message carries its group list, and each
//! node matches it against its own connections. Configuration changes,
//! transitional (where departed nodes are listed) and regular (where
//! joined nodes are), go to every EVS connection, with node ids.
//!
//! Limits: at most [`MAX_GROUPS`] groups per connection
//! (`EVS_ERR_TOO_MANY_GROUPS`), messages up to [`MAX_DATA`] bytes (the
//! decoder refuses more). Multicasts are never refused for flow control:
//! `libevs` pipelines them, so a full ordering queue holds the connection
//! instead ([`Ctx::submit_or_hold`]). A message with its groups too large
//! for one ordered message is `INVALID_PARAM`.
//! Guarantee `SAFE` is submitted as [`Guarantee::Safe`]; the others as
//! `Agreed` (total order is stronger than FIFO and unordered).

use std::collections::BTreeMap;

use ais_ipc::evs::{
    self as wire, Callback, ERR_TOO_MANY_GROUPS, GROUP_KEY, GUARANTEE_SAFE, GroupKey, MAX_DATA, MAX_GROUPS, Request,
};
use ais_ipc::{Reader, Writer, error, service};

use crate::ordering::{ConfigChange, Guarantee, NodeId};
use crate::service::{ConnId, ConnInfo, Ctx, Encode, RequestError, Service};

/// One EVS connection on this node.
#[derive(Debug, Default)]
struct EvsConn {
    groups: Vec<GroupKey>,
}

/// Counters for the log / tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EvsStats {
    pub delivered: u64,
    /// Multicasts whose group list and body did not fit one ordered message.
    pub too_large: u64,
    /// Ordered messages that did not decode (a bug or a foreign node).
    pub bad_cluster_messages: u64,
}

#[derive(Debug, Default)]
pub struct EvsService {
    /// Ordered by id, so deliveries and configuration changes go out in
    /// connection order without sorting.
    conns: BTreeMap<ConnId, EvsConn>,
    /// Node ids of the current regular configuration.
    members: Vec<NodeId>,
    pub stats: EvsStats,
}

/// The ordered message: the target groups and the body.
struct ClusterMcast<'a> {
    groups: &'a [GroupKey],
    data: &'a [u8],
}

impl Encode for ClusterMcast<'_> {
    fn encode_into(&self, w: &mut Writer) {
        wire::put_groups(w, self.groups);
        w.bytes(self.data);
    }
}

/// The target groups (`GROUP_KEY` bytes each, not copied: this runs for
/// every delivered message) and the body.
fn decode_cluster(payload: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut r = Reader::new(payload);
    let n = r.count(MAX_GROUPS, GROUP_KEY, "group count").ok()?;
    let groups = r.take(n * GROUP_KEY, "groups").ok()?;
    let data = r.bytes(MAX_DATA, "message").ok()?;
    r.finish().ok()?;
    Some((groups, data))
}

/// Whether a connection in `joined` is addressed by `targets` (packed keys).
fn addressed(joined: &[GroupKey], targets: &[u8]) -> bool {
    targets.chunks_exact(GROUP_KEY).any(|t| joined.iter().any(|g| g[..] == *t))
}

fn guarantee(g: u32) -> Guarantee {
    if g == GUARANTEE_SAFE { Guarantee::Safe } else { Guarantee::Agreed }
}

impl EvsService {
    pub fn new() -> EvsService {
        EvsService::default()
    }

    fn mcast(stats: &mut EvsStats, ctx: &mut Ctx<'_>, conn: ConnId, g: u32, msg: &ClusterMcast<'_>) -> u32 {
        match ctx.submit_or_hold(conn, msg, guarantee(g)) {
            Ok(()) => error::OK,
            Err(_) => {
                stats.too_large += 1;
                error::INVALID_PARAM
            }
        }
    }

    fn handle(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, req: Request<'_>) -> (u32, Vec<u8>) {
        let state = self.conns.entry(conn).or_default();
        let status = match req {
            Request::Join { groups } => {
                let mut joined = state.groups.clone();
                for g in groups {
                    if !joined.contains(&g) {
                        joined.push(g);
                    }
                }
                if joined.len() > MAX_GROUPS {
                    ERR_TOO_MANY_GROUPS
                } else {
                    state.groups = joined;
                    error::OK
                }
            }
            Request::Leave { groups } => {
                if groups.iter().all(|g| state.groups.contains(g)) {
                    state.groups.retain(|g| !groups.contains(g));
                    error::OK
                } else {
                    error::NOT_EXIST
                }
            }
            Request::McastJoined { guarantee, data } => {
                if state.groups.is_empty() {
                    error::NOT_EXIST
                } else {
                    let msg = ClusterMcast { groups: &state.groups, data };
                    Self::mcast(&mut self.stats, ctx, conn, guarantee, &msg)
                }
            }
            Request::McastGroups { guarantee, groups, data } => {
                if groups.is_empty() {
                    error::INVALID_PARAM
                } else {
                    Self::mcast(&mut self.stats, ctx, conn, guarantee, &ClusterMcast { groups: &groups, data })
                }
            }
            Request::MembershipGet => {
                return (error::OK, wire::encode_membership(ctx.local_node(), &self.members));
            }
        };
        (status, Vec::new())
    }
}

impl Service for EvsService {
    fn id(&self) -> u32 {
        service::EVS
    }

    fn name(&self) -> &'static str {
        "evs"
    }

    fn stats(&self, out: &mut Vec<ais_ipc::cfg::Stat>) {
        use ais_ipc::cfg::Stat;
        out.push(Stat::gauge("connections", self.conns.len() as u64));
        out.push(Stat::counter("delivered", self.stats.delivered));
    }

    fn conn_opened(&mut self, _ctx: &mut Ctx<'_>, conn: &ConnInfo) {
        self.conns.insert(conn.id, EvsConn::default());
    }

    fn lib_request(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg_id: u32, body: &[u8]) -> Result<(), RequestError> {
        let req = match Request::decode(msg_id, body) {
            Ok(Some(req)) => req,
            Ok(None) => return Err(RequestError::UnknownId(msg_id)),
            Err(e) => return Err(RequestError::Malformed(e)),
        };
        let (status, payload) = self.handle(ctx, conn, req);
        ctx.reply(conn, msg_id, status, &payload);
        Ok(())
    }

    fn deliver(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, payload: &[u8]) {
        let Some((groups, data)) = decode_cluster(payload) else {
            self.stats.bad_cluster_messages += 1;
            crate::log_limited!(Warning, Serv, "evs: dropped a malformed ordered message from node {sender}");
            return;
        };
        let mut targets = self.conns.iter().filter(|(_, c)| addressed(&c.groups, groups)).map(|(id, _)| *id);
        let Some(mut conn) = targets.next() else { return };
        let body = Callback::Deliver { node: sender, data }.encode();
        // Copies for all but the last target, which gets the original.
        for next in targets {
            self.stats.delivered += 1;
            ctx.dispatch(conn, wire::DELIVER, body.clone());
            conn = next;
        }
        self.stats.delivered += 1;
        ctx.dispatch(conn, wire::DELIVER, body);
    }

    fn config_change(&mut self, ctx: &mut Ctx<'_>, change: &ConfigChange) {
        // Both kinds, as Totem reports them: nodes that left are listed in
        // the transitional configuration, nodes that joined in the regular
        // one.
        self.members = change.members.clone();
        let body = Callback::Confchg {
            members: change.members.clone(),
            left: change.left.clone(),
            joined: change.joined.clone(),
        }
        .encode();
        for conn in self.conns.keys() {
            ctx.dispatch(*conn, wire::CONFCHG, body.clone());
        }
    }

    fn conn_closed(&mut self, _ctx: &mut Ctx<'_>, conn: ConnId) {
        self.conns.remove(&conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ordering::{ClusterEvent, ConfigKind, Loopback, Ordering, QueueFull, RingId};
    use crate::service::{Output, split_routed};
    use std::time::Instant;

    fn encode_cluster(groups: &[GroupKey], data: &[u8]) -> Vec<u8> {
        ClusterMcast { groups, data }.encode()
    }

    struct Node {
        svc: EvsService,
        lb: Loopback,
        out: Vec<Output>,
    }

    impl Node {
        fn new(id: NodeId) -> Node {
            let mut lb = Loopback::new(id, "127.0.0.1".into());
            lb.poll_event();
            Node { svc: EvsService::new(), lb, out: Vec::new() }
        }

        fn open(&mut self, conn: u64) {
            let info = ConnInfo { id: ConnId(conn), service: service::EVS, pid: 1, uid: 0, gid: 0 };
            let mut ctx = Ctx::new(crate::services::testkit::time_zero(), service::EVS, &mut self.lb, &mut self.out);
            self.svc.conn_opened(&mut ctx, &info);
        }

        fn request(&mut self, conn: u64, req: Request<'_>) -> u32 {
            let mut ctx = Ctx::new(crate::services::testkit::time_zero(), service::EVS, &mut self.lb, &mut self.out);
            self.svc.lib_request(&mut ctx, ConnId(conn), req.id(), &req.encode()).unwrap();
            match self.out.pop() {
                Some(Output::Reply { body, .. }) => u32::from_le_bytes(body[..4].try_into().unwrap()),
                other => panic!("no reply: {other:?}"),
            }
        }

        /// Ordered messages this node submitted (drained from its loopback).
        fn submitted(&mut self) -> Vec<Vec<u8>> {
            self.lb.handle_timeout(crate::services::testkit::time_zero().mono);
            let mut msgs = Vec::new();
            while let Some(ClusterEvent::Deliver { payload, .. }) = self.lb.poll_event() {
                msgs.push(split_routed(&payload).unwrap().1.to_vec());
            }
            msgs
        }

        fn deliver(&mut self, sender: NodeId, payload: &[u8]) {
            let mut ctx = Ctx::new(crate::services::testkit::time_zero(), service::EVS, &mut self.lb, &mut self.out);
            self.svc.deliver(&mut ctx, sender, payload);
        }

        fn delivered(&mut self) -> Vec<(ConnId, u32, Vec<u8>)> {
            std::mem::take(&mut self.out)
                .into_iter()
                .filter_map(|o| match o {
                    Output::Dispatch { conn, id, body } => match Callback::decode(id, &body).unwrap() {
                        Callback::Deliver { node, data } => Some((conn, node, data.to_vec())),
                        Callback::Confchg { .. } => None,
                    },
                    _ => None,
                })
                .collect()
        }
    }

    fn key(b: u8) -> GroupKey {
        [b; 32]
    }

    #[test]
    fn delivers_to_joined_connections_including_sender_on_every_node() {
        let mut a = Node::new(1);
        let mut b = Node::new(2);
        a.open(1);
        a.open(2);
        b.open(7);
        assert_eq!(a.request(1, Request::Join { groups: vec![key(1)] }), error::OK);
        assert_eq!(a.request(2, Request::Join { groups: vec![key(2)] }), error::OK);
        assert_eq!(b.request(7, Request::Join { groups: vec![key(1), key(2)] }), error::OK);
        assert_eq!(a.request(1, Request::McastJoined { guarantee: 2, data: b"one" }), error::OK);
        assert_eq!(b.request(7, Request::McastGroups { guarantee: 3, groups: vec![key(2)], data: b"two" }), error::OK);
        // Total order: a's message, then b's, fed to both nodes.
        let order: Vec<(NodeId, Vec<u8>)> =
            a.submitted().into_iter().map(|m| (1, m)).chain(b.submitted().into_iter().map(|m| (2, m))).collect();
        for (sender, m) in &order {
            a.deliver(*sender, m);
            b.deliver(*sender, m);
        }
        assert_eq!(a.delivered(), vec![(ConnId(1), 1, b"one".to_vec()), (ConnId(2), 2, b"two".to_vec())]);
        assert_eq!(b.delivered(), vec![(ConnId(7), 1, b"one".to_vec()), (ConnId(7), 2, b"two".to_vec())]);
    }

    #[test]
    fn a_delivery_reaches_each_addressed_connection_once_in_connection_order() {
        let mut a = Node::new(1);
        for conn in [9, 2, 5, 7] {
            a.open(conn);
        }
        assert_eq!(a.request(9, Request::Join { groups: vec![key(1), key(2)] }), error::OK);
        assert_eq!(a.request(2, Request::Join { groups: vec![key(2)] }), error::OK);
        assert_eq!(a.request(5, Request::Join { groups: vec![key(3), key(1)] }), error::OK);
        assert_eq!(a.request(7, Request::Join { groups: vec![key(4)] }), error::OK);
        a.deliver(3, &encode_cluster(&[key(2), key(1)], b"m"));
        let want: Vec<_> = [2, 5, 9].into_iter().map(|c| (ConnId(c), 3, b"m".to_vec())).collect();
        assert_eq!(a.delivered(), want);
        assert_eq!(a.svc.stats.delivered, 3);
        a.deliver(3, &encode_cluster(&[key(8)], b"nobody"));
        assert!(a.delivered().is_empty());
    }

    #[test]
    fn join_leave_limits_and_errors() {
        let mut a = Node::new(1);
        a.open(1);
        assert_eq!(a.request(1, Request::McastJoined { guarantee: 2, data: b"x" }), error::NOT_EXIST);
        assert_eq!(
            a.request(1, Request::McastGroups { guarantee: 2, groups: vec![], data: b"x" }),
            error::INVALID_PARAM
        );
        let many: Vec<GroupKey> = (0..MAX_GROUPS as u8).map(key).collect();
        assert_eq!(a.request(1, Request::Join { groups: many.clone() }), error::OK);
        assert_eq!(a.request(1, Request::Join { groups: many.clone() }), error::OK, "rejoining is harmless");
        assert_eq!(a.request(1, Request::Join { groups: vec![key(200)] }), ERR_TOO_MANY_GROUPS);
        assert_eq!(a.request(1, Request::Leave { groups: vec![key(0), key(200)] }), error::NOT_EXIST);
        assert_eq!(a.svc.conns[&ConnId(1)].groups.len(), MAX_GROUPS, "a failed leave changes nothing");
        assert_eq!(a.request(1, Request::Leave { groups: vec![key(0)] }), error::OK);
        assert_eq!(a.svc.conns[&ConnId(1)].groups.len(), MAX_GROUPS - 1);
        // Closed connections get nothing.
        let m = encode_cluster(&[key(1)], b"m");
        let mut ctx = Ctx::new(crate::services::testkit::time_zero(), service::EVS, &mut a.lb, &mut a.out);
        a.svc.conn_closed(&mut ctx, ConnId(1));
        a.deliver(1, &m);
        assert!(a.delivered().is_empty());
        // Garbage from the ring is counted, not a panic.
        a.deliver(1, &[1, 2, 3]);
        assert_eq!(a.svc.stats.bad_cluster_messages, 1);
    }

    /// An ordering whose queue is always full; counts what is queued
    /// past its limit, and takes nothing over `limit` bytes.
    struct Full {
        past_limit: usize,
        limit: usize,
    }
    impl Ordering for Full {
        fn local_node(&self) -> NodeId {
            1
        }
        fn submit(&mut self, _: Vec<u8>, _: Guarantee) -> Result<(), QueueFull> {
            Err(QueueFull)
        }
        fn submit_past_limit(&mut self, msg: Vec<u8>, _: Guarantee) -> Result<(), QueueFull> {
            if msg.len() > self.limit {
                return Err(QueueFull);
            }
            self.past_limit += 1;
            Ok(())
        }
        fn has_room(&self) -> bool {
            false
        }
        fn poll_event(&mut self) -> Option<ClusterEvent> {
            None
        }
        fn poll_timeout(&self) -> Option<Instant> {
            None
        }
        fn handle_timeout(&mut self, _: Instant) {}
        fn fds(&self) -> Vec<std::os::fd::RawFd> {
            Vec::new()
        }
        fn handle_readable(&mut self, _: std::os::fd::RawFd, _: Instant) {}
        fn status(&self) -> crate::ordering::ClusterStatus {
            unreachable!()
        }
    }

    #[test]
    fn a_full_queue_takes_the_message_and_holds_the_sender() {
        let mut svc = EvsService::new();
        let mut out = Vec::new();
        let mut full = Full { past_limit: 0, limit: 1000 };
        let mut ctx = Ctx::new(crate::services::testkit::time_zero(), service::EVS, &mut full, &mut out);
        let req = Request::McastGroups { guarantee: 0, groups: vec![key(1)], data: b"x" };
        svc.lib_request(&mut ctx, ConnId(1), req.id(), &req.encode()).unwrap();
        let [Output::Hold { conn: ConnId(1) }, Output::Reply { body, .. }] = out.as_slice() else { panic!("{out:?}") };
        assert_eq!(body[..4], error::OK.to_le_bytes());
        assert_eq!(full.past_limit, 1);
        // What no ordered message can carry is refused, not held.
        out.clear();
        let data = vec![0; 2000];
        let req = Request::McastGroups { guarantee: 0, groups: vec![key(1)], data: &data };
        let mut ctx = Ctx::new(crate::services::testkit::time_zero(), service::EVS, &mut full, &mut out);
        svc.lib_request(&mut ctx, ConnId(1), req.id(), &req.encode()).unwrap();
        let [Output::Reply { body, .. }] = out.as_slice() else { panic!("{out:?}") };
        assert_eq!(body[..4], error::INVALID_PARAM.to_le_bytes());
        assert_eq!((full.past_limit, svc.stats.too_large), (1, 1));
    }

    #[test]
    fn configuration_changes_go_to_every_connection_and_membership_follows() {
        let mut a = Node::new(1);
        a.open(1);
        a.open(2);
        let trans = ConfigChange {
            kind: ConfigKind::Transitional,
            ring_id: RingId { rep: 1, seq: 8 },
            members: vec![1],
            left: vec![2],
            joined: vec![],
        };
        let change = ConfigChange {
            kind: ConfigKind::Regular,
            ring_id: RingId { rep: 1, seq: 8 },
            members: vec![1, 3],
            left: vec![2],
            joined: vec![3],
        };
        let mut ctx = Ctx::new(crate::services::testkit::time_zero(), service::EVS, &mut a.lb, &mut a.out);
        a.svc.config_change(&mut ctx, &trans);
        let expect = Callback::Confchg { members: vec![1], left: vec![2], joined: vec![] }.encode();
        assert_eq!(a.out.len(), 2);
        assert!(a.out.iter().all(|o| matches!(o, Output::Dispatch { body, .. } if *body == expect)));
        a.out.clear();
        let mut ctx = Ctx::new(crate::services::testkit::time_zero(), service::EVS, &mut a.lb, &mut a.out);
        a.svc.config_change(&mut ctx, &change);
        let confchgs: Vec<_> = a
            .out
            .drain(..)
            .map(|o| match o {
                Output::Dispatch { conn, id, body } => (conn, Callback::decode(id, &body).unwrap().encode()),
                other => panic!("{other:?}"),
            })
            .collect();
        let expect = Callback::Confchg { members: vec![1, 3], left: vec![2], joined: vec![3] }.encode();
        assert_eq!(confchgs, vec![(ConnId(1), expect.clone()), (ConnId(2), expect)]);
        let mut ctx = Ctx::new(crate::services::testkit::time_zero(), service::EVS, &mut a.lb, &mut a.out);
        let req = Request::MembershipGet;
        a.svc.lib_request(&mut ctx, ConnId(1), req.id(), &req.encode()).unwrap();
        let Some(Output::Reply { body, .. }) = a.out.pop() else { panic!() };
        assert_eq!(wire::decode_membership(&body[4..]), Ok((1, vec![1, 3])));
    }

    #[test]
    fn malformed_requests_are_errors() {
        let mut a = Node::new(1);
        let mut ctx = Ctx::new(crate::services::testkit::time_zero(), service::EVS, &mut a.lb, &mut a.out);
        assert!(matches!(a.svc.lib_request(&mut ctx, ConnId(1), wire::JOIN, &[9]), Err(RequestError::Malformed(_))));
        assert_eq!(a.svc.lib_request(&mut ctx, ConnId(1), 77, &[]), Err(RequestError::UnknownId(77)));
    }
}
