//! The edit-to-import loop: the venv with the package installed editable, the build
//! environment, the dev build through sccache, and the extension placed atomically.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::build_env::{self, BuildEnv, Cache, JobsArg};
use crate::cargo_build::Request;
use crate::deps_archive::{self, Restored};
use crate::editable::{self, Install, Venv};
use crate::messages::note;
use crate::placement::{self, Extension};
use crate::prebuilt::{self, Installed, Lookup};
use crate::profile::{Chosen, DevOverride, ProfileSource};
use crate::python::Minor;
use crate::resources::Jobs;
use crate::sccache::Delta;
use crate::target_dir::TargetDir;
use crate::team_cache::{Checked, LastBuild};
use crate::workspace::{Features, Workspace};

/// What to build, and where.
#[derive(Clone)]
pub struct Options {
    pub python: Option<Minor>,
    /// The venv [default: .venv in the workspace].
    pub venv: Option<PathBuf>,
    pub jobs: JobsArg,
    /// On top of `[tool.maturin] features`.
    pub features: Features,
    /// The profile named on the command line (`--profile`, `--release`), over
    /// `[tool.maturin] profile`.
    pub profile: Option<String>,
    /// On top of the profile built.
    pub dev_override: Option<DevOverride>,
    /// Report the cache's hits and misses.
    pub stats: bool,
    /// Install the `latest` release's extension when no build exists yet and the Rust
    /// inputs are those it was built from ([crate::prebuilt]).
    pub prebuilt: bool,
}

pub enum Outcome {
    Built(Box<Report>),
    /// The release's extension, placed instead of a build.
    Prebuilt(Box<PrebuiltReport>),
    /// cargo failed and has shown why; the previous extension is still in place.
    BuildFailed,
}

#[derive(Serialize)]
pub struct Report {
    pub module: String,
    /// The profile built (with an override: "dev, full debuginfo").
    pub profile: String,
    /// Where that profile was named.
    pub profile_source: ProfileSource,
    pub venv: Venv,
    pub jobs: Jobs,
    pub target: TargetDir,
    pub sccache_server: Option<String>,
    /// The release's dependency build, when develop looked for one (a new target store).
    pub dependency_build: Option<DependencyBuild>,
    pub command: String,
    /// The build's features (the dev dylib's with them when it links).
    pub features: Features,
    /// Units rustc compiled: empty when nothing in Rust changed.
    pub compiled: Vec<String>,
    pub library: PathBuf,
    pub installed: PathBuf,
    /// Whether the installed extension was replaced.
    pub replaced: bool,
    /// The libraries the extension loads from beside it (a dev build through the
    /// workspace's dev dylib), when it was replaced.
    pub companion: Option<placement::Companion>,
    pub sccache: Option<Delta>,
    /// The team's remote cache, when one is named, and what its check found.
    pub team_cache: Option<Checked>,
    pub build_seconds: f64,
    pub total_seconds: f64,
}

/// develop's report when it placed the release's extension instead of building.
#[derive(Serialize)]
pub struct PrebuiltReport {
    pub module: String,
    /// Always "release": the next Rust edit builds the dev profile.
    pub profile: &'static str,
    pub venv: Venv,
    /// Nothing: no rustc ran.
    pub compiled: Vec<String>,
    pub installed: PathBuf,
    /// Whether it was downloaded now (false: an earlier develop placed it).
    pub downloaded: bool,
    pub prebuilt: Installed,
    pub team_cache: Option<Checked>,
    pub total_seconds: f64,
}

/// Whether the workspace has a build of the extension with `profile` already (in
/// `target/`, or the store it links to): then develop builds on it and never looks at the
/// release.
fn has_build(ws: &Workspace, profile: &Chosen) -> bool {
    ws.target_directory
        .join(&profile.profile.dir_name)
        .join(format!("lib{}.so", ws.cdylib.lib_name))
        .exists()
}

/// What develop did about the release's dependency build ([crate::deps_archive]).
#[derive(Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum DependencyBuild {
    Restored(Restored),
    NotUsed { reason: String },
}

/// Restores the release's dependency build into a target store that has no build of the
/// profile yet (a new store, one re-pointed to a new place, one that built another
/// profile), when the profile is built as it stands (no `--full-debuginfo`); None when
/// develop did not look (a store with this profile's build, no store, `--no-prebuilt`).
fn dependency_build(
    ws: &Workspace,
    args: &Options,
    build: &BuildEnv,
    request: &Request,
    interp: &crate::python::Interpreter,
) -> Result<Option<DependencyBuild>> {
    let Some(store) = &build.target.store else {
        return Ok(None);
    };
    if store.join(&request.profile.dir_name).exists()
        || !args.prebuilt
        || args.dev_override.is_some()
    {
        return Ok(None);
    }
    // Any failure, the key's included (a workspace without its Cargo.lock yet), is a
    // reason: the cold build follows.
    let key = || {
        deps_archive::Key::for_build(
            ws,
            interp,
            &request.profile.name,
            &request.features(),
            &build.rustc_version,
        )
    };
    let restored = deps_archive::restore(ws, key, store, &request.profile.dir_name);
    Ok(Some(match restored {
        Ok(done) => {
            note(format!(
                "restored the dependency build from the {} ({} files, {:.1} MB \
                     downloaded, {:.1} s): only the workspace's crates compile",
                done.release,
                done.files,
                done.downloaded as f64 / 1e6,
                done.seconds
            ));
            if let Some(n) = &done.note {
                note(n);
            }
            DependencyBuild::Restored(done)
        }
        Err(why) => {
            let reason = format!("{why:#}");
            note(format!(
                "a cold build, not the release's dependency build: {reason}"
            ));
            DependencyBuild::NotUsed { reason }
        }
    }))
}

/// Installs the package editable after a build: through uv with this build's profile and
/// features (maturin finds everything fresh, and uv's record then keeps `uv run` from
/// building), saying where uv's own builds would differ. With a profile override on the
/// command line (full debuginfo) maturin could not build the same: the install is left as
/// it is, or made with maou-build's own wheel.
fn install_editable(
    ws: &Workspace,
    venv: &mut Venv,
    request: &Request,
    chosen: &Chosen,
    build: &BuildEnv,
    dev_override: Option<DevOverride>,
) -> Result<()> {
    let features = request.features();
    let mismatches = crate::doors::mismatches(ws, &chosen.profile.name, &features, &venv.dir);
    let env = build.vars();
    let how = if dev_override.is_some() {
        Install::OwnWheel
    } else if mismatches.is_empty() {
        // What `uv run` would do: the same record, the same build.
        Install::Uv {
            build_args: None,
            env: &env,
        }
    } else if ws.uv_build_args.is_none() {
        Install::Uv {
            build_args: Some(crate::doors::build_args(
                Some(&chosen.profile.name),
                &features,
                Some(&venv.python),
            )),
            env: &env,
        }
    } else {
        // `[tool.uv]` gives maturin other arguments, which develop's cannot replace.
        Install::OwnWheel
    };
    let said = venv.actions.len();
    let made = editable::install(ws, venv, how)?;
    note_since(venv, said);
    if made {
        for m in mismatches {
            note(format!(
                "{}
  fix: {}",
                m.describe(),
                m.fix
            ));
        }
    }
    Ok(())
}

/// Says the actions `venv` gained since it had `said` of them.
fn note_since(venv: &Venv, said: usize) {
    for action in &venv.actions[said..] {
        note(action);
    }
}

/// The `latest` release's extension for `ws`, placed, when its Rust inputs are this
/// checkout's (and whether it was downloaded now); None, having said why, otherwise.
fn released_extension(
    ws: &Workspace,
    venv: &Venv,
    features: &crate::workspace::Features,
) -> Result<Option<(Installed, bool)>> {
    let key = ws.rust_inputs_key(features)?;
    let cache_root = crate::target_dir::cache_root()?;
    Ok(
        match prebuilt::lookup(ws, &venv.interpreter, &key, &cache_root) {
            Lookup::Installed(i) => Some((i, true)),
            Lookup::AlreadyInPlace(i) => Some((i, false)),
            Lookup::NotUsed(why) => {
                note(format!("building, not using the released extension: {why}"));
                None
            }
        },
    )
}

/// What the cache did in this build, asked of the server only when reported or when a
/// team cache's counts are kept for doctor (a round trip less in the edit loop).
fn cache_counts(
    build: &BuildEnv,
    team_cache: Option<&Checked>,
    stats: bool,
) -> Result<Option<Delta>> {
    let remote = team_cache.and_then(Checked::active);
    let delta = (stats || remote.is_some())
        .then(|| build.sccache_delta())
        .flatten();
    if let (Some(checked), Some(d)) = (remote.and(team_cache), delta.as_ref()) {
        let last = LastBuild {
            endpoint: checked.configured.endpoint.clone(),
            finished: crate::fsutil::unix_now(),
            hits: d.hits,
            misses: d.misses,
            remote_hits: d.remote_hits,
            remote_writes: d.remote_writes,
        };
        if let Err(e) = last.save(&crate::target_dir::cache_root()?) {
            note(format!(
                "could not keep the team cache's counts for doctor: {e:#}"
            ));
        }
    }
    Ok(delta)
}

/// Places the build `library` at `installed` unless the file there is already its bytes,
/// saying what it removed: whether it replaced the file, and the companion it loads, if any.
fn place_if_changed(
    ws: &Workspace,
    installed: &std::path::Path,
    library: &std::path::Path,
    dylib: Option<(&crate::workspace::DevDylib, &std::path::Path)>,
) -> Result<(bool, Option<placement::Companion>)> {
    if placement::up_to_date(installed, library) {
        return Ok((false, None));
    }
    let placed = placement::place(ws, installed, Extension::Built { library, dylib })?;
    for old in &placed.removed {
        note(format!("removed {}: this build replaces it", old.display()));
    }
    prebuilt::forget(ws, &crate::target_dir::cache_root()?);
    Ok((true, placed.companion))
}

/// Runs `request`; on failure says so (cargo has shown rustc's errors) and whether the
/// previous extension at `installed` is still in place.
fn run_build(
    request: &Request,
    installed: &std::path::Path,
) -> Option<crate::cargo_build::Outcome> {
    match request.run() {
        Ok(outcome) => Some(outcome),
        Err(err) => {
            note(format!("error: {err:#}"));
            if installed.exists() {
                note(format!(
                    "the previous extension is still in place: {}",
                    installed.display()
                ));
            }
            None
        }
    }
}

/// The venv develop installs into (`--venv`, else `.venv` in the workspace), made when
/// missing, with what was done said.
fn venv_of(ws: &Workspace, args: &Options) -> Result<Venv> {
    let dir = args
        .venv
        .clone()
        .unwrap_or_else(|| ws.root.join(crate::editable::VENV));
    let venv = editable::ensure(ws, &dir, args.python)?;
    for action in &venv.actions {
        note(action);
    }
    Ok(venv)
}

/// The release's extension installed instead of a build, when it can stand in for one: a
/// profile not chosen on the command line, no dev override, no build of that profile yet,
/// and the release recording these Rust inputs. Its team cache and time are the caller's.
fn prebuilt_instead(
    ws: &Workspace,
    args: &Options,
    chosen: &Chosen,
    venv: &mut Venv,
) -> Result<Option<PrebuiltReport>> {
    if !args.prebuilt
        || chosen.source == ProfileSource::CommandLine
        || args.dev_override.is_some()
        || has_build(ws, chosen)
    {
        return Ok(None);
    }
    // The release was built with the wheels' features (`[tool.maou-build] wheel-features`
    // on top of `[tool.maturin]`'s): its extension stands in when the sources are the same
    // and the command line asks for nothing it lacks, so its key is asked with those.
    let released = ws.release_features().and(&args.features);
    let Some((prebuilt, downloaded)) = released_extension(ws, venv, &released)? else {
        return Ok(None);
    };
    // uv's install would build the dev profile now: the release's extension is installed
    // beside maou-build's own editable wheel instead.
    let said = venv.actions.len();
    editable::install(ws, venv, Install::OwnWheel)?;
    note_since(venv, said);
    Ok(Some(PrebuiltReport {
        module: ws.module_name.clone(),
        profile: "release",
        compiled: Vec::new(),
        installed: prebuilt.installed.clone(),
        downloaded,
        prebuilt,
        team_cache: None,
        venv: venv.clone(),
        total_seconds: 0.0,
    }))
}

/// Builds the extension of `ws` into its editable package: the venv, the release's
/// extension when it can stand in for a build, else the build, its placement and the
/// editable install, each a function of its own; what is left here is the order and the
/// report's fields.
pub fn run(ws: &Workspace, args: &Options) -> Result<Outcome> {
    let started = Instant::now();
    let chosen = Chosen::for_workspace(ws, args.profile.as_deref())?;
    let cache = build_env::find_cache(ws, Cache::Required)?;
    let mut venv = venv_of(ws, args)?;

    let features = ws.features.and(&args.features);
    if let Some(report) = prebuilt_instead(ws, args, &chosen, &mut venv)? {
        return Ok(Outcome::Prebuilt(Box::new(PrebuiltReport {
            team_cache: cache.and_then(|c| c.team_cache),
            total_seconds: started.elapsed().as_secs_f64(),
            ..report
        })));
    }

    let build = BuildEnv::prepare(ws, cache, &args.jobs)?;
    let jobs = build.jobs.clone();
    let sccache_server = build.server_restarted.clone();

    let request = Request {
        ws,
        profile: &chosen.profile,
        jobs: jobs.jobs,
        features,
        env: [
            build.vars(),
            crate::pyo3_env::vars(ws, &venv.interpreter, &venv.python, &build.rustc_host)?,
        ]
        .concat(),
        dev_override: args.dev_override,
    };
    let dependency_build = dependency_build(ws, args, &build, &request, &venv.interpreter)?;
    let profile = match args.dev_override {
        Some(o) => o.profile_name(&chosen.profile.name),
        None => chosen.profile.name.clone(),
    };
    let installed = placement::installed_path(ws, &venv.interpreter, &venv.dir);
    note(format!(
        "{} ({profile}: {}) for CPython {}, jobs: {}",
        ws.module_name,
        chosen.why(),
        venv.interpreter.version,
        jobs.why
    ));

    let Some(outcome) = run_build(&request, &installed) else {
        return Ok(Outcome::BuildFailed);
    };
    let team_cache = build.cache.as_ref().and_then(|c| c.team_cache.clone());
    let sccache_delta = cache_counts(&build, team_cache.as_ref(), args.stats)?;

    let dylib = request.dev_dylib().zip(outcome.dev_dylib.as_deref());
    let (replaced, companion) = place_if_changed(ws, &installed, &outcome.library, dylib)?;

    install_editable(ws, &mut venv, &request, &chosen, &build, args.dev_override)?;

    let (command, features) = (request.shown(), request.features());
    drop(request);
    Ok(Outcome::Built(Box::new(Report {
        module: ws.module_name.clone(),
        profile,
        profile_source: chosen.source,
        venv,
        jobs,
        target: build.target,
        sccache_server,
        dependency_build,
        command,
        features,
        compiled: outcome.compiled,
        library: outcome.library,
        installed,
        replaced,
        companion,
        sccache: sccache_delta,
        team_cache,
        build_seconds: outcome.elapsed.as_secs_f64(),
        total_seconds: started.elapsed().as_secs_f64(),
    })))
}

/// The dependency builds of `ws` packed into `out` for the release ([crate::deps_archive]),
/// one per CPython in `pythons` (none: every one requires-python allows that is installed,
/// the interpreters new machines may take): develop's own build each time (never the
/// release's extension nor its dependency build, the venv made for that CPython), then its
/// target store's third-party units and dev dylib. None when a build failed (cargo has
/// said why).
pub fn dependency_archives(
    ws: &Workspace,
    args: &Options,
    pythons: &[Minor],
    out: &std::path::Path,
    level: i32,
) -> Result<Option<Vec<(Report, deps_archive::Packed)>>> {
    let interpreters = crate::python::select(&ws.requires_python, pythons)?;
    let mut packed = Vec::new();
    for interp in interpreters {
        let started = crate::fsutil::unix_now();
        let opts = Options {
            python: Some(interp.minor),
            prebuilt: false,
            dev_override: None,
            ..args.clone()
        };
        let report = match run(ws, &opts)? {
            Outcome::Built(report) => report,
            Outcome::BuildFailed => return Ok(None),
            Outcome::Prebuilt(_) => unreachable!("asked to build"),
        };
        let Some(store) = &report.target.store else {
            anyhow::bail!(
                "the build went to {}, not to maou-build's target store ({}): the archive is \
                 packed from the store, so unset CARGO_TARGET_DIR or build.target-dir",
                report.target.path.display(),
                report.target.describe()
            );
        };
        let rustc = crate::target_dir::rustc_version(ws)?;
        let key = deps_archive::Key::for_build(
            ws,
            &report.venv.interpreter,
            &report.profile,
            &report.features,
            &rustc,
        )?;
        let dir = ws.profiles.resolve(&report.profile)?.dir_name;
        let archive = deps_archive::pack(ws, store, &dir, &key, started, out, level)?;
        note(format!(
            "packed {} ({:.1} MB)",
            archive.archive.display(),
            archive.record.size as f64 / 1e6
        ));
        packed.push((*report, archive));
    }
    Ok(Some(packed))
}
