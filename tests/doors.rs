//! One build, whichever door: after `maou-build develop`, uv's doors (`uv run`, `uv sync`,
//! `uv pip install -e .`) compile nothing and leave exactly develop's extension file, byte
//! for byte; develop after them compiles nothing; a changed pyproject.toml and a new venv
//! are built by uv through develop's store with nothing compiled; a Rust edit under `uv run`
//! alone is built (uv's cache keys name the Rust inputs), never run stale; `uv build`'s
//! wheel never gets the dev dylib. Real uv, maturin (in
//! uv's own build environment, from PyPI), cargo and sccache on a small PyO3 workspace
//! built for the stable ABI (maturin's PyO3 configuration file included).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{compiled, extension_files, maou_build, pyo3_workspace, replace_in, text};
use serde_json::Value;

struct Ws {
    root: PathBuf,
    cache: PathBuf,
    uv_cache: PathBuf,
}

impl Ws {
    fn env(&self, cmd: &mut Command) {
        cmd.current_dir(&self.root)
            .env("MAOU_BUILD_CACHE", &self.cache)
            .env("UV_CACHE_DIR", &self.uv_cache)
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env_remove("VIRTUAL_ENV");
    }

    fn develop(&self) -> Value {
        let mut cmd = maou_build(&self.root);
        self.env(&mut cmd);
        let out = cmd
            .args(["develop", "--json", "--python", "3.12"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)))
    }

    /// `uv -v ARGS`: succeeds; returns its output.
    fn uv(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("uv");
        self.env(&mut cmd);
        let out = cmd.arg("-v").args(args).output().unwrap();
        assert!(out.status.success(), "uv {args:?}: {}", text(&out));
        out
    }
}

/// Crates cargo compiled, as maturin's cargo reported them through `uv -v`.
fn compiled_by_uv(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.split("Compiling ").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

fn built_by_uv(out: &Output) -> bool {
    String::from_utf8_lossy(&out.stderr).contains("maturin pep517 build-wheel")
}

fn run_python(root: &Path, code: &str) -> String {
    let out = Command::new(root.join(".venv/bin/python"))
        .args(["-c", code])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn every_door_after_develop_compiles_nothing_and_keeps_its_extension() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("foo");
    pyo3_workspace(&root);
    replace_in(
        &root.join("crates/native/Cargo.toml"),
        "pyo3 = \"=0.29.3\"",
        "pyo3 = { version = \"=0.29.3\", features = [\"abi3-py311\"] }",
    );
    replace_in(
        &root.join("pyproject.toml"),
        "[tool.maturin]\n",
        "[tool.maturin]\neditable-profile = \"dev\"\nuse-base-python = true\n",
    );
    // The Rust inputs in uv's cache keys, as init writes them (doctor checks they are).
    let keys = [
        "pyproject.toml",
        "Cargo.toml",
        "Cargo.lock",
        ".cargo/config.toml",
        "crates/core/Cargo.toml",
        "crates/core/**/*.rs",
        "crates/native/Cargo.toml",
        "crates/native/**/*.rs",
    ];
    let py = fs::read_to_string(root.join("pyproject.toml")).unwrap();
    let listed: Vec<String> = keys
        .iter()
        .map(|k| format!("{{ file = \"{k}\" }}"))
        .collect();
    fs::write(
        root.join("pyproject.toml"),
        format!("{py}\n[tool.uv]\ncache-keys = [{}]\n", listed.join(", ")),
    )
    .unwrap();
    let ws = Ws {
        root: root.clone(),
        cache: tmp.path().join("cache"),
        uv_cache: tmp.path().join("uv-cache"),
    };
    let ext = root.join("py/foo/_native.abi3.so");
    let answer = "import foo; print(foo.answer)";

    let first = ws.develop();
    assert_eq!(first["installed"], ext.to_str().unwrap(), "{first}");
    assert!(!compiled(&first).is_empty());
    let bytes = fs::read(&ext).unwrap();
    // The CPython develop chose, by its real path (uv may not find pyenv's by version).
    let cpython = first["venv"]["interpreter"]["base_executable"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(run_python(&root, answer), "42");

    // Each of uv's doors: nothing compiled, one extension file, the same bytes; develop
    // after it compiles nothing.
    let doors: [&[&str]; 3] = [
        &["run", "python", "-c", answer],
        &["sync"],
        &["pip", "install", "--python", ".venv/bin/python", "-e", "."],
    ];
    for door in doors {
        let out = ws.uv(door);
        assert_eq!(
            compiled_by_uv(&out),
            Vec::<String>::new(),
            "uv {door:?}: {}",
            text(&out)
        );
        assert_eq!(
            extension_files(&ws.root),
            ["_native.abi3.so"],
            "uv {door:?}"
        );
        assert!(
            fs::read(&ext).unwrap() == bytes,
            "uv {door:?} changed the extension"
        );
        let after = ws.develop();
        assert_eq!(
            compiled(&after),
            Vec::<String>::new(),
            "after uv {door:?}: {after}"
        );
    }
    // `uv run` and `uv sync` find develop's install as uv records it: no build at all.
    assert!(!built_by_uv(&ws.uv(&["run", "python", "-c", answer])));

    // pyproject.toml changed (a version bump): uv builds, through develop's store, with
    // develop's profile and features: nothing compiled, the same extension.
    replace_in(&root.join("pyproject.toml"), "1.2.3", "1.2.4");
    let out = ws.uv(&["run", "python", "-c", answer]);
    assert!(built_by_uv(&out), "{}", text(&out));
    assert_eq!(compiled_by_uv(&out), Vec::<String>::new(), "{}", text(&out));
    assert!(fs::read(&ext).unwrap() == bytes);
    assert_eq!(
        run_python(
            &root,
            "import importlib.metadata as m; print(m.version('foo'))"
        ),
        "1.2.4"
    );

    // A Rust edit is develop's to build; then uv runs it without a build.
    replace_in(&root.join("crates/core/src/lib.rs"), "42", "43");
    let edit = ws.develop();
    assert_eq!(compiled(&edit), ["foo_core", "_native"], "{edit}");
    let out = ws.uv(&["run", "python", "-c", answer]);
    assert!(!built_by_uv(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "43");

    // A Rust edit run by uv alone, as maou's pre-commit hook runs `uv run pytest`: uv sees
    // a Rust input change and builds develop's build (the edited crate and the extension,
    // in develop's store), never the old extension; develop after it compiles nothing.
    let mut cmd = maou_build(&root);
    ws.env(&mut cmd);
    let doctor = cmd.args(["doctor", "--json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let check = common::check_named(&report, "uv after edits");
    assert_eq!(check["level"], "PASS", "{check}");
    replace_in(&root.join("crates/core/src/lib.rs"), "43", "44");
    let started = std::time::Instant::now();
    let out = ws.uv(&["run", "python", "-c", answer]);
    let by_uv = started.elapsed().as_secs_f64();
    assert!(built_by_uv(&out), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "44");
    let built = compiled_by_uv(&out);
    assert!(
        built.len() == 2 && built.contains(&"foo_core".to_owned()),
        "{built:?}: {}",
        text(&out)
    );
    assert_eq!(extension_files(&ws.root), ["_native.abi3.so"]);
    assert_eq!(compiled(&ws.develop()), Vec::<String>::new());
    // The same edit through develop, then `uv run`: uv's overhead is the difference.
    replace_in(&root.join("crates/core/src/lib.rs"), "44", "45");
    let started = std::time::Instant::now();
    let edit = ws.develop();
    let by_develop = started.elapsed().as_secs_f64();
    assert_eq!(compiled(&edit), ["foo_core", "_native"], "{edit}");
    let out = ws.uv(&["run", "python", "-c", answer]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "45");
    eprintln!(
        "a Rust edit until it runs: uv run {by_uv:.2} s, develop {by_develop:.2} s (uv's overhead {:.2} s, one run each: a figure, not a target)",
        by_uv - by_develop
    );

    // A new venv (of develop's CPython: another one is another build of pyo3): `uv sync`
    // installs uv's cached editable wheel, the extension in place.
    fs::remove_dir_all(root.join(".venv")).unwrap();
    let out = ws.uv(&["sync", "--python", &cpython]);
    assert_eq!(compiled_by_uv(&out), Vec::<String>::new(), "{}", text(&out));
    assert_eq!(run_python(&root, answer), "45");
    // A new venv and an empty uv cache: uv builds, from the warm store, compiling nothing.
    fs::remove_dir_all(root.join(".venv")).unwrap();
    let ws = Ws {
        uv_cache: tmp.path().join("uv-cache-2"),
        ..ws
    };
    let out = ws.uv(&["sync", "--python", &cpython]);
    assert!(built_by_uv(&out), "{}", text(&out));
    assert_eq!(compiled_by_uv(&out), Vec::<String>::new(), "{}", text(&out));
    assert_eq!(run_python(&root, answer), "45");
    assert_eq!(extension_files(&ws.root), ["_native.abi3.so"]);

    // Without use-base-python uv's builds would recompile pyo3: doctor warns, with the fix.
    replace_in(&root.join("pyproject.toml"), "use-base-python = true\n", "");
    let mut cmd = maou_build(&root);
    ws.env(&mut cmd);
    let doctor = cmd.args(["doctor", "--json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let check = common::check_named(&report, "uv builds");
    assert_eq!(check["level"], "WARN", "{check}");
    assert!(
        check["fix"]
            .as_str()
            .unwrap()
            .contains("use-base-python = true"),
        "{check}"
    );
}

/// `uv build` makes a wheel, not an editable install: the build arguments init writes for
/// uv's editable builds (`[tool.uv] config-settings-package`, with the dev dylib's feature)
/// never reach it, so the wheel links every crate statically: the audit finds no library
/// outside the policy and it imports in a fresh venv with nothing beside it.
#[test]
fn uv_build_makes_a_wheel_without_the_dev_dylib() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("foo");
    pyo3_workspace(&root);
    let init = maou_build(&root)
        .args(["init", "--flake-url"])
        .arg(format!("path:{}", common::source_root().display()))
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", text(&init));
    let pyproject = fs::read_to_string(root.join("pyproject.toml")).unwrap();
    assert!(pyproject.contains("dev-dylib"), "{pyproject}");
    let ws = Ws {
        root: root.clone(),
        cache: tmp.path().join("cache"),
        uv_cache: tmp.path().join("uv-cache"),
    };
    let dist = tmp.path().join("dist");
    let python = common::interpreters(&root)
        .into_iter()
        .find(|(tag, _)| tag == "cp312")
        .map(|(_, exe)| exe)
        .expect("CPython 3.12");
    let out = ws.uv(&[
        "build",
        "--wheel",
        "--python",
        python.to_str().unwrap(),
        "--out-dir",
        dist.to_str().unwrap(),
    ]);
    let said = text(&out);
    assert!(said.contains("maturin pep517 build-wheel"), "{said}");
    assert!(
        !said.contains("dev-dylib"),
        "the dev dylib's feature reached uv build:\n{said}"
    );
    let wheel = fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .unwrap_or_else(|| panic!("no wheel in {}: {said}", dist.display()));
    // maou-build's audit: a NEEDED dev dylib (or libstd) would be a library outside the
    // policy. (uv build links against this machine's glibc, so the symbol versions and the
    // `linux_x86_64` tag are not manylinux_2_28's: the release wheels are maou-build
    // wheel's, linked by zig; what this checks is the libraries the extension needs.)
    let audit = maou_build(&root)
        .args(["audit", "--json"])
        .arg(&wheel)
        .output()
        .unwrap();
    let report: Value =
        serde_json::from_slice(&audit.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&audit)));
    let needed: Vec<&Value> = report[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "needed")
        .collect();
    assert!(needed.is_empty(), "{needed:?}");
    let needs = report[0]["extensions"][0]["needed"].to_string();
    assert!(
        !needs.contains("foo_dev_deps") && !needs.contains("libstd-"),
        "{needs}"
    );
    let venv = common::fresh_venv_with(&python, &wheel, &tmp.path().join("venv"));
    assert_eq!(
        common::python_prints(&venv, "import foo; print(foo.answer)"),
        "42"
    );
}
