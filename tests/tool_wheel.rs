//! maou-build as a wheel (packaging/maou-build/pyproject.toml, maturin's `bin` bindings):
//! built here as the tool's release builds it (unoptimized, for time), judged by
//! maou-build's own audit and by auditwheel, installed with `uv tool install` into a fresh
//! tool directory and run from there (`--version` says it came from the wheel and from
//! which commit; `info` reads a generated workspace), and run by `uvx --from` the wheel;
//! then init's uv route on a PyO3 workspace: `uv sync` installs it from the dev group (the
//! wheel served by `--find-links`), `uv run maou-build develop` builds the extension.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{maou_build, source_root, text, tiny_workspace};

/// The tool's wheel, built by maturin into `out` (its own target directory: this test's
/// cargo holds the workspace's).
fn build_wheel(tmp: &Path) -> PathBuf {
    let out = tmp.join("dist");
    let built = Command::new("maturin")
        .args(["build", "--zig", "--out"])
        .arg(&out)
        .current_dir(source_root().join("packaging/maou-build"))
        .env("CARGO_TARGET_DIR", tmp.join("target"))
        .env("MAOU_BUILD_COMMIT", "0123456789abcdef")
        .output()
        .expect("maturin (pip install maturin)");
    assert!(built.status.success(), "{}", text(&built));
    let wheels: Vec<PathBuf> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    assert_eq!(wheels.len(), 1, "{wheels:?}");
    wheels[0].clone()
}

#[test]
fn the_tools_wheel_installs_with_uv_and_says_where_it_came_from() {
    let tmp = tempfile::tempdir().unwrap();
    let wheel = build_wheel(tmp.path());
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("maou_build-") && name.ends_with("-py3-none-manylinux_2_28_x86_64.whl"),
        "{name}"
    );
    // The executable alone, judged as the product's wheels are.
    let audit = maou_build(tmp.path())
        .arg("audit")
        .arg(&wheel)
        .output()
        .unwrap();
    assert!(audit.status.success(), "{}", text(&audit));
    let show = Command::new("auditwheel")
        .arg("show")
        .arg(&wheel)
        .output()
        .expect("auditwheel");
    assert!(
        String::from_utf8_lossy(&show.stdout).contains("manylinux_2_28_x86_64"),
        "{}",
        text(&show)
    );

    // `uv tool install` into a fresh tool directory, then the tool from there.
    let tools = tmp.path().join("tools");
    let bin = tmp.path().join("bin");
    let uv = |args: &[&str]| {
        let out = Command::new("uv")
            .args(args)
            .env("UV_TOOL_DIR", &tools)
            .env("UV_TOOL_BIN_DIR", &bin)
            .env("UV_CACHE_DIR", tmp.path().join("uv-cache"))
            .env("UV_PYTHON_DOWNLOADS", "never")
            .output()
            .unwrap();
        assert!(out.status.success(), "uv {args:?}: {}", text(&out));
        out
    };
    uv(&["tool", "install", "--offline", wheel.to_str().unwrap()]);
    let installed = bin.join("maou-build");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert!(version.status.success(), "{}", text(&version));
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    assert_eq!(
        version,
        format!(
            "maou-build {} (wheel, commit 0123456789ab)",
            env!("CARGO_PKG_VERSION")
        )
    );
    let ws = tmp.path().join("ws");
    tiny_workspace(&ws, ">=3.12,<3.14", "cdylib");
    let info = Command::new(&installed)
        .args(["info", "--json"])
        .current_dir(&ws)
        .output()
        .unwrap();
    assert!(info.status.success(), "{}", text(&info));
    let report: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(report["module_name"], "foo._native", "{report}");

    // uvx runs it from the wheel without installing it.
    let help = uv(&[
        "tool",
        "run",
        "--offline",
        "--from",
        wheel.to_str().unwrap(),
        "maou-build",
        "--help",
    ]);
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("Usage: maou-build"),
        "{}",
        text(&help)
    );
    uv_route(tmp.path(), wheel.parent().unwrap());
}

/// init's uv route on a PyO3 workspace: `uv sync` installs maou-build from the dev group
/// (the wheel served from a local `--find-links` directory, as PyPI would serve it), `uv
/// run maou-build develop` makes the extension importable, and a second one compiles
/// nothing.
fn uv_route(tmp: &Path, dist: &Path) {
    let ws = tmp.join("uv-route/foo");
    common::pyo3_workspace(&ws);
    let init = maou_build(&ws)
        .args(["init", "--route", "uv", "--flake-url"])
        .arg(format!("path:{}", source_root().display()))
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", text(&init));
    let uv = |args: &[&str]| {
        let out = Command::new("uv")
            .args(args)
            .current_dir(&ws)
            .env("UV_FIND_LINKS", dist)
            .env("UV_CACHE_DIR", tmp.join("uv-cache"))
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("MAOU_BUILD_CACHE", tmp.join("uv-route/cache"))
            .env_remove("VIRTUAL_ENV")
            .output()
            .unwrap();
        assert!(out.status.success(), "uv {args:?}: {}", text(&out));
        out
    };
    uv(&["sync"]);
    assert!(
        ws.join(".venv/bin/maou-build").is_file(),
        "the dev group's maou-build"
    );
    let first = uv(&["run", "maou-build", "develop", "--json", "--no-prebuilt"]);
    let report: serde_json::Value =
        serde_json::from_slice(&first.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&first)));
    assert!(report["installed"].is_string(), "{report}");
    let answer = Command::new(ws.join(".venv/bin/python"))
        .args(["-c", "import foo; print(foo.answer)"])
        .current_dir(tmp)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&answer.stdout).trim(),
        "42",
        "{}",
        text(&answer)
    );
    let second = uv(&["run", "maou-build", "develop", "--json", "--no-prebuilt"]);
    let report: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(report["compiled"], serde_json::json!([]), "{report}");
}
