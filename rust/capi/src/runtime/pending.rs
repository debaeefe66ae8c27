//! Calls answered later by a callback (the `...Async` functions): the
//! request carries a token, the executive echoes it in the callback, and
//! the token finds the call (its invocation) again.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::error::AisResult;

/// Tokens are unique in the process, across libraries and handles.
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// The calls of one kind in flight on one library handle, by token.
pub struct Pending<V> {
    calls: Mutex<BTreeMap<u64, V>>,
}

impl<V> Default for Pending<V> {
    fn default() -> Self {
        Pending { calls: Mutex::new(BTreeMap::new()) }
    }
}

impl<V> Pending<V> {
    /// Registers `call` under a fresh token, then runs `send(token)`; if
    /// that fails the call is dropped and the error returned (an answer's
    /// payload is not needed: the result comes by the callback). Registered
    /// first: the callback may be dispatched before `send` returns.
    pub fn send<R>(&self, call: V, send: impl FnOnce(u64) -> AisResult<R>) -> AisResult<()> {
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(token, call);
        match send(token) {
            Ok(_) => Ok(()),
            Err(e) => {
                self.lock().remove(&token);
                Err(e)
            }
        }
    }

    /// The call of `token`, removed; None if unknown or already answered.
    pub fn take(&self, token: u64) -> Option<V> {
        self.lock().remove(&token)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, V>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AisError;

    #[test]
    fn a_failed_send_forgets_the_call_and_a_sent_one_is_taken_once() {
        let p = Pending::default();
        let mut failed = 0;
        let refused: AisResult<()> = p.send("lost", |t| {
            failed = t;
            Err::<(), _>(AisError::TRY_AGAIN)
        });
        assert_eq!(refused, Err(AisError::TRY_AGAIN));
        assert_eq!(p.take(failed), None);
        let mut sent = 0;
        // The call is visible while sending (its callback may come first).
        p.send("kept", |t| {
            sent = t;
            assert_eq!(p.lock().get(&t), Some(&"kept"));
            Ok(vec![0u8])
        })
        .unwrap();
        assert_ne!(sent, failed);
        assert_eq!(p.take(sent), Some("kept"));
        assert_eq!(p.take(sent), None);
    }
}
