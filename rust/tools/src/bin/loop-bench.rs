//! loop-bench: the request/answer loops of real programs (one call, wait
//! for the answer, call again) through running executives, on clusters it
//! starts in network namespaces (`ais_tools::netns::Lab`, needs root), with
//! the client on node 1.
//!
//! The loops are one C program, `c-tests/bench/ais_loops.c`, written
//! against the classic openais 0.80 API; built against our libraries it
//! measures ours, built against the classic ones (with `--classic-tree`,
//! a built openais 0.80.6 source tree, and `--classic-program`) it
//! measures classic executives started the same way. Rounds alternate
//! the stacks, so both see the same machine load.
//!
//! `--external NAME=OURS[,CLASSIC]` also runs a program of the classic
//! kind that prints `... <rate> TP/s ...` lines (openais' `cpgbench`,
//! `ckptbench`, built against each stack) after the loops, and takes its
//! first figure; it is stopped then (those run for minutes).
//!
//! Usage: loop-bench --program PATH [--classic-tree DIR --classic-program PATH]
//!        [--nodes 1,3] [--loops cpg,evs,...] [--seconds 3] [--rounds 1]
//!        [--external NAME=OURS[,CLASSIC]]... [--aisexec PATH]
//!        [--totem key=value]... [--realtime | --both-policies | --policies no,yes,auto] [--keep-logs]
//!        [--serve | --serve-classic]
//!
//! Our executives run as they do by default (`realtime_priority: auto`:
//! normal processes, sleeping under SCHED_RR while other work holds the
//! CPU); `--realtime` runs them with
//! `realtime_priority: yes` (SCHED_RR while they sleep, as the classic
//! ones always run), `--both-policies` runs both kinds in every round
//! (`ours` and `ours-rt`), `--policies no,yes,auto` a cluster of ours
//! per value (`ours-no`, `ours-rt`, `ours-auto`).
//!
//! `--serve` runs no loop: it starts the first stack's cluster of the
//! first `--nodes` count, prints each node's namespace, executive pid and
//! `COROSYNC_RUN_DIR`, and keeps it until its standard input closes (for
//! `strace`, `perf` and hand-run clients); `--serve-classic` the same
//! with the classic stack (needs `--classic-tree`).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ais_tools::cluster::{Cluster, Spec, Stack};

const LOOPS: [&str; 8] =
    ["cpg", "evs", "ckpt-write", "ckpt-read", "evt-publish", "clm-node-get", "lck-lock", "msg-send"];
/// Loops the classic stack does not run, here: openais 0.80.6's
/// `saLckResourceLock` answers `SA_AIS_ERR_SECURITY` (its own `testlck`
/// hangs) and its `saMsgMessageSend` never returns. Ours only.
const CLASSIC_LACKS: [&str; 2] = ["lck-lock", "msg-send"];

struct Options {
    nodes: Vec<usize>,
    loops: Vec<String>,
    seconds: f64,
    rounds: usize,
    program: Option<PathBuf>,
    aisexec: PathBuf,
    classic: Option<(PathBuf, PathBuf)>,
    totem: Vec<String>,
    realtime: bool,
    both_policies: bool,
    /// `--policies`: a stack of ours per `realtime_priority` value.
    policies: Vec<(&'static str, &'static str)>,
    keep_logs: bool,
    serve: bool,
    serve_classic: bool,
    /// Programs printing `TP/s` lines: name, ours, classic.
    externals: Vec<(String, PathBuf, Option<PathBuf>)>,
}

const USAGE: &str = "usage: loop-bench --program PATH [--classic-tree DIR --classic-program PATH] [--nodes 1,3] \
                     [--loops cpg,evs,ckpt-write,ckpt-read,evt-publish,clm-node-get] [--seconds 3] [--rounds 1] \
                     [--external NAME=OURS[,CLASSIC]]... [--aisexec PATH] [--totem key=value]... [--realtime | --both-policies | --policies no,yes,auto] \
                     [--keep-logs] [--serve | --serve-classic]";

fn parse_args() -> Result<Options, String> {
    let exe_dir = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or_default();
    let mut o = Options {
        nodes: vec![1, 3],
        loops: LOOPS.iter().map(|s| s.to_string()).collect(),
        seconds: 3.0,
        rounds: 1,
        program: None,
        aisexec: exe_dir.join("aisexec"),
        classic: None,
        totem: Vec::new(),
        realtime: false,
        both_policies: false,
        policies: Vec::new(),
        keep_logs: false,
        serve: false,
        serve_classic: false,
        externals: Vec::new(),
    };
    let (mut tree, mut classic_program) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--nodes" => {
                o.nodes = val()?
                    .split(',')
                    .map(|x| x.trim().parse().ok().filter(|n| (1..=16).contains(n)).ok_or("bad --nodes"))
                    .collect::<Result<_, _>>()?
            }
            "--loops" => {
                o.loops = val()?.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect();
                if let Some(bad) = o.loops.iter().find(|l| !LOOPS.contains(&l.as_str())) {
                    return Err(format!("unknown loop '{bad}' (known: {})", LOOPS.join(",")));
                }
            }
            "--seconds" => o.seconds = val()?.parse().map_err(|_| "bad --seconds")?,
            "--rounds" => o.rounds = val()?.parse().ok().filter(|n| *n > 0).ok_or("bad --rounds")?,
            "--program" => o.program = Some(val()?.into()),
            "--aisexec" => o.aisexec = val()?.into(),
            "--classic-tree" => tree = Some(PathBuf::from(val()?)),
            "--classic-program" => classic_program = Some(PathBuf::from(val()?)),
            "--totem" => o.totem.push(ais_tools::cluster::totem_arg(&val()?)?),
            "--realtime" => o.realtime = true,
            "--both-policies" => o.both_policies = true,
            "--policies" => {
                for p in val()?.split(',') {
                    o.policies.push(match p {
                        "no" => ("ours-no", "no"),
                        "yes" => ("ours-rt", "yes"),
                        "auto" => ("ours-auto", "auto"),
                        _ => return Err(format!("--policies: {p}: expected no, yes or auto")),
                    });
                }
            }
            "--keep-logs" => o.keep_logs = true,
            "--serve" => o.serve = true,
            "--serve-classic" => (o.serve, o.serve_classic) = (true, true),
            "--external" => {
                let v = val()?;
                let (name, paths) = v.split_once('=').ok_or("--external takes NAME=OURS[,CLASSIC]")?;
                let (ours, classic) = match paths.split_once(',') {
                    Some((a, b)) => (a, Some(PathBuf::from(b))),
                    None => (paths, None),
                };
                o.externals.push((name.to_string(), ours.into(), classic));
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument '{a}'\n{USAGE}")),
        }
    }
    o.classic = match (tree, classic_program) {
        (Some(t), Some(p)) => Some((t, p)),
        (None, None) => None,
        _ => return Err("--classic-tree and --classic-program go together".into()),
    };
    if o.program.is_none() {
        return Err(format!("--program is required\n{USAGE}"));
    }
    Ok(o)
}

/// One line of `ais_loops` output, parsed.
#[derive(Debug, Clone, Default)]
struct Figures {
    rate: f64,
    ops: f64,
    call_p50: f64,
    call_p99: f64,
    deliver: Option<(f64, f64)>,
    /// The client's CPU time (us) and voluntary context switches per op.
    cpu: f64,
    sleeps: f64,
}

/// CPU time (us) and voluntary context switches of a process, all its
/// threads together, from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    cpu_us: f64,
    sleeps: f64,
}

/// The CPU time comes from `/proc/PID/stat`, which counts threads that
/// have exited too (the classic executive serves each client connection
/// on a thread of its own, gone by the time a loop is measured). Context
/// switches are only kept per thread, so those of exited threads are
/// missing from `sleeps`.
fn usage(pid: u32) -> Usage {
    let mut u = Usage::default();
    let tick_us = 1e6 / 100.0; // USER_HZ
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        && let Some((_, rest)) = stat.rsplit_once(')')
    {
        // Fields after the name: state is the 3rd field overall, utime the 14th.
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        u.cpu_us = (ticks(11) + ticks(12)) * tick_us;
    }
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return u };
    for task in tasks.flatten() {
        if let Ok(status) = std::fs::read_to_string(task.path().join("status")) {
            let v = status.lines().find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"));
            u.sleeps += v.and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(0.0);
        }
    }
    u
}

fn parse_line(line: &str) -> Option<Figures> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |key: &str, nth: usize| -> Option<f64> {
        let i = words.iter().position(|w| *w == key)?;
        words.get(i + nth)?.parse().ok()
    };
    let rate = words.iter().position(|w| *w == "ops/s").and_then(|i| words.get(i - 1)?.parse().ok())?;
    let deliver = match words.iter().position(|w| *w == "deliver") {
        Some(i) => Some((words.get(i + 2)?.parse().ok()?, words.get(i + 4)?.parse().ok()?)),
        None => None,
    };
    Some(Figures {
        rate,
        ops: after("ops", 1)?,
        call_p50: after("call", 2)?,
        call_p99: after("call", 4)?,
        deliver,
        cpu: after("cpu/op", 1)?,
        sleeps: after("sleeps/op", 1)?,
    })
}

/// Runs one loop as a client of node 1; bounded by `seconds` + 60 s.
fn run_loop(cluster: &Cluster, program: &Path, lp: &str, nodes: usize, seconds: f64) -> Result<Figures, String> {
    let mut child = cluster
        .client(1, program)
        .args(["-t", &seconds.to_string(), "-n", &nodes.to_string(), lp])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds + 60.0);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{lp}: no result within {} s", seconds + 60.0));
            }
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().find_map(parse_line) {
        Some(f) if out.status.success() => Ok(f),
        _ => Err(format!("{lp}: {} {}{}", out.status, stdout.trim(), String::from_utf8_lossy(&out.stderr).trim())),
    }
}

/// Runs a classic-style benchmark as a client of node 1 until it prints
/// its first `<rate> TP/s` line (2 minutes at most), then stops it.
fn run_external(cluster: &Cluster, program: &Path) -> Result<Figures, String> {
    let mut child = cluster
        .client(1, program)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let start = Instant::now();
    let deadline = start + Duration::from_secs(120);
    let usage_before = usage(child.id());
    let mut result = Err(format!("{}: no TP/s line within 2 minutes", program.display()));
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(line) = rx.recv_timeout(left) else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        let rate = words.iter().position(|w| *w == "TP/s").and_then(|i| words.get(i.checked_sub(1)?)?.parse().ok());
        if let Some(rate) = rate {
            let used = usage(child.id());
            let ops = rate * start.elapsed().as_secs_f64();
            let per = |x: f64| if ops > 0.0 { x / ops } else { 0.0 };
            result = Ok(Figures {
                rate,
                ops,
                cpu: per(used.cpu_us - usage_before.cpu_us),
                sleeps: per(used.sleeps - usage_before.sleeps),
                ..Figures::default()
            });
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn fmt_range(v: &[f64]) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(0.0, f64::max);
    if v.len() == 1 || (hi - lo).abs() < 0.5 { format!("{lo:.0}") } else { format!("{lo:.0}-{hi:.0}") }
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("loop-bench: {e}");
            std::process::exit(2);
        }
    };
    // Name, stack, program, ours's `realtime_priority` (None: its default).
    let ours = Stack::Ours { aisexec: o.aisexec.clone() };
    let program = o.program.clone().unwrap_or_default();
    let mut stacks = vec![("ours", ours.clone(), program.clone(), o.realtime.then_some("yes"))];
    if o.both_policies {
        stacks = vec![
            ("ours", ours.clone(), program.clone(), None),
            ("ours-rt", ours.clone(), program.clone(), Some("yes")),
        ];
    }
    if !o.policies.is_empty() {
        stacks = o.policies.iter().map(|&(name, p)| (name, ours.clone(), program.clone(), Some(p))).collect();
    }
    if let Some((tree, program)) = &o.classic {
        stacks.push(("classic", Stack::Classic { tree: tree.clone() }, program.clone(), None));
    }
    let spec = |stack: &Stack, nodes: usize, tag: String, realtime: Option<&'static str>| Spec {
        stack: stack.clone(),
        nodes,
        secauth: false,
        transport: "udp".into(),
        totem: o.totem.clone(),
        realtime,
        keep_logs: o.keep_logs,
        tag,
    };
    if o.serve {
        let (name, stack, _, realtime) = if o.serve_classic { stacks.last() } else { stacks.first() }.unwrap();
        if o.serve_classic && *name != "classic" {
            eprintln!("loop-bench: --serve-classic needs --classic-tree and --classic-program");
            std::process::exit(2);
        }
        let nodes = o.nodes[0];
        match Cluster::start(&spec(stack, nodes, format!("s{nodes}"), *realtime)) {
            Ok(cluster) => {
                for i in 1..=nodes {
                    println!("{name} node {i}: {}", cluster.describe(i));
                }
                println!("serving until standard input closes");
                let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
                // Stops the executives and removes the lab (exit would not).
                drop(cluster);
                std::process::exit(0);
            }
            Err(e) => {
                eprintln!("loop-bench: {e}");
                std::process::exit(1);
            }
        }
    }
    println!("# loop-bench: {} s per loop, client on node 1; latency in microseconds", o.seconds);
    println!("# per op: client and each executive's CPU time (us) / voluntary context switches (sleeps)");
    println!(
        "{:<8} {:>5} {:<13} {:>10} {:>9} {:>9} {:>11} {:>11} {:>13} executives",
        "stack", "nodes", "loop", "ops/s", "call p50", "call p99", "deliver p50", "deliver p99", "client"
    );
    let mut failed = false;
    // (nodes, loop, stack) -> rates of every round.
    let mut rates: BTreeMap<(usize, String, &str), Vec<f64>> = BTreeMap::new();
    for round in 0..o.rounds {
        for &nodes in &o.nodes {
            for (index, (name, stack, program, realtime)) in stacks.iter().enumerate() {
                let spec = spec(stack, nodes, format!("l{nodes}{index}{round}"), *realtime);
                let cluster = match Cluster::start(&spec) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("loop-bench: {name}, {nodes} nodes: {e}");
                        failed = true;
                        continue;
                    }
                };
                let on_classic = !matches!(stack, Stack::Ours { .. });
                let mut jobs: Vec<(String, Option<PathBuf>)> = o
                    .loops
                    .iter()
                    .filter(|l| !(on_classic && CLASSIC_LACKS.contains(&l.as_str())))
                    .map(|l| (l.clone(), None))
                    .collect();
                for (ext, ours, classic) in &o.externals {
                    let path = if on_classic { classic.clone() } else { Some(ours.clone()) };
                    if let Some(p) = path {
                        jobs.push((ext.clone(), Some(p)));
                    }
                }
                if o.loops.is_empty() && !jobs.is_empty() {
                    // The loops wait for the membership; the others do not.
                    let _ = run_loop(&cluster, program, "clm-node-get", nodes, 0.01);
                }
                for (job, external) in &jobs {
                    let before: Vec<Usage> = (1..=nodes).map(|i| usage(cluster.pid(i))).collect();
                    let result = match external {
                        None => run_loop(&cluster, program, job, nodes, o.seconds),
                        Some(p) => run_external(&cluster, p),
                    };
                    match result {
                        Ok(f) => {
                            let (d50, d99) = match f.deliver {
                                Some((a, b)) => (format!("{a:.1}"), format!("{b:.1}")),
                                None => ("-".into(), "-".into()),
                            };
                            let (c50, c99) = match external {
                                None => (format!("{:.1}", f.call_p50), format!("{:.1}", f.call_p99)),
                                Some(_) => ("-".into(), "-".into()),
                            };
                            let execs: Vec<String> = (1..=nodes)
                                .map(|i| {
                                    let (a, b) = (before[i - 1], usage(cluster.pid(i)));
                                    let per = |x: f64| if f.ops > 0.0 { x / f.ops } else { 0.0 };
                                    format!("{:.1}/{:.2}", per(b.cpu_us - a.cpu_us), per(b.sleeps - a.sleeps))
                                })
                                .collect();
                            println!(
                                "{name:<8} {nodes:>5} {job:<13} {:>10.0} {c50:>9} {c99:>9} {d50:>11} {d99:>11} {:>13} {}",
                                f.rate,
                                format!("{:.1}/{:.2}", f.cpu, f.sleeps),
                                execs.join(" ")
                            );
                            rates.entry((nodes, job.clone(), name)).or_default().push(f.rate);
                        }
                        Err(e) => {
                            eprintln!("loop-bench: {name}, {nodes} nodes: {e}\n{}", cluster.log(0));
                            failed = true;
                        }
                    }
                }
            }
        }
    }
    if o.classic.is_some() {
        let names: Vec<&String> = o.loops.iter().chain(o.externals.iter().map(|e| &e.0)).collect();
        for (ours, ..) in stacks.iter().filter(|s| matches!(s.1, Stack::Ours { .. })) {
            println!("\n# ops/s over {} round(s): {ours}, classic, {ours}/classic", o.rounds);
            for &nodes in &o.nodes {
                for &lp in &names {
                    let (Some(a), Some(b)) =
                        (rates.get(&(nodes, lp.clone(), *ours)), rates.get(&(nodes, lp.clone(), "classic")))
                    else {
                        if let Some(a) = rates.get(&(nodes, lp.clone(), *ours)) {
                            let s = if nodes > 1 { "s" } else { "" };
                            println!("{nodes} node{s:<2} {lp:<13} {:>15} {:>15} -", fmt_range(a), "(not run)");
                        }
                        continue;
                    };
                    let ratios: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
                    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = ratios.iter().copied().fold(0.0, f64::max);
                    println!(
                        "{nodes} node{:<2} {lp:<13} {:>15} {:>15} {lo:.2}-{hi:.2}",
                        if nodes > 1 { "s" } else { "" },
                        fmt_range(a),
                        fmt_range(b)
                    );
                }
            }
        }
    }
    std::process::exit(if failed { 1 } else { 0 });
}
