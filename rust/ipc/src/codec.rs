//! Bounded little-endian encoding and decoding of message bodies.
//!
//! Every `get_*` checks the remaining length first and returns a
//! [`DecodeError`]; variable-length fields carry a declared length that is
//! checked against both a caller-given limit and the bytes actually present,
//! so a hostile length never causes a large allocation.

use std::fmt;

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended before the field `what`.
    Short { what: &'static str },
    /// A declared length or count exceeds its limit.
    TooLong { what: &'static str, len: usize, max: usize },
    /// A field holds a value outside its domain.
    BadValue { what: &'static str, value: u64 },
    /// Bytes left over after the last field.
    Trailing { extra: usize },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Short { what } => write!(f, "message too short for {what}"),
            DecodeError::TooLong { what, len, max } => {
                write!(f, "{what} length {len} exceeds limit {max}")
            }
            DecodeError::BadValue { what, value } => write!(f, "bad {what}: {value}"),
            DecodeError::Trailing { extra } => write!(f, "{extra} unexpected trailing bytes"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A cursor over a received body.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() { Ok(()) } else { Err(DecodeError::Trailing { extra: self.buf.len() }) }
    }

    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Short { what });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    /// A boolean encoded as one byte, 0 or 1.
    pub fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(DecodeError::BadValue { what, value: v as u64 }),
        }
    }

    /// A `u32` length followed by that many bytes, at most `max`.
    pub fn bytes(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(what)? as usize;
        if len > max {
            return Err(DecodeError::TooLong { what, len, max });
        }
        self.take(len, what)
    }

    /// A count of following items, at most `max` and at most what the
    /// remaining bytes could hold at `min_item_size` bytes per item.
    pub fn count(&mut self, max: usize, min_item_size: usize, what: &'static str) -> Result<usize, DecodeError> {
        let n = self.u32(what)? as usize;
        let fits = self.buf.len() / min_item_size.max(1);
        if n > max {
            return Err(DecodeError::TooLong { what, len: n, max });
        }
        if n > fits {
            return Err(DecodeError::Short { what });
        }
        Ok(n)
    }
}

/// A growable body being encoded.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer { buf: Vec::new() }
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(v as u8)
    }

    /// A `u32` length followed by the bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.buf.extend_from_slice(v);
        self
    }

    pub fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut w = Writer::new();
        w.u8(7).u16(300).u32(70000).u64(1 << 40).i64(-5).bool(true).bytes(b"abc");
        let v = w.into_vec();
        let mut r = Reader::new(&v);
        assert_eq!(r.u8("a").unwrap(), 7);
        assert_eq!(r.u16("b").unwrap(), 300);
        assert_eq!(r.u32("c").unwrap(), 70000);
        assert_eq!(r.u64("d").unwrap(), 1 << 40);
        assert_eq!(r.i64("e").unwrap(), -5);
        assert!(r.bool("f").unwrap());
        assert_eq!(r.bytes(3, "g").unwrap(), b"abc");
        r.finish().unwrap();
    }

    #[test]
    fn short_input_is_an_error() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u32("field"), Err(DecodeError::Short { what: "field" }));
    }

    #[test]
    fn declared_length_over_limit_is_rejected() {
        let mut w = Writer::new();
        w.bytes(&[0u8; 10]);
        let v = w.into_vec();
        assert!(matches!(Reader::new(&v).bytes(9, "x"), Err(DecodeError::TooLong { .. })));
        // A length larger than the bytes present is short, not an allocation.
        let lie = 0xffff_fff0u32.to_le_bytes();
        assert!(matches!(Reader::new(&lie).bytes(usize::MAX, "x"), Err(DecodeError::Short { .. })));
    }

    #[test]
    fn count_is_bounded_by_remaining_bytes() {
        let mut w = Writer::new();
        w.u32(1000).u32(1);
        let v = w.into_vec();
        assert!(matches!(Reader::new(&v).count(10_000, 4, "n"), Err(DecodeError::Short { .. })));
        assert!(matches!(Reader::new(&v).count(10, 4, "n"), Err(DecodeError::TooLong { .. })));
    }

    #[test]
    fn bad_bool_and_trailing_bytes() {
        assert!(matches!(Reader::new(&[2]).bool("b"), Err(DecodeError::BadValue { .. })));
        let r = Reader::new(&[0]);
        assert_eq!(r.finish(), Err(DecodeError::Trailing { extra: 1 }));
    }
}
