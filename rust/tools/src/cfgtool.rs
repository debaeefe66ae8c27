//! `ais-cfgtool`: administration of the local executive over IPC (the
//! binary is a thin wrapper over [`run`], so tests can drive it too).
//!
//! `-s` prints the ring status as openais-cfgtool did (`Printing ring
//! status.`, then per ring `RING ID N`, `\tid\t= address`, `\tstatus\t=
//! ring N active with no faults`). `-k` (or `-s -k`) prints the local node
//! id, ring id, ring status, members and the executive's counters
//! (Totem's malformed packets, by class), one `key: value` per line
//! (stable, for scripts): `ringN_status: active, no faults` or
//! `ringN_status: FAULTY`, `totem_malformed: N`, then the quorum
//! (`quorum: not configured`, or `quorum: quorate` / `not quorate` /
//! `waiting for all nodes` with `quorum_expected_votes`,
//! `quorum_total_votes`, `quorum_needed_votes`). `-S` prints the live
//! statistics. `-a NODEID` prints a member's addresses, `-H` shuts the
//! executive down. `-r` re-enables FAULTY redundant rings on every node
//! (the executive orders the request cluster-wide). Exit 0 on success; 1
//! if the executive cannot be reached or answers an error (or `-a` names
//! no member); 2 on bad usage.

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use ais_ipc::cfg::{self, REENABLE, SHUTDOWN, STATS, STATUS, Stat, StatKind, Status, decode_error, decode_stats};
use ais_ipc::frame::{read_message, write_message};
use ais_ipc::handshake::{HANDSHAKE_SERVICE, HELLO_ID, HELLO_REPLY_ID, Hello, HelloReply, PROTOCOL_VERSION, Role};
use ais_ipc::{error, service};

pub const USAGE: &str = "usage: ais-cfgtool -s [-k] | -k | -S [-w SECONDS [-c COUNT]] | -a NODEID | -H | -r\n  -s  show the ring status (as openais-cfgtool did)\n  -k  show the local node id, ring id, ring status, members and counters\n      as `key: value` lines\n  -a  show the addresses of member NODEID\n  -H  shut the local executive down\n  -S  show the live statistics, one `key: value` a line\n      -w N: again every N seconds, each counter followed by its\n      `key.per_second` rate; -c COUNT: stop after COUNT rounds\n  -r  re-enable FAULTY redundant rings on every node\n  -h  print this help\n";
/// How long to wait for the executive before giving up.
const TIMEOUT: Duration = Duration::from_secs(10);

fn error_name(e: u32) -> &'static str {
    match e {
        error::LIBRARY => "SA_AIS_ERR_LIBRARY",
        error::VERSION => "SA_AIS_ERR_VERSION",
        error::TRY_AGAIN => "SA_AIS_ERR_TRY_AGAIN",
        error::ACCESS => "SA_AIS_ERR_ACCESS (not allowed to connect)",
        error::NOT_EXIST => "SA_AIS_ERR_NOT_EXIST",
        error::BAD_HANDLE => "SA_AIS_ERR_BAD_HANDLE",
        error::NO_RESOURCES => "SA_AIS_ERR_NO_RESOURCES",
        _ => "error",
    }
}

/// Opens one channel and performs its hello; returns the socket and token.
/// The dispatch hello is not answered on success, so only the request
/// channel waits for a reply.
fn hello(path: &Path, role: Role, token: u64) -> Result<(UnixStream, u64), String> {
    let mut s = UnixStream::connect(path)
        .map_err(|e| format!("cannot connect to the executive at {}: {e} (is aisexec running?)", path.display()))?;
    s.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    let h = Hello { protocol: PROTOCOL_VERSION, role, service: service::CFG, token };
    // A refused peer may be closed before our hello lands: still read why.
    let sent = write_message(&mut s, HANDSHAKE_SERVICE, HELLO_ID, &h.encode());
    if role == Role::Dispatch {
        sent.map_err(|e| format!("cannot open the dispatch channel: {e}"))?;
        return Ok((s, token));
    }
    let (header, body) = read_message(&mut s).map_err(|e| match sent {
        Err(w) => format!("connection to the executive failed: {w}"),
        Ok(()) => format!("no answer from the executive: {e}"),
    })?;
    if header.service != HANDSHAKE_SERVICE || header.id != HELLO_REPLY_ID {
        return Err("unexpected answer to hello".into());
    }
    let reply = HelloReply::decode(&body).map_err(|e| format!("bad hello reply: {e}"))?;
    if reply.error != error::OK {
        return Err(format!("the executive refused the connection: {}", error_name(reply.error)));
    }
    Ok((s, reply.token))
}

/// Asks the executive listening at `path` for its status.
pub fn status(path: &Path) -> Result<Status, String> {
    let (mut req, token) = hello(path, Role::Request, 0)?;
    let (_dispatch, _) = hello(path, Role::Dispatch, token)?;
    write_message(&mut req, service::CFG, STATUS, &[]).map_err(|e| format!("cannot send request: {e}"))?;
    let (header, body) = read_message(&mut req).map_err(|e| format!("no answer from the executive: {e}"))?;
    if header.service != service::CFG || header.id != STATUS {
        return Err("unexpected answer to status request".into());
    }
    match Status::decode_response(&body) {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(format!("status request failed: {}", error_name(e))),
        Err(e) => Err(format!("malformed status answer: {e}")),
    }
}

/// Asks the executive listening at `path` for its live statistics.
pub fn stats(path: &Path) -> Result<Vec<Stat>, String> {
    let (mut req, token) = hello(path, Role::Request, 0)?;
    let (_dispatch, _) = hello(path, Role::Dispatch, token)?;
    write_message(&mut req, service::CFG, STATS, &[]).map_err(|e| format!("cannot send request: {e}"))?;
    let (header, body) = read_message(&mut req).map_err(|e| format!("no answer from the executive: {e}"))?;
    if header.service != service::CFG || header.id != STATS {
        return Err("unexpected answer to statistics request".into());
    }
    match decode_stats(&body) {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(format!("statistics request failed: {}", error_name(e))),
        Err(e) => Err(format!("malformed statistics answer: {e}")),
    }
}

/// Prints statistics as `key: value` lines; with `previous` (the round
/// before, `elapsed` ago) each counter is followed by a
/// `key.per_second: rate` line.
pub fn print_stats(stats: &[Stat], previous: Option<(&[Stat], Duration)>, out: &mut impl Write) -> io::Result<()> {
    for s in stats {
        writeln!(out, "{}: {}", s.name, s.value)?;
        let Some((prev, elapsed)) = previous else { continue };
        if s.kind != StatKind::Counter || elapsed.is_zero() {
            continue;
        }
        if let Some(p) = prev.iter().find(|p| p.name == s.name) {
            let rate = s.value.saturating_sub(p.value) as f64 / elapsed.as_secs_f64();
            writeln!(out, "{}.per_second: {rate:.1}", s.name)?;
        }
    }
    Ok(())
}

/// `-S -w N`: prints the statistics every `interval` (`rounds` times, or
/// forever), a blank line between rounds.
pub fn watch_stats(socket: &Path, interval: Duration, rounds: Option<u64>, out: &mut impl Write) -> Result<(), String> {
    let mut previous: Option<(Vec<Stat>, std::time::Instant)> = None;
    let mut done = 0u64;
    loop {
        let now = std::time::Instant::now();
        let stats = stats(socket)?;
        let prev = previous.as_ref().map(|(p, t)| (p.as_slice(), now.duration_since(*t)));
        print_stats(&stats, prev, out)
            .and_then(|()| writeln!(out))
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
        previous = Some((stats, now));
        done += 1;
        if rounds.is_some_and(|r| done >= r) {
            return Ok(());
        }
        std::thread::sleep(interval);
    }
}

/// Asks the executive listening at `path` to re-enable FAULTY redundant
/// rings cluster-wide.
pub fn reenable(path: &Path) -> Result<(), String> {
    let (mut req, token) = hello(path, Role::Request, 0)?;
    let (_dispatch, _) = hello(path, Role::Dispatch, token)?;
    write_message(&mut req, service::CFG, REENABLE, &[]).map_err(|e| format!("cannot send request: {e}"))?;
    let (header, body) = read_message(&mut req).map_err(|e| format!("no answer from the executive: {e}"))?;
    if header.service != service::CFG || header.id != REENABLE {
        return Err("unexpected answer to re-enable request".into());
    }
    match decode_error(&body) {
        Ok(error::OK) => Ok(()),
        Ok(e) => Err(format!("re-enable request failed: {}", error_name(e))),
        Err(e) => Err(format!("malformed re-enable answer: {e}")),
    }
}

/// Prints the ring status as openais-cfgtool did. The address of ring N
/// is the Nth of this node's member addresses (empty when not a member).
pub fn print_classic(s: &Status, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "Printing ring status.")?;
    let local = s.members.iter().find(|m| m.node_id == s.local_node_id);
    for r in &s.rings {
        let address = local.and_then(|m| m.address.split(',').nth(r.number as usize)).unwrap_or("");
        let status = match r.status.as_str() {
            "active, no faults" => format!("ring {} active with no faults", r.number),
            "FAULTY" => format!(
                "Marking ringid {} interface {address} FAULTY - administrative intervention required.",
                r.number
            ),
            other => format!("ring {} {other}", r.number),
        };
        writeln!(out, "RING ID {}\n\tid\t= {address}\n\tstatus\t= {status}", r.number)?;
    }
    Ok(())
}

/// A node id as given on the command line: decimal or 0x hex.
fn parse_node_id(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Asks the executive listening at `path` to shut down.
pub fn shutdown(path: &Path) -> Result<(), String> {
    let (mut req, token) = hello(path, Role::Request, 0)?;
    let (_dispatch, _) = hello(path, Role::Dispatch, token)?;
    write_message(&mut req, service::CFG, SHUTDOWN, &[]).map_err(|e| format!("cannot send request: {e}"))?;
    let (header, body) = read_message(&mut req).map_err(|e| format!("no answer from the executive: {e}"))?;
    if header.service != service::CFG || header.id != SHUTDOWN {
        return Err("unexpected answer to shutdown request".into());
    }
    match decode_error(&body) {
        Ok(error::OK) => Ok(()),
        Ok(e) => Err(format!("shutdown request failed: {}", error_name(e))),
        Err(e) => Err(format!("malformed shutdown answer: {e}")),
    }
}

/// Prints a status as `key: value` lines.
pub fn print_status(s: &Status, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "local_node_id: {}", s.local_node_id)?;
    writeln!(out, "ring_id: {}.{}", s.ring_rep, s.ring_seq)?;
    for r in &s.rings {
        writeln!(out, "ring{}_status: {}", r.number, r.status)?;
    }
    for m in &s.members {
        writeln!(out, "member: {} {}", m.node_id, m.address)?;
    }
    for c in &s.counters {
        writeln!(out, "{}: {}", c.name, c.value)?;
    }
    let q = &s.quorum;
    if q.flags & cfg::QUORUM_CONFIGURED == 0 {
        return writeln!(out, "quorum: not configured");
    }
    let state = match (q.flags & cfg::QUORATE != 0, q.flags & cfg::WAITING_FOR_ALL != 0) {
        (true, false) => "quorate",
        (true, true) => "waiting for all nodes",
        (false, _) => "not quorate",
    };
    writeln!(out, "quorum: {state}")?;
    writeln!(out, "quorum_expected_votes: {}", q.expected_votes)?;
    writeln!(out, "quorum_total_votes: {}", q.total_votes)?;
    writeln!(out, "quorum_needed_votes: {}", q.quorum)
}

/// Runs the tool with `args` (without the program name) against the
/// executive socket at `socket`; returns the exit code.
pub fn run(args: &[&str], socket: &Path, out: &mut impl Write, err: &mut impl Write) -> i32 {
    let failed = |err: &mut dyn Write, e: String| {
        let _ = writeln!(err, "ais-cfgtool: {e}");
        1
    };
    match args {
        ["-s"] => match status(socket) {
            Ok(s) => i32::from(print_classic(&s, out).is_err()),
            Err(e) => failed(err, e),
        },
        ["-k"] | ["-s", "-k"] | ["-k", "-s"] => match status(socket) {
            Ok(s) => i32::from(print_status(&s, out).is_err()),
            Err(e) => failed(err, e),
        },
        ["-a", id] => {
            let Some(id) = parse_node_id(id) else {
                let _ = write!(err, "{USAGE}");
                return 2;
            };
            match status(socket) {
                Ok(s) => match s.members.iter().find(|m| m.node_id == id) {
                    Some(m) => i32::from(writeln!(out, "{}", m.address.replace(',', " ")).is_err()),
                    None => failed(err, format!("node {id} is not a member of the current configuration")),
                },
                Err(e) => failed(err, e),
            }
        }
        ["-H"] => match shutdown(socket) {
            Ok(()) => 0,
            Err(e) => failed(err, e),
        },
        ["-S"] => match stats(socket) {
            Ok(s) => i32::from(print_stats(&s, None, out).is_err()),
            Err(e) => {
                let _ = writeln!(err, "ais-cfgtool: {e}");
                1
            }
        },
        ["-S", "-w", n] | ["-S", "-w", n, "-c", _] => {
            let rounds = match args {
                [.., "-c", c] => match c.parse::<u64>() {
                    Ok(c) if c > 0 => Some(c),
                    _ => {
                        let _ = write!(err, "{USAGE}");
                        return 2;
                    }
                },
                _ => None,
            };
            let interval = match n.parse::<f64>() {
                Ok(s) if s > 0.0 && s <= 86_400.0 => Duration::from_secs_f64(s),
                _ => {
                    let _ = write!(err, "{USAGE}");
                    return 2;
                }
            };
            match watch_stats(socket, interval, rounds, out) {
                Ok(()) => 0,
                Err(e) => {
                    let _ = writeln!(err, "ais-cfgtool: {e}");
                    1
                }
            }
        }
        ["-r"] => match reenable(socket) {
            Ok(()) => {
                let _ = writeln!(out, "re-enabling all redundant rings");
                0
            }
            Err(e) => {
                let _ = writeln!(err, "ais-cfgtool: {e}");
                1
            }
        },
        ["-h"] => {
            let _ = write!(out, "{USAGE}");
            0
        }
        _ => {
            let _ = write!(err, "{USAGE}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ais_ipc::cfg::{Counter, Member, RingStatus, Stat};

    #[test]
    fn status_format_is_stable() {
        let s = Status {
            local_node_id: 2,
            ring_rep: 1,
            ring_seq: 8,
            rings: vec![RingStatus { number: 0, status: "active, no faults".into() }],
            members: vec![
                Member { node_id: 1, address: "10.0.0.1".into() },
                Member { node_id: 2, address: "10.0.0.2".into() },
            ],
            counters: vec![
                Counter { name: "totem_malformed".into(), value: 3 },
                Counter { name: "totem_malformed_short".into(), value: 1 },
            ],
            quorum: Default::default(),
        };
        let mut out = Vec::new();
        print_status(&s, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "local_node_id: 2\nring_id: 1.8\nring0_status: active, no faults\nmember: 1 10.0.0.1\nmember: 2 10.0.0.2\n\
             totem_malformed: 3\ntotem_malformed_short: 1\nquorum: not configured\n"
        );
        let q = cfg::QuorumStatus { flags: cfg::QUORUM_CONFIGURED, expected_votes: 3, total_votes: 1, quorum: 2 };
        let mut out = Vec::new();
        print_status(&Status { quorum: q, ..s }, &mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().ends_with(
            "quorum: not quorate\nquorum_expected_votes: 3\nquorum_total_votes: 1\nquorum_needed_votes: 2\n"
        ));
    }

    #[test]
    fn classic_status_matches_the_golden_file() {
        let s = Status {
            local_node_id: 2,
            ring_rep: 1,
            ring_seq: 8,
            rings: vec![
                RingStatus { number: 0, status: "active, no faults".into() },
                RingStatus { number: 1, status: "FAULTY".into() },
            ],
            members: vec![
                Member { node_id: 1, address: "10.0.0.1,10.1.0.1".into() },
                Member { node_id: 2, address: "10.0.0.2,10.1.0.2".into() },
            ],
            counters: vec![],
            quorum: Default::default(),
        };
        let mut out = Vec::new();
        print_classic(&s, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), include_str!("../tests/golden/status-rrp.txt"));
    }

    #[test]
    fn node_ids_parse_in_decimal_and_hex() {
        assert_eq!(parse_node_id("16777343"), Some(16_777_343));
        assert_eq!(parse_node_id("0x0100007f"), Some(0x0100_007f));
        assert_eq!(parse_node_id("x"), None);
        assert_eq!(parse_node_id("-1"), None);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(&["-a", "bogus"], Path::new("/nonexistent/s"), &mut out, &mut err), 2);
        assert_eq!(run(&["-a"], Path::new("/nonexistent/s"), &mut out, &mut err), 2);
    }

    #[test]
    fn stats_lines_and_rates() {
        let before = vec![Stat::counter("totem.ring0.retransmitted", 10), Stat::gauge("ipc.connections", 4)];
        let after = vec![Stat::counter("totem.ring0.retransmitted", 30), Stat::gauge("ipc.connections", 2)];
        let mut out = Vec::new();
        print_stats(&before, None, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "totem.ring0.retransmitted: 10\nipc.connections: 4\n");
        let mut out = Vec::new();
        print_stats(&after, Some((&before, Duration::from_secs(2))), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "totem.ring0.retransmitted: 30\ntotem.ring0.retransmitted.per_second: 10.0\nipc.connections: 2\n"
        );
    }

    #[test]
    fn bad_watch_arguments_are_usage_errors() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        for args in [&["-S", "-w", "0"][..], &["-S", "-w", "x"], &["-S", "-w", "1", "-c", "0"], &["-S", "-x"]] {
            assert_eq!(run(args, Path::new("/nonexistent/s"), &mut out, &mut err), 2, "{args:?}");
        }
        assert_eq!(run(&["-S"], Path::new("/nonexistent/s"), &mut out, &mut err), 1);
    }

    #[test]
    fn no_executive_is_exit_1_with_a_message() {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let code = run(&["-s"], Path::new("/nonexistent/aisexec.sock"), &mut out, &mut err);
        assert_eq!(code, 1);
        assert!(out.is_empty());
        assert!(String::from_utf8_lossy(&err).contains("cannot connect to the executive"));
        assert_eq!(run(&["-r"], Path::new("/nonexistent/aisexec.sock"), &mut out, &mut err), 1);
        assert!(out.is_empty());
        assert_eq!(run(&["-x"], Path::new("/x"), &mut out, &mut err), 2);
    }
}
