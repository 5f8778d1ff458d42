//! .devcontainer/devcontainer.json as the dev containers CLI reads it (npm
//! @devcontainers/cli, with no Docker: `--docker-path true` answers its one `docker ps`).
//! The CLI reads JSONC leniently and returns an empty configuration for a file it cannot
//! parse, so the test asserts what the configuration must hold.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{free_port, pyo3_workspace, source_root, text};
use serde_json::Value;

fn configuration() -> Value {
    common::read_configuration(&source_root())
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

/// Where the real toolchains live, before the simulated container gets a HOME of its own.
fn real_home_var(var: &str, under_home: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(under_home))
}

fn write_script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// The compilations the rustc shim logged (cargo's `-vV` and `--print` probes are not).
fn compilations(log: &Path) -> Vec<String> {
    fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut words = l.split(' ');
            words.find(|w| *w == "--crate-name")?;
            words.next().map(str::to_owned)
        })
        .collect()
}

/// The dev container's lifecycle on a PyO3 workspace of maou's shape, simulated without
/// Docker or Nix: the creation-phase commands (what a Codespaces prebuild runs and keeps),
/// then the post-creation one (what every user's codespace runs), each exactly as the
/// configuration has it, through `sh -c` in the workspace folder. Simulated: `nix develop
/// --command X` runs X with maou-build on PATH (the dev shell provides it), `sudo` runs its
/// command, and HOME is a new directory (the named volumes' mount points). A rustc shim
/// counts the compilations of each phase.
#[test]
fn the_build_happens_in_the_prebuild_phase_and_post_create_runs_no_rustc() {
    let c = configuration();
    let phase = |key: &str| -> String {
        c[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} is not a command string: {c}"))
            .to_owned()
    };
    let creation = [phase("onCreateCommand"), phase("updateContentCommand")];
    let post = phase("postCreateCommand");
    assert!(
        creation
            .iter()
            .any(|cmd| cmd.contains("maou-build develop")),
        "no creation-phase command builds: {creation:?}"
    );
    // A prebuild keeps a warm target store: its last creation step always builds, never
    // the release's extension.
    assert!(
        creation[1].contains("maou-build develop --no-prebuilt"),
        "{creation:?}"
    );
    assert_eq!(c["waitFor"], "onCreateCommand", "{c}");

    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("workspaces/foo");
    pyo3_workspace(&ws);
    let home = tmp.path().join("home");
    fs::create_dir_all(home.join(".cargo")).unwrap();
    fs::create_dir_all(home.join(".cache")).unwrap();

    let shims = tmp.path().join("shims");
    fs::create_dir_all(&shims).unwrap();
    write_script(
        &shims.join("nix"),
        "[ \"$1\" = develop ] && [ \"$2\" = --command ] || { echo \"nix (simulated): only `nix develop --command ...`, not: $*\" >&2; exit 2; }\nshift 2\nexec \"$@\"\n",
    );
    write_script(&shims.join("sudo"), "exec \"$@\"\n");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_maou-build"), shims.join("maou-build")).unwrap();
    let real_rustc = Command::new("rustup")
        .args(["which", "rustc"])
        .current_dir(&ws)
        .output()
        .unwrap();
    assert!(real_rustc.status.success(), "{}", text(&real_rustc));
    let real_rustc = String::from_utf8(real_rustc.stdout).unwrap();
    let log = tmp.path().join("rustc.log");
    let rustc_dir = tmp.path().join("rustc-shim");
    fs::create_dir_all(&rustc_dir).unwrap();
    write_script(
        &rustc_dir.join("rustc"),
        &format!(
            "echo \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real_rustc.trim()
        ),
    );

    let path = std::env::join_paths(
        std::iter::once(shims.clone())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let port = free_port().to_string();
    let run_phase = |cmd: &str| {
        let out = Command::new("sh")
            .args(["-c", cmd])
            .current_dir(&ws)
            .env("PATH", &path)
            .env("CARGO_HOME", real_home_var("CARGO_HOME", ".cargo"))
            .env("RUSTUP_HOME", real_home_var("RUSTUP_HOME", ".rustup"))
            .env("PYENV_ROOT", real_home_var("PYENV_ROOT", ".pyenv"))
            .env("HOME", &home)
            .env("RUSTC", rustc_dir.join("rustc"))
            .env("SCCACHE_SERVER_PORT", &port)
            .env_remove("SCCACHE_DIR")
            .env_remove("MAOU_BUILD_CACHE")
            .output()
            .unwrap();
        assert!(out.status.success(), "{cmd}: {}", text(&out));
        out
    };
    let import = |when: &str| {
        let out = Command::new(ws.join(".venv/bin/python"))
            .args(["-c", "import foo; print(foo.answer)"])
            .current_dir(tmp.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "import after {when}: {}", text(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
    };

    for cmd in &creation {
        run_phase(cmd);
    }
    let built = compilations(&log);
    import("the creation phase");
    assert!(
        built.iter().any(|c| c == "_native") && built.iter().any(|c| c == "pyo3"),
        "the creation phase compiled neither the extension nor its dependencies: {built:?}"
    );
    // What the prebuild keeps lives in the snapshot: the venv in the workspace, the target
    // store and the compiler cache under HOME (named volumes in the real container).
    assert!(fs::symlink_metadata(ws.join("target"))
        .unwrap()
        .is_symlink());
    assert!(home.join(".cache/maou-build").is_dir());
    assert!(home.join(".cache/sccache").is_dir());

    fs::write(&log, "").unwrap();
    let out = run_phase(&post);
    let after = compilations(&log);
    assert!(
        after.is_empty(),
        "post-create compiled {after:?}: {}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nothing changed"),
        "{}",
        text(&out)
    );
    import("post-create");

    let _ = Command::new("sccache")
        .arg("--stop-server")
        .env("SCCACHE_SERVER_PORT", &port)
        .output();
}
