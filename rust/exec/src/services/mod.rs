//! Services built into the executive itself, and [`all`], the one list
//! of them that startup and the tests use. Adding a service: see
//! `rust/exec/README.md`.

#![forbid(unsafe_code)]

pub mod amf;
pub mod cfg;
pub mod ckpt;
pub mod clm;
pub mod cpg;
pub mod evs;
pub mod evt;
pub mod lck;
pub mod msg;
pub mod replicated;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
pub(crate) mod testkit;

use crate::config::Config;
use crate::service::Service;

/// Every service of the executive, set up from `config`; `host` is what
/// CLM says about this node. Ids must be distinct and below
/// `ais_ipc::service::COUNT` (`Executive::new` refuses the list otherwise).
/// `amf`: the AMF service if enabled (see [`amf::from_config`]).
pub fn all(config: &Config, host: &clm::LocalIdentity, amf: Option<amf::Amf>) -> Vec<Box<dyn Service>> {
    let events = evt::EvtConfig {
        delivery_queue_size: config.event.delivery_queue_size,
        delivery_queue_resume: config.event.delivery_queue_resume,
    };
    let mut services: Vec<Box<dyn Service>> = vec![
        Box::new(cfg::CfgService::default()),
        Box::new(clm::ClmService::new(host.clone())),
        Box::new(evs::EvsService::new()),
        Box::new(cpg::CpgService::new()),
        Box::new(ckpt::CkptService::default()),
        Box::new(evt::EvtService::new(evt::Evt::new(events))),
        Box::new(lck::LckService::default()),
        Box::new(msg::MsgService::default()),
    ];
    if let Some(amf) = amf {
        services.push(Box::new(replicated::Engine::new(amf)));
    }
    services
}
