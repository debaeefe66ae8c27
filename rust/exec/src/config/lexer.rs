//! Splits a corosync.conf text into line tokens.
//!
//! The format is line based: `name {` opens a section, `}` closes one,
//! `key: value` sets a key (the value is the rest of the line, trimmed, so
//! paths may contain spaces), and a line whose first non-blank character is
//! `#` is a comment. This module only classifies lines; nesting is the
//! parser's job.

use super::ConfigError;

/// One meaningful line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Open { name: String },
    Close,
    KeyValue { key: String, value: String },
}

/// A token and the 1-based line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub line: u32,
    pub token: Token,
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Tokenizes `text`; `file` is only used in error messages.
pub fn tokenize(file: &str, text: &str) -> Result<Vec<Located>, ConfigError> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = (index + 1) as u32;
        let s = raw.trim();
        if s.is_empty() || s.starts_with('#') {
            continue;
        }
        let err = |key: &str, why: String| ConfigError::new(file, line, key, why);
        let token = if s == "}" {
            Token::Close
        } else if let Some(head) = s.strip_suffix('{') {
            let name = head.trim();
            if !is_name(name) {
                return Err(err(name, "bad section name".into()));
            }
            Token::Open { name: name.to_string() }
        } else if let Some((key, value)) = s.split_once(':') {
            let key = key.trim();
            if !is_name(key) {
                return Err(err(key, "bad key name".into()));
            }
            let value = value.trim();
            if value.is_empty() {
                return Err(err(key, "missing value".into()));
            }
            Token::KeyValue { key: key.to_string(), value: value.to_string() }
        } else if is_name(s) {
            return Err(err(s, "expected '{' after section name".into()));
        } else {
            return Err(err(s, "expected 'name {', 'key: value' or '}'".into()));
        };
        out.push(Located { line, token });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_lines_and_skips_comments() {
        let text = "# top\ntotem {\n  token: 1000  \n\t# inner\n logfile: /a b/c\n}\n";
        let toks = tokenize("f", text).unwrap();
        assert_eq!(toks.len(), 4);
        assert_eq!(toks[0], Located { line: 2, token: Token::Open { name: "totem".into() } });
        assert_eq!(toks[1].token, Token::KeyValue { key: "token".into(), value: "1000".into() });
        assert_eq!(toks[2].token, Token::KeyValue { key: "logfile".into(), value: "/a b/c".into() });
        assert_eq!(toks[3], Located { line: 6, token: Token::Close });
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = tokenize("f.conf", "totem {\n token 1000\n}\n").unwrap_err();
        assert_eq!(e.to_string(), "f.conf:2: token 1000: expected 'name {', 'key: value' or '}'");
        let e = tokenize("f.conf", "totem\n").unwrap_err();
        assert_eq!(e.to_string(), "f.conf:1: totem: expected '{' after section name");
        let e = tokenize("f.conf", "a {\n token:\n").unwrap_err();
        assert_eq!(e.to_string(), "f.conf:2: token: missing value");
    }
}
