//! `maou-build wheel`: release wheels (thin LTO, from Cargo.toml's release
//! profile) for each CPython, linked against the platform's glibc through zig, audited,
//! and only then moved into `dist/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::audit::{self, Report as AuditReport};
use crate::build_env::{self, BuildEnv, Cache, JobsArg};
use crate::messages::{note, print_report};
use crate::python::{self, Minor};
use crate::resources::Jobs;
use crate::sccache::Delta;
use crate::target_dir::TargetDir;
use crate::wheels::{self, Plan, Staged, Staging};
use crate::workspace::{Features, Workspace};
use crate::zig::{self, Zig};

#[derive(clap::Args)]
#[command(
    about = "Build audited release wheels (thin LTO) for each allowed CPython, for the workspace's platform",
    long_about = "Build one release wheel per CPython that requires-python allows and this \
    machine has (or those given with --python), for the platform in [tool.maturin] \
    compatibility (manylinux_2_28 by default): Cargo.toml's release profile (thin LTO) as it \
    is, linked against the platform's glibc by zig through maturin.\n\n\
    An extension on the stable ABI (pyo3's abi3 features) is built once and packaged into \
    each CPython's wheel (NAME-VERSION-cpXY-cpXY-PLATFORM.whl); otherwise each CPython's \
    build shares one target directory, so only PyO3 and the cdylib are rebuilt per \
    interpreter. Each wheel is then audited (as `maou-build audit`), and only wheels that \
    pass are moved into the output directory: a failed build or audit leaves nothing there.\n\n\
    Features: [tool.maturin] features (every build), [tool.maou-build] wheel-features (the \
    distributed wheels; the flake's CI chain reads the same list) and -F on the command line.\n\n\
    Wheels are reproducible: the same source and SOURCE_DATE_EPOCH give the same bytes. \
    SOURCE_DATE_EPOCH defaults to the time of the last git commit. sccache is used when it \
    is on PATH."
)]
pub struct Args {
    /// CPython to build for, e.g. 3.12; repeat for several [default: every one allowed and installed]
    #[arg(long = "python", value_name = "VERSION")]
    pythons: Vec<Minor>,
    /// Directory for the wheels [default: dist/ in the workspace]
    #[arg(long, short = 'o', value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    jobs: JobsArg,
    #[command(flatten)]
    features: Features,
    /// Print the report as JSON on stdout (progress still goes to stderr)
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    out: PathBuf,
    platform: String,
    source_date_epoch: u64,
    source_date_epoch_from: String,
    zig: Zig,
    jobs: Jobs,
    target: TargetDir,
    wheels: Vec<Built>,
    /// Crates compiled by the first build (in build order) and reused by the later ones.
    shared: Vec<String>,
    /// The order the interpreters were built (or packaged) in.
    build_order: Vec<Minor>,
    /// The compiler cache's hits and misses; null when no sccache was found.
    sccache: Option<Delta>,
    total_seconds: f64,
}

#[derive(Serialize)]
struct Built {
    #[serde(flatten)]
    staged: Staged,
    sha256: String,
    size: u64,
    audit: AuditReport,
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let started = Instant::now();
    let ws = Workspace::discover(workspace)?;
    let policy = crate::audit::platform_of(Some(&ws))?;
    let interpreters = python::select(&ws.requires_python, &args.pythons)?;
    crate::process::on_path("maturin")
        .context("maturin is not on PATH: install it with `pip install maturin`")?;
    let executables: Vec<PathBuf> = interpreters.iter().map(|i| i.executable.clone()).collect();
    let zig = zig::find(&executables)?;
    let (epoch, epoch_from) = wheels::source_date_epoch(&ws)?;
    let remaps = ws.dependency_sources(&policy.rust_target)?;

    let cache = build_env::find_cache(&ws, Cache::IfFound)?;
    let build = BuildEnv::prepare(&ws, cache, &args.jobs)?;
    let jobs = build.jobs.clone();

    let out = args.out.clone().unwrap_or_else(|| ws.root.join("dist"));
    fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let out = out
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", out.display()))?;
    let staging = Staging::create(&out)?;

    note(format!(
        "{} release wheels for {} ({}, zig {} via {}), jobs: {}, SOURCE_DATE_EPOCH={epoch} ({epoch_from})",
        ws.package,
        interpreters.iter().map(|i| format!("CPython {}", i.version)).collect::<Vec<_>>().join(" and "),
        policy.name,
        zig.version,
        zig.found_via,
        jobs.why
    ));
    let plan = Plan {
        ws: &ws,
        policy: &policy,
        interpreters,
        features: Features {
            features: ws.wheel_features.clone(),
            ..Features::default()
        }
        .and(&args.features),
        jobs: jobs.jobs,
        epoch,
        zig: &zig,
        remaps,
        env: build.vars(),
        target: &build.target.path,
    };
    let staged = plan.build(&staging.0)?;

    let mut failed = false;
    let mut wheels = Vec::new();
    for wheel in staged {
        let audit = audit::audit_path(
            &policy,
            &wheel.file,
            &audit::Options {
                repair: false,
                out: None,
                module: Some(&ws.module_name),
            },
        )?;
        if !audit.ok {
            failed = true;
            print!("{audit}");
        }
        wheels.push(Built {
            staged: wheel,
            sha256: String::new(),
            size: 0,
            audit,
        });
    }
    if failed {
        note("the audit failed (above); no wheel was placed in the output directory");
        return Ok(ExitCode::from(1));
    }
    for wheel in &mut wheels {
        let file = &wheel.staged.file;
        let bytes = fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        wheel.sha256 = crate::wheel::sha256_hex(&bytes);
        wheel.size = bytes.len() as u64;
        let dest = out.join(file.file_name().unwrap_or_default());
        fs::rename(file, &dest)
            .with_context(|| format!("cannot move {} to {}", file.display(), dest.display()))?;
        wheel.staged.file = dest.clone();
        wheel.audit.path = dest;
    }
    drop(staging);

    // Built in the order that was cheapest; reported in version order.
    let staged: Vec<Staged> = wheels.iter().map(|w| w.staged.clone()).collect();
    let shared = wheels::shared_crates(&ws, &staged);
    let build_order = staged.iter().map(|w| w.python).collect();
    wheels.sort_by_key(|w| w.staged.python);
    let sccache = build.sccache_delta();
    let report = Report {
        out,
        platform: policy.name.clone(),
        source_date_epoch: epoch,
        source_date_epoch_from: epoch_from,
        zig,
        jobs,
        target: build.target,
        shared,
        build_order,
        wheels,
        sccache,
        total_seconds: started.elapsed().as_secs_f64(),
    };
    print_report(args.json, &report, |r| print_text(&ws, r))?;
    Ok(ExitCode::SUCCESS)
}

fn print_text(ws: &Workspace, r: &Report) {
    for w in &r.wheels {
        println!(
            "{} ({:.1} MB, sha256 {}): audited {} ok",
            w.staged.file.display(),
            w.size as f64 / 1e6,
            &w.sha256[..16],
            w.audit.policy
        );
        match w.staged.packaged_from {
            Some(from) => println!(
                "  CPython {}: the stable-ABI extension built for CPython {from}, packaged",
                w.staged.python
            ),
            None => println!(
                "  CPython {}: built in {:.0} s, {} crates compiled{}",
                w.staged.python,
                w.staged.build_seconds,
                w.staged.compiled.len(),
                if w.staged.compiled.len() <= 12 {
                    format!(": {}", w.staged.compiled.join(", "))
                } else {
                    String::new()
                }
            ),
        }
    }
    let builds = r
        .wheels
        .iter()
        .filter(|w| w.staged.packaged_from.is_none())
        .count();
    if builds > 1 {
        let rlibs: Vec<&str> = ws
            .rlib_deps
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| r.shared.iter().any(|s| s == n))
            .collect();
        println!(
            "shared: {} crates compiled once for all interpreters{}",
            r.shared.len(),
            if rlibs.is_empty() {
                String::new()
            } else {
                format!(", among them {}", rlibs.join(", "))
            }
        );
    }
    match &r.sccache {
        Some(d) => println!(
            "sccache: {} hits, {} misses; total {:.0} s",
            d.hits, d.misses, r.total_seconds
        ),
        None => println!("no compiler cache; total {:.0} s", r.total_seconds),
    }
}
