//! A mock executive for the runtime tests: a listening Unix socket in a
//! temporary directory, a thread accepting connections, doing the
//! handshake and answering requests through a test-supplied handler.
//! The test writes callbacks (or garbage) to the dispatch channel's server
//! end itself.
#![allow(dead_code)]

use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ais_ipc::frame;
use ais_ipc::handshake::{HANDSHAKE_SERVICE, HELLO_REPLY_ID, Hello, HelloReply, Role};

pub const SERVICE: u32 = ais_ipc::service::CKPT;
pub const OK: u32 = ais_ipc::error::OK;

/// What the mock does with one request.
pub enum Reply {
    /// A response with this status and body after it.
    Answer(u32, Vec<u8>),
    /// These bytes, as they are.
    Raw(Vec<u8>),
    /// Wait, then answer.
    Delayed(Duration, u32, Vec<u8>),
    /// Close the request channel.
    Close,
    /// These bytes, then close.
    RawThenClose(Vec<u8>),
    /// Say nothing.
    Silent,
}

pub type Handler = Arc<dyn Fn(u32, &[u8]) -> Reply + Send + Sync>;

/// An echo handler: status OK, the request body back.
pub fn echo() -> Handler {
    Arc::new(|_, body| Reply::Answer(OK, body.to_vec()))
}

pub struct MockExec {
    pub dir: PathBuf,
    pub path: PathBuf,
    stop: Arc<AtomicBool>,
    /// Server ends of dispatch channels, in the order they said hello.
    dispatch: Arc<Mutex<Vec<UnixStream>>>,
    thread: Option<JoinHandle<()>>,
}

static DIRS: AtomicU64 = AtomicU64::new(0);

pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ais-runtime-test-{}-{}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl MockExec {
    /// An executive whose `HelloReply` carries `hello_error`.
    pub fn start(hello_error: u32, handler: Handler) -> MockExec {
        let dir = temp_dir();
        let path = dir.join(ais_ipc::SOCKET_NAME);
        let listener = UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let dispatch = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, dispatch) = (stop.clone(), dispatch.clone());
            std::thread::spawn(move || {
                let tokens = AtomicU64::new(1000);
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            stream.set_nonblocking(false).unwrap();
                            serve(stream, hello_error, &handler, &tokens, &dispatch);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        MockExec { dir, path, stop, dispatch, thread: Some(thread) }
    }

    /// The server end of the `n`-th dispatch channel, waiting for it.
    pub fn dispatch_end(&self, n: usize) -> UnixStream {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(s) = self.dispatch.lock().unwrap().get(n) {
                return s.try_clone().unwrap();
            }
            assert!(Instant::now() < until, "no dispatch channel {n}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for MockExec {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn serve(
    mut stream: UnixStream,
    hello_error: u32,
    handler: &Handler,
    tokens: &AtomicU64,
    dispatch: &Mutex<Vec<UnixStream>>,
) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let Ok((header, body)) = frame::read_message(&mut stream) else {
        return;
    };
    assert_eq!(header.service, HANDSHAKE_SERVICE);
    let hello = Hello::decode(&body).unwrap();
    assert_eq!(hello.service, SERVICE);
    match hello.role {
        Role::Dispatch => dispatch.lock().unwrap().push(stream),
        Role::Request => {
            assert_eq!(hello.token, 0);
            let token = tokens.fetch_add(1, Ordering::Relaxed);
            let reply = HelloReply { error: hello_error, token };
            let _ = frame::write_message(&mut stream, HANDSHAKE_SERVICE, HELLO_REPLY_ID, &reply.encode());
            if hello_error != OK {
                return;
            }
            let handler = handler.clone();
            std::thread::spawn(move || answer_requests(stream, &handler));
        }
    }
}

fn answer_requests(mut stream: UnixStream, handler: &Handler) {
    stream.set_read_timeout(None).unwrap();
    while let Ok((header, body)) = frame::read_message(&mut stream) {
        let answer = |stream: &mut UnixStream, status: u32, rest: &[u8]| {
            let mut out = status.to_le_bytes().to_vec();
            out.extend_from_slice(rest);
            frame::write_message(stream, header.service, header.id, &out)
        };
        let result = match handler(header.id, &body) {
            Reply::Answer(status, rest) => answer(&mut stream, status, &rest),
            Reply::Delayed(d, status, rest) => {
                std::thread::sleep(d);
                answer(&mut stream, status, &rest)
            }
            Reply::Raw(bytes) => stream.write_all(&bytes),
            Reply::Close => return,
            Reply::RawThenClose(bytes) => {
                let _ = stream.write_all(&bytes);
                return;
            }
            Reply::Silent => Ok(()),
        };
        if result.is_err() {
            return;
        }
    }
}

/// A callback frame for the dispatch channel.
pub fn callback(id: u32, body: &[u8]) -> Vec<u8> {
    frame::encode(SERVICE, id, body)
}

/// Runs `f` on a thread and fails the test if it takes longer than
/// `limit` (so no test can hang the suite).
pub fn bounded<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("test did not finish within {limit:?}"),
    }
}

/// A listener that accepts and then never says a word.
pub fn mute_listener() -> (PathBuf, PathBuf, Arc<Mutex<Vec<UnixStream>>>) {
    let dir = temp_dir();
    let path = dir.join("mute.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            keep.lock().unwrap().push(s);
        }
    });
    (dir, path, held)
}
