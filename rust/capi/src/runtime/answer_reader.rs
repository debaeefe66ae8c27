//! Reading answers on the request channel, several per `recv`, polling a
//! moment before sleeping while answers come fast ([`MAX_SPIN`]), without
//! giving the CPU away in between.
//!
//! Unlike callbacks (`frame_reader.rs`), answers have no selection object
//! whose readability must match what is pending, so a read may take the
//! bytes of following answers too: a library reading the answers of
//! pipelined multicasts then needs one `recv` for many of them, not two
//! per answer. Partial answers are kept across calls, so a deadline never
//! loses stream sync.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use ais_ipc::frame::{HEADER_SIZE, Header};

use super::frame_reader::{Frame, ReadFault};
use super::sys;

/// Bytes asked of each `recv` at least.
const CHUNK: usize = 4096;
/// A buffer grown past this (a large answer) is given back once empty.
const RETAINED: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct AnswerReader {
    /// Received bytes are `buf[start..end]`; the rest is room for the
    /// next `recv`, zeroed once when the buffer grows, not before every
    /// `recv` (that cost a 4 KB memset per call).
    buf: Vec<u8>,
    /// Bytes at the front of `buf` already returned.
    start: usize,
    /// End of the bytes received.
    end: usize,
    spin: Spin,
}

/// Longest a reader polls for an answer before it sleeps.
pub const MAX_SPIN: Duration = Duration::from_micros(50);
/// While answers are slow, every this many waits polls anyway, to notice
/// when they are fast again (a wait that sleeps cannot tell).
const PROBE_EVERY: u32 = 32;

/// Whether to poll for the next answer before sleeping: while recent
/// answers came within [`MAX_SPIN`]. Waking a sleeping thread costs tens
/// of microseconds on a virtual machine whose idle CPUs halt, more than a
/// local executive takes to answer, so a program calling in a loop waits
/// half as long per call. Slow answers (a write ordered across nodes) are
/// slept for: polling then costs one `MAX_SPIN` per [`PROBE_EVERY`] waits.
///
/// The poll keeps the CPU (no `sched_yield`): where other processes are
/// runnable, a yield hands the CPU to one of them for its whole time slice
/// (milliseconds), and the answer waits that long. With two busy loops on
/// 2 CPUs, 3-node checkpoint writes: 1 in 32 waits yielded, p99 6-10 ms.
/// An executive that needs this CPU to answer makes the answer slow, and
/// the poll then stops by itself.
#[derive(Debug)]
struct Spin {
    /// The last answer came within `MAX_SPIN`.
    fast: bool,
    /// Waits since the last poll while answers are slow.
    slow_waits: u32,
}

impl Default for Spin {
    fn default() -> Self {
        Spin { fast: true, slow_waits: 0 }
    }
}

impl Spin {
    /// Until when to poll for an answer asked for at `now`, if at all.
    fn until(&mut self, now: Instant, deadline: Option<Instant>) -> Option<Instant> {
        if !self.fast {
            self.slow_waits += 1;
            if self.slow_waits < PROBE_EVERY {
                return None;
            }
            self.slow_waits = 0;
        }
        let t = now + MAX_SPIN;
        Some(deadline.map_or(t, |d| d.min(t)))
    }

    fn answered(&mut self, took: Duration) {
        self.fast = took <= MAX_SPIN;
    }
}

impl AnswerReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next answer, waiting until `deadline` (`None`: no limit).
    /// `Ok(None)`: the deadline passed first; what arrived is kept.
    pub fn read_until(&mut self, fd: RawFd, deadline: Option<Instant>) -> Result<Option<Frame>, ReadFault> {
        let started = Instant::now();
        let spin = match self.take()? {
            Some(frame) => return Ok(Some(frame)),
            None => self.spin.until(started, deadline),
        };
        loop {
            if let Some(frame) = self.take()? {
                self.spin.answered(started.elapsed());
                return Ok(Some(frame));
            }
            if self.fill(fd)? {
                continue;
            }
            if spin.is_some_and(|t| Instant::now() < t) {
                std::hint::spin_loop();
                continue;
            }
            if !sys::wait_readable(fd, deadline).map_err(ReadFault::Io)? {
                return Ok(None);
            }
        }
    }

    /// A complete answer off the front of the buffer, if there is one. The
    /// declared size is checked before waiting for that many bytes.
    fn take(&mut self) -> Result<Option<Frame>, ReadFault> {
        let rest = &self.buf[self.start..self.end];
        let Some(head) = rest.first_chunk::<HEADER_SIZE>() else { return Ok(None) };
        let header = Header::decode(head).map_err(ReadFault::Malformed)?;
        let size = HEADER_SIZE + header.body_len();
        if rest.len() < size {
            return Ok(None);
        }
        let body = rest[HEADER_SIZE..size].to_vec();
        self.start += size;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > RETAINED {
                self.buf = Vec::new();
            }
        }
        Ok(Some((header, body)))
    }

    /// One `recv` of what has arrived (at least the rest of a started
    /// answer); false if nothing was there.
    fn fill(&mut self, fd: RawFd) -> Result<bool, ReadFault> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let have = self.end;
        let wanted = match self.buf[..have].first_chunk::<HEADER_SIZE>() {
            Some(head) => Header::decode(head).map_err(ReadFault::Malformed)?.body_len() + HEADER_SIZE - have,
            None => 0,
        };
        let room = have + wanted.max(CHUNK);
        if self.buf.len() < room {
            self.buf.resize(room, 0);
        }
        match sys::recv_now(fd, &mut self.buf[have..]) {
            Ok(Some(0)) => Err(ReadFault::Eof),
            Ok(Some(n)) => {
                self.end += n;
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(ReadFault::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    #[test]
    fn answers_split_anywhere_or_sent_together_come_out_whole_and_in_order() {
        let (mut tx, rx) = UnixStream::pair().unwrap();
        let big = vec![5u8; 3 * CHUNK];
        let mut bytes = Vec::new();
        for (id, body) in [(1u32, &b"first"[..]), (2, &b""[..]), (3, &big[..]), (4, &b"last"[..])] {
            bytes.extend(ais_ipc::frame::encode(9, id, body));
        }
        // Together: one `recv` takes several.
        tx.write_all(&bytes).unwrap();
        let mut r = AnswerReader::new();
        let ids: Vec<(u32, usize)> = (0..4)
            .map(|_| r.read_until(rx.as_raw_fd(), None).unwrap().map(|(h, b)| (h.id, b.len())).unwrap())
            .collect();
        assert_eq!(ids, [(1, 5), (2, 0), (3, big.len()), (4, 4)]);
        // Byte by byte, with a deadline that passes in between.
        let mut got = Vec::new();
        for b in &bytes {
            tx.write_all(&[*b]).unwrap();
            while let Some((h, body)) = r.read_until(rx.as_raw_fd(), Some(Instant::now())).unwrap() {
                got.push((h.id, body));
            }
        }
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(got[2].1, big);
        assert!(r.read_until(rx.as_raw_fd(), Some(Instant::now() + Duration::from_millis(20))).unwrap().is_none());
    }

    #[test]
    fn polls_while_answers_are_fast_and_probes_now_and_then_while_slow() {
        let mut s = Spin::default();
        let now = Instant::now();
        assert_eq!(s.until(now, None), Some(now + MAX_SPIN), "a new reader polls");
        let soon = now + Duration::from_micros(10);
        assert_eq!(s.until(now, Some(soon)), Some(soon), "never past the deadline");
        s.answered(Duration::from_micros(20));
        assert!(s.until(now, None).is_some());
        s.answered(MAX_SPIN * 3);
        let polls = (0..3 * PROBE_EVERY).filter(|_| s.until(now, None).is_some()).count();
        assert_eq!(polls, 3, "one poll in {PROBE_EVERY} waits while slow");
        s.answered(Duration::from_micros(5));
        assert!(s.until(now, None).is_some(), "fast again: polls every time");
    }

    #[test]
    fn a_slow_answer_is_slept_for_and_read_whole() {
        let (mut tx, rx) = UnixStream::pair().unwrap();
        let mut r = AnswerReader::new();
        r.spin.answered(MAX_SPIN * 2);
        let bytes = ais_ipc::frame::encode(9, 1, b"late");
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.write_all(&bytes).unwrap();
            tx
        });
        let (h, body) = r.read_until(rx.as_raw_fd(), None).unwrap().unwrap();
        assert_eq!((h.id, body.as_slice()), (1, &b"late"[..]));
        assert!(!r.spin.fast);
        drop(writer.join().unwrap());
    }

    #[test]
    fn bad_sizes_and_eof_are_faults() {
        crate::runtime::frame_reader::tests::check_bad_sizes_and_eof(|fd| AnswerReader::new().read_until(fd, None));
    }
}
