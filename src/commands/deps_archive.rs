//! `maou-build deps-archive`: builds as develop does and packs the dependency build for
//! the release ([crate::deps_archive]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use crate::build_env::JobsArg;
use crate::develop::Options;
use crate::messages::print_report;
use crate::python::Minor;
use crate::workspace::Workspace;

#[derive(clap::Args)]
#[command(
    about = "Build as develop does and pack the third-party crates' build and the dev dylib, for the release (CI)",
    long_about = "Build the extension as `maou-build develop` does (its profile, features, \
    interpreter and venv, never the release's build), then pack the target store's units of \
    the third-party crates and of the dev dylib into `<out>/maou-build-deps.<profile>.<cpXY>.\
    <host>.<digest>.tar.zst`, with a record beside it (`.json`: the key, the SHA-256, the \
    size). `maou-build publish-latest --deps <out>` puts both on the release; a develop on \
    a new machine whose Rust sources differ from the release's restores the archive into \
    its empty target store and compiles only the workspace's own crates.\n\n\
    The key holds what decides those crates: the toolchain, the profile as cargo resolves \
    it, the features, the interpreter, rustc's flags, the lock's third-party packages and \
    the members' dependency declarations (not their versions), the dev dylib's files, and \
    CARGO_HOME (cargo's fingerprints hold the registry's path). Build it where the team's \
    machines build: the same CARGO_HOME and, best, the same checkout path (the dev \
    container's /workspaces/<repo>); at another path pyo3 and what depends on it rebuild."
)]
pub struct Args {
    /// CPython to build for, e.g. 3.12; repeat for several [default: every one
    /// requires-python allows that is installed: a new machine's develop may take any]
    #[arg(long, value_name = "VERSION")]
    python: Vec<Minor>,
    /// The venv to create or use [default: .venv in the workspace]
    #[arg(long, value_name = "DIR")]
    venv: Option<PathBuf>,
    #[command(flatten)]
    jobs: JobsArg,
    #[command(flatten)]
    features: crate::workspace::Features,
    /// The cargo profile to build and pack, as `develop --profile` takes it [default: the
    /// one develop builds: `[tool.maturin] editable-profile`, else `profile`, else dev].
    /// A new machine's develop restores only the build of the profile it builds
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Where to write the archive and its record [default: dist/deps in the workspace]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// zstd's level (1-19): higher is smaller and slower to pack; unpacking is as fast
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(i32).range(1..=19))]
    level: i32,
    /// Print the report as JSON on stdout
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    python: Minor,
    archive: PathBuf,
    record: PathBuf,
    bytes: u64,
    files: u64,
    unpacked: u64,
    pack_seconds: f64,
    build_seconds: f64,
    compiled: usize,
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let ws = Workspace::discover(workspace)?;
    let opts = Options {
        python: None,
        venv: args.venv.clone(),
        jobs: args.jobs.clone(),
        features: args.features.clone(),
        profile: args.profile.clone(),
        dev_override: None,
        stats: false,
        prebuilt: false,
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| ws.root.join("dist/deps"));
    let Some(built) =
        crate::develop::dependency_archives(&ws, &opts, &args.python, &out, args.level)?
    else {
        return Ok(ExitCode::from(1));
    };
    let reports: Vec<Report> = built
        .into_iter()
        .map(|(built, packed)| Report {
            python: built.venv.interpreter.minor,
            archive: packed.archive,
            record: packed.record_path,
            bytes: packed.record.size,
            files: packed.record.files,
            unpacked: packed.record.unpacked,
            pack_seconds: packed.seconds,
            build_seconds: built.build_seconds,
            compiled: built.compiled.len(),
        })
        .collect();
    print_report(args.json, &reports, |reports| {
        for r in reports {
            println!(
                "CPython {}: packed {} ({:.1} MB from {:.1} MB in {} files, {:.1} s; the \
                 build took {:.1} s, {} units)\n  record: {}",
                r.python,
                r.archive.display(),
                r.bytes as f64 / 1e6,
                r.unpacked as f64 / 1e6,
                r.files,
                r.pack_seconds,
                r.build_seconds,
                r.compiled,
                r.record.display()
            );
        }
    })?;
    Ok(ExitCode::SUCCESS)
}
