//! The scenarios `maou-build bench` measures, each against a baseline timed in the same
//! run: a number alone means little, its ratio to the baseline is what is compared.

mod cold;
mod ctx;
mod deps;
mod prebuilt;
mod team;
mod uv;
mod warm;

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::{is_interrupt, Failure, Sandbox, Series};
use cold::{cold_cgroup, cold_develops, cold_sccache, cold_seed, store_lost, target_deleted, Cold};
use ctx::Ctx;
pub use ctx::Plan;
use deps::new_machine_edited;
use prebuilt::new_machine_prebuilt;
use team::team_cache;
use uv::{uv_run_after_develop, uv_sync_new_venv};
use warm::{cdylib_edit, python_edit, release_edit, rlib_edit, rlib_edit_bumped};

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

pub static SCENARIOS: [Def; 16] = [
    Def {
        name: "rlib-edit",
        title: "one-line edit in an rlib crate, then develop until importable",
        help: "one-line edit in an rlib, develop until importable; against bare cargo build \
               of the same rebuild with the seed's dev configuration (the seed floor) and \
               with the workspace's (the floor), and maturin develop",
        run: Run::Warm(rlib_edit),
    },
    Def {
        name: "cdylib-edit",
        title: "one-line edit in the cdylib crate, then develop until importable",
        help: "the same for the cdylib",
        run: Run::Warm(cdylib_edit),
    },
    Def {
        name: "rlib-edit-bumped",
        title: "an rlib edit with its version bump, as maou makes one, then develop",
        help: "the rlib-edit with the crate's patch version raised each time, as maou's \
               CLAUDE.md asks of every Rust change: its `-C metadata` changes, and every \
               dependent's, so rustc's incremental caches of them start over; against the \
               same baselines",
        run: Run::Warm(rlib_edit_bumped),
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
        help: "cold develop with an empty sccache; against develop's cargo command without \
               sccache, alternated",
        run: Run::Cold(cold_sccache),
    },
    Def {
        name: "cold-seed",
        title: "cold develop against the seed configuration's cold build",
        help: "cold develop with empty caches; against a cold build with the seed's dev \
               configuration (line tables for every crate), alternated",
        run: Run::Cold(cold_seed),
    },
    Def {
        name: "cold-cgroup",
        title: "cold develop in a memory cgroup, all cores",
        help: "the cold develops in a memory cgroup capped at --mem-limit on all cores: must \
               finish; peak memory of the process tree",
        run: Run::Cold(cold_cgroup),
    },
    Def {
        name: "new-machine-prebuilt",
        title: "a new checkout whose Rust inputs are the release's: develop until importable",
        help: "a fresh checkout with no build, no venv and empty caches, whose Rust inputs \
               are those the `latest` release records: develop installs the release's \
               extension (downloaded from a local stand-in for GitHub's API at 10 MB/s); \
               against the cold develops. Builds the release wheel first (not timed)",
        run: Run::Cold(new_machine_prebuilt),
    },
    Def {
        name: "new-machine-edited",
        title: "a new machine, one crate edited: develop with the release's dependency build",
        help: "a fresh checkout at the same path with one workspace crate edited and its \
               version bumped, a new HOME, no venv, empty caches and target store: develop \
               restores the dependency build (made first by `maou-build deps-archive`, not \
               timed; served by a local stand-in for GitHub's API at 50 MB/s) and compiles \
               only the workspace's crates; against the cold develops",
        run: Run::Cold(new_machine_edited),
    },
    Def {
        name: "team-cache",
        title: "a new machine with the team's Redis cache warm",
        help: "machine A builds cold and fills a local redis-server (sccache's Redis level \
               behind the local disk); machine B, a fresh checkout at the same path with empty \
               local caches and no venv, develops from it; against the cold develops. Once, \
               a checkout at another path: which crates still hit. Needs redis-server",
        run: Run::Cold(team_cache),
    },
    Def {
        name: "uv-run-after-develop",
        title: "uv run after develop, pyproject.toml changed: uv builds the project",
        help: "after develop, pyproject.toml touched (uv then builds the project through \
               maturin): `uv run` importing the module; the units it compiled (none is the \
               goal); against develop's no-op and the cold develops",
        run: Run::Cold(uv_run_after_develop),
    },
    Def {
        name: "uv-sync-new-venv",
        title: "a new venv by uv sync, the target store warm",
        help: "a new venv made by `uv sync` after pyproject.toml changed (uv builds the \
               project through maturin), then an import; the units compiled (none is the \
               goal); against the cold develops (goal: at most 0.10x)",
        run: Run::Cold(uv_sync_new_venv),
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

impl Check {
    /// `subject` within `goal`× the cold develops' median.
    fn within_cold(subject: &Series, cold: &Cold, goal: f64) -> Check {
        let ratio = subject.median / cold.series.median;
        Check {
            what: format!("within {goal}× the cold develop ({ratio:.3}×)"),
            ok: ratio <= goal,
        }
    }
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

/// Runs the scenarios `ids` in an order that shares work: the cold builds first (they
/// also warm the caches), the edits next, the release wheels last (their cold baseline
/// empties the caches). A failed scenario keeps its output; the others still run. An
/// interrupt stops the run and returns the scenarios that finished before it (the
/// sandbox's flag says it was interrupted).
pub fn run(sb: &Sandbox, plan: &Plan, ids: &[Id]) -> Result<Vec<Scenario>> {
    let mut done: BTreeMap<Id, Scenario> = BTreeMap::new();
    match run_into(&mut done, Ctx { sb, plan }, ids) {
        Err(e) if !is_interrupt(&e) => Err(e),
        _ => Ok(done.into_values().collect()),
    }
}

fn run_into(done: &mut BTreeMap<Id, Scenario>, ctx: Ctx, ids: &[Id]) -> Result<()> {
    let (sb, plan) = (ctx.sb, ctx.plan);

    // Cold develops: the baseline of target-deleted and store-lost, the subject of
    // cold-sccache and cold-cgroup. They also leave the caches warm for what follows.
    if ids.iter().any(|id| id.is_cold()) {
        let asked = |name: &str| ids.iter().any(|id| id.name() == name);
        let cold = match cold_develops(&ctx, asked("cold-seed"), asked("cold-sccache")) {
            Ok(cold) => cold,
            Err(e) if is_interrupt(&e) => return Err(e),
            Err(e) => {
                fail_all(done, ids, &e);
                return Ok(());
            }
        };
        for id in ids.iter().copied() {
            if let Run::Cold(run) = id.def().run {
                record(done, id, run(&ctx, id, &cold))?;
            }
        }
    } else {
        sb.note("setting up: the first develop in the copy (cold, not timed)");
        if let Err(e) = ctx.develop_until_importable("setup", plan.jobs) {
            if is_interrupt(&e) {
                return Err(e);
            }
            fail_all(done, ids, &e);
            return Ok(());
        }
    }
    for id in ids.iter().copied() {
        if let Run::Warm(run) = id.def().run {
            record(done, id, run(&ctx, id))?;
        }
    }
    Ok(())
}

/// The build does not work: every scenario reports why.
fn fail_all(done: &mut BTreeMap<Id, Scenario>, ids: &[Id], err: &anyhow::Error) {
    done.extend(ids.iter().map(|id| (*id, Scenario::failed(*id, err))));
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
