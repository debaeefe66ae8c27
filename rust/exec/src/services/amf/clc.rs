//! Running CLC commands (instantiate, terminate, cleanup) off the main loop: each
//! command runs in a thread of its own, which waits for it (bounded by
//! the component's CLC timeout, then kills it) and sends the outcome back
//! on a channel. The main loop only starts jobs and collects outcomes
//! ([`Runner::collect`]); it never waits for a process.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

/// Which CLC command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Instantiate = 0,
    Cleanup = 1,
    Terminate = 2,
}

impl Kind {
    pub fn from_u8(v: u8) -> Option<Kind> {
        Some(match v {
            0 => Kind::Instantiate,
            1 => Kind::Cleanup,
            2 => Kind::Terminate,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Instantiate => "instantiate",
            Kind::Cleanup => "cleanup",
            Kind::Terminate => "terminate",
        }
    }
}

/// One command to run for component `comp` (index), instantiation `round`.
#[derive(Debug, Clone)]
pub struct Job {
    pub comp: u32,
    pub round: u32,
    pub kind: Kind,
    pub path: String,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
}

/// A job's outcome: the command exited 0 in time (`ok`), or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    pub comp: u32,
    pub round: u32,
    pub kind: Kind,
    pub ok: bool,
}

pub struct Runner {
    tx: Sender<Done>,
    rx: Receiver<Done>,
    running: usize,
    /// Given to every command as `COROSYNC_RUN_DIR`.
    run_dir: PathBuf,
}

/// How often a job's thread looks whether its command exited.
const REAP_PACE: Duration = Duration::from_millis(5);

impl Runner {
    pub fn new(run_dir: PathBuf) -> Runner {
        let (tx, rx) = channel();
        Runner { tx, rx, running: 0, run_dir }
    }

    /// Jobs started and not collected yet.
    pub fn running(&self) -> usize {
        self.running
    }

    pub fn start(&mut self, job: Job) {
        self.running += 1;
        let tx = self.tx.clone();
        let run_dir = self.run_dir.clone();
        let spawned = std::thread::Builder::new().name("amf-clc".into()).spawn(move || {
            let ok = run(&job, &run_dir);
            let _ = tx.send(Done { comp: job.comp, round: job.round, kind: job.kind, ok });
        });
        if let Err(e) = spawned {
            crate::log_warn!(Serv, "AMF: cannot start a thread for a CLC command: {e}");
            let _ = self.tx.send(Done { comp: 0, round: 0, kind: Kind::Instantiate, ok: false });
        }
    }

    /// The outcomes that arrived since the last call.
    pub fn collect(&mut self) -> Vec<Done> {
        let done: Vec<Done> = self.rx.try_iter().collect();
        self.running = self.running.saturating_sub(done.len());
        done
    }
}

fn run(job: &Job, run_dir: &std::path::Path) -> bool {
    let mut cmd = Command::new(&job.path);
    cmd.args(&job.argv).stdin(Stdio::null()).stdout(Stdio::null()).env(ais_ipc::RUN_DIR_ENV, run_dir);
    for (k, v) in &job.env {
        cmd.env(k, v);
    }
    let what = job.kind.name();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            crate::log_warn!(Serv, "AMF: {what} command {}: {e}", job.path);
            return false;
        }
    };
    let deadline = Instant::now() + job.timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                if !status.success() {
                    crate::log_warn!(Serv, "AMF: {what} command {} ended with {status}", job.path);
                }
                return status.success();
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(REAP_PACE),
            Ok(None) => {
                crate::log_warn!(
                    Serv,
                    "AMF: {what} command {} outlived its {:?} timeout: killed",
                    job.path,
                    job.timeout
                );
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            Err(e) => {
                crate::log_warn!(Serv, "AMF: {what} command {}: {e}", job.path);
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(path: &str, argv: &[&str], timeout_ms: u64) -> Job {
        Job {
            comp: 4,
            round: 2,
            kind: Kind::Instantiate,
            path: path.into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: vec![("AMF_TEST_VAR".into(), "x".into())],
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    fn wait_one(r: &mut Runner) -> Done {
        let limit = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(d) = r.collect().pop() {
                return d;
            }
            assert!(Instant::now() < limit, "no outcome");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn outcomes_come_back_on_the_channel() {
        let mut r = Runner::new("/tmp/amf-run".into());
        r.start(job("/bin/sh", &["-c", "test \"$AMF_TEST_VAR$COROSYNC_RUN_DIR\" = x/tmp/amf-run"], 5000));
        assert_eq!(r.running(), 1);
        assert_eq!(wait_one(&mut r), Done { comp: 4, round: 2, kind: Kind::Instantiate, ok: true });
        assert_eq!(r.running(), 0);
        r.start(job("/bin/sh", &["-c", "exit 3"], 5000));
        assert!(!wait_one(&mut r).ok, "a non-zero exit is a failure");
        r.start(job("/nonexistent/clc", &[], 5000));
        assert!(!wait_one(&mut r).ok, "a command that cannot start is a failure");
        let t = Instant::now();
        r.start(job("/bin/sleep", &["30"], 100));
        assert!(!wait_one(&mut r).ok, "a command past its timeout is a failure");
        assert!(t.elapsed() < Duration::from_secs(5), "and is killed");
    }
}
