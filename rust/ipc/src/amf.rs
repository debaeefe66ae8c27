//! Messages of the availability management service
//! ([`crate::service::AMF`]), shared by `aisexec` and `libSaAmf`.
//!
//! Requests (library -> executive). Every response body starts with a
//! `u32` error; what follows is present only if it is `OK`. Names are
//! `SaNameT` values (at most [`MAX_NAME`] bytes).
//! ```text
//! REGISTER        bytes comp                          -> ()
//! UNREGISTER      bytes comp                          -> ()
//! RESPONSE        u64 invocation, u32 error           -> ()
//! HA_STATE_GET    bytes comp, bytes csi               -> u32 ha state
//! ERROR_REPORT    bytes comp, i64 time, u32 recovery  -> ()
//! HC_START        bytes comp, bytes key, u32 invocation type, u32 recovery -> ()
//! HC_CONFIRM      bytes comp, bytes key, u32 result   -> ()
//! HC_STOP         bytes comp, bytes key               -> ()
//! ERROR_CLEAR     bytes comp                          -> ()
//! QUIESCING_DONE  u64 invocation, u32 error           -> ()
//! PM_START        bytes comp, u64 pid, i32 depth, u32 errors, u32 recovery -> ()
//! PM_STOP         bytes comp, u32 qualifier, i64 pid, u32 errors -> ()
//! PG_TRACK        bytes csi, u8 flags, bool current by callback -> u32 n, n x Member
//! PG_TRACK_STOP   bytes csi                           -> ()
//! REGISTER_A      bytes comp                          -> ()
//! COMP_INFO       bytes comp                          -> u32 readiness, u32 capability
//! ```
//! `REGISTER_A` is `REGISTER` by an A.01.01 client: the executive then
//! sends it `READINESS` (IN_SERVICE) before its first CSI and runs the
//! AMF-invoked healthcheck of its first configured key. `COMP_INFO`
//! answers the A.01.01 readiness and capability queries
//! (`SaAmfReadinessStateT`, `SaAmfComponentCapabilityModelT` numbers).
//! Callbacks (executive -> library):
//! ```text
//! CSI_SET      u64 invocation, bytes comp, u32 ha state, CsiDescriptor
//! CSI_REMOVE   u64 invocation, bytes comp, bytes csi, u32 flags
//! HEALTHCHECK  u64 invocation, bytes comp, bytes key
//! PG_CHANGED   bytes csi, u32 members, u32 n, n x Member
//! TERMINATE    u64 invocation, bytes comp
//! READINESS    u64 invocation, bytes comp, u32 readiness state
//! ```
//! `Member`: bytes comp, u32 ha state, u32 rank, u32 change
//! (`SaAmfProtectionGroupChangesT`).
//! `CsiDescriptor`: u32 flags, bytes csi, u32 transition, bytes active
//! component, u32 standby rank, u32 n, n x (bytes name, bytes value).

use crate::codec::{DecodeError, Reader, Writer};

pub const REGISTER: u32 = 1;
pub const UNREGISTER: u32 = 2;
pub const RESPONSE: u32 = 3;
pub const HA_STATE_GET: u32 = 4;
pub const ERROR_REPORT: u32 = 5;
pub const HC_START: u32 = 6;
pub const HC_CONFIRM: u32 = 7;
pub const HC_STOP: u32 = 8;
pub const ERROR_CLEAR: u32 = 9;
pub const QUIESCING_DONE: u32 = 10;
pub const PM_START: u32 = 11;
pub const PM_STOP: u32 = 12;
pub const PG_TRACK: u32 = 13;
pub const PG_TRACK_STOP: u32 = 14;
pub const REGISTER_A: u32 = 15;
pub const COMP_INFO: u32 = 16;

pub const CSI_SET: u32 = 20;
pub const CSI_REMOVE: u32 = 21;
pub const HEALTHCHECK: u32 = 22;
pub const PG_CHANGED: u32 = 23;
pub const TERMINATE: u32 = 25;
pub const READINESS: u32 = 24;

/// `SaAmfReadinessStateT` (A.01.01 numbers, the same in B.01.01).
pub const READINESS_OUT_OF_SERVICE: u32 = 1;
pub const READINESS_IN_SERVICE: u32 = 2;

/// Track flags (`saAis.h`).
pub const TRACK_CURRENT: u8 = 0x01;
pub const TRACK_CHANGES: u8 = 0x02;
pub const TRACK_CHANGES_ONLY: u8 = 0x04;

/// `SaAmfProtectionGroupChangesT`.
pub const PG_NO_CHANGE: u32 = 1;
pub const PG_ADDED: u32 = 2;
pub const PG_REMOVED: u32 = 3;
pub const PG_STATE_CHANGE: u32 = 4;

/// `SaAmfPmErrorsT` bits.
pub const PM_ERRORS: u32 = 0x7;
/// Most members of one protection group.
pub const MAX_MEMBERS: usize = 1024;

/// `SA_MAX_NAME_LENGTH`.
pub const MAX_NAME: usize = 256;
/// `SA_AMF_HEALTHCHECK_KEY_MAX`.
pub const MAX_KEY: usize = 32;
/// Most attributes of one CSI, and bytes of one attribute name or value.
pub const MAX_ATTRS: usize = 256;
pub const MAX_ATTR_BYTES: usize = 1024;

/// `SaAmfHAStateT`.
pub const HA_ACTIVE: u32 = 1;
pub const HA_STANDBY: u32 = 2;
pub const HA_QUIESCED: u32 = 3;
pub const HA_QUIESCING: u32 = 4;

/// `SaAmfCSIFlagsT` bits.
pub const CSI_ADD_ONE: u32 = 0x1;
pub const CSI_TARGET_ONE: u32 = 0x2;
pub const CSI_TARGET_ALL: u32 = 0x4;

/// `SaAmfCSITransitionDescriptorT`.
pub const TRANSITION_NEW_ASSIGN: u32 = 1;
pub const TRANSITION_QUIESCED: u32 = 2;
pub const TRANSITION_NOT_QUIESCED: u32 = 3;
pub const TRANSITION_STILL_ACTIVE: u32 = 4;

/// `SaAmfHealthcheckInvocationT`.
pub const HC_AMF_INVOKED: u32 = 1;
pub const HC_COMPONENT_INVOKED: u32 = 2;

/// `SaAmfRecommendedRecoveryT` (B.01.01).
pub const NO_RECOMMENDATION: u32 = 1;
pub const COMPONENT_RESTART: u32 = 2;
pub const COMPONENT_FAILOVER: u32 = 3;
pub const NODE_SWITCHOVER: u32 = 4;
pub const NODE_FAILOVER: u32 = 5;
pub const NODE_FAILFAST: u32 = 6;
pub const CLUSTER_RESET: u32 = 7;
pub const APPLICATION_RESTART: u32 = 8;

/// A library request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Register {
        comp: Vec<u8>,
    },
    Unregister {
        comp: Vec<u8>,
    },
    Response {
        invocation: u64,
        error: u32,
    },
    HaStateGet {
        comp: Vec<u8>,
        csi: Vec<u8>,
    },
    ErrorReport {
        comp: Vec<u8>,
        time: i64,
        recovery: u32,
    },
    HcStart {
        comp: Vec<u8>,
        key: Vec<u8>,
        invocation_type: u32,
        recovery: u32,
    },
    HcConfirm {
        comp: Vec<u8>,
        key: Vec<u8>,
        result: u32,
    },
    HcStop {
        comp: Vec<u8>,
        key: Vec<u8>,
    },
    ErrorClear {
        comp: Vec<u8>,
    },
    QuiescingDone {
        invocation: u64,
        error: u32,
    },
    PmStart {
        comp: Vec<u8>,
        pid: u64,
        depth: i32,
        errors: u32,
        recovery: u32,
    },
    PmStop {
        comp: Vec<u8>,
        qualifier: u32,
        pid: i64,
        errors: u32,
    },
    /// `by_callback`: `SA_TRACK_CURRENT` is answered by a `PG_CHANGED`
    /// callback (no buffer given) rather than in the reply.
    PgTrack {
        csi: Vec<u8>,
        flags: u8,
        by_callback: bool,
    },
    PgTrackStop {
        csi: Vec<u8>,
    },
    RegisterA {
        comp: Vec<u8>,
    },
    CompInfo {
        comp: Vec<u8>,
    },
}

/// One protection group member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub comp: Vec<u8>,
    pub ha: u32,
    pub rank: u32,
    pub change: u32,
}

impl Member {
    pub fn write(&self, w: &mut Writer) {
        w.bytes(&self.comp).u32(self.ha).u32(self.rank).u32(self.change);
    }

    pub fn read(r: &mut Reader<'_>) -> Result<Member, DecodeError> {
        Ok(Member { comp: name(r, "member")?, ha: r.u32("ha")?, rank: r.u32("rank")?, change: r.u32("change")? })
    }
}

/// Members in a reply or callback.
pub fn write_members(w: &mut Writer, members: &[Member]) {
    w.u32(members.len() as u32);
    for m in members {
        m.write(w);
    }
}

pub fn read_members(r: &mut Reader<'_>) -> Result<Vec<Member>, DecodeError> {
    let n = r.count(MAX_MEMBERS, 16, "members")?;
    (0..n).map(|_| Member::read(r)).collect()
}

fn name(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<u8>, DecodeError> {
    Ok(r.bytes(MAX_NAME, what)?.to_vec())
}

fn key(r: &mut Reader<'_>) -> Result<Vec<u8>, DecodeError> {
    Ok(r.bytes(MAX_KEY, "healthcheck key")?.to_vec())
}

impl Request {
    pub fn id(&self) -> u32 {
        match self {
            Request::Register { .. } => REGISTER,
            Request::Unregister { .. } => UNREGISTER,
            Request::Response { .. } => RESPONSE,
            Request::HaStateGet { .. } => HA_STATE_GET,
            Request::ErrorReport { .. } => ERROR_REPORT,
            Request::HcStart { .. } => HC_START,
            Request::HcConfirm { .. } => HC_CONFIRM,
            Request::HcStop { .. } => HC_STOP,
            Request::ErrorClear { .. } => ERROR_CLEAR,
            Request::QuiescingDone { .. } => QUIESCING_DONE,
            Request::PmStart { .. } => PM_START,
            Request::PmStop { .. } => PM_STOP,
            Request::PgTrack { .. } => PG_TRACK,
            Request::PgTrackStop { .. } => PG_TRACK_STOP,
            Request::RegisterA { .. } => REGISTER_A,
            Request::CompInfo { .. } => COMP_INFO,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Request::Register { comp }
            | Request::Unregister { comp }
            | Request::ErrorClear { comp }
            | Request::RegisterA { comp }
            | Request::CompInfo { comp } => {
                w.bytes(comp);
            }
            Request::PgTrackStop { csi } => {
                w.bytes(csi);
            }
            Request::PgTrack { csi, flags, by_callback } => {
                w.bytes(csi).u8(*flags).bool(*by_callback);
            }
            Request::PmStart { comp, pid, depth, errors, recovery } => {
                w.bytes(comp).u64(*pid).u32(*depth as u32).u32(*errors).u32(*recovery);
            }
            Request::PmStop { comp, qualifier, pid, errors } => {
                w.bytes(comp).u32(*qualifier).i64(*pid).u32(*errors);
            }
            Request::Response { invocation, error } | Request::QuiescingDone { invocation, error } => {
                w.u64(*invocation).u32(*error);
            }
            Request::HaStateGet { comp, csi } => {
                w.bytes(comp).bytes(csi);
            }
            Request::ErrorReport { comp, time, recovery } => {
                w.bytes(comp).i64(*time).u32(*recovery);
            }
            Request::HcStart { comp, key, invocation_type, recovery } => {
                w.bytes(comp).bytes(key).u32(*invocation_type).u32(*recovery);
            }
            Request::HcConfirm { comp, key, result } => {
                w.bytes(comp).bytes(key).u32(*result);
            }
            Request::HcStop { comp, key } => {
                w.bytes(comp).bytes(key);
            }
        }
        w.into_vec()
    }

    /// Decodes request `id`; `Ok(None)` for an id that is not an AMF
    /// request.
    pub fn decode(id: u32, body: &[u8]) -> Result<Option<Request>, DecodeError> {
        let mut r = Reader::new(body);
        let req = match id {
            REGISTER => Request::Register { comp: name(&mut r, "component")? },
            UNREGISTER => Request::Unregister { comp: name(&mut r, "component")? },
            RESPONSE => Request::Response { invocation: r.u64("invocation")?, error: r.u32("error")? },
            HA_STATE_GET => Request::HaStateGet { comp: name(&mut r, "component")?, csi: name(&mut r, "csi")? },
            ERROR_REPORT => Request::ErrorReport {
                comp: name(&mut r, "component")?,
                time: r.i64("time")?,
                recovery: r.u32("recovery")?,
            },
            HC_START => Request::HcStart {
                comp: name(&mut r, "component")?,
                key: key(&mut r)?,
                invocation_type: r.u32("invocation type")?,
                recovery: r.u32("recovery")?,
            },
            HC_CONFIRM => {
                Request::HcConfirm { comp: name(&mut r, "component")?, key: key(&mut r)?, result: r.u32("result")? }
            }
            HC_STOP => Request::HcStop { comp: name(&mut r, "component")?, key: key(&mut r)? },
            ERROR_CLEAR => Request::ErrorClear { comp: name(&mut r, "component")? },
            QUIESCING_DONE => Request::QuiescingDone { invocation: r.u64("invocation")?, error: r.u32("error")? },
            PM_START => Request::PmStart {
                comp: name(&mut r, "component")?,
                pid: r.u64("pid")?,
                depth: r.u32("depth")? as i32,
                errors: r.u32("errors")?,
                recovery: r.u32("recovery")?,
            },
            PM_STOP => Request::PmStop {
                comp: name(&mut r, "component")?,
                qualifier: r.u32("qualifier")?,
                pid: r.i64("pid")?,
                errors: r.u32("errors")?,
            },
            PG_TRACK => Request::PgTrack {
                csi: name(&mut r, "csi")?,
                flags: r.u8("flags")?,
                by_callback: r.bool("by callback")?,
            },
            PG_TRACK_STOP => Request::PgTrackStop { csi: name(&mut r, "csi")? },
            REGISTER_A => Request::RegisterA { comp: name(&mut r, "component")? },
            COMP_INFO => Request::CompInfo { comp: name(&mut r, "component")? },
            _ => return Ok(None),
        };
        r.finish()?;
        Ok(Some(req))
    }
}

/// What `saAmfCSISetCallback` hands the component.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsiDescriptor {
    pub flags: u32,
    pub csi: Vec<u8>,
    /// For ACTIVE.
    pub transition: u32,
    /// For ACTIVE (the previous active, if any) and STANDBY (the active).
    pub active_comp: Vec<u8>,
    /// For STANDBY.
    pub standby_rank: u32,
    pub attrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    CsiSet { invocation: u64, comp: Vec<u8>, ha: u32, csi: CsiDescriptor },
    CsiRemove { invocation: u64, comp: Vec<u8>, csi: Vec<u8>, flags: u32 },
    Healthcheck { invocation: u64, comp: Vec<u8>, key: Vec<u8> },
    PgChanged { csi: Vec<u8>, members: u32, notification: Vec<Member> },
    Terminate { invocation: u64, comp: Vec<u8> },
    Readiness { invocation: u64, comp: Vec<u8>, state: u32 },
}

impl Callback {
    pub fn id(&self) -> u32 {
        match self {
            Callback::CsiSet { .. } => CSI_SET,
            Callback::CsiRemove { .. } => CSI_REMOVE,
            Callback::Healthcheck { .. } => HEALTHCHECK,
            Callback::PgChanged { .. } => PG_CHANGED,
            Callback::Terminate { .. } => TERMINATE,
            Callback::Readiness { .. } => READINESS,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Callback::CsiSet { invocation, comp, ha, csi } => {
                w.u64(*invocation).bytes(comp).u32(*ha);
                w.u32(csi.flags).bytes(&csi.csi).u32(csi.transition).bytes(&csi.active_comp).u32(csi.standby_rank);
                w.u32(csi.attrs.len() as u32);
                for (n, v) in &csi.attrs {
                    w.bytes(n).bytes(v);
                }
            }
            Callback::CsiRemove { invocation, comp, csi, flags } => {
                w.u64(*invocation).bytes(comp).bytes(csi).u32(*flags);
            }
            Callback::Healthcheck { invocation, comp, key } => {
                w.u64(*invocation).bytes(comp).bytes(key);
            }
            Callback::PgChanged { csi, members, notification } => {
                w.bytes(csi).u32(*members);
                write_members(&mut w, notification);
            }
            Callback::Terminate { invocation, comp } => {
                w.u64(*invocation).bytes(comp);
            }
            Callback::Readiness { invocation, comp, state } => {
                w.u64(*invocation).bytes(comp).u32(*state);
            }
        }
        w.into_vec()
    }

    pub fn decode(id: u32, body: &[u8]) -> Result<Callback, DecodeError> {
        let mut r = Reader::new(body);
        let cb = match id {
            CSI_SET => {
                let invocation = r.u64("invocation")?;
                let comp = name(&mut r, "component")?;
                let ha = r.u32("ha state")?;
                let flags = r.u32("csi flags")?;
                let csi = name(&mut r, "csi")?;
                let transition = r.u32("transition")?;
                let active_comp = name(&mut r, "active component")?;
                let standby_rank = r.u32("standby rank")?;
                let n = r.count(MAX_ATTRS, 8, "attributes")?;
                let mut attrs = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = r.bytes(MAX_ATTR_BYTES, "attribute name")?.to_vec();
                    let v = r.bytes(MAX_ATTR_BYTES, "attribute value")?.to_vec();
                    attrs.push((k, v));
                }
                Callback::CsiSet {
                    invocation,
                    comp,
                    ha,
                    csi: CsiDescriptor { flags, csi, transition, active_comp, standby_rank, attrs },
                }
            }
            CSI_REMOVE => Callback::CsiRemove {
                invocation: r.u64("invocation")?,
                comp: name(&mut r, "component")?,
                csi: name(&mut r, "csi")?,
                flags: r.u32("csi flags")?,
            },
            HEALTHCHECK => Callback::Healthcheck {
                invocation: r.u64("invocation")?,
                comp: name(&mut r, "component")?,
                key: key(&mut r)?,
            },
            PG_CHANGED => Callback::PgChanged {
                csi: name(&mut r, "csi")?,
                members: r.u32("members")?,
                notification: read_members(&mut r)?,
            },
            TERMINATE => Callback::Terminate { invocation: r.u64("invocation")?, comp: name(&mut r, "component")? },
            READINESS => Callback::Readiness {
                invocation: r.u64("invocation")?,
                comp: name(&mut r, "component")?,
                state: r.u32("readiness")?,
            },
            other => return Err(DecodeError::BadValue { what: "amf callback id", value: other.into() }),
        };
        r.finish()?;
        Ok(cb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_short_input_is_refused() {
        let reqs = [
            Request::Register { comp: b"safComp=C".to_vec() },
            Request::Response { invocation: 7, error: 1 },
            Request::HaStateGet { comp: b"c".to_vec(), csi: b"s".to_vec() },
            Request::ErrorReport { comp: b"c".to_vec(), time: -1, recovery: COMPONENT_FAILOVER },
            Request::HcStart { comp: b"c".to_vec(), key: b"k".to_vec(), invocation_type: 1, recovery: 2 },
            Request::PmStart { comp: b"c".to_vec(), pid: 9, depth: -1, errors: 4, recovery: 2 },
            Request::PmStop { comp: b"c".to_vec(), qualifier: 1, pid: -3, errors: 1 },
            Request::PgTrack { csi: b"s".to_vec(), flags: TRACK_CHANGES, by_callback: true },
            Request::QuiescingDone { invocation: 5, error: 1 },
            Request::RegisterA { comp: b"safComp=A".to_vec() },
            Request::CompInfo { comp: b"c".to_vec() },
        ];
        for q in reqs {
            let body = q.encode();
            assert_eq!(Request::decode(q.id(), &body), Ok(Some(q.clone())));
            assert!(Request::decode(q.id(), &body[..body.len() - 1]).is_err());
        }
        assert_eq!(Request::decode(99, &[]), Ok(None));
        let mut w = Writer::new();
        w.bytes(&[b'x'; MAX_NAME + 1]);
        assert!(Request::decode(REGISTER, w.as_slice()).is_err());
    }

    #[test]
    fn callbacks_round_trip() {
        let cb = Callback::CsiSet {
            invocation: 3,
            comp: b"c".to_vec(),
            ha: HA_STANDBY,
            csi: CsiDescriptor {
                flags: CSI_ADD_ONE,
                csi: b"safCsi=A".to_vec(),
                transition: 0,
                active_comp: b"a".to_vec(),
                standby_rank: 1,
                attrs: vec![(b"port".to_vec(), b"80".to_vec())],
            },
        };
        assert_eq!(Callback::decode(CSI_SET, &cb.encode()), Ok(cb));
        let m = Member { comp: b"c".to_vec(), ha: HA_ACTIVE, rank: 0, change: PG_ADDED };
        let cb = Callback::PgChanged { csi: b"s".to_vec(), members: 1, notification: vec![m] };
        assert_eq!(Callback::decode(PG_CHANGED, &cb.encode()), Ok(cb));
        let cb = Callback::Terminate { invocation: 9, comp: b"c".to_vec() };
        assert_eq!(Callback::decode(TERMINATE, &cb.encode()), Ok(cb.clone()));
        assert!(Callback::decode(TERMINATE, &cb.encode()[..8]).is_err());
        let cb = Callback::Readiness { invocation: 9, comp: b"c".to_vec(), state: READINESS_IN_SERVICE };
        assert_eq!(Callback::decode(READINESS, &cb.encode()), Ok(cb));
        assert!(Callback::decode(77, &[]).is_err());
    }
}
