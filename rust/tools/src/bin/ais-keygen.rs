//! ais-keygen: write the cluster's shared authentication key.
//!
//! Reads 128 bytes (1024 bits) from the kernel's random source and writes
//! them to `/etc/ais/authkey`, or to the file named with `-k PATH`. The file
//! is created with mode 0400; an existing key is replaced atomically (a
//! temporary file in the same directory, fsync, rename). A missing parent
//! directory is created with mode 0755 (it also holds the world-readable
//! corosync.conf; only the key itself is secret).
//!
//! Without `-k` it refuses to run unless it runs as root: the default key
//! belongs to root, and a half-written attempt by another user helps nobody.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const DEFAULT_KEY: &str = "/etc/ais/authkey";
const RANDOM_SOURCE: &str = "/dev/urandom";
const KEY_BYTES: usize = 128;

const USAGE: &str = "\
usage: ais-keygen [-k PATH] [-h]

Write a new 128-byte authentication key for the AIS executive, read from
the kernel's random source, with mode 0400.

  -k PATH  write the key to PATH instead of /etc/ais/authkey
           (allowed for any user; without -k ais-keygen must run as root)
  -h       show this help and exit
";

enum Args {
    Help,
    Run { key: Option<PathBuf> },
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut key = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Args::Help),
            "-k" => match args.next() {
                Some(p) if !p.is_empty() => key = Some(PathBuf::from(p)),
                _ => return Err("option -k needs a path".into()),
            },
            s if s.starts_with("-k") && s.len() > 2 => key = Some(PathBuf::from(&s[2..])),
            s => return Err(format!("unknown argument '{s}'")),
        }
    }
    Ok(Args::Run { key })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { geteuid() == 0 }
}

unsafe extern "C" {
    fn geteuid() -> u32;
}

fn gather_key() -> io::Result<[u8; KEY_BYTES]> {
    let mut key = [0u8; KEY_BYTES];
    File::open(RANDOM_SOURCE)?.read_exact(&mut key)?;
    Ok(key)
}

/// Write `key` to `path` with mode 0400, replacing any existing file
/// atomically. The temporary file is removed on any failure.
fn write_key(path: &Path, key: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    DirBuilder::new().recursive(true).mode(0o755).create(dir)?;
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path names no file"))?;

    let (tmp, mut file) = create_temp(dir, &name.to_string_lossy())?;
    let result = (|| {
        // The mode given at creation is masked by the umask: set it exactly.
        file.set_permissions(Permissions::from_mode(0o400))?;
        file.write_all(key)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    for n in 0..100 {
        let tmp = dir.join(format!(".{name}.{pid}.{n}.tmp"));
        match OpenOptions::new().write(true).create_new(true).mode(0o400).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, "no free temporary file name"))
}

fn main() -> ExitCode {
    let key_path = match parse_args(std::env::args().skip(1)) {
        Ok(Args::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Args::Run { key }) => key,
        Err(e) => {
            eprintln!("ais-keygen: {e}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    if key_path.is_none() && !is_root() {
        eprintln!(
            "ais-keygen: must be run as root to write {DEFAULT_KEY} \
             (use -k PATH to write a key elsewhere)"
        );
        return ExitCode::FAILURE;
    }
    let path = key_path.unwrap_or_else(|| PathBuf::from(DEFAULT_KEY));

    println!("Gathering {} bits for key from {RANDOM_SOURCE}.", KEY_BYTES * 8);
    let key = match gather_key() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("ais-keygen: cannot read {RANDOM_SOURCE}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Writing authkey to {}.", path.display());
    if let Err(e) = write_key(&path, &key) {
        eprintln!("ais-keygen: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
