//! The optional Prometheus endpoint (`aisexec { metrics: 127.0.0.1:9405 }`,
//! off by default): `GET /metrics` answers the live statistics in the
//! Prometheus text format.
//!
//! One small thread owns the listener and only moves bytes; it never
//! touches service state. It asks the main loop for a snapshot by raising
//! [`Shared::wanted`] and writing to [`Shared::wake_fd`], an eventfd in
//! the loop's epoll set (so an idle loop answers at once, not at its next
//! timer); the loop hands one over through [`Shared::publish`] and never
//! waits for this thread. A scrape is served with the newest snapshot
//! within [`FRESH_WAIT`].
//! Connections are served one at a time, each bounded by [`IO_TIMEOUT`] and
//! a request of at most [`MAX_REQUEST`] bytes.
//!
//! Names: `totem.ring0.retransmitted` becomes
//! `ais_totem_retransmitted_total{ring="0"}`, `service.ckpt.checkpoints`
//! `ais_service_checkpoints{service="ckpt"}`,
//! `ipc.conn7.callbacks_queued` `ais_ipc_conn_callbacks_queued{conn="7"}`:
//! dots become underscores, a `ringN` / `interfaceN` / `connN` part and a
//! service name become labels, counters end in `_total`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use ais_ipc::cfg::{Stat, StatKind};

/// How long a scrape waits for a fresh snapshot before serving the last.
pub const FRESH_WAIT: Duration = Duration::from_millis(1500);
/// Read and write timeout of one scrape connection.
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest request head read.
pub const MAX_REQUEST: usize = 8192;

/// What the thread and the main loop share.
pub struct Shared {
    /// A scrape is waiting for a snapshot.
    wanted: AtomicBool,
    /// Readable when `wanted` was raised (an eventfd).
    wake: OwnedFd,
    /// The newest snapshot and its generation.
    snapshot: Mutex<(u64, Vec<Stat>)>,
    fresh: Condvar,
}

impl Shared {
    fn new() -> io::Result<Shared> {
        Ok(Shared {
            wanted: AtomicBool::new(false),
            wake: crate::sys::eventfd()?,
            snapshot: Mutex::default(),
            fresh: Condvar::new(),
        })
    }

    /// The fd the main loop watches (readable: a scrape waits; empty it
    /// with `sys::drain_wakes`).
    pub fn wake_fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    /// Whether a scrape waits for a snapshot (clears the request).
    pub fn take_wanted(&self) -> bool {
        self.wanted.load(Relaxed) && self.wanted.swap(false, Relaxed)
    }

    /// The main loop hands over a snapshot.
    pub fn publish(&self, stats: Vec<Stat>) {
        if let Ok(mut g) = self.snapshot.lock() {
            g.0 += 1;
            g.1 = stats;
        }
        self.fresh.notify_all();
    }

    /// Asks for a fresh snapshot and waits for it (at most
    /// [`FRESH_WAIT`]); the previous one if none came.
    fn fetch(&self) -> Vec<Stat> {
        let Ok(g) = self.snapshot.lock() else { return Vec::new() };
        let seen = g.0;
        self.wanted.store(true, Relaxed);
        crate::sys::wake(&self.wake);
        match self.fresh.wait_timeout_while(g, FRESH_WAIT, |s| s.0 == seen) {
            Ok((g, _)) => g.1.clone(),
            Err(_) => Vec::new(),
        }
    }
}

/// Binds `addr` and starts the serving thread.
pub fn start(addr: SocketAddr) -> Result<Arc<Shared>, String> {
    let listener = TcpListener::bind(addr)
        .map_err(|e| format!("metrics: cannot listen on {} port {}: {e}", addr.ip(), addr.port()))?;
    let shared = Arc::new(Shared::new().map_err(|e| format!("metrics: cannot create its wake fd: {e}"))?);
    let theirs = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || serve(listener, &theirs))
        .map_err(|e| format!("metrics: cannot start its thread: {e}"))?;
    Ok(shared)
}

fn serve(listener: TcpListener, shared: &Shared) {
    for conn in listener.incoming() {
        match conn {
            Ok(s) => {
                if let Err(e) = answer(s, shared) {
                    crate::log_limited!(Debug, Main, "metrics: a scrape failed: {e}");
                }
            }
            // EMFILE and the like: do not spin.
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn answer(mut s: TcpStream, shared: &Shared) -> io::Result<()> {
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_REQUEST {
            return respond(&mut s, "431 Request Header Fields Too Large", "request too large\n");
        }
    }
    let line = head.split(|b| *b == b'\r' || *b == b'\n').next().unwrap_or_default();
    let mut parts = line.split(|b| *b == b' ');
    let (method, path) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    match (method, path) {
        (b"GET", b"/metrics") => respond(&mut s, "200 OK", &render(&shared.fetch())),
        (b"GET", _) => respond(&mut s, "404 Not Found", "only /metrics is served here\n"),
        _ => respond(&mut s, "405 Method Not Allowed", "only GET\n"),
    }
}

fn respond(s: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body.as_bytes())
}

/// A statistic's Prometheus name and labels.
pub fn prometheus_name(stat: &Stat) -> (String, Vec<(&'static str, String)>) {
    let mut labels = Vec::new();
    let mut parts = Vec::new();
    let mut it = stat.name.split('.').peekable();
    if it.peek() == Some(&"service") {
        parts.push("service");
        it.next();
        if let Some(name) = it.next() {
            labels.push(("service", name.to_string()));
        }
    }
    for p in it {
        let numbered = |prefix: &'static str| {
            p.strip_prefix(prefix)
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .map(|n| (prefix, n))
        };
        match numbered("ring").or_else(|| numbered("interface")) {
            Some((label, n)) => labels.push((label, n.to_string())),
            // A connection's gauges keep the word, apart from the totals.
            None => match numbered("conn") {
                Some((label, n)) => {
                    labels.push((label, n.to_string()));
                    parts.push(label);
                }
                None => parts.push(p),
            },
        }
    }
    let mut name = format!("ais_{}", parts.join("_"));
    name.retain(|c| c.is_ascii_alphanumeric() || c == '_');
    if stat.kind == StatKind::Counter {
        name.push_str("_total");
    }
    (name, labels)
}

/// The Prometheus text format: one `# TYPE` line per metric, its samples
/// together.
pub fn render(stats: &[Stat]) -> String {
    let mut order: Vec<String> = Vec::new();
    let mut groups: std::collections::HashMap<String, (StatKind, Vec<String>)> = Default::default();
    for s in stats {
        let (name, labels) = prometheus_name(s);
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        let sample = match labels.is_empty() {
            true => format!("{name} {}", s.value),
            false => format!("{name}{{{}}} {}", labels.join(","), s.value),
        };
        groups
            .entry(name.clone())
            .or_insert_with(|| {
                order.push(name);
                (s.kind, Vec::new())
            })
            .1
            .push(sample);
    }
    let mut out = String::new();
    for name in order {
        let (kind, samples) = &groups[&name];
        let kind = if *kind == StatKind::Counter { "counter" } else { "gauge" };
        out.push_str(&format!("# TYPE {name} {kind}\n"));
        for s in samples {
            out.push_str(s);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels() {
        let n = |s: Stat| {
            let (name, labels) = prometheus_name(&s);
            (name, labels.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>())
        };
        assert_eq!(
            n(Stat::counter("totem.ring0.retransmitted", 1)),
            ("ais_totem_retransmitted_total".into(), vec!["ring=0".into()])
        );
        assert_eq!(
            n(Stat::gauge("totem.interface1.faulty", 1)),
            ("ais_totem_faulty".into(), vec!["interface=1".into()])
        );
        assert_eq!(
            n(Stat::gauge("service.ckpt.checkpoints", 1)),
            ("ais_service_checkpoints".into(), vec!["service=ckpt".into()])
        );
        assert_eq!(n(Stat::counter("ipc.accepted", 1)), ("ais_ipc_accepted_total".into(), vec![]));
        assert_eq!(
            n(Stat::gauge("ipc.conn12.callbacks_queued", 1)),
            ("ais_ipc_conn_callbacks_queued".into(), vec!["conn=12".into()])
        );
        assert_eq!(n(Stat::gauge("ipc.callbacks_queued", 1)), ("ais_ipc_callbacks_queued".into(), vec![]));
        assert_eq!(
            n(Stat::counter("totem.ring0.malformed.short", 1)),
            ("ais_totem_malformed_short_total".into(), vec!["ring=0".into()])
        );
    }

    #[test]
    fn render_groups_samples_under_one_type_line() {
        let text = render(&[
            Stat::counter("service.ckpt.requests", 3),
            Stat::gauge("ipc.connections", 2),
            Stat::counter("service.evt.requests", 5),
        ]);
        assert_eq!(
            text,
            "# TYPE ais_service_requests_total counter\n\
             ais_service_requests_total{service=\"ckpt\"} 3\n\
             ais_service_requests_total{service=\"evt\"} 5\n\
             # TYPE ais_ipc_connections gauge\n\
             ais_ipc_connections 2\n"
        );
    }

    #[test]
    fn scrape_waits_for_a_published_snapshot() {
        let shared = start("127.0.0.1:0".parse().unwrap());
        // The handshake between a scrape and the main loop.
        let shared = shared.unwrap();
        assert!(!shared.take_wanted());
        let s2 = Arc::clone(&shared);
        let t = std::thread::spawn(move || s2.fetch());
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !shared.take_wanted() {
            assert!(std::time::Instant::now() < deadline, "no request for a snapshot");
            std::thread::sleep(Duration::from_millis(5));
        }
        shared.publish(vec![Stat::gauge("cluster.members", 3)]);
        assert_eq!(t.join().unwrap(), vec![Stat::gauge("cluster.members", 3)]);
    }

    #[test]
    fn a_port_in_use_is_named() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let e = start(addr).err().unwrap();
        assert!(e.contains(&format!("127.0.0.1 port {}", addr.port())), "{e}");
    }
}
