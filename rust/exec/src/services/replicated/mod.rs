//! The replicated-state engine: the part every service whose state lives
//! on every node (CKPT, EVT; AMF, LCK and MSG to come) shares, so that a
//! service is mostly its own state machine ([`Replicated`]) and the
//! engine ([`Engine`]) is the [`Service`] the executive runs.
//!
//! Requests. A library request is decoded by the service; during sync it
//! is answered `TRY_AGAIN` (unless the service answers it from local state
//! then, see [`Replicated::answered_during_sync`]), and one too big to be
//! ordered `TOO_BIG`. Then [`Replicated::request`] answers it from local
//! state or orders it with [`Cx::order`]: the engine submits a
//! [`wire::Msg::Request`] carrying the connection, this node's sequence
//! number (the key of the pending reply), an id for what the request
//! creates (unique per node: they start at the wall clock in microseconds
//! when first used, so a restarted node never reuses one) and this node's
//! wall clock. A full send queue is a `TRY_AGAIN` answer.
//!
//! Order. Every node applies an ordered request ([`Replicated::apply`]) at
//! the same point of the order, so every replica changes alike. The node
//! it came from answers its client from the pending table: at once
//! ([`Reply::Now`]), or later ([`Reply::Later`]: a lock grant or a queue
//! delivery is the answer to a request ordered long before; a later apply
//! gives it with [`Cx::answer`]). An async request is accepted (`OK`) once
//! ordered and answered by callback ([`Replicated::callback`]).
//!
//! Release. When a local connection that had requests ordered closes, the
//! engine orders [`wire::Msg::Closed`] after them (retried while the send
//! queue is full), and every node releases what that connection held at
//! that point ([`Replicated::closed`]): an open still in flight when the
//! client died is ordered before its close, so nothing is left behind.
//! When nodes leave, every node releases their state at the configuration
//! change ([`Replicated::left`]), also at the same point of the order.
//!
//! Deadlines. A request ordered with a time limit ([`Cx::order_within`],
//! a lock request with a timeout) that is still unanswered when the limit
//! passes on its node's monotonic clock is withdrawn: the engine's timer
//! orders a [`wire::Msg::Withdraw`] naming it, and every node runs
//! [`Replicated::withdraw`] at that point of the order, where the service
//! drops the request if it still waits and answers it (`TIMEOUT`). So a
//! request is either answered before its withdrawal is ordered, or
//! withdrawn everywhere and never answered later. The limit is local (a
//! client's timeout), so only the requesting node watches it; withdrawals
//! wait while a sync runs, like every ordered message.
//!
//! Cluster time is the largest timestamp carried by the messages applied
//! so far, so the same on every replica at the same point of the order
//! (the service keeps it with its state: [`Replicated::cluster_time`]).
//! Time-driven changes (retention, expiry) happen in
//! [`Replicated::advance`]. When the service's next deadline
//! ([`Replicated::next_deadline`]) has passed by this node's wall clock,
//! the engine's timer orders a [`wire::Msg::Tick`] carrying that clock,
//! which moves cluster time on everywhere (any node may; at most one tick
//! of this node in flight, retries paced by [`TICK_PACE`]).
//!
//! Sync, after every regular configuration:
//! 1. Every member orders a `SYNC_HELLO` naming the last ring it finished
//!    syncing. Once all are delivered (the same order everywhere, so every
//!    node computes the same thing), the members are split into groups of
//!    equal last rings; a node that never synced (just started) is a group
//!    of its own, so a node restarted faster than its failure was noticed
//!    is not taken for a member of its old group. All nodes of a group
//!    hold identical state.
//! 2. The lowest node of each group (its sender) orders its whole state as
//!    `SYNC_ITEM`s, walking it with a cursor ([`Replicated::sync_next`]),
//!    then a `SYNC_END` with its cluster time.
//! 3. Every node stages what the senders of the *other* groups sent
//!    ([`Replicated::sync_stage`]; its own group's state is the one it has)
//!    and at `sync_activate`, the same point of the order everywhere,
//!    merges ([`Replicated::sync_merge`], groups in ascending order of their
//!    sender, cluster time the largest any group had).
//!
//! Messages ordered meanwhile are held and applied, in order, after the
//! merge; requests that change state are answered `TRY_AGAIN` until then.
//!
//! A node's own events. What a node observes itself (AMF: a command it
//! ran has ended, a healthcheck was missed) is ordered from
//! [`Replicated::local`], run when [`Replicated::local_deadline`] is due,
//! with [`Cx::order`] on the [`INTERNAL`] connection and
//! [`Answer::Caller`]: applied like any request, answered to nobody.
//!
//! Quorum (`quorum { provider: corosync_votequorum }`, see
//! [`crate::quorum`]; without it every partition is authoritative, as
//! before, and merges are the union above). The engine learns the quorum
//! at every configuration change ([`Service::quorum`]) and keeps one flag,
//! *authoritative*: only then does it change replicated state. A request
//! for which [`Replicated::needs_quorum`] is true (the default: everything
//! but reads, local-only requests and releases) is answered `TRY_AGAIN`
//! while not authoritative, both when asked (nothing is ordered) and when
//! applied (a request ordered before a partition was noticed and
//! delivered after it: no node of the partition applies it, its asker
//! gets `TRY_AGAIN`). Reads answer from the state the node has. A service
//! gets this for free; it only says which requests are reads.
//! - A smaller configuration of an authoritative ring (the transitional
//!   one of a partition) stays authoritative while it is quorate.
//! - A new ring is decided at the end of its sync, from the hellos, the
//!   same way on every member: it is authoritative if it is quorate and
//!   either every expected vote is present, or the members holding the
//!   newest state hold a quorum of votes themselves.
//! - How new a state is: its *stamp*, the last authoritative ring its
//!   node synced and the number of changes applied since (a later
//!   authoritative ring has a larger sequence number: two quorums share a
//!   node). A node that restarted has no stamp until it is part of an
//!   authoritative ring: what it held is gone, it vouches for nothing.
//!
//! The merge rule with quorum: the hello carries the stamp; groups are
//! nodes with the same last ring and stamp; the group with the largest
//! stamp (the lowest sender among equals) wins and its state replaces
//! every other group's ([`Replicated::sync_forget`], then
//! [`Replicated::sync_merge`] with the winner's state alone), cluster time
//! included. Since only authoritative partitions apply changes, and the
//! newest authoritative state is present whenever a ring is authoritative,
//! no acknowledged change is lost at a heal; what a partition that was not
//! authoritative did (releases when clients closed or nodes left, expiry)
//! is replaced, and its clients' opens with it (they reopen). Not covered:
//! every node holding the newest state crashing (the state lives in
//! memory); `two_node`, where both halves of a split stay quorate (one
//! half's changes are lost at the heal, as in corosync without fencing);
//! and a ring breaking into pieces none of which is quorate while a change
//! is delivered in the old ring on some nodes (applied and acknowledged
//! there) and in a transitional configuration on others (refused there).

#[cfg(test)]
mod tests;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ais_ipc::{DecodeError, Writer, error};

use crate::ordering::{ConfigChange, Guarantee, NodeId, RingId};
use crate::quorum::Status;
use crate::service::{ConnId, Ctx, Encode, Now, RequestError, Service, SyncStep};
use wire::Msg;
pub use wire::Stamp;

/// Room kept for the ordered message's own header in a Totem message.
pub const ORDERED_OVERHEAD: usize = 128;
/// Shortest time between two runs of the engine's timer, should
/// submitting keep failing (a full send queue).
pub const TICK_PACE: Duration = Duration::from_millis(10);

/// The connection a service's own ordered messages ([`Replicated::local`])
/// name: no client has it.
pub const INTERNAL: ConnId = ConnId(u64::MAX);

/// Why a sync item was refused (counted as malformed and logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    Malformed(DecodeError),
    Refused(&'static str),
}

impl From<DecodeError> for Rejected {
    fn from(e: DecodeError) -> Rejected {
        Rejected::Malformed(e)
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejected::Malformed(e) => write!(f, "{e}"),
            Rejected::Refused(why) => f.write_str(why),
        }
    }
}

/// A request by where it was ordered: its node and that node's sequence
/// number. A service keeps it to answer the request later ([`Cx::answer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReqRef {
    pub node: NodeId,
    pub seq: u64,
}

/// An ordered request as [`Replicated::apply`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ordered {
    /// The node that ordered it (the message's sender).
    pub node: NodeId,
    /// The requesting connection, on that node.
    pub conn: ConnId,
    pub seq: u64,
    /// That node's id for what the request creates (unique per node).
    pub new_id: u64,
    /// That node's wall clock when it ordered the request.
    pub ts: i64,
    pub msg_id: u32,
    /// This node ordered it.
    pub mine: bool,
    /// This node ordered it and its client still waits for the answer (the
    /// connection has not closed meanwhile).
    pub waiting: bool,
}

impl Ordered {
    pub fn reference(&self) -> ReqRef {
        ReqRef { node: self.node, seq: self.seq }
    }
}

/// What [`Replicated::apply`] tells the requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The answer: error code, then the reply payload.
    Now { error: u32, payload: Vec<u8> },
    /// No answer yet: a later apply gives it with [`Cx::answer`].
    Later,
    /// Nobody is to be answered (answered when ordered, or a read that
    /// only the asking node computes).
    None,
}

impl Reply {
    pub fn ok(payload: Vec<u8>) -> Reply {
        Reply::Now { error: error::OK, payload }
    }
    pub fn err(error: u32) -> Reply {
        Reply::Now { error, payload: Vec::new() }
    }
}

impl From<Result<(), u32>> for Reply {
    fn from(r: Result<(), u32>) -> Reply {
        Reply::err(r.err().unwrap_or(error::OK))
    }
}

/// How an ordered request is answered (see [`Cx::order`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A reply once the request is applied.
    Reply,
    /// `OK` at once; the outcome by callback with this token.
    Callback(u64),
    /// The caller answers itself (at once).
    Caller,
}

/// A service whose state is replicated on every node; see the module doc
/// for what the [`Engine`] does around these calls. Every call that
/// changes replicated state (`apply`, `closed`, `left`, `advance`,
/// `sync_merge`) runs at the same point of the order on every node and
/// must depend only on its arguments and the replicated state.
pub trait Replicated {
    /// The service id (`ais_ipc::service::*`).
    const ID: u32;
    /// Short name for logs.
    const NAME: &'static str;
    /// A decoded library request.
    type Request;
    /// Where a sync sender is in its state.
    type Cursor;
    /// What one sync sender (of another group) has sent so far.
    type Staged: Default;

    /// Decodes a library request (also when it comes back ordered).
    fn decode(msg_id: u32, body: &[u8]) -> Result<Self::Request, RequestError>;

    /// Whether `req` is answered during sync (from local state) rather
    /// than `TRY_AGAIN`.
    fn answered_during_sync(_req: &Self::Request) -> bool {
        false
    }

    /// Live statistics of the replicated state (see [`Service::stats`]).
    fn stats(&self, _out: &mut Vec<ais_ipc::cfg::Stat>) {}
    /// Whether `req` changes replicated state that must survive a
    /// partition: refused (`TRY_AGAIN`) while the partition is not
    /// quorate. Reads, local-only requests and releases (close, finalize:
    /// the quorate side releases what a gone node held anyway) say false.
    fn needs_quorum(_req: &Self::Request) -> bool {
        true
    }

    /// Sync after a partition: this node's group was not quorate while a
    /// quorate group took changes; drop the replicated state (keep what
    /// is only this node's, such as counters) so that the merge takes the
    /// quorate group's. [`Replicated::sync_merge`] follows.
    fn sync_forget(&mut self, cx: &mut Cx<'_, '_>);

    /// A library request of local connection `conn`: answer it from local
    /// state (`cx.ctx.reply`) or order it ([`Cx::order`]). `body` is the
    /// request as received.
    fn request(&mut self, cx: &mut Cx<'_, '_>, conn: ConnId, msg_id: u32, req: Self::Request, body: &[u8]);

    /// Applies an ordered request (cluster time is already at least
    /// `at.ts`); returns the requester's answer.
    fn apply(&mut self, cx: &mut Cx<'_, '_>, at: &Ordered, req: Self::Request) -> Reply;

    /// Request `req` reached its time limit on its node (see
    /// [`Cx::order_within`]): if it still waits, drop it and answer it
    /// (`cx.answer(req, error::TIMEOUT, ..)`); if it was answered already,
    /// nothing.
    fn withdraw(&mut self, _cx: &mut Cx<'_, '_>, _req: ReqRef) {}

    /// Connection `conn` of `node` is gone: release what it held.
    fn closed(&mut self, cx: &mut Cx<'_, '_>, node: NodeId, conn: ConnId);

    /// The membership changed to `members`: release what the others held.
    fn left(&mut self, cx: &mut Cx<'_, '_>, members: &[NodeId]);

    /// Local connection `conn` closed: drop what is kept for it on this
    /// node only (its release is ordered, see [`Replicated::closed`]).
    fn conn_gone(&mut self, _conn: ConnId) {}

    /// When this node's own work is due (see [`Replicated::local`]), by
    /// the monotonic clock.
    fn local_deadline(&self, _now: Now) -> Option<Instant> {
        None
    }

    /// This node's own work, not asked for by a client (AMF: the outcome
    /// of a command it ran, a missed healthcheck): it may order messages
    /// with [`Cx::order`] (on [`INTERNAL`]). Also runs during sync; what it
    /// orders then is applied after the merge.
    fn local(&mut self, _cx: &mut Cx<'_, '_>) {}

    /// The cluster time of the replicated state.
    fn cluster_time(&self) -> i64;
    /// Moves cluster time to `time` (later than now) and drops what expired.
    fn advance(&mut self, time: i64);
    /// The earliest cluster time at which `advance` will change something.
    fn next_deadline(&self) -> Option<i64>;

    /// The callback answering async request `msg_id` (token, outcome):
    /// its message id and body.
    fn callback(msg_id: u32, token: u64, error: u32, payload: &[u8]) -> (u32, Vec<u8>);

    /// Sync: a cursor at the start of this node's state (which does not
    /// change until the round ends, unless the round is aborted).
    fn sync_start(&self) -> Self::Cursor;
    /// Writes the next sync item into `w`; false when there is none left.
    fn sync_next(&self, cursor: &mut Self::Cursor, w: &mut Writer) -> bool;
    /// Adds a delivered sync item of one sender to what it sent so far.
    /// Bounded like normal operation: the sender may be anyone.
    fn sync_stage(staged: &mut Self::Staged, item: &[u8]) -> Result<(), Rejected>;
    /// Replaces the state with the merge of this node's own (its group's,
    /// whose sender is `own`) and the other groups' (by sender); drops
    /// what nodes not in `members` held; cluster time becomes `time`.
    fn sync_merge(
        &mut self,
        cx: &mut Cx<'_, '_>,
        own: NodeId,
        staged: BTreeMap<NodeId, Self::Staged>,
        members: &[NodeId],
        time: i64,
    );
}

/// A request of this node in flight.
#[derive(Debug, Clone, Copy)]
struct Pending {
    conn: ConnId,
    msg_id: u32,
    token: Option<u64>,
    /// When to withdraw it if still unanswered ([`Cx::order_within`]).
    deadline: Option<Instant>,
    /// Its withdrawal is ordered.
    withdrawn: bool,
}

/// [`Replicated::callback`] of the service.
type CallbackFn = fn(u32, u64, u32, &[u8]) -> (u32, Vec<u8>);

/// The engine's bookkeeping that services reach through [`Cx`].
struct Core {
    name: &'static str,
    callback: CallbackFn,
    pending: BTreeMap<u64, Pending>,
    next_seq: u64,
    next_id: Option<u64>,
    /// Local connections that had a request ordered (their close is
    /// ordered too).
    ordered_conns: BTreeSet<ConnId>,
    malformed: u64,
}

/// What a service may do in a call: the executive's [`Ctx`] and the
/// engine's requests and answers.
pub struct Cx<'c, 'a> {
    pub ctx: &'c mut Ctx<'a>,
    core: &'c mut Core,
}

impl Cx<'_, '_> {
    pub fn local_node(&self) -> NodeId {
        self.ctx.local_node()
    }

    pub fn now(&self) -> Now {
        self.ctx.now
    }

    /// Orders request `msg_id` of `conn` (`body` as the service decodes
    /// it); answers `TRY_AGAIN` if the send queue is full. Returns whether
    /// it was ordered.
    pub fn order(&mut self, conn: ConnId, msg_id: u32, body: &[u8], guarantee: Guarantee, answer: Answer) -> bool {
        self.order_within(conn, msg_id, body, guarantee, answer, None)
    }

    /// As [`Cx::order`], withdrawn ([`Replicated::withdraw`]) if still
    /// unanswered `limit` after now (`None`: no limit). Only for requests
    /// answered by [`Answer::Reply`] or [`Answer::Callback`].
    pub fn order_within(
        &mut self,
        conn: ConnId,
        msg_id: u32,
        body: &[u8],
        guarantee: Guarantee,
        answer: Answer,
        limit: Option<Duration>,
    ) -> bool {
        let deadline = limit.and_then(|l| self.ctx.now.mono.checked_add(l));
        let wall = self.ctx.now.wall;
        let new_id = *self.core.next_id.get_or_insert((wall / 1000).max(1) as u64);
        self.core.next_id = Some(new_id + 1);
        let seq = self.core.next_seq;
        let req = wire::Request { conn: conn.0, seq, new_id, ts: wall, msg_id, body };
        let msg = Msg::Request(req);
        let submitted = match answer {
            Answer::Caller => self.ctx.submit_answered(&msg, guarantee),
            Answer::Reply | Answer::Callback(_) => self.ctx.submit(&msg, guarantee),
        };
        if submitted.is_err() {
            self.ctx.reply(conn, msg_id, error::TRY_AGAIN, &[]);
            return false;
        }
        self.core.next_seq += 1;
        self.core.ordered_conns.insert(conn);
        match answer {
            Answer::Reply => {
                self.core.pending.insert(seq, Pending { conn, msg_id, token: None, deadline, withdrawn: false });
            }
            Answer::Callback(token) => {
                let p = Pending { conn, msg_id, token: Some(token), deadline, withdrawn: false };
                self.core.pending.insert(seq, p);
                self.ctx.reply(conn, msg_id, error::OK, &[]);
            }
            Answer::Caller => {}
        }
        true
    }

    /// Requests of `conn` waiting for their answer.
    pub fn pending_of(&self, conn: ConnId) -> usize {
        self.core.pending.values().filter(|p| p.conn == conn).count()
    }

    /// Answers request `to` if this node ordered it and its client still
    /// waits (elsewhere: nothing).
    pub fn answer(&mut self, to: ReqRef, error: u32, payload: &[u8]) {
        if to.node != self.ctx.local_node() {
            return;
        }
        let Some(p) = self.core.pending.remove(&to.seq) else { return };
        match p.token {
            Some(token) => {
                let (id, body) = (self.core.callback)(p.msg_id, token, error, payload);
                self.ctx.dispatch(p.conn, id, body);
            }
            None => self.ctx.reply(p.conn, p.msg_id, error, payload),
        }
    }

    /// A callback to connection `conn` of `node`, sent by that node
    /// (elsewhere: nothing).
    pub fn tell(&mut self, node: NodeId, conn: ConnId, id: u32, body: Vec<u8>) {
        if node == self.ctx.local_node() {
            self.ctx.dispatch(conn, id, body);
        }
    }

    /// Counts (and logs, rate-limited) an ordered message from `from` that
    /// is dropped as malformed.
    pub fn malformed(&mut self, from: NodeId, why: &dyn std::fmt::Display) {
        self.core.malformed += 1;
        crate::log_limited!(Warning, Serv, "{}: dropped an ordered message from node {from}: {why}", self.core.name);
    }
}

/// This node's part in a sync round.
struct Round<C, T> {
    ring: RingId,
    members: Vec<NodeId>,
    hello_sent: bool,
    /// Each member's group, as its hello said.
    hellos: BTreeMap<NodeId, Group>,
    /// The sender of this node's group, once every hello is delivered.
    my_sender: Option<NodeId>,
    /// What this node still has to send, if it is a sender.
    sending: Option<Sending<C>>,
    /// What the senders of the other groups sent.
    staged: BTreeMap<NodeId, Staged<T>>,
}

struct Sending<C> {
    cursor: C,
    /// A message the send queue refused, to submit first next time.
    refused: Option<Vec<u8>>,
    items_done: bool,
    end_sent: bool,
}

struct Staged<T> {
    state: T,
    time: i64,
    ended: bool,
}

/// What a hello says about its sender's state: the last ring it synced,
/// and (with quorum configured) how new its state is. Nodes that say the
/// same hold identical state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Group {
    last: Option<RingId>,
    stamp: Option<Stamp>,
}

/// The newest group's sender: the largest stamp (the lowest sender among
/// equals); None when no hello carries a stamp (quorum not configured:
/// every group's state is merged).
fn newest_group(members: &[NodeId], hellos: &BTreeMap<NodeId, Group>) -> Option<NodeId> {
    let stamped = members.iter().filter_map(|m| Some((hellos.get(m)?.stamp?, *m)));
    // Largest stamp first, then lowest node.
    stamped.min_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1))).map(|(_, m)| m)
}

/// The sender of `me`'s group: the lowest member whose hello says what
/// `me`'s says; `me` itself if it never synced.
fn group_sender(members: &[NodeId], hellos: &BTreeMap<NodeId, Group>, me: NodeId) -> NodeId {
    match hellos.get(&me) {
        Some(g) if g.last.is_some() => members.iter().copied().filter(|m| hellos.get(m) == Some(g)).min().unwrap_or(me),
        _ => me,
    }
}

/// A replicated service `S` with the engine around it: the [`Service`]
/// the executive runs. Derefs to `S` (its state, for status and tests).
pub struct Engine<S: Replicated> {
    svc: S,
    core: Core,
    /// Connections whose close is still to be ordered (the queue was full).
    closing: Vec<ConnId>,
    /// The last ring this node finished syncing (None before the first).
    synced_ring: Option<RingId>,
    /// How new this node's state is (with quorum configured); None
    /// ring until this node was part of an authoritative ring.
    stamp: Stamp,
    /// The quorum since the last configuration change, and its rules.
    quorum: Status,
    rules: Option<crate::quorum::Rules>,
    /// This partition may change replicated state: quorate, and (from
    /// the sync of its ring on) holding the newest state (see
    /// `authoritative`).
    authoritative: bool,
    sync: Option<Round<S::Cursor, S::Staged>>,
    /// Ordered messages delivered during sync, applied after the merge.
    held: Vec<(NodeId, Vec<u8>)>,
    tick_in_flight: bool,
    /// When the timer last ran (to pace retries).
    last_timeout: Option<Instant>,
}

impl<S: Replicated> std::ops::Deref for Engine<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.svc
    }
}

/// Tests set up a service's local state inside its engine.
#[cfg(test)]
impl<S: Replicated> std::ops::DerefMut for Engine<S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.svc
    }
}

impl<S: Replicated + Default> Default for Engine<S> {
    fn default() -> Self {
        Engine::new(S::default())
    }
}

impl<S: Replicated> Engine<S> {
    pub fn new(svc: S) -> Engine<S> {
        Engine {
            svc,
            core: Core {
                name: S::NAME,
                callback: S::callback,
                pending: BTreeMap::new(),
                next_seq: 1,
                next_id: None,
                ordered_conns: BTreeSet::new(),
                malformed: 0,
            },
            closing: Vec::new(),
            synced_ring: None,
            stamp: Stamp::default(),
            quorum: Status::DISABLED,
            rules: None,
            authoritative: true,
            sync: None,
            held: Vec::new(),
            tick_in_flight: false,
            last_timeout: None,
        }
    }

    /// Ordered messages (and sync items) dropped as malformed.
    pub fn malformed(&self) -> u64 {
        self.core.malformed
    }

    /// How new this node's state is (with quorum).
    pub fn stamp(&self) -> Stamp {
        self.stamp
    }

    /// This partition may change replicated state.
    pub fn is_authoritative(&self) -> bool {
        self.authoritative
    }

    pub fn is_syncing(&self) -> bool {
        self.sync.is_some()
    }

    /// When the engine's own timer is due (closes to order, a tick).
    fn engine_deadline(&self, now: Now) -> Option<Instant> {
        if self.sync.is_some() {
            return None;
        }
        let due = if !self.closing.is_empty() {
            Some(now.mono)
        } else if self.tick_in_flight {
            None
        } else {
            self.svc.next_deadline().and_then(|d| now.mono_at(d))
        };
        let due = match (due, self.next_withdrawal()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(self.last_timeout.map_or(due, |t| due.max(t + TICK_PACE)))
    }

    fn cx<'c, 'a>(svc: &'c mut S, core: &'c mut Core, ctx: &'c mut Ctx<'a>) -> (&'c mut S, Cx<'c, 'a>) {
        (svc, Cx { ctx, core })
    }

    /// The earliest time limit of a request of this node whose withdrawal
    /// is not ordered yet.
    fn next_withdrawal(&self) -> Option<Instant> {
        self.core.pending.values().filter(|p| !p.withdrawn).filter_map(|p| p.deadline).min()
    }

    /// Whether the ring just synced may change replicated state: with
    /// quorum, it is quorate and either every expected vote is here, or
    /// the members holding the newest state (`newest`, a quorate ring's)
    /// hold a quorum of votes themselves. Two quorums share a node, so
    /// then the newest state here is the newest anywhere; a node that
    /// restarted (no stamp) lost what it held and does not count.
    fn decide_authoritative(
        &self,
        members: &[NodeId],
        hellos: &BTreeMap<NodeId, Group>,
        newest: Option<Stamp>,
    ) -> bool {
        let q = &self.quorum;
        if !q.enabled {
            return true;
        }
        if !q.quorate {
            return false;
        }
        if q.all_present() {
            return true;
        }
        let ring = newest.and_then(|s| s.ring);
        let holders =
            members.iter().copied().filter(|m| hellos.get(m).and_then(|g| g.stamp).and_then(|s| s.ring) == ring);
        let votes = self.rules.as_ref().map_or(0, |r| r.votes(holders));
        let enough = ring.is_some() && votes >= q.quorum;
        if !enough {
            crate::log_notice!(
                Serv,
                "{}: quorate, but the members holding the newest state have {votes} of the {} votes needed: \
                 changes wait for more of them (or for every node)",
                S::NAME,
                q.quorum
            );
        }
        enough
    }

    /// Orders the closes that could not be submitted, the withdrawals of
    /// requests whose time ran out, and a tick when something is due by
    /// this node's clock (not during sync).
    fn housekeeping(&mut self, ctx: &mut Ctx<'_>) {
        if self.sync.is_some() {
            return;
        }
        let wall = ctx.now.wall;
        while let Some(conn) = self.closing.pop() {
            if ctx.submit(&Msg::Closed { conn: conn.0, ts: wall }, Guarantee::Safe).is_err() {
                self.closing.push(conn);
                break;
            }
        }
        if self.next_withdrawal().is_some_and(|due| due <= ctx.now.mono) {
            for (seq, p) in self.core.pending.iter_mut() {
                if p.withdrawn || p.deadline.is_none_or(|due| due > ctx.now.mono) {
                    continue;
                }
                if ctx.submit(&Msg::Withdraw { seq: *seq, ts: wall }, Guarantee::Agreed).is_err() {
                    break;
                }
                p.withdrawn = true;
            }
        }
        if !self.tick_in_flight
            && self.svc.next_deadline().is_some_and(|due| due <= wall)
            && ctx.submit(&Msg::Tick { ts: wall }, Guarantee::Agreed).is_ok()
        {
            self.tick_in_flight = true;
        }
    }

    fn advance(&mut self, ts: i64) {
        if ts > self.svc.cluster_time() {
            self.svc.advance(ts);
        }
    }

    /// Applies a request, tick or close at its point of the order.
    fn apply(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, m: Msg<'_>) {
        let quorate = self.authoritative;
        let applied = &mut self.stamp.applied;
        match m {
            Msg::Request(q) => {
                let (svc, mut cx) = Self::cx(&mut self.svc, &mut self.core, ctx);
                let req = match S::decode(q.msg_id, q.body) {
                    Ok(r) => r,
                    Err(e) => return cx.malformed(sender, &e),
                };
                if S::needs_quorum(&req) {
                    if !quorate {
                        // Ordered before the partition was noticed: nothing is
                        // applied (on any node of this partition) nor acknowledged.
                        return cx.answer(ReqRef { node: sender, seq: q.seq }, error::TRY_AGAIN, &[]);
                    }
                    *applied += 1;
                }
                if q.ts > svc.cluster_time() {
                    svc.advance(q.ts);
                }
                let mine = sender == cx.local_node();
                let at = Ordered {
                    node: sender,
                    conn: ConnId(q.conn),
                    seq: q.seq,
                    new_id: q.new_id,
                    ts: q.ts,
                    msg_id: q.msg_id,
                    mine,
                    waiting: mine && cx.core.pending.contains_key(&q.seq),
                };
                match svc.apply(&mut cx, &at, req) {
                    Reply::Now { error, payload } => cx.answer(at.reference(), error, &payload),
                    Reply::Later => {}
                    Reply::None if mine => {
                        cx.core.pending.remove(&q.seq);
                    }
                    Reply::None => {}
                }
            }
            Msg::Tick { ts } => self.advance(ts),
            Msg::Closed { conn, ts } => {
                self.advance(ts);
                let (svc, mut cx) = Self::cx(&mut self.svc, &mut self.core, ctx);
                svc.closed(&mut cx, sender, ConnId(conn));
            }
            Msg::Withdraw { seq, ts } => {
                self.advance(ts);
                let (svc, mut cx) = Self::cx(&mut self.svc, &mut self.core, ctx);
                svc.withdraw(&mut cx, ReqRef { node: sender, seq });
            }
            Msg::Hello { .. } | Msg::Item { .. } | Msg::End { .. } => {}
        }
    }

    fn deliver_sync(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, m: Msg<'_>) {
        let me = ctx.local_node();
        let Some(round) = self.sync.as_mut() else { return };
        // Of an aborted round, or from a node not in this ring.
        if m.sync_ring() != Some(round.ring) || !round.members.contains(&sender) {
            return;
        }
        match m {
            Msg::Hello { last, stamp, .. } => {
                round.hellos.insert(sender, Group { last, stamp });
                if round.my_sender.is_none() && round.members.iter().all(|m| round.hellos.contains_key(m)) {
                    round.my_sender = Some(group_sender(&round.members, &round.hellos, me));
                }
            }
            // This node's own group: its state is already here.
            _ if Some(sender) == round.my_sender => {}
            Msg::Item { item, .. } => {
                let staged = round.staged.entry(sender).or_insert_with(|| Staged {
                    state: S::Staged::default(),
                    time: 0,
                    ended: false,
                });
                if let Err(e) = S::sync_stage(&mut staged.state, item) {
                    Cx { ctx, core: &mut self.core }.malformed(sender, &format_args!("sync item refused: {e}"));
                }
            }
            Msg::End { time, .. } => {
                let staged = round.staged.entry(sender).or_insert_with(|| Staged {
                    state: S::Staged::default(),
                    time: 0,
                    ended: false,
                });
                staged.time = staged.time.max(time);
                staged.ended = true;
            }
            Msg::Request(_) | Msg::Tick { .. } | Msg::Closed { .. } | Msg::Withdraw { .. } => {}
        }
    }
}

impl<S: Replicated> Service for Engine<S> {
    fn id(&self) -> u32 {
        S::ID
    }

    fn name(&self) -> &'static str {
        S::NAME
    }

    fn stats(&self, out: &mut Vec<ais_ipc::cfg::Stat>) {
        self.svc.stats(out)
    }

    fn lib_request(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg_id: u32, body: &[u8]) -> Result<(), RequestError> {
        let req = S::decode(msg_id, body)?;
        self.housekeeping(ctx);
        if !S::answered_during_sync(&req) {
            if self.sync.is_some() {
                ctx.reply(conn, msg_id, error::TRY_AGAIN, &[]);
                return Ok(());
            }
            if body.len() + ORDERED_OVERHEAD > totem::MAX_MESSAGE_SIZE {
                ctx.reply(conn, msg_id, error::TOO_BIG, &[]);
                return Ok(());
            }
        }
        if !(self.authoritative && self.quorum.accepting()) && S::needs_quorum(&req) {
            crate::log_limited!(Notice, Serv, "{}: a change refused (TRY_AGAIN): {}", S::NAME, self.quorum.describe());
            ctx.reply(conn, msg_id, error::TRY_AGAIN, &[]);
            return Ok(());
        }
        let (svc, mut cx) = Self::cx(&mut self.svc, &mut self.core, ctx);
        svc.request(&mut cx, conn, msg_id, req, body);
        Ok(())
    }

    fn deliver(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, payload: &[u8]) {
        let m = match Msg::decode(payload) {
            Ok(m) => m,
            Err(e) => return Cx { ctx, core: &mut self.core }.malformed(sender, &e),
        };
        if let Msg::Tick { .. } = m
            && sender == ctx.local_node()
        {
            self.tick_in_flight = false;
        }
        if m.sync_ring().is_some() {
            self.deliver_sync(ctx, sender, m);
        } else if self.sync.is_some() || !self.held.is_empty() {
            self.held.push((sender, payload.to_vec()));
        } else {
            self.apply(ctx, sender, m);
        }
        self.housekeeping(ctx);
    }

    fn quorum(&mut self, quorum: &crate::quorum::Tracker) {
        self.quorum = quorum.status();
        self.rules = quorum.rules().cloned();
        // A smaller configuration of an authoritative ring stays so while
        // quorate; a new ring is decided at the end of its sync.
        self.authoritative = !self.quorum.enabled || (self.authoritative && self.quorum.quorate);
    }

    fn config_change(&mut self, ctx: &mut Ctx<'_>, change: &ConfigChange) {
        let (svc, mut cx) = Self::cx(&mut self.svc, &mut self.core, ctx);
        svc.left(&mut cx, &change.members);
    }

    fn conn_closed(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        self.core.pending.retain(|_, p| p.conn != conn);
        self.svc.conn_gone(conn);
        if self.core.ordered_conns.remove(&conn) {
            self.closing.push(conn);
        }
        self.housekeeping(ctx);
    }

    fn poll_timeout(&self, now: Now) -> Option<Instant> {
        let local = self.svc.local_deadline(now);
        let engine = self.engine_deadline(now);
        match (local, engine) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.last_timeout = Some(ctx.now.mono);
        if self.svc.local_deadline(ctx.now).is_some_and(|t| t <= ctx.now.mono) {
            let (svc, mut cx) = Self::cx(&mut self.svc, &mut self.core, ctx);
            svc.local(&mut cx);
        }
        self.housekeeping(ctx);
    }

    fn sync_init(&mut self, _ctx: &mut Ctx<'_>, change: &ConfigChange) {
        self.sync = Some(Round {
            ring: change.ring_id,
            members: change.members.clone(),
            hello_sent: false,
            hellos: BTreeMap::new(),
            my_sender: None,
            sending: None,
            staged: BTreeMap::new(),
        });
    }

    /// Phase 1: the hello. Phase 2, once every hello is delivered: a
    /// group's sender sends its state, then `SYNC_END`.
    fn sync_process(&mut self, ctx: &mut Ctx<'_>) -> SyncStep {
        let me = ctx.local_node();
        let Some(round) = self.sync.as_mut() else { return SyncStep::Done };
        if !round.hello_sent {
            let stamp = self.quorum.enabled.then_some(self.stamp);
            let hello = Msg::Hello { ring: round.ring, last: self.synced_ring, stamp };
            if ctx.submit(&hello, Guarantee::Agreed).is_err() {
                return SyncStep::MoreToSend;
            }
            round.hello_sent = true;
        }
        match round.my_sender {
            None => return SyncStep::MoreToSend, // called again on a later turn
            Some(sender) if sender != me => return SyncStep::Done,
            Some(_) => {}
        }
        let svc = &self.svc;
        let send = round.sending.get_or_insert_with(|| Sending {
            cursor: svc.sync_start(),
            refused: None,
            items_done: false,
            end_sent: false,
        });
        loop {
            let next = match send.refused.take() {
                Some(m) => m,
                None if !send.items_done => {
                    let mut w = wire::item_writer(round.ring);
                    if !svc.sync_next(&mut send.cursor, &mut w) {
                        send.items_done = true;
                        continue;
                    }
                    w.into_vec()
                }
                None if !send.end_sent => {
                    send.end_sent = true;
                    Msg::End { ring: round.ring, time: svc.cluster_time() }.encode()
                }
                None => return SyncStep::Done,
            };
            if ctx.submit(&next, Guarantee::Agreed).is_err() {
                send.refused = Some(next);
                return SyncStep::MoreToSend;
            }
        }
    }

    fn sync_activate(&mut self, ctx: &mut Ctx<'_>) {
        let Some(round) = self.sync.take() else { return };
        if round.staged.values().any(|s| !s.ended) {
            crate::log_warn!(Serv, "{}: sync activated before every sender finished", S::NAME);
        }
        let own = round.my_sender.unwrap_or(ctx.local_node());
        let winner = newest_group(&round.members, &round.hellos);
        let newest = winner.and_then(|w| round.hellos.get(&w)?.stamp);
        self.authoritative = self.decide_authoritative(&round.members, &round.hellos, newest);
        let mut staged: BTreeMap<NodeId, Staged<S::Staged>> = round.staged;
        if let Some(w) = winner {
            // Only quorate partitions took changes, the newest group's
            // state holds every one acknowledged: it replaces the others'.
            staged.retain(|sender, _| *sender == w);
            // A node that restarted vouches for no state until it is part
            // of an authoritative ring.
            if let Some(stamp) = newest
                && (self.stamp.ring.is_some() || self.authoritative)
            {
                self.stamp = stamp;
            }
        }
        // A replaced state's cluster time goes with it (every node of the
        // ring must end with the same).
        let own_time = if winner.is_some_and(|w| w != own) { 0 } else { self.svc.cluster_time() };
        let time = staged.values().map(|s| s.time).fold(own_time, i64::max);
        let staged = staged.into_iter().map(|(sender, s)| (sender, s.state)).collect();
        let (svc, mut cx) = Self::cx(&mut self.svc, &mut self.core, ctx);
        if winner.is_some_and(|w| w != own) {
            crate::log_notice!(
                Serv,
                "{}: node {}'s state is newer (quorate later): it replaces this node's",
                S::NAME,
                winner.unwrap_or_default()
            );
            svc.sync_forget(&mut cx);
        }
        svc.sync_merge(&mut cx, own, staged, &round.members, time);
        self.synced_ring = Some(round.ring);
        if self.quorum.enabled && self.authoritative {
            self.stamp = Stamp { ring: Some(round.ring), applied: 0 };
        }
        for (sender, payload) in std::mem::take(&mut self.held) {
            if let Ok(m) = Msg::decode(&payload) {
                self.apply(ctx, sender, m);
            }
        }
        self.housekeeping(ctx);
    }

    fn sync_abort(&mut self, _ctx: &mut Ctx<'_>) {
        // Held messages stay held: they are applied after the next merge.
        self.sync = None;
    }
}
