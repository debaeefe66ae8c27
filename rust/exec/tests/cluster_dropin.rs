//! Clusters started from configuration files written for the stacks this
//! one replaces, unchanged but for addresses and the log file's path:
//!
//! - openais 0.80's example `openais.conf`, found where openais kept it,
//!   `/etc/ais/openais.conf`, with no `/etc/ais/corosync.conf` (each node
//!   in its own mount namespace with its own directory bound over `/etc`)
//!   and no environment variable naming it: IP multicast, `bindnetaddr` a
//!   network;
//! - corosync 1.4's `corosync.conf.example.udpu` (as shipped in 1.4.0-1.4.2,
//!   `debug` set twice): unicast to a member list, `compatibility`,
//!   `ttl`, `to_logfile`, `logger_subsys`.
//!
//! Both form one ring of three in network namespaces (`ais_tools::netns`,
//! nodes 10.0.0.1-3/24), and `aisexec -t` accepts both files. Needs root,
//! iproute2 and util-linux `unshare`; otherwise prints SKIPPED and passes,
//! unless AIS_REQUIRE_NETNS=1.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use ais_tools::netns::Lab;
use common::cluster::*;
use common::{AISEXEC, TempDir};

/// openais 0.80.6 `conf/openais.conf`, with `bindnetaddr` set to the lab's
/// network (was 192.168.2.0) and `logfile` in the node's directory (was
/// /tmp/ais, which three nodes and parallel runs on one machine would share).
fn openais_080_example(logfile: &Path) -> String {
    format!(
        "# Please read the openais.conf.5 manual page

totem {{
\tversion: 2
\tsecauth: off
\tthreads: 0
\tinterface {{
\t\tringnumber: 0
\t\tbindnetaddr: {net}
\t\tmcastaddr: 226.94.1.1
\t\tmcastport: 5405
\t}}
}}

logging {{
\tto_stderr: yes
\tto_file: yes
\tlogfile: {log}
\tdebug: off
\ttimestamp: on
}}

amf {{
\tmode: disabled
}}
",
        net = Lab::network(false),
        log = logfile.display()
    )
}

/// corosync 1.4.0 `conf/corosync.conf.example.udpu`, with the lab's three
/// addresses as members (were 10.16.35.101-116), its network as
/// `bindnetaddr` (was 10.16.35.0) and the log file in the node's directory
/// (was /var/log/cluster/corosync.log).
fn corosync_14_udpu_example(logfile: &Path) -> String {
    let members: String =
        (1..=3).map(|i| format!("\t\tmember {{\n\t\t\tmemberaddr: {}\n\t\t}}\n", Lab::ipv4(i))).collect();
    format!(
        "# Please read the corosync.conf.5 manual page
compatibility: whitetank

totem {{
\tversion: 2
\tsecauth: off
\tinterface {{
{members}\t\tringnumber: 0
\t\tbindnetaddr: {net}
\t\tmcastport: 5405
\t\tttl: 1
\t}}
\ttransport: udpu
}}

logging {{
\tfileline: off
\tto_logfile: yes
\tto_syslog: yes
\tdebug: on
\tlogfile: {log}
\tdebug: off
\ttimestamp: on
\tlogger_subsys {{
\t\tsubsys: AMF
\t\tdebug: off
\t}}
}}
",
        net = Lab::network(false),
        log = logfile.display()
    )
}

/// Runs `aisexec` with `args` in a private mount namespace where node
/// `dir`'s `etc/` is `/etc` (so `/etc/ais/...` are its files), with no
/// variable naming a config file.
fn etc_argv<'a>(dir: &'a str, args: &'a str) -> Vec<&'a str> {
    // `unshare` and `sh` exec, so the pid is the executive's.
    vec!["unshare", "--mount", "--propagation", "private", "sh", "-c", args, "sh", dir, AISEXEC]
}

const IN_ETC: &str = "mount --bind \"$1\" /etc && exec \"$2\"";

fn without_config_vars(c: &mut std::process::Command) {
    c.env_remove("COROSYNC_MAIN_CONFIG_FILE").env_remove("OPENAIS_MAIN_CONFIG_FILE");
}

/// `unshare` is there (util-linux), or the test is skipped.
fn have_unshare(tag: &str) -> bool {
    let ok = std::process::Command::new("unshare").arg("--help").stdout(Stdio::null()).status().is_ok();
    if !ok {
        assert!(!std::env::var("AIS_REQUIRE_NETNS").is_ok_and(|v| v == "1"), "no unshare");
        eprintln!("SKIPPED {tag}: no unshare");
    }
    ok
}

#[test]
fn openais_080_example_from_etc_ais_openais_conf_forms_a_ring_of_three() {
    if !have_unshare("openais-conf") {
        return;
    }
    let Some(lab) = lab("oais", 3) else { return };
    let dirs: Vec<TempDir> = (1..=3).map(|i| TempDir::new(&format!("oais-n{i}"))).collect();
    for d in &dirs {
        std::fs::create_dir_all(d.path().join("etc/ais")).unwrap();
        std::fs::write(d.path().join("etc/ais/openais.conf"), openais_080_example(&d.path().join("ais.log"))).unwrap();
    }
    // The check, as a user would run it before switching over.
    let etc = dirs[0].path().join("etc").display().to_string();
    let check = format!("{IN_ETC} -t");
    let mut cmd = lab.command(1, "unshare");
    cmd.args(&etc_argv(&etc, &check)[1..]);
    common::exec_env(&mut cmd, &dirs[0]);
    without_config_vars(&mut cmd);
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.starts_with(
            "configuration read from /etc/ais/openais.conf (/etc/ais/corosync.conf does not exist)\n\
             ring 0: node id "
        ) && text.ends_with("configuration OK\n"),
        "{text}"
    );

    let run = format!("{IN_ETC} -f");
    let mut c = Cluster { execs: Vec::new(), dirs, lab };
    for i in 1..=3 {
        let etc = c.dir(i).path().join("etc").display().to_string();
        let e = start_cmd_in(&c.lab, i, c.dir(i), &etc_argv(&etc, &run), without_config_vars);
        c.execs.push(Some(e));
    }
    let all = [v4_id(1), v4_id(2), v4_id(3)];
    let t = c.wait(&[(1, &all), (2, &all), (3, &all)], Duration::from_secs(15));
    println!("openais.conf: ring of 3 formed {t:?} after the last start");
    for i in 1..=3 {
        let log = c.execs[i - 1].as_ref().unwrap().stderr();
        assert!(
            log.contains("configuration read from /etc/ais/openais.conf (/etc/ais/corosync.conf does not exist)"),
            "node {i}: {log}"
        );
        // to_file: yes with its logfile: the same lines there.
        let file = std::fs::read_to_string(c.dir(i).path().join("ais.log")).unwrap();
        assert!(file.contains("processor joined"), "node {i}: {file}");
    }
}

#[test]
fn corosync_14_udpu_example_forms_a_ring_of_three() {
    let Some(lab) = lab("cs14", 3) else { return };
    let dirs: Vec<TempDir> = (1..=3).map(|i| TempDir::new(&format!("cs14-n{i}"))).collect();
    for d in &dirs {
        d.config(&corosync_14_udpu_example(&d.path().join("corosync.log")));
    }
    let mut cmd = lab.command(2, AISEXEC);
    cmd.arg("-t");
    common::exec_env(&mut cmd, &dirs[1]);
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let conf = dirs[1].path().join("corosync.conf");
    let expected = format!(
        "configuration read from {c} (named by COROSYNC_MAIN_CONFIG_FILE)\n\
         {c}:31: debug: also set at line 29 (debug): the value here is used\n\
         ring 0: node id {id} on {addr} (eth0) port 5405\nconfiguration OK\n",
        c = conf.display(),
        id = v4_id(2),
        addr = Lab::ipv4(2)
    );
    assert_eq!(text, expected);

    let mut c = Cluster { execs: Vec::new(), dirs, lab };
    for i in 1..=3 {
        let e = start_in(&c.lab, i, c.dir(i));
        c.execs.push(Some(e));
    }
    let all = [v4_id(1), v4_id(2), v4_id(3)];
    let t = c.wait(&[(1, &all), (2, &all), (3, &all)], Duration::from_secs(15));
    println!("corosync 1.4 udpu: ring of 3 formed {t:?} after the last start");
    for i in 1..=3 {
        let log = std::fs::read_to_string(c.dir(i).path().join("corosync.log")).unwrap();
        assert!(log.contains("debug: also set at line 29"), "node {i}: {log}");
        assert!(log.contains("processor joined"), "node {i}: {log}");
    }
}
