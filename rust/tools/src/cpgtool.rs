//! `ais-cpgtool`: lists the closed process groups of the cluster and their
//! members, as the local executive knows them (the binary is a thin
//! wrapper over [`run`], so tests can drive it too).
//!
//! Output (stable, for scripts): one `group: <name>` line per group, then
//! one `  member: node <id> pid <pid>` line per member; bytes of a name
//! that are not printable ASCII are written `\xNN`. Exit 0 on success; 1
//! if the executive cannot be reached or answers an error; 2 on bad usage.

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use ais_ipc::cpg::{GroupListing, LIST_GROUPS, decode_group_list};
use ais_ipc::frame::{read_message, write_message};
use ais_ipc::handshake::{HANDSHAKE_SERVICE, HELLO_ID, HELLO_REPLY_ID, Hello, HelloReply, PROTOCOL_VERSION, Role};
use ais_ipc::{error, service};

pub const USAGE: &str =
    "usage: ais-cpgtool [-l]\n  -l  list the groups and their members (the default)\n  -h  print this help\n";
const TIMEOUT: Duration = Duration::from_secs(10);

/// One channel of a CPG connection, hello done; returns the token.
fn open_channel(path: &Path, role: Role, token: u64) -> Result<(UnixStream, u64), String> {
    let mut s = UnixStream::connect(path)
        .map_err(|e| format!("cannot connect to the executive at {}: {e} (is aisexec running?)", path.display()))?;
    s.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    let hello = Hello { protocol: PROTOCOL_VERSION, role, service: service::CPG, token };
    write_message(&mut s, HANDSHAKE_SERVICE, HELLO_ID, &hello.encode())
        .map_err(|e| format!("cannot say hello: {e}"))?;
    if role == Role::Dispatch {
        return Ok((s, token));
    }
    let (header, body) = read_message(&mut s).map_err(|e| format!("no answer from the executive: {e}"))?;
    if header.service != HANDSHAKE_SERVICE || header.id != HELLO_REPLY_ID {
        return Err("unexpected answer to hello".into());
    }
    let reply = HelloReply::decode(&body).map_err(|e| format!("bad hello reply: {e}"))?;
    if reply.error != error::OK {
        return Err(format!("the executive refused the connection (error {})", reply.error));
    }
    Ok((s, reply.token))
}

/// Asks the executive at `path` for every group: `(truncated, groups)`.
pub fn list(path: &Path) -> Result<(bool, Vec<GroupListing>), String> {
    let (mut req, token) = open_channel(path, Role::Request, 0)?;
    let (_dispatch, _) = open_channel(path, Role::Dispatch, token)?;
    write_message(&mut req, service::CPG, LIST_GROUPS, &[]).map_err(|e| format!("cannot send request: {e}"))?;
    let (header, body) = read_message(&mut req).map_err(|e| format!("no answer from the executive: {e}"))?;
    if header.service != service::CPG || header.id != LIST_GROUPS {
        return Err("unexpected answer to the group list request".into());
    }
    let (status, rest) = body.split_first_chunk::<4>().ok_or("short answer")?;
    let status = u32::from_le_bytes(*status);
    if status != error::OK {
        return Err(format!("the group list request failed (error {status})"));
    }
    decode_group_list(rest).map_err(|e| format!("malformed group list: {e}"))
}

/// A group name for a terminal: printable ASCII as is, other bytes `\xNN`.
pub fn printable(name: &[u8]) -> String {
    let mut s = String::new();
    for &b in name {
        if b.is_ascii_graphic() && b != b'\\' || b == b' ' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

pub fn print_groups(truncated: bool, groups: &[GroupListing], out: &mut impl Write) -> io::Result<()> {
    for (name, members) in groups {
        writeln!(out, "group: {}", printable(name))?;
        for (node, pid) in members {
            writeln!(out, "  member: node {node} pid {pid}")?;
        }
    }
    if truncated {
        writeln!(out, "(list truncated)")?;
    }
    Ok(())
}

/// Runs the tool with `args` (without the program name) against the
/// executive socket at `socket`; returns the exit code.
pub fn run(args: &[&str], socket: &Path, out: &mut impl Write, err: &mut impl Write) -> i32 {
    match args {
        [] | ["-l"] => match list(socket) {
            Ok((truncated, groups)) => {
                if print_groups(truncated, &groups, out).is_ok() {
                    0
                } else {
                    1
                }
            }
            Err(e) => {
                let _ = writeln!(err, "ais-cpgtool: {e}");
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

    #[test]
    fn output_format_is_stable() {
        let groups = vec![(b"web tier".to_vec(), vec![(1, 100), (2, 200)]), (vec![b'a', 0, b'\\'], vec![])];
        let mut out = Vec::new();
        print_groups(false, &groups, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "group: web tier\n  member: node 1 pid 100\n  member: node 2 pid 200\ngroup: a\\x00\\x5c\n"
        );
    }

    #[test]
    fn usage_and_no_executive() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(&["-x"], Path::new("/nonexistent/sock"), &mut out, &mut err), 2);
        assert_eq!(run(&["-h"], Path::new("/nonexistent/sock"), &mut out, &mut err), 0);
        let mut err = Vec::new();
        assert_eq!(run(&[], Path::new("/nonexistent/sock"), &mut out, &mut err), 1);
        assert!(String::from_utf8_lossy(&err).contains("cannot connect"));
    }
}
