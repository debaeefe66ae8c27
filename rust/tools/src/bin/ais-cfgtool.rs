//! `ais-cfgtool`: administration of the local executive over IPC.
//!
//! The options are described in [`ais_tools::cfgtool`] and
//! `ais-cfgtool(8)`. Exit 0 on success; 1 if the executive cannot be
//! reached or answers an error; 2 on bad usage.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let code = ais_tools::cfgtool::run(
        &args,
        &ais_ipc::socket_path(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
