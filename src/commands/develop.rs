//! `maou-build develop`: the edit-to-import loop. Builds the cdylib with the dev profile through
//! sccache and places it in the editable package, so `import maou._rust` sees it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::build_env::{self, BuildEnv, Cache, JobsArg};
use crate::cargo_build::Request;
use crate::editable::{self, Venv};
use crate::messages::{note, print_report};
use crate::python::Minor;
use crate::resources::Jobs;
use crate::sccache::Delta;
use crate::target_dir::TargetDir;
use crate::workspace::Workspace;

#[derive(clap::Args)]
#[command(
    about = "Build the extension (dev profile, sccache) into the editable package: the edit-to-import loop",
    long_about = "Build the extension with the dev profile through sccache and place it in the \
    editable package, so `import maou._rust` sees it.\n\n\
    The first run creates the venv (uv) and installs the package in editable mode: Python \
    edits are then live with no build. Every run compiles only what changed (nothing at all \
    after a Python-only edit) and replaces the extension atomically; a failed build leaves \
    the previous extension in place.\n\n\
    target/ is a link to a store under ~/.cache/maou-build (MAOU_BUILD_CACHE), kept when \
    target/ is lost, so recovery takes seconds rather than a rebuild."
)]
pub struct Args {
    /// CPython for the venv, e.g. 3.12 [default: the newest installed that requires-python allows]
    #[arg(long, value_name = "VERSION")]
    python: Option<Minor>,
    /// The venv to create or use [default: .venv in the workspace]
    #[arg(long, value_name = "DIR")]
    venv: Option<PathBuf>,
    #[command(flatten)]
    jobs: JobsArg,
    #[command(flatten)]
    features: crate::workspace::Features,
    /// Build the release profile (thin LTO) instead of dev, for a local check
    #[arg(long)]
    release: bool,
    /// Print the sccache hits and misses of this build
    #[arg(long)]
    stats: bool,
    /// Print the report as JSON on stdout (progress still goes to stderr)
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    module: String,
    profile: &'static str,
    venv: Venv,
    jobs: Jobs,
    target: TargetDir,
    sccache_server: Option<String>,
    command: String,
    /// Units rustc compiled: empty when nothing in Rust changed.
    compiled: Vec<String>,
    library: PathBuf,
    installed: PathBuf,
    /// Whether the installed extension was replaced.
    replaced: bool,
    sccache: Option<Delta>,
    build_seconds: f64,
    total_seconds: f64,
}

/// Same file, or a copy that is at least as new as the library.
fn up_to_date(installed: &Path, library: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(a), Ok(b)) = (fs::metadata(installed), fs::metadata(library)) else {
        return false;
    };
    (a.dev() == b.dev() && a.ino() == b.ino()) || (a.len() == b.len() && a.mtime() >= b.mtime())
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let started = Instant::now();
    let ws = Workspace::discover(workspace)?;
    let cache = build_env::find_cache(&ws, Cache::Required)?;
    let venv_dir = args.venv.clone().unwrap_or_else(|| ws.root.join(".venv"));
    let venv = editable::ensure(&ws, &venv_dir, args.python)?;
    for action in &venv.actions {
        note(action);
    }

    let build = BuildEnv::prepare(&ws, cache, &args.jobs)?;
    let jobs = build.jobs.clone();
    let sccache_server = build.server_restarted.clone();

    let request = Request {
        ws: &ws,
        release: args.release,
        jobs: jobs.jobs,
        python: &venv.python,
        features: ws.features.and(&args.features),
        env: build.vars(),
    };
    let profile = if args.release { "release" } else { "dev" };
    let leaf = ws.module_name.rsplit('.').next().unwrap_or(&ws.module_name);
    let installed = ws
        .package_dir()
        .join(format!("{leaf}{}", venv.interpreter.ext_suffix));
    note(format!(
        "{} ({profile}) for CPython {}, jobs: {}",
        ws.module_name, venv.interpreter.version, jobs.why
    ));

    let outcome = match request.run() {
        Ok(outcome) => outcome,
        Err(err) => {
            note(format!("error: {err:#}"));
            if installed.exists() {
                note(format!(
                    "the previous extension is still in place: {}",
                    installed.display()
                ));
            }
            return Ok(ExitCode::from(1));
        }
    };
    let sccache_delta = build.sccache_delta().filter(|_| args.stats);

    let replaced = !up_to_date(&installed, &outcome.library);
    if replaced {
        fs::create_dir_all(ws.package_dir())
            .with_context(|| format!("cannot create {}", ws.package_dir().display()))?;
        crate::fsutil::place_atomic(&outcome.library, &installed)?;
    }

    let command = request.shown();
    drop(request);
    let report = Report {
        module: ws.module_name.clone(),
        profile,
        venv,
        jobs,
        target: build.target,
        sccache_server,
        command,
        compiled: outcome.compiled,
        library: outcome.library,
        installed,
        replaced,
        sccache: sccache_delta,
        build_seconds: outcome.elapsed.as_secs_f64(),
        total_seconds: started.elapsed().as_secs_f64(),
    };
    print_report(args.json, &report, |r| print_text(&ws, r))?;
    Ok(ExitCode::SUCCESS)
}

fn print_text(ws: &Workspace, r: &Report) {
    let shown = r
        .installed
        .strip_prefix(&ws.root)
        .unwrap_or(&r.installed)
        .display();
    if r.compiled.is_empty() && !r.replaced {
        println!(
            "nothing changed: {shown} is up to date ({:.2} s); Python edits are live without a build",
            r.total_seconds
        );
    } else {
        let names: Vec<&str> = r
            .compiled
            .iter()
            .map(|c| c.split(' ').next().unwrap_or(c))
            .collect();
        let listed = if names.len() > 6 {
            format!("{}, ... ({} in all)", names[..6].join(", "), names.len())
        } else {
            names.join(", ")
        };
        println!(
            "built {shown} in {:.1} s ({} compiled: {listed})",
            r.total_seconds,
            names.len()
        );
    }
    if let Some(d) = &r.sccache {
        println!(
            "sccache: {} hits, {} misses, {} not cacheable (proc-macros, build scripts, the cdylib)",
            d.hits, d.misses, d.not_cacheable
        );
    }
}
