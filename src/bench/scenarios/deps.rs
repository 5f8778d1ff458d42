//! A new machine whose checkout differs from the release in one workspace crate: develop
//! restores the release's dependency build ([crate::deps_archive]) and compiles only the
//! workspace's own crates; against the cold develops. The archive is made as CI makes it
//! (`maou-build deps-archive` in the sandbox's checkout, on the store the cold develops
//! left, not timed), served by the local stand-in for GitHub's API ([ReleaseServer]) paced
//! to [RATE].

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::super::release_server::ReleaseServer;
use super::super::{Cmd, Series};
use super::cold::{in_cgroup, Cold};
use super::{Check, Ctx, Id, Scenario};

/// The download rate: 50 MB/s (400 Mbit/s), what a cloud machine gets from GitHub's
/// release storage; the bytes are reported, for another rate.
const RATE: u64 = 50_000_000;
/// The goal for the new machine, as a fraction of a cold build.
const GOAL: f64 = 0.15;

#[derive(Deserialize)]
struct Report {
    compiled: Vec<String>,
    dependency_build: Option<DependencyBuild>,
}

#[derive(Deserialize)]
struct DependencyBuild {
    state: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    downloaded: u64,
    #[serde(default)]
    seconds: f64,
}

/// The archive and record `deps-archive` left in `dir`, as release assets.
fn assets_in(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut assets = Vec::new();
    for (name, path) in crate::deps_archive::files_in(dir)? {
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        assets.push((name, bytes));
    }
    if assets.len() != 2 {
        bail!(
            "deps-archive left {} assets in {}, not an archive and its record",
            assets.len(),
            dir.display()
        );
    }
    Ok(assets)
}

/// A new HOME for the new machine, with the toolchain's and the interpreters' homes kept
/// where they are (as a dev container keeps CARGO_HOME at /usr/local/cargo).
fn new_home(cmd: Cmd, home: &Path) -> Cmd {
    let old_home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let mut cmd = cmd.env("HOME", home.display().to_string());
    for (var, default) in [
        ("CARGO_HOME", ".cargo"),
        ("RUSTUP_HOME", ".rustup"),
        ("PYENV_ROOT", ".pyenv"),
    ] {
        let value = std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .or_else(|| old_home.as_ref().map(|h| h.join(default)))
            .filter(|p| p.exists());
        if let Some(v) = value {
            cmd = cmd.env(var, v.display().to_string());
        }
    }
    cmd
}

/// The dependency build made once as CI makes it, a stand-in for GitHub's API serving it,
/// then a fresh checkout with one crate edited (its version bumped) developing, run by run.
///
/// Over 80 lines: the scenario's steps in the order they are timed, sharing the server,
/// the facts and the series.
pub(super) fn new_machine_edited(ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
    let mut s = Scenario::new(id);
    let jobs = crate::resources::cores();
    let ws = &ctx.sb.ws;
    let edited = ws.rlib_deps.first().unwrap_or(&ws.cdylib).clone();
    let dist = ctx.sb.caches().join("deps-dist");
    let _ = std::fs::remove_dir_all(&dist);
    // `deps-archive` builds as develop does, then packs: on the store the cold develops
    // left, its build compiles only what a checkout's copy changed.
    ctx.progress(
        id.name(),
        "the dependency build, as CI makes it (not timed)",
        0,
    );
    let mut pack = Cmd::new([
        ctx.sb.exe(),
        "deps-archive".into(),
        "--python".into(),
        ctx.plan.python.minor.to_string(),
        "--jobs".into(),
        jobs.to_string(),
        "--out".into(),
        dist.display().to_string(),
    ]);
    if let Some(profile) = ctx.profile_arg() {
        pack.argv.extend(["--profile".into(), profile]);
    }
    let packed = ctx.sb.run("deps-archive", &pack)?;
    s.facts
        .insert("deps_archive_seconds".into(), packed.seconds.into());
    let assets = assets_in(&dist)?;
    let archive_bytes = assets.iter().map(|(_, b)| b.len()).max().unwrap_or(0);
    s.facts.insert("archive_bytes".into(), archive_bytes.into());
    s.facts
        .insert("download_rate_bytes_per_s".into(), RATE.into());
    let server = ReleaseServer::start(
        super::ctx::RELEASE_REPO,
        "Wheels for the bench.\n".into(),
        assets,
        RATE,
    )?;

    let develop = ctx.develop_against(jobs, &server.url);
    let home = ctx.sb.caches().join("new-home");
    let develop = new_home(develop, &home);
    let mut subject = Series::new(
        "new machine, one crate edited and bumped: develop until importable",
        format!(
            "fresh checkout, {} edited, new HOME, no venv, empty caches and store && {}",
            edited.name,
            ctx.sb.shown(&develop)
        ),
    );
    let (mut compiled, mut downloaded, mut restore) = (Vec::new(), 0, Vec::new());
    let (mut peak, mut oom_kills) = (None, 0);
    for run in 0..ctx.plan.runs {
        ctx.progress(id.name(), "fresh checkout, one crate edited, develop", run);
        ctx.sb.make_cold()?;
        ctx.sb.fresh_checkout()?;
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home)
            .with_context(|| format!("cannot create {}", home.display()))?;
        ctx.sb.edit_crate(&edited)?;
        ctx.sb.bump_version(&edited)?;
        let (ran, usage) = in_cgroup(ctx, "new machine", &develop)?;
        let imported = ctx.sb.run("new machine", &ctx.import())?;
        let report: Report = serde_json::from_str(&ran.stdout)
            .context("new machine: develop --json printed no report")?;
        match &report.dependency_build {
            Some(d) if d.state == "restored" => {
                downloaded = d.downloaded;
                restore.push(d.seconds);
            }
            Some(d) => bail!(
                "new machine: the dependency build was not restored: {}",
                d.reason
            ),
            None => bail!("new machine: develop did not look for the dependency build"),
        }
        compiled = report.compiled;
        if let Some(u) = usage {
            peak = Some(peak.map_or(u.peak_rss_bytes, |p: u64| p.max(u.peak_rss_bytes)));
            oom_kills += u.oom_kills;
        }
        let seconds = ran.seconds + imported.seconds;
        ctx.sb.note(format!(
            "  {seconds:.1} s ({} units compiled)",
            compiled.len()
        ));
        subject.push(seconds);
    }
    s.checks.push(Check::within_cold(&subject, cold, GOAL));
    s.facts.insert("downloaded_bytes".into(), downloaded.into());
    s.facts.insert("restore_seconds".into(), restore.into());
    s.facts.insert("compiled".into(), compiled.clone().into());
    if let Some(p) = peak {
        s.facts.insert("peak_rss_bytes".into(), p.into());
        s.checks.push(Check {
            what: format!(
                "inside the {} GiB memory cap ({:.2} GiB peak, {oom_kills} OOM kills)",
                ctx.plan.mem_limit >> 30,
                p as f64 / f64::from(1u32 << 30)
            ),
            ok: oom_kills == 0,
        });
    }
    s.checks.push(Check {
        what: format!("only the workspace's crates compiled ({})", compiled.len()),
        ok: compiled.iter().all(|c| {
            let name = c.split(' ').next().unwrap_or("");
            name == "build-script-build"
                || std::iter::once(&ws.cdylib)
                    .chain(&ws.rlib_deps)
                    .any(|k| k.lib_name == name || k.name == name)
        }),
    });
    s.subject = Some(subject);
    s.baselines.push(cold.series.clone());
    s.facts.insert(
        "note".into(),
        "the subject includes the venv's creation (uv's download cache kept), the release \
         lookup, the archive's download at the stated rate and its unpacking (overlapped), \
         the build of the workspace's crates and the import; the archive is made by \
         `maou-build deps-archive` in the same checkout path, as the workflow makes it where \
         the dev container builds"
            .into(),
    );
    Ok(s)
}
