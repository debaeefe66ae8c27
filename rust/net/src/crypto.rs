//! Packet framing and crypto for every datagram Totem puts on the wire.
//!
//! Owns: the on-wire frame format, key derivation from the authkey, nonce
//! generation, authentication/decryption, the plain-mode checksum (computed
//! by [`crate::crc32c`]), and the per-sender replay window. Pure: no
//! sockets, no clock; randomness only in [`random_boot_id`].
//!
//! Must not: log, touch the network, panic on any input, or ever seal two
//! packets with the same (key, nonce).
//!
//! # Frame format (version 1)
//!
//! ```text
//! offset size field
//!      0    2 magic 0xA1 0x5E
//!      2    1 version = 1
//!      3    1 format tag: b'S' (0x53) sealed, b'C' (0x43) plain
//!      4    4 sender node id, big endian
//!      8    8 sender boot id, big endian (random per process start)
//!     16    8 counter, big endian (per boot id, strictly increasing)
//!     24    n payload (ciphertext when sealed)
//!   24+n   16 trailer, sealed: Poly1305 tag
//!             trailer, plain: CRC-32C of bytes 0..24+n, big endian,
//!             then 12 zero bytes
//! ```
//!
//! The 24-byte header travels in the clear and is authenticated (AEAD
//! associated data) when sealed, covered by the CRC when plain.
//! Overhead is [`OVERHEAD`] = 40 bytes in both modes, so the payload room
//! of a datagram does not depend on the mode (hence the zero padding of
//! the plain trailer, which is checked like the CRC).
//!
//! A sealed node and a plain node never interoperate: the format tag
//! differs, each side rejects the other's tag with
//! [`OpenError::ModeMismatch`] before any other check.
//!
//! # Plain frames (`secauth: off`)
//!
//! The CRC-32C (Castagnoli) trailer only detects corruption: it is not a
//! MAC, anyone can forge a plain frame. Plain mode has no authenticity and
//! no privacy; use `secauth: on` on any network that is not trusted. A
//! frame whose CRC or padding does not match is rejected as
//! [`OpenError::InvalidDigest`] (logged as `Invalid digest`). Earlier
//! versions sent plain frames with a BLAKE3 checksum under format tag
//! b'P' ([`TAG_PLAIN_BLAKE3`]); a node of this version rejects them as
//! [`OpenError::UnknownFormat`] and says so, rather than mixing with it.
//!
//! # Keys and nonces (`secauth: on`)
//!
//! * `master = BLAKE3.derive_key("aisexec totem v1 packet key", authkey)`
//! * `subkey = BLAKE3.derive_key("aisexec totem v1 sender subkey",
//!    master || node_id_be32 || boot_id_be64)`
//! * `nonce (96 bit) = 0x00000000 || counter_be64`
//! * AEAD: ChaCha20-Poly1305 as in RFC 8439 (the `ring` crate's
//!   implementation, checked in the tests against the RFC's vector and
//!   against an independent implementation, byte for byte)
//!
//! Why a nonce never repeats for a key: every key is specific to one sender
//! process — its node id *and* a 64-bit boot id drawn from the kernel CSPRNG
//! when the process starts ([`random_boot_id`]). Within one process the
//! counter only increases (sealing refuses to wrap at `u64::MAX`), so that
//! process never reuses a nonce. A restarted process draws a new boot id and
//! therefore uses a different key, even though its counter restarts at 0;
//! two processes share a key only if they have the same node id and draw
//! the same 64-bit boot id (probability 2^-64 per pair, and both must also
//! share the authkey). Misconfigured duplicate node ids are covered by the
//! same argument. The node id and boot id are inputs of the key and part of
//! the authenticated header, so a forged sender field only yields a packet
//! that fails to open.
//!
//! # Replays
//!
//! A sealed packet is accepted at most once: each (node id, boot id) has a
//! sliding window of [`REPLAY_WINDOW`] counters; a counter already seen, or
//! older than the window, is rejected with [`OpenError::Replay`]. The window
//! is updated only after a packet authenticates, so forged packets cannot
//! poison it. The window is wide (16384 packets) because a sender's
//! multicast and unicast packets arrive on different sockets and may be read
//! out of order; a packet dropped as too old is simply lost, and Totem
//! recovers losses by retransmission. The state is bounded
//! ([`PEER_CACHE`] senders, least recently used evicted); a replay that gets
//! past it (after eviction, or right after the receiver itself restarted) is
//! still harmless: Totem discards messages whose ring id is not the current
//! one, messages whose sequence number it already has, and tokens whose
//! token sequence is not newer than the last, so a replayed packet changes
//! nothing. Plain mode has no replay check (it has no authenticity at all).

#![forbid(unsafe_code)]

use crate::crc32c::crc32c;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, Tag, UnboundKey};
use std::fmt;

/// First two bytes of every frame.
pub const MAGIC: [u8; 2] = [0xA1, 0x5E];
/// Frame format version carried in byte 2.
pub const VERSION: u8 = 1;
/// Format tag of a sealed frame.
pub const TAG_SEALED: u8 = b'S';
/// Format tag of a plain frame (CRC-32C trailer).
pub const TAG_PLAIN: u8 = b'C';
/// Format tag of the plain frames of earlier versions (BLAKE3 checksum
/// trailer); recognised only to name it in the error.
pub const TAG_PLAIN_BLAKE3: u8 = b'P';
/// Clear header length.
pub const HEADER_LEN: usize = 24;
/// Trailer (Poly1305 tag, or CRC and padding) length.
pub const TRAILER_LEN: usize = 16;
/// Bytes of the CRC-32C at the start of a plain trailer.
const CRC_LEN: usize = 4;
/// Bytes a frame adds to its payload, in both modes.
pub const OVERHEAD: usize = HEADER_LEN + TRAILER_LEN;
/// Replay window width in packets, per sender process.
pub const REPLAY_WINDOW: u64 = 16384;
/// Number of sender processes whose subkey and replay window are kept.
pub const PEER_CACHE: usize = 64;
/// Shortest accepted authkey. `ais-keygen` writes 128 bytes.
pub const MIN_AUTHKEY_LEN: usize = 16;

/// BLAKE3 context for the master packet key (names the protocol version).
pub const CONTEXT_MASTER: &str = "aisexec totem v1 packet key";
/// BLAKE3 context for a per-sender subkey.
pub const CONTEXT_SENDER: &str = "aisexec totem v1 sender subkey";

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
    /// Sealed: authentication failed (wrong key, tampering, corruption).
    /// Plain: CRC or padding mismatch. Logged as `Invalid digest`.
    InvalidDigest,
    /// Sealed: counter already seen or older than the replay window.
    Replay,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Truncated { len } => write!(f, "truncated frame ({len} bytes)"),
            OpenError::BadMagic => f.write_str("not an aisexec frame"),
            OpenError::BadVersion(v) => write!(f, "unsupported frame version {v}"),
            OpenError::ModeMismatch { ours, theirs } => {
                write!(f, "secauth mismatch: we are {ours:?}, packet is {theirs:?}")
            }
            OpenError::UnknownFormat(TAG_PLAIN_BLAKE3) => {
                f.write_str("plain frame of an older aisexec (BLAKE3 checksum, tag 0x50): upgrade every node")
            }
            OpenError::UnknownFormat(t) => write!(f, "unknown frame format tag {t:#04x}"),
            OpenError::InvalidDigest => f.write_str("Invalid digest"),
            OpenError::Replay => f.write_str("replayed packet"),
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
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("packet counter exhausted")
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
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::TooShort { len } => {
                write!(f, "authkey is {len} bytes, at least {MIN_AUTHKEY_LEN} required")
            }
            KeyError::Refused => f.write_str("the ChaCha20-Poly1305 key was refused"),
        }
    }
}
impl std::error::Error for KeyError {}

/// The clear header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub mode: Mode,
    pub node_id: NodeId,
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
        h[8..16].copy_from_slice(&self.boot_id.to_be_bytes());
        h[16..24].copy_from_slice(&self.counter.to_be_bytes());
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
        Ok(Header { mode: theirs, node_id: be32(4..8), boot_id: be64(8..16), counter: be64(16..24) })
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

/// `BLAKE3.derive_key(CONTEXT_MASTER, authkey)`.
pub fn master_key(authkey: &[u8]) -> [u8; 32] {
    blake3::derive_key(CONTEXT_MASTER, authkey)
}

/// The key of one sender process (see the module doc).
pub fn sender_key(master: &[u8; 32], node_id: NodeId, boot_id: u64) -> [u8; 32] {
    let mut material = [0u8; 44];
    material[..32].copy_from_slice(master);
    material[32..36].copy_from_slice(&node_id.to_be_bytes());
    material[36..44].copy_from_slice(&boot_id.to_be_bytes());
    blake3::derive_key(CONTEXT_SENDER, &material)
}

/// The 96-bit nonce for `counter`.
pub fn nonce_bytes(counter: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_be_bytes());
    n
}

/// The ChaCha20-Poly1305 key for a derived 32-byte key.
fn aead_key(key: &[u8; 32]) -> Option<LessSafeKey> {
    UnboundKey::new(&CHACHA20_POLY1305, key).ok().map(LessSafeKey::new)
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

struct Peer {
    node_id: NodeId,
    boot_id: u64,
    cipher: LessSafeKey,
    window: ReplayWindow,
    last_used: u64,
}

enum Keys {
    Plain,
    Sealed { master: [u8; 32], own: Box<LessSafeKey>, peers: Vec<Peer>, tick: u64 },
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
        let own = Box::new(aead_key(&sender_key(&master, node_id, boot_id)).ok_or(KeyError::Refused)?);
        Ok(PacketCodec { node_id, boot_id, counter: 0, keys: Keys::Sealed { master, own, peers: Vec::new(), tick: 0 } })
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

    /// Seals `payload` into `out` (cleared first). `out.len()` is then
    /// `payload.len() + OVERHEAD`. Size limits are the transport's job.
    pub fn seal_into(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        let counter = self.counter;
        self.counter = counter.checked_add(1).ok_or(SealError::CounterExhausted)?;
        let header = Header { mode: self.mode(), node_id: self.node_id, boot_id: self.boot_id, counter }.encode();
        out.clear();
        out.reserve(payload.len() + OVERHEAD);
        out.extend_from_slice(&header);
        out.extend_from_slice(payload);
        match &self.keys {
            Keys::Plain => {
                let trailer = plain_trailer(out);
                out.extend_from_slice(&trailer);
            }
            Keys::Sealed { own, .. } => {
                let nonce = Nonce::assume_unique_for_key(nonce_bytes(counter));
                let (aad, body) = out.split_at_mut(HEADER_LEN);
                // Encryption of a slice cannot fail except for lengths
                // beyond 2^38 bytes, far above any UDP datagram.
                let tag = own
                    .seal_in_place_separate_tag(nonce, Aad::from(&*aad), body)
                    .map_err(|_| SealError::CounterExhausted)?;
                out.extend_from_slice(tag.as_ref());
            }
        }
        Ok(())
    }

    /// Seals `payload` into a new buffer.
    pub fn seal(&mut self, payload: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut v = Vec::new();
        self.seal_into(payload, &mut v)?;
        Ok(v)
    }

    /// Opens `frame` in place: on success the payload is
    /// `frame[HEADER_LEN..frame.len() - TRAILER_LEN]` (decrypted). On
    /// failure the contents of `frame` are unspecified.
    pub fn open_in_place(&mut self, frame: &mut [u8]) -> Result<Header, OpenError> {
        let header = Header::parse(frame, self.mode())?;
        let body_end = frame.len() - TRAILER_LEN;
        match &mut self.keys {
            Keys::Plain => {
                let (covered, trailer) = frame.split_at(body_end);
                // Not secret: a plain CRC only detects corruption.
                if trailer != plain_trailer(covered) {
                    return Err(OpenError::InvalidDigest);
                }
                Ok(header)
            }
            Keys::Sealed { master, peers, tick, .. } => {
                *tick += 1;
                let idx = peers.iter().position(|p| p.node_id == header.node_id && p.boot_id == header.boot_id);
                if let Some(i) = idx
                    && !peers[i].window.fresh(header.counter)
                {
                    return Err(OpenError::Replay);
                }
                let (aad, rest) = frame.split_at_mut(HEADER_LEN);
                let (body, tag) = rest.split_at_mut(body_end - HEADER_LEN);
                let nonce = Nonce::assume_unique_for_key(nonce_bytes(header.counter));
                let tag = Tag::try_from(&*tag).map_err(|_| OpenError::InvalidDigest)?;
                let aad = Aad::from(&*aad);
                match idx {
                    Some(i) => {
                        let p = &mut peers[i];
                        p.cipher
                            .open_in_place_separate_tag(nonce, aad, tag, body, 0..)
                            .map_err(|_| OpenError::InvalidDigest)?;
                        p.window.mark(header.counter);
                        p.last_used = *tick;
                    }
                    None => {
                        let key = sender_key(master, header.node_id, header.boot_id);
                        let cipher = aead_key(&key).ok_or(OpenError::InvalidDigest)?;
                        cipher
                            .open_in_place_separate_tag(nonce, aad, tag, body, 0..)
                            .map_err(|_| OpenError::InvalidDigest)?;
                        // Authenticated: remember this sender process.
                        if peers.len() >= PEER_CACHE
                            && let Some(lru) = (0..peers.len()).min_by_key(|&i| peers[i].last_used)
                        {
                            peers.swap_remove(lru);
                        }
                        peers.push(Peer {
                            node_id: header.node_id,
                            boot_id: header.boot_id,
                            cipher,
                            window: ReplayWindow::new(header.counter),
                            last_used: *tick,
                        });
                    }
                }
                Ok(header)
            }
        }
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

    /// Small deterministic PRNG (xorshift64*), seeded per test.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

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
            assert_eq!(o.header, Header { mode: Mode::Sealed, node_id: 1, boot_id: 100, counter: 0 });

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
        let mut t = f.clone();
        t[2] = 2;
        assert_eq!(b.open(&t), Err(OpenError::BadVersion(2)));
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
        assert_eq!(m, blake3::derive_key("aisexec totem v1 packet key", &KEY));
        assert_ne!(m, blake3::derive_key("aisexec totem v2 packet key", &KEY));
        assert_ne!(m, blake3::derive_key(CONTEXT_SENDER, &KEY));
        assert_ne!(&m[..], &KEY[..32]);
        // subkeys differ per node id and per boot id, and from the master
        let s = sender_key(&m, 1, 1);
        assert_ne!(s, m);
        assert_ne!(s, sender_key(&m, 2, 1));
        assert_ne!(s, sender_key(&m, 1, 2));
        assert_ne!(s, sender_key(&master_key(&[0u8; 128]), 1, 1));
        // a codec keyed through the "v2" context cannot open v1 packets
        let mut a = sealed(1, 1);
        let f = a.seal(b"ctx").unwrap();
        let v2 = blake3::derive_key("aisexec totem v2 packet key", &KEY);
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
        let k = aead_key(&key).unwrap();
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
        let mut rng = Rng(0x0C0D_EC00);
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
            let header = Header { mode: Mode::Sealed, node_id: 9, boot_id: 0xB007, counter }.encode();
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
        t[8..16].copy_from_slice(&5u64.to_be_bytes());
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

    #[test]
    fn replay_window_randomised_against_model() {
        let mut rng = Rng(0x5EED_0001);
        let mut w = ReplayWindow::new(0);
        let mut seen: HashSet<u64> = HashSet::from([0]);
        let mut top = 0u64;
        for _ in 0..20_000 {
            let c = match rng.below(4) {
                0 => top + 1 + rng.below(50) as u64,
                1 => top.saturating_sub(rng.below(2 * REPLAY_WINDOW as usize) as u64),
                2 => top + rng.below(3 * REPLAY_WINDOW as usize) as u64,
                _ => top.saturating_sub(rng.below(20) as u64),
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
            Keys::Sealed { peers, .. } => assert_eq!(peers.len(), PEER_CACHE),
            Keys::Plain => unreachable!(),
        }
    }

    /// Seeded random and mutated input: open() never panics, and nothing
    /// but an untouched, unseen frame ever opens. Set AIS_NET_FUZZ_ITERS
    /// for a longer run.
    #[test]
    fn open_never_panics_on_random_or_mutated_input() {
        let iters: usize = std::env::var("AIS_NET_FUZZ_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(6_000);
        let mut rng = Rng(0xA15E_F022);
        let mut tx = [sealed(1, 1), PacketCodec::plain(1, 1)];
        let mut rx = [sealed(2, 2), PacketCodec::plain(2, 2)];
        for it in 0..iters {
            let m = it % 2;
            let n = rng.below(1500);
            let mut orig = None;
            let input = match rng.below(4) {
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
                    let mutations = 1 + rng.below(4);
                    for _ in 0..mutations {
                        match rng.below(4) {
                            0 if !f.is_empty() => {
                                let i = rng.below(f.len());
                                f[i] ^= 1 + rng.below(255) as u8;
                            }
                            1 => f.truncate(rng.below(f.len() + 1)),
                            2 => {
                                let i = rng.below(f.len() + 1);
                                f.insert(i, rng.next() as u8);
                            }
                            _ if !f.is_empty() => {
                                let i = rng.below(f.len());
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
