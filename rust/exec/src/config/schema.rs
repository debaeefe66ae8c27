//! Validates the section tree and builds a typed [`Config`].
//!
//! The schema is the union of what openais 0.80 (`openais.conf`) and
//! corosync 1.x (`corosync.conf`) files carry. Keys this executive acts on
//! are checked and kept. Keys it accepts for compatibility but does not act
//! on are checked too, and leave a [`Note`] saying so when their value asks
//! for something this executive does not do (`threads: 0` does not, `threads:
//! 4` does). Unknown sections, unknown keys and bad values are errors. A key
//! written twice takes its last value, as both classic parsers did, with a
//! note.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use super::parser::{Entry, Item, Section};
use super::*;

/// Subsystems of this executive that `logger_subsys { subsys }` and
/// `logger { ident }` name.
pub const SUBSYSTEMS: &[&str] =
    &["MAIN", "TOTEM", "IPC", "CFG", "SERV", "SYNC", "CLM", "AMF", "CKPT", "EVT", "LCK", "MSG", "EVS", "CPG"];
/// Subsystems of openais 0.80, corosync 1.x and their usual plugins that
/// this executive does not have: accepted, with a note.
pub const FOREIGN_SUBSYSTEMS: &[&str] =
    &["YKD", "QUORUM", "VOTEQ", "CONFDB", "PLOAD", "SYNCV2", "TMR", "CMAN", "pcmk", "WD", "MON"];

const TOTEM_DURATIONS_MS: &[&str] = &[
    "token",
    "token_retransmit",
    "hold",
    "join",
    "consensus",
    "merge",
    "downcheck",
    "max_network_delay",
    "rrp_problem_count_timeout",
    "rrp_token_expired_timeout",
];
const TOTEM_COUNTS: &[&str] = &[
    "token_retransmits_before_loss_const",
    "fail_to_recv_const",
    "seqno_unchanged_const",
    "window_size",
    "max_messages",
    "rrp_problem_count_threshold",
];
const TOTEM_OTHER: &[&str] = &[
    "version",
    "nodeid",
    "clear_node_high_bit",
    "secauth",
    "strict_authkey_permissions",
    "threads",
    "vsftype",
    "transport",
    "rrp_mode",
    "netmtu",
    "send_join",
    "heartbeat_failures_allowed",
    "keyfile",
    "key",
    "rekey_interval",
    "rekey_packets",
];
/// Totem keys of corosync 1.x that this Totem has no use for.
const TOTEM_IGNORED: &[&str] = &[
    "miss_count_const",
    "rrp_problem_count_mcast_threshold",
    "rrp_autorecovery_check_timeout",
    "crypto_type",
    "crypto_accept",
];
/// Other spellings: (as written, as used here). `fail_recv_const` is the
/// name both classic parsers read.
const TOTEM_ALIASES: &[(&str, &str)] = &[("fail_recv_const", "fail_to_recv_const")];
/// `to_file` is openais 0.80's name, `to_logfile` corosync's;
/// `syslog_level` is an older corosync name of `syslog_priority`.
const LOGGING_ALIASES: &[(&str, &str)] = &[("to_logfile", "to_file"), ("syslog_level", "syslog_priority")];
/// Trace tags of `tags: enter|leave|trace1|...`.
const TAGS: &[&str] =
    &["enter", "leave", "trace1", "trace2", "trace3", "trace4", "trace5", "trace6", "trace7", "trace8"];

/// Default multicast port of an interface.
pub const DEFAULT_MCASTPORT: u16 = 5405;
/// Rings the executive supports.
pub const MAX_INTERFACES: usize = 2;

/// An entry under the name this schema uses for its key.
struct Named<'s> {
    name: &'s str,
    e: &'s Entry,
}

/// Validation context: the file name (for errors) and the notes so far.
struct Ctx<'a> {
    file: &'a str,
    notes: RefCell<Vec<Note>>,
}

impl Ctx<'_> {
    fn err(&self, line: u32, key: &str, why: impl Into<String>) -> ConfigError {
        ConfigError::new(self.file, line, key, why.into())
    }

    fn note(&self, line: u32, key: &str, text: impl Into<String>) {
        self.notes.borrow_mut().push(Note { line, key: key.to_string(), text: text.into() });
    }

    /// Notes that `e` is accepted but not acted on, and why.
    fn ignored(&self, e: &Entry, why: &str) {
        self.note(e.line, &e.key, format!("ignored: {why}"));
    }

    /// Entries of `section` in file order under their schema names
    /// (`aliases` mapped), checking each name is `allowed` and each
    /// subsection is in `sections`. A key set again gets a note; callers
    /// apply entries in order, so the last value wins (every value is
    /// still checked).
    fn entries<'s>(
        &self,
        section: &'s Section,
        allowed: &dyn Fn(&str) -> bool,
        aliases: &[(&'static str, &'static str)],
        sections: &[&str],
    ) -> Result<(Vec<Named<'s>>, Vec<&'s Section>), ConfigError> {
        let place = if section.name.is_empty() { "top level" } else { section.name.as_str() };
        let mut entries: Vec<Named<'s>> = Vec::new();
        let mut subs = Vec::new();
        for item in &section.items {
            match item {
                Item::Entry(e) => {
                    let name = aliases.iter().find(|(a, _)| *a == e.key).map_or(e.key.as_str(), |(_, c)| c);
                    if !allowed(name) {
                        return Err(self.err(e.line, &e.key, format!("unknown key in {place}")));
                    }
                    if let Some(first) = entries.iter().rev().find(|n| n.name == name).map(|n| n.e) {
                        self.note(
                            e.line,
                            &e.key,
                            format!("also set at line {} ({}): the value here is used", first.line, first.key),
                        );
                    }
                    entries.push(Named { name, e });
                }
                Item::Section(s) => {
                    if !sections.contains(&s.name.as_str()) {
                        return Err(self.err(s.line, &s.name, format!("unknown section in {place}")));
                    }
                    subs.push(s);
                }
            }
        }
        Ok((entries, subs))
    }

    fn number(&self, e: &Entry, min: u64, max: u64) -> Result<u64, ConfigError> {
        let n: u64 =
            e.value.parse().map_err(|_| self.err(e.line, &e.key, format!("expected a number, got '{}'", e.value)))?;
        if n < min || n > max {
            return Err(self.err(e.line, &e.key, format!("{n} out of range {min}..{max}")));
        }
        Ok(n)
    }

    fn boolean(&self, e: &Entry) -> Result<bool, ConfigError> {
        match e.value.as_str() {
            "on" | "yes" => Ok(true),
            "off" | "no" => Ok(false),
            v => Err(self.err(e.line, &e.key, format!("expected on/off or yes/no, got '{v}'"))),
        }
    }

    /// A boolean as votequorum writes them (`0`/`1`), or yes/no, on/off.
    fn flag(&self, e: &Entry) -> Result<bool, ConfigError> {
        match e.value.as_str() {
            "1" => Ok(true),
            "0" => Ok(false),
            _ => self.boolean(e).map_err(|_| self.err(e.line, &e.key, format!("expected 0/1, got '{}'", e.value))),
        }
    }

    fn choice<'v>(&self, e: &Entry, options: &[&'v str]) -> Result<&'v str, ConfigError> {
        options.iter().find(|o| **o == e.value).copied().ok_or_else(|| {
            self.err(e.line, &e.key, format!("expected one of {}, got '{}'", options.join("|"), e.value))
        })
    }

    fn address(&self, e: &Entry) -> Result<IpAddr, ConfigError> {
        e.value.parse().map_err(|_| self.err(e.line, &e.key, format!("not an IP address: '{}'", e.value)))
    }

    fn priority(&self, e: &Entry) -> Result<Priority, ConfigError> {
        Priority::NAMES.iter().find(|(n, _)| *n == e.value).map(|(_, p)| *p).ok_or_else(|| {
            let names: Vec<&str> = Priority::NAMES.iter().map(|(n, _)| *n).collect();
            self.err(e.line, &e.key, format!("expected one of {}, got '{}'", names.join("|"), e.value))
        })
    }

    /// `tags: enter|leave|trace1...`: checked, then noted as ignored.
    fn tags(&self, e: &Entry) -> Result<(), ConfigError> {
        if let Some(bad) = e.value.split('|').find(|t| !TAGS.contains(t)) {
            return Err(self.err(e.line, &e.key, format!("unknown tag '{bad}' (tags are {})", TAGS.join("|"))));
        }
        self.ignored(e, "there is no function tracing here");
        Ok(())
    }
}

/// Validates the top-level section.
pub fn validate(file: &str, top: &Section) -> Result<Config, ConfigError> {
    let cx = Ctx { file, notes: RefCell::new(Vec::new()) };
    let sections = ["totem", "network", "logging", "event", "amf", "aisexec", "uidgid", "service", "quorum"];
    let (entries, sections) = cx.entries(top, &|k| k == "compatibility", &[], &sections)?;
    for n in entries {
        // corosync 1.x: `whitetank` keeps openais 0.80 behaviour, which is
        // the only behaviour here.
        if cx.choice(n.e, &["whitetank", "none"])? == "none" {
            cx.ignored(n.e, "this executive always behaves as openais 0.80 (whitetank)");
        }
    }
    let mut config = Config::default();
    let mut seen: HashMap<&str, (u32, &str)> = HashMap::new();
    for s in sections {
        // `network` is the older name of `totem` (both classic parsers read it).
        let kind = if s.name == "network" { "totem" } else { s.name.as_str() };
        if !matches!(kind, "uidgid" | "service")
            && let Some((line, name)) = seen.insert(kind, (s.line, &s.name))
        {
            return Err(cx.err(s.line, &s.name, format!("duplicate section ({name} first at line {line})")));
        }
        match kind {
            "totem" => config.totem = totem(&cx, s)?,
            "logging" => config.logging = logging(&cx, s)?,
            "event" => config.event = event(&cx, s)?,
            "amf" => config.amf_enabled = amf(&cx, s)?,
            "aisexec" => config.aisexec = aisexec(&cx, s)?,
            "service" => config.services.push(service(&cx, s)?),
            "quorum" => config.quorum = Some(quorum(&cx, s)?),
            _ => config.uidgid.push(uidgid(&cx, s)?),
        }
    }
    let mut notes = cx.notes.into_inner();
    notes.sort_by_key(|n| n.line);
    config.notes = notes;
    Ok(config)
}

fn totem(cx: &Ctx, s: &Section) -> Result<Totem, ConfigError> {
    let known =
        |k: &str| [TOTEM_DURATIONS_MS, TOTEM_COUNTS, TOTEM_OTHER, TOTEM_IGNORED].iter().any(|list| list.contains(&k));
    let (entries, subs) = cx.entries(s, &known, TOTEM_ALIASES, &["interface"])?;
    let mut t = Totem::default();
    for Named { name: k, e } in entries {
        match k {
            "version" => {
                cx.number(e, 2, 2)
                    .map_err(|_| cx.err(e.line, k, format!("only version 2 is supported, got '{}'", e.value)))?;
            }
            "nodeid" => t.nodeid = Some(cx.number(e, 1, u32::MAX as u64)? as u32),
            "clear_node_high_bit" => t.clear_node_high_bit = cx.boolean(e)?,
            "secauth" => t.secauth = Some(cx.boolean(e)?),
            "strict_authkey_permissions" => t.strict_authkey_permissions = cx.boolean(e)?,
            "threads" => {
                t.threads = cx.number(e, 0, 16)? as u32;
                if t.threads > 0 {
                    cx.ignored(e, "packets are sealed and sent by the main loop, without threads");
                }
            }
            "vsftype" => {
                if cx.choice(e, &["none", "ykd"])? == "ykd" {
                    cx.ignored(e, "there is no YKD primary-component filter: every partition carries on, as with none");
                }
            }
            "transport" => {
                t.transport = match cx.choice(e, &["udp", "udpu", "iba"])? {
                    "udp" => Transport::Udp,
                    "udpu" => Transport::Udpu,
                    _ => return Err(cx.err(e.line, k, "iba (InfiniBand verbs) is not supported: use udp or udpu")),
                }
            }
            "rrp_mode" => {
                t.rrp_mode = match cx.choice(e, &["none", "active", "passive"])? {
                    "none" => RrpMode::None,
                    "active" => RrpMode::Active,
                    _ => RrpMode::Passive,
                }
            }
            "netmtu" => t.netmtu = cx.number(e, 576, 65000)? as u32,
            "send_join" => {
                cx.number(e, 0, 3_600_000)?;
            }
            "heartbeat_failures_allowed" => {
                cx.number(e, 0, 1000)?;
            }
            // 0 turns each trigger off; ranges as in totem's TotemConfig::set.
            "rekey_interval" => {
                cx.number(e, 0, 86_400_000)?;
            }
            "rekey_packets" => {
                cx.number(e, 0, totem::config::MAX_REKEY_PACKETS)?;
            }
            "keyfile" => {
                t.keyfile = Some(PathBuf::from(&e.value));
                continue; // a path, not a protocol parameter
            }
            "key" => {
                let n = e.value.len();
                if !(AUTHKEY_MIN..=AUTHKEY_MAX).contains(&n) {
                    return Err(cx.err(e.line, k, format!("{n} bytes, need {AUTHKEY_MIN} to {AUTHKEY_MAX}")));
                }
                t.key = Some(Secret(e.value.as_bytes().to_vec()));
                continue; // never copied where it could be printed
            }
            "crypto_type" | "crypto_accept" => {
                let options: &[&str] = if k == "crypto_type" { &["sober", "nss"] } else { &["old", "new"] };
                cx.choice(e, options)?;
                cx.ignored(e, "packets are sealed with ChaCha20-Poly1305 (see secauth)");
                continue;
            }
            "rrp_autorecovery_check_timeout" => {
                cx.number(e, 1, 3_600_000)?;
                cx.ignored(e, "a FAULTY ring is re-enabled by ais-cfgtool -r, not by a timer");
                continue;
            }
            _ if TOTEM_IGNORED.contains(&k) => {
                cx.number(e, 1, 100_000)?;
                cx.ignored(e, "this Totem has no such parameter");
                continue;
            }
            _ if TOTEM_DURATIONS_MS.contains(&k) => {
                cx.number(e, 1, 3_600_000)?;
            }
            _ => {
                cx.number(e, 1, 100_000)?;
            }
        }
        t.raw.retain(|r| r.key != k);
        t.raw.push(RawKey { key: k.to_string(), value: e.value.clone(), line: e.line });
    }
    for sub in subs {
        let iface = interface(cx, sub, t.transport)?;
        if let Some(other) = t.interfaces.iter().find(|i| i.ringnumber == iface.ringnumber) {
            return Err(cx.err(
                sub.line,
                "ringnumber",
                format!("ring {} already defined at line {}", iface.ringnumber, other.line),
            ));
        }
        if t.interfaces.len() == MAX_INTERFACES {
            return Err(cx.err(sub.line, "interface", format!("at most {MAX_INTERFACES} interfaces are supported")));
        }
        t.interfaces.push(iface);
    }
    totem_cross_checks(cx, s, &t)?;
    Ok(t)
}

/// Checks that need the whole section (keys may come after interfaces).
fn totem_cross_checks(cx: &Ctx, s: &Section, t: &Totem) -> Result<(), ConfigError> {
    let line_of = |key: &str| t.raw.iter().find(|r| r.key == key).map_or(s.line, |r| r.line);
    for i in &t.interfaces {
        match t.transport {
            Transport::Udp => {
                if !i.members.is_empty() {
                    return Err(cx.err(i.line, "member", "member entries need transport: udpu"));
                }
                let Some(m) = i.mcastaddr else {
                    return Err(cx.err(i.line, "mcastaddr", "required with transport udp"));
                };
                if m.is_ipv4() != i.bindnetaddr.is_ipv4() {
                    return Err(cx.err(i.line, "mcastaddr", "address family differs from bindnetaddr"));
                }
            }
            Transport::Udpu => {
                if i.members.is_empty() {
                    return Err(cx.err(i.line, "member", "transport udpu needs at least one member"));
                }
                if i.members.iter().any(|m| m.is_ipv4() != i.bindnetaddr.is_ipv4()) {
                    return Err(cx.err(i.line, "memberaddr", "address family differs from bindnetaddr"));
                }
            }
        }
        if i.bindnetaddr.is_ipv6() && t.nodeid.is_none() {
            return Err(cx.err(i.line, "nodeid", "required in totem with an IPv6 bindnetaddr"));
        }
    }
    if t.interfaces.len() > 1 && t.rrp_mode == RrpMode::None {
        return Err(cx.err(line_of("rrp_mode"), "rrp_mode", "two interfaces need rrp_mode active or passive"));
    }
    if t.interfaces.len() == 1 && t.rrp_mode != RrpMode::None {
        return Err(cx.err(line_of("rrp_mode"), "rrp_mode", "redundant ring mode needs two interfaces"));
    }
    Ok(())
}

/// One `interface` section; `transport` is the totem section's (its keys
/// are read before its interfaces, wherever they are written).
fn interface(cx: &Ctx, s: &Section, transport: Transport) -> Result<Interface, ConfigError> {
    let known = |k: &str| matches!(k, "ringnumber" | "bindnetaddr" | "mcastaddr" | "mcastport" | "ttl" | "broadcast");
    let (entries, subs) = cx.entries(s, &known, &[], &["member"])?;
    let mut ringnumber = None;
    let mut bindnetaddr = None;
    let mut mcastaddr = None;
    let mut mcastport = DEFAULT_MCASTPORT;
    let mut ttl = 1;
    let mut broadcast = None;
    for Named { name, e } in entries {
        match name {
            "ringnumber" => ringnumber = Some(cx.number(e, 0, MAX_INTERFACES as u64 - 1)? as u32),
            "bindnetaddr" => bindnetaddr = Some(cx.address(e)?),
            "mcastaddr" => {
                let a = cx.address(e)?;
                if !a.is_multicast() {
                    return Err(cx.err(e.line, &e.key, format!("not a multicast address: '{}'", e.value)));
                }
                mcastaddr = Some(a);
            }
            "ttl" => ttl = cx.number(e, 1, 255)? as u32,
            "broadcast" => broadcast = cx.boolean(e)?.then_some(e),
            _ => mcastport = cx.number(e, 1, 65535)? as u16,
        }
    }
    let mut members = Vec::new();
    let mut member_votes = Vec::new();
    for m in subs {
        let (entries, _) = cx.entries(m, &|k| matches!(k, "memberaddr" | "quorum_votes"), &[], &[])?;
        let mut addr = None;
        let mut votes = 1;
        for Named { name, e } in entries {
            match name {
                "memberaddr" => addr = Some(e),
                _ => votes = cx.number(e, 1, 255)? as u32,
            }
        }
        let Some(e) = addr else {
            return Err(cx.err(m.line, "memberaddr", "missing in member section"));
        };
        let a = cx.address(e)?;
        if members.contains(&a) {
            return Err(cx.err(e.line, "memberaddr", format!("{a} listed twice")));
        }
        members.push(a);
        member_votes.push(votes);
    }
    if let Some(e) = broadcast {
        if transport == Transport::Udp {
            return Err(cx.err(e.line, &e.key, "not supported: set mcastaddr, or use transport: udpu with members"));
        }
        cx.ignored(e, "with transport udpu packets go to the members listed");
    }
    let ringnumber = ringnumber.ok_or_else(|| cx.err(s.line, "ringnumber", "missing in interface section"))?;
    let bindnetaddr = bindnetaddr.ok_or_else(|| cx.err(s.line, "bindnetaddr", "missing in interface section"))?;
    Ok(Interface { line: s.line, ringnumber, bindnetaddr, mcastaddr, mcastport, ttl, members, member_votes })
}

fn facility(name: &str) -> Option<i32> {
    Some(match name {
        "daemon" => libc::LOG_DAEMON,
        "user" => libc::LOG_USER,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        _ => return None,
    })
}

/// `debug: on|off` (also yes/no; corosync's `trace` is on).
fn debug_value(cx: &Ctx, e: &Entry) -> Result<bool, ConfigError> {
    if e.value == "trace" { Ok(true) } else { cx.boolean(e) }
}

fn logging(cx: &Ctx, s: &Section) -> Result<Logging, ConfigError> {
    let known = |k: &str| {
        matches!(
            k,
            "to_stderr"
                | "to_file"
                | "to_syslog"
                | "logfile"
                | "timestamp"
                | "debug"
                | "fileline"
                | "function_name"
                | "syslog_facility"
                | "syslog_priority"
                | "logfile_priority"
                | "tags"
        )
    };
    let (entries, subs) = cx.entries(s, &known, LOGGING_ALIASES, &["logger_subsys", "logger"])?;
    let mut l = Logging::default();
    let mut to_file_line = s.line;
    for Named { name, e } in entries {
        match name {
            "to_stderr" => l.to_stderr = cx.boolean(e)?,
            "to_file" => {
                l.to_file = cx.boolean(e)?;
                to_file_line = e.line;
            }
            "to_syslog" => l.to_syslog = cx.boolean(e)?,
            "timestamp" if e.value == "hires" => (l.timestamp, l.timestamp_hires) = (true, true),
            "timestamp" => l.timestamp = cx.boolean(e)?,
            "debug" => l.debug = debug_value(cx, e)?,
            "fileline" => l.fileline = cx.boolean(e)?,
            "function_name" => {
                if cx.boolean(e)? {
                    cx.ignored(e, "lines carry no function names here (fileline gives file and line)");
                }
            }
            "syslog_priority" => l.syslog_priority = cx.priority(e)?,
            "logfile_priority" => l.logfile_priority = cx.priority(e)?,
            "tags" => cx.tags(e)?,
            "logfile" => {
                if !e.value.starts_with('/') {
                    return Err(cx.err(e.line, &e.key, format!("must be an absolute path, got '{}'", e.value)));
                }
                l.logfile = Some(PathBuf::from(&e.value));
            }
            _ => {
                l.syslog_facility = facility(&e.value).ok_or_else(|| {
                    cx.err(e.line, &e.key, format!("expected daemon, user or local0..local7, got '{}'", e.value))
                })?
            }
        }
    }
    if l.to_file && l.logfile.is_none() {
        return Err(cx.err(to_file_line, "logfile", "required with to_file: yes"));
    }
    for sub in subs {
        let one = subsys_logging(cx, sub)?;
        if l.subsys.iter().any(|x| x.subsys == one.subsys) {
            let key = if sub.name == "logger" { "ident" } else { "subsys" };
            return Err(cx.err(sub.line, key, format!("'{}' configured twice", one.subsys)));
        }
        l.subsys.push(one);
    }
    // A subsystem that logs to the file needs one too.
    if l.logfile.is_none()
        && let Some(x) = l.subsys.iter().find(|x| x.to_file == Some(true))
    {
        return Err(cx.err(s.line, "logfile", format!("required: subsystem {} logs to the file", x.subsys)));
    }
    Ok(l)
}

/// `logger_subsys { subsys ... }` (corosync) or `logger { ident ... }`
/// (openais 0.80): one subsystem's overrides.
fn subsys_logging(cx: &Ctx, sub: &Section) -> Result<SubsysLogging, ConfigError> {
    let classic = sub.name == "logger";
    let name_key = if classic { "ident" } else { "subsys" };
    let known = |k: &str| {
        k == name_key
            || matches!(k, "debug" | "tags")
            || (!classic
                && matches!(
                    k,
                    "to_stderr"
                        | "to_file"
                        | "to_syslog"
                        | "syslog_priority"
                        | "logfile_priority"
                        | "logfile"
                        | "syslog_facility"
                ))
    };
    let (entries, _) = cx.entries(sub, &known, LOGGING_ALIASES, &[])?;
    let mut x = SubsysLogging::default();
    let mut name = None;
    for Named { name: k, e } in entries {
        match k {
            "debug" => x.debug = Some(debug_value(cx, e)?),
            "tags" => cx.tags(e)?,
            "to_stderr" => x.to_stderr = Some(cx.boolean(e)?),
            "to_file" => x.to_file = Some(cx.boolean(e)?),
            "to_syslog" => x.to_syslog = Some(cx.boolean(e)?),
            "syslog_priority" => x.syslog_priority = Some(cx.priority(e)?),
            "logfile_priority" => x.logfile_priority = Some(cx.priority(e)?),
            "logfile" => cx.ignored(e, "every subsystem writes to the one logfile of the logging section"),
            "syslog_facility" => {
                facility(&e.value).ok_or_else(|| {
                    cx.err(e.line, &e.key, format!("expected daemon, user or local0..local7, got '{}'", e.value))
                })?;
                cx.ignored(e, "every subsystem uses the syslog_facility of the logging section");
            }
            _ => {
                if FOREIGN_SUBSYSTEMS.contains(&e.value.as_str()) {
                    cx.ignored(e, "this executive has no such subsystem");
                } else if !SUBSYSTEMS.contains(&e.value.as_str()) {
                    return Err(cx.err(e.line, &e.key, format!("unknown subsystem '{}'", e.value)));
                }
                name = Some(e.value.clone());
            }
        }
    }
    x.subsys = name.ok_or_else(|| cx.err(sub.line, name_key, format!("missing in {} section", sub.name)))?;
    Ok(x)
}

fn event(cx: &Ctx, s: &Section) -> Result<Event, ConfigError> {
    let (entries, _) = cx.entries(s, &|k| matches!(k, "delivery_queue_size" | "delivery_queue_resume"), &[], &[])?;
    let mut ev = Event::default();
    let mut resume_line = s.line;
    for Named { name, e } in entries {
        let n = cx.number(e, 1, 1_000_000)? as u32;
        if name == "delivery_queue_size" {
            ev.delivery_queue_size = n;
        } else {
            ev.delivery_queue_resume = n;
            resume_line = e.line;
        }
    }
    if ev.delivery_queue_resume > ev.delivery_queue_size {
        return Err(cx.err(
            resume_line,
            "delivery_queue_resume",
            format!("{} exceeds delivery_queue_size {}", ev.delivery_queue_resume, ev.delivery_queue_size),
        ));
    }
    Ok(ev)
}

fn amf(cx: &Ctx, s: &Section) -> Result<bool, ConfigError> {
    let (entries, _) = cx.entries(s, &|k| k == "mode", &[], &[])?;
    let mut enabled = false;
    for Named { e, .. } in entries {
        enabled = cx.choice(e, &["enabled", "disabled"])? == "enabled";
    }
    Ok(enabled)
}

fn is_account_name(v: &str) -> bool {
    !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

const AISEXEC_KEYS: &[&str] = &[
    "user",
    "group",
    "realtime_priority",
    "mlockall",
    "metrics",
    "max_connections_per_uid",
    "max_connections_per_process",
    "root_reserved_connections",
    "callback_budget_mb",
];

fn aisexec(cx: &Ctx, s: &Section) -> Result<Aisexec, ConfigError> {
    let (entries, _) = cx.entries(s, &|k| AISEXEC_KEYS.contains(&k), &[], &[])?;
    let mut a = Aisexec::default();
    // At most the executive's socket count, in connections.
    let most = (crate::ipc_server::MAX_SOCKETS / 2) as u64;
    for Named { name, e } in entries {
        match name {
            "max_connections_per_uid" => {
                a.max_connections_per_uid = cx.number(e, 1, most)? as u32;
                continue;
            }
            "max_connections_per_process" => {
                a.max_connections_per_process = cx.number(e, 1, most)? as u32;
                continue;
            }
            "root_reserved_connections" => {
                a.root_reserved_connections = cx.number(e, 0, most)? as u32;
                continue;
            }
            "callback_budget_mb" => {
                a.callback_budget_mb = Some(cx.number(e, 1, 1 << 20)? as u32);
                continue;
            }
            "realtime_priority" => {
                a.realtime_priority = match e.value.as_str() {
                    "auto" => Realtime::WhileContested,
                    _ => match cx.boolean(e) {
                        Ok(true) => Realtime::Always,
                        Ok(false) => Realtime::Never,
                        Err(_) => {
                            return Err(cx.err(e.line, &e.key, format!("expected yes, no or auto, got '{}'", e.value)));
                        }
                    },
                };
                continue;
            }
            "mlockall" => {
                a.mlockall = cx.boolean(e)?;
                continue;
            }
            "metrics" => {
                let addr = e.value.parse().map_err(|_| {
                    cx.err(e.line, &e.key, format!("not an address:port such as 127.0.0.1:9405: '{}'", e.value))
                })?;
                a.metrics = Some(addr);
                continue;
            }
            _ => {}
        }
        if !is_account_name(&e.value) {
            return Err(cx.err(e.line, &e.key, format!("not a valid name: '{}'", e.value)));
        }
        if name == "user" {
            a.user = e.value.clone();
        } else {
            a.group = e.value.clone();
        }
    }
    Ok(a)
}

fn uidgid(cx: &Ctx, s: &Section) -> Result<UidGid, ConfigError> {
    let (entries, _) = cx.entries(s, &|k| matches!(k, "uid" | "gid"), &[], &[])?;
    let mut u = UidGid { uid: None, gid: None };
    for Named { name, e } in entries {
        let id = if let Ok(n) = e.value.parse::<u32>() {
            n
        } else if !is_account_name(&e.value) {
            return Err(cx.err(e.line, &e.key, format!("not a valid name or number: '{}'", e.value)));
        } else if name == "uid" {
            crate::accounts::uid_of(&e.value)
                .ok_or_else(|| cx.err(e.line, &e.key, format!("no such user '{}'", e.value)))?
        } else {
            crate::accounts::gid_of(&e.value)
                .ok_or_else(|| cx.err(e.line, &e.key, format!("no such group '{}'", e.value)))?
        };
        if name == "uid" {
            u.uid = Some(id);
        } else {
            u.gid = Some(id);
        }
    }
    if u.uid.is_none() && u.gid.is_none() {
        return Err(cx.err(s.line, "uidgid", "needs uid or gid"));
    }
    Ok(u)
}

/// `service { name ver ... }`: a corosync plugin to load. The keys besides
/// `name` and `ver` belong to the plugin (pacemaker's `use_mgmtd`, ...).
fn service(cx: &Ctx, s: &Section) -> Result<ServiceSection, ConfigError> {
    let (entries, _) = cx.entries(s, &|_| true, &[], &[])?;
    let mut name = None;
    let mut ver = None;
    for Named { name: k, e } in entries {
        match k {
            "name" => name = Some(e.value.clone()),
            "ver" => ver = Some(cx.number(e, 0, u32::MAX as u64)? as u32),
            _ => {}
        }
    }
    let name = name.ok_or_else(|| cx.err(s.line, "name", "missing in service section"))?;
    cx.note(
        s.line,
        "service",
        format!("'{name}' ignored: this executive loads no plugins; its own services are built in and always run"),
    );
    Ok(ServiceSection { line: s.line, name, ver })
}

/// `quorum {}`: acted on with `provider: corosync_votequorum` (see
/// `crate::quorum`), otherwise noted as not acted on.
fn quorum(cx: &Ctx, s: &Section) -> Result<Quorum, ConfigError> {
    const KEYS: &[&str] = &[
        "provider",
        "expected_votes",
        "votes",
        "two_node",
        "wait_for_all",
        "last_man_standing",
        "last_man_standing_window",
        "auto_tie_breaker",
        "quorumdev_poll",
        "leaving_timeout",
        "disallowed",
    ];
    let (entries, _) = cx.entries(s, &|k| KEYS.contains(&k), &[], &[])?;
    let mut q = Quorum { line: s.line, ..Quorum::default() };
    let mut unsupported = Vec::new();
    for Named { name, e } in entries {
        if !matches!(name, "provider" | "expected_votes" | "two_node" | "wait_for_all") {
            unsupported.push((e.line, name));
        }
        match name {
            "provider" => {
                if !e.value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(cx.err(e.line, &e.key, format!("not a provider name: '{}'", e.value)));
                }
                q.provider = Some(e.value.clone());
            }
            "expected_votes" => q.expected_votes = Some(cx.number(e, 1, u32::MAX as u64)? as u32),
            "votes" => q.votes = Some(cx.number(e, 0, u32::MAX as u64)? as u32),
            "two_node" => q.two_node = cx.flag(e)?,
            "wait_for_all" => q.wait_for_all = Some(cx.flag(e)?),
            "last_man_standing" => q.last_man_standing = cx.flag(e)?,
            "last_man_standing_window" => q.last_man_standing_window = Some(cx.number(e, 1, 3_600_000)? as u32),
            "auto_tie_breaker" => q.auto_tie_breaker = cx.flag(e)?,
            _ => {
                if name == "disallowed" {
                    cx.flag(e)?;
                } else {
                    cx.number(e, 1, 3_600_000)?;
                }
                q.other.retain(|r| r.key != name);
                q.other.push(RawKey { key: name.to_string(), value: e.value.clone(), line: e.line });
            }
        }
    }
    match q.provider.as_deref() {
        Some("corosync_votequorum") => {}
        other => {
            let why = match other {
                None => "no provider: quorum is off, every partition carries on".to_string(),
                Some(p) => format!("provider {p} ignored: only corosync_votequorum is known, quorum is off"),
            };
            cx.note(s.line, "quorum", why);
            return Ok(q);
        }
    }
    if q.two_node && q.expected_votes.is_some_and(|e| e != 2) {
        return Err(cx.err(s.line, "two_node", "needs expected_votes: 2".to_string()));
    }
    // Not acted on: each would let nodes of one partition disagree, or
    // needs a device or timer this executive does not have.
    for (line, key) in unsupported {
        cx.note(line, key, "ignored: not supported by this quorum (per-node votes go in the member list)");
    }
    Ok(q)
}
