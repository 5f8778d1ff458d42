//! `maou-build publish-latest` and `maou-build colab` against a fake GitHub API on
//! 127.0.0.1 (tests/common/fake_github.rs), with small wheels built here around a C
//! extension so that they pass the manylinux_2_28 audit.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::fake_github::{sha256_hex, FakeGitHub, Fault};
use common::wheels::{cc, write_wheel};
use common::{interpreters, maou_build, replace_in, text, tiny_workspace};

const REPO: &str = "octo/maou";
const TOKEN: &str = "ghp_tEsT0kenThatMustNeverBePrinted42";
const C1: &str = "1111111111111111111111111111111111111111";
const C2: &str = "2222222222222222222222222222222222222222";
const PYTHONS: [&str; 2] = ["cp312", "cp313"];

/// What Python calls to import `foo._native`.
const EXTENSION: &str =
    "int answer(void) { return 42; }\nvoid *PyInit__native(void) { return 0; }\n";

fn wheel_name(py: &str) -> String {
    format!("foo-1.2.3-{py}-{py}-manylinux_2_28_x86_64.whl")
}

/// Writes (or rewrites) one wheel per CPython into `dist`; `build` makes their bytes
/// differ from another build's while the names stay the same, as on every push to main.
fn build_wheels(scratch: &Path, dist: &Path, build: &str) -> Vec<(String, Vec<u8>)> {
    let so = fs::read(cc(scratch, "ext.so", EXTENSION, &[])).unwrap();
    fs::create_dir_all(dist).unwrap();
    PYTHONS
        .iter()
        .map(|py| {
            let ver = &py[2..];
            let path = dist.join(wheel_name(py));
            write_wheel(
                &path,
                &format!("{py}-{py}-manylinux_2_28_x86_64"),
                &[
                    (
                        &format!("foo/_native.cpython-{ver}-x86_64-linux-gnu.so"),
                        so.clone(),
                    ),
                    (
                        "foo/__init__.py",
                        format!("BUILD = {build:?}\n").into_bytes(),
                    ),
                ],
                None,
            );
            (wheel_name(py), fs::read(&path).unwrap())
        })
        .collect()
}

fn env_for(cmd: &mut Command, gh: &FakeGitHub, token: Option<&str>, commit: &str) {
    cmd.env("GITHUB_API_URL", &gh.url)
        .env("GITHUB_SERVER_URL", &gh.url)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_SHA", commit)
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN");
    if let Some(t) = token {
        cmd.env("GITHUB_TOKEN", t);
    }
}

/// Runs maou-build with the fake server's environment. Whatever happens, the token must
/// not be in the output: every test checks it on every run.
fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    let all = text(&out);
    assert!(!all.contains(TOKEN), "the token was printed:\n{all}");
    assert!(
        !all.contains("tEsT0ken"),
        "part of the token was printed:\n{all}"
    );
    out
}

fn publish(gh: &FakeGitHub, dist: &Path, commit: &str, extra: &[&str]) -> Output {
    let mut cmd = maou_build(dist.parent().unwrap());
    cmd.arg("publish-latest")
        .arg("--dist")
        .arg(dist)
        .args(extra);
    env_for(&mut cmd, gh, Some(TOKEN), commit);
    run(&mut cmd)
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "publish-latest failed:\n{}",
        text(out)
    );
}

/// The release's assets as (name, sha256), and each one downloaded from its URL.
fn published(gh: &FakeGitHub) -> Vec<(String, String)> {
    let release = gh.release("latest").expect("a release `latest`");
    let mut out: Vec<(String, String)> = release
        .assets
        .iter()
        .map(|a| {
            let url = format!("{}/{REPO}/releases/download/latest/{}", gh.url, a.name);
            let mut body = ureq::get(&url).call().unwrap().into_body();
            let bytes = body.read_to_vec().unwrap();
            assert_eq!(bytes, a.bytes, "{url} serves other bytes than the asset");
            (a.name.clone(), sha256_hex(&bytes))
        })
        .collect();
    out.sort();
    out
}

fn local(wheels: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
    let mut out: Vec<_> = wheels
        .iter()
        .map(|(n, b)| (n.clone(), sha256_hex(b)))
        .collect();
    out.sort();
    out
}

/// From the first moment each Python tag had a wheel, it always had one (under its final
/// name or the temporary one a replacement is uploaded as).
fn assert_no_gap(gh: &FakeGitHub) {
    let history = gh.history();
    let covered = |snapshot: &Vec<String>, py: &str| {
        snapshot
            .iter()
            .any(|n| n.starts_with(&format!("foo-1.2.3-{py}-")) && n.contains(".whl"))
    };
    let start = history
        .iter()
        .position(|s| PYTHONS.iter().all(|py| covered(s, py)))
        .expect("both wheels were published at some point");
    for (i, snapshot) in history.iter().enumerate().skip(start) {
        for py in PYTHONS {
            assert!(
                covered(snapshot, py),
                "after request {i} ({:?}) no {py} wheel was on the release: {snapshot:?}",
                gh.requests()[i]
            );
        }
    }
}

fn writes_since(gh: &FakeGitHub, from: usize) -> Vec<String> {
    gh.requests()[from..]
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn the_first_publish_creates_and_the_next_replaces_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let gh = FakeGitHub::start(REPO, TOKEN);

    let first = build_wheels(dir.path(), &dist, "one");
    let out = publish(&gh, &dist, C1, &[]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("created"));
    assert_eq!(gh.tag_commit("latest").as_deref(), Some(C1));
    assert_eq!(published(&gh), local(&first));
    let release = gh.release("latest").unwrap();
    assert!(release.prerelease && !release.draft);
    for needle in [
        C1,
        " UTC",
        "foo 1.2.3",
        "manylinux_2_28_x86_64",
        "| 3.12 |",
        "| 3.13 |",
        &sha256_hex(&first[0].1),
        "!uv pip install --system \"foo @ {foo_wheel}\"",
        &format!(
            "(3, 13): \"{}/{REPO}/releases/download/latest/{}\"",
            gh.url,
            wheel_name("cp313")
        ),
    ] {
        assert!(
            release.body.contains(needle),
            "the body lacks {needle:?}:\n{}",
            release.body
        );
    }

    // The next push: same names, new bytes, a new commit.
    let before = gh.requests().len();
    let second = build_wheels(dir.path(), &dist, "two");
    let out = publish(&gh, &dist, C2, &[]);
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("updated in place"), "{stdout}");
    assert!(stdout.contains("replaced"), "{stdout}");
    assert_eq!(gh.tag_commit("latest").as_deref(), Some(C2));
    assert_eq!(published(&gh), local(&second));
    let release = gh.release("latest").unwrap();
    assert!(release.body.contains(C2) && !release.body.contains(C1));
    assert!(release.name.contains("2222222"), "{}", release.name);
    assert_eq!(
        gh.release("latest").unwrap().id,
        1,
        "the release was not recreated"
    );

    // Every upload came before the first delete, and a temporary name was really used.
    let writes = writes_since(&gh, before);
    let last_upload = writes.iter().rposition(|w| w.starts_with("POST /uploads/"));
    let first_delete = writes.iter().position(|w| w.starts_with("DELETE "));
    assert!(
        last_upload.unwrap() < first_delete.unwrap(),
        "an old asset was deleted before every new one was uploaded: {writes:#?}"
    );
    assert!(gh
        .history()
        .iter()
        .any(|s| s.iter().any(|n| n.ends_with(".uploading"))));
    assert!(gh
        .history()
        .last()
        .unwrap()
        .iter()
        .all(|n| n.ends_with(".whl")));
    assert_no_gap(&gh);

    // A release that lost a CPython and changed version: the stale asset goes, last.
    fs::remove_dir_all(&dist).unwrap();
    let third = build_wheels(dir.path(), &dist, "three");
    fs::remove_file(dist.join(wheel_name("cp312"))).unwrap();
    let out = publish(&gh, &dist, C1, &[]);
    assert_ok(&out);
    assert_eq!(published(&gh), local(&third[1..]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("deleted"));
}

#[test]
fn a_rerun_for_the_same_commit_and_wheels_changes_nothing() {
    // With GitHub's digests, without (an older server), and from the Nix store, whose
    // files all have the time 1970-01-01 00:00:01.
    for (digests, store) in [(true, false), (false, false), (true, true)] {
        let dir = tempfile::tempdir().unwrap();
        let dist = dir.path().join("dist");
        let gh = FakeGitHub::start(REPO, TOKEN);
        if !digests {
            gh.without_digests();
        }
        for (name, _) in build_wheels(dir.path(), &dist, "one") {
            if store {
                let one = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1);
                fs::File::options()
                    .write(true)
                    .open(dist.join(name))
                    .unwrap()
                    .set_modified(one)
                    .unwrap();
            }
        }
        assert_ok(&publish(&gh, &dist, C1, &[]));
        let built = gh.release("latest").unwrap().body;
        assert!(!built.contains("Built: 1970"), "{built}");
        if store {
            // A second later the time "now" differs; the body must not.
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        let before = gh.requests().len();
        let body = gh.release("latest").unwrap().body;
        let out = publish(&gh, &dist, C1, &[]);
        assert_ok(&out);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("nothing was changed"),
            "digests: {digests}, store: {store}\n{}",
            text(&out)
        );
        assert_eq!(writes_since(&gh, before), Vec::<String>::new());
        assert_eq!(gh.release("latest").unwrap().body, body);
    }
}

#[test]
fn transient_failures_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let gh = FakeGitHub::start(REPO, TOKEN);
    build_wheels(dir.path(), &dist, "one");
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    gh.inject(Fault::new("POST", "/uploads/", 500, 1));
    gh.inject(
        Fault::new("GET", "/releases/tags/", 403, 1)
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", &reset.to_string())
            .body(r#"{"message":"API rate limit exceeded"}"#),
    );
    gh.inject(Fault::new("GET", "/git/ref/", 429, 1).header("Retry-After", "1"));
    let out = publish(&gh, &dist, C1, &[]);
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("retrying in").count(), 3, "{stderr}");
    let uploads: Vec<u16> = gh
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/uploads/"))
        .map(|r| r.status)
        .collect();
    assert_eq!(uploads, [500, 201, 201]);
    assert_eq!(published(&gh).len(), 2);
}

#[test]
fn a_persistent_failure_leaves_the_previous_wheels() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let gh = FakeGitHub::start(REPO, TOKEN);
    let first = build_wheels(dir.path(), &dist, "one");
    assert_ok(&publish(&gh, &dist, C1, &[]));

    build_wheels(dir.path(), &dist, "two");
    gh.inject(Fault::new("POST", "/uploads/", 502, 1000));
    let out = publish(&gh, &dist, C2, &["--retries", "2"]);
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("still has its previous wheels"), "{stderr}");
    assert!(stderr.contains("502"), "{stderr}");
    let attempts = gh
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/uploads/"))
        .count();
    assert_eq!(
        attempts,
        2 + 3,
        "two first uploads, then three tries of one"
    );
    assert_eq!(published(&gh), local(&first));
    assert_eq!(gh.tag_commit("latest").as_deref(), Some(C1));
    assert!(gh.release("latest").unwrap().body.contains(C1));
    assert_no_gap(&gh);

    // A 4xx that is not a rate limit is not retried.
    gh.clear_faults();
    gh.inject(Fault::new("PATCH", "/git/refs/", 422, 1).body(r#"{"message":"Validation Failed"}"#));
    let out = publish(&gh, &dist, C2, &[]);
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("retrying"));
}

#[test]
fn dry_run_reads_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let gh = FakeGitHub::start(REPO, TOKEN);
    build_wheels(dir.path(), &dist, "one");

    // No release yet, and no token needed to look.
    let mut cmd = maou_build(dir.path());
    cmd.args(["publish-latest", "--dry-run", "--dist"])
        .arg(&dist);
    env_for(&mut cmd, &gh, None, C1);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        &format!("create tag latest at {C1}"),
        "create release latest",
        "upload foo-1.2.3-cp312",
        "nothing was sent",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in\n{stdout}");
    }
    assert_eq!(writes_since(&gh, 0), Vec::<String>::new());
    assert!(gh.release("latest").is_none());

    assert_ok(&publish(&gh, &dist, C1, &[]));
    let before = gh.requests().len();
    let history = gh.history().len();
    build_wheels(dir.path(), &dist, "two");
    let out = publish(&gh, &dist, C2, &["--dry-run"]);
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        ".uploading (",
        "delete the old foo-1.2.3-cp312",
        "rename the new one into its place",
        "update the release's title and body",
        &format!("move tag latest to {C2}"),
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in\n{stdout}");
    }
    assert_eq!(writes_since(&gh, before), Vec::<String>::new());
    assert_eq!(gh.tag_commit("latest").as_deref(), Some(C1));
    let after = gh.history();
    assert!(after[history..].iter().all(|s| s == &after[history - 1]));
}

#[test]
fn refusals_are_explained_and_the_token_stays_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let gh = FakeGitHub::start(REPO, TOKEN);
    build_wheels(dir.path(), &dist, "one");

    let mut cmd = maou_build(dir.path());
    cmd.args(["publish-latest", "--dist"]).arg(&dist);
    env_for(&mut cmd, &gh, None, C1);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no token: set GITHUB_TOKEN"));
    assert!(
        gh.requests().is_empty(),
        "something was sent without a token"
    );

    let mut cmd = maou_build(dir.path());
    cmd.args(["publish-latest", "--dist"]).arg(&dist);
    env_for(&mut cmd, &gh, Some(&gh.read_only_token()), C1);
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("permissions: contents: write"),
        "{}",
        text(&out)
    );

    let out = publish(&gh, &dist, C1, &["--repo", "octo/other"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("check the repository (octo/other"),
        "{}",
        text(&out)
    );

    let mut cmd = maou_build(dir.path());
    cmd.args(["publish-latest", "--dist"]).arg(&dist);
    env_for(&mut cmd, &gh, Some("ghp_wrong"), C1);
    let out = cmd.output().unwrap();
    assert!(text(&out).contains("was refused"), "{}", text(&out));

    // A server that echoes the token back, and a --verbose run: never printed.
    gh.inject(
        Fault::new("GET", "/releases/tags/", 500, 100)
            .body(&format!(r#"{{"message":"bad header: Bearer {TOKEN}"}}"#)),
    );
    let out = publish(&gh, &dist, C1, &["--verbose", "--retries", "0"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("bad header: Bearer ***"),
        "{}",
        text(&out)
    );

    // A wheel that fails the audit: nothing is sent.
    let before = gh.requests().len();
    let bad = dir.path().join("bad");
    fs::create_dir_all(&bad).unwrap();
    let so = fs::read(cc(dir.path(), "ext.so", EXTENSION, &[])).unwrap();
    write_wheel(
        &bad.join("foo-1.2.3-cp313-cp313-linux_x86_64.whl"),
        "cp313-cp313-linux_x86_64",
        &[("foo/_native.cpython-312-x86_64-linux-gnu.so", so)],
        None,
    );
    let out = publish(&gh, &bad, C1, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("nothing was sent"));
    assert_eq!(gh.requests().len(), before);
}

/// Runs a Colab cell with `python`, turning each `!command` line into a print of the
/// command as IPython would expand it, and returns what it printed.
fn run_cell(python: &Path, cell: &str) -> String {
    let program: String = cell
        .lines()
        .map(|l| match l.strip_prefix('!') {
            Some(cmd) => format!("print(f{:?})\n", format!("!{cmd}")),
            None => format!("{l}\n"),
        })
        .collect();
    let out = Command::new(python)
        .args(["-c", &program])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the cell failed:\n{}\n{}",
        program,
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colab_prints_the_cell_for_the_release_assets() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    tiny_workspace(&ws, ">=3.12,<3.14", "cdylib");
    replace_in(
        &ws.join("pyproject.toml"),
        "[tool.maturin]",
        "[project.optional-dependencies]\ncuda = [\"torch>=2\"]\ntest = [\"pytest\"]\n\n[tool.maturin]",
    );
    let gh = FakeGitHub::start(REPO, TOKEN);

    // Before any release: URLs built from the version and the tag.
    let mut cmd = maou_build(&ws);
    cmd.arg("colab");
    env_for(&mut cmd, &gh, None, C1);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("no release latest yet"));
    let built = String::from_utf8_lossy(&out.stdout).into_owned();

    // Published from the workspace's own dist/ (the default), then read back.
    build_wheels(dir.path(), &ws.join("dist"), "one");
    let mut cmd = maou_build(&ws);
    cmd.arg("publish-latest");
    env_for(&mut cmd, &gh, Some(TOKEN), C1);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", text(&out));

    let mut cmd = maou_build(&ws);
    cmd.arg("colab");
    env_for(&mut cmd, &gh, None, C1);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("URLs from the assets of release latest"));
    let cell = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(cell, built, "built URLs should match the assets' URLs");
    assert!(cell.contains("!pip install -q uv\n"));
    assert!(cell.contains("[cuda] @ {foo_wheel}"), "{cell}");
    assert!(!cell.contains("[test"), "only GPU extras: {cell}");

    let found = interpreters(&ws);
    assert!(
        !found.is_empty(),
        "no CPython 3.12 or 3.13 to run the cell with"
    );
    for (py, python) in &found {
        let printed = run_cell(python, &cell);
        let url = format!(
            "{}/{REPO}/releases/download/latest/{}",
            gh.url,
            wheel_name(py)
        );
        assert!(
            printed.contains(&format!("!uv pip install --system \"foo @ {url}\"")),
            "{printed}"
        );
        assert!(
            printed.contains(&format!("\"foo[cuda] @ {url}\"")),
            "{printed}"
        );
    }
    // A runtime the release has no wheel for is told so.
    let (py, python) = &found[0];
    let minor = format!("{}, {}", &py[2..3], &py[3..]);
    let without: String = cell
        .lines()
        .filter(|l| !l.contains(&format!("({minor}):")))
        .map(|l| format!("{}\n", l.replace('!', "#")))
        .collect();
    let out = Command::new(python)
        .args(["-c", &without])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("RuntimeError: no foo wheel for Python"),
        "{}",
        text(&out)
    );

    // One CPython only, offline.
    let mut cmd = maou_build(&ws);
    cmd.args([
        "colab",
        "--offline",
        "--python",
        "3.13",
        "--repo",
        "someone/else",
    ]);
    env_for(&mut cmd, &gh, None, C1);
    let out = run(&mut cmd);
    let cell = String::from_utf8_lossy(&out.stdout);
    assert!(cell.contains("someone/else/releases/download/latest/foo-1.2.3-cp313"));
    assert!(!cell.contains("cp312"));
}

#[test]
fn the_readme_shows_the_cell_colab_prints() {
    let root = common::source_root();
    let out = run(maou_build(&root).args(["colab", "--offline", "--repo", "OWNER/maou"]));
    assert!(out.status.success(), "{}", text(&out));
    let cell = String::from_utf8_lossy(&out.stdout);
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```python\n{cell}```")),
        "README.md's UC2 cell differs from `maou-build colab --offline --repo OWNER/maou`:\n{cell}"
    );
}

// What GitHub's network really does: answers lost after the write took effect, uploads
// answered 502 that leave a `starter` asset, connections that never answer.

/// The release as a finished publish leaves it: exactly the local wheels under their final
/// names (every asset complete, none temporary), the tag at the commit, the body naming it.
fn assert_consistent(gh: &FakeGitHub, wheels: &[(String, Vec<u8>)], commit: &str) {
    let release = gh.release("latest").expect("a release `latest`");
    for a in &release.assets {
        assert_eq!(a.state, "uploaded", "{} is left incomplete", a.name);
    }
    assert_eq!(published(gh), local(wheels), "the release's assets");
    assert_eq!(gh.tag_commit("latest").as_deref(), Some(commit));
    assert!(release.body.contains(commit), "{}", release.body);
}

/// A stray asset on the release, as another version of the package would leave: the next
/// publish deletes it. Its id.
fn upload_stray(gh: &FakeGitHub, name: &str) -> u64 {
    let id = gh.release("latest").unwrap().id;
    let url = format!(
        "{}/uploads/repos/{REPO}/releases/{id}/assets?name={name}",
        gh.url
    );
    let mut body = ureq::post(&url)
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/zip")
        .send(b"stray".as_slice())
        .unwrap()
        .into_body();
    let asset: serde_json::Value = serde_json::from_slice(&body.read_to_vec().unwrap()).unwrap();
    asset["id"].as_u64().unwrap()
}

#[test]
fn every_write_step_survives_its_answer_being_lost() {
    let api = |rest: &str| format!("/repos/{REPO}{rest}");
    // (what, first publish?, fault): each write of a first publish and of a later one.
    let steps: Vec<(&str, bool, Fault)> = vec![
        (
            "create the tag",
            true,
            Fault::lost("POST", &api("/git/refs"), 1).exact(),
        ),
        (
            "create the release",
            true,
            Fault::lost("POST", &api("/releases"), 1).exact(),
        ),
        (
            "upload a new wheel",
            true,
            Fault::lost("POST", "/uploads/", 1),
        ),
        (
            "upload beside the old wheel",
            false,
            Fault::lost("POST", "/uploads/", 1),
        ),
        (
            "delete the old wheel",
            false,
            Fault::lost("DELETE", "/releases/assets/", 1),
        ),
        (
            "rename the new wheel",
            false,
            Fault::lost("PATCH", "/releases/assets/", 1),
        ),
        (
            "move the tag",
            false,
            Fault::lost("PATCH", &api("/git/refs/tags/latest"), 1),
        ),
        (
            "set the title and body",
            false,
            Fault::lost("PATCH", &api("/releases/1"), 1).exact(),
        ),
        (
            "delete an asset no longer built",
            false,
            Fault::lost("DELETE", "STRAY", 1),
        ),
    ];
    for (what, first, fault) in steps {
        let dir = tempfile::tempdir().unwrap();
        let dist = dir.path().join("dist");
        let gh = FakeGitHub::start(REPO, TOKEN);
        let mut wheels = build_wheels(dir.path(), &dist, "one");
        let mut commit = C1;
        let mut fault = fault;
        if !first {
            assert_ok(&publish(&gh, &dist, C1, &[]));
            let stray = upload_stray(&gh, "foo-1.2.2-cp312-cp312-manylinux_2_28_x86_64.whl");
            if fault.path_contains == "STRAY" {
                fault =
                    Fault::lost("DELETE", &api(&format!("/releases/assets/{stray}")), 1).exact();
            }
            wheels = build_wheels(dir.path(), &dist, "two");
            commit = C2;
        }
        let before = gh.requests().len();
        gh.inject(fault);
        let out = publish(&gh, &dist, commit, &[]);
        assert!(out.status.success(), "{what}, answer lost:\n{}", text(&out));
        let lost: Vec<_> = gh.requests()[before..]
            .iter()
            .filter(|r| r.status == 0)
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(
            lost.len(),
            1,
            "{what}: the fault did not fire: {:?}",
            gh.requests()
        );
        assert_consistent(&gh, &wheels, commit);
        assert_no_gap(&gh);
    }
}

#[test]
fn an_upload_answered_502_that_leaves_a_starter_asset_still_lands() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let gh = FakeGitHub::start(REPO, TOKEN);
    let wheels = build_wheels(dir.path(), &dist, "one");
    gh.inject(Fault::starter(1));
    let out = publish(&gh, &dist, C1, &[]);
    assert_ok(&out);
    assert!(text(&out).contains("starter"), "{}", text(&out));
    assert_consistent(&gh, &wheels, C1);

    let wheels = build_wheels(dir.path(), &dist, "two");
    gh.inject(Fault::starter(1));
    let before = gh.requests().len();
    assert_ok(&publish(&gh, &dist, C2, &[]));
    assert_consistent(&gh, &wheels, C2);
    assert_no_gap(&gh);
    let deletes = gh.requests()[before..]
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    assert_eq!(deletes, 3, "the starter and the two old wheels deleted");
}

/// Between each DELETE of a wheel that is being replaced and the rename that puts the new
/// one in its place, the fake server's log shows nothing but their own immediate retries,
/// and less time than any wait asked for.
fn assert_tight_windows(gh: &FakeGitHub, from: usize, limit: std::time::Duration) -> usize {
    let log = gh.requests();
    let mut windows = 0;
    let mut i = from;
    while i < log.len() {
        let is_swap_delete = log[i].method == "DELETE"
            && log[i + 1..]
                .iter()
                .find(|r| r.path != log[i].path)
                .is_some_and(|r| r.method == "PATCH" && r.path.contains("/releases/assets/"));
        if !is_swap_delete {
            i += 1;
            continue;
        }
        let done = log[i..]
            .iter()
            .position(|r| r.method == "PATCH" && r.status == 200)
            .map(|k| i + k)
            .expect("the rename succeeded");
        let rename_path = &log[done].path;
        for r in &log[i..=done] {
            assert!(
                r.path == log[i].path || &r.path == rename_path,
                "{} {} inside the window of {}",
                r.method,
                r.path,
                log[i].path
            );
        }
        let open = log[done].at - log[i].at;
        assert!(
            open < limit,
            "the window of {} lasted {open:?}",
            log[i].path
        );
        windows += 1;
        i = done + 1;
    }
    windows
}

#[test]
fn nothing_but_the_rename_happens_while_a_wheel_is_missing() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let gh = FakeGitHub::start(REPO, TOKEN);
    build_wheels(dir.path(), &dist, "one");
    assert_ok(&publish(&gh, &dist, C1, &[]));

    // The delete's answer lost, the rename rate limited (GitHub asks for 2 s): both are
    // retried at once, and the window stays far below the 2 s asked for.
    let wheels = build_wheels(dir.path(), &dist, "two");
    gh.inject(Fault::lost("DELETE", "/releases/assets/", 1));
    gh.inject(Fault::new("PATCH", "/releases/assets/", 429, 1).header("Retry-After", "2"));
    let before = gh.requests().len();
    assert_ok(&publish(&gh, &dist, C2, &[]));
    assert_consistent(&gh, &wheels, C2);
    assert_eq!(
        assert_tight_windows(&gh, before, Duration::from_millis(1500)),
        2
    );

    // A delete that took effect and whose connection then stays silent costs one read
    // timeout (1 s here), not a backoff.
    let wheels = build_wheels(dir.path(), &dist, "three");
    gh.inject(Fault::silent("DELETE", "/releases/assets/", true, 30.0, 1));
    let before = gh.requests().len();
    assert_ok(&publish(&gh, &dist, C1, &["--read-timeout", "1"]));
    assert_consistent(&gh, &wheels, C1);
    assert_eq!(
        assert_tight_windows(&gh, before, Duration::from_millis(2500)),
        2
    );

    // A rename that keeps failing: the new bytes go up under the final name instead.
    let wheels = build_wheels(dir.path(), &dist, "four");
    gh.inject(Fault::new("PATCH", "/releases/assets/", 500, 1000));
    let out = publish(&gh, &dist, C2, &["--retries", "1"]);
    assert_ok(&out);
    assert!(
        text(&out).contains("uploading the new wheel under"),
        "{}",
        text(&out)
    );
    gh.clear_faults();
    assert_consistent(&gh, &wheels, C2);
    assert_no_gap(&gh);
}

#[test]
fn a_dead_connection_is_given_up_on_and_waits_are_told_as_whose_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let gh = FakeGitHub::start(REPO, TOKEN);
    build_wheels(dir.path(), &dist, "one");
    gh.inject(Fault::silent(
        "GET",
        "/releases/tags/latest",
        false,
        60.0,
        10,
    ));
    let started = std::time::Instant::now();
    let out = publish(&gh, &dist, C1, &["--read-timeout", "1", "--retries", "1"]);
    let took = started.elapsed();
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("no answer in time") && said.contains("--read-timeout 1 s"),
        "{said}"
    );
    // Two attempts of 1 s each and a 1 s backoff, with room for a slow machine.
    assert!(
        took < std::time::Duration::from_secs(20),
        "gave up after {took:?}"
    );
    assert!(gh.release("latest").is_none());

    // Our own backoff is not GitHub's request.
    gh.clear_faults();
    gh.inject(Fault::new("GET", "/releases/tags/latest", 502, 10));
    let out = publish(&gh, &dist, C1, &["--max-wait", "1", "--retries", "3"]);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("the backoff would wait 2 s"), "{said}");
    assert!(!said.contains("GitHub asks"), "{said}");
}

#[test]
fn a_nearly_spent_rate_limit_is_waited_for_before_the_delete() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let gh = FakeGitHub::start(REPO, TOKEN);
    build_wheels(dir.path(), &dist, "one");
    assert_ok(&publish(&gh, &dist, C1, &[]));

    // 6 requests per 3 s: the 3 reads and 2 uploads leave 1, too few for a delete and
    // its rename; the wait for the reset comes before the delete, not between the two.
    let wheels = build_wheels(dir.path(), &dist, "two");
    let before = gh.requests().len();
    gh.limit_requests(6, Duration::from_secs(3));
    let out = publish(&gh, &dist, C2, &[]);
    assert_ok(&out);
    assert!(text(&out).contains("waiting"), "{}", text(&out));
    let log = gh.requests();
    assert!(
        log[before..].iter().all(|r| r.status != 403),
        "the rate limit was exceeded: {:?}",
        &log[before..]
    );
    let first_delete = before
        + log[before..]
            .iter()
            .position(|r| r.method == "DELETE")
            .unwrap();
    assert!(
        log[first_delete].at - log[first_delete - 1].at >= Duration::from_millis(900),
        "no wait before the delete"
    );
    assert_eq!(
        assert_tight_windows(&gh, before, Duration::from_millis(900)),
        2
    );
    assert_consistent(&gh, &wheels, C2);
}

/// With the workspace of the wheels in the working directory, the body records the key of
/// the Rust inputs (what `maou-build info` computes for the wheels) and each wheel's
/// SHA-256, in an HTML comment: what develop compares against before using a wheel.
#[test]
fn the_release_records_the_rust_inputs_key_and_the_wheels_checksums() {
    let dir = tempfile::tempdir().unwrap();
    tiny_workspace(dir.path(), ">=3.12,<3.14", "cdylib");
    let dist = dir.path().join("dist");
    let gh = FakeGitHub::start(REPO, TOKEN);
    let wheels = build_wheels(dir.path(), &dist, "one");
    assert_ok(&publish(&gh, &dist, C1, &[]));

    let release_key = || {
        let info = maou_build(dir.path())
            .args(["info", "--json"])
            .output()
            .unwrap();
        assert!(info.status.success(), "{}", text(&info));
        let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
        info["release_inputs_key"].as_str().unwrap().to_owned()
    };
    let key = release_key();

    let body = gh.release("latest").unwrap().body;
    let line = body
        .lines()
        .find(|l| l.starts_with("<!-- maou-build record "))
        .unwrap_or_else(|| panic!("no record in the body:\n{body}"));
    let json = line
        .strip_prefix("<!-- maou-build record ")
        .and_then(|l| l.strip_suffix(" -->"))
        .unwrap();
    let record: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(record["inputs_key"], key, "{body}");
    for (name, bytes) in &wheels {
        assert_eq!(record["wheels"][name], sha256_hex(bytes), "{body}");
    }

    // A Rust edit changes the key; a Python one does not.
    replace_in(&dir.path().join("crates/core/src/lib.rs"), "42", "43");
    assert_ne!(release_key(), key);
    replace_in(&dir.path().join("crates/core/src/lib.rs"), "43", "42");
    fs::write(dir.path().join("py/foo/__init__.py"), "# edited\n").unwrap();
    assert_eq!(release_key(), key);
}

/// The workspace's own release notes (`[tool.maou-build] release-notes`, what `init` takes
/// from a release workflow it keeps) are in the body, below what publish-latest writes
/// itself; a notes file that is named but missing stops the publish before anything is
/// sent, naming the file.
#[test]
fn the_workspaces_release_notes_are_in_the_body() {
    let dir = tempfile::tempdir().unwrap();
    tiny_workspace(dir.path(), ">=3.12,<3.14", "cdylib");
    let pyproject = dir.path().join("pyproject.toml");
    let with_notes = fs::read_to_string(&pyproject).unwrap()
        + "\n[tool.maou-build]\nrelease-notes = \".github/release-notes.md\"\n";
    fs::write(&pyproject, with_notes).unwrap();
    let dist = dir.path().join("dist");
    let gh = FakeGitHub::start(REPO, TOKEN);
    build_wheels(dir.path(), &dist, "one");

    let out = publish(&gh, &dist, C1, &[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(".github/release-notes.md ([tool.maou-build] release-notes"),
        "{}",
        text(&out)
    );
    assert!(
        gh.release("latest").is_none(),
        "published without its notes"
    );

    let notes = "- GPU runtime: `pip install 'foo[gpu] @ <wheel>'` (CUDA 12)";
    fs::create_dir_all(dir.path().join(".github")).unwrap();
    fs::write(
        dir.path().join(".github/release-notes.md"),
        format!("{notes}\n"),
    )
    .unwrap();
    assert_ok(&publish(&gh, &dist, C1, &[]));
    let body = gh.release("latest").unwrap().body;
    let at = body
        .find(notes)
        .unwrap_or_else(|| panic!("no notes in:\n{body}"));
    assert!(
        body.find("This release is rolling").unwrap() < at
            && at < body.find("| CPython |").unwrap(),
        "{body}"
    );
}
