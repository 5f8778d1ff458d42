//! One bench run of the workspace's scenarios: a sandbox, Ctrl-C caught, the scenarios in
//! the order that shares work, and the report.

use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};

use super::report::{Machine, Report};
use super::scenarios::{self, Id, Plan};
use super::{is_interrupt, Sandbox};
use crate::messages::note;
use crate::python::Minor;
use crate::workspace::Workspace;

pub struct Options {
    /// The scenarios, none of which runs alone.
    pub ids: Vec<Id>,
    pub runs: usize,
    /// The memory cap of the cold builds, in bytes.
    pub mem_limit: u64,
    /// The CPython of the venv and the release wheel [default: the newest allowed].
    pub python: Option<Minor>,
    /// The profile develop builds, over the workspace's.
    pub profile: Option<String>,
}

/// Runs the scenarios on a copy of `ws`. An interrupted run returns what was measured,
/// with `interrupted` set.
///
/// Over 80 lines because it is the run's order in one place: the interpreter, the cgroup,
/// Ctrl-C, the sandbox, the shared cold builds, then each scenario; each step is a call,
/// and they share the sandbox and the interrupt flag.
pub fn run(ws: &Workspace, opts: &Options) -> Result<Report> {
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let python = match opts.python {
        Some(m) => {
            crate::python::find(m).with_context(|| format!("CPython {m} is not installed"))?
        }
        None => {
            let all = crate::python::select(&ws.requires_python, &[])?;
            all.into_iter()
                .last()
                .context("no CPython that requires-python allows is installed")?
        }
    };
    let no_cgroup = opts
        .ids
        .iter()
        .any(|id| id.is_cold())
        .then(super::cgroup::unavailable)
        .flatten();
    if let Some(why) = &no_cgroup {
        note(format!("bench: no memory cap for the cold builds: {why}"));
    }

    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = Arc::clone(&interrupted);
        // The build in progress gets the same Ctrl-C and stops; the flag makes the bench
        // stop too, instead of going on to the next step.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    }

    note(format!(
        "bench: copying {} to a temporary directory",
        ws.root.display()
    ));
    let sandbox = Sandbox::new(ws, Arc::clone(&interrupted))?;
    note(format!("bench: the copy is {}", sandbox.root.display()));
    // The venv first, outside any timing, with the sandbox's own uv cache.
    std::env::set_var("UV_CACHE_DIR", sandbox.caches().join("uv"));
    let mut venv = crate::editable::ensure(&sandbox.ws, &sandbox.venv, Some(python.minor))
        .context("creating the sandbox's venv")?;
    crate::editable::install(&sandbox.ws, &mut venv, crate::editable::Install::OwnWheel)
        .context("installing the sandbox's package")?;
    let jobs = crate::resources::choose_jobs(None).jobs;
    let rustc_version = crate::target_dir::rustc_version(ws)?;
    let plan = Plan {
        runs: opts.runs,
        jobs,
        mem_limit: opts.mem_limit,
        no_cgroup: no_cgroup.clone(),
        python: venv.interpreter.clone(),
        profile: crate::profile::Chosen::for_workspace(&sandbox.ws, opts.profile.as_deref())?,
        rustc_host: crate::target_dir::host_of(&rustc_version)?,
    };

    let outcome = scenarios::run(&sandbox, &plan, &opts.ids);
    let was_interrupted =
        interrupted.load(Ordering::Relaxed) || matches!(&outcome, Err(e) if is_interrupt(e));
    let scenarios = match outcome {
        Ok(s) => s,
        Err(e) if is_interrupt(&e) => Vec::new(),
        Err(e) => return Err(e),
    };
    let report = Report {
        command: std::iter::once("maou-build".to_owned())
            .chain(std::env::args().skip(1))
            .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
            .collect::<Vec<_>>()
            .join(" "),
        sandbox_env: sandbox.env().into_iter().map(|(k, _)| k).collect(),
        maou_build: env!("CARGO_PKG_VERSION"),
        workspace: ws.root.display().to_string(),
        runs: plan.runs,
        jobs,
        mem_limit_bytes: opts.mem_limit,
        cgroup_unavailable: no_cgroup,
        machine: Machine {
            cores: crate::resources::cores(),
            memory_total_bytes: mem_total(),
            rustc: rustc_version.lines().next().unwrap_or_default().to_owned(),
            python: plan.python.version.clone(),
        },
        started: started_at,
        total_seconds: started.elapsed().as_secs_f64(),
        interrupted: was_interrupted,
        scenarios,
    };
    drop(sandbox);
    Ok(report)
}

fn mem_total() -> Option<u64> {
    let meminfo = fs::read_to_string("/proc/meminfo").ok()?;
    meminfo.lines().find_map(|l| {
        let kib: u64 = l
            .strip_prefix("MemTotal:")?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024)
    })
}
