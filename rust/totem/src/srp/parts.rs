//! Joins and commit tokens of large rings travel as parts (see
//! [`wire::split`]); this puts them back together.
//!
//! Memory is bounded whatever arrives: at most [`MAX_PENDING`] packets are
//! being assembled at once (the oldest is dropped for a new one), and each
//! is at most [`wire::MAX_MEMBERSHIP_LEN`] bytes. A lost part loses the
//! packet, as a lost frame would: joins are sent again every `join` ms and
//! a commit token is retransmitted (with a new id, all parts again).

use super::*;

/// Packets being assembled at once, from all senders together.
const MAX_PENDING: usize = 64;

impl Totem {
    /// Sends an encoded packet, in parts if it does not fit the frame (only
    /// joins and commit tokens of large rings can outgrow it).
    pub(super) fn send_frames(&mut self, dest: Dest, bytes: Vec<u8>) {
        if bytes.len() <= self.frame_size {
            self.out.push_back(Transmit::Send { dest, bytes });
            return;
        }
        self.part_id = self.part_id.wrapping_add(1);
        let sender = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        for bytes in wire::split(sender, self.part_id, bytes, self.frame_size) {
            self.stats.parts_sent += 1;
            self.out.push_back(Transmit::Send { dest, bytes });
        }
    }

    /// A part of a join or commit token: handled as that packet once all parts are in.
    pub(super) fn on_part(&mut self, sender: u32, part: wire::Part) {
        let bytes = match self.parts.add(sender, part) {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => return self.count_malformed(e),
        };
        match wire::decode(&bytes) {
            Ok((s, Packet::Join(j))) if s == sender => self.on_join(sender, j),
            Ok((s, Packet::Commit(c))) if s == sender => self.on_commit(c),
            // Only a join or commit token may be sent in parts, and only by its own sender.
            Ok(_) => self.count_malformed(DecodeError::BadValue),
            Err(e) => self.count_malformed(e),
        }
    }
}

struct Pending {
    sender: u32,
    id: u32,
    parts: Vec<Option<Vec<u8>>>,
    bytes: usize,
}

#[derive(Default)]
pub(super) struct PartAssembly {
    /// Oldest first.
    pending: VecDeque<Pending>,
}

impl PartAssembly {
    /// Adds a part; returns the whole packet's bytes once its last missing part arrived.
    /// `Err` for a part that contradicts the others of its packet (the packet is dropped).
    pub(super) fn add(&mut self, sender: u32, p: wire::Part) -> Result<Option<Vec<u8>>, DecodeError> {
        let count = usize::from(p.count);
        let at = match self.pending.iter().position(|q| q.sender == sender && q.id == p.id) {
            Some(at) => at,
            None => {
                if self.pending.len() >= MAX_PENDING {
                    self.pending.pop_front();
                }
                self.pending.push_back(Pending { sender, id: p.id, parts: vec![None; count], bytes: 0 });
                self.pending.len() - 1
            }
        };
        let q = &mut self.pending[at];
        let index = usize::from(p.index);
        if q.parts.len() != count || q.bytes + p.data.len() > wire::MAX_MEMBERSHIP_LEN {
            self.pending.remove(at);
            return Err(DecodeError::BadLength);
        }
        if q.parts[index].is_some() {
            return Ok(None); // duplicate
        }
        q.bytes += p.data.len();
        q.parts[index] = Some(p.data);
        if q.parts.iter().any(Option::is_none) {
            return Ok(None);
        }
        let q = self.pending.remove(at).expect("found above");
        Ok(Some(q.parts.into_iter().flatten().flatten().collect()))
    }

    /// Packets waiting for parts (for tests).
    #[cfg(test)]
    pub(super) fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(id: u32, index: u8, count: u8, data: &[u8]) -> wire::Part {
        wire::Part { id, index, count, data: data.to_vec() }
    }

    #[test]
    fn assembles_in_any_order_and_ignores_duplicates() {
        let mut a = PartAssembly::default();
        assert_eq!(a.add(5, part(1, 2, 3, b"ef")), Ok(None));
        assert_eq!(a.add(6, part(1, 0, 2, b"xx")), Ok(None));
        assert_eq!(a.add(5, part(1, 0, 3, b"ab")), Ok(None));
        assert_eq!(a.add(5, part(1, 0, 3, b"ab")), Ok(None));
        assert_eq!(a.add(5, part(1, 1, 3, b"cd")), Ok(Some(b"abcdef".to_vec())));
        assert_eq!(a.pending(), 1);
    }

    #[test]
    fn contradicting_counts_drop_the_packet() {
        let mut a = PartAssembly::default();
        assert_eq!(a.add(5, part(1, 0, 3, b"ab")), Ok(None));
        assert_eq!(a.add(5, part(1, 1, 2, b"cd")), Err(DecodeError::BadLength));
        assert_eq!(a.pending(), 0);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut a = PartAssembly::default();
        for id in 0..1000 {
            assert_eq!(a.add(id % 7 + 1, part(id, 0, 2, &[0; 1000])), Ok(None));
        }
        assert_eq!(a.pending(), MAX_PENDING);
        // A packet whose parts add up to more than any membership packet is dropped.
        let big = vec![0u8; wire::MAX_MEMBERSHIP_LEN / 2 + 1];
        let mut a = PartAssembly::default();
        assert_eq!(a.add(1, part(9, 0, 3, &big)), Ok(None));
        assert_eq!(a.add(1, part(9, 1, 3, &big)), Err(DecodeError::BadLength));
        assert_eq!(a.pending(), 0);
    }
}
