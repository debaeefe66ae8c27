//! systemd's readiness protocol (`Type=notify`), without libsystemd: when
//! `NOTIFY_SOCKET` names a unix datagram socket (a path, or `@name` for
//! an abstract one), `READY=1` is sent once the executive serves clients
//! and `STOPPING=1` when it shuts down. Without the variable nothing is
//! sent. A failure to send is logged, never fatal.

use std::os::unix::net::UnixDatagram;

pub const ENV: &str = "NOTIFY_SOCKET";

/// Sends `state` (`READY=1`, `STOPPING=1` ...) to the socket named by
/// `NOTIFY_SOCKET`, if set. `Ok(false)`: not run under systemd.
pub fn notify(state: &str) -> Result<bool, String> {
    let Some(target) = std::env::var_os(ENV) else { return Ok(false) };
    let target = target.to_string_lossy().into_owned();
    send(&target, state).map(|()| true).map_err(|e| format!("cannot notify systemd at {target}: {e}"))
}

fn send(target: &str, state: &str) -> std::io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    match target.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            sock.send_to_addr(state.as_bytes(), &addr)?;
        }
        None => {
            sock.send_to(state.as_bytes(), target)?;
        }
    }
    Ok(())
}

/// [`notify`], logging a failure.
pub fn tell(state: &str) {
    match notify(state) {
        Ok(true) => crate::log_debug!(Main, "told systemd {state}"),
        Ok(false) => {}
        Err(e) => crate::log_warn!(Main, "{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_reach_a_path_and_an_abstract_socket() {
        let dir = std::env::temp_dir().join(format!("ais-sdnotify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        send(path.to_str().unwrap(), "READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        std::fs::remove_dir_all(&dir).unwrap();

        use std::os::linux::net::SocketAddrExt;
        let name = format!("ais-sdnotify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        send(&format!("@{name}"), "STOPPING=1").unwrap();
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
        // Nobody listening: an error, not a panic.
        assert!(send(dir.join("gone").to_str().unwrap(), "READY=1").is_err());
    }
}
