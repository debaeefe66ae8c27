//! The ring key exchange: every ring gets a fresh secret that only its
//! members hold, agreed while the commit token goes round, so a ring's
//! traffic is sealed with a key no later leak of the authkey reveals.
//!
//! Owns: this node's ephemeral X25519 key of a membership round, the
//! ephemeral public keys heard in that round's joins, the random source
//! (seeded by the caller, ratcheted forward at every draw), wrapping and
//! unwrapping the ring secret, and the ring keys in use.
//!
//! Must not: do I/O, read a clock or an RNG of its own (the caller seeds
//! it: the simulator replays a run from its seed), or keep a secret longer
//! than its use: an ephemeral secret lives for one round, a ring secret
//! until its ring is replaced; all are erased when dropped.
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
//!    says when): key epoch `n + 1` has `K' = H("ring key ratchet", K ||
//!    ring)`. A member holds its current epoch's key, the next one (members
//!    ahead of it in the token's rotation already send under it) and, for
//!    one rotation after a switch, the previous one; then that is erased.
//!    The ratchet is one way: a key read from memory opens no earlier epoch.
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
const CONTEXT_RATCHET: &str = "aisexec totem v2 ring key ratchet";

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
    /// The next epoch's: opens what members that switched first send.
    next: RingKey,
}

/// The key after `key` on `ring`.
fn ratchet(key: &RingKey, ring: RingId) -> RingKey {
    RingKey(derive(CONTEXT_RATCHET, key.secret(), ring))
}

/// One node's side of the exchange. See the module doc.
pub(crate) struct KeyExchange {
    random: Random,
    secret: StaticSecret,
    public: [u8; 32],
    heard: BTreeMap<u32, [u8; 32]>,
    current: Option<Installed>,
    forming: Option<Forming>,
}

impl KeyExchange {
    pub(crate) fn new(seed: [u8; 32]) -> KeyExchange {
        let mut random = Random(Zeroizing::new(seed));
        let secret = StaticSecret::from(*random.next());
        let public = PublicKey::from(&secret).to_bytes();
        KeyExchange { random, secret, public, heard: BTreeMap::new(), current: None, forming: None }
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
            next: ratchet(&f.key, ring),
            key: f.key,
            previous: None,
        });
        self.fresh_ephemeral();
        self.keys()
    }

    /// The installed ring's key epoch (0 before any rekey).
    pub(crate) fn epoch(&self) -> u32 {
        self.current.as_ref().map_or(0, |c| c.epoch)
    }

    /// Moves the installed ring `ring` to its next key: it seals from now
    /// on, the current one is kept as the previous (a previous one still
    /// held is erased). The new key set, or `None` without that ring.
    pub(crate) fn advance(&mut self, ring: RingId) -> Option<Vec<(RingId, RingKey)>> {
        let c = self.current.as_mut().filter(|c| c.ring == ring)?;
        let after = ratchet(&c.next, ring);
        let key = std::mem::replace(&mut c.next, after);
        c.previous = Some(std::mem::replace(&mut c.key, key));
        c.epoch = c.epoch.wrapping_add(1);
        Some(self.keys())
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
            keys.push((c.ring, c.next.clone()));
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
            // the ring's key seals (first), its next epoch's opens
            assert!(installed.iter().all(|k| k.len() == 2 && k[0] == keys[0][0] && k[1] == installed[0][1]));
            assert_ne!(installed[0][1].1, keys[0][0].1);
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
            assert_eq!(both.len(), 3);
            assert_eq!(both[0], keys[0][0]);
            assert_ne!(both[2].1, keys[0][0].1, "a new ring has a new key");
            assert_eq!(both[2].0, next);
            let after = kx[0].install(next);
            assert_eq!(after[0], both[2]);
            assert!(after.iter().all(|(r, k)| *r == next && *k != keys[0][0].1), "the old ring's keys are gone");
        }
    }

    /// Rekeying an installed ring: every member derives the same next
    /// key without any message; the previous key stays until retired, then
    /// only the current and the next are held; no key repeats.
    #[test]
    fn rekeying_ratchets_every_member_to_the_same_fresh_key() {
        let mut kx = round(3);
        rotate(&mut kx, RING);
        kx.iter_mut().for_each(|k| {
            k.enter_recovery(RING).unwrap();
        });
        let start: Vec<_> = kx.iter_mut().map(|k| k.install(RING)).collect();
        let mut seen = vec![start[0][0].1.clone()];
        let mut prev = start[0].clone();
        for epoch in 1..=5u32 {
            let moved: Vec<_> = kx.iter_mut().map(|k| k.advance(RING).unwrap()).collect();
            assert!(moved.iter().all(|k| *k == moved[0]), "epoch {epoch}: same keys everywhere");
            let m = &moved[0];
            assert_eq!(m.len(), 3);
            assert_eq!(m[0], prev[1], "the next key seals now");
            assert_eq!(m[1], prev[0], "the previous one still opens");
            assert!(!seen.contains(&m[0].1));
            seen.push(m[0].1.clone());
            assert!(kx.iter().all(|k| k.epoch() == epoch));
            let retired: Vec<_> = kx.iter_mut().map(|k| k.retire_previous(RING).unwrap()).collect();
            assert_eq!(retired[0], vec![m[0].clone(), m[2].clone()]);
            assert_eq!(kx[0].retire_previous(RING), None, "nothing left to erase");
            prev = retired[0].clone();
        }
        // another ring id: no such installed ring
        assert_eq!(kx[0].advance(RingId { rep: 1, seq: 99 }), None);
        // the keys held now are none of the earlier ones
        assert!(prev.iter().all(|(_, k)| *k != seen[0] && *k != seen[3]));
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
