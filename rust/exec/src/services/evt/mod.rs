//! The event service (AIS EVT B.01.01) as `libSaEvt` uses it.
//!
//! Replicated on every node ([`replica`]): channels, the opens that keep
//! them alive, retained events, event-id counters and cluster time.
//! Open, close, unlink and retention clear are ordered messages
//! (`Safe`), applied by every node on delivery and answered by the node
//! they came from. A publish is ordered too (`Agreed`) but answered at
//! once with its event id: the id is `node << 32 | counter`, the counter
//! local and carried in the replica (so a node restarting in a running
//! cluster continues after its last id), unique cluster-wide and above
//! the reserved ids.
//!
//! Subscriptions are local: each node matches every delivered event
//! against its own subscribers and queues the matches per connection
//! ([`queue`], bounded by `event {}`); the library pulls them (see
//! `ais_ipc::evt`). A new subscription first receives the channel's
//! retained events, then later ones as delivered: each event once, in
//! Totem order (publish order for retained ones).
//!
//! Retention expiry happens on delivery against cluster time (the
//! publish time and `TICK` timestamps carried by messages), at the same
//! point of the order everywhere; the service timer submits a `TICK` when
//! an expiry is due by the local clock (as the checkpoint service does).
//!
//! Sync: at every regular configuration every member sends its whole
//! replica ([`msg::snapshot`]); every node stages the union of what is
//! delivered and, at `sync_activate`, replaces its replica with it, drops
//! the opens of nodes that are not members and merges same-named live
//! channels (two partitions may each have created one). Every node stages
//! the same messages, so every replica is the same. Ordinary messages
//! delivered meanwhile are held and applied after; requests that change
//! state are answered `TRY_AGAIN` until then.

pub mod msg;
pub mod queue;
pub mod replica;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use ais_ipc::evt::{self as wire, Event, Filter, Pulled, Request};
use ais_ipc::{Writer, error, service};

use crate::ordering::{ConfigChange, Guarantee, NodeId, RingId};
use crate::service::{ConnId, Ctx, Now, RequestError, Service, SyncStep};
use msg::{Msg, OrderedRequest};
use queue::{Delivery, DeliveryQueue};
use replica::{ChanId, Replica};

/// Room kept for the ordered message's own header.
const ORDERED_OVERHEAD: usize = 128;
/// Most channel opens one connection may hold (and have in flight), and
/// subscriptions one open may hold: beyond, `SA_AIS_ERR_NO_RESOURCES`.
pub const MAX_OPENS_PER_CONN: usize = 4096;
pub const MAX_SUBS_PER_OPEN: usize = 4096;

/// The `event {}` settings the service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvtConfig {
    pub delivery_queue_size: u32,
    pub delivery_queue_resume: u32,
}

impl Default for EvtConfig {
    fn default() -> Self {
        EvtConfig { delivery_queue_size: 1000, delivery_queue_resume: 500 }
    }
}

/// A request of ours in flight, answered when its message is delivered.
#[derive(Debug, Clone, Copy)]
struct Pending {
    conn: ConnId,
    msg_id: u32,
    /// Async open: answer by callback with this token.
    token: Option<u64>,
}

/// One open of a local connection.
#[derive(Debug)]
struct LocalOpen {
    conn: ConnId,
    chan: ChanId,
    flags: u8,
    subs: BTreeMap<u32, Vec<Filter>>,
}

#[derive(Debug)]
struct SyncRound {
    ring: RingId,
    members: Vec<NodeId>,
    /// This node's snapshot and how much of it is submitted.
    out: Option<Vec<Vec<u8>>>,
    sent: usize,
    staged: Replica,
}

pub struct EvtService {
    config: EvtConfig,
    replica: Replica,
    locals: BTreeMap<u64, LocalOpen>,
    queues: BTreeMap<ConnId, DeliveryQueue>,
    pending: BTreeMap<u64, Pending>,
    next_seq: u64,
    /// Ids of new opens; start at the wall clock in microseconds when
    /// first used, so a restarted node never reuses one.
    next_open: Option<u64>,
    /// The counter part of the next event id.
    next_counter: u32,
    /// Closes still to submit (the queue was full): (conn, open).
    closing: Vec<(u64, u64)>,
    sync: Option<SyncRound>,
    held: Vec<(NodeId, Msg)>,
    tick_in_flight: bool,
    last_timeout: Option<Instant>,
    /// Ordered messages that did not decode (counted, dropped).
    pub malformed: u64,
}

impl Default for EvtService {
    fn default() -> Self {
        Self::new(EvtConfig::default())
    }
}

impl EvtService {
    pub fn new(config: EvtConfig) -> EvtService {
        EvtService {
            config,
            replica: Replica::default(),
            locals: BTreeMap::new(),
            queues: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_seq: 1,
            next_open: None,
            next_counter: (wire::EVENTID_RESERVED + 1) as u32,
            closing: Vec::new(),
            sync: None,
            held: Vec::new(),
            tick_in_flight: false,
            last_timeout: None,
            malformed: 0,
        }
    }

    /// The replicated state (tests, status).
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Events dropped for full subscriber queues on this node.
    pub fn dropped_events(&self) -> u64 {
        self.queues.values().map(|q| q.dropped).sum()
    }

    pub fn is_syncing(&self) -> bool {
        self.sync.is_some()
    }

    fn local_open(&self, conn: ConnId, open: u64) -> Option<&LocalOpen> {
        self.locals.get(&open).filter(|o| o.conn == conn)
    }

    /// Submits `body` as an ordered request. With `answer_later` the reply
    /// waits for delivery (or comes by callback for `token`).
    fn order(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg_id: u32, body: Vec<u8>, token: Option<u64>) -> bool {
        let new_id = *self.next_open.get_or_insert((ctx.now.wall / 1000).max(1) as u64);
        self.next_open = Some(new_id + 1);
        let seq = self.next_seq;
        let m = Msg::Request(OrderedRequest { conn: conn.0, seq, new_id, ts: ctx.now.wall, req_id: msg_id, body });
        let guarantee = if msg_id == wire::PUBLISH { Guarantee::Agreed } else { Guarantee::Safe };
        match ctx.submit(&m.encode(), guarantee) {
            Ok(()) => {
                self.next_seq += 1;
                if msg_id != wire::PUBLISH {
                    self.pending.insert(seq, Pending { conn, msg_id, token });
                    if token.is_some() {
                        ctx.reply(conn, msg_id, error::OK, &[]);
                    }
                }
                true
            }
            Err(_) => {
                ctx.reply(conn, msg_id, error::TRY_AGAIN, &[]);
                false
            }
        }
    }

    fn housekeeping(&mut self, ctx: &mut Ctx<'_>) {
        if self.sync.is_some() {
            return;
        }
        while let Some((conn, open)) = self.closing.pop() {
            let m = Msg::Request(OrderedRequest {
                conn,
                seq: 0,
                new_id: 0,
                ts: ctx.now.wall,
                req_id: wire::CLOSE,
                body: Request::Close { open }.encode(),
            });
            if ctx.submit(&m.encode(), Guarantee::Safe).is_err() {
                self.closing.push((conn, open));
                break;
            }
        }
        if !self.tick_in_flight
            && let Some(due) = self.replica.next_deadline()
        {
            let now = ctx.now.wall;
            if due <= now && ctx.submit(&Msg::Tick { ts: now }.encode(), Guarantee::Agreed).is_ok() {
                self.tick_in_flight = true;
            }
        }
    }

    /// Queues a delivery for `conn` and says `EVENT_READY` if none is pending.
    fn enqueue(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, d: Delivery) {
        let (size, resume) = (self.config.delivery_queue_size, self.config.delivery_queue_resume);
        let q = self.queues.entry(conn).or_insert_with(|| DeliveryQueue::new(size, resume));
        q.push(d, ctx.now.wall);
        if !q.notified && !q.is_empty() {
            q.notified = true;
            ctx.dispatch(conn, wire::EVENT_READY, Vec::new());
        }
    }

    /// A delivered event on `chan` to every matching local subscription.
    fn deliver_local(&mut self, ctx: &mut Ctx<'_>, chan: ChanId, event: &Arc<Event>) {
        let mut out = Vec::new();
        for (open, lo) in self.locals.iter().filter(|(_, lo)| lo.chan == chan) {
            for (sub, filters) in &lo.subs {
                if wire::filters_match(filters, &event.patterns) {
                    out.push((lo.conn, Delivery { open: *open, sub: *sub, event: Arc::clone(event) }));
                }
            }
        }
        for (conn, d) in out {
            self.enqueue(ctx, conn, d);
        }
    }

    fn answer(&self, ctx: &mut Ctx<'_>, p: Pending, err: u32, payload: &[u8]) {
        match p.token {
            Some(token) => {
                let open = payload.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes);
                let mut w = Writer::new();
                w.u64(token).u32(err).u64(if err == error::OK { open } else { 0 });
                ctx.dispatch(p.conn, wire::OPEN_CALLBACK, w.into_vec());
            }
            None => ctx.reply(p.conn, p.msg_id, err, payload),
        }
    }

    fn apply_request(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, q: OrderedRequest) {
        let req = match Request::decode(q.req_id, &q.body) {
            Ok(r) => r,
            Err(e) => {
                self.malformed += 1;
                crate::log_limited!(Warning, Main, "evt: dropped an ordered request from node {sender}: {e}");
                return;
            }
        };
        if !matches!(req, Request::Publish { .. }) {
            self.replica.advance(q.ts);
        }
        let mine = sender == ctx.local_node();
        let conn = ConnId(q.conn);
        let (err, payload) = match req {
            Request::Open { name, flags, .. } => match self.replica.open((sender, q.new_id), &name, flags) {
                Ok(chan) => {
                    if mine {
                        if self.pending.contains_key(&q.seq) {
                            self.locals.insert(q.new_id, LocalOpen { conn, chan, flags, subs: BTreeMap::new() });
                        } else {
                            // The connection closed meanwhile: nobody holds it.
                            self.closing.push((q.conn, q.new_id));
                        }
                    }
                    (error::OK, q.new_id.to_le_bytes().to_vec())
                }
                Err(e) => (e, Vec::new()),
            },
            Request::Close { open } => {
                let r = self.replica.close((sender, open));
                if mine {
                    self.locals.remove(&open);
                    if let Some(queue) = self.queues.get_mut(&conn) {
                        queue.retain(|d| d.open != open);
                    }
                }
                (r.err().unwrap_or(error::OK), Vec::new())
            }
            Request::Unlink { name } => (self.replica.unlink(&name).err().unwrap_or(error::OK), Vec::new()),
            Request::Clear { open, event_id } => {
                (self.replica.clear((sender, open), event_id).err().unwrap_or(error::OK), Vec::new())
            }
            Request::Publish { open, event } => {
                let event = Arc::new(event);
                if let Some(chan) = self.replica.publish((sender, open), &event) {
                    self.deliver_local(ctx, chan, &event);
                }
                return;
            }
            Request::Subscribe { .. } | Request::Unsubscribe { .. } | Request::Pull => {
                self.malformed += 1;
                return;
            }
        };
        if mine && let Some(p) = self.pending.remove(&q.seq) {
            self.answer(ctx, p, err, &payload);
        }
    }

    fn apply(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, m: Msg) {
        match m {
            Msg::Request(q) => self.apply_request(ctx, sender, q),
            Msg::Tick { ts } => self.replica.advance(ts),
            _ => {}
        }
    }

    fn subscribe(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, open: u64, sub: u32, filters: Vec<Filter>) -> u32 {
        let Some(lo) = self.locals.get_mut(&open).filter(|o| o.conn == conn) else { return error::BAD_HANDLE };
        if lo.flags & wire::SUBSCRIBER == 0 {
            return error::ACCESS;
        }
        if lo.subs.contains_key(&sub) {
            return error::EXIST;
        }
        if lo.subs.len() >= MAX_SUBS_PER_OPEN {
            return error::NO_RESOURCES;
        }
        let chan = lo.chan;
        let retained: Vec<Arc<Event>> = self
            .replica
            .retained_of(chan, ctx.now.wall)
            .into_iter()
            .filter(|e| wire::filters_match(&filters, &e.patterns))
            .collect();
        lo.subs.insert(sub, filters);
        for event in retained {
            self.enqueue(ctx, conn, Delivery { open, sub, event });
        }
        error::OK
    }

    fn pull(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let next = self.queues.get_mut(&conn).and_then(|q| {
            q.notified = false;
            let d = q.pop();
            if !q.is_empty() {
                q.notified = true;
                ctx.dispatch(conn, wire::EVENT_READY, Vec::new());
            }
            d
        });
        let pulled = next.map(|d| Pulled { open: d.open, sub: d.sub, event: (*d.event).clone() });
        ctx.reply(conn, wire::PULL, error::OK, &Pulled::encode(pulled.as_ref()));
    }
}

impl Service for EvtService {
    fn id(&self) -> u32 {
        service::EVT
    }

    fn name(&self) -> &'static str {
        "evt"
    }

    fn lib_request(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg_id: u32, body: &[u8]) -> Result<(), RequestError> {
        let req = Request::decode(msg_id, body).map_err(|e| match e {
            ais_ipc::DecodeError::BadValue { what: "evt request id", .. } => RequestError::UnknownId(msg_id),
            e => RequestError::Malformed(e),
        })?;
        self.housekeeping(ctx);
        if let Request::Pull = req {
            self.pull(ctx, conn);
            return Ok(());
        }
        if self.sync.is_some() {
            ctx.reply(conn, msg_id, error::TRY_AGAIN, &[]);
            return Ok(());
        }
        if body.len() + ORDERED_OVERHEAD > totem::MAX_MESSAGE_SIZE {
            ctx.reply(conn, msg_id, error::TOO_BIG, &[]);
            return Ok(());
        }
        match req {
            Request::Open { token, is_async, name, flags } => {
                if name.is_empty() {
                    ctx.reply(conn, msg_id, error::INVALID_PARAM, &[]);
                } else if flags & !(wire::PUBLISHER | wire::SUBSCRIBER | wire::CREATE) != 0 {
                    ctx.reply(conn, msg_id, error::BAD_FLAGS, &[]);
                } else if self.locals.values().filter(|o| o.conn == conn).count()
                    + self.pending.values().filter(|p| p.conn == conn).count()
                    >= MAX_OPENS_PER_CONN
                {
                    ctx.reply(conn, msg_id, error::NO_RESOURCES, &[]);
                } else {
                    self.order(ctx, conn, msg_id, body.to_vec(), is_async.then_some(token));
                }
            }
            Request::Close { open } | Request::Clear { open, .. } if self.local_open(conn, open).is_none() => {
                ctx.reply(conn, msg_id, error::BAD_HANDLE, &[]);
            }
            Request::Clear { event_id, .. } if event_id <= wire::EVENTID_RESERVED => {
                ctx.reply(conn, msg_id, error::INVALID_PARAM, &[]);
            }
            Request::Close { .. } | Request::Clear { .. } => {
                self.order(ctx, conn, msg_id, body.to_vec(), None);
            }
            Request::Unlink { name } => {
                if name.is_empty() {
                    ctx.reply(conn, msg_id, error::INVALID_PARAM, &[]);
                } else {
                    self.order(ctx, conn, msg_id, body.to_vec(), None);
                }
            }
            Request::Publish { open, mut event } => {
                let check = match self.local_open(conn, open) {
                    None => error::BAD_HANDLE,
                    Some(lo) if lo.flags & wire::PUBLISHER == 0 => error::ACCESS,
                    Some(_) if self.next_counter == u32::MAX => error::NO_RESOURCES,
                    Some(_) => error::OK,
                };
                if check != error::OK {
                    ctx.reply(conn, msg_id, check, &[]);
                    return Ok(());
                }
                event.id = (u64::from(ctx.local_node()) << 32) | u64::from(self.next_counter);
                event.publish_time = ctx.now.wall;
                let (id, time) = (event.id, event.publish_time);
                if self.order(ctx, conn, msg_id, Request::Publish { open, event }.encode(), None) {
                    self.next_counter += 1;
                    let mut w = Writer::new();
                    w.u64(id).i64(time);
                    ctx.reply(conn, msg_id, error::OK, w.as_slice());
                }
            }
            Request::Subscribe { open, sub, filters } => {
                let err = self.subscribe(ctx, conn, open, sub, filters);
                ctx.reply(conn, msg_id, err, &[]);
            }
            Request::Unsubscribe { open, sub } => {
                let removed = self.locals.get_mut(&open).filter(|o| o.conn == conn).map(|lo| lo.subs.remove(&sub));
                let err = match removed {
                    None => error::BAD_HANDLE,
                    Some(None) => error::NOT_EXIST,
                    Some(Some(_)) => {
                        if let Some(q) = self.queues.get_mut(&conn) {
                            q.retain(|d| !(d.open == open && d.sub == sub));
                        }
                        error::OK
                    }
                };
                ctx.reply(conn, msg_id, err, &[]);
            }
            Request::Pull => {}
        }
        Ok(())
    }

    fn deliver(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, payload: &[u8]) {
        let m = match Msg::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                self.malformed += 1;
                crate::log_limited!(Warning, Main, "evt: dropped an ordered message from node {sender}: {e}");
                return;
            }
        };
        if let Msg::Tick { .. } = m
            && sender == ctx.local_node()
        {
            self.tick_in_flight = false;
        }
        match m.sync_ring() {
            Some(ring) => {
                if let Some(round) = self.sync.as_mut()
                    && round.ring == ring
                    && round.members.contains(&sender)
                {
                    m.stage(&mut round.staged);
                }
            }
            None if self.sync.is_some() || !self.held.is_empty() => self.held.push((sender, m)),
            None => self.apply(ctx, sender, m),
        }
        self.housekeeping(ctx);
    }

    fn config_change(&mut self, _ctx: &mut Ctx<'_>, change: &ConfigChange) {
        self.replica.remove_nodes(&change.members);
    }

    fn conn_closed(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        self.pending.retain(|_, p| p.conn != conn);
        self.queues.remove(&conn);
        let opens: Vec<u64> = self.locals.iter().filter(|(_, o)| o.conn == conn).map(|(id, _)| *id).collect();
        for open in opens {
            self.locals.remove(&open);
            self.closing.push((conn.0, open));
        }
        self.housekeeping(ctx);
    }

    fn poll_timeout(&self, now: Now) -> Option<Instant> {
        if self.sync.is_some() {
            return None;
        }
        let due = if !self.closing.is_empty() {
            Some(now.mono)
        } else if self.tick_in_flight {
            None
        } else {
            now.mono_at(self.replica.next_deadline()?)
        }?;
        Some(self.last_timeout.map_or(due, |t| due.max(t + crate::services::replicated::TICK_PACE)))
    }

    fn handle_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.last_timeout = Some(ctx.now.mono);
        self.housekeeping(ctx);
    }

    fn sync_init(&mut self, _ctx: &mut Ctx<'_>, change: &ConfigChange) {
        self.sync = Some(SyncRound {
            ring: change.ring_id,
            members: change.members.clone(),
            out: None,
            sent: 0,
            staged: Replica::default(),
        });
    }

    fn sync_process(&mut self, ctx: &mut Ctx<'_>) -> SyncStep {
        let Some(round) = self.sync.as_mut() else { return SyncStep::Done };
        let out = round.out.get_or_insert_with(|| msg::snapshot(&self.replica, round.ring));
        while let Some(m) = out.get(round.sent) {
            if ctx.submit(m, Guarantee::Agreed).is_err() {
                return SyncStep::MoreToSend;
            }
            round.sent += 1;
        }
        SyncStep::Done
    }

    fn sync_activate(&mut self, ctx: &mut Ctx<'_>) {
        let Some(round) = self.sync.take() else { return };
        let mut merged = round.staged;
        merged.remove_nodes(&round.members);
        merged.normalize();
        self.replica = merged;
        let me = ctx.local_node();
        if let Some(c) = self.replica.counters.get(&me) {
            self.next_counter = self.next_counter.max(*c);
        }
        // Local opens follow merged channels; those that did not survive go.
        let opens = &self.replica.opens;
        self.locals.retain(|id, lo| match opens.get(&(me, *id)) {
            Some(rec) => {
                lo.chan = rec.chan;
                true
            }
            None => false,
        });
        for (sender, m) in std::mem::take(&mut self.held) {
            self.apply(ctx, sender, m);
        }
        self.housekeeping(ctx);
    }

    fn sync_abort(&mut self, _ctx: &mut Ctx<'_>) {
        self.sync = None;
    }
}
