//! The CFG service: the executive's administration interface (status
//! now; ring re-enable comes with redundant rings).

use ais_ipc::cfg::{Member, RingStatus, Status, STATUS};
use ais_ipc::{DecodeError, service};

use crate::ordering::{ConfigChange, NodeId};
use crate::service::{ConnId, Ctx, RequestError, Service};

#[derive(Debug, Default)]
pub struct CfgService;

impl Service for CfgService {
    fn id(&self) -> u32 {
        service::CFG
    }

    fn name(&self) -> &'static str {
        "cfg"
    }

    fn lib_request(
        &mut self,
        ctx: &mut Ctx<'_>,
        conn: ConnId,
        msg_id: u32,
        body: &[u8],
    ) -> Result<(), RequestError> {
        match msg_id {
            STATUS => {
                if !body.is_empty() {
                    return Err(RequestError::Malformed(DecodeError::Trailing { extra: body.len() }));
                }
                let s = ctx.cluster_status();
                let status = Status {
                    local_node_id: s.local_node,
                    ring_rep: s.ring_id.rep,
                    ring_seq: s.ring_id.seq,
                    rings: s.rings.into_iter().map(|(number, status)| RingStatus { number, status }).collect(),
                    members: s
                        .members
                        .into_iter()
                        .map(|m| Member { node_id: m.node, address: m.address })
                        .collect(),
                };
                ctx.reply_body(conn, msg_id, status.encode_response());
                Ok(())
            }
            other => Err(RequestError::UnknownId(other)),
        }
    }

    fn deliver(&mut self, _ctx: &mut Ctx<'_>, _sender: NodeId, _payload: &[u8]) {}

    fn config_change(&mut self, _ctx: &mut Ctx<'_>, _change: &ConfigChange) {}

    fn conn_closed(&mut self, _ctx: &mut Ctx<'_>, _conn: ConnId) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ordering::Loopback;
    use crate::service::Output;
    use std::time::Instant;

    #[test]
    fn status_reply_decodes_and_bad_requests_are_errors() {
        let mut lb = Loopback::new(3, "127.0.0.1".into());
        let mut out = Vec::new();
        let mut ctx = Ctx::new(Instant::now(), service::CFG, &mut lb, &mut out);
        let mut cfg = CfgService;
        cfg.lib_request(&mut ctx, ConnId(1), STATUS, &[]).unwrap();
        assert!(matches!(cfg.lib_request(&mut ctx, ConnId(1), STATUS, &[0]), Err(RequestError::Malformed(_))));
        assert_eq!(cfg.lib_request(&mut ctx, ConnId(1), 99, &[]), Err(RequestError::UnknownId(99)));
        let [Output::Reply { conn, id, body }] = out.as_slice() else { panic!("{out:?}") };
        assert_eq!((*conn, *id), (ConnId(1), STATUS));
        let status = Status::decode_response(body).unwrap().unwrap();
        assert_eq!((status.local_node_id, status.ring_rep, status.ring_seq), (3, 3, 4));
        assert_eq!(status.members, vec![Member { node_id: 3, address: "127.0.0.1".into() }]);
        assert_eq!(status.rings[0].status, "active, no faults");
    }
}
