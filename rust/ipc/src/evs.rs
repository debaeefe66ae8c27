//! Messages of the EVS service ([`crate::service::EVS`]), shared by
//! `aisexec` and `libevs`.
//!
//! Requests (library -> executive; the response body starts with the
//! `u32` `SaAisErrorT`, the rest is present only when it is `OK`):
//! ```text
//! JOIN            groups                        -> (nothing)
//! LEAVE           groups                        -> (nothing)
//! MCAST_JOINED    u32 guarantee, data           -> (nothing)   answered once queued
//! MCAST_GROUPS    u32 guarantee, groups, data   -> (nothing)   answered once queued
//! MEMBERSHIP_GET  (empty)                       -> u32 local node, u32 n, n x u32 node
//! ```
//! Callbacks (one frame each on the dispatch channel):
//! ```text
//! DELIVER  u32 node, data
//! CONFCHG  members, left, joined    each: u32 n, n x u32 node
//! ```
//! `groups` is `u32 n` (`n <= MAX_GROUPS`) then `n` keys of [`GROUP_KEY`]
//! bytes; `data` is `u32 len` + `len <= MAX_DATA` bytes.
//!
//! Errors are `SaAisErrorT` numbers; `libevs` maps them to `evs_error_t`.
//! Too many groups is sent as `NO_RESOURCES` ([`ERR_TOO_MANY_GROUPS`]).

use crate::codec::{DecodeError, Reader, Writer};

pub const JOIN: u32 = 1;
pub const LEAVE: u32 = 2;
pub const MCAST_JOINED: u32 = 3;
pub const MCAST_GROUPS: u32 = 4;
pub const MEMBERSHIP_GET: u32 = 5;

pub const DELIVER: u32 = 1;
pub const CONFCHG: u32 = 2;

/// Bytes of a group key (`struct evs_group`).
pub const GROUP_KEY: usize = 32;
/// Most groups in one request, and joined by one connection.
pub const MAX_GROUPS: usize = 64;
/// Largest message body.
pub const MAX_DATA: usize = crate::MAX_MESSAGE_SIZE - 1024;
/// Most node ids in one list.
pub const MAX_NODES: usize = 4096;
/// `SaAisErrorT` on the wire meaning `EVS_ERR_TOO_MANY_GROUPS`.
pub const ERR_TOO_MANY_GROUPS: u32 = crate::error::NO_RESOURCES;
pub const GUARANTEE_MAX: u32 = 3;
pub const GUARANTEE_SAFE: u32 = 3;

pub type GroupKey = [u8; GROUP_KEY];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    Join { groups: Vec<GroupKey> },
    Leave { groups: Vec<GroupKey> },
    McastJoined { guarantee: u32, data: &'a [u8] },
    McastGroups { guarantee: u32, groups: Vec<GroupKey>, data: &'a [u8] },
    MembershipGet,
}

pub fn put_groups(w: &mut Writer, groups: &[GroupKey]) {
    w.u32(groups.len() as u32);
    for g in groups {
        w.raw(g);
    }
}

pub fn get_groups(r: &mut Reader<'_>) -> Result<Vec<GroupKey>, DecodeError> {
    let n = r.count(MAX_GROUPS, GROUP_KEY, "group count")?;
    let mut groups = Vec::with_capacity(n);
    for _ in 0..n {
        let mut key = [0u8; GROUP_KEY];
        key.copy_from_slice(r.take(GROUP_KEY, "group")?);
        groups.push(key);
    }
    Ok(groups)
}

fn guarantee(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    let g = r.u32("guarantee")?;
    if g > GUARANTEE_MAX {
        return Err(DecodeError::BadValue { what: "guarantee", value: g.into() });
    }
    Ok(g)
}

impl<'a> Request<'a> {
    pub fn id(&self) -> u32 {
        match self {
            Request::Join { .. } => JOIN,
            Request::Leave { .. } => LEAVE,
            Request::McastJoined { .. } => MCAST_JOINED,
            Request::McastGroups { .. } => MCAST_GROUPS,
            Request::MembershipGet => MEMBERSHIP_GET,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Request::Join { groups } | Request::Leave { groups } => put_groups(&mut w, groups),
            Request::McastJoined { guarantee, data } => return encode_mcast(*guarantee, None, &[data]),
            Request::McastGroups { guarantee, groups, data } => {
                return encode_mcast(*guarantee, Some(groups), &[data]);
            }
            Request::MembershipGet => {}
        }
        w.into_vec()
    }

    /// `Ok(None)`: `id` is not an EVS request.
    pub fn decode(id: u32, body: &'a [u8]) -> Result<Option<Request<'a>>, DecodeError> {
        let mut r = Reader::new(body);
        let req = match id {
            JOIN => Request::Join { groups: get_groups(&mut r)? },
            LEAVE => Request::Leave { groups: get_groups(&mut r)? },
            MCAST_JOINED => Request::McastJoined { guarantee: guarantee(&mut r)?, data: r.bytes(MAX_DATA, "message")? },
            MCAST_GROUPS => Request::McastGroups {
                guarantee: guarantee(&mut r)?,
                groups: get_groups(&mut r)?,
                data: r.bytes(MAX_DATA, "message")?,
            },
            MEMBERSHIP_GET => Request::MembershipGet,
            _ => return Ok(None),
        };
        r.finish()?;
        Ok(Some(req))
    }
}

/// An `MCAST_JOINED` (no `groups`) or `MCAST_GROUPS` body from the pieces
/// of an iovec.
pub fn encode_mcast(guarantee: u32, groups: Option<&[GroupKey]>, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut w = Writer::new();
    w.u32(guarantee);
    if let Some(groups) = groups {
        put_groups(&mut w, groups);
    }
    w.u32(len as u32);
    for p in parts {
        w.raw(p);
    }
    w.into_vec()
}

fn put_nodes(w: &mut Writer, nodes: &[u32]) {
    let nodes = &nodes[..nodes.len().min(MAX_NODES)];
    w.u32(nodes.len() as u32);
    for n in nodes {
        w.u32(*n);
    }
}

fn get_nodes(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<u32>, DecodeError> {
    let n = r.count(MAX_NODES, 4, what)?;
    (0..n).map(|_| r.u32(what)).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback<'a> {
    Deliver { node: u32, data: &'a [u8] },
    Confchg { members: Vec<u32>, left: Vec<u32>, joined: Vec<u32> },
}

impl<'a> Callback<'a> {
    pub fn id(&self) -> u32 {
        match self {
            Callback::Deliver { .. } => DELIVER,
            Callback::Confchg { .. } => CONFCHG,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Callback::Deliver { node, data } => {
                w.u32(*node).bytes(data);
            }
            Callback::Confchg { members, left, joined } => {
                put_nodes(&mut w, members);
                put_nodes(&mut w, left);
                put_nodes(&mut w, joined);
            }
        }
        w.into_vec()
    }

    pub fn decode(id: u32, body: &'a [u8]) -> Result<Callback<'a>, DecodeError> {
        let mut r = Reader::new(body);
        let cb = match id {
            DELIVER => Callback::Deliver { node: r.u32("node")?, data: r.bytes(MAX_DATA, "message")? },
            CONFCHG => Callback::Confchg {
                members: get_nodes(&mut r, "member list")?,
                left: get_nodes(&mut r, "left list")?,
                joined: get_nodes(&mut r, "joined list")?,
            },
            other => return Err(DecodeError::BadValue { what: "callback id", value: other.into() }),
        };
        r.finish()?;
        Ok(cb)
    }
}

/// The `MEMBERSHIP_GET` answer after the error word.
pub fn encode_membership(local: u32, members: &[u32]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u32(local);
    put_nodes(&mut w, members);
    w.into_vec()
}

pub fn decode_membership(body: &[u8]) -> Result<(u32, Vec<u32>), DecodeError> {
    let mut r = Reader::new(body);
    let local = r.u32("local node")?;
    let members = get_nodes(&mut r, "member list")?;
    r.finish()?;
    Ok((local, members))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_truncations_fail() {
        let g = |b: u8| [b; GROUP_KEY];
        let reqs = [
            Request::Join { groups: vec![g(1), g(2)] },
            Request::Leave { groups: vec![] },
            Request::McastJoined { guarantee: 2, data: b"abc" },
            Request::McastGroups { guarantee: 3, groups: vec![g(9)], data: b"" },
            Request::MembershipGet,
        ];
        for req in reqs {
            let body = req.encode();
            assert_eq!(Request::decode(req.id(), &body), Ok(Some(req.clone())));
            for cut in 0..body.len() {
                assert!(Request::decode(req.id(), &body[..cut]).is_err(), "{req:?} cut {cut}");
            }
        }
        assert_eq!(Request::decode(42, &[]), Ok(None));
    }

    #[test]
    fn bounds() {
        let too_many = vec![[0u8; GROUP_KEY]; MAX_GROUPS + 1];
        let body = Request::Join { groups: too_many }.encode();
        assert!(matches!(Request::decode(JOIN, &body), Err(DecodeError::TooLong { .. })));
        let body = encode_mcast(7, None, &[b"x"]);
        assert!(matches!(Request::decode(MCAST_JOINED, &body), Err(DecodeError::BadValue { .. })));
        let mut w = Writer::new();
        w.u32(1).u32(MAX_DATA as u32 + 1);
        assert!(matches!(Request::decode(MCAST_JOINED, w.as_slice()), Err(DecodeError::TooLong { .. })));
    }

    #[test]
    fn callbacks_and_membership() {
        let cbs = [
            Callback::Deliver { node: 3, data: b"m" },
            Callback::Confchg { members: vec![1, 2], left: vec![3], joined: vec![] },
        ];
        for cb in cbs {
            let body = cb.encode();
            assert_eq!(Callback::decode(cb.id(), &body), Ok(cb.clone()));
            for cut in 0..body.len() {
                assert!(Callback::decode(cb.id(), &body[..cut]).is_err());
            }
        }
        let body = encode_membership(5, &[5, 6]);
        assert_eq!(decode_membership(&body), Ok((5, vec![5, 6])));
        assert!(decode_membership(&body[..body.len() - 1]).is_err());
    }
}
