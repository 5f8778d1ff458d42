//! maou-build: fast, reproducible builds of a maturin (PyO3) workspace such as maou.
//!
//! Each subcommand lives in `commands/`; what they share (reading the workspace, finding
//! interpreters, running tools) lives beside this file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod audit;
mod bench;
mod cargo_build;
mod cgroup;
mod colab;
mod commands;
mod editable;
mod elf;
mod fsutil;
mod git;
mod github;
mod messages;
mod process;
mod python;
mod replay;
mod resources;
mod sccache;
mod target_dir;
mod wheel;
mod wheels;
mod workspace;
mod zig;

#[derive(Parser)]
#[command(
    name = "maou-build",
    version,
    about = "Fast, reproducible builds of maou's Rust extension (maou._rust, PyO3 + maturin)",
    long_about = "Fast, reproducible builds of maou's Rust extension (maou._rust, PyO3 + maturin).\n\n\
        maou-build reads the workspace's pyproject.toml ([tool.maturin]) and `cargo metadata`, \
        so it works on any maturin workspace of the same shape: a cdylib crate built with PyO3, \
        rlib crates it depends on, and a Python package beside them.\n\n\
        Exit status: 0 on success, 1 when a check it ran found a problem, 2 when it could not \
        do what was asked (bad input, a missing tool)."
)]
struct Cli {
    /// The workspace to work on: a directory containing pyproject.toml, or any directory
    /// below one [default: the current directory]
    #[arg(long, global = true, value_name = "DIR")]
    workspace: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check wheels or shared objects against manylinux_2_28, and repair what can be
    Audit(commands::audit::Args),
    /// Measure the build scenarios side by side, each against a baseline from the same run
    Bench(commands::bench::Args),
    /// Print the Colab cell that installs the wheels of the `latest` release: UC2's install
    Colab(commands::colab::Args),
    /// Build the extension (dev profile, sccache) into the editable package: UC1's edit loop
    Develop(commands::develop::Args),
    /// Check what in this environment slows or breaks builds, with the fix for each
    Doctor(commands::doctor::Args),
    /// Print what maou-build discovered about the workspace
    Info(commands::info::Args),
    /// Put the audited wheels of dist/ on the GitHub Release `latest`, in place: UC2's delivery
    PublishLatest(commands::publish_latest::Args),
    /// Build audited manylinux_2_28 release wheels (thin LTO) for each CPython: UC2's wheels
    Wheel(commands::wheel::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let workspace = cli.workspace.as_deref();
    let result = match cli.command {
        Command::Audit(args) => commands::audit::run(workspace, &args),
        Command::Bench(args) => commands::bench::run(workspace, &args),
        Command::Colab(args) => commands::colab::run(workspace, &args),
        Command::Develop(args) => commands::develop::run(workspace, &args),
        Command::Doctor(args) => commands::doctor::run(workspace, &args),
        Command::Info(args) => commands::info::run(workspace, &args),
        Command::PublishLatest(args) => commands::publish_latest::run(workspace, &args),
        Command::Wheel(args) => commands::wheel::run(workspace, &args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("maou-build: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
