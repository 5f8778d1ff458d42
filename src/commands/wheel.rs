//! `maou-build wheel`: release wheels (thin LTO, from Cargo.toml's release
//! profile) for each CPython, linked against the platform's glibc through zig, audited,
//! and only then moved into `dist/`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::build_env::JobsArg;
use crate::messages::{note, print_report};
use crate::python::Minor;
use crate::release_build::run::{Options, Outcome, Report};
use crate::workspace::{Features, Workspace};

/// `wheel --help`, naming the default platform from its one source.
fn long_about() -> String {
    format!(
        "Build one release wheel per CPython that requires-python allows and this \
         machine has (or those given with --python), for the platform in [tool.maturin] \
         compatibility ({} by default): Cargo.toml's release profile (thin LTO) as it \
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
         is on PATH.",
        crate::audit::default_platform()
    )
}

#[derive(clap::Args)]
#[command(
    about = "Build audited release wheels (thin LTO) for each allowed CPython, for the workspace's platform",
    long_about = long_about()
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
    /// Print the maturin commands the build would run, with the variables each gets, and
    /// build nothing (the flake's CI chain runs the same command in every step; with
    /// --json, a list of {python, interpreter, dir, args, env, shown, packaged_for})
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON on stdout (progress still goes to stderr)
    #[arg(long)]
    json: bool,
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let ws = Workspace::discover(workspace)?;
    let opts = Options {
        pythons: args.pythons.clone(),
        out: args.out.clone(),
        jobs: args.jobs.clone(),
        features: args.features.clone(),
    };
    if args.dry_run {
        let commands = crate::release_build::run::dry_run(&ws, &opts)?;
        print_report(args.json, &commands, |cs| {
            for c in cs {
                println!("CPython {} (in {}): {}", c.python, c.dir.display(), c.shown);
                if !c.packaged_for.is_empty() {
                    let list: Vec<String> = c.packaged_for.iter().map(Minor::to_string).collect();
                    println!(
                        "  stable ABI: packaged for CPython {} as well",
                        list.join(", ")
                    );
                }
            }
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    match crate::release_build::run::run(&ws, &opts)? {
        Outcome::Delivered(report) => {
            print_report(args.json, &*report, |r| print_text(&ws, r))?;
            Ok(ExitCode::SUCCESS)
        }
        Outcome::AuditFailed(audits) => {
            audits.iter().for_each(|a| print!("{a}"));
            note("the audit failed (above); no wheel was placed in the output directory");
            Ok(ExitCode::from(1))
        }
    }
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
