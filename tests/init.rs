//! `maou-build init` on a generated workspace of maou's shape (the Cargo workspace at the
//! root with crates under rust/, `python-source = "src"`, an optimized `[tool.maturin]
//! profile`, CPython 3.12 and 3.13, a build-wheel workflow and a dev container of its own,
//! with comments): the diff first, the files written, a second run changing nothing,
//! `--check` passing, failing on a third-party dependency the dylib crate lacks and passing
//! again after init, a hand edit kept and reported; and a directory that is not a maturin
//! workspace refused with nothing written.

mod common;

use std::fs;
use std::path::Path;

use common::{maou_build, source_root, text, write};

const WORKFLOW: &str = "name: Build Wheel\n\n# the wheel ships the fast feature\non:\n  push:\n    branches: [main]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: PyO3/maturin-action@v1\n        with:\n          args: --release --out dist --features pyo3/extension-module,fast\n";
const WINDOWS: &str = "name: windows\non: workflow_dispatch\njobs: {}\n";
const DEVCONTAINER: &str = "{\n\t// the team's image\n\t\"name\": \"Ubuntu\",\n\t\"image\": \"mcr.microsoft.com/vscode/devcontainers/base:ubuntu\",\n\t\"postCreateCommand\": \"bash scripts/dev-init.sh\",\n\t\"customizations\": {\n\t\t// editor settings stay\n\t\t\"vscode\": { \"extensions\": [\"ms-python.python\"] }\n\t}\n}\n";

/// A workspace of maou's shape, its dependencies among those already in this repository's
/// lock (no new download).
fn maou_shaped(root: &Path) {
    write(
        root,
        "pyproject.toml",
        "[build-system]\nrequires = [\"maturin>=1.10,<2.0\"]\nbuild-backend = \"maturin\"\n\n\
         [project]\nname = \"foo\"\nversion = \"0.99.0\"\nrequires-python = \">=3.12,<3.14\"\n\n\
         [tool.maturin]\n# the team's comment\npython-source = \"src\"\nmodule-name = \"foo._rust\"\n\
         manifest-path = \"rust/foo_rust/Cargo.toml\"\nprofile = \"py-ext\"\nfeatures = [\"pyo3/extension-module\"]\n",
    );
    write(
        root,
        "Cargo.toml",
        "[workspace]\nmembers = [\n    \"rust/foo_io\",\n    \"rust/foo_rust\",\n]\nresolver = \"2\"\n\n\
         [workspace.dependencies]\nthiserror = \"2\"\nwalkdir = \"2\"\n\n\
         # the team's profile\n[profile.py-ext]\ninherits = \"release\"\nlto = false\n",
    );
    write(
        root,
        "rust/foo_io/Cargo.toml",
        "[package]\nname = \"foo_io\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nthiserror = { workspace = true }\n",
    );
    write(
        root,
        "rust/foo_io/src/lib.rs",
        "pub fn answer() -> u32 { 42 }\n",
    );
    write(
        root,
        "rust/foo_rust/Cargo.toml",
        "[package]\nname = \"foo_rust\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [lib]\nname = \"_rust\"\ncrate-type = [\"cdylib\"]\n\n\
         [features]\nfast = []\n\n\
         [dependencies]\nfoo_io = { path = \"../foo_io\" }\nthiserror.workspace = true\n",
    );
    write(
        root,
        "rust/foo_rust/src/lib.rs",
        "pub fn answer() -> u32 { foo_io::answer() }\n",
    );
    write(root, "src/foo/__init__.py", "");
    write(root, ".github/workflows/build-wheel.yml", WORKFLOW);
    write(root, ".github/workflows/build-wheel-windows.yml", WINDOWS);
    write(root, ".devcontainer/devcontainer.json", DEVCONTAINER);
    lock_offline(root);
}

/// The lock: resolved offline from what cargo has (this repository's crates).
fn lock_offline(root: &Path) {
    let lock = std::process::Command::new("cargo")
        .args(["generate-lockfile", "--offline"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(lock.status.success(), "{}", text(&lock));
}

/// Every file under `root` but the lock and cargo's output, with its text.
fn snapshot(root: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if rel == "target" {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((rel, fs::read_to_string(&path).unwrap_or_default()));
            }
        }
    }
    files.sort();
    files
}

/// Where the flake init writes takes maou-build from: this checkout.
fn flake_url() -> String {
    format!("path:{}", source_root().display())
}

fn init(root: &Path, args: &[&str]) -> std::process::Output {
    maou_build(root)
        .arg("init")
        .args(args)
        .args(["--flake-url", &flake_url()])
        .output()
        .unwrap()
}

#[test]
fn init_adopts_a_maou_shaped_workspace_and_keeps_it_adopted() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("foo");
    maou_shaped(&root);
    let before = snapshot(&root);

    // The diff, and nothing written.
    let out = init(&root, &["--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    let diff = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "+++ b/rust/foo_dev_deps/Cargo.toml",
        "+thiserror = { workspace = true }",
        "+++ b/.github/workflows/maou-build-wheels.yml",
        "+    \"rust/foo_dev_deps\",",
        "+dev-dylib = [\"dep:foo_dev_deps\"]",
        "+wheel-features = [\"fast\"]",
        "+\t\"postCreateCommand\": \"bash scripts/dev-init.sh && nix develop --command maou-build develop\",",
        // The edit loop's settings in a profile of their own for editable builds, from the
        // workspace's optimized one (which `uv build` and other wheel builds keep).
        "+[profile.py-ext-edit]\n+inherits = \"py-ext\"\n+incremental = true\n+codegen-units = 256\n",
        "+[profile.py-ext-edit.package.\"*\"]\n+codegen-units = 16\n",
        "+editable-profile = \"py-ext-edit\"",
        // Every door builds with the dylib's feature; uv with the venv's interpreter.
        "+features = [\"pyo3/extension-module\", \"dev-dylib\"]",
        "\"maturin.build-args\" = \"--interpreter .venv/bin/python\"",
        // uv watches the Rust inputs: a Rust edit under `uv run` is built, never run stale.
        "+cache-keys = [\n+    { file = \"pyproject.toml\" },\n",
        "+    { file = \"rust/foo_io/**/*.rs\" },\n",
    ] {
        assert!(diff.contains(needle), "{needle:?} not in the diff:\n{diff}");
    }
    assert_eq!(snapshot(&root), before, "--dry-run wrote something");

    // Written; what it does not own is left alone, comments kept.
    let out = init(&root, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let read = |rel: &str| fs::read_to_string(root.join(rel)).unwrap();
    assert_eq!(read(".github/workflows/build-wheel-windows.yml"), WINDOWS);
    // The workspace's release workflow is kept; init's runs beside it, by hand.
    assert_eq!(read(".github/workflows/build-wheel.yml"), WORKFLOW);
    let beside = read(".github/workflows/maou-build-wheels.yml");
    assert!(
        beside.contains("nix build --print-build-logs .#wheels")
            && beside.contains("on:\n  workflow_dispatch:\n\n")
            && !beside.contains("publish-latest")
            && !beside.contains("push:"),
        "{beside}"
    );
    let devcontainer = read(".devcontainer/devcontainer.json");
    for kept in [
        "// the team's image",
        "// editor settings stay",
        "ms-python.python",
    ] {
        assert!(devcontainer.contains(kept), "{kept} lost:\n{devcontainer}");
    }
    let pyproject = read("pyproject.toml");
    assert!(
        pyproject.contains("# the team's comment\npython-source = \"src\""),
        "{pyproject}"
    );
    assert!(read("Cargo.toml").contains("# the team's profile\n[profile.py-ext]"));
    assert_eq!(
        read("rust/foo_rust/build.rs"),
        read_here("rust/maou_rust/build.rs").replace(
            "EDITABLE_PROFILE_DIR: &str = \"debug\"",
            "EDITABLE_PROFILE_DIR: &str = \"py-ext-edit\""
        ),
        "the build script init writes is this repository's, for the editable profile"
    );
    assert_eq!(
        read("flake.nix"),
        read_here("nix/template/flake.nix").replace("github:OWNER/maou-build", &flake_url())
    );
    // rustc links only the crates a crate names: the cdylib names the dylib crate.
    assert!(
        read("rust/foo_rust/src/lib.rs")
            .contains("#[cfg(maou_build_dev_dylib)]\nextern crate foo_dev_deps;"),
        "{}",
        read("rust/foo_rust/src/lib.rs")
    );
    let doctor = maou_build(&root)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&doctor.stdout).unwrap();
    for name in [
        "dev dylib",
        "incremental",
        "codegen-units",
        "third-party codegen-units",
        "uv after edits",
    ] {
        let check = common::check_named(&report, name);
        assert_eq!(check["level"], "PASS", "{check}");
    }

    // A second run changes nothing; --check agrees.
    let written = snapshot(&root);
    let out = init(&root, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("nothing to change"), "{}", text(&out));
    assert_eq!(snapshot(&root), written);
    assert!(init(&root, &["--check"]).status.success());

    // A third-party dependency the dylib crate lacks: drift, named; init brings it back.
    let io = root.join("rust/foo_io/Cargo.toml");
    fs::write(
        &io,
        read("rust/foo_io/Cargo.toml") + "walkdir = { workspace = true }\n",
    )
    .unwrap();
    let out = init(&root, &["--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("dependency walkdir (taken by rust/foo_io)"),
        "{said}"
    );
    assert!(init(&root, &[]).status.success());
    assert!(init(&root, &["--check"]).status.success());

    // A hand edit of a value init wrote is kept, and said.
    let devcontainer = read(".devcontainer/devcontainer.json");
    let edited = devcontainer.replace(
        "\"postCreateCommand\": \"bash scripts/dev-init.sh && nix develop --command maou-build develop\"",
        "\"postCreateCommand\": \"nix develop --command maou-build develop && bash scripts/dev-init.sh\"",
    );
    assert_ne!(edited, devcontainer);
    fs::write(root.join(".devcontainer/devcontainer.json"), &edited).unwrap();
    let out = init(&root, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("postCreateCommand is \"nix develop --command maou-build develop && bash scripts/dev-init.sh\", changed by hand since init wrote it; kept"),
        "{}",
        text(&out)
    );
    assert_eq!(read(".devcontainer/devcontainer.json"), edited);
    assert!(init(&root, &["--check"]).status.success());
}

fn read_here(rel: &str) -> String {
    fs::read_to_string(source_root().join(rel)).unwrap()
}

/// The dev container's lifecycle init writes is this repository's own.
#[test]
fn init_writes_this_repositorys_dev_container_lifecycle() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("foo");
    maou_shaped(&root);
    fs::remove_file(root.join(".devcontainer/devcontainer.json")).unwrap();
    let out = init(&root, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let strip = |text: String| -> serde_json::Value {
        let json: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        serde_json::from_str(&json).unwrap()
    };
    let written = strip(fs::read_to_string(root.join(".devcontainer/devcontainer.json")).unwrap());
    let here = strip(read_here(".devcontainer/devcontainer.json"));
    for key in [
        "onCreateCommand",
        "updateContentCommand",
        "postCreateCommand",
        "waitFor",
    ] {
        assert_eq!(written[key], here[key], "{key}");
    }
    assert_eq!(
        written["features"]["ghcr.io/devcontainers/features/nix:1"],
        here["features"]["ghcr.io/devcontainers/features/nix:1"]
    );
}

#[test]
fn init_refuses_what_is_not_a_maturin_workspace_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "pyproject.toml",
        "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"x\"\n",
    );
    let before = snapshot(tmp.path());
    let out = init(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("is not a maturin project"),
        "{}",
        text(&out)
    );
    assert_eq!(snapshot(tmp.path()), before);

    let empty = tempfile::tempdir().unwrap();
    let out = init(empty.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no pyproject.toml"), "{}", text(&out));
    assert_eq!(fs::read_dir(empty.path()).unwrap().count(), 0);
}

/// maou's own kind of setup (dousu/maou b40d0910, written anew here): a postCreate that
/// runs two scripts, one of which writes a user-level cargo configuration; a cargo registry
/// volume at the Rust feature's CARGO_HOME; an sccache volume and its variables; a release
/// workflow with GPU features and release notes; `ort` behind a feature.
const MAOU_DEVCONTAINER: &str = r#"{
	"name": "Ubuntu",
	"image": "mcr.microsoft.com/vscode/devcontainers/base:ubuntu",
	"postCreateCommand": "bash scripts/devcontainer.sh && bash scripts/dev-init.sh",
	"containerEnv": {
		"SCCACHE_CACHE_SIZE": "1G",
		"SCCACHE_DIR": "/home/vscode/.cache/sccache"
	},
	"mounts": [
		"type=volume,source=foo-cargo-registry,target=/usr/local/cargo/registry",
		"type=volume,source=foo-sccache-cache,target=/home/vscode/.cache/sccache"
	],
	"features": {
		"ghcr.io/devcontainers/features/python:1": { "version": "3.12" },
		"ghcr.io/devcontainers/features/rust:1": { "version": "latest", "profile": "default" }
	},
	"customizations": {
		"vscode": {
			"settings": {
				// the team's interpreter
				"python.defaultInterpreterPath": "${containerWorkspaceFolder}/.venv/bin/python",
				"rust-analyzer.cargo.features": "all"
			},
			"extensions": ["charliermarsh.ruff"]
		}
	}
}
"#;

const DEV_INIT: &str = r#"#!/bin/bash
set -eu
CARGO_USER_CONFIG="${CARGO_HOME:-$HOME/.cargo}/config.toml"
mkdir -p "$(dirname "$CARGO_USER_CONFIG")"
cat > "$CARGO_USER_CONFIG" << CARGO_CONF
# managed by dev-init.sh

[build]
target-dir = "/tmp/cargo-target"
jobs = 1

[profile.release]
lto = false
codegen-units = 16

[profile.py-ext]
lto = false
incremental = true
codegen-units = 16
CARGO_CONF
"#;

const GPU_WORKFLOW: &str = r#"name: Build Wheel
on:
  push:
    branches: [main]
permissions:
  contents: write
jobs:
  build-and-release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: PyO3/maturin-action@v1
        with:
          manylinux: "2_28"
          args: --release --out dist -i python3.12 python3.13 --features pyo3/extension-module,onnx-cuda,onnx-tensorrt
      - name: Upload to GitHub Release
        run: |
          cat > notes.md <<EOF
          - GPU: pip install 'foo[tensorrt-infer] @ <wheel>'
          EOF
          gh release create latest --notes-file notes.md dist/*.whl
"#;

fn maou_kind(root: &Path) {
    maou_shaped(root);
    write(root, ".devcontainer/devcontainer.json", MAOU_DEVCONTAINER);
    write(
        root,
        "scripts/devcontainer.sh",
        "#!/bin/bash\nsudo apt install -y cmake tmux clang lld\n",
    );
    write(root, "scripts/dev-init.sh", DEV_INIT);
    write(root, ".github/workflows/build-wheel.yml", GPU_WORKFLOW);
    fs::remove_file(root.join(".github/workflows/build-wheel-windows.yml")).unwrap();
    // ort behind the GPU features, as maou's maou_search takes it: its default features,
    // whose build script downloads ONNX Runtime, and the CUDA provider.
    common::replace_in(
        &root.join("rust/foo_rust/Cargo.toml"),
        "[features]\nfast = []\n",
        "[features]\nfast = []\nonnx-cuda = [\"dep:ort\", \"ort/cuda\"]\nonnx-tensorrt = [\"onnx-cuda\"]\n",
    );
    common::replace_in(
        &root.join("rust/foo_rust/Cargo.toml"),
        "thiserror.workspace = true\n",
        "thiserror.workspace = true\nort = { version = \"=2.0.0-rc.10\", optional = true }\n",
    );
    // The download's own crates may not be in cargo's cache: resolved from the registry
    // then (the lock only; nothing is built).
    let offline = std::process::Command::new("cargo")
        .args(["generate-lockfile", "--offline"])
        .current_dir(root)
        .output()
        .unwrap();
    if !offline.status.success() {
        let online = std::process::Command::new("cargo")
            .arg("generate-lockfile")
            .current_dir(root)
            .output()
            .unwrap();
        assert!(online.status.success(), "{}", text(&online));
    }
}

#[test]
fn init_merges_into_maous_kind_of_setup_and_names_each_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("foo");
    maou_kind(&root);
    let before = common::read_configuration(&root);

    // Where maou-build is hosted is never made up: without it init stops, writing nothing.
    let untouched = snapshot(&root);
    let out = maou_build(&root).arg("init").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("pass --flake-url"), "{}", text(&out));
    assert_eq!(snapshot(&root), untouched);

    let out = init(&root, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    let read = |rel: &str| fs::read_to_string(root.join(rel)).unwrap();

    // The dev container: every setting of the workspace's still there, init's added.
    let after = common::read_configuration(&root);
    for key in ["name", "image", "containerEnv", "customizations"] {
        assert_eq!(after[key], before[key], "{key}");
    }
    for (feature, value) in before["features"].as_object().unwrap() {
        assert_eq!(&after["features"][feature], value, "{feature}");
    }
    assert!(after["features"]["ghcr.io/devcontainers/features/nix:1"].is_object());
    let mounts: Vec<&str> = after["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for theirs in before["mounts"].as_array().unwrap() {
        assert!(mounts.contains(&theirs.as_str().unwrap()), "{mounts:?}");
    }
    // The registry and sccache volumes are reused, not mounted twice.
    for cache in ["cargo/registry", ".cache/sccache"] {
        assert_eq!(
            mounts.iter().filter(|m| m.contains(cache)).count(),
            1,
            "{cache}: {mounts:?}"
        );
    }
    assert!(
        mounts.iter().any(|m| m.contains("target=/nix,")),
        "{mounts:?}"
    );
    assert!(
        said.contains("the volume foo-cargo-registry at /usr/local/cargo/registry serves cargo's registry: reused"),
        "{said}"
    );
    // The workspace's lifecycle first, init's after it; onCreate (which a prebuild
    // snapshots) builds, owning the reused registry volume first.
    assert_eq!(
        after["postCreateCommand"],
        "bash scripts/devcontainer.sh && bash scripts/dev-init.sh && nix develop --command maou-build develop"
    );
    let on_create = after["onCreateCommand"].as_str().unwrap();
    assert!(
        on_create.contains("sudo chown -R \"$(id -u):$(id -g)\" /usr/local/cargo/registry \"$HOME/.cache\" && nix develop --command maou-build develop"),
        "{on_create}"
    );
    assert_eq!(after["waitFor"], "onCreateCommand");
    assert!(read(".devcontainer/devcontainer.json").contains("// the team's interpreter"));

    // The setup script is left as it is, and each of its lines that defeats one build for
    // every door is named, with its fix.
    assert_eq!(read("scripts/dev-init.sh"), DEV_INIT);
    for line in [
        "scripts/dev-init.sh:9: `target-dir = \"/tmp/cargo-target\"`",
        "scripts/dev-init.sh:10: `jobs = 1`",
    ] {
        assert!(said.contains(line), "{line} not named:\n{said}");
    }
    assert!(said.contains("Smallest change: delete line 9"), "{said}");
    // Its [profile.py-ext] lines are not conflicts: the edit loop builds py-ext-edit, whose
    // own settings win over what it inherits (and line 18 agrees with the policy anyway).
    assert!(
        !said.contains("dev-init.sh:18") && !said.contains("dev-init.sh:19"),
        "{said}"
    );

    // The release workflow is kept, with its features and release notes; init's beside it.
    assert_eq!(read(".github/workflows/build-wheel.yml"), GPU_WORKFLOW);
    assert!(
        said.contains("(it builds --features onnx-cuda,onnx-tensorrt): kept as it is"),
        "{said}"
    );
    assert!(read("pyproject.toml").contains("wheel-features = [\"onnx-cuda\", \"onnx-tensorrt\"]"));
    // ort's download cannot run in the Nix sandbox: the GPU build's core is pinned instead,
    // by hash, for the release build to link and the wheels to carry.
    let pyproject = read("pyproject.toml");
    for line in [
        "[[tool.maou-build.bundled-libraries]]",
        "member = \"onnxruntime/capi/libonnxruntime.so.1.22.0\"",
        "sha256 = \"86b064c8f6cbe6da03f51f46351237d985f8fd5eb907d3f9997ea91881131a13\"",
        "env = { ORT_LIB_LOCATION = \"@DIR@\", ORT_PREFER_DYNAMIC_LINK = \"1\" }",
    ] {
        assert!(pyproject.contains(line), "{line} not in:\n{pyproject}");
    }
    assert!(
        said.contains("foo_rust takes ort with its build-time download of ONNX Runtime"),
        "{said}"
    );

    // The flake resolves where it was told; the lock has the new crate, nothing else moved.
    assert!(read("flake.nix").contains(&format!("inputs.maou-build.url = \"{}\";", flake_url())));
    let locked = std::process::Command::new("cargo")
        .args(["metadata", "--locked", "--offline", "--format-version", "1"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(locked.status.success(), "{}", text(&locked));
    assert!(read("Cargo.lock").contains("name = \"foo_dev_deps\""));

    // A second run changes nothing, without the URL too (the flake's is used).
    let written = snapshot(&root);
    let again = maou_build(&root).arg("init").output().unwrap();
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("nothing to change"),
        "{}",
        text(&again)
    );
    assert_eq!(snapshot(&root), written);
    assert!(init(&root, &["--check"]).status.success());

    // A stale lock is drift, and init brings it back with the new crate's entries only.
    let lock = read("Cargo.lock");
    let start = lock.find("[[package]]\nname = \"foo_dev_deps\"").unwrap();
    let end = start + lock[start..].find("\n\n").unwrap() + 2;
    let stale = format!("{}{}", &lock[..start], &lock[end..]);
    fs::write(root.join("Cargo.lock"), &stale).unwrap();
    let out = init(&root, &["--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("drift: Cargo.lock: not current"),
        "{}",
        text(&out)
    );
    assert!(init(&root, &[]).status.success());
    assert_eq!(read("Cargo.lock"), lock);
}

/// doctor judges what cargo will use: with the user-level configuration maou's setup
/// script writes, the profile's codegen units, the jobs and the target directory are
/// that file's, and doctor names it.
#[test]
fn doctor_judges_the_user_level_cargo_config_a_setup_script_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("foo");
    maou_kind(&root);
    assert!(init(&root, &[]).status.success());
    let home = tmp.path().join("cargo-home");
    fs::create_dir_all(&home).unwrap();
    let real_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").unwrap()).join(".cargo"));
    std::os::unix::fs::symlink(real_home.join("registry"), home.join("registry")).unwrap();
    let doctor = |cargo_home: Option<&Path>| -> serde_json::Value {
        let mut cmd = maou_build(&root);
        cmd.args(["doctor", "--json"])
            .env_remove("CARGO_BUILD_JOBS");
        if let Some(h) = cargo_home {
            cmd.env("CARGO_HOME", h);
        }
        serde_json::from_slice(&cmd.output().unwrap().stdout).unwrap()
    };
    let clean = doctor(Some(&home));
    assert_eq!(
        common::check_named(&clean, "codegen-units")["level"],
        "PASS"
    );

    // The workspace's own script writes the configuration, as the container would run it.
    let ran = std::process::Command::new("bash")
        .arg("scripts/dev-init.sh")
        .env("CARGO_HOME", &home)
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(ran.status.success(), "{}", text(&ran));
    let config = home.join("config.toml");
    let report = doctor(Some(&home));
    // Its `[profile.py-ext] codegen-units = 16` reaches py-ext, not the editable profile
    // init defines from it, whose own 256 wins over what it inherits (as cargo resolves it).
    let cgu = common::check_named(&report, "codegen-units");
    assert_eq!(cgu["level"], "PASS", "{cgu}");
    assert!(
        cgu["detail"].as_str().unwrap().starts_with("256 ")
            && cgu["detail"].as_str().unwrap().contains("py-ext-edit"),
        "{cgu}"
    );
    // A setting there for the editable profile itself is what cargo uses, and named.
    fs::write(
        &config,
        fs::read_to_string(&config).unwrap() + "\n[profile.py-ext-edit]\ncodegen-units = 16\n",
    )
    .unwrap();
    let report = doctor(Some(&home));
    let cgu = common::check_named(&report, "codegen-units");
    assert_eq!(cgu["level"], "WARN", "{cgu}");
    assert!(cgu["detail"].as_str().unwrap().starts_with("16 "), "{cgu}");
    assert!(
        cgu["fix"]
            .as_str()
            .unwrap()
            .contains(&config.display().to_string()),
        "{cgu}"
    );
    let target = common::check_named(&report, "target dir");
    assert_eq!(target["level"], "WARN", "{target}");
    assert!(
        target["detail"]
            .as_str()
            .unwrap()
            .starts_with("/tmp/cargo-target "),
        "{target}"
    );
    let jobs = common::check_named(&report, "jobs");
    assert!(
        jobs["detail"].as_str().unwrap().contains("build.jobs = 1"),
        "{jobs}"
    );
}

/// A maturin project's pyproject.toml named `name`, up to its `[project]` table.
fn maturin_project(name: &str) -> String {
    format!(
        "[build-system]\nrequires = [\"maturin>=1.9\"]\nbuild-backend = \"maturin\"\n\n\
         [project]\nname = \"{name}\"\nversion = \"1.2.3\"\nrequires-python = \">=3.11,<3.13\"\n"
    )
}

/// A single cdylib crate (no `[workspace]`) with pyproject.toml in the directory above it:
/// the dylib crate goes into the project as a path dependency of the cdylib, which is all
/// cargo needs; a second init changes nothing and `--check` agrees.
#[test]
fn init_takes_a_single_crate_below_its_pyproject() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("foo");
    write(
        &root,
        "pyproject.toml",
        &(maturin_project("foo")
            + "\n[tool.maturin]\nmodule-name = \"foo._native\"\npython-source = \"py\"\n\
               manifest-path = \"native/Cargo.toml\"\n"),
    );
    write(
        &root,
        "native/Cargo.toml",
        "[package]\nname = \"foo_py\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [lib]\nname = \"_native\"\ncrate-type = [\"cdylib\"]\n\n\
         [dependencies]\nthiserror = \"2\"\n",
    );
    write(
        &root,
        "native/src/lib.rs",
        "pub fn answer() -> u32 { 42 }\n",
    );
    write(&root, "py/foo/__init__.py", "");
    let out = init(&root, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let read = |rel: &str| fs::read_to_string(root.join(rel)).unwrap();
    assert!(read("foo_dev_deps/Cargo.toml").contains("thiserror = "));
    assert!(
        read("native/Cargo.toml")
            .contains("foo_dev_deps = { path = \"../foo_dev_deps\", optional = true }"),
        "{}",
        read("native/Cargo.toml")
    );
    assert!(!read("native/Cargo.toml").contains("[workspace]"));
    assert!(read("native/Cargo.lock").contains("name = \"foo_dev_deps\""));
    let written = snapshot(&root);
    let out = init(&root, &[]);
    assert!(text(&out).contains("nothing to change"), "{}", text(&out));
    assert_eq!(snapshot(&root), written);
    assert!(init(&root, &["--check"]).status.success());
    // A run that writes nothing leaves the lock below the pyproject.toml where it is (it
    // took the lock above the pyproject.toml's directory for cargo's, found none there,
    // and removed this one as its own).
    assert_eq!(snapshot(&root), written);
    assert!(init(&root, &["--dry-run"]).status.success());
    assert_eq!(snapshot(&root), written);
}

/// A cdylib with a build script of the project's own cannot take init's (init merges no
/// code): init leaves the dev dylib out, says why and how to have it, and sets up the rest.
#[test]
fn init_leaves_the_dylib_out_beside_a_build_script_of_the_projects_own() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("foo");
    write(&root, "pyproject.toml", &maturin_project("foo-py"));
    write(
        &root,
        "Cargo.toml",
        "[package]\nname = \"foo-py\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [lib]\nname = \"foo\"\ncrate-type = [\"cdylib\"]\n\n[dependencies]\nthiserror = \"2\"\n",
    );
    let build = "fn main() { println!(\"cargo:rerun-if-changed=build.rs\"); }\n";
    write(&root, "build.rs", build);
    write(&root, "src/lib.rs", "pub fn answer() -> u32 { 42 }\n");
    let out = init(&root, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("no dev dylib: build.rs is the project's own build script"),
        "{}",
        text(&out)
    );
    let read = |rel: &str| fs::read_to_string(root.join(rel)).unwrap();
    assert_eq!(read("build.rs"), build);
    assert!(!root.join("foo_py_dev_deps").exists());
    let py = read("pyproject.toml");
    assert!(
        py.contains("editable-profile = \"dev\"")
            && py.contains("{ file = \"src/**/*.rs\" }")
            && !py.contains("dev-dylib"),
        "{py}"
    );
    // maturin's module name: the manifest's `[lib] name`, not the project's name.
    let info = maou_build(&root).arg("info").output().unwrap();
    assert!(
        text(&info).contains("module          foo\n"),
        "{}",
        text(&info)
    );
    assert!(init(&root, &["--check"]).status.success());
}

/// The uv route (`--route uv`): maou-build pinned in the `dev` dependency group beside the
/// team's tools (their entries, comments and order kept), the dev container running it
/// through `uv run --no-install-project` after the workspace's own lifecycle, with no Nix
/// feature nor store volume; the flake and the workflow stay CI's. A run without
/// `--route` keeps the route; `--route nix` goes back, removing only init's entry.
#[test]
fn init_takes_the_uv_route_and_back() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("foo");
    maou_kind(&root);
    common::replace_in(
        &root.join("pyproject.toml"),
        "[tool.maturin]\n",
        "[dependency-groups]\ndev = [\n    # the team's pin\n    \"ruff==0.16.1\",\n    \"pytest>=8.4.2\",\n]\n\n[tool.maturin]\n",
    );
    let out = init(&root, &["--route", "uv"]);
    assert!(out.status.success(), "{}", text(&out));
    let read = |rel: &str| fs::read_to_string(root.join(rel)).unwrap();
    let py: toml::Table = toml::from_str(&read("pyproject.toml")).unwrap();
    let dev: Vec<&str> = py["dependency-groups"]["dev"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let pin = format!("maou-build=={}", env!("CARGO_PKG_VERSION"));
    assert_eq!(dev, ["ruff==0.16.1", "pytest>=8.4.2", pin.as_str()]);
    assert!(read("pyproject.toml").contains("# the team's pin"));
    let after = common::read_configuration(&root);
    assert!(
        after["features"]["ghcr.io/devcontainers/features/nix:1"].is_null(),
        "{after}"
    );
    let mounts = after["mounts"].to_string();
    assert!(!mounts.contains("target=/nix"), "{mounts}");
    assert_eq!(
        after["postCreateCommand"],
        "bash scripts/devcontainer.sh && bash scripts/dev-init.sh && uv run --no-install-project maou-build develop"
    );
    assert_eq!(
        after["updateContentCommand"],
        "uv run --no-install-project maou-build develop --no-prebuilt"
    );
    assert!(after["onCreateCommand"]
        .as_str()
        .unwrap()
        .ends_with("&& uv run --no-install-project maou-build develop"));
    assert!(read("flake.nix").contains("maou-build"));

    // The route is remembered.
    let again = init(&root, &[]);
    assert!(
        text(&again).contains("nothing to change"),
        "{}",
        text(&again)
    );

    // And back to Nix: init's entry goes, the team's stay; the Nix steps replace uv's.
    let back = init(&root, &["--route", "nix"]);
    assert!(back.status.success(), "{}", text(&back));
    let py: toml::Table = toml::from_str(&read("pyproject.toml")).unwrap();
    assert_eq!(
        py["dependency-groups"]["dev"].as_array().unwrap().len(),
        2,
        "{py:?}"
    );
    let after = common::read_configuration(&root);
    assert_eq!(
        after["postCreateCommand"],
        "bash scripts/devcontainer.sh && bash scripts/dev-init.sh && nix develop --command maou-build develop"
    );
    assert!(after["features"]["ghcr.io/devcontainers/features/nix:1"].is_object());
    assert!(text(&init(&root, &[])).contains("nothing to change"));
}
