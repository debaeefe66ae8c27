//! The CPG service: closed process groups for `libcpg`.
//!
//! # Model
//! A group is a name of up to 128 bytes; its members are processes (one
//! per joining handle: node, connection, pid) on any node. The group table
//! ([`groups::Groups`]) is replicated: it changes only when an ordered
//! message or a configuration change is delivered, and every node applies
//! those in the same order, so every node holds the same table.
//!
//! - `cpg_join` / `cpg_leave`: checked here against this node's view, then
//!   submitted; applied and answered when delivered back. Each member of
//!   the group on each node gets a confchg (the joiner included; on leave,
//!   the leaver too).
//! - `cpg_mcast_joined`: submitted with the sender's connection id; on
//!   delivery, it goes to the local members of every group the sender is a
//!   member of *at that point of the order* (so on every node, to the same
//!   members, sender included). Answered as soon as it is queued.
//! - A connection that closes while a member (process exit without
//!   finalize, or crash) is removed by an ordered `PROCDOWN` message, so
//!   the removal is at the same point everywhere; reason `PROCDOWN`.
//! - A regular configuration change that drops nodes removes their
//!   members, reason `NODEDOWN`, at the same point on every surviving node.
//!   (Not the transitional one: the old ring's last messages, delivered
//!   in the transitional configuration, still reach the groups, with
//!   their senders still members.)
//!
//! # Joining configurations (sync)
//! Each node is the only source of changes to its own members (only it
//! submits join/leave/procdown for its connections). When a regular
//! configuration brings in new nodes, every node submits an `ANNOUNCE`
//! with its own memberships; a node delivering node N's announcement
//! replaces what it knew of N's members with it (new ones reported with
//! `NODEUP`). After all announcements are delivered, every node knows
//! every node's members from their owner, so all tables agree.
//!
//! Membership operations this node submitted before the announcement but
//! not yet delivered are delivered before it (the ordering keeps each
//! sender's order), so the announcement describes this node's members
//! *after* them: it is this node's table with its pending operations
//! applied ([`CpgService::projected_own_members`]). Delivery never rejects
//! an operation (limits are checked before submitting, except hard
//! memory caps, which fail the same way on every node), so the projection
//! is exact. The announcement is submitted from `config_change` and from
//! `sync_process`, and retried on later calls if the queue was full;
//! replacement is idempotent, so repeating it is harmless.
//!
//! # Limits and flow control
//! [`MAX_GROUPS_PER_CONN`] groups per handle (`CPG_ERR_TOO_MANY_GROUPS`),
//! [`CPG_MEMBERS_MAX`] members per group and [`MAX_GROUPS`] groups in the
//! cluster, [`MAX_NODE_MEMBERSHIPS`] memberships per node
//! (`CPG_ERR_NO_MEMORY`); messages up to `ais_ipc::cpg::MAX_DATA` bytes.
//! Multicasts are never refused for flow control: `libcpg` pipelines
//! them, so a full ordering queue holds the connection (its requests stay
//! unread) instead ([`Ctx::submit_or_hold`]); the queue's limit bounds
//! what a handle has submitted and not yet delivered. Flow control reads
//! `ENABLED` from [`INFLIGHT_SOFT_MSGS`] / [`INFLIGHT_SOFT_BYTES`] of
//! them on. Joins and leaves still answer `TRY_AGAIN` to a full queue.

pub mod cluster;
pub mod groups;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, VecDeque};

use ais_ipc::cpg::{self as wire, Address, Callback, ERR_TOO_MANY_GROUPS, GUARANTEE_SAFE, Request, reason};
use ais_ipc::{error, service};

use crate::ordering::{ConfigChange, ConfigKind, Guarantee, NodeId};
use crate::service::{ConnId, ConnInfo, Ctx, RequestError, Service, SyncStep};
use cluster::ClusterMsg;
use groups::{GroupChange, Groups, MemberKey, Name};

pub const MAX_GROUPS_PER_CONN: usize = 64;
/// `CPG_MEMBERS_MAX`: what a membership answer can hold.
pub const CPG_MEMBERS_MAX: usize = 128;
pub const MAX_GROUPS: usize = 4096;
pub const MAX_NODE_MEMBERSHIPS: usize = cluster::MAX_ANNOUNCE;
/// Caps applied on delivery, the same on every node: far above the limits
/// checked before submitting, only reached by races between nodes.
const HARD_GROUP_MEMBERS: usize = wire::MAX_LIST;
const HARD_GROUPS: usize = 2 * MAX_GROUPS;
pub const INFLIGHT_SOFT_MSGS: usize = 256;
pub const INFLIGHT_SOFT_BYTES: usize = 2 * 1024 * 1024;
/// Answers a connection may have waiting (an honest library has one).
const MAX_QUEUED_REPLIES: usize = 16;

/// A membership operation this node submitted, not yet delivered back.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PendingOp {
    Join { seq: u64, conn: u64, pid: u32, name: Name },
    Leave { seq: u64, conn: u64, name: Name },
    ProcDown { seq: u64, conn: u64 },
}

impl PendingOp {
    fn seq(&self) -> u64 {
        match self {
            PendingOp::Join { seq, .. } | PendingOp::Leave { seq, .. } | PendingOp::ProcDown { seq, .. } => *seq,
        }
    }
}

/// Something to submit that found the queue full; retried on later calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deferred {
    ProcDown(u64),
    Announce,
}

/// An answer in a connection's reply queue: ready, or waiting for the
/// delivery of operation `seq`.
#[derive(Debug)]
struct QueuedReply {
    msg_id: u32,
    waits_for: Option<u64>,
    status: u32,
    payload: Vec<u8>,
}

/// A CPG connection on this node.
#[derive(Debug, Default)]
struct LocalConn {
    pid: u32,
    /// Groups this handle is in once its submitted operations are applied.
    groups: BTreeSet<Name>,
    /// Answers in request order; the front ones go out when ready.
    replies: VecDeque<QueuedReply>,
    inflight_msgs: usize,
    inflight_bytes: usize,
}

impl LocalConn {
    fn flow_control_enabled(&self) -> bool {
        self.inflight_msgs >= INFLIGHT_SOFT_MSGS || self.inflight_bytes >= INFLIGHT_SOFT_BYTES
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CpgStats {
    pub delivered: u64,
    pub queue_full: u64,
    /// Multicasts that did not fit one ordered message (none should).
    pub too_large: u64,
    pub bad_cluster_messages: u64,
    /// Joins dropped on delivery by a hard cap.
    pub capped_joins: u64,
    pub announcements: u64,
}

#[derive(Debug, Default)]
pub struct CpgService {
    groups: Groups,
    conns: HashMap<ConnId, LocalConn>,
    pending: VecDeque<PendingOp>,
    deferred: VecDeque<Deferred>,
    next_seq: u64,
    pub stats: CpgStats,
}

fn guarantee(g: u32) -> Guarantee {
    if g == GUARANTEE_SAFE { Guarantee::Safe } else { Guarantee::Agreed }
}

fn address(key: MemberKey, pid: u32, reason: u32) -> Address {
    Address { node: key.node, pid, reason }
}

impl CpgService {
    pub fn new() -> CpgService {
        CpgService::default()
    }

    /// The replicated table (tests, status tools).
    pub fn groups(&self) -> &Groups {
        &self.groups
    }

    /// This node's memberships once its pending operations are applied.
    pub fn projected_own_members(&self, local: NodeId) -> Vec<(Name, u64, u32)> {
        let mut own: BTreeSet<(Name, u64, u32)> = self.groups.node_members(local).into_iter().collect();
        for op in &self.pending {
            match op {
                PendingOp::Join { conn, pid, name, .. } => {
                    if !own.iter().any(|(n, c, _)| n == name && c == conn) {
                        own.insert((name.clone(), *conn, *pid));
                    }
                }
                PendingOp::Leave { conn, name, .. } => own.retain(|(n, c, _)| !(n == name && c == conn)),
                PendingOp::ProcDown { conn, .. } => own.retain(|(_, c, _)| c != conn),
            }
        }
        own.into_iter().collect()
    }

    /// Submits what waits in `deferred`, in order, until the queue is full.
    fn flush_deferred(&mut self, ctx: &mut Ctx<'_>) {
        while let Some(&item) = self.deferred.front() {
            let ok = match item {
                Deferred::ProcDown(conn) => {
                    let seq = self.next_seq + 1;
                    let sent = ctx.submit(&ClusterMsg::ProcDown { seq, conn }, Guarantee::Agreed).is_ok();
                    if sent {
                        self.next_seq = seq;
                        self.pending.push_back(PendingOp::ProcDown { seq, conn });
                    }
                    sent
                }
                Deferred::Announce => {
                    let own = self.projected_own_members(ctx.local_node());
                    let members = own.iter().map(|(n, c, p)| (n.as_slice(), *c, *p)).collect();
                    let sent = ctx.submit(&ClusterMsg::Announce { members }, Guarantee::Agreed).is_ok();
                    if sent {
                        self.stats.announcements += 1;
                    }
                    sent
                }
            };
            if !ok {
                self.stats.queue_full += 1;
                return;
            }
            self.deferred.pop_front();
        }
    }

    fn defer(&mut self, ctx: &mut Ctx<'_>, item: Deferred) {
        if !(item == Deferred::Announce && self.deferred.contains(&item)) {
            self.deferred.push_back(item);
        }
        self.flush_deferred(ctx);
    }

    /// Queues an answer for `conn` and sends what is ready.
    fn answer(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reply: QueuedReply) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if c.replies.len() >= MAX_QUEUED_REPLIES {
            crate::log_limited!(
                Warning,
                Serv,
                "cpg: pid {} has {MAX_QUEUED_REPLIES} unanswered requests; closing it",
                c.pid
            );
            ctx.disconnect(conn);
            return;
        }
        c.replies.push_back(reply);
        Self::send_ready(ctx, conn, c);
    }

    fn send_ready(ctx: &mut Ctx<'_>, conn: ConnId, c: &mut LocalConn) {
        while c.replies.front().is_some_and(|r| r.waits_for.is_none()) {
            if let Some(r) = c.replies.pop_front() {
                ctx.reply(conn, r.msg_id, r.status, &r.payload);
            }
        }
    }

    /// Operation `seq` of `conn` was delivered with `status`.
    fn complete(&mut self, ctx: &mut Ctx<'_>, conn: u64, seq: u64, status: u32) {
        let conn = ConnId(conn);
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if let Some(r) = c.replies.iter_mut().find(|r| r.waits_for == Some(seq)) {
            r.waits_for = None;
            r.status = status;
        }
        Self::send_ready(ctx, conn, c);
    }

    fn ready(msg_id: u32, status: u32, payload: Vec<u8>) -> QueuedReply {
        QueuedReply { msg_id, waits_for: None, status, payload }
    }

    fn request(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg_id: u32, req: Request<'_>) {
        let local = ctx.local_node();
        let node_memberships: usize = self.conns.values().map(|c| c.groups.len()).sum();
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let reply = match req {
            Request::Join { name } => {
                let status = if c.groups.contains(name) {
                    error::EXIST
                } else if c.groups.len() >= MAX_GROUPS_PER_CONN {
                    ERR_TOO_MANY_GROUPS
                } else if self.groups.group_len(name) >= CPG_MEMBERS_MAX
                    || (self.groups.group_len(name) == 0 && self.groups.group_count() >= MAX_GROUPS)
                    || node_memberships >= MAX_NODE_MEMBERSHIPS
                {
                    error::NO_MEMORY
                } else {
                    error::OK
                };
                if status != error::OK {
                    Self::ready(msg_id, status, Vec::new())
                } else {
                    let seq = self.next_seq + 1;
                    let msg = ClusterMsg::Join { seq, conn: conn.0, pid: c.pid, name };
                    if ctx.submit(&msg, Guarantee::Agreed).is_err() {
                        self.stats.queue_full += 1;
                        Self::ready(msg_id, error::TRY_AGAIN, Vec::new())
                    } else {
                        self.next_seq = seq;
                        c.groups.insert(name.to_vec());
                        self.pending.push_back(PendingOp::Join { seq, conn: conn.0, pid: c.pid, name: name.to_vec() });
                        QueuedReply { msg_id, waits_for: Some(seq), status: error::OK, payload: Vec::new() }
                    }
                }
            }
            Request::Leave { name } => {
                if !c.groups.contains(name) {
                    Self::ready(msg_id, error::NOT_EXIST, Vec::new())
                } else {
                    let seq = self.next_seq + 1;
                    let msg = ClusterMsg::Leave { seq, conn: conn.0, pid: c.pid, name };
                    if ctx.submit(&msg, Guarantee::Agreed).is_err() {
                        self.stats.queue_full += 1;
                        Self::ready(msg_id, error::TRY_AGAIN, Vec::new())
                    } else {
                        self.next_seq = seq;
                        c.groups.remove(name);
                        self.pending.push_back(PendingOp::Leave { seq, conn: conn.0, name: name.to_vec() });
                        QueuedReply { msg_id, waits_for: Some(seq), status: error::OK, payload: Vec::new() }
                    }
                }
            }
            Request::Mcast { guarantee: g, data } => {
                let status = if c.groups.is_empty() {
                    error::NOT_EXIST
                } else {
                    let msg = ClusterMsg::Mcast { conn: conn.0, pid: c.pid, data };
                    if ctx.submit_or_hold(conn, &msg, guarantee(g)).is_err() {
                        // The decoder's size limit leaves room for the header.
                        self.stats.too_large += 1;
                        error::INVALID_PARAM
                    } else {
                        c.inflight_msgs += 1;
                        c.inflight_bytes += data.len();
                        error::OK
                    }
                };
                Self::ready(msg_id, status, Vec::new())
            }
            Request::MembershipGet { name } => {
                let members: Vec<(u32, u32)> =
                    self.groups.members(name).iter().map(|(k, pid)| (k.node, *pid)).collect();
                Self::ready(msg_id, error::OK, wire::encode_members(&members))
            }
            Request::LocalGet => Self::ready(msg_id, error::OK, local.to_le_bytes().to_vec()),
            Request::ListGroups => {
                let listing: Vec<wire::GroupListing> = self
                    .groups
                    .all()
                    .into_iter()
                    .map(|(name, members)| (name, members.iter().map(|(k, pid)| (k.node, *pid)).collect()))
                    .collect();
                Self::ready(msg_id, error::OK, wire::encode_group_list(&listing))
            }
            Request::FlowControlGet => {
                let state = u32::from(c.flow_control_enabled());
                Self::ready(msg_id, error::OK, state.to_le_bytes().to_vec())
            }
        };
        self.answer(ctx, conn, reply);
    }

    /// Tells the local members of `change`'s group (and a local leaver,
    /// when it left on its own) what changed.
    fn notify(&mut self, ctx: &mut Ctx<'_>, change: &GroupChange) {
        let local = ctx.local_node();
        let mut targets: Vec<ConnId> =
            change.members.iter().filter(|(k, _)| k.node == local).map(|(k, _)| ConnId(k.conn)).collect();
        for m in &change.left {
            if m.key.node == local && m.reason == reason::LEAVE {
                targets.push(ConnId(m.key.conn));
            }
        }
        targets.retain(|c| self.conns.contains_key(c));
        if targets.is_empty() {
            return;
        }
        let body = Callback::Confchg {
            name: &change.name,
            members: change.members.iter().map(|(k, pid)| address(*k, *pid, 0)).collect(),
            left: change.left.iter().map(|m| address(m.key, m.pid, m.reason)).collect(),
            joined: change.joined.iter().map(|m| address(m.key, m.pid, m.reason)).collect(),
        }
        .encode();
        for conn in targets {
            ctx.dispatch(conn, wire::CONFCHG, body.clone());
        }
    }

    fn notify_all(&mut self, ctx: &mut Ctx<'_>, changes: &[GroupChange]) {
        for change in changes {
            self.notify(ctx, change);
        }
    }

    /// Our own operation `seq` came back: it is no longer pending.
    fn own_delivered(&mut self, seq: u64) {
        while self.pending.front().is_some_and(|op| op.seq() <= seq) {
            self.pending.pop_front();
        }
    }

    fn apply(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, msg: ClusterMsg<'_>) {
        let own = sender == ctx.local_node();
        match msg {
            ClusterMsg::Join { seq, conn, pid, name } => {
                let key = MemberKey { node: sender, conn };
                let capped = !self.groups.contains(name, key)
                    && (self.groups.group_len(name) >= HARD_GROUP_MEMBERS
                        || (self.groups.group_len(name) == 0 && self.groups.group_count() >= HARD_GROUPS));
                let change = if capped { None } else { self.groups.join(name, key, pid) };
                if capped {
                    self.stats.capped_joins += 1;
                }
                if own {
                    self.own_delivered(seq);
                    if capped && let Some(c) = self.conns.get_mut(&ConnId(conn)) {
                        c.groups.remove(name);
                    }
                    self.complete(ctx, conn, seq, if capped { error::NO_MEMORY } else { error::OK });
                }
                if let Some(change) = change {
                    self.notify(ctx, &change);
                }
            }
            ClusterMsg::Leave { seq, conn, pid: _, name } => {
                let change = self.groups.leave(name, MemberKey { node: sender, conn }, reason::LEAVE);
                if own {
                    self.own_delivered(seq);
                    self.complete(ctx, conn, seq, error::OK);
                }
                if let Some(change) = change {
                    self.notify(ctx, &change);
                }
            }
            ClusterMsg::Mcast { conn, pid, data } => {
                let key = MemberKey { node: sender, conn };
                if own && let Some(c) = self.conns.get_mut(&ConnId(conn)) {
                    c.inflight_msgs = c.inflight_msgs.saturating_sub(1);
                    c.inflight_bytes = c.inflight_bytes.saturating_sub(data.len());
                }
                let local = ctx.local_node();
                // The sender's first copy is marked, for its library's count.
                let mut own_copy = own.then_some(ConnId(conn));
                // Borrowed walk of the group table: no per-message copies
                // of group names or member lists.
                for name in self.groups.groups_of_iter(key) {
                    let mut targets = self
                        .groups
                        .node_members_of(name, local)
                        .map(ConnId)
                        .filter(|c| self.conns.contains_key(c))
                        .peekable();
                    if targets.peek().is_none() {
                        continue;
                    }
                    let body = Callback::Deliver { name, node: sender, pid, own: false, data }.encode();
                    for target in targets {
                        self.stats.delivered += 1;
                        if own_copy == Some(target) {
                            own_copy = None;
                            let mine = Callback::Deliver { name, node: sender, pid, own: true, data }.encode();
                            ctx.dispatch(target, wire::DELIVER, mine);
                        } else {
                            ctx.dispatch(target, wire::DELIVER, body.clone());
                        }
                    }
                }
            }
            ClusterMsg::ProcDown { seq, conn } => {
                let changes = self.groups.remove_member(MemberKey { node: sender, conn }, reason::PROCDOWN);
                if own {
                    self.own_delivered(seq);
                }
                self.notify_all(ctx, &changes);
            }
            ClusterMsg::Announce { members } => {
                let entries: Vec<(Name, u64, u32)> = members.iter().map(|(n, c, p)| (n.to_vec(), *c, *p)).collect();
                let changes = self.groups.replace_node(sender, &entries);
                self.notify_all(ctx, &changes);
            }
        }
    }
}

impl Service for CpgService {
    fn id(&self) -> u32 {
        service::CPG
    }

    fn name(&self) -> &'static str {
        "cpg"
    }

    fn stats(&self, out: &mut Vec<ais_ipc::cfg::Stat>) {
        use ais_ipc::cfg::Stat;
        out.push(Stat::gauge("groups", self.groups.group_count() as u64));
        out.push(Stat::gauge("connections", self.conns.len() as u64));
        out.push(Stat::counter("delivered", self.stats.delivered));
        out.push(Stat::counter("queue_full", self.stats.queue_full));
    }

    fn conn_opened(&mut self, _ctx: &mut Ctx<'_>, info: &ConnInfo) {
        let pid = u32::try_from(info.pid).unwrap_or(0);
        self.conns.insert(info.id, LocalConn { pid, ..LocalConn::default() });
    }

    fn lib_request(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg_id: u32, body: &[u8]) -> Result<(), RequestError> {
        self.flush_deferred(ctx);
        let req = match Request::decode(msg_id, body) {
            Ok(Some(req)) => req,
            Ok(None) => return Err(RequestError::UnknownId(msg_id)),
            Err(e) => return Err(RequestError::Malformed(e)),
        };
        self.request(ctx, conn, msg_id, req);
        Ok(())
    }

    fn deliver(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, payload: &[u8]) {
        match ClusterMsg::decode(payload) {
            Ok(msg) => self.apply(ctx, sender, msg),
            Err(e) => {
                self.stats.bad_cluster_messages += 1;
                crate::log_limited!(Warning, Serv, "cpg: dropped an ordered message from node {sender}: {e}");
            }
        }
        self.flush_deferred(ctx);
    }

    fn config_change(&mut self, ctx: &mut Ctx<'_>, change: &ConfigChange) {
        if change.kind != ConfigKind::Regular {
            // Messages of the old ring still to come (delivered in the
            // transitional configuration) may be from nodes that left:
            // their members stay until the regular configuration.
            self.flush_deferred(ctx);
            return;
        }
        let changes = self.groups.remove_nodes(|n| change.members.contains(&n));
        self.notify_all(ctx, &changes);
        let local = ctx.local_node();
        if change.joined.iter().any(|&n| n != local) {
            self.defer(ctx, Deferred::Announce);
        } else {
            self.flush_deferred(ctx);
        }
    }

    fn conn_closed(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else { return };
        if !c.groups.is_empty() {
            self.defer(ctx, Deferred::ProcDown(conn.0));
        }
    }

    fn sync_process(&mut self, ctx: &mut Ctx<'_>) -> SyncStep {
        self.flush_deferred(ctx);
        if self.deferred.is_empty() { SyncStep::Done } else { SyncStep::MoreToSend }
    }
}
