//! The sources' own rules, read from `src/`: no function over 80 lines without the reason
//! written at its top (a doc comment saying "Over 80 lines" and why).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Each function of `text` with its length in lines and the doc comment above it. A
/// function ends at the first line that is its indentation and `}` (rustfmt's layout).
fn functions(text: &str) -> Vec<(String, usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let rest = ["pub fn ", "pub(super) fn ", "pub(crate) fn ", "fn "]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p));
        let Some(rest) = rest else { continue };
        if line.trim_end().ends_with(';') {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let end = format!("{indent}}}");
        let Some(len) = lines[i..].iter().position(|l| *l == end) else {
            continue;
        };
        let doc: Vec<&str> = lines[..i]
            .iter()
            .rev()
            .take_while(|l| {
                let t = l.trim_start();
                t.starts_with("///") || t.starts_with("#[")
            })
            .copied()
            .collect();
        found.push((name, len + 1, doc.join("\n")));
    }
    found
}

#[test]
fn no_function_is_over_80_lines_without_its_reason() {
    let mut files = Vec::new();
    rust_files(&common::source_root().join("src"), &mut files);
    files.sort();
    let mut long = Vec::new();
    let mut reasoned = 0;
    for file in &files {
        for (name, len, doc) in functions(&fs::read_to_string(file).unwrap()) {
            if len > 80 {
                if doc.contains("Over 80 lines") {
                    reasoned += 1;
                } else {
                    long.push(format!("{}: {name} ({len} lines)", file.display()));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "over 80 lines with no reason at the top (split them, or say why not):\n{}",
        long.join("\n")
    );
    assert!(
        reasoned > 0,
        "the scan found no long function at all: is it reading src/?"
    );

    // The scan itself: a long function is seen, and its reason is read.
    let body = "    let x = 1;\n".repeat(85);
    let bare = format!("fn long() {{\n{body}}}\n");
    assert_eq!(functions(&bare), [("long".to_owned(), 87, String::new())]);
    let with_reason = format!("/// Over 80 lines: a table.\npub fn long() {{\n{body}}}\n");
    assert!(functions(&with_reason)[0].2.contains("Over 80 lines"));
}
