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

use common::{maou_build, source_root, text};

fn write(root: &Path, rel: &str, body: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, body).unwrap();
}

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
    // The lock: resolved offline from what cargo has (this repository's crates).
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

fn init(root: &Path, args: &[&str]) -> std::process::Output {
    maou_build(root).arg("init").args(args).output().unwrap()
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
        "-          args: --release --out dist --features pyo3/extension-module,fast",
        "+    \"rust/foo_dev_deps\",",
        "+dev-dylib = [\"dep:foo_dev_deps\"]",
        "+wheel-features = [\"fast\"]",
        "+\t\"postCreateCommand\": \"nix develop --command maou-build develop\",",
        // The edit loop's settings in the optimized profile develop builds.
        "+incremental = true\n+codegen-units = 256\n",
        "+[profile.py-ext.package.\"*\"]\n+codegen-units = 16\n",
    ] {
        assert!(diff.contains(needle), "{needle:?} not in the diff:\n{diff}");
    }
    assert_eq!(snapshot(&root), before, "--dry-run wrote something");

    // Written; what it does not own is left alone, comments kept.
    let out = init(&root, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let read = |rel: &str| fs::read_to_string(root.join(rel)).unwrap();
    assert_eq!(read(".github/workflows/build-wheel-windows.yml"), WINDOWS);
    assert!(
        read(".github/workflows/build-wheel.yml").contains("nix build --print-build-logs .#wheels")
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
        read_here("rust/maou_rust/build.rs"),
        "the build script init writes is this repository's"
    );
    assert_eq!(read("flake.nix"), read_here("nix/template/flake.nix"));
    // rustc links only the crates a crate names: the cdylib names the dylib crate.
    assert!(
        read("rust/foo_rust/src/lib.rs")
            .contains("#[cfg(feature = \"dev-dylib\")]\nextern crate foo_dev_deps;"),
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
    let edited = devcontainer.replace(
        "\"postCreateCommand\": \"nix develop --command maou-build develop\"",
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
