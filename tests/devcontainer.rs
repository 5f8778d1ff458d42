//! .devcontainer/devcontainer.json as the dev containers CLI reads it (npm
//! @devcontainers/cli, with no Docker: `--docker-path true` answers its one `docker ps`).
//! The CLI reads JSONC leniently and returns an empty configuration for a file it cannot
//! parse, so the test asserts what the configuration must hold.

mod common;

use std::fs;
use std::process::Command;

use common::{source_root, text};
use serde_json::Value;

fn configuration() -> Value {
    let out = Command::new("devcontainer")
        .args([
            "read-configuration",
            "--docker-path",
            "true",
            "--workspace-folder",
        ])
        .arg(source_root())
        .output()
        .unwrap_or_else(|e| {
            panic!("the dev containers CLI is needed (npm install -g @devcontainers/cli): {e}")
        });
    assert!(out.status.success(), "{}", text(&out));
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    read["configuration"].clone()
}

#[test]
fn the_codespace_has_nix_the_seed_machine_and_caches_on_volumes() {
    let c = configuration();
    let nix = &c["features"]["ghcr.io/devcontainers/features/nix:1"];
    assert!(
        nix["extraNixConfig"].as_str().unwrap().contains("flakes"),
        "{c}"
    );
    assert_eq!(c["hostRequirements"]["cpus"], 2);
    assert_eq!(c["hostRequirements"]["memory"], "4gb");

    let mounts: Vec<&str> = c["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for target in [
        "target=/nix,",
        "/.cargo/registry,",
        "/.cache/sccache,",
        "/.cache/maou-build,",
    ] {
        assert!(
            mounts
                .iter()
                .any(|m| m.contains(target) && m.contains("type=volume")),
            "no volume for {target}: {mounts:?}"
        );
    }

    let post = c["postCreateCommand"].as_str().unwrap();
    assert!(
        post.contains("nix develop") && post.contains("maou-build develop"),
        "{post}"
    );

    let settings = &c["customizations"]["vscode"]["settings"];
    assert!(settings["python.defaultInterpreterPath"]
        .as_str()
        .unwrap()
        .ends_with("/.venv/bin/python"));
    assert_eq!(settings["files.watcherExclude"]["**/target/**"], true);
    assert_eq!(settings["rust-analyzer.cargo.targetDir"], true);

    let envrc = fs::read_to_string(source_root().join(".envrc")).unwrap();
    assert!(envrc.lines().any(|l| l.trim() == "use flake"));
}
