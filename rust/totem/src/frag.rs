//! Packing of small messages into one frame, fragmentation of large ones,
//! and reassembly on delivery. A message is delivered whole or not at all.

use std::collections::{BTreeMap, VecDeque};

use crate::wire::{self, CHUNK_HEADER_LEN, Chunk};

/// Largest application message accepted by `submit`.
pub const MAX_MESSAGE_SIZE: usize = 1 << 20;
/// Bounds of the send queue.
pub const SEND_QUEUE_MAX_MESSAGES: usize = 1024;
pub const SEND_QUEUE_MAX_BYTES: usize = 16 << 20;
/// Do not start a fragment in fewer bytes than this; start a new packet instead.
const MIN_FRAGMENT: usize = 64;

struct Pending {
    data: Vec<u8>,
    safe: bool,
    msg_no: u32,
}

/// Messages waiting to be multicast, with the position reached in the first one.
pub struct SendQueue {
    queue: VecDeque<Pending>,
    bytes: usize,
    offset: usize,
    frag: u16,
    next_msg_no: u32,
}

impl SendQueue {
    pub fn new() -> SendQueue {
        SendQueue { queue: VecDeque::new(), bytes: 0, offset: 0, frag: 0, next_msg_no: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Bytes of the queued messages (those partly sent counted whole).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn has_room(&self, len: usize) -> bool {
        self.queue.len() < SEND_QUEUE_MAX_MESSAGES && self.bytes + len <= SEND_QUEUE_MAX_BYTES
    }

    pub fn push(&mut self, data: Vec<u8>, safe: bool) {
        self.bytes += data.len();
        let msg_no = self.next_msg_no;
        self.next_msg_no = self.next_msg_no.wrapping_add(1);
        self.queue.push_back(Pending { data, safe, msg_no });
    }

    /// Forgets how much of the first message was sent: after a configuration
    /// change its fragments already sent are discarded everywhere, so it is sent again whole.
    pub fn restart_partial(&mut self) {
        self.offset = 0;
        self.frag = 0;
    }

    /// Builds the chunk area of the next packet, at most `capacity` bytes,
    /// holding messages of one guarantee, and takes it out of the queue.
    /// Returns `(area, safe)`.
    pub fn next_packet(&mut self, capacity: usize) -> Option<(Vec<u8>, bool)> {
        let mut at = self.front();
        let packet = self.pack(&mut at, capacity)?;
        self.advance_to(at);
        Some(packet)
    }

    /// Where [`next_packet`](Self::next_packet) would start.
    pub fn front(&self) -> Cursor {
        Cursor { index: 0, offset: self.offset, frag: self.frag, consumed: self.offset }
    }

    /// The packet `next_packet` would build at `at`, if it is full (the
    /// queue holds at least `capacity` bytes from `at` on), without taking
    /// it out of the queue; moves `at` past it. A packet built this way
    /// ahead of its send is the same as the one built at the send: only
    /// messages pushed later could have changed a packet that is not full.
    pub fn peek_full_packet(&self, at: &mut Cursor, capacity: usize) -> Option<(Vec<u8>, bool)> {
        if self.bytes.saturating_sub(at.consumed) < capacity {
            return None;
        }
        self.pack(at, capacity)
    }

    /// Takes out of the queue what lies before `at` (a cursor of this
    /// queue's current front or after, from [`front`](Self::front) and
    /// [`peek_full_packet`](Self::peek_full_packet); pushes in between do
    /// not move it).
    pub fn advance_to(&mut self, at: Cursor) {
        for p in self.queue.drain(..at.index.min(self.queue.len())) {
            self.bytes -= p.data.len();
        }
        self.offset = at.offset;
        self.frag = at.frag;
    }

    /// Builds the packet that starts at `at`; moves `at` past it.
    fn pack(&self, at: &mut Cursor, capacity: usize) -> Option<(Vec<u8>, bool)> {
        let first = self.queue.get(at.index)?;
        let safe = first.safe;
        let mut area = Vec::with_capacity(capacity.min(4096));
        area.extend_from_slice(&0u16.to_le_bytes());
        while let Some(p) = self.queue.get(at.index) {
            if p.safe != safe {
                break;
            }
            if area.len() + CHUNK_HEADER_LEN > capacity {
                break;
            }
            let room = capacity - (area.len() + CHUNK_HEADER_LEN);
            let left = p.data.len() - at.offset;
            let started_packet = area.len() > 2;
            if left > room && (room < MIN_FRAGMENT && started_packet || room == 0) {
                break;
            }
            let take = left.min(room);
            let last = take == left;
            wire::push_chunk(
                &mut area,
                &Chunk { msg_no: p.msg_no, frag: at.frag, last, data: &p.data[at.offset..at.offset + take] },
            );
            at.consumed += take;
            if last {
                at.index += 1;
                at.offset = 0;
                at.frag = 0;
            } else {
                at.offset += take;
                at.frag = at.frag.wrapping_add(1);
                break;
            }
        }
        Some((area, safe))
    }
}

/// A position in a [`SendQueue`]: message `index` from the front, `offset`
/// bytes into it, whose next fragment is `frag`; `consumed` counts the
/// message bytes before it, from the front.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    index: usize,
    offset: usize,
    frag: u16,
    consumed: usize,
}

struct Partial {
    msg_no: u32,
    next_frag: u16,
    buf: Vec<u8>,
}

/// Per-sender reassembly of fragmented messages.
pub struct Reassembly {
    partial: BTreeMap<u32, Partial>,
}

/// What a chunk produced.
pub enum Assembled {
    Nothing,
    Message(Vec<u8>),
    /// A fragment did not follow its predecessor (a lost packet); the partial message was dropped.
    Dropped,
}

impl Reassembly {
    pub fn new() -> Reassembly {
        Reassembly { partial: BTreeMap::new() }
    }

    /// Drops every partial message (at a configuration change).
    pub fn clear(&mut self) -> usize {
        let n = self.partial.len();
        self.partial.clear();
        n
    }

    pub fn push(&mut self, sender: u32, c: &Chunk<'_>) -> Assembled {
        if c.frag == 0 {
            let dropped = self.partial.remove(&sender).is_some();
            if c.last {
                // Whole message in one chunk.
                let _ = dropped;
                return Assembled::Message(c.data.to_vec());
            }
            self.partial.insert(sender, Partial { msg_no: c.msg_no, next_frag: 1, buf: c.data.to_vec() });
            return if dropped { Assembled::Dropped } else { Assembled::Nothing };
        }
        let Some(p) = self.partial.get_mut(&sender) else {
            return Assembled::Dropped;
        };
        if p.msg_no != c.msg_no || p.next_frag != c.frag || p.buf.len() + c.data.len() > MAX_MESSAGE_SIZE {
            self.partial.remove(&sender);
            return Assembled::Dropped;
        }
        if p.buf.capacity() - p.buf.len() < c.data.len() {
            // Grow fourfold rather than double: a large message arrives
            // in many fragments, and every regrowth copies what came so far.
            let want = (p.buf.len() * 4).max(p.buf.len() + c.data.len()).min(MAX_MESSAGE_SIZE);
            p.buf.reserve_exact(want.saturating_sub(p.buf.len()));
        }
        p.buf.extend_from_slice(c.data);
        p.next_frag = p.next_frag.wrapping_add(1);
        if c.last {
            let p = self.partial.remove(&sender).map(|p| p.buf).unwrap_or_default();
            Assembled::Message(p)
        } else {
            Assembled::Nothing
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut SendQueue, cap: usize) -> Vec<(Vec<u8>, bool)> {
        let mut v = Vec::new();
        while let Some(p) = q.next_packet(cap) {
            assert!(p.0.len() <= cap);
            v.push(p);
        }
        v
    }

    fn reassemble(packets: &[(Vec<u8>, bool)]) -> Vec<Vec<u8>> {
        let mut r = Reassembly::new();
        let mut out = Vec::new();
        for (area, _) in packets {
            wire::for_each_chunk(area, |c| {
                if let Assembled::Message(m) = r.push(7, &c) {
                    out.push(m)
                }
            })
            .unwrap();
        }
        out
    }

    #[test]
    fn packets_peeked_ahead_are_the_packets_built_later() {
        let cap = 1000;
        let mut q = SendQueue::new();
        for i in 0..40u8 {
            q.push(vec![i; 50 + 97 * i as usize % 2500], i % 9 == 4);
        }
        let mut at = q.front();
        let mut peeked = Vec::new();
        while let Some(p) = q.peek_full_packet(&mut at, cap) {
            peeked.push((p, at));
        }
        assert!(peeked.len() > 10);
        // The queue is unchanged; later messages do not change a full packet.
        q.push(vec![200; 30], false);
        let mut other = SendQueue::new();
        for i in 0..40u8 {
            other.push(vec![i; 50 + 97 * i as usize % 2500], i % 9 == 4);
        }
        other.push(vec![200; 30], false);
        for (p, _) in &peeked[..5] {
            assert_eq!(other.next_packet(cap).as_ref(), Some(p));
        }
        q.advance_to(peeked[4].1);
        assert_eq!(drain(&mut q, cap), drain(&mut other, cap), "advancing equals building");
    }

    #[test]
    fn a_packet_that_is_not_full_is_not_peeked() {
        let mut q = SendQueue::new();
        q.push(vec![1; 600], false);
        q.push(vec![2; 300], false);
        let mut at = q.front();
        assert_eq!(q.peek_full_packet(&mut at, 1000), None, "900 bytes: more may join them");
        assert_eq!(at, q.front());
        q.push(vec![3; 300], false);
        let p = q.peek_full_packet(&mut at, 1000).unwrap();
        assert_eq!(reassemble(std::slice::from_ref(&p)), vec![vec![1; 600], vec![2; 300]]);
        assert_eq!(q.next_packet(1000), Some(p));
    }

    #[test]
    fn small_messages_are_packed() {
        let mut q = SendQueue::new();
        for i in 0..10u8 {
            q.push(vec![i; 20], false);
        }
        let p = drain(&mut q, 400);
        assert_eq!(p.len(), 1);
        assert_eq!(reassemble(&p).len(), 10);
    }

    #[test]
    fn large_messages_are_fragmented_and_reassembled() {
        let mut q = SendQueue::new();
        let big: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        q.push(vec![1; 10], false);
        q.push(big.clone(), false);
        q.push(vec![2; 10], false);
        let p = drain(&mut q, 500);
        assert!(p.len() >= 11);
        let m = reassemble(&p);
        assert_eq!(m, vec![vec![1; 10], big, vec![2; 10]]);
    }

    #[test]
    fn guarantees_are_not_mixed_in_a_packet() {
        let mut q = SendQueue::new();
        q.push(vec![1; 10], false);
        q.push(vec![2; 10], true);
        let p = drain(&mut q, 500);
        assert_eq!(p.iter().map(|x| x.1).collect::<Vec<_>>(), vec![false, true]);
    }

    #[test]
    fn a_missing_fragment_drops_the_message() {
        let mut q = SendQueue::new();
        q.push(vec![3; 2000], false);
        q.push(vec![4; 10], false);
        let mut p = drain(&mut q, 500);
        p.remove(1);
        assert_eq!(reassemble(&p), vec![vec![4; 10]]);
    }

    #[test]
    fn restart_sends_the_whole_message_again() {
        let mut q = SendQueue::new();
        q.push(vec![5; 2000], false);
        let first = q.next_packet(500).unwrap();
        q.restart_partial();
        let rest = drain(&mut q, 500);
        // The receiver saw the first fragment, then a new frag 0: only one message comes out.
        let mut all = vec![first];
        all.extend(rest);
        assert_eq!(reassemble(&all), vec![vec![5; 2000]]);
    }

    #[test]
    fn queue_is_bounded() {
        let mut q = SendQueue::new();
        for _ in 0..SEND_QUEUE_MAX_MESSAGES {
            assert!(q.has_room(1));
            q.push(vec![0], false);
        }
        assert!(!q.has_room(1));
    }
}
