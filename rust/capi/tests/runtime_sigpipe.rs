//! Writing to a connection the executive closed gives
//! `SA_AIS_ERR_LIBRARY`, not a `SIGPIPE` that kills the application.
//! Alone in its test binary: it restores the default `SIGPIPE` action
//! (which Rust's runtime sets to "ignore", hiding the problem) for the
//! whole process.

mod runtime_mock;

use std::os::unix::net::UnixListener;
use std::time::Duration;

use ais_capi::error::AisError;
use ais_capi::runtime::Connection;
use ais_ipc::frame;
use ais_ipc::handshake::{HANDSHAKE_SERVICE, HELLO_REPLY_ID, HelloReply};
use runtime_mock::*;

#[test]
fn send_to_a_closed_executive_is_library_not_sigpipe() {
    // SAFETY: setting a signal's disposition to the default.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let dir = temp_dir();
    let path = dir.join("exec.sock");
    let listener = UnixListener::bind(&path).unwrap();
    // An executive that completes the handshake, then closes both sockets.
    let exec = std::thread::spawn(move || {
        let (mut request, _) = listener.accept().unwrap();
        frame::read_message(&mut request).unwrap();
        let reply = HelloReply { error: OK, token: 1 };
        frame::write_message(&mut request, HANDSHAKE_SERVICE, HELLO_REPLY_ID, &reply.encode()).unwrap();
        let (mut dispatch, _) = listener.accept().unwrap();
        frame::read_message(&mut dispatch).unwrap();
    });
    let path2 = path.clone();
    bounded(Duration::from_secs(20), move || {
        let conn = Connection::open_at(&path2, SERVICE).unwrap();
        exec.join().unwrap();
        // Big enough that some of it is written after the peer's close
        // was noticed.
        let body = vec![0u8; 512 * 1024];
        assert_eq!(conn.request(1, &body), Err(AisError::LIBRARY));
        assert_eq!(conn.request(1, b""), Err(AisError::LIBRARY));
    });
    let _ = std::fs::remove_dir_all(dir);
}
