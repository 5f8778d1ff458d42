//! The scenarios that start warm: an edit (Rust or Python), then develop; a release
//! wheel after an edit.

use anyhow::{Context, Result};

use super::super::{Cmd, Series};
use super::ctx::{MAOU_CARGO_TOML, MAOU_DEV_CONTAINER};
use super::{Check, Ctx, Id, Scenario};
use crate::workspace::Crate;

/// The seed configuration's floor: the baseline the edit scenarios' goal is stated
/// against, kept whatever the workspace's profile becomes.
const SEED_FLOOR: &str = "bare cargo build, seed configuration (the seed floor)";
/// Its target directory, under the sandbox's caches.
const SEED_TARGET: &str = "seed-target";

/// How a scenario edits its crate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Edit {
    /// One line, the version kept.
    Line,
    /// One line and the crate's patch version raised, as maou makes every Rust change.
    LineAndVersion,
}

pub(super) fn rlib_edit(ctx: &Ctx, id: Id) -> Result<Scenario> {
    rlib_edit_as(ctx, id, Edit::Line)
}

pub(super) fn rlib_edit_bumped(ctx: &Ctx, id: Id) -> Result<Scenario> {
    rlib_edit_as(ctx, id, Edit::LineAndVersion)
}

fn rlib_edit_as(ctx: &Ctx, id: Id, edit: Edit) -> Result<Scenario> {
    match ctx.sb.ws.rlib_deps.first() {
        Some(krate) => crate_edit(ctx, id, krate, edit),
        None => {
            let mut s = Scenario::new(id);
            s.skipped = Some(format!(
                "{} depends on no rlib of the workspace",
                ctx.sb.ws.cdylib.name
            ));
            Ok(s)
        }
    }
}

pub(super) fn cdylib_edit(ctx: &Ctx, id: Id) -> Result<Scenario> {
    crate_edit(ctx, id, &ctx.sb.ws.cdylib, Edit::Line)
}

/// An edit of `krate`, timed three ways, each after an edit of its own so that each
/// rebuilds the same: develop until importable, bare cargo (the floor), maturin develop.
///
/// Over 80 lines because the series are interleaved run by run (so that drift on the
/// machine hits each alike), and their commands are set out where they are timed.
pub(super) fn crate_edit(ctx: &Ctx, id: Id, krate: &Crate, edit: Edit) -> Result<Scenario> {
    let mut s = Scenario::new(id);
    let mut version = None;
    let mut change = || -> Result<()> {
        ctx.sb.edit_crate(krate)?;
        if edit == Edit::LineAndVersion {
            version = Some(ctx.sb.bump_version(krate)?);
        }
        Ok(())
    };
    s.facts.insert("crate".into(), krate.name.clone().into());
    s.facts.insert(
        "edited".into(),
        krate
            .lib_src
            .strip_prefix(&ctx.sb.root)
            .unwrap_or(&krate.lib_src)
            .display()
            .to_string()
            .into(),
    );
    let floor_cmd = ctx.bare_cargo();
    let mut subject = Series::new("develop until importable", ctx.develop_shown(ctx.plan.jobs));
    // The baselines: under dev, the seed's configuration (the seed floor), the floor and
    // maturin develop; under an optimized profile, maou's own loop with it (maturin develop
    // as maou's Cargo.toml sets the profile and with its dev container overrides) and the
    // floor.
    let mut baselines: Vec<(&str, Cmd, Series)> = Vec::new();
    let mut add = |label: &'static str, title: &str, cmd: Cmd| {
        let series = Series::new(title, ctx.sb.shown(&cmd));
        baselines.push((label, cmd, series));
    };
    if ctx.optimized() {
        let p = &ctx.plan.profile.profile.name;
        for (label, maou) in [
            ("maturin develop", &MAOU_CARGO_TOML),
            ("maturin develop (dev container)", &MAOU_DEV_CONTAINER),
        ] {
            add(
                label,
                &format!("maturin develop, `{p}` {}", maou.label),
                ctx.maturin_develop_as(maou),
            );
        }
    } else {
        add(
            "seed configuration",
            SEED_FLOOR,
            ctx.seed_cargo(SEED_TARGET, ctx.plan.jobs),
        );
    }
    add(
        "bare cargo build",
        "bare cargo build (the floor)",
        floor_cmd,
    );
    if !ctx.optimized() {
        add("maturin develop", "maturin develop", ctx.maturin_develop());
    }

    ctx.sb.note(format!(
        "{}: first build of each baseline into its own target dir (not timed; cold the \
         first time: minutes)",
        id.name()
    ));
    for (label, cmd, _) in &baselines {
        ctx.sb.run(&format!("{label} (setup)"), cmd)?;
    }
    // What ran before (a cold scenario that left no dev build) must not be timed here.
    ctx.develop_until_importable("develop (catch up)", ctx.plan.jobs)?;
    let mut last = None;
    for run in 0..ctx.plan.runs {
        ctx.progress(id.name(), &format!("edit {}, develop", krate.name), run);
        change()?;
        let developed = ctx.develop_until_importable("develop", ctx.plan.jobs)?;
        subject.push(developed.seconds);
        last = Some(developed);

        // Each baseline after an edit of its own, so that each rebuilds the same.
        for (label, cmd, series) in &mut baselines {
            ctx.progress(id.name(), &format!("edit {}, {label}", krate.name), run);
            change()?;
            series.push(ctx.sb.run(label, cmd)?.seconds);
        }
    }
    if let Some(last) = last {
        let bytes = std::fs::metadata(&last.installed)
            .with_context(|| format!("cannot read {}", last.installed.display()))?
            .len();
        s.facts.insert("extension_bytes".into(), bytes.into());
        if let Some(c) = &last.companion {
            // Loaded with it, relinked only when the third-party crates change.
            s.facts.insert("companion_bytes".into(), c.bytes.into());
        }
        s.facts
            .insert("units_compiled".into(), last.compiled.into());
    }
    s.subject = Some(subject);
    s.facts.insert(
        "profile".into(),
        ctx.plan.profile.profile.name.clone().into(),
    );
    if let Some(v) = version {
        s.facts.insert("version_bumped_to".into(), v.into());
    }
    s.baselines
        .extend(baselines.into_iter().map(|(_, _, series)| series));
    Ok(s)
}

pub(super) fn python_edit(ctx: &Ctx, id: Id) -> Result<Scenario> {
    let mut s = Scenario::new(id);
    let mut subject = Series::new(
        "develop after a Python edit",
        ctx.develop_shown(ctx.plan.jobs),
    );
    // Whatever ran before (maturin develop, a bare cargo build) may have left develop's
    // build behind an edit: catch up first, so that only the Python edit is measured.
    ctx.sb
        .note("python-edit: develop once to catch up (not timed)");
    ctx.develop_until_importable("develop (catch up)", ctx.plan.jobs)?;
    let mut rustc = 0;
    for run in 0..ctx.plan.runs {
        ctx.progress(id.name(), "edit a .py file, develop", run);
        let file = ctx.sb.edit_python()?;
        s.facts.insert(
            "edited".into(),
            file.strip_prefix(&ctx.sb.root)
                .unwrap_or(&file)
                .display()
                .to_string()
                .into(),
        );
        let developed = ctx.develop_until_importable("develop", ctx.plan.jobs)?;
        rustc += developed.compiled.len();
        subject.push(developed.seconds);
    }
    s.subject = Some(subject);
    s.facts.insert("rustc_invocations".into(), rustc.into());
    s.checks.push(Check {
        what: "no rustc ran".into(),
        ok: rustc == 0,
    });
    Ok(s)
}

/// The release wheel of one CPython after a cdylib edit, against the same wheel from
/// scratch (empty sccache and target store).
pub(super) fn release_edit(ctx: &Ctx, id: Id) -> Result<Scenario> {
    let mut s = Scenario::new(id);
    let out = ctx.sb.caches().join("dist");
    let wheel = ctx.wheel(&out, ctx.plan.jobs);
    let shown = ctx.sb.shown(&wheel);
    let mut subject = Series::new("release wheel after a cdylib edit", shown.clone());
    let mut scratch = Series::new("release wheel from scratch", shown);
    for run in 0..ctx.plan.runs {
        ctx.progress(id.name(), "release wheel from scratch: many minutes", run);
        ctx.sb.make_cold()?;
        let r = ctx.sb.run("release wheel from scratch", &wheel)?;
        ctx.sb.note(format!("  {:.1} s", r.seconds));
        scratch.push(r.seconds);

        ctx.progress(id.name(), "edit the cdylib, release wheel", run);
        ctx.sb.edit_crate(&ctx.sb.ws.cdylib)?;
        let r = ctx.sb.run("release wheel after a cdylib edit", &wheel)?;
        ctx.sb.note(format!("  {:.1} s", r.seconds));
        subject.push(r.seconds);
    }
    s.facts
        .insert("python".into(), ctx.plan.python.minor.to_string().into());
    s.subject = Some(subject);
    s.baselines.push(scratch);
    Ok(s)
}
