//! `maou-build develop`: the edit-to-import loop. Builds the cdylib with the workspace's
//! profile through sccache and places it in the editable package, so `import maou._rust`
//! sees it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::build_env::JobsArg;
use crate::develop::{Options, Outcome, Report};
use crate::messages::print_report;
use crate::python::Minor;
use crate::workspace::Workspace;

#[derive(clap::Args)]
#[command(
    about = "Build the extension (the profile [tool.maturin] names, else dev; sccache) into the editable package: the edit-to-import loop",
    long_about = "Build the extension through sccache and place it in the editable package, so \
    `import maou._rust` sees it. The profile is the one maturin builds for an editable \
    install (`[tool.maturin] editable-profile`, else `profile`), else dev; `--profile` \
    overrides it. The cargo command and its PyO3 variables are maturin's, so that uv's \
    builds (`uv run`, `uv sync`) find everything built.\n\n\
    The first run creates the venv (uv) and, after the build, has uv install the package in \
    editable mode (uv's own record: `uv run` then builds nothing); develop says what in \
    pyproject.toml would make uv's later builds differ. Python edits are then live with no \
    build. Every run compiles only what changed (nothing at all \
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
    /// The cargo profile to build [default: `[tool.maturin] editable-profile`, else
    /// `profile`, as maturin and uv build an editable install, else dev]. develop's own
    /// choices (sccache, the target store, the dev dylib) apply to any profile without
    /// LTO; one with LTO links everything into the extension
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Short for `--profile release` (thin LTO, as the wheels), for a local check
    #[arg(long, conflicts_with = "profile")]
    release: bool,
    /// Full debuginfo for every crate, third-party ones included, for a debugging session.
    /// The extension grows to about a gigabyte and every crate is compiled once more
    /// (sccache keeps both variants); the next develop without it goes back to the
    /// profile as the workspace defines it
    #[arg(long, conflicts_with = "release")]
    full_debuginfo: bool,
    /// Print the sccache hits and misses of this build
    #[arg(long)]
    stats: bool,
    /// Always build, from nothing the release holds. Without it, a checkout with no build
    /// yet whose Rust inputs are exactly those the `latest` release was built from gets
    /// that release's extension (checked against its SHA-256) instead of a cold build; the
    /// next Rust edit builds the dev profile. And a target store without a build of the
    /// profile yet (a new one, one re-pointed to a new cache) whose third-party crates,
    /// toolchain, profile, features, interpreter and CARGO_HOME are those of a dependency
    /// build on the release (`maou-build deps-archive`) gets it, checked against its
    /// record: then only the workspace's own crates compile
    #[arg(long)]
    no_prebuilt: bool,
    /// Print the report as JSON on stdout (progress still goes to stderr)
    #[arg(long)]
    json: bool,
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let ws = Workspace::discover(workspace)?;
    let opts = Options {
        python: args.python,
        venv: args.venv.clone(),
        jobs: args.jobs.clone(),
        features: args.features.clone(),
        profile: if args.release {
            Some("release".to_owned())
        } else {
            args.profile.clone()
        },
        dev_override: args
            .full_debuginfo
            .then_some(crate::profile::DevOverride::FullDebuginfo),
        stats: args.stats,
        prebuilt: !args.no_prebuilt,
    };
    match crate::develop::run(&ws, &opts)? {
        Outcome::Built(report) => {
            print_report(args.json, &*report, |r| print_text(&ws, r))?;
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Prebuilt(report) => {
            print_report(args.json, &*report, |r| {
                let shown = r
                    .installed
                    .strip_prefix(&ws.root)
                    .unwrap_or(&r.installed)
                    .display();
                let how = if r.downloaded {
                    format!("downloaded {:.1} MB", r.prebuilt.downloaded as f64 / 1e6)
                } else {
                    "placed by an earlier develop".to_owned()
                };
                println!(
                    "{shown} is the RELEASE build from the {} ({}, {how}, SHA-256 checked) in \
                     {:.1} s: the Rust sources are exactly those it was built from. The next \
                     Rust edit builds the dev profile (`--no-prebuilt` builds now).",
                    r.prebuilt.release, r.prebuilt.wheel, r.total_seconds
                );
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Outcome::BuildFailed => Ok(ExitCode::from(1)),
    }
}

fn print_text(ws: &Workspace, r: &Report) {
    let shown = r
        .installed
        .strip_prefix(&ws.root)
        .unwrap_or(&r.installed)
        .display();
    if r.compiled.is_empty() && r.replaced {
        println!(
            "placed {shown} in {:.1} s: nothing compiled, the build was already there",
            r.total_seconds
        );
    } else if r.compiled.is_empty() {
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
    if r.replaced {
        if let Some(c) = &r.companion {
            let names: Vec<&str> = c.libraries.iter().map(|(n, _)| n.as_str()).collect();
            println!(
                "it loads {} ({:.0} MB) where cargo and the toolchain keep them",
                names.join(", "),
                c.bytes as f64 / 1e6
            );
        }
    }
    if let Some(d) = &r.sccache {
        println!(
            "sccache: {} hits, {} misses, {} not cacheable (proc-macros, build scripts, the cdylib, a dev dylib)",
            d.hits, d.misses, d.not_cacheable
        );
        if let (Some(hits), Some(writes)) = (d.remote_hits, d.remote_writes) {
            println!("team cache: {hits} of the hits came from it, {writes} entries written to it");
        }
    }
}
