//! scale-test: starts N of our executives in network namespaces on one
//! bridge (`ais_tools::netns::Lab`, needs root) and measures, in order:
//!
//! 1. formation: from starting them all to one ring of N on every node;
//! 2. stability: configuration changes and token losses over a quiet period,
//!    and the executives' CPU time meanwhile;
//! 3. throughput: EVS multicasts (agreed) from several nodes to a receiver
//!    on every node, checked complete and in one order;
//! 4. failover: `kill -9` of one node, to one ring of N-1 on the others;
//! 5. rejoin: that node started again, to one ring of N.
//!
//! Through 4 and 5, CPG traffic runs (`ais_tools::traffic`): a member of
//! one group on every node, `--senders` of them (the killed node among
//! them) multicasting `--traffic-rate` messages a second each, one call at
//! a time; the node that comes back joins the group again. At the end
//! every surviving receiver must have every accepted message of every
//! surviving sender, in one order, and the killed sender's up to one point.
//!
//! Times come from the executives' own log stamps (`timestamp: hires`).
//! Everything it started (executives, namespaces, its temp directory) is
//! removed when it ends, also on SIGINT/SIGTERM and when `--time-limit`
//! runs out. Exit 0 when every step reached its goal, 1 otherwise, 2 on bad
//! usage. Not a test of `make check`: it takes minutes.
//!
//! Usage: scale-test --nodes N [--quiet 60] [--load-seconds 5] [--senders 4]
//!        [--size 1024] [--window W] [--victim I] [--aisexec PATH]
//!        [--totem key=value]... [--transport udp|udpu] [--keep-logs]
//!        [--time-limit 900] [--traffic-rate 200] [--realtime]
//!
//! `--realtime` runs the executives with `realtime_priority: yes`
//! (SCHED_RR, as classic aisexec always ran).

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use ais_tools::bench::{self, EvsConn, RoundState};
use ais_tools::netns::Lab;
use ais_tools::scale::{LogFollower, local_ms_of_day, ms_between, one_ring};
use ais_tools::traffic;

/// Set by SIGINT/SIGTERM or the time limit: every wait gives up.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

const USAGE: &str = "usage: scale-test --nodes N [--quiet SECONDS] [--load-seconds S] [--senders K] [--size BYTES] \
                     [--window W] [--victim I] [--aisexec PATH] [--totem key=value]... [--transport udp|udpu] \
                     [--keep-logs] [--time-limit SECONDS] [--traffic-rate MSGS_PER_S] [--realtime]";

struct Options {
    nodes: usize,
    quiet: u64,
    load_seconds: f64,
    senders: usize,
    size: usize,
    window: Option<usize>,
    victim: Option<usize>,
    aisexec: PathBuf,
    totem: Vec<String>,
    transport: String,
    keep_logs: bool,
    time_limit: u64,
    traffic_rate: usize,
    realtime: bool,
}

fn parse_args() -> Result<Options, String> {
    let exe_dir = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or_default();
    let mut o = Options {
        nodes: 0,
        quiet: 60,
        load_seconds: 5.0,
        senders: 4,
        size: 1024,
        window: None,
        victim: None,
        aisexec: exe_dir.join("aisexec"),
        totem: Vec::new(),
        transport: "udp".into(),
        keep_logs: false,
        time_limit: 900,
        traffic_rate: 200,
        realtime: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        let num = |v: String, lo: usize, hi: usize| -> Result<usize, String> {
            v.parse().ok().filter(|n| (lo..=hi).contains(n)).ok_or(format!("{a} takes {lo}..={hi}"))
        };
        match a.as_str() {
            "--nodes" => o.nodes = num(val()?, 2, 250)?,
            "--quiet" => o.quiet = num(val()?, 0, 3600)? as u64,
            "--load-seconds" => o.load_seconds = num(val()?, 0, 600)? as f64,
            "--senders" => o.senders = num(val()?, 1, 250)?,
            "--size" => o.size = num(val()?, 1, ais_ipc::evs::MAX_DATA)?,
            "--window" => o.window = Some(num(val()?, 1, bench::MAX_WINDOW)?),
            "--victim" => o.victim = Some(num(val()?, 1, 250)?),
            "--aisexec" => o.aisexec = val()?.into(),
            "--keep-logs" => o.keep_logs = true,
            "--time-limit" => o.time_limit = num(val()?, 10, 86_400)? as u64,
            "--traffic-rate" => o.traffic_rate = num(val()?, 0, 100_000)?,
            "--realtime" => o.realtime = true,
            "--transport" => o.transport = ais_tools::cluster::transport_arg(val()?)?,
            "--totem" => o.totem.push(ais_tools::cluster::totem_arg(&val()?)?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument '{a}'\n{USAGE}")),
        }
    }
    if o.nodes == 0 {
        return Err(format!("--nodes is required\n{USAGE}"));
    }
    o.senders = o.senders.min(o.nodes);
    if o.victim.is_some_and(|v| v > o.nodes) {
        return Err("--victim names no node".into());
    }
    Ok(o)
}

fn config(o: &Options) -> String {
    let iface_lines: String = if o.transport == "udpu" {
        (1..=o.nodes).map(|m| format!("    member {{\n      memberaddr: {}\n    }}\n", Lab::ipv4(m))).collect()
    } else {
        "    mcastaddr: 239.192.88.1\n".to_string()
    };
    // token 1000 unless --totem sets it (a key written twice is noted).
    let token = if o.totem.iter().any(|l| l.trim_start().starts_with("token:")) { "" } else { "  token: 1000\n" };
    format!(
        "totem {{\n  version: 2\n  secauth: off\n{token}  transport: {}\n{}  interface {{\n    \
         ringnumber: 0\n    bindnetaddr: 10.0.0.0\n    mcastport: 5405\n{iface_lines}  }}\n}}\n\
         logging {{\n  to_syslog: no\n  to_stderr: yes\n  timestamp: hires\n}}\n\
         aisexec {{\n  realtime_priority: {}\n}}\n",
        o.transport,
        o.totem.concat(),
        if o.realtime { "yes" } else { "no" },
    )
}

/// One executive's place: its directory, process and log.
struct Node {
    dir: PathBuf,
    child: Option<Child>,
    log: LogFollower,
}

/// Everything started; dropping it stops and removes it all.
struct Run {
    nodes: Vec<Node>,
    root: PathBuf,
    keep_logs: bool,
    aisexec: PathBuf,
    // Dropped after the executives are stopped (field order).
    lab: Lab,
}

impl Run {
    fn create(o: &Options) -> Result<Run, String> {
        let lab = Lab::create("scale", o.nodes)?;
        let root = std::env::temp_dir().join(format!("ais-scale-{}", std::process::id()));
        let mut run = Run { nodes: Vec::new(), root, keep_logs: o.keep_logs, aisexec: o.aisexec.clone(), lab };
        let conf = config(o);
        for i in 1..=o.nodes {
            let dir = run.root.join(format!("n{i}"));
            std::fs::create_dir_all(dir.join("run")).map_err(|e| format!("{}: {e}", dir.display()))?;
            std::fs::write(dir.join("corosync.conf"), &conf).map_err(|e| e.to_string())?;
            let log = LogFollower::new(dir.join("stderr.log"));
            run.nodes.push(Node { dir, child: None, log });
        }
        Ok(run)
    }

    /// Starts node `i` (1-based); its log is appended to.
    fn start(&mut self, i: usize) -> Result<(), String> {
        let node = &self.nodes[i - 1];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.dir.join("stderr.log"))
            .map_err(|e| e.to_string())?;
        let child = self
            .lab
            .command(i, &self.aisexec.to_string_lossy())
            .arg("-f")
            .env("COROSYNC_RUN_DIR", node.dir.join("run"))
            .env("COROSYNC_MAIN_CONFIG_FILE", node.dir.join("corosync.conf"))
            .env("COROSYNC_AMF_CONFIG_FILE", node.dir.join("amf.conf"))
            .env_remove("OPENAIS_MAIN_CONFIG_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start node {i}: {e}"))?;
        self.nodes[i - 1].child = Some(child);
        Ok(())
    }

    /// `kill -9` of node `i`; returns the local time of day of the kill.
    fn kill(&mut self, i: usize) -> Result<i64, String> {
        let mut child = self.nodes[i - 1].child.take().ok_or(format!("node {i} is not running"))?;
        let at = local_ms_of_day(SystemTime::now());
        child.kill().map_err(|e| format!("kill node {i}: {e}"))?;
        let _ = child.wait();
        Ok(at)
    }

    fn socket(&self, i: usize) -> PathBuf {
        self.nodes[i - 1].dir.join("run").join(ais_ipc::SOCKET_NAME)
    }

    /// Reads every log; an executive that exited by itself is an error.
    fn poll(&mut self) -> Result<(), String> {
        for (k, n) in self.nodes.iter_mut().enumerate() {
            n.log.poll().map_err(|e| format!("node {} log: {e}", k + 1))?;
            if let Some(ch) = n.child.as_mut()
                && let Ok(Some(st)) = ch.try_wait()
            {
                let tail = std::fs::read_to_string(n.dir.join("stderr.log")).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(20).collect();
                n.child = None;
                return Err(format!("aisexec on node {} exited: {st}; its last lines:\n{}", k + 1, tail.join("\n")));
            }
        }
        Ok(())
    }

    /// Waits (at most `limit`) until the nodes in `which` agree on one ring
    /// of `members`; the time of day the last of them installed it.
    fn wait_ring(&mut self, which: &[usize], members: usize, limit: Duration) -> Result<i64, String> {
        let deadline = Instant::now() + limit;
        loop {
            self.poll()?;
            if let Some(at) = one_ring(which.iter().map(|&i| &self.nodes[i - 1].log), members) {
                return Ok(at);
            }
            if STOP.load(Ordering::SeqCst) {
                return Err("stopped".into());
            }
            if Instant::now() > deadline {
                let seen: Vec<String> = which
                    .iter()
                    .map(|&i| match self.nodes[i - 1].log.last() {
                        Some(c) => format!("{i}:{}/{}", c.ring, c.members),
                        None => format!("{i}:none"),
                    })
                    .collect();
                return Err(format!(
                    "no ring of {members} within {} s; latest ring/members per node: {}",
                    limit.as_secs(),
                    seen.join(" ")
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sleeps `d` while reading the logs (and noticing exits and STOP).
    fn watch(&mut self, d: Duration) -> Result<(), String> {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.poll()?;
            if STOP.load(Ordering::SeqCst) {
                return Err("stopped".into());
            }
            std::thread::sleep(Duration::from_millis(200).min(end.saturating_duration_since(Instant::now())));
        }
        Ok(())
    }

    /// Sum over the running nodes of a counter (`totem.ring0.token_losses`).
    fn counter_sum(&self, name: &str) -> Result<u64, String> {
        let mut sum = 0;
        for i in 1..=self.nodes.len() {
            if self.nodes[i - 1].child.is_none() {
                continue;
            }
            let stats = ais_tools::cfgtool::stats(&self.socket(i)).map_err(|e| format!("node {i}: {e}"))?;
            sum += stats.iter().find(|s| s.name == name).map(|s| s.value).unwrap_or(0);
        }
        Ok(sum)
    }

    fn counter(&self, i: usize, name: &str) -> Result<u64, String> {
        let stats = ais_tools::cfgtool::stats(&self.socket(i)).map_err(|e| format!("node {i}: {e}"))?;
        Ok(stats.iter().find(|s| s.name == name).map(|s| s.value).unwrap_or(0))
    }

    /// CPU time (user + system) of every running executive, in seconds.
    fn cpu_seconds(&self) -> f64 {
        // SAFETY: sysconf has no preconditions.
        let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let mut ticks = 0u64;
        for n in &self.nodes {
            let Some(ch) = &n.child else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", ch.id())) else { continue };
            // Fields after the command name (which may hold spaces):
            // state is field 3, utime 14, stime 15.
            let Some((_, rest)) = stat.rsplit_once(')') else { continue };
            let f: Vec<&str> = rest.split_whitespace().collect();
            ticks += f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            ticks += f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
        ticks as f64 / tick
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        for n in &self.nodes {
            if let Some(ch) = &n.child {
                // SAFETY: kill(2) on the pid of our child not yet waited for.
                unsafe { libc::kill(ch.id() as libc::pid_t, libc::SIGTERM) };
            }
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        for n in &mut self.nodes {
            if let Some(ch) = n.child.as_mut() {
                while matches!(ch.try_wait(), Ok(None)) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let _ = ch.kill();
                let _ = ch.wait();
            }
        }
        if self.keep_logs {
            eprintln!("scale-test: logs kept in {}", self.root.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn secs(ms: i64) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

/// The steps, printing one line each; `Err` ends the run.
fn measure(o: &Options, run: &mut Run, failures: &mut Vec<String>) -> Result<(), String> {
    let n = o.nodes;
    let all: Vec<usize> = (1..=n).collect();

    // 1. Formation.
    let t0 = local_ms_of_day(SystemTime::now());
    let spawn_start = Instant::now();
    for i in 1..=n {
        run.start(i)?;
    }
    let spawned = spawn_start.elapsed();
    let formed = run.wait_ring(&all, n, Duration::from_secs(60))?;
    let per_node: usize = run.nodes.iter().map(|x| x.log.installed.len()).sum();
    println!(
        "formation: one ring of {n} {} after the first start (starting all took {:.2} s); \
         regular configurations until then: {:.1} per node, node 1 {}",
        secs(ms_between(t0, formed)),
        spawned.as_secs_f64(),
        per_node as f64 / n as f64,
        run.nodes[0].log.installed.len()
    );
    if ms_between(t0, formed) > 10_000 {
        failures.push("formation took more than 10 s".into());
    }

    // 2. Stability.
    if o.quiet > 0 {
        let quiet_from = local_ms_of_day(SystemTime::now());
        let losses = run.counter_sum("totem.ring0.token_losses")?;
        let gathers = run.counter_sum("totem.ring0.gathers")?;
        let rotations = run.counter(1, "totem.ring0.token_rotations")?;
        let cpu = run.cpu_seconds();
        let started = Instant::now();
        run.watch(Duration::from_secs(o.quiet))?;
        let took = started.elapsed().as_secs_f64();
        let cpu = run.cpu_seconds() - cpu;
        let losses = run.counter_sum("totem.ring0.token_losses")? - losses;
        let gathers = run.counter_sum("totem.ring0.gathers")? - gathers;
        let rotations = run.counter(1, "totem.ring0.token_rotations")? - rotations;
        let changes: usize = run.nodes.iter().map(|x| x.log.installed_since(quiet_from)).sum();
        println!(
            "stability: {} s quiet: {changes} regular configurations installed (all nodes together), {losses} token \
             losses, {gathers} gathers; executives' CPU {:.0}% of one core together; {:.1} token rotations/s (idle, \
             with hold)",
            o.quiet,
            100.0 * cpu / took,
            rotations as f64 / took
        );
        if changes > 0 || losses > 0 {
            failures.push(format!("not stable: {changes} configurations, {losses} token losses"));
        }
    }

    // 3. Throughput.
    if o.load_seconds > 0.0 {
        throughput(o, run, failures)?;
    }

    // 4. Failover, with traffic running through it and the rejoin.
    let victim = o.victim.unwrap_or(n / 2 + 1);
    let survivors: Vec<usize> = all.iter().copied().filter(|&i| i != victim).collect();
    let mut traffic = Traffic::start(o, run, victim)?;
    let killed = run.kill(victim)?;
    let settled = run.wait_ring(&survivors, n - 1, Duration::from_secs(30))?;
    let first =
        survivors.iter().filter_map(|&i| run.nodes[i - 1].log.last()).map(|c| ms_between(killed, c.at_ms)).min();
    let at_1 = run.nodes[survivors[0] - 1].log.installed_since(killed);
    println!(
        "failover: kill -9 of node {victim}: one ring of {} on every survivor {} later (first install {}); \
         node {} installed {at_1} configuration(s) meanwhile",
        n - 1,
        secs(ms_between(killed, settled)),
        secs(first.unwrap_or(0)),
        survivors[0]
    );
    if ms_between(killed, settled) > 1500 || at_1 != 1 {
        failures.push("failover: not one new configuration within 1.5 s".into());
    }

    // 5. Rejoin.
    let restarted = local_ms_of_day(SystemTime::now());
    run.start(victim)?;
    let back = run.wait_ring(&all, n, Duration::from_secs(30))?;
    let at_1 = run.nodes[survivors[0] - 1].log.installed_since(restarted);
    println!(
        "rejoin: node {victim} started again: one ring of {n} {} later; node {} installed {at_1} configuration(s)",
        secs(ms_between(restarted, back)),
        survivors[0]
    );
    if ms_between(restarted, back) > 1000 {
        failures.push("rejoin took more than 1 s".into());
    }
    traffic.rejoin(run, victim)?;
    run.watch(Duration::from_secs(1))?;
    traffic.finish(failures);
    Ok(())
}

/// CPG traffic through the failover and the rejoin (`ais_tools::traffic`).
struct Traffic {
    stop: Arc<AtomicBool>,
    senders: Vec<std::thread::JoinHandle<(traffic::Member, bool)>>,
    /// Node, whether it lived throughout, whether it was killed; record.
    receivers: Vec<(usize, bool, bool, Arc<Mutex<traffic::Received>>)>,
    /// Receive-only members (kept open: closing one leaves the group).
    members: Vec<traffic::Member>,
    started: Instant,
}

impl Traffic {
    /// A member on every node; `o.senders` of them, `victim` among them,
    /// multicast `o.traffic_rate` messages a second each.
    fn start(o: &Options, run: &Run, victim: usize) -> Result<Traffic, String> {
        let n = o.nodes;
        let mut sending: Vec<usize> = (0..o.senders).map(|k| 1 + k * n / o.senders).collect();
        if !sending.contains(&victim) {
            sending.pop();
            sending.push(victim);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut t =
            Traffic { stop, senders: Vec::new(), receivers: Vec::new(), members: Vec::new(), started: Instant::now() };
        let gap = if o.traffic_rate == 0 { None } else { Some(Duration::from_secs_f64(1.0 / o.traffic_rate as f64)) };
        // Every member joins before anyone sends: a message reaches the
        // members of the group when it is ordered.
        let mut members = Vec::new();
        for i in 1..=n {
            let (member, received) =
                traffic::Member::join(&run.socket(i)).map_err(|e| format!("node {i}: cpg: {e}"))?;
            t.receivers.push((i, i != victim, i == victim, received));
            members.push((i, member));
        }
        for (i, member) in members {
            match gap {
                Some(gap) if sending.contains(&i) => {
                    let stop = Arc::clone(&t.stop);
                    t.senders.push(std::thread::spawn(move || send_until(member, &stop, gap)));
                }
                _ => t.members.push(member),
            }
        }
        t.started = Instant::now();
        Ok(t)
    }

    /// A receiver again on `node` (back after its kill), once its executive takes it.
    fn rejoin(&mut self, run: &Run, node: usize) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match traffic::Member::join(&run.socket(node)) {
                Ok((member, received)) => {
                    self.members.push(member);
                    self.receivers.push((node, false, false, received));
                    return Ok(());
                }
                Err(e) if Instant::now() > deadline => return Err(format!("node {node}: cpg join again: {e}")),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Stops the senders, waits (at most 20 s) for the receivers to have
    /// everything, then checks and prints.
    fn finish(self, failures: &mut Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        let took = self.started.elapsed().as_secs_f64();
        // The senders stay members (a closed connection leaves the group)
        // until the receivers are checked.
        let mut members = self.members;
        let mut ends = std::collections::HashMap::new();
        for (member, survived) in self.senders.into_iter().filter_map(|h| h.join().ok()) {
            ends.insert(member.me, traffic::SenderEnd { accepted: member.accepted(), survived });
            members.push(member);
        }
        let total: u64 = ends.values().map(|e| e.accepted).sum();
        let snapshot = |r: &[(usize, bool, bool, Arc<Mutex<traffic::Received>>)]| -> Vec<traffic::Received> {
            r.iter().map(|x| x.3.lock().unwrap_or_else(|e| e.into_inner()).clone()).collect()
        };
        let names: Vec<String> = self
            .receivers
            .iter()
            .map(|(i, thr, k, _)| format!("node {i}{}", if !thr && !k { " (again)" } else { "" }))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        let errors = loop {
            let recs = snapshot(&self.receivers);
            let logs: Vec<traffic::Log<'_>> = self
                .receivers
                .iter()
                .zip(&recs)
                .zip(&names)
                .map(|(((_, throughout, crashed, _), r), name)| traffic::Log {
                    name: name.clone(),
                    msgs: &r.msgs,
                    throughout: *throughout,
                    crashed: *crashed,
                })
                .collect();
            let errors = traffic::check(&logs, &ends);
            if errors.is_empty() || Instant::now() > deadline || STOP.load(Ordering::SeqCst) {
                break errors;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        drop(members);
        println!(
            "traffic: {} CPG sender(s), {total} messages accepted in {took:.1} s through failover and rejoin, {} receivers: {}",
            ends.len(),
            names.len(),
            if errors.is_empty() {
                "complete, one order".to_string()
            } else {
                format!("FAILED: {}", errors.iter().take(5).cloned().collect::<Vec<_>>().join("; "))
            }
        );
        if !errors.is_empty() {
            failures.push("traffic through failover: incomplete or out of order".into());
        }
    }
}

/// Multicasts every `gap` until `stop` (or an error: its executive was
/// killed). Returns the member and whether it ended without error.
fn send_until(mut m: traffic::Member, stop: &AtomicBool, gap: Duration) -> (traffic::Member, bool) {
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        match m.send() {
            Ok(traffic::Sent::Accepted(_)) => {
                next += gap;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            Ok(traffic::Sent::TryAgain) => std::thread::sleep(Duration::from_millis(1)),
            Err(_) => return (m, false),
        }
    }
    (m, true)
}

/// A receiver on every node, senders on `o.senders` nodes spread over the
/// ring; one bench round (complete, per-sender order, one total order).
fn throughput(o: &Options, run: &mut Run, failures: &mut Vec<String>) -> Result<(), String> {
    let n = o.nodes;
    let sending: Vec<usize> = (0..o.senders).map(|k| 1 + k * n / o.senders).collect();
    let order: Vec<usize> = sending.iter().copied().chain((1..=n).filter(|i| !sending.contains(i))).collect();
    let mut conns = Vec::new();
    let mut receivers = Vec::new();
    let mut threads = Vec::new();
    for &i in &order {
        let mut c = EvsConn::connect(&run.socket(i)).map_err(|e| format!("node {i}: evs: {e}"))?;
        let state = Arc::new(Mutex::new(RoundState::default()));
        let dispatch = c.take_dispatch().ok_or("no dispatch channel")?;
        let st = Arc::clone(&state);
        threads.push(std::thread::spawn(move || bench::receive(dispatch, st)));
        receivers.push(state);
        conns.push(c);
    }
    // Let every group join reach every receiver before counting.
    let confchgs = |r: &[Arc<Mutex<RoundState>>]| -> u64 {
        r.iter().map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).confchgs).sum()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = u64::MAX;
    while confchgs(&receivers) != last && Instant::now() < deadline && !STOP.load(Ordering::SeqCst) {
        last = confchgs(&receivers);
        std::thread::sleep(Duration::from_millis(1000));
    }
    let rotations = run.counter(1, "totem.ring0.token_rotations")?;
    let cpu = run.cpu_seconds();
    let started = Instant::now();
    let mut senders: Vec<EvsConn> = conns.drain(..o.senders).collect();
    let r = bench::round_with_window(
        &mut senders,
        &receivers,
        o.size,
        Duration::from_secs_f64(o.load_seconds),
        Duration::from_secs(60),
        o.window,
    );
    let took = started.elapsed().as_secs_f64();
    let cpu = run.cpu_seconds() - cpu;
    let rotations = run.counter(1, "totem.ring0.token_rotations")? - rotations;
    drop(senders);
    drop(conns);
    for t in threads {
        let _ = t.join();
    }
    println!(
        "throughput: {} sender(s) x {} B for {} s: {:.0} msg/s, {:.2} MB/s at the slowest of {n} receivers; \
         {} sent, {} TRY_AGAIN; {:.1} token rotations/s; executives' CPU {:.0}% of one core; {}",
        o.senders,
        o.size,
        o.load_seconds,
        r.msgs_per_s,
        r.mb_per_s,
        r.sent,
        r.try_again,
        rotations as f64 / took,
        100.0 * cpu / took,
        if r.errors.is_empty() {
            "complete, one order".to_string()
        } else {
            format!("FAILED: {}", r.errors.join("; "))
        }
    );
    if !r.errors.is_empty() {
        failures.push("throughput: deliveries incomplete or out of order".into());
    }
    Ok(())
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("scale-test: {e}");
            std::process::exit(2);
        }
    };
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    let limit = o.time_limit;
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(limit));
        eprintln!("scale-test: time limit of {limit} s reached, stopping");
        STOP.store(true, Ordering::SeqCst);
    });
    println!(
        "# scale-test: {} nodes, {} (namespaces on one bridge), secauth off, token 1000 unless below{}{}; load average {} at start",
        o.nodes,
        o.transport,
        if o.realtime { ", realtime_priority: yes" } else { "" },
        o.totem.iter().map(|l| format!(", {}", l.trim())).collect::<String>(),
        loadavg()
    );
    let mut failures = Vec::new();
    let outcome = Run::create(&o).and_then(|mut run| measure(&o, &mut run, &mut failures));
    if let Err(e) = outcome {
        failures.push(e);
    }
    println!("# load average {} at end", loadavg());
    if failures.is_empty() {
        println!("# every goal reached");
    } else {
        for f in &failures {
            println!("# FAILED: {f}");
        }
        std::process::exit(1);
    }
}
