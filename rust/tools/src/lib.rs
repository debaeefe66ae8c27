//! Administration tools' logic, shared by the binaries and tests.

pub mod bench;
pub mod cfgtool;
pub mod cluster;
pub mod cpgtool;
pub mod netns;
pub mod scale;
pub mod traffic;
