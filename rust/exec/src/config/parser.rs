//! Builds the section tree from tokens: matches braces, keeps every item
//! with its line so validation can point at it.

use super::ConfigError;
use super::lexer::{Located, Token};

/// Deepest nesting accepted (the format needs 3: totem/interface/member).
const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Entry(Entry),
    Section(Section),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub name: String,
    /// Line of `name {`; 0 for the top level.
    pub line: u32,
    pub items: Vec<Item>,
}

/// Parses tokens into the top-level section.
pub fn parse(file: &str, tokens: Vec<Located>) -> Result<Section, ConfigError> {
    let mut stack: Vec<Section> = vec![Section::default()];
    for Located { line, token } in tokens {
        match token {
            Token::Open { name } => {
                if stack.len() > MAX_DEPTH {
                    return Err(ConfigError::new(file, line, &name, "sections nested too deeply".into()));
                }
                stack.push(Section { name, line, items: Vec::new() });
            }
            Token::Close => {
                if stack.len() == 1 {
                    return Err(ConfigError::new(file, line, "}", "closing brace without open section".into()));
                }
                if let Some(done) = stack.pop()
                    && let Some(parent) = stack.last_mut()
                {
                    parent.items.push(Item::Section(done));
                }
            }
            Token::KeyValue { key, value } => {
                if let Some(current) = stack.last_mut() {
                    current.items.push(Item::Entry(Entry { key, value, line }));
                }
            }
        }
    }
    if stack.len() > 1 {
        // Report the innermost unclosed section: that is where a brace is missing.
        let open = &stack[stack.len() - 1];
        return Err(ConfigError::new(file, open.line, &open.name, "section not closed before end of file".into()));
    }
    Ok(stack.pop().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn tree(text: &str) -> Result<Section, ConfigError> {
        parse("f", tokenize("f", text)?)
    }

    #[test]
    fn nests_sections() {
        let t = tree("totem {\n interface {\n  member {\n   memberaddr: 1.2.3.4\n  }\n }\n}\n").unwrap();
        let Item::Section(totem) = &t.items[0] else { panic!("no section") };
        let Item::Section(iface) = &totem.items[0] else { panic!("no interface") };
        let Item::Section(member) = &iface.items[0] else { panic!("no member") };
        assert_eq!((member.name.as_str(), member.line), ("member", 3));
        assert_eq!(member.items.len(), 1);
    }

    #[test]
    fn brace_errors() {
        assert_eq!(
            tree("totem {\n token: 1\n").unwrap_err().to_string(),
            "f:1: totem: section not closed before end of file"
        );
        assert_eq!(
            tree("totem {\n interface {\n").unwrap_err().to_string(),
            "f:2: interface: section not closed before end of file"
        );
        assert_eq!(tree("totem {\n}\n}\n").unwrap_err().to_string(), "f:3: }: closing brace without open section");
    }

    #[test]
    fn depth_is_bounded() {
        let text = "a {\n".repeat(20) + &"}\n".repeat(20);
        assert!(tree(&text).unwrap_err().to_string().contains("nested too deeply"));
    }
}
