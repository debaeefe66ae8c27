//! Validates the section tree against the corosync.conf schema and builds
//! a typed [`Config`]. Every key of every section is checked here; unknown
//! sections, unknown keys, duplicate keys and bad values are errors.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use super::parser::{Entry, Item, Section};
use super::*;

/// Subsystem names `logger_subsys { subsys: }` accepts.
pub const SUBSYSTEMS: &[&str] =
    &["MAIN", "TOTEM", "IPC", "CFG", "SERV", "SYNC", "CLM", "AMF", "CKPT", "EVT", "LCK", "MSG", "EVS", "CPG"];

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
    "secauth",
    "threads",
    "vsftype",
    "transport",
    "rrp_mode",
    "netmtu",
    "send_join",
    "heartbeat_failures_allowed",
];

/// Default multicast port of an interface.
pub const DEFAULT_MCASTPORT: u16 = 5405;
/// Rings the executive supports.
pub const MAX_INTERFACES: usize = 2;

/// Error-building context: the file name.
struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn err(&self, line: u32, key: &str, why: impl Into<String>) -> ConfigError {
        ConfigError::new(self.file, line, key, why.into())
    }

    /// Entries of `section`, checking each key is in `allowed`, appears at
    /// most once, and each subsection is in `sections`.
    fn entries<'s>(
        &self,
        section: &'s Section,
        allowed: &dyn Fn(&str) -> bool,
        sections: &[&str],
    ) -> Result<(Vec<&'s Entry>, Vec<&'s Section>), ConfigError> {
        let place = if section.name.is_empty() { "top level" } else { section.name.as_str() };
        let mut seen: HashMap<&str, u32> = HashMap::new();
        let mut entries = Vec::new();
        let mut subs = Vec::new();
        for item in &section.items {
            match item {
                Item::Entry(e) => {
                    if !allowed(&e.key) {
                        return Err(self.err(e.line, &e.key, format!("unknown key in {place}")));
                    }
                    if let Some(first) = seen.insert(&e.key, e.line) {
                        return Err(self.err(e.line, &e.key, format!("duplicate key (first set at line {first})")));
                    }
                    entries.push(e);
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

    fn choice<'v>(&self, e: &Entry, options: &[&'v str]) -> Result<&'v str, ConfigError> {
        options.iter().find(|o| **o == e.value).copied().ok_or_else(|| {
            self.err(e.line, &e.key, format!("expected one of {}, got '{}'", options.join("|"), e.value))
        })
    }

    fn address(&self, e: &Entry) -> Result<IpAddr, ConfigError> {
        e.value.parse().map_err(|_| self.err(e.line, &e.key, format!("not an IP address: '{}'", e.value)))
    }
}

/// Validates the top-level section.
pub fn validate(file: &str, top: &Section) -> Result<Config, ConfigError> {
    let cx = Ctx { file };
    let (_, sections) = cx.entries(top, &|_| false, &["totem", "logging", "event", "amf", "aisexec", "uidgid"])?;
    let mut config = Config::default();
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for s in sections {
        if s.name != "uidgid"
            && let Some(first) = seen.insert(&s.name, s.line)
        {
            return Err(cx.err(s.line, &s.name, format!("duplicate section (first at line {first})")));
        }
        match s.name.as_str() {
            "totem" => config.totem = totem(&cx, s)?,
            "logging" => config.logging = logging(&cx, s)?,
            "event" => config.event = event(&cx, s)?,
            "amf" => config.amf_enabled = amf(&cx, s)?,
            "aisexec" => config.aisexec = aisexec(&cx, s)?,
            _ => config.uidgid.push(uidgid(&cx, s)?),
        }
    }
    Ok(config)
}

fn totem(cx: &Ctx, s: &Section) -> Result<Totem, ConfigError> {
    let known = |k: &str| TOTEM_DURATIONS_MS.contains(&k) || TOTEM_COUNTS.contains(&k) || TOTEM_OTHER.contains(&k);
    let (entries, subs) = cx.entries(s, &known, &["interface"])?;
    let mut t = Totem::default();
    for e in entries {
        let k = e.key.as_str();
        match k {
            "version" => {
                cx.number(e, 2, 2)
                    .map_err(|_| cx.err(e.line, k, format!("only version 2 is supported, got '{}'", e.value)))?;
            }
            "nodeid" => t.nodeid = Some(cx.number(e, 1, u32::MAX as u64)? as u32),
            "secauth" => t.secauth = Some(cx.boolean(e)?),
            "threads" => t.threads = cx.number(e, 0, 16)? as u32,
            "vsftype" => {
                cx.choice(e, &["none", "ykd"])?;
            }
            "transport" => {
                t.transport = match cx.choice(e, &["udp", "udpu"])? {
                    "udp" => Transport::Udp,
                    _ => Transport::Udpu,
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
            _ if TOTEM_DURATIONS_MS.contains(&k) => {
                cx.number(e, 1, 3_600_000)?;
            }
            _ => {
                cx.number(e, 1, 100_000)?;
            }
        }
        t.raw.push(RawKey { key: e.key.clone(), value: e.value.clone(), line: e.line });
    }
    for sub in subs {
        let iface = interface(cx, sub)?;
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

fn interface(cx: &Ctx, s: &Section) -> Result<Interface, ConfigError> {
    let known = |k: &str| matches!(k, "ringnumber" | "bindnetaddr" | "mcastaddr" | "mcastport");
    let (entries, subs) = cx.entries(s, &known, &["member"])?;
    let mut ringnumber = None;
    let mut bindnetaddr = None;
    let mut mcastaddr = None;
    let mut mcastport = DEFAULT_MCASTPORT;
    for e in entries {
        match e.key.as_str() {
            "ringnumber" => ringnumber = Some(cx.number(e, 0, MAX_INTERFACES as u64 - 1)? as u32),
            "bindnetaddr" => bindnetaddr = Some(cx.address(e)?),
            "mcastaddr" => {
                let a = cx.address(e)?;
                if !a.is_multicast() {
                    return Err(cx.err(e.line, &e.key, format!("not a multicast address: '{}'", e.value)));
                }
                mcastaddr = Some(a);
            }
            _ => mcastport = cx.number(e, 1, 65535)? as u16,
        }
    }
    let mut members = Vec::new();
    for m in subs {
        let (entries, _) = cx.entries(m, &|k| k == "memberaddr", &[])?;
        let Some(e) = entries.first() else {
            return Err(cx.err(m.line, "memberaddr", "missing in member section"));
        };
        let a = cx.address(e)?;
        if members.contains(&a) {
            return Err(cx.err(e.line, "memberaddr", format!("{a} listed twice")));
        }
        members.push(a);
    }
    let ringnumber = ringnumber.ok_or_else(|| cx.err(s.line, "ringnumber", "missing in interface section"))?;
    let bindnetaddr = bindnetaddr.ok_or_else(|| cx.err(s.line, "bindnetaddr", "missing in interface section"))?;
    Ok(Interface { line: s.line, ringnumber, bindnetaddr, mcastaddr, mcastport, members })
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

fn logging(cx: &Ctx, s: &Section) -> Result<Logging, ConfigError> {
    let known = |k: &str| {
        matches!(
            k,
            "to_stderr" | "to_file" | "to_syslog" | "logfile" | "timestamp" | "debug" | "fileline" | "syslog_facility"
        )
    };
    let (entries, subs) = cx.entries(s, &known, &["logger_subsys"])?;
    let mut l = Logging::default();
    for e in entries {
        match e.key.as_str() {
            "to_stderr" => l.to_stderr = cx.boolean(e)?,
            "to_file" => l.to_file = cx.boolean(e)?,
            "to_syslog" => l.to_syslog = cx.boolean(e)?,
            "timestamp" => l.timestamp = cx.boolean(e)?,
            "debug" => l.debug = cx.boolean(e)?,
            "fileline" => l.fileline = cx.boolean(e)?,
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
        return Err(cx.err(s.line, "logfile", "required with to_file: yes"));
    }
    for sub in subs {
        let (entries, _) = cx.entries(sub, &|k| matches!(k, "subsys" | "debug"), &[])?;
        let mut name = None;
        let mut debug = false;
        for e in entries {
            if e.key == "subsys" {
                if !SUBSYSTEMS.contains(&e.value.as_str()) {
                    return Err(cx.err(e.line, "subsys", format!("unknown subsystem '{}'", e.value)));
                }
                if l.subsys.iter().any(|x| x.subsys == e.value) {
                    return Err(cx.err(e.line, "subsys", format!("'{}' configured twice", e.value)));
                }
                name = Some(e.value.clone());
            } else {
                debug = cx.boolean(e)?;
            }
        }
        let subsys = name.ok_or_else(|| cx.err(sub.line, "subsys", "missing in logger_subsys section"))?;
        l.subsys.push(SubsysLogging { subsys, debug });
    }
    Ok(l)
}

fn event(cx: &Ctx, s: &Section) -> Result<Event, ConfigError> {
    let (entries, _) = cx.entries(s, &|k| matches!(k, "delivery_queue_size" | "delivery_queue_resume"), &[])?;
    let mut ev = Event::default();
    let mut resume_line = s.line;
    for e in entries {
        let n = cx.number(e, 1, 1_000_000)? as u32;
        if e.key == "delivery_queue_size" {
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
    let (entries, _) = cx.entries(s, &|k| k == "mode", &[])?;
    let mut enabled = false;
    for e in entries {
        enabled = cx.choice(e, &["enabled", "disabled"])? == "enabled";
    }
    Ok(enabled)
}

fn is_account_name(v: &str) -> bool {
    !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn aisexec(cx: &Ctx, s: &Section) -> Result<Aisexec, ConfigError> {
    let (entries, _) = cx.entries(s, &|k| matches!(k, "user" | "group" | "realtime_priority" | "mlockall"), &[])?;
    let mut a = Aisexec::default();
    for e in entries {
        match e.key.as_str() {
            "realtime_priority" => {
                a.realtime_priority = cx.boolean(e)?;
                continue;
            }
            "mlockall" => {
                a.mlockall = cx.boolean(e)?;
                continue;
            }
            _ => {}
        }
        if !is_account_name(&e.value) {
            return Err(cx.err(e.line, &e.key, format!("not a valid name: '{}'", e.value)));
        }
        if e.key == "user" {
            a.user = e.value.clone();
        } else {
            a.group = e.value.clone();
        }
    }
    Ok(a)
}

fn uidgid(cx: &Ctx, s: &Section) -> Result<UidGid, ConfigError> {
    let (entries, _) = cx.entries(s, &|k| matches!(k, "uid" | "gid"), &[])?;
    let mut u = UidGid { uid: None, gid: None };
    for e in entries {
        let id = if let Ok(n) = e.value.parse::<u32>() {
            n
        } else if !is_account_name(&e.value) {
            return Err(cx.err(e.line, &e.key, format!("not a valid name or number: '{}'", e.value)));
        } else if e.key == "uid" {
            crate::accounts::uid_of(&e.value)
                .ok_or_else(|| cx.err(e.line, &e.key, format!("no such user '{}'", e.value)))?
        } else {
            crate::accounts::gid_of(&e.value)
                .ok_or_else(|| cx.err(e.line, &e.key, format!("no such group '{}'", e.value)))?
        };
        if e.key == "uid" {
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
