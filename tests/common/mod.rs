//! Helpers for maou-build's integration tests: a copy of this workspace at a temporary
//! path, and running the maou-build binary on it.

#![allow(dead_code)]

pub mod fake_github;
pub mod redis;
pub mod wheels;

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
    // the copies of develop's companion libraries an earlier version placed
    ".maou-build-dev-libs",
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
    copy_workspace_to(&root);
    (tmp, root)
}

/// A copy of this workspace at a fixed path under the temporary directory, replaced if it
/// exists. sccache's rustc keys include the checkout path (see docs/uc1-develop.md), so a
/// fixed path lets a second run of the tests on the same machine hit the cache. Callers
/// must not run concurrently.
pub fn workspace_copy_at_fixed_path(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(name).join("maou");
    if root.exists() {
        fs::remove_dir_all(&root).unwrap();
    }
    copy_workspace_to(&root);
    root
}

/// Copies `item` (a file or a directory) from `from` to the same place under `to`.
pub fn copy_item(from: &Path, to: &Path, item: &str) {
    let source = from.join(item);
    if source.is_dir() {
        copy_tree(&source, &to.join(item));
    } else {
        fs::create_dir_all(to).unwrap();
        fs::copy(&source, to.join(item)).unwrap();
    }
}

fn copy_workspace_to(root: &Path) {
    for item in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "rust-toolchain.toml",
        "pyproject.toml",
        ".cargo",
        "src",
        "rust",
        "python",
    ] {
        copy_item(&source_root(), root, item);
    }
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

/// `body` written to `rel` under `root`, its directories made.
pub fn write(root: &Path, rel: &str, body: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, body).unwrap();
}

/// A maturin workspace of maou's shape under other names: `foo._native` built from
/// `foo_native`, which depends on the rlib `foo_core`.
pub fn tiny_workspace(dir: &Path, requires_python: &str, crate_type: &str) {
    let write = |rel: &str, body: &str| write(dir, rel, body);
    write(
        "pyproject.toml",
        &format!(
            "[build-system]\nrequires = [\"maturin>=1.9\"]\nbuild-backend = \"maturin\"\n\n\
             [project]\nname = \"foo\"\nversion = \"1.2.3\"\nrequires-python = \"{requires_python}\"\n\n\
             [tool.maturin]\npython-source = \"py\"\nmodule-name = \"foo._native\"\n\
             manifest-path = \"crates/native/Cargo.toml\"\n"
        ),
    );
    write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/core\", \"crates/native\"]\nresolver = \"2\"\n",
    );
    write(
        "crates/core/Cargo.toml",
        "[package]\nname = \"foo_core\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write("crates/core/src/lib.rs", "pub fn answer() -> u32 { 42 }\n");
    write(
        "crates/native/Cargo.toml",
        &format!(
            "[package]\nname = \"foo_native\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [lib]\nname = \"_native\"\ncrate-type = [\"{crate_type}\"]\n\n\
             [dependencies]\nfoo_core = {{ path = \"../core\" }}\n"
        ),
    );
    write(
        "crates/native/src/lib.rs",
        "pub fn answer() -> u32 { foo_core::answer() }\n",
    );
    write("py/foo/__init__.py", "");
}

/// tiny_workspace's cdylib made a real extension module with PyO3.
pub fn pyo3_workspace(dir: &Path) {
    tiny_workspace(dir, ">=3.11,<3.13", "cdylib");
    replace_in(
        &dir.join("crates/native/Cargo.toml"),
        "[dependencies]\n",
        "[dependencies]\npyo3 = \"=0.29.3\"\n",
    );
    fs::write(
        dir.join("crates/native/src/lib.rs"),
        "use pyo3::prelude::*;\n\n\
         #[pymodule]\n\
         fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {\n    \
             m.add(\"answer\", foo_core::answer())?;\n    Ok(())\n}\n",
    )
    .unwrap();
    fs::write(
        dir.join("py/foo/__init__.py"),
        "from foo._native import answer\n",
    )
    .unwrap();
}

/// The extension files of tiny_workspace's module `foo._native` in its package, sorted.
pub fn extension_files(ws: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(ws.join("py/foo"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("_native.") && n.ends_with(".so"))
        .collect();
    names.sort();
    names
}

/// One string field of every element of a JSON array.
pub fn strings<'a>(array: &'a serde_json::Value, key: &str) -> Vec<&'a str> {
    array
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[key].as_str().unwrap())
        .collect()
}

/// The check `name` of a `maou-build doctor --json` report (panics naming it when absent).
pub fn check_named(report: &serde_json::Value, name: &str) -> serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {report}"))
        .clone()
}

/// The units develop's JSON report says rustc compiled, by name.
pub fn compiled(report: &serde_json::Value) -> Vec<String> {
    report["compiled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().split(' ').next().unwrap().to_owned())
        .collect()
}

/// A free port on 127.0.0.1 (for an sccache server or a Redis of a test's own).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The dev containers CLI's reading of the dev container of the workspace at `root`
/// (`--docker-path true` answers its one `docker ps`: no Docker needed).
pub fn read_configuration(root: &Path) -> serde_json::Value {
    let out = Command::new("devcontainer")
        .args([
            "read-configuration",
            "--docker-path",
            "true",
            "--workspace-folder",
        ])
        .arg(root)
        .output()
        .unwrap_or_else(|e| {
            panic!("the dev containers CLI is needed (npm install -g @devcontainers/cli): {e}")
        });
    assert!(out.status.success(), "{}", text(&out));
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    read["configuration"].clone()
}

/// The interpreters maou-build finds for the workspace at `ws`, by Python tag (`cp312`).
pub fn interpreters(ws: &Path) -> Vec<(String, PathBuf)> {
    let out = maou_build(ws).args(["info", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    info["pythons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            let exe = p["interpreter"]["executable"].as_str()?;
            Some((p["tag"].as_str()?.to_owned(), PathBuf::from(exe)))
        })
        .collect()
}

/// A fresh venv of `python` at `dir` with `wheel` installed and nothing else (uv); its
/// interpreter.
pub fn fresh_venv_with(python: &Path, wheel: &Path, dir: &Path) -> PathBuf {
    let made = Command::new("uv")
        .args(["venv", "--quiet", "--python"])
        .arg(python)
        .arg(dir)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made));
    let installed = Command::new("uv")
        .args(["pip", "install", "--quiet", "--python"])
        .arg(dir.join("bin/python"))
        .arg(wheel)
        .output()
        .unwrap();
    assert!(installed.status.success(), "{}", text(&installed));
    dir.join("bin/python")
}

/// What `python -c code` prints, run outside any workspace with no loader path of the
/// caller's; it must succeed.
pub fn python_prints(python: &Path, code: &str) -> String {
    let ran = Command::new(python)
        .args(["-c", code])
        .current_dir(std::env::temp_dir())
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(ran.status.success(), "{}", text(&ran));
    String::from_utf8_lossy(&ran.stdout).trim().to_owned()
}
