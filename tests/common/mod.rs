//! Helpers for maou-build's integration tests: a copy of this workspace at a temporary
//! path, and running the maou-build binary on it.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What a workspace copy needs: everything cargo and maturin read, nothing built.
const SKIP: &[&str] = &[
    "target",
    ".venv",
    ".git",
    "dist",
    "__pycache__",
    ".pytest_cache",
];

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if SKIP.contains(&name_str.as_ref()) || name_str.ends_with(".so") {
            continue;
        }
        let ty = entry.file_type().unwrap();
        if ty.is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else if ty.is_file() {
            fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

pub fn source_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of this workspace under a new temporary directory: `(guard, workspace root)`.
pub fn workspace_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::Builder::new()
        .prefix("maou-ws-")
        .tempdir()
        .unwrap();
    let root = tmp.path().join("maou");
    for item in [
        "Cargo.toml",
        "Cargo.lock",
        "rust-toolchain.toml",
        "pyproject.toml",
        ".cargo",
        "src",
        "rust",
        "python",
    ] {
        let from = source_root().join(item);
        if from.is_dir() {
            copy_tree(&from, &root.join(item));
        } else {
            fs::create_dir_all(&root).unwrap();
            fs::copy(&from, root.join(item)).unwrap();
        }
    }
    (tmp, root)
}

pub fn maou_build(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_maou-build"));
    cmd.current_dir(dir);
    cmd
}

pub fn text(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn replace_in(path: &Path, from: &str, to: &str) {
    let before = fs::read_to_string(path).unwrap();
    assert!(
        before.contains(from),
        "{} does not contain {from:?}",
        path.display()
    );
    fs::write(path, before.replacen(from, to, 1)).unwrap();
}
