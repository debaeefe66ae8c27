//! Messages of the CPG service ([`crate::service::CPG`], closed process
//! groups), shared by `aisexec` and `libcpg`.
//!
//! Requests (library -> executive; the response body starts with the
//! `u32` `SaAisErrorT`, the rest is present only when it is `OK`):
//! ```text
//! JOIN            name                  -> (nothing)   answered once the join is ordered
//! LEAVE           name                  -> (nothing)   answered once the leave is ordered
//! MCAST           u32 guarantee, data   -> (nothing)   answered once queued for ordering
//! MEMBERSHIP_GET  name                  -> u32 n, n x (u32 node, u32 pid)
//! LOCAL_GET       (empty)               -> u32 node
//! FLOW_CONTROL_GET (empty)              -> u32 state (0 disabled, 1 enabled)
//! LIST_GROUPS     (empty)               -> u8 truncated, u32 g, g x (name, u32 n, n x (u32 node, u32 pid))
//! ```
//! (`LIST_GROUPS` is for `ais-cpgtool`: every group of the cluster and its
//! members, cut at [`MAX_DATA`] bytes with `truncated` set. `libcpg`
//! answers `cpg_flow_control_state_get` from its own count and does not
//! send `FLOW_CONTROL_GET`.)
//! Callbacks (executive -> library, one frame each on the dispatch channel):
//! ```text
//! DELIVER  name, u32 node, u32 pid, u8 own, data
//! CONFCHG  name, members, left, joined   each: u32 n, n x (u32 node, u32 pid, u32 reason)
//! ```
//! `name` is `u32 len` + `len <= NAME_MAX` bytes; `data` is `u32 len` +
//! `len <= MAX_DATA` bytes; lists hold at most [`MAX_LIST`] entries.
//! `own` is 1 on the first delivery of a message to the connection that
//! sent it (the library counts its own messages not yet dispatched, for
//! flow control), else 0.
//!
//! Errors are `SaAisErrorT` numbers; `libcpg` maps them to `cpg_error_t`
//! (the two differ, see `rust/capi/src/abi/cpg.rs`). Too many groups is
//! sent as `NO_RESOURCES` ([`ERR_TOO_MANY_GROUPS`]).

use crate::codec::{DecodeError, Reader, Writer};

pub const JOIN: u32 = 1;
pub const LEAVE: u32 = 2;
pub const MCAST: u32 = 3;
pub const MEMBERSHIP_GET: u32 = 4;
pub const LOCAL_GET: u32 = 5;
pub const FLOW_CONTROL_GET: u32 = 6;
pub const LIST_GROUPS: u32 = 7;

pub const DELIVER: u32 = 1;
pub const CONFCHG: u32 = 2;

/// Longest group name (`CPG_MAX_NAME_LENGTH`).
pub const NAME_MAX: usize = 128;
/// Largest message body a process may multicast: what fits one IPC frame
/// with the callback's other fields.
pub const MAX_DATA: usize = crate::MAX_MESSAGE_SIZE - 1024;
/// Most addresses in one list of a callback or a membership answer.
pub const MAX_LIST: usize = 4096;
/// `SaAisErrorT` on the wire meaning "too many groups" (`CPG_ERR_TOO_MANY_GROUPS`).
pub const ERR_TOO_MANY_GROUPS: u32 = crate::error::NO_RESOURCES;

/// Delivery guarantees (`cpg_guarantee_t`).
pub const GUARANTEE_MAX: u32 = 3;
pub const GUARANTEE_SAFE: u32 = 3;

/// `cpg_reason_t` values.
pub mod reason {
    pub const JOIN: u32 = 1;
    pub const LEAVE: u32 = 2;
    pub const NODEDOWN: u32 = 3;
    pub const NODEUP: u32 = 4;
    pub const PROCDOWN: u32 = 5;
}

/// A member of a group as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub node: u32,
    pub pid: u32,
    pub reason: u32,
}

/// A request, borrowing from the received body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    Join { name: &'a [u8] },
    Leave { name: &'a [u8] },
    Mcast { guarantee: u32, data: &'a [u8] },
    MembershipGet { name: &'a [u8] },
    LocalGet,
    FlowControlGet,
    ListGroups,
}

fn name<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], DecodeError> {
    r.bytes(NAME_MAX, "group name")
}

impl<'a> Request<'a> {
    pub fn id(&self) -> u32 {
        match self {
            Request::Join { .. } => JOIN,
            Request::Leave { .. } => LEAVE,
            Request::Mcast { .. } => MCAST,
            Request::MembershipGet { .. } => MEMBERSHIP_GET,
            Request::LocalGet => LOCAL_GET,
            Request::FlowControlGet => FLOW_CONTROL_GET,
            Request::ListGroups => LIST_GROUPS,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Request::Join { name } | Request::Leave { name } | Request::MembershipGet { name } => {
                w.bytes(name);
            }
            Request::Mcast { guarantee, data } => return encode_mcast(*guarantee, &[data]),
            Request::LocalGet | Request::FlowControlGet | Request::ListGroups => {}
        }
        w.into_vec()
    }

    /// `Ok(None)`: `id` is not a CPG request.
    pub fn decode(id: u32, body: &'a [u8]) -> Result<Option<Request<'a>>, DecodeError> {
        let mut r = Reader::new(body);
        let req = match id {
            JOIN => Request::Join { name: name(&mut r)? },
            LEAVE => Request::Leave { name: name(&mut r)? },
            MCAST => {
                let guarantee = r.u32("guarantee")?;
                if guarantee > GUARANTEE_MAX {
                    return Err(DecodeError::BadValue { what: "guarantee", value: guarantee.into() });
                }
                Request::Mcast { guarantee, data: r.bytes(MAX_DATA, "message")? }
            }
            MEMBERSHIP_GET => Request::MembershipGet { name: name(&mut r)? },
            LOCAL_GET => Request::LocalGet,
            FLOW_CONTROL_GET => Request::FlowControlGet,
            LIST_GROUPS => Request::ListGroups,
            _ => return Ok(None),
        };
        r.finish()?;
        Ok(Some(req))
    }
}

/// An `MCAST` body from the pieces of an iovec, copied once.
pub fn encode_mcast(guarantee: u32, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut w = Writer::new();
    w.u32(guarantee).u32(len as u32);
    for p in parts {
        w.raw(p);
    }
    w.into_vec()
}

fn put_list(w: &mut Writer, list: &[Address]) {
    let list = &list[..list.len().min(MAX_LIST)];
    w.u32(list.len() as u32);
    for a in list {
        w.u32(a.node).u32(a.pid).u32(a.reason);
    }
}

fn get_list(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<Address>, DecodeError> {
    let n = r.count(MAX_LIST, 12, what)?;
    let mut list = Vec::with_capacity(n);
    for _ in 0..n {
        list.push(Address { node: r.u32(what)?, pid: r.u32(what)?, reason: r.u32(what)? });
    }
    Ok(list)
}

/// A callback, borrowing from the received body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback<'a> {
    Deliver { name: &'a [u8], node: u32, pid: u32, own: bool, data: &'a [u8] },
    Confchg { name: &'a [u8], members: Vec<Address>, left: Vec<Address>, joined: Vec<Address> },
}

impl<'a> Callback<'a> {
    pub fn id(&self) -> u32 {
        match self {
            Callback::Deliver { .. } => DELIVER,
            Callback::Confchg { .. } => CONFCHG,
        }
    }

    /// The body; lists beyond [`MAX_LIST`] are cut so it always decodes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Callback::Deliver { name, node, pid, own, data } => {
                w.bytes(name).u32(*node).u32(*pid).bool(*own).bytes(data);
            }
            Callback::Confchg { name, members, left, joined } => {
                w.bytes(name);
                put_list(&mut w, members);
                put_list(&mut w, left);
                put_list(&mut w, joined);
            }
        }
        w.into_vec()
    }

    pub fn decode(id: u32, body: &'a [u8]) -> Result<Callback<'a>, DecodeError> {
        let mut r = Reader::new(body);
        let cb = match id {
            DELIVER => Callback::Deliver {
                name: name(&mut r)?,
                node: r.u32("node")?,
                pid: r.u32("pid")?,
                own: r.bool("own")?,
                data: r.bytes(MAX_DATA, "message")?,
            },
            CONFCHG => Callback::Confchg {
                name: name(&mut r)?,
                members: get_list(&mut r, "member list")?,
                left: get_list(&mut r, "left list")?,
                joined: get_list(&mut r, "joined list")?,
            },
            other => return Err(DecodeError::BadValue { what: "callback id", value: other.into() }),
        };
        r.finish()?;
        Ok(cb)
    }
}

/// The `MEMBERSHIP_GET` answer after the error word.
pub fn encode_members(members: &[(u32, u32)]) -> Vec<u8> {
    let members = &members[..members.len().min(MAX_LIST)];
    let mut w = Writer::new();
    w.u32(members.len() as u32);
    for (node, pid) in members {
        w.u32(*node).u32(*pid);
    }
    w.into_vec()
}

pub fn decode_members(body: &[u8]) -> Result<Vec<(u32, u32)>, DecodeError> {
    let mut r = Reader::new(body);
    let n = r.count(MAX_LIST, 8, "member count")?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push((r.u32("node")?, r.u32("pid")?));
    }
    r.finish()?;
    Ok(out)
}

/// A group and its members `(node, pid)`, as `LIST_GROUPS` reports it.
pub type GroupListing = (Vec<u8>, Vec<(u32, u32)>);

/// The `LIST_GROUPS` answer after the error word: groups in order until
/// the next would pass [`MAX_DATA`] bytes (then `truncated` is set).
pub fn encode_group_list(groups: &[GroupListing]) -> Vec<u8> {
    let mut body = Writer::new();
    let mut count = 0u32;
    let mut truncated = false;
    for (name, members) in groups {
        let size = 4 + name.len().min(NAME_MAX) + 4 + 8 * members.len().min(MAX_LIST);
        if body.len() + size > MAX_DATA {
            truncated = true;
            break;
        }
        body.bytes(&name[..name.len().min(NAME_MAX)]);
        let members = &members[..members.len().min(MAX_LIST)];
        body.u32(members.len() as u32);
        for (node, pid) in members {
            body.u32(*node).u32(*pid);
        }
        count += 1;
    }
    let mut w = Writer::new();
    w.bool(truncated).u32(count).raw(body.as_slice());
    w.into_vec()
}

/// `(truncated, groups)`.
pub fn decode_group_list(body: &[u8]) -> Result<(bool, Vec<GroupListing>), DecodeError> {
    let mut r = Reader::new(body);
    let truncated = r.bool("truncated")?;
    // Smallest group: empty name (4) + empty list (4).
    let n = r.count(usize::MAX, 8, "group count")?;
    let mut groups = Vec::with_capacity(n);
    for _ in 0..n {
        let name = name(&mut r)?.to_vec();
        let m = r.count(MAX_LIST, 8, "member count")?;
        let mut members = Vec::with_capacity(m);
        for _ in 0..m {
            members.push((r.u32("node")?, r.u32("pid")?));
        }
        groups.push((name, members));
    }
    r.finish()?;
    Ok((truncated, groups))
}

/// A one-`u32` answer (`LOCAL_GET`, `FLOW_CONTROL_GET`) after the error word.
pub fn decode_u32(body: &[u8]) -> Result<u32, DecodeError> {
    let mut r = Reader::new(body);
    let v = r.u32("value")?;
    r.finish()?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(node: u32, pid: u32, reason: u32) -> Address {
        Address { node, pid, reason }
    }

    #[test]
    fn requests_round_trip() {
        let reqs = [
            Request::Join { name: b"g1" },
            Request::Leave { name: b"" },
            Request::Mcast { guarantee: 3, data: b"hello" },
            Request::MembershipGet { name: &[7; NAME_MAX] },
            Request::LocalGet,
            Request::FlowControlGet,
            Request::ListGroups,
        ];
        for req in reqs {
            let body = req.encode();
            assert_eq!(Request::decode(req.id(), &body), Ok(Some(req.clone())));
            // Every truncation is an error, never a panic.
            for cut in 0..body.len() {
                assert!(Request::decode(req.id(), &body[..cut]).is_err(), "{req:?} cut {cut}");
            }
        }
        assert_eq!(Request::decode(99, &[]), Ok(None));
    }

    #[test]
    fn mcast_from_pieces_and_bad_requests() {
        let body = encode_mcast(2, &[b"ab", b"", b"cde"]);
        assert_eq!(Request::decode(MCAST, &body), Ok(Some(Request::Mcast { guarantee: 2, data: b"abcde" })));
        let body = encode_mcast(4, &[b"x"]);
        assert!(matches!(Request::decode(MCAST, &body), Err(DecodeError::BadValue { .. })));
        let long = Request::Join { name: &[1; NAME_MAX + 1] }.encode();
        assert!(matches!(Request::decode(JOIN, &long), Err(DecodeError::TooLong { .. })));
        let mut trailing = Request::LocalGet.encode();
        trailing.push(0);
        assert!(Request::decode(LOCAL_GET, &trailing).is_err());
        // A declared data length past MAX_DATA is refused before reading.
        let mut w = Writer::new();
        w.u32(2).u32(MAX_DATA as u32 + 1);
        assert!(matches!(Request::decode(MCAST, w.as_slice()), Err(DecodeError::TooLong { .. })));
    }

    #[test]
    fn callbacks_round_trip_and_truncations_fail() {
        let cbs = [
            Callback::Deliver { name: b"grp", node: 4, pid: 77, own: true, data: b"payload" },
            Callback::Confchg {
                name: b"grp",
                members: vec![a(1, 2, 0), a(3, 4, 0)],
                left: vec![a(5, 6, reason::PROCDOWN)],
                joined: vec![],
            },
        ];
        for cb in cbs {
            let body = cb.encode();
            assert_eq!(Callback::decode(cb.id(), &body), Ok(cb.clone()));
            for cut in 0..body.len() {
                assert!(Callback::decode(cb.id(), &body[..cut]).is_err());
            }
        }
        assert!(Callback::decode(3, &[]).is_err());
    }

    #[test]
    fn hostile_counts_are_rejected() {
        let mut w = Writer::new();
        w.bytes(b"g").u32(u32::MAX);
        assert!(Callback::decode(CONFCHG, w.as_slice()).is_err());
        let mut w = Writer::new();
        w.u32(MAX_LIST as u32 + 1);
        assert!(matches!(decode_members(w.as_slice()), Err(DecodeError::TooLong { .. })));
    }

    #[test]
    fn group_lists_round_trip_and_are_cut_to_fit() {
        let groups = vec![(b"a".to_vec(), vec![(1, 2), (3, 4)]), (b"".to_vec(), vec![])];
        let body = encode_group_list(&groups);
        assert_eq!(decode_group_list(&body), Ok((false, groups)));
        for cut in 0..body.len() {
            assert!(decode_group_list(&body[..cut]).is_err());
        }
        // More than fits: whole groups only, flagged.
        let big: Vec<GroupListing> = (0..100).map(|i| (vec![i as u8; NAME_MAX], vec![(1, 1); MAX_LIST])).collect();
        let body = encode_group_list(&big);
        assert!(body.len() <= MAX_DATA + 5);
        let (truncated, got) = decode_group_list(&body).unwrap();
        assert!(truncated);
        assert!(!got.is_empty() && got.len() < 100);
        assert_eq!(got[..], big[..got.len()]);
    }

    #[test]
    fn members_and_values() {
        let m = vec![(1, 10), (2, 20)];
        assert_eq!(decode_members(&encode_members(&m)), Ok(m));
        assert_eq!(decode_u32(&9u32.to_le_bytes()), Ok(9));
        assert!(decode_u32(&[1, 2]).is_err());
    }
}
