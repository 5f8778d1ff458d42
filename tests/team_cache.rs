//! The team cache against a real Redis (`redis-server` on 127.0.0.1, a free port): machine
//! A builds cold and fills it; machine B, a fresh copy at the same path with an empty local
//! cache, no target store and no venv, builds from it; a Redis that was stopped, one that
//! never answers and a read-only replica all leave the build working. Each machine is a
//! set of directories of its own (sccache's, maou-build's cache, the venv) and its own
//! sccache server port, stopped afterwards.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::redis::Redis;
use common::{copy_item, free_port, maou_build, pyo3_workspace, replace_in, text};
use serde_json::Value;

struct Machine {
    dir: PathBuf,
    port: u16,
}

impl Machine {
    fn new(tmp: &Path, name: &str) -> Machine {
        Machine {
            dir: tmp.join(name),
            port: free_port(),
        }
    }

    fn command(&self, ws: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = maou_build(ws);
        cmd.args(args)
            .env("SCCACHE_DIR", self.dir.join("sccache"))
            .env("SCCACHE_SERVER_PORT", self.port.to_string())
            .env("MAOU_BUILD_CACHE", self.dir.join("cache"))
            .env_remove("SCCACHE_REDIS_ENDPOINT")
            .env_remove("SCCACHE_REDIS")
            .env_remove("MAOU_BUILD_TEAM_CACHE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// `develop --json --stats` into this machine's venv: the report (the build must work).
    fn develop(&self, ws: &Path, env: &[(&str, &str)]) -> (Value, Output) {
        let venv = self.dir.join("venv");
        let venv = venv.to_str().unwrap();
        let out = self
            .command(ws, &["develop", "--json", "--stats", "--venv", venv], env)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("no JSON report ({e}): {}", text(&out)));
        (report, out)
    }

    fn imports(&self) {
        let out = Command::new(self.dir.join("venv/bin/python"))
            .args(["-c", "import foo; print(foo.answer)"])
            .current_dir(&self.dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
    }

    fn stop_sccache(&self) {
        let _ = Command::new("sccache")
            .arg("--stop-server")
            .env("SCCACHE_SERVER_PORT", self.port.to_string())
            .output();
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        self.stop_sccache();
    }
}

fn count(report: &Value, key: &str) -> u64 {
    report["sccache"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("no sccache.{key}: {report}"))
}

/// A fresh checkout of `from` at `to`: the sources and the lock, nothing built.
fn fresh_copy(from: &Path, to: &Path) {
    for item in ["pyproject.toml", "Cargo.toml", "Cargo.lock", "crates", "py"] {
        copy_item(from, to, item);
    }
}

#[test]
fn machine_b_builds_from_what_machine_a_left_in_redis_and_a_failed_remote_never_fails_a_build() {
    let tmp = tempfile::tempdir().unwrap();
    let redis = Redis::start(&[]);
    let ws = tmp.path().join("workspaces/foo");
    pyo3_workspace(&ws);
    // Named where a team names it: in pyproject.toml, no secret.
    replace_in(
        &ws.join("pyproject.toml"),
        "[tool.maturin]",
        &format!(
            "[tool.maou-build]\nteam-cache = \"{}\"\n\n[tool.maturin]",
            redis.url()
        ),
    );

    // Machine A: cold, fills the team cache.
    let a = Machine::new(tmp.path(), "a");
    let (report, _) = a.develop(&ws, &[]);
    assert_eq!(report["team_cache"]["state"], "usable", "{report}");
    assert_eq!(report["team_cache"]["mode"], "read-write", "{report}");
    assert!(
        report["team_cache"]["from"]
            .as_str()
            .unwrap()
            .contains("pyproject.toml"),
        "{report}"
    );
    let written = report["sccache"]["remote_writes"].as_u64().unwrap();
    assert!(
        written > 0 && count(&report, "misses") == written,
        "{report}"
    );
    assert!(redis.keys() >= written, "{} keys", redis.keys());
    a.imports();
    a.stop_sccache();

    // Machine B: A's checkout moved away, a fresh one at the same path.
    let a_copy = tmp.path().join("a-checkout");
    fs::rename(&ws, &a_copy).unwrap();
    fresh_copy(&a_copy, &ws);
    let b = Machine::new(tmp.path(), "b");
    let (report, _) = b.develop(&ws, &[]);
    assert_eq!(count(&report, "misses"), 0, "{report}");
    assert_eq!(
        report["sccache"]["remote_hits"].as_u64(),
        Some(written),
        "every crate A wrote is a hit from the remote: {report}"
    );
    b.imports();
    let doctor = b.command(&ws, &["doctor", "--json"], &[]).output().unwrap();
    let doctor: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let check = common::check_named(&doctor, "team cache");
    assert_eq!(check["level"], "PASS", "{check}");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.contains("read/write") && detail.contains(&format!("{written} from the remote")),
        "{detail}"
    );
    // B's sccache server keeps running, with the remote behind its disk.

    // A replica refuses writes: used read-only, the build works and reads from it.
    let replica = Redis::start(&["--replicaof", "127.0.0.1", &free_port().to_string()]);
    let ro = Machine::new(tmp.path(), "read-only");
    let (report, out) = ro.develop(&ws, &[("MAOU_BUILD_TEAM_CACHE", &replica.url())]);
    assert_eq!(report["team_cache"]["mode"], "read-only", "{report}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("READONLY"),
        "{}",
        text(&out)
    );
    ro.imports();
    drop(replica);

    // The team cache is down: the build works from the local disk, and says why once. B's
    // server, started with the remote, is restarted without it.
    let mut redis = redis;
    redis.stop();
    replace_in(&ws.join("crates/core/src/lib.rs"), "42", "42 + 0");
    let (report, out) = b.develop(&ws, &[]);
    assert_eq!(report["team_cache"]["state"], "unusable", "{report}");
    assert!(
        report["team_cache"]["why"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{report}"
    );
    assert!(report["sccache"]["remote_hits"].is_null(), "{report}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("local disk cache only").count(),
        1,
        "{}",
        text(&out)
    );
    assert!(
        report["sccache_server"]
            .as_str()
            .is_some_and(|why| why.contains("restarted")),
        "{report}"
    );
    b.imports();

    // One that accepts and never answers, on a new machine (a cold build): the same,
    // within the check's bound.
    let down = Machine::new(tmp.path(), "down");
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("redis://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let (report, _) = down.develop(&ws, &[("SCCACHE_REDIS_ENDPOINT", &silent_url)]);
    assert_eq!(report["team_cache"]["state"], "unusable", "{report}");
    assert_eq!(report["team_cache"]["from"], "SCCACHE_REDIS_ENDPOINT");
    assert!(
        report["team_cache"]["why"]
            .as_str()
            .unwrap()
            .contains("did not answer"),
        "{report}"
    );
    down.imports();
    drop(silent);
}

/// A password in pyproject.toml is refused before anything is built; the same URL in the
/// environment is fine, and never shown.
#[test]
fn a_password_in_pyproject_is_refused_and_never_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    pyo3_workspace(&ws);
    let m = Machine::new(tmp.path(), "m");
    replace_in(
        &ws.join("pyproject.toml"),
        "[tool.maturin]",
        "[tool.maou-build]\nteam-cache = \"redis://:hunter2@127.0.0.1:1\"\n\n[tool.maturin]",
    );
    let out = m.command(&ws, &["doctor"], &[]).output().unwrap();
    let shown = text(&out);
    assert!(!out.status.success(), "{shown}");
    assert!(shown.contains("SCCACHE_REDIS_PASSWORD"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");

    replace_in(
        &ws.join("pyproject.toml"),
        "team-cache = \"redis://:hunter2@127.0.0.1:1\"",
        "",
    );
    let port = free_port();
    let url = format!("redis://:hunter2@127.0.0.1:{port}");
    let out = m
        .command(&ws, &["doctor"], &[("SCCACHE_REDIS_ENDPOINT", &url)])
        .output()
        .unwrap();
    let shown = text(&out);
    assert!(
        shown.contains(&format!("redis://:***@127.0.0.1:{port}"))
            && shown.contains("cannot connect"),
        "{shown}"
    );
    assert!(!shown.contains("hunter2"), "{shown}");
}
