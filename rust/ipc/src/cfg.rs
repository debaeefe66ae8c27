//! Messages of the CFG service ([`crate::service::CFG`]), the executive's
//! own administration service, shared by `aisexec` and `ais-cfgtool`.
//!
//! Requests (library -> executive, on the request channel):
//! - [`STATUS`]: empty body.
//! - [`REENABLE`]: empty body. Re-enables the FAULTY redundant rings of
//!   every node (the executive orders the request cluster-wide). Response:
//!   the error word only ([`encode_error`]); `OK` once this node has
//!   re-enabled its rings and the request is queued for the others.
//!
//! Response to `STATUS` (body after the 12-byte frame header):
//! ```text
//! u32 error                   SaAisErrorT; the rest is present only if OK
//! u32 local_node_id
//! u32 ring_rep                node id of the ring representative
//! u64 ring_seq
//! u32 ring_count              <= MAX_RINGS, then per ring:
//!     u32 ring_number
//!     u32 len, bytes status   UTF-8 text, <= MAX_TEXT
//! u32 member_count            <= MAX_MEMBERS, then per member:
//!     u32 node_id
//!     u32 len, bytes address  UTF-8 text, <= MAX_TEXT
//! u32 counter_count           <= MAX_COUNTERS, then per counter:
//!     u32 len, bytes name     UTF-8 text, <= MAX_TEXT
//!     u64 value
//! u32 quorum_flags            QUORUM_CONFIGURED | QUORATE | WAITING_FOR_ALL
//! u32 expected_votes          (0 when quorum is not configured)
//! u32 total_votes
//! u32 quorum                  votes needed
//! ```
//!
//! [`STATS`]: empty body. Response: `u32 error`, then if OK `u32 count`
//! (<= [`MAX_STATS`]) and per statistic `u32 len, bytes name` (UTF-8,
//! <= [`MAX_TEXT`]), `u8 kind` ([`StatKind`]), `u64 value`.

use crate::codec::{DecodeError, Reader, Writer};

/// Request id: report node id, ring id, ring status, members and quorum.
pub const STATUS: u32 = 1;
/// Request id: re-enable FAULTY redundant rings cluster-wide.
pub const REENABLE: u32 = 2;

/// Request id: every live statistic (see [`Stat`]).
pub const STATS: u32 = 3;

/// Request id: shut the executive down, as SIGTERM does (`ais-cfgtool
/// -H`). Empty body; the answer is the error word, `OK` before it stops.
pub const SHUTDOWN: u32 = 4;

/// Most rings a status can list (the executive supports two).
pub const MAX_RINGS: usize = 8;
/// Most members a status can list.
pub const MAX_MEMBERS: usize = 4096;
/// Longest status or address text.
pub const MAX_TEXT: usize = 256;
/// Most counters a status can list.
pub const MAX_COUNTERS: usize = 64;

/// [`QuorumStatus::flags`]: quorum is configured.
pub const QUORUM_CONFIGURED: u32 = 1;
/// The partition may change replicated state.
pub const QUORATE: u32 = 2;
/// `wait_for_all`: this node has not yet seen every expected vote.
pub const WAITING_FOR_ALL: u32 = 4;

/// The quorum as the executive sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuorumStatus {
    pub flags: u32,
    pub expected_votes: u32,
    pub total_votes: u32,
    pub quorum: u32,
}

/// One ring's status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingStatus {
    pub number: u32,
    pub status: String,
}

/// One member of the current configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub node_id: u32,
    pub address: String,
}

/// A named counter (Totem's malformed packets, by class).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub name: String,
    pub value: u64,
}

/// Most statistics a `STATS` answer can carry.
pub const MAX_STATS: usize = 1024;

/// Whether a statistic only grows (a rate makes sense) or goes up and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatKind {
    Counter = 0,
    Gauge = 1,
}

/// One live statistic: `totem.ring0.retransmitted`, `ipc.accepted` ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub name: String,
    pub kind: StatKind,
    pub value: u64,
}

impl Stat {
    pub fn counter(name: impl Into<String>, value: u64) -> Stat {
        Stat { name: name.into(), kind: StatKind::Counter, value }
    }

    pub fn gauge(name: impl Into<String>, value: u64) -> Stat {
        Stat { name: name.into(), kind: StatKind::Gauge, value }
    }
}

/// The `STATS` answer body, error word `OK` first; truncated to
/// [`MAX_STATS`] so it always decodes.
pub fn encode_stats(stats: &[Stat]) -> Vec<u8> {
    let mut w = Writer::new();
    let stats = &stats[..stats.len().min(MAX_STATS)];
    w.u32(crate::error::OK).u32(stats.len() as u32);
    for s in stats {
        w.bytes(clipped(&s.name)).u8(s.kind as u8).u64(s.value);
    }
    w.into_vec()
}

/// Decodes a `STATS` answer: `Ok(Ok(stats))`, `Ok(Err(error))` when the
/// executive answered an error, `Err` when the body is malformed.
pub fn decode_stats(body: &[u8]) -> Result<Result<Vec<Stat>, u32>, DecodeError> {
    let mut r = Reader::new(body);
    let error = r.u32("error")?;
    if error != crate::error::OK {
        r.finish()?;
        return Ok(Err(error));
    }
    let n = r.count(MAX_STATS, 13, "stat_count")?;
    let mut stats = Vec::with_capacity(n);
    for _ in 0..n {
        let name = text(&mut r, "stat_name")?;
        let kind = match r.u8("stat_kind")? {
            0 => StatKind::Counter,
            1 => StatKind::Gauge,
            other => return Err(DecodeError::BadValue { what: "stat_kind", value: other.into() }),
        };
        stats.push(Stat { name, kind, value: r.u64("stat_value")? });
    }
    r.finish()?;
    Ok(Ok(stats))
}

/// What `STATUS` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub local_node_id: u32,
    pub ring_rep: u32,
    pub ring_seq: u64,
    pub rings: Vec<RingStatus>,
    pub members: Vec<Member>,
    pub counters: Vec<Counter>,
    pub quorum: QuorumStatus,
}

fn text(r: &mut Reader<'_>, what: &'static str) -> Result<String, DecodeError> {
    let bytes = r.bytes(MAX_TEXT, what)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::BadValue { what, value: 0 })
}

/// Clips text to [`MAX_TEXT`] bytes on a character boundary, so an
/// encoded status always decodes.
fn clipped(s: &str) -> &[u8] {
    let mut end = s.len().min(MAX_TEXT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s.as_bytes()[..end]
}

impl Status {
    /// The whole response body, error word `OK` first. Lists beyond the
    /// limits are truncated so the result always decodes.
    pub fn encode_response(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(crate::error::OK).u32(self.local_node_id).u32(self.ring_rep).u64(self.ring_seq);
        let rings = &self.rings[..self.rings.len().min(MAX_RINGS)];
        w.u32(rings.len() as u32);
        for ring in rings {
            w.u32(ring.number).bytes(clipped(&ring.status));
        }
        let members = &self.members[..self.members.len().min(MAX_MEMBERS)];
        w.u32(members.len() as u32);
        for m in members {
            w.u32(m.node_id).bytes(clipped(&m.address));
        }
        let counters = &self.counters[..self.counters.len().min(MAX_COUNTERS)];
        w.u32(counters.len() as u32);
        for c in counters {
            w.bytes(clipped(&c.name)).u64(c.value);
        }
        let q = &self.quorum;
        w.u32(q.flags).u32(q.expected_votes).u32(q.total_votes).u32(q.quorum);
        w.into_vec()
    }

    /// Decodes a response body: `Ok(Ok(status))`, `Ok(Err(error))` when
    /// the executive answered an error, `Err` when the body is malformed.
    pub fn decode_response(body: &[u8]) -> Result<Result<Status, u32>, DecodeError> {
        let mut r = Reader::new(body);
        let error = r.u32("error")?;
        if error != crate::error::OK {
            r.finish()?;
            return Ok(Err(error));
        }
        let local_node_id = r.u32("local_node_id")?;
        let ring_rep = r.u32("ring_rep")?;
        let ring_seq = r.u64("ring_seq")?;
        let n = r.count(MAX_RINGS, 8, "ring_count")?;
        let mut rings = Vec::with_capacity(n);
        for _ in 0..n {
            let number = r.u32("ring_number")?;
            let status = text(&mut r, "ring_status")?;
            rings.push(RingStatus { number, status });
        }
        let n = r.count(MAX_MEMBERS, 8, "member_count")?;
        let mut members = Vec::with_capacity(n);
        for _ in 0..n {
            let node_id = r.u32("node_id")?;
            let address = text(&mut r, "member_address")?;
            members.push(Member { node_id, address });
        }
        let n = r.count(MAX_COUNTERS, 12, "counter_count")?;
        let mut counters = Vec::with_capacity(n);
        for _ in 0..n {
            let name = text(&mut r, "counter_name")?;
            counters.push(Counter { name, value: r.u64("counter_value")? });
        }
        let quorum = QuorumStatus {
            flags: r.u32("quorum_flags")?,
            expected_votes: r.u32("expected_votes")?,
            total_votes: r.u32("total_votes")?,
            quorum: r.u32("quorum")?,
        };
        r.finish()?;
        Ok(Ok(Status { local_node_id, ring_rep, ring_seq, rings, members, counters, quorum }))
    }
}

/// A response carrying only an error word (any request that failed, and
/// the answer to [`REENABLE`]).
pub fn encode_error(error: u32) -> Vec<u8> {
    error.to_le_bytes().to_vec()
}

/// Decodes a response that is only an error word.
pub fn decode_error(body: &[u8]) -> Result<u32, DecodeError> {
    let mut r = Reader::new(body);
    let error = r.u32("error")?;
    r.finish()?;
    Ok(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Status {
        Status {
            local_node_id: 1,
            ring_rep: 1,
            ring_seq: 4,
            rings: vec![RingStatus { number: 0, status: "active, no faults".into() }],
            members: vec![
                Member { node_id: 1, address: "127.0.0.1".into() },
                Member { node_id: 2, address: "fe80::1".into() },
            ],
            counters: vec![Counter { name: "totem_malformed".into(), value: u64::MAX - 1 }],
            quorum: QuorumStatus { flags: QUORUM_CONFIGURED | QUORATE, expected_votes: 3, total_votes: 2, quorum: 2 },
        }
    }

    #[test]
    fn status_round_trip() {
        let s = sample();
        assert_eq!(Status::decode_response(&s.encode_response()), Ok(Ok(s)));
    }

    #[test]
    fn error_response_decodes_as_error() {
        let body = encode_error(crate::error::TRY_AGAIN);
        assert_eq!(Status::decode_response(&body), Ok(Err(crate::error::TRY_AGAIN)));
    }

    #[test]
    fn error_word_round_trip_and_bad_lengths() {
        assert_eq!(decode_error(&encode_error(crate::error::OK)), Ok(crate::error::OK));
        assert!(decode_error(&[0, 0]).is_err());
        assert!(decode_error(&[0; 5]).is_err());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let body = sample().encode_response();
        for len in 0..body.len() {
            assert!(Status::decode_response(&body[..len]).is_err(), "prefix {len} accepted");
        }
        let mut long = body.clone();
        long.push(0);
        assert!(matches!(Status::decode_response(&long), Err(DecodeError::Trailing { .. })));
    }

    #[test]
    fn hostile_counts_and_bad_text_rejected() {
        let mut w = Writer::new();
        w.u32(crate::error::OK).u32(1).u32(1).u64(4).u32(u32::MAX);
        assert!(Status::decode_response(w.as_slice()).is_err());
        let mut w = Writer::new();
        w.u32(crate::error::OK).u32(1).u32(1).u64(4).u32(0).u32(1).u32(1).bytes(&[0xff, 0xfe]);
        assert!(matches!(
            Status::decode_response(w.as_slice()),
            Err(DecodeError::BadValue { what: "member_address", .. })
        ));
        let mut w = Writer::new();
        w.u32(crate::error::OK).u32(1).u32(1).u64(4).u32(0).u32(0).u32(MAX_COUNTERS as u32 + 1);
        assert!(Status::decode_response(w.as_slice()).is_err());
    }

    #[test]
    fn stats_round_trip_and_bad_input() {
        let stats = vec![Stat::counter("totem.ring0.retransmitted", 7), Stat::gauge("ipc.connections", u64::MAX)];
        let body = encode_stats(&stats);
        assert_eq!(decode_stats(&body), Ok(Ok(stats)));
        for len in 0..body.len() {
            assert!(decode_stats(&body[..len]).is_err(), "prefix {len} accepted");
        }
        let mut bad_kind = body.clone();
        let kind_at = 4 + 4 + 4 + "totem.ring0.retransmitted".len();
        bad_kind[kind_at] = 2;
        assert!(matches!(decode_stats(&bad_kind), Err(DecodeError::BadValue { what: "stat_kind", .. })));
        let mut w = Writer::new();
        w.u32(crate::error::OK).u32(u32::MAX);
        assert!(decode_stats(w.as_slice()).is_err());
        assert_eq!(decode_stats(&encode_error(crate::error::TRY_AGAIN)), Ok(Err(crate::error::TRY_AGAIN)));
    }

    #[test]
    fn long_text_is_clipped_on_a_char_boundary() {
        let mut s = sample();
        s.members[0].address = "é".repeat(200); // 400 bytes
        let decoded = Status::decode_response(&s.encode_response()).unwrap().unwrap();
        assert!(decoded.members[0].address.len() <= MAX_TEXT);
        assert!(decoded.members[0].address.chars().all(|c| c == 'é'));
    }
}
