//! The replicated checkpoint store: every checkpoint, section and open of
//! the cluster, changed only by [`Store::apply`] (one delivered request),
//! [`Store::close_conn`] (a client gone) and [`Store::remove_nodes`] (a
//! configuration change), so every replica fed the same ordered sequence
//! ends identical.
//!
//! Time: `time` is the *cluster time*, the largest timestamp carried by any
//! ordered message so far (nanoseconds since the epoch, like `SaTimeT`
//! absolute times). It advances only on delivery, so it is the same on
//! every replica at the same point of the order, whatever the local
//! clocks say. Section expiration and checkpoint retention are decided
//! against it ([`Store::advance`]): an expired section or retained
//! checkpoint disappears at the same point of the order on every node.
//!
//! Memory: section data is bounded by each checkpoint's declared
//! `checkpointSize`, and the declared sizes of all checkpoints by
//! [`MAX_TOTAL_DECLARED`]; ids by `maxSectionIdSize` (<= `MAX_SECTION_ID`).

use std::collections::{BTreeMap, BTreeSet};

use ais_ipc::ckpt::{self as wire, Attrs, Descriptor, ReadElement, WriteElement};
use ais_ipc::error;

use crate::ordering::NodeId;

/// `SA_TIME_END`.
pub const TIME_END: i64 = i64::MAX;
/// Largest `checkpointSize` one checkpoint may declare.
pub const MAX_CHECKPOINT_SIZE: u64 = 1 << 30;
/// Largest `maxSections`.
pub const MAX_SECTIONS: u32 = 1 << 20;
/// Sum of the declared sizes of all checkpoints (`NO_RESOURCES` beyond).
pub const MAX_TOTAL_DECLARED: u64 = 4 << 30;
/// Most checkpoints (`NO_RESOURCES` beyond).
pub const MAX_CHECKPOINTS: usize = 65536;

/// A checkpoint's identity: the node that created it and that node's id
/// of the create request (unique: ids start at the boot time, see
/// `CkptService`).
pub type CkptId = (NodeId, u64);
/// One open: the node it was made on and that node's open id.
pub type OpenKey = (NodeId, u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub data: Vec<u8>,
    pub expiration: i64,
    pub last_update: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub name: Vec<u8>,
    pub unlinked: bool,
    /// The attributes it was created with (open-create compares them).
    pub created: Attrs,
    /// Current retention duration.
    pub retention: i64,
    pub sections: BTreeMap<Vec<u8>, Section>,
    /// Bytes of section data.
    pub used: u64,
    /// Cluster time since which it has no opener.
    pub idle_since: Option<i64>,
    /// Next candidate for a generated section id.
    pub next_generated: u64,
    /// The node of the active replica, once `saCkptActiveReplicaSet` named
    /// one (collocated checkpoints with an asynchronous update option only);
    /// cleared when that node leaves the cluster.
    pub active_replica: Option<NodeId>,
}

impl Checkpoint {
    fn new(name: Vec<u8>, attrs: Attrs) -> Checkpoint {
        let mut sections = BTreeMap::new();
        if attrs.max_sections == 1 {
            // The default section exists from the start.
            sections.insert(Vec::new(), Section { data: Vec::new(), expiration: TIME_END, last_update: 0 });
        }
        Checkpoint {
            name,
            unlinked: false,
            created: attrs,
            retention: attrs.retention,
            sections,
            used: 0,
            idle_since: None,
            next_generated: 1,
            active_replica: None,
        }
    }

    /// What the store reserves for it: its declared size, or more once its
    /// data has grown past that. As in openais 0.80, `checkpointSize` does
    /// not cap the data (classic programs such as `testckpt` write two
    /// 127,000-byte sections into a checkpoint declared 100,000 bytes);
    /// each section stays within `maxSectionSize` and the store as a whole
    /// within [`MAX_TOTAL_DECLARED`], so memory stays bounded.
    pub fn reserved(&self) -> u64 {
        self.created.checkpoint_size.max(self.used)
    }

    /// Whether the replicas are managed by the application: a collocated
    /// checkpoint with an asynchronous update option (B.01.01), which has
    /// an active replica only once `saCkptActiveReplicaSet` named one.
    pub fn app_managed(&self) -> bool {
        let flags = self.created.creation_flags;
        flags & wire::CHECKPOINT_COLLOCATED != 0 && flags & wire::WR_ALL_REPLICAS == 0
    }

    /// `NOT_EXIST` while an application-managed checkpoint has no active
    /// replica: there is no replica to read or change (what write,
    /// overwrite, read, section create/delete/expiration, synchronize,
    /// status and iteration answer then, as the classic stack did for all
    /// but section create).
    fn active(&self) -> Result<(), u32> {
        if self.app_managed() && self.active_replica.is_none() { Err(error::NOT_EXIST) } else { Ok(()) }
    }

    pub fn descriptor(&self, id: &[u8], s: &Section) -> Descriptor {
        Descriptor {
            id: id.to_vec(),
            expiration: s.expiration,
            size: s.data.len() as u64,
            state: wire::SECTION_VALID,
            last_update: s.last_update,
        }
    }
}

/// An open of a checkpoint by one client connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opener {
    pub ckpt: CkptId,
    pub flags: u32,
    /// The connection on the opening node (checked on every use).
    pub conn: u64,
}

/// Who asked, as carried in the ordered message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub node: NodeId,
    pub conn: u64,
    /// The origin's id for what this request creates (a new open, a new
    /// checkpoint); unique per origin node.
    pub new_id: u64,
}

/// The answer to the requester: the reply body after the error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub error: u32,
    pub payload: Vec<u8>,
}

impl Outcome {
    pub fn ok(payload: Vec<u8>) -> Outcome {
        Outcome { error: error::OK, payload }
    }
    pub fn err(error: u32) -> Outcome {
        Outcome { error, payload: Vec::new() }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Store {
    /// Cluster time (see the module doc).
    pub time: i64,
    pub by_name: BTreeMap<Vec<u8>, CkptId>,
    pub ckpts: BTreeMap<CkptId, Checkpoint>,
    pub openers: BTreeMap<OpenKey, Opener>,
    /// The sum of every checkpoint's [`Checkpoint::reserved`].
    pub total_declared: u64,
}

/// Whether `c` may hold `used` bytes of data, given the store's total
/// reservation `total` (see [`Checkpoint::reserved`]).
pub fn fits(total: u64, c: &Checkpoint, used: u64) -> bool {
    let grow = used.max(c.created.checkpoint_size).saturating_sub(c.reserved());
    total.saturating_add(grow) <= MAX_TOTAL_DECLARED
}

/// Sets `c.used`, keeping the store's total reservation `total` in step.
pub fn set_used(total: &mut u64, c: &mut Checkpoint, used: u64) {
    *total = *total - c.reserved() + used.max(c.created.checkpoint_size);
    c.used = used;
}

/// Checks creation attributes (the part that does not depend on state).
pub fn validate_attrs(a: &Attrs) -> u32 {
    let wr = a.creation_flags & (wire::WR_ALL_REPLICAS | wire::WR_ACTIVE_REPLICA | wire::WR_ACTIVE_REPLICA_WEAK);
    let known =
        wire::WR_ALL_REPLICAS | wire::WR_ACTIVE_REPLICA | wire::WR_ACTIVE_REPLICA_WEAK | wire::CHECKPOINT_COLLOCATED;
    if a.creation_flags & !known != 0 || wr.count_ones() != 1 {
        return error::INVALID_PARAM;
    }
    if a.max_sections == 0 || a.retention < 0 || a.max_section_id_size > wire::MAX_SECTION_ID as u64 {
        return error::INVALID_PARAM;
    }
    if (a.max_sections as u128) * (a.max_section_size as u128) < a.checkpoint_size as u128 {
        return error::INVALID_PARAM;
    }
    if a.checkpoint_size > MAX_CHECKPOINT_SIZE || a.max_sections > MAX_SECTIONS {
        return error::NO_RESOURCES;
    }
    error::OK
}

/// Checks open flags: known bits, and the attributes present exactly when
/// CREATE is set.
pub fn validate_open(flags: u32, attrs: Option<&Attrs>) -> u32 {
    if flags & !(wire::OPEN_READ | wire::OPEN_WRITE | wire::OPEN_CREATE) != 0 {
        return error::BAD_FLAGS;
    }
    match (flags & wire::OPEN_CREATE != 0, attrs) {
        (true, Some(a)) => validate_attrs(a),
        (false, None) => error::OK,
        _ => error::INVALID_PARAM,
    }
}

impl Store {
    /// Moves the cluster time to `ts` (never backwards) and drops what
    /// expired: sections past their expiration time, checkpoints idle
    /// longer than their retention duration.
    pub fn advance(&mut self, ts: i64) {
        self.time = self.time.max(ts);
        let now = self.time;
        let mut doomed = Vec::new();
        for (id, c) in self.ckpts.iter_mut() {
            if let Some(idle) = c.idle_since
                && idle.saturating_add(c.retention) <= now
            {
                doomed.push(*id);
                continue;
            }
            let expired: Vec<Vec<u8>> = c
                .sections
                .iter()
                .filter(|(k, s)| !k.is_empty() && s.expiration <= now)
                .map(|(k, _)| k.clone())
                .collect();
            for k in expired {
                if let Some(s) = c.sections.remove(&k) {
                    set_used(&mut self.total_declared, c, c.used - s.data.len() as u64);
                }
            }
        }
        for id in doomed {
            self.delete(id);
        }
    }

    /// The earliest cluster time at which [`advance`](Self::advance) will
    /// drop something, if any.
    pub fn next_deadline(&self) -> Option<i64> {
        let mut best: Option<i64> = None;
        for c in self.ckpts.values() {
            if let Some(idle) = c.idle_since {
                let t = idle.saturating_add(c.retention);
                best = Some(best.map_or(t, |b| b.min(t)));
            }
            for (k, s) in &c.sections {
                if !k.is_empty() && s.expiration != TIME_END {
                    best = Some(best.map_or(s.expiration, |b| b.min(s.expiration)));
                }
            }
        }
        best
    }

    fn delete(&mut self, id: CkptId) {
        if let Some(c) = self.ckpts.remove(&id) {
            self.total_declared -= c.reserved();
            if !c.unlinked {
                self.by_name.remove(&c.name);
            }
        }
        self.openers.retain(|_, o| o.ckpt != id);
    }

    /// An opener's checkpoint has lost it: start retention or delete.
    fn after_close(&mut self, id: CkptId) {
        if self.openers.values().any(|o| o.ckpt == id) {
            return;
        }
        let unlinked = match self.ckpts.get_mut(&id) {
            Some(c) => {
                c.idle_since = Some(self.time);
                c.unlinked
            }
            None => return,
        };
        if unlinked {
            self.delete(id);
        } else {
            // A zero retention expires at once.
            let t = self.time;
            self.advance(t);
        }
    }

    /// Every open made on a node not in `members` is closed (the node left
    /// or failed); returns how many.
    pub fn remove_nodes(&mut self, members: &[NodeId]) -> usize {
        // An active replica on a departed node is gone with it.
        for c in self.ckpts.values_mut() {
            if c.active_replica.is_some_and(|n| !members.contains(&n)) {
                c.active_replica = None;
            }
        }
        self.remove_opens(|(n, _), _| !members.contains(n))
    }

    /// Every open of connection `conn` of `node` is closed (the client is
    /// gone); returns how many.
    pub fn close_conn(&mut self, node: NodeId, conn: u64) -> usize {
        self.remove_opens(|(n, _), o| *n == node && o.conn == conn)
    }

    fn remove_opens(&mut self, gone: impl Fn(&OpenKey, &Opener) -> bool) -> usize {
        let gone: Vec<OpenKey> = self.openers.iter().filter(|(k, o)| gone(k, o)).map(|(k, _)| *k).collect();
        let mut touched = BTreeSet::new();
        for k in &gone {
            if let Some(o) = self.openers.remove(k) {
                touched.insert(o.ckpt);
            }
        }
        for id in touched {
            self.after_close(id);
        }
        gone.len()
    }

    /// The open `key` if it belongs to connection `conn`.
    fn opener(&self, key: OpenKey, conn: u64) -> Result<(Opener, &Checkpoint), u32> {
        match self.openers.get(&key) {
            Some(o) if o.conn == conn => match self.ckpts.get(&o.ckpt) {
                Some(c) => Ok((*o, c)),
                None => Err(error::BAD_HANDLE),
            },
            _ => Err(error::BAD_HANDLE),
        }
    }

    /// The checkpoint of write open `key`, if it has a replica to change.
    fn writable(&self, key: OpenKey, conn: u64) -> Result<CkptId, u32> {
        let (o, c) = self.opener(key, conn)?;
        if o.flags & wire::OPEN_WRITE == 0 {
            return Err(error::ACCESS);
        }
        c.active()?;
        Ok(o.ckpt)
    }

    /// Applies one ordered request from `origin`, delivered with timestamp
    /// `ts`; returns what the requester is told. Requests that only read
    /// (READ, SYNCHRONIZE) change nothing but the time.
    pub fn apply(&mut self, origin: Origin, ts: i64, req: &wire::Request) -> Outcome {
        use wire::Request as R;
        self.advance(ts);
        let key = |open: &u64| (origin.node, *open);
        let result = match req {
            R::Open { name, attrs, flags, .. } => self.open(origin, name, attrs.as_ref(), *flags),
            R::Close { open } => self.close(key(open), origin.conn),
            R::Unlink { name } => self.unlink(name),
            R::RetentionSet { open, duration } => self.retention_set(key(open), origin.conn, *duration),
            R::ActiveSet { open } => self.active_set(key(open), origin),
            R::SectionCreate { open, id, expiration, data } => {
                self.section_create(key(open), origin.conn, id, *expiration, data)
            }
            R::SectionDelete { open, id } => self.section_delete(key(open), origin.conn, id),
            R::ExpirationSet { open, id, expiration } => self.expiration_set(key(open), origin.conn, id, *expiration),
            R::Write { open, elements } => Ok(self.write(key(open), origin.conn, elements)),
            R::Overwrite { open, id, data } => self.overwrite(key(open), origin.conn, id, data),
            R::Read { open, elements } => Ok(self.read(key(open), origin.conn, elements)),
            R::Synchronize { open, .. } => self.synchronize(key(open), origin.conn),
            R::StatusGet { open } => self.status(key(open), origin.conn),
            R::IterNext { open, chosen, expiration, after } => {
                self.iter_next(key(open), origin.conn, *chosen, *expiration, after.as_deref(), ts)
            }
        };
        result.unwrap_or_else(Outcome::err)
    }

    fn open(&mut self, origin: Origin, name: &[u8], attrs: Option<&Attrs>, flags: u32) -> Result<Outcome, u32> {
        let check = validate_open(flags, attrs);
        if check != error::OK {
            return Err(check);
        }
        let id = match (self.by_name.get(name), attrs) {
            (Some(id), Some(a)) => {
                let c = self.ckpts.get(id).ok_or(error::LIBRARY)?;
                // The retention duration is not compared (as the classic
                // stack did): it can change after creation
                // (`saCkptCheckpointRetentionDurationSet`), and a process
                // reopening with its original attributes must not fail.
                if (Attrs { retention: c.created.retention, ..*a }) != c.created {
                    return Err(error::EXIST);
                }
                *id
            }
            (Some(id), None) => *id,
            (None, None) => return Err(error::NOT_EXIST),
            (None, Some(a)) => {
                if self.ckpts.len() >= MAX_CHECKPOINTS || self.total_declared + a.checkpoint_size > MAX_TOTAL_DECLARED {
                    return Err(error::NO_RESOURCES);
                }
                let id = (origin.node, origin.new_id);
                if self.ckpts.contains_key(&id) {
                    return Err(error::EXIST);
                }
                self.ckpts.insert(id, Checkpoint::new(name.to_vec(), *a));
                self.by_name.insert(name.to_vec(), id);
                self.total_declared += a.checkpoint_size;
                id
            }
        };
        let key = (origin.node, origin.new_id);
        if self.openers.contains_key(&key) {
            return Err(error::EXIST);
        }
        self.openers.insert(key, Opener { ckpt: id, flags, conn: origin.conn });
        if let Some(c) = self.ckpts.get_mut(&id) {
            c.idle_since = None;
        }
        Ok(Outcome::ok(origin.new_id.to_le_bytes().to_vec()))
    }

    fn close(&mut self, key: OpenKey, conn: u64) -> Result<Outcome, u32> {
        let (o, _) = self.opener(key, conn)?;
        self.openers.remove(&key);
        self.after_close(o.ckpt);
        Ok(Outcome::ok(Vec::new()))
    }

    fn unlink(&mut self, name: &[u8]) -> Result<Outcome, u32> {
        let id = self.by_name.remove(name).ok_or(error::NOT_EXIST)?;
        if let Some(c) = self.ckpts.get_mut(&id) {
            c.unlinked = true;
        }
        if !self.openers.values().any(|o| o.ckpt == id) {
            self.delete(id);
        }
        Ok(Outcome::ok(Vec::new()))
    }

    fn retention_set(&mut self, key: OpenKey, conn: u64, duration: i64) -> Result<Outcome, u32> {
        let (o, c) = self.opener(key, conn)?;
        if c.unlinked {
            return Err(error::BAD_OPERATION);
        }
        if duration < 0 {
            return Err(error::INVALID_PARAM);
        }
        if let Some(c) = self.ckpts.get_mut(&o.ckpt) {
            c.retention = duration;
        }
        Ok(Outcome::ok(Vec::new()))
    }

    /// `saCkptActiveReplicaSet`: the replica on the caller's node becomes
    /// the active one. Only for application-managed checkpoints
    /// ([`Checkpoint::app_managed`]); on others the service manages the
    /// replicas (`BAD_OPERATION`).
    fn active_set(&mut self, key: OpenKey, origin: Origin) -> Result<Outcome, u32> {
        let (o, c) = self.opener(key, origin.conn)?;
        if !c.app_managed() {
            return Err(error::BAD_OPERATION);
        }
        if o.flags & wire::OPEN_WRITE == 0 {
            return Err(error::ACCESS);
        }
        if let Some(c) = self.ckpts.get_mut(&o.ckpt) {
            c.active_replica = Some(origin.node);
        }
        Ok(Outcome::ok(Vec::new()))
    }

    fn section_create(
        &mut self,
        key: OpenKey,
        conn: u64,
        id: &[u8],
        expiration: i64,
        data: &[u8],
    ) -> Result<Outcome, u32> {
        let ck = self.writable(key, conn)?;
        let now = self.time;
        let c = self.ckpts.get_mut(&ck).ok_or(error::BAD_HANDLE)?;
        let a = c.created;
        if id.len() as u64 > a.max_section_id_size {
            return Err(error::INVALID_PARAM);
        }
        if data.len() as u64 > a.max_section_size {
            return Err(error::INVALID_PARAM);
        }
        if c.sections.len() as u64 >= u64::from(a.max_sections) {
            return Err(error::NO_SPACE);
        }
        if !fits(self.total_declared, c, c.used + data.len() as u64) {
            return Err(error::NO_SPACE);
        }
        let id = if id.is_empty() { generate_id(c)? } else { id.to_vec() };
        if c.sections.contains_key(&id) {
            return Err(error::EXIST);
        }
        set_used(&mut self.total_declared, c, c.used + data.len() as u64);
        c.sections.insert(id.clone(), Section { data: data.to_vec(), expiration, last_update: now });
        Ok(Outcome::ok(id_payload(&id)))
    }

    fn section_delete(&mut self, key: OpenKey, conn: u64, id: &[u8]) -> Result<Outcome, u32> {
        let ck = self.writable(key, conn)?;
        let c = self.ckpts.get_mut(&ck).ok_or(error::BAD_HANDLE)?;
        if id.is_empty() {
            return Err(error::INVALID_PARAM);
        }
        let s = c.sections.remove(id).ok_or(error::NOT_EXIST)?;
        set_used(&mut self.total_declared, c, c.used - s.data.len() as u64);
        Ok(Outcome::ok(Vec::new()))
    }

    fn expiration_set(&mut self, key: OpenKey, conn: u64, id: &[u8], expiration: i64) -> Result<Outcome, u32> {
        let ck = self.writable(key, conn)?;
        let c = self.ckpts.get_mut(&ck).ok_or(error::BAD_HANDLE)?;
        if id.is_empty() {
            return Err(error::INVALID_PARAM);
        }
        let s = c.sections.get_mut(id).ok_or(error::NOT_EXIST)?;
        s.expiration = expiration;
        let t = self.time;
        self.advance(t);
        Ok(Outcome::ok(Vec::new()))
    }

    /// All elements are checked first, then all applied: a write is all or
    /// nothing.
    fn write(&mut self, key: OpenKey, conn: u64, elements: &[WriteElement]) -> Outcome {
        let vector = |error, index: usize| {
            let r = wire::VectorResult { error, erroneous_index: index as u32, data: Vec::new() };
            Outcome::ok(r.encode())
        };
        let ck = match self.writable(key, conn) {
            Ok(ck) => ck,
            Err(e) => return Outcome::err(e),
        };
        let now = self.time;
        let Some(c) = self.ckpts.get_mut(&ck) else { return Outcome::err(error::BAD_HANDLE) };
        // Sizes as they would be after each element, for the space check.
        let mut sizes: BTreeMap<&[u8], u64> = BTreeMap::new();
        let mut used = c.used;
        for (i, e) in elements.iter().enumerate() {
            let Some(s) = c.sections.get(&e.id) else { return vector(error::NOT_EXIST, i) };
            let end = match e.offset.checked_add(e.data.len() as u64) {
                Some(end) if end <= c.created.max_section_size => end,
                // Past maxSectionSize: a parameter error (B.01.01 lists no
                // TOO_BIG for a write; the classic stack answered so too).
                _ => return vector(error::INVALID_PARAM, i),
            };
            let size = sizes.entry(&e.id).or_insert(s.data.len() as u64);
            if end > *size {
                used += end - *size;
                *size = end;
            }
            if !fits(self.total_declared, c, used) {
                return vector(error::NO_SPACE, i);
            }
        }
        for e in elements {
            if let Some(s) = c.sections.get_mut(&e.id) {
                let off = e.offset as usize;
                let end = off + e.data.len();
                if s.data.len() < end {
                    s.data.resize(end, 0);
                }
                s.data[off..end].copy_from_slice(&e.data);
                s.last_update = now;
            }
        }
        set_used(&mut self.total_declared, c, used);
        vector(error::OK, 0)
    }

    fn overwrite(&mut self, key: OpenKey, conn: u64, id: &[u8], data: &[u8]) -> Result<Outcome, u32> {
        let ck = self.writable(key, conn)?;
        let now = self.time;
        let c = self.ckpts.get_mut(&ck).ok_or(error::BAD_HANDLE)?;
        if data.len() as u64 > c.created.max_section_size {
            return Err(error::INVALID_PARAM); // as for a write
        }
        let old = c.sections.get(id).ok_or(error::NOT_EXIST)?.data.len() as u64;
        let used = c.used - old + data.len() as u64;
        if !fits(self.total_declared, c, used) {
            return Err(error::NO_SPACE);
        }
        let s = c.sections.get_mut(id).ok_or(error::NOT_EXIST)?;
        s.data = data.to_vec();
        s.last_update = now;
        set_used(&mut self.total_declared, c, used);
        Ok(Outcome::ok(Vec::new()))
    }

    /// Reads (no change). A section past its expiration time is gone even
    /// if no ordered message has dropped it yet.
    pub fn read(&self, key: OpenKey, conn: u64, elements: &[ReadElement]) -> Outcome {
        let (o, c) = match self.opener(key, conn) {
            Ok(x) => x,
            Err(e) => return Outcome::err(e),
        };
        if o.flags & wire::OPEN_READ == 0 {
            return Outcome::err(error::ACCESS);
        }
        if let Err(e) = c.active() {
            return Outcome::err(e);
        }
        let fail = |error, i: usize| {
            Outcome::ok(wire::VectorResult { error, erroneous_index: i as u32, data: Vec::new() }.encode())
        };
        let mut data = Vec::with_capacity(elements.len());
        let mut total = 0usize;
        for (i, e) in elements.iter().enumerate() {
            let s = match c.sections.get(&e.id) {
                Some(s) if e.id.is_empty() || s.expiration > self.time => s,
                _ => return fail(error::NOT_EXIST, i),
            };
            let len = s.data.len() as u64;
            if e.offset > len || e.offset > c.created.max_section_size {
                return fail(error::INVALID_PARAM, i);
            }
            let end = if e.size == 0 { len } else { len.min(e.offset.saturating_add(e.size)) };
            let bytes = &s.data[e.offset as usize..end as usize];
            total += bytes.len() + 4;
            if total > wire::MAX_DATA {
                return fail(error::TOO_BIG, i);
            }
            data.push(bytes.to_vec());
        }
        Outcome::ok(wire::VectorResult { error: error::OK, erroneous_index: 0, data }.encode())
    }

    fn synchronize(&self, key: OpenKey, conn: u64) -> Result<Outcome, u32> {
        let (o, c) = self.opener(key, conn)?;
        if c.created.creation_flags & wire::WR_ALL_REPLICAS != 0 {
            return Err(error::BAD_OPERATION);
        }
        if o.flags & wire::OPEN_WRITE == 0 {
            return Err(error::ACCESS);
        }
        c.active()?;
        Ok(Outcome::ok(Vec::new()))
    }

    /// STATUS_GET answer.
    pub fn status(&self, key: OpenKey, conn: u64) -> Result<Outcome, u32> {
        let (_, c) = self.opener(key, conn)?;
        c.active()?;
        let mut w = ais_ipc::Writer::new();
        let attrs = Attrs { retention: c.retention, ..c.created };
        attrs.encode(&mut w);
        w.u32(c.sections.len() as u32).u32(c.used.min(u32::MAX as u64) as u32);
        Ok(Outcome::ok(w.into_vec()))
    }

    /// ITER_NEXT answer: the first section after `after` (in id order)
    /// that `chosen` selects at local time `now`.
    pub fn iter_next(
        &self,
        key: OpenKey,
        conn: u64,
        chosen: u32,
        expiration: i64,
        after: Option<&[u8]>,
        now: i64,
    ) -> Result<Outcome, u32> {
        let (_, c) = self.opener(key, conn)?;
        c.active()?;
        let live = |id: &[u8], s: &Section| id.is_empty() || s.expiration > now.max(self.time);
        let pick = |s: &Section| match chosen {
            wire::SECTIONS_FOREVER => s.expiration == TIME_END,
            wire::SECTIONS_LEQ_EXPIRATION_TIME => s.expiration <= expiration,
            wire::SECTIONS_GEQ_EXPIRATION_TIME => s.expiration >= expiration,
            wire::SECTIONS_CORRUPTED => false,
            _ => true,
        };
        let range: Box<dyn Iterator<Item = (&Vec<u8>, &Section)>> = match after {
            Some(a) => {
                Box::new(c.sections.range::<[u8], _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)))
            }
            None => Box::new(c.sections.iter()),
        };
        let mut w = ais_ipc::Writer::new();
        match range.into_iter().find(|(id, s)| live(id, s) && pick(s)) {
            Some((id, s)) => {
                w.bool(true);
                c.descriptor(id, s).encode(&mut w);
            }
            None => {
                w.bool(false);
            }
        }
        Ok(Outcome::ok(w.into_vec()))
    }
}

/// A fresh section id for `c`: the counter's bytes (little-endian, as
/// many as `maxSectionIdSize` allows, at most 8), skipping ids in use.
fn generate_id(c: &mut Checkpoint) -> Result<Vec<u8>, u32> {
    let width = (c.created.max_section_id_size as usize).min(8);
    if width == 0 {
        return Err(error::INVALID_PARAM);
    }
    // At most sections+1 candidates are taken before a free one.
    for _ in 0..=c.sections.len() {
        let n = c.next_generated;
        if width < 8 && n >> (8 * width) != 0 {
            return Err(error::NO_SPACE);
        }
        // Wraps rather than overflows: the counter can arrive from the
        // network (sync), and ids in use are skipped anyway.
        c.next_generated = n.wrapping_add(1);
        let id = n.to_le_bytes()[..width].to_vec();
        if !c.sections.contains_key(&id) {
            return Ok(id);
        }
    }
    Err(error::NO_SPACE)
}

fn id_payload(id: &[u8]) -> Vec<u8> {
    let mut w = ais_ipc::Writer::new();
    w.bytes(id);
    w.into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::Request as R;

    const RW: u32 = wire::OPEN_READ | wire::OPEN_WRITE;

    fn attrs(flags: u32) -> Attrs {
        Attrs {
            creation_flags: flags,
            checkpoint_size: 200,
            retention: 1_000,
            max_sections: 1,
            max_section_size: 200,
            max_section_id_size: 8,
        }
    }

    /// Opens `name` from node `node` (connection 1, open id `id`).
    fn open(st: &mut Store, node: NodeId, id: u64, name: &str, a: Option<Attrs>, flags: u32) -> Outcome {
        let origin = Origin { node, conn: 1, new_id: id };
        st.apply(origin, 1, &R::Open { token: 0, is_async: false, name: name.into(), attrs: a, flags })
    }

    /// `req` from open `id` of node `node`: the error, or a vector's error.
    fn call(st: &mut Store, node: NodeId, req: &wire::Request) -> u32 {
        let o = st.apply(Origin { node, conn: 1, new_id: 0 }, 1, req);
        match req {
            R::Write { .. } | R::Read { .. } if o.error == error::OK => {
                wire::VectorResult::decode(&o.payload).unwrap().error
            }
            _ => o.error,
        }
    }

    fn data_calls(open: u64) -> Vec<wire::Request> {
        let id = Vec::new();
        vec![
            R::Write { open, elements: vec![WriteElement { id: id.clone(), offset: 0, data: b"abc".to_vec() }] },
            R::Overwrite { open, id: id.clone(), data: b"de".to_vec() },
            R::Read { open, elements: vec![ReadElement { id, offset: 0, size: 0 }] },
            R::StatusGet { open },
            R::IterNext { open, chosen: wire::SECTIONS_ANY, expiration: 0, after: None },
            R::Synchronize { open, is_async: false, token: 0 },
        ]
    }

    /// Sums every checkpoint's reservation, to compare with the running total.
    fn reserved_sum(st: &Store) -> u64 {
        st.ckpts.values().map(Checkpoint::reserved).sum()
    }

    #[test]
    fn data_may_pass_the_declared_size_while_the_store_has_room() {
        let mut st = Store::default();
        // Declared 100 bytes, two sections of up to 200 (testckpt's shape).
        let a = Attrs { checkpoint_size: 100, max_sections: 2, max_section_size: 200, ..attrs(wire::WR_ALL_REPLICAS) };
        assert_eq!(open(&mut st, 1, 10, "c", Some(a), RW | wire::OPEN_CREATE).error, error::OK);
        let create =
            |id: &[u8], n| R::SectionCreate { open: 10, id: id.to_vec(), expiration: TIME_END, data: vec![7; n] };
        assert_eq!(call(&mut st, 1, &create(b"a", 150)), error::OK);
        assert_eq!(call(&mut st, 1, &create(b"b", 20)), error::OK);
        let write =
            R::Write { open: 10, elements: vec![WriteElement { id: b"b".to_vec(), offset: 0, data: vec![1; 200] }] };
        assert_eq!(call(&mut st, 1, &write), error::OK);
        assert_eq!(st.ckpts.values().next().unwrap().used, 350);
        assert_eq!(st.total_declared, 350);
        // Past maxSectionSize is still refused.
        let past =
            R::Write { open: 10, elements: vec![WriteElement { id: b"b".to_vec(), offset: 1, data: vec![1; 200] }] };
        assert_eq!(call(&mut st, 1, &past), error::INVALID_PARAM);
        // Shrinking gives the reservation back, down to the declared size.
        assert_eq!(call(&mut st, 1, &R::Overwrite { open: 10, id: b"a".to_vec(), data: vec![1; 10] }), error::OK);
        assert_eq!(call(&mut st, 1, &R::SectionDelete { open: 10, id: b"b".to_vec() }), error::OK);
        assert_eq!((st.ckpts.values().next().unwrap().used, st.total_declared), (10, 100));
        assert_eq!(st.total_declared, reserved_sum(&st));
    }

    #[test]
    fn data_past_the_declared_size_needs_room_in_the_store() {
        let mut st = Store::default();
        // Declarations that fill the store but for 100 bytes.
        let big = Attrs {
            checkpoint_size: MAX_CHECKPOINT_SIZE,
            max_section_size: MAX_CHECKPOINT_SIZE,
            ..attrs(wire::WR_ALL_REPLICAS)
        };
        let fill = MAX_TOTAL_DECLARED / MAX_CHECKPOINT_SIZE - 1;
        for i in 0..fill {
            assert_eq!(
                open(&mut st, 1, 100 + i, &format!("big{i}"), Some(big), RW | wire::OPEN_CREATE).error,
                error::OK
            );
        }
        let rest = Attrs { checkpoint_size: MAX_CHECKPOINT_SIZE - 100, ..big };
        assert_eq!(open(&mut st, 1, 99, "rest", Some(rest), RW | wire::OPEN_CREATE).error, error::OK);
        let a = Attrs { checkpoint_size: 50, max_sections: 2, max_section_size: 200, ..attrs(wire::WR_ALL_REPLICAS) };
        assert_eq!(open(&mut st, 1, 10, "c", Some(a), RW | wire::OPEN_CREATE).error, error::OK);
        let create =
            |id: &[u8], n| R::SectionCreate { open: 10, id: id.to_vec(), expiration: TIME_END, data: vec![7; n] };
        assert_eq!(call(&mut st, 1, &create(b"a", 100)), error::OK);
        assert_eq!(st.total_declared, MAX_TOTAL_DECLARED);
        // One byte more anywhere in this checkpoint: no room.
        assert_eq!(call(&mut st, 1, &create(b"b", 1)), error::NO_SPACE);
        let write =
            R::Write { open: 10, elements: vec![WriteElement { id: b"a".to_vec(), offset: 100, data: vec![1] }] };
        assert_eq!(call(&mut st, 1, &write), error::NO_SPACE);
        assert_eq!(
            call(&mut st, 1, &R::Overwrite { open: 10, id: b"a".to_vec(), data: vec![1; 101] }),
            error::NO_SPACE
        );
        // Nothing was applied; the same size again is fine.
        assert_eq!(st.ckpts.values().find(|c| c.name == b"c").unwrap().used, 100);
        assert_eq!(call(&mut st, 1, &R::Overwrite { open: 10, id: b"a".to_vec(), data: vec![2; 100] }), error::OK);
        assert_eq!(st.total_declared, reserved_sum(&st));
    }

    #[test]
    fn a_collocated_checkpoint_has_no_replica_to_use_until_an_active_one_is_set() {
        let mut st = Store::default();
        let a = attrs(wire::WR_ACTIVE_REPLICA | wire::CHECKPOINT_COLLOCATED);
        assert_eq!(open(&mut st, 1, 10, "c", Some(a), RW | wire::OPEN_CREATE).error, error::OK);
        assert_eq!(open(&mut st, 2, 20, "c", None, RW).error, error::OK);
        assert_eq!(open(&mut st, 2, 21, "c", None, wire::OPEN_READ).error, error::OK);
        // Before: all of these answered OK.
        for req in data_calls(10) {
            assert_eq!(call(&mut st, 1, &req), error::NOT_EXIST, "{req:?}");
        }
        let create = R::SectionCreate { open: 10, id: b"s".to_vec(), expiration: TIME_END, data: vec![] };
        assert_eq!(call(&mut st, 1, &create), error::NOT_EXIST);
        assert_eq!(call(&mut st, 2, &R::ActiveSet { open: 21 }), error::ACCESS);
        // Set by node 2: every open, on every node, has a replica to use.
        assert_eq!(call(&mut st, 2, &R::ActiveSet { open: 20 }), error::OK);
        assert_eq!(st.ckpts.values().next().unwrap().active_replica, Some(2));
        for req in data_calls(10) {
            assert_eq!(call(&mut st, 1, &req), error::OK, "{req:?}");
        }
        assert_eq!(
            call(&mut st, 2, &R::Read { open: 21, elements: vec![ReadElement { id: vec![], offset: 0, size: 0 }] }),
            error::OK
        );
        // Node 2 leaves: its replica is gone with it.
        st.remove_nodes(&[1]);
        assert_eq!(st.ckpts.values().next().unwrap().active_replica, None);
        assert_eq!(call(&mut st, 1, &data_calls(10)[0]), error::NOT_EXIST);
        assert_eq!(call(&mut st, 1, &R::ActiveSet { open: 10 }), error::OK);
        assert_eq!(call(&mut st, 1, &data_calls(10)[0]), error::OK);
    }

    #[test]
    fn active_replica_set_is_only_for_collocated_asynchronous_checkpoints() {
        let mut st = Store::default();
        let flags = [
            (wire::WR_ALL_REPLICAS, error::BAD_OPERATION),
            (wire::WR_ACTIVE_REPLICA, error::BAD_OPERATION), // before: OK
            (wire::WR_ACTIVE_REPLICA_WEAK, error::BAD_OPERATION),
            (wire::WR_ALL_REPLICAS | wire::CHECKPOINT_COLLOCATED, error::BAD_OPERATION),
            (wire::WR_ACTIVE_REPLICA | wire::CHECKPOINT_COLLOCATED, error::OK),
            (wire::WR_ACTIVE_REPLICA_WEAK | wire::CHECKPOINT_COLLOCATED, error::OK),
        ];
        for (i, (f, want)) in flags.into_iter().enumerate() {
            let (id, name) = (i as u64 + 1, format!("c{i}"));
            assert_eq!(open(&mut st, 1, id, &name, Some(attrs(f)), RW | wire::OPEN_CREATE).error, error::OK);
            assert_eq!(call(&mut st, 1, &R::ActiveSet { open: id }), want, "flags {f:#x}");
            // Checkpoints whose replicas the service manages need none.
            if want != error::OK {
                assert_eq!(call(&mut st, 1, &data_calls(id)[0]), error::OK, "flags {f:#x}");
            }
        }
    }

    #[test]
    fn past_max_section_size_is_invalid_param_and_reopen_ignores_retention() {
        let mut st = Store::default();
        let a = attrs(wire::WR_ALL_REPLICAS);
        assert_eq!(open(&mut st, 1, 1, "c", Some(a), RW | wire::OPEN_CREATE).error, error::OK);
        let long =
            |offset| R::Write { open: 1, elements: vec![WriteElement { id: vec![], offset, data: vec![7; 150] }] };
        // Before: TOO_BIG, which B.01.01 does not list for these calls.
        assert_eq!(call(&mut st, 1, &long(51)), error::INVALID_PARAM);
        assert_eq!(call(&mut st, 1, &long(50)), error::OK);
        assert_eq!(call(&mut st, 1, &R::Overwrite { open: 1, id: vec![], data: vec![1; 201] }), error::INVALID_PARAM);
        assert_eq!(call(&mut st, 1, &R::Overwrite { open: 1, id: vec![], data: vec![1; 200] }), error::OK);
        // Reopen with CREATE: the retention duration is not compared
        // (before: EXIST), every other attribute is.
        assert_eq!(call(&mut st, 1, &R::RetentionSet { open: 1, duration: 5 }), error::OK);
        assert_eq!(open(&mut st, 1, 2, "c", Some(a), RW | wire::OPEN_CREATE).error, error::OK);
        let other = Attrs { retention: 77, ..a };
        assert_eq!(open(&mut st, 1, 3, "c", Some(other), RW | wire::OPEN_CREATE).error, error::OK);
        assert_eq!(st.ckpts.values().next().unwrap().retention, 5, "reopening changes no retention");
        let bigger = Attrs { checkpoint_size: 199, ..a };
        assert_eq!(open(&mut st, 1, 4, "c", Some(bigger), RW | wire::OPEN_CREATE).error, error::EXIST);
        let flags = Attrs { creation_flags: wire::WR_ACTIVE_REPLICA, ..a };
        assert_eq!(open(&mut st, 1, 5, "c", Some(flags), RW | wire::OPEN_CREATE).error, error::EXIST);
    }

    #[test]
    fn a_generated_id_counter_at_its_end_wraps_instead_of_overflowing() {
        // The counter arrives by sync from another node, so it can be anything.
        let created = Attrs {
            creation_flags: 1,
            checkpoint_size: 10,
            retention: 1,
            max_sections: 4,
            max_section_size: 5,
            max_section_id_size: 8,
        };
        let mut c = Checkpoint {
            name: b"c".to_vec(),
            unlinked: false,
            created,
            retention: 1,
            sections: BTreeMap::new(),
            used: 0,
            idle_since: None,
            next_generated: u64::MAX,
            active_replica: None,
        };
        // Before: `next_generated += 1` overflowed (a panic in debug builds).
        assert_eq!(generate_id(&mut c), Ok(u64::MAX.to_le_bytes().to_vec()));
        assert_eq!(c.next_generated, 0);
        assert_eq!(generate_id(&mut c), Ok(0u64.to_le_bytes().to_vec()));
    }
}
