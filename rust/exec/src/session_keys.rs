//! The glue between Totem's ring keys and the transport's session keys.
//!
//! Owns: which Totem packets a ring's key seals (its tokens, messages,
//! wakes and rekey keys, by [`totem::wire::session_ring`]; the rest goes under the
//! authkey), handing each `RingKeys` event to the transport, refusing a
//! packet that opened under another key than its kind requires, and the
//! shutdown summary of refused frames per source.
//!
//! Must not: copy a key (the transport derives its own from the borrowed
//! secret) or touch Totem's state.

use ais_net::{KeyClass, Packet, Transport};
use totem::{RingId, RingKey};

/// The key tag of a ring: its sequence number (a node holds at most the
/// installed ring's key and the forming one's, whose sequences differ).
fn tag(ring: RingId) -> u64 {
    ring.seq
}

/// The key an outgoing Totem payload is sealed with.
pub fn classify(payload: &[u8]) -> KeyClass {
    totem::wire::session_ring(payload).map_or(KeyClass::Auth, |r| KeyClass::Session(tag(r)))
}

/// Whether `p` opened under the key its kind requires: a ring's packet
/// under that ring's key, a membership packet under the authkey. Only a
/// holder of some key could send anything else (an authkey holder with a
/// forged token, say); it is dropped.
pub fn opened_with_its_key(p: &Packet) -> bool {
    classify(&p.data) == p.key
}

/// Gives the transport the keys of a `RingKeys` event (it erases the
/// others).
pub fn install<E>(keys: &[(RingId, RingKey)], set: impl FnOnce(&[(u64, &[u8; 32])]) -> Result<(), E>) -> Result<(), E> {
    let borrowed: Vec<(u64, &[u8; 32])> = keys.iter().map(|(r, k)| (tag(*r), k.secret())).collect();
    set(&borrowed)
}

/// Logs how many frames were refused, in total and for the sources that
/// sent the most (at most 8 lines).
pub fn log_rejections(t: &Transport) {
    let s = t.stats();
    let total = s.invalid_digest + s.replayed + s.not_for_us + s.unknown_key + s.bad_frame;
    if total == 0 {
        return;
    }
    crate::log_info!(
        Totem,
        "frames refused: {total} (invalid digest {}, replayed {}, addressed to another node {}, unknown key {}, bad {})",
        s.invalid_digest,
        s.replayed,
        s.not_for_us,
        s.unknown_key,
        s.bad_frame
    );
    let mut by_source: Vec<_> = t.rejections().collect();
    by_source.sort_by_key(|(_, r)| std::cmp::Reverse(r.total()));
    for (addr, r) in by_source.into_iter().take(8) {
        crate::log_info!(
            Totem,
            "frames refused from {addr}: invalid digest {}, replayed {}, addressed to another node {}, unknown key {}, bad {}",
            r.invalid_digest,
            r.replayed,
            r.not_for_us,
            r.unknown_key,
            r.bad_frame
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use totem::wire::{self, Packet as TotemPacket};

    #[test]
    fn ring_traffic_goes_under_its_ring_key_membership_under_the_authkey() {
        let ring = RingId { rep: 1, seq: 40 };
        let token = wire::encode(1, &TotemPacket::Wake(ring));
        assert_eq!(classify(&token), KeyClass::Session(40));
        let merge = wire::encode(1, &TotemPacket::Merge(ring));
        assert_eq!(classify(&merge), KeyClass::Auth);
        let p = |data: Vec<u8>, key| Packet {
            from: 1,
            addr: "127.0.0.1:5405".parse().unwrap(),
            data,
            boot_id: 1,
            counter: 1,
            key,
        };
        assert!(opened_with_its_key(&p(token.clone(), KeyClass::Session(40))));
        // a token under the authkey, or under another ring's key: dropped
        assert!(!opened_with_its_key(&p(token.clone(), KeyClass::Auth)));
        assert!(!opened_with_its_key(&p(token, KeyClass::Session(36))));
        assert!(opened_with_its_key(&p(merge.clone(), KeyClass::Auth)));
        assert!(!opened_with_its_key(&p(merge, KeyClass::Session(40))));
    }
}
