//! Startup and shutdown order of the executive.

use crate::config::{self, Loaded, Realtime};
use crate::daemon::{self, Ready, RunDir};
use crate::ipc_server::{AccessPolicy, Server};
use crate::mainloop::Executive;
use crate::ordering::{Loopback, Ordering};
use crate::service::Now;
use crate::services::clm::LocalIdentity;
use crate::sys::{self, Epoll};
use crate::totem_config::RingConfig;
use crate::totem_ring::TotemRing;

/// Default node id of a single node without `totem { nodeid }`.
pub const DEFAULT_NODE_ID: u32 = 1;

/// Runs the executive; returns the process exit code. Errors before
/// detaching go to stderr; after, to the log and the waiting parent.
pub fn run(foreground: bool) -> i32 {
    crate::files::set_umask();
    let loaded = match config::load() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("aisexec: {e}");
            return 1;
        }
    };
    let ring = match crate::totem_config::ring_config(&loaded) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aisexec: {e}");
            return 1;
        }
    };
    // Before detaching, so that a configuration for another host fails
    // where it was started, naming the line.
    if let Some(Err(e)) = ring.as_ref().map(|r| ring_addresses(&loaded, r)) {
        eprintln!("aisexec: {e}");
        return 1;
    }
    let run_dir = ais_ipc::run_dir();
    let mut rundir = match RunDir::acquire(&run_dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aisexec: {e}");
            return 1;
        }
    };
    let mut ready = if foreground {
        Ready::none()
    } else {
        match daemon::daemonize() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("aisexec: cannot detach: {e}");
                return 1;
            }
        }
    };
    let logging = &loaded.config.logging;
    let allow_stderr = crate::log::stderr_allowed(logging, foreground, crate::log::stderr_is_journal());
    if let Err(e) = crate::log::init(logging, allow_stderr) {
        let why = log_file_error(&loaded.config.logging, &e);
        eprintln!("aisexec: {why}");
        ready.fail(&why);
        return 1;
    }
    match serve(&loaded, ring, &mut rundir, &mut ready) {
        Ok(()) => 0,
        Err(why) => {
            crate::log_error!(Main, "{why}");
            ready.fail(&why);
            1
        }
    }
}

/// Why the log file could not be opened, naming it, and its directory
/// when that is what is missing.
fn log_file_error(logging: &config::Logging, e: &std::io::Error) -> String {
    let Some(path) = &logging.logfile else { return format!("cannot open log file: {e}") };
    match path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        Some(dir) => format!("cannot open log file {}: directory {} does not exist", path.display(), dir.display()),
        None => format!("cannot open log file {}: {e}", path.display()),
    }
}

fn serve(loaded: &Loaded, ring: Option<RingConfig>, rundir: &mut RunDir, ready: &mut Ready) -> Result<(), String> {
    let config = &loaded.config;
    crate::log_notice!(Main, "AIS executive {} starting", env!("CARGO_PKG_VERSION"));
    crate::log_notice!(Main, "{}", loaded.describe_source());
    for line in note_lines(loaded) {
        crate::log_notice!(Main, "{line}");
    }
    crate::log_info!(Main, "AMF configuration file: {}", loaded.paths.amf.display());
    if loaded.secauth {
        crate::log_info!(Main, "packets will be sealed with the key from {}", loaded.key_source());
    }
    sys::ignore_sigpipe();
    let realtime = match config.aisexec.realtime_priority {
        Realtime::Never => Realtime::Never,
        Realtime::Always => match sys::set_realtime_priority() {
            Ok(()) => {
                crate::log_notice!(Main, "running with real-time priority (SCHED_RR)");
                Realtime::Always
            }
            // As the classic executive: a warning, then on as a normal process.
            Err(e) => {
                crate::log_warn!(Main, "cannot set real-time priority (SCHED_RR): {e}; running as a normal process");
                Realtime::Never
            }
        },
        // The default: tried now, used while other work holds the CPU.
        Realtime::WhileContested => match sys::set_realtime_priority().and_then(|()| sys::set_normal_policy()) {
            Ok(()) => {
                crate::log_info!(Main, "real-time priority (SCHED_RR) while other work holds the CPU");
                Realtime::WhileContested
            }
            Err(e) => {
                crate::log_info!(Main, "no real-time priority (SCHED_RR): {e}; running as a normal process");
                Realtime::Never
            }
        },
    };
    if config.aisexec.mlockall {
        match sys::lock_memory() {
            Ok(()) => crate::log_notice!(Main, "memory locked (mlockall)"),
            Err(e) => crate::log_warn!(Main, "cannot lock memory: {e}"),
        }
    }
    match sys::raise_nofile_limit() {
        Ok(n) => crate::log_debug!(Main, "open file limit {n}"),
        Err(e) => crate::log_warn!(Main, "cannot raise the open file limit: {e}"),
    }
    // SIGHUP reopens the log file (see the main loop).
    let signals = sys::signalfd(&[libc::SIGTERM, libc::SIGINT, libc::SIGHUP]).map_err(|e| format!("signalfd: {e}"))?;
    let epoll = Epoll::new().map_err(|e| format!("epoll: {e}"))?;
    let (policy, warnings) = AccessPolicy::from_config(config);
    // The default account ('ais') missing is the usual case, not news on
    // every start; an account the configuration names is.
    let defaults = crate::config::Aisexec::default();
    let default_account = (&config.aisexec.user, &config.aisexec.group) == (&defaults.user, &defaults.group);
    if default_account && !warnings.is_empty() {
        crate::log_debug!(Ipc, "{}", warnings.join("; "));
    } else {
        for w in warnings {
            crate::log_notice!(Ipc, "{w}");
        }
    }
    let host = LocalIdentity::of_this_host(Now::read().wall);
    let amf = crate::services::amf::from_config(config.amf_enabled, &loaded.paths.amf, &host.name)?;
    let services = crate::services::all(config, &host, amf);
    let names: Vec<&str> = services.iter().map(|s| s.name()).collect();
    crate::log_info!(Main, "services: {}", names.join(" "));
    // The pid file exists before the socket accepts: whoever sees the
    // socket can read the pid.
    rundir.write_pid_file().map_err(|e| format!("cannot write pid file in {}: {e}", rundir.dir.display()))?;
    let socket = rundir.dir.join(ais_ipc::SOCKET_NAME);
    let server = Server::bind(&socket, policy, Executive::service_ids(&services), &epoll)
        .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
    let clustered = ring.is_some();
    let ordering: Box<dyn Ordering> = match ring {
        Some(ring) => Box::new(TotemRing::start_ring(ring, &ring_state_dir(loaded, rundir)?)?),
        None => {
            let (node, address) = local_identity(config);
            if let Some(line) = loopback_line(loaded) {
                crate::log_notice!(Main, "{line}");
            }
            Box::new(Loopback::new(node, address))
        }
    };
    let mut exec = Executive::new(epoll, signals, server, ordering, services).map_err(|e| format!("main loop: {e}"))?;
    if let Some(addr) = config.aisexec.metrics {
        exec.serve_metrics(crate::metrics_http::start(addr)?)
            .map_err(|e| format!("metrics: cannot watch its wake fd: {e}"))?;
        crate::log_notice!(Main, "metrics: serving http://{addr}/metrics");
    }
    let rules = quorum_rules(config).map_err(|e| format!("{}: quorum: {e}", source_name(loaded)))?;
    match (&rules, quorum_line(&rules, clustered)) {
        (Some(_), Some(line)) => crate::log_notice!(Main, "{line}"),
        (None, Some(line)) => crate::log_warn!(Main, "{line}"),
        (_, None) => {}
    }
    exec.set_quorum(rules);
    exec.set_realtime(realtime, realtime == Realtime::Always);
    crate::log_notice!(Main, "ready: listening on {}", socket.display());
    ready.ok();
    crate::sd_notify::tell("READY=1");
    let sig = exec.run().map_err(|e| format!("main loop failed: {e}"))?;
    crate::log_notice!(Main, "signal {sig} received: shutting down");
    crate::sd_notify::tell("STOPPING=1");
    exec.shutdown();
    let s = &exec.server().stats;
    crate::log_info!(
        Ipc,
        "accepted {} refused {} malformed {} slow-dropped {} held {}",
        s.accepted,
        s.refused,
        s.malformed,
        s.slow_dropped,
        s.held
    );
    crate::log_notice!(Main, "stopped");
    Ok(())
}

/// The quorum rules of `config`: votes come from the first interface's
/// member list (`quorum_votes`, 1 by default).
pub fn quorum_rules(config: &config::Config) -> Result<Option<crate::quorum::Rules>, String> {
    let members: Vec<(u32, u32)> = match config.totem.interfaces.first() {
        Some(i) => i.members.iter().zip(&i.member_votes).map(|(a, v)| (member_id(config, *a), *v)).collect(),
        None => Vec::new(),
    };
    crate::quorum::Rules::from_config(config.quorum.as_ref(), &members)
}

/// What the log (and `aisexec -t`) says about quorum: the rules, or for a
/// cluster without them, the warning that partitions may lose writes.
fn quorum_line(rules: &Option<crate::quorum::Rules>, clustered: bool) -> Option<String> {
    match rules {
        Some(r) => Some(format!(
            "quorum: corosync_votequorum, {} expected votes{}{}",
            r.expected_votes,
            if r.two_node { ", two_node" } else { "" },
            if r.wait_for_all { ", wait_for_all" } else { "" }
        )),
        None if clustered => Some(
            "no quorum configured: every partition accepts changes, and when partitions merge the changes of \
             all but one are lost (quorum { provider: corosync_votequorum } prevents it)"
                .to_string(),
        ),
        None => None,
    }
}

/// The node id of a listed member (derived from its address, as Totem
/// does for a node without `nodeid`).
fn member_id(config: &config::Config, addr: std::net::IpAddr) -> u32 {
    match addr {
        std::net::IpAddr::V4(v4) => {
            let id = ais_net::config::nodeid_from_ipv4(v4);
            if config.totem.clear_node_high_bit { id & 0x7FFF_FFFF } else { id }
        }
        std::net::IpAddr::V6(_) => 0,
    }
}

/// Where the ring sequence file is kept: the run directory, or the
/// directory `OPENAIS_RUN_DIR` names (made, mode 0700, as openais did).
fn ring_state_dir(loaded: &Loaded, rundir: &RunDir) -> Result<std::path::PathBuf, String> {
    use std::os::unix::fs::DirBuilderExt;
    let Some(dir) = &loaded.paths.ring_state_dir else { return Ok(rundir.dir.clone()) };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {} ({}): {e}", dir.display(), config::paths::RING_STATE_ENV))?;
    crate::files::check_private_dir(dir).map_err(|e| format!("{}: {e}", config::paths::RING_STATE_ENV))?;
    crate::log_info!(Main, "ring sequence kept in {} ({})", dir.display(), config::paths::RING_STATE_ENV);
    Ok(dir.clone())
}

fn source_name(loaded: &Loaded) -> String {
    loaded.config.source.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
}

/// A file was read but has no `totem { interface }`: say that this node
/// will be alone, so that no one mistakes it for a cluster member.
fn loopback_line(loaded: &Loaded) -> Option<String> {
    let file = loaded.config.source.as_ref()?;
    loaded
        .config
        .totem
        .interfaces
        .is_empty()
        .then(|| format!("no totem interface in {}: running a single-node cluster on loopback", file.display()))
}

/// The configuration's notes, one line each, naming the file.
fn note_lines(loaded: &Loaded) -> Vec<String> {
    let file = source_name(loaded);
    loaded.config.notes.iter().map(|n| n.display(&file)).collect()
}

/// The local address each ring binds and the node id it gets, checked
/// against this host's interfaces; an `interface` that matches none is an
/// error naming its line.
fn ring_addresses(loaded: &Loaded, ring: &RingConfig) -> Result<Vec<(ais_net::config::BoundInterface, u32)>, String> {
    let ifs = ais_net::local_interfaces().map_err(|e| format!("cannot list the network interfaces: {e}"))?;
    let file = source_name(loaded);
    let nets = std::iter::once(&ring.net).chain(ring.redundant.as_ref().map(|(n, _)| n));
    nets.enumerate()
        .map(|(i, net)| {
            let line = loaded.config.totem.interfaces.iter().find(|f| f.ringnumber as usize == i).map_or(0, |f| f.line);
            let err = |key: &str, e: ais_net::ConfigError| {
                config::ConfigError::new(&file, line, key, e.to_string()).to_string()
            };
            let bound = ais_net::config::resolve_bind(net.bindnetaddr, &ifs).map_err(|e| err("bindnetaddr", e))?;
            let id = net.node_id_for(bound.addr).map_err(|e| err("nodeid", e))?;
            Ok((bound, id))
        })
        .collect()
}

/// `aisexec -t`: checks the configuration as a start would, without
/// starting anything: the file and its keys, the Totem parameters, the
/// key, the local address and node id of each ring, the log file's
/// directory. What it found goes to stdout and the exit code is 0; the
/// first problem goes to stderr and the exit code is 1.
pub fn check() -> i32 {
    match check_config() {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            0
        }
        Err(e) => {
            eprintln!("aisexec: {e}");
            1
        }
    }
}

fn check_config() -> Result<Vec<String>, String> {
    let loaded = config::load().map_err(|e| e.to_string())?;
    let mut out = vec![loaded.describe_source()];
    out.extend(note_lines(&loaded));
    let file = source_name(&loaded);
    out.extend(loopback_line(&loaded));
    if let Some(ring) = crate::totem_config::ring_config(&loaded).map_err(|e| e.to_string())? {
        for (i, (bound, id)) in ring_addresses(&loaded, &ring)?.iter().enumerate() {
            let id = if i == 0 { format!("node id {id} ") } else { String::new() };
            let port =
                if i == 0 { ring.net.mcastport } else { ring.redundant.as_ref().map_or(0, |(n, _)| n.mcastport) };
            out.push(format!("ring {i}: {id}on {} ({}) port {port}", bound.addr, bound.name));
        }
    }
    // The rules when there are some (the warning without them is for the log).
    out.extend(quorum_line(&quorum_rules(&loaded.config).map_err(|e| format!("{file}: quorum: {e}"))?, false));
    let logging = &loaded.config.logging;
    if let Some(path) =
        logging.logfile.as_ref().filter(|_| logging.to_file || logging.subsys.iter().any(|x| x.to_file == Some(true)))
    {
        let dir = path.parent().unwrap_or(std::path::Path::new("/"));
        if !dir.is_dir() {
            return Err(format!("{file}: logfile: directory {} does not exist", dir.display()));
        }
    }
    if loaded.secauth {
        out.push(format!("packets will be sealed with the key from {}", loaded.key_source()));
    }
    out.push("configuration OK".to_string());
    Ok(out)
}

/// Node id and address the single-node ring reports.
fn local_identity(config: &config::Config) -> (u32, String) {
    let node = config.totem.nodeid.unwrap_or(DEFAULT_NODE_ID);
    let address =
        config.totem.interfaces.first().map(|i| i.bindnetaddr.to_string()).unwrap_or_else(|| "127.0.0.1".to_string());
    (node, address)
}
