//! Message framing: a fixed 12-byte header, then the body.
//!
//! Header (little-endian): `size: u32` (whole message, header included),
//! `service: u32`, `id: u32`. Responses and callbacks use the same header;
//! a response body starts with the `SaAisErrorT` value as `u32`.

use std::io::{self, Read, Write};

/// Bytes in a header.
pub const HEADER_SIZE: usize = 12;
/// Largest message, header included, either side accepts. Larger payloads
/// (checkpoint sections, big events) are split by the service's library.
pub const MAX_MESSAGE_SIZE: usize = 1024 * 1024;

/// A message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Whole message length, header included.
    pub size: u32,
    pub service: u32,
    pub id: u32,
}

/// Why a header is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    TooSmall(u32),
    TooLarge(u32),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooSmall(n) => write!(f, "declared size {n} smaller than a header"),
            FrameError::TooLarge(n) => {
                write!(f, "declared size {n} over the limit of {MAX_MESSAGE_SIZE}")
            }
        }
    }
}

impl std::error::Error for FrameError {}

impl Header {
    /// The header for a body of `body_len` bytes.
    pub fn for_body(service: u32, id: u32, body_len: usize) -> Header {
        Header { size: (HEADER_SIZE + body_len) as u32, service, id }
    }

    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        out[0..4].copy_from_slice(&self.size.to_le_bytes());
        out[4..8].copy_from_slice(&self.service.to_le_bytes());
        out[8..12].copy_from_slice(&self.id.to_le_bytes());
        out
    }

    /// Decodes and validates a header: the declared size must lie between
    /// the header size and [`MAX_MESSAGE_SIZE`].
    pub fn decode(bytes: &[u8; HEADER_SIZE]) -> Result<Header, FrameError> {
        let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let header = Header { size: word(0), service: word(4), id: word(8) };
        if (header.size as usize) < HEADER_SIZE {
            return Err(FrameError::TooSmall(header.size));
        }
        if header.size as usize > MAX_MESSAGE_SIZE {
            return Err(FrameError::TooLarge(header.size));
        }
        Ok(header)
    }

    /// Length of the body that follows this header.
    pub fn body_len(&self) -> usize {
        self.size as usize - HEADER_SIZE
    }
}

/// Encodes a whole message.
pub fn encode(service: u32, id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_SIZE + body.len());
    out.extend_from_slice(&Header::for_body(service, id, body.len()).encode());
    out.extend_from_slice(body);
    out
}

/// Writes one message (blocking).
pub fn write_message<W: Write>(w: &mut W, service: u32, id: u32, body: &[u8]) -> io::Result<()> {
    if HEADER_SIZE + body.len() > MAX_MESSAGE_SIZE {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "message over the size limit"));
    }
    w.write_all(&encode(service, id, body))
}

/// Reads one message (blocking). A malformed header is `InvalidData`; end
/// of stream before a whole message is `UnexpectedEof`.
pub fn read_message<R: Read>(r: &mut R) -> io::Result<(Header, Vec<u8>)> {
    let mut head = [0u8; HEADER_SIZE];
    r.read_exact(&mut head)?;
    let header = Header::decode(&head).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut body = vec![0u8; header.body_len()];
    r.read_exact(&mut body)?;
    Ok((header, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_limits() {
        let h = Header::for_body(3, 17, 100);
        assert_eq!(Header::decode(&h.encode()), Ok(h));
        let mut small = h.encode();
        small[0..4].copy_from_slice(&5u32.to_le_bytes());
        assert_eq!(Header::decode(&small), Err(FrameError::TooSmall(5)));
        let mut big = h.encode();
        big[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Header::decode(&big), Err(FrameError::TooLarge(u32::MAX)));
    }

    #[test]
    fn read_write_message() {
        let mut buf = Vec::new();
        write_message(&mut buf, 1, 2, b"hello").unwrap();
        let (h, body) = read_message(&mut buf.as_slice()).unwrap();
        assert_eq!((h.service, h.id, body.as_slice()), (1, 2, &b"hello"[..]));
        let err = read_message(&mut &buf[..buf.len() - 1]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn oversized_write_is_refused() {
        let body = vec![0u8; MAX_MESSAGE_SIZE];
        assert!(write_message(&mut Vec::new(), 0, 0, &body).is_err());
    }
}
