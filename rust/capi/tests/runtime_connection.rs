//! The runtime's connection to the executive, against a mock executive:
//! handshake errors, requests (also from many threads, with deadlines,
//! against malformed answers), dispatch semantics and the selection
//! object, finalize racing other threads.

mod runtime_mock;

use std::io::Write;
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ais_capi::error::AisError;
use ais_capi::runtime::dispatch::PARTIAL_FRAME_WAIT;
use ais_capi::runtime::{Connection, DispatchFlags, HandleTable};
use runtime_mock::*;

const LIMIT: Duration = Duration::from_secs(20);
const ONE: DispatchFlags = DispatchFlags::One;
const ALL: DispatchFlags = DispatchFlags::All;
const BLOCKING: DispatchFlags = DispatchFlags::Blocking;

fn connect(mock: &MockExec) -> Connection {
    Connection::open_at(&mock.path, SERVICE).unwrap()
}

fn readable(conn: &Connection) -> bool {
    conn.callback_pending()
}

/// Waits (bounded) until the selection object is readable.
fn wait_readable(conn: &Connection) {
    let until = Instant::now() + Duration::from_secs(5);
    while !readable(conn) {
        assert!(Instant::now() < until, "selection object never became readable");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// What a dispatch call returned, and the callbacks (id, body) it made.
type Dispatched = (Result<(), AisError>, Vec<(u32, Vec<u8>)>);

fn collect(conn: &Connection, flags: DispatchFlags) -> Dispatched {
    let mut got = Vec::new();
    let r = conn.dispatch(flags, |id, body| {
        got.push((id, body.to_vec()));
        Ok(())
    });
    (r, got)
}

#[test]
fn no_executive_is_try_again() {
    bounded(LIMIT, || {
        let dir = temp_dir();
        // No socket file at all.
        let missing = dir.join("nothing.sock");
        assert_eq!(Connection::open_at(&missing, SERVICE).err(), Some(AisError::TRY_AGAIN));
        // A socket file nobody listens on any more.
        let stale = dir.join("stale.sock");
        drop(UnixListener::bind(&stale).unwrap());
        assert_eq!(Connection::open_at(&stale, SERVICE).err(), Some(AisError::TRY_AGAIN));
        // No run directory.
        let gone = dir.join("no-such-dir").join("aisexec.sock");
        assert_eq!(Connection::open_at(&gone, SERVICE).err(), Some(AisError::TRY_AGAIN));
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn hello_reply_errors_pass_through() {
    bounded(LIMIT, || {
        for err in [AisError::ACCESS, AisError::VERSION, AisError::TRY_AGAIN, AisError::NO_RESOURCES] {
            let mock = MockExec::start(err.0, echo());
            assert_eq!(Connection::open_at(&mock.path, SERVICE).err(), Some(err));
        }
    });
}

#[test]
fn silent_executive_bounds_the_handshake() {
    bounded(LIMIT, || {
        let (dir, path, _held) = mute_listener();
        let start = Instant::now();
        let r = Connection::open_with_timeout(&path, SERVICE, Duration::from_millis(300));
        assert_eq!(r.err(), Some(AisError::TRY_AGAIN));
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "{took:?}");
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn requests_and_error_statuses() {
    bounded(LIMIT, || {
        let mock = MockExec::start(
            OK,
            Arc::new(|id, body| match id {
                1 => Reply::Answer(OK, body.iter().rev().copied().collect()),
                2 => Reply::Answer(AisError::TRY_AGAIN.0, vec![]),
                3 => Reply::Answer(AisError::NOT_EXIST.0, vec![9, 9]),
                _ => Reply::Answer(OK, vec![]),
            }),
        );
        let conn = connect(&mock);
        assert_eq!(conn.service(), SERVICE);
        assert_eq!(conn.request(1, b"abc"), Ok(b"cba".to_vec()));
        assert_eq!(conn.request(1, b""), Ok(vec![]));
        assert_eq!(conn.request(2, b"x"), Err(AisError::TRY_AGAIN));
        assert_eq!(conn.request(3, b"x"), Err(AisError::NOT_EXIST));
        // Errors from the executive do not break the connection.
        assert_eq!(conn.request(4, b"x"), Ok(vec![]));
        let big = vec![0u8; ais_ipc::MAX_MESSAGE_SIZE];
        assert_eq!(conn.request(1, &big), Err(AisError::TOO_BIG));
        let largest = vec![7u8; ais_ipc::MAX_MESSAGE_SIZE - ais_ipc::HEADER_SIZE - 4];
        assert_eq!(conn.request(4, &largest), Ok(vec![]));
        assert!(!conn.is_broken());
    });
}

#[test]
fn requests_from_eight_threads_share_one_connection() {
    bounded(LIMIT, || {
        let mock = MockExec::start(OK, echo());
        let conn = Arc::new(connect(&mock));
        let threads: Vec<_> = (0..8u32)
            .map(|t| {
                let conn = conn.clone();
                std::thread::spawn(move || {
                    for i in 0..300u32 {
                        let body: Vec<u8> = format!("{t}:{i}:{}", "x".repeat((i % 50) as usize)).into_bytes();
                        assert_eq!(conn.request(100 + t, &body), Ok(body.clone()));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    });
}

#[test]
fn executive_closing_mid_request_is_library_from_then_on() {
    bounded(LIMIT, || {
        let mock = MockExec::start(
            OK,
            Arc::new(|id, body| if id == 666 { Reply::Close } else { Reply::Answer(OK, body.to_vec()) }),
        );
        let conn = connect(&mock);
        assert_eq!(conn.request(1, b"a"), Ok(b"a".to_vec()));
        assert_eq!(conn.request(666, b"a"), Err(AisError::LIBRARY));
        assert!(conn.is_broken());
        assert_eq!(conn.request(1, b"a"), Err(AisError::LIBRARY));
        // The application learns it from the selection object too.
        assert!(readable(&conn));
        assert_eq!(collect(&conn, ONE).0, Err(AisError::LIBRARY));
        assert_eq!(collect(&conn, BLOCKING).0, Err(AisError::LIBRARY));
    });
}

#[test]
fn malformed_answers_are_library_not_panic() {
    bounded(LIMIT, || {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("size below header", {
                let mut f = frame_bytes(SERVICE, 1, &[1, 0, 0, 0]);
                f[0..4].copy_from_slice(&4u32.to_le_bytes());
                f
            }),
            ("size over the limit", {
                let mut f = frame_bytes(SERVICE, 1, &[1, 0, 0, 0]);
                f[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
                f
            }),
            ("other id", frame_bytes(SERVICE, 2, &[1, 0, 0, 0])),
            ("other service", frame_bytes(SERVICE + 1, 1, &[1, 0, 0, 0])),
            ("no status", frame_bytes(SERVICE, 1, &[1, 0])),
        ];
        for (what, bytes) in cases {
            let bytes = Arc::new(bytes);
            let mock = MockExec::start(OK, Arc::new(move |_, _| Reply::Raw(bytes.to_vec())));
            let conn = connect(&mock);
            assert_eq!(conn.request(1, b""), Err(AisError::LIBRARY), "{what}");
            assert!(conn.is_broken(), "{what}");
            assert_eq!(conn.request(1, b""), Err(AisError::LIBRARY), "{what}");
        }
        // Half an answer, then the executive closes.
        let half = Arc::new(frame_bytes(SERVICE, 1, &[1, 0, 0, 0])[..7].to_vec());
        let mock = MockExec::start(OK, Arc::new(move |_, _| Reply::RawThenClose(half.to_vec())));
        let conn = connect(&mock);
        assert_eq!(conn.request(1, b""), Err(AisError::LIBRARY));
        // Half an answer from a live executive: the deadline passes, the
        // bytes are kept, and the rest completes the next read.
        let whole = frame_bytes(SERVICE, 1, &[1, 0, 0, 0, b'!']);
        let (head, tail) = (whole[..7].to_vec(), whole[7..].to_vec());
        let mock = MockExec::start(
            OK,
            Arc::new(move |id, _| match id {
                1 => Reply::Raw(head.clone()),
                _ => Reply::Raw(tail.clone()),
            }),
        );
        let conn = connect(&mock);
        assert_eq!(conn.request_until(1, b"", Instant::now() + Duration::from_millis(100)), Err(AisError::TIMEOUT));
        // Request 2's "answer" is the tail of 1's; 1's is skipped as late,
        // and 2 then waits for its own, which never comes.
        assert_eq!(conn.request_until(2, b"", Instant::now() + Duration::from_millis(100)), Err(AisError::TIMEOUT));
        assert!(!conn.is_broken());
    });
}

fn frame_bytes(service: u32, id: u32, body: &[u8]) -> Vec<u8> {
    ais_ipc::frame::encode(service, id, body)
}

#[test]
fn odd_status_values_never_reach_c_as_ok() {
    bounded(LIMIT, || {
        let mock = MockExec::start(OK, Arc::new(|id, _| Reply::Answer(id, vec![])));
        let conn = connect(&mock);
        for status in [0u32, 99, u32::MAX] {
            let err = conn.request(status, b"").unwrap_err();
            let code = ais_capi::boundary::result_code(Err(err));
            assert_eq!(code, ais_capi::boundary::SA_AIS_ERR_LIBRARY, "{status}");
        }
    });
}

#[test]
fn deadline_gives_timeout_and_the_late_answer_is_skipped() {
    bounded(LIMIT, || {
        let mock = MockExec::start(
            OK,
            Arc::new(|id, body| {
                if id == 7 {
                    Reply::Delayed(Duration::from_millis(400), OK, b"late".to_vec())
                } else {
                    Reply::Answer(OK, body.to_vec())
                }
            }),
        );
        let conn = connect(&mock);
        let start = Instant::now();
        assert_eq!(conn.request_until(7, b"", start + Duration::from_millis(50)), Err(AisError::TIMEOUT));
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(50) && took < Duration::from_millis(390), "{took:?}");
        // The next answer read is the late one, skipped; then ours.
        assert_eq!(conn.request(8, b"mine"), Ok(b"mine".to_vec()));
        assert_eq!(conn.request_until(9, b"quick", Instant::now() + Duration::from_secs(5)), Ok(b"quick".to_vec()));
        assert!(!conn.is_broken());
    });
}

#[test]
fn finalize_wakes_a_request_waiting_for_an_answer() {
    bounded(LIMIT, || {
        let mock = MockExec::start(OK, Arc::new(|_, _| Reply::Silent));
        let conn = Arc::new(connect(&mock));
        let waiter = {
            let conn = conn.clone();
            std::thread::spawn(move || conn.request(1, b"never answered"))
        };
        std::thread::sleep(Duration::from_millis(50));
        conn.close();
        assert_eq!(waiter.join().unwrap(), Err(AisError::BAD_HANDLE));
        assert_eq!(conn.request(1, b""), Err(AisError::BAD_HANDLE));
        assert_eq!(collect(&conn, ONE).0, Err(AisError::BAD_HANDLE));
    });
}

#[test]
fn dispatch_one_and_all() {
    bounded(LIMIT, || {
        let mock = MockExec::start(OK, echo());
        let conn = connect(&mock);
        let mut end = mock.dispatch_end(0);
        // Nothing pending: OK, no callback, for both.
        assert_eq!(collect(&conn, ONE), (Ok(()), vec![]));
        assert_eq!(collect(&conn, ALL), (Ok(()), vec![]));
        for id in 1..=4u32 {
            end.write_all(&callback(id, &[id as u8; 3])).unwrap();
        }
        wait_readable(&conn);
        let (r, got) = collect(&conn, ONE);
        assert_eq!((r, got), (Ok(()), vec![(1, vec![1; 3])]));
        assert!(readable(&conn));
        // Bytes of all four arrived together; ALL takes the other three.
        let (r, got) = collect(&conn, ALL);
        assert_eq!(r, Ok(()));
        assert_eq!(got.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [2, 3, 4]);
        assert!(!readable(&conn));
        assert_eq!(collect(&conn, ONE), (Ok(()), vec![]));
    });
}

#[test]
fn selection_object_is_readable_exactly_while_a_callback_is_pending() {
    bounded(LIMIT, || {
        let mock = MockExec::start(OK, echo());
        let conn = connect(&mock);
        let mut end = mock.dispatch_end(0);
        let fd = conn.selection_object() as i32;
        let poll = |timeout_ms: i32| {
            let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
            unsafe { libc::poll(&mut p, 1, timeout_ms) > 0 }
        };
        // Requests do not make it readable.
        assert_eq!(conn.request(1, b"x"), Ok(b"x".to_vec()));
        assert!(!poll(50));
        for round in 0..20u32 {
            end.write_all(&callback(round, b"cb")).unwrap();
            assert!(poll(5000), "round {round}: not readable after the executive wrote");
            let (r, got) = collect(&conn, ONE);
            assert_eq!((r, got.len()), (Ok(()), 1));
            assert!(!poll(0), "round {round}: still readable after dispatch");
        }
    });
}

#[test]
fn a_partial_callback_does_not_block_one_or_all() {
    bounded(LIMIT, || {
        let mock = MockExec::start(OK, echo());
        let conn = connect(&mock);
        let mut end = mock.dispatch_end(0);
        let cb = callback(5, b"split callback");
        end.write_all(&cb[..5]).unwrap();
        wait_readable(&conn);
        for flags in [ONE, ALL] {
            let start = Instant::now();
            assert_eq!(collect(&conn, flags), (Ok(()), vec![]));
            let took = start.elapsed();
            assert!(took < PARTIAL_FRAME_WAIT + Duration::from_secs(1), "{took:?}");
        }
        end.write_all(&cb[5..15]).unwrap();
        end.write_all(&cb[15..]).unwrap();
        wait_readable(&conn);
        assert_eq!(collect(&conn, ONE), (Ok(()), vec![(5, b"split callback".to_vec())]));
        // A frame finished within the wait is delivered by the same call.
        end.write_all(&cb[..3]).unwrap();
        wait_readable(&conn);
        let writer = std::thread::spawn(move || {
            std::thread::sleep(PARTIAL_FRAME_WAIT / 4);
            end.write_all(&cb[3..]).unwrap();
        });
        assert_eq!(collect(&conn, ONE).1.len(), 1);
        writer.join().unwrap();
    });
}

#[test]
fn blocking_dispatch_runs_until_finalize() {
    bounded(LIMIT, || {
        let mock = MockExec::start(OK, echo());
        let conn = Arc::new(connect(&mock));
        let mut end = mock.dispatch_end(0);
        let got = Arc::new(Mutex::new(Vec::new()));
        let dispatcher = {
            let (conn, got) = (conn.clone(), got.clone());
            std::thread::spawn(move || {
                conn.dispatch(BLOCKING, |id, _| {
                    got.lock().unwrap().push(id);
                    Ok(())
                })
            })
        };
        for id in 1..=3 {
            end.write_all(&callback(id, b"")).unwrap();
        }
        let until = Instant::now() + Duration::from_secs(5);
        while got.lock().unwrap().len() < 3 {
            assert!(Instant::now() < until);
            std::thread::sleep(Duration::from_millis(1));
        }
        // Other calls on the handle work while it blocks.
        assert_eq!(conn.request(1, b"y"), Ok(b"y".to_vec()));
        assert_eq!(collect(&conn, ONE), (Ok(()), vec![]));
        let start = Instant::now();
        conn.close();
        assert_eq!(dispatcher.join().unwrap(), Ok(()));
        assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
        assert_eq!(*got.lock().unwrap(), [1, 2, 3]);
    });
}

#[test]
fn blocking_dispatch_is_library_when_the_executive_goes() {
    bounded(LIMIT, || {
        let mock = MockExec::start(OK, echo());
        let conn = Arc::new(connect(&mock));
        let end = mock.dispatch_end(0);
        let dispatcher = {
            let conn = conn.clone();
            std::thread::spawn(move || conn.dispatch(BLOCKING, |_, _| Ok(())))
        };
        std::thread::sleep(Duration::from_millis(50));
        end.shutdown(std::net::Shutdown::Both).unwrap();
        assert_eq!(dispatcher.join().unwrap(), Err(AisError::LIBRARY));
        assert_eq!(conn.request(1, b""), Err(AisError::LIBRARY));
    });
}

#[test]
fn callbacks_may_call_the_api_and_finalize() {
    bounded(LIMIT, || {
        let mock = MockExec::start(OK, echo());
        let conn = Arc::new(connect(&mock));
        let mut end = mock.dispatch_end(0);
        for id in 1..=3 {
            end.write_all(&callback(id, b"")).unwrap();
        }
        wait_readable(&conn);
        let calls = AtomicUsize::new(0);
        // Callback 1 makes a request and a nested dispatch ONE (which gets
        // callback 2); callback 3 finalizes, and BLOCKING ends OK.
        let r = conn.dispatch(BLOCKING, |id, _| {
            calls.fetch_add(1, Ordering::SeqCst);
            match id {
                1 => {
                    assert_eq!(conn.request(9, b"in callback"), Ok(b"in callback".to_vec()));
                    let mut nested = Vec::new();
                    conn.dispatch(ONE, |id, _| {
                        nested.push(id);
                        Ok(())
                    })?;
                    assert_eq!(nested, [2]);
                }
                3 => conn.close(),
                _ => panic!("unexpected callback {id}"),
            }
            Ok(())
        });
        assert_eq!(r, Ok(()));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn callback_error_stops_dispatch() {
    bounded(LIMIT, || {
        let mock = MockExec::start(OK, echo());
        let conn = connect(&mock);
        let mut end = mock.dispatch_end(0);
        end.write_all(&callback(1, b"")).unwrap();
        end.write_all(&callback(2, b"")).unwrap();
        wait_readable(&conn);
        assert_eq!(conn.dispatch(ALL, |_, _| Err(AisError::LIBRARY)), Err(AisError::LIBRARY));
        assert_eq!(collect(&conn, ALL).1.len(), 1);
    });
}

#[test]
fn malformed_callbacks_are_library() {
    bounded(LIMIT, || {
        let mut oversize = callback(1, b"");
        oversize[0..4].copy_from_slice(&(ais_ipc::MAX_MESSAGE_SIZE as u32 + 1).to_le_bytes());
        let mut undersize = callback(1, b"");
        undersize[0..4].copy_from_slice(&3u32.to_le_bytes());
        let other_service = ais_ipc::frame::encode(SERVICE + 1, 1, b"");
        for (what, bytes) in [("oversize", oversize), ("undersize", undersize), ("service", other_service)] {
            for flags in [ONE, BLOCKING] {
                let mock = MockExec::start(OK, echo());
                let conn = connect(&mock);
                let mut end = mock.dispatch_end(0);
                end.write_all(&bytes).unwrap();
                wait_readable(&conn);
                let (r, got) = collect(&conn, flags);
                assert_eq!((r, got.len()), (Err(AisError::LIBRARY), 0), "{what} {flags:?}");
                assert_eq!(conn.request(1, b""), Err(AisError::LIBRARY), "{what}");
            }
        }
    });
}

#[test]
fn finalize_through_the_handle_table_while_another_thread_dispatches() {
    bounded(LIMIT, || {
        static HANDLES: HandleTable<Connection> = HandleTable::new();
        let mock = MockExec::start(OK, echo());
        for round in 0..10 {
            let handle = HANDLES.insert(connect(&mock)).unwrap();
            let mut end = mock.dispatch_end(round);
            // The dispatcher reports from inside its first callback, so
            // finalize surely comes while it is in BLOCKING dispatch.
            let (inside_tx, inside) = std::sync::mpsc::channel();
            let dispatcher = std::thread::spawn(move || {
                let conn = HANDLES.get(handle)?;
                conn.dispatch(BLOCKING, |_, _| {
                    let _ = inside_tx.send(());
                    Ok(())
                })
            });
            let user = std::thread::spawn(move || {
                // Requests until finalize: then BAD_HANDLE, never LIBRARY.
                loop {
                    match HANDLES.get(handle).and_then(|c| c.request(1, b"r")) {
                        Ok(_) => {}
                        Err(e) => return e,
                    }
                }
            });
            end.write_all(&callback(1, b"")).unwrap();
            inside.recv_timeout(Duration::from_secs(5)).unwrap();
            std::thread::sleep(Duration::from_millis(10));
            // saXxxFinalize.
            let start = Instant::now();
            HANDLES.remove(handle).unwrap().close();
            assert_eq!(dispatcher.join().unwrap(), Ok(()));
            assert!(start.elapsed() < Duration::from_secs(1));
            assert_eq!(user.join().unwrap(), AisError::BAD_HANDLE);
            assert_eq!(HANDLES.get(handle).err(), Some(AisError::BAD_HANDLE));
        }
        assert!(HANDLES.is_empty());
    });
}

#[test]
fn sockets_are_close_on_exec() {
    bounded(LIMIT, || {
        let mock = MockExec::start(OK, echo());
        let conn = connect(&mock);
        let fd = conn.selection_object() as i32;
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        assert!(flags >= 0 && flags & libc::FD_CLOEXEC != 0);
    });
}

#[test]
fn callbacks_from_many_dispatching_threads_arrive_exactly_once() {
    bounded(LIMIT, || {
        const CALLBACKS: u32 = 2000;
        let mock = MockExec::start(OK, echo());
        let conn = Arc::new(connect(&mock));
        let mut end = mock.dispatch_end(0);
        let seen = Arc::new(Mutex::new(vec![0u32; CALLBACKS as usize]));
        let done = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let (conn, seen, done) = (conn.clone(), seen.clone(), done.clone());
                std::thread::spawn(move || {
                    let flags = [ONE, ALL, BLOCKING, ONE][t as usize];
                    while done.load(Ordering::SeqCst) < CALLBACKS as usize {
                        let r = conn.dispatch(flags, |id, body| {
                            assert_eq!(body, id.to_le_bytes());
                            seen.lock().unwrap()[id as usize] += 1;
                            done.fetch_add(1, Ordering::SeqCst);
                            Ok(())
                        });
                        if flags == BLOCKING {
                            return r;
                        }
                        match r {
                            // Finalized between the check and the call.
                            Err(AisError::BAD_HANDLE) if conn.is_closed() => return Ok(()),
                            r => r?,
                        }
                        std::thread::yield_now();
                    }
                    Ok(())
                })
            })
            .collect();
        for id in 0..CALLBACKS {
            end.write_all(&callback(id, &id.to_le_bytes())).unwrap();
        }
        let until = Instant::now() + Duration::from_secs(10);
        while done.load(Ordering::SeqCst) < CALLBACKS as usize {
            assert!(Instant::now() < until, "only {} callbacks", done.load(Ordering::SeqCst));
            std::thread::sleep(Duration::from_millis(2));
        }
        conn.close();
        for t in threads {
            assert_eq!(t.join().unwrap(), Ok(()));
        }
        assert!(seen.lock().unwrap().iter().all(|&n| n == 1));
    });
}

#[test]
fn largest_callback_arrives_whole() {
    bounded(LIMIT, || {
        let mock = MockExec::start(OK, echo());
        let conn = Arc::new(connect(&mock));
        let body: Vec<u8> = (0..ais_ipc::MAX_MESSAGE_SIZE - ais_ipc::HEADER_SIZE).map(|i| (i % 251) as u8).collect();
        let frame = callback(77, &body);
        for flags in [ONE, ALL, BLOCKING] {
            let mut end = mock.dispatch_end(0);
            // More than a socket buffer: written while dispatch reads.
            let frame = frame.clone();
            let writer = std::thread::spawn(move || end.write_all(&frame).unwrap());
            wait_readable(&conn);
            let mut got = Vec::new();
            let r = conn.dispatch(flags, |id, b| {
                got.push((id, b.len(), b == body.as_slice()));
                if flags == BLOCKING {
                    conn.close();
                }
                Ok(())
            });
            writer.join().unwrap();
            assert_eq!((r, got), (Ok(()), vec![(77, body.len(), true)]), "{flags:?}");
        }
    });
}

#[test]
fn request_within_an_ais_timeout() {
    use ais_capi::abi::sa_ais::SA_TIME_END;
    use ais_capi::runtime::connection::deadline_after;
    bounded(LIMIT, || {
        assert_eq!(deadline_after(-1), Err(AisError::INVALID_PARAM));
        assert_eq!(deadline_after(SA_TIME_END), Ok(None));
        assert_eq!(deadline_after(0), Ok(None));
        assert!(deadline_after(1).unwrap().is_some(), "the smallest positive timeout is honoured");
        let d = deadline_after(1_000_000_000).unwrap().unwrap();
        let left = d - Instant::now();
        assert!(left > Duration::from_millis(900) && left <= Duration::from_secs(1));
        let mock = MockExec::start(
            OK,
            Arc::new(|id, body| match id {
                1 => Reply::Delayed(Duration::from_millis(300), OK, body.to_vec()),
                _ => Reply::Answer(OK, body.to_vec()),
            }),
        );
        let conn = connect(&mock);
        assert_eq!(conn.request_within(1, b"slow", 20_000_000), Err(AisError::TIMEOUT));
        assert_eq!(conn.request_within(2, b"ok", SA_TIME_END), Ok(b"ok".to_vec()));
        assert_eq!(conn.request_within(1, b"slow", SA_TIME_END), Ok(b"slow".to_vec()));
        // 0 is no limit (openais 0.80 programs pass it): waits the 300 ms.
        assert_eq!(conn.request_within(1, b"slow", 0), Ok(b"slow".to_vec()));
        assert_eq!(conn.request_within(2, b"", -5), Err(AisError::INVALID_PARAM));
    });
}

#[test]
fn library_initialize_dispatch_finalize() {
    use ais_capi::runtime::{Library, version};
    static LIB: Library<&'static str> = Library::new(SERVICE, &[version(b'B', 1, 1)]);
    bounded(LIMIT, || {
        let mock = MockExec::start(OK, echo());
        let a = LIB.initialize_with(connect(&mock), "a").unwrap();
        let b = LIB.initialize_with(connect(&mock), "b").unwrap();
        assert_ne!(a, b);
        let (sa, sb) = (LIB.selection_object(a).unwrap(), LIB.selection_object(b).unwrap());
        assert_ne!(sa, sb);
        let mut end_b = mock.dispatch_end(1);
        end_b.write_all(&callback(3, b"to b")).unwrap();
        let inst_b = LIB.get(b).unwrap();
        wait_readable(&inst_b.conn);
        let mut got = Vec::new();
        LIB.dispatch(b, Ok(ALL), |inst, id, body| {
            got.push((inst.handle, inst.state, id, body.to_vec()));
            Ok(())
        })
        .unwrap();
        assert_eq!(got, [(b, "b", 3, b"to b".to_vec())]);
        // Flags the abi layer refused: reported after an unknown handle.
        assert_eq!(LIB.dispatch(a, Err(AisError::INVALID_PARAM), |_, _, _| Ok(())), Err(AisError::INVALID_PARAM));
        assert_eq!(LIB.dispatch(0, Err(AisError::INVALID_PARAM), |_, _, _| Ok(())), Err(AisError::BAD_HANDLE));
        // Finalize b while a thread blocks in its dispatch.
        let (inside_tx, inside) = std::sync::mpsc::channel();
        let blocked = std::thread::spawn(move || {
            LIB.dispatch(b, Ok(BLOCKING), |_, _, _| {
                let _ = inside_tx.send(());
                Ok(())
            })
        });
        end_b.write_all(&callback(4, b"")).unwrap();
        inside.recv_timeout(Duration::from_secs(5)).unwrap();
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(LIB.finalize(b).unwrap().state, "b");
        assert_eq!(blocked.join().unwrap(), Ok(()));
        for r in
            [LIB.selection_object(b).map(drop), LIB.dispatch(b, Ok(ONE), |_, _, _| Ok(())), LIB.finalize(b).map(drop)]
        {
            assert_eq!(r, Err(AisError::BAD_HANDLE));
        }
        // `a` is unaffected.
        assert_eq!(LIB.get(a).unwrap().conn.request(1, b"a"), Ok(b"a".to_vec()));
        LIB.finalize(a).unwrap();
        assert!(LIB.handles().is_empty());
    });
}

/// A mock that records the bodies of requests `id` in arrival order and
/// answers each with OK after `delay_at(n)` (n: its position).
fn recording_mock(
    id: u32,
    delay_at: fn(usize) -> Duration,
    status_of: fn(&[u8]) -> u32,
) -> (MockExec, Arc<Mutex<Vec<Vec<u8>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let mock = MockExec::start(
        OK,
        Arc::new(move |got, body| {
            if got != id {
                return Reply::Answer(OK, b"sync".to_vec());
            }
            let n = {
                let mut l = log.lock().unwrap();
                l.push(body.to_vec());
                l.len() - 1
            };
            Reply::Delayed(delay_at(n), status_of(body), vec![])
        }),
    );
    (mock, seen)
}

#[test]
fn pipelined_requests_do_not_wait_for_answers_and_keep_their_order() {
    use ais_capi::runtime::connection::PIPELINE_MSGS;
    bounded(LIMIT, || {
        // The first window's answers take 20 ms each: waiting for each
        // would take 620 ms for the 31 calls below.
        let (mock, seen) = recording_mock(5, |n| Duration::from_millis(if n < 32 { 20 } else { 0 }), |_| OK);
        let conn = connect(&mock);
        // The first waits for its answer (is the handle able to send?).
        conn.request_pipelined(5, &0u32.to_le_bytes()).unwrap();
        assert_eq!(seen.lock().unwrap().len(), 1);
        let start = Instant::now();
        for i in 1..PIPELINE_MSGS as u32 {
            conn.request_pipelined(5, &i.to_le_bytes()).unwrap();
        }
        let took = start.elapsed();
        assert!(took < Duration::from_millis(300), "waited for answers: {took:?}");
        // More than a window: the library reads answers as it goes. (On a
        // loaded machine an answer may take over 10 ms: TRY_AGAIN, retried
        // as an application does.)
        for i in PIPELINE_MSGS as u32..200 {
            let mut r = conn.request_pipelined(5, &i.to_le_bytes());
            while r == Err(AisError::TRY_AGAIN) {
                r = conn.request_pipelined(5, &i.to_le_bytes());
            }
            r.unwrap();
        }
        // A request that waits reads the pipelined answers before its own.
        assert_eq!(conn.request(1, b""), Ok(b"sync".to_vec()));
        let got: Vec<u32> =
            seen.lock().unwrap().iter().map(|b| u32::from_le_bytes(b[..4].try_into().unwrap())).collect();
        assert_eq!(got, (0..200).collect::<Vec<_>>());
        // Larger requests wait for their answer.
        let big = vec![1u8; ais_capi::runtime::connection::PIPELINE_MAX_REQUEST + 1];
        conn.request_pipelined(5, &big).unwrap();
        assert_eq!(seen.lock().unwrap().len(), 201);
        assert!(!conn.is_broken());
    });
}

#[test]
fn a_full_window_is_try_again_without_sending_and_nothing_is_lost() {
    use ais_capi::runtime::connection::{PIPELINE_MSGS, PIPELINE_WAIT};
    bounded(LIMIT, || {
        // The answer to the third stalls 300 ms (an executive holding a
        // sender while its queue is full); the rest come at once.
        let (mock, seen) = recording_mock(5, |n| Duration::from_millis(if n == 2 { 300 } else { 0 }), |_| OK);
        let conn = connect(&mock);
        let (mut accepted, mut again) = (Vec::new(), 0);
        let start = Instant::now();
        let mut next = 0u32;
        while start.elapsed() < Duration::from_secs(5) && accepted.len() < 3 * PIPELINE_MSGS {
            let t = Instant::now();
            match conn.request_pipelined(5, &next.to_le_bytes()) {
                Ok(()) => {
                    accepted.push(next);
                    next += 1;
                }
                Err(e) => {
                    assert_eq!(e, AisError::TRY_AGAIN);
                    assert!(t.elapsed() >= PIPELINE_WAIT, "gave up early: {:?}", t.elapsed());
                    again += 1;
                }
            }
        }
        assert!(again > 0, "the stall never filled the window");
        assert_eq!(conn.request(1, b""), Ok(b"sync".to_vec()));
        let got: Vec<u32> =
            seen.lock().unwrap().iter().map(|b| u32::from_le_bytes(b[..4].try_into().unwrap())).collect();
        assert_eq!(got, accepted, "what was accepted arrived once, in order; nothing refused was sent");
    });
}

#[test]
fn an_error_answer_to_a_pipelined_request_is_returned_by_a_later_call() {
    bounded(LIMIT, || {
        let (mock, seen) =
            recording_mock(5, |_| Duration::ZERO, |b| if b == b"bad" { AisError::NOT_EXIST.0 } else { OK });
        let conn = connect(&mock);
        // Not pipelined until one was accepted.
        assert_eq!(conn.request_pipelined(5, b"bad"), Err(AisError::NOT_EXIST));
        conn.request_pipelined(5, b"good").unwrap();
        conn.request_pipelined(5, b"bad").unwrap();
        // Read by a request that waits; kept for the next pipelined call,
        // which sends nothing.
        assert_eq!(conn.request(1, b""), Ok(b"sync".to_vec()));
        assert_eq!(conn.request_pipelined(5, b"after"), Err(AisError::NOT_EXIST));
        assert_eq!(seen.lock().unwrap().len(), 3);
        // Then waits for its answer again.
        conn.request_pipelined(5, b"after").unwrap();
        assert_eq!(seen.lock().unwrap().last().unwrap(), b"after");
        assert!(!conn.is_broken());
    });
}
