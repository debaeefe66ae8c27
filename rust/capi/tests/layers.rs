//! The two layers of the C libraries, checked against the source (see
//! `rust/capi/README.md`, "Adding a library function"):
//! - the C side (`src/abi/`, and `src/boundary.rs` around every exported
//!   function) is the only one that knows it: no other file names
//!   `crate::abi`, so the dependency goes one way (abi → service →
//!   runtime);
//! - a service module (every other file but the runtime's, `lib.rs` and
//!   `error.rs`: `clm.rs`, `ckpt/`, `evt/`, `evs.rs`, `cpg.rs`, ...) is
//!   safe Rust on Rust types: it has `#![forbid(unsafe_code)]`, and no raw
//!   pointer type, `extern "C"` or export in its code.

mod source;

use std::fs;
use std::path::Path;

use source::{capi_dir, rust_files, strip_comments};

#[derive(Debug, PartialEq, Eq)]
enum Layer {
    /// `abi/`, `boundary.rs`: the C side.
    C,
    /// `runtime/`: shared by the services.
    Runtime,
    /// `lib.rs`, `error.rs`.
    Crate,
    Service,
}

/// The layer of a file, from its path under `src/`.
fn layer(path: &Path) -> Layer {
    if path.starts_with("abi") || path == Path::new("boundary.rs") {
        Layer::C
    } else if path.starts_with("runtime") {
        Layer::Runtime
    } else if path == Path::new("lib.rs") || path == Path::new("error.rs") {
        Layer::Crate
    } else {
        Layer::Service
    }
}

/// What is wrong with one file (`path` under `src/`, `src` its text).
fn problems_in(path: &Path, src: &str) -> Vec<String> {
    let layer = layer(path);
    let code = strip_comments(src);
    let mut problems = Vec::new();
    if layer != Layer::C {
        for c_side in ["crate::abi", "super::abi", "ais_capi::abi"] {
            if code.contains(c_side) {
                problems.push(format!("{}: names {c_side} (only abi/ knows the C side)", path.display()));
            }
        }
    }
    if layer == Layer::Service {
        if !code.contains("#![forbid(unsafe_code)]") {
            problems.push(format!("{}: a service module without #![forbid(unsafe_code)]", path.display()));
        }
        for c_thing in ["*const ", "*mut ", "extern \"C\"", "no_mangle"] {
            if code.contains(c_thing) {
                problems.push(format!(
                    "{}: a service module with `{}` (C is abi/'s job)",
                    path.display(),
                    c_thing.trim()
                ));
            }
        }
    }
    problems
}

#[test]
fn the_c_side_stays_in_abi() {
    let src = capi_dir().join("src");
    let mut problems = Vec::new();
    let mut services = 0;
    for file in rust_files(&src) {
        let path = file.strip_prefix(&src).unwrap();
        services += usize::from(layer(path) == Layer::Service);
        problems.extend(problems_in(path, &fs::read_to_string(&file).unwrap()));
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert!(services >= 5, "found {services} service modules: is the layout still src/<service>?");
}

#[test]
fn the_scanner_sees_a_crossing() {
    let good = "//! Uses no `*mut T` (in a comment).\n#![forbid(unsafe_code)]\nuse crate::runtime::Library;\n";
    assert_eq!(problems_in(Path::new("lck.rs"), good), Vec::<String>::new());
    let bad = "use crate::abi::sa_lck::SaLckCallbacksT;\npub fn f(p: *mut u8) {}\n";
    let found = problems_in(Path::new("lck/mod.rs"), bad);
    assert_eq!(found.len(), 3, "{found:?}"); // abi, forbid missing, *mut
    // The C side may do all of it; the runtime may not name abi.
    assert!(problems_in(Path::new("abi/sa_lck.rs"), bad).is_empty());
    assert_eq!(problems_in(Path::new("runtime/x.rs"), bad).len(), 1);
}
