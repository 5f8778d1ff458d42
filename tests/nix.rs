//! The Nix flake, checked without Nix builds (these machines cannot fetch anything):
//! - every .nix file is formatted as alejandra formats it;
//! - flake.lock holds exactly the pins of nix/pins.json;
//! - the flake evaluates through the real crane, fenix and nixpkgs lib
//!   (`../shared/nix-eval/eval-flake.sh`, or the directory MAOU_BUILD_NIX_EVAL names), and
//!   the derivations it evaluates to are wired as the chain needs: each step starts from
//!   the one before, every step runs the same maturin command, the wheels are built by
//!   `maou-build wheel`, and an edit to the tool leaves the product's derivations alone
//!   and the other way round. This checks what each builder is given; `maou-build bench
//!   --scenarios ci-chain` runs them.
//!
//! Parsing with `nix-instantiate --parse` and `deadnix --fail` run in scripts/test.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{source_root, text};
use serde_json::Value;

fn nix_files() -> Vec<PathBuf> {
    let root = source_root();
    let mut files = vec![root.join("flake.nix")];
    for dir in ["nix", "nix/template"] {
        for entry in fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "nix") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// With MAOU_BUILD_FORMAT_NIX=1 the files are rewritten formatted instead.
#[test]
fn nix_files_are_formatted_by_alejandra() {
    let fix = std::env::var_os("MAOU_BUILD_FORMAT_NIX").is_some();
    let mut unformatted = Vec::new();
    for path in nix_files() {
        let before = fs::read_to_string(&path).unwrap();
        let (status, after) =
            alejandra::format::in_memory(path.display().to_string(), before.clone());
        if let alejandra::format::Status::Error(e) = status {
            panic!("{} does not parse: {e}", path.display());
        }
        if after != before {
            if fix {
                fs::write(&path, &after).unwrap();
            } else {
                unformatted.push(format!("--- {} formatted:\n{after}", path.display()));
            }
        }
    }
    assert!(
        unformatted.is_empty(),
        "not formatted as alejandra 3.1 formats them (rerun with MAOU_BUILD_FORMAT_NIX=1 to \
         rewrite them):\n{}",
        unformatted.join("\n")
    );
}

#[test]
fn flake_lock_holds_the_pins() {
    let root = source_root();
    let read = |p: &Path| -> Value {
        serde_json::from_str(&fs::read_to_string(p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let lock = read(&root.join("flake.lock"));
    let pins = read(&root.join("nix/pins.json"));
    assert_eq!(lock["version"], 7);
    assert_eq!(lock["root"], "root");
    let nodes = lock["nodes"].as_object().unwrap();
    let mut names: Vec<&str> = nodes.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        ["crane", "fenix", "nixpkgs", "root", "rust-analyzer-src"]
    );
    assert_eq!(
        lock["nodes"]["root"]["inputs"],
        serde_json::json!({"crane": "crane", "fenix": "fenix", "nixpkgs": "nixpkgs"})
    );
    // fenix's nixpkgs follows ours; its rust-analyzer-src is not a flake.
    assert_eq!(
        lock["nodes"]["fenix"]["inputs"],
        serde_json::json!({"nixpkgs": ["nixpkgs"], "rust-analyzer-src": "rust-analyzer-src"})
    );
    assert_eq!(lock["nodes"]["rust-analyzer-src"]["flake"], false);
    let inputs = &pins["inputs"];
    for (node, pin) in [
        ("nixpkgs", &inputs["nixpkgs"]),
        ("crane", &inputs["crane"]),
        ("fenix", &inputs["fenix"]),
        ("rust-analyzer-src", &inputs["fenix"]["rust-analyzer-src"]),
    ] {
        let locked = &lock["nodes"][node]["locked"];
        for key in ["type", "owner", "repo", "rev", "narHash", "lastModified"] {
            assert_eq!(locked[key], pin[key], "{node}.locked.{key}");
        }
        let original = &lock["nodes"][node]["original"];
        for key in ["type", "owner", "repo", "ref"] {
            assert_eq!(original[key], pin[key], "{node}.original.{key}");
        }
        assert!(
            pin["narHash"].as_str().unwrap().starts_with("sha256-"),
            "{node}"
        );
    }
}

/// The nix-eval harness: MAOU_BUILD_NIX_EVAL, or `../shared/nix-eval` beside the checkout.
fn nix_eval_dir() -> PathBuf {
    let dir = std::env::var_os("MAOU_BUILD_NIX_EVAL")
        .map(PathBuf::from)
        .unwrap_or_else(|| source_root().join("../shared/nix-eval"));
    assert!(
        dir.join("eval-flake.sh").is_file(),
        "the real-library evaluation needs nix-eval's eval-flake.sh in {} (set \
         MAOU_BUILD_NIX_EVAL to its directory)",
        dir.display()
    );
    dir
}

/// Every output the flake evaluates to, as `packages.maou-io` → its `.drv` (or program).
fn evaluate(flake: &Path) -> BTreeMap<String, String> {
    evaluate_with(flake, "")
}

/// [evaluate], with `extra_stubs` (nixpkgs package names) added to the harness's stand-in
/// package set.
fn evaluate_with(flake: &Path, extra_stubs: &str) -> BTreeMap<String, String> {
    let out = Command::new(nix_eval_dir().join("eval-flake.sh"))
        .arg(flake)
        .env("EXTRA_STUBS", extra_stubs)
        .output()
        .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("RESULT: everything evaluated"), "{said}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut section = String::new();
    let mut outputs = BTreeMap::new();
    for line in stdout.lines() {
        if let Some(kind) = line.strip_suffix(".x86_64-linux:") {
            section = kind.to_owned();
        } else if let Some((name, rest)) = line.trim().split_once(": OK ") {
            outputs.insert(format!("{section}.{name}"), rest.trim().to_owned());
        }
    }
    assert!(outputs.len() > 10, "{said}");
    outputs
}

fn derivation(drv: &str) -> Value {
    let out = Command::new("nix")
        .args([
            "--extra-experimental-features",
            "nix-command",
            "show-derivation",
            drv,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    all[drv].clone()
}

/// A copy of the flake and everything it reads, at a temporary path.
fn flake_copy() -> (tempfile::TempDir, PathBuf) {
    let (tmp, root) = common::workspace_copy();
    for item in ["flake.nix", "flake.lock", "nix", "tests"] {
        common::copy_item(&source_root(), &root, item);
    }
    (tmp, root)
}

const PRODUCT_STEPS: [&str; 3] = [
    "packages.maou-deps",
    "packages.maou-io",
    "packages.maou-index",
];
const TOOL_OUTPUTS: [&str; 4] = [
    "packages.maou-build",
    "checks.clippy",
    "checks.fmt",
    "checks.tests",
];

#[test]
fn the_flake_is_wired_as_a_chain_and_tool_and_product_stay_apart() {
    let (_tmp, flake) = flake_copy();
    let before = evaluate(&flake);

    // The chain: each step from the one before, all running the one maturin command
    // that `maou-build wheel` runs; the wheels built by maou-build itself.
    let env = |name: &str| derivation(&before[name])["env"].clone();
    let out_of = |name: &str| {
        derivation(&before[name])["outputs"]["out"]["path"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let deps = env("packages.maou-deps");
    assert_eq!(deps["CRANE_BUILD_DEPS_ONLY"], "1");
    let build = deps["buildPhase"].as_str().unwrap();
    let maturin = build
        .lines()
        .find(|l| l.starts_with("maturin build"))
        .unwrap_or_else(|| panic!("no maturin build in maou-deps:\n{build}"));
    for needle in [
        "--release --zig --compatibility manylinux_2_28",
        "/bin/python3.12 ",
        "--remap-path-prefix=/nix/store/",
    ] {
        assert!(maturin.contains(needle), "{needle:?} not in {maturin}");
    }
    for (step, from) in [
        ("packages.maou-io", "packages.maou-deps"),
        ("packages.maou-index", "packages.maou-io"),
        ("packages.wheels", "packages.maou-index"),
    ] {
        let e = env(step);
        assert_eq!(
            e["cargoArtifacts"],
            out_of(from),
            "{step} starts from {from}"
        );
        let phase = e["buildPhase"].as_str().unwrap();
        if step == "packages.wheels" {
            assert!(phase.contains("maou-build wheel --out $out"), "{phase}");
        } else {
            assert!(phase.contains(maturin), "{step} builds otherwise:\n{phase}");
        }
    }

    // An edit to the tool: no step of the product's chain changes.
    let main_rs = flake.join("src/main.rs");
    fs::write(
        &main_rs,
        fs::read_to_string(&main_rs).unwrap() + "\n// an edit to the tool\n",
    )
    .unwrap();
    let tool_edited = evaluate(&flake);
    for name in PRODUCT_STEPS {
        assert_eq!(
            tool_edited[name], before[name],
            "{name} changed with src/main.rs"
        );
    }
    for name in TOOL_OUTPUTS {
        assert_ne!(
            tool_edited[name], before[name],
            "{name} did not see src/main.rs"
        );
    }

    // An edit to maou_io: the dependencies stay (crane's dummy sources), maou_io's step
    // and those after it change, the tool does not.
    let lib_rs = flake.join("rust/maou_io/src/lib.rs");
    fs::write(
        &lib_rs,
        fs::read_to_string(&lib_rs).unwrap() + "\n// an edit to maou_io\n",
    )
    .unwrap();
    let product_edited = evaluate(&flake);
    assert_eq!(
        product_edited["packages.maou-deps"],
        tool_edited["packages.maou-deps"]
    );
    for name in [
        "packages.maou-io",
        "packages.maou-index",
        "packages.wheel-cp312",
    ] {
        assert_ne!(product_edited[name], tool_edited[name], "{name}");
    }
    for name in TOOL_OUTPUTS {
        assert_eq!(
            product_edited[name], tool_edited[name],
            "{name} changed with maou_io"
        );
    }

    // A README edit changes nothing that builds.
    fs::write(flake.join("README.md"), "edited\n").unwrap();
    let readme_edited = evaluate(&flake);
    assert_eq!(readme_edited, product_edited);
}

/// The dev shell hands maou.onnx nixpkgs' ONNX Runtime through `ORT_DYLIB_PATH` when the
/// package set has one, and evaluates without it (nix-eval's stand-in set has none: then
/// maou.onnx takes the onnxruntime package from PyPI).
#[test]
fn the_dev_shell_takes_onnx_runtime_from_nixpkgs_when_it_has_one() {
    let (_tmp, flake) = flake_copy();
    let plain = derivation(&evaluate(&flake)["devShells.default"]);
    assert!(
        plain["env"].get("ORT_DYLIB_PATH").is_none(),
        "{}",
        plain["env"]
    );
    let with = derivation(&evaluate_with(&flake, "onnxruntime")["devShells.default"]);
    let path = with["env"]["ORT_DYLIB_PATH"].as_str().unwrap_or_default();
    assert!(
        path.starts_with("/nix/store/")
            && path.contains("onnxruntime")
            && path.ends_with("/lib/libonnxruntime.so"),
        "{}",
        with["env"]
    );
}

/// The dev build environment's settings that are not Cargo profile keys (the rustc
/// wrapper, the cache's size) have one source, `src/dev_build_env.json`: changed there in
/// a copy, the Nix dev shell and `scripts/env.sh` follow (maou-build includes the file
/// when it is compiled), and no other file writes the value.
#[test]
fn the_dev_build_environment_has_one_source() {
    let (_tmp, flake) = flake_copy();
    common::copy_item(&source_root(), &flake, "scripts");
    let file = flake.join("src/dev_build_env.json");
    let mut settings: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    let size = settings["sccache_cache_size"].as_str().unwrap().to_owned();
    // Nowhere else is a cache size set to the value (sccache's size syntax may be quoted).
    for dir in ["nix", "scripts", "src", ".devcontainer"] {
        let out = Command::new("grep")
            .args(["-rni", "cache.size"])
            .arg(source_root().join(dir))
            .output()
            .unwrap();
        let found = String::from_utf8_lossy(&out.stdout);
        let found: Vec<&str> = found
            .lines()
            .filter(|l| l.contains(&size) && !l.contains("dev_build_env.json:"))
            .collect();
        assert!(found.is_empty(), "{size} set outside its source: {found:?}");
    }

    settings["sccache_cache_size"] = "3G".into();
    fs::write(&file, settings.to_string()).unwrap();
    let outputs = evaluate(&flake);
    let shell = derivation(&outputs["devShells.default"]);
    assert_eq!(shell["env"]["SCCACHE_CACHE_SIZE"], "3G", "{}", shell["env"]);
    assert_eq!(shell["env"]["RUSTC_WRAPPER"], settings["rustc_wrapper"]);
    // The profiles are the workspace's Cargo.toml's, which every door reads: no door sets
    // a variable that overrides them (the dev profile's policy is checked by doctor).
    let overrides = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter(|k| k == "CARGO_INCREMENTAL" || k.starts_with("CARGO_PROFILE_"))
            .collect()
    };
    let shell_vars = shell["env"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(overrides(shell_vars), Vec::<String>::new());
    let exported = Command::new("bash")
        .args(["-c", ". scripts/env.sh && env"])
        .current_dir(&flake)
        .env_remove("CARGO_INCREMENTAL")
        .output()
        .unwrap();
    let exported = String::from_utf8_lossy(&exported.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_owned()))
        .collect();
    assert_eq!(overrides(exported), Vec::<String>::new());
    let sourced = Command::new("bash")
        .args(["-c", ". scripts/env.sh && echo \"$SCCACHE_CACHE_SIZE\""])
        .current_dir(&flake)
        .env_remove("SCCACHE_CACHE_SIZE")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&sourced.stdout).trim(),
        "3G",
        "{}",
        text(&sourced)
    );
}

/// `requires-python` has two parsers, maou-build's (`src/python.rs`) and the flake's
/// (`nix/requires-python.nix`: Nix cannot call Rust while it evaluates): fed the same
/// specifiers, they allow the same CPythons.
#[test]
fn both_requires_python_parsers_allow_the_same_cpythons() {
    let lib = nix_eval_dir().join("inputs/nixpkgs-lib/lib");
    for spec in [
        ">=3.11,<3.13",
        ">=3.12,<3.14",
        "~=3.10",
        ">=3.8,!=3.9.*",
        "==3.12.*",
        ">3.11",
        "<=3.10,>=3.9",
        ">=3.12.1",
    ] {
        let expr = format!(
            "import {}/nix/requires-python.nix {{ lib = import {}; }} \"{spec}\"",
            source_root().display(),
            lib.display()
        );
        let out = Command::new("nix-instantiate")
            .args(["--eval", "--strict", "--json", "-E", &expr])
            .output()
            .unwrap();
        assert!(out.status.success(), "{spec}: {}", text(&out));
        let nix: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();

        let dir = tempfile::tempdir().unwrap();
        common::tiny_workspace(dir.path(), spec, "cdylib");
        let out = common::maou_build(dir.path())
            .args(["info", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{spec}: {}", text(&out));
        let info: Value = serde_json::from_slice(&out.stdout).unwrap();
        let rust: Vec<String> = info["pythons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["version"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(nix, rust, "requires-python = \"{spec}\"");
    }
}

/// The default platform's one source is `src/audit/platforms.json`: changed there in a
/// copy, the flake's chain builds for the new platform (maou-build includes the file when
/// it is compiled), and no .nix file names a platform itself.
#[test]
fn the_default_platform_has_one_source() {
    for path in nix_files() {
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("\"manylinux_"),
            "{} names a platform itself",
            path.display()
        );
    }
    let (_tmp, flake) = flake_copy();
    let file = flake.join("src/audit/platforms.json");
    let mut platforms: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    platforms["default"] = "manylinux_2_34".into();
    fs::write(&file, platforms.to_string()).unwrap();
    let outputs = evaluate(&flake);
    let deps = derivation(&outputs["packages.maou-deps"]);
    let build = deps["env"]["buildPhase"].as_str().unwrap();
    assert!(
        build.contains("maturin build --release --zig --compatibility manylinux_2_34"),
        "{build}"
    );
}

/// A maturin command line with what differs by machine replaced: the interpreter (by its
/// file name), the dependency sources' path in the remap, the output directory, the jobs.
fn normalized_maturin(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut iter = args.iter().peekable();
    while let Some(arg) = iter.next() {
        out.push(arg.clone());
        let Some(value) = iter.peek() else { continue };
        let replaced = match arg.as_str() {
            "--interpreter" => {
                let name = Path::new(value.as_str()).file_name().unwrap();
                format!("<{}>", name.to_string_lossy())
            }
            "--out" => "<out>".to_owned(),
            "--jobs" => "<jobs>".to_owned(),
            "--config" => {
                let (head, rest) = value
                    .split_once("--remap-path-prefix=")
                    .unwrap_or((value, ""));
                match rest.split_once("=/") {
                    Some((_, tail)) => format!("{head}--remap-path-prefix=<sources>=/{tail}"),
                    None => value.to_string(),
                }
            }
            _ => continue,
        };
        out.push(replaced);
        iter.next();
    }
    out
}

/// The pre-wheel steps of `outputs`' chain against `maou-build wheel --dry-run`'s first
/// build (the oldest CPython, as the chain builds): each difference, one line each.
fn chain_drift(outputs: &BTreeMap<String, String>, wheel: &Value) -> Vec<String> {
    let mut drift = Vec::new();
    let wheel_args: Vec<String> = std::iter::once("maturin".to_owned())
        .chain(
            wheel["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned()),
        )
        .collect();
    let wheel_args = normalized_maturin(&wheel_args);
    let wheels_env = derivation(&outputs["packages.wheels"])["env"].clone();
    // Per derivation by nature; everything else a step sets must reach maou-build wheel.
    const OWN: [&str; 16] = [
        "name",
        "pname",
        "version",
        "src",
        "out",
        "cargoArtifacts",
        "buildPhase",
        "buildPhaseCargoCommand",
        "installPhase",
        "installPhaseCommand",
        "configurePhase",
        "checkPhase",
        "doInstallCargoArtifacts",
        "CRANE_BUILD_DEPS_ONLY",
        "nativeBuildInputs",
        "dummySrc",
    ];
    for step in PRODUCT_STEPS {
        let env = derivation(&outputs[step])["env"].clone();
        let phase = env["buildPhase"].as_str().unwrap();
        let Some(line) = phase
            .lines()
            .find(|l| l.trim_start().starts_with("maturin "))
        else {
            drift.push(format!("{step}: no maturin command in its build phase"));
            continue;
        };
        let line = line
            .replace("$TMPDIR", "/build")
            .replace("$NIX_BUILD_CORES", "2");
        let args = normalized_maturin(&shlex::split(&line).unwrap());
        if args != wheel_args {
            drift.push(format!(
                "{step} runs  {}\n  maou-build wheel runs  {}",
                args.join(" "),
                wheel_args.join(" ")
            ));
        }
        for (key, value) in env.as_object().unwrap() {
            if !OWN.contains(&key.as_str()) && wheels_env[key] != *value {
                drift.push(format!(
                    "{step} sets {key}={value}, where maou-build wheel runs it is {}",
                    wheels_env[key]
                ));
            }
        }
        let inputs = wheels_env["nativeBuildInputs"].as_str().unwrap();
        for input in env["nativeBuildInputs"]
            .as_str()
            .unwrap()
            .split_whitespace()
        {
            if !inputs.contains(input) {
                drift.push(format!("{step} has {input}, maou-build wheel does not"));
            }
        }
    }
    // What maou-build wheel gives maturin beyond its environment: each accounted for.
    for key in wheel["env"].as_object().unwrap().keys() {
        let why = match key.as_str() {
            // stdenv sets 315532800 in every step; maou-build wheel takes it from there.
            "SOURCE_DATE_EPOCH" => None,
            // Which zig (the one on PATH in Nix): the same binary for every step's maturin.
            "CARGO_ZIGBUILD_ZIG_PATH" | "CARGO_ZIGBUILD_PYTHON_PATH" => None,
            // Only with sccache on PATH, which no step has.
            k if k == "RUSTC_WRAPPER" || k.starts_with("SCCACHE_") => (wheels_env
                ["nativeBuildInputs"]
                .as_str()
                .unwrap()
                .contains("sccache"))
            .then(|| format!("the wheels' step has sccache: maturin gets {key}")),
            // A pinned library's variables (bundled.nix): every step exports them in
            // preBuild, with the value maou-build gives ($TMPDIR is /build in the sandbox);
            // the loader's path only for maturin's repair, which cargo does not read.
            k => {
                let pre = wheels_env["preBuild"]
                    .as_str()
                    .unwrap_or("")
                    .replace("$TMPDIR", "/build");
                let value = wheel["env"][k].as_str().unwrap_or("");
                let exported = if k == "LD_LIBRARY_PATH" {
                    value
                        .split(':')
                        .all(|dir| pre.contains(&format!("export LD_LIBRARY_PATH={dir}")))
                } else {
                    pre.contains(&format!("export {k}=\"{value}\""))
                };
                (!exported).then(|| {
                    format!(
                        "maou-build wheel gives maturin {key}={value}, which no chain step sets"
                    )
                })
            }
        };
        drift.extend(why);
    }
    drift
}

/// `maou-build wheel --dry-run --json` in `dir`: its first maturin build.
fn wheel_dry_run(dir: &Path) -> Value {
    let out = common::maou_build(dir)
        .args(["wheel", "--dry-run", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let commands: Value = serde_json::from_slice(&out.stdout).unwrap();
    commands[0].clone()
}

/// The chain's steps before the wheels run the maturin build `maou-build wheel` runs (its
/// arguments as `--dry-run` prints them, with what differs by machine set aside), in the
/// environment the wheels' step gives maou-build; with a wheel feature too. A change on
/// the chain's side alone shows as drift.
#[test]
fn the_chain_runs_the_maturin_build_of_maou_build_wheel() {
    let (_tmp, flake) = flake_copy();
    // A feature for the distributed wheels, read by both sides from pyproject.toml.
    let manifest = flake.join("rust/maou_rust/Cargo.toml");
    let cargo = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        cargo.replace("[features]\n", "[features]\nfast = []\n"),
    )
    .unwrap();
    let pyproject = flake.join("pyproject.toml");
    let py = fs::read_to_string(&pyproject).unwrap();
    fs::write(
        &pyproject,
        py.replace(
            "wheel-features = [\"onnx\"]\n",
            "wheel-features = [\"onnx\", \"fast\"]\n",
        ),
    )
    .unwrap();

    let wheel = wheel_dry_run(&flake);
    assert!(
        wheel["args"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "onnx,fast"),
        "{wheel}"
    );
    let outputs = evaluate(&flake);
    let drift = chain_drift(&outputs, &wheel);
    assert!(drift.is_empty(), "{}", drift.join("\n"));

    // One side changed: the chain's maturin flags.
    let chain = flake.join("nix/chain.nix");
    let nix = fs::read_to_string(&chain).unwrap();
    fs::write(&chain, nix.replace("else \"check\";", "else \"skip\";")).unwrap();
    let drift = chain_drift(&evaluate(&flake), &wheel);
    assert_eq!(drift.len(), PRODUCT_STEPS.len(), "{drift:?}");
    assert!(
        drift.iter().all(|d| d.contains("--auditwheel skip")),
        "{drift:?}"
    );

    // Or a variable one step sets that maou-build wheel would not see.
    fs::write(
        &chain,
        nix.replace(
            "buildPhaseCargoCommand = maturinBuild;\n          });",
            "buildPhaseCargoCommand = maturinBuild;\n            RUSTFLAGS = \"-Cdebuginfo=1\";\n          });",
        ),
    )
    .unwrap();
    let drift = chain_drift(&evaluate(&flake), &wheel);
    assert!(
        !drift.is_empty() && drift.iter().all(|d| d.contains("RUSTFLAGS")),
        "{drift:?}"
    );
}

/// A native library the wheels carry ([[tool.maou-build.bundled-libraries]], as init
/// writes maou's ONNX Runtime): a fixed-output fetch of its archive pinned by hash, laid out
/// where `maou-build wheel` finds it, every step exporting the variables maou-build gives
/// maturin with the same values, and maturin grafting (`--auditwheel repair`, patchelf)
/// on both sides.
#[test]
fn the_chain_carries_a_pinned_library_as_maou_build_wheel_does() {
    let (_tmp, flake) = flake_copy();
    let pyproject = flake.join("pyproject.toml");
    let py = fs::read_to_string(&pyproject).unwrap();
    let sha = "86b064c8f6cbe6da03f51f46351237d985f8fd5eb907d3f9997ea91881131a13";
    let member_sha = "09fb71acf9debf4c5755f2c49522bfa80e580223be83d3f4e18744788d4be7db";
    fs::write(
        &pyproject,
        format!(
            "{py}\n[[tool.maou-build.bundled-libraries]]\n\
             url = \"https://files.pythonhosted.org/packages/b5/5c/x/onnxruntime_gpu-1.22.0-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl\"\n\
             sha256 = \"{sha}\"\nmember = \"onnxruntime/capi/libonnxruntime.so.1.22.0\"\n\
             member-sha256 = \"{member_sha}\"\nlink-name = \"onnxruntime\"\n\
             env = {{ ORT_LIB_LOCATION = \"@DIR@\", ORT_PREFER_DYNAMIC_LINK = \"1\" }}\n\
             nix-native-build-inputs = [\"openssl\", \"pkg-config\"]\n"
        ),
    )
    .unwrap();
    let out = common::maou_build(&flake)
        .args(["wheel", "--dry-run", "--json"])
        .env("MAOU_BUILD_CACHE", "/build/maou-build-cache")
        // As in the sandbox: no loader path but the one the step exports.
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let wheel: Value = serde_json::from_slice::<Value>(&out.stdout).unwrap()[0].clone();
    let dir = format!(
        "/build/maou-build-cache/inputs/onnxruntime-{}",
        &member_sha[..16]
    );
    assert_eq!(wheel["env"]["ORT_LIB_LOCATION"], dir.as_str(), "{wheel}");
    assert!(
        wheel["args"]
            .as_array()
            .unwrap()
            .windows(2)
            .any(|w| w[0] == "--auditwheel" && w[1] == "repair"),
        "{wheel}"
    );
    let outputs = evaluate_with(&flake, "unzip patchelf openssl pkg-config");
    let drift = chain_drift(&outputs, &wheel);
    assert!(drift.is_empty(), "{}", drift.join("\n"));
    // The fetch is fixed by the archive's hash, and checks the library's.
    let wheels = derivation(&outputs["packages.wheels"]);
    let inputs = wheels["env"]["nativeBuildInputs"].as_str().unwrap();
    for package in ["-patchelf-", "-openssl-", "-pkg-config-"] {
        assert!(inputs.contains(package), "{package} not in {inputs}");
    }
    let inputs = wheels["inputDrvs"].as_object().unwrap();
    let laid_out = inputs
        .keys()
        .find(|k| k.contains("-bundled-onnxruntime-"))
        .unwrap_or_else(|| panic!("no laid-out library among {:?}", inputs.keys()));
    let laid_out = derivation(laid_out);
    let command = laid_out["env"]["buildCommand"].as_str().unwrap();
    assert!(
        command.contains(&format!(
            "echo \"{member_sha}  $out/libonnxruntime.so.1.22.0\" | sha256sum -c -"
        )),
        "{command}"
    );
    let fetch = laid_out["inputDrvs"]
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.contains("onnxruntime_gpu-1.22.0"))
        .map(|k| derivation(k))
        .unwrap_or_else(|| panic!("no fetch of the archive: {laid_out}"));
    assert!(fetch.to_string().contains(sha), "{fetch}");
}

#[derive(serde::Deserialize)]
struct TestBinaries {
    sandbox: Vec<String>,
    skip: BTreeMap<String, String>,
    outside: BTreeMap<String, String>,
}

/// What is wrong with `flake`'s coverage of its test binaries: each of `tests/*.rs` run by
/// the evaluated `checks.tests` or excluded with a reason, never both; the skipped tests
/// exist; ci.yml's comment names what it runs.
fn check_coverage_problems(flake: &Path) -> Vec<String> {
    let list: TestBinaries =
        serde_json::from_str(&fs::read_to_string(flake.join("nix/test-binaries.json")).unwrap())
            .unwrap();
    let outputs = evaluate(flake);
    let env = derivation(&outputs["checks.tests"])["env"].clone();
    // crane's cargoTest runs `cargo test` in the check phase.
    let command = env["checkPhase"].as_str().unwrap_or_default().to_owned();
    let run: Vec<&str> = command
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "--test")
        .map(|w| w[1])
        .collect();
    let mut problems = Vec::new();
    let mut binaries: Vec<String> = fs::read_dir(flake.join("tests"))
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            (path.extension()? == "rs").then(|| path.file_stem().unwrap().to_string_lossy().into())
        })
        .collect();
    binaries.sort();
    for binary in &binaries {
        let runs = run.contains(&binary.as_str());
        match (runs, list.outside.get(binary)) {
            (true, Some(_)) => problems.push(format!("tests/{binary}.rs runs and is excluded")),
            (false, None) => problems.push(format!(
                "tests/{binary}.rs is neither run by checks.tests nor excluded with a reason"
            )),
            (false, Some(why)) if why.trim().is_empty() => {
                problems.push(format!("tests/{binary}.rs is excluded without a reason"))
            }
            _ => {}
        }
    }
    for name in run
        .iter()
        .copied()
        .chain(list.outside.keys().map(String::as_str))
    {
        if !binaries.iter().any(|b| b == name) {
            problems.push(format!(
                "{name} is listed but tests/{name}.rs does not exist"
            ));
        }
    }
    for skipped in list.skip.keys() {
        if !command.contains(&format!("--skip {skipped}")) {
            problems.push(format!("checks.tests does not skip {skipped}"));
        }
        let defined = binaries.iter().any(|b| {
            fs::read_to_string(flake.join(format!("tests/{b}.rs")))
                .unwrap()
                .contains(&format!("fn {skipped}("))
        });
        if !defined {
            problems.push(format!("the skipped test {skipped} does not exist"));
        }
    }
    let ci = fs::read_to_string(flake.join(".github/workflows/ci.yml")).unwrap();
    let comment: String = ci
        .lines()
        .take_while(|l| l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    for binary in &list.sandbox {
        if !comment.contains(binary.as_str()) {
            problems.push(format!(
                "ci.yml's comment does not say it runs tests/{binary}.rs"
            ));
        }
    }
    problems
}

/// `nix flake check` runs every test binary that can run in the sandbox: each of
/// `tests/*.rs` is in `checks.tests`'s command, as evaluated, or excluded in
/// `nix/test-binaries.json` with its reason. A new test binary in neither fails.
#[test]
fn flake_check_runs_every_test_binary_the_sandbox_can() {
    let (_tmp, flake) = flake_copy();
    common::copy_item(&source_root(), &flake, ".github");
    let problems = check_coverage_problems(&flake);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    fs::write(flake.join("tests/speed.rs"), "#[test]\nfn fast() {}\n").unwrap();
    let problems = check_coverage_problems(&flake);
    assert_eq!(
        problems,
        ["tests/speed.rs is neither run by checks.tests nor excluded with a reason"]
    );
}

/// The flake as a library: a workspace of maou's shape (the Cargo workspace at its root,
/// `python-source = "src"`, an optimized `[tool.maturin] profile`, CPython 3.12 and 3.13)
/// with the template's `flake.nix` (`nix flake init -t`), whose `maou-build` input is this
/// checkout's flake. The harness provides only nixpkgs, crane and fenix, so a shim
/// flake.nix gives the template's `outputs` the checkout's flake evaluated with them, as
/// `inputs.maou-build.url = "path:<checkout>"` would. Every output DESIGN.md lists
/// evaluates through the real libraries, built from the workspace's own files.
#[test]
fn the_template_flake_gives_a_maou_shaped_workspace_its_outputs() {
    let (_tmp, checkout) = flake_copy();
    let product_tmp = tempfile::tempdir().unwrap();
    let product = product_tmp.path().join("maou");
    for entry in fs::read_dir(checkout.join("rust")).unwrap() {
        let name = entry.unwrap().file_name();
        let name = name.to_str().unwrap();
        if name != "target" {
            common::copy_item(&checkout.join("rust"), &product, name);
        }
    }
    common::copy_item(&checkout.join("python"), &product.join("src"), "maou");
    let pyproject = fs::read_to_string(checkout.join("pyproject.toml"))
        .unwrap()
        .replace("python-source = \"python\"", "python-source = \"src\"")
        .replace(
            "manifest-path = \"rust/maou_rust/Cargo.toml\"",
            "manifest-path = \"maou_rust/Cargo.toml\"\nprofile = \"py-ext\"",
        );
    assert!(pyproject.contains("python-source = \"src\"") && pyproject.contains("py-ext"));
    assert!(pyproject.contains("requires-python = \">=3.12,<3.14\""));
    fs::write(product.join("pyproject.toml"), pyproject).unwrap();
    fs::copy(
        source_root().join("nix/template/flake.nix"),
        product.join("template-flake.nix"),
    )
    .unwrap();
    fs::write(
        product.join("flake.nix"),
        format!(
            "{{\n  inputs = {{\n    nixpkgs.url = \"github:nixos/nixpkgs/nixos-unstable\";\n    \
             crane.url = \"github:ipetkov/crane\";\n    fenix.url = \"github:nix-community/fenix\";\n  }};\n  \
             outputs = {{ nixpkgs, crane, fenix, ... }}: let\n    \
             maou-build = (import {checkout}/flake.nix).outputs {{\n      \
             inherit nixpkgs crane fenix;\n      self = maou-build;\n    }};\n  \
             in (import ./template-flake.nix).outputs {{ self = {{}}; inherit maou-build; }};\n}}\n",
            checkout = checkout.display()
        ),
    )
    .unwrap();

    let outputs = evaluate(&product);
    for name in [
        "packages.wheel-cp312",
        "packages.wheel-cp313",
        "packages.wheels",
        "packages.maou-deps",
        "packages.maou-io",
        "packages.maou-index",
        "packages.maou-build",
        "apps.publish-latest",
        "devShells.default",
        "checks.product-clippy",
        "checks.product-tests",
        "checks.wheels-audit",
    ] {
        assert!(outputs.contains_key(name), "{name} missing: {outputs:?}");
    }
    for tool_check in ["checks.clippy", "checks.fmt", "checks.tests"] {
        assert!(
            !outputs.contains_key(tool_check),
            "{tool_check}: maou-build's own"
        );
    }
    // Built from the workspace's own layout: its Cargo workspace at the root, its Python
    // package under src/, the oldest CPython it allows.
    let deps = derivation(&outputs["packages.maou-deps"]);
    let build = deps["env"]["buildPhase"].as_str().unwrap();
    assert!(build.contains("/bin/python3.12 "), "{build}");
    let wheels = derivation(&outputs["packages.wheels"]);
    let src = Path::new(wheels["env"]["src"].as_str().unwrap());
    for file in ["src/maou/__init__.py", "maou_rust/Cargo.toml", "Cargo.lock"] {
        assert!(
            src.join(file).is_file(),
            "{file} not in the wheels' sources {}",
            src.display()
        );
    }
    assert!(
        !src.join("template-flake.nix").exists(),
        "the flake is not the product's source"
    );
    // The same library gives this repository its own outputs: the tool's checks too.
    let own = evaluate(&checkout);
    for name in ["checks.clippy", "checks.tests", "packages.wheel-cp313"] {
        assert!(
            own.contains_key(name),
            "{name} missing from this flake's outputs"
        );
    }
}
