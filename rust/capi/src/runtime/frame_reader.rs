//! Reading whole frames from a non-blocking socket, a piece at a time.
//!
//! Owns: the bytes of a frame that has only partly arrived. They are kept
//! across calls, so giving up at a deadline never loses stream sync, and a
//! read never goes past the end of the current frame, so bytes of the next
//! frame stay in the socket (which keeps the dispatch socket readable
//! exactly while a callback is pending). The declared size is checked
//! (header size .. `MAX_MESSAGE_SIZE`) before anything is allocated.

use std::io;
use std::os::fd::RawFd;
use std::time::Instant;

use ais_ipc::frame::{FrameError, HEADER_SIZE, Header};

use super::sys;

/// Why no frame could be read. (The payloads are for `Debug` output.)
#[derive(Debug)]
#[allow(dead_code)]
pub enum ReadFault {
    /// The peer closed the stream (or we shut it down).
    Eof,
    /// The header declared an impossible size.
    Malformed(FrameError),
    Io(io::Error),
}

/// One frame, header and body.
pub type Frame = (Header, Vec<u8>);

#[derive(Debug, Default)]
pub struct FrameReader {
    head: [u8; HEADER_SIZE],
    head_len: usize,
    /// Set once the whole header arrived and was valid.
    header: Option<Header>,
    body: Vec<u8>,
    body_len: usize,
}

impl FrameReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// True while part of a frame has been read.
    pub fn is_partial(&self) -> bool {
        self.head_len > 0
    }

    /// Bytes of the current frame read so far.
    pub fn received(&self) -> usize {
        self.head_len + self.body_len
    }

    /// Reads what has arrived (without waiting), up to the end of the
    /// current frame. `Some` once the frame is complete.
    pub fn read_now(&mut self, fd: RawFd) -> Result<Option<Frame>, ReadFault> {
        loop {
            let header = match self.header {
                Some(h) => h,
                None => {
                    let Some(n) = self.recv(fd, Part::Head)? else {
                        return Ok(None);
                    };
                    self.head_len += n;
                    if self.head_len < HEADER_SIZE {
                        continue;
                    }
                    let h = Header::decode(&self.head).map_err(ReadFault::Malformed)?;
                    self.header = Some(h);
                    self.body = vec![0; h.body_len()];
                    self.body_len = 0;
                    h
                }
            };
            if self.body_len == self.body.len() {
                let body = std::mem::take(&mut self.body);
                *self = FrameReader::new();
                return Ok(Some((header, body)));
            }
            let Some(n) = self.recv(fd, Part::Body)? else {
                return Ok(None);
            };
            self.body_len += n;
        }
    }

    /// Reads one whole frame, waiting until `deadline` (`None`: no limit).
    /// `Ok(None)`: the deadline passed first; what arrived is kept.
    pub fn read_until(&mut self, fd: RawFd, deadline: Option<Instant>) -> Result<Option<Frame>, ReadFault> {
        loop {
            if let Some(frame) = self.read_now(fd)? {
                return Ok(Some(frame));
            }
            if !sys::wait_readable(fd, deadline).map_err(ReadFault::Io)? {
                return Ok(None);
            }
        }
    }

    /// One `recv` into the missing part; `None` when nothing is there.
    fn recv(&mut self, fd: RawFd, part: Part) -> Result<Option<usize>, ReadFault> {
        let buf = match part {
            Part::Head => &mut self.head[self.head_len..],
            Part::Body => &mut self.body[self.body_len..],
        };
        match sys::recv_now(fd, buf) {
            Ok(Some(0)) => Err(ReadFault::Eof),
            Ok(n) => Ok(n),
            Err(e) => Err(ReadFault::Io(e)),
        }
    }
}

enum Part {
    Head,
    Body,
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    #[test]
    fn frames_split_anywhere_are_reassembled_one_at_a_time() {
        let (mut tx, rx) = UnixStream::pair().unwrap();
        let mut bytes = ais_ipc::frame::encode(3, 10, b"first");
        bytes.extend(ais_ipc::frame::encode(3, 11, b""));
        let mut reader = FrameReader::new();
        // Byte by byte: nothing complete until the last byte of a frame.
        let mut frames = Vec::new();
        for b in &bytes {
            tx.write_all(&[*b]).unwrap();
            if let Some(f) = reader.read_now(rx.as_raw_fd()).unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].0.id, frames[0].1.as_slice()), (10, &b"first"[..]));
        assert_eq!((frames[1].0.id, frames[1].1.len()), (11, 0));
        assert!(!reader.is_partial());
    }

    #[test]
    fn never_reads_past_the_current_frame() {
        let (mut tx, rx) = UnixStream::pair().unwrap();
        let mut bytes = ais_ipc::frame::encode(3, 1, b"a");
        bytes.extend(ais_ipc::frame::encode(3, 2, b"b"));
        tx.write_all(&bytes).unwrap();
        let mut reader = FrameReader::new();
        assert_eq!(reader.read_now(rx.as_raw_fd()).unwrap().unwrap().0.id, 1);
        assert!(sys::is_readable(rx.as_raw_fd()).unwrap());
        assert_eq!(reader.read_now(rx.as_raw_fd()).unwrap().unwrap().0.id, 2);
        assert!(!sys::is_readable(rx.as_raw_fd()).unwrap());
    }

    #[test]
    fn deadline_keeps_partial_frame() {
        let (mut tx, rx) = UnixStream::pair().unwrap();
        let bytes = ais_ipc::frame::encode(3, 7, b"payload");
        tx.write_all(&bytes[..5]).unwrap();
        let mut reader = FrameReader::new();
        let deadline = Instant::now() + Duration::from_millis(50);
        assert!(reader.read_until(rx.as_raw_fd(), Some(deadline)).unwrap().is_none());
        assert!(reader.is_partial());
        tx.write_all(&bytes[5..]).unwrap();
        let (h, body) = reader.read_until(rx.as_raw_fd(), None).unwrap().unwrap();
        assert_eq!((h.id, body.as_slice()), (7, &b"payload"[..]));
    }

    /// A reader (`read` on a fresh one) refuses impossible declared sizes
    /// as malformed and a closed stream as end of file.
    pub(in crate::runtime) fn check_bad_sizes_and_eof(read: impl Fn(RawFd) -> Result<Option<Frame>, ReadFault>) {
        for size in [0u32, 11, (ais_ipc::MAX_MESSAGE_SIZE + 1) as u32, u32::MAX] {
            let (mut tx, rx) = UnixStream::pair().unwrap();
            let mut head = ais_ipc::frame::encode(3, 1, b"");
            head[0..4].copy_from_slice(&size.to_le_bytes());
            tx.write_all(&head).unwrap();
            let r = read(rx.as_raw_fd());
            assert!(matches!(r, Err(ReadFault::Malformed(_))), "{size}: {r:?}");
        }
        let (tx, rx) = UnixStream::pair().unwrap();
        drop(tx);
        assert!(matches!(read(rx.as_raw_fd()), Err(ReadFault::Eof)));
    }

    #[test]
    fn bad_sizes_and_eof_are_faults() {
        check_bad_sizes_and_eof(|fd| FrameReader::new().read_now(fd));
    }
}
