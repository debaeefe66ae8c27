//! The AMF configuration parser and the replicated state machine (pure:
//! events in, effects out).

use std::sync::Arc;

use ais_ipc::amf::{self as wire, Callback};
use ais_ipc::{Writer, error};

use super::clc::Kind;
use super::conf::Model;
use super::state::{Effect, Event, Presence, State};
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

#[test]
fn restarts_keep_the_ha_state_until_they_escalate() {
    let mut s = running("component_restart");
    for round in [3, 5] {
        s.time += 1_000_000_000;
        let (code, out) = ev(&mut s, 1, 0, Event::ErrorReport { comp: C1.to_vec(), recovery: wire::NO_RECOMMENDATION });
        assert_eq!(code, error::OK);
        assert_eq!(out, [Effect::Cleanup { node: 1, comp: 0, round }], "a restart, no failover");
        ev(&mut s, 1, 0, Event::ClcDone { comp: 0, round, kind: Kind::Cleanup, ok: true });
        let (_, out) = ev(&mut s, 1, 30 + round as u64, Event::Register { comp: C1.to_vec() });
        assert_eq!(sets(&out)[0].2, wire::HA_ACTIVE, "active again after the restart");
    }
    // The third within saAmfSGCompRestartProb: failover.
    let (_, out) = ev(&mut s, 1, 0, Event::ErrorReport { comp: C1.to_vec(), recovery: wire::NO_RECOMMENDATION });
    assert_eq!(sets(&out)[0].2, wire::HA_ACTIVE);
    assert_eq!(sets(&out)[0].0, 2, "the other node's component");
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
fn instantiation_is_retried_then_given_up() {
    let mut s = state("component_restart");
    let mut round = join(&mut s, 1, "amf1", 0);
    for _ in 1..super::state::MAX_INSTANTIATE {
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
