//! The Nix flake, checked without Nix builds (these machines cannot fetch anything):
//! - every .nix file is formatted as alejandra formats it;
//! - flake.lock holds exactly the pins of nix/pins.json;
//! - a wiring test: tests/nix/wiring.nix imports flake.nix and calls its outputs with
//!   stand-in inputs (tests/nix/*.nix), and Debian's nix-instantiate evaluates it. This
//!   checks what each builder is given, not that anything builds.
//!
//! Parsing with `nix-instantiate --parse` and `deadnix --fail` run in scripts/test.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{source_root, text};
use serde_json::Value;

fn nix_files() -> Vec<PathBuf> {
    let root = source_root();
    let mut files = vec![root.join("flake.nix")];
    for dir in ["nix", "tests/nix"] {
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

fn wiring() -> Value {
    let root = source_root();
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json"])
        .arg(root.join("tests/nix/wiring.nix"))
        .output()
        .unwrap_or_else(|e| {
            panic!("nix-instantiate is needed for the wiring test (apt install nix-bin): {e}")
        });
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

#[test]
fn the_flake_is_wired_as_designed() {
    let w = wiring();
    let pins: Value =
        serde_json::from_str(&fs::read_to_string(source_root().join("nix/pins.json")).unwrap())
            .unwrap();

    assert_eq!(strings(&w["systems"]), ["x86_64-linux"]);
    assert_eq!(
        strings(&w["packages"]),
        [
            "default",
            "maou-build",
            "maou-deps",
            "maou-index",
            "maou-io",
            "wheel-cp311",
            "wheel-cp312",
            "wheels"
        ]
    );
    assert_eq!(w["default"], "maou-wheels");
    assert_eq!(strings(&w["wheelsJoined"]), ["wheel-cp311", "wheel-cp312"]);
    assert_eq!(
        w["inputs"]["fenix"]["inputs"]["nixpkgs"]["follows"],
        "nixpkgs"
    );

    // The toolchain: rust-toolchain.toml with the pinned manifest hash.
    assert_eq!(w["toolchain"]["kind"], "fenix-toolchain");
    assert!(w["toolchain"]["file"]
        .as_str()
        .unwrap()
        .ends_with("/rust-toolchain.toml"));
    assert_eq!(
        w["toolchain"]["sha256"],
        pins["rust_toolchain"]["manifest_sha256_sri"]
    );

    // The chain of cargo artifacts, one crate at a time, all with the same flags.
    let chain = &w["chain"];
    assert_eq!(chain["maou-deps"]["kind"], "buildDepsOnly");
    assert_eq!(chain["maou-io"]["from"], "maou-deps");
    assert_eq!(chain["maou-index"]["from"], "maou-io");
    assert_eq!(chain["maou-build"]["from"], "maou-deps");
    let flags = chain["maou-deps"]["cargoExtraArgs"].as_str().unwrap();
    assert!(flags.contains("--locked") && flags.contains("--remap-path-prefix="));
    for (drv, package) in [("maou-io", "maou_io"), ("maou-index", "maou_index")] {
        assert_eq!(
            chain[drv]["cargoExtraArgs"].as_str().unwrap(),
            format!("{flags} -p {package}")
        );
    }

    // Sources: no README, CI or tests in what the wheels see; the rlibs get only their
    // own crates' real sources laid over the dummy workspace.
    assert_eq!(
        strings(&w["fullSource"]),
        [
            "Cargo.toml",
            "Cargo.lock",
            ".cargo",
            "rust-toolchain.toml",
            "pyproject.toml",
            "src",
            "rust",
            "python"
        ]
    );
    for (drv, crates) in [
        ("maou-io", &["maou_io"][..]),
        ("maou-index", &["maou_io", "maou_index"][..]),
    ] {
        let laid = w["rlibSources"][drv]["laidOver"].as_str().unwrap();
        assert!(!laid.contains("maou_rust"), "{drv}: {laid}");
        for c in crates {
            assert!(
                laid.contains(&format!("stand-in-source[rust/{c}]/rust/{c} $out/rust/{c}")),
                "{drv}: {laid}"
            );
        }
        assert_eq!(laid.matches("cp -r").count(), crates.len(), "{drv}: {laid}");
    }

    // The wheels: their CPython, maturin for manylinux_2_28 with zig, from maou_index's
    // artifacts, then the audit that repairs or fails.
    for (drv, version) in [("wheel-cp311", "3.11"), ("wheel-cp312", "3.12")] {
        let wheel = &w["wheels"][drv];
        assert_eq!(wheel["python"], version);
        assert_eq!(wheel["from"], "maou-index");
        let build = wheel["build"].as_str().unwrap();
        for needle in [
            "maturin build --release --offline --zig --compatibility manylinux_2_28",
            &format!("--interpreter /nix/store/stand-in-python{version}/bin/python{version}"),
            flags,
        ] {
            assert!(build.contains(needle), "{drv}: {needle:?} not in {build}");
        }
        let install = wheel["install"].as_str().unwrap();
        assert!(
            install.contains("maou-build audit --repair --module maou._rust $out/*.whl"),
            "{drv}: {install}"
        );
        let tools = strings(&wheel["tools"]);
        for tool in ["maturin", "zig", "maou-build", &format!("python{version}")] {
            assert!(tools.contains(&tool), "{drv}: {tool} not in {tools:?}");
        }
    }

    // The dev shell: the tools and the seed's environment.
    let shell = &w["devShell"];
    for (var, value) in [
        ("RUSTC_WRAPPER", "sccache"),
        ("SCCACHE_CACHE_SIZE", "1G"),
        ("CARGO_INCREMENTAL", "0"),
        ("CARGO_PROFILE_DEV_CODEGEN_UNITS", "16"),
    ] {
        assert_eq!(shell["env"][var], value, "{var}");
    }
    let hook = shell["shellHook"].as_str().unwrap();
    assert!(hook.contains("SCCACHE_DIR"));
    assert_eq!(
        hook.matches("echo ").count(),
        2,
        "two lines on entry: {hook}"
    );
    let tools = strings(&shell["packages"]);
    for tool in [
        "lld",
        "sccache",
        "maturin",
        "uv",
        "python3.11",
        "python3.12",
        "zig",
        "gh",
        "maou-build",
    ] {
        assert!(tools.contains(&tool), "{tool} not in the dev shell");
    }

    // publish-latest runs maou-build on the flake's wheels.
    let app = &w["apps"]["publish-latest"];
    assert_eq!(app["type"], "app");
    assert!(
        app["program"]
            .as_str()
            .unwrap()
            .contains("maou-build publish-latest --dist /nix/store/stand-in-maou-wheels"),
        "{app}"
    );

    // Checks: lints, tests, and the audit of both wheels.
    assert_eq!(
        strings(&w["checks"]),
        ["clippy", "fmt", "tests", "wheels-audit"]
    );
    let details = &w["checkDetails"];
    assert!(details["audit"]
        .as_str()
        .unwrap()
        .contains("maou-build audit --module maou._rust /nix/store/stand-in-maou-wheels/*.whl"));
    assert_eq!(details["clippy"], "--all-targets -- -D warnings");
    assert!(strings(&details["testSource"]).contains(&"tests"));
}
