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

    /// `maturin develop` in the project's venv (`.venv`), as a developer runs it there:
    /// maturin installed into it first (as maou's dev dependency group puts it there), the
    /// version on PATH. Succeeds; returns its output.
    fn maturin_develop(&self) -> Output {
        let venv = self.root.join(".venv");
        if !venv.join("bin/maturin").exists() {
            let version = Command::new("maturin").arg("--version").output().unwrap();
            let version = String::from_utf8_lossy(&version.stdout)
                .split_whitespace()
                .nth(1)
                .expect("maturin --version says its version")
                .to_owned();
            self.uv(&[
                "pip",
                "install",
                "--python",
                ".venv/bin/python",
                &format!("maturin=={version}"),
            ]);
        }
        let mut cmd = Command::new(venv.join("bin/maturin"));
        self.env(&mut cmd);
        let path = std::env::var_os("PATH").unwrap();
        let mut dirs = vec![venv.join("bin")];
        dirs.extend(std::env::split_paths(&path));
        let out = cmd
            .env("VIRTUAL_ENV", &venv)
            .env("PATH", std::env::join_paths(dirs).unwrap())
            .arg("develop")
            .output()
            .unwrap();
        assert!(out.status.success(), "maturin develop: {}", text(&out));
        out
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
        "[tool.maturin]\neditable-profile = \"dev\"\n",
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
        format!(
            "{py}\n[tool.uv]\ncache-keys = [{}]\n\
             config-settings-package = {{ foo = {{ \"maturin.build-args\" = \"--interpreter .venv/bin/python\" }} }}\n",
            listed.join(", ")
        ),
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

    // A stable-ABI extension: pyo3 reads maturin's configuration file, not the interpreter,
    // so uv's builds need not name the venv's (doctor agrees).
    replace_in(
        &root.join("pyproject.toml"),
        "config-settings-package = { foo = { \"maturin.build-args\" = \"--interpreter .venv/bin/python\" } }\n",
        "",
    );
    let mut cmd = maou_build(&root);
    ws.env(&mut cmd);
    let doctor = cmd.args(["doctor", "--json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let check = common::check_named(&report, "uv builds");
    assert_eq!(check["level"], "PASS", "{check}");
}

/// `maou-build init ARGS` in `root`, the flake input this checkout: succeeds; its output.
fn init(root: &Path, args: &[&str]) -> Output {
    let out = maou_build(root)
        .arg("init")
        .args(args)
        .arg("--flake-url")
        .arg(format!("path:{}", common::source_root().display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "init {args:?}: {}", text(&out));
    out
}

/// The ELF `NEEDED` entries of the shared library at `path` (`readelf -d`).
fn needed(path: &Path) -> Vec<String> {
    let out = Command::new("readelf")
        .arg("-d")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1))
        .map(|l| l.trim_end_matches(']').to_owned())
        .collect()
}

/// maou's README's door, `uv run maturin develop`, and plain `maturin develop` in the venv,
/// on a workspace init has set up (its dev dylib, a version-specific extension: pyo3 reads
/// the interpreter, so every door must name the same one): right after develop they compile
/// nothing and leave develop's one extension file, byte for byte; after a Rust edit they
/// build develop's build (the edited crate and the extension, linked through the dev dylib,
/// in develop's store), which develop then finds fresh; `uv run` after an edit runs the
/// edited code, pyo3 untouched.
#[test]
fn maturin_develop_is_a_door_like_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("foo");
    pyo3_workspace(&root);
    init(&root, &[]);
    let ws = Ws {
        root: root.clone(),
        cache: tmp.path().join("cache"),
        uv_cache: tmp.path().join("uv-cache"),
    };
    let answer = "import foo; print(foo.answer)";
    let first = ws.develop();
    let ext = PathBuf::from(first["installed"].as_str().unwrap());
    let files = extension_files(&root);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].contains("cpython-312"), "{files:?}");
    let bytes = fs::read(&ext).unwrap();
    assert!(
        needed(&ext).iter().any(|n| n.contains("foo_dev_deps")),
        "{:?}",
        needed(&ext)
    );

    let maturin_develop = || ws.maturin_develop();

    // Right after develop: nothing compiled, the same single file.
    for (door, out) in [
        ("maturin develop", maturin_develop()),
        (
            "uv run maturin develop",
            ws.uv(&["run", "maturin", "develop"]),
        ),
    ] {
        assert_eq!(
            compiled_by_uv(&out),
            Vec::<String>::new(),
            "{door}: {}",
            text(&out)
        );
        assert_eq!(extension_files(&root), files, "{door}");
        assert!(
            fs::read(&ext).unwrap() == bytes,
            "{door} changed the extension"
        );
    }
    assert_eq!(run_python(&root, answer), "42");

    // A Rust edit built by `maturin develop`: the edited crate and the extension, linked
    // through the dylib; develop then finds it fresh and keeps its bytes.
    replace_in(&root.join("crates/core/src/lib.rs"), "42", "43");
    let out = maturin_develop();
    let mut built = compiled_by_uv(&out);
    built.sort();
    assert_eq!(built, ["foo_core", "foo_native"], "{}", text(&out));
    assert_eq!(extension_files(&root), files);
    assert!(needed(&ext).iter().any(|n| n.contains("foo_dev_deps")));
    let by_maturin = fs::read(&ext).unwrap();
    assert_eq!(compiled(&ws.develop()), Vec::<String>::new());
    assert!(
        fs::read(&ext).unwrap() == by_maturin,
        "develop relinked maturin's build"
    );
    assert_eq!(run_python(&root, answer), "43");

    // A Rust edit run by `uv run` alone: the edited code, pyo3 untouched (uv names the
    // venv's interpreter, as maturin develop and develop do).
    replace_in(&root.join("crates/core/src/lib.rs"), "43", "44");
    let out = ws.uv(&["run", "python", "-c", answer]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "44");
    let mut built = compiled_by_uv(&out);
    built.sort();
    assert_eq!(built, ["foo_core", "foo_native"], "{}", text(&out));
    assert_eq!(extension_files(&root), files);
    assert_eq!(compiled(&ws.develop()), Vec::<String>::new());
    let out = maturin_develop();
    assert_eq!(compiled_by_uv(&out), Vec::<String>::new(), "{}", text(&out));

    let doctor = || -> Value {
        let mut cmd = maou_build(&root);
        ws.env(&mut cmd);
        let out = cmd.args(["doctor", "--json"]).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)))
    };
    assert_eq!(common::check_named(&doctor(), "uv builds")["level"], "PASS");
    // Without the interpreter in uv's build arguments uv would build with another one, and
    // pyo3 and all above it would recompile: doctor warns, with the line init writes.
    let py = fs::read_to_string(root.join("pyproject.toml")).unwrap();
    let without: String = py
        .lines()
        .filter(|l| !l.contains("--interpreter"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, py);
    fs::write(root.join("pyproject.toml"), without).unwrap();
    let check = common::check_named(&doctor(), "uv builds");
    assert_eq!(check["level"], "WARN", "{check}");
    assert!(
        check["fix"]
            .as_str()
            .unwrap()
            .contains("--interpreter .venv/bin/python"),
        "{check}"
    );
}

/// `uv build` makes a wheel, not an editable install: the build arguments init writes for
/// uv's editable builds (`[tool.uv] config-settings-package`) never reach it, and the dev
/// dylib's feature, on for every door, links nothing outside the editable profile: the wheel
/// links every crate statically, the audit finds no library outside the policy and it
/// imports in a fresh venv with nothing beside it.
#[test]
fn uv_build_makes_a_wheel_without_the_dev_dylib() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("foo");
    pyo3_workspace(&root);
    init(&root, &[]);
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
    // uv's editable settings (the venv's interpreter) stay out of it; the dylib's feature
    // is on ([tool.maturin] features, for `maturin develop`), but a release build's build
    // script does not link the dylib (what the audit below checks).
    assert!(
        !said.contains("--interpreter .venv/bin/python"),
        "uv's editable build arguments reached uv build:\n{said}"
    );
    assert!(said.contains("`release` profile"), "{said}");
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

/// A maturin project that is not a Cargo workspace, in its common layouts: one cdylib crate
/// with pyproject.toml beside it (or `below` it, in `native/`), alone or taking its library
/// crate by a path dependency outside the project's directory (stable ABI, as such projects
/// usually are).
fn single_crate(root: &Path, with_core: bool, below: bool) -> PathBuf {
    let write = |rel: &str, body: &str| common::write(root, rel, body);
    let (project, answer, dep) = if with_core {
        write(
            "core/Cargo.toml",
            "[package]\nname = \"foo_core\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nitoa = \"1\"\n",
        );
        write(
            "core/src/lib.rs",
            "pub fn answer() -> u32 { itoa::Buffer::new().format(42u32).parse().unwrap() }\n",
        );
        (
            root.join("bindings/python"),
            "foo_core::answer()",
            "foo_core = { path = \"../../core\" }\n",
        )
    } else {
        (root.to_path_buf(), "42u32", "")
    };
    let rel = |p: &str| project.strip_prefix(root).unwrap().join(p);
    let rel = |p: &str| rel(p).display().to_string();
    // The crate in a directory below pyproject.toml, or beside it.
    let krate = |p: &str| rel(&format!("{}{p}", if below { "native/" } else { "" }));
    write(
        &krate("Cargo.toml"),
        &format!(
            "[package]\nname = \"foo_py\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [lib]\nname = \"_native\"\ncrate-type = [\"cdylib\"]\n\n[dependencies]\n{dep}\
             pyo3 = {{ version = \"=0.29.3\", features = [\"abi3-py311\"] }}\n"
        ),
    );
    write(
        &krate("src/lib.rs"),
        &format!(
            "use pyo3::prelude::*;\n\n#[pymodule]\n\
             fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {{\n    \
             m.add(\"answer\", {answer})?;\n    Ok(())\n}}\n"
        ),
    );
    write(
        &rel("pyproject.toml"),
        &format!(
            "[build-system]\nrequires = [\"maturin>=1.9\"]\nbuild-backend = \"maturin\"\n\n\
             [project]\nname = \"foo\"\nversion = \"1.2.3\"\nrequires-python = \">=3.11,<3.13\"\n\n\
             [tool.maturin]\nmodule-name = \"foo._native\"\npython-source = \"py\"\n{}",
            if below {
                "manifest-path = \"native/Cargo.toml\"\n"
            } else {
                ""
            }
        ),
    );
    write(
        &rel("py/foo/__init__.py"),
        "from foo._native import answer\n",
    );
    project
}

/// init and every door on the three layouts of [single_crate]: init writes only inside the
/// project (the dylib crate a path dependency of the cdylib, no workspace needed), a second
/// init changes nothing and `--check` agrees; develop links through the dylib; `uv run`,
/// `uv sync`, `uv pip install -e .` and `maturin develop` compile nothing after it; an edit in the library crate outside the project is built
/// under `uv run` (uv watches it through `../../core`).
#[test]
fn single_crate_projects_take_the_dylib_and_every_door() {
    for (with_core, below) in [(false, false), (true, false), (false, true)] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        let project = single_crate(&root, with_core, below);
        let crate_dir = if below {
            project.join("native")
        } else {
            project.clone()
        };
        // A dry run leaves nothing, not even the lock cargo writes while init looks.
        init(&project, &["--dry-run"]);
        assert!(!project.join("foo_dev_deps").exists() && !crate_dir.join("Cargo.lock").exists());
        let out = init(&project, &[]);
        assert!(project.join("foo_dev_deps/Cargo.toml").is_file());
        assert!(text(&out).contains("(there was none)"), "{}", text(&out));
        if with_core {
            // Nothing written beside the library crate, outside the project.
            let core: Vec<String> = fs::read_dir(root.join("core"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(core.len(), 2, "{core:?}");
            let py = fs::read_to_string(project.join("pyproject.toml")).unwrap();
            assert!(py.contains("{ file = \"../../core/**/*.rs\" }"), "{py}");
            assert!(
                fs::read_to_string(project.join("foo_dev_deps/Cargo.toml"))
                    .unwrap()
                    .contains("itoa = "),
                "the library crate's third-party crate is in the dylib"
            );
        }
        let out = init(&project, &[]);
        assert!(text(&out).contains("nothing to change"), "{}", text(&out));
        init(&project, &["--check"]);

        let ws = Ws {
            root: project.clone(),
            cache: tmp.path().join("cache"),
            uv_cache: tmp.path().join("uv-cache"),
        };
        let first = ws.develop();
        let ext = PathBuf::from(first["installed"].as_str().unwrap());
        assert!(
            needed(&ext).iter().any(|n| n.contains("foo_dev_deps")),
            "{:?}",
            needed(&ext)
        );
        let bytes = fs::read(&ext).unwrap();
        let answer = "import foo; print(foo.answer)";
        let out = ws.uv(&["run", "python", "-c", answer]);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
        assert_eq!(compiled_by_uv(&out), Vec::<String>::new(), "{}", text(&out));
        assert!(fs::read(&ext).unwrap() == bytes);
        // uv's other doors, made to build (pyproject.toml changed): nothing compiled.
        for door in [
            &["sync"][..],
            &["pip", "install", "--python", ".venv/bin/python", "-e", "."],
        ] {
            replace_in(&project.join("pyproject.toml"), "1.2.3", "1.2.4");
            let out = ws.uv(door);
            assert_eq!(
                compiled_by_uv(&out),
                Vec::<String>::new(),
                "uv {door:?}: {}",
                text(&out)
            );
            assert!(fs::read(&ext).unwrap() == bytes, "uv {door:?}");
            replace_in(&project.join("pyproject.toml"), "1.2.4", "1.2.3");
        }
        let out = ws.maturin_develop();
        assert_eq!(compiled_by_uv(&out), Vec::<String>::new(), "{}", text(&out));
        assert!(
            fs::read(&ext).unwrap() == bytes,
            "maturin develop changed it"
        );

        // An edit, under `uv run` alone: the edited code.
        let edited = if with_core {
            root.join("core/src/lib.rs")
        } else {
            crate_dir.join("src/lib.rs")
        };
        replace_in(&edited, "42u32", "43u32");
        let out = ws.uv(&["run", "python", "-c", answer]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "43",
            "{}",
            text(&out)
        );
        assert_eq!(compiled(&ws.develop()), Vec::<String>::new());
    }
}

/// A pure Rust module (no Python package; rpds-py's layout): maturin's editable install
/// keeps the extension in the venv (`site-packages/<module>/`), and develop places its
/// builds there, so an edit reaches Python wherever it runs; `uv run` after develop builds
/// nothing.
#[test]
fn a_pure_rust_module_is_placed_where_its_editable_install_keeps_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("foo");
    let write = |rel: &str, body: &str| common::write(&root, rel, body);
    write(
        "Cargo.toml",
        "[package]\nname = \"foo-py\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [lib]\nname = \"foo_native\"\ncrate-type = [\"cdylib\"]\n\n\
         [dependencies]\npyo3 = { version = \"=0.29.3\", features = [\"abi3-py311\"] }\n",
    );
    write(
        "src/lib.rs",
        "use pyo3::prelude::*;\n\n#[pymodule]\n\
         fn foo_native(m: &Bound<'_, PyModule>) -> PyResult<()> {\n    \
         m.add(\"answer\", 42u32)?;\n    Ok(())\n}\n",
    );
    write(
        "pyproject.toml",
        "[build-system]\nrequires = [\"maturin>=1.9\"]\nbuild-backend = \"maturin\"\n\n\
         [project]\nname = \"foo-py\"\nversion = \"1.2.3\"\nrequires-python = \">=3.11,<3.13\"\n",
    );
    init(&root, &[]);
    let ws = Ws {
        root: root.clone(),
        cache: tmp.path().join("cache"),
        uv_cache: tmp.path().join("uv-cache"),
    };
    let first = ws.develop();
    let installed = PathBuf::from(first["installed"].as_str().unwrap());
    assert!(
        installed.starts_with(root.join(".venv/lib"))
            && installed.ends_with("site-packages/foo_native/foo_native.abi3.so"),
        "{}",
        installed.display()
    );
    // Imported from elsewhere than the project, as a test runner or a notebook would.
    let elsewhere = |code: &str| {
        let out = Command::new(root.join(".venv/bin/python"))
            .args(["-c", code])
            .current_dir(tmp.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let answer = "import foo_native; print(foo_native.answer)";
    assert_eq!(elsewhere(answer), "42");
    let out = ws.uv(&["run", "python", "-c", answer]);
    assert_eq!(compiled_by_uv(&out), Vec::<String>::new(), "{}", text(&out));
    replace_in(&root.join("src/lib.rs"), "42u32", "43u32");
    let edit = ws.develop();
    assert_eq!(edit["installed"], first["installed"]);
    assert_eq!(elsewhere(answer), "43", "{edit}");
    assert!(!root.join("foo_native.abi3.so").exists());
}
