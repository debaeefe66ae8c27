//! Messages of the cluster membership service ([`crate::service::CLM`]),
//! shared by `aisexec` and `libSaClm`.
//!
//! Requests (library -> executive, request channel; every response body
//! starts with a `u32` error, the rest is present only if it is `OK`):
//! ```text
//! TRACK_START      u8 flags, bool current_in_reply, u32 capacity
//!                  -> TrackReply: nothing, or (CURRENT and current_in_reply)
//!                     u8 1 + View, or u8 2 + u32 needed when the view has
//!                     more than `capacity` nodes (tracking then not started)
//! TRACK_STOP       (empty)           -> ()
//! NODE_GET         u32 node_id       -> Node
//! NODE_GET_ASYNC   u64 invocation, u32 node_id -> ()  (then NODE_GET_CALLBACK)
//! ```
//! Callbacks (executive -> library, dispatch channel):
//! ```text
//! TRACK_CALLBACK     u32 error, u32 number_of_members, View
//! NODE_GET_CALLBACK  u64 invocation, u32 error, [Node if error is OK]
//! ```
//! Shapes:
//! ```text
//! View  u64 view_number, u32 count <= MAX_NODES, count x (Node, u32 change)
//! Node  u32 node_id, u32 family (1 inet, 2 inet6),
//!       u32 len + address text (<= MAX_ADDRESS), u32 len + name (<= MAX_NAME),
//!       bool member, i64 boot_timestamp, u64 initial_view
//! ```
//! Between executives (ordered, see the CLM service): [`NodeInfo`].

use crate::codec::{DecodeError, Reader, Writer};

pub const TRACK_START: u32 = 1;
pub const TRACK_STOP: u32 = 2;
pub const NODE_GET: u32 = 3;
pub const NODE_GET_ASYNC: u32 = 4;

pub const TRACK_CALLBACK: u32 = 10;
pub const NODE_GET_CALLBACK: u32 = 11;

/// Track flags (`SA_TRACK_*` of `saAis.h`).
pub const TRACK_CURRENT: u8 = 0x01;
pub const TRACK_CHANGES: u8 = 0x02;
pub const TRACK_CHANGES_ONLY: u8 = 0x04;

/// `SaClmNodeAddressFamilyT` values.
pub const AF_INET: u32 = 1;
pub const AF_INET6: u32 = 2;

/// `SaClmClusterChangesT` values.
pub const NODE_NO_CHANGE: u32 = 1;
pub const NODE_JOINED: u32 = 2;
pub const NODE_LEFT: u32 = 3;
pub const NODE_RECONFIGURED: u32 = 4;

/// `SA_CLM_LOCAL_NODE_ID`.
pub const LOCAL_NODE_ID: u32 = 0xffff_ffff;

/// Most nodes a view can list.
pub const MAX_NODES: usize = 1024;
/// `SA_CLM_MAX_ADDRESS_LENGTH`.
pub const MAX_ADDRESS: usize = 64;
/// `SA_MAX_NAME_LENGTH`.
pub const MAX_NAME: usize = 256;
/// Smallest encoded node (empty address and name).
const MIN_NODE_SIZE: usize = 4 + 4 + 4 + 4 + 1 + 8 + 8;

/// Checks a track-flags byte: exactly the spec's combinations (CURRENT,
/// CHANGES or CHANGES_ONLY but not both, nothing else). `false` is
/// `SA_AIS_ERR_BAD_FLAGS`.
pub fn track_flags_valid(flags: u8) -> bool {
    let known = TRACK_CURRENT | TRACK_CHANGES | TRACK_CHANGES_ONLY;
    flags != 0
        && flags & !known == 0
        && flags & (TRACK_CHANGES | TRACK_CHANGES_ONLY) != (TRACK_CHANGES | TRACK_CHANGES_ONLY)
}

/// One cluster node, as `SaClmClusterNodeT` carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub node_id: u32,
    pub family: u32,
    /// The address in text form (dotted decimal or IPv6 text).
    pub address: Vec<u8>,
    pub name: Vec<u8>,
    pub member: bool,
    /// Nanoseconds since the epoch.
    pub boot_timestamp: i64,
    pub initial_view: u64,
}

impl Node {
    pub fn encode(&self, w: &mut Writer) {
        let address = &self.address[..self.address.len().min(MAX_ADDRESS)];
        let name = &self.name[..self.name.len().min(MAX_NAME)];
        w.u32(self.node_id)
            .u32(self.family)
            .bytes(address)
            .bytes(name)
            .bool(self.member)
            .i64(self.boot_timestamp)
            .u64(self.initial_view);
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Node, DecodeError> {
        let node_id = r.u32("node_id")?;
        let family = r.u32("family")?;
        if family != AF_INET && family != AF_INET6 {
            return Err(DecodeError::BadValue { what: "family", value: family.into() });
        }
        let address = r.bytes(MAX_ADDRESS, "address")?.to_vec();
        let name = r.bytes(MAX_NAME, "name")?.to_vec();
        Ok(Node {
            node_id,
            family,
            address,
            name,
            member: r.bool("member")?,
            boot_timestamp: r.i64("boot_timestamp")?,
            initial_view: r.u64("initial_view")?,
        })
    }
}

/// A view: its number and each node with what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct View {
    pub view_number: u64,
    pub items: Vec<(Node, u32)>,
}

impl View {
    pub fn encode(&self, w: &mut Writer) {
        let items = &self.items[..self.items.len().min(MAX_NODES)];
        w.u64(self.view_number).u32(items.len() as u32);
        for (node, change) in items {
            node.encode(w);
            w.u32(*change);
        }
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<View, DecodeError> {
        let view_number = r.u64("view_number")?;
        let n = r.count(MAX_NODES, MIN_NODE_SIZE + 4, "node_count")?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            let node = Node::decode(r)?;
            let change = r.u32("change")?;
            if !(NODE_NO_CHANGE..=NODE_RECONFIGURED).contains(&change) {
                return Err(DecodeError::BadValue { what: "change", value: change.into() });
            }
            items.push((node, change));
        }
        Ok(View { view_number, items })
    }
}

/// `TRACK_START` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackStart {
    pub flags: u8,
    /// The library has a buffer: answer `CURRENT` in the response rather
    /// than by callback.
    pub current_in_reply: bool,
    /// Entries the caller's buffer holds (`u32::MAX`: the library
    /// allocates); a bigger view is answered [`TrackReply::NoSpace`].
    pub capacity: u32,
}

impl TrackStart {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(self.flags).bool(self.current_in_reply).u32(self.capacity);
        w.into_vec()
    }

    pub fn decode(body: &[u8]) -> Result<TrackStart, DecodeError> {
        let mut r = Reader::new(body);
        let t = TrackStart {
            flags: r.u8("flags")?,
            current_in_reply: r.bool("current_in_reply")?,
            capacity: r.u32("capacity")?,
        };
        r.finish()?;
        Ok(t)
    }
}

/// `NODE_GET` request body.
pub fn encode_node_get(node_id: u32) -> Vec<u8> {
    node_id.to_le_bytes().to_vec()
}

pub fn decode_node_get(body: &[u8]) -> Result<u32, DecodeError> {
    let mut r = Reader::new(body);
    let id = r.u32("node_id")?;
    r.finish()?;
    Ok(id)
}

/// `NODE_GET_ASYNC` request body.
pub fn encode_node_get_async(invocation: u64, node_id: u32) -> Vec<u8> {
    let mut w = Writer::new();
    w.u64(invocation).u32(node_id);
    w.into_vec()
}

pub fn decode_node_get_async(body: &[u8]) -> Result<(u64, u32), DecodeError> {
    let mut r = Reader::new(body);
    let v = (r.u64("invocation")?, r.u32("node_id")?);
    r.finish()?;
    Ok(v)
}

/// The payload of a successful `TRACK_START` response (after the error
/// word).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackReply {
    /// No current view asked for in the reply.
    Nothing,
    /// The current view.
    View(View),
    /// The caller's buffer is too small for the view; this many entries
    /// are needed.
    NoSpace(u32),
}

const REPLY_VIEW: u8 = 1;
const REPLY_NO_SPACE: u8 = 2;

impl TrackReply {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            TrackReply::Nothing => {}
            TrackReply::View(v) => {
                w.u8(REPLY_VIEW);
                v.encode(&mut w);
            }
            TrackReply::NoSpace(n) => {
                w.u8(REPLY_NO_SPACE).u32(*n);
            }
        }
        w.into_vec()
    }

    pub fn decode(payload: &[u8]) -> Result<TrackReply, DecodeError> {
        if payload.is_empty() {
            return Ok(TrackReply::Nothing);
        }
        let mut r = Reader::new(payload);
        let reply = match r.u8("track_reply")? {
            REPLY_VIEW => TrackReply::View(View::decode(&mut r)?),
            REPLY_NO_SPACE => TrackReply::NoSpace(r.u32("needed")?),
            other => return Err(DecodeError::BadValue { what: "track_reply", value: other.into() }),
        };
        r.finish()?;
        Ok(reply)
    }
}

/// The payload of a successful `NODE_GET` response.
pub fn encode_node(node: &Node) -> Vec<u8> {
    let mut w = Writer::new();
    node.encode(&mut w);
    w.into_vec()
}

pub fn decode_node(payload: &[u8]) -> Result<Node, DecodeError> {
    let mut r = Reader::new(payload);
    let n = Node::decode(&mut r)?;
    r.finish()?;
    Ok(n)
}

/// `TRACK_CALLBACK` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackCallback {
    pub error: u32,
    pub number_of_members: u32,
    pub view: View,
}

impl TrackCallback {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(self.error).u32(self.number_of_members);
        self.view.encode(&mut w);
        w.into_vec()
    }

    pub fn decode(body: &[u8]) -> Result<TrackCallback, DecodeError> {
        let mut r = Reader::new(body);
        let error = r.u32("error")?;
        let number_of_members = r.u32("number_of_members")?;
        let view = View::decode(&mut r)?;
        r.finish()?;
        Ok(TrackCallback { error, number_of_members, view })
    }
}

/// `NODE_GET_CALLBACK` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeGetCallback {
    pub invocation: u64,
    /// `Ok(node)` or the error the callback reports.
    pub result: Result<Node, u32>,
}

impl NodeGetCallback {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u64(self.invocation);
        match &self.result {
            Ok(node) => {
                w.u32(crate::error::OK);
                node.encode(&mut w);
            }
            Err(e) => {
                w.u32(*e);
            }
        }
        w.into_vec()
    }

    pub fn decode(body: &[u8]) -> Result<NodeGetCallback, DecodeError> {
        let mut r = Reader::new(body);
        let invocation = r.u64("invocation")?;
        let error = r.u32("error")?;
        let result = if error == crate::error::OK {
            Ok(Node::decode(&mut r)?)
        } else if error == 0 || error > crate::error::NO_SECTIONS {
            return Err(DecodeError::BadValue { what: "error", value: error.into() });
        } else {
            Err(error)
        };
        r.finish()?;
        Ok(NodeGetCallback { invocation, result })
    }
}

/// What each executive submits, in order, after every regular
/// configuration change: itself, as the other members must list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// The ring this announcement belongs to (stale ones are ignored).
    pub ring_rep: u32,
    pub ring_seq: u64,
    /// The sender's view number before this configuration.
    pub last_view: u64,
    /// The view in which the sender first became a member; 0 if it has
    /// not been in any view yet.
    pub initial_view: u64,
    pub family: u32,
    pub address: Vec<u8>,
    pub name: Vec<u8>,
    pub boot_timestamp: i64,
}

/// Kind byte of [`NodeInfo`] (room for more executive messages).
pub const EXEC_NODE_INFO: u8 = 1;

impl NodeInfo {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(EXEC_NODE_INFO)
            .u32(self.ring_rep)
            .u64(self.ring_seq)
            .u64(self.last_view)
            .u64(self.initial_view)
            .u32(self.family)
            .bytes(&self.address[..self.address.len().min(MAX_ADDRESS)])
            .bytes(&self.name[..self.name.len().min(MAX_NAME)])
            .i64(self.boot_timestamp);
        w.into_vec()
    }

    pub fn decode(body: &[u8]) -> Result<NodeInfo, DecodeError> {
        let mut r = Reader::new(body);
        let kind = r.u8("kind")?;
        if kind != EXEC_NODE_INFO {
            return Err(DecodeError::BadValue { what: "kind", value: kind.into() });
        }
        let info = NodeInfo {
            ring_rep: r.u32("ring_rep")?,
            ring_seq: r.u64("ring_seq")?,
            last_view: r.u64("last_view")?,
            initial_view: r.u64("initial_view")?,
            family: r.u32("family")?,
            address: r.bytes(MAX_ADDRESS, "address")?.to_vec(),
            name: r.bytes(MAX_NAME, "name")?.to_vec(),
            boot_timestamp: r.i64("boot_timestamp")?,
        };
        if info.family != AF_INET && info.family != AF_INET6 {
            return Err(DecodeError::BadValue { what: "family", value: info.family.into() });
        }
        r.finish()?;
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u32) -> Node {
        Node {
            node_id: id,
            family: AF_INET6,
            address: b"fe80::1".to_vec(),
            name: b"host-a".to_vec(),
            member: true,
            boot_timestamp: 1_700_000_000_000_000_000,
            initial_view: 3,
        }
    }

    fn every_prefix_fails<T: std::fmt::Debug>(body: &[u8], decode: impl Fn(&[u8]) -> Result<T, DecodeError>) {
        for len in 0..body.len() {
            assert!(decode(&body[..len]).is_err(), "prefix {len} accepted");
        }
        let mut long = body.to_vec();
        long.push(0);
        assert!(decode(&long).is_err(), "trailing byte accepted");
    }

    #[test]
    fn flags() {
        for ok in [1, 2, 3, 4, 5] {
            assert!(track_flags_valid(ok), "{ok}");
        }
        for bad in [0, 6, 7, 8, 9, 0x80, 0xff] {
            assert!(!track_flags_valid(bad), "{bad}");
        }
    }

    #[test]
    fn requests_round_trip_and_reject_truncation() {
        let t = TrackStart { flags: 3, current_in_reply: true, capacity: 9 };
        assert_eq!(TrackStart::decode(&t.encode()), Ok(t));
        every_prefix_fails(&t.encode(), TrackStart::decode);
        assert!(TrackStart::decode(&[1, 2, 0, 0, 0, 0]).is_err(), "bool 2");
        assert_eq!(decode_node_get(&encode_node_get(7)), Ok(7));
        every_prefix_fails(&encode_node_get(7), decode_node_get);
        assert_eq!(decode_node_get_async(&encode_node_get_async(9, 2)), Ok((9, 2)));
        every_prefix_fails(&encode_node_get_async(9, 2), decode_node_get_async);
    }

    #[test]
    fn callbacks_round_trip_and_reject_truncation() {
        let cb = TrackCallback {
            error: crate::error::OK,
            number_of_members: 1,
            view: View { view_number: 4, items: vec![(node(1), NODE_JOINED), (node(2), NODE_LEFT)] },
        };
        assert_eq!(TrackCallback::decode(&cb.encode()), Ok(cb.clone()));
        every_prefix_fails(&cb.encode(), TrackCallback::decode);
        let g = NodeGetCallback { invocation: 5, result: Ok(node(3)) };
        assert_eq!(NodeGetCallback::decode(&g.encode()), Ok(g.clone()));
        every_prefix_fails(&g.encode(), NodeGetCallback::decode);
        let e = NodeGetCallback { invocation: 5, result: Err(crate::error::NOT_EXIST) };
        assert_eq!(NodeGetCallback::decode(&e.encode()), Ok(e));
        let bad = NodeGetCallback { invocation: 5, result: Err(99) };
        assert!(NodeGetCallback::decode(&bad.encode()).is_err());
        let v = View { view_number: 2, items: vec![(node(1), NODE_NO_CHANGE)] };
        for reply in [TrackReply::View(v), TrackReply::NoSpace(3), TrackReply::Nothing] {
            assert_eq!(TrackReply::decode(&reply.encode()), Ok(reply.clone()));
            if reply != TrackReply::Nothing {
                every_prefix_fails(&reply.encode()[..], |b| match b {
                    [] => Err(DecodeError::Short { what: "test" }),
                    b => TrackReply::decode(b),
                });
            }
        }
        assert!(TrackReply::decode(&[3]).is_err());
        assert_eq!(decode_node(&encode_node(&node(4))), Ok(node(4)));
    }

    #[test]
    fn bad_values_and_hostile_counts_rejected() {
        let mut n = node(1);
        n.family = 3;
        assert!(decode_node(&encode_node(&n)).is_err());
        let mut w = Writer::new();
        w.u64(1).u32(u32::MAX);
        assert!(View::decode(&mut Reader::new(w.as_slice())).is_err());
        let mut w = Writer::new();
        w.u64(1).u32(1);
        node(1).encode(&mut w);
        w.u32(5); // change out of range
        assert!(View::decode(&mut Reader::new(w.as_slice())).is_err());
        let mut w = Writer::new();
        w.u32(1).u32(AF_INET).u32(65).raw(&[b'1'; 65]);
        assert!(matches!(Node::decode(&mut Reader::new(w.as_slice())), Err(DecodeError::TooLong { .. })));
    }

    #[test]
    fn long_fields_are_clipped_so_they_decode() {
        let mut n = node(1);
        n.address = vec![b'a'; 100];
        n.name = vec![b'b'; 300];
        let d = decode_node(&encode_node(&n)).unwrap();
        assert_eq!((d.address.len(), d.name.len()), (MAX_ADDRESS, MAX_NAME));
    }

    #[test]
    fn node_info_round_trip() {
        let i = NodeInfo {
            ring_rep: 1,
            ring_seq: 8,
            last_view: 2,
            initial_view: 1,
            family: AF_INET,
            address: b"10.0.0.1".to_vec(),
            name: b"n1".to_vec(),
            boot_timestamp: 5,
        };
        assert_eq!(NodeInfo::decode(&i.encode()), Ok(i.clone()));
        every_prefix_fails(&i.encode(), NodeInfo::decode);
        let mut other = i.encode();
        other[0] = 2;
        assert!(NodeInfo::decode(&other).is_err());
    }
}
