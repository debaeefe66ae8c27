//! Services built into the executive itself.

pub mod cfg;
pub mod ckpt;
pub mod clm;
pub mod evs;
pub mod evt;
pub mod cpg;

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod fuzz_tests;
