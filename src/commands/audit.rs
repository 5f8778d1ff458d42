//! `maou-build audit`: the arguments, one [crate::audit::audit_path] per input, the report.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::audit::{audit_path, platform_of, Options};
use crate::messages::print_report;

/// `audit --help`, naming the default platform from its one source.
fn long_about() -> String {
    format!(
        "Check wheels or shared objects against the platform policy: the workspace's \
         [tool.maturin] compatibility, else {} x86_64 (also outside a workspace).\n\n\
         For every ELF file: x86_64, the highest GLIBC, GLIBCXX, CXXABI and GCC symbol versions, \
         every DT_NEEDED library among those the policy allows, no RPATH/RUNPATH outside $ORIGIN \
         (or outside the wheel), and no /nix/store path anywhere in the file. For a wheel also: \
         the file name's tags against WHEEL, every file against RECORD (hash and size), and each \
         extension's name against its PyInit_ symbol and the Python tag.\n\n\
         --repair removes RPATH/RUNPATH entries that point outside the wheel and retags a wheel \
         whose files comply, rewriting WHEEL and RECORD; it then audits the result again. It \
         never retags a wheel whose files it found outside the policy.\n\n\
         Exit status: 0 when everything passes, 1 when a check fails, 2 when an input cannot be \
         read (not a zip, not a wheel, not an ELF file, truncated).",
        crate::audit::default_platform()
    )
}

#[derive(clap::Args)]
#[command(
    about = "Check wheels or shared objects against the platform policy, and repair what can be",
    long_about = long_about()
)]
pub struct Args {
    /// Wheels (.whl) or ELF shared objects to check
    #[arg(required = true, value_name = "WHEEL|SO")]
    paths: Vec<PathBuf>,
    /// Remove search paths outside the wheel and retag a complying wheel
    #[arg(long)]
    repair: bool,
    /// Where repaired wheels go [default: beside each input, replacing it]
    #[arg(long, value_name = "DIR", requires = "repair")]
    out: Option<PathBuf>,
    /// The extension module each wheel must contain, e.g. maou._rust
    #[arg(long, value_name = "NAME")]
    module: Option<String>,
    /// Print the reports as JSON on stdout
    #[arg(long)]
    json: bool,
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let options = Options {
        repair: args.repair,
        out: args.out.as_deref(),
        module: args.module.as_deref(),
    };
    if let Some(out) = options.out {
        fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    }
    // Inside a workspace its platform applies; a file audited elsewhere gets the default.
    let ws = crate::workspace::Workspace::discover(workspace).ok();
    let policy = platform_of(ws.as_ref())?;
    let mut reports = Vec::new();
    for path in &args.paths {
        reports.push(audit_path(&policy, path, &options)?);
    }
    print_report(args.json, &reports, |reports| {
        reports.iter().for_each(|r| print!("{r}"))
    })?;
    Ok(if reports.iter().all(|r| r.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
