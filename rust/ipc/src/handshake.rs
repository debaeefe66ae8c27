//! The first message on every new socket.
//!
//! A library first opens the request channel with `Hello { role: Request }`;
//! the executive answers `HelloReply` with a result and a random token. The
//! library then opens the dispatch channel with `Hello { role: Dispatch }`
//! carrying that token, which pairs the two sockets into one connection.
//! Handshake messages use service [`HANDSHAKE_SERVICE`].

use crate::codec::{DecodeError, Reader, Writer};

/// Version of this wire protocol; both sides must agree exactly.
pub const PROTOCOL_VERSION: u32 = 1;
/// The service field of handshake messages.
pub const HANDSHAKE_SERVICE: u32 = 0xffff_ffff;
pub const HELLO_ID: u32 = 1;
pub const HELLO_REPLY_ID: u32 = 2;

/// Which channel of a connection a socket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Request = 1,
    Dispatch = 2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub protocol: u32,
    pub role: Role,
    /// The service this connection talks to.
    pub service: u32,
    /// Zero on the request channel; the token from `HelloReply` on the
    /// dispatch channel.
    pub token: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloReply {
    /// An `SaAisErrorT` value (`error::OK` on success).
    pub error: u32,
    pub token: u64,
}

impl Hello {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(self.protocol).u32(self.role as u32).u32(self.service).u64(self.token);
        w.into_vec()
    }

    pub fn decode(body: &[u8]) -> Result<Hello, DecodeError> {
        let mut r = Reader::new(body);
        let protocol = r.u32("protocol")?;
        let role = match r.u32("role")? {
            1 => Role::Request,
            2 => Role::Dispatch,
            v => return Err(DecodeError::BadValue { what: "role", value: v as u64 }),
        };
        let service = r.u32("service")?;
        let token = r.u64("token")?;
        r.finish()?;
        Ok(Hello { protocol, role, service, token })
    }
}

impl HelloReply {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(self.error).u64(self.token);
        w.into_vec()
    }

    pub fn decode(body: &[u8]) -> Result<HelloReply, DecodeError> {
        let mut r = Reader::new(body);
        let error = r.u32("error")?;
        let token = r.u64("token")?;
        r.finish()?;
        Ok(HelloReply { error, token })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trip_and_bad_role() {
        let h = Hello { protocol: PROTOCOL_VERSION, role: Role::Dispatch, service: 3, token: 99 };
        assert_eq!(Hello::decode(&h.encode()), Ok(h.clone()));
        let mut bad = h.encode();
        bad[4] = 9;
        assert!(matches!(Hello::decode(&bad), Err(DecodeError::BadValue { what: "role", .. })));
        assert!(Hello::decode(&h.encode()[..10]).is_err());
        let r = HelloReply { error: 1, token: 5 };
        assert_eq!(HelloReply::decode(&r.encode()), Ok(r));
    }
}
