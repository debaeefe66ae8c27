//! `Connection::open` finds the executive through `COROSYNC_RUN_DIR`.
//! Alone in its test binary: it sets an environment variable, which is
//! only sound while no other thread reads the environment.

mod runtime_mock;

use std::time::Duration;

use ais_capi::error::AisError;
use ais_capi::runtime::{Connection, Library, version};
use runtime_mock::*;

#[test]
fn open_honours_the_run_dir_variable() {
    let mock = MockExec::start(OK, echo());
    // SAFETY: the only test of this binary; set before any thread of ours
    // reads the environment (the mock's thread does not).
    unsafe { std::env::set_var(ais_ipc::RUN_DIR_ENV, &mock.dir) };
    let dir = mock.dir.clone();
    bounded(Duration::from_secs(20), move || {
        let conn = Connection::open(SERVICE).unwrap();
        assert_eq!(conn.request(1, b"via env"), Ok(b"via env".to_vec()));
        // Another directory without an executive: TRY_AGAIN.
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        unsafe { std::env::set_var(ais_ipc::RUN_DIR_ENV, &empty) };
        assert_eq!(Connection::open(SERVICE).err(), Some(AisError::TRY_AGAIN));
        // Library::initialize: the version is checked first, then the
        // executive is looked for.
        static LIB: Library<()> = Library::new(SERVICE, &[version(b'B', 1, 1)]);
        let mut v = version(b'B', 2, 0);
        assert_eq!(LIB.initialize(&mut v, ()).err(), Some(AisError::VERSION));
        assert_eq!(v, version(b'B', 1, 1));
        let mut v = version(b'B', 1, 0);
        assert_eq!(LIB.initialize(&mut v, ()).err(), Some(AisError::TRY_AGAIN));
        assert_eq!(v, version(b'B', 1, 1));
        unsafe { std::env::set_var(ais_ipc::RUN_DIR_ENV, &dir) };
        let mut v = version(b'B', 1, 0);
        let h = LIB.initialize(&mut v, ()).unwrap();
        assert_eq!(LIB.get(h).unwrap().conn.request(2, b"lib"), Ok(b"lib".to_vec()));
        LIB.finalize(h).unwrap();
    });
}
