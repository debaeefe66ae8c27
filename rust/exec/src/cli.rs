//! Command line: `aisexec [-f] [-t] [-v] [-h]`, with the long forms
//! `--foreground`, `--check`, `--version` and `--help`.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Run {
        foreground: bool,
    },
    /// `-t`: check the configuration and exit.
    Check,
    Version,
    Help,
}

pub const USAGE: &str = "usage: aisexec [-f] [-t] [-v] [-h]\n  -f, --foreground  run in the foreground (do not detach)\n  -t, --check       check the configuration and exit (0 if usable)\n  -v, --version     print the version and exit\n  -h, --help        print this help and exit\n";

/// Parses the arguments after the program name. Flags may be combined
/// (`-fv`); `-h`, then `-v`, then `-t` win over running.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Action, String> {
    let (mut foreground, mut check, mut version, mut help) = (false, false, false, false);
    for arg in args {
        let long = match arg.as_str() {
            "--foreground" => Some(&mut foreground),
            "--check" => Some(&mut check),
            "--version" => Some(&mut version),
            "--help" => Some(&mut help),
            _ if arg.starts_with("--") => return Err(format!("unknown option '{arg}'")),
            _ => None,
        };
        if let Some(flag) = long {
            *flag = true;
            continue;
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return Err(format!("unexpected argument '{arg}'"));
        };
        for c in flags.chars() {
            match c {
                'f' => foreground = true,
                't' => check = true,
                'v' => version = true,
                'h' => help = true,
                _ => return Err(format!("unknown option '-{c}'")),
            }
        }
    }
    Ok(if help {
        Action::Help
    } else if version {
        Action::Version
    } else if check {
        Action::Check
    } else {
        Action::Run { foreground }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Action, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags() {
        assert_eq!(p(&[]), Ok(Action::Run { foreground: false }));
        assert_eq!(p(&["-f"]), Ok(Action::Run { foreground: true }));
        assert_eq!(p(&["-f", "-v"]), Ok(Action::Version));
        assert_eq!(p(&["-fh"]), Ok(Action::Help));
        assert_eq!(p(&["-t"]), Ok(Action::Check));
        assert_eq!(p(&["-ft"]), Ok(Action::Check));
        assert_eq!(p(&["-t", "-v"]), Ok(Action::Version));
        assert_eq!(p(&["-x"]), Err("unknown option '-x'".into()));
        assert_eq!(p(&["f"]), Err("unexpected argument 'f'".into()));
        assert_eq!(p(&["-"]), Err("unexpected argument '-'".into()));
        assert_eq!(p(&["--help"]), Ok(Action::Help));
        assert_eq!(p(&["--version"]), Ok(Action::Version));
        assert_eq!(p(&["--check"]), Ok(Action::Check));
        assert_eq!(p(&["--foreground"]), Ok(Action::Run { foreground: true }));
        assert_eq!(p(&["--"]), Err("unknown option '--'".into()));
        assert_eq!(p(&["--bogus"]), Err("unknown option '--bogus'".into()));
    }
}
