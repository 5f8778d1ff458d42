//! develop on a new checkout installs the `latest` release's extension when the Rust
//! inputs are those the release records, against the fake GitHub (tests/common/
//! fake_github.rs): downloaded through the API's asset endpoint and its storage redirect,
//! checked against the record's SHA-256, placed atomically with any other extension file
//! of the module removed. Every other case builds, with one line saying why: a Rust edit,
//! a private repository without a token, a checksum mismatch, no network, `--no-prebuilt`.
//!
//! The release's wheel holds a working extension built here by develop (a dev build named
//! as the stable-ABI file the real wheels carry), since a thin-LTO release build would take
//! minutes and the file's origin is not what is tested.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fake_github::{sha256_hex, FakeGitHub};
use common::wheels::write_wheel;
use common::{copy_item, extension_files, free_port, maou_build, pyo3_workspace, replace_in, text};
use serde_json::{json, Value};

const REPO: &str = "team/foo";
const TOKEN: &str = "ghp_prebuiltTestTokenNeverPrinted";
const WHEEL: &str = "foo-1.2.3-cp312-cp312-manylinux_2_28_x86_64.whl";
const CARRIED: &[u8] = b"\x7fELF stands in for a grafted library";

struct Setup {
    tmp: tempfile::TempDir,
    gh: FakeGitHub,
    sccache_port: u16,
}

impl Setup {
    /// A checkout of `src` at a new path, as a new machine clones it.
    fn checkout(&self, src: &Path, name: &str) -> PathBuf {
        let to = self.tmp.path().join(name).join("foo");
        for item in ["pyproject.toml", "Cargo.toml", "Cargo.lock", "crates", "py"] {
            copy_item(src, &to, item);
        }
        to
    }

    fn develop(&self, ws: &Path, extra: &[&str], env: &[(&str, &str)]) -> (Value, Output) {
        let machine = ws.parent().unwrap();
        let mut cmd = maou_build(ws);
        cmd.args(["develop", "--json", "--venv"])
            .arg(machine.join("venv"))
            .args(extra)
            .env("SCCACHE_DIR", self.tmp.path().join("sccache"))
            .env("SCCACHE_SERVER_PORT", self.sccache_port.to_string())
            .env("MAOU_BUILD_CACHE", machine.join("cache"))
            .env("MAOU_BUILD_TEAM_CACHE", "off")
            .env("GITHUB_API_URL", &self.gh.url)
            .env("GITHUB_SERVER_URL", &self.gh.url)
            .env("GITHUB_REPOSITORY", REPO)
            .env_remove("GITHUB_TOKEN")
            .env_remove("GH_TOKEN");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            !text(&out).contains(TOKEN),
            "the token was printed: {}",
            text(&out)
        );
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("no JSON report ({e}): {}", text(&out)));
        (report, out)
    }

    /// The asset downloads the fake has answered so far.
    fn downloads(&self) -> usize {
        self.gh
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/storage/assets/") && r.status == 200)
            .count()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = Command::new("sccache")
            .arg("--stop-server")
            .env("SCCACHE_SERVER_PORT", self.sccache_port.to_string())
            .output();
    }
}

fn imports(ws: &Path) -> String {
    let out = Command::new(ws.parent().unwrap().join("venv/bin/python"))
        .args([
            "-c",
            "import foo, foo._native as n; print(foo.answer, n.__file__)",
        ])
        .current_dir(ws.parent().unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The release: a wheel holding `so` as the stable-ABI extension, and a record of `key`
/// and of `recorded_sha` (the wheel's own unless a test wants a mismatch).
fn release(s: &Setup, key: &str, so: &[u8], recorded_sha: Option<&str>) -> String {
    let path = s.tmp.path().join(WHEEL);
    write_wheel(
        &path,
        "cp312-cp312-manylinux_2_28_x86_64",
        &[
            ("foo/_native.abi3.so", so.to_vec()),
            (
                "foo/__init__.py",
                b"from foo._native import answer\n".to_vec(),
            ),
            // A library the wheel carries (as maturin grafts maou's ONNX Runtime).
            ("foo.libs/libcarried-0a1b2c3d.so.1", CARRIED.to_vec()),
        ],
        None,
    );
    let bytes = fs::read(&path).unwrap();
    let sha = sha256_hex(&bytes);
    let record = json!({"inputs_key": key, "wheels": {WHEEL: recorded_sha.unwrap_or(&sha)}});
    let body = format!("Wheels of **foo 1.2.3**.\n\n<!-- maou-build record {record} -->\n");
    s.gh.put_release("latest", &body, &[(WHEEL, bytes)]);
    sha
}

#[test]
fn a_new_checkout_with_the_released_inputs_gets_the_release_extension_else_it_builds() {
    let s = Setup {
        tmp: tempfile::tempdir().unwrap(),
        gh: FakeGitHub::start(REPO, TOKEN),
        sccache_port: free_port(),
    };
    // The source of every checkout, built once: its extension goes into the release.
    let src = s.tmp.path().join("origin/foo");
    pyo3_workspace(&src);
    // The wheels have a feature of their own, as maou's have `onnx-cuda`: the release is
    // keyed with it, as publish-latest keys it, and still stands in for develop's build.
    replace_in(
        &src.join("crates/native/Cargo.toml"),
        "[dependencies]\n",
        "[features]\nwheels-only = []\n\n[dependencies]\n",
    );
    let py = fs::read_to_string(src.join("pyproject.toml")).unwrap();
    fs::write(
        src.join("pyproject.toml"),
        py + "\n[tool.maou-build]\nwheel-features = [\"wheels-only\"]\n",
    )
    .unwrap();
    let (built, _) = s.develop(&src, &["--no-prebuilt"], &[]);
    let so = fs::read(built["installed"].as_str().unwrap()).unwrap();
    let info = maou_build(&src).args(["info", "--json"]).output().unwrap();
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    let key = info["release_inputs_key"].as_str().unwrap().to_owned();
    assert_ne!(info["rust_inputs_key"], info["release_inputs_key"]);
    let sha = release(&s, &key, &so, None);
    assert_eq!(s.downloads(), 0, "--no-prebuilt looked at the release");

    // A new checkout, unchanged: the release's extension, no rustc.
    let w1 = s.checkout(&src, "w1");
    let (report, out) = s.develop(&w1, &[], &[]);
    assert_eq!(report["profile"], "release", "{report}");
    assert_eq!(report["compiled"], json!([]), "{report}");
    assert_eq!(report["prebuilt"]["wheel"], WHEEL);
    assert_eq!(report["prebuilt"]["wheel_sha256"], sha);
    assert_eq!(report["downloaded"], true);
    assert_eq!(s.downloads(), 1);
    assert_eq!(extension_files(&w1), ["_native.abi3.so"]);
    assert!(imports(&w1).starts_with("42 "), "{}", imports(&w1));
    // What the wheel carries beside the package, where the extension's $ORIGIN/../foo.libs
    // finds it, ignored by git.
    assert_eq!(
        fs::read(w1.join("py/foo.libs/libcarried-0a1b2c3d.so.1")).unwrap(),
        CARRIED
    );
    assert_eq!(
        fs::read_to_string(w1.join("py/foo.libs/.gitignore"))
            .unwrap()
            .lines()
            .last(),
        Some("*")
    );
    assert!(!w1.join("target").exists(), "no build ran, no target/");
    let human = maou_build(&w1)
        .args(["develop", "--venv"])
        .arg(w1.parent().unwrap().join("venv"))
        .env("SCCACHE_DIR", s.tmp.path().join("sccache"))
        .env("SCCACHE_SERVER_PORT", s.sccache_port.to_string())
        .env("MAOU_BUILD_CACHE", w1.parent().unwrap().join("cache"))
        .env("MAOU_BUILD_TEAM_CACHE", "off")
        .env("GITHUB_API_URL", &s.gh.url)
        .env("GITHUB_REPOSITORY", REPO)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&human.stdout);
    assert!(
        said.contains("RELEASE build") && said.contains("next Rust edit builds the dev profile"),
        "{}\n{}",
        text(&out),
        text(&human)
    );
    // Placed by the first run: the second downloads nothing.
    assert_eq!(s.downloads(), 1);

    // A Rust edit: the dev build replaces it, and the stable-ABI file goes.
    replace_in(&w1.join("crates/core/src/lib.rs"), "42", "43");
    let (report, out) = s.develop(&w1, &[], &[]);
    assert_eq!(report["profile"], "dev", "{report}");
    assert!(
        stderr(&out).contains("differ from those the team/foo release latest was built from"),
        "{}",
        text(&out)
    );
    assert_eq!(
        extension_files(&w1),
        ["_native.cpython-312-x86_64-linux-gnu.so"]
    );
    assert!(imports(&w1).starts_with("43 "));

    // A checksum that does not match the record: built.
    release(&s, &key, &so, Some(&"0".repeat(64)));
    let w2 = s.checkout(&src, "w2");
    let (report, out) = s.develop(&w2, &[], &[]);
    assert_eq!(report["profile"], "dev", "{report}");
    assert!(stderr(&out).contains("its record says"), "{}", text(&out));
    release(&s, &key, &so, None);

    // Private: without a token the release cannot be seen, with one it is used.
    s.gh.make_private();
    let w3 = s.checkout(&src, "w3");
    let (report, out) = s.develop(&w3, &[], &[]);
    assert_eq!(report["profile"], "dev", "{report}");
    assert!(stderr(&out).contains("GITHUB_TOKEN"), "{}", text(&out));
    let w4 = s.checkout(&src, "w4");
    let (report, _) = s.develop(&w4, &[], &[("GITHUB_TOKEN", TOKEN)]);
    assert_eq!(report["profile"], "release", "{report}");
    assert!(imports(&w4).starts_with("42 "));

    // No network: a closed port answers at once; the build follows.
    let w5 = s.checkout(&src, "w5");
    let closed = format!("http://127.0.0.1:{}", free_port());
    let (report, out) = s.develop(&w5, &[], &[("GITHUB_API_URL", &closed)]);
    assert_eq!(report["profile"], "dev", "{report}");
    assert!(
        stderr(&out).contains("building, not using the released extension"),
        "{}",
        text(&out)
    );
}
