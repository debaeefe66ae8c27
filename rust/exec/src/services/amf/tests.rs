//! The AMF configuration parser and the replicated state machine (pure:
//! events in, effects out).

use std::sync::Arc;

use ais_ipc::amf::{self as wire, Callback};
use ais_ipc::{Writer, error};

use super::clc::Kind;
use super::conf::Model;
use super::state::{Effect, Event, Presence, State, UNTIMED};
use crate::service::ConnId;

/// The 2N pair of the issue: SU1 on amf1, SU2 on amf2, one SI with one
/// CSI carrying an attribute. `recovery` is the components'.
fn config(recovery: &str) -> String {
    let comp = |su: &str, node: &str| {
        format!(
            "safSu = {su} {{
                saAmfSUHostedByNode={node}
                saAmfSUNumComponents=1
                safComp = C {{
                    saAmfCompCategory=sa_aware
                    saAmfCompCapability=x_active_or_y_standby
                    saAmfCompNumMaxActiveCsi=1
                    saAmfCompNumMaxStandbyCsi=1
                    saAmfCompDefaultClcCliTimeout=2000
                    saAmfCompDefaultCallbackTimeOut=2000
                    saAmfCompInstantiateCmd=clc
                    saAmfCompInstantiateCmdArgv=instantiate /usr/lib/app/server
                    saAmfCompCleanupCmd=/bin/clc
                    saAmfCompCleanupCmdArgv=cleanup
                    saAmfCompCsTypes {{
                        WEB
                    }}
                    saAmfCompCmdEnv {{
                        A=b
                    }}
                    saAmfCompRecoveryOnError={recovery}
                    safHealthcheckKey = key1 {{
                        saAmfHealthcheckPeriod=1000
                        saAmfHealthcheckMaxDuration=500
                    }}
                }}
            }}"
        )
    };
    format!(
        "# test
safAmfCluster = CL {{
    saAmfClusterStartupTimeout=2000
    safAmfNode = amf1 {{
        saAmfNodeSuFailOverProb=2000
        saAmfNodeSuFailoverMax=2
    }}
    safAmfNode = amf2 {{
    }}
    safApp = APP {{
        clccli_path=/usr/lib/app
        safSg = SG {{
            saAmfSGRedundancyModel=2n
            saAmfSGNumPrefActiveSUs=1
            saAmfSGNumPrefStandbySUs=1
            saAmfSGCompRestartProb=60000
            saAmfSGCompRestartMax=2
            saAmfSGSuRestartProb=60000
            saAmfSGSuRestartMax=2
            {}
            {}
        }}
        safSi = SI1 {{
            saAmfSINumCSIs=1
            safCsi = CSI1 {{
                saAmfCSTypeName = WEB
                safCSIAttr = port {{
                    8080
                }}
            }}
        }}
        safCSType = WEB {{
            safAmfCSAttrName = port
        }}
    }}
}}
",
        comp("SU1", "amf1"),
        comp("SU2", "amf2")
    )
}

/// The example with nodes `host1` and `host2` whose commands are
/// `/bin/true`, as `host` runs it (the service fuzz test).
pub(crate) fn for_fuzzing(host: &[u8]) -> super::Amf {
    let text = config("component_failover")
        .replace("amf1", "host1")
        .replace("amf2", "host2")
        .replace("=clc", "=/bin/true")
        .replace("=/bin/clc", "=/bin/true")
        .replace("StartupTimeout=2000", "StartupTimeout=0");
    let model = Arc::new(Model::parse(&text).unwrap());
    super::Amf::new(model, super::digest(text.as_bytes()), host, std::env::temp_dir())
}

#[test]
fn the_2n_example_parses_with_classic_dns_and_resolved_commands() {
    let m = Model::parse(&config("component_failover")).unwrap();
    assert_eq!(m.nodes, ["amf1", "amf2"]);
    assert_eq!(m.startup_timeout_ms, 2000);
    let c = &m.sgs[0].sus[1].comps[0];
    assert_eq!(c.dn, b"safComp=C,safSu=SU2,safSg=SG,safApp=APP");
    assert_eq!(c.recovery, wire::COMPONENT_FAILOVER);
    let inst = c.instantiate.as_ref().unwrap();
    assert_eq!(inst.path, "/usr/lib/app/clc", "relative: resolved against clccli_path");
    assert_eq!(inst.argv, ["instantiate", "/usr/lib/app/server"]);
    assert_eq!(c.cleanup.as_ref().unwrap().path, "/bin/clc");
    assert_eq!(c.env, [("A".to_string(), "b".to_string())]);
    assert_eq!(c.cs_types, ["WEB"]);
    assert_eq!((c.hc_keys[0].key.as_slice(), c.hc_keys[0].period_ms), (&b"key1"[..], 1000));
    assert_eq!(m.sis[0].csis[0].dn, b"safCsi=CSI1,safSi=SI1,safApp=APP");
    assert_eq!(m.sis[0].csis[0].attrs, [("port".to_string(), "8080".to_string())]);
}

#[test]
fn bad_files_are_refused_with_line_and_key() {
    let good = config("component_restart");
    let refuse = |text: &str| Model::parse(text).unwrap_err().to_string();
    assert_eq!(
        refuse(&good.replace("=2n", "=nway")),
        "13: saAmfSGRedundancyModel: nway: not supported (2n, nplusm, noredundancy)"
    );
    assert!(refuse(&good.replace("=2n", "=nwayactive")).contains("nwayactive: not supported"));
    assert!(refuse(&good.replace("saAmfSGCompRestartMax=2", "")).contains("saAmfSGCompRestartMax: missing in SG SG"));
    assert!(refuse(&good.replacen("saAmfSUHostedByNode=amf1", "", 1)).contains("saAmfSUHostedByNode: missing"));
    assert!(refuse(&good.replacen("saAmfCompCategory=sa_aware", "", 1)).contains("saAmfCompCategory: missing"));
    assert!(refuse(&good.replacen("component_restart", "reboot", 1)).contains("'reboot' is not a recovery"));
    assert!(refuse(&good.replace("saAmfClusterStartupTimeout=2000", "")).contains("saAmfClusterStartupTimeout"));
    assert!(
        refuse(&good.replace("saAmfSGAutoRepair", "x").replace("saAmfSGSuRestartMax=2", "bogus=1")).contains("bogus")
    );
    assert!(refuse(&good.replacen("=amf2", "=amf9", 1)).contains("amf9, not configured"));
    assert_eq!(refuse("safAmfCluster = CL {\n"), "1: safAmfCluster: block not closed");
    assert_eq!(refuse("}\n"), "1: }: no block to close");
}

const C1: &[u8] = b"safComp=C,safSu=SU1,safSg=SG,safApp=APP";
const C2: &[u8] = b"safComp=C,safSu=SU2,safSg=SG,safApp=APP";
const CSI: &[u8] = b"safCsi=CSI1,safSi=SI1,safApp=APP";

fn state(recovery: &str) -> State {
    State::new(Arc::new(Model::parse(&config(recovery)).unwrap()), 7)
}

fn ev(s: &mut State, node: u32, conn: u64, e: Event) -> (u32, Vec<Effect>) {
    let mut out = Vec::new();
    let code = s.apply_event(node, ConnId(conn), e, &mut out);
    out.retain(|e| !matches!(e, Effect::Note(_)));
    (code, out)
}

/// (node, conn, ha, flags, transition, active comp) of each CSI set.
fn sets(out: &[Effect]) -> Vec<(u32, u64, u32, u32, u32, Vec<u8>)> {
    out.iter()
        .filter_map(|e| match e {
            Effect::Tell { node, conn, callback: Callback::CsiSet { ha, csi, .. } } => {
                Some((*node, conn.0, *ha, csi.flags, csi.transition, csi.active_comp.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Node `node` joins as `name`, hosting component `comp`: cleaned up
/// first, then instantiated; returns the instantiation's round.
fn join(s: &mut State, node: u32, name: &str, comp: usize) -> u32 {
    let (code, out) = ev(s, node, 0, Event::Join { name: name.as_bytes().to_vec(), digest: 7 });
    assert_eq!(code, error::OK);
    let round = s.comps[comp].round;
    assert_eq!(out, [Effect::Cleanup { node, comp, round }], "a leftover is cleaned up first");
    let (_, out) = ev(s, node, 0, Event::ClcDone { comp: comp as u32, round, kind: Kind::Cleanup, ok: true });
    assert_eq!(out, [Effect::Instantiate { node, comp, round: round + 1 }]);
    round + 1
}

/// Both nodes joined, both components registered.
fn running(recovery: &str) -> State {
    let mut s = state(recovery);
    assert_eq!(join(&mut s, 1, "amf1", 0), 2);
    assert_eq!(join(&mut s, 2, "amf2", 1), 2);
    let (code, out) = ev(&mut s, 1, 11, Event::Register { comp: C1.to_vec() });
    assert_eq!(code, error::OK);
    assert_eq!(sets(&out), [(1, 11, wire::HA_ACTIVE, wire::CSI_ADD_ONE, wire::TRANSITION_NEW_ASSIGN, vec![])]);
    let (_, out) = ev(&mut s, 2, 22, Event::Register { comp: C2.to_vec() });
    assert_eq!(sets(&out), [(2, 22, wire::HA_STANDBY, wire::CSI_ADD_ONE, 0, C1.to_vec())]);
    assert_eq!((s.ha_state(0, CSI), s.ha_state(1, CSI)), (Some(wire::HA_ACTIVE), Some(wire::HA_STANDBY)));
    s
}

#[test]
fn register_checks_the_component_and_its_node() {
    let mut s = running("component_failover");
    assert_eq!(ev(&mut s, 1, 12, Event::Register { comp: C1.to_vec() }).0, error::EXIST);
    assert_eq!(ev(&mut s, 1, 12, Event::Register { comp: b"safComp=X".to_vec() }).0, error::NOT_EXIST);
    let mut fresh = state("component_failover");
    join(&mut fresh, 1, "amf1", 0);
    assert_eq!(ev(&mut fresh, 1, 5, Event::Register { comp: C2.to_vec() }).0, error::NOT_EXIST, "hosted elsewhere");
    assert_eq!(ev(&mut fresh, 2, 0, Event::Join { name: b"amf2".to_vec(), digest: 8 }).0, error::INVALID_PARAM);
    assert_eq!(ev(&mut fresh, 3, 0, Event::Join { name: b"amf1".to_vec(), digest: 7 }).0, error::EXIST);
    assert_eq!(ev(&mut s, 1, 11, Event::Response { invocation: 999, error: error::OK }).0, error::NOT_EXIST);
}

#[test]
fn a_dead_active_component_fails_over_and_comes_back_standby() {
    let mut s = running("component_failover");
    let mut out = Vec::new();
    s.closed(1, ConnId(11), &mut out);
    out.retain(|e| !matches!(e, Effect::Note(_)));
    assert_eq!(
        sets(&out),
        [(2, 22, wire::HA_ACTIVE, wire::CSI_TARGET_ONE, wire::TRANSITION_NOT_QUIESCED, C1.to_vec())],
        "the standby is made active at once"
    );
    assert!(out.contains(&Effect::Cleanup { node: 1, comp: 0, round: 3 }));
    assert_eq!(s.ha_state(0, CSI), None);
    assert_eq!(s.comps[0].presence, Presence::Restarting);
    // A stale outcome (an older round) changes nothing.
    assert_eq!(ev(&mut s, 1, 0, Event::ClcDone { comp: 0, round: 2, kind: Kind::Cleanup, ok: true }).1, []);
    let (_, out) = ev(&mut s, 1, 0, Event::ClcDone { comp: 0, round: 3, kind: Kind::Cleanup, ok: true });
    assert_eq!(out, [Effect::Instantiate { node: 1, comp: 0, round: 4 }]);
    let (_, out) = ev(&mut s, 1, 13, Event::Register { comp: C1.to_vec() });
    assert_eq!(sets(&out), [(1, 13, wire::HA_STANDBY, wire::CSI_ADD_ONE, 0, C2.to_vec())], "redundancy restored");
}

/// An error report on C1 a second later: the notes, the effects.
fn report(s: &mut State) -> (Vec<String>, Vec<Effect>) {
    s.time += 1_000_000_000;
    let mut out = Vec::new();
    let code = s.apply_event(1, ConnId(0), Event::ErrorReport { comp: C1.to_vec(), recovery: 1 }, &mut out);
    assert_eq!(code, error::OK);
    let notes = out.iter().filter_map(|e| if let Effect::Note(n) = e { Some(n.clone()) } else { None }).collect();
    out.retain(|e| !matches!(e, Effect::Note(_)));
    (notes, out)
}

#[test]
fn restarts_keep_the_ha_state_until_they_escalate() {
    let mut s = running("component_restart");
    let mut conn = 30;
    // saAmfSGCompRestartMax=2, saAmfSGSuRestartMax=2: two component
    // restarts, then an SU restart (which clears the count), twice over.
    for su_restart in [false, false, true, false, false, true, false, false] {
        let (notes, out) = report(&mut s);
        let round = s.comps[0].round;
        assert_eq!(out, [Effect::Cleanup { node: 1, comp: 0, round }], "a restart, no failover");
        let which = if su_restart { "restarting its SU" } else { "restarting safComp" };
        assert!(notes.iter().any(|n| n.contains(which)), "{which}: {notes:?}");
        ev(&mut s, 1, 0, Event::ClcDone { comp: 0, round, kind: Kind::Cleanup, ok: true });
        conn += 1;
        let (_, out) = ev(&mut s, 1, conn, Event::Register { comp: C1.to_vec() });
        assert_eq!(sets(&out)[0].2, wire::HA_ACTIVE, "active again after the restart");
    }
    // The third SU restart within saAmfSGSuRestartProb: failover.
    let (notes, out) = report(&mut s);
    assert!(notes.iter().any(|n| n.contains("restarted too often: failover")), "{notes:?}");
    assert_eq!(sets(&out)[0].2, wire::HA_ACTIVE);
    assert_eq!(sets(&out)[0].0, 2, "the other node's component");
}

#[test]
fn an_su_restart_terminates_the_healthy_components_and_keeps_the_assignment() {
    let text = model_config("2n", "", &[("SU1", "n1"), ("SU2", "n2")], true, &["SI1"]);
    let mut s = model_state(&text.replace("component_failover", "component_restart"));
    join_node(&mut s, 1, "n1");
    join_node(&mut s, 2, "n2");
    for (node, su, comp, conn) in [(1, "SU1", "C", 11), (1, "SU1", "D", 12), (2, "SU2", "C", 21), (2, "SU2", "D", 22)] {
        assert_eq!(ev(&mut s, node, conn, Event::Register { comp: dn(su, comp) }).0, error::OK);
    }
    let c1 = dn("SU1", "C");
    for _ in 0..2 {
        ev(&mut s, 1, 0, Event::ErrorReport { comp: c1.clone(), recovery: 1 });
        let round = s.comps[0].round;
        ev(&mut s, 1, 0, Event::ClcDone { comp: 0, round, kind: Kind::Cleanup, ok: true });
        ev(&mut s, 1, 13, Event::Register { comp: c1.clone() });
    }
    let (_, out) = ev(&mut s, 1, 0, Event::ErrorReport { comp: c1.clone(), recovery: 1 });
    assert_eq!(terminates(&out).iter().map(|t| t.0).collect::<Vec<_>>(), [12], "D is terminated");
    assert_eq!(set_csis(&out), [], "no failover");
    assert_eq!(s.ha_state(1, b"safCsi=D,safSi=SI1,safApp=APP"), Some(wire::HA_ACTIVE), "SU1 keeps SI1");
    let (_, out) = ev(&mut s, 1, 12, Event::Response { invocation: terminates(&out)[0].1, error: error::OK });
    let round = s.comps[1].round;
    assert_eq!(out, [Effect::Instantiate { node: 1, comp: 1, round }]);
    let (_, out) = ev(&mut s, 1, 14, Event::Register { comp: dn("SU1", "D") });
    assert_eq!(set_csis(&out), [(14, wire::HA_ACTIVE, "safCsi=D,safSi=SI1,safApp=APP".into(), 1, String::new())]);
}

#[test]
fn a_node_that_leaves_fails_its_units_over() {
    let mut s = running("component_restart");
    let mut out = Vec::new();
    s.left(&[2], &mut out);
    assert_eq!(
        sets(&out),
        [(2, 22, wire::HA_ACTIVE, wire::CSI_TARGET_ONE, wire::TRANSITION_NOT_QUIESCED, C1.to_vec())]
    );
    assert!(!s.joined.contains_key(&1));
    // It comes back: cleaned up, instantiated again, then STANDBY.
    join(&mut s, 1, "amf1", 0);
    let (_, out) = ev(&mut s, 1, 40, Event::Register { comp: C1.to_vec() });
    assert_eq!(sets(&out)[0].2, wire::HA_STANDBY);
}

#[test]
fn sa_amf_comp_num_max_instantiate_sets_the_attempts() {
    let once = config("component_restart").replacen(
        "saAmfCompRecoveryOnError=",
        "saAmfCompNumMaxInstantiate=1\nsaAmfCompRecoveryOnError=",
        1,
    );
    let mut s = State::new(Arc::new(Model::parse(&once).unwrap()), 7);
    let round = join(&mut s, 1, "amf1", 0);
    let (_, out) = ev(&mut s, 1, 0, Event::ClcDone { comp: 0, round, kind: Kind::Instantiate, ok: false });
    assert!(!out.iter().any(|e| matches!(e, Effect::Instantiate { .. })), "{out:?}");
    assert_eq!(s.comps[0].presence, Presence::InstantiationFailed);
    let none = config("component_restart").replacen(
        "saAmfCompRecoveryOnError=",
        "saAmfCompNumMaxInstantiate=0\nsaAmfCompRecoveryOnError=",
        1,
    );
    let e = Model::parse(&none).unwrap_err().to_string();
    assert!(e.contains("saAmfCompNumMaxInstantiate: at least one attempt"), "{e}");
}

#[test]
fn instantiation_is_retried_then_given_up() {
    let mut s = state("component_restart");
    let mut round = join(&mut s, 1, "amf1", 0);
    for _ in 1..super::conf::DEFAULT_MAX_INSTANTIATE {
        let (_, out) = ev(&mut s, 1, 0, Event::ClcDone { comp: 0, round, kind: Kind::Instantiate, ok: false });
        assert_eq!(out, [Effect::Cleanup { node: 1, comp: 0, round }]);
        let (_, out) = ev(&mut s, 1, 0, Event::ClcDone { comp: 0, round, kind: Kind::Cleanup, ok: true });
        round += 1;
        assert_eq!(out, [Effect::Instantiate { node: 1, comp: 0, round }]);
    }
    ev(&mut s, 1, 0, Event::ClcDone { comp: 0, round, kind: Kind::Instantiate, ok: false });
    assert_eq!(s.comps[0].presence, Presence::InstantiationFailed);
    // A component that never registers fails its instantiation too.
    let mut s = state("component_restart");
    let round = join(&mut s, 1, "amf1", 0);
    let due = s.next_deadline().unwrap();
    let mut out = Vec::new();
    s.advance(due, &mut out);
    assert!(out.contains(&Effect::Cleanup { node: 1, comp: 0, round }));
}

#[test]
fn the_dynamic_state_survives_sync_and_garbage_is_refused() {
    let s = running("component_failover");
    let mut w = Writer::new();
    s.encode_dynamic(&mut w);
    let fresh = state("component_failover");
    assert_eq!(fresh.decode_dynamic(w.as_slice()).unwrap(), s);
    let bytes = w.into_vec();
    for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        assert!(fresh.decode_dynamic(&bytes[..cut]).is_err());
    }
    let mut bad = bytes.clone();
    bad[8..12].copy_from_slice(&99u32.to_le_bytes());
    assert!(fresh.decode_dynamic(&bad).is_err(), "more joined nodes than configured");
}

#[test]
fn protection_group_changes_name_what_changed() {
    use super::pg_changes;
    let a = (b"a".to_vec(), wire::HA_ACTIVE, 0);
    let b = (b"b".to_vec(), wire::HA_STANDBY, 1);
    let b_active = (b"b".to_vec(), wire::HA_ACTIVE, 0);
    let changes = |old: &[_], new: &[_], only| -> Vec<(Vec<u8>, u32)> {
        pg_changes(old, new, only).into_iter().map(|m| (m.comp, m.change)).collect()
    };
    let (old, new) = ([a.clone(), b.clone()], [b_active.clone()]);
    assert_eq!(changes(&old, &new, true), [(b"b".to_vec(), wire::PG_STATE_CHANGE), (b"a".to_vec(), wire::PG_REMOVED)]);
    let back = [b_active.clone(), (b"a".to_vec(), wire::HA_STANDBY, 1)];
    assert_eq!(changes(&new, &back, true), [(b"a".to_vec(), wire::PG_ADDED)]);
    assert_eq!(
        changes(&new, &back, false),
        [(b"b".to_vec(), wire::PG_NO_CHANGE), (b"a".to_vec(), wire::PG_ADDED)],
        "SA_TRACK_CHANGES: every member"
    );
    let s = running("component_failover");
    let pg = s.protection_group(CSI).unwrap();
    assert_eq!(pg, [(C1.to_vec(), wire::HA_ACTIVE, 0), (C2.to_vec(), wire::HA_STANDBY, 1)]);
    assert_eq!(s.protection_group(b"safCsi=none"), None);
}

/// A service group of redundancy model `model` (with `sg_extra` lines)
/// of one SU per (name, node), each with component C (CS type WEB) and,
/// if `two`, component D (DB; it has a terminate command); SIs `sis`
/// with CSI W (WEB) and, if `two`, CSI D (DB). Nodes n1..n3.
fn model_config(model: &str, sg_extra: &str, sus: &[(&str, &str)], two: bool, sis: &[&str]) -> String {
    let comp = |name: &str, cs: &str, extra: &str| {
        format!(
            "safComp = {name} {{
                saAmfCompCategory=sa_aware
                saAmfCompCapability=x_active_or_y_standby
                saAmfCompNumMaxActiveCsi=2
                saAmfCompDefaultClcCliTimeout=2000
                saAmfCompDefaultCallbackTimeOut=1000
                saAmfCompInstantiateCmd=/bin/clc
                saAmfCompCleanupCmd=/bin/clc
                {extra}
                saAmfCompCsTypes {{
                    {cs}
                }}
                saAmfCompRecoveryOnError=component_failover
            }}"
        )
    };
    let mut text = String::from(
        "safAmfCluster = CL {
    saAmfClusterStartupTimeout=0
    safAmfNode = n1 {
    }
    safAmfNode = n2 {
    }
    safAmfNode = n3 {
    }
    safApp = APP {
        safSg = SG {
",
    );
    text += &format!(
        "saAmfSGRedundancyModel={model}
        {sg_extra}
        saAmfSGCompRestartProb=60000
        saAmfSGCompRestartMax=2
        saAmfSGSuRestartProb=60000
        saAmfSGSuRestartMax=2
"
    );
    for (su, node) in sus {
        let d = if two {
            comp("D", "DB", "saAmfCompTerminateCmd=/bin/clc\nsaAmfCompTerminateCallbackTimeOut=500")
        } else {
            String::new()
        };
        text += &format!("safSu = {su} {{\nsaAmfSUHostedByNode={node}\n{}\n{d}\n}}\n", comp("C", "WEB", ""));
    }
    text += "}\n";
    for si in sis {
        let d = if two { "safCsi = D {\nsaAmfCSTypeName = DB\n}\n" } else { "" };
        text += &format!("safSi = {si} {{\nsaAmfSIProtectedbySG=SG\nsafCsi = W {{\nsaAmfCSTypeName = WEB\n}}\n{d}}}\n");
    }
    text + "}\n}\n"
}

fn model_state(text: &str) -> State {
    State::new(Arc::new(Model::parse(text).unwrap()), 7)
}

/// Node `node` joins as `name`; its components are cleaned up, then
/// instantiated.
fn join_node(s: &mut State, node: u32, name: &str) {
    let (code, out) = ev(s, node, 0, Event::Join { name: name.as_bytes().to_vec(), digest: 7 });
    assert_eq!(code, error::OK);
    assert!(!out.is_empty());
    for e in out {
        let Effect::Cleanup { node: n, comp, round } = e else { panic!("{e:?}") };
        assert_eq!(n, node);
        let (_, o) = ev(s, node, 0, Event::ClcDone { comp: comp as u32, round, kind: Kind::Cleanup, ok: true });
        assert_eq!(o, [Effect::Instantiate { node, comp, round: round + 1 }]);
    }
}

/// (conn, ha, CSI, flags, peer) of each CSI set.
fn set_csis(out: &[Effect]) -> Vec<(u64, u32, String, u32, String)> {
    out.iter()
        .filter_map(|e| match e {
            Effect::Tell { conn, callback: Callback::CsiSet { ha, csi, .. }, .. } => Some((
                conn.0,
                *ha,
                String::from_utf8_lossy(&csi.csi).into_owned(),
                csi.flags,
                String::from_utf8_lossy(&csi.active_comp).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

/// (conn, CSI) of each CSI remove.
fn removes(out: &[Effect]) -> Vec<(u64, String)> {
    out.iter()
        .filter_map(|e| match e {
            Effect::Tell { conn, callback: Callback::CsiRemove { csi, .. }, .. } => {
                Some((conn.0, String::from_utf8_lossy(csi).into_owned()))
            }
            _ => None,
        })
        .collect()
}

fn dn(su: &str, comp: &str) -> Vec<u8> {
    format!("safComp={comp},safSu={su},safSg=SG,safApp=APP").into_bytes()
}

const W1: &str = "safCsi=W,safSi=SI1,safApp=APP";
const W2: &str = "safCsi=W,safSi=SI2,safApp=APP";

/// N+M 2+1 on three nodes, two SIs, one SI per active SU.
fn n_plus_m_config() -> String {
    let extra = "saAmfSGNumPrefActiveSUs=2
        saAmfSGNumPrefStandbySUs=1
        saAmfSGMaxActiveSIsperSUs=1
        saAmfSGMaxStandbySIsperSUs=2";
    let sus = [("SU1", "n1"), ("SU2", "n2"), ("SU3", "n3")];
    model_config("nplusm", extra, &sus, false, &["SI1", "SI2"])
}

/// N+M 2+1: SU1 and SU2 ACTIVE for one SI each, SU3 STANDBY for both.
fn n_plus_m() -> State {
    let mut s = model_state(&n_plus_m_config());
    for (i, name) in ["n1", "n2", "n3"].iter().enumerate() {
        join_node(&mut s, i as u32 + 1, name);
    }
    let (code, out) = ev(&mut s, 1, 11, Event::Register { comp: dn("SU1", "C") });
    assert_eq!(code, error::OK);
    assert_eq!(set_csis(&out), [(11, wire::HA_ACTIVE, W1.into(), wire::CSI_ADD_ONE, String::new())]);
    let (_, out) = ev(&mut s, 2, 22, Event::Register { comp: dn("SU2", "C") });
    assert_eq!(
        set_csis(&out),
        [(22, wire::HA_ACTIVE, W2.into(), wire::CSI_ADD_ONE, String::new())],
        "SU1 carries its one SI: the second goes to SU2, and no SU is left to be STANDBY"
    );
    let (_, out) = ev(&mut s, 3, 33, Event::Register { comp: dn("SU3", "C") });
    let peer = |su| String::from_utf8(dn(su, "C")).unwrap();
    assert_eq!(
        set_csis(&out),
        [
            (33, wire::HA_STANDBY, W1.into(), wire::CSI_ADD_ONE, peer("SU1")),
            (33, wire::HA_STANDBY, W2.into(), wire::CSI_ADD_ONE, peer("SU2"))
        ],
        "the one standby SU protects both SIs"
    );
    s
}

#[test]
fn n_plus_m_fails_over_to_the_standby_and_restores_redundancy() {
    let mut s = n_plus_m();
    let mut out = Vec::new();
    s.closed(1, ConnId(11), &mut out);
    let c1 = String::from_utf8(dn("SU1", "C")).unwrap();
    assert_eq!(
        set_csis(&out),
        [(33, wire::HA_ACTIVE, W1.into(), wire::CSI_TARGET_ONE, c1.clone())],
        "the standby takes SI1 over, naming the failed active"
    );
    assert_eq!(removes(&out), [(33, W2.to_string())], "an active SU of N+M is no standby: SI2's goes");
    assert!(out.contains(&Effect::Cleanup { node: 1, comp: 0, round: 3 }));
    let removal = *s.pending.keys().last().unwrap();
    assert_eq!(ev(&mut s, 3, 33, Event::Response { invocation: removal, error: error::OK }).0, error::OK);
    // SU1 is repaired and becomes the standby SU of both SIs.
    ev(&mut s, 1, 0, Event::ClcDone { comp: 0, round: 3, kind: Kind::Cleanup, ok: true });
    let (_, out) = ev(&mut s, 1, 13, Event::Register { comp: dn("SU1", "C") });
    let peer = |su| String::from_utf8(dn(su, "C")).unwrap();
    assert_eq!(
        set_csis(&out),
        [
            (13, wire::HA_STANDBY, W1.into(), wire::CSI_ADD_ONE, peer("SU3")),
            (13, wire::HA_STANDBY, W2.into(), wire::CSI_ADD_ONE, peer("SU2"))
        ]
    );
    assert_eq!(s.ha_state(2, W1.as_bytes()), Some(wire::HA_ACTIVE));
    assert_eq!(s.ha_state(2, W2.as_bytes()), None);
    assert_eq!(s.protection_group(W2.as_bytes()).unwrap().len(), 2);
}

#[test]
fn n_plus_m_node_failover() {
    let mut s = n_plus_m();
    let mut out = Vec::new();
    s.left(&[1, 3], &mut out);
    let c2 = String::from_utf8(dn("SU2", "C")).unwrap();
    assert_eq!(set_csis(&out), [(33, wire::HA_ACTIVE, W2.into(), wire::CSI_TARGET_ONE, c2)]);
    assert_eq!(removes(&out), [(33, W1.to_string())]);
    assert_eq!(s.protection_group(W1.as_bytes()).unwrap(), [(dn("SU1", "C"), wire::HA_ACTIVE, 0)]);
    // Node 2 comes back: SU2 is the standby of both.
    join_node(&mut s, 2, "n2");
    let (_, out) = ev(&mut s, 2, 23, Event::Register { comp: dn("SU2", "C") });
    assert_eq!(
        set_csis(&out).iter().map(|x| (x.1, x.2.as_str())).collect::<Vec<_>>(),
        [(wire::HA_STANDBY, W1), (wire::HA_STANDBY, W2)]
    );
}

#[test]
fn no_redundancy_moves_the_si_to_a_spare_su_and_never_assigns_standby() {
    let sus = [("SU1", "n1"), ("SU2", "n2")];
    let mut s = model_state(&model_config("noredundancy", "", &sus, false, &["SI1"]));
    join_node(&mut s, 1, "n1");
    join_node(&mut s, 2, "n2");
    let (_, out) = ev(&mut s, 1, 11, Event::Register { comp: dn("SU1", "C") });
    assert_eq!(set_csis(&out), [(11, wire::HA_ACTIVE, W1.into(), wire::CSI_ADD_ONE, String::new())]);
    let (_, out) = ev(&mut s, 2, 22, Event::Register { comp: dn("SU2", "C") });
    assert_eq!(set_csis(&out), [], "no standby in this model");
    let (_, out) = ev(&mut s, 1, 11, Event::ErrorReport { comp: dn("SU1", "C"), recovery: wire::NO_RECOMMENDATION });
    assert_eq!(set_csis(&out), [(22, wire::HA_ACTIVE, W1.into(), wire::CSI_ADD_ONE, String::new())]);
    ev(&mut s, 1, 0, Event::ClcDone { comp: 0, round: 3, kind: Kind::Cleanup, ok: true });
    let (_, out) = ev(&mut s, 1, 13, Event::Register { comp: dn("SU1", "C") });
    assert_eq!(set_csis(&out), [], "the repaired SU is a spare");
    // Two SIs on two SUs: one each (one SI per SU).
    let mut s = model_state(&model_config("noredundancy", "", &sus, false, &["SI1", "SI2"]));
    join_node(&mut s, 1, "n1");
    join_node(&mut s, 2, "n2");
    assert_eq!(set_csis(&ev(&mut s, 1, 11, Event::Register { comp: dn("SU1", "C") }).1).len(), 1);
    assert_eq!(set_csis(&ev(&mut s, 2, 22, Event::Register { comp: dn("SU2", "C") }).1)[0].2, W2);
}

/// 2N of two SUs with components C and D each, all registered
/// (SU1: C conn 11, D conn 12; SU2: C 21, D 22), every callback answered.
fn two_components() -> State {
    let sus = [("SU1", "n1"), ("SU2", "n2")];
    let mut s = model_state(&model_config("2n", "", &sus, true, &["SI1"]));
    join_node(&mut s, 1, "n1");
    join_node(&mut s, 2, "n2");
    for (node, su, comp, conn) in [(1, "SU1", "C", 11), (1, "SU1", "D", 12), (2, "SU2", "C", 21), (2, "SU2", "D", 22)] {
        assert_eq!(ev(&mut s, node, conn, Event::Register { comp: dn(su, comp) }).0, error::OK);
    }
    for inv in s.pending.keys().copied().collect::<Vec<_>>() {
        ev(&mut s, 1, 0, Event::Response { invocation: inv, error: error::OK });
    }
    assert_eq!(s.ha_state(1, b"safCsi=D,safSi=SI1,safApp=APP"), Some(wire::HA_ACTIVE));
    s
}

/// (conn, invocation) of each terminate callback.
fn terminates(out: &[Effect]) -> Vec<(u64, u64)> {
    out.iter()
        .filter_map(|e| match e {
            Effect::Tell { conn, callback: Callback::Terminate { invocation, .. }, .. } => Some((conn.0, *invocation)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_failover_terminates_the_healthy_components_of_the_su() {
    let mut s = two_components();
    let mut out = Vec::new();
    s.closed(1, ConnId(11), &mut out);
    let t = terminates(&out);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].0, 12, "D, healthy, is asked to terminate");
    assert!(out.contains(&Effect::Cleanup { node: 1, comp: 0, round: 3 }), "C, failed, is cleaned up");
    assert_eq!(
        set_csis(&out).iter().map(|x| (x.0, x.1)).collect::<Vec<_>>(),
        [(21, wire::HA_ACTIVE), (22, wire::HA_ACTIVE)]
    );
    assert_eq!(s.comps[1].presence, Presence::Terminating);
    // D answers (then exits): it is instantiated again at once; its
    // connection closing later is no error.
    let (_, out) = ev(&mut s, 1, 12, Event::Response { invocation: t[0].1, error: error::OK });
    assert_eq!(out, [Effect::Instantiate { node: 1, comp: 1, round: 4 }]);
    let mut out = Vec::new();
    s.closed(1, ConnId(12), &mut out);
    assert_eq!(out, []);
}

#[test]
fn an_unanswered_terminate_falls_back_to_the_command_then_cleanup() {
    let mut s = two_components();
    let mut out = Vec::new();
    s.closed(1, ConnId(11), &mut out);
    assert_eq!(terminates(&out).len(), 1);
    let due = s.next_deadline().unwrap();
    assert_eq!(due, s.time + 500_000_000, "saAmfCompTerminateCallbackTimeOut");
    let mut out = Vec::new();
    s.advance(due - 1, &mut out);
    assert_eq!(out, []);
    s.advance(due, &mut out);
    out.retain(|e| !matches!(e, Effect::Note(_)));
    assert_eq!(out, [Effect::Terminate { node: 1, comp: 1, round: 3 }], "the terminate command");
    let (_, out) = ev(&mut s, 1, 0, Event::ClcDone { comp: 1, round: 3, kind: Kind::Terminate, ok: false });
    assert_eq!(out, [Effect::Cleanup { node: 1, comp: 1, round: 4 }], "it failed: cleanup");
    let (_, out) = ev(&mut s, 1, 0, Event::ClcDone { comp: 1, round: 4, kind: Kind::Cleanup, ok: true });
    assert_eq!(out, [Effect::Instantiate { node: 1, comp: 1, round: 5 }]);
}

#[test]
fn an_unanswered_csi_set_is_an_error_of_the_component() {
    let mut s = running("component_restart");
    let pending: Vec<_> = s.pending.iter().map(|(i, p)| (*i, p.comp)).collect();
    assert_eq!(pending.len(), 2, "both CSI sets wait for their answer");
    // The standby answers; the active does not, within 2000 ms.
    ev(&mut s, 2, 22, Event::Response { invocation: pending[1].0, error: error::OK });
    let due = s.next_deadline().unwrap();
    assert_eq!(due, s.time + 2_000_000_000);
    let mut out = Vec::new();
    s.advance(due, &mut out);
    assert!(out.iter().any(|e| matches!(e, Effect::Note(n) if n.contains("did not answer its CSI set callback"))));
    out.retain(|e| !matches!(e, Effect::Note(_)));
    assert_eq!(out, [Effect::Cleanup { node: 1, comp: 0, round: 3 }], "restarted per saAmfCompRecoveryOnError");
    assert_eq!(s.pending.len(), 0);
    // An answer after the restart is refused.
    assert_eq!(ev(&mut s, 1, 11, Event::Response { invocation: pending[0].0, error: error::OK }).0, error::NOT_EXIST);
}

#[test]
fn the_dynamic_state_with_pending_callbacks_survives_sync() {
    let mut s = n_plus_m();
    let mut out = Vec::new();
    s.closed(1, ConnId(11), &mut out);
    let mut w = Writer::new();
    s.encode_dynamic(&mut w);
    assert_eq!(model_state(&n_plus_m_config()).decode_dynamic(w.as_slice()).unwrap(), s);
}

/// Two applications, each a 2N pair on n1 and n2 (APP: SI1, BPP: SI2),
/// all registered (n1: 11 APP, 12 BPP; n2: 21, 22), every callback
/// answered: SI1 and SI2 ACTIVE on n1.
fn two_apps() -> State {
    let sus = [("SU1", "n1"), ("SU2", "n2")];
    let text = model_config("2n", "", &sus, false, &["SI1"]);
    let other = model_config("2n", "", &sus, false, &["SI2"]).replace("safApp = APP", "safApp = BPP");
    let app = &other[other.find("    safApp = BPP").unwrap()..other.rfind("}\n").unwrap()];
    let mut s = model_state(&format!("{}{app}}}\n", &text[..text.rfind("}\n").unwrap()]));
    join_node(&mut s, 1, "n1");
    join_node(&mut s, 2, "n2");
    for (node, app, su, conn) in
        [(1, "APP", "SU1", 11), (2, "APP", "SU2", 21), (1, "BPP", "SU1", 12), (2, "BPP", "SU2", 22)]
    {
        let comp = format!("safComp=C,safSu={su},safSg=SG,safApp={app}").into_bytes();
        assert_eq!(ev(&mut s, node, conn, Event::Register { comp }).0, error::OK);
    }
    for inv in s.pending.keys().copied().collect::<Vec<_>>() {
        ev(&mut s, 1, 0, Event::Response { invocation: inv, error: error::OK });
    }
    assert_eq!(s.ha_state(2, b"safCsi=W,safSi=SI2,safApp=BPP"), Some(wire::HA_ACTIVE));
    s
}

#[test]
fn node_switchover_quiesces_the_other_sus_of_the_node_before_their_standby_takes_over() {
    let mut s = two_apps();
    let c1 = b"safComp=C,safSu=SU1,safSg=SG,safApp=APP".to_vec();
    let b1 = b"safComp=C,safSu=SU1,safSg=SG,safApp=BPP".to_vec();
    let (_, out) = ev(&mut s, 1, 11, Event::ErrorReport { comp: c1.clone(), recovery: wire::NODE_SWITCHOVER });
    assert_eq!(
        sets(&out),
        [
            (2, 21, wire::HA_ACTIVE, wire::CSI_TARGET_ONE, wire::TRANSITION_NOT_QUIESCED, c1),
            (1, 12, wire::HA_QUIESCED, wire::CSI_TARGET_ONE, 0, vec![])
        ],
        "the failed SU fails over; the other SU of its node is quiesced first"
    );
    assert_eq!(s.ha_state(2, b"safCsi=W,safSi=SI2,safApp=BPP"), Some(wire::HA_QUIESCED));
    let quiesce = *s.pending.iter().find(|(_, p)| p.comp == 2).unwrap().0;
    let (_, out) = ev(&mut s, 1, 12, Event::Response { invocation: quiesce, error: error::OK });
    assert_eq!(removes(&out), [(12, "safCsi=W,safSi=SI2,safApp=BPP".to_string())]);
    assert_eq!(
        sets(&out),
        [
            (2, 22, wire::HA_ACTIVE, wire::CSI_TARGET_ONE, wire::TRANSITION_QUIESCED, b1.clone()),
            (1, 12, wire::HA_STANDBY, wire::CSI_ADD_ONE, 0, b"safComp=C,safSu=SU2,safSg=SG,safApp=BPP".to_vec())
        ],
        "its standby takes over (QUIESCED transition), it becomes the standby"
    );
    assert_eq!(s.comps[2].presence, Presence::Instantiated, "switched over, not restarted");
}

#[test]
fn an_unanswered_quiesce_fails_the_su_over() {
    let mut s = two_apps();
    let c1 = b"safComp=C,safSu=SU1,safSg=SG,safApp=APP".to_vec();
    ev(&mut s, 1, 11, Event::ErrorReport { comp: c1, recovery: wire::NODE_SWITCHOVER });
    let due = s.pending.values().find(|p| p.comp == 2).unwrap().due;
    let mut out = Vec::new();
    s.advance(due, &mut out);
    let b1 = b"safComp=C,safSu=SU1,safSg=SG,safApp=BPP".to_vec();
    assert!(sets(&out).contains(&(2, 22, wire::HA_ACTIVE, 2, wire::TRANSITION_NOT_QUIESCED, b1)), "{out:?}");
}

#[test]
fn node_failover_fails_over_every_su_of_the_node() {
    let mut s = two_apps();
    let c1 = b"safComp=C,safSu=SU1,safSg=SG,safApp=APP".to_vec();
    let (_, out) = ev(&mut s, 1, 11, Event::ErrorReport { comp: c1, recovery: wire::NODE_FAILOVER });
    assert_eq!(
        sets(&out).iter().map(|x| (x.1, x.2, x.4)).collect::<Vec<_>>(),
        [(21, wire::HA_ACTIVE, wire::TRANSITION_NOT_QUIESCED), (22, wire::HA_ACTIVE, wire::TRANSITION_NOT_QUIESCED)]
    );
    assert_eq!(terminates(&out).iter().map(|t| t.0).collect::<Vec<_>>(), [12], "the healthy one is terminated");
}

#[test]
fn the_capability_model_is_kept_as_its_number() {
    // A.01.01's saAmfComponentCapabilityModelGet answers it (1..7).
    let m = Model::parse(&config("component_failover")).unwrap();
    assert_eq!(m.sgs[0].sus[0].comps[0].capability, 2);
    let one = config("component_failover").replace("x_active_or_y_standby", "1_active");
    assert_eq!(Model::parse(&one).unwrap().sgs[0].sus[1].comps[0].capability, 6);
}

/// Answers every callback waiting (as the components would).
fn answer_all(s: &mut State) {
    for (invocation, p) in s.pending.clone() {
        let (node, conn) = s.comps[p.comp].reg.unwrap();
        let (code, _) = ev(s, node, conn.0, Event::Response { invocation, error: error::OK });
        assert_eq!(code, error::OK);
    }
}

#[test]
fn callbacks_of_a_node_failover_are_timed_from_the_next_event_not_the_last_one() {
    let mut s = running("component_restart");
    answer_all(&mut s);
    // The last event was at 10 s; node 1 fails at 15 s; the sync's time
    // is still 10 s.
    let second = 1_000_000_000;
    s.time = 10 * second;
    let mut out = Vec::new();
    s.merged(&[2], 10 * second, &mut out);
    assert_eq!(
        sets(&out),
        [(2, 22, wire::HA_ACTIVE, wire::CSI_TARGET_ONE, wire::TRANSITION_NOT_QUIESCED, C1.to_vec())]
    );
    let (&invocation, p) = s.pending.iter().next().unwrap();
    assert_eq!((p.comp, p.due), (1, UNTIMED));
    assert_eq!(s.next_deadline(), Some(10 * second), "a tick is due at once, to start the timer");
    // The tick (or any ordered event) after the sync, at 15 s: the
    // promoted standby has its 2000 ms from there.
    s.start_timers(15 * second);
    let mut out = Vec::new();
    s.advance(15 * second, &mut out);
    assert_eq!(out, [], "not failed over again");
    assert_eq!(s.next_deadline(), Some(17 * second));
    s.start_timers(17 * second - 1);
    s.advance(17 * second - 1, &mut out);
    assert_eq!((out.as_slice(), s.ha_state(1, CSI)), (&[][..], Some(wire::HA_ACTIVE)));
    // Still an error when it does not answer in time.
    s.advance(17 * second, &mut out);
    assert!(out.iter().any(|e| matches!(e, Effect::Note(n) if n.contains("did not answer its CSI set callback"))));
    assert!(!s.pending.contains_key(&invocation));
}

mod engine {
    //! The AMF service in the replicated-state engine, across a node
    //! failure: when its callbacks go out, when their timers start.

    use std::time::Duration;

    use super::*;
    use crate::ordering::RingId;
    use crate::service::{Output, Service};
    use crate::services::replicated::Engine;
    use crate::services::testkit::{SimNode, begin_sync, finish_sync, run_ordered, time_zero};

    type Node = SimNode<Engine<crate::services::amf::Amf>>;

    /// The 2N pair of `running` (every callback answered) held by the
    /// executives of nodes 1 and 2; their last AMF event was `age` ago.
    fn pair(age: Duration) -> Vec<Node> {
        let model = Arc::new(Model::parse(&config("component_restart")).unwrap());
        let mut st = running("component_restart");
        answer_all(&mut st);
        st.time = time_zero().wall - age.as_nanos() as i64;
        (1..=2)
            .map(|n| {
                let mut amf = crate::services::amf::Amf::new(
                    model.clone(),
                    7,
                    format!("amf{n}").as_bytes(),
                    std::env::temp_dir(),
                );
                amf.st = st.clone();
                SimNode::new(n, Engine::new(amf))
            })
            .collect()
    }

    /// The invocations of the CSI set callbacks dispatched to `conn`
    /// (removed from the node's output).
    fn csi_sets(node: &mut Node, conn: u64) -> Vec<u64> {
        let mut found = Vec::new();
        node.out.retain(|o| match o {
            Output::Dispatch { conn: c, id, body } if c.0 == conn && *id == wire::CSI_SET => {
                found.push(u64::from_le_bytes(body[..8].try_into().unwrap()));
                false
            }
            _ => true,
        });
        found
    }

    fn request(node: &mut Node, conn: u64, req: wire::Request) {
        let body = req.encode();
        node.with(|s, c| s.lib_request(c, ConnId(conn), req.id(), &body)).unwrap();
    }

    #[test]
    fn the_promoted_standby_is_told_after_sync_and_timed_from_then() {
        // The last event 5 s ago, more than the 2 s callback timeout.
        let mut nodes = pair(Duration::from_secs(5));
        // Node 1 fails: node 2's new ring syncs.
        begin_sync(&mut nodes, &[1], RingId { rep: 2, seq: 2 });
        assert_eq!(csi_sets(&mut nodes[1], 22), [], "no callback while requests get TRY_AGAIN");
        let ha = || wire::Request::HaStateGet { comp: C2.to_vec(), csi: CSI.to_vec() };
        request(&mut nodes[1], 22, ha());
        assert_eq!(nodes[1].last_reply().0, error::TRY_AGAIN, "the engine answers nothing during sync");
        nodes[1].advance(Duration::from_millis(300));
        finish_sync(&mut nodes, &[1]);
        let set = csi_sets(&mut nodes[1], 22);
        assert_eq!(set.len(), 1, "the takeover, once synced");
        // Inside the callback: the state reads ACTIVE.
        request(&mut nodes[1], 22, ha());
        assert_eq!(nodes[1].last_reply(), (error::OK, wire::HA_ACTIVE.to_le_bytes().to_vec()));
        // The tick the sync asked for starts the timer: 2 s from now.
        run_ordered(&mut nodes, &[1]);
        let now = nodes[1].now.wall;
        assert_eq!(nodes[1].svc.st.pending[&set[0]].due, now + 2_000_000_000);
        // It answers 1.5 s later: taken, no failover.
        nodes[1].advance(Duration::from_millis(1500));
        request(&mut nodes[1], 22, wire::Request::Response { invocation: set[0], error: error::OK });
        run_ordered(&mut nodes, &[1]);
        assert_eq!(nodes[1].last_reply().0, error::OK);
        assert_eq!(nodes[1].svc.st.pending.len(), 0);
        assert_eq!(nodes[1].svc.st.ha_state(1, CSI), Some(wire::HA_ACTIVE));
        assert_eq!(nodes[1].svc.st.comps[1].presence, Presence::Instantiated);
    }

    #[test]
    fn an_a_readiness_answer_during_sync_is_taken() {
        let mut nodes = pair(Duration::ZERO);
        // Node 2 told its A.01.01 component IN_SERVICE, then a membership
        // change began: the answer comes during its sync.
        let invocation = crate::services::amf::READINESS_INVOCATION | 1;
        nodes[1].svc.readiness_pending.insert(invocation, ConnId(22));
        begin_sync(&mut nodes, &[0, 1], RingId { rep: 1, seq: 2 });
        request(&mut nodes[1], 22, wire::Request::Response { invocation, error: error::OK });
        assert_eq!(nodes[1].last_reply().0, error::OK, "taken, not TRY_AGAIN");
        assert!(nodes[1].svc.readiness_pending.is_empty());
        // Another connection's answer to it is still refused.
        nodes[1].svc.readiness_pending.insert(invocation, ConnId(22));
        request(&mut nodes[1], 23, wire::Request::Response { invocation, error: error::OK });
        assert_eq!(nodes[1].last_reply().0, error::NOT_EXIST);
    }

    #[test]
    fn a_healthcheck_answered_during_sync_is_taken() {
        let mut nodes = pair(Duration::ZERO);
        let key = b"key1".to_vec();
        let start = wire::Request::HcStart {
            comp: C2.to_vec(),
            key: key.clone(),
            invocation_type: wire::HC_AMF_INVOKED,
            recovery: wire::NO_RECOMMENDATION,
        };
        request(&mut nodes[1], 22, start);
        assert_eq!(nodes[1].last_reply().0, error::OK);
        nodes[1].with(|s, c| s.handle_timeout(c));
        let invocation = nodes[1]
            .out
            .iter()
            .find_map(|o| match o {
                Output::Dispatch { conn, id, body } if conn.0 == 22 && *id == wire::HEALTHCHECK => {
                    Some(u64::from_le_bytes(body[..8].try_into().unwrap()))
                }
                _ => None,
            })
            .expect("a healthcheck callback");
        // A membership change: the answer comes during its sync.
        begin_sync(&mut nodes, &[0, 1], RingId { rep: 1, seq: 2 });
        request(&mut nodes[1], 22, wire::Request::Response { invocation, error: error::OK });
        assert_eq!(nodes[1].last_reply().0, error::OK);
        // Answered: not missed when its maximum duration (500 ms) is over.
        nodes[1].advance(Duration::from_millis(600));
        nodes[1].with(|s, c| s.handle_timeout(c));
        finish_sync(&mut nodes, &[0, 1]);
        run_ordered(&mut nodes, &[0, 1]);
        assert_eq!(nodes[1].svc.st.comps[1].presence, Presence::Instantiated, "no error detected");
        assert_eq!(nodes[1].svc.st.comps[1].reg, Some((2, ConnId(22))));
    }
}
