//! The team cache: sccache's Redis level behind the local disk, on a real `redis-server`
//! started for each run. Machine A builds cold and fills it; machine B, a fresh checkout
//! at the same path with an empty local cache, no target store and no venv, builds from
//! it; against the cold develops. In the last run a checkout at another path shows which
//! crates still hit (sccache's Rust keys hold the working directory).

use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

use super::super::redis::LocalRedis;
use super::super::{Cmd, Series};
use super::cold::{in_cgroup, Cold};
use super::{Check, Ctx, Id, Scenario};
use crate::sccache::Delta;
use crate::team_cache::TEAM_CACHE_VAR;

/// The goal the issue states for machine B, as a fraction of a cold build.
const GOAL: f64 = 0.2;

/// What develop's report says of the cache.
#[derive(Deserialize)]
struct Report {
    compiled: Vec<String>,
    sccache: Option<Delta>,
    team_cache: Option<serde_json::Value>,
}

struct Machine {
    seconds: f64,
    report: Report,
}

impl Machine {
    fn delta(&self) -> Delta {
        self.report.sccache.unwrap_or_default()
    }
}

/// develop with the team cache at `url`, in the memory cgroup on all cores like the cold
/// develops, then the import.
fn develop(ctx: &Ctx, step: &str, cmd: Cmd, venv: &Path) -> Result<Machine> {
    let (built, _) = in_cgroup(ctx, step, &cmd)?;
    let imported = ctx.sb.run(step, &ctx.import_in(venv))?;
    let report: Report = serde_json::from_str(&built.stdout)
        .with_context(|| format!("{step}: develop --json printed no report"))?;
    let state = report
        .team_cache
        .as_ref()
        .and_then(|t| t["state"].as_str())
        .unwrap_or("none");
    anyhow::ensure!(
        state == "usable",
        "{step}: the team cache was not used ({state}): {:?}",
        report.team_cache
    );
    Ok(Machine {
        seconds: built.seconds + imported.seconds,
        report,
    })
}

/// Machine A fills a fresh redis-server, machine B builds from it, run by run; then once a
/// checkout at another path.
///
/// Over 80 lines: the scenario's steps in the order they are timed, sharing the Redis
/// server, the two machines and the series.
pub(super) fn team_cache(ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
    let mut s = Scenario::new(id);
    if crate::process::on_path("redis-server").is_none() {
        s.skipped =
            Some("redis-server is not on PATH (Debian: apt-get install redis-server)".into());
        return Ok(s);
    }
    let jobs = crate::resources::cores();
    let with_cache = |cmd: Cmd, url: &str| cmd.env(TEAM_CACHE_VAR, url);
    let shown = |what: &str| {
        format!(
            "{what} && {}",
            ctx.sb
                .shown(&with_cache(ctx.develop(jobs), "redis://127.0.0.1:PORT"))
        )
    };
    let mut fill = Series::new(
        "machine A: cold develop that fills the team cache",
        shown("empty local caches"),
    );
    let mut subject = Series::new(
        "machine B: fresh checkout at the same path, team cache warm",
        shown("fresh checkout, no venv, empty local caches"),
    );
    let mut b_last = None;
    for run in 0..ctx.plan.runs {
        let redis = LocalRedis::start()?;
        ctx.progress(
            id.name(),
            "machine A: cold develop, filling Redis: minutes",
            run,
        );
        ctx.sb.make_cold()?;
        let a = develop(
            ctx,
            "machine A",
            with_cache(ctx.develop(jobs), &redis.url),
            &ctx.sb.venv,
        )?;
        ctx.sb.note(format!("  {:.1} s", a.seconds));
        fill.push(a.seconds);

        ctx.progress(id.name(), "machine B: fresh checkout, develop", run);
        ctx.sb.make_cold()?;
        ctx.sb.fresh_checkout()?;
        let b = develop(
            ctx,
            "machine B",
            with_cache(ctx.develop(jobs), &redis.url),
            &ctx.sb.venv,
        )?;
        ctx.sb.note(format!("  {:.1} s", b.seconds));
        subject.push(b.seconds);
        s.facts
            .insert("a_writes".into(), a.delta().remote_writes.into());

        if run + 1 == ctx.plan.runs {
            ctx.progress(id.name(), "machine C: a checkout at another path", run);
            elsewhere(ctx, &mut s, &redis.url, jobs)?;
        }
        b_last = Some(b);
    }
    let b = b_last.context("no run")?;
    let d = b.delta();
    s.facts.insert("remote_hits".into(), d.remote_hits.into());
    s.facts.insert("misses".into(), d.misses.into());
    // What rustc really ran: the misses and what sccache cannot cache.
    s.facts.insert(
        "rustc_invocations".into(),
        (d.misses + d.not_cacheable).into(),
    );
    s.facts
        .insert("units_compiled".into(), b.report.compiled.len().into());
    s.checks.push(Check {
        what: "machine B: every cacheable crate a hit from the team cache".into(),
        ok: d.misses == 0 && d.remote_hits.unwrap_or(0) > 0,
    });
    let ratio = subject.median / cold.series.median;
    s.checks.push(Check {
        what: format!("machine B within {GOAL}× the cold develop ({ratio:.2}×)"),
        ok: ratio <= GOAL,
    });
    s.subject = Some(subject);
    s.baselines.push(cold.series.clone());
    s.baselines.push(fill);
    s.facts.insert(
        "note".into(),
        "Redis on 127.0.0.1 (no network latency); machine B creates its venv (uv's download \
         cache kept) where the cold develops reuse one; every build in the memory cgroup"
            .into(),
    );
    Ok(s)
}

/// Machine C: a fresh checkout at another path, its own empty local caches and venv,
/// the same team cache. Its develop runs with sccache's compiler log, whose "Cache miss"
/// lines name the crates whose keys the path changed.
fn elsewhere(ctx: &Ctx, s: &mut Scenario, url: &str, jobs: usize) -> Result<()> {
    let root = ctx.sb.checkout_elsewhere("elsewhere")?;
    let dir = root.parent().unwrap_or(&root).join("machine-c");
    let log = dir.join("sccache.log");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    ctx.sb.stop_sccache();
    let venv = dir.join("venv");
    let cmd = Cmd::new([
        ctx.sb.exe(),
        "--workspace".into(),
        root.display().to_string(),
        "develop".into(),
        "--venv".into(),
        venv.display().to_string(),
        "--python".into(),
        ctx.plan.python.minor.to_string(),
        "--jobs".into(),
        jobs.to_string(),
        "--json".into(),
        "--no-prebuilt".into(),
    ])
    .env(TEAM_CACHE_VAR, url)
    .env("SCCACHE_DIR", dir.join("sccache").display().to_string())
    .env("MAOU_BUILD_CACHE", dir.join("cache").display().to_string())
    .env("SCCACHE_LOG", "sccache::compiler::compiler=debug")
    .env("SCCACHE_ERROR_LOG", log.display().to_string());
    let c = develop(ctx, "machine C", cmd, &venv)?;
    // The next develop in the sandbox restarts the server with the sandbox's settings.
    ctx.sb.stop_sccache();
    let d = c.delta();
    s.facts
        .insert("other_path_seconds".into(), c.seconds.into());
    s.facts
        .insert("other_path_remote_hits".into(), d.remote_hits.into());
    s.facts.insert("other_path_misses".into(), d.misses.into());
    s.facts.insert(
        "other_path_missed_crates".into(),
        missed_crates(&log).into(),
    );
    Ok(())
}

/// The crates sccache's compiler log names in its "[crate]: Cache miss" lines, sorted.
fn missed_crates(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut crates: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let (head, _) = l.split_once("]: Cache miss")?;
            Some(head.rsplit_once('[')?.1.to_owned())
        })
        .collect();
    crates.sort();
    crates.dedup();
    crates
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_missed_crates_come_from_sccaches_compiler_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sccache.log");
        std::fs::write(
            &log,
            "[2026-12-04T20:27:42Z DEBUG sccache::compiler::compiler] [proc_macro2]: Cache miss in 0.004 s\n\
             [2026-12-04T20:27:42Z DEBUG sccache::compiler::compiler] [libc]: Cache hit in 0.010 s\n\
             [2026-12-04T20:27:43Z DEBUG sccache::compiler::compiler] [maou_io]: Cache miss in 0.002 s\n\
             [2026-12-04T20:27:44Z DEBUG sccache::compiler::compiler] [proc_macro2]: Cache miss in 0.003 s\n",
        )
        .unwrap();
        assert_eq!(super::missed_crates(&log), ["maou_io", "proc_macro2"]);
    }
}
