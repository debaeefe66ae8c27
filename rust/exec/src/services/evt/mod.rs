//! The event service (AIS EVT B.01.01) as `libSaEvt` uses it, on the
//! replicated-state engine ([`crate::services::replicated`]).
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
//! Retention expiry happens against cluster time (the engine's), at the
//! same point of the order everywhere.
//!
//! Sync (the engine runs the round): a sender of each group of identical
//! replicas sends its replica as items ([`msg`]); at activation every node
//! takes the union of its own and the staged replicas, drops the opens of
//! nodes that are not members and merges same-named live channels (two
//! partitions may each have created one), the same on every node.

pub mod msg;
pub mod queue;
pub mod replica;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use ais_ipc::evt::{self as wire, Event, Filter, Pulled, Request};
use ais_ipc::{Writer, error, service};

use crate::ordering::{Guarantee, NodeId};
use crate::service::{ConnId, Ctx, RequestError};
use crate::services::replicated::{Answer, Cx, Engine, Ordered, Rejected, Replicated, Reply};
use msg::Cursor;
use queue::{Delivery, DeliveryQueue};
use replica::{ChanId, Replica};

/// Most channel opens one connection may hold (and have in flight), and
/// subscriptions one open may hold: beyond, `SA_AIS_ERR_NO_RESOURCES`.
pub const MAX_OPENS_PER_CONN: usize = 4096;
pub const MAX_SUBS_PER_OPEN: usize = 4096;

/// The event service as the executive runs it.
pub type EvtService = Engine<Evt>;

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

/// One open of a local connection.
#[derive(Debug)]
struct LocalOpen {
    conn: ConnId,
    chan: ChanId,
    flags: u8,
    subs: BTreeMap<u32, Vec<Filter>>,
}

/// The event service's state: the replica, and this node's opens,
/// subscriptions and delivery queues.
#[derive(Debug)]
pub struct Evt {
    config: EvtConfig,
    replica: Replica,
    locals: BTreeMap<u64, LocalOpen>,
    queues: BTreeMap<ConnId, DeliveryQueue>,
    /// The counter part of the next event id.
    next_counter: u32,
}

impl Default for Evt {
    fn default() -> Self {
        Self::new(EvtConfig::default())
    }
}

impl Evt {
    pub fn new(config: EvtConfig) -> Evt {
        Evt {
            config,
            replica: Replica::default(),
            locals: BTreeMap::new(),
            queues: BTreeMap::new(),
            next_counter: (wire::EVENTID_RESERVED + 1) as u32,
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

    fn local_open(&self, conn: ConnId, open: u64) -> Option<&LocalOpen> {
        self.locals.get(&open).filter(|o| o.conn == conn)
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

    fn unsubscribe(&mut self, conn: ConnId, open: u64, sub: u32) -> u32 {
        let removed = self.locals.get_mut(&open).filter(|o| o.conn == conn).map(|lo| lo.subs.remove(&sub));
        match removed {
            None => error::BAD_HANDLE,
            Some(None) => error::NOT_EXIST,
            Some(Some(_)) => {
                if let Some(q) = self.queues.get_mut(&conn) {
                    q.retain(|d| !(d.open == open && d.sub == sub));
                }
                error::OK
            }
        }
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

    /// Stamps `event` with this node's next id and the time, orders it and
    /// answers with both (no wait for delivery).
    fn publish(&mut self, cx: &mut Cx<'_, '_>, conn: ConnId, open: u64, mut event: Event) {
        let check = match self.local_open(conn, open) {
            None => error::BAD_HANDLE,
            Some(lo) if lo.flags & wire::PUBLISHER == 0 => error::ACCESS,
            Some(_) if self.next_counter == u32::MAX => error::NO_RESOURCES,
            Some(_) => error::OK,
        };
        if check != error::OK {
            return cx.ctx.reply(conn, wire::PUBLISH, check, &[]);
        }
        event.id = (u64::from(cx.local_node()) << 32) | u64::from(self.next_counter);
        event.publish_time = cx.now().wall;
        let (id, time) = (event.id, event.publish_time);
        let body = Request::Publish { open, event }.encode();
        if cx.order(conn, wire::PUBLISH, &body, Guarantee::Agreed, Answer::Caller) {
            self.next_counter += 1;
            let mut w = Writer::new();
            w.u64(id).i64(time);
            cx.ctx.reply(conn, wire::PUBLISH, error::OK, w.as_slice());
        }
    }

    /// Forgets local connection `conn` (its opens, subscriptions, queue).
    fn forget(&mut self, conn: ConnId) {
        self.queues.remove(&conn);
        self.locals.retain(|_, o| o.conn != conn);
    }
}

impl Replicated for Evt {
    const ID: u32 = service::EVT;
    const NAME: &'static str = "evt";
    type Request = Request;
    type Cursor = Cursor;
    type Staged = Replica;

    fn stats(&self, out: &mut Vec<ais_ipc::cfg::Stat>) {
        use ais_ipc::cfg::Stat;
        out.push(Stat::gauge("channels", self.replica.live.len() as u64));
        out.push(Stat::gauge("retained_events", self.replica.retained.len() as u64));
        let queued: usize = self.queues.values().map(|q| q.len()).sum();
        out.push(Stat::gauge("queued_events", queued as u64));
    }

    fn decode(msg_id: u32, body: &[u8]) -> Result<Request, RequestError> {
        Request::decode(msg_id, body).map_err(|e| match e {
            ais_ipc::DecodeError::BadValue { what: "evt request id", .. } => RequestError::UnknownId(msg_id),
            e => RequestError::Malformed(e),
        })
    }

    /// Pulling events waits for nothing replicated.
    fn answered_during_sync(req: &Request) -> bool {
        matches!(req, Request::Pull)
    }

    /// Only what the replica keeps needs quorum: channels (open, unlink)
    /// and retained events (a publish with a retention time, a clear). A
    /// close releases.
    fn needs_quorum(req: &Request) -> bool {
        match req {
            Request::Open { .. } | Request::Unlink { .. } | Request::Clear { .. } => true,
            Request::Publish { event, .. } => event.retention > 0,
            Request::Close { .. } | Request::Subscribe { .. } | Request::Unsubscribe { .. } | Request::Pull => false,
        }
    }

    /// Keeps this node's event counters (ids are never reused).
    fn sync_forget(&mut self, _cx: &mut Cx<'_, '_>) {
        let counters = std::mem::take(&mut self.replica.counters);
        self.replica = Replica::default();
        self.replica.counters = counters;
    }

    fn request(&mut self, cx: &mut Cx<'_, '_>, conn: ConnId, msg_id: u32, req: Request, body: &[u8]) {
        let check = match req {
            Request::Pull => return self.pull(cx.ctx, conn),
            Request::Publish { open, event } => return self.publish(cx, conn, open, event),
            Request::Subscribe { open, sub, filters } => self.subscribe(cx.ctx, conn, open, sub, filters),
            Request::Unsubscribe { open, sub } => self.unsubscribe(conn, open, sub),
            Request::Open { name, .. } | Request::Unlink { name } if name.is_empty() => error::INVALID_PARAM,
            Request::Open { flags, .. } if flags & !(wire::PUBLISHER | wire::SUBSCRIBER | wire::CREATE) != 0 => {
                error::BAD_FLAGS
            }
            Request::Open { .. }
                if self.locals.values().filter(|o| o.conn == conn).count() + cx.pending_of(conn)
                    >= MAX_OPENS_PER_CONN =>
            {
                error::NO_RESOURCES
            }
            Request::Open { token, is_async: true, .. } => {
                cx.order(conn, msg_id, body, Guarantee::Safe, Answer::Callback(token));
                return;
            }
            Request::Close { open } | Request::Clear { open, .. } if self.local_open(conn, open).is_none() => {
                error::BAD_HANDLE
            }
            Request::Clear { event_id, .. } if event_id <= wire::EVENTID_RESERVED => error::INVALID_PARAM,
            Request::Open { .. } | Request::Close { .. } | Request::Clear { .. } | Request::Unlink { .. } => {
                cx.order(conn, msg_id, body, Guarantee::Safe, Answer::Reply);
                return;
            }
        };
        cx.ctx.reply(conn, msg_id, check, &[]);
    }

    fn apply(&mut self, cx: &mut Cx<'_, '_>, at: &Ordered, req: Request) -> Reply {
        let node = at.node;
        match req {
            Request::Open { name, flags, .. } => match self.replica.open((node, at.new_id), &name, flags, at.conn.0) {
                Ok(chan) => {
                    // Not waiting: the client is gone, and the close of its
                    // connection follows in the order.
                    if at.waiting {
                        let lo = LocalOpen { conn: at.conn, chan, flags, subs: BTreeMap::new() };
                        self.locals.insert(at.new_id, lo);
                    }
                    Reply::ok(at.new_id.to_le_bytes().to_vec())
                }
                Err(e) => Reply::err(e),
            },
            Request::Close { open } => {
                let r = self.replica.close((node, open));
                if at.mine {
                    self.locals.remove(&open);
                    if let Some(queue) = self.queues.get_mut(&at.conn) {
                        queue.retain(|d| d.open != open);
                    }
                }
                r.into()
            }
            Request::Unlink { name } => self.replica.unlink(&name).into(),
            Request::Clear { open, event_id } => self.replica.clear((node, open), event_id).into(),
            Request::Publish { open, event } => {
                let event = Arc::new(event);
                if let Some(chan) = self.replica.publish((node, open), &event) {
                    self.deliver_local(cx.ctx, chan, &event);
                }
                Reply::None
            }
            Request::Subscribe { .. } | Request::Unsubscribe { .. } | Request::Pull => {
                cx.malformed(node, &"a local request ordered");
                Reply::None
            }
        }
    }

    fn closed(&mut self, cx: &mut Cx<'_, '_>, node: NodeId, conn: ConnId) {
        self.replica.close_conn(node, conn.0);
        if node == cx.local_node() {
            self.forget(conn);
        }
    }

    fn left(&mut self, _cx: &mut Cx<'_, '_>, members: &[NodeId]) {
        self.replica.remove_nodes(members);
    }

    fn conn_gone(&mut self, conn: ConnId) {
        self.forget(conn);
    }

    fn cluster_time(&self) -> i64 {
        self.replica.time
    }

    fn advance(&mut self, time: i64) {
        self.replica.advance(time);
    }

    fn next_deadline(&self) -> Option<i64> {
        self.replica.next_deadline()
    }

    /// Only opens are asynchronous.
    fn callback(_msg_id: u32, token: u64, error: u32, payload: &[u8]) -> (u32, Vec<u8>) {
        let open = payload.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes);
        let mut w = Writer::new();
        w.u64(token).u32(error).u64(if error == error::OK { open } else { 0 });
        (wire::OPEN_CALLBACK, w.into_vec())
    }

    fn sync_start(&self) -> Cursor {
        Cursor::default()
    }

    fn sync_next(&self, cursor: &mut Cursor, w: &mut Writer) -> bool {
        cursor.next(&self.replica, w)
    }

    fn sync_stage(staged: &mut Replica, item: &[u8]) -> Result<(), Rejected> {
        staged.union(msg::decode_item(item)?);
        Ok(())
    }

    fn sync_merge(
        &mut self,
        cx: &mut Cx<'_, '_>,
        own: NodeId,
        mut staged: BTreeMap<NodeId, Replica>,
        members: &[NodeId],
        time: i64,
    ) {
        staged.insert(own, std::mem::take(&mut self.replica));
        let mut merged = Replica::default();
        for (_, group) in staged {
            merged.union(group);
        }
        merged.time = merged.time.max(time);
        merged.remove_nodes(members);
        merged.normalize();
        self.replica = merged;
        let me = cx.local_node();
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
    }
}
