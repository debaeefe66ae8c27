//! A small network lab for multi-node tests and the bench: one "switch"
//! network namespace holding a bridge, and N node namespaces each joined to
//! it by a veth pair (`eth0` in the node, `p<i>` on the switch). Node `i`
//! (1-based) has `10.0.0.<i>/24` and `fd00:a15::<i>/64` (`nodad`, so it is
//! usable at once) on `eth0`.
//!
//! [`Lab::create_redundant`] adds a second network for redundant ring
//! tests: bridge `br1`, `eth1` in each node (`q<i>` on the switch) with
//! `10.0.1.<i>/24` ([`Lab::ipv4_on`]).
//!
//! Nothing of the host's network is touched: every interface lives in a
//! namespace this lab created. All namespaces are named
//! `aisx-<pid>-<tag>-...` and deleted in `Drop` (also when a test panics);
//! processes still inside them, which can only be ours, are killed first.
//! Namespaces left behind by a lab whose process died (kill -9 of a test
//! run) are removed when the next lab is created.
//!
//! Needs root and iproute2; [`Lab::create`] returns an error otherwise, so
//! callers can skip.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Command, Stdio};

/// Name prefix of every namespace a lab creates.
pub const PREFIX: &str = "aisx-";

/// A switch namespace with a bridge and `nodes` node namespaces.
pub struct Lab {
    base: String,
    nodes: usize,
    /// 1, or 2 with [`Lab::create_redundant`].
    networks: usize,
    /// Namespaces created so far, deleted in reverse order on drop.
    created: Vec<String>,
}

/// Runs `ip <args>`, feeding `batch` on stdin when given (`-batch -`).
fn ip(args: &[&str], batch: Option<&str>) -> Result<(), String> {
    let mut cmd = Command::new("ip");
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    if batch.is_some() {
        cmd.args(["-batch", "-"]).stdin(Stdio::piped());
    } else {
        cmd.stdin(Stdio::null());
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot run ip: {e}"))?;
    if let (Some(text), Some(mut stdin)) = (batch, child.stdin.take()) {
        stdin.write_all(text.as_bytes()).map_err(|e| format!("ip batch: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn ip_output(args: &[&str]) -> String {
    Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Kills every process inside namespace `ns` (only ours can be there) and
/// deletes it.
fn remove_namespace(ns: &str) {
    for pid in ip_output(&["netns", "pids", ns]).split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
        // SAFETY: plain kill(2) of a process inside a namespace we created.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let _ = ip(&["netns", "del", ns], None);
}

/// Deletes namespaces named `aisx-<pid>-...` whose creating process is gone.
fn remove_stale() {
    for line in ip_output(&["netns", "list"]).lines() {
        let Some(name) = line.split_whitespace().next() else { continue };
        let Some(rest) = name.strip_prefix(PREFIX) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            remove_namespace(name);
        }
    }
}

impl Lab {
    /// Creates the switch and `nodes` nodes; `tag` keeps labs of one
    /// process apart (tests run in parallel threads).
    pub fn create(tag: &str, nodes: usize) -> Result<Lab, String> {
        Self::create_networks(tag, nodes, 1)
    }

    /// Like [`create`](Self::create), plus the second network (`br1`,
    /// `eth1`, `10.0.1.<i>/24`).
    pub fn create_redundant(tag: &str, nodes: usize) -> Result<Lab, String> {
        Self::create_networks(tag, nodes, 2)
    }

    fn create_networks(tag: &str, nodes: usize, networks: usize) -> Result<Lab, String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("not root".into());
        }
        remove_stale();
        let mut lab =
            Lab { base: format!("{PREFIX}{}-{tag}", std::process::id()), nodes, networks, created: Vec::new() };
        let sw = lab.switch_ns();
        lab.add_namespace(&sw)?;
        ip(
            &["-n", &sw],
            Some("link set lo up\nlink add br0 type bridge mcast_snooping 0 stp_state 0\nlink set br0 up\n"),
        )?;
        if networks == 2 {
            ip(&["-n", &sw], Some("link add br1 type bridge mcast_snooping 0 stp_state 0\nlink set br1 up\n"))?;
        }
        for i in 1..=nodes {
            let ns = lab.node_ns(i);
            lab.add_namespace(&ns)?;
            let port = format!("p{i}");
            ip(&["-n", &sw, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns], None)?;
            ip(&["-n", &sw], Some(&format!("link set {port} master br0\nlink set {port} up\n")))?;
            let v4 = Lab::ipv4(i);
            let v6 = Lab::ipv6(i);
            ip(
                &["-n", &ns],
                Some(&format!(
                    "link set lo up\nlink set eth0 multicast on\nlink set eth0 up\n\
                     addr add {v4}/24 dev eth0\naddr add {v6}/64 dev eth0 nodad\n\
                     route add 224.0.0.0/4 dev eth0\n"
                )),
            )?;
            if networks == 2 {
                let port = format!("q{i}");
                ip(&["-n", &sw, "link", "add", &port, "type", "veth", "peer", "name", "eth1", "netns", &ns], None)?;
                ip(&["-n", &sw], Some(&format!("link set {port} master br1\nlink set {port} up\n")))?;
                let v4 = Lab::ipv4_on(1, i);
                ip(
                    &["-n", &ns],
                    Some(&format!("link set eth1 multicast on\nlink set eth1 up\naddr add {v4}/24 dev eth1\n")),
                )?;
            }
        }
        Ok(lab)
    }

    fn add_namespace(&mut self, ns: &str) -> Result<(), String> {
        ip(&["netns", "add", ns], None)?;
        self.created.push(ns.to_string());
        Ok(())
    }

    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// The namespace holding the bridge.
    pub fn switch_ns(&self) -> String {
        format!("{}-sw", self.base)
    }

    /// Node `i`'s namespace (1-based).
    pub fn node_ns(&self, i: usize) -> String {
        format!("{}-n{i}", self.base)
    }

    pub fn ipv4(i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, i as u8)
    }

    /// Node `i`'s IPv4 address on network `net` (0: `eth0`, 1: `eth1`).
    pub fn ipv4_on(net: u8, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, net, i as u8)
    }

    /// Takes network `net` (1 with [`create_redundant`](Self::create_redundant))
    /// down for every node: its switch ports leave the bridge, so frames go
    /// nowhere while every node's interface stays up.
    pub fn network_down(&self, net: usize) -> Result<(), String> {
        self.network_ports(net, "nomaster")
    }

    /// Undoes [`network_down`](Self::network_down).
    pub fn network_up(&self, net: usize) -> Result<(), String> {
        self.network_ports(net, &format!("master br{net}"))
    }

    fn network_ports(&self, net: usize, how: &str) -> Result<(), String> {
        if net >= self.networks {
            return Err(format!("the lab has no network {net}"));
        }
        let prefix = if net == 0 { "p" } else { "q" };
        let batch: String = (1..=self.nodes).map(|i| format!("link set {prefix}{i} {how}\n")).collect();
        ip(&["-n", &self.switch_ns()], Some(&batch))
    }

    pub fn ipv6(i: usize) -> Ipv6Addr {
        Ipv6Addr::new(0xfd00, 0xa15, 0, 0, 0, 0, 0, i as u16)
    }

    pub fn addr(i: usize, v6: bool) -> IpAddr {
        if v6 { IpAddr::V6(Lab::ipv6(i)) } else { IpAddr::V4(Lab::ipv4(i)) }
    }

    /// The network address of the lab (for `bindnetaddr` as a network).
    pub fn network(v6: bool) -> IpAddr {
        Lab::addr(0, v6)
    }

    /// Cuts node `i` off the switch (its own interface stays up, frames go
    /// nowhere): a partition.
    pub fn isolate(&self, i: usize) -> Result<(), String> {
        ip(&["-n", &self.switch_ns(), "link", "set", &format!("p{i}"), "nomaster"], None)
    }

    /// Puts node `i` back on the switch.
    pub fn reconnect(&self, i: usize) -> Result<(), String> {
        ip(&["-n", &self.switch_ns(), "link", "set", &format!("p{i}"), "master", "br0"], None)
    }

    /// A command running `program` inside node `i`'s namespace. `ip netns
    /// exec` execs the program, so the child's pid is the program's.
    pub fn command(&self, i: usize, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.node_ns(i), program]);
        c
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.created.iter().rev() {
            remove_namespace(ns);
        }
    }
}
