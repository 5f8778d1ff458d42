//! `maou-build develop` on a copy of this workspace: the whole UC1 edit loop, in order,
//! because each step starts from the state the previous one left (one cold build).

mod common;

use std::fs;
use std::process::Command;

use common::{
    compiled, maou_build, replace_in, text, tiny_workspace, workspace_copy_at_fixed_path,
};
use serde_json::Value;

struct Loop {
    root: std::path::PathBuf,
    venv: std::path::PathBuf,
    cache: std::path::PathBuf,
}

impl Loop {
    fn develop(&self, extra: &[&str]) -> (std::process::Output, Option<Value>) {
        let out = maou_build(&self.root)
            .args(["develop", "--json", "--venv"])
            .arg(&self.venv)
            .args(extra)
            .env("MAOU_BUILD_CACHE", &self.cache)
            .output()
            .unwrap();
        let report = serde_json::from_slice(&out.stdout).ok();
        (out, report)
    }

    fn develop_ok(&self, extra: &[&str]) -> Value {
        let (out, report) = self.develop(extra);
        assert!(out.status.success(), "{}", text(&out));
        report.unwrap_or_else(|| panic!("no JSON report: {}", text(&out)))
    }

    fn python(&self, code: &str) -> String {
        let out = Command::new(self.venv.join("bin/python"))
            .args(["-c", code])
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        assert!(out.status.success(), "python -c {code:?}: {}", text(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

/// The libraries the extension loads from outside the package (name, directory), as
/// develop's report gives them.
fn companion(report: &Value) -> Vec<(String, std::path::PathBuf)> {
    report["companion"]["libraries"]
        .as_array()
        .unwrap_or_else(|| panic!("no companion: {report}"))
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                std::path::PathBuf::from(pair[1].as_str().unwrap()),
            )
        })
        .collect()
}

/// develop may restart the shared sccache server (a new checkout root): the builds of
/// these tests must not overlap, or one would lose its server mid-build.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

const READ_VERSION: &str = "from maou._rust import maou_io; print(maou_io.FORMAT_VERSION)";

#[test]
fn develop_edit_loop() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let root = workspace_copy_at_fixed_path("maou-build-develop-test");
    let l = Loop {
        venv: tmp.path().join("venv"),
        cache: tmp.path().join("cache"),
        root,
    };
    let io_lib = l.root.join("rust/maou_io/src/lib.rs");

    // First run: venv, editable install, build; the module imports and reads a value.
    let first = l.develop_ok(&[]);
    let actions = first["venv"]["actions"].to_string();
    assert!(
        actions.contains("created") && actions.contains("editable"),
        "{actions}"
    );
    assert_eq!(first["target"]["state"], "created");
    assert_eq!(first["replaced"], true);
    assert_eq!(l.python(READ_VERSION), "1");
    let installed = first["installed"].as_str().unwrap().to_owned();
    // Named as maturin names a stable-ABI extension, so that uv's build replaces it.
    assert_eq!(
        installed,
        l.root.join("python/maou/_rust.abi3.so").to_str().unwrap()
    );
    assert!(fs::symlink_metadata(l.root.join("rust/target"))
        .unwrap()
        .file_type()
        .is_symlink());
    // The third-party crates come from the dev dylib, which the extension finds where cargo
    // built it (and libstd in the toolchain) through the RUNPATH the cdylib's build script
    // gives it: nothing is copied; the extension is small and imports from another
    // directory (python() runs in the temp dir) with no LD_LIBRARY_PATH.
    let libs = companion(&first);
    let names: Vec<&str> = libs.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"libmaou_dev_deps.so") && names.iter().any(|n| n.starts_with("libstd-")),
        "{names:?}"
    );
    let store = fs::canonicalize(l.root.join("rust/target")).unwrap();
    assert!(
        libs.iter()
            .any(|(n, dir)| n == "libmaou_dev_deps.so" && dir == &store.join("debug/deps")),
        "{libs:?}"
    );
    let ext_bytes = fs::metadata(&installed).unwrap().len();
    assert!(ext_bytes < 100 << 20, "extension of {ext_bytes} bytes");
    // Byte for byte what cargo built: what maturin would copy too.
    assert_eq!(
        fs::read(&installed).unwrap(),
        fs::read(first["library"].as_str().unwrap()).unwrap()
    );

    // A Rust edit in maou_io: only maou_io and what depends on it are compiled again.
    replace_in(
        &io_lib,
        "pub const FORMAT_VERSION: u32 = 1;",
        "pub const FORMAT_VERSION: u32 = 7;",
    );
    let edit = l.develop_ok(&[]);
    let units = compiled(&edit);
    assert!(
        units.contains(&"maou_io".to_owned()) && units.contains(&"_rust".to_owned()),
        "{units:?}"
    );
    assert!(
        !units.iter().any(|u| u.starts_with("polars")),
        "dependencies rebuilt: {units:?}"
    );
    assert_eq!(l.python(READ_VERSION), "7");
    assert!(
        !units.contains(&"maou_dev_deps".to_owned()),
        "the dylib was rebuilt: {units:?}"
    );

    // The dylib rebuilt: the extension loads the new one. The copies an earlier develop
    // placed beside the package are removed.
    let old_copies = l
        .root
        .join("python/.maou-build-dev-libs/3f5b3f3e223e1ea1ca4a");
    fs::create_dir_all(&old_copies).unwrap();
    let dylib_lib = l.root.join("rust/maou_dev_deps/src/lib.rs");
    fs::write(
        &dylib_lib,
        format!(
            "{}\npub const EDITED: u32 = 1;\n",
            fs::read_to_string(&dylib_lib).unwrap()
        ),
    )
    .unwrap();
    let relinked = l.develop_ok(&[]);
    assert!(
        compiled(&relinked).contains(&"maou_dev_deps".to_owned()),
        "{relinked}"
    );
    assert!(!old_copies.parent().unwrap().exists(), "old copies left");
    assert_eq!(l.python(READ_VERSION), "7");

    // Nothing changed: no rustc, nothing replaced.
    let noop = l.develop_ok(&[]);
    assert_eq!(compiled(&noop), Vec::<String>::new());
    assert_eq!(noop["replaced"], false);

    // A Python-only edit: no rustc at all (cargo's units and sccache's requests), and live.
    let init = l.root.join("python/maou/__init__.py");
    fs::write(
        &init,
        format!("{}\nEDITED = 'live'\n", fs::read_to_string(&init).unwrap()),
    )
    .unwrap();
    let py_only = l.develop_ok(&["--stats"]);
    assert_eq!(compiled(&py_only), Vec::<String>::new());
    let stats = &py_only["sccache"];
    assert_eq!(
        stats["hits"].as_u64().unwrap() + stats["misses"].as_u64().unwrap(),
        0,
        "{stats}"
    );
    assert_eq!(l.python("import maou; print(maou.EDITED)"), "live");

    // target/ lost: develop links the store back (the recovery path) and compiles nothing.
    fs::remove_dir_all(l.root.join("rust/target")).unwrap();
    assert!(!l.root.join("rust/target").exists());
    let recovered = l.develop_ok(&[]);
    assert_eq!(
        recovered["target"]["state"], "recovered",
        "{}",
        recovered["target"]
    );
    assert_eq!(compiled(&recovered), Vec::<String>::new());
    assert_eq!(l.python(READ_VERSION), "7");

    // The extension lost: develop places it again though nothing was compiled.
    fs::remove_file(&installed).unwrap();
    let replaced = l.develop_ok(&[]);
    assert_eq!(compiled(&replaced), Vec::<String>::new());
    assert_eq!(replaced["replaced"], true);
    assert_eq!(l.python(READ_VERSION), "7");

    // A compile error: develop fails with rustc's error, the old extension still imports.
    replace_in(
        &io_lib,
        "pub const FORMAT_VERSION: u32 = 7;",
        "pub const FORMAT_VERSION: u32 = \"seven\";",
    );
    let (out, _) = l.develop(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[E0308]"),
        "rustc's error is shown: {stderr}"
    );
    assert!(
        stderr.contains("the previous extension is still in place"),
        "{stderr}"
    );
    assert_eq!(l.python(READ_VERSION), "7");
    let leftovers: Vec<_> = fs::read_dir(l.root.join("python/maou"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    drop(tmp);
    let _ = fs::remove_dir_all(l.root.parent().unwrap());
}

#[test]
fn develop_works_on_another_workspace_of_the_same_shape() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("foo");
    tiny_workspace(&ws, ">=3.11,<3.13", "cdylib");
    let out = maou_build(&ws)
        .args(["develop", "--json", "--python", "3.11"])
        .env("MAOU_BUILD_CACHE", tmp.path().join("cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["venv"]["interpreter"]["minor"], "3.11");
    let suffix = report["venv"]["interpreter"]["ext_suffix"]
        .as_str()
        .unwrap()
        .to_owned();
    let placed = ws.join("py/foo").join(format!("_native{suffix}"));
    assert_eq!(report["installed"], placed.to_str().unwrap());
    assert!(placed.is_file(), "{}", placed.display());
    let units = compiled(&report);
    assert_eq!(
        units,
        ["foo_core", "_native"],
        "only the workspace's two crates"
    );
    // The editable install points Python at python-source (`py/`), with the metadata.
    let py = ws.join(".venv/bin/python");
    let found = Command::new(&py)
        .args([
            "-c",
            "import foo, importlib.metadata as m; print(foo.__file__, m.version('foo'))",
        ])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&found.stdout);
    assert!(found.contains("py/foo/__init__.py 1.2.3"), "{found}");
}

/// A workspace whose `[tool.maturin] profile` names an optimized profile of its own (as
/// dousu/maou's `py-ext`): develop builds that profile and says so, `--profile` and
/// `--release` override it, and an extension file of another suffix is removed.
#[test]
fn develop_builds_the_profile_tool_maturin_names() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("foo");
    common::pyo3_workspace(&ws);
    replace_in(
        &ws.join("pyproject.toml"),
        "[tool.maturin]\n",
        "[tool.maturin]\nprofile = \"py-ext\"\n",
    );
    fs::write(
        ws.join("Cargo.toml"),
        fs::read_to_string(ws.join("Cargo.toml")).unwrap()
            + "\n[profile.release]\nlto = \"thin\"\n\n[profile.py-ext]\ninherits = \"release\"\n\
               lto = false\nopt-level = 3\ndebug-assertions = true\n",
    )
    .unwrap();
    // The code tells which profile built it: debug assertions on, optimized.
    fs::write(
        ws.join("crates/native/src/lib.rs"),
        "use pyo3::prelude::*;\n\n\
         #[pymodule]\n\
         fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {\n    \
             m.add(\"answer\", foo_core::answer())?;\n    \
             m.add(\"assertions\", cfg!(debug_assertions))?;\n    \
             m.add(\"opt_level\", option_env!(\"OPT_LEVEL\").unwrap_or(\"?\"))?;\n    \
             Ok(())\n}\n",
    )
    .unwrap();
    // OPT_LEVEL is a build script's variable: hand it to the crate.
    fs::write(
        ws.join("crates/native/build.rs"),
        "fn main() { println!(\"cargo:rustc-env=OPT_LEVEL={}\", std::env::var(\"OPT_LEVEL\").unwrap()); }\n",
    )
    .unwrap();
    let stale = ws.join("py/foo/_native.abi3.so");
    fs::write(&stale, b"a stale release build").unwrap();
    let l = Loop {
        root: ws.clone(),
        venv: ws.join(".venv"),
        cache: tmp.path().join("cache"),
    };
    let what = "import foo._native as n; print(n.opt_level, n.assertions)";

    let report = l.develop_ok(&["--python", "3.12", "--no-prebuilt"]);
    assert_eq!(report["profile"], "py-ext", "{report}");
    assert_eq!(report["profile_source"], "maturin", "{report}");
    assert!(
        report["library"].as_str().unwrap().contains("/py-ext/"),
        "{report}"
    );
    assert!(
        report["command"]
            .as_str()
            .unwrap()
            .contains("--profile py-ext"),
        "{report}"
    );
    assert_eq!(l.python(what), "3 True");
    assert!(!stale.exists(), "the other suffix's extension file is left");

    // Nothing changed: nothing compiled, the same profile.
    let again = l.develop_ok(&[]);
    assert_eq!(again["profile"], "py-ext");
    assert!(compiled(&again).is_empty(), "{again}");

    // The command line overrides it: dev, then release (thin LTO).
    let dev = l.develop_ok(&["--profile", "dev"]);
    assert_eq!(
        (dev["profile"].as_str(), dev["profile_source"].as_str()),
        (Some("dev"), Some("command-line"))
    );
    assert_eq!(l.python(what), "0 True");
    let release = l.develop_ok(&["--release"]);
    assert_eq!(release["profile"], "release");
    assert_eq!(l.python(what), "3 False");

    // info and doctor name it too.
    let info = maou_build(&ws).args(["info", "--json"]).output().unwrap();
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["develop_profile"]["name"], "py-ext");
    assert_eq!(info["develop_profile"]["source"], "maturin");
    let doctor = maou_build(&ws).args(["doctor"]).output().unwrap();
    let doctor = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        doctor.contains("develop builds `py-ext` ([tool.maturin] profile"),
        "{doctor}"
    );
    // Without the edit loop's settings (src/dev_build_env.json), each is a WARN with its fix.
    for fix in [
        "set `incremental = true` under [profile.py-ext]",
        "set `codegen-units = 256` under [profile.py-ext]",
    ] {
        assert!(doctor.contains(fix), "{fix}: {doctor}");
    }

    // A profile Cargo.toml does not define is refused, naming the file.
    replace_in(&ws.join("pyproject.toml"), "\"py-ext\"", "\"py-fast\"");
    let (out, _) = l.develop(&[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("profile `py-fast` is not defined") && err.contains("Cargo.toml"),
        "{err}"
    );
}

/// Two checkouts building at once through one sccache server (a port of this test's own):
/// the second, whose checkout the running server does not strip, must not restart it
/// under the first's compiles (the first's rustc would lose its connection, as a test run
/// in CI once did). Both builds work; the second says why it kept the server.
#[test]
fn a_second_checkout_never_restarts_the_server_under_a_running_build() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let port = common::free_port().to_string();
    let develop = |name: &str| {
        let ws = tmp.path().join(name);
        common::pyo3_workspace(&ws);
        let mut cmd = maou_build(&ws);
        cmd.args(["develop", "--python", "3.11"])
            .env("SCCACHE_SERVER_PORT", &port)
            // Each checkout's own maou-build cache: the other's root is not remembered.
            .env(
                "MAOU_BUILD_CACHE",
                tmp.path().join(name).with_extension("cache"),
            );
        cmd
    };
    let mut first = develop("first")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (compiling, seen) = std::sync::mpsc::channel();
    let stderr = BufReader::new(first.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in stderr.lines().map_while(Result::ok) {
            if line.trim_start().starts_with("Compiling") {
                let _ = compiling.send(());
            }
            all += &line;
            all.push('\n');
        }
        all
    });
    seen.recv_timeout(std::time::Duration::from_secs(600))
        .expect("the first build never began compiling");
    let second = develop("second").output().unwrap();
    let first_status = first.wait().unwrap();
    let first_err = reader.join().unwrap();
    let _ = Command::new("sccache")
        .arg("--stop-server")
        .env("SCCACHE_SERVER_PORT", &port)
        .output();
    assert!(
        first_status.success(),
        "the first build failed:\n{first_err}"
    );
    assert!(second.status.success(), "{}", text(&second));
    let second_err = String::from_utf8_lossy(&second.stderr);
    assert!(
        second_err.contains("is serving another build, so it was not restarted")
            && !second_err.contains("restarted the sccache server"),
        "{second_err}"
    );
    assert!(
        !first_err.contains("restarted the sccache server"),
        "{first_err}"
    );
}
