//! The executive's logger: one line per event, `level   [SUBSYS] text`
//! (syslog gets the level as its priority instead), to any of stderr, a
//! file and syslog, as `logging {}` says; `timestamp: on` puts the local
//! time before it, `timestamp: hires` with milliseconds.
//!
//! Owns the log sinks; it must not block the main loop for long (stderr
//! and files are written unbuffered, one `write` per line). Which lines a
//! sink takes: `logger_subsys` overrides the `logging` settings per
//! subsystem; a sink takes a line at or above its priority, or any line
//! while debug is on. [`reopen_file`] serves SIGHUP (log rotation).

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::config::{Logging, Priority, SubsysLogging};

/// Subsystems that log; names appear padded in brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subsys {
    Main,
    Totem,
    Ipc,
    Cfg,
    Serv,
    Sync,
}

impl Subsys {
    pub fn name(self) -> &'static str {
        match self {
            Subsys::Main => "MAIN",
            Subsys::Totem => "TOTEM",
            Subsys::Ipc => "IPC",
            Subsys::Cfg => "CFG",
            Subsys::Serv => "SERV",
            Subsys::Sync => "SYNC",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
    Notice,
    Info,
    Debug,
}

impl Level {
    fn priority(self) -> Priority {
        match self {
            Level::Error => Priority::Err,
            Level::Warning => Priority::Warning,
            Level::Notice => Priority::Notice,
            Level::Info => Priority::Info,
            Level::Debug => Priority::Debug,
        }
    }

    /// The word every stderr and file line carries.
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    fn syslog_priority(self) -> libc::c_int {
        match self {
            Level::Error => libc::LOG_ERR,
            Level::Warning => libc::LOG_WARNING,
            Level::Notice => libc::LOG_NOTICE,
            Level::Info => libc::LOG_INFO,
            Level::Debug => libc::LOG_DEBUG,
        }
    }
}

struct Sinks {
    settings: Logging,
    /// Whether stderr may be used at all (not once detached).
    allow_stderr: bool,
    /// Open when `logging` or some subsystem logs to the file.
    file: Option<std::fs::File>,
    /// `openlog` was called.
    syslog: bool,
}

static LOGGER: Mutex<Option<Sinks>> = Mutex::new(None);

/// Identity passed to `openlog`; must live for the whole process.
static SYSLOG_IDENT: &[u8] = b"aisexec\0";

fn open_log_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    crate::files::open_append(path, 0o640)
}

/// Whether stderr is systemd's journal stream (`JOURNAL_STREAM` names
/// the device and inode of the journal's socket, "dev:ino", and stderr is
/// that file).
pub fn stderr_is_journal() -> bool {
    let Ok(stream) = std::env::var("JOURNAL_STREAM") else { return false };
    crate::sys::stderr_identity().is_some_and(|id| journal_stream_is(&stream, id))
}

fn journal_stream_is(stream: &str, (dev, ino): (u64, u64)) -> bool {
    let Some((d, i)) = stream.split_once(':') else { return false };
    d.parse() == Ok(dev) && i.parse() == Ok(ino)
}

/// Whether lines may go to stderr once logging is set up: not when
/// detached, and not when stderr is the journal while syslog logging is
/// on (the journal has each line from syslog already; classic units set
/// `StandardError=null` for this, which also lost the reason of a failed
/// start, which goes to stderr before [`init`]).
pub fn stderr_allowed(settings: &Logging, foreground: bool, stderr_is_journal: bool) -> bool {
    foreground && !(stderr_is_journal && settings.to_syslog)
}

/// Before [`init`], lines go to stderr (config errors, early startup).
pub fn init(settings: &Logging, allow_stderr: bool) -> std::io::Result<()> {
    let any = |global: bool, f: fn(&SubsysLogging) -> Option<bool>| {
        global || settings.subsys.iter().any(|x| f(x) == Some(true))
    };
    let file = match &settings.logfile {
        Some(path) if any(settings.to_file, |x| x.to_file) => Some(open_log_file(path)?),
        _ => None,
    };
    let syslog = any(settings.to_syslog, |x| x.to_syslog);
    if syslog {
        // SAFETY: the ident is a static NUL-terminated string.
        unsafe { libc::openlog(SYSLOG_IDENT.as_ptr().cast(), libc::LOG_PID, settings.syslog_facility) };
    }
    let sinks = Sinks { settings: settings.clone(), allow_stderr, file, syslog };
    if let Ok(mut g) = LOGGER.lock() {
        *g = Some(sinks);
    }
    Ok(())
}

/// Opens the log file again at its configured path, for log rotation
/// (SIGHUP): a renamed file gets no more lines. `None` when no file is
/// written; on an error the old file stays in use.
pub fn reopen_file() -> Option<(PathBuf, std::io::Result<()>)> {
    let Ok(mut guard) = LOGGER.lock() else { return None };
    let sinks = guard.as_mut()?;
    let path = sinks.settings.logfile.clone().filter(|_| sinks.file.is_some())?;
    let result = open_log_file(&path).map(|f| sinks.file = Some(f));
    Some((path, result))
}

fn subsys_settings(s: &Logging, subsys: Subsys) -> Option<&SubsysLogging> {
    s.subsys.iter().find(|x| x.subsys == subsys.name())
}

fn debug_enabled(s: &Logging, subsys: Subsys) -> bool {
    subsys_settings(s, subsys).and_then(|x| x.debug).unwrap_or(s.debug)
}

/// Which sinks take a line of `level` from `subsys`: (stderr, file, syslog).
fn route(s: &Logging, subsys: Subsys, level: Level) -> (bool, bool, bool) {
    let x = subsys_settings(s, subsys);
    let debug = debug_enabled(s, subsys);
    let takes = |on: bool, threshold: Priority| on && (debug || level.priority() <= threshold);
    let pick = |f: fn(&SubsysLogging) -> Option<bool>, global: bool| x.and_then(f).unwrap_or(global);
    (
        takes(pick(|x| x.to_stderr, s.to_stderr), Priority::Info),
        takes(pick(|x| x.to_file, s.to_file), x.and_then(|x| x.logfile_priority).unwrap_or(s.logfile_priority)),
        takes(pick(|x| x.to_syslog, s.to_syslog), x.and_then(|x| x.syslog_priority).unwrap_or(s.syslog_priority)),
    )
}

/// `Dec 07 07:19:50 `, or with `hires` `Dec 07 07:19:50.123 `.
fn timestamp(hires: bool) -> String {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let mut buf = [0u8; 64];
    // SAFETY: pointers to live locals; strftime bounds its output by len.
    let n = unsafe {
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts);
        libc::localtime_r(&ts.tv_sec, &mut tm);
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c"%b %d %H:%M:%S".as_ptr(), &tm)
    };
    let secs = String::from_utf8_lossy(&buf[..n]);
    match hires {
        true => format!("{secs}.{:03} ", ts.tv_nsec / 1_000_000),
        false => format!("{secs} "),
    }
}

/// Formats one line without sinks (also used by tests).
pub fn format_line(subsys: Subsys, loc: Option<(&str, u32)>, msg: fmt::Arguments<'_>) -> String {
    match loc {
        Some((file, line)) => {
            let short = file.rsplit('/').next().unwrap_or(file);
            format!("[{:<6}] {short}:{line} {msg}", subsys.name())
        }
        None => format!("[{:<6}] {msg}", subsys.name()),
    }
}

/// Writes one log line (use the macros).
pub fn write(level: Level, subsys: Subsys, file: &str, line: u32, msg: fmt::Arguments<'_>) {
    let Ok(mut guard) = LOGGER.lock() else { return };
    let Some(sinks) = guard.as_mut() else {
        let _ = writeln!(std::io::stderr(), "{:<7} {}", level.name(), format_line(subsys, None, msg));
        return;
    };
    let (to_stderr, to_file, to_syslog) = route(&sinks.settings, subsys, level);
    if !(to_stderr || to_file || to_syslog) {
        return;
    }
    let loc = sinks.settings.fileline.then_some((file, line));
    let body = format_line(subsys, loc, msg);
    let stamp = if sinks.settings.timestamp { timestamp(sinks.settings.timestamp_hires) } else { String::new() };
    let full = format!("{stamp}{:<7} {body}\n", level.name());
    if to_stderr && sinks.allow_stderr {
        let _ = std::io::stderr().write_all(full.as_bytes());
    }
    if to_file && let Some(f) = sinks.file.as_mut() {
        let _ = f.write_all(full.as_bytes());
    }
    if to_syslog
        && sinks.syslog
        && let Ok(c) = std::ffi::CString::new(body.replace('\0', ""))
    {
        // SAFETY: "%s" with one NUL-terminated string argument.
        unsafe { libc::syslog(level.syslog_priority(), c"%s".as_ptr(), c.as_ptr()) };
    }
}

#[macro_export]
macro_rules! log_at {
    ($level:ident, $subsys:ident, $($arg:tt)*) => {
        $crate::log::write(
            $crate::log::Level::$level,
            $crate::log::Subsys::$subsys,
            file!(),
            line!(),
            format_args!($($arg)*),
        )
    };
}
#[macro_export]
macro_rules! log_error { ($s:ident, $($a:tt)*) => { $crate::log_at!(Error, $s, $($a)*) }; }
#[macro_export]
macro_rules! log_warn { ($s:ident, $($a:tt)*) => { $crate::log_at!(Warning, $s, $($a)*) }; }
#[macro_export]
macro_rules! log_notice { ($s:ident, $($a:tt)*) => { $crate::log_at!(Notice, $s, $($a)*) }; }
#[macro_export]
macro_rules! log_info { ($s:ident, $($a:tt)*) => { $crate::log_at!(Info, $s, $($a)*) }; }
#[macro_export]
macro_rules! log_debug { ($s:ident, $($a:tt)*) => { $crate::log_at!(Debug, $s, $($a)*) }; }

/// A per-call-site limit for lines that anyone on the network (with
/// secauth off) or any local client can trigger at will, such as "dropped a
/// malformed message": at most [`Gate::BURST`] lines per second; the first
/// line after a quiet spell says how many were suppressed. The events are
/// still counted by their callers; only the log is spared.
pub struct Gate {
    /// Seconds since [`epoch`] of the current window.
    window: std::sync::atomic::AtomicU64,
    /// Lines allowed in the current window.
    used: std::sync::atomic::AtomicU64,
    /// Lines suppressed since the last one written.
    suppressed: std::sync::atomic::AtomicU64,
}

fn epoch() -> std::time::Instant {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

impl Gate {
    pub const BURST: u64 = 10;

    pub const fn new() -> Gate {
        use std::sync::atomic::AtomicU64;
        Gate { window: AtomicU64::new(0), used: AtomicU64::new(0), suppressed: AtomicU64::new(0) }
    }

    /// `Some(n)`: write the line, noting `n` suppressed before it;
    /// `None`: stay quiet. `now_s` is seconds since [`epoch`].
    fn admit_at(&self, now_s: u64) -> Option<u64> {
        use std::sync::atomic::Ordering::Relaxed;
        // The executive logs from one thread; Relaxed races elsewhere
        // only blur the count.
        if self.window.swap(now_s, Relaxed) != now_s {
            self.used.store(0, Relaxed);
        }
        if self.used.fetch_add(1, Relaxed) < Self::BURST {
            Some(self.suppressed.swap(0, Relaxed))
        } else {
            self.suppressed.fetch_add(1, Relaxed);
            None
        }
    }

    pub fn admit(&self) -> Option<u64> {
        self.admit_at(epoch().elapsed().as_secs())
    }
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new()
    }
}

/// Like the `log_*` macros, limited per call site (see [`Gate`]):
/// `log_limited!(Warning, Serv, "...")`.
#[macro_export]
macro_rules! log_limited {
    ($level:ident, $subsys:ident, $($arg:tt)*) => {{
        static GATE: $crate::log::Gate = $crate::log::Gate::new();
        match GATE.admit() {
            Some(0) => $crate::log_at!($level, $subsys, $($arg)*),
            Some(n) => $crate::log_at!($level, $subsys, "{} ({n} similar lines suppressed)", format_args!($($arg)*)),
            None => {}
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_limited_per_second_and_the_gap_is_reported() {
        let g = Gate::new();
        let allowed = (0..1000).filter(|_| g.admit_at(5).is_some()).count();
        assert_eq!(allowed as u64, Gate::BURST);
        // Next second: the first line reports what was dropped.
        assert_eq!(g.admit_at(6), Some(1000 - Gate::BURST));
        assert_eq!(g.admit_at(6), Some(0));
    }

    #[test]
    fn stderr_is_left_to_syslog_only_when_it_is_the_journal() {
        assert!(journal_stream_is("8:12345", (8, 12345)));
        assert!(!journal_stream_is("8:12345", (8, 12346)));
        assert!(!journal_stream_is("8:12345", (9, 12345)));
        assert!(!journal_stream_is("812345", (8, 12345)));
        assert!(!journal_stream_is("", (0, 0)));
        let mut s = Logging::default();
        assert!(s.to_syslog);
        assert!(!stderr_allowed(&s, true, true));
        assert!(stderr_allowed(&s, true, false));
        assert!(!stderr_allowed(&s, false, false));
        s.to_syslog = false;
        assert!(stderr_allowed(&s, true, true));
    }

    #[test]
    fn line_format() {
        assert_eq!(format_line(Subsys::Ipc, None, format_args!("x {}", 1)), "[IPC   ] x 1");
        assert_eq!(format_line(Subsys::Main, Some(("src/a/main.rs", 7)), format_args!("hi")), "[MAIN  ] main.rs:7 hi");
    }

    #[test]
    fn per_subsystem_debug_overrides_global() {
        let mut s = Logging::default();
        assert!(!debug_enabled(&s, Subsys::Ipc));
        s.subsys.push(SubsysLogging { subsys: "IPC".into(), debug: Some(true), ..Default::default() });
        assert!(debug_enabled(&s, Subsys::Ipc));
        assert!(!debug_enabled(&s, Subsys::Main));
        s.debug = true;
        s.subsys[0].debug = Some(false);
        assert!(!debug_enabled(&s, Subsys::Ipc));
        assert!(debug_enabled(&s, Subsys::Main));
        // Not written for the subsystem: the global value.
        s.subsys[0].debug = None;
        assert!(debug_enabled(&s, Subsys::Ipc));
    }

    #[test]
    fn priorities_and_subsystem_overrides_pick_the_sinks() {
        let mut s = Logging { to_file: true, logfile: Some("/x".into()), ..Logging::default() };
        // Defaults: info and above everywhere, debug nowhere.
        assert_eq!(route(&s, Subsys::Main, Level::Info), (true, true, true));
        assert_eq!(route(&s, Subsys::Main, Level::Debug), (false, false, false));
        s.syslog_priority = Priority::Warning;
        s.logfile_priority = Priority::Debug;
        assert_eq!(route(&s, Subsys::Main, Level::Notice), (true, true, false));
        assert_eq!(route(&s, Subsys::Main, Level::Warning), (true, true, true));
        assert_eq!(route(&s, Subsys::Main, Level::Debug), (false, true, false));
        // TOTEM: only syslog, from err; debug on takes every level.
        s.subsys.push(SubsysLogging {
            subsys: "TOTEM".into(),
            to_stderr: Some(false),
            to_file: Some(false),
            syslog_priority: Some(Priority::Err),
            ..Default::default()
        });
        assert_eq!(route(&s, Subsys::Totem, Level::Warning), (false, false, false));
        assert_eq!(route(&s, Subsys::Totem, Level::Error), (false, false, true));
        s.subsys[0].debug = Some(true);
        assert_eq!(route(&s, Subsys::Totem, Level::Debug), (false, false, true));
        assert_eq!(route(&s, Subsys::Main, Level::Notice), (true, true, false), "others unchanged");
    }
}
