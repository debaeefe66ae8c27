//! What every exported function goes through: panic catching, pointer checks.
