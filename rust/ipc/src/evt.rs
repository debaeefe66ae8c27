//! Messages of the event service ([`crate::service::EVT`]), shared by
//! `aisexec` and `libSaEvt`.
//!
//! Requests (library -> executive). Every response body starts with a
//! `u32` error; what follows is present only if it is `OK`. `open` is the
//! executive's id of one channel open (what a channel handle names).
//! ```text
//! OPEN         u64 token, bool async, bytes name, u8 flags
//!              -> u64 open          (async: -> (), then OPEN_CALLBACK)
//! CLOSE        u64 open                              -> ()
//! UNLINK       bytes name                            -> ()
//! PUBLISH      u64 open, Event (id and time ignored) -> u64 event id, i64 publish time
//! SUBSCRIBE    u64 open, u32 sub, u32 n, n x (u32 type, bytes filter) -> ()
//! UNSUBSCRIBE  u64 open, u32 sub                     -> ()
//! CLEAR        u64 open, u64 event id                -> ()
//! PULL         ()                  -> bool some, [u64 open, u32 sub, Event]
//! ```
//! Callbacks (executive -> library):
//! ```text
//! OPEN_CALLBACK  u64 token, u32 error, u64 open
//! EVENT_READY    ()   one is pending exactly while events wait for PULL
//! ```
//! `Event`: u32 n, n x bytes pattern, u8 priority, i64 retention,
//! bytes publisher, i64 publish_time, u64 id, bytes data.
//!
//! Delivery is pulled: the executive keeps each connection's matching
//! events in its bounded priority queues and says `EVENT_READY`; the
//! library's dispatch asks for one with `PULL`. So the selection object is
//! readable exactly while an event waits, and the executive's memory per
//! subscriber is bounded by the `event {}` queue size.

use crate::codec::{DecodeError, Reader, Writer};

pub const OPEN: u32 = 1;
pub const CLOSE: u32 = 2;
pub const UNLINK: u32 = 3;
pub const PUBLISH: u32 = 4;
pub const SUBSCRIBE: u32 = 5;
pub const UNSUBSCRIBE: u32 = 6;
pub const CLEAR: u32 = 7;
pub const PULL: u32 = 8;

pub const OPEN_CALLBACK: u32 = 20;
pub const EVENT_READY: u32 = 21;

/// `SA_MAX_NAME_LENGTH`.
pub const MAX_NAME: usize = 256;
/// `SA_EVT_DATA_MAX_LEN`.
pub const MAX_DATA: usize = 64 * 1024;
/// Most patterns of one event, filters of one subscription.
pub const MAX_PATTERNS: usize = 1024;
/// All pattern (or filter) bytes of one event (subscription) together.
pub const MAX_PATTERN_BYTES: usize = 64 * 1024;

/// Open flags (`SA_EVT_CHANNEL_*`).
pub const PUBLISHER: u8 = 0x1;
pub const SUBSCRIBER: u8 = 0x2;
pub const CREATE: u8 = 0x4;

/// Filter types (`SaEvtEventFilterTypeT`).
pub const PREFIX_FILTER: u32 = 1;
pub const SUFFIX_FILTER: u32 = 2;
pub const EXACT_FILTER: u32 = 3;
pub const PASS_ALL_FILTER: u32 = 4;

/// Reserved event ids and the lost-event pattern (`saEvt.h`).
pub const EVENTID_NONE: u64 = 0;
pub const EVENTID_LOST: u64 = 1;
/// Ids up to this are reserved and never given to a published event.
pub const EVENTID_RESERVED: u64 = 1000;
pub const LOST_EVENT_PATTERN: &[u8] = b"SA_EVT_LOST_EVENT_PATTERN";
pub const HIGHEST_PRIORITY: u8 = 0;
pub const LOWEST_PRIORITY: u8 = 3;

/// One event as published and delivered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    pub patterns: Vec<Vec<u8>>,
    pub priority: u8,
    pub retention: i64,
    pub publisher: Vec<u8>,
    pub publish_time: i64,
    pub id: u64,
    pub data: Vec<u8>,
}

impl Event {
    pub fn encode(&self, w: &mut Writer) {
        w.u32(self.patterns.len() as u32);
        for p in &self.patterns {
            w.bytes(p);
        }
        w.u8(self.priority)
            .i64(self.retention)
            .bytes(&self.publisher)
            .i64(self.publish_time)
            .u64(self.id)
            .bytes(&self.data);
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Event, DecodeError> {
        let n = r.count(MAX_PATTERNS, 4, "pattern count")?;
        let mut patterns = Vec::with_capacity(n);
        let mut total = 0usize;
        for _ in 0..n {
            let p = r.bytes(MAX_PATTERN_BYTES, "pattern")?;
            total += p.len();
            if total > MAX_PATTERN_BYTES {
                return Err(DecodeError::BadValue { what: "pattern bytes", value: total as u64 });
            }
            patterns.push(p.to_vec());
        }
        let priority = r.u8("priority")?;
        if priority > LOWEST_PRIORITY {
            return Err(DecodeError::BadValue { what: "priority", value: u64::from(priority) });
        }
        Ok(Event {
            patterns,
            priority,
            retention: r.i64("retention")?,
            publisher: r.bytes(MAX_NAME, "publisher")?.to_vec(),
            publish_time: r.i64("publish_time")?,
            id: r.u64("event id")?,
            data: r.bytes(MAX_DATA, "data")?.to_vec(),
        })
    }

    /// The "lost event" event (`SA_EVT_LOST_EVENT`).
    pub fn lost(publish_time: i64) -> Event {
        Event {
            patterns: vec![LOST_EVENT_PATTERN.to_vec()],
            priority: HIGHEST_PRIORITY,
            retention: 0,
            publisher: Vec::new(),
            publish_time,
            id: EVENTID_LOST,
            data: Vec::new(),
        }
    }
}

/// One filter of a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub kind: u32,
    pub pattern: Vec<u8>,
}

impl Filter {
    /// Whether `pattern` passes this filter.
    pub fn matches(&self, pattern: &[u8]) -> bool {
        match self.kind {
            PREFIX_FILTER => pattern.starts_with(&self.pattern),
            SUFFIX_FILTER => pattern.ends_with(&self.pattern),
            EXACT_FILTER => pattern == self.pattern.as_slice(),
            PASS_ALL_FILTER => true,
            _ => false,
        }
    }
}

/// Whether an event with `patterns` matches a subscription's `filters`:
/// filter `i` applies to pattern `i`, for the patterns the event has.
/// Patterns past the last filter pass, and so do filters past the last
/// pattern: an event with no patterns reaches every subscription of its
/// channel. This is what the classic openais 0.80 stack did, and its
/// programs rely on it (its `testevt` subscribes with four filters and
/// expects an event published with no patterns). The B.01.01 text leaves
/// the case of fewer patterns than filters open; another reading would
/// match the extra filters against an empty pattern.
pub fn filters_match(filters: &[Filter], patterns: &[Vec<u8>]) -> bool {
    filters.iter().zip(patterns).all(|(f, p)| f.matches(p))
}

/// A decoded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Open { token: u64, is_async: bool, name: Vec<u8>, flags: u8 },
    Close { open: u64 },
    Unlink { name: Vec<u8> },
    Publish { open: u64, event: Event },
    Subscribe { open: u64, sub: u32, filters: Vec<Filter> },
    Unsubscribe { open: u64, sub: u32 },
    Clear { open: u64, event_id: u64 },
    Pull,
}

impl Request {
    pub fn id(&self) -> u32 {
        match self {
            Request::Open { .. } => OPEN,
            Request::Close { .. } => CLOSE,
            Request::Unlink { .. } => UNLINK,
            Request::Publish { .. } => PUBLISH,
            Request::Subscribe { .. } => SUBSCRIBE,
            Request::Unsubscribe { .. } => UNSUBSCRIBE,
            Request::Clear { .. } => CLEAR,
            Request::Pull => PULL,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Request::Open { token, is_async, name, flags } => {
                w.u64(*token).bool(*is_async).bytes(name).u8(*flags);
            }
            Request::Close { open } => {
                w.u64(*open);
            }
            Request::Unlink { name } => {
                w.bytes(name);
            }
            Request::Publish { open, event } => {
                w.u64(*open);
                event.encode(&mut w);
            }
            Request::Subscribe { open, sub, filters } => {
                w.u64(*open).u32(*sub).u32(filters.len() as u32);
                for f in filters {
                    w.u32(f.kind).bytes(&f.pattern);
                }
            }
            Request::Unsubscribe { open, sub } => {
                w.u64(*open).u32(*sub);
            }
            Request::Clear { open, event_id } => {
                w.u64(*open).u64(*event_id);
            }
            Request::Pull => {}
        }
        w.into_vec()
    }

    pub fn decode(id: u32, body: &[u8]) -> Result<Request, DecodeError> {
        let mut r = Reader::new(body);
        let req = match id {
            OPEN => Request::Open {
                token: r.u64("token")?,
                is_async: r.bool("async")?,
                name: r.bytes(MAX_NAME, "channel name")?.to_vec(),
                flags: r.u8("open flags")?,
            },
            CLOSE => Request::Close { open: r.u64("open")? },
            UNLINK => Request::Unlink { name: r.bytes(MAX_NAME, "channel name")?.to_vec() },
            PUBLISH => Request::Publish { open: r.u64("open")?, event: Event::decode(&mut r)? },
            SUBSCRIBE => {
                let open = r.u64("open")?;
                let sub = r.u32("subscription id")?;
                let n = r.count(MAX_PATTERNS, 8, "filter count")?;
                let mut filters = Vec::with_capacity(n);
                let mut total = 0usize;
                for _ in 0..n {
                    let kind = r.u32("filter type")?;
                    if !(PREFIX_FILTER..=PASS_ALL_FILTER).contains(&kind) {
                        return Err(DecodeError::BadValue { what: "filter type", value: u64::from(kind) });
                    }
                    let pattern = r.bytes(MAX_PATTERN_BYTES, "filter")?.to_vec();
                    total += pattern.len();
                    if total > MAX_PATTERN_BYTES {
                        return Err(DecodeError::BadValue { what: "filter bytes", value: total as u64 });
                    }
                    filters.push(Filter { kind, pattern });
                }
                Request::Subscribe { open, sub, filters }
            }
            UNSUBSCRIBE => Request::Unsubscribe { open: r.u64("open")?, sub: r.u32("subscription id")? },
            CLEAR => Request::Clear { open: r.u64("open")?, event_id: r.u64("event id")? },
            PULL => Request::Pull,
            other => return Err(DecodeError::BadValue { what: "evt request id", value: u64::from(other) }),
        };
        r.finish()?;
        Ok(req)
    }
}

/// The answer to `PULL` when an event was waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    pub open: u64,
    pub sub: u32,
    pub event: Event,
}

impl Pulled {
    /// The body after the error code: `bool some, [u64 open, u32 sub, Event]`.
    pub fn encode(p: Option<&Pulled>) -> Vec<u8> {
        let mut w = Writer::new();
        w.bool(p.is_some());
        if let Some(p) = p {
            w.u64(p.open).u32(p.sub);
            p.event.encode(&mut w);
        }
        w.into_vec()
    }

    pub fn decode(body: &[u8]) -> Result<Option<Pulled>, DecodeError> {
        let mut r = Reader::new(body);
        if !r.bool("some")? {
            r.finish()?;
            return Ok(None);
        }
        let p = Pulled { open: r.u64("open")?, sub: r.u32("subscription id")?, event: Event::decode(&mut r)? };
        r.finish()?;
        Ok(Some(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            patterns: vec![b"abc".to_vec(), Vec::new()],
            priority: 2,
            retention: 5,
            publisher: b"me".to_vec(),
            publish_time: 7,
            id: 1234,
            data: b"data".to_vec(),
        }
    }

    fn samples() -> Vec<Request> {
        vec![
            Request::Open { token: 3, is_async: true, name: b"ch".to_vec(), flags: 7 },
            Request::Close { open: 9 },
            Request::Unlink { name: b"ch".to_vec() },
            Request::Publish { open: 1, event: event() },
            Request::Subscribe {
                open: 1,
                sub: 4,
                filters: vec![
                    Filter { kind: PREFIX_FILTER, pattern: b"a".to_vec() },
                    Filter { kind: PASS_ALL_FILTER, pattern: vec![] },
                ],
            },
            Request::Unsubscribe { open: 1, sub: 4 },
            Request::Clear { open: 1, event_id: 5000 },
            Request::Pull,
        ]
    }

    #[test]
    fn requests_round_trip_and_reject_truncation_and_trailing_bytes() {
        for req in samples() {
            let body = req.encode();
            assert_eq!(Request::decode(req.id(), &body).unwrap(), req);
            if !body.is_empty() {
                assert!(Request::decode(req.id(), &body[..body.len() - 1]).is_err(), "{req:?}");
            }
            let mut long = body.clone();
            long.push(0);
            assert!(Request::decode(req.id(), &long).is_err(), "{req:?}");
        }
        assert!(Request::decode(99, &[]).is_err());
    }

    #[test]
    fn hostile_counts_and_values_are_rejected() {
        let mut w = Writer::new();
        w.u64(1).u32(1).u32(u32::MAX);
        assert!(Request::decode(SUBSCRIBE, &w.into_vec()).is_err());
        let mut w = Writer::new();
        w.u64(1).u32(1).u32(1).u32(9).bytes(b"x");
        assert!(Request::decode(SUBSCRIBE, &w.into_vec()).is_err(), "bad filter type");
        let mut e = event();
        e.priority = 4;
        let body = Request::Publish { open: 1, event: e }.encode();
        assert!(Request::decode(PUBLISH, &body).is_err(), "bad priority");
    }

    #[test]
    fn pulled_round_trips() {
        let p = Pulled { open: 3, sub: 9, event: event() };
        assert_eq!(Pulled::decode(&Pulled::encode(Some(&p))).unwrap(), Some(p));
        assert_eq!(Pulled::decode(&Pulled::encode(None)).unwrap(), None);
        assert!(Pulled::decode(&[2]).is_err());
    }

    #[test]
    fn filters_of_every_type() {
        let f = |kind, p: &[u8]| Filter { kind, pattern: p.to_vec() };
        assert!(f(PREFIX_FILTER, b"ab").matches(b"abc"));
        assert!(!f(PREFIX_FILTER, b"bc").matches(b"abc"));
        assert!(f(SUFFIX_FILTER, b"bc").matches(b"abc"));
        assert!(!f(SUFFIX_FILTER, b"ab").matches(b"abc"));
        assert!(f(EXACT_FILTER, b"abc").matches(b"abc"));
        assert!(!f(EXACT_FILTER, b"ab").matches(b"abc"));
        assert!(f(PASS_ALL_FILTER, b"zz").matches(b"abc"));
        let pats = vec![b"one".to_vec(), b"two".to_vec()];
        assert!(filters_match(&[f(EXACT_FILTER, b"one"), f(PREFIX_FILTER, b"tw")], &pats));
        assert!(!filters_match(&[f(EXACT_FILTER, b"one"), f(PREFIX_FILTER, b"x")], &pats), "all must match");
        assert!(filters_match(&[], &pats));
    }

    #[test]
    fn filters_apply_only_to_the_patterns_an_event_has() {
        let f = |kind, p: &[u8]| Filter { kind, pattern: p.to_vec() };
        // The four filters of the classic testevt.
        let four =
            [f(PREFIX_FILTER, b"Pre"), f(SUFFIX_FILTER, b"fix"), f(EXACT_FILTER, b"Exact"), f(PASS_ALL_FILTER, b"")];
        assert!(filters_match(&four, &[]), "no patterns: delivered");
        assert!(filters_match(&four, &[b"Prefixed".to_vec()]), "fewer patterns: those given must pass");
        assert!(!filters_match(&four, &[b"Other".to_vec()]));
        assert!(!filters_match(&four, &[b"Prefixed".to_vec(), b"Suffix".to_vec(), b"Exactly".to_vec()]));
        let five = [&b"Prefixed"[..], b"Suffix", b"Exact", b"any", b"extra"].map(|p| p.to_vec());
        assert!(filters_match(&four, &five), "patterns past the last filter pass");
        // Before: a missing pattern counted as empty, so an exact filter failed.
        assert!(filters_match(&[f(PASS_ALL_FILTER, b""), f(EXACT_FILTER, b"x")], &[b"a".to_vec()]));
    }
}
