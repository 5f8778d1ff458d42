//! `maou-build bench`: the build scenarios side by side, each against a baseline measured
//! in the same run, on a copy of the workspace that shares nothing with the user's.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::bench::chart;
use crate::bench::report;
use crate::bench::scenarios::{self, Id};
use crate::messages::note;
use crate::workspace::Workspace;

#[derive(clap::Args)]
#[command(
    about = "Measure the build scenarios side by side, each against a baseline from the same run",
    long_about = long_about()
)]
pub struct Args {
    /// Scenarios to run, comma-separated [default: all]
    #[arg(long, value_delimiter = ',', value_name = "NAME,...", value_parser = Id::parser())]
    scenarios: Vec<Id>,
    /// Runs of every series
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    runs: u16,
    /// Memory cap of the cold builds (a 4 GB Codespace by default)
    #[arg(long, default_value = "4G", value_name = "SIZE")]
    mem_limit: String,
    /// CPython for the venv and the release wheel, e.g. 3.12 [default: the newest allowed and installed]
    #[arg(long, value_name = "VERSION")]
    python: Option<crate::python::Minor>,
    /// The cargo profile develop builds in every scenario [default: what develop builds,
    /// `[tool.maturin] editable-profile`, else `profile`, else dev]. Under another profile
    /// than dev the edit scenarios' baselines are maou's own loop with it: `maturin develop`
    /// with the profile's codegen units as maou's Cargo.toml sets them (one), and with maou's
    /// dev container overrides (incremental, 16 codegen units, one job), and bare cargo build
    /// with it
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Write the report as JSON to FILE
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the report as markdown to FILE
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write the chart of the ratios to FILE (SVG)
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// The nix-eval harness the ci-chain replay evaluates the flake with
    /// [default: $MAOU_BUILD_NIX_EVAL, else ../shared/nix-eval beside the workspace]
    #[arg(long, value_name = "DIR")]
    nix_eval: Option<PathBuf>,
    /// The flake package the ci-chain replay builds up to, e.g. the last rlib step
    /// [default: wheels]
    #[arg(long, value_name = "PACKAGE")]
    chain_end: Option<String>,
}

/// `bench --help`: the scenarios' lines come from the table ([scenarios::SCENARIOS]).
fn long_about() -> String {
    format!(
        "Measure the build scenarios side by side, each against a baseline timed in the same \
         run, on a copy of the workspace in a temporary directory: the user's target/, venv \
         and caches are never touched (cargo's registry of downloaded crates is read). Each \
         series runs --runs times; the report gives medians with min and max, and the \
         command of every series so anyone can time it again.\n\n\
         Scenarios (all but those that run alone, by default):\n{}\n\
         The cold scenarios share their cold builds. The cold builds and the release wheel \
         from scratch take minutes each on a large dependency set. Ctrl-C stops cleanly: the \
         copy is removed and what was measured is reported.\n\n\
         Exit status: 0 when every scenario ran and passed its checks, 1 when one failed, \
         130 when interrupted.",
        scenarios::help_lines()
    )
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let mem_limit = crate::sccache::parse_size(&args.mem_limit).with_context(|| {
        format!(
            "--mem-limit {:?} is not a size: use e.g. 4G or 3500M",
            args.mem_limit
        )
    })?;
    let ids: Vec<Id> = if args.scenarios.is_empty() {
        Id::default_set()
    } else {
        let mut ids = args.scenarios.clone();
        ids.sort();
        ids.dedup();
        ids
    };
    let ws = Workspace::discover(workspace)?;
    if let Some(alone) = ids.iter().find(|id| id.runs_alone()) {
        if ids.len() > 1 {
            bail!(
                "--scenarios {} runs alone: it replays the flake's chain, the others build the workspace",
                alone.name()
            );
        }
        return ci_chain(&ws, args);
    }
    let report = crate::bench::run::run(
        &ws,
        &crate::bench::run::Options {
            ids,
            runs: usize::from(args.runs),
            mem_limit,
            python: args.python,
            profile: args.profile.clone(),
        },
    )?;
    print!("{}", report::table(&report));
    if let Some(path) = &args.json {
        write(path, &serde_json::to_string_pretty(&report)?)?;
    }
    let svg_name = args
        .svg
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    if let Some(path) = &args.svg {
        write(path, &chart::svg(&report.scenarios, "maou-build bench"))?;
    }
    if let Some(path) = &args.markdown {
        write(path, &report::markdown(&report, svg_name.as_deref()))?;
    }
    if report.interrupted {
        note("bench: interrupted; the copy was removed, the results above are partial");
        return Ok(ExitCode::from(130));
    }
    let failed: Vec<&str> = report
        .scenarios
        .iter()
        .filter(|s| !s.ok())
        .map(|s| s.id.name())
        .collect();
    if !failed.is_empty() {
        for s in report.scenarios.iter().filter(|s| s.error.is_some()) {
            if let Some(e) = &s.error {
                note(format!("bench: {}: {e}", s.id.name()));
            }
        }
        note(format!("bench: failed: {}", failed.join(", ")));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--scenarios ci-chain`: the replay, its table, its JSON.
fn ci_chain(ws: &Workspace, args: &Args) -> Result<ExitCode> {
    let opts = crate::replay::Options {
        nix_eval: args.nix_eval.clone(),
        cores: crate::resources::cores(),
        end: args.chain_end.clone(),
    };
    let report = crate::replay::run(ws, &opts)?;
    print!("{}", report::replay_table(&report));
    if let Some(path) = &args.json {
        write(path, &serde_json::to_string_pretty(&report)?)?;
    }
    if let Some(path) = &args.markdown {
        write(path, &report::replay_table(&report))?;
    }
    // The one check of the replay: the chain's wheels are maou-build wheel's.
    Ok(match &report.wheel_check {
        Some(Ok(c)) if !c.identical => ExitCode::from(1),
        Some(Err(_)) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::fsutil::write_atomic(path, text.as_bytes())?;
    note(format!("bench: wrote {}", path.display()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args as _, Command};

    #[test]
    fn the_help_lists_every_scenario_of_the_table_and_accepts_its_names() {
        let mut cmd = Args::augment_args(Command::new("bench"));
        let help = cmd.render_long_help().to_string();
        for def in &scenarios::SCENARIOS {
            let first_words: String = def
                .help
                .split_whitespace()
                .take(6)
                .collect::<Vec<_>>()
                .join(" ");
            let line = help
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{} ", def.name)))
                .unwrap_or_else(|| panic!("no help line for {}:\n{help}", def.name));
            assert!(
                line.contains(&first_words),
                "{line:?} does not start {first_words:?}"
            );
            let parsed = Args::augment_args(Command::new("bench"))
                .try_get_matches_from(["bench", "--scenarios", def.name])
                .unwrap();
            let ids: Vec<&Id> = parsed.get_many::<Id>("scenarios").unwrap().collect();
            assert_eq!(
                ids.iter().map(|id| id.name()).collect::<Vec<_>>(),
                [def.name]
            );
        }
        let err = Args::augment_args(Command::new("bench"))
            .try_get_matches_from(["bench", "--scenarios", "warm-edit"])
            .unwrap_err();
        assert!(err.to_string().contains("rlib-edit"), "{err}");
    }
}
