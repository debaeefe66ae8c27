//! Services built into the executive itself.

pub mod cfg;
pub mod ckpt;
pub mod clm;
pub mod cpg;
pub mod evs;
pub mod evt;
pub mod replicated;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
pub(crate) mod testkit;
