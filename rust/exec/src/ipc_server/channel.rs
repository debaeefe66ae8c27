//! One accepted socket with bounded input and output buffers.
//!
//! Input: bytes are appended as they arrive and complete frames are taken
//! off the front; the buffer never holds more than one maximal frame plus
//! one read. Output: frames are queued and flushed when the socket is
//! writable; the owner decides what to do when [`Channel::queued`] passes
//! its limit.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

use ais_ipc::HEADER_SIZE;
use ais_ipc::frame::{FrameError, Header};

use crate::sys::{self, PeerCred};

/// Bytes read per readable event, for fairness between sockets.
pub const READ_CHUNK: usize = 64 * 1024;
/// Buffer capacity kept once a buffer empties; larger buffers are given
/// back. Big enough that a stream of 100 KB messages does not reallocate
/// (and remap) its buffers for every message, small enough that a few
/// hundred connections stay cheap.
pub const RETAINED_CAPACITY: usize = 256 * 1024;

pub struct Channel {
    pub stream: UnixStream,
    pub cred: PeerCred,
    input: Vec<u8>,
    /// Bytes at the front of `input` already taken as frames.
    consumed: usize,
    output: Vec<u8>,
    /// Bytes of `output` already sent.
    sent: usize,
    /// Where each frame not yet sent whole ends, counted from the first
    /// byte ever queued (so compacting `output` does not move them).
    frame_ends: VecDeque<u64>,
    /// Bytes ever queued.
    queued_total: u64,
}

/// Result of reading from a socket.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Data (maybe none) was read; more may come.
    Open,
    /// The peer closed its end or the socket failed.
    Closed,
}

impl Channel {
    pub fn new(stream: UnixStream, cred: PeerCred) -> Channel {
        Channel {
            stream,
            cred,
            input: Vec::new(),
            consumed: 0,
            output: Vec::new(),
            sent: 0,
            frame_ends: VecDeque::new(),
            queued_total: 0,
        }
    }

    pub fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }

    /// Reads at most one chunk into the input buffer.
    pub fn read_some(&mut self, scratch: &mut [u8]) -> ReadOutcome {
        // Drop the frames already taken before appending (one move per
        // read rather than one per frame).
        self.input.drain(..self.consumed);
        self.consumed = 0;
        match (&self.stream).read(scratch) {
            Ok(0) => ReadOutcome::Closed,
            Ok(n) => {
                self.input.extend_from_slice(&scratch[..n]);
                ReadOutcome::Open
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => ReadOutcome::Open,
            Err(_) => ReadOutcome::Closed,
        }
    }

    /// Input bytes not yet taken as frames.
    pub fn buffered(&self) -> usize {
        self.input.len() - self.consumed
    }

    /// Takes the next complete frame off the input, if any. A bad header
    /// is an error; the connection must then be closed.
    pub fn next_frame(&mut self) -> Result<Option<(Header, Vec<u8>)>, FrameError> {
        let rest = &self.input[self.consumed..];
        let Some(head) = rest.first_chunk::<HEADER_SIZE>() else { return Ok(None) };
        let header = Header::decode(head)?;
        let size = header.size as usize;
        if rest.len() < size {
            return Ok(None);
        }
        let body = rest[HEADER_SIZE..size].to_vec();
        self.consumed += size;
        if self.consumed == self.input.len() {
            self.input.clear();
            self.consumed = 0;
            if self.input.capacity() > RETAINED_CAPACITY {
                self.input.shrink_to(RETAINED_CAPACITY);
            }
        }
        Ok(Some((header, body)))
    }

    /// Whether unparsed input is waiting.
    pub fn has_input(&self) -> bool {
        self.consumed < self.input.len()
    }

    /// Queues one frame for sending.
    pub fn queue(&mut self, service: u32, id: u32, body: &[u8]) {
        self.output.extend_from_slice(&Header::for_body(service, id, body.len()).encode());
        self.output.extend_from_slice(body);
        self.queued_total += (HEADER_SIZE + body.len()) as u64;
        self.frame_ends.push_back(self.queued_total);
    }

    /// Frames waiting to be sent (a frame partly sent counts).
    pub fn queued_frames(&self) -> usize {
        self.frame_ends.len()
    }

    /// Bytes waiting to be sent.
    pub fn queued(&self) -> usize {
        self.output.len() - self.sent
    }

    /// Sends what the socket takes now. Err means the peer is gone.
    pub fn flush(&mut self) -> io::Result<()> {
        while self.sent < self.output.len() {
            match sys::send(self.fd(), &self.output[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        let sent_total = self.queued_total - self.queued() as u64;
        while self.frame_ends.front().is_some_and(|&end| end <= sent_total) {
            self.frame_ends.pop_front();
        }
        if self.sent == self.output.len() {
            self.output.clear();
            if self.frame_ends.capacity() > RETAINED_CAPACITY / 64 {
                self.frame_ends.shrink_to(RETAINED_CAPACITY / 64);
            }
            self.sent = 0;
            if self.output.capacity() > RETAINED_CAPACITY {
                self.output.shrink_to(RETAINED_CAPACITY);
            }
        } else if self.sent > self.output.len() / 2 {
            self.output.drain(..self.sent);
            self.sent = 0;
        }
        Ok(())
    }
}
