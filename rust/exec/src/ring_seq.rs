//! The ring sequence number this node must never reuse, kept in a file of
//! the run directory across restarts (Totem asks for it with
//! `Event::PersistRingSeq` and gets it back in `Totem::new`).

use std::io::Read;
use std::path::Path;

/// File in the run directory holding the highest ring sequence this node
/// was told to persist (decimal).
pub const RING_SEQ_FILE: &str = "ring0.seq";

/// Reads the persisted ring sequence; 0 when there is none yet.
pub fn read_ring_seq(path: &Path) -> Result<u64, String> {
    // A number and a newline; read no more than that could take, so a
    // wrong path (a device, a huge file) is an error, not an endless read.
    let mut text = String::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(64).read_to_string(&mut text));
    match read {
        Ok(_) => text.trim().parse().map_err(|_| format!("{}: not a ring sequence number", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes the ring sequence durably (fresh temporary file, fsync, rename,
/// fsync of the directory).
pub fn write_ring_seq(path: &Path, seq: u64) -> std::io::Result<()> {
    crate::files::replace(path, format!("{seq}\n").as_bytes(), 0o600, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_seq_file_round_trip_and_errors() {
        let dir = std::env::temp_dir().join(format!("totem-ring-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join(RING_SEQ_FILE);
        assert_eq!(read_ring_seq(&f), Ok(0));
        write_ring_seq(&f, 44).unwrap();
        assert_eq!(read_ring_seq(&f), Ok(44));
        std::fs::write(&f, "garbage").unwrap();
        assert!(read_ring_seq(&f).unwrap_err().contains("not a ring sequence"));
        // Before the bound this read until memory ran out.
        assert!(read_ring_seq(Path::new("/dev/zero")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
