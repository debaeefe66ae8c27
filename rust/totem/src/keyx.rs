//! The ring key exchange: every ring gets a fresh secret that only its
//! members hold, agreed while the commit token goes round, so a ring's
//! traffic is sealed with a key no later leak of the authkey reveals.
//!
//! Owns: this node's ephemeral X25519 key of a membership round and of a
//! rekey, the ephemeral public keys heard in that round's joins (or from
//! our successor in a rekey), the random source (seeded by the caller,
//! ratcheted forward at every draw), wrapping and unwrapping the ring and
//! rekey secrets, and the ring keys in use.
//!
//! Must not: do I/O, read a clock or an RNG of its own (the caller seeds
//! it: the simulator replays a run from its seed), or keep a secret longer
//! than its use: an ephemeral secret lives for one round (or one node's
//! step of a rekey), a ring secret until its ring is replaced, a rekey
//! secret until its key is derived; all are erased when dropped.
//!
//! # Protocol (the argument for each property is in `rust/net/CRYPTO.md`)
//!
//! 1. Entering gather, a node draws a fresh ephemeral key pair `(e, E)` and
//!    puts `E` in every join of that round; nodes remember the `E` of every
//!    join they receive in the round.
//! 2. The representative, at consensus, draws a 32-byte ring secret `S` and
//!    writes into the commit token `check = H("kx check", S || ring)[..8]`,
//!    `from = E_rep`, `wrap = S xor H("kx wrap", X25519(e_rep, E_next) ||
//!    ring || E_rep || E_next)` for the next member.
//! 3. In the first rotation each member unwraps `S` with `X25519(e_self,
//!    from)` and its own `E`, checks `check` (else it ignores the commit:
//!    a replayed or stale one), and wraps `S` again for its successor (the
//!    last member for the representative).
//! 4. When the token comes back, the representative unwraps it the same
//!    way and compares with `S`: every hop worked (key confirmation).
//! 5. `K = H("ring key", S || ring)`. A member hands `K` to its transport
//!    when it enters recovery on the new ring (the first frames under `K`),
//!    and the old ring's key is dropped when the new ring is installed
//!    ([`crate::Event::RingKeys`]). A new round (gather again) drops the
//!    ephemeral secret and the key of a ring that was not installed.
//!
//! 6. Rekeying an installed ring (no membership change; `srp/rekey.rs`
//!    says when and carries the messages): a fresh exchange like steps
//!    1-4, on the ring itself. The representative announces a rekey in the
//!    token; each member draws a fresh ephemeral pair `(e', E')` at its
//!    visit and sends `E'` to its predecessor (under the ring key). In the
//!    next rotation the representative draws a fresh secret `S'` and it
//!    goes round the token wrapped hop by hop exactly as `S` did (same
//!    `check`, `wrap`, `from`); each member erases `e'` once it has
//!    unwrapped and wrapped again, and derives the next epoch's key
//!    `K' = H("ring key rekey", S' || K || ring)`, held as "next". When
//!    `S'` comes back intact the representative erases its `e'` and flips
//!    the key phase: each member switches to `K'` at its visit. A member
//!    holds its current key, the next one (members ahead of it in the
//!    token's rotation already send under it) and, for one rotation after
//!    a switch, the previous one; then that is erased. Without `e'` (or
//!    `S'`) there is no `K'`, and `K` cannot be computed from `K'`.
//!
//! `H` is BLAKE3 `derive_key` with the context `"aisexec totem v2 " + name`;
//! `ring` is the ring id (representative u32, sequence u64, little endian).
//! The commit token and the joins travel under the authkey, which
//! authenticates the exchange.

use std::collections::BTreeMap;
use std::fmt;

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::RingId;
use crate::wire::CommitKx;

const CONTEXT_RANDOM_OUT: &str = "aisexec totem v2 kx random output";
const CONTEXT_RANDOM_NEXT: &str = "aisexec totem v2 kx random ratchet";
const CONTEXT_WRAP: &str = "aisexec totem v2 kx wrap";
const CONTEXT_CHECK: &str = "aisexec totem v2 kx check";
const CONTEXT_RING: &str = "aisexec totem v2 ring key";
const CONTEXT_REKEY: &str = "aisexec totem v2 ring key rekey";

/// The keys the transport holds, in the order of [`KeyExchange::keys`].
pub(crate) type KeySet = Vec<(RingId, RingKey)>;

/// A ring's 32-byte session secret. Erased when dropped; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RingKey(Zeroizing<[u8; 32]>);

impl RingKey {
    /// The secret, for the transport's key derivation.
    pub fn secret(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for RingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RingKey(..)")
    }
}

/// Random bytes from a caller's seed; each draw replaces the state, so an
/// earlier output cannot be computed from a later state.
struct Random(Zeroizing<[u8; 32]>);

impl Random {
    fn next(&mut self) -> Zeroizing<[u8; 32]> {
        let out = Zeroizing::new(blake3::derive_key(CONTEXT_RANDOM_OUT, &*self.0));
        *self.0 = blake3::derive_key(CONTEXT_RANDOM_NEXT, &*self.0);
        out
    }
}

fn ring_bytes(r: RingId) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[..4].copy_from_slice(&r.rep.to_le_bytes());
    b[4..].copy_from_slice(&r.seq.to_le_bytes());
    b
}

/// `H(context, secret || ring)`.
fn derive(context: &str, secret: &[u8; 32], ring: RingId) -> Zeroizing<[u8; 32]> {
    let mut m = Zeroizing::new([0u8; 44]);
    m[..32].copy_from_slice(secret);
    m[32..].copy_from_slice(&ring_bytes(ring));
    Zeroizing::new(blake3::derive_key(context, &*m))
}

fn check_of(secret: &[u8; 32], ring: RingId) -> [u8; 8] {
    let h = derive(CONTEXT_CHECK, secret, ring);
    let mut c = [0u8; 8];
    c.copy_from_slice(&h[..8]);
    c
}

/// The pad masking the ring secret on the hop `from` -> `to`.
fn pad(shared: &[u8; 32], ring: RingId, from: &[u8; 32], to: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut m = Zeroizing::new([0u8; 108]);
    m[..32].copy_from_slice(shared);
    m[32..44].copy_from_slice(&ring_bytes(ring));
    m[44..76].copy_from_slice(from);
    m[76..].copy_from_slice(to);
    Zeroizing::new(blake3::derive_key(CONTEXT_WRAP, &*m))
}

fn xor(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

/// The ring being formed: its secret and key.
struct Forming {
    ring: RingId,
    secret: Zeroizing<[u8; 32]>,
    key: RingKey,
    announced: bool,
}

/// The installed ring's keys (step 6 of the module doc).
struct Installed {
    ring: RingId,
    /// How many times the ring moved to its next key.
    epoch: u32,
    /// Seals now.
    key: RingKey,
    /// The previous epoch's, until every member has switched.
    previous: Option<RingKey>,
    /// The next epoch's once a rekey's secret reached us: opens what
    /// members that switched first send.
    next: Option<RingKey>,
}

/// `K' = H("ring key rekey", S' || K || ring)`: the key after `key` on
/// `ring` with the rekey secret `secret`.
fn rekeyed(secret: &[u8; 32], key: &RingKey, ring: RingId) -> RingKey {
    let mut m = Zeroizing::new([0u8; 76]);
    m[..32].copy_from_slice(secret);
    m[32..64].copy_from_slice(key.secret());
    m[64..].copy_from_slice(&ring_bytes(ring));
    RingKey(Zeroizing::new(blake3::derive_key(CONTEXT_REKEY, &*m)))
}

/// This node's side of a rekey in progress on the installed ring.
struct Rekey {
    /// The token rotation that announced it.
    attempt: u64,
    /// Our ephemeral pair of this rekey; erased once used.
    ephemeral: Option<(StaticSecret, [u8; 32])>,
    /// Our successor's ephemeral public key of this rekey, once heard.
    next_public: Option<[u8; 32]>,
    /// Representative: the secret it sent round, until it comes back.
    sent: Option<Zeroizing<[u8; 32]>>,
}

/// One node's side of the exchange. See the module doc.
pub(crate) struct KeyExchange {
    random: Random,
    secret: StaticSecret,
    public: [u8; 32],
    heard: BTreeMap<u32, [u8; 32]>,
    current: Option<Installed>,
    forming: Option<Forming>,
    rekey: Option<Rekey>,
}

impl KeyExchange {
    pub(crate) fn new(seed: [u8; 32]) -> KeyExchange {
        let mut random = Random(Zeroizing::new(seed));
        let secret = StaticSecret::from(*random.next());
        let public = PublicKey::from(&secret).to_bytes();
        KeyExchange { random, secret, public, heard: BTreeMap::new(), current: None, forming: None, rekey: None }
    }

    /// Our ephemeral public key of this round (goes in our joins).
    pub(crate) fn ephemeral(&self) -> [u8; 32] {
        self.public
    }

    fn fresh_ephemeral(&mut self) {
        // The old StaticSecret is erased when it is replaced (dropped).
        self.secret = StaticSecret::from(*self.random.next());
        self.public = PublicKey::from(&self.secret).to_bytes();
    }

    /// A new membership round: a fresh ephemeral key, nothing heard yet,
    /// and a ring that was being formed is given up. The new key set when
    /// that changes what the transport holds.
    pub(crate) fn new_round(&mut self) -> Option<Vec<(RingId, RingKey)>> {
        self.fresh_ephemeral();
        self.heard.clear();
        self.rekey = None;
        let announced = self.forming.take().is_some_and(|f| f.announced);
        announced.then(|| self.keys())
    }

    /// `node`'s join of this round carried `ephemeral`.
    pub(crate) fn heard(&mut self, node: u32, ephemeral: [u8; 32]) {
        self.heard.insert(node, ephemeral);
    }

    /// X25519 with a peer's public key; `None` for a key that makes no
    /// contribution (a low-order point: the result would be known to all).
    fn shared(&self, peer: &[u8; 32]) -> Option<Zeroizing<[u8; 32]>> {
        let s = self.secret.diffie_hellman(&PublicKey::from(*peer));
        s.was_contributory().then(|| Zeroizing::new(s.to_bytes()))
    }

    /// `secret` wrapped for `next` (by the ephemeral key heard from it).
    fn wrap_for(&self, next: u32, ring: RingId, secret: &[u8; 32], check: [u8; 8]) -> Option<CommitKx> {
        let to = self.heard.get(&next)?;
        let shared = self.shared(to)?;
        let wrap = xor(secret, &pad(&shared, ring, &self.public, to));
        Some(CommitKx { from: self.public, wrap, check })
    }

    /// The secret a commit token carries for us, if it checks.
    fn unwrap(&self, ring: RingId, kx: &CommitKx) -> Option<Zeroizing<[u8; 32]>> {
        let shared = self.shared(&kx.from)?;
        let secret = Zeroizing::new(xor(&kx.wrap, &pad(&shared, ring, &kx.from, &self.public)));
        (check_of(&secret, ring) == kx.check).then_some(secret)
    }

    fn form(&mut self, ring: RingId, secret: Zeroizing<[u8; 32]>) {
        let key = RingKey(derive(CONTEXT_RING, &secret, ring));
        self.forming = Some(Forming { ring, secret, key, announced: false });
    }

    /// Representative: the key exchange part of a new commit token, for
    /// the member after us (`None`: a ring of one). `None` when we heard
    /// no usable ephemeral key from that member this round.
    pub(crate) fn start(&mut self, ring: RingId, next: Option<u32>) -> Option<CommitKx> {
        let secret = self.random.next();
        let check = check_of(&secret, ring);
        let kx = match next {
            Some(n) => self.wrap_for(n, ring, &secret, check)?,
            None => CommitKx { from: self.public, wrap: [0; 32], check },
        };
        self.form(ring, secret);
        Some(kx)
    }

    /// A member in the commit token's first rotation: the part to forward
    /// to `next`, or `None` if the secret does not unwrap and check (a
    /// replayed or stale commit, or a wrong ephemeral key).
    pub(crate) fn accept(&mut self, ring: RingId, kx: &CommitKx, next: u32) -> Option<CommitKx> {
        let secret = self.unwrap(ring, kx)?;
        let out = self.wrap_for(next, ring, &secret, kx.check)?;
        self.form(ring, secret);
        Some(out)
    }

    /// The representative when its commit token is back: true if the
    /// secret came round intact (for a ring of one, if it is ours).
    pub(crate) fn confirm(&self, ring: RingId, kx: &CommitKx, alone: bool) -> bool {
        let Some(f) = self.forming.as_ref().filter(|f| f.ring == ring) else { return false };
        if alone {
            return kx.from == self.public && kx.check == check_of(&f.secret, ring);
        }
        self.unwrap(ring, kx).is_some_and(|s| *s == *f.secret)
    }

    /// Entering recovery on `ring`: the keys the transport needs from now
    /// on (the installed ring's and this one's), if we hold this ring's.
    pub(crate) fn enter_recovery(&mut self, ring: RingId) -> Option<Vec<(RingId, RingKey)>> {
        let f = self.forming.as_mut().filter(|f| f.ring == ring)?;
        f.announced = true;
        Some(self.keys())
    }

    /// `ring` is installed: its key becomes the only one; the previous
    /// ring's key, the ring secret and this round's ephemeral secret are
    /// erased. The new key set.
    pub(crate) fn install(&mut self, ring: RingId) -> Vec<(RingId, RingKey)> {
        self.current = self.forming.take().filter(|f| f.ring == ring).map(|f| Installed {
            ring,
            epoch: 0,
            next: None,
            key: f.key,
            previous: None,
        });
        self.rekey = None;
        self.fresh_ephemeral();
        self.keys()
    }

    /// The installed ring's key epoch (0 before any rekey).
    pub(crate) fn epoch(&self) -> u32 {
        self.current.as_ref().map_or(0, |c| c.epoch)
    }

    /// Moves the installed ring `ring` to its next key: it seals from now
    /// on, the current one is kept as the previous (a previous one still
    /// held is erased). The new key set, or `None` without that ring or
    /// without a next key (no rekey secret reached us).
    pub(crate) fn advance(&mut self, ring: RingId) -> Option<Vec<(RingId, RingKey)>> {
        let c = self.current.as_mut().filter(|c| c.ring == ring)?;
        let key = c.next.take()?;
        c.previous = Some(std::mem::replace(&mut c.key, key));
        c.epoch = c.epoch.wrapping_add(1);
        Some(self.keys())
    }

    /// A rekey of the installed ring `ring` announced in rotation
    /// `attempt`: a fresh ephemeral pair (one of an earlier attempt is
    /// erased). Our public key, for our predecessor; `None` without that
    /// ring.
    pub(crate) fn rekey_announce(&mut self, ring: RingId, attempt: u64) -> Option<[u8; 32]> {
        self.current.as_ref().filter(|c| c.ring == ring)?;
        let secret = StaticSecret::from(*self.random.next());
        let public = PublicKey::from(&secret).to_bytes();
        let next_public = self.rekey.take().filter(|r| r.attempt == attempt).and_then(|r| r.next_public);
        self.rekey = Some(Rekey { attempt, ephemeral: Some((secret, public)), next_public, sent: None });
        Some(public)
    }

    /// Our successor's public key for the rekey announced in `attempt`
    /// (it may come before we see the announcement ourselves).
    pub(crate) fn rekey_heard(&mut self, attempt: u64, public: [u8; 32]) {
        match &mut self.rekey {
            Some(r) if r.attempt == attempt => r.next_public = Some(public),
            Some(r) if r.attempt > attempt => {}
            _ => self.rekey = Some(Rekey { attempt, ephemeral: None, next_public: Some(public), sent: None }),
        }
    }

    /// Our rekey state for `attempt`, with our ephemeral pair still held.
    fn rekey_of(&self, attempt: u64) -> Option<(&Rekey, &StaticSecret, &[u8; 32])> {
        let r = self.rekey.as_ref().filter(|r| r.attempt == attempt)?;
        let (secret, public) = r.ephemeral.as_ref()?;
        Some((r, secret, public))
    }

    /// `secret` wrapped from our rekey ephemeral key for our successor.
    fn rekey_wrap(&self, ring: RingId, attempt: u64, secret: &[u8; 32], check: [u8; 8]) -> Option<CommitKx> {
        let (r, e, public) = self.rekey_of(attempt)?;
        let to = r.next_public?;
        let shared = e.diffie_hellman(&PublicKey::from(to));
        let shared = shared.was_contributory().then(|| Zeroizing::new(shared.to_bytes()))?;
        Some(CommitKx { from: *public, wrap: xor(secret, &pad(&shared, ring, public, &to)), check })
    }

    /// The secret `kx` carries for our rekey ephemeral key, if it checks.
    fn rekey_unwrap(&self, ring: RingId, attempt: u64, kx: &CommitKx) -> Option<Zeroizing<[u8; 32]>> {
        let (_, e, public) = self.rekey_of(attempt)?;
        let shared = e.diffie_hellman(&PublicKey::from(kx.from));
        let shared = shared.was_contributory().then(|| Zeroizing::new(shared.to_bytes()))?;
        let secret = Zeroizing::new(xor(&kx.wrap, &pad(&shared, ring, &kx.from, public)));
        (check_of(&secret, ring) == kx.check).then_some(secret)
    }

    /// Holds `K'` from the rekey secret as the installed ring's next key;
    /// the new key set.
    fn stage(&mut self, secret: &[u8; 32]) -> Option<KeySet> {
        let c = self.current.as_mut()?;
        c.next = Some(rekeyed(secret, &c.key, c.ring));
        Some(self.keys())
    }

    /// Representative: the rekey secret of `attempt` wrapped for our
    /// successor, or (`alone`) a fresh secret staged at once. `None` if we
    /// did not hear our successor's key (the rekey is tried again later).
    pub(crate) fn rekey_start(
        &mut self,
        ring: RingId,
        attempt: u64,
        alone: bool,
    ) -> Option<(Option<CommitKx>, KeySet)> {
        self.current.as_ref().filter(|c| c.ring == ring)?;
        let secret = self.random.next();
        if alone {
            self.rekey = None;
            return Some((None, self.stage(&secret)?));
        }
        let kx = self.rekey_wrap(ring, attempt, &secret, check_of(&secret, ring))?;
        let keys = self.stage(&secret)?;
        self.rekey.as_mut()?.sent = Some(secret);
        Some((Some(kx), keys))
    }

    /// A member in a rekey's wrap rotation: the part to forward, and the
    /// new key set (`K'` held as next); our ephemeral secret is erased
    /// either way. `None` if the secret does not unwrap and check or we
    /// did not hear our successor's key.
    pub(crate) fn rekey_accept(&mut self, ring: RingId, attempt: u64, kx: &CommitKx) -> Option<(CommitKx, KeySet)> {
        self.current.as_ref().filter(|c| c.ring == ring)?;
        let out = self
            .rekey_unwrap(ring, attempt, kx)
            .and_then(|secret| Some((self.rekey_wrap(ring, attempt, &secret, kx.check)?, secret)));
        self.rekey = None;
        let (out, secret) = out?;
        Some((out, self.stage(&secret)?))
    }

    /// Representative, when the wrap rotation is back: true if the secret
    /// came round intact (every member holds `K'`). Our ephemeral secret
    /// and the secret are erased either way.
    pub(crate) fn rekey_confirm(&mut self, ring: RingId, attempt: u64, kx: &CommitKx) -> bool {
        let ok = self.current.as_ref().is_some_and(|c| c.ring == ring)
            && self
                .rekey_unwrap(ring, attempt, kx)
                .is_some_and(|s| self.rekey.as_ref().and_then(|r| r.sent.as_ref()).is_some_and(|sent| **sent == *s));
        self.rekey = None;
        ok
    }

    /// Whether an ephemeral secret of a rekey is still held.
    #[cfg(test)]
    pub(crate) fn holds_rekey_secret(&self) -> bool {
        self.rekey.as_ref().is_some_and(|r| r.ephemeral.is_some() || r.sent.is_some())
    }

    /// Every member of `ring` has switched: erase the previous key. The
    /// new key set, or `None` if there was nothing to erase.
    pub(crate) fn retire_previous(&mut self, ring: RingId) -> Option<Vec<(RingId, RingKey)>> {
        self.current.as_mut().filter(|c| c.ring == ring)?.previous.take()?;
        Some(self.keys())
    }

    /// The keys in use: the installed ring's (the one that seals first,
    /// then the previous and the next), and the forming ring's once
    /// announced. At most four: what the transport holds.
    pub(crate) fn keys(&self) -> Vec<(RingId, RingKey)> {
        let mut keys = Vec::with_capacity(4);
        if let Some(c) = &self.current {
            keys.push((c.ring, c.key.clone()));
            keys.extend(c.previous.iter().map(|k| (c.ring, k.clone())));
            keys.extend(c.next.iter().map(|k| (c.ring, k.clone())));
        }
        keys.extend(self.forming.iter().filter(|f| f.announced).map(|f| (f.ring, f.key.clone())));
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RING: RingId = RingId { rep: 1, seq: 8 };

    /// Nodes 1..=n after one gather round in which every join arrived.
    fn round(n: u32) -> Vec<KeyExchange> {
        let mut kx: Vec<KeyExchange> = (1..=n).map(|i| KeyExchange::new([i as u8; 32])).collect();
        let pubs: Vec<[u8; 32]> = kx.iter().map(|k| k.ephemeral()).collect();
        for k in kx.iter_mut() {
            for (i, p) in pubs.iter().enumerate() {
                k.heard(i as u32 + 1, *p);
            }
        }
        kx
    }

    /// One commit rotation: what the representative gets back.
    fn rotate(kx: &mut [KeyExchange], ring: RingId) -> CommitKx {
        let n = kx.len() as u32;
        let mut c = kx[0].start(ring, (n > 1).then_some(2)).unwrap();
        for (i, k) in kx.iter_mut().enumerate().skip(1) {
            let next = (i as u32 + 1) % n + 1;
            c = k.accept(ring, &c, next).unwrap();
        }
        c
    }

    #[test]
    fn every_member_derives_the_same_fresh_key() {
        for n in [1u32, 2, 5] {
            let mut kx = round(n);
            let back = rotate(&mut kx, RING);
            assert!(kx[0].confirm(RING, &back, n == 1));
            let keys: Vec<Vec<(RingId, RingKey)>> = kx.iter_mut().map(|k| k.enter_recovery(RING).unwrap()).collect();
            assert!(keys.iter().all(|k| k.len() == 1 && k[0] == keys[0][0]), "n = {n}");
            let installed: Vec<_> = kx.iter_mut().map(|k| k.install(RING)).collect();
            // the ring's key seals, and is the only one until a rekey
            assert!(installed.iter().all(|k| k.len() == 1 && k[0] == keys[0][0]));
            // the next ring of the same members gets another key; the old
            // one stays until that ring is installed
            for k in kx.iter_mut() {
                assert_eq!(k.new_round(), None);
            }
            let pubs: Vec<[u8; 32]> = kx.iter().map(|k| k.ephemeral()).collect();
            for k in kx.iter_mut() {
                pubs.iter().enumerate().for_each(|(i, p)| k.heard(i as u32 + 1, *p));
            }
            let next = RingId { rep: 1, seq: 12 };
            rotate(&mut kx, next);
            let both = kx[0].enter_recovery(next).unwrap();
            assert_eq!(both.len(), 2);
            assert_eq!(both[0], keys[0][0]);
            assert_ne!(both[1].1, keys[0][0].1, "a new ring has a new key");
            assert_eq!(both[1].0, next);
            let after = kx[0].install(next);
            assert_eq!(after[0], both[1]);
            assert!(after.iter().all(|(r, k)| *r == next && *k != keys[0][0].1), "the old ring's keys are gone");
        }
    }

    /// Nodes 1..=n with `RING` installed.
    fn installed(n: u32) -> Vec<KeyExchange> {
        let mut kx = round(n);
        rotate(&mut kx, RING);
        kx.iter_mut().for_each(|k| {
            k.enter_recovery(RING).unwrap();
            k.install(RING);
        });
        kx
    }

    /// One rekey of nodes 1..=n announced in rotation `attempt`: each
    /// hears its successor's key, the secret goes round. What comes back
    /// to the representative, and every member's new key set.
    fn rekey_round(kx: &mut [KeyExchange], attempt: u64) -> (CommitKx, Vec<Vec<(RingId, RingKey)>>) {
        let n = kx.len();
        let pubs: Vec<[u8; 32]> = kx.iter_mut().map(|k| k.rekey_announce(RING, attempt).unwrap()).collect();
        for (i, k) in kx.iter_mut().enumerate() {
            k.rekey_heard(attempt, pubs[(i + 1) % n]);
        }
        let (part, keys0) = kx[0].rekey_start(RING, attempt, false).unwrap();
        let mut part = part.unwrap();
        let mut keys = vec![keys0];
        for k in kx.iter_mut().skip(1) {
            let (out, ks) = k.rekey_accept(RING, attempt, &part).unwrap();
            assert!(!k.holds_rekey_secret(), "a member erases its ephemeral secret once it passed the secret on");
            part = out;
            keys.push(ks);
        }
        (part, keys)
    }

    /// Rekeying an installed ring: every member derives the same next key
    /// from a fresh exchange; the previous key stays until retired, then
    /// only the current one is held until the next exchange; no key
    /// repeats; every ephemeral secret is erased.
    #[test]
    fn rekeying_gives_every_member_the_same_fresh_key() {
        let mut kx = installed(3);
        let start = kx[0].keys();
        assert_eq!(start.len(), 1, "no next key before a rekey");
        let mut seen = vec![start[0].1.clone()];
        for epoch in 1..=5u32 {
            let (back, staged) = rekey_round(&mut kx, u64::from(epoch) * 3);
            assert!(staged.iter().all(|k| k.len() == 2 && *k == staged[0]), "epoch {epoch}: same next key everywhere");
            assert!(kx[0].holds_rekey_secret(), "the representative keeps its own until the secret is back");
            assert!(kx[0].rekey_confirm(RING, u64::from(epoch) * 3, &back));
            assert!(!kx[0].holds_rekey_secret());
            let moved: Vec<_> = kx.iter_mut().map(|k| k.advance(RING).unwrap()).collect();
            assert!(moved.iter().all(|k| *k == moved[0]));
            let m = &moved[0];
            assert_eq!(m.len(), 2);
            assert_eq!(m[0], staged[0][1], "the next key seals now");
            assert_eq!(m[1], staged[0][0], "the previous one still opens");
            assert!(!seen.contains(&m[0].1));
            seen.push(m[0].1.clone());
            assert!(kx.iter().all(|k| k.epoch() == epoch));
            let retired: Vec<_> = kx.iter_mut().map(|k| k.retire_previous(RING).unwrap()).collect();
            assert_eq!(retired[0], vec![m[0].clone()]);
            assert_eq!(kx[0].retire_previous(RING), None, "nothing left to erase");
            assert_eq!(kx[0].advance(RING), None, "no next key before the next exchange");
        }
        // another ring id: no such installed ring
        assert_eq!(kx[0].rekey_announce(RingId { rep: 1, seq: 99 }, 40), None);
    }

    /// An observer that holds the ring's current key and sees everything
    /// of a rekey (every public key, every wrapped part: all sealed only
    /// under that key) but no ephemeral secret: the next key is not a
    /// function of the current one, and the observer's own attempt to
    /// take part opens nothing.
    #[test]
    fn the_next_key_cannot_be_computed_from_the_current_one() {
        let mut a = installed(3);
        let mut b = installed(3);
        // The same ring key in both (as if copied from a member's memory),
        // but other ephemeral randomness in the rekey.
        for (x, y) in a.iter_mut().zip(b.iter_mut()) {
            let key = x.keys()[0].1.clone();
            y.current.as_mut().unwrap().key = key;
            y.random = Random(Zeroizing::new([0x5a ^ y.public[0]; 32]));
        }
        assert_eq!(a[0].keys(), b[0].keys());
        let (back_a, staged_a) = rekey_round(&mut a, 6);
        let (_, staged_b) = rekey_round(&mut b, 6);
        assert_ne!(staged_a[0][1], staged_b[0][1], "same K, different exchange: different K'");
        // The old ratchet's key (H(K || ring) only) is not it either.
        let key = &a[0].keys()[0].1;
        let ratchet = RingKey(derive("aisexec totem v2 ring key ratchet", key.secret(), RING));
        assert!(staged_a.iter().all(|k| k[1].1 != ratchet && k[1].1 != *key));
        // The observer: holds K, heard the successor's key, reads the part
        // member 2 received, but its own ephemeral key is not the one it
        // was wrapped for.
        let mut observer = KeyExchange::new([0x77; 32]);
        observer.current = Some(Installed { ring: RING, epoch: 0, key: key.clone(), previous: None, next: None });
        observer.rekey_announce(RING, 6).unwrap();
        observer.rekey_heard(6, [9; 32]);
        assert!(observer.rekey_accept(RING, 6, &back_a).is_none());
        assert!(!observer.holds_rekey_secret());
        assert_eq!(observer.keys().len(), 1, "no next key for the observer");
    }

    /// A member that did not hear its successor's key (lost packet) or
    /// gets a broken part: no next key, its ephemeral secret erased; the
    /// representative's check fails and a later attempt succeeds.
    #[test]
    fn a_missed_key_fails_the_attempt_and_the_next_one_succeeds() {
        let mut kx = installed(3);
        let pubs: Vec<[u8; 32]> = kx.iter_mut().map(|k| k.rekey_announce(RING, 2).unwrap()).collect();
        kx[0].rekey_heard(2, pubs[1]);
        kx[2].rekey_heard(2, pubs[0]);
        // node 2 never heard node 3's key
        let (part, _) = kx[0].rekey_start(RING, 2, false).unwrap();
        assert!(kx[1].rekey_accept(RING, 2, &part.unwrap()).is_none());
        assert!(!kx[1].holds_rekey_secret());
        assert_eq!(kx[1].keys().len(), 1);
        // what node 2 sends on instead: node 3 cannot use it, nor can the representative
        assert!(kx[2].rekey_accept(RING, 2, &CommitKx::default()).is_none());
        assert!(!kx[2].holds_rekey_secret());
        assert!(!kx[0].rekey_confirm(RING, 2, &CommitKx::default()));
        assert!(!kx[0].holds_rekey_secret());
        // the representative without its successor's key does not start
        kx[0].rekey_announce(RING, 3).unwrap();
        assert!(kx[0].rekey_start(RING, 3, false).is_none());
        // a key of an older attempt is not used for a newer one
        kx[0].rekey_heard(2, pubs[1]);
        assert!(kx[0].rekey_start(RING, 3, false).is_none());
        // the next attempt succeeds
        let (back, staged) = rekey_round(&mut kx, 5);
        assert!(kx[0].rekey_confirm(RING, 5, &back));
        assert!(staged.iter().all(|k| k.len() == 2 && *k == staged[0]));
        // a ring of one rekeys alone, with a fresh secret
        let mut one = installed(1);
        let before = one[0].keys();
        let (part, keys) = one[0].rekey_start(RING, 1, true).unwrap();
        assert!(part.is_none() && keys.len() == 2 && keys[1] != before[0]);
    }

    /// A commit recorded in an earlier round (replayed to a node that has
    /// drawn a new ephemeral key since, e.g. after a restart) does not
    /// unwrap: the node ignores it and no ring forms from it.
    #[test]
    fn a_replayed_commit_does_not_unwrap() {
        let mut kx = round(3);
        let c = kx[0].start(RING, Some(2)).unwrap();
        let recorded = c.clone();
        assert!(kx[1].accept(RING, &c, 3).is_some());
        kx[1].new_round();
        let e3 = kx[2].ephemeral();
        kx[1].heard(3, e3);
        assert!(kx[1].accept(RING, &recorded, 3).is_none());
        // a fresh node with the same id (restart: another seed)
        let mut restarted = KeyExchange::new([0xEE; 32]);
        restarted.heard(3, kx[2].ephemeral());
        assert!(restarted.accept(RING, &recorded, 3).is_none());
        // the same commit for another ring id does not check either
        assert!(kx[1].accept(RingId { rep: 1, seq: 9 }, &recorded, 3).is_none());
        // a tampered wrap or check
        let mut t = recorded.clone();
        t.wrap[0] ^= 1;
        assert!(kx[2].accept(RING, &t, 1).is_none());
    }

    /// A low-order public key (all zero) makes no contribution: refused.
    #[test]
    fn non_contributory_keys_are_refused() {
        let mut kx = round(2);
        kx[0].heard(2, [0; 32]);
        assert!(kx[0].start(RING, Some(2)).is_none());
        let mut c = round(2)[0].start(RING, Some(2)).unwrap();
        c.from = [0; 32];
        assert!(kx[1].accept(RING, &c, 1).is_none());
    }

    #[test]
    fn a_round_given_up_withdraws_an_announced_key() {
        let mut kx = round(2);
        let back = rotate(&mut kx, RING);
        assert!(kx[0].confirm(RING, &back, false));
        assert_eq!(kx[0].enter_recovery(RING).map(|k| k.len()), Some(1));
        assert_eq!(kx[0].new_round(), Some(Vec::new()));
        assert!(kx[0].keys().is_empty());
        assert!(format!("{:?}", back).contains("wrap"));
        assert_eq!(format!("{:?}", RingKey(Zeroizing::new([1; 32]))), "RingKey(..)");
    }

    #[test]
    fn random_source_ratchets() {
        let mut r = Random(Zeroizing::new([5; 32]));
        let a = r.next();
        let state = *r.0;
        let b = r.next();
        assert_ne!(*a, *b);
        assert_ne!(*r.0, state, "the state moved on");
        // deterministic from the seed
        let mut again = Random(Zeroizing::new([5; 32]));
        assert_eq!(*again.next(), *a);
    }
}
