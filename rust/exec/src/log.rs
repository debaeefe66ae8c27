//! The executive's logger: one line per event, `[SUBSYS] text`, to any of
//! stderr, a file and syslog, as `logging {}` says.
//!
//! Owns the log sinks; it must not block the main loop for long (stderr
//! and files are written unbuffered, one `write` per line).

use std::fmt;
use std::io::Write;
use std::sync::Mutex;

use crate::config::Logging;

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
    stderr: bool,
    file: Option<std::fs::File>,
    syslog: bool,
}

static LOGGER: Mutex<Option<Sinks>> = Mutex::new(None);

/// Identity passed to `openlog`; must live for the whole process.
static SYSLOG_IDENT: &[u8] = b"aisexec\0";

/// Before [`init`], lines go to stderr (config errors, early startup).
pub fn init(settings: &Logging, allow_stderr: bool) -> std::io::Result<()> {
    let file = if settings.to_file {
        match &settings.logfile {
            Some(path) => Some(std::fs::OpenOptions::new().create(true).append(true).open(path)?),
            None => None,
        }
    } else {
        None
    };
    if settings.to_syslog {
        // SAFETY: the ident is a static NUL-terminated string.
        unsafe { libc::openlog(SYSLOG_IDENT.as_ptr().cast(), libc::LOG_PID, settings.syslog_facility) };
    }
    let sinks = Sinks {
        settings: settings.clone(),
        stderr: settings.to_stderr && allow_stderr,
        file,
        syslog: settings.to_syslog,
    };
    if let Ok(mut g) = LOGGER.lock() {
        *g = Some(sinks);
    }
    Ok(())
}

fn debug_enabled(s: &Logging, subsys: Subsys) -> bool {
    s.subsys.iter().find(|x| x.subsys == subsys.name()).map_or(s.debug, |x| x.debug)
}

fn timestamp() -> String {
    let mut now: libc::time_t = 0;
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let mut buf = [0u8; 64];
    // SAFETY: pointers to live locals; strftime bounds its output by len.
    let n = unsafe {
        libc::time(&mut now);
        libc::localtime_r(&now, &mut tm);
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c"%b %d %H:%M:%S ".as_ptr(), &tm)
    };
    String::from_utf8_lossy(&buf[..n]).into_owned()
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
        let _ = writeln!(std::io::stderr(), "{}", format_line(subsys, None, msg));
        return;
    };
    if level == Level::Debug && !debug_enabled(&sinks.settings, subsys) {
        return;
    }
    let loc = sinks.settings.fileline.then_some((file, line));
    let body = format_line(subsys, loc, msg);
    let stamp = if sinks.settings.timestamp { timestamp() } else { String::new() };
    let full = format!("{stamp}{body}\n");
    if sinks.stderr {
        let _ = std::io::stderr().write_all(full.as_bytes());
    }
    if let Some(f) = sinks.file.as_mut() {
        let _ = f.write_all(full.as_bytes());
    }
    if sinks.syslog
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
    use crate::config::SubsysLogging;

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
    fn line_format() {
        assert_eq!(format_line(Subsys::Ipc, None, format_args!("x {}", 1)), "[IPC   ] x 1");
        assert_eq!(format_line(Subsys::Main, Some(("src/a/main.rs", 7)), format_args!("hi")), "[MAIN  ] main.rs:7 hi");
    }

    #[test]
    fn per_subsystem_debug_overrides_global() {
        let mut s = Logging::default();
        assert!(!debug_enabled(&s, Subsys::Ipc));
        s.subsys.push(SubsysLogging { subsys: "IPC".into(), debug: true });
        assert!(debug_enabled(&s, Subsys::Ipc));
        assert!(!debug_enabled(&s, Subsys::Main));
        s.debug = true;
        s.subsys[0].debug = false;
        assert!(!debug_enabled(&s, Subsys::Ipc));
        assert!(debug_enabled(&s, Subsys::Main));
    }
}
