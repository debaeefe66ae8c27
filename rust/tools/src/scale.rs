//! Bookkeeping of the live scale test (`scale-test`): the configurations
//! each executive installed, read from its log as it grows.
//!
//! The executives log with `timestamp: hires`, so each regular
//! configuration line carries the local time of day it was installed at,
//! to the millisecond: times are measured from these stamps, not from when
//! the test happened to read the line (on a loaded machine that can be
//! much later).

use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::SystemTime;

/// Milliseconds in a day: stamps are times of day, so differences wrap.
const DAY_MS: i64 = 86_400_000;

/// One `regular configuration` line of an executive's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Local time of day, in milliseconds.
    pub at_ms: i64,
    /// `rep.seq`.
    pub ring: String,
    pub members: usize,
}

/// `HH:MM:SS.mmm` as milliseconds of the day.
fn time_of_day_ms(s: &str) -> Option<i64> {
    let (hms, ms) = s.split_once('.')?;
    let mut parts = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || ms.len() != 3 || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1000 + ms.parse::<i64>().ok()?)
}

/// Parses `Dec 07 07:19:50.123 NOTICE  [TOTEM ] regular configuration:
/// ring 1.8 members 3: ...`; any other line gives `None`.
pub fn parse_regular(line: &str) -> Option<Installed> {
    let (head, rest) = line.split_once("regular configuration: ring ")?;
    let at_ms = time_of_day_ms(head.split_whitespace().nth(2)?)?;
    let mut words = rest.split_whitespace();
    let ring = words.next()?.to_string();
    if words.next()? != "members" {
        return None;
    }
    let members = words.next()?.trim_end_matches(':').parse().ok()?;
    Some(Installed { at_ms, ring, members })
}

/// The local time of day of `t` in milliseconds, as the executives stamp
/// their lines.
pub fn local_ms_of_day(t: SystemTime) -> i64 {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as libc::time_t;
    // SAFETY: zeroed tm is a valid out-parameter; pointers to live locals.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&secs, &mut tm) };
    (i64::from(tm.tm_hour) * 3600 + i64::from(tm.tm_min) * 60 + i64::from(tm.tm_sec)) * 1000
        + i64::from(d.subsec_millis())
}

/// `to - from` in milliseconds for two times of day less than 12 h apart
/// (across midnight too).
pub fn ms_between(from: i64, to: i64) -> i64 {
    let d = (to - from).rem_euclid(DAY_MS);
    if d > DAY_MS / 2 { d - DAY_MS } else { d }
}

/// Follows one log file, keeping every regular configuration it names.
pub struct LogFollower {
    path: PathBuf,
    offset: u64,
    /// The start of a line not yet ended by a newline.
    partial: String,
    pub installed: Vec<Installed>,
}

impl LogFollower {
    pub fn new(path: PathBuf) -> LogFollower {
        LogFollower { path, offset: 0, partial: String::new(), installed: Vec::new() }
    }

    /// Reads what was appended since the last call.
    pub fn poll(&mut self) -> io::Result<()> {
        let mut f = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        f.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)?;
        self.offset += bytes.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&bytes));
        let Some(end) = self.partial.rfind('\n') else { return Ok(()) };
        let complete: String = self.partial.drain(..=end).collect();
        self.installed.extend(complete.lines().filter_map(parse_regular));
        Ok(())
    }

    pub fn last(&self) -> Option<&Installed> {
        self.installed.last()
    }

    /// Regular configurations installed at or after time of day `from_ms`.
    pub fn installed_since(&self, from_ms: i64) -> usize {
        self.installed.iter().filter(|c| ms_between(from_ms, c.at_ms) >= 0).count()
    }
}

/// Whether every log's latest configuration is one ring of `members`; if
/// so, the time of day the last of them installed it.
pub fn one_ring<'a>(logs: impl IntoIterator<Item = &'a LogFollower>, members: usize) -> Option<i64> {
    let mut ring: Option<&str> = None;
    let mut latest: Option<i64> = None;
    for log in logs {
        let c = log.last()?;
        if c.members != members || ring.is_some_and(|r| r != c.ring) {
            return None;
        }
        ring = Some(&c.ring);
        latest = Some(match latest {
            Some(l) if ms_between(l, c.at_ms) <= 0 => l,
            _ => c.at_ms,
        });
    }
    latest
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "Dec 07 07:19:50.123 NOTICE  [TOTEM ] regular configuration: ring 1.8 members 3: \
                        1/10.0.0.1 2/10.0.0.2 3/10.0.0.3";

    #[test]
    fn regular_configuration_lines_are_parsed_and_others_are_not() {
        let want = Installed { at_ms: ((7 * 60 + 19) * 60 + 50) * 1000 + 123, ring: "1.8".into(), members: 3 };
        assert_eq!(parse_regular(LINE), Some(want));
        assert_eq!(parse_regular(&LINE.replace("regular", "transitional")), None);
        // Without hires stamps there is no time to measure with.
        assert_eq!(parse_regular(&LINE.replace("50.123", "50")), None);
        assert_eq!(parse_regular(&LINE.replace("members 3", "members x")), None);
        assert_eq!(
            parse_regular("Dec 07 25:00:00.000 NOTICE  [TOTEM ] regular configuration: ring 1.8 members 3:"),
            None
        );
    }

    #[test]
    fn differences_of_times_of_day_wrap_at_midnight() {
        assert_eq!(ms_between(1000, 2500), 1500);
        assert_eq!(ms_between(2500, 1000), -1500);
        assert_eq!(ms_between(DAY_MS - 100, 200), 300);
        assert_eq!(ms_between(200, DAY_MS - 100), -300);
    }

    #[test]
    fn a_followed_log_yields_lines_as_they_are_completed() {
        let dir = std::env::temp_dir().join(format!("ais-scale-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let mut log = LogFollower::new(path.clone());
        log.poll().unwrap();
        assert!(log.last().is_none(), "no file yet is no configuration");
        let ring = |seq: u32, n: usize| {
            format!("Dec 07 07:19:5{seq}.000 NOTICE  [TOTEM ] regular configuration: ring 1.{seq} members {n}: x\n")
        };
        let (first, second) = (ring(1, 2), ring(2, 3));
        // The second line arrives in two writes.
        std::fs::write(&path, format!("{first}{}", &second[..20])).unwrap();
        log.poll().unwrap();
        assert_eq!(log.installed.len(), 1);
        std::fs::write(&path, format!("{first}{second}")).unwrap();
        log.poll().unwrap();
        assert_eq!(log.installed.len(), 2);
        assert_eq!(log.last().unwrap().ring, "1.2");
        assert_eq!(log.installed_since(((7 * 60 + 19) * 60 + 52) * 1000), 1);
        std::fs::remove_dir_all(&dir).unwrap();

        // One ring of 3 only when every log's latest says so.
        assert_eq!(one_ring([&log], 3), Some(((7 * 60 + 19) * 60 + 52) * 1000));
        assert_eq!(one_ring([&log], 2), None);
        let mut other = LogFollower::new(path);
        other.installed.push(Installed { at_ms: 0, ring: "1.9".into(), members: 3 });
        assert_eq!(one_ring([&log, &other], 3), None, "a different ring of the same size");
    }
}
