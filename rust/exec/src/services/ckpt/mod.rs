//! The checkpoint service (AIS CKPT B.01.01) as `libSaCkpt` uses it.
//!
//! Every checkpoint is replicated on every node ([`store`]). A request
//! that changes or reads replicated state is not served from here: it is
//! submitted as an ordered message ([`msg::OrderedRequest`], `Safe`
//! delivery: delivered only once every member has it, so it survives the
//! crash of this node) carrying this node's id, the connection, a local
//! sequence number and the sender's clock. Every node applies it on
//! delivery; the node it came from answers its client then, from the
//! table of pending requests. So when `saCkptCheckpointWrite` returns,
//! the write is applied here and received by every member. Reads are
//! ordered too (a barrier, `Agreed`): the answer reflects every write
//! acknowledged anywhere before the read was issued. Status and section iteration are
//! answered at once from the local replica.
//!
//! Time-driven deletion (retention, section expiration) happens on
//! delivery against the cluster time carried by the messages (see
//! [`store`]), so at the same point of the order on every node. When
//! something falls due by the local clock, the service's timer
//! ([`Service::poll_timeout`]) submits a `TICK` carrying that clock, which
//! moves cluster time forward everywhere (every node may do so; ticks are
//! idempotent). A read of an expired section is `NOT_EXIST` even before
//! the tick is delivered.
//!
//! Opens belong to a connection: when it closes, this node submits a close
//! for each; when a node leaves the ring, every node drops its opens at
//! the configuration change.
//!
//! Sync: see [`sync`]. Between `sync_init` and `sync_activate` requests
//! are answered `SA_AIS_ERR_TRY_AGAIN`.

pub mod msg;
pub mod store;
pub mod sync;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use ais_ipc::ckpt::{self as wire, Request};
use ais_ipc::{error, service};

use crate::ordering::{ConfigChange, Guarantee, NodeId, RingId};
use crate::service::{ConnId, Ctx, RequestError, Service, SyncStep};
use msg::{Msg, OrderedRequest};
use store::{Origin, Outcome, Store};
use sync::Staged;

/// Room kept for the ordered message's own header in a Totem message.
const ORDERED_OVERHEAD: usize = 128;

/// A request of ours in flight, answered when its message is delivered.
#[derive(Debug, Clone, Copy)]
struct Pending {
    conn: ConnId,
    /// The request's message id (the reply carries it).
    msg_id: u32,
    /// For async open/synchronize: answer by callback with this token.
    callback_token: Option<u64>,
}

/// This node's part in a sync round.
#[derive(Debug)]
struct SyncRound {
    ring: RingId,
    members: Vec<NodeId>,
    hello_sent: bool,
    /// Each member's last synced ring, as its hello said.
    hellos: BTreeMap<NodeId, Option<RingId>>,
    /// The sender of this node's group, once every hello is delivered.
    my_sender: Option<NodeId>,
    /// What this node still has to send, if it is a sender.
    cursor: Option<msg::SendCursor>,
    /// A message the send queue refused, to submit first next time.
    refused: Option<Vec<u8>>,
    /// What the senders of the *other* groups sent (this node's own group
    /// has the same store as this node: it is not staged again).
    staged: BTreeMap<NodeId, Staged>,
}

pub struct CkptService {
    store: Store,
    pending: BTreeMap<u64, Pending>,
    next_seq: u64,
    /// Ids for new opens and checkpoints; start at the boot time in
    /// microseconds so a restarted node never reuses one.
    next_new_id: u64,
    /// Opens held by each local connection.
    local_opens: BTreeMap<ConnId, BTreeSet<u64>>,
    /// Closes (conn, open) still to submit (the queue was full).
    closing: Vec<(u64, u64)>,
    /// The last ring this node finished syncing (None before the first).
    synced_ring: Option<RingId>,
    sync: Option<SyncRound>,
    /// Ordinary messages delivered during sync, applied after the merge.
    held: Vec<(NodeId, OrderedRequest)>,
    tick_in_flight: bool,
    /// When the timer last ran (to pace retries when the queue is full).
    last_timeout: Option<std::time::Instant>,
    /// Ordered messages that did not decode or fit (counted, dropped).
    pub malformed: u64,
}

impl Default for CkptService {
    fn default() -> Self {
        Self::new()
    }
}

/// The sender of `me`'s group: the lowest member whose last synced ring is
/// `me`'s; `me` itself if it never synced.
fn group_sender(members: &[NodeId], hellos: &BTreeMap<NodeId, Option<RingId>>, me: NodeId) -> NodeId {
    match hellos.get(&me).copied().flatten() {
        None => me,
        Some(last) => members.iter().copied().filter(|m| hellos.get(m) == Some(&Some(last))).min().unwrap_or(me),
    }
}

/// Wall-clock time in nanoseconds since the epoch.
pub fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl CkptService {
    pub fn new() -> CkptService {
        CkptService {
            store: Store::default(),
            pending: BTreeMap::new(),
            next_seq: 1,
            next_new_id: (wall_clock() / 1000).max(1) as u64,
            local_opens: BTreeMap::new(),
            closing: Vec::new(),
            synced_ring: None,
            sync: None,
            held: Vec::new(),
            tick_in_flight: false,
            last_timeout: None,
            malformed: 0,
        }
    }

    /// The replicated store (tests, status).
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn is_syncing(&self) -> bool {
        self.sync.is_some()
    }

    /// Submits `req` for ordering; answers `TRY_AGAIN` if the queue is
    /// full. An async request (`token`) is accepted (`OK`) only once it is
    /// submitted; its result comes by callback.
    fn order(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg_id: u32, body: &[u8], token: Option<u64>) {
        let new_id = self.next_new_id;
        self.next_new_id += 1;
        let seq = self.next_seq;
        let m = Msg::Request(OrderedRequest {
            origin: ctx.local_node(),
            conn: conn.0,
            seq,
            new_id,
            ts: wall_clock(),
            req_id: msg_id,
            body: body.to_vec(),
        });
        // A change must survive this node's crash once acknowledged: Safe.
        // A read or synchronize only needs its place in the order (after
        // every write acknowledged before it was sent): Agreed.
        let guarantee =
            if matches!(msg_id, wire::READ | wire::SYNCHRONIZE) { Guarantee::Agreed } else { Guarantee::Safe };
        match ctx.submit(&m.encode(), guarantee) {
            Ok(()) => {
                self.next_seq += 1;
                self.pending.insert(seq, Pending { conn, msg_id, callback_token: token });
                if token.is_some() {
                    ctx.reply(conn, msg_id, error::OK, &[]);
                }
            }
            Err(_) => ctx.reply(conn, msg_id, error::TRY_AGAIN, &[]),
        }
    }

    /// Retries queued closes and lets cluster time pass when something is
    /// due (see the module doc).
    fn housekeeping(&mut self, ctx: &mut Ctx<'_>) {
        if self.sync.is_some() {
            return;
        }
        while let Some((conn, open)) = self.closing.pop() {
            let m = Msg::Request(OrderedRequest {
                origin: ctx.local_node(),
                conn,
                seq: 0,
                new_id: 0,
                ts: wall_clock(),
                req_id: wire::CLOSE,
                body: Request::Close { open }.encode(),
            });
            if ctx.submit(&m.encode(), Guarantee::Safe).is_err() {
                self.closing.push((conn, open));
                break;
            }
        }
        if !self.tick_in_flight
            && let Some(due) = self.store.next_deadline()
        {
            let now = wall_clock();
            if due <= now && ctx.submit(&Msg::Tick { ts: now }.encode(), Guarantee::Agreed).is_ok() {
                self.tick_in_flight = true;
            }
        }
    }

    /// Applies one ordered request and answers it if it is ours.
    fn apply_request(&mut self, ctx: &mut Ctx<'_>, q: OrderedRequest) {
        let req = match Request::decode(q.req_id, &q.body) {
            Ok(r) => r,
            Err(e) => {
                self.malformed += 1;
                crate::log_limited!(Warning, Main, "ckpt: dropped an ordered request from node {}: {e}", q.origin);
                return;
            }
        };
        let origin = Origin { node: q.origin, conn: q.conn, new_id: q.new_id };
        let mine = q.origin == ctx.local_node();
        // Reads change nothing: only the asking node computes the answer.
        let outcome = match &req {
            Request::Read { open, elements } => {
                self.store.advance(q.ts);
                if !mine {
                    return;
                }
                self.store.read((q.origin, *open), q.conn, elements)
            }
            _ => self.store.apply(origin, q.ts, &req),
        };
        if !mine {
            return;
        }
        let conn = ConnId(q.conn);
        // Keep the local record of opens per connection.
        match &req {
            Request::Open { .. } if outcome.error == error::OK => {
                self.local_opens.entry(conn).or_default().insert(q.new_id);
            }
            Request::Close { open } if outcome.error == error::OK => {
                if let Some(s) = self.local_opens.get_mut(&conn) {
                    s.remove(open);
                }
            }
            _ => {}
        }
        let Some(p) = self.pending.remove(&q.seq) else {
            // The connection closed meanwhile: undo an open nobody holds.
            if matches!(req, Request::Open { .. }) && outcome.error == error::OK {
                if let Some(s) = self.local_opens.get_mut(&conn) {
                    s.remove(&q.new_id);
                }
                self.closing.push((q.conn, q.new_id));
            }
            return;
        };
        self.answer(ctx, p, outcome);
    }

    fn answer(&self, ctx: &mut Ctx<'_>, p: Pending, outcome: Outcome) {
        match (p.callback_token, p.msg_id) {
            (Some(token), wire::OPEN) => {
                let mut w = ais_ipc::Writer::new();
                let open = match outcome.payload.get(..8) {
                    Some(b) if outcome.error == error::OK => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
                    _ => 0,
                };
                w.u64(token).u32(outcome.error).u64(open);
                ctx.dispatch(p.conn, wire::OPEN_CALLBACK, w.into_vec());
            }
            (Some(token), _) => {
                let mut w = ais_ipc::Writer::new();
                w.u64(token).u32(outcome.error);
                ctx.dispatch(p.conn, wire::SYNC_CALLBACK, w.into_vec());
            }
            (None, id) => ctx.reply(p.conn, id, outcome.error, &outcome.payload),
        }
    }

    fn deliver_sync(&mut self, me: NodeId, sender: NodeId, m: Msg) {
        let Some(round) = self.sync.as_mut() else { return };
        let ring = match &m {
            Msg::SyncCkpt(c) => c.ring,
            Msg::SyncSection(s) => s.ring,
            Msg::SyncEnd { ring, .. } | Msg::SyncHello { ring, .. } => *ring,
            _ => return,
        };
        if ring != round.ring {
            return; // of an aborted round
        }
        if let Msg::SyncHello { last, .. } = m {
            if round.members.contains(&sender) {
                round.hellos.insert(sender, last);
            }
            if round.my_sender.is_none() && round.members.iter().all(|m| round.hellos.contains_key(m)) {
                round.my_sender = Some(group_sender(&round.members, &round.hellos, me));
            }
            return;
        }
        if Some(sender) == round.my_sender {
            return; // this node's own group: its store is already here
        }
        let staged = round.staged.entry(sender).or_default();
        let result = match m {
            Msg::SyncCkpt(c) => staged.add_ckpt(c),
            Msg::SyncSection(s) => staged.add_section(s),
            Msg::SyncEnd { time, .. } => {
                staged.store.time = staged.store.time.max(time);
                staged.ended = true;
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.malformed += 1;
            crate::log_limited!(Warning, Main, "ckpt: sync message from node {sender} refused: {}", e.0);
        }
    }
}

impl Service for CkptService {
    fn id(&self) -> u32 {
        service::CKPT
    }

    fn name(&self) -> &'static str {
        "ckpt"
    }

    fn lib_request(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg_id: u32, body: &[u8]) -> Result<(), RequestError> {
        let req = Request::decode(msg_id, body).map_err(|e| match e {
            ais_ipc::DecodeError::BadValue { what: "ckpt request id", .. } => RequestError::UnknownId(msg_id),
            e => RequestError::Malformed(e),
        })?;
        self.housekeeping(ctx);
        if self.sync.is_some() {
            ctx.reply(conn, msg_id, error::TRY_AGAIN, &[]);
            return Ok(());
        }
        if body.len() + ORDERED_OVERHEAD > totem::MAX_MESSAGE_SIZE {
            ctx.reply(conn, msg_id, error::TOO_BIG, &[]);
            return Ok(());
        }
        let local = ctx.local_node();
        match &req {
            Request::Open { name, attrs, flags, is_async, token } => {
                let mut check = store::validate_open(*flags, attrs.as_ref());
                if name.is_empty() && check == error::OK {
                    check = error::INVALID_PARAM;
                }
                if check != error::OK {
                    ctx.reply(conn, msg_id, check, &[]);
                    return Ok(());
                }
                let token = is_async.then_some(*token);
                self.order(ctx, conn, msg_id, body, token);
            }
            Request::StatusGet { open } => {
                let o = self.store.status((local, *open), conn.0).unwrap_or_else(Outcome::err);
                ctx.reply(conn, msg_id, o.error, &o.payload);
            }
            Request::IterNext { open, chosen, expiration, after } => {
                let o = self
                    .store
                    .iter_next((local, *open), conn.0, *chosen, *expiration, after.as_deref(), wall_clock())
                    .unwrap_or_else(Outcome::err);
                ctx.reply(conn, msg_id, o.error, &o.payload);
            }
            Request::Synchronize { is_async: true, token, .. } => {
                self.order(ctx, conn, msg_id, body, Some(*token));
            }
            _ => self.order(ctx, conn, msg_id, body, None),
        }
        Ok(())
    }

    fn deliver(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, payload: &[u8]) {
        let m = match Msg::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                self.malformed += 1;
                crate::log_limited!(Warning, Main, "ckpt: dropped an ordered message from node {sender}: {e}");
                return;
            }
        };
        match m {
            Msg::Request(q) => {
                if self.sync.is_some() || !self.held.is_empty() {
                    self.held.push((sender, q));
                } else {
                    self.apply_request(ctx, q);
                }
            }
            Msg::Tick { ts } => {
                if sender == ctx.local_node() {
                    self.tick_in_flight = false;
                }
                if self.sync.is_some() || !self.held.is_empty() {
                    let q =
                        OrderedRequest { origin: sender, conn: 0, seq: 0, new_id: 0, ts, req_id: 0, body: Vec::new() };
                    self.held.push((sender, q));
                } else {
                    self.store.advance(ts);
                }
            }
            other => self.deliver_sync(ctx.local_node(), sender, other),
        }
        self.housekeeping(ctx);
    }

    fn config_change(&mut self, _ctx: &mut Ctx<'_>, change: &ConfigChange) {
        self.store.remove_nodes(&change.members);
    }

    fn conn_closed(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        self.pending.retain(|_, p| p.conn != conn);
        if let Some(opens) = self.local_opens.remove(&conn) {
            for open in opens {
                self.closing.push((conn.0, open));
            }
        }
        self.housekeeping(ctx);
    }

    fn poll_timeout(&self) -> Option<std::time::Instant> {
        if self.sync.is_some() {
            return None;
        }
        let now = std::time::Instant::now();
        let due = if !self.closing.is_empty() {
            Some(now)
        } else if self.tick_in_flight {
            None
        } else {
            let deadline = self.store.next_deadline()?;
            let wait = u64::try_from(deadline.saturating_sub(wall_clock())).unwrap_or(0);
            now.checked_add(std::time::Duration::from_nanos(wait))
        }?;
        // At most every 10 ms, should submitting keep failing.
        let paced = self.last_timeout.map_or(due, |t| due.max(t + std::time::Duration::from_millis(10)));
        Some(paced)
    }

    fn handle_timeout(&mut self, ctx: &mut Ctx<'_>, now: std::time::Instant) {
        self.last_timeout = Some(now);
        self.housekeeping(ctx);
    }

    fn sync_init(&mut self, _ctx: &mut Ctx<'_>, change: &ConfigChange) {
        self.sync = Some(SyncRound {
            ring: change.ring_id,
            members: change.members.clone(),
            hello_sent: false,
            hellos: BTreeMap::new(),
            my_sender: None,
            cursor: None,
            refused: None,
            staged: BTreeMap::new(),
        });
    }

    /// Phase 1: every member says which ring it last synced. Phase 2, once
    /// every hello is delivered: the lowest member of each group of equal
    /// last rings (a node that never synced is a group of its own) sends
    /// its store (see [`sync`]).
    fn sync_process(&mut self, ctx: &mut Ctx<'_>) -> SyncStep {
        let me = ctx.local_node();
        let last = self.synced_ring;
        let Some(round) = self.sync.as_mut() else { return SyncStep::Done };
        if !round.hello_sent {
            let hello = Msg::SyncHello { ring: round.ring, last };
            if ctx.submit(&hello.encode(), Guarantee::Agreed).is_err() {
                return SyncStep::MoreToSend;
            }
            round.hello_sent = true;
        }
        match round.my_sender {
            None => return SyncStep::MoreToSend, // called again on a later turn
            Some(sender) if sender != me => return SyncStep::Done,
            Some(_) => {}
        }
        let cursor = round.cursor.get_or_insert_with(|| msg::SendCursor::new(round.ring, &self.store));
        loop {
            let next = match round.refused.take() {
                Some(m) => m,
                None => match cursor.next(&self.store) {
                    Some(m) => m.encode(),
                    None => return SyncStep::Done,
                },
            };
            if ctx.submit(&next, Guarantee::Agreed).is_err() {
                round.refused = Some(next);
                return SyncStep::MoreToSend;
            }
        }
    }

    fn sync_activate(&mut self, ctx: &mut Ctx<'_>) {
        let Some(mut round) = self.sync.take() else { return };
        if round.staged.values().any(|s| !s.ended) {
            crate::log_warn!(Main, "ckpt: sync activated before every sender finished");
        }
        // This node's own group: its own store.
        let own = round.my_sender.unwrap_or(ctx.local_node());
        round.staged.insert(own, Staged { store: std::mem::take(&mut self.store), ended: true });
        self.store = sync::merge(round.staged, &round.members);
        self.synced_ring = Some(round.ring);
        // Our opens that did not survive the merge are gone.
        let live: BTreeSet<u64> =
            self.store.openers.keys().filter(|(n, _)| *n == ctx.local_node()).map(|(_, o)| *o).collect();
        for opens in self.local_opens.values_mut() {
            opens.retain(|o| live.contains(o));
        }
        for (_, q) in std::mem::take(&mut self.held) {
            if q.req_id == 0 {
                self.store.advance(q.ts);
            } else {
                self.apply_request(ctx, q);
            }
        }
        self.housekeeping(ctx);
    }

    fn sync_abort(&mut self, _ctx: &mut Ctx<'_>) {
        // Held requests stay held: they are applied after the next merge.
        self.sync = None;
    }
}
