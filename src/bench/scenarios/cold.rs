//! The cold scenarios: N cold develops shared by all of them (their subject or baseline).

use anyhow::{Context, Result};

use super::super::cgroup::{self, Usage};
use super::super::{Cmd, Ran, Series};
use super::{Check, Ctx, Id, Scenario};

/// The cold develops, what the cgroup saw in each, and the cold baselines asked for.
pub(super) struct Cold {
    pub(super) series: Series,
    usages: Vec<Option<Usage>>,
    seed: Option<Series>,
    no_sccache: Option<Series>,
}

/// The seed configuration's cold build's target directory, under the sandbox's caches.
const SEED_COLD_TARGET: &str = "seed-cold-target";
/// The cold build without sccache's, likewise.
const NO_SCCACHE_TARGET: &str = "no-sccache-target";

/// A cold build alternated with the cold develops: its series, its command, and the target
/// directory of its own (under the sandbox's caches) it starts without.
struct Alternate {
    series: Series,
    cmd: Cmd,
    dir: std::path::PathBuf,
}

impl Alternate {
    fn new(ctx: &Ctx, label: &str, cmd: Cmd, dir: &str) -> Alternate {
        Alternate {
            series: Series::new(label, ctx.sb.shown(&cmd)),
            cmd,
            dir: ctx.sb.caches().join(dir),
        }
    }

    /// One cold build: empty caches, no target directory, in a cgroup like the develops.
    fn run(&mut self, ctx: &Ctx, run: usize) -> Result<()> {
        let label = self.series.label.clone();
        ctx.progress("cold develops", &format!("{label}: minutes"), run);
        ctx.sb.make_cold()?;
        let _ = std::fs::remove_dir_all(&self.dir);
        let (r, _) = in_cgroup(ctx, &label, &self.cmd)?;
        ctx.sb.note(format!("  {:.1} s", r.seconds));
        self.series.push(r.seconds);
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

/// N cold develops (empty sccache, no target store), each in a memory cgroup when one
/// can be made, on all cores. Each is preceded by the cold baselines asked for, so that
/// they alternate (a machine whose speed drifts over the minutes moves both sides of a
/// ratio alike) and the develop still leaves the caches warm for what follows: with
/// `seed`, a cold build of the seed configuration (bare cargo through an empty sccache);
/// with `no_sccache`, develop's own cargo command without sccache.
pub(super) fn cold_develops(ctx: &Ctx, seed: bool, no_sccache: bool) -> Result<Cold> {
    let jobs = crate::resources::cores();
    let mut series = Series::new("cold develop", ctx.develop_shown(jobs));
    let mut seed = seed.then(|| {
        let cmd = ctx.seed_cargo(SEED_COLD_TARGET, jobs);
        Alternate::new(ctx, "cold build, seed configuration", cmd, SEED_COLD_TARGET)
    });
    let mut no_sccache = no_sccache.then(|| {
        let cmd = ctx.cargo_without_sccache(NO_SCCACHE_TARGET, jobs);
        Alternate::new(
            ctx,
            "cold cargo build without sccache",
            cmd,
            NO_SCCACHE_TARGET,
        )
    });
    let mut usages = Vec::new();
    for run in 0..ctx.plan.runs {
        for alternate in [&mut seed, &mut no_sccache].into_iter().flatten() {
            alternate.run(ctx, run)?;
        }
        ctx.progress("cold develops", "cold develop (empty caches): minutes", run);
        ctx.sb.make_cold()?;
        let (built, usage) = in_cgroup(ctx, "cold develop", &ctx.develop(jobs))?;
        let imported = ctx.sb.run("cold develop", &ctx.import())?;
        let seconds = built.seconds + imported.seconds;
        ctx.sb.note(format!("  {seconds:.1} s"));
        series.push(seconds);
        usages.push(usage);
    }
    Ok(Cold {
        series,
        usages,
        seed: seed.map(|a| a.series),
        no_sccache: no_sccache.map(|a| a.series),
    })
}

/// Runs a cold build in a memory cgroup capped at --mem-limit when one can be made: the
/// cold develops and their cold baselines all run so, since the cap also bounds the page
/// cache a build reads its rlibs back from. What the group saw comes back with the run.
pub(super) fn in_cgroup(ctx: &Ctx, step: &str, cmd: &Cmd) -> Result<(Ran, Option<Usage>)> {
    let group = match &ctx.plan.no_cgroup {
        None => Some(cgroup::Group::new("maou-build-bench", ctx.plan.mem_limit)?),
        Some(_) => None,
    };
    let wrapped = match &group {
        Some(g) => Cmd {
            argv: g.wrap(&cmd.argv),
            ..cmd.clone()
        },
        None => cmd.clone(),
    };
    let ran = ctx.sb.run(step, &wrapped);
    // An sccache server the build started is in the group: stop it before reading.
    ctx.sb.stop_sccache();
    let usage = group.map(|g| g.finish()).transpose()?;
    Ok((ran?, usage))
}

/// The cold develop against the seed configuration's cold build, alternated in the same
/// run: what a new Codespace without a prebuilt extension pays, before and after the
/// workspace's profile.
pub(super) fn cold_seed(_ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
    let mut s = Scenario::new(id);
    s.subject = Some(cold.series.clone());
    s.baselines.extend(cold.seed.clone());
    s.facts.insert(
        "note".into(),
        "both through sccache with an empty cache, on all cores, each in a memory cgroup of \
         the same cap; the seed configuration is \
         the workspace's cargo command with `--config` overrides, which also give build \
         scripts and proc macros line tables (the seed's own profile left them without)"
            .into(),
    );
    Ok(s)
}

pub(super) fn cold_cgroup(ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
    let usages = &cold.usages;
    let mut s = Scenario::new(id);
    s.subject = Some(Series {
        label: "cold develop in the cgroup".into(),
        ..cold.series.clone()
    });
    match &ctx.plan.no_cgroup {
        Some(why) => {
            s.facts
                .insert("cgroup".into(), format!("not used: {why}").into());
        }
        None => {
            let most = |of: fn(&Usage) -> u64| usages.iter().flatten().map(of).max().unwrap_or(0);
            let (peak, with_cache) = (
                most(|u| u.peak_rss_bytes),
                most(|u| u.peak_with_cache_bytes),
            );
            let kills: u64 = usages.iter().flatten().map(|u| u.oom_kills).sum();
            s.facts
                .insert("mem_limit_bytes".into(), ctx.plan.mem_limit.into());
            s.facts.insert("peak_rss_bytes".into(), peak.into());
            s.facts
                .insert("peak_with_page_cache_bytes".into(), with_cache.into());
            s.facts.insert("oom_kills".into(), kills.into());
            s.checks.push(Check {
                what: format!(
                    "finished within {} with no OOM kill",
                    crate::resources::gib(ctx.plan.mem_limit)
                ),
                ok: kills == 0,
            });
        }
    }
    s.facts
        .insert("jobs".into(), crate::resources::cores().into());
    Ok(s)
}

pub(super) fn cold_sccache(_ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
    let mut s = Scenario::new(id);
    s.subject = Some(cold.series.clone());
    s.baselines.extend(cold.no_sccache.clone());
    s.facts.insert(
        "note".into(),
        "the subject is develop (its own work is under a second); the baseline is the cargo \
         command it runs, without RUSTC_WRAPPER; alternated, on all cores, each in a memory \
         cgroup of the same cap"
            .into(),
    );
    Ok(s)
}

pub(super) fn target_deleted(ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
    let shown = format!("rm -rf target && {}", ctx.develop_shown(ctx.plan.jobs));
    after_loss(ctx, id, cold, ("develop after rm -rf target", shown), false)
}

pub(super) fn store_lost(ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
    let shown = format!(
        "rm -rf \"$(readlink target)\" target && {}",
        ctx.develop_shown(ctx.plan.jobs)
    );
    after_loss(
        ctx,
        id,
        cold,
        ("develop after losing target/ and its store", shown),
        true,
    )
}

/// develop after `target/` is deleted (and with `store`, the store it links to), caches
/// otherwise warm; against the cold develops.
fn after_loss(
    ctx: &Ctx,
    id: Id,
    cold: &Cold,
    (label, shown): (&str, String),
    store: bool,
) -> Result<Scenario> {
    let mut s = Scenario::new(id);
    let mut subject = Series::new(label, shown);
    let mut compiled = 0;
    for run in 0..ctx.plan.runs {
        ctx.progress(id.name(), &format!("{label}: remove, develop"), run);
        if let Some(dir) = ctx.sb.target_store().filter(|_| store) {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        ctx.sb.remove_target_link()?;
        let developed = ctx.develop_until_importable(label, ctx.plan.jobs)?;
        compiled = developed.compiled.len();
        subject.push(developed.seconds);
    }
    s.subject = Some(subject);
    s.baselines.push(cold.series.clone());
    s.facts.insert("units_compiled".into(), compiled.into());
    Ok(s)
}
