//! Startup and shutdown order of the executive.

use crate::config::{self, Loaded};
use crate::daemon::{self, Ready, RunDir};
use crate::ipc_server::{AccessPolicy, Server};
use crate::mainloop::Executive;
use crate::ordering::{Loopback, Ordering};
use crate::service::Now;
use crate::services::clm::LocalIdentity;
use crate::sys::{self, Epoll};
use crate::totem_ring::{RingConfig, TotemRing};

/// Default node id of a single node without `totem { nodeid }`.
pub const DEFAULT_NODE_ID: u32 = 1;

/// Runs the executive; returns the process exit code. Errors before
/// detaching go to stderr; after, to the log and the waiting parent.
pub fn run(foreground: bool) -> i32 {
    let loaded = match config::load() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("aisexec: {e}");
            return 1;
        }
    };
    let ring = match crate::totem_ring::ring_config(&loaded) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aisexec: {e}");
            return 1;
        }
    };
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
    if let Err(e) = crate::log::init(&loaded.config.logging, foreground) {
        let why = format!("cannot open log file: {e}");
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

fn serve(loaded: &Loaded, ring: Option<RingConfig>, rundir: &mut RunDir, ready: &mut Ready) -> Result<(), String> {
    let config = &loaded.config;
    crate::log_notice!(Main, "AIS executive {} starting", env!("CARGO_PKG_VERSION"));
    match &config.source {
        Some(p) => crate::log_info!(Main, "configuration read from {}", p.display()),
        None => crate::log_notice!(
            Main,
            "no configuration file at {}: running a single-node cluster on loopback",
            loaded.paths.main.display()
        ),
    }
    crate::log_info!(Main, "AMF configuration file: {}", loaded.paths.amf.display());
    if loaded.secauth {
        crate::log_info!(Main, "packets will be sealed with the key from {}", loaded.paths.authkey.display());
    }
    sys::ignore_sigpipe();
    if config.aisexec.realtime_priority {
        match sys::set_realtime_priority() {
            Ok(()) => crate::log_notice!(Main, "running with real-time priority (SCHED_RR)"),
            Err(e) => crate::log_warn!(Main, "cannot set real-time priority: {e}"),
        }
    }
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
    let signals = sys::signalfd(&[libc::SIGTERM, libc::SIGINT]).map_err(|e| format!("signalfd: {e}"))?;
    let epoll = Epoll::new().map_err(|e| format!("epoll: {e}"))?;
    let (policy, warnings) = AccessPolicy::from_config(config);
    for w in warnings {
        crate::log_notice!(Ipc, "{w}");
    }
    let host = LocalIdentity::of_this_host(Now::read().wall);
    let services = crate::services::all(config, &host);
    let names: Vec<&str> = services.iter().map(|s| s.name()).collect();
    crate::log_info!(Main, "services: {}", names.join(" "));
    // The pid file exists before the socket accepts: whoever sees the
    // socket can read the pid.
    rundir.write_pid_file().map_err(|e| format!("cannot write pid file in {}: {e}", rundir.dir.display()))?;
    let socket = rundir.dir.join(ais_ipc::SOCKET_NAME);
    let server = Server::bind(&socket, policy, Executive::service_ids(&services), &epoll)
        .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
    let ordering: Box<dyn Ordering> = match ring {
        Some(ring) => Box::new(TotemRing::start_ring(ring, &rundir.dir)?),
        None => {
            let (node, address) = local_identity(config);
            Box::new(Loopback::new(node, address))
        }
    };
    let mut exec = Executive::new(epoll, signals, server, ordering, services).map_err(|e| format!("main loop: {e}"))?;
    crate::log_notice!(Main, "ready: listening on {}", socket.display());
    ready.ok();
    let sig = exec.run().map_err(|e| format!("main loop failed: {e}"))?;
    crate::log_notice!(Main, "signal {sig} received: shutting down");
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

/// Node id and address the single-node ring reports.
fn local_identity(config: &config::Config) -> (u32, String) {
    let node = config.totem.nodeid.unwrap_or(DEFAULT_NODE_ID);
    let address =
        config.totem.interfaces.first().map(|i| i.bindnetaddr.to_string()).unwrap_or_else(|| "127.0.0.1".to_string());
    (node, address)
}
