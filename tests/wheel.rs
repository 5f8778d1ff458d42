//! `maou-build wheel` on this workspace: two release manylinux_2_28 wheels, which PyPI's
//! auditwheel (the independent referee) accepts and which install and work in fresh venvs
//! of their CPython. Then the command's bad inputs.
//!
//! The build is the real release build (thin LTO) of a copy of this workspace at a fixed
//! path, so that on a machine that has run it before, sccache and the target store serve
//! everything but the cdylib's link-time optimisation; the first run takes tens of minutes.
//! When MAOU_BUILD_TEST_WHEELS names a directory, the wheels are copied there for the
//! Python test suite (scripts/test), so that CI builds them once.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::fake_github::FakeGitHub;
use common::{maou_build, source_root, text};

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const ROUND_TRIP: &str = r#"
import sys, importlib.machinery
import pyarrow as pa
from maou._rust import maou_io
import maou._rust as ext
# The stable-ABI extension, built once: one this interpreter loads as abi3.
assert ext.__file__.endswith(".abi3.so"), ext.__file__
assert ".abi3.so" in importlib.machinery.EXTENSION_SUFFIXES
table = pa.table({"id": list(range(1000)), "name": [f"n{i}" for i in range(1000)]})
maou_io.write(sys.argv[1], table, "file", "zstd")
assert maou_io.read(sys.argv[1]).equals(table)
print("round trip ok")
"#;

#[test]
fn two_audited_wheels_install_and_work() {
    let root = common::workspace_copy_at_fixed_path("maou-build-wheel-test");
    let dist = tempfile::tempdir().unwrap();
    // What a run killed by Ctrl-C leaves: its staging directory, its process gone.
    let stale = dist.path().join(".maou-build-staging-999999999");
    fs::create_dir_all(&stale).unwrap();
    fs::write(
        stale.join("maou-0.2.0-cp312-cp312-manylinux_2_28_x86_64.whl"),
        "partial",
    )
    .unwrap();
    let out = maou_build(&root)
        .args(["wheel", "--json", "--out"])
        .arg(dist.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let wheels = report["wheels"].as_array().unwrap();
    assert!(
        !stale.exists(),
        "the stale staging directory was not removed"
    );
    let pythons: Vec<&str> = wheels
        .iter()
        .map(|w| w["python"].as_str().unwrap())
        .collect();
    assert_eq!(
        pythons,
        ["3.12", "3.13"],
        "one wheel per CPython requires-python allows"
    );

    // One stable-ABI (abi3) build serves every CPython: the interpreter built first (the
    // one the target directory last held, see build_order) compiles the extension, the
    // other's wheel packages the same extension and compiles nothing.
    let order: Vec<&str> = report["build_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let wheel_of = |python: &str| wheels.iter().find(|w| w["python"] == python).unwrap();
    let built = |python: &str| -> Vec<String> {
        wheel_of(python)["compiled"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    };
    let (first, later) = (built(order[0]), built(order[1]));
    assert!(first.iter().any(|c| c == "maou_io"), "{first:?}");
    assert!(first.iter().any(|c| c == "maou_rust"), "{first:?}");
    assert!(later.is_empty(), "{} compiled {later:?}", order[1]);
    assert_eq!(wheel_of(order[1])["packaged_from"], order[0], "{report}");
    assert!(
        wheel_of(order[0]).get("packaged_from").is_none(),
        "{report}"
    );
    assert!(
        report["shared"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "maou_io"),
        "{report}"
    );

    let keep = std::env::var_os("MAOU_BUILD_TEST_WHEELS").map(PathBuf::from);
    for w in wheels {
        let file = PathBuf::from(w["file"].as_str().unwrap());
        let tag = format!("cp{}", w["python"].as_str().unwrap().replace('.', ""));
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            name,
            format!("maou-0.2.0-{tag}-{tag}-manylinux_2_28_x86_64.whl")
        );
        assert_eq!(w["audit"]["ok"], true, "{w}");
        assert!(file.starts_with(dist.path()) && file.is_file());

        // auditwheel (PyPI) must agree independently.
        let shown = run(Command::new("auditwheel").arg("show").arg(&file));
        let flat = shown.split_whitespace().collect::<Vec<_>>().join(" ");
        // auditwheel names the most compatible tag; any manylinux_2_N with N <= 28 means
        // the wheel runs wherever manylinux_2_28 does.
        let glibc_minor = flat
            .split("is consistent with the following platform tag: \"manylinux_2_")
            .nth(1)
            .and_then(|rest| rest.split('_').next())
            .and_then(|n| n.parse::<u32>().ok());
        assert!(
            glibc_minor.is_some_and(|n| n <= 28),
            "auditwheel does not find {name} manylinux_2_28-compatible:\n{shown}"
        );

        // A fresh venv of that CPython, the wheel installed by uv, and the module used.
        let venv = dist.path().join(format!("venv-{tag}"));
        let interpreter = w["interpreter"].as_str().unwrap();
        run(Command::new("uv")
            .args(["venv", "--quiet", "--python", interpreter])
            .arg(&venv));
        let python = venv.join("bin/python");
        run(Command::new("uv")
            .args(["pip", "install", "--quiet", "--python"])
            .arg(&python)
            .arg(&file));
        let data = dist.path().join(format!("{tag}.arrow"));
        let said = run(Command::new(&python).arg("-c").arg(ROUND_TRIP).arg(&data));
        assert!(said.contains("round trip ok"), "{said}");
        let info = run(Command::new(venv.join("bin/maou"))
            .args(["io", "info", "--json"])
            .arg(&data));
        let info: serde_json::Value = serde_json::from_str(&info).unwrap();
        assert_eq!(info["num_rows"], 1000, "{info}");

        if let Some(keep) = &keep {
            fs::create_dir_all(keep).unwrap();
            fs::copy(&file, keep.join(&name)).unwrap();
        }
    }

    // The real wheels through publish-latest, against the fake GitHub API: from the
    // workspace's dist/, so they are checked against its package, version and module.
    let gh = FakeGitHub::start("octo/maou", "ghp_wheel_test_token");
    let ws_dist = root.join("dist");
    fs::create_dir_all(&ws_dist).unwrap();
    for w in wheels {
        let file = PathBuf::from(w["file"].as_str().unwrap());
        fs::copy(&file, ws_dist.join(file.file_name().unwrap())).unwrap();
    }
    let out = maou_build(&root)
        .arg("publish-latest")
        .env("GITHUB_API_URL", &gh.url)
        .env("GITHUB_SERVER_URL", &gh.url)
        .env("GITHUB_REPOSITORY", "octo/maou")
        .env("GITHUB_SHA", "3".repeat(40))
        .env("GITHUB_TOKEN", "ghp_wheel_test_token")
        .env_remove("GH_TOKEN")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let release = gh.release("latest").unwrap();
    assert_eq!(release.assets.len(), 2);
    for a in &release.assets {
        assert_eq!(
            a.bytes,
            fs::read(ws_dist.join(&a.name)).unwrap(),
            "{}",
            a.name
        );
    }
    assert!(
        release.body.contains("\"maou[cuda] @ {maou_wheel}\""),
        "{}",
        release.body
    );

    // Reproducible: building with the interpreter that built the extension again
    // (nothing to compile) gives the same bytes.
    let again = tempfile::tempdir().unwrap();
    let out = maou_build(&root)
        .args(["wheel", "--json", "--python", order[0], "--out"])
        .arg(again.path())
        .env("SOURCE_DATE_EPOCH", report["source_date_epoch"].to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let second: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let same = wheel_of(order[0]);
    assert_eq!(second["wheels"][0]["sha256"], same["sha256"]);
    assert_eq!(
        second["wheels"][0]["compiled"].as_array().unwrap().len(),
        0,
        "{second}"
    );
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn bad_requests_exit_2_and_leave_dist_empty() {
    let root = source_root();
    let dist = tempfile::tempdir().unwrap();
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 3] = [
        (&["--python", "3.9"], &[], "CPython 3.9 is not allowed by requires-python"),
        (&["--python", "3.10"], &[], "CPython 3.10 is not allowed"),
        (
            &[],
            &[("CARGO_ZIGBUILD_ZIG_PATH", "/nonexistent/zig")],
            "CARGO_ZIGBUILD_ZIG_PATH is /nonexistent/zig, but `/nonexistent/zig version` does not run",
        ),
    ];
    for (args, env, expected) in cases {
        let out = maou_build(&root)
            .arg("wheel")
            .args(args)
            .arg("--out")
            .arg(dist.path())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in:\n{stderr}"
        );
        assert!(
            listing(dist.path()).is_empty(),
            "{:?}",
            listing(dist.path())
        );
    }
}

#[test]
fn an_allowed_interpreter_that_is_not_installed_exits_2() {
    // A generated workspace that allows only 3.13's successor, which no machine here has.
    let dir = tempfile::tempdir().unwrap();
    common::tiny_workspace(dir.path(), ">=3.14,<3.15", "cdylib");
    let out = maou_build(dir.path())
        .args(["wheel", "--python", "3.14"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CPython 3.14 is not installed"), "{stderr}");
    assert!(
        !dir.path().join("dist").exists(),
        "{:?}",
        listing(dir.path())
    );
}
