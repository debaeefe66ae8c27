//! The exported set, checked against the source: every function listed in
//! `symbols/` is defined once with `#[unsafe(no_mangle)]`, and every such
//! function's body runs inside `boundary!` (a panic must never reach C, and
//! rustls-ffi once shipped a function that lacked its boundary). Also keeps
//! `libraries.list` and `symbols/` consistent with each other.

mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use source::{capi_dir, rust_files, strip_comments};

/// The version nodes of `libraries.list`, in order of first appearance.
fn listed_nodes() -> Vec<String> {
    let text = fs::read_to_string(capi_dir().join("libraries.list")).unwrap();
    let mut nodes = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 4, "libraries.list: bad line: {line}");
        for node in fields[3].split(',') {
            if !nodes.iter().any(|n| n == node) {
                nodes.push(node.to_string());
            }
        }
    }
    nodes
}

/// Rust function -> node, from `symbols/<node>` (comments and blank lines
/// skipped). A line is `name` (the function of that name) or `name impl`
/// (the function `impl`, exported as `name`: AMF A.01.01, whose names
/// clash with B.01.01's).
fn listed_symbols() -> BTreeMap<String, String> {
    let nodes = listed_nodes();
    let mut symbols = BTreeMap::new();
    for entry in fs::read_dir(capi_dir().join("symbols")).unwrap() {
        let path = entry.unwrap().path();
        let node = path.file_name().unwrap().to_str().unwrap().to_string();
        assert!(nodes.contains(&node), "symbols/{node} is not a node of any library in libraries.list");
        for line in fs::read_to_string(&path).unwrap().lines() {
            let fields: Vec<&str> = line.split('#').next().unwrap().split_whitespace().collect();
            let symbol = match fields[..] {
                [] => continue,
                [name] => name,
                [name, implementation] => {
                    assert!(name.starts_with("sa"), "symbols/{node}: an exported name not of the API: {name:?}");
                    implementation
                }
                _ => panic!("symbols/{node}: more than two columns: {line:?}"),
            };
            for name in &fields {
                assert!(
                    name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "symbols/{node}: not a C identifier: {name:?}"
                );
            }
            if let Some(other) = symbols.insert(symbol.to_string(), node.clone()) {
                panic!("{symbol} is listed in both symbols/{other} and symbols/{node}");
            }
        }
    }
    for node in &nodes {
        assert!(capi_dir().join("symbols").join(node).is_file(), "symbols/{node} is missing");
    }
    symbols
}

struct Export {
    file: PathBuf,
    name: String,
    through_boundary: bool,
}

/// Every `#[unsafe(no_mangle)]` function of one source file.
fn exports_in(file: &Path, src: &str) -> Vec<Export> {
    let src = strip_comments(src);
    for forbidden in ["#[no_mangle]", "export_name"] {
        assert!(
            !src.contains(forbidden),
            "{}: uses {forbidden}; export with #[unsafe(no_mangle)] only",
            file.display()
        );
    }
    let mut found = Vec::new();
    for (at, _) in src.match_indices("#[unsafe(no_mangle)]") {
        let after = &src[at..];
        let fn_at = after.find("fn ").unwrap_or_else(|| panic!("{}: no_mangle without fn", file.display()));
        let item = &after[fn_at + 3..];
        let name: String = item.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        assert!(
            !after[..fn_at].contains(';') && !after[..fn_at].contains('{'),
            "{}: #[unsafe(no_mangle)] on something other than a function, near {name}",
            file.display()
        );
        // The body is the first `{` after the name: parameters and return
        // types of C functions hold no braces.
        let body_at = item.find('{').unwrap();
        let body = item[body_at + 1..].trim_start();
        let through_boundary = ["boundary!", "crate::boundary!", "$crate::boundary!", "ais_capi::boundary!"]
            .iter()
            .any(|m| body.starts_with(m) && body[m.len()..].trim_start().starts_with(['(', '{', '[']));
        found.push(Export { file: file.to_path_buf(), name, through_boundary });
    }
    found
}

#[test]
fn every_exported_function_goes_through_the_boundary() {
    let mut exports = Vec::new();
    for file in &rust_files(&capi_dir().join("src")) {
        exports.extend(exports_in(file, &fs::read_to_string(file).unwrap()));
    }
    let mut problems = Vec::new();
    let mut defined = BTreeMap::new();
    for e in &exports {
        if !e.through_boundary {
            problems.push(format!("{}: {} does not start its body with boundary!", e.file.display(), e.name));
        }
        if let Some(other) = defined.insert(e.name.clone(), e.file.clone()) {
            problems.push(format!("{} is defined in {} and {}", e.name, other.display(), e.file.display()));
        }
    }
    for (symbol, node) in listed_symbols() {
        if !defined.contains_key(&symbol) {
            problems.push(format!("symbols/{node} lists {symbol}, which no #[unsafe(no_mangle)] fn defines"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_scanner_sees_a_missing_boundary() {
    let good = "#[unsafe(no_mangle)]\npub unsafe extern \"C\" fn saGood(a: *mut u8) -> SaAisErrorT {\n    // note\n    boundary!({ Ok(()) })\n}\n";
    let bad = "#[unsafe(no_mangle)]\npub extern \"C\" fn saBad(f: Option<extern \"C\" fn(u32)>) -> u32 {\n    let x = 1;\n    boundary!({ Ok(()) })\n}\n";
    let found = exports_in(Path::new("x.rs"), &format!("{good}{bad}"));
    let summary: Vec<(&str, bool)> = found.iter().map(|e| (e.name.as_str(), e.through_boundary)).collect();
    assert_eq!(summary, [("saGood", true), ("saBad", false)]);
}

#[test]
fn libraries_and_symbols_agree() {
    let symbols = listed_symbols();
    let nodes: BTreeSet<String> = listed_nodes().into_iter().collect();
    assert!(symbols.values().all(|n| nodes.contains(n)));
}
