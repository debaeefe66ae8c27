//! `aisexec`: the AIS executive.

use aisexec::cli::{self, Action};

fn main() {
    if let Err(e) = aisexec::files::check_not_setid() {
        eprintln!("aisexec: {e}");
        std::process::exit(1);
    }
    let code = match cli::parse(std::env::args().skip(1)) {
        Ok(Action::Help) => {
            print!("{}", cli::USAGE);
            0
        }
        Ok(Action::Version) => {
            println!("aisexec {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Ok(Action::Run { foreground }) => aisexec::startup::run(foreground),
        Ok(Action::Check) => aisexec::startup::check(),
        Err(e) => {
            eprint!("aisexec: {e}\n{}", cli::USAGE);
            1
        }
    };
    std::process::exit(code);
}
