//! Whole-file parser tests: good files (ours, the openais 0.80 example,
//! the corosync 1.x udpu example), every error class with its exact
//! message, the notes on accepted-but-ignored keys, and where files are
//! looked for.

use super::*;

const GOOD: &str = r#"
# A full openais-era file.
totem {
	version: 2
	nodeid: 7
	secauth: off
	threads: 0
	vsftype: none
	token: 1000
	token_retransmit: 238
	hold: 180
	token_retransmits_before_loss_const: 4
	join: 50
	send_join: 0
	consensus: 1200
	merge: 200
	downcheck: 1000
	fail_to_recv_const: 2500
	seqno_unchanged_const: 30
	heartbeat_failures_allowed: 0
	max_network_delay: 50
	window_size: 50
	max_messages: 17
	netmtu: 1500
	rrp_mode: passive
	rrp_problem_count_timeout: 2000
	rrp_problem_count_threshold: 10
	rrp_token_expired_timeout: 47
	interface {
		ringnumber: 0
		bindnetaddr: 192.168.1.0
		mcastaddr: 226.94.1.1
		mcastport: 5405
	}
	interface {
		ringnumber: 1
		bindnetaddr: 10.0.0.0
		mcastaddr: 226.94.1.2
	}
}

logging {
	to_stderr: yes
	to_file: yes
	to_syslog: no
	logfile: /var/log/ais/aisexec log.txt
	timestamp: on
	debug: off
	fileline: off
	syslog_facility: local3
	logger_subsys {
		subsys: IPC
		debug: on
	}
	logger_subsys {
		subsys: TOTEM
	}
}

event {
	delivery_queue_size: 2000
	delivery_queue_resume: 100
}

amf {
	mode: enabled
}

aisexec {
	user: root
	group: root
}

uidgid {
	uid: 65533
}
uidgid {
	gid: root
}
"#;

#[test]
fn good_file_parses_fully() {
    let c = parse_str("good.conf", GOOD).unwrap();
    let t = &c.totem;
    assert_eq!(t.nodeid, Some(7));
    assert_eq!(t.secauth, Some(false));
    assert_eq!(t.rrp_mode, RrpMode::Passive);
    assert_eq!(t.transport, Transport::Udp);
    assert_eq!(t.raw_value("token"), Some("1000"));
    assert_eq!(t.raw_value("max_messages"), Some("17"));
    assert_eq!(t.raw.len(), 25);
    assert_eq!(t.raw.iter().find(|r| r.key == "token").map(|r| r.line), Some(9));
    assert_eq!(t.interfaces.len(), 2);
    assert_eq!(t.interfaces[1].mcastport, schema::DEFAULT_MCASTPORT);
    assert_eq!(t.interfaces[0].bindnetaddr, "192.168.1.0".parse::<IpAddr>().unwrap());
    let l = &c.logging;
    assert!(l.to_stderr && l.to_file && !l.to_syslog && l.timestamp && !l.debug);
    assert_eq!(l.logfile.as_deref(), Some(Path::new("/var/log/ais/aisexec log.txt")));
    assert_eq!(l.syslog_facility, libc::LOG_LOCAL3);
    assert_eq!(
        l.subsys,
        vec![
            SubsysLogging { subsys: "IPC".into(), debug: Some(true), ..Default::default() },
            SubsysLogging { subsys: "TOTEM".into(), ..Default::default() },
        ]
    );
    assert_eq!(c.event, Event { delivery_queue_size: 2000, delivery_queue_resume: 100 });
    assert!(c.amf_enabled);
    assert_eq!(c.aisexec, Aisexec { user: "root".into(), group: "root".into(), ..Aisexec::default() });
    assert_eq!(c.uidgid, vec![UidGid { uid: Some(65533), gid: None }, UidGid { uid: None, gid: Some(0) }]);
    // Everything here is acted on (AMF too): no note.
    let notes: Vec<String> = c.notes.iter().map(|n| n.display("good.conf")).collect();
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn udpu_ipv6_and_empty_file() {
    let text = "totem {\n nodeid: 3\n transport: udpu\n interface {\n  ringnumber: 0\n  bindnetaddr: ::1\n  member {\n   memberaddr: ::1\n  }\n  member {\n   memberaddr: fe80::2\n  }\n }\n}\n";
    let c = parse_str("u.conf", text).unwrap();
    assert_eq!(c.totem.transport, Transport::Udpu);
    assert_eq!(c.totem.interfaces[0].members.len(), 2);
    assert_eq!(parse_str("e.conf", "# nothing\n").unwrap(), Config::default());
}

fn err(text: &str) -> String {
    parse_str("t.conf", text).unwrap_err().to_string()
}

#[test]
fn unknown_section() {
    assert_eq!(err("totme {\n}\n"), "t.conf:1: totme: unknown section in top level");
    assert_eq!(err("totem {\n ring {\n }\n}\n"), "t.conf:2: ring: unknown section in totem");
    // Sections that came with later formats are not part of this one.
    assert_eq!(err("\nnodelist {\n}\n"), "t.conf:2: nodelist: unknown section in top level");
}

#[test]
fn unknown_key() {
    assert_eq!(err("totem {\n tokn: 1000\n}\n"), "t.conf:2: tokn: unknown key in totem");
    assert_eq!(err("logging {\n logoutput: file\n}\n"), "t.conf:2: logoutput: unknown key in logging");
    assert_eq!(err("version: 2\n"), "t.conf:1: version: unknown key in top level");
    // Misspelt compatibility keys are errors like any other.
    assert_eq!(err("logging {\n to_logfle: yes\n}\n"), "t.conf:2: to_logfle: unknown key in logging");
    assert_eq!(err("totem {\n clear_node_highbit: yes\n}\n"), "t.conf:2: clear_node_highbit: unknown key in totem");
    assert_eq!(err("quorum {\n expected_vote: 2\n}\n"), "t.conf:2: expected_vote: unknown key in quorum");
    assert_eq!(err("compatibilty: whitetank\n"), "t.conf:1: compatibilty: unknown key in top level");
    assert_eq!(
        err("logging {\n logger {\n  subsys: AMF\n }\n}\n"),
        "t.conf:3: subsys: unknown key in logger",
        "openais 0.80's logger section names its subsystem with ident"
    );
}

#[test]
fn bad_value() {
    assert_eq!(err("totem {\n secauth: maybe\n}\n"), "t.conf:2: secauth: expected on/off or yes/no, got 'maybe'");
    assert_eq!(err("totem {\n transport: tcp\n}\n"), "t.conf:2: transport: expected one of udp|udpu|iba, got 'tcp'");
    assert_eq!(
        err("amf {\n mode: sometimes\n}\n"),
        "t.conf:2: mode: expected one of enabled|disabled, got 'sometimes'"
    );
    assert_eq!(err("totem {\n version: 1\n}\n"), "t.conf:2: version: only version 2 is supported, got '1'");
    assert_eq!(
        err("logging {\n syslog_facility: kern\n}\n"),
        "t.conf:2: syslog_facility: expected daemon, user or local0..local7, got 'kern'"
    );
    assert_eq!(err("logging {\n logger_subsys {\n  subsys: FOO\n }\n}\n"), "t.conf:3: subsys: unknown subsystem 'FOO'");
    assert_eq!(err("logging {\n to_file: yes\n}\n"), "t.conf:2: logfile: required with to_file: yes");
    assert_eq!(err("logging {\n to_logfile: yes\n}\n"), "t.conf:2: logfile: required with to_file: yes");
    assert_eq!(
        err("logging {\n logger_subsys {\n  subsys: IPC\n  to_logfile: yes\n }\n}\n"),
        "t.conf:1: logfile: required: subsystem IPC logs to the file"
    );
    assert_eq!(err("aisexec {\n user: a b\n}\n"), "t.conf:2: user: not a valid name: 'a b'");
    assert_eq!(err("uidgid {\n uid: no-such-user-xyz\n}\n"), "t.conf:2: uid: no such user 'no-such-user-xyz'");
    assert_eq!(
        err("event {\n delivery_queue_size: 10\n delivery_queue_resume: 20\n}\n"),
        "t.conf:3: delivery_queue_resume: 20 exceeds delivery_queue_size 10"
    );
}

#[test]
fn bad_number() {
    assert_eq!(err("totem {\n token: 10x\n}\n"), "t.conf:2: token: expected a number, got '10x'");
    assert_eq!(err("totem {\n token: -5\n}\n"), "t.conf:2: token: expected a number, got '-5'");
    assert_eq!(err("totem {\n netmtu: 100\n}\n"), "t.conf:2: netmtu: 100 out of range 576..65000");
    assert_eq!(err("totem {\n nodeid: 0\n}\n"), "t.conf:2: nodeid: 0 out of range 1..4294967295");
    assert_eq!(
        err("totem {\n interface {\n  mcastport: 70000\n }\n}\n"),
        "t.conf:3: mcastport: 70000 out of range 1..65535"
    );
}

#[test]
fn bad_address() {
    let iface = |body: &str| format!("totem {{\n interface {{\n  ringnumber: 0\n{body} }}\n}}\n");
    assert_eq!(err(&iface("  bindnetaddr: 10.0.0.300\n")), "t.conf:4: bindnetaddr: not an IP address: '10.0.0.300'");
    assert_eq!(
        err(&iface("  bindnetaddr: 10.0.0.1\n  mcastaddr: 10.0.0.2\n")),
        "t.conf:5: mcastaddr: not a multicast address: '10.0.0.2'"
    );
    assert_eq!(err(&iface("  bindnetaddr: 10.0.0.1\n")), "t.conf:2: mcastaddr: required with transport udp");
    assert_eq!(
        err(&iface("  bindnetaddr: 10.0.0.1\n  mcastaddr: ff02::1\n")),
        "t.conf:2: mcastaddr: address family differs from bindnetaddr"
    );
    assert_eq!(
        err(&iface("  bindnetaddr: fe80::1\n  mcastaddr: ff02::1\n")),
        "t.conf:2: nodeid: required in totem with an IPv6 bindnetaddr"
    );
    assert_eq!(
        err(&iface("  bindnetaddr: 10.0.0.1\n  member {\n   memberaddr: x\n  }\n")),
        "t.conf:6: memberaddr: not an IP address: 'x'"
    );
}

#[test]
fn missing_and_unterminated_braces() {
    assert_eq!(err("totem\n token: 1\n}\n"), "t.conf:1: totem: expected '{' after section name");
    assert_eq!(err("totem {\n token: 1\n"), "t.conf:1: totem: section not closed before end of file");
    assert_eq!(err("totem {\n}\n}\n"), "t.conf:3: }: closing brace without open section");
}

#[test]
fn a_key_set_twice_takes_its_last_value_with_a_note() {
    // Both classic parsers kept the last value (the corosync 1.x udpu
    // example sets logging debug twice).
    let c = parse_str("t.conf", "totem {\n token: 1000\n token: 2000\n}\n").unwrap();
    assert_eq!(c.totem.raw, vec![RawKey { key: "token".into(), value: "2000".into(), line: 3 }]);
    assert_eq!(
        c.notes,
        vec![Note { line: 3, key: "token".into(), text: "also set at line 2 (token): the value here is used".into() }]
    );
    // Two spellings of one key count as the same key.
    let c = parse_str("t.conf", "logging {\n to_file: no\n to_logfile: yes\n logfile: /l\n}\n").unwrap();
    assert!(c.logging.to_file);
    assert_eq!(
        c.notes[0].display("t.conf"),
        "t.conf:3: to_logfile: also set at line 2 (to_file): the value here is used"
    );
    let c = parse_str("t.conf", "totem {\n fail_recv_const: 10\n fail_to_recv_const: 20\n}\n").unwrap();
    assert_eq!(c.totem.raw_value("fail_to_recv_const"), Some("20"));
    // A bad value is an error even when a later line sets the key again.
    assert_eq!(err("totem {\n token: x\n token: 2\n}\n"), "t.conf:2: token: expected a number, got 'x'");
}

#[test]
fn duplicate_sections_are_errors() {
    assert_eq!(err("totem {\n}\ntotem {\n}\n"), "t.conf:3: totem: duplicate section (totem first at line 1)");
    assert_eq!(err("totem {\n}\nnetwork {\n}\n"), "t.conf:3: network: duplicate section (totem first at line 1)");
    assert_eq!(err("quorum {\n}\nquorum {\n}\n"), "t.conf:3: quorum: duplicate section (quorum first at line 1)");
    let two = "totem {\n rrp_mode: active\n interface {\n  ringnumber: 0\n  bindnetaddr: 10.0.0.1\n  mcastaddr: 239.1.1.1\n }\n interface {\n  ringnumber: 0\n  bindnetaddr: 10.0.1.1\n  mcastaddr: 239.1.1.2\n }\n}\n";
    assert_eq!(err(two), "t.conf:8: ringnumber: ring 0 already defined at line 3");
    assert_eq!(
        err("logging {\n logger_subsys {\n  subsys: IPC\n }\n logger_subsys {\n  subsys: IPC\n }\n}\n"),
        "t.conf:5: subsys: 'IPC' configured twice"
    );
    // uidgid and service sections may repeat.
    assert_eq!(parse_str("t", "uidgid {\n uid: 1\n}\nuidgid {\n uid: 2\n}\n").unwrap().uidgid.len(), 2);
    let c = parse_str("t", "service {\n name: a\n}\nservice {\n name: b\n ver: 1\n}\n").unwrap();
    assert_eq!(
        c.services,
        vec![
            ServiceSection { line: 1, name: "a".into(), ver: None },
            ServiceSection { line: 4, name: "b".into(), ver: Some(1) }
        ]
    );
}

#[test]
fn ring_and_transport_cross_checks() {
    let udpu = "totem {\n transport: udpu\n interface {\n  ringnumber: 0\n  bindnetaddr: 127.0.0.1\n }\n}\n";
    assert_eq!(err(udpu), "t.conf:3: member: transport udpu needs at least one member");
    let one = "totem {\n rrp_mode: active\n interface {\n  ringnumber: 0\n  bindnetaddr: 10.0.0.1\n  mcastaddr: 239.1.1.1\n }\n}\n";
    assert_eq!(err(one), "t.conf:2: rrp_mode: redundant ring mode needs two interfaces");
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aisexec-cfg-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The main file named (as by COROSYNC_MAIN_CONFIG_FILE): `dir/corosync.conf`.
fn paths(dir: &Path) -> ConfigPaths {
    ConfigPaths {
        main: MainSource::Env { var: "COROSYNC_MAIN_CONFIG_FILE", path: dir.join("corosync.conf") },
        amf: dir.join("amf.conf"),
        authkey: dir.join("authkey"),
        ring_state_dir: None,
    }
}

/// The default places, as under /etc/ais: `dir/corosync.conf`, then `dir/openais.conf`.
fn default_paths(dir: &Path) -> ConfigPaths {
    ConfigPaths { main: MainSource::Defaults(vec![dir.join("corosync.conf"), dir.join("openais.conf")]), ..paths(dir) }
}

/// The main file of [`paths`].
fn main_file(dir: &Path) -> PathBuf {
    dir.join("corosync.conf")
}

#[test]
fn missing_default_file_means_defaults_but_named_file_must_exist() {
    let d = temp_dir("missing");
    let l = load_from(default_paths(&d)).unwrap();
    assert_eq!(l.config.source, None);
    assert!(!l.secauth);
    assert_eq!(
        l.describe_source(),
        format!(
            "no configuration file ({}, {} do not exist): running a single-node cluster on loopback",
            d.join("corosync.conf").display(),
            d.join("openais.conf").display()
        )
    );
    let e = load_from(paths(&d)).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: file: cannot read:", main_file(&d).display())), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn openais_conf_is_read_when_corosync_conf_is_absent() {
    let d = temp_dir("fallback");
    let (corosync, openais) = (d.join("corosync.conf"), d.join("openais.conf"));
    std::fs::write(&openais, "totem {\n nodeid: 5\n}\n").unwrap();
    let l = load_from(default_paths(&d)).unwrap();
    assert_eq!((l.config.source.as_deref(), l.config.totem.nodeid), (Some(openais.as_path()), Some(5)));
    assert_eq!(
        l.describe_source(),
        format!("configuration read from {} ({} does not exist)", openais.display(), corosync.display())
    );
    // Both: corosync.conf, and the log says the other is not read.
    std::fs::write(&corosync, "totem {\n nodeid: 6\n}\n").unwrap();
    let l = load_from(default_paths(&d)).unwrap();
    assert_eq!(l.config.totem.nodeid, Some(6));
    assert_eq!(
        l.describe_source(),
        format!("configuration read from {}; {} exists too and is not read", corosync.display(), openais.display())
    );
    // A corosync.conf that exists but is unusable is an error, never a
    // reason to read openais.conf (or to run alone on loopback).
    std::fs::write(&corosync, "totem {\n nodeid: x\n}\n").unwrap();
    let e = load_from(default_paths(&d)).unwrap_err().to_string();
    assert_eq!(e, format!("{}:2: nodeid: expected a number, got 'x'", corosync.display()));
    std::fs::write(&corosync, [0xffu8, 0xfe]).unwrap();
    assert_eq!(
        load_from(default_paths(&d)).unwrap_err().to_string(),
        format!("{}: file: not valid UTF-8", corosync.display())
    );
    std::fs::remove_file(&corosync).unwrap();
    std::fs::create_dir(&corosync).unwrap();
    let e = load_from(default_paths(&d)).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: file: cannot read:", corosync.display())), "{e}");
    std::fs::remove_dir(&corosync).unwrap();
    std::os::unix::fs::symlink(d.join("gone"), &corosync).unwrap();
    let e = load_from(default_paths(&d)).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: file: cannot read:", corosync.display())), "dangling symlink: {e}");
    // Named by the environment: said so.
    std::fs::remove_file(&corosync).unwrap();
    let named =
        ConfigPaths { main: MainSource::Env { var: "OPENAIS_MAIN_CONFIG_FILE", path: openais.clone() }, ..paths(&d) };
    let l = load_from(named).unwrap();
    assert_eq!(
        l.describe_source(),
        format!("configuration read from {} (named by OPENAIS_MAIN_CONFIG_FILE)", openais.display())
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn environment_names_of_corosync_and_openais() {
    let vars = |list: &'static [(&'static str, &'static str)]| {
        move |name: &str| list.iter().find(|(n, _)| *n == name).map(|(_, v)| PathBuf::from(v))
    };
    let p = ConfigPaths::from_vars(vars(&[])).unwrap();
    assert_eq!(p.main, MainSource::Defaults(vec!["/etc/ais/corosync.conf".into(), "/etc/ais/openais.conf".into()]));
    assert_eq!((p.amf.as_path(), p.authkey.as_path()), (Path::new("/etc/ais/amf.conf"), Path::new("/etc/ais/authkey")));
    assert_eq!(p.ring_state_dir, None);
    // The openais 0.80 names alone.
    let p = ConfigPaths::from_vars(vars(&[
        ("OPENAIS_MAIN_CONFIG_FILE", "/o/main"),
        ("OPENAIS_AMF_CONFIG_FILE", "/o/amf"),
        ("OPENAIS_TOTEM_AUTHKEY_FILE", "/o/key"),
        ("OPENAIS_RUN_DIR", "/o/state"),
        ("OPENAIS_DEFAULT_CONFIG_IFACE", "aisparser"),
    ]))
    .unwrap();
    assert_eq!(p.main, MainSource::Env { var: "OPENAIS_MAIN_CONFIG_FILE", path: "/o/main".into() });
    assert_eq!((p.amf.to_str(), p.authkey.to_str()), (Some("/o/amf"), Some("/o/key")));
    assert_eq!(p.ring_state_dir.as_deref(), Some(Path::new("/o/state")));
    // Both: the corosync names win; empty counts as unset.
    let p = ConfigPaths::from_vars(vars(&[
        ("OPENAIS_MAIN_CONFIG_FILE", "/o/main"),
        ("COROSYNC_MAIN_CONFIG_FILE", "/c/main"),
        ("OPENAIS_TOTEM_AUTHKEY_FILE", "/o/key"),
        ("COROSYNC_TOTEM_AUTHKEY_FILE", ""),
        ("COROSYNC_AMF_CONFIG_FILE", "/c/amf"),
        ("OPENAIS_AMF_CONFIG_FILE", "/o/amf"),
        ("COROSYNC_DEFAULT_CONFIG_IFACE", "openaisserviceenable:openaisparser"),
    ]))
    .unwrap();
    assert_eq!(p.main, MainSource::Env { var: "COROSYNC_MAIN_CONFIG_FILE", path: "/c/main".into() });
    assert_eq!((p.amf.to_str(), p.authkey.to_str()), (Some("/c/amf"), Some("/o/key")));
    // A parser whose files this executive cannot read: refuse, rather than
    // start a different cluster from corosync.conf.
    let e = ConfigPaths::from_vars(vars(&[("COROSYNC_DEFAULT_CONFIG_IFACE", "xmlconfig:cmanpreconfig")])).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "environment: COROSYNC_DEFAULT_CONFIG_IFACE: configuration parser 'xmlconfig' is not available"
        ),
        "{e}"
    );
    assert!(ConfigPaths::from_vars(vars(&[("OPENAIS_DEFAULT_CONFIG_IFACE", "ldap")])).is_err());
}

#[test]
fn authkey_rules() {
    let d = temp_dir("authkey");
    let p = paths(&d);
    std::fs::write(main_file(&d), "totem {\n secauth: on\n}\n").unwrap();
    let e = load_from(p.clone()).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: authkey: cannot read:", p.authkey.display())), "{e}");
    std::fs::write(&p.authkey, [1u8; 3]).unwrap();
    set_mode(&p.authkey, 0o600);
    assert_eq!(
        load_from(p.clone()).unwrap_err().to_string(),
        format!("{}: authkey: 3 bytes, need at least 16", p.authkey.display())
    );
    std::fs::write(&p.authkey, [1u8; 128]).unwrap();
    // Readable by others: refused unless the configuration allows it.
    for mode in [0o644, 0o640, 0o604, 0o620] {
        set_mode(&p.authkey, mode);
        let e = load_from(p.clone()).unwrap_err().to_string();
        assert!(e.contains(&format!("mode {mode:04o} lets others than its owner")), "{e}");
    }
    std::fs::write(main_file(&d), "totem {\n secauth: on\n strict_authkey_permissions: no\n}\n").unwrap();
    assert!(load_from(p.clone()).unwrap().secauth);
    std::fs::write(main_file(&d), "totem {\n secauth: on\n}\n").unwrap();
    set_mode(&p.authkey, 0o400);
    let l = load_from(p.clone()).unwrap();
    assert!(l.secauth);
    assert_eq!(l.authkey.as_deref().map(<[u8]>::len), Some(128));
    // Not written: on, with a ring and without one, when the key exists.
    let ring = "totem {\n interface {\n  ringnumber: 0\n  bindnetaddr: 127.0.0.1\n  mcastaddr: 239.1.2.3\n }\n}\n";
    std::fs::write(main_file(&d), "totem {\n}\n").unwrap();
    assert!(load_from(p.clone()).unwrap().secauth);
    std::fs::write(main_file(&d), ring).unwrap();
    assert!(load_from(p.clone()).unwrap().secauth);
    // Without the key: a ring is refused, loudly; a lone node needs none.
    std::fs::remove_file(&p.authkey).unwrap();
    let e = load_from(p.clone()).unwrap_err().to_string();
    assert!(e.contains("secauth: not set, so on (the default), but there is no authkey at"), "{e}");
    std::fs::write(main_file(&d), "totem {\n}\n").unwrap();
    assert!(!load_from(p.clone()).unwrap().secauth);
    let _ = std::fs::remove_dir_all(&d);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn totem_keyfile_and_key_come_before_the_environment_and_default() {
    let d = temp_dir("keyfile");
    let p = paths(&d);
    std::fs::write(&p.authkey, [1u8; 128]).unwrap();
    let other = d.join("other.key");
    std::fs::write(&other, [2u8; 64]).unwrap();
    set_mode(&other, 0o600);
    std::fs::write(main_file(&d), format!("totem {{\n secauth: on\n keyfile: {}\n}}\n", other.display())).unwrap();
    let l = load_from(p.clone()).unwrap();
    assert_eq!(l.authkey, Some(vec![2u8; 64]));
    assert_eq!((l.paths.authkey.as_path(), l.key_source()), (other.as_path(), other.display().to_string()));
    // The key itself, in the file.
    std::fs::write(main_file(&d), "totem {\n secauth: on\n key: 0123456789abcdefXYZ\n}\n").unwrap();
    let l = load_from(p.clone()).unwrap();
    assert_eq!(l.authkey.as_deref(), Some(&b"0123456789abcdefXYZ"[..]));
    assert_eq!(l.key_source(), "the totem key in the configuration");
    assert!(!format!("{:?}", l.config).contains("XYZ"), "the key is never printed");
    assert_eq!(err("totem {\n key: short\n}\n"), "t.conf:2: key: 5 bytes, need 16 to 4096");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn connection_limits_have_defaults_and_bounds() {
    let c = parse_str("a.conf", "aisexec {\n user: root\n}\n").unwrap();
    assert_eq!(
        (c.aisexec.max_connections_per_uid, c.aisexec.max_connections_per_process, c.aisexec.root_reserved_connections),
        (1024, 512, 1024)
    );
    let text =
        "aisexec {\n max_connections_per_uid: 7\n max_connections_per_process: 3\n root_reserved_connections: 0\n}\n";
    let c = parse_str("a.conf", text).unwrap();
    assert_eq!(
        (c.aisexec.max_connections_per_uid, c.aisexec.max_connections_per_process, c.aisexec.root_reserved_connections),
        (7, 3, 0)
    );
    let e = parse_str("a.conf", "aisexec {\n max_connections_per_process: 0\n}\n").unwrap_err();
    assert_eq!(e.to_string(), "a.conf:2: max_connections_per_process: 0 out of range 1..8192");
    let e = parse_str("a.conf", "aisexec {\n root_reserved_connections: 9000\n}\n").unwrap_err();
    assert_eq!(e.to_string(), "a.conf:2: root_reserved_connections: 9000 out of range 0..8192");
    assert_eq!(c.aisexec.callback_budget_mb, None, "sized to the machine unless written");
    let c = parse_str("a.conf", "aisexec {\n callback_budget_mb: 512\n}\n").unwrap();
    assert_eq!(c.aisexec.callback_budget_mb, Some(512));
    let e = parse_str("a.conf", "aisexec {\n callback_budget_mb: 0\n}\n").unwrap_err();
    assert_eq!(e.to_string(), "a.conf:2: callback_budget_mb: 0 out of range 1..1048576");
}

#[test]
fn realtime_priority_is_auto_and_mlockall_off_unless_written() {
    use crate::config::Realtime;
    let c = parse_str("a.conf", "aisexec {\n user: root\n}\n").unwrap();
    assert!(c.aisexec.realtime_priority == Realtime::WhileContested && !c.aisexec.mlockall);
    let c = parse_str("a.conf", "aisexec {\n realtime_priority: yes\n mlockall: on\n}\n").unwrap();
    assert!(c.aisexec.realtime_priority == Realtime::Always && c.aisexec.mlockall);
    for (v, want) in [
        ("no", Realtime::Never),
        ("off", Realtime::Never),
        ("on", Realtime::Always),
        ("auto", Realtime::WhileContested),
    ] {
        let c = parse_str("a.conf", &format!("aisexec {{\n realtime_priority: {v}\n}}\n")).unwrap();
        assert_eq!(c.aisexec.realtime_priority, want, "{v}");
    }
    let e = parse_str("a.conf", "aisexec {\n\n realtime_priority: always\n}\n").unwrap_err();
    assert_eq!(e.to_string(), "a.conf:3: realtime_priority: expected yes, no or auto, got 'always'");
    let e = parse_str("a.conf", "aisexec {\n mlockall: sometimes\n}\n").unwrap_err();
    assert_eq!(e.to_string(), "a.conf:2: mlockall: expected on/off or yes/no, got 'sometimes'");
}

#[test]
fn an_endless_or_huge_config_file_is_an_error_not_an_endless_read() {
    // Before the bound, /dev/zero as the config file read until memory ran out.
    let p = ConfigPaths {
        main: MainSource::Env { var: "COROSYNC_MAIN_CONFIG_FILE", path: PathBuf::from("/dev/zero") },
        amf: PathBuf::new(),
        authkey: PathBuf::new(),
        ring_state_dir: None,
    };
    let e = load_from(p).unwrap_err().to_string();
    assert!(e.contains(&format!("larger than {CONFIG_MAX} bytes")), "{e}");
    // Just over the limit: refused; a comment-only file at the limit: fine.
    let d = temp_dir("huge");
    let line = "# padding padding padding padding padding padding padding padding\n";
    let mut text = line.repeat(CONFIG_MAX / line.len());
    text.push_str(&"#".repeat(CONFIG_MAX - text.len()));
    std::fs::write(main_file(&d), &text).unwrap();
    assert!(load_from(paths(&d)).is_ok());
    text.push('\n');
    std::fs::write(main_file(&d), &text).unwrap();
    assert!(load_from(paths(&d)).is_err());
    let _ = std::fs::remove_dir_all(&d);
}

/// `conf/openais.conf` of openais 0.80.6, as shipped.
const OPENAIS_080_EXAMPLE: &str = "# Please read the openais.conf.5 manual page

totem {
\tversion: 2
\tsecauth: off
\tthreads: 0
\tinterface {
\t\tringnumber: 0
\t\tbindnetaddr: 192.168.2.0
\t\tmcastaddr: 226.94.1.1
\t\tmcastport: 5405
\t}
}

logging {
\tto_stderr: yes
\tto_file: yes
\tlogfile: /tmp/ais
\tdebug: off
\ttimestamp: on
}

amf {
\tmode: disabled
}
";

#[test]
fn the_openais_080_example_is_accepted_as_shipped() {
    let c = parse_str("openais.conf", OPENAIS_080_EXAMPLE).unwrap();
    assert_eq!(c.totem.secauth, Some(false));
    let i = &c.totem.interfaces[0];
    assert_eq!(
        (i.bindnetaddr.to_string(), i.mcastaddr.map(|a| a.to_string()), i.mcastport),
        ("192.168.2.0".into(), Some("226.94.1.1".into()), 5405)
    );
    let l = &c.logging;
    assert!(l.to_stderr && l.to_file && l.timestamp && !l.debug);
    assert_eq!(l.logfile.as_deref(), Some(Path::new("/tmp/ais")));
    assert!(!c.amf_enabled);
    assert_eq!(c.notes, vec![], "everything in it is acted on");
}

/// `conf/corosync.conf.example.udpu` as shipped in corosync 1.4.0 to
/// 1.4.2 (only the member list is shorter).
const COROSYNC_14_UDPU_EXAMPLE: &str = "# Please read the corosync.conf.5 manual page
compatibility: whitetank

totem {
\tversion: 2
\tsecauth: off
\tinterface {
\t\tmember {
\t\t\tmemberaddr: 10.16.35.101
\t\t}
\t\tmember {
\t\t\tmemberaddr: 10.16.35.102
\t\t}
\t\tmember {
\t\t\tmemberaddr: 10.16.35.103
\t\t}
\t\tringnumber: 0
\t\tbindnetaddr: 10.16.35.0
\t\tmcastport: 5405
\t\tttl: 1
\t}
\ttransport: udpu
}

logging {
\tfileline: off
\tto_logfile: yes
\tto_syslog: yes
\tdebug: on
\tlogfile: /var/log/cluster/corosync.log
\tdebug: off
\ttimestamp: on
\tlogger_subsys {
\t\tsubsys: AMF
\t\tdebug: off
\t}
}
";

#[test]
fn the_corosync_14_udpu_example_is_accepted_as_shipped() {
    let c = parse_str("corosync.conf", COROSYNC_14_UDPU_EXAMPLE).unwrap();
    assert_eq!(c.totem.transport, Transport::Udpu);
    let i = &c.totem.interfaces[0];
    assert_eq!((i.bindnetaddr.to_string(), i.ttl, i.members.len()), ("10.16.35.0".into(), 1, 3));
    let l = &c.logging;
    assert!(l.to_file && l.to_syslog && l.timestamp && !l.fileline);
    assert!(!l.debug, "the later of its two debug lines wins");
    assert_eq!(l.subsys, vec![SubsysLogging { subsys: "AMF".into(), debug: Some(false), ..Default::default() }]);
    // The one note: debug set twice.
    let notes: Vec<String> = c.notes.iter().map(|n| n.display("corosync.conf")).collect();
    assert_eq!(notes, vec!["corosync.conf:31: debug: also set at line 29 (debug): the value here is used"]);
}

#[test]
fn every_classic_key_is_accepted_and_the_ones_not_acted_on_are_noted_once() {
    let text = "compatibility: none
totem {
 version: 2
 nodeid: 9
 clear_node_high_bit: yes
 threads: 4
 vsftype: ykd
 fail_recv_const: 3000
 miss_count_const: 5
 rrp_problem_count_mcast_threshold: 100
 rrp_autorecovery_check_timeout: 1000
 crypto_type: nss
 crypto_accept: new
 interface {
  ringnumber: 0
  bindnetaddr: 10.0.0.0
  broadcast: yes
  ttl: 4
  member {
   memberaddr: 10.0.0.1
  }
 }
 transport: udpu
}
logging {
 to_logfile: yes
 logfile: /var/log/ais.log
 to_syslog: no
 syslog_facility: local0
 syslog_priority: warning
 logfile_priority: notice
 function_name: on
 tags: enter|leave|trace1
 debug: trace
 logger_subsys {
  subsys: QUORUM
  debug: on
 }
 logger_subsys {
  subsys: TOTEM
  to_syslog: yes
  syslog_level: err
  logfile: /elsewhere
  syslog_facility: local1
 }
 logger {
  ident: CKPT
  debug: off
  tags: trace2|trace8
 }
}
service {
 name: pacemaker
 ver: 0
 use_mgmtd: yes
}
quorum {
 provider: corosync_votequorum
 expected_votes: 3
 two_node: 0
 wait_for_all: 1
 leaving_timeout: 500
}
aisexec {
 user: root
 group: root
}
amf {
 mode: disabled
}
event {
 delivery_queue_size: 2000
}
";
    let c = parse_str("k.conf", text).unwrap();
    // Acted on.
    let t = &c.totem;
    assert!(t.clear_node_high_bit);
    assert_eq!((t.nodeid, t.raw_value("fail_to_recv_const")), (Some(9), Some("3000")));
    assert_eq!(
        t.raw.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
        ["version", "nodeid", "clear_node_high_bit", "threads", "vsftype", "fail_to_recv_const", "transport"]
    );
    assert_eq!(t.interfaces[0].ttl, 4);
    let l = &c.logging;
    assert!(l.to_file && l.debug && !l.to_syslog);
    assert_eq!(
        (l.syslog_facility, l.syslog_priority, l.logfile_priority),
        (libc::LOG_LOCAL0, Priority::Warning, Priority::Notice)
    );
    assert_eq!(
        l.subsys,
        vec![
            SubsysLogging { subsys: "QUORUM".into(), debug: Some(true), ..Default::default() },
            SubsysLogging {
                subsys: "TOTEM".into(),
                to_syslog: Some(true),
                syslog_priority: Some(Priority::Err),
                ..Default::default()
            },
            SubsysLogging { subsys: "CKPT".into(), debug: Some(false), ..Default::default() },
        ]
    );
    let q = c.quorum.as_ref().unwrap();
    assert_eq!(
        (q.provider.as_deref(), q.expected_votes, q.two_node, q.wait_for_all, q.other.len()),
        (Some("corosync_votequorum"), Some(3), false, Some(true), 1)
    );
    assert_eq!(c.event.delivery_queue_size, 2000);
    // Noted, one line per key not acted on, in file order.
    let noted: Vec<(u32, &str)> = c.notes.iter().map(|n| (n.line, n.key.as_str())).collect();
    assert_eq!(
        noted,
        [
            (1, "compatibility"),
            (6, "threads"),
            (7, "vsftype"),
            (9, "miss_count_const"),
            (10, "rrp_problem_count_mcast_threshold"),
            (11, "rrp_autorecovery_check_timeout"),
            (12, "crypto_type"),
            (13, "crypto_accept"),
            (17, "broadcast"),
            (32, "function_name"),
            (33, "tags"),
            (36, "subsys"),
            (43, "logfile"),
            (44, "syslog_facility"),
            (49, "tags"),
            (52, "service"),
            (62, "leaving_timeout"),
        ]
    );
    assert!(c.notes.iter().all(|n| n.text.contains("ignored")), "{:?}", c.notes);
    assert_eq!(
        c.notes[15].display("k.conf"),
        "k.conf:52: service: 'pacemaker' ignored: this executive loads no plugins; its own services are built in and always run"
    );
    // Values that ask for what this executive does anyway leave no note.
    let quiet = parse_str(
        "q.conf",
        "compatibility: whitetank\ntotem {\n threads: 0\n vsftype: none\n}\nlogging {\n function_name: off\n}\n",
    )
    .unwrap();
    assert_eq!(quiet.notes, vec![]);
}

#[test]
fn compatibility_values_are_still_checked() {
    assert_eq!(
        err("totem {\n transport: iba\n}\n"),
        "t.conf:2: transport: iba (InfiniBand verbs) is not supported: use udp or udpu"
    );
    assert_eq!(
        err("totem {\n interface {\n  ringnumber: 0\n  bindnetaddr: 10.0.0.0\n  broadcast: yes\n }\n}\n"),
        "t.conf:5: broadcast: not supported: set mcastaddr, or use transport: udpu with members"
    );
    assert_eq!(err("totem {\n interface {\n  ttl: 0\n }\n}\n"), "t.conf:3: ttl: 0 out of range 1..255");
    assert_eq!(err("totem {\n crypto_type: aes\n}\n"), "t.conf:2: crypto_type: expected one of sober|nss, got 'aes'");
    assert_eq!(err("totem {\n vsftype: other\n}\n"), "t.conf:2: vsftype: expected one of none|ykd, got 'other'");
    assert_eq!(err("compatibility: kilo\n"), "t.conf:1: compatibility: expected one of whitetank|none, got 'kilo'");
    assert_eq!(
        err("logging {\n tags: enter|exit\n}\n"),
        "t.conf:2: tags: unknown tag 'exit' (tags are enter|leave|trace1|trace2|trace3|trace4|trace5|trace6|trace7|trace8)"
    );
    assert_eq!(
        err("logging {\n syslog_priority: loud\n}\n"),
        "t.conf:2: syslog_priority: expected one of emerg|alert|crit|err|warning|notice|info|debug, got 'loud'"
    );
    assert_eq!(err("logging {\n debug: maybe\n}\n"), "t.conf:2: debug: expected on/off or yes/no, got 'maybe'");
    assert_eq!(err("logging {\n logger {\n  debug: on\n }\n}\n"), "t.conf:2: ident: missing in logger section");
    assert_eq!(err("logging {\n logger {\n  ident: NOPE\n }\n}\n"), "t.conf:3: ident: unknown subsystem 'NOPE'");
    assert_eq!(err("service {\n ver: 0\n}\n"), "t.conf:1: name: missing in service section");
    assert_eq!(err("quorum {\n two_node: 2\n}\n"), "t.conf:2: two_node: expected 0/1, got '2'");
    assert_eq!(err("quorum {\n expected_votes: 0\n}\n"), "t.conf:2: expected_votes: 0 out of range 1..4294967295");
    assert_eq!(err("quorum {\n provider: a b\n}\n"), "t.conf:2: provider: not a provider name: 'a b'");
}

#[test]
fn the_older_network_section_is_totem() {
    let c = parse_str("n.conf", "network {\n nodeid: 4\n token: 3000\n}\n").unwrap();
    assert_eq!((c.totem.nodeid, c.totem.raw_value("token")), (Some(4), Some("3000")));
    assert_eq!(err("network {\n tokn: 1\n}\n"), "t.conf:2: tokn: unknown key in network");
}

#[test]
fn the_installed_examples_parse_without_notes() {
    for (name, text) in [
        ("corosync.conf.example", include_str!("../../../../conf/corosync.conf.example")),
        ("corosync.conf.example.udpu", include_str!("../../../../conf/corosync.conf.example.udpu")),
    ] {
        let c = parse_str(name, text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((c.notes.len(), c.totem.interfaces.len()), (0, 1), "{name}");
    }
}
