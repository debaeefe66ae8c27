//! `totem-sim --seeds A..B --nodes N [--loss P] [--dup P] [--partitions] [--crashes]`
//! `totem-sim --sample` runs the fixed CI sample; `totem-sim --report` prints figures.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use totem_sim::{Scenario, run_many, sample_jobs};

/// Largest simulated cluster (the protocol's own limit at the simulator's frame is above it).
const MAX_NODES: u32 = 100;

const USAGE: &str = "usage: totem-sim --seeds A..B --nodes N [--loss P] [--dup P] [--partitions] [--crashes]
                 [--spikes P] [--stalls R] [--gap MS] [--one-sender] [--closed-loop] [--broken-recovery]
                 [--verbose] [--dump SENDER]
       totem-sim --sample
       totem-sim --report
A..B is half-open (A included, B not); P is a probability between 0 and 1;
--spikes P holds a packet up 20-400 ms with probability P (during the fault phase);
--stalls R stalls each node R times a second (all run long) for 50-300 ms, as an
  overloaded machine does: it handles no packet or timer meanwhile;
--gap is the mean time between one node's messages (default 100 ms);
--one-sender: only node 2 (1 when alone) sends, 20 messages at a time;
--closed-loop: each node sends its next message 0-400 us after its last one came back;
--broken-recovery skips recovery retransmission (to see the checker catch it).";

fn parse_prob(flag: &str, v: Option<&String>) -> Result<f64, String> {
    let v = v.ok_or(format!("{flag} needs a value"))?;
    let p: f64 = v.parse().map_err(|_| format!("{flag}: '{v}' is not a number"))?;
    if !(0.0..=1.0).contains(&p) {
        return Err(format!("{flag}: {p} must be between 0 and 1"));
    }
    Ok(p)
}

fn parse(args: &[String]) -> Result<Option<Vec<(u64, Scenario)>>, String> {
    let mut seeds: Option<(u64, u64)> = None;
    let mut sc = Scenario { nodes: 0, ..Default::default() };
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "--seeds" => {
                let v = args.get(i + 1).ok_or("--seeds needs A..B")?;
                let (x, y) = v.split_once("..").ok_or(format!("--seeds: '{v}' is not A..B"))?;
                let x: u64 = x.parse().map_err(|_| format!("--seeds: '{x}' is not a number"))?;
                let y: u64 = y.parse().map_err(|_| format!("--seeds: '{y}' is not a number"))?;
                if y <= x {
                    return Err(format!("--seeds: empty range {v}"));
                }
                seeds = Some((x, y));
                i += 1;
            }
            "--nodes" => {
                let v = args.get(i + 1).ok_or("--nodes needs a value")?;
                let n: u32 = v.parse().map_err(|_| format!("--nodes: '{v}' is not a number"))?;
                if !(1..=MAX_NODES).contains(&n) {
                    return Err(format!("--nodes: {n} must be between 1 and {MAX_NODES}"));
                }
                sc.nodes = n;
                i += 1;
            }
            "--loss" => {
                sc.loss = parse_prob(a, args.get(i + 1))?;
                i += 1;
            }
            "--dup" => {
                sc.dup = parse_prob(a, args.get(i + 1))?;
                i += 1;
            }
            "--spikes" => {
                sc.spikes = parse_prob(a, args.get(i + 1))?;
                i += 1;
            }
            "--stalls" => {
                let v = args.get(i + 1).ok_or("--stalls needs a rate per node per second")?;
                sc.stalls = v.parse().map_err(|_| format!("--stalls: '{v}' is not a number"))?;
                if !(0.0..=20.0).contains(&sc.stalls) {
                    return Err(format!("--stalls: {} must be between 0 and 20", sc.stalls));
                }
                i += 1;
            }
            "--partitions" => sc.partitions = true,
            "--gap" => {
                let v = args.get(i + 1).ok_or("--gap needs a value in ms")?;
                sc.gap_ms = v.parse().map_err(|_| format!("--gap: '{v}' is not a number"))?;
                if sc.gap_ms == 0 || sc.gap_ms > 100_000 {
                    return Err(format!("--gap: {} must be between 1 and 100000", sc.gap_ms));
                }
                i += 1;
            }
            "--crashes" => sc.crashes = true,
            "--one-sender" => sc.one_sender = true,
            "--closed-loop" => sc.closed_loop = true,
            "--broken-recovery" => sc.broken_recovery = true,
            "--verbose" => sc.verbose = true,
            "--dump" => {
                let v = args.get(i + 1).ok_or("--dump needs a sender node id")?;
                sc.dump = v.parse().map_err(|_| format!("--dump: '{v}' is not a number"))?;
                i += 1;
            }
            "--sample" => return Ok(Some(sample_jobs())),
            "--report" => return Ok(None),
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument '{a}'")),
        }
        i += 1;
    }
    let (a, b) = seeds.ok_or("--seeds is required")?;
    if sc.nodes == 0 {
        return Err("--nodes is required".into());
    }
    Ok(Some((a..b).map(|s| (s, sc.clone())).collect()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let jobs = match parse(&args) {
        Ok(Some(j)) => j,
        Ok(None) => {
            print!("{}", totem_sim::report::report());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            if !e.is_empty() {
                eprintln!("totem-sim: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if let Some((seed, sc)) = jobs.first().filter(|j| j.1.dump > 0) {
        print!("{}", totem_sim::sim::dump(*seed, sc, sc.dump));
    }
    if jobs.first().is_some_and(|j| j.1.verbose) {
        for (seed, sc) in &jobs {
            println!("{}", totem_sim::sim::summarize(*seed, sc));
        }
    }
    // A panic in the protocol is reported as a failing seed, not as a crash of the simulator.
    std::panic::set_hook(Box::new(|_| {}));
    let results = run_many(&jobs, threads);
    let mut failed = 0;
    for (seed, sc, v) in &results {
        if !v.is_empty() {
            failed += 1;
            let more = if v.len() > 1 { format!(" (+{} more)", v.len() - 1) } else { String::new() };
            println!("FAIL seed {seed} [{}]: {}{more}", sc.label(), v[0]);
        }
    }
    println!("{} passed, {} failed", results.len() - failed, failed);
    if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
