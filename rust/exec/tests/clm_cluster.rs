//! The CLM service on three real executives (127.0.0.1-3, unicast):
//! every node reports the same view number and member table; tracking
//! clients on the survivors get the right callbacks when a node is killed
//! and when it restarts and rejoins; the restarted node adopts the
//! cluster's view numbering. Talks the CLM wire protocol directly (the C
//! library over it is tested by c-tests/clm).
//!
//! Every executive is killed by its guard when the test ends, also on
//! failure; every wait is bounded.

mod common;

use std::time::{Duration, Instant};

use ais_ipc::clm::{self as wire, Node, TrackCallback, TrackReply, TrackStart};
use ais_ipc::frame::{read_message, write_message};
use common::*;

const PORT: u16 = 16445;

fn node_dir(i: u32) -> TempDir {
    let dir = TempDir::new(&format!("clm3-n{i}"));
    let members: String = (1..=3).map(|m| format!("    member {{\n      memberaddr: 127.0.0.{m}\n    }}\n")).collect();
    dir.config(&format!(
        "totem {{\n  version: 2\n  secauth: off\n  transport: udpu\n  token: 1000\n  \
         interface {{\n    ringnumber: 0\n    bindnetaddr: 127.0.0.{i}\n    mcastport: {PORT}\n{members}  }}\n}}\n{QUIET}{POLLING}"
    ));
    dir
}

fn node_id(i: u32) -> u32 {
    // As the executive derives it from its IPv4 address.
    u32::from_le_bytes([127, 0, 0, i as u8])
}

/// A CLM library connection spoken by hand.
struct Clm(Client);

impl Clm {
    /// None while the executive is unreachable or refuses (e.g. syncing).
    fn connect(dir: &TempDir) -> Option<Clm> {
        if !dir.socket().exists() {
            return None;
        }
        std::panic::catch_unwind(|| Clm(Client::connect(&dir.socket(), ais_ipc::service::CLM))).ok()
    }

    fn request(&mut self, id: u32, body: &[u8]) -> std::io::Result<(u32, Vec<u8>)> {
        write_message(&mut self.0.request, ais_ipc::service::CLM, id, body)?;
        let (h, answer) = read_message(&mut self.0.request)?;
        assert_eq!((h.service, h.id), (ais_ipc::service::CLM, id));
        let status = u32::from_le_bytes(answer[..4].try_into().unwrap());
        Ok((status, answer[4..].to_vec()))
    }

    /// The current view (number, table), or None if not available yet.
    fn view(&mut self) -> Option<(u64, Vec<Node>)> {
        let req = TrackStart { flags: wire::TRACK_CURRENT, current_in_reply: true, capacity: u32::MAX };
        let (status, payload) = self.request(wire::TRACK_START, &req.encode()).ok()?;
        if status != ais_ipc::error::OK {
            return None;
        }
        match TrackReply::decode(&payload).unwrap() {
            TrackReply::View(v) => Some((v.view_number, v.items.into_iter().map(|(n, _)| n).collect())),
            other => panic!("unexpected reply {other:?}"),
        }
    }

    fn track(&mut self, flags: u8) {
        let req = TrackStart { flags, current_in_reply: false, capacity: 0 };
        let (status, _) = self.request(wire::TRACK_START, &req.encode()).unwrap();
        assert_eq!(status, ais_ipc::error::OK);
    }

    /// The next track callback, within `limit`.
    fn next_callback(&mut self, limit: Duration) -> Option<TrackCallback> {
        self.0.dispatch.set_read_timeout(Some(limit)).unwrap();
        let (h, body) = read_message(&mut self.0.dispatch).ok()?;
        assert_eq!((h.service, h.id), (ais_ipc::service::CLM, wire::TRACK_CALLBACK));
        Some(TrackCallback::decode(&body).unwrap())
    }
}

fn view_of(dir: &TempDir) -> Option<(u64, Vec<Node>)> {
    Clm::connect(dir)?.view()
}

/// Waits until every node in `dirs` reports the same view with members
/// `want`; returns that view.
fn wait_agreed_view(dirs: &[&TempDir], want: &[u32], limit: Duration, execs: &[&Exec]) -> (u64, Vec<Node>) {
    let start = Instant::now();
    loop {
        let views: Vec<Option<(u64, Vec<Node>)>> = dirs.iter().map(|d| view_of(d)).collect();
        if let Some(Some(first)) = views.first() {
            let ids: Vec<u32> = first.1.iter().map(|n| n.node_id).collect();
            if ids == want && views.iter().all(|v| v.as_ref() == Some(first)) {
                return first.clone();
            }
        }
        if start.elapsed() > limit {
            let seen: Vec<_> = views
                .iter()
                .map(|v| v.as_ref().map(|(n, t)| (*n, t.iter().map(|x| x.node_id).collect::<Vec<_>>())))
                .collect();
            let logs: Vec<String> = execs.iter().map(|e| e.stderr()).collect();
            panic!("no agreed view {want:?} within {limit:?}; seen {seen:?}\nlogs:\n{}", logs.join("\n----\n"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads callbacks until one mentions node `who`; returns it.
fn callback_about(c: &mut Clm, who: u32, limit: Duration) -> TrackCallback {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no callback about node {who:#x} within {limit:?}");
        let cb = c.next_callback(left).unwrap_or_else(|| panic!("no callback about node {who:#x} within {limit:?}"));
        if cb.view.items.iter().any(|(n, _)| n.node_id == who) {
            return cb;
        }
    }
}

fn changes(cb: &TrackCallback) -> Vec<(u32, u32, bool)> {
    cb.view.items.iter().map(|(n, c)| (n.node_id, *c, n.member)).collect()
}

#[test]
fn three_nodes_agree_and_track_kill_and_rejoin() {
    let dirs: Vec<TempDir> = (1..=3).map(node_dir).collect();
    let mut execs: Vec<Exec> = dirs.iter().map(Exec::start).collect();
    let refs: Vec<&TempDir> = dirs.iter().collect();
    let (n1, n2, n3) = (node_id(1), node_id(2), node_id(3));
    let mut all = vec![n1, n2, n3];
    all.sort();
    let mut two = vec![n1, n2];
    two.sort();

    let (view, table) = wait_agreed_view(&refs, &all, Duration::from_secs(15), &execs.iter().collect::<Vec<_>>());
    assert!(view >= 1);
    for n in &table {
        let i = n.node_id.to_le_bytes()[3];
        assert_eq!(n.address, format!("127.0.0.{i}").into_bytes(), "address of {:#x}", n.node_id);
        assert_eq!(n.family, wire::AF_INET);
        assert!(n.member && n.boot_timestamp > 0 && n.initial_view >= 1 && n.initial_view <= view);
        assert!(!n.name.is_empty());
    }

    let mut t1 = Clm::connect(&dirs[0]).unwrap();
    t1.track(wire::TRACK_CHANGES);
    let mut t2 = Clm::connect(&dirs[1]).unwrap();
    t2.track(wire::TRACK_CHANGES_ONLY);

    // kill -9 node 3: both survivors are told it left.
    let killed = Instant::now();
    execs[2].signal(libc::SIGKILL);
    let _ = execs[2].wait_exit(Duration::from_secs(5));
    let limit = Duration::from_secs(10);
    let cb = callback_about(&mut t1, n3, limit);
    println!("LEFT callback {:?} after kill -9 (token 1000 ms)", killed.elapsed());
    let mut want: Vec<(u32, u32, bool)> =
        vec![(n1, wire::NODE_NO_CHANGE, true), (n2, wire::NODE_NO_CHANGE, true), (n3, wire::NODE_LEFT, false)];
    want.sort();
    let mut got = changes(&cb);
    got.sort();
    assert_eq!(got, want);
    assert_eq!(cb.number_of_members, 2);
    let left_view = cb.view.view_number;
    assert!(left_view > view);
    let cb = callback_about(&mut t2, n3, limit);
    assert_eq!(changes(&cb), [(n3, wire::NODE_LEFT, false)]);
    assert_eq!((cb.number_of_members, cb.view.view_number), (2, left_view));
    let (v, _) = wait_agreed_view(&refs[..2], &two, Duration::from_secs(5), &execs.iter().collect::<Vec<_>>());
    assert!(v >= left_view);

    // Restart node 3: it rejoins, the survivors are told, and all three
    // agree on one view numbered after the survivors' views.
    let restarted = Instant::now();
    execs[2] = Exec::start(&dirs[2]);
    let limit = Duration::from_secs(15);
    let cb = callback_about(&mut t1, n3, limit);
    println!("JOINED callback {:?} after the restart", restarted.elapsed());
    let mut want: Vec<(u32, u32, bool)> =
        vec![(n1, wire::NODE_NO_CHANGE, true), (n2, wire::NODE_NO_CHANGE, true), (n3, wire::NODE_JOINED, true)];
    want.sort();
    let mut got = changes(&cb);
    got.sort();
    assert_eq!(got, want);
    assert_eq!(cb.number_of_members, 3);
    let cb2 = callback_about(&mut t2, n3, limit);
    assert_eq!(changes(&cb2), [(n3, wire::NODE_JOINED, true)]);
    assert_eq!(cb2.view.view_number, cb.view.view_number);
    let (rejoined, table) = wait_agreed_view(&refs, &all, Duration::from_secs(10), &execs.iter().collect::<Vec<_>>());
    assert!(rejoined > left_view, "view {rejoined} after {left_view}");
    let node3 = table.iter().find(|n| n.node_id == n3).unwrap();
    assert!(node3.initial_view > left_view, "the restarted node is new in view {}", node3.initial_view);
    let node1 = table.iter().find(|n| n.node_id == n1).unwrap();
    assert!(node1.initial_view <= view, "node 1 keeps its initial view");
}
