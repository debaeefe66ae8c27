//! Per-frame cost of `PacketCodec` seal and open, both modes.
//!
//! `cargo run --release -p ais-net --example codec_bench [-- SIZE [MILLIS]]`
//!
//! Prints ns/frame and MB/s (10^6 payload bytes per second) for sealing and
//! opening SIZE-byte payloads (default 1400). Opening uses frames sealed
//! beforehand by another codec (each frame opened once per receiver, as
//! the replay window demands); the copy that restores a batch before each
//! round is not timed.

use ais_net::crypto::{HEADER_LEN, PacketCodec};
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

fn main() {
    let size = arg(1, 1400) as usize;
    let budget = Duration::from_millis(arg(2, 1500));
    println!("payload {size} bytes, frame {} bytes", size + ais_net::crypto::OVERHEAD);
    for sealed in [false, true] {
        bench_seal(sealed, size, budget);
        bench_open(sealed, size, budget);
    }
}
