//! A panic caught at the boundary reaches the C program's stderr as one
//! line (or nothing, or Rust's full message, per `AIS_LIB_PANIC`). Runs
//! this test binary again as a child process to see its real stderr.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD: &str = "AIS_PANIC_REPORT_CHILD";

fn panicking_api_call() -> u32 {
    ais_capi::boundary!({
        if std::env::var_os(CHILD).is_some() {
            panic!("deliberate\nsecond line");
        }
        Ok(())
    })
}

/// The child's part: a no-op unless started by the test below.
#[test]
fn child_makes_a_panicking_call() {
    if std::env::var_os(CHILD).is_some() {
        assert_eq!(panicking_api_call(), ais_capi::boundary::SA_AIS_ERR_LIBRARY);
    }
}

/// The child's stderr, run with `AIS_LIB_PANIC` set to `mode` (or unset).
fn child_stderr(mode: Option<&str>) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_makes_a_panicking_call", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("AIS_LIB_PANIC")
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(mode) = mode {
        cmd.env("AIS_LIB_PANIC", mode);
    }
    let mut child = cmd.spawn().unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child did not finish");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "child failed: {err}");
    err
}

#[test]
fn caught_panic_is_one_line_by_default() {
    let err = child_stderr(None);
    let ours: Vec<&str> = err.lines().filter(|l| l.starts_with("libais:")).collect();
    assert_eq!(ours.len(), 1, "{err}");
    assert!(ours[0].starts_with("libais: internal error: deliberate second line at "), "{err}");
    assert!(ours[0].contains("boundary_panic_report.rs:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(child_stderr(Some("line")), err);
}

#[test]
fn caught_panic_can_be_silent_or_full() {
    let off = child_stderr(Some("off"));
    assert!(!off.contains("libais:") && !off.contains("panicked"), "{off}");
    let full = child_stderr(Some("full"));
    assert!(full.contains("panicked") && full.contains("deliberate"), "{full}");
    assert!(!full.contains("libais:"), "{full}");
}
