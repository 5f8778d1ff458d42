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
}

pub fn short(commit: &str) -> &str {
    &commit[..commit.len().min(7)]
}

/// What the command asked for.
pub struct Options {
    /// The wheels' directory; None: dist/ of the workspace, whose wheels they must be.
    pub dist: Option<PathBuf>,
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

/// Reads and audits the wheels, resolves the repository, commit and token, reads the
/// release, plans, and (unless a dry run) applies the plan.
pub fn run(workspace: Option<&Path>, opts: &Options) -> Result<Ended> {
    // With --dist the wheels stand on their own; without, they must be this workspace's.
    let ws = match &opts.dist {
        Some(_) => Workspace::discover(workspace).ok(),
        None => Some(Workspace::discover(workspace)?),
    };
    let dist = match (&opts.dist, &ws) {
        (Some(d), _) => d.clone(),
        (None, Some(ws)) => ws.root.join("dist"),
        (None, None) => unreachable!("discover succeeded or returned"),
    };
    let wheels = local::read_wheels(&dist)?;
    let module = match (&opts.dist, &ws) {
        (None, Some(ws)) => {
            local::check_package(&wheels, ws, &dist)?;
            Some(ws.module_name.clone())
        }
        _ => None,
    };
    let policy = audit::platform_of(ws.as_ref())?;
    let mut audits = Vec::new();
    for w in &wheels {
        let options = audit::Options {
            repair: false,
            out: None,
            module: module.as_deref(),
        };
        audits.push(audit::audit_path(
            &policy,
            &dist.join(w.file_name()),
            &options,
        )?);
    }
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
    let commit = match opts
        .commit
        .clone()
        .or_else(|| github::env_nonempty("GITHUB_SHA"))
    {
        Some(sha) => {
            git::check_sha(sha.trim())?;
            sha.trim().to_owned()
        }
        None => git::head_commit(&here)?,
    };
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
    let client = Client::new(settings);
    let inputs_key = match &ws {
        Some(ws)
            if wheels
                .iter()
                .all(|w| w.name.distribution == crate::wheel_format::escape_name(&ws.package)) =>
        {
            Some(ws.rust_inputs_key(&ws.release_features())?)
        }
        _ => {
            note("no workspace of these wheels here: the release records no inputs key, so develop will not use its extension");
            None
        }
    };
    let publish = Publish {
        client: &client,
        tag: &opts.tag,
        commit: &commit,
        server_url,
        wheels: &wheels,
        inputs_key,
    };
    let state = plan::State::read(&client, &opts.tag)?;
    let plan = plan::plan(&publish, &state);
    if opts.dry_run {
        let head = format!(
            "dry run: publishing {} to {} release {} at {}",
            local::summary(&wheels),
            client.repo(),
            opts.tag,
            short(&commit)
        );
        return Ok(Ended::DryRun(if plan.writes() {
            format!(
                "{head} would:\n{}(dry run: nothing was sent)\n",
                plan::Shown(&plan, &publish)
            )
        } else {
            format!("{head}: the release already has these wheels at this commit; nothing would be sent\n")
        }));
    }
    let outcome = apply::apply(&publish, state, &plan)?;
    Ok(Ended::Published(
        apply::Shown(&outcome, &publish).to_string(),
    ))
}
