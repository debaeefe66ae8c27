//! Whole-file parser tests: good files and every error class with its
//! exact message.

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
            SubsysLogging { subsys: "IPC".into(), debug: true },
            SubsysLogging { subsys: "TOTEM".into(), debug: false },
        ]
    );
    assert_eq!(c.event, Event { delivery_queue_size: 2000, delivery_queue_resume: 100 });
    assert!(c.amf_enabled);
    assert_eq!(c.aisexec, Aisexec { user: "root".into(), group: "root".into(), ..Aisexec::default() });
    assert_eq!(c.uidgid, vec![UidGid { uid: Some(65533), gid: None }, UidGid { uid: None, gid: Some(0) }]);
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
    assert_eq!(err("\nquorum {\n}\n"), "t.conf:2: quorum: unknown section in top level");
}

#[test]
fn unknown_key() {
    assert_eq!(err("totem {\n tokn: 1000\n}\n"), "t.conf:2: tokn: unknown key in totem");
    assert_eq!(err("logging {\n logoutput: file\n}\n"), "t.conf:2: logoutput: unknown key in logging");
    assert_eq!(err("version: 2\n"), "t.conf:1: version: unknown key in top level");
}

#[test]
fn bad_value() {
    assert_eq!(err("totem {\n secauth: maybe\n}\n"), "t.conf:2: secauth: expected on/off or yes/no, got 'maybe'");
    assert_eq!(err("totem {\n transport: tcp\n}\n"), "t.conf:2: transport: expected one of udp|udpu, got 'tcp'");
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
    assert_eq!(err("logging {\n to_file: yes\n}\n"), "t.conf:1: logfile: required with to_file: yes");
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
fn duplicates_where_they_matter() {
    assert_eq!(err("totem {\n token: 1\n token: 2\n}\n"), "t.conf:3: token: duplicate key (first set at line 2)");
    assert_eq!(err("totem {\n}\ntotem {\n}\n"), "t.conf:3: totem: duplicate section (first at line 1)");
    let two = "totem {\n rrp_mode: active\n interface {\n  ringnumber: 0\n  bindnetaddr: 10.0.0.1\n  mcastaddr: 239.1.1.1\n }\n interface {\n  ringnumber: 0\n  bindnetaddr: 10.0.1.1\n  mcastaddr: 239.1.1.2\n }\n}\n";
    assert_eq!(err(two), "t.conf:8: ringnumber: ring 0 already defined at line 3");
    assert_eq!(
        err("logging {\n logger_subsys {\n  subsys: IPC\n }\n logger_subsys {\n  subsys: IPC\n }\n}\n"),
        "t.conf:6: subsys: 'IPC' configured twice"
    );
    // uidgid sections may repeat.
    assert_eq!(parse_str("t", "uidgid {\n uid: 1\n}\nuidgid {\n uid: 2\n}\n").unwrap().uidgid.len(), 2);
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

fn paths(dir: &Path, main_from_env: bool) -> ConfigPaths {
    ConfigPaths {
        main: dir.join("corosync.conf"),
        main_from_env,
        amf: dir.join("amf.conf"),
        authkey: dir.join("authkey"),
    }
}

#[test]
fn missing_default_file_means_defaults_but_named_file_must_exist() {
    let d = temp_dir("missing");
    let l = load_from(paths(&d, false)).unwrap();
    assert_eq!(l.config.source, None);
    assert!(!l.secauth);
    let e = load_from(paths(&d, true)).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: file: cannot read:", d.join("corosync.conf").display())), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn authkey_rules() {
    let d = temp_dir("authkey");
    let p = paths(&d, true);
    std::fs::write(&p.main, "totem {\n secauth: on\n}\n").unwrap();
    let e = load_from(p.clone()).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: authkey: cannot read:", p.authkey.display())), "{e}");
    std::fs::write(&p.authkey, [1u8; 3]).unwrap();
    assert_eq!(
        load_from(p.clone()).unwrap_err().to_string(),
        format!("{}: authkey: 3 bytes, need at least 16", p.authkey.display())
    );
    std::fs::write(&p.authkey, [1u8; 128]).unwrap();
    let l = load_from(p.clone()).unwrap();
    assert!(l.secauth);
    assert_eq!(l.authkey.as_deref().map(<[u8]>::len), Some(128));
    // Not written: on because the key exists; off without a key.
    std::fs::write(&p.main, "totem {\n}\n").unwrap();
    assert!(load_from(p.clone()).unwrap().secauth);
    std::fs::remove_file(&p.authkey).unwrap();
    assert!(!load_from(p.clone()).unwrap().secauth);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn realtime_priority_and_mlockall_are_off_unless_asked() {
    let c = parse_str("a.conf", "aisexec {\n user: root\n}\n").unwrap();
    assert!(!c.aisexec.realtime_priority && !c.aisexec.mlockall);
    let c = parse_str("a.conf", "aisexec {\n realtime_priority: yes\n mlockall: on\n}\n").unwrap();
    assert!(c.aisexec.realtime_priority && c.aisexec.mlockall);
    let e = parse_str("a.conf", "aisexec {\n mlockall: sometimes\n}\n").unwrap_err();
    assert_eq!(e.to_string(), "a.conf:2: mlockall: expected on/off or yes/no, got 'sometimes'");
}

#[test]
fn an_endless_or_huge_config_file_is_an_error_not_an_endless_read() {
    // Before the bound, /dev/zero as the config file read until memory ran out.
    let p = ConfigPaths {
        main: PathBuf::from("/dev/zero"),
        main_from_env: true,
        amf: PathBuf::new(),
        authkey: PathBuf::new(),
    };
    let e = load_from(p).unwrap_err().to_string();
    assert!(e.contains(&format!("larger than {CONFIG_MAX} bytes")), "{e}");
    // Just over the limit: refused; a comment-only file at the limit: fine.
    let d = temp_dir("huge");
    let p = paths(&d, true);
    let line = "# padding padding padding padding padding padding padding padding\n";
    let mut text = line.repeat(CONFIG_MAX / line.len());
    text.push_str(&"#".repeat(CONFIG_MAX - text.len()));
    std::fs::write(&p.main, &text).unwrap();
    assert!(load_from(paths(&d, true)).is_ok());
    text.push('\n');
    std::fs::write(&p.main, &text).unwrap();
    assert!(load_from(p).is_err());
    let _ = std::fs::remove_dir_all(&d);
}
