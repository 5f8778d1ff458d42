//! `maou-build doctor`: the arguments, [crate::doctor::run], the report.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::messages::print_report;
use crate::workspace::Workspace;

#[derive(clap::Args)]
#[command(about = "Check what in this environment slows or breaks builds, with the fix for each")]
pub struct Args {
    /// Print the checks as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let ws = Workspace::discover(workspace)?;
    let report = crate::doctor::run(&ws);
    print_report(args.json, &report, |r| print!("{r}"))?;
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
