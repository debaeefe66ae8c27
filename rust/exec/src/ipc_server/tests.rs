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
        Rig::with_policy(tag, AccessPolicy::default())
    }

    fn with_policy(tag: &str, policy: AccessPolicy) -> Rig {
        let dir = std::env::temp_dir().join(format!("aisexec-srv-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let epoll = Epoll::new().unwrap();
        let server = Server::bind(&dir.join("s.sock"), policy, vec![ais_ipc::service::CFG], &epoll).unwrap();
        Rig { dir, epoll, server }
    }

    /// Runs one bounded epoll turn.
    fn turn(&mut self) {
        let mut ready = Vec::new();
        self.epoll.wait(&mut ready, 64, 50).unwrap();
        for (key, ev) in ready {
            self.server.handle(&self.epoll, key, ev, Instant::now());
        }
        self.server.flush_pending(&self.epoll);
    }

    fn connect(&mut self) -> (UnixStream, UnixStream, ConnId) {
        let path = self.dir.join("s.sock");
        let mut req = UnixStream::connect(&path).unwrap();
        let hello =
            Hello { protocol: PROTOCOL_VERSION, role: HelloRole::Request, service: ais_ipc::service::CFG, token: 0 };
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

/// Queues `bytes` of callbacks on `conn` (whose client does not read),
/// flushing at the end as a main-loop turn does.
fn pile_up(rig: &mut Rig, conn: ConnId, bytes: usize) {
    let body = vec![7u8; 64 * 1024];
    for _ in 0..bytes / body.len() {
        rig.server.send_dispatch(&rig.epoll, conn, 1, &body);
    }
    rig.server.flush_pending(&rig.epoll);
}

#[test]
fn past_the_global_budget_the_connections_with_most_unread_are_dropped() {
    const MIB: usize = 1 << 20;
    let mut policy = AccessPolicy::default();
    policy.limits.unread_budget = 3 * MIB;
    let mut rig = Rig::with_policy("budget", policy);
    let (_r1, _d1, small) = rig.connect();
    let (_r2, _d2, middle) = rig.connect();
    let (_r3, _d3, large) = rig.connect();
    pile_up(&mut rig, small, MIB);
    pile_up(&mut rig, middle, 2 * MIB);
    // Under the budget so far (part sits in the kernel's socket buffers).
    assert_eq!(rig.server.stats.slow_dropped, 0);
    assert!(rig.server.backlog.total() < 3 * MIB);
    pile_up(&mut rig, large, 3 * MIB);
    // Over it: the largest goes, the others stay.
    assert_eq!(rig.server.stats.slow_dropped, 1);
    assert!(rig.server.conn_info(large).is_none());
    assert!(rig.server.conn_info(small).is_some() && rig.server.conn_info(middle).is_some());
    assert!(rig.server.backlog.total() <= 3 * MIB);
    // More for the middle one: now it is the largest and goes.
    pile_up(&mut rig, middle, 2 * MIB);
    assert_eq!(rig.server.stats.slow_dropped, 2);
    assert!(rig.server.conn_info(middle).is_none() && rig.server.conn_info(small).is_some());
}

#[test]
fn a_callback_reaches_the_dispatch_channel_with_the_connection_service() {
    let mut rig = Rig::new("cb");
    let (_req, mut disp, conn) = rig.connect();
    rig.server.send_dispatch(&rig.epoll, conn, 42, b"hello");
    rig.server.flush_pending(&rig.epoll);
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
    let hello =
        Hello { protocol: PROTOCOL_VERSION, role: HelloRole::Request, service: ais_ipc::service::CFG, token: 0 };
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

/// Whether a frame is waiting on `s`, without blocking.
fn readable(s: &UnixStream) -> bool {
    let probe = Epoll::new().unwrap();
    probe.add(s.as_raw_fd(), 1, crate::sys::IN).unwrap();
    let mut ready = Vec::new();
    probe.wait(&mut ready, 1, 0).unwrap();
    !ready.is_empty()
}

#[test]
fn output_is_written_at_the_flush_in_order_and_per_connection_in_send_order() {
    let mut rig = Rig::new("batch");
    let (mut req, mut disp, conn) = rig.connect();
    for id in 1..=50 {
        rig.server.send_dispatch(&rig.epoll, conn, id, &[id as u8; 10]);
    }
    assert!(!readable(&disp), "callbacks wait for the end of the turn");
    rig.server.flush_pending(&rig.epoll);
    disp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for id in 1..=50 {
        let (h, body) = read_message(&mut disp).unwrap();
        assert_eq!((h.id, body), (id, vec![id as u8; 10]));
    }
    // A reply after a callback: the callback is written first, so a client
    // that has the reply also finds the callback waiting.
    rig.server.send_dispatch(&rig.epoll, conn, 7, b"callback");
    rig.server.send_reply(&rig.epoll, conn, 8, b"reply");
    assert!(readable(&disp) && !readable(&req));
    // And the other way round.
    rig.server.send_dispatch(&rig.epoll, conn, 9, b"callback");
    assert!(readable(&req));
    rig.server.flush_pending(&rig.epoll);
    req.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(read_message(&mut req).unwrap().0.id, 8);
    assert_eq!(read_message(&mut disp).unwrap().0.id, 7);
    assert_eq!(read_message(&mut disp).unwrap().0.id, 9);
}

#[test]
fn queued_output_is_sent_before_a_connection_is_closed() {
    let mut rig = Rig::new("close");
    let (mut req, mut disp, conn) = rig.connect();
    rig.server.send_dispatch(&rig.epoll, conn, 3, b"last callback");
    rig.server.send_reply(&rig.epoll, conn, 4, b"last reply");
    rig.server.close_conn(conn);
    rig.server.flush_pending(&rig.epoll);
    for (s, id) in [(&mut disp, 3), (&mut req, 4)] {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(read_message(s).unwrap().0.id, id);
        assert!(read_message(s).is_err(), "then end of file");
    }
}

/// Request ids the server handed over since the last call.
fn request_ids(rig: &mut Rig) -> Vec<u32> {
    rig.server
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            ServerEvent::Request { id, .. } => Some(id),
            _ => None,
        })
        .collect()
}

#[test]
fn a_held_connection_is_not_read_until_released_and_a_hangup_still_hands_over_its_requests() {
    let mut rig = Rig::new("hold");
    let (mut req, _disp, conn) = rig.connect();
    write_message(&mut req, ais_ipc::service::CFG, 1, b"a").unwrap();
    rig.turn();
    assert_eq!(request_ids(&mut rig), vec![1]);
    rig.server.hold(&rig.epoll, conn);
    write_message(&mut req, ais_ipc::service::CFG, 2, b"b").unwrap();
    write_message(&mut req, ais_ipc::service::CFG, 3, b"c").unwrap();
    for _ in 0..3 {
        rig.turn();
    }
    assert_eq!(request_ids(&mut rig), Vec::<u32>::new(), "held: not read");
    assert!(rig.server.release_held(&rig.epoll, Instant::now()));
    assert!(!rig.server.release_held(&rig.epoll, Instant::now()), "released once");
    rig.turn();
    assert_eq!(request_ids(&mut rig), vec![2, 3]);
    // Held again; the client sends more and exits: its requests are
    // handed over, then the connection closes.
    rig.server.hold(&rig.epoll, conn);
    let mut burst = Vec::new();
    for id in 4..100u32 {
        write_message(&mut burst, ais_ipc::service::CFG, id, &[0; 512]).unwrap();
    }
    std::io::Write::write_all(&mut req, &burst).unwrap();
    // The dispatch channel goes first: what was sent is still handed over.
    drop(_disp);
    rig.turn();
    drop(req);
    let mut ids = Vec::new();
    let mut closed = false;
    for _ in 0..10 {
        rig.turn();
        for e in rig.server.take_events() {
            match e {
                ServerEvent::Request { id, .. } => ids.push(id),
                ServerEvent::Closed { conn: c, .. } if c == conn => closed = true,
                _ => {}
            }
        }
    }
    assert_eq!(ids, (4..100).collect::<Vec<_>>());
    assert!(closed);
}

#[test]
fn queues_count_what_each_client_has_not_read() {
    let mut rig = Rig::new("queues");
    let (_req, mut disp, slow) = rig.connect();
    let (_req2, _disp2, idle) = rig.connect();
    let q = |rig: &Rig, conn: ConnId| rig.server.queues().into_iter().find(|q| q.info.id == conn).unwrap();
    assert_eq!((q(&rig, slow).callbacks, q(&rig, slow).unread_bytes), (0, 0));
    // Callbacks the client does not read: first in the socket buffer
    // (counted by the kernel), then queued here frame by frame.
    rig.server.send_dispatch(&rig.epoll, slow, 1, b"small");
    rig.server.flush_pending(&rig.epoll);
    let one = q(&rig, slow);
    assert_eq!(one.callbacks, 0, "sent to the socket");
    assert!(one.unread_bytes >= 5, "{one:?}");
    pile_up(&mut rig, slow, 2 << 20);
    let many = q(&rig, slow);
    assert!(many.callbacks > 0 && many.unread_bytes > 2 << 20, "{many:?}");
    assert_eq!(many.responses, 0);
    assert_eq!((q(&rig, idle).callbacks, q(&rig, idle).unread_bytes), (0, 0), "the other client");
    assert_eq!(rig.server.queues().iter().map(|q| q.info.id).collect::<Vec<_>>(), vec![slow, idle]);
    // The client reads everything (in a thread: a frame may arrive in
    // parts, the rest written by a later turn): nothing waits any more.
    let total = 1 + (2 << 20) / (64 * 1024);
    disp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // (The thread hands the socket back: closing it would close the
    // connection.)
    let reader = std::thread::spawn(move || ((0..total).all(|_| read_message(&mut disp).is_ok()), disp));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !reader.is_finished() && Instant::now() < deadline {
        rig.turn();
    }
    let (read_all, _disp) = reader.join().unwrap();
    assert!(read_all, "the client read every callback");
    assert_eq!((q(&rig, slow).callbacks, q(&rig, slow).unread_bytes), (0, 0));
}
