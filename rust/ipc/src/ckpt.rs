//! Messages of the checkpoint service ([`crate::service::CKPT`]), shared by
//! `aisexec` and `libSaCkpt`.
//!
//! Requests (library -> executive, request channel). Every response body
//! starts with a `u32` error; what follows is present only if it is `OK`.
//! `open` is the executive's id of one open (what a checkpoint handle
//! names on the wire).
//! ```text
//! OPEN            u64 token, bool async, bytes name, bool has_attrs, [Attrs], u32 flags
//!                 -> u64 open            (async: -> (), then OPEN_CALLBACK)
//! CLOSE           u64 open                      -> ()
//! UNLINK          bytes name                    -> ()
//! RETENTION_SET   u64 open, i64 duration        -> ()
//! ACTIVE_SET      u64 open                      -> ()
//! STATUS_GET      u64 open                      -> Attrs, u32 sections, u32 memory_used
//! SECTION_CREATE  u64 open, bytes id, i64 expiration, bytes data -> bytes id
//! SECTION_DELETE  u64 open, bytes id            -> ()
//! EXPIRATION_SET  u64 open, bytes id, i64 expiration -> ()
//! ITER_NEXT       u64 open, u32 chosen, i64 expiration, bool has_after, [bytes after]
//!                 -> bool found, [Descriptor]
//! WRITE           u64 open, u32 n, n x (bytes id, u64 offset, bytes data)
//!                 -> u32 error, u32 erroneous_index
//! OVERWRITE       u64 open, bytes id, bytes data -> ()
//! READ            u64 open, u32 n, n x (bytes id, u64 offset, u64 size)
//!                 -> u32 error, u32 erroneous_index, [u32 n, n x bytes data]
//! SYNCHRONIZE     u64 open, bool async, u64 token -> () (async: then SYNC_CALLBACK)
//! ```
//! Callbacks (executive -> library, dispatch channel):
//! ```text
//! OPEN_CALLBACK   u64 token, u32 error, u64 open
//! SYNC_CALLBACK   u64 token, u32 error
//! ```
//! `Attrs`: u32 creation_flags, u64 checkpoint_size, i64 retention,
//! u32 max_sections, u64 max_section_size, u64 max_section_id_size.
//! `Descriptor`: bytes id, i64 expiration, u64 size, u32 state, i64 last_update.
//!
//! WRITE and READ carry their result inside an `OK` response, because the
//! erroneous vector index must reach the caller with the error.

use crate::codec::{DecodeError, Reader, Writer};

pub const OPEN: u32 = 1;
pub const CLOSE: u32 = 2;
pub const UNLINK: u32 = 3;
pub const RETENTION_SET: u32 = 4;
pub const ACTIVE_SET: u32 = 5;
pub const STATUS_GET: u32 = 6;
pub const SECTION_CREATE: u32 = 7;
pub const SECTION_DELETE: u32 = 8;
pub const EXPIRATION_SET: u32 = 9;
pub const ITER_NEXT: u32 = 10;
pub const WRITE: u32 = 11;
pub const OVERWRITE: u32 = 12;
pub const READ: u32 = 13;
pub const SYNCHRONIZE: u32 = 14;

pub const OPEN_CALLBACK: u32 = 20;
pub const SYNC_CALLBACK: u32 = 21;

/// `SA_MAX_NAME_LENGTH`.
pub const MAX_NAME: usize = 256;
/// Longest section id the service accepts (`maxSectionIdSize` above it is
/// `SA_AIS_ERR_INVALID_PARAM`).
pub const MAX_SECTION_ID: usize = 4096;
/// Most elements of one read or write vector.
pub const MAX_VECTOR: usize = 4096;
/// Most data bytes one request or response may carry (the rest of a
/// message is headers).
pub const MAX_DATA: usize = crate::frame::MAX_MESSAGE_SIZE - 64 * 1024;

/// Creation flags (`SA_CKPT_*` of `saCkpt.h`).
pub const WR_ALL_REPLICAS: u32 = 0x01;
pub const WR_ACTIVE_REPLICA: u32 = 0x02;
pub const WR_ACTIVE_REPLICA_WEAK: u32 = 0x04;
pub const CHECKPOINT_COLLOCATED: u32 = 0x08;
/// Open flags.
pub const OPEN_READ: u32 = 0x01;
pub const OPEN_WRITE: u32 = 0x02;
pub const OPEN_CREATE: u32 = 0x04;

/// `SaCkptSectionsChosenT` values.
pub const SECTIONS_FOREVER: u32 = 1;
pub const SECTIONS_LEQ_EXPIRATION_TIME: u32 = 2;
pub const SECTIONS_GEQ_EXPIRATION_TIME: u32 = 3;
pub const SECTIONS_CORRUPTED: u32 = 4;
pub const SECTIONS_ANY: u32 = 5;
/// `SA_CKPT_SECTION_VALID`.
pub const SECTION_VALID: u32 = 1;

/// `SaCkptCheckpointCreationAttributesT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attrs {
    pub creation_flags: u32,
    pub checkpoint_size: u64,
    pub retention: i64,
    pub max_sections: u32,
    pub max_section_size: u64,
    pub max_section_id_size: u64,
}

impl Attrs {
    pub fn encode(&self, w: &mut Writer) {
        w.u32(self.creation_flags)
            .u64(self.checkpoint_size)
            .i64(self.retention)
            .u32(self.max_sections)
            .u64(self.max_section_size)
            .u64(self.max_section_id_size);
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Attrs, DecodeError> {
        Ok(Attrs {
            creation_flags: r.u32("creation_flags")?,
            checkpoint_size: r.u64("checkpoint_size")?,
            retention: r.i64("retention")?,
            max_sections: r.u32("max_sections")?,
            max_section_size: r.u64("max_section_size")?,
            max_section_id_size: r.u64("max_section_id_size")?,
        })
    }
}

/// `SaCkptSectionDescriptorT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub id: Vec<u8>,
    pub expiration: i64,
    pub size: u64,
    pub state: u32,
    pub last_update: i64,
}

impl Descriptor {
    pub fn encode(&self, w: &mut Writer) {
        w.bytes(&self.id).i64(self.expiration).u64(self.size).u32(self.state).i64(self.last_update);
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Descriptor, DecodeError> {
        Ok(Descriptor {
            id: r.bytes(MAX_SECTION_ID, "section id")?.to_vec(),
            expiration: r.i64("expiration")?,
            size: r.u64("size")?,
            state: r.u32("state")?,
            last_update: r.i64("last_update")?,
        })
    }
}

/// One element of a write vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteElement {
    pub id: Vec<u8>,
    pub offset: u64,
    pub data: Vec<u8>,
}

/// One element of a read vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadElement {
    pub id: Vec<u8>,
    pub offset: u64,
    pub size: u64,
}

/// A decoded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Open { token: u64, is_async: bool, name: Vec<u8>, attrs: Option<Attrs>, flags: u32 },
    Close { open: u64 },
    Unlink { name: Vec<u8> },
    RetentionSet { open: u64, duration: i64 },
    ActiveSet { open: u64 },
    StatusGet { open: u64 },
    SectionCreate { open: u64, id: Vec<u8>, expiration: i64, data: Vec<u8> },
    SectionDelete { open: u64, id: Vec<u8> },
    ExpirationSet { open: u64, id: Vec<u8>, expiration: i64 },
    IterNext { open: u64, chosen: u32, expiration: i64, after: Option<Vec<u8>> },
    Write { open: u64, elements: Vec<WriteElement> },
    Overwrite { open: u64, id: Vec<u8>, data: Vec<u8> },
    Read { open: u64, elements: Vec<ReadElement> },
    Synchronize { open: u64, is_async: bool, token: u64 },
}

impl Request {
    /// The message id this request travels under.
    pub fn id(&self) -> u32 {
        match self {
            Request::Open { .. } => OPEN,
            Request::Close { .. } => CLOSE,
            Request::Unlink { .. } => UNLINK,
            Request::RetentionSet { .. } => RETENTION_SET,
            Request::ActiveSet { .. } => ACTIVE_SET,
            Request::StatusGet { .. } => STATUS_GET,
            Request::SectionCreate { .. } => SECTION_CREATE,
            Request::SectionDelete { .. } => SECTION_DELETE,
            Request::ExpirationSet { .. } => EXPIRATION_SET,
            Request::IterNext { .. } => ITER_NEXT,
            Request::Write { .. } => WRITE,
            Request::Overwrite { .. } => OVERWRITE,
            Request::Read { .. } => READ,
            Request::Synchronize { .. } => SYNCHRONIZE,
        }
    }

    /// The open this request acts on, if any.
    pub fn open(&self) -> Option<u64> {
        match self {
            Request::Open { .. } | Request::Unlink { .. } => None,
            Request::Close { open }
            | Request::RetentionSet { open, .. }
            | Request::ActiveSet { open }
            | Request::StatusGet { open }
            | Request::SectionCreate { open, .. }
            | Request::SectionDelete { open, .. }
            | Request::ExpirationSet { open, .. }
            | Request::IterNext { open, .. }
            | Request::Write { open, .. }
            | Request::Overwrite { open, .. }
            | Request::Read { open, .. }
            | Request::Synchronize { open, .. } => Some(*open),
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
            Request::Close { open } | Request::ActiveSet { open } | Request::StatusGet { open } => {
                w.u64(*open);
            }
            Request::Unlink { name } => {
                w.bytes(name);
            }
            Request::RetentionSet { open, duration } => {
                w.u64(*open).i64(*duration);
            }
            Request::SectionCreate { open, id, expiration, data } => {
                w.u64(*open).bytes(id).i64(*expiration).bytes(data);
            }
            Request::SectionDelete { open, id } => {
                w.u64(*open).bytes(id);
            }
            Request::ExpirationSet { open, id, expiration } => {
                w.u64(*open).bytes(id).i64(*expiration);
            }
            Request::IterNext { open, chosen, expiration, after } => {
                w.u64(*open).u32(*chosen).i64(*expiration).bool(after.is_some());
                if let Some(a) = after {
                    w.bytes(a);
                }
            }
            Request::Write { open, elements } => {
                w.u64(*open).u32(elements.len() as u32);
                for e in elements {
                    w.bytes(&e.id).u64(e.offset).bytes(&e.data);
                }
            }
            Request::Overwrite { open, id, data } => {
                w.u64(*open).bytes(id).bytes(data);
            }
            Request::Read { open, elements } => {
                w.u64(*open).u32(elements.len() as u32);
                for e in elements {
                    w.bytes(&e.id).u64(e.offset).u64(e.size);
                }
            }
            Request::Synchronize { open, is_async, token } => {
                w.u64(*open).bool(*is_async).u64(*token);
            }
        }
        w.into_vec()
    }

    /// Decodes the body of request `id`; unknown ids are `BadValue`.
    pub fn decode(id: u32, body: &[u8]) -> Result<Request, DecodeError> {
        let mut r = Reader::new(body);
        let req = match id {
            OPEN => {
                let token = r.u64("token")?;
                let is_async = r.bool("async")?;
                let name = r.bytes(MAX_NAME, "name")?.to_vec();
                let attrs = if r.bool("has_attrs")? { Some(Attrs::decode(&mut r)?) } else { None };
                Request::Open { token, is_async, name, attrs, flags: r.u32("flags")? }
            }
            CLOSE => Request::Close { open: r.u64("open")? },
            UNLINK => Request::Unlink { name: r.bytes(MAX_NAME, "name")?.to_vec() },
            RETENTION_SET => Request::RetentionSet { open: r.u64("open")?, duration: r.i64("duration")? },
            ACTIVE_SET => Request::ActiveSet { open: r.u64("open")? },
            STATUS_GET => Request::StatusGet { open: r.u64("open")? },
            SECTION_CREATE => Request::SectionCreate {
                open: r.u64("open")?,
                id: r.bytes(MAX_SECTION_ID, "section id")?.to_vec(),
                expiration: r.i64("expiration")?,
                data: r.bytes(MAX_DATA, "data")?.to_vec(),
            },
            SECTION_DELETE => {
                Request::SectionDelete { open: r.u64("open")?, id: r.bytes(MAX_SECTION_ID, "section id")?.to_vec() }
            }
            EXPIRATION_SET => Request::ExpirationSet {
                open: r.u64("open")?,
                id: r.bytes(MAX_SECTION_ID, "section id")?.to_vec(),
                expiration: r.i64("expiration")?,
            },
            ITER_NEXT => {
                let open = r.u64("open")?;
                let chosen = r.u32("chosen")?;
                let expiration = r.i64("expiration")?;
                let after = if r.bool("has_after")? { Some(r.bytes(MAX_SECTION_ID, "after")?.to_vec()) } else { None };
                Request::IterNext { open, chosen, expiration, after }
            }
            WRITE => {
                let open = r.u64("open")?;
                let n = r.count(MAX_VECTOR, 4 + 8 + 4, "elements")?;
                let mut elements = Vec::with_capacity(n);
                for _ in 0..n {
                    elements.push(WriteElement {
                        id: r.bytes(MAX_SECTION_ID, "section id")?.to_vec(),
                        offset: r.u64("offset")?,
                        data: r.bytes(MAX_DATA, "data")?.to_vec(),
                    });
                }
                Request::Write { open, elements }
            }
            OVERWRITE => Request::Overwrite {
                open: r.u64("open")?,
                id: r.bytes(MAX_SECTION_ID, "section id")?.to_vec(),
                data: r.bytes(MAX_DATA, "data")?.to_vec(),
            },
            READ => {
                let open = r.u64("open")?;
                let n = r.count(MAX_VECTOR, 4 + 8 + 8, "elements")?;
                let mut elements = Vec::with_capacity(n);
                for _ in 0..n {
                    elements.push(ReadElement {
                        id: r.bytes(MAX_SECTION_ID, "section id")?.to_vec(),
                        offset: r.u64("offset")?,
                        size: r.u64("size")?,
                    });
                }
                Request::Read { open, elements }
            }
            SYNCHRONIZE => {
                Request::Synchronize { open: r.u64("open")?, is_async: r.bool("async")?, token: r.u64("token")? }
            }
            other => return Err(DecodeError::BadValue { what: "ckpt request id", value: other.into() }),
        };
        r.finish()?;
        Ok(req)
    }
}

/// The result part of a WRITE or READ response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorResult {
    pub error: u32,
    pub erroneous_index: u32,
    /// READ only, when `error` is OK: the bytes read per element.
    pub data: Vec<Vec<u8>>,
}

impl VectorResult {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(self.error).u32(self.erroneous_index).u32(self.data.len() as u32);
        for d in &self.data {
            w.bytes(d);
        }
        w.into_vec()
    }

    pub fn decode(body: &[u8]) -> Result<VectorResult, DecodeError> {
        let mut r = Reader::new(body);
        let error = r.u32("error")?;
        let erroneous_index = r.u32("erroneous_index")?;
        let n = r.count(MAX_VECTOR, 4, "elements")?;
        let mut data = Vec::with_capacity(n);
        for _ in 0..n {
            data.push(r.bytes(MAX_DATA, "data")?.to_vec());
        }
        r.finish()?;
        Ok(VectorResult { error, erroneous_index, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Request> {
        let attrs = Attrs {
            creation_flags: WR_ALL_REPLICAS,
            checkpoint_size: 1000,
            retention: 5,
            max_sections: 4,
            max_section_size: 250,
            max_section_id_size: 16,
        };
        vec![
            Request::Open { token: 9, is_async: true, name: b"ck".to_vec(), attrs: Some(attrs), flags: 7 },
            Request::Open { token: 0, is_async: false, name: b"x".to_vec(), attrs: None, flags: 1 },
            Request::Close { open: 3 },
            Request::Unlink { name: b"n".to_vec() },
            Request::RetentionSet { open: 1, duration: -1 },
            Request::ActiveSet { open: 1 },
            Request::StatusGet { open: 1 },
            Request::SectionCreate { open: 1, id: b"s".to_vec(), expiration: 9, data: b"dd".to_vec() },
            Request::SectionDelete { open: 1, id: vec![] },
            Request::ExpirationSet { open: 1, id: b"a".to_vec(), expiration: 2 },
            Request::IterNext { open: 1, chosen: 5, expiration: 0, after: Some(b"q".to_vec()) },
            Request::IterNext { open: 1, chosen: 1, expiration: 0, after: None },
            Request::Write {
                open: 2,
                elements: vec![WriteElement { id: b"a".to_vec(), offset: 3, data: b"xyz".to_vec() }],
            },
            Request::Overwrite { open: 2, id: vec![], data: vec![1; 10] },
            Request::Read { open: 2, elements: vec![ReadElement { id: b"b".to_vec(), offset: 1, size: 5 }] },
            Request::Synchronize { open: 2, is_async: true, token: 77 },
        ]
    }

    #[test]
    fn requests_round_trip() {
        for req in samples() {
            let body = req.encode();
            assert_eq!(Request::decode(req.id(), &body).as_ref(), Ok(&req));
        }
    }

    #[test]
    fn truncated_or_extended_requests_are_rejected() {
        for req in samples() {
            let body = req.encode();
            for cut in 0..body.len() {
                assert!(Request::decode(req.id(), &body[..cut]).is_err(), "{req:?} cut at {cut}");
            }
            let mut longer = body.clone();
            longer.push(0);
            assert!(Request::decode(req.id(), &longer).is_err());
        }
        assert!(Request::decode(99, &[]).is_err());
    }

    #[test]
    fn hostile_counts_do_not_allocate() {
        let mut w = Writer::new();
        w.u64(1).u32(u32::MAX);
        assert!(Request::decode(WRITE, w.as_slice()).is_err());
        assert!(Request::decode(READ, w.as_slice()).is_err());
        let mut w = Writer::new();
        w.u64(1).u32(MAX_VECTOR as u32 + 1);
        assert!(Request::decode(READ, w.as_slice()).is_err());
    }

    #[test]
    fn vector_results_round_trip() {
        let v = VectorResult { error: 1, erroneous_index: 0, data: vec![b"ab".to_vec(), vec![]] };
        assert_eq!(VectorResult::decode(&v.encode()), Ok(v));
        assert!(VectorResult::decode(&[1, 0, 0]).is_err());
    }
}
