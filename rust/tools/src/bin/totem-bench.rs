//! totem-bench: multicast throughput through running executives (EVS
//! service), per message size, with sequence checks on every receiver.
//!
//! Cluster mode (default): for each node count and secauth mode, starts
//! its own executives in network namespaces joined by a bridge
//! (`ais_tools::netns::Lab`, needs root), measures, stops them and removes
//! the namespaces. Attach mode (`--socket PATH`, repeatable): uses
//! executives that are already running; the first socket's node sends.
//!
//! Usage: totem-bench [--nodes 1,3] [--secauth off,on] [--sizes 1,100,...]
//!        [--seconds 2] [--all-send] [--window N] [--aisexec PATH]
//!        [--socket PATH]... [--keep-logs] [--totem key=value]...
//!        [--transport udp|udpu] [--realtime]
//!
//! Senders send one message per call through the client library's
//! connection code (what a single-threaded libevs application gets: the
//! library pipelines multicasts); `--window N` keeps N raw requests in
//! flight instead, to measure what the executive and protocol sustain.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ais_tools::bench::{self, EvsConn, RoundResult, RoundState};
use ais_tools::cluster::{Cluster, Spec, Stack};

const DEFAULT_SIZES: [usize; 7] = [1, 100, 1024, 4096, 10240, 51200, 102400];

struct Options {
    nodes: Vec<usize>,
    secauth: Vec<bool>,
    sizes: Vec<usize>,
    seconds: f64,
    all_send: bool,
    /// Requests in flight per sender; `None`: one at a time.
    window: Option<usize>,
    aisexec: PathBuf,
    sockets: Vec<PathBuf>,
    keep_logs: bool,
    /// Extra `totem {}` lines (`key: value`) for started clusters.
    totem: Vec<String>,
    /// `udp` (multicast) or `udpu` (unicast to the member list).
    transport: String,
    /// Started executives run with `realtime_priority: yes`.
    realtime: bool,
}

fn list<T>(v: &str, f: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    v.split(',').map(|x| f(x.trim()).ok_or_else(|| format!("bad list item '{x}'"))).collect()
}

fn parse_args() -> Result<Options, String> {
    let exe_dir = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or_default();
    let mut o = Options {
        nodes: vec![1, 3],
        secauth: vec![false, true],
        sizes: DEFAULT_SIZES.to_vec(),
        seconds: 2.0,
        all_send: false,
        window: None,
        aisexec: exe_dir.join("aisexec"),
        sockets: Vec::new(),
        keep_logs: false,
        totem: Vec::new(),
        transport: "udp".into(),
        realtime: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--nodes" => o.nodes = list(&val()?, |x| x.parse().ok().filter(|n| (1..=16).contains(n)))?,
            "--secauth" => {
                o.secauth = list(&val()?, |x| match x {
                    "on" => Some(true),
                    "off" => Some(false),
                    _ => None,
                })?
            }
            "--sizes" => {
                o.sizes = list(&val()?, |x| x.parse().ok().filter(|n| (1..=ais_ipc::evs::MAX_DATA).contains(n)))?
            }
            "--seconds" => o.seconds = val()?.parse().map_err(|_| "bad --seconds")?,
            "--all-send" => o.all_send = true,
            "--window" => {
                let n = val()?.parse().ok().filter(|n| (1..=bench::MAX_WINDOW).contains(n));
                o.window = Some(n.ok_or(format!("--window takes 1..={}", bench::MAX_WINDOW))?);
            }
            "--aisexec" => o.aisexec = val()?.into(),
            "--socket" => o.sockets.push(val()?.into()),
            "--keep-logs" => o.keep_logs = true,
            "--realtime" => o.realtime = true,
            "--transport" => o.transport = ais_tools::cluster::transport_arg(val()?)?,
            "--totem" => o.totem.push(ais_tools::cluster::totem_arg(&val()?)?),
            "-h" | "--help" => {
                println!("{}", USAGE);
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument '{a}'\n{USAGE}")),
        }
    }
    Ok(o)
}

const USAGE: &str = "usage: totem-bench [--nodes 1,3] [--secauth off,on] [--sizes 1,100,1024,...] [--seconds 2] \
                     [--all-send] [--window N] [--aisexec PATH] [--keep-logs] [--totem key=value]... [--transport udp|udpu] [--realtime] | [--socket PATH]...";

/// Starts `nodes` of our executives for a round.
fn start_cluster(o: &Options, nodes: usize, secauth: bool) -> Result<Cluster, String> {
    let tag = format!("b{nodes}{}{}", if secauth { "s" } else { "p" }, if o.transport == "udpu" { "u" } else { "" });
    Cluster::start(&Spec {
        stack: Stack::Ours { aisexec: o.aisexec.clone() },
        nodes,
        secauth,
        transport: o.transport.clone(),
        totem: o.totem.clone(),
        realtime: Some(if o.realtime { "yes" } else { "no" }),
        keep_logs: o.keep_logs,
        tag,
    })
}

/// Connects to every socket and measures every size; prints one row each.
fn measure(o: &Options, sockets: &[PathBuf], label: &str) -> Result<Vec<RoundResult>, String> {
    let mut conns = Vec::new();
    let mut receivers = Vec::new();
    let mut threads = Vec::new();
    for s in sockets {
        let mut c = EvsConn::connect(s).map_err(|e| format!("{}: {e}", s.display()))?;
        let state = Arc::new(Mutex::new(RoundState::default()));
        let dispatch = c.take_dispatch().ok_or("no dispatch channel")?;
        let st = Arc::clone(&state);
        threads.push(std::thread::spawn(move || bench::receive(dispatch, st)));
        receivers.push(state);
        conns.push(c);
    }
    let mut senders: Vec<EvsConn> = if o.all_send { std::mem::take(&mut conns) } else { conns.drain(..1).collect() };
    let mut results = Vec::new();
    let duration = Duration::from_secs_f64(o.seconds);
    for &size in &o.sizes {
        let r = bench::round_with_window(&mut senders, &receivers, size, duration, Duration::from_secs(30), o.window);
        println!(
            "{label:<16} {size:>7} {:>10.0} {:>9.2} {:>9} {:>9} {}",
            r.msgs_per_s,
            r.mb_per_s,
            r.sent,
            r.try_again,
            if r.errors.is_empty() { "ok".to_string() } else { format!("FAILED: {}", r.errors.join("; ")) }
        );
        results.push(r);
    }
    // Closing the connections ends the receiver threads.
    drop(senders);
    drop(conns);
    for t in threads {
        let _ = t.join();
    }
    Ok(results)
}

fn header() {
    println!("{:<16} {:>7} {:>10} {:>9} {:>9} {:>9} check", "cluster", "size", "msg/s", "MB/s", "sent", "try_again");
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("totem-bench: {e}");
            std::process::exit(2);
        }
    };
    let mode = match o.window {
        Some(n) => format!("window of {n} requests in flight"),
        None => "one library call at a time".to_string(),
    };
    println!(
        "# totem-bench: {} s per size, sender{}, {mode}; MB = 10^6 bytes; rates at the slowest receiver",
        o.seconds,
        if o.all_send { "s on every node" } else { " on node 1" }
    );
    header();
    let mut failed = false;
    if !o.sockets.is_empty() {
        match measure(&o, &o.sockets, "attached") {
            Ok(rs) => failed |= rs.iter().any(|r| !r.errors.is_empty()),
            Err(e) => {
                eprintln!("totem-bench: {e}");
                failed = true;
            }
        }
    } else {
        for &nodes in &o.nodes {
            for &secauth in &o.secauth {
                let label = format!(
                    "{nodes} node{} {}",
                    if nodes > 1 { "s" } else { "" },
                    if secauth { "sec" } else { "plain" }
                );
                let cluster = match start_cluster(&o, nodes, secauth) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("totem-bench: {label}: {e}");
                        failed = true;
                        continue;
                    }
                };
                match measure(&o, &cluster.sockets(), &label) {
                    Ok(rs) => failed |= rs.iter().any(|r| !r.errors.is_empty()),
                    Err(e) => {
                        eprintln!("totem-bench: {label}: {e}\n{}", cluster.log(0));
                        failed = true;
                    }
                }
            }
        }
    }
    std::process::exit(if failed { 1 } else { 0 });
}
