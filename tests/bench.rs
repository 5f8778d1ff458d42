//! `maou-build bench` on a tiny generated maturin workspace (one rlib, one PyO3 cdylib),
//! with a reduced set of scenarios and one run each: the report's structure, ratios that
//! are the recorded medians' quotients, failures kept per scenario, Ctrl-C. No timing
//! threshold: speed is what bench reports, not what a test asserts.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{maou_build, pyo3_workspace, strings, text, tiny_workspace};
use serde_json::Value;

fn series_ok(s: &Value, runs: usize) {
    let times = s["seconds"].as_array().unwrap();
    assert_eq!(times.len(), runs, "{s}");
    let t = times[0].as_f64().unwrap();
    assert!(t > 0.0, "{s}");
    assert_eq!(s["median"].as_f64().unwrap(), t);
    assert_eq!(s["min"].as_f64().unwrap(), t);
    assert_eq!(s["max"].as_f64().unwrap(), t);
    assert!(!s["command"].as_str().unwrap().is_empty());
}

#[test]
fn a_reduced_bench_reports_ratios_of_the_recorded_times() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    pyo3_workspace(&ws);
    let out_dir = dir.path().join("report");
    let out = maou_build(&ws)
        .args([
            "bench",
            "--scenarios",
            "python-edit,rlib-edit,cdylib-edit",
            "--runs",
            "1",
            "--json",
        ])
        .arg(out_dir.join("bench.json"))
        .arg("--markdown")
        .arg(out_dir.join("bench.md"))
        .arg("--svg")
        .arg(out_dir.join("bench.svg"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bench: rlib-edit [1/1]"),
        "no progress lines:\n{stderr}"
    );

    let report: Value =
        serde_json::from_str(&fs::read_to_string(out_dir.join("bench.json")).unwrap()).unwrap();
    assert_eq!(report["runs"], 1);
    let scenarios = report["scenarios"].as_array().unwrap();
    let ids = strings(&report["scenarios"], "id");
    assert_eq!(ids, ["rlib-edit", "cdylib-edit", "python-edit"]);

    let mut bars = 0;
    for s in scenarios {
        assert!(s["error"].is_null(), "{s}");
        series_ok(&s["subject"], 1);
        let subject = s["subject"]["median"].as_f64().unwrap();
        let baselines = s["baselines"].as_array().unwrap();
        let ratios = s["ratios"].as_array().unwrap();
        assert_eq!(ratios.len(), baselines.len());
        for (b, r) in baselines.iter().zip(ratios) {
            series_ok(b, 1);
            assert_eq!(r["baseline"], b["label"]);
            let expected = subject / b["median"].as_f64().unwrap();
            assert!(
                (r["ratio"].as_f64().unwrap() - expected).abs() < 1e-12,
                "{r} vs {expected}"
            );
            bars += 1;
        }
    }
    let rlib = &scenarios[0];
    assert_eq!(rlib["facts"]["crate"], "foo_core");
    let labels = strings(&rlib["baselines"], "label");
    assert_eq!(
        labels,
        [
            "bare cargo build, seed configuration (the seed floor)",
            "bare cargo build (the floor)",
            "maturin develop"
        ]
    );
    assert!(rlib["subject"]["command"]
        .as_str()
        .unwrap()
        .contains(" develop "));
    let command = |i: usize| rlib["baselines"][i]["command"].as_str().unwrap().to_owned();
    // The seed floor: plain `cargo build` with the seed's profile put back on the command
    // line; the floor: the command develop runs, maturin's own (no rustc arguments), with
    // maturin's PyO3 variables.
    assert!(command(0).contains("cargo build --lib"), "{}", command(0));
    assert!(
        command(0).contains("profile.dev.package.\"*\".debug=1"),
        "{}",
        command(0)
    );
    assert!(command(1).contains("cargo build --lib"), "{}", command(1));
    assert!(!command(1).contains(" -- "), "{}", command(1));
    assert!(
        command(1).contains("PYO3_ENVIRONMENT_SIGNATURE=cpython-3."),
        "{}",
        command(1)
    );
    assert!(command(2).contains("maturin develop"), "{}", command(2));
    assert!(
        rlib["facts"]["extension_bytes"].as_u64().unwrap() > 0,
        "{rlib}"
    );
    let compiled: Vec<&str> = rlib["facts"]["units_compiled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert!(
        compiled.iter().any(|u| u.starts_with("foo_core")),
        "{compiled:?}"
    );
    assert!(
        compiled.iter().any(|u| u.starts_with("_native")),
        "{compiled:?}"
    );
    assert_eq!(scenarios[1]["facts"]["crate"], "foo_native");

    let py = &scenarios[2];
    assert_eq!(py["facts"]["rustc_invocations"], 0);
    assert_eq!(py["checks"][0]["ok"], true);
    assert!(py["baselines"].as_array().unwrap().is_empty());

    let md = fs::read_to_string(out_dir.join("bench.md")).unwrap();
    assert!(md.contains("| scenario | median (min–max) | baseline |"));
    assert!(md.contains("![ratios of each scenario to its baseline](bench.svg)"));
    for id in ids {
        assert!(md.contains(&format!("`{id}`")), "{id} not in the markdown");
    }
    let svg = fs::read_to_string(out_dir.join("bench.svg")).unwrap();
    assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("class=\"bar\"").count(), bars);

    // The user's workspace was not built in: bench worked on a copy.
    assert!(!ws.join("target").exists() && !ws.join(".venv").exists());
    assert!(fs::read_to_string(ws.join("crates/core/src/lib.rs"))
        .unwrap()
        .lines()
        .all(|l| !l.contains("BENCH")));
}

/// `maou-build bench --scenarios SCENARIOS --runs 1 EXTRA --json FILE` in `ws`: its output
/// and the report it wrote.
fn bench_once(
    ws: &std::path::Path,
    scenarios: &str,
    extra: &[&str],
) -> (std::process::Output, Value) {
    let json = ws.with_extension("bench.json");
    let out = maou_build(ws)
        .args(["bench", "--scenarios", scenarios, "--runs", "1"])
        .args(extra)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let report = fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| panic!("no report: {}", text(&out)));
    (out, report)
}

#[test]
fn a_workspace_that_does_not_build_fails_per_scenario_with_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    tiny_workspace(&ws, ">=3.11,<3.13", "cdylib");
    fs::write(ws.join("crates/native/src/lib.rs"), "pub fn broken( {\n").unwrap();
    let (out, report) = bench_once(&ws, "python-edit,cdylib-edit", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 2);
    for s in scenarios {
        let e = &s["error"];
        assert_eq!(e["step"], "setup", "{s}");
        assert!(e["command"].as_str().unwrap().contains("develop"), "{e}");
        assert!(e["output"].as_str().unwrap().contains("error"), "{e}");
    }
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED at setup"));
}

/// Ctrl-C in the second scenario: exit 130, the copy removed, and the report keeps the
/// scenario that finished before it.
#[test]
fn ctrl_c_stops_removes_the_copy_and_keeps_what_finished() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    pyo3_workspace(&ws);
    let json = ws.with_extension("bench.json");
    let mut child = maou_build(&ws)
        .args([
            "bench",
            "--scenarios",
            "cdylib-edit,python-edit",
            "--runs",
            "1",
        ])
        .arg("--json")
        .arg(&json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut copy = None;
    let mut seen = String::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if let Some(path) = line.strip_prefix("maou-build: bench: the copy is ") {
            copy = Some(std::path::PathBuf::from(path));
        }
        if line.contains("python-edit: develop once") {
            let status = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    let copy = copy.unwrap_or_else(|| panic!("bench never said where the copy is:\n{seen}"));
    assert!(!copy.exists(), "{} was left behind", copy.display());
    assert!(seen.contains("interrupted"), "{seen}");
    let report: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["interrupted"], true, "{report}");
    let names = strings(&report["scenarios"], "id");
    assert_eq!(names, ["cdylib-edit"], "{report}");
    let kept = &report["scenarios"][0];
    assert!(kept["error"].is_null(), "{kept}");
    assert!(kept["subject"].is_object(), "{kept}");
    assert!(!kept["ratios"].as_array().unwrap().is_empty(), "{kept}");
}

/// `bench --scenarios ci-chain` where it cannot replay: a message that says what it needs,
/// exit 2, and no replay directory left in TMPDIR.
#[test]
fn the_ci_chain_replay_refuses_what_it_cannot_replay() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    tiny_workspace(&ws, ">=3.11", "cdylib");
    let tmp = tempfile::tempdir().unwrap();
    let harness = tempfile::tempdir().unwrap();
    // A harness that evaluates nothing: what a flake crane cannot read gets.
    let script = harness.path().join("eval-flake.sh");
    fs::write(
        &script,
        "#!/bin/sh\necho 'FAILED to evaluate the flake' >&2\nexit 1\n",
    )
    .unwrap();
    fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let run = |args: &[&str]| {
        let out = maou_build(&ws)
            .args(["bench", "--scenarios"])
            .args(args)
            .env("TMPDIR", tmp.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let left: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let said = run(&["ci-chain"]);
    assert!(said.contains("has no flake.nix"), "{said}");

    fs::write(ws.join("flake.nix"), "{ outputs = _: {}; }\n").unwrap();
    let shown = harness.path().display().to_string();
    let said = run(&["ci-chain", "--nix-eval", "/nonexistent/nix-eval"]);
    assert!(
        said.contains("eval-flake.sh, which is not in /nonexistent/nix-eval"),
        "{said}"
    );
    let said = run(&["ci-chain", "--nix-eval", &shown]);
    assert!(
        said.contains("did not evaluate the flake's packages"),
        "{said}"
    );
    assert!(said.contains("FAILED to evaluate the flake"), "{said}");
    let said = run(&["ci-chain,rlib-edit"]);
    assert!(said.contains("ci-chain runs alone"), "{said}");
}

/// cold-sccache's baseline (develop's cargo command without sccache) runs alternately with
/// the cold develops, so that a machine whose speed drifts moves both sides of the ratio.
#[test]
fn the_cold_build_without_sccache_alternates_with_the_cold_develops() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    pyo3_workspace(&ws);
    let json = dir.path().join("bench.json");
    let out = maou_build(&ws)
        .args([
            "bench",
            "--scenarios",
            "cold-sccache",
            "--runs",
            "2",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let at = |line: &str| {
        stderr
            .find(line)
            .unwrap_or_else(|| panic!("no `{line}` in:\n{stderr}"))
    };
    let order = [
        at("[1/2] cold cargo build without sccache"),
        at("[1/2] cold develop (empty caches)"),
        at("[2/2] cold cargo build without sccache"),
        at("[2/2] cold develop (empty caches)"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{stderr}");

    let report: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let s = &report["scenarios"][0];
    assert_eq!(s["id"], "cold-sccache", "{s}");
    let base = &s["baselines"][0];
    assert_eq!(base["label"], "cold cargo build without sccache", "{s}");
    let command = base["command"].as_str().unwrap();
    assert!(command.contains("RUSTC_WRAPPER= "), "{command}");
    assert!(command.contains("no-sccache-target"), "{command}");
    for series in [&s["subject"], base] {
        assert_eq!(series["seconds"].as_array().unwrap().len(), 2, "{series}");
    }
    let median = |v: &Value| v["median"].as_f64().unwrap();
    let ratio = s["ratios"][0]["ratio"].as_f64().unwrap();
    assert!(
        (ratio - median(&s["subject"]) / median(base)).abs() < 1e-9,
        "{s}"
    );
}

/// `--profile` with an optimized profile: develop builds it, and the edit scenario's
/// baselines are maou's own loop with it (maturin develop as maou's Cargo.toml defines the
/// profile, and with maou's dev container overrides) and bare cargo with it.
#[test]
fn an_optimized_profile_is_measured_against_maous_own_loop() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    pyo3_workspace(&ws);
    fs::write(
        ws.join("Cargo.toml"),
        fs::read_to_string(ws.join("Cargo.toml")).unwrap()
            + "\n[profile.py-ext]\ninherits = \"release\"\nlto = false\ndebug-assertions = true\n",
    )
    .unwrap();
    let (out, report) = bench_once(&ws, "cdylib-edit", &["--profile", "py-ext"]);
    assert!(out.status.success(), "{}", text(&out));
    let s = &report["scenarios"][0];
    assert_eq!(s["facts"]["profile"], "py-ext", "{s}");
    assert!(s["subject"]["command"]
        .as_str()
        .unwrap()
        .contains("--profile py-ext"));
    let baselines = s["baselines"].as_array().unwrap();
    let labels = strings(&s["baselines"], "label");
    assert_eq!(
        labels,
        [
            "maturin develop, `py-ext` as maou's Cargo.toml defines it (1 codegen unit)",
            "maturin develop, `py-ext` with maou's dev container overrides (incremental, 16 codegen units, 1 job)",
            "bare cargo build (the floor)"
        ]
    );
    let command = |i: usize| baselines[i]["command"].as_str().unwrap().to_owned();
    assert!(
        command(0).contains("maturin develop --skip-install"),
        "{}",
        command(0)
    );
    assert!(command(0).contains("--profile py-ext"), "{}", command(0));
    // maou's own settings, whatever the workspace's Cargo.toml says.
    assert!(
        command(0).contains("profile.py-ext.codegen-units=1")
            && command(0).matches("codegen-units=1 ").count()
                + command(0).matches("codegen-units=1'").count()
                == 2
            && !command(0).contains("--jobs 1"),
        "{}",
        command(0)
    );
    for flag in [
        "profile.py-ext.incremental=true",
        "profile.py-ext.codegen-units=16",
        "--jobs 1",
    ] {
        assert!(command(1).contains(flag), "{flag}: {}", command(1));
    }
    assert!(command(2).contains("--profile py-ext"), "{}", command(2));
}

/// uv's doors in the bench: after develop, uv made to build (pyproject.toml touched) by
/// `uv run` and by `uv sync` into a new venv compiles nothing.
#[test]
fn uv_builds_after_develop_are_measured_and_compile_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    pyo3_workspace(&ws);
    common::replace_in(
        &ws.join("pyproject.toml"),
        "[tool.maturin]\n",
        "[tool.maturin]\neditable-profile = \"dev\"\n",
    );
    let py = std::fs::read_to_string(ws.join("pyproject.toml")).unwrap();
    std::fs::write(
        ws.join("pyproject.toml"),
        py + "\n[tool.uv]\nconfig-settings-package = { foo = { \"maturin.build-args\" = \"--interpreter .venv/bin/python\" } }\n",
    )
    .unwrap();
    let (out, report) = bench_once(&ws, "uv-run-after-develop,uv-sync-new-venv", &[]);
    assert!(out.status.success(), "{}", text(&out));
    for s in report["scenarios"].as_array().unwrap() {
        assert_eq!(s["facts"]["units_compiled_by_uv"], 0, "{s}");
        assert!(
            s["checks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["ok"] == true),
            "{s}"
        );
        series_ok(&s["subject"], 1);
        let last = s["baselines"].as_array().unwrap().last().unwrap().clone();
        assert!(
            last["label"].as_str().unwrap().contains("cold"),
            "the cold develops are the last baseline: {last}"
        );
    }
}

/// maou's edit as it makes one: a line and the crate's patch version raised, for develop
/// and for each baseline alike (the version climbs once per build); develop rebuilds the
/// crate and the extension, and the source checkout is left as it was.
#[test]
fn an_edit_with_its_version_bump_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    pyo3_workspace(&ws);
    let manifest = fs::read_to_string(ws.join("crates/core/Cargo.toml")).unwrap();
    let (out, report) = bench_once(&ws, "rlib-edit-bumped", &[]);
    assert!(out.status.success(), "{}", text(&out));
    let s = &report["scenarios"][0];
    assert_eq!(s["id"], "rlib-edit-bumped", "{s}");
    assert!(s["error"].is_null(), "{s}");
    series_ok(&s["subject"], 1);
    let baselines = s["baselines"].as_array().unwrap();
    assert!(!baselines.is_empty(), "{s}");
    // One bump for develop, one for each baseline: 0.1.0 -> 0.1.(1 + baselines).
    assert_eq!(
        s["facts"]["version_bumped_to"],
        format!("0.1.{}", 1 + baselines.len()),
        "{s}"
    );
    let units: Vec<&str> = s["facts"]["units_compiled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().split(' ').next().unwrap())
        .collect();
    assert!(
        units.contains(&"foo_core") && units.contains(&"_native"),
        "{units:?}"
    );
    assert_eq!(
        fs::read_to_string(ws.join("crates/core/Cargo.toml")).unwrap(),
        manifest,
        "the bench edits its copy, never the checkout"
    );
}
