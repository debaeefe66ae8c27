//! An openais 0.80 installation switched over: the executive reads the
//! environment names openais read (`OPENAIS_MAIN_CONFIG_FILE`,
//! `OPENAIS_TOTEM_AUTHKEY_FILE`, `OPENAIS_AMF_CONFIG_FILE`,
//! `OPENAIS_RUN_DIR`, `OPENAIS_DEFAULT_CONFIG_IFACE`) and acts on
//! `clear_node_high_bit`. One node on 127.0.0.200 (unicast transport, its
//! own port), so that the node id derived from the address has its high
//! bit set.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use common::*;

const PORT: u16 = 16705;
/// 127.0.0.200 as stored in memory (little-endian): the high bit is set.
const DERIVED_ID: u32 = u32::from_le_bytes([127, 0, 0, 200]);

fn single_node(clear_node_high_bit: &str) -> String {
    format!(
        "totem {{\n\tversion: 2\n\tsecauth: on\n\tclear_node_high_bit: {clear_node_high_bit}\n\ttransport: udpu\n\t\
         interface {{\n\t\tringnumber: 0\n\t\tbindnetaddr: 127.0.0.200\n\t\tmcastport: {PORT}\n\t\t\
         member {{\n\t\t\tmemberaddr: 127.0.0.200\n\t\t}}\n\t}}\n}}\n{QUIET}"
    )
}

/// Only the openais names point at `dir`'s files.
fn openais_env(c: &mut Command, dir: &TempDir) {
    c.env_remove("COROSYNC_MAIN_CONFIG_FILE")
        .env_remove("COROSYNC_TOTEM_AUTHKEY_FILE")
        .env_remove("COROSYNC_AMF_CONFIG_FILE")
        .env("OPENAIS_MAIN_CONFIG_FILE", dir.path().join("openais.conf"))
        .env("OPENAIS_TOTEM_AUTHKEY_FILE", dir.path().join("classic.key"))
        .env("OPENAIS_AMF_CONFIG_FILE", dir.path().join("classic-amf.conf"))
        .env("OPENAIS_RUN_DIR", dir.path().join("state"))
        .env("OPENAIS_DEFAULT_CONFIG_IFACE", "aisparser");
}

#[test]
fn the_openais_environment_names_and_clear_node_high_bit() {
    const { assert!(DERIVED_ID & 0x8000_0000 != 0) };
    let dir = TempDir::new("openais-env");
    let conf = dir.path().join("openais.conf");
    std::fs::write(&conf, single_node("yes")).unwrap();
    write_authkey(&dir.path().join("classic.key"), &[0x42u8; 128]);
    let mut exec = Exec::start_with(&dir, |c| openais_env(c, &dir));
    let status = Client::connect(&dir.socket(), ais_ipc::service::CFG).status().unwrap();
    assert_eq!(status.local_node_id, DERIVED_ID & 0x7FFF_FFFF, "{:#x}", status.local_node_id);
    let log = exec.stderr();
    let d = dir.path().display();
    for line in [
        format!("configuration read from {d}/openais.conf (named by OPENAIS_MAIN_CONFIG_FILE)"),
        format!("packets will be sealed with the key from {d}/classic.key"),
        format!("AMF configuration file: {d}/classic-amf.conf"),
        format!("ring sequence kept in {d}/state (OPENAIS_RUN_DIR)"),
    ] {
        assert!(log.contains(&line), "no '{line}' in:\n{log}");
    }
    // The ring sequence went to OPENAIS_RUN_DIR (made 0700, as openais did);
    // the socket stayed in the run directory the libraries use.
    let state = dir.path().join("state");
    assert!(state.join("ring0.seq").exists() && !dir.run_dir().join("ring0.seq").exists());
    assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o700);
    exec.signal(libc::SIGTERM);
    assert_eq!(exec.wait_exit(Duration::from_secs(10)), Some(0));
    // Without clear_node_high_bit the id is the address as it is.
    std::fs::write(&conf, single_node("no")).unwrap();
    let mut check = command(&dir, &["-t"]);
    openais_env(&mut check, &dir);
    let out = check.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("ring 0: node id {DERIVED_ID} on 127.0.0.200 (lo) port {PORT}")), "{text}");
}

#[test]
fn a_parser_this_executive_does_not_have_stops_startup() {
    // cman's parser, say: the configuration lives elsewhere, and starting
    // from corosync.conf instead would build another cluster.
    let dir = TempDir::new("parser");
    dir.config(QUIET);
    for var in ["COROSYNC_DEFAULT_CONFIG_IFACE", "OPENAIS_DEFAULT_CONFIG_IFACE"] {
        let out = command(&dir, &["-f"]).env(var, "xmlconfig:cmanpreconfig").output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with(&format!("aisexec: environment: {var}: configuration parser 'xmlconfig'")), "{err}");
        assert!(!dir.socket().exists());
    }
}
