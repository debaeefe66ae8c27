//! The AIS executive, `aisexec`: configuration, logging, the main loop,
//! the service registry and its ordering seam, and the IPC server.
//!
//! The binary (`main.rs`) only parses the command line and calls
//! [`startup::run`]; everything else lives here so tests and later crates
//! can use it.
//!
//! Map: [`config`] (paths, lexer, parser, schema, authkey) -> [`startup`]
//! (order of things) -> [`daemon`] (run-dir lock, pid file, detach) ->
//! [`mainloop`] (epoll, signals, routing) over [`ipc_server`] (sockets,
//! credentials, handshake, bounded buffers), [`ordering`] (the seam where
//! Totem plugs in: [`ordering::Loopback`] for one node,
//! [`totem_ring::TotemRing`] on the network, configured by
//! [`totem_config`], its ring sequence kept by [`ring_seq`]) and
//! [`service`] (the trait every service implements; [`services::cfg`] is
//! the first).

pub mod accounts;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod files;
pub mod ipc_server;
pub mod log;
pub mod mainloop;
pub mod metrics_http;
pub mod ordering;
pub mod poll_gate;
pub mod quorum;
pub mod ring_seq;
pub mod ring_watch;
pub mod sd_notify;
pub mod service;
pub mod services;
pub mod session_keys;
pub mod startup;
pub mod stats;
pub mod sync;
pub mod sys;
pub mod totem_config;
pub mod totem_ring;
