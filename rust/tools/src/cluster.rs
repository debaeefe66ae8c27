//! Executives started for a bench, one per node of a [`Lab`]: ours
//! (`aisexec` with a generated `corosync.conf`), or classic openais 0.80
//! executives for comparison ([`Stack::Classic`]: its `aisexec` and
//! service modules from a built source tree; its clients find it through
//! a fixed abstract socket, which the network namespace keeps apart).
//!
//! Each node gets a directory under the temp dir with its config, run
//! directory and `stderr.log`. Dropping the cluster stops the executives
//! (SIGTERM, then SIGKILL after 2 s), then removes the namespaces and,
//! unless `keep_logs`, the directories.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ais_ipc::frame::{read_message, write_message};
use ais_ipc::handshake::{HANDSHAKE_SERVICE, HELLO_ID, Hello, HelloReply, PROTOCOL_VERSION, Role};

use crate::netns::Lab;

/// Which implementation runs on the nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stack {
    /// This tree's `aisexec`, at this path.
    Ours { aisexec: PathBuf },
    /// A built openais 0.80 source tree (`exec/aisexec`, `exec/*.lcrso`).
    Classic { tree: PathBuf },
}

/// How to start a cluster.
#[derive(Debug, Clone)]
pub struct Spec {
    pub stack: Stack,
    pub nodes: usize,
    pub secauth: bool,
    /// `udp` (multicast) or `udpu` (ours only: unicast to the members).
    pub transport: String,
    /// Extra `totem {}` lines (`  key: value\n`).
    pub totem: Vec<String>,
    /// Ours with this `realtime_priority` (`yes`: SCHED_RR while it
    /// sleeps, as classic always ran; `no`; `auto`); `None`: its default.
    pub realtime: Option<&'static str>,
    pub keep_logs: bool,
    /// Keeps labs of one process apart.
    pub tag: String,
}

/// Member count reported by our CFG service at `socket`, if reachable.
pub fn member_count(socket: &Path) -> Option<usize> {
    let connect = |role, token| -> Option<(std::os::unix::net::UnixStream, Option<HelloReply>)> {
        let mut s = std::os::unix::net::UnixStream::connect(socket).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let h = Hello { protocol: PROTOCOL_VERSION, role, service: ais_ipc::service::CFG, token };
        write_message(&mut s, HANDSHAKE_SERVICE, HELLO_ID, &h.encode()).ok()?;
        if role == Role::Dispatch {
            return Some((s, None));
        }
        let (_, body) = read_message(&mut s).ok()?;
        Some((s, HelloReply::decode(&body).ok()))
    };
    let (mut req, reply) = connect(Role::Request, 0)?;
    let reply = reply?;
    let _dispatch = connect(Role::Dispatch, reply.token)?;
    write_message(&mut req, ais_ipc::service::CFG, ais_ipc::cfg::STATUS, &[]).ok()?;
    let (_, body) = read_message(&mut req).ok()?;
    Some(ais_ipc::cfg::Status::decode_response(&body).ok()?.ok()?.members.len())
}

/// Running executives, killed by pid on drop, before the lab goes.
pub struct Cluster {
    children: Vec<Child>,
    dirs: Vec<PathBuf>,
    keep_logs: bool,
    stack: Stack,
    lab: Lab,
}

impl Cluster {
    /// Starts every node; for ours, returns once every node reports the
    /// whole ring (20 s at most). Classic executives give no such report
    /// here: clients wait for the membership themselves.
    pub fn start(spec: &Spec) -> Result<Cluster, String> {
        let lab = Lab::create(&spec.tag, spec.nodes)?;
        let root = std::env::temp_dir().join(format!("ais-cluster-{}-{}", std::process::id(), spec.tag));
        let mut c = Cluster {
            children: Vec::new(),
            dirs: Vec::new(),
            keep_logs: spec.keep_logs,
            stack: spec.stack.clone(),
            lab,
        };
        let key: Vec<u8> = (0..128u32).map(|i| (i * 37 + 11) as u8).collect();
        for i in 1..=spec.nodes {
            let dir = root.join(format!("n{i}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("run")).map_err(|e| e.to_string())?;
            std::fs::write(dir.join("authkey"), &key).map_err(|e| e.to_string())?;
            // Our executive refuses a key others may read.
            std::fs::set_permissions(dir.join("authkey"), std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .map_err(|e| e.to_string())?;
            let log = std::fs::File::create(dir.join("stderr.log")).map_err(|e| e.to_string())?;
            let mut cmd = match &spec.stack {
                Stack::Ours { aisexec } => {
                    std::fs::write(dir.join("corosync.conf"), our_config(spec)).map_err(|e| e.to_string())?;
                    let mut cmd = c.lab.command(i, &aisexec.to_string_lossy());
                    cmd.arg("-f")
                        .env("COROSYNC_RUN_DIR", dir.join("run"))
                        .env("COROSYNC_MAIN_CONFIG_FILE", dir.join("corosync.conf"))
                        .env("COROSYNC_TOTEM_AUTHKEY_FILE", dir.join("authkey"))
                        .env("COROSYNC_AMF_CONFIG_FILE", dir.join("amf.conf"))
                        .env_remove("OPENAIS_MAIN_CONFIG_FILE");
                    cmd
                }
                Stack::Classic { tree } => {
                    std::fs::write(dir.join("openais.conf"), classic_config(spec, i)).map_err(|e| e.to_string())?;
                    let mut cmd = c.lab.command(i, &tree.join("exec/aisexec").to_string_lossy());
                    // It loads its services (*.lcrso) from LD_LIBRARY_PATH.
                    cmd.arg("-f")
                        .current_dir(&dir)
                        .env("OPENAIS_MAIN_CONFIG_FILE", dir.join("openais.conf"))
                        .env("OPENAIS_TOTEM_AUTHKEY_FILE", dir.join("authkey"))
                        .env("OPENAIS_RUN_DIR", dir.join("run"))
                        .env("LD_LIBRARY_PATH", tree.join("exec"));
                    cmd
                }
            };
            let child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|e| format!("cannot start node {i}: {e}"))?;
            c.children.push(child);
            c.dirs.push(dir);
        }
        if matches!(spec.stack, Stack::Ours { .. }) {
            c.wait_ring(spec.nodes)?;
        }
        Ok(c)
    }

    fn wait_ring(&mut self, nodes: usize) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.sockets().iter().all(|s| member_count(s) == Some(nodes)) {
            for (i, ch) in self.children.iter_mut().enumerate() {
                if let Ok(Some(st)) = ch.try_wait() {
                    return Err(format!("aisexec on node {} exited: {st}\n{}", i + 1, self.log(i)));
                }
            }
            if Instant::now() > deadline {
                return Err(format!("no ring of {nodes} within 20 s\n{}", self.log(0)));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Our executives' IPC sockets, node 1 first.
    pub fn sockets(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("run").join(ais_ipc::SOCKET_NAME)).collect()
    }

    /// Node `i`'s (0-based) log.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dirs[i].join("stderr.log")).unwrap_or_default()
    }

    /// A command running `program` as a client of node `i` (1-based):
    /// inside its namespace, with its run directory.
    pub fn client(&self, i: usize, program: &Path) -> Command {
        let mut cmd = self.lab.command(i, &program.to_string_lossy());
        if matches!(self.stack, Stack::Ours { .. }) {
            cmd.env("COROSYNC_RUN_DIR", self.dirs[i - 1].join("run"));
        }
        cmd
    }

    /// The pid of node `i`'s (1-based) executive.
    pub fn pid(&self, i: usize) -> u32 {
        self.children[i - 1].id()
    }

    /// Node `i`'s (1-based) namespace, executive pid and run directory.
    pub fn describe(&self, i: usize) -> String {
        format!(
            "netns {} pid {} COROSYNC_RUN_DIR={}",
            self.lab.node_ns(i),
            self.children[i - 1].id(),
            self.dirs[i - 1].join("run").display()
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // SIGTERM first, so each executive logs its counters as it stops
        // (kept with keep_logs); SIGKILL what has not exited in 2 s.
        for ch in &self.children {
            // SAFETY: kill(2) on the pid of a child not yet waited for.
            unsafe { libc::kill(ch.id() as libc::pid_t, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        for ch in &mut self.children {
            while matches!(ch.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = ch.kill();
            let _ = ch.wait();
        }
        if self.keep_logs {
            for d in &self.dirs {
                eprintln!("logs kept in {}", d.display());
            }
        } else if let Some(root) = self.dirs.first().and_then(|d| d.parent()) {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

fn our_config(spec: &Spec) -> String {
    let iface_lines = if spec.transport == "udpu" {
        (1..=spec.nodes).map(|m| format!("    member {{\n      memberaddr: {}\n    }}\n", Lab::ipv4(m))).collect()
    } else {
        "    mcastaddr: 239.192.88.1\n".to_string()
    };
    format!(
        "totem {{\n  version: 2\n  secauth: {}\n  token: 1000\n  transport: {}\n{}  interface {{\n    \
         ringnumber: 0\n    bindnetaddr: 10.0.0.0\n    mcastport: 5405\n{}  }}\n}}\n\
         logging {{\n  to_syslog: no\n  to_stderr: yes\n}}\n{}",
        if spec.secauth { "on" } else { "off" },
        spec.transport,
        spec.totem.concat(),
        iface_lines,
        spec.realtime.map(|p| format!("aisexec {{\n  realtime_priority: {p}\n}}\n")).unwrap_or_default()
    )
}

/// openais 0.80's `openais.conf` for node `i`: the same ring; it runs as
/// root here (its default user `ais` need not exist). Its `bindnetaddr` is
/// the node's address: it matches a network only on an address that has
/// a broadcast address, which the lab's have not.
fn classic_config(spec: &Spec, i: usize) -> String {
    format!(
        "totem {{\n  version: 2\n  secauth: {}\n  threads: 0\n  token: 1000\n{}  interface {{\n    \
         ringnumber: 0\n    bindnetaddr: {}\n    mcastaddr: 239.192.88.1\n    mcastport: 5405\n  }}\n}}\n\
         logging {{\n  to_stderr: yes\n  to_file: no\n  debug: off\n}}\n\
         aisexec {{\n  user: root\n  group: root\n}}\namf {{\n  mode: disabled\n}}\n",
        if spec.secauth { "on" } else { "off" },
        spec.totem.concat(),
        Lab::ipv4(i),
    )
}

/// A `--totem key=value` argument of the bench tools as its
/// `corosync.conf` line in the `totem {}` section.
pub fn totem_arg(kv: &str) -> Result<String, String> {
    let (k, v) = kv.split_once('=').ok_or("--totem takes key=value")?;
    Ok(format!("  {}: {}\n", k.trim(), v.trim()))
}

/// A `--transport` argument of the bench tools: `udp` or `udpu`.
pub fn transport_arg(v: String) -> Result<String, String> {
    if v == "udp" || v == "udpu" { Ok(v) } else { Err("--transport is udp or udpu".into()) }
}
