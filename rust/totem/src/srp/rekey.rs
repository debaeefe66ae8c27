//! Rekeying an installed ring without a membership change: when the ring
//! has used one key for `rekey_interval` ms or `rekey_packets` message
//! frames, its representative flips the token's key phase
//! ([`TF_KEY_PHASE`]) at the start of a rotation. Each member, at its visit
//! in that rotation, sees the other phase and moves to the next key
//! (`keyx.rs`, step 6): what it sends from then on goes under the new key,
//! which every member already holds as "next". At its first visit of a
//! later rotation every member has switched (the token went all the way
//! round), so it erases the previous key.
//!
//! Nothing is lost: a frame sealed under the old key before its sender's
//! switch still opens everywhere until the rotation after; a frame under
//! the new key opens at members that have not switched yet. Nothing is
//! held up either: no message waits for the switch.
//!
//! Owns: when to rekey, the switch at each visit, and when to erase. Must
//! not: derive keys (`keyx.rs` does) or rekey a ring that is not installed.

use super::*;

impl Totem {
    /// The key phase steps of a token visit on the installed ring: erase
    /// the previous key a rotation after a switch, start a new epoch (the
    /// representative at a rotation's start), switch if the token is in
    /// the other phase.
    pub(super) fn rekey_at_visit(&mut self, t: &mut Token, rotation_start: bool) {
        let ring = self.ring;
        let Some(kx) = self.kx.as_mut() else { return };
        if self.rekey_switched_in.is_some_and(|r| t.rotation_seq > r) {
            self.rekey_switched_in = None;
            if let Some(keys) = kx.retire_previous(ring) {
                self.events.push_back(Event::RingKeys(keys));
            }
        }
        if rotation_start && self.rekey_switched_in.is_none() && self.rekey_due(t) {
            t.flags ^= TF_KEY_PHASE;
        }
        let Some(kx) = self.kx.as_mut() else { return };
        let phase = u32::from(t.flags & TF_KEY_PHASE != 0);
        if phase == kx.epoch() & 1 {
            return;
        }
        if let Some(keys) = kx.advance(ring) {
            self.events.push_back(Event::RingKeys(keys));
            self.rekey_switched_in = Some(t.rotation_seq);
            self.key_epoch_began = (self.now, t.seq);
            self.stats.rekeys += 1;
            // Frames sealed ahead went under the key just replaced.
            self.abandon_ahead();
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
