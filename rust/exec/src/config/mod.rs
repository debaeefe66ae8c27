//! The executive's configuration: where the files are, the corosync.conf
//! format (lexer -> parser -> schema), and the authkey.
//!
//! Owns turning files into a validated [`Config`]; it must not start
//! anything. Every rejected input is a [`ConfigError`] that prints as
//! `file:line: key: why`.

#![forbid(unsafe_code)]

pub mod lexer;
pub mod parser;
pub mod paths;
pub mod schema;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub use paths::ConfigPaths;

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
    /// `member { memberaddr }` entries (unicast transport).
    pub members: Vec<IpAddr>,
}

/// A totem key exactly as written (validated), for `TotemConfig::set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawKey {
    pub key: String,
    pub value: String,
    pub line: u32,
}

/// The `totem {}` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totem {
    /// Every scalar totem key as written, in file order. The Totem crate's
    /// own parameter table takes these; types were checked here.
    pub raw: Vec<RawKey>,
    pub nodeid: Option<u32>,
    /// `None` when not written: on if an authkey exists.
    pub secauth: Option<bool>,
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
            secauth: None,
            threads: 0,
            transport: Transport::Udp,
            rrp_mode: RrpMode::None,
            netmtu: 1500,
            interfaces: Vec::new(),
        }
    }
}

/// `logging { logger_subsys { } }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsysLogging {
    pub subsys: String,
    pub debug: bool,
}

/// The `logging {}` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logging {
    pub to_stderr: bool,
    pub to_file: bool,
    pub to_syslog: bool,
    pub logfile: Option<PathBuf>,
    pub timestamp: bool,
    pub debug: bool,
    pub fileline: bool,
    /// A `LOG_*` facility value from libc.
    pub syslog_facility: i32,
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
            debug: false,
            fileline: false,
            syslog_facility: libc::LOG_DAEMON,
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

/// The `aisexec {}` section: who the executive trusts besides root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aisexec {
    pub user: String,
    pub group: String,
    /// `realtime_priority: yes`: run the main loop with SCHED_RR (off by
    /// default; Totem's timeouts do not need it).
    pub realtime_priority: bool,
    /// `mlockall: yes`: lock the executive's memory (off by default).
    pub mlockall: bool,
}

impl Default for Aisexec {
    fn default() -> Self {
        Aisexec { user: "ais".into(), group: "ais".into(), realtime_priority: false, mlockall: false }
    }
}

/// One `uidgid {}` section: an extra uid and/or gid allowed to connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UidGid {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
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
}

/// The configuration plus what was read beside it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub paths: ConfigPaths,
    /// Whether packets will be sealed (explicit `secauth`, or an authkey
    /// exists when it is not written).
    pub secauth: bool,
    /// The authkey bytes when `secauth` is on.
    pub authkey: Option<Vec<u8>>,
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

/// Reads and checks an authkey file.
pub fn read_authkey(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let file = path.display().to_string();
    let err = |why: String| ConfigError::new(&file, 0, "authkey", why);
    let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
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
    load_from(ConfigPaths::from_env())
}

/// Loads the main config (defaults if the default path does not exist),
/// then the authkey if secauth needs it.
pub fn load_from(paths: ConfigPaths) -> Result<Loaded, ConfigError> {
    let file = paths.main.display().to_string();
    let config = match read_bounded(&paths.main, CONFIG_MAX) {
        Ok(None) => {
            let why = format!("larger than {CONFIG_MAX} bytes");
            return Err(ConfigError::new(&file, 0, "file", why));
        }
        Ok(Some(bytes)) => {
            let text =
                String::from_utf8(bytes).map_err(|_| ConfigError::new(&file, 0, "file", "not valid UTF-8".into()))?;
            let mut c = parse_str(&file, &text)?;
            c.source = Some(paths.main.clone());
            c
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !paths.main_from_env => Config::default(),
        Err(e) => return Err(ConfigError::new(&file, 0, "file", format!("cannot read: {e}"))),
    };
    let (secauth, authkey) = if config.source.is_none() {
        (false, None) // single node on loopback: nothing goes on a wire
    } else {
        match config.totem.secauth {
            Some(true) => (true, Some(read_authkey(&paths.authkey)?)),
            Some(false) => (false, None),
            None if paths.authkey.exists() => (true, Some(read_authkey(&paths.authkey)?)),
            None => (false, None),
        }
    };
    Ok(Loaded { config, paths, secauth, authkey })
}

#[cfg(test)]
mod tests;
