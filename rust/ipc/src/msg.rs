//! Messages of the message service ([`crate::service::MSG`]), shared by
//! `aisexec` and `libSaMsg`.
//!
//! Requests (library -> executive, request channel). Every response body
//! starts with a `u32` error; what follows is present only if it is `OK`.
//! `open` is the executive's id of one open queue (what a queue handle
//! names on the wire); names are queue or group names (`SaNameT` bytes).
//! ```text
//! OPEN          u64 token, bool async, bytes name, bool has_attrs, [Attrs], u32 flags
//!               -> u64 open             (async: -> (), then OPEN_CALLBACK)
//! CLOSE         u64 open                     -> ()
//! STATUS_GET    bytes name                   -> Status
//! UNLINK        bytes name                   -> ()
//! GROUP_CREATE  bytes group, u32 policy      -> ()
//! GROUP_INSERT  bytes group, bytes queue     -> ()
//! GROUP_REMOVE  bytes group, bytes queue     -> ()
//! GROUP_DELETE  bytes group                  -> ()
//! GROUP_TRACK   bytes group, u8 flags, bool current_in_reply
//!               -> bool has_members, [Members]  (else CURRENT comes by TRACK_CALLBACK)
//! TRACK_STOP    bytes group                  -> ()
//! SEND          bytes to, Message, u32 mode, u64 token -> ()
//!               (mode ACK: -> (), then DELIVERED_CALLBACK)
//! GET           u64 open, i64 timeout, u64 room -> Got
//! CANCEL        u64 open                     -> ()
//! SEND_RECEIVE  bytes to, Message, i64 timeout, u64 room -> Got (the reply)
//! REPLY         u64 sender_id, Message, u32 mode, u64 token -> ()
//! ```
//! Callbacks (executive -> library, dispatch channel):
//! ```text
//! OPEN_CALLBACK      u64 token, u32 error, u64 open
//! DELIVERED_CALLBACK u64 token, u32 error
//! RECEIVED_CALLBACK  u64 open
//! TRACK_CALLBACK     bytes group, u32 error, Members
//! ```
//! `Attrs`: u32 creation_flags, 4 x u64 size, i64 retention.
//! `Status`: Attrs, i64 close_time, 4 x (u64 used, u32 messages).
//! `Message`: u32 type, u32 version, u8 priority, bool has_sender_name,
//! [bytes sender_name], bytes data.
//! `Got`: u32 result; OK: Message, i64 send_time, u64 sender_id;
//! NO_SPACE: u64 size needed (the message stays queued).
//! `Members`: u32 policy, u32 members, u32 n, n x (bytes queue, u32 change).
//!
//! GET and SEND_RECEIVE carry their result inside an `OK` response, as a
//! too-small buffer must bring back the size needed. `room` is the most
//! data the caller can take (`u64::MAX`: the library allocates).
//! `timeout` in nanoseconds (`SA_TIME_END`: none).

use crate::codec::{DecodeError, Reader, Writer};

pub const OPEN: u32 = 1;
pub const CLOSE: u32 = 2;
pub const STATUS_GET: u32 = 3;
pub const UNLINK: u32 = 4;
pub const GROUP_CREATE: u32 = 5;
pub const GROUP_INSERT: u32 = 6;
pub const GROUP_REMOVE: u32 = 7;
pub const GROUP_DELETE: u32 = 8;
pub const GROUP_TRACK: u32 = 9;
pub const TRACK_STOP: u32 = 10;
pub const SEND: u32 = 11;
pub const GET: u32 = 12;
pub const CANCEL: u32 = 13;
pub const SEND_RECEIVE: u32 = 14;
pub const REPLY: u32 = 15;

pub const OPEN_CALLBACK: u32 = 20;
pub const DELIVERED_CALLBACK: u32 = 21;
pub const RECEIVED_CALLBACK: u32 = 22;
pub const TRACK_CALLBACK: u32 = 23;

/// `SA_MAX_NAME_LENGTH`.
pub const MAX_NAME: usize = 256;
/// Most data bytes of one message (the rest of an IPC or Totem message is
/// headers and names).
pub const MAX_DATA: usize = crate::frame::MAX_MESSAGE_SIZE - 64 * 1024;
/// Most members of one queue group.
pub const MAX_MEMBERS: usize = 4096;
/// Priority areas of a queue (priorities 0, highest, to 3).
pub const AREAS: usize = 4;
/// `SA_TIME_END`: no timeout.
pub const TIME_END: i64 = i64::MAX;

/// Creation flags (`SA_MSG_QUEUE_PERSISTENT`).
pub const PERSISTENT: u32 = 0x1;
/// Open flags.
pub const OPEN_CREATE: u32 = 0x1;
pub const OPEN_RECEIVE_CALLBACK: u32 = 0x2;
pub const OPEN_EMPTY: u32 = 0x4;
/// Ack flags (`SA_MSG_MESSAGE_DELIVERED_ACK`).
pub const DELIVERED_ACK: u32 = 0x1;

/// Group policies (`SaMsgQueueGroupPolicyT`).
pub const ROUND_ROBIN: u32 = 1;
pub const LOCAL_ROUND_ROBIN: u32 = 2;
pub const LOCAL_BEST_QUEUE: u32 = 3;
pub const BROADCAST: u32 = 4;
/// Member changes (`SaMsgQueueGroupChangesT`).
pub const NO_CHANGE: u32 = 1;
pub const ADDED: u32 = 2;
pub const REMOVED: u32 = 3;
pub const STATE_CHANGED: u32 = 4;

/// Track flags (`SA_TRACK_*` of `saAis.h`).
pub const TRACK_CURRENT: u8 = 0x01;
pub const TRACK_CHANGES: u8 = 0x02;
pub const TRACK_CHANGES_ONLY: u8 = 0x04;

/// How a send is answered.
pub const MODE_SYNC: u32 = 0;
/// `...Async` without `SA_MSG_MESSAGE_DELIVERED_ACK`: nothing after `OK`.
pub const MODE_ASYNC: u32 = 1;
/// `...Async` with `SA_MSG_MESSAGE_DELIVERED_ACK`: `DELIVERED_CALLBACK`.
pub const MODE_ACK: u32 = 2;

/// Whether `flags` are valid track flags (one or more of the three, CHANGES
/// and CHANGES_ONLY not both).
pub fn track_flags_valid(flags: u8) -> bool {
    let known = TRACK_CURRENT | TRACK_CHANGES | TRACK_CHANGES_ONLY;
    flags != 0
        && flags & !known == 0
        && flags & (TRACK_CHANGES | TRACK_CHANGES_ONLY) != (TRACK_CHANGES | TRACK_CHANGES_ONLY)
}

/// The checks of an open's name, attributes and flags (library and
/// executive make the same): an error code, or `OK`.
pub fn validate_open(name: &[u8], attrs: Option<&Attrs>, flags: u32) -> u32 {
    use crate::error;
    if flags & !(OPEN_CREATE | OPEN_RECEIVE_CALLBACK | OPEN_EMPTY) != 0 {
        return error::BAD_FLAGS;
    }
    // Attributes exactly when creating.
    if name.is_empty() || (flags & OPEN_CREATE != 0) != attrs.is_some() {
        return error::INVALID_PARAM;
    }
    match attrs {
        Some(a) if a.creation_flags & !PERSISTENT != 0 => error::BAD_FLAGS,
        Some(a) if a.retention < 0 => error::INVALID_PARAM,
        _ => error::OK,
    }
}

/// A queue's creation attributes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs {
    pub creation_flags: u32,
    /// Capacity of each priority area, in data bytes.
    pub size: [u64; AREAS],
    pub retention: i64,
}

impl Attrs {
    pub fn encode(&self, w: &mut Writer) {
        w.u32(self.creation_flags);
        for s in self.size {
            w.u64(s);
        }
        w.i64(self.retention);
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Attrs, DecodeError> {
        let creation_flags = r.u32("creation flags")?;
        let mut size = [0; AREAS];
        for s in &mut size {
            *s = r.u64("area size")?;
        }
        Ok(Attrs { creation_flags, size, retention: r.i64("retention")? })
    }
}

/// What `saMsgQueueStatusGet` reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    pub attrs: Attrs,
    pub close_time: i64,
    /// Per area: bytes used and messages.
    pub usage: [(u64, u32); AREAS],
}

impl Status {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.attrs.encode(&mut w);
        w.i64(self.close_time);
        for (used, n) in self.usage {
            w.u64(used).u32(n);
        }
        w.into_vec()
    }

    pub fn decode(body: &[u8]) -> Result<Status, DecodeError> {
        let mut r = Reader::new(body);
        let attrs = Attrs::decode(&mut r)?;
        let close_time = r.i64("close time")?;
        let mut usage = [(0, 0); AREAS];
        for u in &mut usage {
            *u = (r.u64("used")?, r.u32("messages")?);
        }
        r.finish()?;
        Ok(Status { attrs, close_time, usage })
    }
}

/// One message as sent and received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub kind: u32,
    pub version: u32,
    pub priority: u8,
    pub sender_name: Option<Vec<u8>>,
    pub data: Vec<u8>,
}

impl Message {
    pub fn encode(&self, w: &mut Writer) {
        w.u32(self.kind).u32(self.version).u8(self.priority).bool(self.sender_name.is_some());
        if let Some(n) = &self.sender_name {
            w.bytes(n);
        }
        w.bytes(&self.data);
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Message, DecodeError> {
        let kind = r.u32("type")?;
        let version = r.u32("version")?;
        let priority = r.u8("priority")?;
        if usize::from(priority) >= AREAS {
            return Err(DecodeError::BadValue { what: "priority", value: priority.into() });
        }
        let sender_name =
            if r.bool("has sender name")? { Some(r.bytes(MAX_NAME, "sender name")?.to_vec()) } else { None };
        let data = r.bytes(MAX_DATA, "data")?.to_vec();
        Ok(Message { kind, version, priority, sender_name, data })
    }
}

/// A message taken from a queue, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Message {
        msg: Message,
        send_time: i64,
        sender_id: u64,
    },
    /// The caller's buffer is too small: this many bytes are needed.
    NoSpace(u64),
}

impl Got {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Got::Message { msg, send_time, sender_id } => {
                w.u32(crate::error::OK);
                msg.encode(&mut w);
                w.i64(*send_time).u64(*sender_id);
            }
            Got::NoSpace(needed) => {
                w.u32(crate::error::NO_SPACE).u64(*needed);
            }
        }
        w.into_vec()
    }

    pub fn decode(body: &[u8]) -> Result<Got, DecodeError> {
        let mut r = Reader::new(body);
        let got = match r.u32("result")? {
            crate::error::OK => {
                let msg = Message::decode(&mut r)?;
                Got::Message { msg, send_time: r.i64("send time")?, sender_id: r.u64("sender id")? }
            }
            crate::error::NO_SPACE => Got::NoSpace(r.u64("size needed")?),
            other => return Err(DecodeError::BadValue { what: "get result", value: other.into() }),
        };
        r.finish()?;
        Ok(got)
    }
}

/// A group's members as tracking reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    pub policy: u32,
    /// Members of the group now (the callback's `numberOfMembers`).
    pub members: u32,
    /// (queue name, change) of each reported entry.
    pub items: Vec<(Vec<u8>, u32)>,
}

impl Members {
    pub fn encode(&self, w: &mut Writer) {
        w.u32(self.policy).u32(self.members).u32(self.items.len() as u32);
        for (name, change) in &self.items {
            w.bytes(name).u32(*change);
        }
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Members, DecodeError> {
        let policy = r.u32("policy")?;
        let members = r.u32("members")?;
        let n = r.count(MAX_MEMBERS, 8, "entries")?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push((r.bytes(MAX_NAME, "queue")?.to_vec(), r.u32("change")?));
        }
        Ok(Members { policy, members, items })
    }
}

/// A library request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Open { token: u64, is_async: bool, name: Vec<u8>, attrs: Option<Attrs>, flags: u32 },
    Close { open: u64 },
    StatusGet { name: Vec<u8> },
    Unlink { name: Vec<u8> },
    GroupCreate { group: Vec<u8>, policy: u32 },
    GroupInsert { group: Vec<u8>, queue: Vec<u8> },
    GroupRemove { group: Vec<u8>, queue: Vec<u8> },
    GroupDelete { group: Vec<u8> },
    GroupTrack { group: Vec<u8>, flags: u8, current_in_reply: bool },
    TrackStop { group: Vec<u8> },
    Send { to: Vec<u8>, msg: Message, mode: u32, token: u64 },
    Get { open: u64, timeout: i64, room: u64 },
    Cancel { open: u64 },
    SendReceive { to: Vec<u8>, msg: Message, timeout: i64, room: u64 },
    Reply { sender_id: u64, msg: Message, mode: u32, token: u64 },
}

fn name(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<u8>, DecodeError> {
    Ok(r.bytes(MAX_NAME, what)?.to_vec())
}

fn mode(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    match r.u32("mode")? {
        m @ (MODE_SYNC | MODE_ASYNC | MODE_ACK) => Ok(m),
        other => Err(DecodeError::BadValue { what: "send mode", value: other.into() }),
    }
}

impl Request {
    /// The request id (`OPEN`, ...).
    pub fn id(&self) -> u32 {
        match self {
            Request::Open { .. } => OPEN,
            Request::Close { .. } => CLOSE,
            Request::StatusGet { .. } => STATUS_GET,
            Request::Unlink { .. } => UNLINK,
            Request::GroupCreate { .. } => GROUP_CREATE,
            Request::GroupInsert { .. } => GROUP_INSERT,
            Request::GroupRemove { .. } => GROUP_REMOVE,
            Request::GroupDelete { .. } => GROUP_DELETE,
            Request::GroupTrack { .. } => GROUP_TRACK,
            Request::TrackStop { .. } => TRACK_STOP,
            Request::Send { .. } => SEND,
            Request::Get { .. } => GET,
            Request::Cancel { .. } => CANCEL,
            Request::SendReceive { .. } => SEND_RECEIVE,
            Request::Reply { .. } => REPLY,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Request::Open { token, is_async, name, attrs, flags } => {
                w.u64(*token).bool(*is_async).bytes(name).bool(attrs.is_some());
                if let Some(a) = attrs {
                    a.encode(&mut w);
                }
                w.u32(*flags);
            }
            Request::Close { open } | Request::Cancel { open } => {
                w.u64(*open);
            }
            Request::StatusGet { name } | Request::Unlink { name } => {
                w.bytes(name);
            }
            Request::GroupCreate { group, policy } => {
                w.bytes(group).u32(*policy);
            }
            Request::GroupInsert { group, queue } | Request::GroupRemove { group, queue } => {
                w.bytes(group).bytes(queue);
            }
            Request::GroupDelete { group } | Request::TrackStop { group } => {
                w.bytes(group);
            }
            Request::GroupTrack { group, flags, current_in_reply } => {
                w.bytes(group).u8(*flags).bool(*current_in_reply);
            }
            Request::Send { to, msg, mode, token } => {
                w.bytes(to);
                msg.encode(&mut w);
                w.u32(*mode).u64(*token);
            }
            Request::Get { open, timeout, room } => {
                w.u64(*open).i64(*timeout).u64(*room);
            }
            Request::SendReceive { to, msg, timeout, room } => {
                w.bytes(to);
                msg.encode(&mut w);
                w.i64(*timeout).u64(*room);
            }
            Request::Reply { sender_id, msg, mode, token } => {
                w.u64(*sender_id);
                msg.encode(&mut w);
                w.u32(*mode).u64(*token);
            }
        }
        w.into_vec()
    }

    pub fn decode(id: u32, body: &[u8]) -> Result<Request, DecodeError> {
        let mut r = Reader::new(body);
        let req = match id {
            OPEN => {
                let token = r.u64("token")?;
                let is_async = r.bool("async")?;
                let name = name(&mut r, "queue name")?;
                let attrs = if r.bool("has attrs")? { Some(Attrs::decode(&mut r)?) } else { None };
                Request::Open { token, is_async, name, attrs, flags: r.u32("flags")? }
            }
            CLOSE => Request::Close { open: r.u64("open")? },
            STATUS_GET => Request::StatusGet { name: name(&mut r, "queue name")? },
            UNLINK => Request::Unlink { name: name(&mut r, "queue name")? },
            GROUP_CREATE => Request::GroupCreate { group: name(&mut r, "group")?, policy: r.u32("policy")? },
            GROUP_INSERT => Request::GroupInsert { group: name(&mut r, "group")?, queue: name(&mut r, "queue")? },
            GROUP_REMOVE => Request::GroupRemove { group: name(&mut r, "group")?, queue: name(&mut r, "queue")? },
            GROUP_DELETE => Request::GroupDelete { group: name(&mut r, "group")? },
            GROUP_TRACK => Request::GroupTrack {
                group: name(&mut r, "group")?,
                flags: r.u8("flags")?,
                current_in_reply: r.bool("current in reply")?,
            },
            TRACK_STOP => Request::TrackStop { group: name(&mut r, "group")? },
            SEND => {
                let to = name(&mut r, "destination")?;
                let msg = Message::decode(&mut r)?;
                Request::Send { to, msg, mode: mode(&mut r)?, token: r.u64("token")? }
            }
            GET => Request::Get { open: r.u64("open")?, timeout: r.i64("timeout")?, room: r.u64("room")? },
            CANCEL => Request::Cancel { open: r.u64("open")? },
            SEND_RECEIVE => {
                let to = name(&mut r, "destination")?;
                let msg = Message::decode(&mut r)?;
                Request::SendReceive { to, msg, timeout: r.i64("timeout")?, room: r.u64("room")? }
            }
            REPLY => {
                let sender_id = r.u64("sender id")?;
                let msg = Message::decode(&mut r)?;
                Request::Reply { sender_id, msg, mode: mode(&mut r)?, token: r.u64("token")? }
            }
            other => return Err(DecodeError::BadValue { what: "msg request id", value: other.into() }),
        };
        r.finish()?;
        Ok(req)
    }
}

/// `OPEN_CALLBACK`.
pub fn encode_open_callback(token: u64, error: u32, open: u64) -> Vec<u8> {
    let mut w = Writer::new();
    w.u64(token).u32(error).u64(open);
    w.into_vec()
}

pub fn decode_open_callback(body: &[u8]) -> Result<(u64, u32, u64), DecodeError> {
    let mut r = Reader::new(body);
    let v = (r.u64("token")?, r.u32("error")?, r.u64("open")?);
    r.finish()?;
    Ok(v)
}

/// `DELIVERED_CALLBACK`.
pub fn encode_delivered_callback(token: u64, error: u32) -> Vec<u8> {
    let mut w = Writer::new();
    w.u64(token).u32(error);
    w.into_vec()
}

pub fn decode_delivered_callback(body: &[u8]) -> Result<(u64, u32), DecodeError> {
    let mut r = Reader::new(body);
    let v = (r.u64("token")?, r.u32("error")?);
    r.finish()?;
    Ok(v)
}

/// `RECEIVED_CALLBACK`.
pub fn encode_received_callback(open: u64) -> Vec<u8> {
    open.to_le_bytes().to_vec()
}

pub fn decode_received_callback(body: &[u8]) -> Result<u64, DecodeError> {
    let mut r = Reader::new(body);
    let open = r.u64("open")?;
    r.finish()?;
    Ok(open)
}

/// `TRACK_CALLBACK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackCallback {
    pub group: Vec<u8>,
    pub error: u32,
    pub members: Members,
}

impl TrackCallback {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes(&self.group).u32(self.error);
        self.members.encode(&mut w);
        w.into_vec()
    }

    pub fn decode(body: &[u8]) -> Result<TrackCallback, DecodeError> {
        let mut r = Reader::new(body);
        let group = name(&mut r, "group")?;
        let error = r.u32("error")?;
        let members = Members::decode(&mut r)?;
        r.finish()?;
        Ok(TrackCallback { group, error, members })
    }
}

/// The answer to `GROUP_TRACK`: the members when CURRENT was asked for in
/// the reply.
pub fn encode_track_reply(members: Option<&Members>) -> Vec<u8> {
    let mut w = Writer::new();
    w.bool(members.is_some());
    if let Some(m) = members {
        m.encode(&mut w);
    }
    w.into_vec()
}

pub fn decode_track_reply(body: &[u8]) -> Result<Option<Members>, DecodeError> {
    let mut r = Reader::new(body);
    let m = if r.bool("has members")? { Some(Members::decode(&mut r)?) } else { None };
    r.finish()?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message { kind: 7, version: 2, priority: 3, sender_name: Some(b"me".to_vec()), data: vec![1, 2, 3] }
    }

    fn samples() -> Vec<Request> {
        let attrs = Attrs { creation_flags: PERSISTENT, size: [1, 2, 3, 4], retention: 5 };
        vec![
            Request::Open { token: 1, is_async: true, name: b"q".to_vec(), attrs: Some(attrs), flags: 3 },
            Request::Open { token: 0, is_async: false, name: b"q".to_vec(), attrs: None, flags: 0 },
            Request::Close { open: 9 },
            Request::StatusGet { name: b"q".to_vec() },
            Request::Unlink { name: b"q".to_vec() },
            Request::GroupCreate { group: b"g".to_vec(), policy: BROADCAST },
            Request::GroupInsert { group: b"g".to_vec(), queue: b"q".to_vec() },
            Request::GroupRemove { group: b"g".to_vec(), queue: b"q".to_vec() },
            Request::GroupDelete { group: b"g".to_vec() },
            Request::GroupTrack { group: b"g".to_vec(), flags: TRACK_CHANGES, current_in_reply: true },
            Request::TrackStop { group: b"g".to_vec() },
            Request::Send { to: b"q".to_vec(), msg: message(), mode: MODE_ACK, token: 4 },
            Request::Get { open: 3, timeout: TIME_END, room: u64::MAX },
            Request::Cancel { open: 3 },
            Request::SendReceive { to: b"q".to_vec(), msg: Message::default(), timeout: 5, room: 6 },
            Request::Reply { sender_id: 8, msg: message(), mode: MODE_SYNC, token: 0 },
        ]
    }

    #[test]
    fn requests_round_trip_and_reject_cut_or_padded_bodies() {
        for req in samples() {
            let b = req.encode();
            assert_eq!(Request::decode(req.id(), &b), Ok(req.clone()));
            for cut in 0..b.len() {
                assert!(Request::decode(req.id(), &b[..cut]).is_err(), "{req:?} cut at {cut}");
            }
            let mut long = b.clone();
            long.push(0);
            assert!(Request::decode(req.id(), &long).is_err());
        }
        assert!(Request::decode(99, &[]).is_err());
    }

    #[test]
    fn bad_priorities_and_modes_are_refused() {
        let mut m = message();
        m.priority = 4;
        let bad = Request::Send { to: b"q".to_vec(), msg: m, mode: MODE_SYNC, token: 0 };
        assert!(Request::decode(SEND, &bad.encode()).is_err());
        let bad = Request::Send { to: b"q".to_vec(), msg: message(), mode: 3, token: 0 };
        assert!(Request::decode(SEND, &bad.encode()).is_err());
    }

    #[test]
    fn answers_and_callbacks_round_trip() {
        let got = Got::Message { msg: message(), send_time: -3, sender_id: 12 };
        assert_eq!(Got::decode(&got.encode()), Ok(got));
        assert_eq!(Got::decode(&Got::NoSpace(77).encode()), Ok(Got::NoSpace(77)));
        let s = Status { attrs: Attrs::default(), close_time: 4, usage: [(1, 2), (3, 4), (5, 6), (7, 8)] };
        assert_eq!(Status::decode(&s.encode()), Ok(s));
        let members = Members { policy: ROUND_ROBIN, members: 2, items: vec![(b"a".to_vec(), ADDED)] };
        let t = TrackCallback { group: b"g".to_vec(), error: 1, members: members.clone() };
        assert_eq!(TrackCallback::decode(&t.encode()), Ok(t));
        assert_eq!(decode_track_reply(&encode_track_reply(Some(&members))), Ok(Some(members)));
        assert_eq!(decode_open_callback(&encode_open_callback(1, 2, 3)), Ok((1, 2, 3)));
        assert_eq!(decode_delivered_callback(&encode_delivered_callback(1, 2)), Ok((1, 2)));
        assert_eq!(decode_received_callback(&encode_received_callback(5)), Ok(5));
    }

    #[test]
    fn track_flags() {
        assert!(track_flags_valid(TRACK_CURRENT));
        assert!(track_flags_valid(TRACK_CURRENT | TRACK_CHANGES_ONLY));
        assert!(!track_flags_valid(0));
        assert!(!track_flags_valid(TRACK_CHANGES | TRACK_CHANGES_ONLY));
        assert!(!track_flags_valid(0x08));
    }
}
