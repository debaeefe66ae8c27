//! Seeded fuzzing of every decoder: random and mutated bodies must give a
//! value or an error, never a panic, and whatever decodes must encode back
//! to something that decodes to the same value.
//!
//! Inputs are biased towards small length/count words so the decoders get
//! past their first field and into nested lists; a run is deterministic
//! (fixed seeds), so a failure replays exactly (see `ais_testrng` for the
//! seed and iteration knobs).

use ais_ipc::codec::Reader;
use ais_ipc::{cfg, ckpt, clm, cpg, evs, evt, frame, handshake, msg};
use ais_testrng::Rng;

/// A body made of 4-byte words, mostly small numbers (plausible lengths,
/// counts, enum values and booleans), sometimes anything, then cut at a
/// random point.
fn biased_body(rng: &mut Rng) -> Vec<u8> {
    let words = rng.below(24) as usize;
    let mut out = Vec::with_capacity(words * 4);
    for _ in 0..words {
        let w: u32 = match rng.below(8) {
            0 => rng.next_u64() as u32,
            1 => u32::MAX - rng.below(4) as u32,
            2 => 1,
            3 => 0,
            _ => rng.below(6) as u32,
        };
        out.extend_from_slice(&w.to_le_bytes());
    }
    let cut = rng.below(out.len() as u64 + 1) as usize;
    out.truncate(cut);
    // Odd alignments too: a stray byte at the front shifts every field.
    if rng.below(4) == 0 {
        out.insert(0, rng.next_u64() as u8);
    }
    out
}

/// Flips, inserts or removes a few bytes of `body`.
fn mutate(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    for _ in 0..=rng.below(3) {
        match rng.below(4) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len() as u64) as usize;
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                // An extreme field: up to 8 bytes of 0xff (u32/u64::MAX, -1).
                let i = rng.below(out.len() as u64) as usize;
                let n = (1 + rng.below(8) as usize).min(out.len() - i);
                out[i..i + n].fill(0xff);
            }
            2 => {
                let i = rng.below(out.len() as u64 + 1) as usize;
                out.insert(i, rng.below(4) as u8);
            }
            _ if !out.is_empty() => {
                let i = rng.below(out.len() as u64) as usize;
                out.remove(i);
            }
            _ => {}
        }
    }
    out
}

/// Feeds `body` to every decoder (with every message id for the id-keyed
/// ones). Returns how many decoded, and the canonical re-encodings of
/// requests, to be mutated next.
fn feed_all(body: &[u8], ids: u32, grown: &mut Vec<Vec<u8>>) -> usize {
    let mut ok = 0usize;
    let mut count = |r: bool| ok += r as usize;

    // Reader-based pieces.
    count(ckpt::Attrs::decode(&mut Reader::new(body)).is_ok());
    count(ckpt::Descriptor::decode(&mut Reader::new(body)).is_ok());
    count(clm::Node::decode(&mut Reader::new(body)).is_ok());
    count(clm::View::decode(&mut Reader::new(body)).is_ok());
    count(evt::Event::decode(&mut Reader::new(body)).is_ok());
    count(msg::Message::decode(&mut Reader::new(body)).is_ok());
    count(msg::Members::decode(&mut Reader::new(body)).is_ok());

    // Whole bodies.
    count(ckpt::VectorResult::decode(body).is_ok());
    count(clm::TrackStart::decode(body).is_ok());
    count(clm::decode_node_get(body).is_ok());
    count(clm::decode_node_get_async(body).is_ok());
    count(clm::TrackReply::decode(body).is_ok());
    count(clm::decode_node(body).is_ok());
    count(clm::TrackCallback::decode(body).is_ok());
    count(clm::NodeGetCallback::decode(body).is_ok());
    count(clm::NodeInfo::decode(body).is_ok());
    count(cpg::decode_members(body).is_ok());
    count(cpg::decode_group_list(body).is_ok());
    count(cpg::decode_u32(body).is_ok());
    count(evs::decode_membership(body).is_ok());
    count(evt::Pulled::decode(body).is_ok());
    count(msg::Got::decode(body).is_ok());
    count(msg::Status::decode(body).is_ok());
    count(msg::TrackCallback::decode(body).is_ok());
    count(msg::decode_track_reply(body).is_ok());
    count(cfg::Status::decode_response(body).is_ok());
    count(cfg::decode_error(body).is_ok());
    count(cfg::decode_stats(body).is_ok());
    count(handshake::Hello::decode(body).is_ok());
    count(handshake::HelloReply::decode(body).is_ok());
    if let Some(head) = body.first_chunk::<{ frame::HEADER_SIZE }>() {
        count(frame::Header::decode(head).is_ok());
    }

    // Id-keyed requests and callbacks: decoded values must round-trip.
    for id in 0..ids {
        if let Ok(req) = ckpt::Request::decode(id, body) {
            ok += 1;
            let again = req.encode();
            assert_eq!(ckpt::Request::decode(req.id(), &again).as_ref(), Ok(&req), "ckpt id {id} body {body:02x?}");
            grown.push(again);
        }
        if let Ok(req) = evt::Request::decode(id, body) {
            ok += 1;
            let again = req.encode();
            assert_eq!(evt::Request::decode(req.id(), &again).as_ref(), Ok(&req), "evt id {id} body {body:02x?}");
            grown.push(again);
        }
        if let Ok(req) = msg::Request::decode(id, body) {
            ok += 1;
            let again = req.encode();
            assert_eq!(msg::Request::decode(req.id(), &again).as_ref(), Ok(&req), "msg id {id} body {body:02x?}");
            grown.push(again);
        }
        if let Ok(Some(req)) = cpg::Request::decode(id, body) {
            ok += 1;
            let again = req.encode();
            assert_eq!(cpg::Request::decode(req.id(), &again), Ok(Some(req.clone())), "cpg id {id} body {body:02x?}");
            grown.push(again);
        }
        if let Ok(cb) = cpg::Callback::decode(id, body) {
            ok += 1;
            let again = cb.encode();
            assert_eq!(cpg::Callback::decode(cb.id(), &again).as_ref(), Ok(&cb), "cpg cb id {id} body {body:02x?}");
        }
        if let Ok(Some(req)) = evs::Request::decode(id, body) {
            ok += 1;
            let again = req.encode();
            assert_eq!(evs::Request::decode(req.id(), &again), Ok(Some(req.clone())), "evs id {id} body {body:02x?}");
            grown.push(again);
        }
        if let Ok(cb) = evs::Callback::decode(id, body) {
            ok += 1;
            let again = cb.encode();
            assert_eq!(evs::Callback::decode(cb.id(), &again).as_ref(), Ok(&cb), "evs cb id {id} body {body:02x?}");
        }
    }
    ok
}

#[test]
fn random_and_mutated_bodies_never_panic_any_decoder() {
    const IDS: u32 = 24;
    let mut decoded = 0usize;
    let seeds = ais_testrng::seeds(&[1, 2, 3, 4]);
    let iters = ais_testrng::iters(1500);
    for &seed in &seeds {
        let _seed = ais_testrng::SeedGuard(seed);
        let mut rng = Rng::new(seed);
        let mut pool: Vec<Vec<u8>> = Vec::new();
        for _ in 0..iters {
            let body = match pool.len() {
                n if n > 0 && rng.below(2) == 0 => {
                    let pick = rng.below(n as u64) as usize;
                    mutate(&mut rng, &pool[pick])
                }
                _ => biased_body(&mut rng),
            };
            let mut grown = Vec::new();
            decoded += feed_all(&body, IDS, &mut grown);
            // Keep a bounded pool of valid encodings to mutate.
            for g in grown {
                if pool.len() < 256 {
                    pool.push(g);
                } else {
                    let slot = rng.below(pool.len() as u64) as usize;
                    pool[slot] = g;
                }
            }
        }
    }
    eprintln!("decoded {decoded} inputs");
    // The generator must reach past the first field, or this test proves
    // little: at least one input in six decodes somewhere.
    let inputs = seeds.len() * iters;
    assert!(decoded > inputs / 6, "only {decoded} of {inputs} inputs decoded");
}

#[test]
fn huge_declared_lengths_are_errors_not_allocations() {
    // Every 4-byte word says "4 billion items follow".
    let body = [0xffu8; 64];
    let mut grown = Vec::new();
    feed_all(&body, 64, &mut grown);
    for cut in 0..body.len() {
        feed_all(&body[..cut], 64, &mut grown);
    }
}
