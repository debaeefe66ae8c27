//! The frames of one flush, sealed and in Totem's order, and the rule that
//! cuts a run of them into UDP GSO sends.
//!
//! Owns: a bounded store of sealed frames with their destination and the
//! rings they go on ([`SealedBatch`]), the frames sealed ahead of their
//! send ([`Outgoing::Keep`]), and [`gso_group_len`].
//!
//! Must not: touch sockets (the transport does) or reorder frames.

#![forbid(unsafe_code)]

use crate::transport::{Dest, SendError};

/// Most frames in one batch; a longer flush is sent in several batches,
/// in order.
pub const BATCH_FRAMES: usize = 256;
/// Most bytes in one batch (bounds the store whatever the frame size).
pub const BATCH_BYTES: usize = 512 * 1024;
/// Most datagrams in one GSO send (the kernel's `UDP_MAX_SEGMENTS`).
pub const MAX_SEGMENTS: usize = crate::sys::udp::MAX_SEGMENTS;
/// Most bytes in one GSO send: under 64 KiB and under the largest IPv4 UDP
/// payload (65507), so one send is one IP packet before segmentation.
pub const MAX_GSO_BYTES: usize = 65_000;

/// Ring bit of a transport used alone (not in a redundant pair).
pub const ONLY_RING: u8 = 1;

/// One item of what a caller hands over to be sent, in its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing<B> {
    /// Seal `payload` and send it to `dest`.
    Send(Dest, B),
    /// Seal `payload` for `dest` now and keep it: a later `SendKept` sends
    /// it. Sealing takes time; a caller that knows a frame early (Totem's
    /// next token visit) seals it while it has nothing else to do. The
    /// caller bounds how many it keeps.
    Keep(Dest, B),
    /// Send the first `n` kept frames now (after everything before this
    /// item, before everything after it), in the order they were kept;
    /// then forget every kept frame.
    SendKept(usize),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    dest: Dest,
    start: usize,
    len: usize,
    rings: u8,
}

/// Sealed frames in send order. See the module doc.
#[derive(Debug, Default)]
pub struct SealedBatch {
    bytes: Vec<u8>,
    frames: Vec<Entry>,
}

impl SealedBatch {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.frames.clear();
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// True when the batch must be sent before another frame is added.
    pub fn is_full(&self) -> bool {
        self.frames.len() >= BATCH_FRAMES || self.bytes.len() >= BATCH_BYTES
    }

    /// Appends a sealed `frame` for `dest`, sent on the rings whose bit is
    /// set in `rings` (bit `r` = ring `r`).
    pub fn push(&mut self, dest: Dest, rings: u8, frame: &[u8]) {
        self.frames.push(Entry { dest, start: self.bytes.len(), len: frame.len(), rings });
        self.bytes.extend_from_slice(frame);
    }

    /// Keeps the first `n` frames.
    pub fn truncate(&mut self, n: usize) {
        self.frames.truncate(n);
        self.bytes.truncate(self.frames.last().map_or(0, |e| e.start + e.len));
    }

    /// Destination of frame `i`.
    pub fn dest(&self, i: usize) -> Dest {
        self.frames[i].dest
    }

    /// True when frame `i` goes on a ring of `ring_mask`.
    pub fn on_ring(&self, i: usize, ring_mask: u8) -> bool {
        self.frames[i].rings & ring_mask != 0
    }

    /// The sealed bytes of frame `i`.
    pub fn frame(&self, i: usize) -> &[u8] {
        let e = &self.frames[i];
        &self.bytes[e.start..e.start + e.len]
    }
}

/// A transport's frames on their way out: the batch being sealed and sent
/// (kept for its capacity), and the frames sealed by [`Outgoing::Keep`]
/// that wait for their `SendKept`.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    batch: SealedBatch,
    kept: SealedBatch,
}

/// A transport that seals frames into a [`SealedBatch`] and sends it: a
/// single ring or a redundant pair.
pub(crate) trait BatchSender {
    /// Seals `payload` for `dest` and appends it to `batch`.
    fn seal_into(&mut self, batch: &mut SealedBatch, dest: Dest, payload: &[u8]) -> Result<(), SendError>;
    /// Sends every frame of `batch`, in order.
    fn send_sealed_batch(&mut self, batch: &SealedBatch) -> Result<(), SendError>;
}

/// Seals `items` in order into the outbox's batch (or its kept frames, for
/// [`Outgoing::Keep`]) and sends the batch whenever it is full, before kept
/// frames go out, and at the end. The first error, after every item was
/// tried. A frame that failed to seal is missing from what is sent, also
/// from the kept ones.
pub(crate) fn seal_and_send<T, I, B>(t: &mut T, outbox: &mut Outbox, items: I) -> Result<(), SendError>
where
    T: BatchSender,
    I: IntoIterator<Item = Outgoing<B>>,
    B: AsRef<[u8]>,
{
    let Outbox { batch, kept } = outbox;
    let mut first_err = None;
    let mut note = |r: Result<(), SendError>| {
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    };
    batch.clear();
    for item in items {
        match item {
            Outgoing::Send(dest, payload) => {
                note(t.seal_into(batch, dest, payload.as_ref()));
                if batch.is_full() {
                    note(t.send_sealed_batch(batch));
                    batch.clear();
                }
            }
            Outgoing::Keep(dest, payload) => note(t.seal_into(kept, dest, payload.as_ref())),
            Outgoing::SendKept(n) => {
                if !batch.is_empty() {
                    note(t.send_sealed_batch(batch));
                    batch.clear();
                }
                kept.truncate(n);
                if !kept.is_empty() {
                    note(t.send_sealed_batch(kept));
                }
                kept.clear();
            }
        }
    }
    if !batch.is_empty() {
        note(t.send_sealed_batch(batch));
    }
    batch.clear();
    first_err.map_or(Ok(()), Err)
}

/// How many of the frames whose lengths `lens` yields (in order) go into
/// one GSO send: frames of the first one's size, then at most one shorter
/// frame that ends the group (the kernel cuts at the segment size, so only
/// the last datagram may be shorter); at most [`MAX_SEGMENTS`] frames and
/// [`MAX_GSO_BYTES`] bytes. Always at least 1 for a non-empty input.
pub fn gso_group_len(mut lens: impl Iterator<Item = usize>) -> usize {
    let Some(seg) = lens.next() else {
        return 0;
    };
    if seg == 0 || seg > MAX_GSO_BYTES || seg > usize::from(u16::MAX) {
        return 1;
    }
    let (mut n, mut total) = (1, seg);
    for len in lens {
        if n == MAX_SEGMENTS || len == 0 || len > seg || total + len > MAX_GSO_BYTES {
            break;
        }
        n += 1;
        total += len;
        if len < seg {
            break;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(lens: &[usize]) -> usize {
        gso_group_len(lens.iter().copied())
    }

    #[test]
    fn equal_frames_then_one_shorter_frame_end_a_group() {
        assert_eq!(group(&[]), 0);
        assert_eq!(group(&[100]), 1);
        assert_eq!(group(&[100, 100, 100]), 3);
        assert_eq!(group(&[100, 100, 40, 100]), 3, "a shorter frame ends it");
        assert_eq!(group(&[100, 100, 140, 100]), 2, "a longer one starts the next");
        assert_eq!(group(&[40, 100]), 1);
    }

    #[test]
    fn groups_stay_within_the_kernel_limits() {
        assert_eq!(group(&[10; 100]), MAX_SEGMENTS);
        let big = 1400;
        let n = group(&[big; 64]);
        assert_eq!(n, MAX_GSO_BYTES / big);
        assert!(n * big <= MAX_GSO_BYTES);
        // a short last frame that would cross the byte limit is left out
        let mut lens = vec![big; MAX_GSO_BYTES / big];
        lens.push(big - 1);
        assert_eq!(group(&lens), MAX_GSO_BYTES / big);
        assert_eq!(group(&[70_000, 70_000]), 1, "too large for GSO: alone");
    }

    /// Seals by copying; records each batch sent.
    #[derive(Default)]
    struct Recorder {
        sealed: usize,
        sent: Vec<Vec<Vec<u8>>>,
    }

    impl BatchSender for Recorder {
        fn seal_into(&mut self, batch: &mut SealedBatch, dest: Dest, payload: &[u8]) -> Result<(), SendError> {
            self.sealed += 1;
            batch.push(dest, ONLY_RING, payload);
            Ok(())
        }
        fn send_sealed_batch(&mut self, batch: &SealedBatch) -> Result<(), SendError> {
            self.sent.push((0..batch.len()).map(|i| batch.frame(i).to_vec()).collect());
            Ok(())
        }
    }

    #[test]
    fn kept_frames_are_sealed_at_once_and_sent_only_when_told() {
        use Outgoing::*;
        let mut outbox = Outbox::default();
        let mut r = Recorder::default();
        let m = Dest::Multicast;
        let first: Vec<Outgoing<&[u8]>> =
            vec![Send(Dest::Node(2), b"token"), Keep(m, b"k1"), Keep(m, b"k2"), Keep(m, b"k3")];
        seal_and_send(&mut r, &mut outbox, first).unwrap();
        assert_eq!(r.sealed, 4, "kept frames are sealed right away");
        assert_eq!(r.sent, vec![vec![b"token".to_vec()]], "but not sent");
        r.sent.clear();
        let visit: Vec<Outgoing<&[u8]>> =
            vec![Send(m, b"rtr"), SendKept(2), Send(m, b"new"), Send(Dest::Node(2), b"token")];
        seal_and_send(&mut r, &mut outbox, visit).unwrap();
        assert_eq!(r.sealed, 7, "kept frames are not sealed again");
        let expected: Vec<Vec<Vec<u8>>> =
            vec![vec![b"rtr".to_vec()], vec![b"k1".to_vec(), b"k2".to_vec()], vec![b"new".to_vec(), b"token".to_vec()]];
        assert_eq!(r.sent, expected, "in order; the third kept frame is dropped");
        assert!(outbox.kept.is_empty());
        r.sent.clear();
        seal_and_send(&mut r, &mut outbox, [SendKept(5)].into_iter().map(|o: Outgoing<&[u8]>| o)).unwrap();
        assert!(r.sent.is_empty(), "nothing kept, nothing sent");
    }

    #[test]
    fn batch_keeps_order_destinations_and_bounds() {
        let mut b = SealedBatch::default();
        b.push(Dest::Multicast, 1, b"abc");
        b.push(Dest::Node(7), 2, b"de");
        assert_eq!(b.len(), 2);
        assert_eq!((b.dest(0), b.frame(0)), (Dest::Multicast, &b"abc"[..]));
        assert_eq!((b.dest(1), b.frame(1)), (Dest::Node(7), &b"de"[..]));
        assert!(b.on_ring(0, 1) && !b.on_ring(0, 2) && b.on_ring(1, 2));
        assert!(!b.is_full());
        for _ in 2..BATCH_FRAMES {
            b.push(Dest::Multicast, 1, b"x");
        }
        assert!(b.is_full());
        b.clear();
        assert!(b.is_empty() && !b.is_full());
        b.push(Dest::Multicast, 1, &vec![0; BATCH_BYTES]);
        assert!(b.is_full(), "the byte bound counts too");
        b.clear();
        b.push(Dest::Multicast, 1, b"abc");
        b.push(Dest::Multicast, 1, b"de");
        b.truncate(1);
        b.push(Dest::Multicast, 1, b"f");
        assert_eq!((b.len(), b.frame(0), b.frame(1)), (2, &b"abc"[..], &b"f"[..]));
    }
}
