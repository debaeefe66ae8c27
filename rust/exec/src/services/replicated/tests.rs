//! The engine under a toy service shaped like the ones to come (LCK):
//! exclusive named locks, where a blocked lock request is answered by the
//! unlock, close or node departure that frees the lock, long after it was
//! ordered; plus leases that expire with cluster time.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use ais_ipc::{DecodeError, Reader, Writer, error};

use super::*;
use crate::ordering::{ConfigKind, RingId};
use crate::service::Output;
use crate::services::testkit::{SimNode, begin_sync, finish_sync, run_ordered as run};

const LOCK: u32 = 1;
const UNLOCK: u32 = 2;
const HOLDER: u32 = 3;
const LEASE: u32 = 4;
/// A lock request withdrawn if not granted within `limit_ms`.
const LOCK_WITHIN: u32 = 5;
/// Callbacks: a holder learns that someone waits; an async lock's outcome.
const WAITER: u32 = 10;
const GRANTED: u32 = 11;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Req {
    /// Async when `token` is set.
    Lock {
        name: Vec<u8>,
        token: Option<u64>,
    },
    Unlock {
        name: Vec<u8>,
    },
    Holder {
        name: Vec<u8>,
    },
    /// Something that expires at cluster time `until`.
    Lease {
        until: i64,
    },
    LockWithin {
        name: Vec<u8>,
        limit_ms: u64,
    },
}

impl Req {
    fn id(&self) -> u32 {
        match self {
            Req::Lock { .. } => LOCK,
            Req::Unlock { .. } => UNLOCK,
            Req::Holder { .. } => HOLDER,
            Req::Lease { .. } => LEASE,
            Req::LockWithin { .. } => LOCK_WITHIN,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Req::Lock { name, token } => {
                w.bytes(name).bool(token.is_some()).u64(token.unwrap_or(0));
            }
            Req::Unlock { name } | Req::Holder { name } => {
                w.bytes(name);
            }
            Req::Lease { until } => {
                w.i64(*until);
            }
            Req::LockWithin { name, limit_ms } => {
                w.bytes(name).u64(*limit_ms);
            }
        }
        w.into_vec()
    }

    fn decode(id: u32, body: &[u8]) -> Result<Req, DecodeError> {
        let mut r = Reader::new(body);
        let req = match id {
            LOCK => {
                let name = r.bytes(ais_ipc::MAX_MESSAGE_SIZE, "name")?.to_vec();
                let is_async = r.bool("async")?;
                let token = r.u64("token")?;
                Req::Lock { name, token: is_async.then_some(token) }
            }
            UNLOCK => Req::Unlock { name: r.bytes(64, "name")?.to_vec() },
            HOLDER => Req::Holder { name: r.bytes(64, "name")?.to_vec() },
            LEASE => Req::Lease { until: r.i64("until")? },
            LOCK_WITHIN => Req::LockWithin { name: r.bytes(64, "name")?.to_vec(), limit_ms: r.u64("limit")? },
            other => return Err(DecodeError::BadValue { what: "toy request id", value: other.into() }),
        };
        r.finish()?;
        Ok(req)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Owner {
    node: NodeId,
    conn: ConnId,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Lock {
    holder: Option<Owner>,
    waiters: VecDeque<(Owner, ReqRef)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Locks {
    time: i64,
    table: BTreeMap<Vec<u8>, Lock>,
    leases: Vec<i64>,
}

impl Locks {
    /// Gives `name` to its next waiter, who is answered now.
    fn release(&mut self, cx: &mut Cx<'_, '_>, name: &[u8]) {
        let Some(lock) = self.table.get_mut(name) else { return };
        lock.holder = None;
        if let Some((next, request)) = lock.waiters.pop_front() {
            lock.holder = Some(next);
            cx.answer(request, error::OK, &[]);
        }
    }

    /// Every lock and wait of owners `gone` says are gone is released.
    fn drop_owners(&mut self, cx: &mut Cx<'_, '_>, gone: impl Fn(&Owner) -> bool) {
        let mut freed = Vec::new();
        for (name, lock) in self.table.iter_mut() {
            lock.waiters.retain(|(w, _)| !gone(w));
            if lock.holder.as_ref().is_some_and(&gone) {
                freed.push(name.clone());
            }
        }
        for name in freed {
            self.release(cx, &name);
        }
    }
}

fn owner_bytes(w: &mut Writer, o: &Owner) {
    w.u32(o.node).u64(o.conn.0);
}

fn read_owner(r: &mut Reader<'_>) -> Result<Owner, DecodeError> {
    Ok(Owner { node: r.u32("node")?, conn: ConnId(r.u64("conn")?) })
}

impl Replicated for Locks {
    const ID: u32 = 99;
    const NAME: &'static str = "toy";
    type Request = Req;
    /// The next lock name to send.
    type Cursor = Option<Vec<u8>>;
    type Staged = BTreeMap<Vec<u8>, Lock>;

    fn decode(msg_id: u32, body: &[u8]) -> Result<Req, RequestError> {
        Req::decode(msg_id, body).map_err(|e| match e {
            DecodeError::BadValue { what: "toy request id", .. } => RequestError::UnknownId(msg_id),
            e => RequestError::Malformed(e),
        })
    }

    fn needs_quorum(req: &Req) -> bool {
        !matches!(req, Req::Holder { .. })
    }

    fn sync_forget(&mut self, _cx: &mut Cx<'_, '_>) {
        self.table.clear();
        self.leases.clear();
    }

    fn request(&mut self, cx: &mut Cx<'_, '_>, conn: ConnId, msg_id: u32, req: Req, body: &[u8]) {
        let answer = match req {
            Req::Holder { name } => {
                let holder = self.table.get(&name).and_then(|l| l.holder);
                let mut w = Writer::new();
                w.u32(holder.map_or(0, |h| h.node));
                return cx.ctx.reply(conn, msg_id, error::OK, w.as_slice());
            }
            Req::Lock { token: Some(token), .. } => Answer::Callback(token),
            Req::LockWithin { limit_ms, .. } => {
                let limit = Some(Duration::from_millis(limit_ms));
                cx.order_within(conn, msg_id, body, Guarantee::Safe, Answer::Reply, limit);
                return;
            }
            _ => Answer::Reply,
        };
        cx.order(conn, msg_id, body, Guarantee::Safe, answer);
    }

    fn apply(&mut self, cx: &mut Cx<'_, '_>, at: &Ordered, req: Req) -> Reply {
        let who = Owner { node: at.node, conn: at.conn };
        match req {
            Req::Lock { name, .. } | Req::LockWithin { name, .. } => {
                let lock = self.table.entry(name.clone()).or_default();
                match lock.holder {
                    None => {
                        lock.holder = Some(who);
                        Reply::ok(Vec::new())
                    }
                    Some(h) => {
                        lock.waiters.push_back((who, at.reference()));
                        cx.tell(h.node, h.conn, WAITER, name);
                        Reply::Later
                    }
                }
            }
            Req::Unlock { name } => {
                if self.table.get(&name).and_then(|l| l.holder) != Some(who) {
                    return Reply::err(error::NOT_EXIST);
                }
                self.release(cx, &name);
                Reply::ok(Vec::new())
            }
            Req::Lease { until } => {
                self.leases.push(until);
                Reply::ok(Vec::new())
            }
            Req::Holder { .. } => {
                cx.malformed(at.node, &"a local query ordered");
                Reply::None
            }
        }
    }

    fn withdraw(&mut self, cx: &mut Cx<'_, '_>, req: ReqRef) {
        for lock in self.table.values_mut() {
            if let Some(i) = lock.waiters.iter().position(|(_, r)| *r == req) {
                lock.waiters.remove(i);
                cx.answer(req, error::TIMEOUT, &[]);
                return;
            }
        }
    }

    fn closed(&mut self, cx: &mut Cx<'_, '_>, node: NodeId, conn: ConnId) {
        self.drop_owners(cx, |o| o.node == node && o.conn == conn);
    }

    fn left(&mut self, cx: &mut Cx<'_, '_>, members: &[NodeId]) {
        self.drop_owners(cx, |o| !members.contains(&o.node));
    }

    fn cluster_time(&self) -> i64 {
        self.time
    }

    fn advance(&mut self, time: i64) {
        self.time = time;
        self.leases.retain(|l| *l > time);
    }

    fn next_deadline(&self) -> Option<i64> {
        self.leases.iter().copied().min()
    }

    fn callback(msg_id: u32, token: u64, error: u32, _payload: &[u8]) -> (u32, Vec<u8>) {
        assert_eq!(msg_id, LOCK);
        let mut w = Writer::new();
        w.u64(token).u32(error);
        (GRANTED, w.into_vec())
    }

    fn sync_start(&self) -> Option<Vec<u8>> {
        self.table.keys().next().cloned()
    }

    fn sync_next(&self, cursor: &mut Option<Vec<u8>>, w: &mut Writer) -> bool {
        let Some(name) = cursor.take() else { return false };
        let lock = &self.table[&name];
        w.bytes(&name).bool(lock.holder.is_some());
        if let Some(h) = &lock.holder {
            owner_bytes(w, h);
        }
        w.u32(lock.waiters.len() as u32);
        for (o, r) in &lock.waiters {
            owner_bytes(w, o);
            w.u32(r.node).u64(r.seq);
        }
        *cursor = self
            .table
            .range::<[u8], _>((std::ops::Bound::Excluded(&name[..]), std::ops::Bound::Unbounded))
            .next()
            .map(|(k, _)| k.clone());
        true
    }

    fn sync_stage(staged: &mut Self::Staged, item: &[u8]) -> Result<(), Rejected> {
        let mut r = Reader::new(item);
        let name = r.bytes(64, "name")?.to_vec();
        let holder = if r.bool("held")? { Some(read_owner(&mut r)?) } else { None };
        let n = r.count(1000, 24, "waiters")?;
        let mut waiters = VecDeque::new();
        for _ in 0..n {
            let o = read_owner(&mut r)?;
            waiters.push_back((o, ReqRef { node: r.u32("node")?, seq: r.u64("seq")? }));
        }
        r.finish()?;
        if staged.insert(name, Lock { holder, waiters }).is_some() {
            return Err(Rejected::Refused("a lock sent twice"));
        }
        Ok(())
    }

    fn sync_merge(
        &mut self,
        cx: &mut Cx<'_, '_>,
        own: NodeId,
        mut staged: BTreeMap<NodeId, Self::Staged>,
        members: &[NodeId],
        time: i64,
    ) {
        staged.insert(own, std::mem::take(&mut self.table));
        // The lowest sender's group wins a name both have.
        for (_, table) in staged {
            for (name, lock) in table {
                self.table.entry(name).or_insert(lock);
            }
        }
        self.left(cx, members);
        self.advance(self.time.max(time));
    }
}

type Node = SimNode<Engine<Locks>>;
type Sent = (Vec<(u64, u32, u32)>, Vec<(u64, u32)>);

fn cluster(n: u32) -> Vec<Node> {
    let mut nodes: Vec<Node> = (1..=n).map(|id| Node::new(id, Engine::new(Locks::default()))).collect();
    let all: Vec<usize> = (0..n as usize).collect();
    begin_sync(&mut nodes, &all, RingId { rep: 1, seq: 4 });
    finish_sync(&mut nodes, &all);
    nodes
}

impl Node {
    fn ask(&mut self, conn: u64, req: &Req) -> Result<(), RequestError> {
        self.with(|s, c| s.lib_request(c, ConnId(conn), req.id(), &req.encode()))
    }

    fn lock(&mut self, conn: u64, name: &str) {
        self.ask(conn, &Req::Lock { name: name.into(), token: None }).unwrap();
    }

    /// Replies (conn, id, error) and callbacks (conn, id) sent; removes them.
    fn sent(&mut self) -> Sent {
        let mut replies = Vec::new();
        let mut callbacks = Vec::new();
        for o in std::mem::take(&mut self.out) {
            match o {
                Output::Reply { conn, id, body } => {
                    replies.push((conn.0, id, u32::from_le_bytes(body[..4].try_into().unwrap())))
                }
                Output::Dispatch { conn, id, .. } => callbacks.push((conn.0, id)),
                other => panic!("{other:?}"),
            }
        }
        (replies, callbacks)
    }

    fn holder(&self, name: &str) -> Option<Owner> {
        self.svc.table.get(name.as_bytes()).and_then(|l| l.holder)
    }
}

fn same_everywhere(nodes: &[Node]) {
    for n in &nodes[1..] {
        assert_eq!(*n.svc, *nodes[0].svc, "replicas differ");
    }
}

#[test]
fn a_blocked_request_is_answered_by_the_unlock_that_frees_it() {
    let mut n = cluster(3);
    let all = [0, 1, 2];
    n[0].lock(1, "a");
    run(&mut n, &all);
    assert_eq!(n[0].sent().0, [(1, LOCK, error::OK)]);
    n[1].lock(2, "a");
    n[2].ask(3, &Req::Lock { name: "a".into(), token: Some(77) }).unwrap();
    run(&mut n, &all);
    // Node 2 waits (no reply); node 3's async lock is accepted at once; the
    // holder hears of both waiters.
    assert_eq!(n[1].sent(), (vec![], vec![]));
    assert_eq!(n[2].sent(), (vec![(3, LOCK, error::OK)], vec![]));
    assert_eq!(n[0].sent().1, [(1, WAITER), (1, WAITER)]);
    n[0].ask(1, &Req::Unlock { name: "a".into() }).unwrap();
    run(&mut n, &all);
    assert_eq!(n[0].sent().0, [(1, UNLOCK, error::OK)]);
    assert_eq!(n[1].sent().0, [(2, LOCK, error::OK)], "granted by another node's unlock");
    assert_eq!(n[0].holder("a"), Some(Owner { node: 2, conn: ConnId(2) }));
    n[1].ask(2, &Req::Unlock { name: "a".into() }).unwrap();
    run(&mut n, &all);
    let (_, callbacks) = n[2].sent();
    assert_eq!(callbacks, [(3, GRANTED)], "the async waiter's grant is a callback");
    same_everywhere(&n);
    // A request that is not the holder's: an answer of its own.
    n[0].ask(1, &Req::Unlock { name: "a".into() }).unwrap();
    run(&mut n, &all);
    assert_eq!(n[0].sent().0, [(1, UNLOCK, error::NOT_EXIST)]);
}

#[test]
fn a_closed_connection_releases_everywhere_in_order_even_what_was_in_flight() {
    let mut n = cluster(2);
    let all = [0, 1];
    n[0].lock(1, "a");
    run(&mut n, &all);
    n[1].lock(2, "a");
    run(&mut n, &all);
    assert_eq!(n[0].sent(), (vec![(1, LOCK, error::OK)], vec![(1, WAITER)]));
    // Node 1's client asks for "b" and dies before it is applied.
    n[0].lock(1, "b");
    n[0].with(|s, c| s.conn_closed(c, ConnId(1)));
    run(&mut n, &all);
    assert_eq!(n[0].holder("a"), Some(Owner { node: 2, conn: ConnId(2) }), "the waiter got it");
    assert_eq!(n[1].sent().0, [(2, LOCK, error::OK)]);
    assert_eq!(n[0].holder("b"), None, "the lock granted after the client died is released too");
    assert_eq!(n[0].sent(), (vec![], vec![]), "nothing for a closed connection");
    same_everywhere(&n);
    // A connection that never ordered anything costs no message.
    n[1].with(|s, c| s.conn_closed(c, ConnId(9)));
    assert!(n[1].net.submitted.is_empty());
}

#[test]
fn a_departed_node_releases_its_locks_at_the_configuration_change() {
    let mut n = cluster(3);
    let all = [0, 1, 2];
    n[0].lock(1, "a");
    run(&mut n, &all);
    n[2].lock(3, "a");
    run(&mut n, &all);
    n[0].sent();
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
    assert_eq!(n[2].sent().0, [(3, LOCK, error::OK)], "granted at the change");
    assert_eq!(n[1].holder("a"), Some(Owner { node: 3, conn: ConnId(3) }));
    assert_eq!(*n[1].svc, *n[2].svc);
}

#[test]
fn a_joining_node_gets_the_state_and_messages_during_sync_wait() {
    let mut n = cluster(2);
    n.push(Node::new(3, Engine::new(Locks::default())));
    n[0].lock(1, "a");
    n[1].lock(2, "a");
    run(&mut n, &[0, 1]);
    n[0].sent();
    // Ordered in the old ring, delivered in the new one during its sync.
    n[0].ask(1, &Req::Unlock { name: "a".into() }).unwrap();
    let ring = RingId { rep: 1, seq: 8 };
    begin_sync(&mut n, &[0, 1, 2], ring);
    // New requests wait for the end of sync...
    n[1].lock(2, "c");
    assert_eq!(n[1].sent().0, [(2, LOCK, error::TRY_AGAIN)]);
    // ...and what is delivered meanwhile is applied after the merge.
    run(&mut n, &[0, 1, 2]);
    assert_eq!(n[0].sent(), (vec![], vec![]), "held");
    finish_sync(&mut n, &[0, 1, 2]);
    assert_eq!(n[0].sent().0, [(1, UNLOCK, error::OK)]);
    assert_eq!(n[1].sent().0, [(2, LOCK, error::OK)]);
    same_everywhere(&n);
    assert_eq!(n[2].holder("a"), Some(Owner { node: 2, conn: ConnId(2) }));
    assert!(!n[2].svc.is_syncing());
}

#[test]
fn the_timer_orders_a_tick_when_cluster_time_is_due_and_closes_wait_for_room() {
    let mut n = cluster(2);
    let all = [0, 1];
    let until = n[0].now.wall + 1_000_000_000;
    n[0].ask(1, &Req::Lease { until }).unwrap();
    run(&mut n, &all);
    let due = n[1].poll_timeout().expect("armed");
    assert_eq!(due - n[1].now.mono, Duration::from_secs(1));
    n[1].advance(Duration::from_secs(1));
    n[1].with(|s, c| s.handle_timeout(c));
    run(&mut n, &all);
    assert!(n.iter().all(|x| x.svc.leases.is_empty()), "expired everywhere");
    assert_eq!(n[1].poll_timeout(), None);
    // A close while the queue is full is retried by the timer (paced).
    n[0].lock(1, "x");
    run(&mut n, &all);
    n[0].net.set_full(true);
    n[0].with(|s, c| s.conn_closed(c, ConnId(1)));
    assert_eq!(n[0].poll_timeout(), Some(n[0].now.mono));
    n[0].with(|s, c| s.handle_timeout(c));
    assert_eq!(n[0].poll_timeout(), Some(n[0].now.mono + TICK_PACE), "paced");
    n[0].net.set_full(false);
    n[0].advance(TICK_PACE);
    n[0].with(|s, c| s.handle_timeout(c));
    run(&mut n, &all);
    assert_eq!(n[1].holder("x"), None);
}

#[test]
fn bad_requests_and_messages_are_refused() {
    let mut n = cluster(1);
    assert_eq!(n[0].ask(1, &Req::Holder { name: "a".into() }), Ok(()));
    assert_eq!(n[0].sent().0, [(1, HOLDER, error::OK)]);
    assert_eq!(n[0].with(|s, c| s.lib_request(c, ConnId(1), 55, &[])), Err(RequestError::UnknownId(55)));
    assert!(matches!(n[0].with(|s, c| s.lib_request(c, ConnId(1), LOCK, &[1])), Err(RequestError::Malformed(_))));
    let huge = Req::Lock { name: vec![b'x'; totem::MAX_MESSAGE_SIZE - ORDERED_OVERHEAD], token: None };
    n[0].ask(1, &huge).unwrap();
    assert_eq!(n[0].sent().0, [(1, LOCK, error::TOO_BIG)]);
    assert!(n[0].net.submitted.is_empty());
    n[0].net.set_full(true);
    n[0].lock(1, "q");
    assert_eq!(n[0].sent().0, [(1, LOCK, error::TRY_AGAIN)]);
    n[0].net.set_full(false);
    let before = n[0].svc.malformed();
    n[0].with(|s, c| {
        s.deliver(c, 1, &[]);
        s.deliver(c, 1, &[wire::REQUEST, 1]);
        let held = Msg::Request(wire::Request { conn: 1, seq: 9, new_id: 1, ts: 0, msg_id: HOLDER, body: &[0; 4] });
        s.deliver(c, 1, &held.encode());
        let junk = Msg::Request(wire::Request { conn: 1, seq: 9, new_id: 1, ts: 0, msg_id: 77, body: &[] });
        s.deliver(c, 1, &junk.encode());
        // A sync item of no round is ignored.
        s.deliver(c, 1, &Msg::Item { ring: RingId { rep: 1, seq: 4 }, item: &[1] }.encode());
    });
    assert_eq!(n[0].svc.malformed(), before + 4);
}

#[test]
fn a_request_whose_time_runs_out_is_withdrawn_everywhere_and_never_granted_later() {
    let mut n = cluster(3);
    let all = [0, 1, 2];
    n[0].lock(1, "a");
    run(&mut n, &all);
    n[0].sent();
    n[1].ask(2, &Req::LockWithin { name: "a".into(), limit_ms: 1000 }).unwrap();
    run(&mut n, &all);
    assert_eq!(n[1].sent(), (vec![], vec![]), "waits");
    assert_eq!(n[1].poll_timeout(), Some(n[1].now.mono + Duration::from_secs(1)), "the limit is watched");
    assert_eq!(n[2].poll_timeout(), None, "only by the requesting node");
    n[1].advance(Duration::from_millis(999));
    n[1].with(|s, c| s.handle_timeout(c));
    assert!(n[1].net.submitted.is_empty(), "not yet");
    n[1].advance(Duration::from_millis(1));
    n[1].with(|s, c| s.handle_timeout(c));
    assert_eq!(n[1].poll_timeout(), None, "withdrawal ordered once");
    run(&mut n, &all);
    assert_eq!(n[1].sent().0, [(2, LOCK_WITHIN, error::TIMEOUT)]);
    assert!(n.iter().all(|x| x.svc.table[&b"a"[..]].waiters.is_empty()), "withdrawn everywhere");
    n[0].ask(1, &Req::Unlock { name: "a".into() }).unwrap();
    run(&mut n, &all);
    assert_eq!(n[1].sent(), (vec![], vec![]), "never granted later");
    assert_eq!(n[2].holder("a"), None);
    same_everywhere(&n);

    // Granted before its withdrawal is ordered: granted, and the
    // withdrawal that follows changes nothing.
    n[0].lock(1, "b");
    run(&mut n, &all);
    n[1].ask(2, &Req::LockWithin { name: "b".into(), limit_ms: 10 }).unwrap();
    run(&mut n, &all);
    n[0].sent();
    n[0].ask(1, &Req::Unlock { name: "b".into() }).unwrap();
    n[1].advance(Duration::from_millis(10));
    n[1].with(|s, c| s.handle_timeout(c));
    assert_eq!(n[1].net.submitted.len(), 1, "the withdrawal, ordered after the unlock");
    run(&mut n, &all);
    assert_eq!(n[1].sent().0, [(2, LOCK_WITHIN, error::OK)]);
    assert_eq!(n[2].holder("b"), Some(Owner { node: 2, conn: ConnId(2) }));
    same_everywhere(&n);
}

/// Quorum of 3 expected votes at every node.
fn quorum_cluster() -> Vec<Node> {
    quorum_cluster_of(3)
}

/// `n` nodes, quorum of `n` expected votes, one synced ring.
fn quorum_cluster_of(n: u32) -> Vec<Node> {
    let mut nodes: Vec<Node> = (1..=n).map(|id| Node::new(id, Engine::new(Locks::default()))).collect();
    let q = crate::config::Quorum {
        provider: Some("corosync_votequorum".into()),
        expected_votes: Some(n),
        ..Default::default()
    };
    for n in nodes.iter_mut() {
        n.set_quorum(crate::quorum::Rules::from_config(Some(&q), &[]).unwrap());
    }
    let all: Vec<usize> = (0..n as usize).collect();
    begin_sync(&mut nodes, &all, RingId { rep: 1, seq: 4 });
    finish_sync(&mut nodes, &all);
    nodes
}

/// Splits the ring into `parts` (transitional, then regular and synced).
fn split(n: &mut [Node], parts: &[&[usize]], seq: u64) {
    for part in parts {
        let ids: Vec<NodeId> = part.iter().map(|&i| n[i].id()).collect();
        let change = ConfigChange {
            kind: ConfigKind::Transitional,
            ring_id: RingId { rep: ids[0], seq },
            members: ids,
            left: vec![],
            joined: vec![],
        };
        for &i in part.iter() {
            n[i].change(&change);
        }
    }
    for part in parts {
        begin_sync(n, part, RingId { rep: n[part[0]].id(), seq });
        finish_sync(n, part);
    }
}

#[test]
fn a_partition_without_quorum_refuses_changes_and_takes_the_quorate_state_at_the_heal() {
    let mut n = quorum_cluster();
    n[2].lock(3, "old");
    run(&mut n, &[0, 1, 2]);
    assert_eq!(n[2].sent().0, [(3, LOCK, error::OK)]);
    split(&mut n, &[&[0, 1], &[2]], 8);
    // The lone node: changes refused, nothing ordered; reads answered.
    n[2].lock(3, "a");
    assert_eq!(n[2].sent().0, [(3, LOCK, error::TRY_AGAIN)]);
    assert!(n[2].net.submitted.is_empty());
    n[2].ask(3, &Req::Holder { name: "old".into() }).unwrap();
    assert_eq!(n[2].sent().0, [(3, HOLDER, error::OK)]);
    // The majority goes on (node 3's lock was released when it left).
    n[0].lock(1, "a");
    n[1].lock(2, "old");
    run(&mut n, &[0, 1]);
    assert_eq!(n[0].sent().0, [(1, LOCK, error::OK)]);
    assert_eq!(n[1].sent().0, [(2, LOCK, error::OK)]);
    // The lone node let go of the majority's locks meanwhile: its state
    // differs, and at the heal the quorate side's wins.
    begin_sync(&mut n, &[0, 1, 2], RingId { rep: 1, seq: 12 });
    finish_sync(&mut n, &[0, 1, 2]);
    same_everywhere(&n);
    assert_eq!(n[2].holder("a"), Some(Owner { node: 1, conn: ConnId(1) }));
    assert_eq!(n[2].holder("old"), Some(Owner { node: 2, conn: ConnId(2) }));
    n[2].lock(3, "b");
    run(&mut n, &[0, 1, 2]);
    assert_eq!(n[2].sent().0, [(3, LOCK, error::OK)], "quorate again");
}

#[test]
fn the_quorate_side_wins_the_heal_even_with_the_higher_sender() {
    let mut n = quorum_cluster();
    split(&mut n, &[&[0], &[1, 2]], 8);
    n[1].lock(2, "a");
    run(&mut n, &[1, 2]);
    assert_eq!(n[1].sent().0, [(2, LOCK, error::OK)]);
    // Node 1 alone let go of nothing it had, but its state is the old one.
    begin_sync(&mut n, &[0, 1, 2], RingId { rep: 1, seq: 12 });
    finish_sync(&mut n, &[0, 1, 2]);
    same_everywhere(&n);
    assert_eq!(n[0].holder("a"), Some(Owner { node: 2, conn: ConnId(2) }));
}

#[test]
fn a_change_ordered_before_the_partition_is_applied_nowhere_in_the_minority() {
    let mut n = quorum_cluster();
    // Node 3 orders a lock; the ring breaks before it is delivered, and it
    // is delivered in node 3's transitional configuration of one.
    n[2].lock(3, "a");
    let change = ConfigChange {
        kind: ConfigKind::Transitional,
        ring_id: RingId { rep: 3, seq: 8 },
        members: vec![3],
        left: vec![1, 2],
        joined: vec![],
    };
    n[2].change(&change);
    run(&mut n, &[2]);
    assert_eq!(n[2].sent().0, [(3, LOCK, error::TRY_AGAIN)], "not acknowledged");
    assert_eq!(n[2].holder("a"), None, "not applied");
}

#[test]
fn without_quorum_both_sides_accept_and_the_heal_loses_one_sides_writes() {
    let mut n = cluster(3);
    split(&mut n, &[&[0, 1], &[2]], 8);
    n[0].lock(1, "a");
    n[2].lock(3, "a");
    run(&mut n, &[0, 1]);
    run(&mut n, &[2]);
    assert_eq!(n[0].sent().0, [(1, LOCK, error::OK)]);
    assert_eq!(n[2].sent().0, [(3, LOCK, error::OK)], "the minority accepts too");
    begin_sync(&mut n, &[0, 1, 2], RingId { rep: 1, seq: 12 });
    finish_sync(&mut n, &[0, 1, 2]);
    same_everywhere(&n);
    assert_eq!(n[2].holder("a"), Some(Owner { node: 1, conn: ConnId(1) }), "node 3's acknowledged lock is gone");
}

#[test]
fn after_successive_partitions_the_newest_quorate_state_wins_not_the_lowest_node() {
    let mut n = quorum_cluster_of(5);
    n[0].lock(1, "a");
    run(&mut n, &[0, 1, 2, 3, 4]);
    n[0].sent();
    // {1} | {2, 3, 4} (quorate: node 1's lock is released there) | {5}.
    split(&mut n, &[&[0], &[1, 2, 3], &[4]], 8);
    n[1].lock(2, "a");
    run(&mut n, &[1, 2, 3]);
    assert_eq!(n[1].sent().0, [(2, LOCK, error::OK)]);
    // The quorate side breaks up: {2} | {3, 4}, neither quorate.
    split(&mut n, &[&[1], &[2, 3]], 12);
    // {1, 3, 4} is quorate again. Node 1 is the lowest but holds the oldest
    // state (its own lock, given up long ago); nodes 3 and 4 hold the state
    // of the last quorate ring.
    begin_sync(&mut n, &[0, 2, 3], RingId { rep: 1, seq: 16 });
    finish_sync(&mut n, &[0, 2, 3]);
    assert_eq!(*n[0].svc, *n[2].svc);
    assert_eq!(n[0].holder("a"), None, "node 2's lock, released as node 2 is gone; not node 1's old one");
}
