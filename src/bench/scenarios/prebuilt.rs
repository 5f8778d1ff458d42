//! A new machine whose Rust inputs are those of the `latest` release: develop downloads
//! the release's wheel for its CPython and places its extension instead of building;
//! against the cold develops. The release is served by a local stand-in for GitHub's API
//! ([ReleaseServer]) that paces the download to [RATE]; its wheel is the real release
//! wheel (`maou-build wheel`, thin LTO), built once beforehand and not timed.

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::super::release_server::ReleaseServer;
use super::super::Series;
use super::cold::{in_cgroup, Cold};
use super::{Check, Ctx, Id, Scenario};
use crate::prebuilt::Record;

/// The download rate: 10 MB/s (80 Mbit/s), below what a Codespace gets from GitHub.
const RATE: u64 = 10_000_000;
/// The goal for the new machine, as a fraction of a cold build.
const GOAL: f64 = 0.1;

#[derive(Deserialize)]
struct Report {
    profile: String,
    #[serde(default)]
    downloaded: bool,
    compiled: Vec<String>,
}

/// The release wheel built once, a stand-in for GitHub's API serving it, then a fresh
/// checkout's develop, run by run.
///
/// Over 80 lines: the scenario's steps in the order they are timed, sharing the server,
/// the release's record and the series.
pub(super) fn new_machine_prebuilt(ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
    let mut s = Scenario::new(id);
    let jobs = crate::resources::cores();
    let dist = ctx.sb.caches().join("prebuilt-dist");
    let _ = std::fs::remove_dir_all(&dist);
    let wheel = ctx.wheel(&dist, jobs);
    ctx.progress(
        id.name(),
        "the release wheel (thin LTO), not timed: many minutes",
        0,
    );
    let built = ctx.sb.run("release wheel", &wheel)?;
    s.facts
        .insert("wheel_build_seconds".into(), built.seconds.into());
    let path = crate::wheel_format::files_in(&dist)?
        .into_iter()
        .next()
        .with_context(|| format!("`maou-build wheel` left no wheel in {}", dist.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let ws = &ctx.sb.ws;
    let record = Record {
        inputs_key: ws.rust_inputs_key(&ws.release_features())?,
        wheels: [(name.clone(), crate::wheel_format::sha256_hex(&bytes))].into(),
    };
    s.facts.insert("wheel".into(), name.clone().into());
    s.facts.insert("wheel_bytes".into(), bytes.len().into());
    s.facts
        .insert("download_rate_bytes_per_s".into(), RATE.into());
    let body = format!("Wheels for the bench.\n\n{}\n", record.body_line());
    let server = ReleaseServer::start(
        super::ctx::RELEASE_REPO,
        body,
        vec![(name.clone(), bytes)],
        RATE,
    )?;

    let develop = ctx.develop_against(jobs, &server.url);
    let mut subject = Series::new(
        "new checkout, no build, Rust inputs of the release: develop until importable",
        format!(
            "fresh checkout, no venv, empty caches && {}",
            ctx.sb.shown(&develop)
        ),
    );
    let mut rustc = 0;
    for run in 0..ctx.plan.runs {
        ctx.progress(
            id.name(),
            "fresh checkout, develop (the release's extension)",
            run,
        );
        ctx.sb.make_cold()?;
        ctx.sb.fresh_checkout()?;
        let (ran, _) = in_cgroup(ctx, "new machine", &develop)?;
        let imported = ctx.sb.run("new machine", &ctx.import())?;
        let report: Report = serde_json::from_str(&ran.stdout)
            .context("new machine: develop --json printed no report")?;
        if report.profile != "release" || !report.downloaded {
            bail!(
                "new machine: develop did not install the release's extension (profile {}, \
                 downloaded {})",
                report.profile,
                report.downloaded
            );
        }
        rustc += report.compiled.len();
        let seconds = ran.seconds + imported.seconds;
        ctx.sb.note(format!("  {seconds:.1} s"));
        subject.push(seconds);
    }
    s.checks.push(Check::within_cold(&subject, cold, GOAL));
    s.facts.insert("rustc_invocations".into(), rustc.into());
    s.checks.push(Check {
        what: "no rustc ran".into(),
        ok: rustc == 0,
    });
    s.subject = Some(subject);
    s.baselines.push(cold.series.clone());
    s.facts.insert(
        "note".into(),
        "the subject includes the venv's creation (uv's download cache kept), the release \
         lookup, the download at the stated rate, the SHA-256 check, the placement and the \
         import; the wheel is the real thin-LTO release wheel"
            .into(),
    );
    Ok(s)
}
