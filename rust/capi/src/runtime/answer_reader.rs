//! Reading answers on the request channel, several per `recv`.
//!
//! Unlike callbacks (`frame_reader.rs`), answers have no selection object
//! whose readability must match what is pending, so a read may take the
//! bytes of following answers too: a library reading the answers of
//! pipelined multicasts then needs one `recv` for many of them, not two
//! per answer. Partial answers are kept across calls, so a deadline never
//! loses stream sync.

use std::os::fd::RawFd;
use std::time::Instant;

use ais_ipc::frame::{HEADER_SIZE, Header};

use super::frame_reader::{Frame, ReadFault};
use super::sys;

/// Bytes asked of each `recv` at least.
const CHUNK: usize = 4096;
/// A buffer grown past this (a large answer) is given back once empty.
const RETAINED: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct AnswerReader {
    buf: Vec<u8>,
    /// Bytes at the front of `buf` already returned.
    start: usize,
}

impl AnswerReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next answer, waiting until `deadline` (`None`: no limit).
    /// `Ok(None)`: the deadline passed first; what arrived is kept.
    pub fn read_until(&mut self, fd: RawFd, deadline: Option<Instant>) -> Result<Option<Frame>, ReadFault> {
        loop {
            if let Some(frame) = self.take()? {
                return Ok(Some(frame));
            }
            if !self.fill(fd)? && !sys::wait_readable(fd, deadline).map_err(ReadFault::Io)? {
                return Ok(None);
            }
        }
    }

    /// A complete answer off the front of the buffer, if there is one. The
    /// declared size is checked before waiting for that many bytes.
    fn take(&mut self) -> Result<Option<Frame>, ReadFault> {
        let rest = &self.buf[self.start..];
        let Some(head) = rest.first_chunk::<HEADER_SIZE>() else { return Ok(None) };
        let header = Header::decode(head).map_err(ReadFault::Malformed)?;
        let size = HEADER_SIZE + header.body_len();
        if rest.len() < size {
            return Ok(None);
        }
        let body = rest[HEADER_SIZE..size].to_vec();
        self.start += size;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() > RETAINED {
                self.buf.shrink_to(CHUNK);
            }
        }
        Ok(Some((header, body)))
    }

    /// One `recv` of what has arrived (at least the rest of a started
    /// answer); false if nothing was there.
    fn fill(&mut self, fd: RawFd) -> Result<bool, ReadFault> {
        self.buf.drain(..self.start);
        self.start = 0;
        let have = self.buf.len();
        let wanted = match self.buf.first_chunk::<HEADER_SIZE>() {
            Some(head) => Header::decode(head).map_err(ReadFault::Malformed)?.body_len() + HEADER_SIZE - have,
            None => 0,
        };
        self.buf.resize(have + wanted.max(CHUNK), 0);
        let got = sys::recv_now(fd, &mut self.buf[have..]);
        self.buf.truncate(have + got.as_ref().map_or(0, |n| n.unwrap_or(0)));
        match got {
            Ok(Some(0)) => Err(ReadFault::Eof),
            Ok(n) => Ok(n.is_some()),
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
    fn bad_sizes_and_eof_are_faults() {
        crate::runtime::frame_reader::tests::check_bad_sizes_and_eof(|fd| AnswerReader::new().read_until(fd, None));
    }
}
