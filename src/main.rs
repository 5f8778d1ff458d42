//! maou-build: fast, reproducible builds of a maturin (PyO3) workspace such as maou.
//!
//! Each subcommand lives in `commands/`; what they share (reading the workspace, finding
//! interpreters, running tools) lives beside this file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod audit;
mod bench;
mod build_env;
mod bundled;
mod cargo_build;
mod cargo_config;
mod colab;
mod commands;
mod deps_archive;
mod develop;
mod doctor;
mod doors;
mod editable;
mod elf;
mod fsutil;
mod git;
mod github;
mod init;
mod messages;
mod placement;
mod prebuilt;
mod process;
mod profile;
mod publish;
mod pyo3_env;
mod python;
mod release_build;
mod replay;
mod resources;
mod sccache;
mod target_dir;
mod team_cache;
mod wheel_format;
mod workspace;
mod zig;

#[derive(Parser)]
#[command(
    name = "maou-build",
    version = version(),
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

/// The version, with where this binary came from and its commit (build.rs): what a bug
/// report names.
fn version() -> &'static str {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (",
        env!("MAOU_BUILD_PROVENANCE"),
        ")"
    )
}

/// One variant per command; each command's `Args` carries its help (about and long_about).
#[derive(Subcommand)]
enum Command {
    Audit(commands::audit::Args),
    Bench(commands::bench::Args),
    /// For studies by hand: the bench's memory cgroup around one command
    #[command(hide = true)]
    CgroupRun(commands::cgroup_run::Args),
    Colab(commands::colab::Args),
    DepsArchive(commands::deps_archive::Args),
    Develop(commands::develop::Args),
    Doctor(commands::doctor::Args),
    Info(commands::info::Args),
    Init(commands::init::Args),
    PublishLatest(commands::publish_latest::Args),
    Wheel(commands::wheel::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let workspace = cli.workspace.as_deref();
    let result = match cli.command {
        Command::Audit(args) => commands::audit::run(workspace, &args),
        Command::Bench(args) => commands::bench::run(workspace, &args),
        Command::CgroupRun(args) => commands::cgroup_run::run(&args),
        Command::Colab(args) => commands::colab::run(workspace, &args),
        Command::DepsArchive(args) => commands::deps_archive::run(workspace, &args),
        Command::Develop(args) => commands::develop::run(workspace, &args),
        Command::Doctor(args) => commands::doctor::run(workspace, &args),
        Command::Info(args) => commands::info::run(workspace, &args),
        Command::Init(args) => commands::init::run(workspace, &args),
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// A doc comment on a `Command` variant would replace its `Args`' long help with the
    /// one-line summary: each command's own help must be what `maou-build X --help` shows.
    #[test]
    fn every_command_shows_its_own_long_help() {
        use clap::Args;
        type Augment = fn(clap::Command) -> clap::Command;
        let own: [(&str, Augment); 6] = [
            ("audit", commands::audit::Args::augment_args),
            ("bench", commands::bench::Args::augment_args),
            ("colab", commands::colab::Args::augment_args),
            ("develop", commands::develop::Args::augment_args),
            (
                "publish-latest",
                commands::publish_latest::Args::augment_args,
            ),
            ("wheel", commands::wheel::Args::augment_args),
        ];
        let mut cli = Cli::command();
        for (name, augment) in own {
            let long_about = augment(clap::Command::new(name))
                .get_long_about()
                .map(|a| a.to_string())
                .unwrap_or_else(|| panic!("{name} has no long help of its own"));
            let help = cli
                .find_subcommand_mut(name)
                .unwrap()
                .render_long_help()
                .to_string();
            assert!(help.contains(long_about.trim()), "{name} --help:\n{help}");
        }
        let help = cli
            .find_subcommand_mut("bench")
            .unwrap()
            .render_long_help()
            .to_string();
        for def in &bench::scenarios::SCENARIOS {
            assert!(help.contains(&format!("  {} ", def.name)), "{}", def.name);
        }
    }
}
