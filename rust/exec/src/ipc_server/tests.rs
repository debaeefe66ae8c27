//! The server driven directly (no main loop): behaviours no built-in
//! service can trigger yet, such as callbacks piling up unread.

use super::*;
use ais_ipc::frame::{read_message, write_message};
use std::os::unix::net::UnixStream;

struct Rig {
    dir: PathBuf,
    epoll: Epoll,
    server: Server,
}

impl Rig {
    fn new(tag: &str) -> Rig {
        let dir = std::env::temp_dir().join(format!("aisexec-srv-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let epoll = Epoll::new().unwrap();
        let server = Server::bind(&dir.join("s.sock"), AccessPolicy::default(), vec![ais_ipc::service::CFG], &epoll).unwrap();
        Rig { dir, epoll, server }
    }

    /// Runs one bounded epoll turn.
    fn turn(&mut self) {
        let mut ready = Vec::new();
        self.epoll.wait(&mut ready, 64, 50).unwrap();
        for (key, ev) in ready {
            self.server.handle(&self.epoll, key, ev, Instant::now());
        }
    }

    fn connect(&mut self) -> (UnixStream, UnixStream, ConnId) {
        let path = self.dir.join("s.sock");
        let mut req = UnixStream::connect(&path).unwrap();
        let hello = Hello { protocol: PROTOCOL_VERSION, role: HelloRole::Request, service: ais_ipc::service::CFG, token: 0 };
        write_message(&mut req, HANDSHAKE_SERVICE, HELLO_ID, &hello.encode()).unwrap();
        self.turn();
        self.turn();
        let (_, body) = read_message(&mut req).unwrap();
        let reply = HelloReply::decode(&body).unwrap();
        let mut disp = UnixStream::connect(&path).unwrap();
        let hello = Hello { role: HelloRole::Dispatch, token: reply.token, ..hello };
        write_message(&mut disp, HANDSHAKE_SERVICE, HELLO_ID, &hello.encode()).unwrap();
        let mut opened = None;
        for _ in 0..10 {
            self.turn();
            for ev in self.server.take_events() {
                if let ServerEvent::Opened(info) = ev {
                    opened = Some(info.id);
                }
            }
            if opened.is_some() {
                break;
            }
        }
        (req, disp, opened.expect("connection did not open"))
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn unread_callbacks_past_the_limit_drop_the_connection() {
    let mut rig = Rig::new("slow");
    let (_req, mut disp, conn) = rig.connect();
    let (_req2, _disp2, other) = rig.connect();
    let body = vec![7u8; 64 * 1024];
    let mut sent = 0;
    while rig.server.conn_info(conn).is_some() {
        rig.server.send_dispatch(&rig.epoll, conn, 1, &body);
        sent += body.len();
        assert!(sent < 3 * QUEUE_LIMIT, "never dropped");
    }
    assert!(sent > QUEUE_LIMIT);
    assert_eq!(rig.server.stats.slow_dropped, 1);
    assert!(rig.server.take_events().contains(&ServerEvent::Closed { conn, service: ais_ipc::service::CFG }));
    // The other connection is untouched; the dropped client reads what
    // was sent, then end of file.
    assert!(rig.server.conn_info(other).is_some());
    disp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut frames = 0;
    while read_message(&mut disp).is_ok() {
        frames += 1;
    }
    assert!(frames > 0);
}

#[test]
fn a_callback_reaches_the_dispatch_channel_with_the_connection_service() {
    let mut rig = Rig::new("cb");
    let (_req, mut disp, conn) = rig.connect();
    rig.server.send_dispatch(&rig.epoll, conn, 42, b"hello");
    disp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (h, body) = read_message(&mut disp).unwrap();
    assert_eq!((h.service, h.id, body.as_slice()), (ais_ipc::service::CFG, 42, &b"hello"[..]));
}

#[test]
fn stale_socket_is_replaced_but_other_files_are_not() {
    let rig = Rig::new("stale");
    let path = rig.dir.join("old.sock");
    // A socket file whose listener is gone: stale.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let epoll = Epoll::new().unwrap();
    Server::bind(&path, AccessPolicy::default(), vec![], &epoll).unwrap();
    let file = rig.dir.join("plain");
    std::fs::write(&file, b"x").unwrap();
    assert!(Server::bind(&file, AccessPolicy::default(), vec![], &epoll).is_err());
    assert!(file.exists());
}

#[test]
fn handshakes_that_stall_are_closed_after_the_timeout() {
    let mut rig = Rig::new("stall");
    let path = rig.dir.join("s.sock");
    // One socket never says hello; one request channel never gets its
    // dispatch channel.
    let mut silent = UnixStream::connect(&path).unwrap();
    let mut req = UnixStream::connect(&path).unwrap();
    let hello = Hello { protocol: PROTOCOL_VERSION, role: HelloRole::Request, service: ais_ipc::service::CFG, token: 0 };
    write_message(&mut req, HANDSHAKE_SERVICE, HELLO_ID, &hello.encode()).unwrap();
    rig.turn();
    rig.turn();
    read_message(&mut req).unwrap();
    assert!(rig.server.poll_timeout().is_some());
    rig.server.handle_timeout(&rig.epoll, Instant::now() + HANDSHAKE_TIMEOUT + Duration::from_secs(1));
    assert_eq!(rig.server.stats.handshake_timeouts, 2);
    for s in [&mut silent, &mut req] {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = [0u8; 1];
        assert_eq!(std::io::Read::read(s, &mut b).unwrap(), 0);
    }
    // Never opened, so services hear nothing.
    assert!(rig.server.take_events().is_empty());
}
