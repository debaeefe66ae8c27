//! The CFG service: the executive's administration interface: status, and
//! re-enabling FAULTY redundant rings.
//!
//! `REENABLE` is cluster-wide: the node asked re-enables its own rings at
//! once and submits [`MSG_REENABLE`] (agreed order); every other node
//! re-enables its rings when that message is delivered. The client gets
//! `OK` as soon as the request is queued (`TRY_AGAIN` if the queue is full).

use ais_ipc::cfg::{Counter, Member, QuorumStatus, REENABLE, RingStatus, STATUS, Status, encode_error};
use ais_ipc::{DecodeError, error, service};

use crate::ordering::{ConfigChange, Guarantee, NodeId};
use crate::service::{ConnId, Ctx, RequestError, Service};

/// The cluster message: "re-enable your FAULTY redundant rings".
pub const MSG_REENABLE: u8 = 1;

#[derive(Debug, Default)]
pub struct CfgService {
    quorum: crate::quorum::Status,
}

impl CfgService {
    fn quorum_status(&self) -> QuorumStatus {
        let q = &self.quorum;
        let flag = |on: bool, f: u32| if on { f } else { 0 };
        QuorumStatus {
            flags: flag(q.enabled, ais_ipc::cfg::QUORUM_CONFIGURED)
                | flag(q.enabled && q.quorate, ais_ipc::cfg::QUORATE)
                | flag(q.waiting_for_all, ais_ipc::cfg::WAITING_FOR_ALL),
            expected_votes: q.expected_votes,
            total_votes: q.total_votes,
            quorum: q.quorum,
        }
    }
}

impl Service for CfgService {
    fn id(&self) -> u32 {
        service::CFG
    }

    fn name(&self) -> &'static str {
        "cfg"
    }

    fn lib_request(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg_id: u32, body: &[u8]) -> Result<(), RequestError> {
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
                    members: s.members.into_iter().map(|m| Member { node_id: m.node, address: m.address }).collect(),
                    counters: s.counters.into_iter().map(|(name, value)| Counter { name, value }).collect(),
                    quorum: self.quorum_status(),
                };
                ctx.reply_body(conn, msg_id, status.encode_response());
                Ok(())
            }
            REENABLE => {
                if !body.is_empty() {
                    return Err(RequestError::Malformed(DecodeError::Trailing { extra: body.len() }));
                }
                let answer = match ctx.submit(&[MSG_REENABLE], Guarantee::Agreed) {
                    Ok(()) => {
                        let n = ctx.reenable_rings();
                        crate::log_limited!(
                            Notice,
                            Cfg,
                            "re-enable of redundant rings requested: {n} FAULTY here, asking every node"
                        );
                        error::OK
                    }
                    Err(_) => error::TRY_AGAIN,
                };
                ctx.reply_body(conn, msg_id, encode_error(answer));
                Ok(())
            }
            other => Err(RequestError::UnknownId(other)),
        }
    }

    fn deliver(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, payload: &[u8]) {
        match payload {
            [MSG_REENABLE] if sender != ctx.local_node() => {
                let n = ctx.reenable_rings();
                if n > 0 {
                    crate::log_limited!(
                        Notice,
                        Cfg,
                        "node {sender} asked to re-enable redundant rings: {n} re-enabled"
                    );
                }
            }
            [MSG_REENABLE] => {} // ours: already done when asked
            _ => crate::log_limited!(
                Warning,
                Cfg,
                "ignoring a malformed CFG message of {} bytes from node {sender}",
                payload.len()
            ),
        }
    }

    fn quorum(&mut self, quorum: &crate::quorum::Tracker) {
        self.quorum = quorum.status();
    }

    fn config_change(&mut self, _ctx: &mut Ctx<'_>, _change: &ConfigChange) {}

    fn conn_closed(&mut self, _ctx: &mut Ctx<'_>, _conn: ConnId) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ordering::Loopback;
    use crate::service::Output;

    #[test]
    fn status_reply_decodes_and_bad_requests_are_errors() {
        let mut lb = Loopback::new(3, "127.0.0.1".into());
        let mut out = Vec::new();
        let mut ctx = Ctx::new(crate::services::testkit::time_zero(), service::CFG, &mut lb, &mut out);
        let mut cfg = CfgService::default();
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

    #[test]
    fn reenable_answers_ok_and_orders_a_cluster_message() {
        let mut lb = Loopback::new(3, "127.0.0.1".into());
        let mut out = Vec::new();
        let mut cfg = CfgService::default();
        {
            let mut ctx = Ctx::new(crate::services::testkit::time_zero(), service::CFG, &mut lb, &mut out);
            cfg.lib_request(&mut ctx, ConnId(1), REENABLE, &[]).unwrap();
            assert!(matches!(cfg.lib_request(&mut ctx, ConnId(1), REENABLE, &[1]), Err(RequestError::Malformed(_))));
            // a malformed delivered message is ignored, not a panic
            cfg.deliver(&mut ctx, 4, &[9, 9]);
            cfg.deliver(&mut ctx, 4, &[MSG_REENABLE]);
        }
        let [Output::Reply { id, body, .. }] = out.as_slice() else { panic!("{out:?}") };
        assert_eq!(*id, REENABLE);
        assert_eq!(ais_ipc::cfg::decode_error(body), Ok(error::OK));
        use crate::ordering::{ClusterEvent, Ordering};
        lb.handle_timeout(crate::services::testkit::time_zero().mono);
        let mut delivered = Vec::new();
        while let Some(ev) = lb.poll_event() {
            if let ClusterEvent::Deliver { payload, .. } = ev {
                delivered.push(payload);
            }
        }
        let mut want = service::CFG.to_le_bytes().to_vec();
        want.push(MSG_REENABLE);
        assert_eq!(delivered, vec![want]);
    }
}
