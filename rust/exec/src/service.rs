//! The service interface: what every executive service (CLM, CKPT, EVT,
//! ..., and the executive's own CFG) implements, and the context through
//! which it acts.
//!
//! Rules a service follows: its replicated state changes only in
//! [`Service::deliver`] / [`Service::config_change`] (so every node applies
//! the same changes in the same order); [`Service::lib_request`] validates
//! and either answers at once (queries of local state) or submits a message
//! for ordering and answers when that message is delivered back. A service
//! never does I/O itself; it records outputs in [`Ctx`].

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ais_ipc::Writer;

use crate::ordering::{ClusterStatus, ConfigChange, Guarantee, NodeId, Ordering, QueueFull};

/// One library connection (request + dispatch channel), unique for the
/// executive's lifetime (ids are never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Who is on the other end, read with `SO_PEERCRED` at accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnInfo {
    pub id: ConnId,
    pub service: u32,
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// Why a request was not acceptable. The connection is closed and the
/// event counted; use a reply with an error code for requests that are
/// well formed but cannot be satisfied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Unknown message id for this service.
    UnknownId(u32),
    /// The body does not decode.
    Malformed(ais_ipc::DecodeError),
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::UnknownId(id) => write!(f, "unknown request id {id}"),
            RequestError::Malformed(e) => write!(f, "malformed request: {e}"),
        }
    }
}

/// What a sync step reports (see [`Service::sync_process`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStep {
    Done,
    /// More state to send; call again when the send queue has room.
    MoreToSend,
}

/// Side effects recorded by a service, applied by the main loop after the
/// call returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A response on the request channel; `body` starts with the error.
    Reply { conn: ConnId, id: u32, body: Vec<u8> },
    /// A callback on the dispatch channel.
    Dispatch { conn: ConnId, id: u32, body: Vec<u8> },
    /// Close the connection (both channels).
    Disconnect { conn: ConnId },
    /// Stop reading the connection's requests until the ordering queue has
    /// room again (see [`Ctx::submit_or_hold`]).
    Hold { conn: ConnId },
}

/// The time of a call: both clocks, read by the main loop once per turn
/// ([`Now::read`]). Services never read a clock themselves, so the test kit
/// hands them virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic: local deadlines ([`Service::poll_timeout`]).
    pub mono: Instant,
    /// Wall clock, nanoseconds since the Unix epoch (`SaTimeT`): what goes
    /// into ordered messages as a node's idea of the time.
    pub wall: i64,
}

impl Now {
    pub fn read() -> Now {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Now { mono: Instant::now(), wall }
    }

    /// This time `d` later on both clocks.
    pub fn after(self, d: Duration) -> Now {
        let ns = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        Now { mono: self.mono + d, wall: self.wall.saturating_add(ns) }
    }

    /// The monotonic instant at which the wall clock reads `wall` (now if
    /// that is past; None if beyond what an `Instant` holds), assuming both
    /// clocks run at the same pace.
    pub fn mono_at(self, wall: i64) -> Option<Instant> {
        let wait = u64::try_from(wall.saturating_sub(self.wall)).unwrap_or(0);
        self.mono.checked_add(Duration::from_nanos(wait))
    }
}

/// What a service may do during one call.
pub struct Ctx<'a> {
    pub now: Now,
    service: u32,
    ordering: &'a mut dyn Ordering,
    outputs: &'a mut Vec<Output>,
}

impl<'a> Ctx<'a> {
    pub fn new(now: Now, service: u32, ordering: &'a mut dyn Ordering, outputs: &'a mut Vec<Output>) -> Ctx<'a> {
        Ctx { now, service, ordering, outputs }
    }

    /// Answers request `id` with `error` followed by `payload`.
    pub fn reply(&mut self, conn: ConnId, id: u32, error: u32, payload: &[u8]) {
        let mut body = Vec::with_capacity(4 + payload.len());
        body.extend_from_slice(&error.to_le_bytes());
        body.extend_from_slice(payload);
        self.outputs.push(Output::Reply { conn, id, body });
    }

    /// Answers request `id` with a body that already starts with the error.
    pub fn reply_body(&mut self, conn: ConnId, id: u32, body: Vec<u8>) {
        self.outputs.push(Output::Reply { conn, id, body });
    }

    /// Queues a callback on the connection's dispatch channel.
    pub fn dispatch(&mut self, conn: ConnId, id: u32, body: Vec<u8>) {
        self.outputs.push(Output::Dispatch { conn, id, body });
    }

    pub fn disconnect(&mut self, conn: ConnId) {
        self.outputs.push(Output::Disconnect { conn });
    }

    /// Submits `msg` for ordered delivery to this service on every node
    /// (this one included), tagged with the service id.
    pub fn submit<M: Encode + ?Sized>(&mut self, msg: &M, guarantee: Guarantee) -> Result<(), QueueFull> {
        self.ordering.submit(self.tagged(msg), guarantee)
    }

    /// [`Ctx::submit`] for a message whose client was answered already:
    /// nobody waits for its delivery (see [`Ordering::submit_answered`]).
    pub fn submit_answered<M: Encode + ?Sized>(&mut self, msg: &M, guarantee: Guarantee) -> Result<(), QueueFull> {
        self.ordering.submit_answered(self.tagged(msg), guarantee)
    }

    /// Submits a message of client `conn` that must not be refused for
    /// flow control (the client libraries pipeline multicasts and have
    /// already told the application OK): queued even past the queue's
    /// limit, and then the connection is held (its requests stay unread in
    /// the socket) until the queue has room. So the overshoot is at most
    /// what was read from each client in one turn, and a sender that
    /// outpaces the ring waits instead of getting `TRY_AGAIN`.
    pub fn submit_or_hold<M: Encode + ?Sized>(
        &mut self,
        conn: ConnId,
        msg: &M,
        guarantee: Guarantee,
    ) -> Result<(), QueueFull> {
        self.ordering.submit_past_limit(self.tagged(msg), guarantee)?;
        if !self.ordering.has_room() {
            self.outputs.push(Output::Hold { conn });
        }
        Ok(())
    }

    /// `msg` written after the service id (see [`split_routed`]), in the
    /// buffer that goes to the ordering layer as it is.
    fn tagged<M: Encode + ?Sized>(&self, msg: &M) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(self.service);
        msg.encode_into(&mut w);
        w.into_vec()
    }

    pub fn local_node(&self) -> NodeId {
        self.ordering.local_node()
    }

    pub fn cluster_status(&self) -> ClusterStatus {
        self.ordering.status()
    }

    /// Re-enables this node's FAULTY redundant rings (CFG service only).
    pub fn reenable_rings(&mut self) -> usize {
        self.ordering.reenable_rings()
    }
}

/// A message a service submits for ordering ([`Ctx::submit`]). It writes
/// itself straight after the routing header, into the buffer that goes to
/// Totem, so submitting copies nothing: a message on a data path (a
/// multicast, a checkpoint write) implements this rather than encoding
/// into a `Vec` of its own first.
pub trait Encode {
    /// Appends the message to `w`.
    fn encode_into(&self, w: &mut Writer);

    /// The message alone, as the receiving service gets it.
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_into(&mut w);
        w.into_vec()
    }
}

/// Bytes as they are (a fixed message, or one encoded beforehand, which is
/// then copied once more).
impl Encode for [u8] {
    fn encode_into(&self, w: &mut Writer) {
        w.raw(self);
    }
}

impl<const N: usize> Encode for [u8; N] {
    fn encode_into(&self, w: &mut Writer) {
        w.raw(self);
    }
}

impl Encode for Vec<u8> {
    fn encode_into(&self, w: &mut Writer) {
        w.raw(self);
    }
}

/// Splits a delivered message into its service id and payload.
pub fn split_routed(msg: &[u8]) -> Option<(u32, &[u8])> {
    let (head, payload) = msg.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head), payload))
}

/// One executive service. All methods run on the main thread.
pub trait Service {
    /// The service id (`ais_ipc::service::*`).
    fn id(&self) -> u32;
    /// Short name for logs.
    fn name(&self) -> &'static str;

    /// A library connection finished its handshake (both channels).
    fn conn_opened(&mut self, _ctx: &mut Ctx<'_>, _conn: &ConnInfo) {}

    /// A request arrived on `conn`'s request channel. Answer with
    /// `ctx.reply*` now or after the submitted message is delivered.
    fn lib_request(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg_id: u32, body: &[u8]) -> Result<(), RequestError>;

    /// An ordered message this service submitted (here or on another
    /// node) is delivered; `payload` has the service prefix removed.
    fn deliver(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, payload: &[u8]);

    /// The membership changed (delivered in order with messages).
    fn config_change(&mut self, ctx: &mut Ctx<'_>, change: &ConfigChange);

    /// The quorum after a configuration change, given just before
    /// [`Service::config_change`] (and once at start): its status and
    /// rules. A service whose state is replicated changes it only while
    /// quorate (the replicated engine does this for its services).
    fn quorum(&mut self, _quorum: &crate::quorum::Tracker) {}

    /// The connection is gone (client exit, crash, protocol error or
    /// shutdown). Drop everything held for it; never reply to it again.
    fn conn_closed(&mut self, ctx: &mut Ctx<'_>, conn: ConnId);

    /// When this service next needs [`Service::handle_timeout`] (section
    /// expiration, retention, request deadlines), seen at `now`. Local
    /// time: anything that must happen at the same point on every node is
    /// done by submitting an ordered message from the timeout, not by
    /// changing state here.
    fn poll_timeout(&self, _now: Now) -> Option<Instant> {
        None
    }

    /// `ctx.now` has reached the deadline of [`Service::poll_timeout`].
    fn handle_timeout(&mut self, _ctx: &mut Ctx<'_>) {}

    /// Sync, step 1: a regular configuration was installed; prepare to
    /// bring joining nodes up to date. Until `sync_activate`, the service
    /// should answer state-changing requests with `TRY_AGAIN`.
    fn sync_init(&mut self, _ctx: &mut Ctx<'_>, _change: &ConfigChange) {}

    /// Sync, step 2: submit state for the new members; called until it
    /// returns [`SyncStep::Done`] on every node.
    fn sync_process(&mut self, _ctx: &mut Ctx<'_>) -> SyncStep {
        SyncStep::Done
    }

    /// Sync, step 3: every node is done; switch to the synced state.
    fn sync_activate(&mut self, _ctx: &mut Ctx<'_>) {}

    /// Sync was interrupted by another configuration change; discard
    /// partial sync state (it restarts with `sync_init`).
    fn sync_abort(&mut self, _ctx: &mut Ctx<'_>) {}

    /// Live statistics of this service's state (`ais-cfgtool -S`, the
    /// metrics endpoint), names without the `service.<name>.` prefix.
    fn stats(&self, _out: &mut Vec<ais_ipc::cfg::Stat>) {}
}

/// A boxed service is a service (the registry hands out boxes; the test
/// kit drives any service).
impl<T: Service + ?Sized> Service for Box<T> {
    fn id(&self) -> u32 {
        (**self).id()
    }
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn conn_opened(&mut self, ctx: &mut Ctx<'_>, conn: &ConnInfo) {
        (**self).conn_opened(ctx, conn)
    }
    fn lib_request(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg_id: u32, body: &[u8]) -> Result<(), RequestError> {
        (**self).lib_request(ctx, conn, msg_id, body)
    }
    fn deliver(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, payload: &[u8]) {
        (**self).deliver(ctx, sender, payload)
    }
    fn config_change(&mut self, ctx: &mut Ctx<'_>, change: &ConfigChange) {
        (**self).config_change(ctx, change)
    }
    fn quorum(&mut self, quorum: &crate::quorum::Tracker) {
        (**self).quorum(quorum)
    }
    fn conn_closed(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        (**self).conn_closed(ctx, conn)
    }
    fn poll_timeout(&self, now: Now) -> Option<Instant> {
        (**self).poll_timeout(now)
    }
    fn handle_timeout(&mut self, ctx: &mut Ctx<'_>) {
        (**self).handle_timeout(ctx)
    }
    fn sync_init(&mut self, ctx: &mut Ctx<'_>, change: &ConfigChange) {
        (**self).sync_init(ctx, change)
    }
    fn sync_process(&mut self, ctx: &mut Ctx<'_>) -> SyncStep {
        (**self).sync_process(ctx)
    }
    fn sync_activate(&mut self, ctx: &mut Ctx<'_>) {
        (**self).sync_activate(ctx)
    }
    fn sync_abort(&mut self, ctx: &mut Ctx<'_>) {
        (**self).sync_abort(ctx)
    }

    fn stats(&self, out: &mut Vec<ais_ipc::cfg::Stat>) {
        (**self).stats(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ordering::{ClusterEvent, Loopback};

    #[test]
    fn submit_prefixes_service_and_split_recovers_it() {
        let mut lb = Loopback::new(1, "127.0.0.1".into());
        let mut out = Vec::new();
        let mut ctx = Ctx::new(Now::read(), 7, &mut lb, &mut out);
        ctx.submit(b"xyz", Guarantee::Agreed).unwrap();
        ctx.reply(ConnId(3), 9, ais_ipc::error::OK, b"p");
        assert_eq!(out, vec![Output::Reply { conn: ConnId(3), id: 9, body: vec![1, 0, 0, 0, b'p'] }]);
        lb.poll_event();
        lb.handle_timeout(Instant::now());
        let Some(ClusterEvent::Deliver { payload, .. }) = lb.poll_event() else { panic!() };
        assert_eq!(split_routed(&payload), Some((7, &b"xyz"[..])));
        assert_eq!(split_routed(&[1, 2]), None);
    }

    /// A message that encodes itself: a length-prefixed body.
    struct Body<'a>(&'a [u8]);

    impl Encode for Body<'_> {
        fn encode_into(&self, w: &mut Writer) {
            w.bytes(self.0);
        }
    }

    #[test]
    fn an_encoding_message_is_written_after_the_service_id() {
        let mut lb = Loopback::new(1, "127.0.0.1".into());
        lb.poll_event();
        let mut out = Vec::new();
        let mut ctx = Ctx::new(Now::read(), 9, &mut lb, &mut out);
        ctx.submit(&Body(b"ab"), Guarantee::Agreed).unwrap();
        ctx.submit_or_hold(ConnId(1), &Body(b""), Guarantee::Safe).unwrap();
        ctx.submit(&vec![5u8, 6], Guarantee::Agreed).unwrap();
        lb.handle_timeout(Instant::now());
        let delivered: Vec<Vec<u8>> = std::iter::from_fn(|| match lb.poll_event() {
            Some(ClusterEvent::Deliver { payload, .. }) => Some(payload),
            _ => None,
        })
        .collect();
        assert_eq!(
            delivered,
            vec![vec![9, 0, 0, 0, 2, 0, 0, 0, b'a', b'b'], vec![9, 0, 0, 0, 0, 0, 0, 0], vec![9, 0, 0, 0, 5, 6],]
        );
        assert_eq!(split_routed(&delivered[0]), Some((9, &Body(b"ab").encode()[..])));
    }
}
