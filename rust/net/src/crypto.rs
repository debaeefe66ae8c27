//! Packet framing and crypto for every datagram Totem puts on the wire.
//!
//! Owns: the on-wire frame format, key derivation from the authkey and from
//! the session keys Totem agrees on, nonce generation,
//! authentication/decryption, the receiver binding, the plain-mode checksum
//! (computed by [`crate::crc32c`]), and the replay windows. Pure: no
//! sockets, no clock; randomness only in [`random_boot_id`].
//!
//! Must not: log, touch the network, panic on any input, or ever seal two
//! packets with the same (key, nonce).
//!
//! The protocol, the threat model and the argument for each property are
//! in `rust/net/CRYPTO.md`; this doc states the format and the rules.
//!
//! # Frame format (version 4)
//!
//! ```text
//! offset size field
//!      0    2 magic 0xA1 0x5E
//!      2    1 version = 4
//!      3    1 format tag: b'S' (0x53) sealed, b'C' (0x43) plain
//!      4    4 sender node id, big endian
//!      8    4 receiver node id, big endian; 0 = every member (multicast)
//!     12    4 key id, big endian; 0 = the authkey, else a session key
//!     16    8 sender boot id, big endian (random per process start)
//!     24    8 counter, big endian (per boot id, strictly increasing)
//!     32    n payload (ciphertext when sealed)
//!   32+n   16 trailer, sealed: Poly1305 tag
//!             trailer, plain: CRC-32C of bytes 0..32+n, big endian,
//!             then 12 zero bytes
//! ```
//!
//! The 32-byte header travels in the clear and is authenticated (AEAD
//! associated data) when sealed, covered by the CRC when plain.
//! Overhead is [`OVERHEAD`] = 48 bytes in both modes, so the payload room
//! of a datagram does not depend on the mode (hence the zero padding of
//! the plain trailer, which is checked like the CRC). Versions 3 and 4
//! have the layout of version 2 and say that the payload is Totem wire
//! version 3 (a ring's key moves on without a membership change) or 4
//! (each such move is a fresh X25519 exchange, `CRYPTO.md`): frames of
//! versions 1 to 3 are refused as [`OpenError::BadVersion`] (logged as
//! `unsupported frame version 3 (ours is 4): upgrade every node`), so a
//! node of an older version is never misparsed and never joins: every
//! node of a cluster must be upgraded together.
//!
//! A sealed node and a plain node never interoperate: the format tag
//! differs, each side rejects the other's tag with
//! [`OpenError::ModeMismatch`] before any other check.
//!
//! # Checks on receipt, cheapest first
//!
//! Length, magic, version, tag; then the receiver: a frame addressed to
//! another node is [`OpenError::NotForUs`]; then the key id: one we do not
//! hold (another ring's, or an old one) is [`OpenError::UnknownKey`]; then
//! the replay window ([`OpenError::Replay`]); only then the AEAD. So a
//! forged frame costs at most one AEAD open, like a genuine one (plus one
//! BLAKE3 derivation for an authkey frame of a sender process not seen
//! yet, as before).
//!
//! # Plain frames (`secauth: off`)
//!
//! The CRC-32C (Castagnoli) trailer only detects corruption: it is not a
//! MAC, anyone can forge a plain frame. Plain mode has no authenticity and
//! no privacy; use `secauth: on` on any network that is not trusted. A
//! frame whose CRC or padding does not match is rejected as
//! [`OpenError::InvalidDigest`] (logged as `Invalid digest`). Plain frames
//! always carry key id 0. Earlier versions sent plain frames with a BLAKE3
//! checksum under format tag b'P' ([`TAG_PLAIN_BLAKE3`]); a node of this
//! version rejects them as [`OpenError::UnknownFormat`] and says so.
//!
//! # Keys and nonces (`secauth: on`)
//!
//! Authkey frames (key id 0; Totem's join, merge and commit messages, which
//! carry the key exchange):
//!
//! * `master = BLAKE3.derive_key("aisexec totem v2 packet key", authkey)`
//! * `subkey = BLAKE3.derive_key("aisexec totem v2 sender subkey",
//!    master || node_id_be32 || boot_id_be64)`
//! * `nonce (96 bit) = 0x00000000 || counter_be64`
//!
//! Session frames (key id != 0; Totem's tokens and messages of one ring),
//! for a 32-byte session secret `K` handed over by the caller
//! ([`PacketCodec::set_session_keys`]):
//!
//! * `key = BLAKE3.derive_key("aisexec totem v2 session packet key", K)`
//! * `key id = first 4 bytes (big endian) of
//!    BLAKE3.derive_key("aisexec totem v2 session key id", K)`, 1 if that is 0
//! * `nonce (96 bit) = node_id_be32 || counter_be64`
//!
//! AEAD: ChaCha20-Poly1305 as in RFC 8439 (the `ring` crate's
//! implementation, checked in the tests against the RFC's vector and
//! against an independent implementation, byte for byte).
//!
//! Why a nonce never repeats for a key. Authkey: every subkey is specific
//! to one sender process (node id and a 64-bit boot id drawn from the
//! kernel CSPRNG at start, [`random_boot_id`]), and within a process the
//! counter only increases (sealing refuses to wrap at `u64::MAX`); two
//! processes share a subkey only if they draw the same boot id for the same
//! node id (2^-64 per pair). Session key: `K` is fresh random per ring
//! (Totem's key exchange), only the members that took part in that
//! exchange hold it, one process per node id (the exchange wraps `K` to
//! one ephemeral key per node id), and that process's counter only
//! increases, so `(node id, counter)` never repeats under `K`.
//!
//! # Replays
//!
//! A sealed frame is accepted at most once per key: each sender process
//! has a sliding window of [`REPLAY_WINDOW`] counters; a counter already
//! seen, or older than the window, is rejected with [`OpenError::Replay`].
//! The window is updated only after a frame authenticates, so forged
//! frames cannot poison it. The window is wide (16384 frames) because a
//! sender's multicast and unicast frames arrive on different sockets and
//! may be read out of order; a frame dropped as too old is simply lost, and
//! Totem recovers losses by retransmission.
//!
//! Under a session key the windows are never evicted: a key has at most
//! [`SESSION_SENDERS`] sender processes (a ring's members), and a frame
//! of a new sender beyond that is refused ([`OpenError::SenderTableFull`]),
//! so a frame is accepted at most once for as long as the key lives; once
//! the key is retired (the ring is replaced) its frames do not open at all,
//! and a restarted process never holds an older ring's key. Authkey frames
//! keep a bounded cache ([`PEER_CACHE`] sender processes, least recently
//! used evicted): a replay that gets past it reaches Totem's membership
//! code, which is built to tolerate it (see `CRYPTO.md`). Plain mode has no
//! replay check (it has no authenticity at all).

#![forbid(unsafe_code)]

use crate::crc32c::crc32c;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, Tag, UnboundKey};
use std::fmt;
use zeroize::Zeroize;

/// First two bytes of every frame.
pub const MAGIC: [u8; 2] = [0xA1, 0x5E];
/// Frame format version carried in byte 2.
pub const VERSION: u8 = 4;
/// Format tag of a sealed frame.
pub const TAG_SEALED: u8 = b'S';
/// Format tag of a plain frame (CRC-32C trailer).
pub const TAG_PLAIN: u8 = b'C';
/// Format tag of the plain frames of earlier versions (BLAKE3 checksum
/// trailer); recognised only to name it in the error.
pub const TAG_PLAIN_BLAKE3: u8 = b'P';
/// Clear header length.
pub const HEADER_LEN: usize = 32;
/// Trailer (Poly1305 tag, or CRC and padding) length.
pub const TRAILER_LEN: usize = 16;
/// Bytes of the CRC-32C at the start of a plain trailer.
const CRC_LEN: usize = 4;
/// Bytes a frame adds to its payload, in both modes.
pub const OVERHEAD: usize = HEADER_LEN + TRAILER_LEN;
/// Receiver field of a frame for every member (a multicast).
pub const EVERY_MEMBER: NodeId = 0;
/// Key id of frames sealed with the authkey (and of every plain frame).
pub const AUTHKEY_ID: u32 = 0;
/// Replay window width in packets, per sender process.
pub const REPLAY_WINDOW: u64 = 16384;
/// Number of sender processes whose authkey subkey and replay window are
/// kept.
pub const PEER_CACHE: usize = 64;
/// Most sender processes per session key (a ring has at most 256 members).
pub const SESSION_SENDERS: usize = 256;
/// Most session keys held at once (Totem needs two: the installed ring's
/// and the one being formed).
pub const MAX_SESSION_KEYS: usize = 4;
/// Shortest accepted authkey. `ais-keygen` writes 128 bytes.
pub const MIN_AUTHKEY_LEN: usize = 16;

/// BLAKE3 context for the master packet key (names the protocol version).
pub const CONTEXT_MASTER: &str = "aisexec totem v2 packet key";
/// BLAKE3 context for a per-sender subkey.
pub const CONTEXT_SENDER: &str = "aisexec totem v2 sender subkey";
/// BLAKE3 context for the packet key of a session secret.
pub const CONTEXT_SESSION: &str = "aisexec totem v2 session packet key";
/// BLAKE3 context for the key id of a session secret.
pub const CONTEXT_KEY_ID: &str = "aisexec totem v2 session key id";

/// Node identifier as carried in the frame header.
pub type NodeId = u32;

/// `secauth` mode of a codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `secauth: off` — CRC-checked against corruption, not authenticated.
    Plain,
    /// `secauth: on` — ChaCha20-Poly1305.
    Sealed,
}

impl Mode {
    fn tag(self) -> u8 {
        match self {
            Mode::Plain => TAG_PLAIN,
            Mode::Sealed => TAG_SEALED,
        }
    }
}

/// Which key seals a frame, or opened it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyClass {
    /// The authkey (key id 0). Also every frame of a plain codec.
    Auth,
    /// The session key the caller installed under this tag
    /// ([`PacketCodec::set_session_keys`]; Totem uses the ring sequence).
    Session(u64),
}

/// Why a frame could not be opened. None of these is fatal: the caller
/// drops the packet and counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Shorter than header + trailer.
    Truncated { len: usize },
    /// Not one of our frames.
    BadMagic,
    /// Our magic, another frame version.
    BadVersion(u8),
    /// A valid tag of the other mode (sealed vs plain): never interoperate.
    ModeMismatch { ours: Mode, theirs: Mode },
    /// Unknown format tag.
    UnknownFormat(u8),
    /// Addressed to another node (a token handed to the wrong member).
    NotForUs { dest: NodeId },
    /// Sealed with a session key we do not hold (another ring's, a retired
    /// one, or made up). Normal while rings merge: not logged.
    UnknownKey(u32),
    /// Sealed: authentication failed (wrong key, tampering, corruption).
    /// Plain: CRC or padding mismatch. Logged as `Invalid digest`.
    InvalidDigest,
    /// Sealed: counter already seen or older than the replay window.
    Replay,
    /// A new sender process under a session key that already has
    /// [`SESSION_SENDERS`] of them.
    SenderTableFull,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Truncated { len } => write!(f, "truncated frame ({len} bytes)"),
            OpenError::BadMagic => f.write_str("not an aisexec frame"),
            OpenError::BadVersion(v) => {
                write!(f, "unsupported frame version {v} (ours is {VERSION}): upgrade every node")
            }
            OpenError::ModeMismatch { ours, theirs } => {
                write!(f, "secauth mismatch: we are {ours:?}, packet is {theirs:?}")
            }
            OpenError::UnknownFormat(TAG_PLAIN_BLAKE3) => {
                f.write_str("plain frame of an older aisexec (BLAKE3 checksum, tag 0x50): upgrade every node")
            }
            OpenError::UnknownFormat(t) => write!(f, "unknown frame format tag {t:#04x}"),
            OpenError::NotForUs { dest } => write!(f, "frame addressed to node {dest}"),
            OpenError::UnknownKey(id) => write!(f, "unknown session key {id:#010x}"),
            OpenError::InvalidDigest => f.write_str("Invalid digest"),
            OpenError::Replay => f.write_str("replayed packet"),
            OpenError::SenderTableFull => f.write_str("too many senders under one session key"),
        }
    }
}
impl std::error::Error for OpenError {}

/// Why a payload could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    /// The 64-bit counter is exhausted; the process must restart (new boot
    /// id). Unreachable in practice (2^64 packets).
    CounterExhausted,
    /// No session key under this tag: the frame is not sent (never sealed
    /// with the authkey instead).
    NoSessionKey(u64),
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::CounterExhausted => f.write_str("packet counter exhausted"),
            SealError::NoSessionKey(tag) => write!(f, "no session key for ring {tag}"),
        }
    }
}
impl std::error::Error for SealError {}

/// The authkey is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Shorter than [`MIN_AUTHKEY_LEN`].
    TooShort { len: usize },
    /// The AEAD implementation refused a derived 32-byte key (it accepts
    /// every 32-byte key; kept so that this path cannot panic).
    Refused,
    /// More than [`MAX_SESSION_KEYS`] session keys.
    TooManySessionKeys,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::TooShort { len } => {
                write!(f, "authkey is {len} bytes, at least {MIN_AUTHKEY_LEN} required")
            }
            KeyError::Refused => f.write_str("the ChaCha20-Poly1305 key was refused"),
            KeyError::TooManySessionKeys => write!(f, "more than {MAX_SESSION_KEYS} session keys"),
        }
    }
}
impl std::error::Error for KeyError {}

/// The clear header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub mode: Mode,
    pub node_id: NodeId,
    /// Receiver node id; [`EVERY_MEMBER`] for a multicast.
    pub dest: NodeId,
    /// [`AUTHKEY_ID`] or a session key's id.
    pub key_id: u32,
    pub boot_id: u64,
    pub counter: u64,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..2].copy_from_slice(&MAGIC);
        h[2] = VERSION;
        h[3] = self.mode.tag();
        h[4..8].copy_from_slice(&self.node_id.to_be_bytes());
        h[8..12].copy_from_slice(&self.dest.to_be_bytes());
        h[12..16].copy_from_slice(&self.key_id.to_be_bytes());
        h[16..24].copy_from_slice(&self.boot_id.to_be_bytes());
        h[24..32].copy_from_slice(&self.counter.to_be_bytes());
        h
    }

    /// Parses the clear header of `frame` as seen by a codec in mode
    /// `ours`. Checks length, magic, version and format tag.
    pub fn parse(frame: &[u8], ours: Mode) -> Result<Header, OpenError> {
        if frame.len() < OVERHEAD {
            return Err(OpenError::Truncated { len: frame.len() });
        }
        if frame[0..2] != MAGIC {
            return Err(OpenError::BadMagic);
        }
        if frame[2] != VERSION {
            return Err(OpenError::BadVersion(frame[2]));
        }
        let theirs = match frame[3] {
            TAG_SEALED => Mode::Sealed,
            TAG_PLAIN => Mode::Plain,
            t => return Err(OpenError::UnknownFormat(t)),
        };
        if theirs != ours {
            return Err(OpenError::ModeMismatch { ours, theirs });
        }
        let be32 = |r: std::ops::Range<usize>| u32::from_be_bytes(frame[r].try_into().unwrap_or([0; 4]));
        let be64 = |r: std::ops::Range<usize>| u64::from_be_bytes(frame[r].try_into().unwrap_or([0; 8]));
        Ok(Header {
            mode: theirs,
            node_id: be32(4..8),
            dest: be32(8..12),
            key_id: be32(12..16),
            boot_id: be64(16..24),
            counter: be64(24..32),
        })
    }
}

/// An opened frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub header: Header,
    pub payload: Vec<u8>,
}

/// A fresh random boot id from the kernel CSPRNG (see the module doc).
pub fn random_boot_id() -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    crate::sys::random_bytes(&mut b)?;
    Ok(u64::from_be_bytes(b))
}

/// 32 bytes from the kernel CSPRNG: the seed of Totem's key exchange.
pub fn random_key_seed() -> std::io::Result<[u8; 32]> {
    let mut b = [0u8; 32];
    crate::sys::random_bytes(&mut b)?;
    Ok(b)
}

/// `BLAKE3.derive_key(CONTEXT_MASTER, authkey)`.
pub fn master_key(authkey: &[u8]) -> [u8; 32] {
    blake3::derive_key(CONTEXT_MASTER, authkey)
}

/// The authkey subkey of one sender process (see the module doc).
pub fn sender_key(master: &[u8; 32], node_id: NodeId, boot_id: u64) -> [u8; 32] {
    let mut material = [0u8; 44];
    material[..32].copy_from_slice(master);
    material[32..36].copy_from_slice(&node_id.to_be_bytes());
    material[36..44].copy_from_slice(&boot_id.to_be_bytes());
    let key = blake3::derive_key(CONTEXT_SENDER, &material);
    material.zeroize();
    key
}

/// The packet key of a session secret.
pub fn session_packet_key(secret: &[u8; 32]) -> [u8; 32] {
    blake3::derive_key(CONTEXT_SESSION, secret)
}

/// The key id of a session secret (never [`AUTHKEY_ID`]).
pub fn session_key_id(secret: &[u8; 32]) -> u32 {
    let h = blake3::derive_key(CONTEXT_KEY_ID, secret);
    match u32::from_be_bytes([h[0], h[1], h[2], h[3]]) {
        AUTHKEY_ID => 1,
        id => id,
    }
}

/// The 96-bit nonce of an authkey frame.
pub fn nonce_bytes(counter: u64) -> [u8; 12] {
    session_nonce(0, counter)
}

/// The 96-bit nonce of a session frame.
pub fn session_nonce(node_id: NodeId, counter: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..4].copy_from_slice(&node_id.to_be_bytes());
    n[4..].copy_from_slice(&counter.to_be_bytes());
    n
}

/// The ChaCha20-Poly1305 key for a derived 32-byte key; erases `key`.
fn aead_key(key: &mut [u8; 32]) -> Option<LessSafeKey> {
    let k = UnboundKey::new(&CHACHA20_POLY1305, key).ok().map(LessSafeKey::new);
    key.zeroize();
    k
}

/// Overwrites a boxed AEAD key in place with the all-zero key before it is
/// freed. `ring` does not erase its key structs itself; ChaCha20's key is
/// stored inline, so writing another key of the same algorithm into the
/// same allocation covers the old bytes.
fn erase(cipher: &mut Box<LessSafeKey>) {
    if let Ok(zero) = UnboundKey::new(&CHACHA20_POLY1305, &[0u8; 32]) {
        **cipher = LessSafeKey::new(zero);
        std::hint::black_box(&**cipher);
    }
}

/// The plain trailer for `covered` (header and payload).
fn plain_trailer(covered: &[u8]) -> [u8; TRAILER_LEN] {
    let mut t = [0u8; TRAILER_LEN];
    t[..CRC_LEN].copy_from_slice(&crc32c(covered).to_be_bytes());
    t
}

/// Sliding replay window over one sender's counters (a ring of bits indexed
/// by `counter % REPLAY_WINDOW`).
#[derive(Clone)]
struct ReplayWindow {
    top: u64,
    bits: Box<[u64]>,
}

impl ReplayWindow {
    const WORDS: usize = (REPLAY_WINDOW / 64) as usize;

    fn new(first: u64) -> Self {
        let mut w = ReplayWindow { top: first, bits: vec![0u64; Self::WORDS].into_boxed_slice() };
        w.set(first);
        w
    }

    fn slot(c: u64) -> (usize, u64) {
        let i = c % REPLAY_WINDOW;
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    fn set(&mut self, c: u64) {
        let (w, b) = Self::slot(c);
        self.bits[w] |= b;
    }

    fn clear(&mut self, c: u64) {
        let (w, b) = Self::slot(c);
        self.bits[w] &= !b;
    }

    /// Would `c` be accepted? (Read-only.)
    fn fresh(&self, c: u64) -> bool {
        if c > self.top {
            return true;
        }
        if self.top - c >= REPLAY_WINDOW {
            return false;
        }
        let (w, b) = Self::slot(c);
        self.bits[w] & b == 0
    }

    /// Marks `c` seen; call only after `fresh(c)` and authentication.
    fn mark(&mut self, c: u64) {
        if c > self.top {
            if c - self.top >= REPLAY_WINDOW {
                self.bits.iter_mut().for_each(|w| *w = 0);
            } else {
                for x in self.top + 1..c {
                    self.clear(x);
                }
                self.clear(c);
            }
            self.top = c;
        }
        self.set(c);
    }
}

/// A sender process seen under the authkey: its subkey and window.
struct Peer {
    node_id: NodeId,
    boot_id: u64,
    cipher: Box<LessSafeKey>,
    window: ReplayWindow,
    last_used: u64,
}

/// A sender process seen under a session key.
struct Sender {
    node_id: NodeId,
    boot_id: u64,
    window: ReplayWindow,
}

/// One session key: its packet key and the windows of its senders.
struct Session {
    tag: u64,
    id: u32,
    cipher: Box<LessSafeKey>,
    senders: Vec<Sender>,
}

impl Drop for Session {
    fn drop(&mut self) {
        erase(&mut self.cipher);
    }
}

struct SealedKeys {
    master: [u8; 32],
    own: Box<LessSafeKey>,
    peers: Vec<Peer>,
    tick: u64,
    sessions: Vec<Session>,
}

impl Drop for SealedKeys {
    fn drop(&mut self) {
        self.master.zeroize();
        erase(&mut self.own);
        self.peers.iter_mut().for_each(|p| erase(&mut p.cipher));
    }
}

enum Keys {
    Plain,
    Sealed(Box<SealedKeys>),
}

/// Seals outgoing payloads of one process and opens incoming frames.
pub struct PacketCodec {
    node_id: NodeId,
    boot_id: u64,
    counter: u64,
    keys: Keys,
}

impl fmt::Debug for PacketCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketCodec")
            .field("mode", &self.mode())
            .field("node_id", &self.node_id)
            .field("boot_id", &self.boot_id)
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

impl PacketCodec {
    /// `secauth: off`.
    pub fn plain(node_id: NodeId, boot_id: u64) -> Self {
        PacketCodec { node_id, boot_id, counter: 0, keys: Keys::Plain }
    }

    /// `secauth: on` with the authkey file content. `boot_id` must be fresh
    /// for every process start: use [`random_boot_id`] outside tests.
    pub fn sealed(authkey: &[u8], node_id: NodeId, boot_id: u64) -> Result<Self, KeyError> {
        if authkey.len() < MIN_AUTHKEY_LEN {
            return Err(KeyError::TooShort { len: authkey.len() });
        }
        let master = master_key(authkey);
        let own = Box::new(aead_key(&mut sender_key(&master, node_id, boot_id)).ok_or(KeyError::Refused)?);
        let keys = SealedKeys { master, own, peers: Vec::new(), tick: 0, sessions: Vec::new() };
        Ok(PacketCodec { node_id, boot_id, counter: 0, keys: Keys::Sealed(Box::new(keys)) })
    }

    /// The mode of this codec.
    pub fn mode(&self) -> Mode {
        match self.keys {
            Keys::Plain => Mode::Plain,
            Keys::Sealed { .. } => Mode::Sealed,
        }
    }

    /// Our node id (written into every header).
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// Our boot id.
    pub fn boot_id(&self) -> u64 {
        self.boot_id
    }

    /// Replaces the session keys: `(tag, secret)` pairs, at most
    /// [`MAX_SESSION_KEYS`]. A key already held (same secret) keeps its
    /// replay windows; a key not in the list is erased (its AEAD key
    /// overwritten) and its frames no longer open. The secrets are
    /// borrowed: no copy of them is kept. A plain codec ignores session keys.
    pub fn set_session_keys(&mut self, keys: &[(u64, &[u8; 32])]) -> Result<(), KeyError> {
        if keys.len() > MAX_SESSION_KEYS {
            return Err(KeyError::TooManySessionKeys);
        }
        let Keys::Sealed(k) = &mut self.keys else { return Ok(()) };
        let mut next = Vec::with_capacity(keys.len());
        for (tag, secret) in keys {
            let id = session_key_id(secret);
            let held = k.sessions.iter().position(|s| s.id == id);
            let mut s = match held {
                Some(i) => k.sessions.swap_remove(i),
                None => {
                    let cipher = Box::new(aead_key(&mut session_packet_key(secret)).ok_or(KeyError::Refused)?);
                    Session { tag: *tag, id, cipher, senders: Vec::new() }
                }
            };
            s.tag = *tag;
            next.push(s);
        }
        // What is left is retired: dropping a Session erases its key.
        k.sessions = next;
        Ok(())
    }

    /// The tags of the session keys held, in the order given.
    pub fn session_tags(&self) -> Vec<u64> {
        match &self.keys {
            Keys::Sealed(k) => k.sessions.iter().map(|s| s.tag).collect(),
            Keys::Plain => Vec::new(),
        }
    }

    /// The key class a received key id stands for, if we hold it.
    pub fn class_of(&self, key_id: u32) -> Option<KeyClass> {
        if key_id == AUTHKEY_ID {
            return Some(KeyClass::Auth);
        }
        match &self.keys {
            Keys::Sealed(k) => k.sessions.iter().find(|s| s.id == key_id).map(|s| KeyClass::Session(s.tag)),
            Keys::Plain => None,
        }
    }

    /// Seals `payload` with the authkey, for every member, into `out`.
    pub fn seal_into(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        self.seal_to(KeyClass::Auth, EVERY_MEMBER, payload, out)
    }

    /// Seals `payload` with the key `class` for the receiver `dest`
    /// ([`EVERY_MEMBER`] for a multicast) into `out` (cleared first).
    /// `out.len()` is then `payload.len() + OVERHEAD`. Size limits are the
    /// transport's job. A plain codec ignores `class`.
    pub fn seal_to(
        &mut self,
        class: KeyClass,
        dest: NodeId,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        let (key_id, cipher, nonce) = match (&self.keys, class) {
            (Keys::Plain, _) => (AUTHKEY_ID, None, [0u8; 12]),
            (Keys::Sealed(k), KeyClass::Auth) => (AUTHKEY_ID, Some(&*k.own), nonce_bytes(self.counter)),
            (Keys::Sealed(k), KeyClass::Session(tag)) => {
                let s = k.sessions.iter().find(|s| s.tag == tag).ok_or(SealError::NoSessionKey(tag))?;
                (s.id, Some(&*s.cipher), session_nonce(self.node_id, self.counter))
            }
        };
        let counter = self.counter;
        let next = counter.checked_add(1).ok_or(SealError::CounterExhausted)?;
        let mode = self.mode();
        let header = Header { mode, node_id: self.node_id, dest, key_id, boot_id: self.boot_id, counter }.encode();
        out.clear();
        out.reserve(payload.len() + OVERHEAD);
        out.extend_from_slice(&header);
        out.extend_from_slice(payload);
        match cipher {
            None => {
                let trailer = plain_trailer(out);
                out.extend_from_slice(&trailer);
            }
            Some(cipher) => {
                let (aad, body) = out.split_at_mut(HEADER_LEN);
                // Encryption of a slice cannot fail except for lengths
                // beyond 2^38 bytes, far above any UDP datagram.
                let tag = cipher
                    .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&*aad), body)
                    .map_err(|_| SealError::CounterExhausted)?;
                out.extend_from_slice(tag.as_ref());
            }
        }
        self.counter = next;
        Ok(())
    }

    /// Seals `payload` with the authkey for every member into a new buffer.
    pub fn seal(&mut self, payload: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut v = Vec::new();
        self.seal_into(payload, &mut v)?;
        Ok(v)
    }

    /// Opens `frame` in place: on success the payload is
    /// `frame[HEADER_LEN..frame.len() - TRAILER_LEN]` (decrypted). On
    /// failure the contents of `frame` are unspecified. The checks run
    /// cheapest first (see the module doc).
    pub fn open_in_place(&mut self, frame: &mut [u8]) -> Result<Header, OpenError> {
        let header = Header::parse(frame, self.mode())?;
        if header.dest != EVERY_MEMBER && header.dest != self.node_id {
            return Err(OpenError::NotForUs { dest: header.dest });
        }
        let body_end = frame.len() - TRAILER_LEN;
        let k = match &mut self.keys {
            Keys::Plain => {
                if header.key_id != AUTHKEY_ID {
                    return Err(OpenError::UnknownKey(header.key_id));
                }
                let (covered, trailer) = frame.split_at(body_end);
                // Not secret: a plain CRC only detects corruption.
                if trailer != plain_trailer(covered) {
                    return Err(OpenError::InvalidDigest);
                }
                return Ok(header);
            }
            Keys::Sealed(k) => k,
        };
        let (aad, rest) = frame.split_at_mut(HEADER_LEN);
        let (body, tag) = rest.split_at_mut(body_end - HEADER_LEN);
        let tag = Tag::try_from(&*tag).map_err(|_| OpenError::InvalidDigest)?;
        let aad = Aad::from(&*aad);
        if header.key_id != AUTHKEY_ID {
            let Some(s) = k.sessions.iter_mut().find(|s| s.id == header.key_id) else {
                return Err(OpenError::UnknownKey(header.key_id));
            };
            let idx = s.senders.iter().position(|p| p.node_id == header.node_id && p.boot_id == header.boot_id);
            match idx {
                Some(i) if !s.senders[i].window.fresh(header.counter) => return Err(OpenError::Replay),
                None if s.senders.len() >= SESSION_SENDERS => return Err(OpenError::SenderTableFull),
                _ => {}
            }
            let nonce = Nonce::assume_unique_for_key(session_nonce(header.node_id, header.counter));
            s.cipher.open_in_place_separate_tag(nonce, aad, tag, body, 0..).map_err(|_| OpenError::InvalidDigest)?;
            match idx {
                Some(i) => s.senders[i].window.mark(header.counter),
                None => s.senders.push(Sender {
                    node_id: header.node_id,
                    boot_id: header.boot_id,
                    window: ReplayWindow::new(header.counter),
                }),
            }
            return Ok(header);
        }
        k.tick += 1;
        let tick = k.tick;
        let peers = &mut k.peers;
        let idx = peers.iter().position(|p| p.node_id == header.node_id && p.boot_id == header.boot_id);
        if let Some(i) = idx
            && !peers[i].window.fresh(header.counter)
        {
            return Err(OpenError::Replay);
        }
        let nonce = Nonce::assume_unique_for_key(nonce_bytes(header.counter));
        match idx {
            Some(i) => {
                let p = &mut peers[i];
                p.cipher
                    .open_in_place_separate_tag(nonce, aad, tag, body, 0..)
                    .map_err(|_| OpenError::InvalidDigest)?;
                p.window.mark(header.counter);
                p.last_used = tick;
            }
            None => {
                let mut key = sender_key(&k.master, header.node_id, header.boot_id);
                let mut cipher = Box::new(aead_key(&mut key).ok_or(OpenError::InvalidDigest)?);
                if cipher.open_in_place_separate_tag(nonce, aad, tag, body, 0..).is_err() {
                    erase(&mut cipher);
                    return Err(OpenError::InvalidDigest);
                }
                // Authenticated: remember this sender process.
                if peers.len() >= PEER_CACHE
                    && let Some(lru) = (0..peers.len()).min_by_key(|&i| peers[i].last_used)
                {
                    erase(&mut peers.swap_remove(lru).cipher);
                }
                peers.push(Peer {
                    node_id: header.node_id,
                    boot_id: header.boot_id,
                    cipher,
                    window: ReplayWindow::new(header.counter),
                    last_used: tick,
                });
            }
        }
        Ok(header)
    }

    /// Opens `frame`, returning its header and a copy of the payload.
    pub fn open(&mut self, frame: &[u8]) -> Result<Opened, OpenError> {
        let mut buf = frame.to_vec();
        let header = self.open_in_place(&mut buf)?;
        buf.truncate(buf.len() - TRAILER_LEN);
        buf.drain(..HEADER_LEN);
        Ok(Opened { header, payload: buf })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // An independent ChaCha20-Poly1305 implementation (RustCrypto), the
    // one earlier versions sealed with: frames must stay byte-identical.
    use chacha20poly1305::aead::{AeadInPlace, KeyInit};
    use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
    use std::collections::HashSet;

    const KEY: [u8; 128] = {
        let mut k = [0u8; 128];
        let mut i = 0;
        while i < 128 {
            k[i] = (i as u8).wrapping_mul(37).wrapping_add(11);
            i += 1;
        }
        k
    };

    fn sealed(node: u32, boot: u64) -> PacketCodec {
        PacketCodec::sealed(&KEY, node, boot).unwrap()
    }

    #[test]
    fn round_trip_sealed_and_plain() {
        for payload in [&b""[..], b"x", &[0xAB; 1400][..]] {
            let mut a = sealed(1, 100);
            let mut b = sealed(2, 200);
            let f = a.seal(payload).unwrap();
            assert_eq!(f.len(), payload.len() + OVERHEAD);
            if !payload.is_empty() && payload.len() > 8 {
                assert!(f.windows(payload.len()).all(|w| w != payload), "payload visible in clear");
            }
            let o = b.open(&f).unwrap();
            assert_eq!(o.payload, payload);
            assert_eq!(
                o.header,
                Header { mode: Mode::Sealed, node_id: 1, dest: 0, key_id: 0, boot_id: 100, counter: 0 }
            );

            let mut p = PacketCodec::plain(3, 300);
            let mut q = PacketCodec::plain(4, 400);
            let f = p.seal(payload).unwrap();
            assert_eq!(f.len(), payload.len() + OVERHEAD);
            assert_eq!(q.open(&f).unwrap().payload, payload);
        }
    }

    #[test]
    fn sender_opens_its_own_packets() {
        let mut a = sealed(1, 5);
        let f = a.seal(b"self").unwrap();
        assert_eq!(a.open(&f).unwrap().payload, b"self");
    }

    #[test]
    fn wrong_key_never_opens() {
        let mut a = sealed(1, 1);
        let mut other_key = KEY;
        other_key[127] ^= 1;
        let mut b = PacketCodec::sealed(&other_key, 2, 2).unwrap();
        for i in 0..200u32 {
            let f = a.seal(&i.to_be_bytes()).unwrap();
            assert_eq!(b.open(&f), Err(OpenError::InvalidDigest));
        }
        // and the other direction
        let f = b.seal(b"hello").unwrap();
        assert_eq!(a.open(&f), Err(OpenError::InvalidDigest));
    }

    #[test]
    fn short_authkey_rejected() {
        assert_eq!(PacketCodec::sealed(&[1; 15], 1, 1).unwrap_err(), KeyError::TooShort { len: 15 });
        assert!(PacketCodec::sealed(&[1; 16], 1, 1).is_ok());
    }

    #[test]
    fn tampered_byte_anywhere_fails() {
        let payload: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        for mode in [Mode::Sealed, Mode::Plain] {
            let mut a = match mode {
                Mode::Sealed => sealed(7, 77),
                Mode::Plain => PacketCodec::plain(7, 77),
            };
            let f = a.seal(&payload).unwrap();
            let mut b = match mode {
                Mode::Sealed => sealed(8, 88),
                Mode::Plain => PacketCodec::plain(8, 88),
            };
            for i in 0..f.len() {
                for flip in [0x01u8, 0x80, 0xFF] {
                    let mut t = f.clone();
                    t[i] ^= flip;
                    let e = b.open(&t).unwrap_err();
                    assert_ne!(e, OpenError::Replay, "byte {i}: failed attempt must not be a replay hit");
                }
            }
            // failed attempts did not poison the replay window
            assert_eq!(b.open(&f).unwrap().payload, payload);
        }
    }

    #[test]
    fn truncated_and_extended_fail() {
        let mut a = sealed(1, 1);
        let f = a.seal(b"0123456789").unwrap();
        let mut b = sealed(2, 2);
        for n in 0..f.len() {
            let e = b.open(&f[..n]).unwrap_err();
            if n < OVERHEAD {
                assert_eq!(e, OpenError::Truncated { len: n });
            } else {
                assert_eq!(e, OpenError::InvalidDigest);
            }
        }
        let mut longer = f.clone();
        longer.push(0);
        assert_eq!(b.open(&longer), Err(OpenError::InvalidDigest));
        assert!(b.open(&f).is_ok());
    }

    #[test]
    fn mode_mismatch_both_ways() {
        let mut s = sealed(1, 1);
        let mut p = PacketCodec::plain(2, 2);
        let fs = s.seal(b"abc").unwrap();
        let fp = p.seal(b"abc").unwrap();
        assert_eq!(p.open(&fs), Err(OpenError::ModeMismatch { ours: Mode::Plain, theirs: Mode::Sealed }));
        assert_eq!(s.open(&fp), Err(OpenError::ModeMismatch { ours: Mode::Sealed, theirs: Mode::Plain }));
        // forcing the tag does not help either way
        let mut fs2 = fs.clone();
        fs2[3] = TAG_PLAIN;
        assert_eq!(p.open(&fs2), Err(OpenError::InvalidDigest));
        let mut fp2 = fp.clone();
        fp2[3] = TAG_SEALED;
        assert_eq!(s.open(&fp2), Err(OpenError::InvalidDigest));
    }

    #[test]
    fn bad_magic_version_format() {
        let mut a = sealed(1, 1);
        let f = a.seal(b"abc").unwrap();
        let mut b = sealed(2, 2);
        let mut t = f.clone();
        t[0] = 0;
        assert_eq!(b.open(&t), Err(OpenError::BadMagic));
        for old in [1, 2, 3] {
            let mut t = f.clone();
            t[2] = old;
            assert_eq!(b.open(&t), Err(OpenError::BadVersion(old)));
            assert_eq!(
                OpenError::BadVersion(old).to_string(),
                format!("unsupported frame version {old} (ours is 4): upgrade every node")
            );
        }
        let mut t = f.clone();
        t[3] = b'X';
        assert_eq!(b.open(&t), Err(OpenError::UnknownFormat(b'X')));
    }

    #[test]
    fn nonces_unique_over_many_seals_and_restarts() {
        let mut seen = HashSet::new();
        // Two "processes" of the same node id (a restart) plus another node.
        for (node, boot) in [(1u32, random_boot_id().unwrap()), (1, random_boot_id().unwrap()), (2, 9)] {
            let mut c = sealed(node, boot);
            let key = sender_key(&master_key(&KEY), node, boot);
            for _ in 0..20_000 {
                let f = c.seal(b"n").unwrap();
                let h = Header::parse(&f, Mode::Sealed).unwrap();
                assert!(seen.insert((key, nonce_bytes(h.counter))), "(key, nonce) reused");
            }
        }
        assert_eq!(seen.len(), 60_000);
    }

    #[test]
    fn counter_exhaustion_refuses_instead_of_wrapping() {
        let mut c = sealed(1, 1);
        c.counter = u64::MAX;
        assert_eq!(c.seal(b"x"), Err(SealError::CounterExhausted));
        assert_eq!(c.seal(b"x"), Err(SealError::CounterExhausted));
    }

    #[test]
    fn derive_key_context_separation() {
        let m = master_key(&KEY);
        assert_eq!(m, blake3::derive_key("aisexec totem v2 packet key", &KEY));
        assert_ne!(m, blake3::derive_key("aisexec totem v1 packet key", &KEY));
        assert_ne!(m, blake3::derive_key(CONTEXT_SENDER, &KEY));
        assert_ne!(&m[..], &KEY[..32]);
        // subkeys differ per node id and per boot id, and from the master
        let s = sender_key(&m, 1, 1);
        assert_ne!(s, m);
        assert_ne!(s, sender_key(&m, 2, 1));
        assert_ne!(s, sender_key(&m, 1, 2));
        assert_ne!(s, sender_key(&master_key(&[0u8; 128]), 1, 1));
        // a codec keyed through the "v1" context cannot open v2 packets
        let mut a = sealed(1, 1);
        let f = a.seal(b"ctx").unwrap();
        let v2 = blake3::derive_key("aisexec totem v1 packet key", &KEY);
        let wrong = ChaCha20Poly1305::new(Key::from_slice(&sender_key(&v2, 1, 1)));
        let mut body = f[HEADER_LEN..f.len() - TRAILER_LEN].to_vec();
        let tag = Tag::clone_from_slice(&f[f.len() - TRAILER_LEN..]);
        assert!(
            wrong
                .decrypt_in_place_detached(Nonce::from_slice(&nonce_bytes(0)), &f[..HEADER_LEN], &mut body, &tag)
                .is_err()
        );
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        s.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
    }

    #[test]
    fn aead_matches_rfc8439_vector() {
        // RFC 8439, section 2.8.2.
        let key: [u8; 32] = std::array::from_fn(|i| 0x80 + i as u8);
        let nonce = hex("070000004041424344454647");
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let mut text = b"Ladies and Gentlemen of the class of '99: If I could offer you \
            only one tip for the future, sunscreen would be it."
            .to_vec();
        let want = hex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
             3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
             92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
             3ff4def08e4b7a9de576d26586cec64b6116");
        let k = aead_key(&mut key.clone()).unwrap();
        let n = ring::aead::Nonce::try_assume_unique_for_key(&nonce).unwrap();
        let tag = k.seal_in_place_separate_tag(n, Aad::from(&aad), &mut text).unwrap();
        assert_eq!(text, want);
        assert_eq!(tag.as_ref(), &hex("1ae10b594f09e26a7e902ecbd0600691")[..]);
    }

    /// A sealed frame is exactly header || ChaCha20-Poly1305(sender key,
    /// nonce, aad = header) || tag as an independent implementation
    /// computes it, and frames built by that implementation open.
    #[test]
    fn sealed_frames_identical_to_reference_implementation() {
        let (mut rng, _seed) = ais_testrng::seeded(0x0C0D_EC00);
        let key = sender_key(&master_key(&KEY), 9, 0xB007);
        let reference = ChaCha20Poly1305::new(Key::from_slice(&key));
        let mut a = sealed(9, 0xB007);
        let mut rx = sealed(3, 3);
        let mut rx_ref = sealed(4, 4);
        for n in [0usize, 1, 15, 16, 17, 63, 64, 65, 255, 256, 1024, 1400, 1452, 9000] {
            let payload = rng.bytes(n);
            let f = a.seal(&payload).unwrap();
            let h = Header::parse(&f, Mode::Sealed).unwrap();
            let mut want = f[..HEADER_LEN].to_vec();
            let mut body = payload.clone();
            let tag = reference
                .encrypt_in_place_detached(Nonce::from_slice(&nonce_bytes(h.counter)), &f[..HEADER_LEN], &mut body)
                .unwrap();
            want.extend_from_slice(&body);
            want.extend_from_slice(&tag);
            assert_eq!(f, want, "payload {n}");
            // and the other way round: a frame the reference seals (for a
            // counter the codec has not used) opens
            let counter = h.counter + 1_000_000;
            let header =
                Header { mode: Mode::Sealed, node_id: 9, dest: 0, key_id: 0, boot_id: 0xB007, counter }.encode();
            let mut body = payload.clone();
            let tag = reference
                .encrypt_in_place_detached(Nonce::from_slice(&nonce_bytes(counter)), &header, &mut body)
                .unwrap();
            let mut g = header.to_vec();
            g.extend_from_slice(&body);
            g.extend_from_slice(&tag);
            assert_eq!(rx.open(&f).unwrap().payload, payload, "payload {n}");
            assert_eq!(rx_ref.open(&g).unwrap().payload, payload, "payload {n}");
        }
    }

    #[test]
    fn plain_trailer_is_crc32c_then_zero_padding() {
        let mut p = PacketCodec::plain(5, 55);
        let mut q = PacketCodec::plain(6, 66);
        for n in [0usize, 1, 7, 8, 9, 1400] {
            let payload: Vec<u8> = (0..n).map(|i| (i * 13) as u8).collect();
            let f = p.seal(&payload).unwrap();
            assert_eq!(f[3], b'C');
            let end = f.len() - TRAILER_LEN;
            assert_eq!(f[end..end + 4], crate::crc32c::crc32c(&f[..end]).to_be_bytes());
            assert_eq!(f[end + 4..], [0u8; TRAILER_LEN - 4]);
            assert_eq!(&f[HEADER_LEN..end], &payload[..], "payload in clear");
            assert_eq!(q.open(&f).unwrap().payload, payload);
            // a valid CRC with non-zero padding is still rejected
            let mut t = f.clone();
            let last = t.len() - 1;
            t[last] = 1;
            assert_eq!(q.open(&t), Err(OpenError::InvalidDigest));
        }
    }

    #[test]
    fn older_blake3_plain_frames_are_named_not_mixed() {
        let mut p = PacketCodec::plain(1, 1);
        let mut f = p.seal(b"old").unwrap();
        f[3] = TAG_PLAIN_BLAKE3;
        for rx in [&mut PacketCodec::plain(2, 2), &mut sealed(2, 2)] {
            let e = rx.open(&f).unwrap_err();
            assert_eq!(e, OpenError::UnknownFormat(b'P'));
            assert!(e.to_string().contains("older aisexec"), "{e}");
        }
    }

    #[test]
    fn forged_sender_fields_fail() {
        let mut a = sealed(1, 1);
        let f = a.seal(b"who am i").unwrap();
        let mut b = sealed(2, 2);
        let mut t = f.clone();
        t[4..8].copy_from_slice(&3u32.to_be_bytes());
        assert_eq!(b.open(&t), Err(OpenError::InvalidDigest));
        let mut t = f.clone();
        t[16..24].copy_from_slice(&5u64.to_be_bytes());
        assert_eq!(b.open(&t), Err(OpenError::InvalidDigest));
    }

    #[test]
    fn replay_rejected_reorder_accepted() {
        let mut a = sealed(1, 1);
        let mut b = sealed(2, 2);
        let frames: Vec<Vec<u8>> = (0..100u32).map(|i| a.seal(&i.to_be_bytes()).unwrap()).collect();
        // out of order delivery within the window is fine
        for i in (0..100).rev() {
            assert!(b.open(&frames[i]).is_ok(), "frame {i}");
        }
        for f in &frames {
            assert_eq!(b.open(f), Err(OpenError::Replay));
        }
        // a counter far ahead moves the window; frames older than it are
        // rejected, newer ones accepted
        a.counter = 100 + REPLAY_WINDOW + 5;
        let far = a.seal(b"far").unwrap();
        assert!(b.open(&far).is_ok());
        assert_eq!(b.open(&frames[99]), Err(OpenError::Replay));
        a.counter = 100 + 10;
        let mid = a.seal(b"mid").unwrap();
        assert!(b.open(&mid).is_ok(), "within window below top");
        assert_eq!(b.open(&mid), Err(OpenError::Replay));
        // a new boot id of the same node (restart) starts its own window
        let mut a2 = sealed(1, 999);
        assert!(b.open(&a2.seal(b"again").unwrap()).is_ok());
        // plain mode: no replay check, duplicates pass (Totem dedups)
        let mut p = PacketCodec::plain(1, 1);
        let mut q = PacketCodec::plain(2, 2);
        let f = p.seal(b"d").unwrap();
        assert!(q.open(&f).is_ok() && q.open(&f).is_ok());
    }

    /// Item 7 of issue 25: a token sealed for one member does not open at
    /// another, whether handed over as it is or with its receiver field
    /// rewritten; a multicast opens everywhere.
    #[test]
    fn frames_are_bound_to_their_receiver() {
        let mut a = sealed(1, 1);
        let mut b = sealed(2, 2);
        let mut c = sealed(3, 3);
        for class in [KeyClass::Auth, KeyClass::Session(7)] {
            for x in [&mut a, &mut b, &mut c] {
                x.set_session_keys(&[(7, &[9; 32])]).unwrap();
            }
            let mut token = Vec::new();
            a.seal_to(class, 2, b"token for 2", &mut token).unwrap();
            assert_eq!(Header::parse(&token, Mode::Sealed).unwrap().dest, 2);
            // reflected to 3 as it is: refused before any crypto
            assert_eq!(c.open(&token), Err(OpenError::NotForUs { dest: 2 }));
            // receiver rewritten to 3: the field is authenticated
            let mut redirected = token.clone();
            redirected[8..12].copy_from_slice(&3u32.to_be_bytes());
            assert_eq!(c.open(&redirected), Err(OpenError::InvalidDigest));
            // or to "every member"
            redirected[8..12].copy_from_slice(&EVERY_MEMBER.to_be_bytes());
            assert_eq!(c.open(&redirected), Err(OpenError::InvalidDigest));
            assert_eq!(b.open(&token).unwrap().payload, b"token for 2");
            let mut mcast = Vec::new();
            a.seal_to(class, EVERY_MEMBER, b"all", &mut mcast).unwrap();
            assert!(b.open(&mcast).is_ok() && c.open(&mcast).is_ok());
        }
        // plain frames carry the receiver too (no authenticity, but a
        // misdelivered token is still refused)
        let mut p = PacketCodec::plain(1, 1);
        let mut q = PacketCodec::plain(3, 3);
        let mut f = Vec::new();
        p.seal_to(KeyClass::Auth, 2, b"t", &mut f).unwrap();
        assert_eq!(q.open(&f), Err(OpenError::NotForUs { dest: 2 }));
    }

    /// Session keys: frames open only under a key the receiver holds; a
    /// retired key, a restarted receiver (which never holds an older
    /// ring's key) and a replay are all refused; ring keys are never
    /// evicted, and forged frames do not poison a window.
    #[test]
    fn session_keys_open_only_what_they_sealed_once() {
        let k1 = [0x11u8; 32];
        let k2 = [0x22u8; 32];
        let mut a = sealed(1, 10);
        let mut b = sealed(2, 20);
        assert_eq!(a.seal(b"x").map(|_| ()), Ok(()));
        let mut f = Vec::new();
        assert_eq!(a.seal_to(KeyClass::Session(5), 0, b"x", &mut f), Err(SealError::NoSessionKey(5)));
        a.set_session_keys(&[(5, &k1)]).unwrap();
        b.set_session_keys(&[(5, &k1)]).unwrap();
        let frames: Vec<Vec<u8>> = (0..50u32)
            .map(|i| {
                let mut f = Vec::new();
                a.seal_to(KeyClass::Session(5), 0, &i.to_be_bytes(), &mut f).unwrap();
                f
            })
            .collect();
        let id = session_key_id(&k1);
        assert_ne!(id, AUTHKEY_ID);
        assert_eq!(Header::parse(&frames[0], Mode::Sealed).unwrap().key_id, id);
        assert_eq!(b.class_of(id), Some(KeyClass::Session(5)));
        // a forged frame under the key does not open and does not mark
        let mut forged = frames[3].clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(b.open(&forged), Err(OpenError::InvalidDigest));
        for (i, f) in frames.iter().enumerate().rev() {
            assert_eq!(b.open(f).unwrap().payload, (i as u32).to_be_bytes(), "frame {i}");
        }
        for f in &frames {
            assert_eq!(b.open(f), Err(OpenError::Replay));
        }
        // the same key given again (another tag) keeps its windows
        b.set_session_keys(&[(6, &k1), (7, &k2)]).unwrap();
        assert_eq!(b.open(&frames[0]), Err(OpenError::Replay));
        assert_eq!(b.class_of(id), Some(KeyClass::Session(6)));
        // retired: refused before any crypto, whatever the window said
        b.set_session_keys(&[(7, &k2)]).unwrap();
        let mut fresh = Vec::new();
        a.seal_to(KeyClass::Session(5), 0, b"late", &mut fresh).unwrap();
        assert_eq!(b.open(&fresh), Err(OpenError::UnknownKey(id)));
        assert_eq!(b.class_of(id), None);
        // a restarted receiver (new process: authkey only) opens none of them
        let mut restarted = sealed(2, 21);
        for f in frames.iter().chain([&fresh]) {
            assert_eq!(restarted.open(f), Err(OpenError::UnknownKey(id)));
        }
        // another authkey: session frames are unknown keys, authkey frames
        // are invalid digests
        let mut other = KEY;
        other[0] ^= 1;
        let mut stranger = PacketCodec::sealed(&other, 3, 3).unwrap();
        stranger.set_session_keys(&[(5, &k2)]).unwrap();
        assert_eq!(stranger.open(&fresh), Err(OpenError::UnknownKey(id)));
        assert_eq!(stranger.open(&a.seal(b"join").unwrap()), Err(OpenError::InvalidDigest));
        assert!(matches!(b.set_session_keys(&[(1, &k1); MAX_SESSION_KEYS + 1]), Err(KeyError::TooManySessionKeys)));
    }

    /// A ring's key epochs under one tag (Totem's rekeying): the first key
    /// listed seals; a frame under the next key opens at a receiver that
    /// has not switched, one under the previous key at a receiver that
    /// has; windows survive the re-listing (a replay inside an epoch is
    /// still refused) and once the previous key is retired its frames,
    /// captured before the rekey, open nowhere.
    #[test]
    fn a_rekeyed_ring_opens_both_epochs_then_only_the_new_one() {
        let (k0, k1, k2) = ([0x40u8; 32], [0x41u8; 32], [0x42u8; 32]);
        let seal = |c: &mut PacketCodec, what: &[u8]| {
            let mut f = Vec::new();
            c.seal_to(KeyClass::Session(9), 0, what, &mut f).unwrap();
            f
        };
        let key_of = |f: &[u8]| Header::parse(f, Mode::Sealed).unwrap().key_id;
        let mut a = sealed(1, 10);
        let mut b = sealed(2, 20);
        a.set_session_keys(&[(9, &k0), (9, &k1)]).unwrap();
        b.set_session_keys(&[(9, &k0), (9, &k1)]).unwrap();
        let before = seal(&mut a, b"epoch 0");
        assert_eq!(key_of(&before), session_key_id(&k0), "the first key listed seals");
        assert_eq!(b.open(&before).unwrap().payload, b"epoch 0");
        // a switches first: b (not switched) opens its new-epoch frames
        a.set_session_keys(&[(9, &k1), (9, &k0), (9, &k2)]).unwrap();
        let during = seal(&mut a, b"epoch 1");
        assert_eq!(key_of(&during), session_key_id(&k1));
        assert_eq!(b.open(&during).unwrap().payload, b"epoch 1");
        // b switches; a late frame of a's old epoch still opens at b
        b.set_session_keys(&[(9, &k1), (9, &k0), (9, &k2)]).unwrap();
        let mut late = sealed(3, 30);
        late.set_session_keys(&[(9, &k0)]).unwrap();
        let late_frame = seal(&mut late, b"late");
        assert_eq!(b.open(&late_frame).unwrap().payload, b"late");
        assert_eq!(b.open(&during), Err(OpenError::Replay), "windows kept across the switch");
        // the previous key retired: the captured epoch-0 frames open nowhere
        b.set_session_keys(&[(9, &k1), (9, &k2)]).unwrap();
        assert_eq!(b.open(&before), Err(OpenError::UnknownKey(session_key_id(&k0))));
        assert_eq!(b.open(&late_frame), Err(OpenError::UnknownKey(session_key_id(&k0))));
        assert_eq!(b.open(&seal(&mut a, b"after")).unwrap().payload, b"after");
        assert_eq!(b.session_tags(), vec![9, 9]);
    }

    #[test]
    fn session_senders_are_bounded_and_never_evicted() {
        let k = [0x33u8; 32];
        let mut rx = sealed(1, 1);
        rx.set_session_keys(&[(1, &k)]).unwrap();
        let mut first = Vec::new();
        let mut all = Vec::new();
        for n in 0..=SESSION_SENDERS as u32 {
            let mut tx = sealed(100 + n, 5);
            tx.set_session_keys(&[(1, &k)]).unwrap();
            let mut f = Vec::new();
            tx.seal_to(KeyClass::Session(1), 0, b"hello", &mut f).unwrap();
            if n == 0 {
                first = f.clone();
            }
            all.push(f);
        }
        for f in &all[..SESSION_SENDERS] {
            assert!(rx.open(f).is_ok());
        }
        assert_eq!(rx.open(&all[SESSION_SENDERS]), Err(OpenError::SenderTableFull));
        // the first sender's frame is still known: no eviction let it in again
        assert_eq!(rx.open(&first), Err(OpenError::Replay));
    }

    #[test]
    fn session_nonces_unique_across_senders() {
        let k = [0x44u8; 32];
        let mut seen = HashSet::new();
        for node in 1..=3u32 {
            let mut c = sealed(node, 1);
            c.set_session_keys(&[(1, &k)]).unwrap();
            for _ in 0..5_000 {
                let mut f = Vec::new();
                c.seal_to(KeyClass::Session(1), 0, b"n", &mut f).unwrap();
                let h = Header::parse(&f, Mode::Sealed).unwrap();
                assert!(seen.insert(session_nonce(h.node_id, h.counter)), "nonce reused under one key");
            }
        }
        assert_eq!(seen.len(), 15_000);
        assert_ne!(session_nonce(1, 0), nonce_bytes(0), "session and authkey nonces are apart anyway");
    }

    #[test]
    fn replay_window_randomised_against_model() {
        let (mut rng, _seed) = ais_testrng::seeded(0x5EED_0001);
        let mut w = ReplayWindow::new(0);
        let mut seen: HashSet<u64> = HashSet::from([0]);
        let mut top = 0u64;
        for _ in 0..20_000 {
            let c = match rng.below(4) {
                0 => top + 1 + rng.below(50),
                1 => top.saturating_sub(rng.below(2 * REPLAY_WINDOW)),
                2 => top + rng.below(3 * REPLAY_WINDOW),
                _ => top.saturating_sub(rng.below(20)),
            };
            let model = !seen.contains(&c) && (c > top || top - c < REPLAY_WINDOW);
            assert_eq!(w.fresh(c), model, "counter {c} top {top}");
            if model {
                w.mark(c);
                seen.insert(c);
                top = top.max(c);
            }
        }
    }

    #[test]
    fn peer_cache_is_bounded() {
        let mut b = sealed(2, 2);
        for boot in 0..(PEER_CACHE as u64 * 3) {
            let mut a = sealed(1, boot);
            assert!(b.open(&a.seal(b"x").unwrap()).is_ok());
        }
        match &b.keys {
            Keys::Sealed(k) => assert_eq!(k.peers.len(), PEER_CACHE),
            Keys::Plain => unreachable!(),
        }
    }

    /// Seeded random and mutated input: open() never panics, and nothing
    /// but an untouched, unseen frame ever opens. Set AIS_FUZZ_ITERS for a
    /// longer run.
    #[test]
    fn open_never_panics_on_random_or_mutated_input() {
        let iters = ais_testrng::iters(6_000);
        let (mut rng, _seed) = ais_testrng::seeded(0xA15E_F022);
        let mut tx = [sealed(1, 1), PacketCodec::plain(1, 1)];
        let mut rx = [sealed(2, 2), PacketCodec::plain(2, 2)];
        for it in 0..iters {
            let m = it % 2;
            let n = rng.index(1500);
            let mut orig = None;
            let input = match rng.index(4) {
                0 => rng.bytes(n),
                1 => {
                    // valid header prefix, random rest
                    let mut v = tx[m].seal(&[]).unwrap()[..HEADER_LEN].to_vec();
                    v.extend(rng.bytes(n));
                    v
                }
                _ => {
                    let payload = rng.bytes(n);
                    let mut f = tx[m].seal(&payload).unwrap();
                    orig = Some(f.clone());
                    let mutations = 1 + rng.index(4);
                    for _ in 0..mutations {
                        match rng.index(4) {
                            0 if !f.is_empty() => {
                                let i = rng.index(f.len());
                                f[i] ^= 1 + rng.below(255) as u8;
                            }
                            1 => f.truncate(rng.index(f.len() + 1)),
                            2 => {
                                let i = rng.index(f.len() + 1);
                                f.insert(i, rng.byte());
                            }
                            _ if !f.is_empty() => {
                                let i = rng.index(f.len());
                                f.remove(i);
                            }
                            _ => {}
                        }
                    }
                    f
                }
            };
            if rx[m].open(&input).is_ok() {
                assert_eq!(orig.as_ref(), Some(&input), "iteration {it}: a modified frame opened");
            }
            assert!(rx[1 - m].open(&input).is_err());
        }
    }
}
