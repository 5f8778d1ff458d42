//! `maou-build bench --scenarios ci-chain` on a small product in this repository's flake:
//! the replay builds the derivations the real crane evaluates to, and reports what cargo
//! compiled in each step. The chain must cache what it claims (the rlib step compiles its
//! crate and the dummy extension crate above it, no third-party crate), and the replay must
//! not grade itself: the same flake with one step's
//! flags changed makes that step compile the third-party crates again.
//!
//! The product is a PyO3 cdylib over one rlib that uses a crate of crates.io, in the release
//! profile with thin LTO as the real one; the chain is replayed up to the rlib step (the
//! wheel step would first build maou-build itself, minutes more: the bench does that).

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{maou_build, replace_in, source_root, text, write};
use serde_json::Value;

/// This repository's flake and tool, with a small product in `rust/`.
fn small_product(root: &Path) {
    for item in [
        "flake.nix",
        "flake.lock",
        "nix",
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "src",
        "tests",
        ".cargo",
        "rust-toolchain.toml",
    ] {
        common::copy_item(&source_root(), root, item);
    }
    write(
        root,
        "pyproject.toml",
        "[build-system]\nrequires = [\"maturin>=1.9,<2.0\"]\nbuild-backend = \"maturin\"\n\n\
         [project]\nname = \"foo\"\nrequires-python = \">=3.11,<3.13\"\ndynamic = [\"version\"]\n\n\
         [tool.maturin]\npython-source = \"py\"\nmodule-name = \"foo._native\"\n\
         manifest-path = \"rust/native/Cargo.toml\"\n",
    );
    write(root, "py/foo/__init__.py", "");
    write(
        root,
        "rust/Cargo.toml",
        "[workspace]\nmembers = [\"core\", \"native\"]\nresolver = \"2\"\n\n\
         [profile.release]\ncodegen-units = 1\nlto = \"thin\"\nopt-level = 1\n",
    );
    write(
        root,
        "rust/core/Cargo.toml",
        "[package]\nname = \"foo_core\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nitoa = \"1\"\n",
    );
    write(
        root,
        "rust/core/src/lib.rs",
        "pub fn answer() -> String { itoa::Buffer::new().format(42).to_owned() }\n",
    );
    write(
        root,
        "rust/native/Cargo.toml",
        "[package]\nname = \"foo_native\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [lib]\nname = \"_native\"\ncrate-type = [\"cdylib\"]\n\n\
         [dependencies]\nfoo_core = { path = \"../core\" }\n\
         pyo3 = { version = \"0.29.3\", features = [\"abi3-py311\"] }\n",
    );
    write(
        root,
        "rust/native/src/lib.rs",
        "use pyo3::prelude::*;\n\n#[pymodule]\nfn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {\n    \
         m.add(\"answer\", foo_core::answer())\n}\n",
    );
    // The product's lock, resolved as the tool's is (same pyo3 as maou's).
    let out = Command::new("cargo")
        .args(["generate-lockfile", "--manifest-path"])
        .arg(root.join("rust/Cargo.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

fn replay(root: &Path) -> Value {
    let report = root.join("../replay.json");
    let harness = std::env::var_os("MAOU_BUILD_NIX_EVAL")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| source_root().join("../shared/nix-eval"));
    let out = maou_build(root)
        .args([
            "bench",
            "--scenarios",
            "ci-chain",
            "--chain-end",
            "foo-core",
            "--json",
        ])
        .arg(&report)
        .env("MAOU_BUILD_NIX_EVAL", harness)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap()
}

/// A scenario's steps as (name, built, compiled crates).
fn steps(report: &Value, scenario: &str) -> Vec<(String, bool, Vec<String>)> {
    let s = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == scenario)
        .unwrap_or_else(|| panic!("no {scenario} in {report}"));
    s["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| {
            let compiled = st["compiled"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect();
            (
                st["name"].as_str().unwrap().to_owned(),
                st["built"].as_bool().unwrap(),
                compiled,
            )
        })
        .collect()
}

#[test]
fn the_replayed_chain_compiles_each_crate_once_and_sees_a_changed_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("product");
    small_product(&root);

    let report = replay(&root);
    let scratch = steps(&report, "from-scratch");
    let names: Vec<&str> = scratch.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, ["maou-deps", "foo-core"], "{report}");
    let (deps, rlib) = (&scratch[0].2, &scratch[1].2);
    for krate in ["pyo3", "pyo3-ffi", "itoa"] {
        assert!(
            deps.iter().any(|c| c == krate),
            "{krate} not in the deps step: {deps:?}"
        );
    }
    // Its crate, and the (dummy) extension crate that depends on it: no third-party crate.
    assert_eq!(
        rlib,
        &["foo_core", "foo_native"],
        "the rlib step compiles workspace crates only"
    );

    // An edit to the extension's crate changes no step up to the rlib; one to the rlib
    // rebuilds that step only, and only workspace crates.
    let cdylib_edit = steps(&report, "cdylib-edit");
    assert!(cdylib_edit.iter().all(|s| !s.1), "{cdylib_edit:?}");
    let rlib_edit = steps(&report, "rlib-edit");
    assert!(!rlib_edit[0].1, "{rlib_edit:?}");
    assert!(
        rlib_edit[1].1 && rlib_edit[1].2 == ["foo_core", "foo_native"],
        "{rlib_edit:?}"
    );

    // The same chain with the rlib step's build flags changed (a profile setting through
    // maturin's --config): its fingerprints no longer match the deps step's, and the replay,
    // which reads the steps from the flake's derivations, shows the recompiles.
    replace_in(
        &root.join("nix/chain.nix"),
        "            cargoArtifacts = acc.last;\n            buildPhaseCargoCommand = maturinBuild;",
        "            cargoArtifacts = acc.last;\n            buildPhaseCargoCommand = maturinBuild + \" --config profile.release.debug=1\";",
    );
    let changed = replay(&root);
    let scratch = steps(&changed, "from-scratch");
    let rlib = &scratch[1].2;
    for krate in ["pyo3", "itoa", "foo_core"] {
        assert!(
            rlib.iter().any(|c| c == krate),
            "with other flags the rlib step must compile {krate} again: {rlib:?}"
        );
    }
}
