//! Per-frame cost of `PacketCodec` seal and open, both modes.
//!
//! `cargo run --release -p ais-net --example codec_bench [-- SIZE [MILLIS]]`
//!
//! Prints ns/frame and MB/s (10^6 payload bytes per second) for sealing and
//! opening SIZE-byte payloads (default 1400). Opening uses frames sealed
//! beforehand by another codec (each frame opened once per receiver, as
//! the replay window demands); the copy that restores a batch before each
//! round is not timed. Then the same under a session key (a ring's
//! tokens and messages), and the cost of refusing forged frames of each
//! kind (issue 25, item 9: never more than opening a genuine one).

use ais_net::crypto::{HEADER_LEN, KeyClass, PacketCodec};
use std::hint::black_box;
use std::time::{Duration, Instant};

const BATCH: usize = 1024;
const KEY: [u8; 128] = [0x5A; 128];

fn arg(n: usize, default: u64) -> u64 {
    std::env::args().nth(n).and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn codec(sealed: bool, node: u32, boot: u64) -> PacketCodec {
    if sealed { PacketCodec::sealed(&KEY, node, boot).expect("valid key") } else { PacketCodec::plain(node, boot) }
}

fn report(what: &str, frames: u64, size: usize, elapsed: Duration) {
    let ns = elapsed.as_nanos() as f64 / frames as f64;
    let mbs = size as f64 * frames as f64 / elapsed.as_secs_f64() / 1e6;
    println!("{what:<14} {ns:>9.1} ns/frame {mbs:>9.1} MB/s");
}

fn bench_seal(sealed: bool, size: usize, budget: Duration) {
    let payload: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
    let mut tx = codec(sealed, 1, 1);
    let mut out = Vec::with_capacity(size + 64);
    let mut frames = 0u64;
    let start = Instant::now();
    while start.elapsed() < budget {
        for _ in 0..BATCH {
            tx.seal_into(black_box(&payload), &mut out).expect("seal");
            black_box(&out);
        }
        frames += BATCH as u64;
    }
    report(if sealed { "seal sealed" } else { "seal plain" }, frames, size, start.elapsed());
}

fn bench_open(sealed: bool, size: usize, budget: Duration) {
    let payload: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
    let mut tx = codec(sealed, 1, 1);
    let originals: Vec<Vec<u8>> = (0..BATCH).map(|_| tx.seal(&payload).expect("seal")).collect();
    let mut work = originals.clone();
    let mut frames = 0u64;
    let mut timed = Duration::ZERO;
    let start = Instant::now();
    let mut round = 0u64;
    while start.elapsed() < budget {
        // A fresh receiver per round: every frame is new to it.
        round += 1;
        let mut rx = codec(sealed, 2, round);
        // Learn the sender outside the timed loop (key derivation).
        let mut first = originals[0].clone();
        rx.open_in_place(&mut first).expect("open");
        for (w, o) in work.iter_mut().zip(&originals) {
            w.copy_from_slice(o);
        }
        let t = Instant::now();
        for w in work.iter_mut().skip(1) {
            let h = rx.open_in_place(w).expect("open");
            black_box((h, &w[HEADER_LEN]));
        }
        timed += t.elapsed();
        frames += BATCH as u64 - 1;
    }
    report(if sealed { "open sealed" } else { "open plain" }, frames, size, timed);
}

/// Session key of the session benches.
const SESSION: [u8; 32] = [0xC3; 32];

fn session_codec(node: u32, boot: u64) -> PacketCodec {
    let mut c = codec(true, node, boot);
    c.set_session_keys(&[(1, &SESSION)]).expect("one key");
    c
}

fn bench_open_session(size: usize, budget: Duration) {
    let payload: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
    let mut tx = session_codec(1, 1);
    let originals: Vec<Vec<u8>> = (0..BATCH)
        .map(|_| {
            let mut f = Vec::new();
            tx.seal_to(KeyClass::Session(1), 0, &payload, &mut f).expect("seal");
            f
        })
        .collect();
    let mut work = originals.clone();
    let (mut frames, mut timed, start, mut round) = (0u64, Duration::ZERO, Instant::now(), 0u64);
    while start.elapsed() < budget {
        round += 1;
        let mut rx = session_codec(2, round);
        for (w, o) in work.iter_mut().zip(&originals) {
            w.copy_from_slice(o);
        }
        let t = Instant::now();
        for w in work.iter_mut() {
            let h = rx.open_in_place(w).expect("open");
            black_box((h, &w[HEADER_LEN]));
        }
        timed += t.elapsed();
        frames += BATCH as u64;
    }
    report("open session", frames, size, timed);
}

/// Refusing `make(i)` (a forged frame) at a receiver that knows sender 1.
fn bench_forged(what: &str, size: usize, budget: Duration, make: impl Fn(&mut PacketCodec, u64, &[u8]) -> Vec<u8>) {
    let payload: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
    let mut tx = session_codec(1, 1);
    let originals: Vec<Vec<u8>> = (0..BATCH as u64).map(|i| make(&mut tx, i, &payload)).collect();
    let mut work = originals.clone();
    let (mut frames, mut timed, start) = (0u64, Duration::ZERO, Instant::now());
    let mut rx = session_codec(2, 2);
    let mut known = Vec::new();
    tx.seal_to(KeyClass::Session(1), 0, b"hello", &mut known).expect("seal");
    rx.open_in_place(&mut known).expect("open");
    rx.open_in_place(&mut tx.seal(b"hello").expect("seal")).expect("open");
    while start.elapsed() < budget {
        for (w, o) in work.iter_mut().zip(&originals) {
            w.copy_from_slice(o);
        }
        let t = Instant::now();
        for w in work.iter_mut() {
            black_box(rx.open_in_place(w).expect_err("forged frame opened"));
        }
        timed += t.elapsed();
        frames += BATCH as u64;
    }
    report(what, frames, size, timed);
}

fn forge(f: &mut [u8]) {
    let last = f.len() - 1;
    f[last] ^= 1;
}

fn main() {
    let size = arg(1, 1400) as usize;
    let budget = Duration::from_millis(arg(2, 1500));
    println!("payload {size} bytes, frame {} bytes", size + ais_net::crypto::OVERHEAD);
    for sealed in [false, true] {
        bench_seal(sealed, size, budget);
        bench_open(sealed, size, budget);
    }
    bench_open_session(size, budget);
    bench_forged("forged known", size, budget, |tx, _, p| {
        let mut f = tx.seal(p).expect("seal");
        forge(&mut f);
        f
    });
    bench_forged("forged new", size, budget, |_, i, p| {
        // a sender process never seen: one key derivation, then the AEAD
        let mut f = codec(true, 1, 1000 + i).seal(p).expect("seal");
        forge(&mut f);
        f
    });
    bench_forged("forged session", size, budget, |tx, _, p| {
        let mut f = Vec::new();
        tx.seal_to(KeyClass::Session(1), 0, p, &mut f).expect("seal");
        forge(&mut f);
        f
    });
    bench_forged("unknown key", size, budget, |tx, _, p| {
        let mut f = Vec::new();
        tx.seal_to(KeyClass::Session(1), 0, p, &mut f).expect("seal");
        f[12..16].copy_from_slice(&0x0BAD_0BADu32.to_be_bytes());
        f
    });
    bench_forged("not for us", size, budget, |tx, _, p| {
        let mut f = Vec::new();
        tx.seal_to(KeyClass::Session(1), 3, p, &mut f).expect("seal");
        f
    });
}
