//! The dependency build released beside the wheels, against the fake GitHub (tests/common/
//! fake_github.rs): CI's machine builds a workspace init has set up (its dev dylib) and
//! packs it (`maou-build deps-archive`), `publish-latest --deps` puts it on the release;
//! a new machine (its checkout gone and cloned again at the same path, one workspace crate
//! edited with its version bumped, an empty target store and sccache directory) restores
//! it and compiles only the workspace's own crates; a second develop compiles nothing, nor
//! do uv's doors. Each way it cannot be used (other features, a download cut short, a
//! hash that differs, a release without it) builds cold, says why, and leaves nothing of
//! the attempt in the store.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fake_github::{FakeGitHub, Fault};
use common::{compiled, copy_item, free_port, maou_build, pyo3_workspace, replace_in, text};
use serde_json::Value;

const REPO: &str = "team/foo";
const TOKEN: &str = "ghp_depsArchiveTestTokenNeverPrinted";

struct Machine {
    dir: PathBuf,
    port: u16,
}

struct Setup {
    tmp: tempfile::TempDir,
    gh: FakeGitHub,
    /// Where every machine checks the workspace out (the dev container's path).
    checkout: PathBuf,
}

impl Setup {
    fn machine(&self, name: &str) -> Machine {
        Machine {
            dir: self.tmp.path().join(name),
            port: free_port(),
        }
    }

    /// The pristine sources cloned at the checkout path, replacing what was there.
    fn clone_sources(&self) {
        let _ = fs::remove_dir_all(&self.checkout);
        let origin = self.tmp.path().join("origin");
        for item in ["pyproject.toml", "Cargo.toml", "Cargo.lock", "crates", "py"] {
            copy_item(&origin, &self.checkout, item);
        }
    }

    fn command(&self, m: &Machine, args: &[&str]) -> Command {
        let mut cmd = maou_build(&self.checkout);
        cmd.args(args)
            .env("SCCACHE_DIR", m.dir.join("sccache"))
            .env("SCCACHE_SERVER_PORT", m.port.to_string())
            .env("MAOU_BUILD_CACHE", m.dir.join("cache"))
            .env("MAOU_BUILD_TEAM_CACHE", "off")
            .env("UV_CACHE_DIR", self.tmp.path().join("uv-cache"))
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("GITHUB_API_URL", &self.gh.url)
            .env("GITHUB_SERVER_URL", &self.gh.url)
            .env("GITHUB_REPOSITORY", REPO)
            .env_remove("VIRTUAL_ENV")
            .env_remove("GITHUB_TOKEN")
            .env_remove("GH_TOKEN");
        cmd
    }

    fn develop(&self, m: &Machine, extra: &[&str]) -> Value {
        let mut args = vec!["develop", "--json", "--python", "3.12"];
        args.extend(extra);
        let out = self.command(m, &args).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert!(!text(&out).contains(TOKEN), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
    }

    fn uv(&self, m: &Machine, args: &[&str]) -> Output {
        let out = Command::new("uv")
            .arg("-v")
            .args(args)
            .current_dir(&self.checkout)
            .env("MAOU_BUILD_CACHE", m.dir.join("cache"))
            .env("UV_CACHE_DIR", self.tmp.path().join("uv-cache"))
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env_remove("VIRTUAL_ENV")
            .output()
            .unwrap();
        assert!(out.status.success(), "uv {args:?}: {}", text(&out));
        out
    }

    /// The release's assets, with one replaced by `f` (or dropped when it returns None).
    fn alter_release(&self, f: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
        let release = self.gh.release("latest").unwrap();
        let assets: Vec<(String, Vec<u8>)> = release
            .assets
            .into_iter()
            .filter_map(|a| f(&a.name, a.bytes.clone()).map(|b| (a.name, b)))
            .collect();
        let listed: Vec<(&str, Vec<u8>)> = assets
            .iter()
            .map(|(n, b)| (n.as_str(), b.clone()))
            .collect();
        self.gh.put_release("latest", &release.body, &listed);
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = Command::new("sccache")
            .arg("--stop-server")
            .env("SCCACHE_SERVER_PORT", self.port.to_string())
            .output();
    }
}

/// What the target store of `m` holds beside its builds: a restore's leftovers.
fn leftovers(m: &Machine) -> Vec<String> {
    let targets = m.dir.join("cache/targets");
    fs::read_dir(&targets)
        .into_iter()
        .flatten()
        .flat_map(|store| fs::read_dir(store.unwrap().path()).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".maou-build-restore"))
        .collect()
}

fn dependency_build(report: &Value) -> (&str, &str) {
    let d = &report["dependency_build"];
    (
        d["state"].as_str().unwrap_or_else(|| panic!("{report}")),
        d["reason"].as_str().unwrap_or(""),
    )
}

fn init(root: &Path) {
    let out = maou_build(root)
        .arg("init")
        .arg("--flake-url")
        .arg(format!("path:{}", common::source_root().display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "init: {}", text(&out));
}

/// The edit a new machine makes: the rlib crate's answer, and its version bumped (maou
/// bumps one in every Rust change).
fn edit(root: &Path) {
    replace_in(&root.join("crates/core/src/lib.rs"), "42", "43");
    replace_in(
        &root.join("crates/core/Cargo.toml"),
        "version = \"0.1.0\"",
        "version = \"0.1.1\"",
    );
}

#[test]
fn a_new_machine_restores_the_released_dependency_build_and_compiles_only_its_own_crates() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin");
    pyo3_workspace(&origin);
    replace_in(
        &origin.join("crates/native/Cargo.toml"),
        "[dependencies]\n",
        "[features]\nextra = []\n\n[dependencies]\n",
    );
    init(&origin);
    // A build script of the dylib's own, without `rerun-if` lines (this repository's
    // passes a linker flag): cargo reruns it when the newest file of the crate moves.
    common::write(&origin, "crates/foo_dev_deps/build.rs", "fn main() {}\n");
    let s = Setup {
        checkout: tmp.path().join("workspaces/foo"),
        gh: FakeGitHub::start(REPO, TOKEN),
        tmp,
    };
    s.gh.put_release("latest", "Wheels of **foo 1.2.3**.\n", &[]);

    // CI: a checkout at the team's path, built and packed, published beside the wheels.
    s.clone_sources();
    let ci = s.machine("ci");
    let out = s
        .command(
            &ci,
            &["deps-archive", "--json", "--python", "3.12", "--out"],
        )
        .arg(s.tmp.path().join("deps"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let packed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cold_units = packed[0]["compiled"].as_u64().unwrap();
    assert!(cold_units > 10, "{packed}");
    let out = s
        .command(&ci, &["publish-latest", "--deps"])
        .arg(s.tmp.path().join("deps"))
        .env("GITHUB_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let names: Vec<String> =
        s.gh.release("latest")
            .unwrap()
            .assets
            .into_iter()
            .map(|a| a.name)
            .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("maou-build-deps.dev.cp312.")),
        "{names:?}"
    );
    // Again, the same build: nothing sent.
    let again = s
        .command(&ci, &["publish-latest", "--deps"])
        .arg(s.tmp.path().join("deps"))
        .env("GITHUB_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .matches("already there")
            .count()
            == 2,
        "{}",
        text(&again)
    );

    // A new machine: the checkout cloned again at the same path, one crate edited.
    s.clone_sources();
    edit(&s.checkout);
    let new = s.machine("new");
    let report = s.develop(&new, &[]);
    assert_eq!(dependency_build(&report).0, "restored", "{report}");
    let mut units = compiled(&report);
    units.sort();
    units.dedup();
    assert_eq!(
        units,
        ["_native", "build-script-build", "foo_core"],
        "{report}"
    );
    let python = s.checkout.join(".venv/bin/python");
    let answer = Command::new(&python)
        .args(["-c", "import foo; print(foo.answer)"])
        .current_dir(s.tmp.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&answer.stdout).trim(),
        "43",
        "{}",
        text(&answer)
    );
    // A second develop compiles nothing; neither do uv's doors (uv rebuilds the project
    // through maturin, which finds every crate fresh).
    assert_eq!(compiled(&s.develop(&new, &[])), Vec::<String>::new());
    let out = s.uv(&new, &["sync", "--reinstall-package", "foo"]);
    let by_uv: Vec<&str> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("Compiling "))
        .map(|_| "")
        .collect();
    assert!(by_uv.is_empty(), "uv compiled: {}", text(&out));
    assert!(leftovers(&new).is_empty());

    // The same checkout with maou-build's cache elsewhere (a lost cache volume): target/
    // is re-pointed, not created, to a store without a build: that store restores too.
    let moved = s.machine("moved");
    let report = s.develop(&moved, &[]);
    assert_eq!(report["target"]["state"], "repointed", "{report}");
    assert_eq!(dependency_build(&report).0, "restored", "{report}");

    // Each way the archive cannot serve: a cold build that works, a reason, no leftovers.
    let cases: [(&str, &[&str], &str); 4] = [
        ("other features", &["--features", "extra"], "the features"),
        ("a download cut short", &[], "cut short"),
        ("a hash that differs", &[], "its record says"),
        ("no archive on the release", &[], "has no dependency build"),
    ];
    for (case, extra, reason) in cases {
        match case {
            "a download cut short" => {
                let release = s.gh.release("latest").unwrap();
                let archive = release.assets.iter().find(|a| a.name.ends_with(".tar.zst"));
                let path = format!("/storage/assets/{}", archive.unwrap().id);
                s.gh.inject(
                    Fault::new("GET", &path, 200, 1)
                        .exact()
                        .body("the first bytes"),
                );
            }
            "a hash that differs" => s.alter_release(|name, bytes| {
                Some(if name.ends_with(".json") {
                    let mut record: Value = serde_json::from_slice(&bytes).unwrap();
                    record["sha256"] = Value::from("0".repeat(64));
                    serde_json::to_vec(&record).unwrap()
                } else {
                    bytes
                })
            }),
            "no archive on the release" => s.alter_release(|_, _| None),
            _ => {}
        }
        s.clone_sources();
        edit(&s.checkout);
        let m = s.machine(&case.replace(' ', "-"));
        let report = s.develop(&m, extra);
        let (state, why) = dependency_build(&report);
        assert_eq!(state, "not-used", "{case}: {report}");
        assert!(why.contains(reason), "{case}: {why}");
        assert!(
            compiled(&report).len() as u64 >= cold_units,
            "{case}: a cold build"
        );
        assert!(leftovers(&m).is_empty(), "{case}: {:?}", leftovers(&m));
        s.gh.clear_faults();
    }
}
