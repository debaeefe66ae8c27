//! For the services' unit tests: simulated nodes, each with its own service
//! and an ordering layer that only records what is submitted; the test then
//! delivers the submissions in one global order, as Totem would. Time is
//! virtual: a node's clock moves only when the test says so
//! ([`SimNode::advance`]).

use std::os::fd::RawFd;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::ordering::{
    ClusterEvent, ClusterStatus, ConfigChange, ConfigKind, Guarantee, MemberInfo, NodeId, Ordering, QueueFull, RingId,
};
use crate::quorum::Tracker;
use crate::service::{ConnId, Ctx, Now, Output, Service, SyncStep, split_routed};

/// The virtual time every simulated node starts at: a fixed wall clock
/// (2024-01-01T00:00:00Z) and a monotonic origin taken once per process
/// (an `Instant` has no fixed value to start from).
pub fn time_zero() -> Now {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    Now { mono: *ORIGIN.get_or_init(|| Now::read().mono), wall: 1_704_067_200_000_000_000 }
}

/// An ordering layer that records what is submitted.
pub struct FakeNet {
    pub node: NodeId,
    /// The address `status()` reports for this node.
    pub address: String,
    pub submitted: Vec<Vec<u8>>,
    /// Submits refused with `QueueFull` before one is accepted
    /// (`usize::MAX`: a queue that stays full).
    pub refuse: usize,
}

impl FakeNet {
    pub fn new(node: NodeId) -> FakeNet {
        FakeNet { node, address: String::new(), submitted: Vec::new(), refuse: 0 }
    }

    /// A full send queue (refuses every submit) or an empty one.
    pub fn set_full(&mut self, full: bool) {
        self.refuse = if full { usize::MAX } else { 0 };
    }
}

impl Ordering for FakeNet {
    fn local_node(&self) -> NodeId {
        self.node
    }
    fn submit(&mut self, payload: Vec<u8>, _g: Guarantee) -> Result<(), QueueFull> {
        if self.refuse > 0 {
            if self.refuse != usize::MAX {
                self.refuse -= 1;
            }
            return Err(QueueFull);
        }
        self.submitted.push(payload);
        Ok(())
    }
    fn submit_past_limit(&mut self, payload: Vec<u8>, _g: Guarantee) -> Result<(), QueueFull> {
        self.submitted.push(payload);
        Ok(())
    }
    fn has_room(&self) -> bool {
        self.refuse == 0
    }
    fn poll_event(&mut self) -> Option<ClusterEvent> {
        None
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    fn fds(&self) -> Vec<RawFd> {
        Vec::new()
    }
    fn handle_readable(&mut self, _fd: RawFd, _now: Instant) {}
    fn status(&self) -> ClusterStatus {
        ClusterStatus {
            local_node: self.node,
            ring_id: RingId { rep: self.node, seq: 0 },
            rings: Vec::new(),
            members: vec![MemberInfo { node: self.node, address: self.address.clone() }],
            counters: Vec::new(),
        }
    }
}

/// One simulated node: a service, its recording ordering layer, what it
/// has sent to its clients so far, and its clock.
pub struct SimNode<S> {
    pub svc: S,
    pub net: FakeNet,
    pub out: Vec<Output>,
    pub now: Now,
    /// This node's quorum (none configured unless a test sets rules).
    pub quorum: crate::quorum::Tracker,
}

impl<S: Service> SimNode<S> {
    pub fn new(node: NodeId, svc: S) -> SimNode<S> {
        SimNode { svc, net: FakeNet::new(node), out: Vec::new(), now: time_zero(), quorum: Tracker::new(None) }
    }

    /// Puts quorum rules in force at this node (as the executive does at
    /// start).
    pub fn set_quorum(&mut self, rules: Option<crate::quorum::Rules>) {
        self.quorum = Tracker::new(rules);
        self.svc.quorum(&self.quorum);
    }

    /// A configuration change at this node, as the executive gives it:
    /// the quorum, then `config_change`.
    pub fn change(&mut self, change: &ConfigChange) {
        self.quorum.change(&change.members);
        self.svc.quorum(&self.quorum);
        self.with(|s, c| s.config_change(c, change));
    }

    pub fn id(&self) -> NodeId {
        self.net.node
    }

    /// Moves this node's clocks `d` forward.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now.after(d);
    }

    /// The node restarts a second later with `svc` (its clock goes on).
    pub fn restart(&mut self, svc: S) {
        let now = self.now.after(Duration::from_secs(1));
        let rules = self.quorum.rules().cloned();
        *self = SimNode::new(self.id(), svc);
        self.now = now;
        self.set_quorum(rules);
    }

    /// When the service's timer is due, seen from this node's clock.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.svc.poll_timeout(self.now)
    }

    /// Runs `f` on the service with a context of this node.
    pub fn with<R>(&mut self, f: impl FnOnce(&mut S, &mut Ctx<'_>) -> R) -> R {
        let mut ctx = Ctx::new(self.now, self.svc.id(), &mut self.net, &mut self.out);
        f(&mut self.svc, &mut ctx)
    }

    /// Answers sent so far as (conn, msg id, error, payload); removes
    /// them, keeps the callbacks.
    pub fn replies(&mut self) -> Vec<(ConnId, u32, u32, Vec<u8>)> {
        let mut replies = Vec::new();
        self.out.retain(|o| match o {
            Output::Reply { conn, id, body } => {
                let error = u32::from_le_bytes(body[..4].try_into().expect("a reply starts with its error"));
                replies.push((*conn, *id, error, body[4..].to_vec()));
                false
            }
            _ => true,
        });
        replies
    }

    /// The last answer's (error, payload); removes the answers.
    pub fn last_reply(&mut self) -> (u32, Vec<u8>) {
        let (_, _, error, payload) = self.replies().pop().expect("a reply");
        (error, payload)
    }
}

/// Orders what the nodes `members` submitted (node by node, in submit
/// order) and delivers each message to every one of them, until nothing
/// more is submitted (deliveries may submit more).
pub fn run_ordered<S: Service>(nodes: &mut [SimNode<S>], members: &[usize]) {
    loop {
        let mut batch = Vec::new();
        for &i in members {
            for m in std::mem::take(&mut nodes[i].net.submitted) {
                batch.push((nodes[i].net.node, m));
            }
        }
        if batch.is_empty() {
            return;
        }
        for (sender, m) in batch {
            let (svc, payload) = split_routed(&m).expect("a routed message");
            for &i in members {
                assert_eq!(svc, nodes[i].svc.id(), "delivered to another service");
                nodes[i].with(|s, c| s.deliver(c, sender, payload));
            }
        }
    }
}

/// Installs the regular configuration `ring` of the nodes `members` at each
/// of them and starts sync there (`config_change`, then `sync_init`, as the
/// executive does); the change.
pub fn begin_sync<S: Service>(nodes: &mut [SimNode<S>], members: &[usize], ring: RingId) -> ConfigChange {
    let ids: Vec<NodeId> = members.iter().map(|&i| nodes[i].id()).collect();
    let change = ConfigChange { kind: ConfigKind::Regular, ring_id: ring, members: ids, left: vec![], joined: vec![] };
    for &i in members {
        nodes[i].change(&change);
        nodes[i].with(|s, c| s.sync_init(c, &change));
    }
    change
}

/// Runs the sync round begun (with [`begin_sync`]) at the nodes `members`
/// to activation: `sync_process` on every member and delivery of what it
/// sent, until all are done, then `sync_activate` everywhere.
pub fn finish_sync<S: Service>(nodes: &mut [SimNode<S>], members: &[usize]) {
    for turn in 0.. {
        assert!(turn < 10, "sync does not finish");
        let mut done = true;
        for &i in members {
            done &= nodes[i].with(|s, c| s.sync_process(c)) == SyncStep::Done;
        }
        run_ordered(nodes, members);
        if done {
            break;
        }
    }
    for &i in members {
        nodes[i].with(|s, c| s.sync_activate(c));
    }
}
