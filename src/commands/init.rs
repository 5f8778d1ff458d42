//! `maou-build init`: the seed's pieces and maou-build's, written into an existing maturin
//! workspace; the diff first.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::init::Plan;
use crate::messages::{note, print_report};
use crate::workspace::Workspace;

#[derive(clap::Args)]
#[command(
    about = "Adopt maou-build in an existing maturin workspace: the dev dylib, profiles, flake, workflow, dev container",
    long_about = "Write into an existing maturin workspace what the seed and maou-build need: \
    the dev dylib crate (every third-party crate the extension's crates link, in one Rust \
    dylib, so that a dev edit relinks a small extension) with the cdylib's `dev-dylib` \
    feature and build script; the dev profile's policy (non-incremental, 16 codegen units, \
    third-party crates without debuginfo); [tool.maou-build] and the pyproject.toml settings \
    that make uv's builds develop's; a flake.nix calling maou-build's flake library; the \
    build-wheel workflow (nix build .#wheels, then publish-latest; an existing build-wheel.yml \
    is replaced, other workflows are left alone); and the dev container's Nix, volumes and \
    lifecycle.\n\n\
    The diff is printed first, then each file is written atomically. TOML and JSONC files are \
    edited in place, comments and order kept. What init wrote is recorded in \
    .maou-build-init.json: a value changed by hand since is kept and reported, never \
    overwritten. A second run changes nothing. Settings outside the workspace that override \
    what init writes (a user-level cargo config) are reported with their effect.\n\n\
    Exit status: 0 when written (or nothing to do), 1 with --check when the workspace has \
    drifted from what init writes, 2 when it is not a maturin workspace or a file cannot be \
    edited (nothing is written then)."
)]
pub struct Args {
    /// The workspace [default: --workspace, else the current directory]
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Print the diff only; write nothing
    #[arg(long, conflicts_with = "check")]
    dry_run: bool,
    /// Exit 1 when the workspace differs from what init would write, naming what (for CI or
    /// a pre-commit hook); write nothing
    #[arg(long)]
    check: bool,
    /// Print the plan as JSON on stdout (the diff still goes to stderr)
    #[arg(long)]
    json: bool,
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let ws = Workspace::discover(args.dir.as_deref().or(workspace))?;
    let plan = crate::init::plan(&ws)?;
    for kept in &plan.kept {
        note(format!("kept: {kept}"));
    }
    for n in &plan.notes {
        note(n);
    }
    if args.check {
        print_report(args.json, &plan, print_drift)?;
        return Ok(if plan.is_clean() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    eprint!("{}", plan.diff());
    if !args.dry_run {
        plan.apply()?;
    }
    print_report(args.json, &plan, |p| print_summary(p, args.dry_run))?;
    Ok(ExitCode::SUCCESS)
}

fn print_drift(plan: &Plan) {
    if plan.is_clean() {
        println!("{}: as init writes it", plan.root.display());
    }
    for c in &plan.changes {
        println!("drift: {}: {}", c.path.display(), c.what.join("; "));
    }
    if !plan.is_clean() {
        println!("run `maou-build init` to bring it back (the diff first with --dry-run)");
    }
}

fn print_summary(plan: &Plan, dry_run: bool) {
    if plan.is_clean() {
        println!("{}: nothing to change", plan.root.display());
        return;
    }
    let verb = if dry_run { "would change" } else { "changed" };
    for c in &plan.changes {
        println!("{verb} {}: {}", c.path.display(), c.what.join("; "));
    }
}
