//! What every scenario works with: the sandbox, the plan, and the commands it times.

use anyhow::{Context, Result};
use serde::Deserialize;

use super::super::{Cmd, Sandbox};
use crate::cargo_build::Request;
use crate::python::Interpreter;

pub struct Plan {
    pub runs: usize,
    pub jobs: usize,
    pub mem_limit: u64,
    /// Why no memory cgroup can be used, if none can.
    pub no_cgroup: Option<String>,
    /// The interpreter of the venv and of the release wheel.
    pub python: Interpreter,
}

#[derive(Deserialize)]
struct DevelopReport {
    compiled: Vec<String>,
}

pub(super) struct Ctx<'a> {
    pub(super) sb: &'a Sandbox,
    pub(super) plan: &'a Plan,
}

impl Ctx<'_> {
    pub(super) fn develop(&self, jobs: usize) -> Cmd {
        Cmd::new([
            self.sb.exe(),
            "develop".into(),
            "--venv".into(),
            self.sb.venv.display().to_string(),
            "--python".into(),
            self.plan.python.minor.to_string(),
            "--jobs".into(),
            jobs.to_string(),
            "--json".into(),
        ])
    }

    pub(super) fn import(&self) -> Cmd {
        Cmd::new([
            self.sb.venv.join("bin/python").display().to_string(),
            "-c".into(),
            format!("import {}", self.sb.ws.module_name),
        ])
    }

    pub(super) fn develop_shown(&self, jobs: usize) -> String {
        format!(
            "{} && {}",
            self.sb.shown(&self.develop(jobs)),
            self.sb.shown(&self.import())
        )
    }

    /// develop, then an import of the module: the time until the edit is importable.
    pub(super) fn develop_until_importable(
        &self,
        step: &str,
        jobs: usize,
    ) -> Result<(f64, Vec<String>)> {
        let built = self.sb.run(step, &self.develop(jobs))?;
        let imported = self.sb.run(step, &self.import())?;
        let report: DevelopReport = serde_json::from_str(&built.stdout)
            .with_context(|| format!("{step}: develop --json printed no report"))?;
        Ok((built.seconds + imported.seconds, report.compiled))
    }

    /// The cargo command develop runs, without develop: the floor of a rebuild.
    pub(super) fn bare_cargo(&self, sccache: bool) -> Cmd {
        let python = self.sb.venv.join("bin/python");
        let request = Request {
            ws: &self.sb.ws,
            release: false,
            jobs: self.plan.jobs,
            python: &python,
            features: self.sb.ws.features.clone(),
            env: crate::build_env::always(),
        };
        let mut cmd = Cmd::new(std::iter::once("cargo".to_owned()).chain(request.args()));
        for (k, v) in request.env() {
            cmd = cmd.env(k, v);
        }
        if sccache {
            cmd.env("RUSTC_WRAPPER", self.sb.sccache_program())
        } else {
            cmd.without("RUSTC_WRAPPER")
        }
    }

    /// `maturin develop`, building in place (no install) into its own target directory,
    /// through the same sccache, so that it and develop do not rebuild each other's flags.
    pub(super) fn maturin_develop(&self) -> Cmd {
        let cmd = Cmd::new([
            "maturin".to_owned(),
            "develop".into(),
            "--skip-install".into(),
            "--manifest-path".into(),
            self.sb.ws.cdylib.manifest_path.display().to_string(),
        ])
        .env("VIRTUAL_ENV", self.sb.venv.display().to_string())
        .env(
            "CARGO_TARGET_DIR",
            self.sb
                .caches()
                .join("maturin-target")
                .display()
                .to_string(),
        )
        .env("RUSTC_WRAPPER", self.sb.sccache_program());
        crate::build_env::always()
            .into_iter()
            .fold(cmd, |cmd, (k, v)| cmd.env(k, v))
    }

    /// `<scenario> [run/runs] <what>`; `scenario` may name work several share.
    pub(super) fn progress(&self, scenario: &str, what: &str, run: usize) {
        self.sb.note(format!(
            "{scenario} [{}/{}] {what}",
            run + 1,
            self.plan.runs
        ));
    }
}
