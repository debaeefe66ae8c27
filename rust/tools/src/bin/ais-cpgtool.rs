//! `ais-cpgtool`: lists the closed process groups and their members (see
//! `ais_tools::cpgtool`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let code = ais_tools::cpgtool::run(
        &args,
        &ais_ipc::socket_path(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
