//! Rekeying an installed ring without a membership change, by a fresh
//! X25519 exchange (`keyx.rs`, step 6). When the ring has used one key for
//! `rekey_interval` ms or `rekey_packets` message frames, its
//! representative runs three rotations, each begun at a rotation's start
//! and carried by the token itself (so no member keeps a timer for it):
//!
//! 1. announce ([`TF_REKEY_ANNOUNCE`]): each member, at its visit, draws
//!    a fresh ephemeral pair and sends the public key to its predecessor
//!    ([`wire::RekeyKey`], sealed under the ring key);
//! 2. wrap ([`Token::kx`]): the representative draws a fresh secret `S'`
//!    and it goes round wrapped hop by hop; each member unwraps it, wraps
//!    it for its successor, erases its ephemeral secret and holds the next
//!    key `K'` (from `S'` and the current key) ready to open;
//! 3. switch: `S'` came back intact, so every member holds `K'`: the
//!    representative flips the key phase ([`TF_KEY_PHASE`]) and each
//!    member moves to `K'` at its visit; at its first visit of a later
//!    rotation every member has switched, so it erases the previous key.
//!
//! A member that misses a key (a lost [`wire::RekeyKey`]) or cannot unwrap
//! sends an empty part on; the representative's check then fails, nobody
//! switches, and the next rotation announces a new attempt with new
//! ephemeral keys. Nothing waits for a rekey: messages flow under the
//! current key meanwhile. A lost token ends the rekey with a membership
//! round as any loss does (the new ring gets new keys).
//!
//! Nothing is lost at a switch: a frame sealed under the old key before
//! its sender's switch still opens everywhere until the rotation after; a
//! frame under the new key opens at members that have not switched yet.
//!
//! Owns: when to rekey, each member's steps at its visit, and when to
//! erase. Must not: derive keys (`keyx.rs` does) or rekey a ring that is
//! not installed.

use super::*;

impl Totem {
    /// The rekey steps of a token visit on the installed ring. `first` is
    /// this node's first visit of the rotation (not a resumed hold), `idx`
    /// its place in the ring. False if this node cannot follow a switch
    /// (it left for gather; cannot happen when the protocol is followed).
    pub(super) fn rekey_at_visit(&mut self, t: &mut Token, idx: usize, first: bool) -> bool {
        let ring = self.ring;
        let Some(kx) = self.kx.as_mut() else { return true };
        if self.rekey_switched_in.is_some_and(|r| t.rotation_seq > r) {
            self.rekey_switched_in = None;
            if let Some(keys) = kx.retire_previous(ring) {
                self.events.push_back(Event::RingKeys(keys));
            }
        }
        if first && idx == 0 {
            self.rekey_lead(t);
        } else if first {
            self.rekey_follow(t, idx);
        }
        let Some(kx) = self.kx.as_mut() else { return true };
        let phase = u32::from(t.flags & TF_KEY_PHASE != 0);
        if phase == kx.epoch() & 1 {
            return true;
        }
        let Some(keys) = kx.advance(ring) else {
            let members = self.members.iter().copied().collect();
            self.enter_gather(members);
            return false;
        };
        self.events.push_back(Event::RingKeys(keys));
        self.rekey_switched_in = Some(t.rotation_seq);
        self.key_epoch_began = (self.now, t.seq);
        self.stats.rekeys += 1;
        // Frames sealed ahead went under the key just replaced.
        self.abandon_ahead();
        true
    }

    /// The representative at a rotation's start: the next step of a rekey
    /// in progress, or a new one if due.
    fn rekey_lead(&mut self, t: &mut Token) {
        let ring = self.ring;
        let due = self.rekey_switched_in.is_none() && self.rekey_due(t);
        let Some(kx) = self.kx.as_mut() else { return };
        if let Some(back) = t.kx.take() {
            // The wrap rotation (announced two rotations ago) is back.
            if kx.rekey_confirm(ring, t.rotation_seq.saturating_sub(2), &back) {
                t.flags ^= TF_KEY_PHASE;
            } else {
                self.stats.rekeys_failed += 1;
            }
        } else if t.flags & TF_REKEY_ANNOUNCE != 0 {
            t.flags &= !TF_REKEY_ANNOUNCE;
            match kx.rekey_start(ring, t.rotation_seq.saturating_sub(1), false) {
                Some((part, keys)) => {
                    t.kx = part;
                    self.events.push_back(Event::RingKeys(keys));
                }
                None => self.stats.rekeys_failed += 1,
            }
        } else if due {
            if self.members.len() == 1 {
                // Nobody to agree with: a fresh secret of our own.
                if let Some((_, keys)) = kx.rekey_start(ring, t.rotation_seq, true) {
                    self.events.push_back(Event::RingKeys(keys));
                    t.flags ^= TF_KEY_PHASE;
                }
            } else {
                t.flags |= TF_REKEY_ANNOUNCE;
                self.rekey_announce(t, 0);
            }
        }
    }

    /// A member's first visit in a rotation: its part of an announced
    /// rekey, or of the secret's way round.
    fn rekey_follow(&mut self, t: &mut Token, idx: usize) {
        if t.flags & TF_REKEY_ANNOUNCE != 0 {
            self.rekey_announce(t, idx);
        }
        let ring = self.ring;
        let (Some(kx), Some(part)) = (self.kx.as_mut(), t.kx.as_ref()) else { return };
        match kx.rekey_accept(ring, t.rotation_seq.saturating_sub(1), part) {
            Some((out, keys)) => {
                t.kx = Some(out);
                self.events.push_back(Event::RingKeys(keys));
            }
            None => {
                // Breaks the chain: the representative tries again.
                t.kx = Some(wire::CommitKx::default());
                self.stats.rekeys_failed += 1;
            }
        }
    }

    /// Draws our ephemeral key of the rekey announced in this rotation and
    /// sends the public key to our predecessor.
    fn rekey_announce(&mut self, t: &Token, idx: usize) {
        let Some(public) = self.kx.as_mut().and_then(|k| k.rekey_announce(self.ring, t.rotation_seq)) else { return };
        let n = self.members.len();
        let prev = self.members[(idx + n - 1) % n];
        let p = Packet::RekeyKey(wire::RekeyKey { ring: self.ring, attempt: t.rotation_seq, ephemeral: public });
        self.send_frames(Dest::Node(prev), wire::encode(self.me, &p));
    }

    /// A rekey key from our successor on the installed ring.
    pub(super) fn on_rekey_key(&mut self, sender: u32, k: wire::RekeyKey) {
        let n = self.members.len();
        let successor = self.members.iter().position(|m| *m == self.me).map(|i| self.members[(i + 1) % n]);
        match self.kx.as_mut() {
            Some(kx) if self.state == State::Operational && k.ring == self.ring && successor == Some(sender) => {
                kx.rekey_heard(k.attempt, k.ephemeral)
            }
            _ => self.stats.packets_ignored += 1,
        }
    }

    /// Whether the ring has used its key long enough (representative).
    fn rekey_due(&self, t: &Token) -> bool {
        let (since, seq) = self.key_epoch_began;
        let by_time = self.cfg.rekey_interval > 0 && self.now >= since.plus_ms(self.cfg.rekey_interval);
        let by_count = self.cfg.rekey_packets > 0 && t.seq.saturating_sub(seq) >= self.cfg.rekey_packets;
        by_time || by_count
    }

    /// The installed ring's key epoch (0 until its first rekey).
    pub fn key_epoch(&self) -> u32 {
        self.kx.as_ref().map_or(0, |k| k.epoch())
    }
}
