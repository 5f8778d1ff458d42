//! `maou-build init`: the seed's pieces and maou-build's, written into an existing maturin
//! workspace; the diff first.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::init::{Lock, Plan};
use crate::messages::{note, print_report};

#[derive(clap::Args)]
#[command(
    about = "Adopt maou-build in an existing maturin workspace: the dev dylib, profiles, flake, workflow, dev container",
    long_about = "Write into an existing maturin workspace what the seed and maou-build need: \
    the dev dylib crate (every third-party crate the extension's crates link, in one Rust \
    dylib, so that a dev edit relinks a small extension) with the cdylib's `dev-dylib` \
    feature and build script, and its entries in Cargo.lock (every other locked version \
    kept); the edit loop's profile settings; [tool.maou-build] and the pyproject.toml \
    settings that make uv's builds develop's; a flake.nix calling maou-build's flake library \
    (its input from --flake-url, the existing flake, or maou-build's own `repository`; never a \
    placeholder); the build-wheel workflow (nix build .#wheels, then publish-latest), or, \
    beside a release workflow of the workspace's own, which is kept and still publishes, the \
    same build run by hand; and the dev container's Nix, volumes and lifecycle, merged into \
    the workspace's own: its features, mounts and settings kept, a volume serving the same \
    cache reused, init's steps after its own lifecycle commands. With `--route uv` the \
    developers get maou-build as uv users get their tools: pinned in the project's `dev` \
    dependency group (`uv sync` installs it), the dev container running `uv run \
    --no-install-project maou-build develop` without Nix; the flake stays CI's route.\n\n\
    The diff is printed first, then each file is written atomically. TOML and JSONC files are \
    edited in place, comments and order kept. What init wrote is recorded in \
    .maou-build-init.json: a value changed by hand since is kept and reported, never \
    overwritten. A second run changes nothing. What defeats one build for every door is \
    reported with the smallest fix and left as it is: a cargo configuration (a user-level \
    one included) or a setup script's line that writes one.\n\n\
    Exit status: 0 when written (or nothing to do), 1 with --check when the workspace has \
    drifted from what init writes (Cargo.lock included), 2 when it is not a maturin workspace, \
    a file cannot be edited, or no flake URL is known (nothing is written then)."
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
    /// The flake input's URL: where maou-build is hosted (github:OWNER/maou-build, or
    /// path:/abs/checkout) [default: the workspace's flake.nix as init wrote it, else the
    /// `repository` maou-build was built with]
    #[arg(long, value_name = "URL")]
    flake_url: Option<String>,
    /// How the dev container and the developers get maou-build (CI builds the wheels
    /// through the flake either way) [default: as init left the workspace, else nix]
    #[arg(long, value_enum)]
    route: Option<crate::init::Route>,
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let (ws, lock_before) = crate::init::discover(args.dir.as_deref().or(workspace))?;
    let options = crate::init::Options {
        flake_url: args.flake_url.clone(),
        route: args.route,
    };
    let plan = match crate::init::plan(&ws, lock_before.clone(), &options) {
        Ok(plan) => plan,
        Err(e) => {
            // Nothing written: not even the lock cargo updated while finding the workspace.
            lock_before.restore(&ws.cargo_workspace_root)?;
            return Err(e);
        }
    };
    if args.check || args.dry_run {
        plan.restore_lock()?;
    }
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
        if let Some(lock_diff) = plan.apply()? {
            eprint!("{lock_diff}");
        }
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
    if plan.lock == Lock::Stale {
        println!("drift: Cargo.lock: not current (`cargo metadata --locked` fails: the manifests need entries it lacks)");
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
    if plan.lock != Lock::Current {
        println!(
            "{verb} Cargo.lock: the entries of what init adds, every other locked version kept (cargo resolves it{})",
            if dry_run { " when init writes" } else { "" }
        );
    }
}
