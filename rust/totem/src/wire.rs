//! Packet formats, all little-endian. Every packet starts with
//! `magic u16, version u8, type u8, sender u32`. Decoding checks every
//! length and count against the bytes actually present before allocating.
//!
//! Version 4 made each rekey a fresh X25519 exchange (`srp/rekey.rs`):
//! the token flags [`TF_REKEY_ANNOUNCE`] and [`TF_REKEY_KX`] (then the
//! token ends with a [`CommitKx`] carrying the new secret round the ring),
//! and the rekey key packet (type 8, [`RekeyKey`]), a member's ephemeral
//! public key for its predecessor, sealed under the ring's key.
//!
//! Version 3 added the key phase of a ring's token ([`TF_KEY_PHASE`],
//! see `srp/rekey.rs`): a version 2 node would refuse the flag, so nodes
//! of both versions never form a ring together.
//!
//! Version 2 added the key exchange (see `keyx.rs`): a join carries its
//! sender's ephemeral X25519 public key after `ring_seq`, a commit token
//! carries the wrapped ring secret ([`CommitKx`]) after `hop`. Which
//! packets travel under a ring's session key and which under the authkey:
//! [`session_ring`].
//!
//! A join or commit token larger than the frame (rings of more than about
//! 30 members at a 1400-byte frame) travels as parts ([`Part`], type 7,
//! added without a version change: a ring small enough for one frame sends
//! exactly what it sent before). See [`split`] and `srp/parts.rs`.

use crate::RingId;

pub const MAGIC: u16 = 0x70e7;
pub const VERSION: u8 = 4;
pub const HEADER_LEN: usize = 8;

const T_MCAST: u8 = 1;
const T_TOKEN: u8 = 2;
const T_JOIN: u8 = 3;
const T_COMMIT: u8 = 4;
const T_MERGE: u8 = 5;
const T_WAKE: u8 = 6;
const T_PART: u8 = 7;
const T_REKEY: u8 = 8;
const T_SAFE_ACK: u8 = 9;

/// Hard upper bounds on counts, whatever the frame size.
pub const MAX_MEMBERS_WIRE: usize = 256;
pub const MAX_RTR_WIRE: usize = 1024;
/// Ring sequence numbers at or above this are refused.
pub const MAX_RING_SEQ: u64 = 1 << 62;

/// Mcast flag: the packet carries safe-delivery messages.
pub const MF_SAFE: u8 = 1;
/// Mcast flag: a recovery retransmission of an old-ring message.
pub const MF_ENCAP: u8 = 2;
/// Token flag: recovery is complete, install the new ring.
pub const TF_INSTALL: u8 = 1;
/// Token flag: some node still has recovery messages to send this rotation.
pub const TF_PENDING: u8 = 2;
/// Token flag: the parity of the ring's key epoch. The representative
/// flips it to move the ring to its next key; each member switches keys
/// when it sees the token in the other phase (`srp/rekey.rs`).
pub const TF_KEY_PHASE: u8 = 4;
/// Token flag: a rekey is due; each member draws a fresh ephemeral key
/// at its visit in this rotation and sends its public key to its
/// predecessor ([`RekeyKey`]).
pub const TF_REKEY_ANNOUNCE: u8 = 8;
/// Token flag: the token ends with the new ring secret wrapped for the
/// next member ([`Token::kx`]); set exactly when `kx` is present.
pub const TF_REKEY_KX: u8 = 16;

/// Chunk flag: last fragment of its message.
pub const CF_LAST: u8 = 1;
pub const CHUNK_HEADER_LEN: usize = 9;
pub const MCAST_HEADER_LEN: usize = HEADER_LEN + 4 + 8 + 8 + 1;
pub const ENCAP_LEN: usize = 4 + 8 + 8 + 4 + 1;
pub const TOKEN_FIXED_LEN: usize = HEADER_LEN + 4 + 8 + 8 + 8 + 8 + 4 + 1 + 2 + 2;
pub const COMMIT_ENTRY_LEN: usize = 4 + 1 + 4 + 8 + 8 + 8 + 8;
pub const COMMIT_FIXED_LEN: usize = HEADER_LEN + 4 + 8 + 8 + COMMIT_KX_LEN + 2;
/// The key exchange part of a commit token.
pub const COMMIT_KX_LEN: usize = 32 + 32 + 8;
/// Fixed part of a join (before its two sets).
pub const JOIN_FIXED_LEN: usize = HEADER_LEN + 8 + 32 + 2 + 2;
/// A rekey key packet.
pub const REKEY_KEY_LEN: usize = HEADER_LEN + 12 + 8 + 32;
/// Header of a part: `id u32, index u8, count u8, len u16` after the packet header.
pub const PART_HEADER_LEN: usize = HEADER_LEN + 4 + 1 + 1 + 2;
/// Largest join or commit token any valid ring produces: the bound on what
/// parts may add up to.
pub const MAX_MEMBERSHIP_LEN: usize = {
    let join = JOIN_FIXED_LEN + 4 * 2 * MAX_MEMBERS_WIRE;
    let commit = COMMIT_FIXED_LEN + COMMIT_ENTRY_LEN * MAX_MEMBERS_WIRE;
    if join > commit { join } else { commit }
};
/// Most parts one packet is split into (a 512-byte frame needs 22 for the largest).
pub const MAX_PARTS: usize = 32;

/// Why a packet was refused. Each class has its own counter in `Stats`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the fields need.
    Short,
    /// Not our magic number or an unknown version.
    BadMagic,
    /// Unknown packet type.
    BadType,
    /// A length field disagrees with the bytes present (or trailing bytes).
    BadLength,
    /// A count larger than any valid packet can hold.
    AbsurdCount,
    /// A field with a value that cannot occur (unknown flags, zero node id, ...).
    BadValue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encap {
    pub old_ring: RingId,
    pub old_seq: u64,
    pub orig_sender: u32,
    pub orig_flags: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mcast {
    pub ring: RingId,
    pub seq: u64,
    pub flags: u8,
    pub encap: Option<Encap>,
    /// The chunk area: `count u16` then chunks; already validated by `decode`.
    pub chunks: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub ring: RingId,
    pub token_seq: u64,
    pub seq: u64,
    pub rotation_seq: u64,
    pub fcc: u32,
    pub flags: u8,
    pub acks: Vec<u64>,
    pub rtr: Vec<u64>,
    /// During a rekey's wrap rotation: the new ring secret on its way
    /// round (see `keyx.rs`, step 6). [`COMMIT_KX_LEN`] bytes after `rtr`.
    pub kx: Option<CommitKx>,
}

/// A member's fresh ephemeral public key for the rekey of `ring` that the
/// token announced in rotation `attempt`, sent to its predecessor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RekeyKey {
    pub ring: RingId,
    pub attempt: u64,
    pub ephemeral: [u8; 32],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Join {
    pub proc_set: Vec<u32>,
    pub fail_set: Vec<u32>,
    pub ring_seq: u64,
    /// The sender's ephemeral X25519 public key for this membership round
    /// (all zero without key exchange).
    pub ephemeral: [u8; 32],
}

/// The ring secret on its way round the commit token: `wrap` is the secret
/// masked for the next member by the member whose ephemeral public key is
/// `from`; `check` lets every member check what it unwrapped (see
/// `keyx.rs`). All zero without key exchange.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CommitKx {
    pub from: [u8; 32],
    pub wrap: [u8; 32],
    pub check: [u8; 8],
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CommitEntry {
    pub filled: bool,
    pub old_ring: RingId,
    pub aru: u64,
    pub high_delivered: u64,
    pub high_seq: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    pub ring: RingId,
    pub hop: u64,
    pub kx: CommitKx,
    pub members: Vec<u32>,
    pub entries: Vec<CommitEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    Mcast(Mcast),
    Token(Token),
    Join(Join),
    Commit(Commit),
    Merge(RingId),
    /// To the representative of `RingId`: "I have messages queued, pass the token
    /// on if you are holding it". Only shortens a hold; losing it costs nothing.
    Wake(RingId),
    /// One piece of a join or commit token that does not fit the frame.
    Part(Part),
    /// A member's ephemeral public key for a rekey of its ring.
    RekeyKey(RekeyKey),
    /// To a member that sent Safe messages: what this node holds of the
    /// ring (`srp/safe_acks.rs`). Type 9, added without a version change:
    /// a node that does not know it counts it as malformed and the sender
    /// learns safety from the token as before.
    SafeAck(SafeAck),
}

/// "I hold every message of `ring` up to `aru`", sent straight to the
/// sender of a Safe message instead of waiting for the token to tell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SafeAck {
    pub ring: RingId,
    pub aru: u64,
}

/// Piece `index` of `count` of the encoded packet numbered `id` by its sender.
/// The pieces concatenated are that packet's bytes, header included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub id: u32,
    pub index: u8,
    pub count: u8,
    pub data: Vec<u8>,
}

/// Splits an encoded packet into parts that each fit `frame` bytes; a packet
/// that fits already is returned as is (then `id` is not used).
pub fn split(sender: u32, id: u32, bytes: Vec<u8>, frame: usize) -> Vec<Vec<u8>> {
    if bytes.len() <= frame {
        return vec![bytes];
    }
    let room = frame - PART_HEADER_LEN;
    let count = bytes.len().div_ceil(room);
    debug_assert!(count <= MAX_PARTS && bytes.len() <= MAX_MEMBERSHIP_LEN);
    bytes
        .chunks(room)
        .enumerate()
        .map(|(i, data)| {
            encode(sender, &Packet::Part(Part { id, index: i as u8, count: count as u8, data: data.to_vec() }))
        })
        .collect()
}

/// One piece of an application message inside an mcast packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    pub msg_no: u32,
    pub frag: u16,
    pub last: bool,
    pub data: &'a [u8],
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Short);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let b = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.bytes(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn node(&mut self) -> Result<u32, DecodeError> {
        let n = self.u32()?;
        if n == 0 { Err(DecodeError::BadValue) } else { Ok(n) }
    }
    fn ring(&mut self) -> Result<RingId, DecodeError> {
        let rep = self.node()?;
        let seq = self.ring_seq()?;
        Ok(RingId { rep, seq })
    }
    /// Ring sequence numbers grow by 4 per membership change; anything near
    /// the top of the range is forged and would stop rings from ever forming.
    fn ring_seq(&mut self) -> Result<u64, DecodeError> {
        let seq = self.u64()?;
        if seq >= MAX_RING_SEQ { Err(DecodeError::BadValue) } else { Ok(seq) }
    }
    /// A count of `elem`-byte items, checked against the hard limit and the bytes present.
    fn count(&mut self, elem: usize, limit: usize) -> Result<usize, DecodeError> {
        let n = self.u16()? as usize;
        if n > limit {
            return Err(DecodeError::AbsurdCount);
        }
        if n * elem > self.remaining() {
            return Err(DecodeError::AbsurdCount);
        }
        Ok(n)
    }
    fn end(&self) -> Result<(), DecodeError> {
        if self.remaining() != 0 { Err(DecodeError::BadLength) } else { Ok(()) }
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn new(ty: u8, sender: u32, cap: usize) -> Writer {
        let mut v = Vec::with_capacity(cap);
        v.extend_from_slice(&MAGIC.to_le_bytes());
        v.push(VERSION);
        v.push(ty);
        v.extend_from_slice(&sender.to_le_bytes());
        Writer(v)
    }
    fn u8(&mut self, x: u8) {
        self.0.push(x)
    }
    fn u16(&mut self, x: u16) {
        self.0.extend_from_slice(&x.to_le_bytes())
    }
    fn u32(&mut self, x: u32) {
        self.0.extend_from_slice(&x.to_le_bytes())
    }
    fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_le_bytes())
    }
    fn ring(&mut self, r: RingId) {
        self.u32(r.rep);
        self.u64(r.seq);
    }
}

/// Encodes a multicast from borrowed parts, so sending a stored message
/// does not first copy its chunks into a [`Mcast`].
pub fn encode_mcast(sender: u32, ring: RingId, seq: u64, flags: u8, encap: Option<&Encap>, chunks: &[u8]) -> Vec<u8> {
    let mut w = Writer::new(T_MCAST, sender, MCAST_HEADER_LEN + ENCAP_LEN + chunks.len());
    w.ring(ring);
    w.u64(seq);
    w.u8(if encap.is_some() { flags | MF_ENCAP } else { flags & !MF_ENCAP });
    if let Some(e) = encap {
        w.ring(e.old_ring);
        w.u64(e.old_seq);
        w.u32(e.orig_sender);
        w.u8(e.orig_flags);
    }
    w.0.extend_from_slice(chunks);
    w.0
}

/// Encodes a packet. Counts are assumed within limits (the protocol builds them so).
pub fn encode(sender: u32, p: &Packet) -> Vec<u8> {
    match p {
        Packet::Mcast(m) => encode_mcast(sender, m.ring, m.seq, m.flags, m.encap.as_ref(), &m.chunks),
        Packet::Token(t) => {
            let mut w =
                Writer::new(T_TOKEN, sender, TOKEN_FIXED_LEN + 8 * (t.acks.len() + t.rtr.len()) + COMMIT_KX_LEN);
            w.ring(t.ring);
            w.u64(t.token_seq);
            w.u64(t.seq);
            w.u64(t.rotation_seq);
            w.u32(t.fcc);
            w.u8(if t.kx.is_some() { t.flags | TF_REKEY_KX } else { t.flags & !TF_REKEY_KX });
            w.u16(t.acks.len() as u16);
            for a in &t.acks {
                w.u64(*a);
            }
            w.u16(t.rtr.len() as u16);
            for r in &t.rtr {
                w.u64(*r);
            }
            if let Some(kx) = &t.kx {
                w.0.extend_from_slice(&kx.from);
                w.0.extend_from_slice(&kx.wrap);
                w.0.extend_from_slice(&kx.check);
            }
            w.0
        }
        Packet::Join(j) => {
            let mut w = Writer::new(T_JOIN, sender, JOIN_FIXED_LEN + 4 * (j.proc_set.len() + j.fail_set.len()));
            w.u64(j.ring_seq);
            w.0.extend_from_slice(&j.ephemeral);
            w.u16(j.proc_set.len() as u16);
            for n in &j.proc_set {
                w.u32(*n);
            }
            w.u16(j.fail_set.len() as u16);
            for n in &j.fail_set {
                w.u32(*n);
            }
            w.0
        }
        Packet::Commit(c) => {
            let mut w = Writer::new(T_COMMIT, sender, COMMIT_FIXED_LEN + COMMIT_ENTRY_LEN * c.members.len());
            w.ring(c.ring);
            w.u64(c.hop);
            w.0.extend_from_slice(&c.kx.from);
            w.0.extend_from_slice(&c.kx.wrap);
            w.0.extend_from_slice(&c.kx.check);
            w.u16(c.members.len() as u16);
            for (m, e) in c.members.iter().zip(&c.entries) {
                w.u32(*m);
                w.u8(e.filled as u8);
                w.ring(e.old_ring);
                w.u64(e.aru);
                w.u64(e.high_delivered);
                w.u64(e.high_seq);
            }
            w.0
        }
        Packet::Merge(r) => {
            let mut w = Writer::new(T_MERGE, sender, HEADER_LEN + 12);
            w.ring(*r);
            w.0
        }
        Packet::Wake(r) => {
            let mut w = Writer::new(T_WAKE, sender, HEADER_LEN + 12);
            w.ring(*r);
            w.0
        }
        Packet::Part(p) => {
            let mut w = Writer::new(T_PART, sender, PART_HEADER_LEN + p.data.len());
            w.u32(p.id);
            w.u8(p.index);
            w.u8(p.count);
            w.u16(p.data.len() as u16);
            w.0.extend_from_slice(&p.data);
            w.0
        }
        Packet::RekeyKey(k) => {
            let mut w = Writer::new(T_REKEY, sender, REKEY_KEY_LEN);
            w.ring(k.ring);
            w.u64(k.attempt);
            w.0.extend_from_slice(&k.ephemeral);
            w.0
        }
        Packet::SafeAck(a) => {
            let mut w = Writer::new(T_SAFE_ACK, sender, HEADER_LEN + 20);
            w.ring(a.ring);
            w.u64(a.aru);
            w.0
        }
    }
}

/// The ring whose session key seals this encoded packet: the ring of a
/// multicast, token, wake, rekey key or safe ack. `None` for join, merge and commit (they run
/// the membership protocol and the key exchange between nodes that share
/// no ring yet: the authkey seals them) and for anything that is not a
/// packet of ours. Reads the fixed header only.
pub fn session_ring(buf: &[u8]) -> Option<RingId> {
    if buf.len() < HEADER_LEN + 12 || buf[0..2] != MAGIC.to_le_bytes() || buf[2] != VERSION {
        return None;
    }
    match buf[3] {
        T_MCAST | T_TOKEN | T_WAKE | T_REKEY | T_SAFE_ACK => {
            let rep = u32::from_le_bytes(buf[8..12].try_into().ok()?);
            let seq = u64::from_le_bytes(buf[12..20].try_into().ok()?);
            Some(RingId { rep, seq })
        }
        _ => None,
    }
}

/// Walks a chunk area, validating it. Calls `f` for each chunk.
pub fn for_each_chunk<'a>(area: &'a [u8], mut f: impl FnMut(Chunk<'a>)) -> Result<(), DecodeError> {
    let mut r = Reader { buf: area, pos: 0 };
    let n = r.count(CHUNK_HEADER_LEN, u16::MAX as usize)?;
    for _ in 0..n {
        let msg_no = r.u32()?;
        let frag = r.u16()?;
        let flags = r.u8()?;
        if flags & !CF_LAST != 0 {
            return Err(DecodeError::BadValue);
        }
        let len = r.u16()? as usize;
        if len > r.remaining() {
            return Err(DecodeError::BadLength);
        }
        let data = r.bytes(len)?;
        f(Chunk { msg_no, frag, last: flags & CF_LAST != 0, data });
    }
    r.end()
}

/// Appends one chunk to a chunk area being built (`area` starts with a u16 count).
pub fn push_chunk(area: &mut Vec<u8>, c: &Chunk<'_>) {
    if area.len() < 2 {
        area.clear();
        area.extend_from_slice(&0u16.to_le_bytes());
    }
    let count = u16::from_le_bytes([area[0], area[1]]).wrapping_add(1);
    area[..2].copy_from_slice(&count.to_le_bytes());
    area.extend_from_slice(&c.msg_no.to_le_bytes());
    area.extend_from_slice(&c.frag.to_le_bytes());
    area.push(if c.last { CF_LAST } else { 0 });
    area.extend_from_slice(&(c.data.len() as u16).to_le_bytes());
    area.extend_from_slice(c.data);
}

/// Decodes a packet, returning its sender and contents.
pub fn decode(buf: &[u8]) -> Result<(u32, Packet), DecodeError> {
    let mut r = Reader { buf, pos: 0 };
    let magic = r.u16()?;
    let version = r.u8()?;
    if magic != MAGIC || version != VERSION {
        return Err(DecodeError::BadMagic);
    }
    let ty = r.u8()?;
    let sender = r.node()?;
    let p = match ty {
        T_MCAST => {
            let ring = r.ring()?;
            let seq = r.u64()?;
            let flags = r.u8()?;
            if flags & !(MF_SAFE | MF_ENCAP) != 0 || seq == 0 {
                return Err(DecodeError::BadValue);
            }
            let encap = if flags & MF_ENCAP != 0 {
                let old_ring = r.ring()?;
                let old_seq = r.u64()?;
                let orig_sender = r.node()?;
                let orig_flags = r.u8()?;
                if orig_flags & !MF_SAFE != 0 || old_seq == 0 {
                    return Err(DecodeError::BadValue);
                }
                Some(Encap { old_ring, old_seq, orig_sender, orig_flags })
            } else {
                None
            };
            let rest = r.bytes(r.remaining())?;
            for_each_chunk(rest, |_| {})?;
            Packet::Mcast(Mcast { ring, seq, flags, encap, chunks: rest.to_vec() })
        }
        T_TOKEN => {
            let ring = r.ring()?;
            let token_seq = r.u64()?;
            let seq = r.u64()?;
            let rotation_seq = r.u64()?;
            let fcc = r.u32()?;
            let flags = r.u8()?;
            if flags & !(TF_INSTALL | TF_PENDING | TF_KEY_PHASE | TF_REKEY_ANNOUNCE | TF_REKEY_KX) != 0 {
                return Err(DecodeError::BadValue);
            }
            let n = r.count(8, MAX_MEMBERS_WIRE)?;
            if n == 0 {
                return Err(DecodeError::BadValue);
            }
            let mut acks = Vec::with_capacity(n);
            for _ in 0..n {
                acks.push(r.u64()?);
            }
            let k = r.count(8, MAX_RTR_WIRE)?;
            let mut rtr = Vec::with_capacity(k);
            for _ in 0..k {
                rtr.push(r.u64()?);
            }
            let kx = if flags & TF_REKEY_KX != 0 {
                Some(CommitKx { from: r.array()?, wrap: r.array()?, check: r.array()? })
            } else {
                None
            };
            r.end()?;
            Packet::Token(Token { ring, token_seq, seq, rotation_seq, fcc, flags, acks, rtr, kx })
        }
        T_JOIN => {
            let ring_seq = r.ring_seq()?;
            let ephemeral = r.array()?;
            let n = r.count(4, MAX_MEMBERS_WIRE)?;
            let mut proc_set = Vec::with_capacity(n);
            for _ in 0..n {
                proc_set.push(r.node()?);
            }
            let k = r.count(4, MAX_MEMBERS_WIRE)?;
            let mut fail_set = Vec::with_capacity(k);
            for _ in 0..k {
                fail_set.push(r.node()?);
            }
            r.end()?;
            if !proc_set.contains(&sender) {
                return Err(DecodeError::BadValue);
            }
            Packet::Join(Join { proc_set, fail_set, ring_seq, ephemeral })
        }
        T_COMMIT => {
            let ring = r.ring()?;
            let hop = r.u64()?;
            let kx = CommitKx { from: r.array()?, wrap: r.array()?, check: r.array()? };
            let n = r.count(COMMIT_ENTRY_LEN, MAX_MEMBERS_WIRE)?;
            if n == 0 {
                return Err(DecodeError::BadValue);
            }
            let mut members = Vec::with_capacity(n);
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                members.push(r.node()?);
                let filled = match r.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(DecodeError::BadValue),
                };
                let old_ring = RingId { rep: r.u32()?, seq: r.ring_seq()? };
                let aru = r.u64()?;
                let high_delivered = r.u64()?;
                let high_seq = r.u64()?;
                entries.push(CommitEntry { filled, old_ring, aru, high_delivered, high_seq });
            }
            r.end()?;
            if !members.windows(2).all(|w| w[0] < w[1]) || members[0] != ring.rep {
                return Err(DecodeError::BadValue);
            }
            Packet::Commit(Commit { ring, hop, kx, members, entries })
        }
        T_MERGE => {
            let ring = r.ring()?;
            r.end()?;
            Packet::Merge(ring)
        }
        T_WAKE => {
            let ring = r.ring()?;
            r.end()?;
            Packet::Wake(ring)
        }
        T_PART => {
            let id = r.u32()?;
            let index = r.u8()?;
            let count = r.u8()?;
            if count < 2 || usize::from(count) > MAX_PARTS || index >= count {
                return Err(DecodeError::BadValue);
            }
            let len = usize::from(r.u16()?);
            if len == 0 || len > MAX_MEMBERSHIP_LEN {
                return Err(DecodeError::BadLength);
            }
            let data = r.bytes(len)?;
            r.end()?;
            Packet::Part(Part { id, index, count, data: data.to_vec() })
        }
        T_REKEY => {
            let ring = r.ring()?;
            let attempt = r.u64()?;
            let ephemeral = r.array()?;
            r.end()?;
            Packet::RekeyKey(RekeyKey { ring, attempt, ephemeral })
        }
        T_SAFE_ACK => {
            let ring = r.ring()?;
            let aru = r.u64()?;
            r.end()?;
            Packet::SafeAck(SafeAck { ring, aru })
        }
        _ => return Err(DecodeError::BadType),
    };
    Ok((sender, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> RingId {
        RingId { rep: 1, seq: 8 }
    }

    fn samples() -> Vec<Packet> {
        let mut area = Vec::new();
        push_chunk(&mut area, &Chunk { msg_no: 3, frag: 0, last: true, data: b"hello" });
        push_chunk(&mut area, &Chunk { msg_no: 4, frag: 0, last: false, data: b"wor" });
        vec![
            Packet::Mcast(Mcast { ring: ring(), seq: 5, flags: MF_SAFE, encap: None, chunks: area.clone() }),
            Packet::Mcast(Mcast {
                ring: ring(),
                seq: 6,
                flags: MF_ENCAP,
                encap: Some(Encap { old_ring: RingId { rep: 2, seq: 4 }, old_seq: 9, orig_sender: 2, orig_flags: 0 }),
                chunks: area,
            }),
            Packet::Token(Token {
                ring: ring(),
                token_seq: 7,
                seq: 12,
                rotation_seq: 2,
                fcc: 3,
                flags: TF_PENDING,
                acks: vec![1, 2, 3],
                rtr: vec![4, 5],
                kx: None,
            }),
            Packet::Token(Token {
                ring: ring(),
                token_seq: 8,
                seq: 12,
                rotation_seq: 3,
                fcc: 0,
                flags: TF_REKEY_KX | TF_KEY_PHASE,
                acks: vec![1, 2],
                rtr: vec![],
                kx: Some(CommitKx { from: [4; 32], wrap: [5; 32], check: [6; 8] }),
            }),
            Packet::Join(Join { proc_set: vec![1, 2, 3], fail_set: vec![4], ring_seq: 8, ephemeral: [7; 32] }),
            Packet::Commit(Commit {
                ring: ring(),
                hop: 1,
                kx: CommitKx { from: [1; 32], wrap: [2; 32], check: [3; 8] },
                members: vec![1, 2],
                entries: vec![
                    CommitEntry { filled: true, old_ring: ring(), aru: 1, high_delivered: 1, high_seq: 2 },
                    CommitEntry::default(),
                ],
            }),
            Packet::Merge(ring()),
            Packet::Wake(ring()),
            Packet::Part(Part { id: 9, index: 1, count: 3, data: b"piece".to_vec() }),
            Packet::RekeyKey(RekeyKey { ring: ring(), attempt: 5, ephemeral: [8; 32] }),
            Packet::SafeAck(SafeAck { ring: ring(), aru: 77 }),
        ]
    }

    #[test]
    fn round_trip() {
        for p in samples() {
            let b = encode(1, &p);
            assert_eq!(decode(&b), Ok((1, p)));
        }
    }

    #[test]
    fn session_ring_names_ring_traffic_only() {
        for p in samples() {
            let want = match &p {
                Packet::Mcast(m) => Some(m.ring),
                Packet::Token(t) => Some(t.ring),
                Packet::Wake(r)
                | Packet::RekeyKey(RekeyKey { ring: r, .. })
                | Packet::SafeAck(SafeAck { ring: r, .. }) => Some(*r),
                Packet::Join(_) | Packet::Commit(_) | Packet::Merge(_) | Packet::Part(_) => None,
            };
            let b = encode(1, &p);
            assert_eq!(session_ring(&b), want, "{p:?}");
            assert_eq!(session_ring(&b[..HEADER_LEN + 11]), None);
        }
        assert_eq!(session_ring(b"not a totem packet at all"), None);
    }

    #[test]
    fn short_packets_are_rejected() {
        for p in samples() {
            let b = encode(1, &p);
            for n in 0..b.len() {
                let e = decode(&b[..n]).unwrap_err();
                assert!(
                    matches!(
                        e,
                        DecodeError::Short | DecodeError::AbsurdCount | DecodeError::BadLength | DecodeError::BadValue
                    ),
                    "{p:?} cut at {n}: {e:?}"
                );
            }
        }
        assert_eq!(decode(&[]), Err(DecodeError::Short));
    }

    #[test]
    fn bad_magic_version_and_type() {
        let mut b = encode(1, &Packet::Merge(ring()));
        b[0] ^= 0xff;
        assert_eq!(decode(&b), Err(DecodeError::BadMagic));
        let mut b = encode(1, &Packet::Merge(ring()));
        b[2] = 9;
        assert_eq!(decode(&b), Err(DecodeError::BadMagic));
        let mut b = encode(1, &Packet::Merge(ring()));
        b[3] = 77;
        assert_eq!(decode(&b), Err(DecodeError::BadType));
    }

    #[test]
    fn trailing_bytes_and_bad_lengths() {
        for p in samples() {
            let mut b = encode(1, &p);
            b.push(0);
            assert!(decode(&b).is_err(), "{p:?}");
        }
        // A chunk whose length runs past the end.
        let mut area = Vec::new();
        push_chunk(&mut area, &Chunk { msg_no: 1, frag: 0, last: true, data: b"abcdef" });
        let n = area.len();
        area[n - 8..n - 6].copy_from_slice(&600u16.to_le_bytes());
        let b = encode(1, &Packet::Mcast(Mcast { ring: ring(), seq: 1, flags: 0, encap: None, chunks: area }));
        assert_eq!(decode(&b), Err(DecodeError::BadLength));
    }

    #[test]
    fn absurd_counts() {
        // A token claiming 60000 acks in a short packet.
        let mut b = encode(
            1,
            &Packet::Token(Token {
                ring: ring(),
                token_seq: 1,
                seq: 0,
                rotation_seq: 0,
                fcc: 0,
                flags: 0,
                acks: vec![0],
                rtr: vec![],
                kx: None,
            }),
        );
        let off = TOKEN_FIXED_LEN - 4;
        b[off..off + 2].copy_from_slice(&60000u16.to_le_bytes());
        assert_eq!(decode(&b), Err(DecodeError::AbsurdCount));
        // A join claiming more members than present.
        let mut b =
            encode(1, &Packet::Join(Join { proc_set: vec![1], fail_set: vec![], ring_seq: 0, ephemeral: [0; 32] }));
        b[HEADER_LEN + 40..HEADER_LEN + 42].copy_from_slice(&200u16.to_le_bytes());
        assert_eq!(decode(&b), Err(DecodeError::AbsurdCount));
        // A chunk area claiming 1000 chunks.
        let area = 1000u16.to_le_bytes().to_vec();
        let b = encode(1, &Packet::Mcast(Mcast { ring: ring(), seq: 1, flags: 0, encap: None, chunks: area }));
        assert_eq!(decode(&b), Err(DecodeError::AbsurdCount));
    }

    #[test]
    fn bad_values() {
        // Node id zero.
        let b = encode(0, &Packet::Merge(ring()));
        assert_eq!(decode(&b), Err(DecodeError::BadValue));
        // Unknown mcast flag.
        let mut b = encode(1, &samples()[0]);
        b[HEADER_LEN + 20] = 0x80;
        assert_eq!(decode(&b), Err(DecodeError::BadValue));
        // Commit members not sorted.
        let mut c = match &samples()[5] {
            Packet::Commit(c) => c.clone(),
            _ => unreachable!(),
        };
        c.members = vec![2, 1];
        assert_eq!(decode(&encode(1, &Packet::Commit(c))), Err(DecodeError::BadValue));
        // Join whose sender is not in its own proc set.
        let b = encode(9, &Packet::Join(Join { proc_set: vec![1], fail_set: vec![], ring_seq: 0, ephemeral: [0; 32] }));
        assert_eq!(decode(&b), Err(DecodeError::BadValue));
    }

    #[test]
    fn split_parts_add_up_to_the_packet() {
        let members: Vec<u32> = (1..=100).collect();
        let entries = vec![CommitEntry { filled: true, old_ring: ring(), aru: 7, high_delivered: 7, high_seq: 9 }; 100];
        let c = Packet::Commit(Commit { ring: ring(), hop: 3, kx: CommitKx::default(), members, entries });
        let whole = encode(1, &c);
        assert!(whole.len() > 4000);
        let parts = split(1, 77, whole.clone(), 1024);
        assert_eq!(parts.len(), whole.len().div_ceil(1024 - PART_HEADER_LEN));
        let mut joined = Vec::new();
        for (i, b) in parts.iter().enumerate() {
            assert!(b.len() <= 1024);
            match decode(b) {
                Ok((1, Packet::Part(p))) => {
                    assert_eq!((p.id, usize::from(p.index), usize::from(p.count)), (77, i, parts.len()));
                    joined.extend_from_slice(&p.data);
                }
                other => panic!("part {i}: {other:?}"),
            }
        }
        assert_eq!(joined, whole);
        // Small enough for a frame: sent unchanged.
        let j = encode(1, &samples()[4]);
        assert_eq!(split(1, 78, j.clone(), 1024), vec![j]);
        // The largest membership packet fits MAX_PARTS parts of the smallest frame.
        assert!(MAX_MEMBERSHIP_LEN.div_ceil(crate::srp::MIN_FRAME_SIZE - PART_HEADER_LEN) <= MAX_PARTS);
    }

    #[test]
    fn bad_parts() {
        let part = |index, count| encode(1, &Packet::Part(Part { id: 1, index, count, data: vec![1] }));
        assert_eq!(decode(&part(2, 2)), Err(DecodeError::BadValue));
        assert_eq!(decode(&part(0, 1)), Err(DecodeError::BadValue));
        assert_eq!(decode(&part(0, MAX_PARTS as u8 + 1)), Err(DecodeError::BadValue));
        let empty = encode(1, &Packet::Part(Part { id: 1, index: 0, count: 2, data: vec![] }));
        assert_eq!(decode(&empty), Err(DecodeError::BadLength));
    }

    /// Random mutations of valid packets never panic, and whatever decodes re-encodes to the same bytes.
    #[test]
    fn randomized_mutation() {
        let (mut rng, _seed) = ais_testrng::seeded(0x9e3779b97f4a7c15);
        let mut next = move || rng.next_u64();
        let base: Vec<Vec<u8>> = samples().iter().map(|p| encode(1, p)).collect();
        let mut accepted = 0;
        let iters = ais_testrng::iters(20000);
        for i in 0..iters {
            let mut b = base[i % base.len()].clone();
            let edits = 1 + next() % 4;
            for _ in 0..edits {
                match next() % 4 {
                    0 if !b.is_empty() => {
                        let at = (next() as usize) % b.len();
                        b[at] = next() as u8;
                    }
                    1 if !b.is_empty() => {
                        let n = (next() as usize) % b.len();
                        b.truncate(n);
                    }
                    2 => b.push(next() as u8),
                    _ => {
                        if b.len() > 4 {
                            let at = (next() as usize) % (b.len() - 1);
                            b[at] = 0xff;
                            b[at + 1] = 0xff;
                        }
                    }
                }
            }
            if let Ok((s, p)) = decode(&b) {
                accepted += 1;
                assert_eq!(encode(s, &p), b);
            }
        }
        assert!(accepted < iters);
    }
}
