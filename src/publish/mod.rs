//! Publishing: the audited wheels in `dist/` replace those on the GitHub Release `latest`,
//! in place, and the tag moves to the commit; Colab installs from there. The release is
//! read ([plan::State]), the writes are planned ([plan::plan]), then applied
//! ([apply::apply]); a dry run prints the plan.
//!
//! Why in place, and in this order: deleting and recreating the release (as
//! `gh release delete` + `gh release create` do) leaves a window in which every wheel URL
//! is 404, and races with GitHub's own deletion. Instead:
//! 1. every new wheel is uploaded first, under a temporary name when its final name is
//!    taken. Uploading is the slow step that fails; while it runs, the release is as it was;
//! 2. then, wheel by wheel, the old asset is deleted and the new one renamed into its
//!    place. GitHub refuses two assets with one name (422), so a same-name swap cannot be
//!    atomic; this keeps the gap to one API round trip, during which the Python tag still
//!    has a complete wheel under the temporary name;
//! 3. assets that are no longer built (another version, a dropped CPython) go only after
//!    every new wheel has its final name;
//! 4. the tag and the title/body move last, so the release never describes a commit whose
//!    wheels are not yet there.

mod apply;
mod body;
mod local;
mod plan;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::audit::{self, Report as AuditReport};
use crate::git;
use crate::github::{self, Client, Patience, Settings};
use crate::messages::note;
use crate::workspace::Workspace;
pub use local::Local;

/// Marks an asset uploaded by publish-latest and not yet renamed into place.
const TEMP_SUFFIX: &str = ".uploading";

/// One publish: where, what, at which commit.
pub struct Publish<'a> {
    pub client: &'a Client,
    pub tag: &'a str,
    pub commit: &'a str,
    pub server_url: String,
    pub wheels: &'a [Local],
    /// The key of the Rust inputs the wheels were built from, when the workspace is here:
    /// recorded in the body for develop ([crate::prebuilt]).
    pub inputs_key: Option<String>,
    /// The workspace's release notes (`[tool.maou-build] release-notes`), put in the body.
    pub notes: Option<String>,
}

pub fn short(commit: &str) -> &str {
    &commit[..commit.len().min(7)]
}

/// What the command asked for.
pub struct Options {
    /// The wheels' directory; None: dist/ of the workspace, whose wheels they must be.
    pub dist: Option<PathBuf>,
    /// A directory of dependency builds to publish instead of wheels.
    pub deps: Option<PathBuf>,
    pub repo: Option<String>,
    pub tag: String,
    pub commit: Option<String>,
    pub dry_run: bool,
    pub verbose: bool,
    pub retries: u32,
    pub max_wait: Duration,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
}

/// How a publish ended; the text is the report for stdout.
pub enum Ended {
    /// A wheel failed the audit: nothing was sent. Every wheel's audit.
    AuditFailed(Vec<AuditReport>),
    DryRun(String),
    Published(String),
}

/// Puts the dependency builds of `dir` ([crate::deps_archive]) on the release the wheels'
/// publish made.
fn run_deps(workspace: Option<&Path>, opts: &Options, dir: &Path) -> Result<Ended> {
    let here = match workspace {
        Some(dir) => dir.to_path_buf(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let repo = github::resolve_repo(opts.repo.as_deref(), &here, &github::server_url())?;
    let client = client_for(opts, repo)?;
    let done = crate::deps_archive::publish(&client, &opts.tag, dir, opts.dry_run)?;
    let mut text = String::new();
    for (what, names) in [
        ("uploaded", &done.uploaded),
        ("already there", &done.unchanged),
        ("deleted (an older build)", &done.deleted),
    ] {
        for name in names {
            text.push_str(&format!("{what}: {name}\n"));
        }
    }
    Ok(if opts.dry_run {
        Ended::DryRun(text)
    } else {
        Ended::Published(text)
    })
}

/// Reads and audits the wheels, resolves the repository, commit and token, reads the
/// release, plans, and (unless a dry run) applies the plan. With `deps`, publishes the
/// dependency builds instead.
pub fn run(workspace: Option<&Path>, opts: &Options) -> Result<Ended> {
    if let Some(dir) = &opts.deps {
        return run_deps(workspace, opts, dir);
    }
    // With --dist the wheels stand on their own; without, they must be this workspace's.
    let ws = match &opts.dist {
        Some(_) => Workspace::discover(workspace).ok(),
        None => Some(Workspace::discover(workspace)?),
    };
    let (dist, wheels) = local_wheels(ws.as_ref(), opts)?;
    let policy = audit::platform_of(ws.as_ref())?;
    let module = ws
        .as_ref()
        .filter(|_| opts.dist.is_none())
        .map(|ws| ws.module_name.as_str());
    let audits = wheels
        .iter()
        .map(|w| {
            let options = audit::Options {
                repair: false,
                out: None,
                module,
            };
            audit::audit_path(&policy, &dist.join(w.file_name()), &options)
        })
        .collect::<Result<Vec<_>>>()?;
    if audits.iter().any(|a| !a.ok) {
        return Ok(Ended::AuditFailed(audits));
    }
    note(format!(
        "{} wheel(s) in {} pass the {} audit",
        wheels.len(),
        dist.display(),
        policy.name
    ));

    let here = match &ws {
        Some(ws) => ws.root.clone(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let server_url = github::server_url();
    let repo = github::resolve_repo(opts.repo.as_deref(), &here, &server_url)?;
    let commit = commit_of(opts, &here)?;
    let client = client_for(opts, repo)?;
    let publish = Publish {
        client: &client,
        tag: &opts.tag,
        commit: &commit,
        server_url,
        wheels: &wheels,
        inputs_key: inputs_key(ws.as_ref(), &wheels)?,
        notes: release_notes(ws.as_ref())?,
    };
    let state = plan::State::read(&client, &opts.tag)?;
    let plan = plan::plan(&publish, &state);
    if opts.dry_run {
        return Ok(Ended::DryRun(dry_run_text(&publish, &plan)));
    }
    let outcome = apply::apply(&publish, state, &plan)?;
    Ok(Ended::Published(
        apply::Shown(&outcome, &publish).to_string(),
    ))
}

/// The wheels' directory and the wheels in it: `--dist`'s, else the workspace's `dist/`,
/// whose wheels must then be the workspace's package.
fn local_wheels(ws: Option<&Workspace>, opts: &Options) -> Result<(PathBuf, Vec<Local>)> {
    let dist = match (&opts.dist, ws) {
        (Some(d), _) => d.clone(),
        (None, Some(ws)) => ws.root.join("dist"),
        (None, None) => unreachable!("discover succeeded or returned"),
    };
    let wheels = local::read_wheels(&dist)?;
    if let (None, Some(ws)) = (&opts.dist, ws) {
        local::check_package(&wheels, ws, &dist)?;
    }
    Ok((dist, wheels))
}

/// The commit the tag moves to: `--commit`, else GITHUB_SHA, else the checkout's HEAD.
fn commit_of(opts: &Options, here: &Path) -> Result<String> {
    match opts
        .commit
        .clone()
        .or_else(|| github::env_nonempty("GITHUB_SHA"))
    {
        Some(sha) => {
            git::check_sha(sha.trim())?;
            Ok(sha.trim().to_owned())
        }
        None => git::head_commit(here),
    }
}

/// The API client for `repo`, with the token from the environment (required unless a dry
/// run: without one nothing is sent).
fn client_for(opts: &Options, repo: github::Repo) -> Result<Client> {
    let settings = Settings::from_env(
        repo,
        Patience {
            retries: opts.retries,
            max_wait: opts.max_wait,
            connect_timeout: opts.connect_timeout,
            read_timeout: opts.read_timeout,
        },
        opts.verbose,
    );
    if settings.token.is_none() && !opts.dry_run {
        bail!(
            "no token: set GITHUB_TOKEN or GH_TOKEN to a token that may write releases of \
             {} (in a workflow: `env: GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}` with \
             `permissions: contents: write`). Nothing was sent.",
            settings.repo
        );
    }
    Ok(Client::new(settings))
}

/// The text of the workspace's release notes file, when it names one.
fn release_notes(ws: Option<&Workspace>) -> Result<Option<String>> {
    let Some((ws, rel)) = ws.and_then(|ws| Some((ws, ws.release_notes.as_ref()?))) else {
        return Ok(None);
    };
    let path = ws.root.join(rel);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the release notes {} ([tool.maou-build] release-notes in {})",
            path.display(),
            ws.pyproject.display()
        )
    })?;
    Ok(Some(text.trim().to_owned()).filter(|t| !t.is_empty()))
}

/// The Rust inputs' key the release records for develop, when the wheels are the
/// workspace's here.
fn inputs_key(ws: Option<&Workspace>, wheels: &[Local]) -> Result<Option<String>> {
    match ws {
        Some(ws)
            if wheels
                .iter()
                .all(|w| w.name.distribution == crate::wheel_format::escape_name(&ws.package)) =>
        {
            Ok(Some(ws.rust_inputs_key(&ws.release_features())?))
        }
        _ => {
            note("no workspace of these wheels here: the release records no inputs key, so develop will not use its extension");
            Ok(None)
        }
    }
}

/// What a dry run prints: the plan, or that nothing would be sent.
fn dry_run_text(publish: &Publish, plan: &plan::Plan) -> String {
    let head = format!(
        "dry run: publishing {} to {} release {} at {}",
        local::summary(publish.wheels),
        publish.client.repo(),
        publish.tag,
        short(publish.commit)
    );
    if plan.writes() {
        format!(
            "{head} would:\n{}(dry run: nothing was sent)\n",
            plan::Shown(plan, publish)
        )
    } else {
        format!(
            "{head}: the release already has these wheels at this commit; nothing would be sent\n"
        )
    }
}
