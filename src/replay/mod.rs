//! The replay of the flake's CI chain (`maou-build bench --scenarios ci-chain`): Nix cannot
//! build here, so the derivations the flake evaluates to (through the real crane, fenix and
//! nixpkgs lib, by the nix-eval harness) are built outside Nix with the host's toolchain,
//! each with its own commands and environment read from its `.drv`, each cargo step from
//! the target directory of the one before as crane's hooks restore it. Three scenarios on
//! one store: from scratch, then a one-line edit in the extension's crate, then one in the
//! rlib the chain builds first; what cargo compiled in each step, and the seconds, are the
//! report. Last, the chain's wheels are compared with `maou-build wheel`'s.

mod compare;
pub mod drv;
mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::messages::note;
use crate::workspace::Workspace;
use store::Store;

/// One scenario of the replay: the edit before it, if any.
struct Scenario {
    name: &'static str,
    title: &'static str,
    edit: Edit,
}

#[derive(Clone, Copy)]
enum Edit {
    None,
    /// The crate that becomes the extension module.
    Cdylib,
    /// The rlib crate of the chain's first rlib step: an edit there reruns every step
    /// after the dependencies.
    FirstRlibStep,
}

const SCENARIOS: [Scenario; 3] = [
    Scenario {
        name: "from-scratch",
        title: "every derivation built, nothing in the store",
        edit: Edit::None,
    },
    Scenario {
        name: "cdylib-edit",
        title: "after a one-line edit in the extension's crate",
        edit: Edit::Cdylib,
    },
    Scenario {
        name: "rlib-edit",
        title: "after a one-line edit in the rlib the chain builds first",
        edit: Edit::FirstRlibStep,
    },
];

#[derive(Debug, Serialize)]
pub struct Report {
    pub flake: String,
    pub harness: String,
    pub cores: usize,
    pub scenarios: Vec<ScenarioReport>,
    pub lead_times: Vec<LeadTime>,
    /// The chain's wheels against `maou-build wheel`'s (when the chain ends in the wheels),
    /// or why they could not be compared.
    pub wheel_check: Option<Result<compare::WheelCheck, String>>,
    pub total_seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct ScenarioReport {
    pub name: &'static str,
    pub title: &'static str,
    /// The edited crate, if any.
    pub edited: Option<String>,
    /// The chain's cargo steps in order: dependencies, each rlib, the wheels.
    pub steps: Vec<Step>,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct Step {
    /// The flake's package name (`maou-deps`, `maou-io`, ..., `wheels`).
    pub name: String,
    pub drv: String,
    /// false when the store already had its output (the derivation did not change).
    pub built: bool,
    pub compiled: Vec<String>,
    pub seconds: f64,
}

/// Push to every CPython's wheel ready, from the replay's build times.
#[derive(Debug, Serialize)]
pub struct LeadTime {
    pub scenario: &'static str,
    /// The chain's steps that had to be built, one after another, on this machine.
    pub seconds: f64,
    /// An estimate, not a measurement: see [four_core_estimate].
    pub four_core_estimate_seconds: f64,
}

pub struct Options {
    pub nix_eval: Option<PathBuf>,
    pub cores: usize,
    /// The flake package the chain ends in [default: `wheels`].
    pub end: Option<String>,
}

/// Replays the chain of the flake at `ws.root` in all three scenarios.
pub fn run(ws: &Workspace, opts: &Options) -> Result<Report> {
    let started = Instant::now();
    if !ws.root.join("flake.nix").is_file() {
        bail!(
            "{} has no flake.nix: the ci-chain replay builds the derivations of the \
             workspace's Nix flake, and needs one",
            ws.root.display()
        );
    }
    let harness = drv::harness(opts.nix_eval.as_deref(), &ws.root)?;
    let tmp = tempfile::Builder::new()
        .prefix("maou-build-replay-")
        .tempdir()
        .context("cannot create a temporary directory for the replay")?;
    let flake = tmp.path().join("flake");
    crate::fsutil::copy_sources(&ws.root, &flake, &extension_prefix(ws))
        .with_context(|| format!("copying {} to {}", ws.root.display(), flake.display()))?;
    // Whatever happens, nothing is left behind: the store is read-only, as Nix leaves it.
    let outcome = replay_all(&flake, &harness, tmp.path(), opts);
    store::remove(tmp.path())?;
    let (scenarios, lead_times, wheel_check) = outcome?;
    let report = Report {
        flake: ws.root.display().to_string(),
        harness: harness.display().to_string(),
        cores: opts.cores,
        scenarios,
        lead_times,
        wheel_check,
        total_seconds: started.elapsed().as_secs_f64(),
    };
    Ok(report)
}

type Replayed = (
    Vec<ScenarioReport>,
    Vec<LeadTime>,
    Option<Result<compare::WheelCheck, String>>,
);

fn replay_all(flake: &Path, harness: &Path, tmp: &Path, opts: &Options) -> Result<Replayed> {
    let copied = Workspace::load(&flake.join("pyproject.toml"))?;
    note(format!("replay: the flake's copy is {}", flake.display()));
    let mut store = Store::create(&tmp.join("replay"), drv::out_placeholder()?, opts.cores)?;

    let end = opts.end.as_deref().unwrap_or(WHEELS);
    let mut scenarios: Vec<ScenarioReport> = Vec::new();
    let mut last_out = None;
    for (n, scenario) in SCENARIOS.iter().enumerate() {
        let edited = match scenario.edit {
            Edit::None => None,
            Edit::Cdylib => Some(&copied.cdylib),
            Edit::FirstRlibStep => Some(first_rlib_step(&copied, &scenarios[0].steps)?),
        };
        if let Some(krate) = edited {
            krate.edit(n as u32)?;
        }
        note(format!("replay: {}: {}", scenario.name, scenario.title));
        let t = Instant::now();
        let (steps, out) = replay_once(&mut store, harness, flake, end)
            .with_context(|| format!("the {} scenario", scenario.name))?;
        last_out = Some(out);
        scenarios.push(ScenarioReport {
            name: scenario.name,
            title: scenario.title,
            edited: edited.map(|c| c.name.clone()),
            steps,
            seconds: t.elapsed().as_secs_f64(),
        });
    }
    store.clean_build_dir()?;
    let lead_times = scenarios
        .iter()
        .filter(|s| s.edited.is_some())
        .map(|s| LeadTime {
            scenario: s.name,
            seconds: s.steps.iter().map(|st| st.seconds).sum(),
            four_core_estimate_seconds: s
                .steps
                .iter()
                .map(|st| four_core_estimate(st, opts.cores))
                .sum(),
        })
        .collect();
    // The scenarios' figures are kept whatever happens to the comparison.
    let wheel_check = match last_out {
        Some(out) if end == WHEELS => Some(
            compare::against_checkout(
                flake,
                &extension_prefix(&copied),
                &out,
                store::SOURCE_DATE_EPOCH,
                tmp,
            )
            .map_err(|e| format!("{e:#}")),
        ),
        _ => None,
    };
    Ok((scenarios, lead_times, wheel_check))
}

/// The flake package that ends the chain: the wheels of every CPython.
const WHEELS: &str = "wheels";

/// What names a built extension module, which copies leave out (`_rust.` for `maou._rust`).
fn extension_prefix(ws: &Workspace) -> String {
    format!("{}.", ws.module_leaf())
}

/// The workspace rlib the chain builds in its first step after the dependencies (the
/// flake names each rlib step after its crate, `_` written `-`).
fn first_rlib_step<'a>(ws: &'a Workspace, steps: &[Step]) -> Result<&'a crate::workspace::Crate> {
    let step = steps
        .get(1)
        .filter(|s| steps.len() > 2 || s.name != WHEELS)
        .with_context(|| {
            format!(
                "the chain has no rlib step between the dependencies and the wheels: {}",
                steps
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" → ")
            )
        })?;
    ws.rlib_deps
        .iter()
        .find(|c| c.name.replace('_', "-") == step.name)
        .with_context(|| {
            format!(
                "the chain's step `{}` is named after no rlib crate that {} depends on ({})",
                step.name,
                ws.cdylib.name,
                ws.rlib_deps
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// Evaluates the flake, builds its wheels, and reports the chain's cargo steps.
fn replay_once(
    store: &mut Store,
    harness: &Path,
    flake: &Path,
    end: &str,
) -> Result<(Vec<Step>, PathBuf)> {
    let packages = drv::evaluate(harness, flake)?;
    let wheels = packages
        .get(end)
        .with_context(|| {
            format!(
                "the flake has no package `{end}` to replay (it has {})",
                packages.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?
        .clone();
    store.drvs.extend(drv::closure(&wheels)?);
    let chain = chain_of(store, &wheels)?;
    let before = store.built.len();
    let out = store.realize(&wheels)?;
    let built: BTreeMap<&str, &store::Built> = store.built[before..]
        .iter()
        .map(|b| (b.drv.as_str(), b))
        .collect();
    let name_of: BTreeMap<&str, &str> = packages
        .iter()
        .map(|(name, drv)| (drv.as_str(), name.as_str()))
        .collect();
    let steps = chain
        .iter()
        .map(|drv| {
            let b = built.get(drv.as_str());
            Step {
                name: name_of
                    .get(drv.as_str())
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| store.drvs[drv].var("pname").to_owned()),
                drv: drv.clone(),
                built: b.is_some(),
                compiled: b.map(|b| b.compiled.clone()).unwrap_or_default(),
                seconds: b.map(|b| b.seconds).unwrap_or(0.0),
            }
        })
        .collect();
    Ok((steps, out))
}

/// The cargo steps that end in `last`, first to last: each step's `cargoArtifacts` is the
/// output of the one before.
fn chain_of(store: &Store, last: &str) -> Result<Vec<String>> {
    let by_out: BTreeMap<&str, &str> = store
        .drvs
        .iter()
        .filter_map(|(path, d)| Some((d.out().ok()?, path.as_str())))
        .collect();
    let mut chain = vec![last.to_owned()];
    loop {
        let current = &store.drvs[chain.last().unwrap()];
        let from = current.var("cargoArtifacts");
        if from.is_empty() {
            break;
        }
        let previous = by_out.get(from).with_context(|| {
            format!(
                "no derivation makes {from}, the cargoArtifacts of {}",
                current.var("name")
            )
        })?;
        chain.push((*previous).to_owned());
    }
    chain.reverse();
    Ok(chain)
}

/// A 4-core runner's time for a step, estimated (not measured): the rebuilt crates of an
/// edit compile one after another (each waits for the one it depends on, and the release
/// profile has one codegen unit), so up to three crates take as long; a larger build has
/// crates to compile side by side, and is taken to scale with the cores.
pub fn four_core_estimate(step: &Step, cores: usize) -> f64 {
    if step.compiled.len() <= 3 {
        step.seconds
    } else {
        step.seconds * (cores as f64 / 4.0).min(1.0)
    }
}
