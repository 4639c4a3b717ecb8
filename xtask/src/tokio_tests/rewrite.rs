//! How a tokio test file becomes one of the scratch crate's: its paths to our types pointed at
//! `async_patterns::sync`, and the file cut into its top-level items so that the ones the
//! compiler rejects can be blanked, line numbers kept (the errors and panics then point at
//! tokio's lines).

use std::collections::BTreeMap;

/// The prefixes of the `tokio::sync` names that are ours: the types, their guards, permits and
/// their owned and mapped variants all start with one of these.
const OUR_PREFIXES: [&str; 8] = [
    "Semaphore",
    "OwnedSemaphore",
    "Mutex",
    "OwnedMutex",
    "MappedMutex",
    "OwnedMappedMutex",
    "RwLock",
    "OwnedRwLock",
];

/// The error types ours share with tokio's names.
const OUR_ERRORS: [&str; 3] = ["AcquireError", "TryAcquireError", "TryLockError"];

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifier `text` starts with (empty if none).
fn leading_ident(text: &str) -> &str {
    let end = text.find(|c: char| !is_ident_char(c)).unwrap_or(text.len());
    &text[..end]
}

/// Whether `tokio::sync::<name>` is one of the types `async_patterns::sync` replaces.
fn is_ours(name: &str) -> bool {
    OUR_ERRORS.contains(&name) || OUR_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// `text` with every path `tokio::sync::NAME` whose NAME [`is_ours`] pointed at
/// `async_patterns::sync::NAME`, in plain paths and in `use` groups; the other names of
/// `tokio::sync` (`oneshot`, `Barrier`) and the rest of tokio stay as they are. A group of both
/// becomes a group of two paths, `{async_patterns::sync::{..}, tokio::sync::{..}}` (valid in any
/// `use`), padded so that every later line keeps its number: the errors of the build and the
/// panics of the run then point at the same lines as tokio's file.
pub(super) fn swap_imports(text: &str) -> String {
    const TOKIO: &str = "tokio::sync::";
    const OURS: &str = "async_patterns::sync::";
    let mut out = String::with_capacity(text.len() + 256);
    let mut rest = text;
    while let Some(at) = rest.find(TOKIO) {
        out.push_str(&rest[..at]);
        let after = &rest[at + TOKIO.len()..];
        // `my_tokio::sync::` is another crate's path.
        if out.chars().next_back().is_some_and(is_ident_char) {
            out.push_str(TOKIO);
            rest = after;
            continue;
        }
        let group = after
            .starts_with('{')
            .then(|| matching_brace(after))
            .flatten();
        let Some(close) = group else {
            out.push_str(if is_ours(leading_ident(after)) {
                OURS
            } else {
                TOKIO
            });
            rest = after;
            continue;
        };
        let inner = &after[1..close];
        let (ours, theirs): (Vec<&str>, Vec<&str>) = split_top_level(inner)
            .into_iter()
            .partition(|element| is_ours(leading_ident(element)));
        if theirs.is_empty() {
            out.push_str(OURS);
            out.push_str(&after[..=close]);
        } else if ours.is_empty() {
            out.push_str(TOKIO);
            out.push_str(&after[..=close]);
        } else {
            let split = format!(
                "{{{OURS}{{{}}}, {TOKIO}{{{}}}",
                ours.join(", "),
                theirs.join(", ")
            );
            let lost = inner.matches('\n').count() - split.matches('\n').count();
            out.push_str(&split);
            out.push_str(&"\n".repeat(lost));
            out.push('}');
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The index of the `}` that closes the `{` `text` starts with.
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The elements of a `use` group's inside, split on its own commas (not those of nested groups),
/// trimmed, empty ones (a trailing comma's) left out.
fn split_top_level(inner: &str) -> Vec<&str> {
    let mut elements = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                elements.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    elements.push(inner[start..].trim());
    elements.retain(|element| !element.is_empty());
    elements
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Fn,
    /// `use` and `extern crate`: blanking one would only move its error to every user of the name.
    Use,
    /// `struct`, `impl`, `const`, `macro_rules!`, …
    Other,
}

/// One top-level item of a rustfmt'd file: its lines, attributes and comments above it included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Item {
    /// First line, 0-based: its first attribute or comment line.
    start: usize,
    /// Last line, 0-based, inclusive.
    end: usize,
    pub(super) kind: Kind,
    /// The function's (or type's) name; a `use` item's whole line.
    pub(super) name: String,
    /// Whether its attributes make it a test (`#[test]`, `#[tokio::test…]`, `#[maybe_tokio_test…]`).
    pub(super) test: bool,
}

/// The top-level items of `source`, relying on rustfmt's layout instead of parsing Rust: an item
/// starts at column 0, preceded by its attribute and comment lines (no blank line between); it
/// ends on its first line if that line ends with `;` or `}`, else at the next line at column 0
/// that starts with `}` (or is a closing `);`/`];`). Inner attributes (`#![…]`) and block
/// comments at column 0 (the tests tokio keeps commented out) are no items.
pub(super) fn split_items(source: &str) -> Vec<Item> {
    let lines: Vec<&str> = source.lines().collect();
    let mut items = Vec::new();
    let mut prelude: Option<usize> = None;
    let mut attributes: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() || line.starts_with(char::is_whitespace) {
            prelude = None;
            attributes.clear();
            i += 1;
        } else if line.starts_with("/*") {
            while i < lines.len() && !lines[i].contains("*/") {
                i += 1;
            }
            prelude = None;
            attributes.clear();
            i += 1;
        } else if line.starts_with("#!") {
            i = attribute_end(&lines, i) + 1;
            prelude = None;
            attributes.clear();
        } else if line.starts_with("//") {
            prelude.get_or_insert(i);
            i += 1;
        } else if line.starts_with("#[") {
            prelude.get_or_insert(i);
            let end = attribute_end(&lines, i);
            attributes.push(lines[i..=end].join("\n"));
            i = end + 1;
        } else {
            let end = item_end(&lines, i);
            let (kind, name) = describe(line);
            items.push(Item {
                start: prelude.take().unwrap_or(i),
                end,
                kind,
                name,
                test: attributes.iter().any(|a| is_test_attribute(a)),
            });
            attributes.clear();
            i = end + 1;
        }
    }
    items
}

/// `line` up to a `//` comment (one outside a string literal).
fn code_part(line: &str) -> &str {
    let mut in_string = false;
    let mut escaped = false;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '/' && previous == '/' {
            return &line[..i - 1];
        }
        previous = c;
    }
    line
}

/// The last line of the attribute starting on line `start`: where its brackets balance.
fn attribute_end(lines: &[&str], start: usize) -> usize {
    let mut depth = 0i64;
    for (i, line) in lines.iter().enumerate().skip(start) {
        let mut in_string = false;
        let mut escaped = false;
        for c in code_part(line).chars() {
            match (in_string, c) {
                (true, _) if escaped => escaped = false,
                (true, '\\') => escaped = true,
                (true, '"') | (false, '"') => in_string = !in_string,
                (false, '[') => depth += 1,
                (false, ']') => depth -= 1,
                _ => {}
            }
        }
        if depth <= 0 {
            return i;
        }
    }
    lines.len().saturating_sub(1)
}

/// The last line of the item whose first code line is `start`.
fn item_end(lines: &[&str], start: usize) -> usize {
    let first = code_part(lines[start]).trim_end();
    if first.ends_with(';') || first.ends_with('}') {
        return start;
    }
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let closes = line.starts_with('}')
            || ((line.starts_with(')') || line.starts_with(']'))
                && code_part(line).trim_end().ends_with(';'));
        if closes {
            return i;
        }
    }
    lines.len().saturating_sub(1)
}

/// The kind and name of the item whose first code line is `line`.
fn describe(line: &str) -> (Kind, String) {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let mut k = 0;
    while let Some(&token) = tokens.get(k) {
        let qualifier = token == "pub"
            || token.starts_with("pub(")
            || matches!(token, "async" | "unsafe" | "extern" | "\"C\"")
            || (token == "const" && tokens.get(k + 1) == Some(&"fn"));
        if !qualifier {
            break;
        }
        k += 1;
    }
    let keyword = tokens.get(k).copied().unwrap_or_default();
    let next = tokens
        .get(k + 1)
        .map(|t| leading_ident(t))
        .unwrap_or_default();
    match keyword {
        "fn" => (Kind::Fn, next.to_owned()),
        "use" | "crate" => (Kind::Use, line.trim().to_owned()),
        _ if !next.is_empty() => (Kind::Other, next.to_owned()),
        _ => (Kind::Other, line.trim().to_owned()),
    }
}

/// Whether the attribute makes its function a test: `#[test]`, `#[tokio::test…]`, or tokio's
/// `#[maybe_tokio_test…]` (an alias of `tokio::test` off wasm).
fn is_test_attribute(attribute: &str) -> bool {
    let path = attribute
        .trim_start_matches("#[")
        .split(|c: char| c == '(' || c == ']' || c == '=' || c.is_whitespace())
        .next()
        .unwrap_or_default();
    matches!(path, "test" | "tokio::test" | "maybe_tokio_test")
}

/// One of tokio's files on its way through the blanking rounds.
pub(super) struct TestFile {
    pub(super) name: &'static str,
    /// tokio's file with our imports swapped in.
    pub(super) source: String,
    pub(super) items: Vec<Item>,
    /// Blanked items: index in `items`, and the error that got them blanked.
    pub(super) blanked: BTreeMap<usize, String>,
    /// Why the whole file is left out of the build, if it is.
    pub(super) dropped: Option<String>,
}

impl TestFile {
    /// The source with the blanked items' lines emptied (line numbers kept).
    pub(super) fn current(&self) -> String {
        let mut lines: Vec<&str> = self.source.lines().collect();
        let last = lines.len().saturating_sub(1);
        for &index in self.blanked.keys() {
            let item = &self.items[index];
            for line in &mut lines[item.start..=item.end.min(last)] {
                *line = "";
            }
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }

    pub(super) fn item_at(&self, line: usize) -> Option<usize> {
        let line = line.checked_sub(1)?;
        self.items
            .iter()
            .position(|item| item.start <= line && line <= item.end)
    }

    /// The blanked helpers (items that are no tests) whose names `message` mentions.
    pub(super) fn blanked_helpers_in(&self, message: &str) -> Vec<&str> {
        self.blanked
            .keys()
            .map(|&index| &self.items[index])
            .filter(|item| !item.test && message.contains(&format!("`{}`", item.name)))
            .map(|item| item.name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_to_our_types_are_swapped() {
        assert_eq!(
            swap_imports("use tokio::sync::Mutex;\nlet s = tokio::sync::Semaphore::new(0);\n"),
            "use async_patterns::sync::Mutex;\nlet s = async_patterns::sync::Semaphore::new(0);\n"
        );
        for name in [
            "OwnedSemaphorePermit",
            "SemaphorePermit",
            "MutexGuard",
            "OwnedMappedMutexGuard",
            "MappedMutexGuard",
            "RwLockWriteGuard",
            "OwnedRwLockReadGuard",
            "AcquireError",
            "TryAcquireError",
            "TryLockError",
        ] {
            assert_eq!(
                swap_imports(&format!("    use tokio::sync::{name};")),
                format!("    use async_patterns::sync::{name};"),
            );
        }
    }

    #[test]
    fn the_rest_of_tokio_is_untouched() {
        let text = "let (tx, rx) = tokio::sync::oneshot::channel();\n\
                    use tokio::sync::Barrier;\n\
                    tokio::spawn(async {});\n\
                    #[tokio::test]\n\
                    tokio::task::coop::consume_budget();\n\
                    use tokio::time::{interval, timeout};\n\
                    use tokio::sync::{mpsc, Notify};\n\
                    my_tokio::sync::Mutex::new(());\n";
        assert_eq!(swap_imports(text), text);
    }

    #[test]
    fn a_mixed_group_is_split_between_the_crates_and_keeps_its_lines() {
        assert_eq!(
            swap_imports("use tokio::sync::{RwLock, RwLockWriteGuard};\n"),
            "use async_patterns::sync::{RwLock, RwLockWriteGuard};\n"
        );
        assert_eq!(
            swap_imports("use tokio::sync::{oneshot, RwLock, Barrier as B, Mutex as M};"),
            "use {async_patterns::sync::{RwLock, Mutex as M}, tokio::sync::{oneshot, Barrier as B}};"
        );
        let multi_line =
            "use tokio::sync::{\n    mpsc::{self, Sender},\n    Semaphore,\n};\nfn f() {}\n";
        let swapped = swap_imports(multi_line);
        assert_eq!(
            swapped,
            "use {async_patterns::sync::{Semaphore}, tokio::sync::{mpsc::{self, Sender}}\n\n\n};\nfn f() {}\n"
        );
        assert_eq!(swapped.lines().count(), multi_line.lines().count());
    }

    #[test]
    fn items_take_their_attributes_and_comments_and_end_at_their_brace() {
        let source = "#![cfg(feature = \"sync\")]\n\
                      \n\
                      use std::sync::Arc;\n\
                      use tokio_test::{\n    assert_pending,\n    assert_ready,\n};\n\
                      \n\
                      /// Doc.\n\
                      #[tokio::test]\n\
                      #[cfg(feature = \"full\")] // trailing comment\n\
                      async fn a_test() {\n    let x = {\n        1\n    };\n}\n\
                      \n\
                      fn helper(\n    n: usize,\n) -> usize {\n    n\n}\n\
                      \n\
                      /*\n#[test]\nfn commented_out() {\n}\n*/\n\
                      #[maybe_tokio_test]\n\
                      async fn b() {}\n\
                      #[test]\n\
                      #[should_panic(\n    expected = \"a ] in [ a string\"\n)]\n\
                      fn c() {\n}\n";
        let items = split_items(source);
        let view: Vec<(usize, usize, Kind, &str, bool)> = items
            .iter()
            .map(|i| (i.start, i.end, i.kind, i.name.as_str(), i.test))
            .collect();
        assert_eq!(
            view,
            [
                (2, 2, Kind::Use, "use std::sync::Arc;", false),
                (3, 6, Kind::Use, "use tokio_test::{", false),
                (8, 15, Kind::Fn, "a_test", true),
                (17, 21, Kind::Fn, "helper", false),
                (28, 29, Kind::Fn, "b", true),
                (30, 35, Kind::Fn, "c", true),
            ]
        );
    }

    #[test]
    fn blanking_keeps_the_line_numbers() {
        let source = "use a::B;\n\n#[test]\nfn t() {\n    x();\n}\n\nfn u() {}\n";
        let mut file = TestFile {
            name: "f",
            source: source.to_owned(),
            items: split_items(source),
            blanked: BTreeMap::new(),
            dropped: None,
        };
        assert_eq!(file.item_at(5), Some(1));
        assert_eq!(file.item_at(2), None);
        file.blanked.insert(1, "error".to_owned());
        assert_eq!(file.current(), "use a::B;\n\n\n\n\n\n\nfn u() {}\n");
    }
}
