//! The loop with a test service: requests go through ordering and come
//! back as deliveries; configuration changes and closes reach services.

use super::*;
use crate::ipc_server::AccessPolicy;
use crate::ordering::{ConfigChange, Guarantee, Loopback, NodeId};
use crate::service::{ConnId, RequestError};
use ais_ipc::frame::{read_message, write_message};
use ais_ipc::handshake::{HANDSHAKE_SERVICE, HELLO_ID, Hello, HelloReply, PROTOCOL_VERSION, Role};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

/// What the echo service saw, shared with the test.
#[derive(Default)]
struct Seen {
    config_changes: usize,
    delivered: Vec<(NodeId, Vec<u8>)>,
    closed: Vec<ConnId>,
}

/// Submits every request body for ordering; answers the oldest waiting
/// request when a message is delivered back, and sends a callback.
struct Echo {
    seen: Rc<RefCell<Seen>>,
    waiting: VecDeque<(ConnId, u32)>,
}

impl Service for Echo {
    fn id(&self) -> u32 {
        svc::EVS
    }
    fn name(&self) -> &'static str {
        "echo"
    }
    fn lib_request(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, id: u32, body: &[u8]) -> Result<(), RequestError> {
        if ctx.submit(body, Guarantee::Agreed).is_err() {
            ctx.reply(conn, id, ais_ipc::error::TRY_AGAIN, &[]);
        } else {
            self.waiting.push_back((conn, id));
        }
        Ok(())
    }
    fn deliver(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, payload: &[u8]) {
        self.seen.borrow_mut().delivered.push((sender, payload.to_vec()));
        if let Some((conn, id)) = self.waiting.pop_front() {
            ctx.reply(conn, id, ais_ipc::error::OK, payload);
            ctx.dispatch(conn, 77, payload.to_vec());
        }
    }
    fn config_change(&mut self, _ctx: &mut Ctx<'_>, _change: &ConfigChange) {
        self.seen.borrow_mut().config_changes += 1;
    }
    fn conn_closed(&mut self, _ctx: &mut Ctx<'_>, conn: ConnId) {
        self.waiting.retain(|w| w.0 != conn);
        self.seen.borrow_mut().closed.push(conn);
    }
}

/// A temporary run directory and an executive over a loopback ordering
/// with `services`, listening in it.
struct Rig {
    dir: std::path::PathBuf,
    path: std::path::PathBuf,
    exec: Executive,
    ready: Vec<(u64, u32)>,
}

impl Rig {
    fn start(tag: &str, node: NodeId, service: u32, services: Vec<Box<dyn Service>>) -> Rig {
        let dir = std::env::temp_dir().join(format!("aisexec-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let epoll = Epoll::new().unwrap();
        let server = Server::bind(&path, AccessPolicy::default(), vec![service], &epoll).unwrap();
        // SIGUSR2 only: blocking it in this thread is harmless to the harness.
        let signals = sys::signalfd(&[libc::SIGUSR2]).unwrap();
        let exec = Executive::new(epoll, signals, server, Box::new(Loopback::new(node, "127.0.0.1".into())), services)
            .unwrap();
        Rig { dir, path, exec, ready: Vec::new() }
    }

    /// Runs `n` loop turns of at most `wait` each.
    fn turns(&mut self, n: usize, wait: Duration) {
        for _ in 0..n {
            assert_eq!(self.exec.turn(&mut self.ready, Some(wait)).unwrap(), None);
        }
    }

    /// A client connection of `service`: (request, dispatch) sockets.
    fn connect(&mut self, service: u32) -> (UnixStream, UnixStream) {
        let mut req = UnixStream::connect(&self.path).unwrap();
        req.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let hello = Hello { protocol: PROTOCOL_VERSION, role: Role::Request, service, token: 0 };
        write_message(&mut req, HANDSHAKE_SERVICE, HELLO_ID, &hello.encode()).unwrap();
        self.turns(3, Duration::from_millis(20));
        let token = HelloReply::decode(&read_message(&mut req).unwrap().1).unwrap().token;
        let mut disp = UnixStream::connect(&self.path).unwrap();
        disp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write_message(&mut disp, HANDSHAKE_SERVICE, HELLO_ID, &Hello { role: Role::Dispatch, token, ..hello }.encode())
            .unwrap();
        (req, disp)
    }

    fn stop(mut self) {
        self.exec.shutdown();
        assert!(!self.path.exists());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn request_is_ordered_delivered_and_answered() {
    let seen = Rc::new(RefCell::new(Seen::default()));
    let echo = Box::new(Echo { seen: seen.clone(), waiting: VecDeque::new() });
    let mut rig = Rig::start("loop", 9, svc::EVS, vec![echo]);
    let (mut req, mut disp) = rig.connect(svc::EVS);
    write_message(&mut req, svc::EVS, 5, b"ping").unwrap();
    rig.turns(5, Duration::from_millis(20));

    let (h, body) = read_message(&mut req).unwrap();
    assert_eq!((h.service, h.id), (svc::EVS, 5));
    assert_eq!(body, [&ais_ipc::error::OK.to_le_bytes()[..], b"ping"].concat());
    let (h, body) = read_message(&mut disp).unwrap();
    assert_eq!((h.id, body.as_slice()), (77, &b"ping"[..]));
    {
        let s = seen.borrow();
        assert_eq!(s.config_changes, 1, "the initial configuration reaches services");
        assert_eq!(s.delivered, vec![(9, b"ping".to_vec())]);
    }
    drop((req, disp));
    rig.turns(3, Duration::from_millis(20));
    assert_eq!(seen.borrow().closed.len(), 1, "conn_closed runs when the client goes");
    rig.stop();
}

/// A client that only calls is awaited real-time after its request
/// (`wait_policy`); a turn that sends it callbacks ends that: such a
/// client takes them while it calls, beside the loop.
#[test]
fn callbacks_end_the_wait_for_a_calling_client() {
    let seen = Rc::new(RefCell::new(Seen::default()));
    let echo = Box::new(Echo { seen: seen.clone(), waiting: VecDeque::new() });
    let mut rig = Rig::start("window", 9, svc::EVS, vec![echo]);
    let (mut req, mut disp) = rig.connect(svc::EVS);
    assert!(rig.exec.client_window, "a request (the handshake) asks for a client's window");
    assert!(rig.exec.alone, "a ring of one");
    let before = rig.exec.server.callbacks_sent;
    write_message(&mut req, svc::EVS, 5, b"ping").unwrap();
    rig.turns(5, Duration::from_millis(20));
    assert_eq!(read_message(&mut req).unwrap().0.id, 5);
    assert_eq!(read_message(&mut disp).unwrap().0.id, 77);
    assert_eq!(rig.exec.server.callbacks_sent, before + 1);
    assert!(!rig.exec.client_window, "callbacks went to the client");
    drop((req, disp));
    rig.stop();
}

/// Records sync hook calls and timer firings; sends two sync messages,
/// one per `sync_process` call, to show the loop calls it again.
struct SyncProbe {
    log: Rc<RefCell<Vec<String>>>,
    to_send: u32,
    timer: Option<std::time::Instant>,
}

impl Service for SyncProbe {
    fn id(&self) -> u32 {
        svc::CPG
    }
    fn name(&self) -> &'static str {
        "probe"
    }
    fn lib_request(&mut self, _: &mut Ctx<'_>, _: ConnId, id: u32, _: &[u8]) -> Result<(), RequestError> {
        Err(RequestError::UnknownId(id))
    }
    fn deliver(&mut self, _ctx: &mut Ctx<'_>, _sender: NodeId, payload: &[u8]) {
        self.log.borrow_mut().push(format!("deliver {}", String::from_utf8_lossy(payload)));
    }
    fn config_change(&mut self, _: &mut Ctx<'_>, _: &ConfigChange) {}
    fn conn_closed(&mut self, _: &mut Ctx<'_>, _: ConnId) {}
    fn poll_timeout(&self, _now: crate::service::Now) -> Option<std::time::Instant> {
        self.timer
    }
    fn handle_timeout(&mut self, _ctx: &mut Ctx<'_>) {
        self.timer = None;
        self.log.borrow_mut().push("timer".into());
    }
    fn sync_init(&mut self, _: &mut Ctx<'_>, _: &ConfigChange) {
        self.to_send = 2;
        self.log.borrow_mut().push("init".into());
    }
    fn sync_process(&mut self, ctx: &mut Ctx<'_>) -> SyncStep {
        if self.to_send > 0 {
            ctx.submit(format!("state{}", self.to_send).as_bytes(), Guarantee::Agreed).unwrap();
            self.to_send -= 1;
        }
        if self.to_send == 0 { SyncStep::Done } else { SyncStep::MoreToSend }
    }
    fn sync_activate(&mut self, _: &mut Ctx<'_>) {
        self.log.borrow_mut().push("activate".into());
    }
}

#[test]
fn sync_round_runs_to_activation_and_service_timers_fire() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let timer = Some(std::time::Instant::now() + Duration::from_millis(30));
    let probe = Box::new(SyncProbe { log: log.clone(), to_send: 0, timer });
    let mut rig = Rig::start("sync", 3, svc::CPG, vec![probe]);
    let start = std::time::Instant::now();
    while rig.exec.sync.rounds_done == 0 || log.borrow().iter().all(|l| l != "timer") {
        assert!(start.elapsed() < Duration::from_secs(5), "stuck: {:?}", log.borrow());
        rig.turns(1, Duration::from_millis(10));
    }
    let log = log.borrow();
    let sync: Vec<&str> = log.iter().map(String::as_str).filter(|l| *l != "timer").collect();
    assert_eq!(sync, ["init", "deliver state2", "deliver state1", "activate"]);
    assert!(start.elapsed() >= Duration::from_millis(25), "timer fired early");
    rig.stop();
}

/// A client that multicasts faster than the ordering layer delivers (as
/// the pipelining libraries do): the executive holds it instead of
/// refusing, and every message is answered OK and delivered once, in order.
#[test]
fn a_sender_outpacing_the_queue_is_held_and_loses_nothing() {
    use ais_ipc::evs;
    let mut rig = Rig::start("hold", 9, svc::EVS, vec![Box::new(crate::services::evs::EvsService::new())]);
    let (mut req, mut disp) = rig.connect(svc::EVS);
    let join = evs::Request::Join { groups: vec![[7; evs::GROUP_KEY]] };
    write_message(&mut req, svc::EVS, join.id(), &join.encode()).unwrap();
    rig.turns(5, Duration::from_millis(5));
    let (_, body) = read_message(&mut req).unwrap();
    assert_eq!(body[..4], ais_ipc::error::OK.to_le_bytes());

    // Three times the loopback's queue, written without waiting.
    const N: u32 = 3 * crate::ordering::LOOPBACK_QUEUE_MESSAGES as u32;
    let mut burst = Vec::new();
    for k in 0..N {
        write_message(&mut burst, svc::EVS, evs::MCAST_JOINED, &evs::encode_mcast(1, None, &[&k.to_le_bytes()]))
            .unwrap();
    }
    let mut writer = req.try_clone().unwrap();
    let write = std::thread::spawn(move || std::io::Write::write_all(&mut writer, &burst));
    // Keeps the request channel open until the end: a client that hangs
    // up is closed, deliveries not yet sent included.
    let answers = std::thread::spawn(move || {
        let oks = (0..N).map(|_| read_message(&mut req).map(|(_, b)| b[..4] == ais_ipc::error::OK.to_le_bytes()));
        (oks.collect::<Result<Vec<bool>, _>>(), req)
    });
    let deliveries = std::thread::spawn(move || {
        let mut got = Vec::new();
        while got.len() < N as usize {
            let Ok((h, body)) = read_message(&mut disp) else { break };
            if let Ok(evs::Callback::Deliver { data, .. }) = evs::Callback::decode(h.id, &body) {
                got.push(u32::from_le_bytes(data.try_into().unwrap()));
            }
        }
        got
    });
    let start = std::time::Instant::now();
    while !deliveries.is_finished() && start.elapsed() < Duration::from_secs(20) {
        rig.turns(1, Duration::from_millis(5));
    }
    write.join().unwrap().unwrap();
    let (oks, _req) = answers.join().unwrap();
    assert!(oks.unwrap().iter().all(|ok| *ok), "every multicast answered OK");
    let got = deliveries.join().unwrap();
    let first_wrong = got.iter().enumerate().find(|(i, k)| **k != *i as u32);
    assert!(
        got.len() == N as usize && first_wrong.is_none(),
        "{} of {N} delivered; first out of order: {first_wrong:?}",
        got.len()
    );
    assert!(rig.exec.server().stats.held > 0, "the sender was never held");
    rig.stop();
}

/// A service that only has an id and a name.
struct Named(u32, &'static str);

impl Service for Named {
    fn id(&self) -> u32 {
        self.0
    }
    fn name(&self) -> &'static str {
        self.1
    }
    fn lib_request(&mut self, _: &mut Ctx<'_>, _: ConnId, id: u32, _: &[u8]) -> Result<(), RequestError> {
        Err(RequestError::UnknownId(id))
    }
    fn deliver(&mut self, _: &mut Ctx<'_>, _: NodeId, _: &[u8]) {}
    fn config_change(&mut self, _: &mut Ctx<'_>, _: &ConfigChange) {}
    fn conn_closed(&mut self, _: &mut Ctx<'_>, _: ConnId) {}
}

#[test]
fn a_service_id_taken_twice_or_out_of_range_is_refused_at_startup() {
    let dir = std::env::temp_dir().join(format!("aisexec-ids-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let start = |services: Vec<Box<dyn Service>>| {
        let epoll = Epoll::new().unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let server = Server::bind(&path, AccessPolicy::default(), vec![svc::EVS], &epoll).unwrap();
        let signals = sys::signalfd(&[libc::SIGUSR2]).unwrap();
        let ordering = Box::new(Loopback::new(1, "127.0.0.1".into()));
        Executive::new(epoll, signals, server, ordering, services).err().map(|e| (e.kind(), e.to_string()))
    };
    // Before: the second silently replaced the first, and an id past the
    // table was dropped.
    let twice =
        start(vec![Box::new(Named(svc::EVS, "a")), Box::new(Named(svc::CPG, "b")), Box::new(Named(svc::EVS, "c"))]);
    assert_eq!(twice, Some((std::io::ErrorKind::InvalidInput, format!("services a and c both have id {}", svc::EVS))));
    let beyond = start(vec![Box::new(Named(svc::COUNT, "far"))]);
    let (kind, why) = beyond.expect("refused");
    assert_eq!(kind, std::io::ErrorKind::InvalidInput);
    assert!(why.starts_with(&format!("service far has id {}", svc::COUNT)), "{why}");
    // The executive's own list passes.
    let host = crate::services::clm::LocalIdentity { name: b"h".to_vec(), boot_timestamp: 1 };
    assert_eq!(start(crate::services::all(&crate::config::Config::default(), &host, None)), None);
    let _ = std::fs::remove_dir_all(&dir);
}
