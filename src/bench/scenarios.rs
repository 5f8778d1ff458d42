//! The scenarios `maou-build bench` measures, each against a baseline timed in the same
//! run: a number alone means little, its ratio to the baseline is what is compared.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{is_interrupt, Cmd, Failure, Sandbox, Series};
use crate::cargo_build::Request;
use crate::cgroup::{self, Usage};
use crate::python::Interpreter;
use crate::workspace::Crate;

/// One scenario: its name, what the report and `--help` say of it, and how it runs. The
/// table [SCENARIOS] is the only list; a new scenario is one more entry.
pub struct Def {
    pub name: &'static str,
    /// What the report calls it.
    pub title: &'static str,
    /// Its line in `bench --help`: what is measured, against what.
    pub help: &'static str,
    run: Run,
}

/// How a scenario runs.
#[derive(Clone, Copy)]
enum Run {
    /// From the cold develops the cold scenarios share (they are its subject or baseline).
    Cold(fn(&Ctx, Id, &Cold) -> Result<Scenario>),
    /// After a first develop, caches warm, in the table's order.
    Warm(fn(&Ctx, Id) -> Result<Scenario>),
    /// Alone, not in the default set: it builds something else than the workspace's copy
    /// (the ci-chain replay, see [crate::replay]).
    Alone,
}

pub static SCENARIOS: [Def; 9] = [
    Def {
        name: "rlib-edit",
        title: "one-line edit in an rlib crate, then develop until importable",
        help: "one-line edit in an rlib, develop until importable; against bare cargo build \
               of the same rebuild (the floor) and maturin develop",
        run: Run::Warm(rlib_edit),
    },
    Def {
        name: "cdylib-edit",
        title: "one-line edit in the cdylib crate, then develop until importable",
        help: "the same for the cdylib",
        run: Run::Warm(cdylib_edit),
    },
    Def {
        name: "python-edit",
        title: "Python-only edit, then develop",
        help: "a Python-only edit: develop must run no rustc",
        run: Run::Warm(python_edit),
    },
    Def {
        name: "target-deleted",
        title: "target/ deleted, caches warm, then develop",
        help: "rm -rf target, caches warm; against a cold build",
        run: Run::Cold(target_deleted),
    },
    Def {
        name: "store-lost",
        title: "target/ and its store deleted, sccache warm, then develop",
        help: "target/ and its store deleted, sccache warm; against a cold build",
        run: Run::Cold(store_lost),
    },
    Def {
        name: "cold-sccache",
        title: "cold develop with sccache and an empty cache",
        help: "cold develop with an empty sccache; against a cold build without sccache",
        run: Run::Cold(cold_sccache),
    },
    Def {
        name: "cold-cgroup",
        title: "cold develop in a memory cgroup, all cores",
        help: "the cold develops in a memory cgroup capped at --mem-limit on all cores: must \
               finish; peak memory of the process tree",
        run: Run::Cold(cold_cgroup),
    },
    Def {
        name: "release-edit",
        title: "release wheel after a cdylib-only edit",
        help: "a release wheel after a cdylib edit; against one from scratch",
        run: Run::Warm(release_edit),
    },
    Def {
        name: "ci-chain",
        title: "the flake's CI chain, replayed",
        help: "the flake's CI chain replayed outside Nix from its evaluated derivations \
               (needs nix-eval, see --nix-eval): from scratch, after a cdylib edit, after an \
               edit in the rlib the chain builds first; what each step compiled and its \
               seconds; then the chain's wheels against `maou-build wheel`'s in a separate \
               checkout, byte for byte. It runs alone and is not in the default set",
        run: Run::Alone,
    },
];

/// A scenario, by its place in [SCENARIOS]; it reads and prints as its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Id(usize);

impl Id {
    pub fn def(self) -> &'static Def {
        &SCENARIOS[self.0]
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }

    pub fn by_name(name: &str) -> Option<Id> {
        SCENARIOS.iter().position(|d| d.name == name).map(Id)
    }

    /// Every scenario that is not run alone: what bench runs by default.
    pub fn default_set() -> Vec<Id> {
        (0..SCENARIOS.len())
            .map(Id)
            .filter(|id| !id.runs_alone())
            .collect()
    }

    pub fn is_cold(self) -> bool {
        matches!(self.def().run, Run::Cold(_))
    }

    pub fn runs_alone(self) -> bool {
        matches!(self.def().run, Run::Alone)
    }

    /// For clap: the names of the table, and clap's error for any other.
    pub fn parser() -> impl clap::builder::TypedValueParser<Value = Id> {
        use clap::builder::TypedValueParser;
        clap::builder::PossibleValuesParser::new(SCENARIOS.iter().map(|d| d.name))
            .map(|name: String| Id::by_name(&name).expect("clap accepted a scenario of the table"))
    }
}

impl Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The scenarios' lines of `bench --help`, from the table.
pub fn help_lines() -> String {
    let width = SCENARIOS.iter().map(|d| d.name.len()).max().unwrap_or(0);
    SCENARIOS
        .iter()
        .map(|d| {
            format!(
                "  {:<width$}  {}\n",
                d.name,
                d.help.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct Ratio {
    pub baseline: String,
    /// The subject's median over the baseline's median.
    pub ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub what: String,
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct Scenario {
    pub id: Id,
    pub title: String,
    pub subject: Option<Series>,
    pub baselines: Vec<Series>,
    pub ratios: Vec<Ratio>,
    /// What else was measured: compiled units, peak memory, the crate edited.
    pub facts: BTreeMap<String, serde_json::Value>,
    pub checks: Vec<Check>,
    pub skipped: Option<String>,
    pub error: Option<Failure>,
}

impl Scenario {
    fn new(id: Id) -> Scenario {
        Scenario {
            id,
            title: id.def().title.to_owned(),
            subject: None,
            baselines: Vec::new(),
            ratios: Vec::new(),
            facts: BTreeMap::new(),
            checks: Vec::new(),
            skipped: None,
            error: None,
        }
    }

    /// Ratios of the subject to each baseline, from the recorded medians.
    fn finish(mut self) -> Scenario {
        if let Some(subject) = &self.subject {
            self.ratios = self
                .baselines
                .iter()
                .filter(|b| !b.seconds.is_empty() && b.median > 0.0)
                .map(|b| Ratio {
                    baseline: b.label.clone(),
                    ratio: subject.median / b.median,
                })
                .collect();
        }
        self
    }

    fn failed(id: Id, err: &anyhow::Error) -> Scenario {
        let mut s = Scenario::new(id);
        s.error = Some(as_failure(id.name(), err));
        s
    }

    pub fn ok(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(|c| c.ok)
    }
}

fn as_failure(step: &str, err: &anyhow::Error) -> Failure {
    match err.downcast_ref::<Failure>() {
        Some(f) => f.clone(),
        None => Failure {
            step: step.to_owned(),
            command: String::new(),
            output: format!("{err:#}"),
        },
    }
}

pub struct Plan {
    pub runs: usize,
    pub jobs: usize,
    pub mem_limit: u64,
    /// Why no memory cgroup can be used, if none can.
    pub no_cgroup: Option<String>,
    /// The interpreter of the venv and of the release wheel.
    pub python: Interpreter,
}

#[derive(Deserialize)]
struct DevelopReport {
    compiled: Vec<String>,
}

struct Ctx<'a> {
    sb: &'a Sandbox,
    plan: &'a Plan,
}

impl Ctx<'_> {
    fn develop(&self, jobs: usize) -> Cmd {
        Cmd::new([
            self.sb.exe(),
            "develop".into(),
            "--venv".into(),
            self.sb.venv.display().to_string(),
            "--python".into(),
            self.plan.python.minor.to_string(),
            "--jobs".into(),
            jobs.to_string(),
            "--json".into(),
        ])
    }

    fn import(&self) -> Cmd {
        Cmd::new([
            self.sb.venv.join("bin/python").display().to_string(),
            "-c".into(),
            format!("import {}", self.sb.ws.module_name),
        ])
    }

    fn develop_shown(&self, jobs: usize) -> String {
        format!(
            "{} && {}",
            self.sb.shown(&self.develop(jobs)),
            self.sb.shown(&self.import())
        )
    }

    /// develop, then an import of the module: the time until the edit is importable.
    fn develop_until_importable(&self, step: &str, jobs: usize) -> Result<(f64, Vec<String>)> {
        let built = self.sb.run(step, &self.develop(jobs))?;
        let imported = self.sb.run(step, &self.import())?;
        let report: DevelopReport = serde_json::from_str(&built.stdout)
            .with_context(|| format!("{step}: develop --json printed no report"))?;
        Ok((built.seconds + imported.seconds, report.compiled))
    }

    /// The cargo command develop runs, without develop: the floor of a rebuild.
    fn bare_cargo(&self, sccache: bool) -> Cmd {
        let python = self.sb.venv.join("bin/python");
        let request = Request {
            ws: &self.sb.ws,
            release: false,
            jobs: self.plan.jobs,
            python: &python,
            features: self.sb.ws.features.clone(),
            env: crate::build_env::always(),
        };
        let mut cmd = Cmd::new(std::iter::once("cargo".to_owned()).chain(request.args()));
        for (k, v) in request.env() {
            cmd = cmd.env(k, v);
        }
        if sccache {
            cmd.env("RUSTC_WRAPPER", self.sb.sccache_program())
        } else {
            cmd.without("RUSTC_WRAPPER")
        }
    }

    /// `maturin develop`, building in place (no install) into its own target directory,
    /// through the same sccache, so that it and develop do not rebuild each other's flags.
    fn maturin_develop(&self) -> Cmd {
        let cmd = Cmd::new([
            "maturin".to_owned(),
            "develop".into(),
            "--skip-install".into(),
            "--manifest-path".into(),
            self.sb.ws.cdylib.manifest_path.display().to_string(),
        ])
        .env("VIRTUAL_ENV", self.sb.venv.display().to_string())
        .env(
            "CARGO_TARGET_DIR",
            self.sb
                .caches()
                .join("maturin-target")
                .display()
                .to_string(),
        )
        .env("RUSTC_WRAPPER", self.sb.sccache_program());
        crate::build_env::always()
            .into_iter()
            .fold(cmd, |cmd, (k, v)| cmd.env(k, v))
    }

    /// `<scenario> [run/runs] <what>`; `scenario` may name work several share.
    fn progress(&self, scenario: &str, what: &str, run: usize) {
        self.sb.note(format!(
            "{scenario} [{}/{}] {what}",
            run + 1,
            self.plan.runs
        ));
    }
}

/// Runs the scenarios `ids` in an order that shares work: the cold builds first (they
/// also warm the caches), the edits next, the release wheels last (their cold baseline
/// empties the caches). A failed scenario keeps its output; the others still run.
pub fn run(sb: &Sandbox, plan: &Plan, ids: &[Id]) -> Result<Vec<Scenario>> {
    let ctx = Ctx { sb, plan };
    let mut done: BTreeMap<Id, Scenario> = BTreeMap::new();

    // Cold develops: the baseline of target-deleted and store-lost, the subject of
    // cold-sccache and cold-cgroup. They also leave the caches warm for what follows.
    if ids.iter().any(|id| id.is_cold()) {
        let cold = match cold_develops(&ctx) {
            Ok(cold) => cold,
            Err(e) if is_interrupt(&e) => return Err(e),
            // The build does not work: every scenario reports why.
            Err(e) => return Ok(ids.iter().map(|id| Scenario::failed(*id, &e)).collect()),
        };
        for id in ids.iter().copied() {
            if let Run::Cold(run) = id.def().run {
                record(&mut done, id, run(&ctx, id, &cold))?;
            }
        }
    } else {
        sb.note("setting up: the first develop in the copy (cold, not timed)");
        if let Err(e) = ctx.develop_until_importable("setup", plan.jobs) {
            if is_interrupt(&e) {
                return Err(e);
            }
            return Ok(ids.iter().map(|id| Scenario::failed(*id, &e)).collect());
        }
    }
    for id in ids.iter().copied() {
        if let Run::Warm(run) = id.def().run {
            record(&mut done, id, run(&ctx, id))?;
        }
    }
    Ok(done.into_values().collect())
}

/// Keeps a scenario's result, or its failure (the others still run); an interrupt stops
/// the bench.
fn record(done: &mut BTreeMap<Id, Scenario>, id: Id, result: Result<Scenario>) -> Result<()> {
    match result {
        Ok(s) => done.insert(id, s.finish()),
        Err(e) if is_interrupt(&e) => return Err(e),
        Err(e) => done.insert(id, Scenario::failed(id, &e)),
    };
    Ok(())
}

fn rlib_edit(ctx: &Ctx, id: Id) -> Result<Scenario> {
    match ctx.sb.ws.rlib_deps.first() {
        Some(krate) => crate_edit(ctx, id, krate),
        None => {
            let mut s = Scenario::new(id);
            s.skipped = Some(format!(
                "{} depends on no rlib of the workspace",
                ctx.sb.ws.cdylib.name
            ));
            Ok(s)
        }
    }
}

fn cdylib_edit(ctx: &Ctx, id: Id) -> Result<Scenario> {
    crate_edit(ctx, id, &ctx.sb.ws.cdylib)
}

/// The cold develops, and what the cgroup saw in each.
struct Cold {
    series: Series,
    usages: Vec<Option<Usage>>,
}

/// N cold develops (empty sccache, no target store), each in a memory cgroup when one
/// can be made, on all cores.
fn cold_develops(ctx: &Ctx) -> Result<Cold> {
    let jobs = crate::resources::cores();
    let mut series = Series::new("cold develop", ctx.develop_shown(jobs));
    let mut usages = Vec::new();
    for run in 0..ctx.plan.runs {
        ctx.progress("cold develops", "cold develop (empty caches): minutes", run);
        ctx.sb.make_cold()?;
        let group = match &ctx.plan.no_cgroup {
            None => Some(cgroup::Group::new("maou-build-bench", ctx.plan.mem_limit)?),
            Some(_) => None,
        };
        let develop = ctx.develop(jobs);
        let cmd = match &group {
            Some(g) => Cmd {
                argv: g.wrap(&develop.argv),
                ..develop.clone()
            },
            None => develop,
        };
        let built = ctx.sb.run("cold develop", &cmd);
        // The sccache server develop started is in the group: stop it before reading.
        ctx.sb.stop_sccache();
        let usage = group.map(|g| g.finish()).transpose()?;
        let built = built?;
        let imported = ctx.sb.run("cold develop", &ctx.import())?;
        let seconds = built.seconds + imported.seconds;
        ctx.sb.note(format!("  {seconds:.1} s"));
        series.push(seconds);
        usages.push(usage);
    }
    Ok(Cold { series, usages })
}

fn cold_cgroup(ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
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
            let peak = usages
                .iter()
                .flatten()
                .map(|u| u.peak_rss_bytes)
                .max()
                .unwrap_or(0);
            let with_cache = usages
                .iter()
                .flatten()
                .map(|u| u.peak_with_cache_bytes)
                .max()
                .unwrap_or(0);
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

fn cold_sccache(ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
    let cold = &cold.series;
    let mut s = Scenario::new(id);
    s.subject = Some(cold.clone());
    let cmd = ctx.bare_cargo(false).env(
        "CARGO_TARGET_DIR",
        ctx.sb
            .caches()
            .join("no-sccache-target")
            .display()
            .to_string(),
    );
    let mut base = Series::new("cold cargo build without sccache", ctx.sb.shown(&cmd));
    for run in 0..ctx.plan.runs {
        ctx.progress(id.name(), "cold cargo build without sccache: minutes", run);
        let _ = std::fs::remove_dir_all(ctx.sb.caches().join("no-sccache-target"));
        let r = ctx.sb.run("cold cargo build without sccache", &cmd)?;
        ctx.sb.note(format!("  {:.1} s", r.seconds));
        base.push(r.seconds);
    }
    let _ = std::fs::remove_dir_all(ctx.sb.caches().join("no-sccache-target"));
    s.baselines.push(base);
    s.facts.insert(
        "note".into(),
        "the subject is develop (its own work is under a second); the baseline is the cargo \
         command it runs, without RUSTC_WRAPPER"
            .into(),
    );
    Ok(s)
}

fn target_deleted(ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
    let cold = &cold.series;
    let mut s = Scenario::new(id);
    let mut subject = Series::new(
        "develop after rm -rf target",
        format!("rm -rf target && {}", ctx.develop_shown(ctx.plan.jobs)),
    );
    for run in 0..ctx.plan.runs {
        ctx.progress(id.name(), "rm -rf target, develop", run);
        ctx.sb.remove_target_link()?;
        let (seconds, _) =
            ctx.develop_until_importable("develop after rm -rf target", ctx.plan.jobs)?;
        subject.push(seconds);
    }
    s.subject = Some(subject);
    s.baselines.push(cold.clone());
    Ok(s)
}

fn store_lost(ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
    let cold = &cold.series;
    let mut s = Scenario::new(id);
    let mut subject = Series::new(
        "develop after losing target/ and its store",
        format!(
            "rm -rf \"$(readlink target)\" target && {}",
            ctx.develop_shown(ctx.plan.jobs)
        ),
    );
    let mut compiled = 0;
    for run in 0..ctx.plan.runs {
        ctx.progress(
            id.name(),
            "rm -rf the target store, develop (sccache warm)",
            run,
        );
        if let Some(store) = ctx.sb.target_store() {
            std::fs::remove_dir_all(&store)
                .with_context(|| format!("cannot remove {}", store.display()))?;
        }
        ctx.sb.remove_target_link()?;
        let (seconds, units) =
            ctx.develop_until_importable("develop after losing the store", ctx.plan.jobs)?;
        compiled = units.len();
        subject.push(seconds);
    }
    s.subject = Some(subject);
    s.baselines.push(cold.clone());
    s.facts.insert("units_compiled".into(), compiled.into());
    Ok(s)
}

/// An edit of `krate`, timed three ways, each after an edit of its own so that each
/// rebuilds the same: develop until importable, bare cargo (the floor), maturin develop.
fn crate_edit(ctx: &Ctx, id: Id, krate: &Crate) -> Result<Scenario> {
    let mut s = Scenario::new(id);
    s.facts.insert("crate".into(), krate.name.clone().into());
    s.facts.insert(
        "edited".into(),
        krate
            .lib_src
            .strip_prefix(&ctx.sb.root)
            .unwrap_or(&krate.lib_src)
            .display()
            .to_string()
            .into(),
    );
    let floor_cmd = ctx.bare_cargo(true);
    let maturin_cmd = ctx.maturin_develop();
    let mut subject = Series::new("develop until importable", ctx.develop_shown(ctx.plan.jobs));
    let mut floor = Series::new("bare cargo build (the floor)", ctx.sb.shown(&floor_cmd));
    let mut maturin = Series::new("maturin develop", ctx.sb.shown(&maturin_cmd));

    ctx.sb.note(format!(
        "{}: first maturin develop into its own target dir (not timed)",
        id.name()
    ));
    ctx.sb.run("maturin develop (setup)", &maturin_cmd)?;
    let mut compiled = Vec::new();
    for run in 0..ctx.plan.runs {
        ctx.progress(id.name(), &format!("edit {}, develop", krate.name), run);
        ctx.sb.edit_crate(krate)?;
        let (seconds, units) = ctx.develop_until_importable("develop", ctx.plan.jobs)?;
        subject.push(seconds);
        compiled = units;

        ctx.progress(
            id.name(),
            &format!("edit {}, bare cargo build", krate.name),
            run,
        );
        ctx.sb.edit_crate(krate)?;
        floor.push(ctx.sb.run("bare cargo build", &floor_cmd)?.seconds);

        ctx.progress(
            id.name(),
            &format!("edit {}, maturin develop", krate.name),
            run,
        );
        ctx.sb.edit_crate(krate)?;
        maturin.push(ctx.sb.run("maturin develop", &maturin_cmd)?.seconds);
    }
    s.facts.insert("units_compiled".into(), compiled.into());
    s.subject = Some(subject);
    s.baselines.push(floor);
    s.baselines.push(maturin);
    Ok(s)
}

fn python_edit(ctx: &Ctx, id: Id) -> Result<Scenario> {
    let mut s = Scenario::new(id);
    let mut subject = Series::new(
        "develop after a Python edit",
        ctx.develop_shown(ctx.plan.jobs),
    );
    // Whatever ran before (maturin develop, a bare cargo build) may have left develop's
    // build behind an edit: catch up first, so that only the Python edit is measured.
    ctx.sb
        .note("python-edit: develop once to catch up (not timed)");
    ctx.develop_until_importable("develop (catch up)", ctx.plan.jobs)?;
    let mut rustc = 0;
    for run in 0..ctx.plan.runs {
        ctx.progress(id.name(), "edit a .py file, develop", run);
        let file = ctx.sb.edit_python()?;
        s.facts.insert(
            "edited".into(),
            file.strip_prefix(&ctx.sb.root)
                .unwrap_or(&file)
                .display()
                .to_string()
                .into(),
        );
        let (seconds, units) = ctx.develop_until_importable("develop", ctx.plan.jobs)?;
        rustc += units.len();
        subject.push(seconds);
    }
    s.subject = Some(subject);
    s.facts.insert("rustc_invocations".into(), rustc.into());
    s.checks.push(Check {
        what: "no rustc ran".into(),
        ok: rustc == 0,
    });
    Ok(s)
}

/// The release wheel of one CPython after a cdylib edit, against the same wheel from
/// scratch (empty sccache and target store).
fn release_edit(ctx: &Ctx, id: Id) -> Result<Scenario> {
    let mut s = Scenario::new(id);
    let out = ctx.sb.caches().join("dist");
    let wheel = Cmd::new([
        ctx.sb.exe(),
        "wheel".into(),
        "--python".into(),
        ctx.plan.python.minor.to_string(),
        "--out".into(),
        out.display().to_string(),
        "--jobs".into(),
        ctx.plan.jobs.to_string(),
    ]);
    let shown = ctx.sb.shown(&wheel);
    let mut subject = Series::new("release wheel after a cdylib edit", shown.clone());
    let mut scratch = Series::new("release wheel from scratch", shown);
    for run in 0..ctx.plan.runs {
        ctx.progress(id.name(), "release wheel from scratch: many minutes", run);
        ctx.sb.make_cold()?;
        let r = ctx.sb.run("release wheel from scratch", &wheel)?;
        ctx.sb.note(format!("  {:.1} s", r.seconds));
        scratch.push(r.seconds);

        ctx.progress(id.name(), "edit the cdylib, release wheel", run);
        ctx.sb.edit_crate(&ctx.sb.ws.cdylib)?;
        let r = ctx.sb.run("release wheel after a cdylib edit", &wheel)?;
        ctx.sb.note(format!("  {:.1} s", r.seconds));
        subject.push(r.seconds);
    }
    s.facts
        .insert("python".into(), ctx.plan.python.minor.to_string().into());
    s.subject = Some(subject);
    s.baselines.push(scratch);
    Ok(s)
}
