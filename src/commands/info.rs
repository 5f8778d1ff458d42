//! `maou-build info`: what maou-build discovered about the workspace, so a user can
//! check it before building (and scripts can read it with --json).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use crate::messages::print_report;
use crate::profile::Chosen;
use crate::python::{self, Interpreter, Minor};
use crate::workspace::{Crate, Workspace};

#[derive(clap::Args)]
#[command(about = "Print what maou-build discovered about the workspace")]
pub struct Args {
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct AllowedPython {
    version: Minor,
    tag: String,
    /// The interpreter found for it, if any.
    interpreter: Option<Interpreter>,
}

#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    workspace: &'a Workspace,
    /// Where the extension will be placed for an editable install.
    package_dir: std::path::PathBuf,
    /// The profile develop builds, and why.
    develop_profile: Chosen,
    pythons: Vec<AllowedPython>,
    /// The key of the Rust inputs as develop builds them (no extra features) and as the
    /// release wheels are built: what `latest` must record for develop to use its extension.
    rust_inputs_key: String,
    release_inputs_key: String,
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let ws = Workspace::discover(workspace)?;
    let pythons = ws
        .requires_python
        .allowed_minors()
        .into_iter()
        .map(|version| AllowedPython {
            version,
            tag: version.tag(),
            interpreter: python::find(version),
        })
        .collect();
    let report = Report {
        rust_inputs_key: ws.rust_inputs_key(&ws.features)?,
        release_inputs_key: ws.rust_inputs_key(&ws.release_features())?,
        package_dir: ws.package_dir(),
        develop_profile: Chosen::for_workspace(&ws, None)?,
        workspace: &ws,
        pythons,
    };
    print_report(args.json, &report, print_text)?;
    Ok(ExitCode::SUCCESS)
}

fn rel<'p>(ws: &Workspace, path: &'p Path) -> std::borrow::Cow<'p, str> {
    match path.strip_prefix(&ws.root) {
        Ok(p) if p.as_os_str().is_empty() => ".".into(),
        Ok(p) => p.to_string_lossy(),
        Err(_) => path.to_string_lossy(),
    }
}

fn crate_line(ws: &Workspace, c: &Crate) -> String {
    format!(
        "{} {} (lib {}, {})",
        c.name,
        c.version,
        c.lib_name,
        rel(ws, &c.manifest_path)
    )
}

fn print_text(r: &Report<'_>) {
    let ws = r.workspace;
    let row = |k: &str, v: &str| println!("{k:<16}{v}");
    row("workspace", &ws.root.to_string_lossy());
    row("package", &format!("{} {}", ws.package, ws.version));
    row("module", &ws.module_name);
    row("python-source", &rel(ws, &ws.python_source));
    row("package dir", &rel(ws, &r.package_dir));
    row("cdylib", &crate_line(ws, &ws.cdylib));
    if ws.rlib_deps.is_empty() {
        row("rlib deps", "(none in the workspace)");
    }
    for (i, dep) in ws.rlib_deps.iter().enumerate() {
        row(if i == 0 { "rlib deps" } else { "" }, &crate_line(ws, dep));
    }
    if let Some(d) = &ws.dev_dylib {
        row(
            "dev dylib",
            &format!(
                "{}, with feature {} (dev builds)",
                crate_line(ws, &d.krate),
                d.feature
            ),
        );
    }
    let p = &r.develop_profile;
    row(
        "profile",
        &format!(
            "{} ({}; opt-level {}{})",
            p.profile.name,
            p.why(),
            p.profile.opt_level,
            if p.profile.lto { ", LTO" } else { "" }
        ),
    );
    if !ws.features.args().is_empty() {
        row("features", &ws.features.args().join(" "));
    }
    row("target dir", &ws.target_directory.to_string_lossy());
    row("inputs key", &r.rust_inputs_key);
    if r.release_inputs_key != r.rust_inputs_key {
        row(
            "",
            &format!("{} for the wheels (wheel-features)", r.release_inputs_key),
        );
    }
    row("requires-python", &ws.requires_python.to_string());
    if r.pythons.is_empty() {
        row("CPython", "(requires-python allows no CPython 3.7-3.15)");
    }
    for (i, p) in r.pythons.iter().enumerate() {
        let found = match &p.interpreter {
            Some(it) => format!(
                "{} ({}, via {})",
                it.version,
                it.executable.display(),
                it.found_via
            ),
            None => "not installed".to_owned(),
        };
        row(
            if i == 0 { "CPython" } else { "" },
            &format!("{} [{}]: {found}", p.version, p.tag),
        );
    }
}
