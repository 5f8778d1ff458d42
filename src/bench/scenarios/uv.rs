//! uv's doors after develop ([crate::doors]): `uv run` and a new venv by `uv sync`, each
//! made to build (pyproject.toml touched, as a version bump does), timed with the units
//! its maturin compiled.

use anyhow::{Context, Result};

use super::super::{Cmd, Series};
use super::cold::Cold;
use super::{Check, Ctx, Id, Scenario};

/// `uv -v ARGS` in the sandbox, its project environment `venv`.
fn uv(ctx: &Ctx, venv: &std::path::Path, args: &[&str]) -> Cmd {
    Cmd::new(
        ["uv", "-v"]
            .iter()
            .chain(args)
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>(),
    )
    .env("UV_PROJECT_ENVIRONMENT", venv.display().to_string())
    .env("UV_PYTHON_DOWNLOADS", "never")
    .without("VIRTUAL_ENV")
    .env(
        "UV_PYTHON",
        ctx.plan
            .python
            .base_executable
            .as_ref()
            .unwrap_or(&ctx.plan.python.executable)
            .display()
            .to_string(),
    )
}

/// The crates maturin's cargo compiled, from `uv -v`'s output.
fn compiled(stderr: &str) -> usize {
    stderr.lines().filter(|l| l.contains(" Compiling ")).count()
}

/// Makes uv's next command build the project: its record is older than pyproject.toml.
fn touch_pyproject(ctx: &Ctx) -> Result<()> {
    crate::fsutil::set_modified(&ctx.sb.ws.pyproject, std::time::SystemTime::now())
}

/// One timed uv door per run, with what it compiled, against `baselines`.
fn uv_series(
    ctx: &Ctx,
    id: Id,
    label: &str,
    mut door: impl FnMut(usize) -> Result<Cmd>,
) -> Result<(Series, usize)> {
    let mut series = None;
    let mut units = 0;
    for run in 0..ctx.plan.runs {
        ctx.progress(id.name(), label, run);
        touch_pyproject(ctx)?;
        let cmd = door(run)?;
        let series = series.get_or_insert_with(|| Series::new(label, ctx.sb.shown(&cmd)));
        let ran = ctx.sb.run(label, &cmd)?;
        if !ran.stderr.contains("maturin pep517 build-wheel") {
            anyhow::bail!("{label}: uv did not build the project:\n{}", ran.stderr);
        }
        units += compiled(&ran.stderr);
        series.push(ran.seconds);
    }
    Ok((series.context("no runs")?, units))
}

pub(super) fn uv_run_after_develop(ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
    let mut s = Scenario::new(id);
    ctx.sb
        .note("uv-run-after-develop: develop once to catch up (not timed)");
    ctx.develop_until_importable("develop (catch up)", ctx.plan.jobs)?;
    let mut noop = Series::new("develop, nothing changed", ctx.develop_shown(ctx.plan.jobs));
    for run in 0..ctx.plan.runs {
        ctx.progress(id.name(), "develop, nothing changed", run);
        noop.push(
            ctx.develop_until_importable("develop no-op", ctx.plan.jobs)?
                .seconds,
        );
    }
    let import = format!("import {}", ctx.sb.ws.module_name);
    let measured = uv_series(ctx, id, "uv run after develop", |_| {
        Ok(uv(ctx, &ctx.sb.venv, &["run", "python", "-c", &import]))
    })?;
    s.baselines.push(noop);
    Ok(finish(s, measured, cold))
}

pub(super) fn uv_sync_new_venv(ctx: &Ctx, id: Id, cold: &Cold) -> Result<Scenario> {
    let s = Scenario::new(id);
    ctx.sb
        .note("uv-sync-new-venv: develop once to catch up (not timed)");
    ctx.develop_until_importable("develop (catch up)", ctx.plan.jobs)?;
    let import = format!("import {}", ctx.sb.ws.module_name);
    let measured = uv_series(ctx, id, "uv sync into a new venv, then import", |run| {
        let venv = ctx.sb.caches().join(format!("uv-new-venv-{run}"));
        let _ = std::fs::remove_dir_all(&venv);
        let sync = uv(ctx, &venv, &["sync"]);
        // One command, so that one time covers both: the sync and the import.
        let mut cmd = Cmd::new([
            "sh".to_owned(),
            "-c".into(),
            format!(
                "\"$0\" \"$@\" && {} -c '{import}'",
                crate::editable::venv_python(&venv).display()
            ),
        ]);
        cmd.argv.extend(sync.argv);
        cmd.env = sync.env;
        cmd.env_remove = sync.env_remove;
        Ok(cmd)
    })?;
    Ok(finish(s, measured, cold))
}

/// `s` with the uv door's series as its subject, the cold develops as its last baseline,
/// and the units uv compiled (the goal: none).
fn finish(mut s: Scenario, (subject, units): (Series, usize), cold: &Cold) -> Scenario {
    s.subject = Some(subject);
    s.baselines.push(cold.series.clone());
    s.facts.insert("units_compiled_by_uv".into(), units.into());
    s.checks.push(Check {
        what: "uv compiled nothing".into(),
        ok: units == 0,
    });
    s
}
