//! The executive's configuration: where the files are, the
//! corosync.conf / openais.conf format (lexer -> parser -> schema), and the
//! authkey.
//!
//! Owns turning files into a validated [`Config`]; it must not start
//! anything. Every rejected input is a [`ConfigError`] that prints as
//! `file:line: key: why`; every key accepted but not acted on leaves a
//! [`Note`] for the log.

#![forbid(unsafe_code)]

pub mod lexer;
pub mod parser;
pub mod paths;
pub mod schema;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub use paths::{ConfigPaths, MainSource};

/// A configuration problem. Prints as `file:line: key: why` (or
/// `file: key: why` when it is not about one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: u32,
    pub key: String,
    pub why: String,
}

impl ConfigError {
    pub fn new(file: &str, line: u32, key: &str, why: String) -> ConfigError {
        ConfigError { file: file.to_string(), line, key: key.to_string(), why }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}: {}", self.file, self.line, self.key, self.why)
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.why)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Something about an accepted configuration worth one log line: a key
/// read but not acted on, or a key set twice. Prints as `line: key: text`
/// after the file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub line: u32,
    pub key: String,
    pub text: String,
}

impl Note {
    /// The note as one line naming `file`.
    pub fn display(&self, file: &str) -> String {
        ConfigError::new(file, self.line, &self.key, self.text.clone()).to_string()
    }
}

/// `totem { transport }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP multicast.
    Udp,
    /// UDP unicast to the `member` list.
    Udpu,
}

/// `totem { rrp_mode }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RrpMode {
    None,
    Active,
    Passive,
}

/// One `totem { interface { } }` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub line: u32,
    pub ringnumber: u32,
    pub bindnetaddr: IpAddr,
    pub mcastaddr: Option<IpAddr>,
    pub mcastport: u16,
    /// Multicast TTL / hop limit (`ttl`, default 1).
    pub ttl: u32,
    /// `member { memberaddr }` entries (unicast transport).
    pub members: Vec<IpAddr>,
    /// Each member's `quorum_votes` (1 when not written), in `members` order.
    pub member_votes: Vec<u32>,
}

/// A totem key exactly as written (validated), for `TotemConfig::set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawKey {
    pub key: String,
    pub value: String,
    pub line: u32,
}

/// Key bytes written in the configuration (`totem { key }`); never
/// printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// The `totem {}` section (also spelt `network {}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totem {
    /// Every scalar totem key this executive acts on, under its canonical
    /// name (`fail_recv_const` is `fail_to_recv_const`), in file order, one
    /// per key. The Totem crate's own parameter table takes these; types
    /// were checked here.
    pub raw: Vec<RawKey>,
    pub nodeid: Option<u32>,
    /// `clear_node_high_bit: yes`: a node id derived from the IPv4
    /// address has its top bit cleared (a positive signed 32-bit value).
    pub clear_node_high_bit: bool,
    /// `keyfile`: the authkey instead of the environment's or the default.
    pub keyfile: Option<PathBuf>,
    /// `key`: the key itself.
    pub key: Option<Secret>,
    /// `None` when not written: on (then a ring needs an authkey).
    pub secauth: Option<bool>,
    /// `strict_authkey_permissions: no` accepts an authkey file others
    /// than its owner may read or write (refused by default, as ssh does).
    pub strict_authkey_permissions: bool,
    pub threads: u32,
    pub transport: Transport,
    pub rrp_mode: RrpMode,
    pub netmtu: u32,
    pub interfaces: Vec<Interface>,
}

impl Totem {
    /// The raw value of a totem key, if written.
    pub fn raw_value(&self, key: &str) -> Option<&str> {
        self.raw.iter().find(|r| r.key == key).map(|r| r.value.as_str())
    }
}

impl Default for Totem {
    fn default() -> Self {
        Totem {
            raw: Vec::new(),
            nodeid: None,
            clear_node_high_bit: false,
            keyfile: None,
            key: None,
            secauth: None,
            strict_authkey_permissions: true,
            threads: 0,
            transport: Transport::Udp,
            rrp_mode: RrpMode::None,
            netmtu: 1500,
            interfaces: Vec::new(),
        }
    }
}

/// A syslog priority (`syslog_priority`, `logfile_priority`), most
/// severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Emerg,
    Alert,
    Crit,
    Err,
    Warning,
    Notice,
    Info,
    Debug,
}

impl Priority {
    pub const NAMES: [(&'static str, Priority); 8] = [
        ("emerg", Priority::Emerg),
        ("alert", Priority::Alert),
        ("crit", Priority::Crit),
        ("err", Priority::Err),
        ("warning", Priority::Warning),
        ("notice", Priority::Notice),
        ("info", Priority::Info),
        ("debug", Priority::Debug),
    ];
}

/// One `logging { logger_subsys { } }` (corosync) or `logger { }`
/// (openais 0.80) section: settings of one subsystem; `None` takes the
/// `logging {}` value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubsysLogging {
    pub subsys: String,
    pub debug: Option<bool>,
    pub to_stderr: Option<bool>,
    pub to_file: Option<bool>,
    pub to_syslog: Option<bool>,
    pub syslog_priority: Option<Priority>,
    pub logfile_priority: Option<Priority>,
}

/// The `logging {}` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logging {
    pub to_stderr: bool,
    /// `to_file` (openais) or `to_logfile` (corosync).
    pub to_file: bool,
    pub to_syslog: bool,
    pub logfile: Option<PathBuf>,
    pub timestamp: bool,
    /// `timestamp: hires`: milliseconds in the timestamp too.
    pub timestamp_hires: bool,
    pub debug: bool,
    pub fileline: bool,
    /// A `LOG_*` facility value from libc.
    pub syslog_facility: i32,
    /// Least severe line sent to syslog (unless debug is on).
    pub syslog_priority: Priority,
    /// Least severe line written to the log file (unless debug is on).
    pub logfile_priority: Priority,
    pub subsys: Vec<SubsysLogging>,
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            to_stderr: true,
            to_file: false,
            to_syslog: true,
            logfile: None,
            timestamp: false,
            timestamp_hires: false,
            debug: false,
            fileline: false,
            syslog_facility: libc::LOG_DAEMON,
            syslog_priority: Priority::Info,
            logfile_priority: Priority::Info,
            subsys: Vec::new(),
        }
    }
}

/// The `event {}` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub delivery_queue_size: u32,
    pub delivery_queue_resume: u32,
}

impl Default for Event {
    fn default() -> Self {
        Event { delivery_queue_size: 1000, delivery_queue_resume: 500 }
    }
}

/// `realtime_priority`: when the main loop sleeps under SCHED_RR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Realtime {
    /// `no`: a normal process throughout.
    Never,
    /// `yes`: whenever it sleeps, as the classic executive always ran.
    Always,
    /// `auto` (the default): while other work holds the CPU, which
    /// `crate::poll_gate` finds out (`PollGate::held_by_other_work`), and
    /// while a client's next request is awaited with no packets due
    /// (`mainloop/wait_policy.rs`). On a quiet machine the normal policy
    /// answers 3-node publishes faster; under other work real-time is
    /// faster everywhere (README, "Request/answer loops").
    WhileContested,
}

/// The `aisexec {}` section: who the executive trusts besides root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aisexec {
    pub user: String,
    pub group: String,
    /// `realtime_priority`: when the main loop sleeps under SCHED_RR
    /// where the executive may (root), so that other work does not delay
    /// its wakeups (it polls under the normal policy).
    pub realtime_priority: Realtime,
    /// `mlockall: yes`: lock the executive's memory (off by default).
    pub mlockall: bool,
    /// `metrics: 127.0.0.1:9405`: serve the live statistics in the
    /// Prometheus text format there (off by default).
    pub metrics: Option<std::net::SocketAddr>,
    /// Library connections one user other than root may hold.
    pub max_connections_per_uid: u32,
    /// Library connections one process other than root's may hold.
    pub max_connections_per_process: u32,
    /// Connections only root may use once the rest are taken.
    pub root_reserved_connections: u32,
    /// MiB of callbacks and answers all clients together may leave
    /// unread; `None`: an eighth of the machine's memory (64 MiB to 4 GiB).
    pub callback_budget_mb: Option<u32>,
}

impl Default for Aisexec {
    fn default() -> Self {
        Aisexec {
            user: "ais".into(),
            group: "ais".into(),
            realtime_priority: Realtime::WhileContested,
            mlockall: false,
            metrics: None,
            // Of 8192 connections: four users at their limit still leave
            // the reserve to root (and its tools).
            max_connections_per_uid: 1024,
            max_connections_per_process: 512,
            root_reserved_connections: 1024,
            callback_budget_mb: None,
        }
    }
}

/// One `uidgid {}` section: an extra uid and/or gid allowed to connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UidGid {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// The `quorum {}` section of corosync files, as read. With `provider:
/// corosync_votequorum` it is acted on (`crate::quorum`); the keys that
/// quorum does not support are noted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Quorum {
    pub line: u32,
    /// `provider` (`corosync_votequorum`, ...).
    pub provider: Option<String>,
    pub expected_votes: Option<u32>,
    pub votes: Option<u32>,
    pub two_node: bool,
    /// Not written: votequorum's default (on with `two_node`).
    pub wait_for_all: Option<bool>,
    pub last_man_standing: bool,
    /// Milliseconds.
    pub last_man_standing_window: Option<u32>,
    pub auto_tie_breaker: bool,
    /// The other votequorum keys as written (`quorumdev_poll`,
    /// `leaving_timeout`, `disallowed`).
    pub other: Vec<RawKey>,
}

/// One `service {}` section (a corosync plugin to load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSection {
    pub line: u32,
    pub name: String,
    pub ver: Option<u32>,
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// The file it came from; `None` when there was none (defaults,
    /// single node on loopback).
    pub source: Option<PathBuf>,
    pub totem: Totem,
    pub logging: Logging,
    pub event: Event,
    /// `amf { mode: enabled }`.
    pub amf_enabled: bool,
    pub aisexec: Aisexec,
    pub uidgid: Vec<UidGid>,
    pub quorum: Option<Quorum>,
    pub services: Vec<ServiceSection>,
    /// What to log once at startup about this file (keys accepted but not
    /// acted on, keys set twice), in file order.
    pub notes: Vec<Note>,
}

/// How the main configuration file was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Named by this environment variable.
    Env(&'static str),
    /// The first default place that exists; `missing` were tried before
    /// it, `unread` exist after it and were not read.
    Default { missing: Vec<PathBuf>, unread: Vec<PathBuf> },
    /// No file at any default place.
    None { tried: Vec<PathBuf> },
}

/// The configuration plus what was read beside it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// `authkey` is the key file actually used (`totem { keyfile }` wins).
    pub paths: ConfigPaths,
    pub origin: Origin,
    /// Whether packets will be sealed (explicit `secauth`, or a key exists
    /// when it is not written).
    pub secauth: bool,
    /// The authkey bytes when `secauth` is on.
    pub authkey: Option<Vec<u8>>,
}

impl Loaded {
    /// One line saying which file was read and why that one.
    pub fn describe_source(&self) -> String {
        let list = |v: &[PathBuf]| v.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        match (&self.config.source, &self.origin) {
            (Some(p), Origin::Env(var)) => format!("configuration read from {} (named by {var})", p.display()),
            (Some(p), Origin::Default { missing, unread }) => {
                let mut s = format!("configuration read from {}", p.display());
                if !missing.is_empty() {
                    s += &format!(" ({} does not exist)", list(missing));
                }
                if !unread.is_empty() {
                    s += &format!("; {} exists too and is not read", list(unread));
                }
                s
            }
            (_, Origin::None { tried }) => {
                format!(
                    "no configuration file ({} do not exist): running a single-node cluster on loopback",
                    list(tried)
                )
            }
            (None, _) => "no configuration file".to_string(),
        }
    }

    /// Where the key comes from, for the log.
    pub fn key_source(&self) -> String {
        if self.config.totem.key.is_some() && self.config.totem.keyfile.is_none() {
            "the totem key in the configuration".to_string()
        } else {
            self.paths.authkey.display().to_string()
        }
    }
}

/// Parses and validates a config text. `file` names it in errors.
pub fn parse_str(file: &str, text: &str) -> Result<Config, ConfigError> {
    let tokens = lexer::tokenize(file, text)?;
    let tree = parser::parse(file, tokens)?;
    schema::validate(file, &tree)
}

/// Smallest and largest authkey accepted.
pub const AUTHKEY_MIN: usize = 16;
pub const AUTHKEY_MAX: usize = 4096;

/// Reads and checks an authkey file. With `strict`, a file that anyone
/// but its owner may read or write is refused: the key is the cluster's
/// only secret.
pub fn read_authkey(path: &Path, strict: bool) -> Result<Vec<u8>, ConfigError> {
    use std::os::unix::fs::MetadataExt;
    let file = path.display().to_string();
    let err = |why: String| ConfigError::new(&file, 0, "authkey", why);
    let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    if strict && meta.mode() & 0o077 != 0 {
        return Err(err(format!(
            "mode {:04o} lets others than its owner read or change the key: chmod 0400 it \
             (or set totem {{ strict_authkey_permissions: no }})",
            meta.mode() & 0o7777
        )));
    }
    if meta.len() as usize > AUTHKEY_MAX {
        return Err(err(format!("{} bytes, at most {AUTHKEY_MAX} allowed", meta.len())));
    }
    let key = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    if key.len() < AUTHKEY_MIN {
        return Err(err(format!("{} bytes, need at least {AUTHKEY_MIN}", key.len())));
    }
    Ok(key)
}

/// Largest main config file accepted (a classic one is a few KiB).
pub const CONFIG_MAX: usize = 1 << 20;

/// Reads at most `max` bytes of `path`; `None` if there is more (so a
/// mistaken path such as `/dev/zero` is an error, not an endless read).
fn read_bounded(path: &Path, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(max as u64 + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() <= max).then_some(bytes))
}

/// Loads everything from the paths the environment selects.
pub fn load() -> Result<Loaded, ConfigError> {
    load_from(ConfigPaths::from_env()?)
}

/// Whether something is at `path` (a dangling symlink counts: it is a
/// broken configuration, not an absent one).
fn present(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Reads and validates the main file at `path`.
fn read_main(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let bytes = match read_bounded(path, CONFIG_MAX) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(ConfigError::new(&file, 0, "file", format!("larger than {CONFIG_MAX} bytes"))),
        Err(e) => return Err(ConfigError::new(&file, 0, "file", format!("cannot read: {e}"))),
    };
    let text = String::from_utf8(bytes).map_err(|_| ConfigError::new(&file, 0, "file", "not valid UTF-8".into()))?;
    let mut c = parse_str(&file, &text)?;
    c.source = Some(path.to_path_buf());
    Ok(c)
}

/// Loads the main config (defaults if no default place has a file), then
/// the authkey if secauth needs it. A file that exists but cannot be read
/// or used is an error, never a reason to try the next place.
pub fn load_from(mut paths: ConfigPaths) -> Result<Loaded, ConfigError> {
    let (config, origin) = match &paths.main {
        MainSource::Env { var, path } => (read_main(path)?, Origin::Env(var)),
        MainSource::Defaults(list) => match list.iter().position(|p| present(p)) {
            Some(i) => {
                let unread = list[i + 1..].iter().filter(|p| present(p)).cloned().collect();
                (read_main(&list[i])?, Origin::Default { missing: list[..i].to_vec(), unread })
            }
            None => (Config::default(), Origin::None { tried: list.clone() }),
        },
    };
    if let Some(k) = &config.totem.keyfile {
        paths.authkey = k.clone();
    }
    let inline = config.totem.key.as_ref().filter(|_| config.totem.keyfile.is_none()).map(|k| k.0.clone());
    let strict = config.totem.strict_authkey_permissions;
    let key = |paths: &ConfigPaths| match &inline {
        Some(k) => Ok(k.clone()),
        None => read_authkey(&paths.authkey, strict),
    };
    let (secauth, authkey) = if config.source.is_none() {
        (false, None) // single node on loopback: nothing goes on a wire
    } else {
        match config.totem.secauth {
            Some(true) => (true, Some(key(&paths)?)),
            Some(false) => (false, None),
            None if inline.is_some() || present(&paths.authkey) => (true, Some(key(&paths)?)),
            // No ring (a single node on loopback): no packets to seal.
            None if config.totem.interfaces.is_empty() => (false, None),
            // Not set means on, as in openais: never a silent fall back
            // to packets anyone can forge.
            None => {
                let file = config.source.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
                return Err(ConfigError::new(
                    &file,
                    0,
                    "secauth",
                    format!(
                        "not set, so on (the default), but there is no authkey at {}: create one with \
                         ais-keygen, or write totem {{ secauth: off }} to send packets that anyone can forge",
                        paths.authkey.display()
                    ),
                ));
            }
        }
    };
    Ok(Loaded { config, paths, origin, secauth, authkey })
}

#[cfg(test)]
mod tests;
