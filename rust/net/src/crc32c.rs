//! CRC-32C (Castagnoli, the iSCSI/ext4 CRC): the corruption check of plain
//! (`secauth: off`) frames.
//!
//! Owns: computing CRC-32C, with the SSE4.2 `crc32` instruction when the CPU
//! has it (detected at run time) and a table-driven version everywhere
//! else. Both give identical results; the tests hold them to that.
//!
//! A CRC detects accidental corruption only. Anyone can compute it, so it
//! gives no authenticity: that is what `secauth: on` is for.
//!
//! The only `unsafe` is the call into the SSE4.2 routine, made after the
//! run-time check that the CPU supports it.

/// The reflected Castagnoli polynomial (0x1EDC6F41 bit-reversed).
const POLY: u32 = 0x82F6_3B78;

/// Slicing-by-8 tables: `TABLES[0]` is the classic byte table, `TABLES[k]`
/// advances a byte through k further zero bytes.
static TABLES: [[u32; 256]; 8] = make_tables();

const fn make_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            bit += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut k = 1;
        while k < 8 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            k += 1;
        }
        i += 1;
    }
    t
}

/// CRC-32C of `data` (initial value and final xor `0xFFFFFFFF`).
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c_append(0, data)
}

/// Extends `crc`, the CRC-32C of some bytes, to that of those bytes
/// followed by `data`: `crc32c_append(crc32c(a), b) == crc32c(a ++ b)`.
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    !update(!crc, data)
}

/// Advances the raw (not inverted) CRC register over `data`.
fn update(state: u32, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU supports SSE4.2, checked just above.
        #[allow(unsafe_code)]
        return unsafe { update_sse42(state, data) };
    }
    update_portable(state, data)
}

/// Table-driven update, 8 bytes per step.
fn update_portable(state: u32, data: &[u8]) -> u32 {
    let t = &TABLES;
    let mut crc = state;
    let (words, tail) = data.as_chunks::<8>();
    for w in words {
        let lo = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) ^ crc;
        let hi = u32::from_le_bytes([w[4], w[5], w[6], w[7]]);
        crc = t[7][(lo & 0xFF) as usize]
            ^ t[6][((lo >> 8) & 0xFF) as usize]
            ^ t[5][((lo >> 16) & 0xFF) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xFF) as usize]
            ^ t[2][((hi >> 8) & 0xFF) as usize]
            ^ t[1][((hi >> 16) & 0xFF) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in tail {
        crc = (crc >> 8) ^ t[0][((crc ^ u32::from(b)) & 0xFF) as usize];
    }
    crc
}

/// SSE4.2 update, 8 bytes per `crc32` instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
fn update_sse42(state: u32, data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u8, _mm_crc32_u64};
    let (words, tail) = data.as_chunks::<8>();
    let mut crc = u64::from(state);
    for w in words {
        crc = _mm_crc32_u64(crc, u64::from_le_bytes(*w));
    }
    // The instruction leaves the upper 32 bits zero.
    let mut crc = crc as u32;
    for &b in tail {
        crc = _mm_crc32_u8(crc, b);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-at-a-time definition, the reference for both fast versions.
    fn reference(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ POLY } else { crc >> 1 };
            }
        }
        !crc
    }

    fn hardware(data: &[u8]) -> Option<u32> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("sse4.2") {
            // SAFETY: SSE4.2 present, checked just above.
            #[allow(unsafe_code)]
            return Some(!unsafe { update_sse42(!0, data) });
        }
        let _ = data;
        None
    }

    fn portable(data: &[u8]) -> u32 {
        !update_portable(!0, data)
    }

    #[test]
    fn known_vectors() {
        let ascending: Vec<u8> = (0..32).collect();
        let descending: Vec<u8> = (0..32).rev().collect();
        // The check value of the CRC catalogue and the iSCSI test vectors
        // of RFC 3720, appendix B.4.
        let cases: [(&[u8], u32); 6] = [
            (b"", 0),
            (b"123456789", 0xE306_9283),
            (&[0u8; 32], 0x8A91_36AA),
            (&[0xFFu8; 32], 0x62A8_AB43),
            (&ascending, 0x46DD_794E),
            (&descending, 0x113F_DB5C),
        ];
        for (data, want) in cases {
            assert_eq!(crc32c(data), want, "{data:02x?}");
            assert_eq!(portable(data), want, "portable {data:02x?}");
            assert_eq!(reference(data), want, "reference {data:02x?}");
            if let Some(h) = hardware(data) {
                assert_eq!(h, want, "hardware {data:02x?}");
            }
        }
    }

    #[test]
    fn hardware_and_portable_agree_on_all_lengths_and_alignments() {
        let (mut rng, _seed) = ais_testrng::seeded(0xC5C3_2C00);
        let buf = rng.bytes(10_000);
        let mut lengths: Vec<usize> = (0..=300).collect();
        lengths.extend([511, 512, 513, 1023, 1400, 1424, 1472, 1500, 4096, 9000]);
        let has_hw = hardware(b"").is_some();
        for offset in 0..16 {
            for &len in &lengths {
                let data = &buf[offset..offset + len];
                let want = reference(data);
                assert_eq!(portable(data), want, "portable len {len} offset {offset}");
                assert_eq!(crc32c(data), want, "crc32c len {len} offset {offset}");
                if let Some(h) = hardware(data) {
                    assert_eq!(h, want, "hardware len {len} offset {offset}");
                }
            }
        }
        if !has_hw {
            eprintln!("no SSE4.2 here: only the portable version was checked");
        }
    }

    #[test]
    fn append_equals_whole() {
        let (mut rng, _seed) = ais_testrng::seeded(42);
        let data = rng.bytes(2000);
        for split in [0, 1, 7, 8, 9, 100, 1399, 2000] {
            let (a, b) = data.split_at(split);
            assert_eq!(crc32c_append(crc32c(a), b), crc32c(&data), "split {split}");
        }
    }

    #[test]
    fn detects_every_single_bit_flip_and_short_burst() {
        let (mut rng, _seed) = ais_testrng::seeded(7);
        let data = rng.bytes(1424);
        let good = crc32c(&data);
        let mut t = data.clone();
        for i in 0..t.len() {
            for bit in 0..8 {
                t[i] ^= 1 << bit;
                assert_ne!(crc32c(&t), good, "bit {bit} of byte {i}");
                t[i] ^= 1 << bit;
            }
            // any burst within 4 bytes (32 bits) is always detected
            if i + 4 <= t.len() {
                let burst = rng.bytes(4);
                if burst != [0; 4] {
                    t[i..i + 4].iter_mut().zip(&burst).for_each(|(x, b)| *x ^= b);
                    assert_ne!(crc32c(&t), good, "burst at {i}");
                    t[i..i + 4].copy_from_slice(&data[i..i + 4]);
                }
            }
        }
    }
}
