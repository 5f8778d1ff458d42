//! `maou-build publish-latest`: the arguments, [crate::publish::run], the report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use crate::github;
use crate::messages::note;
use crate::publish::{self, Ended, Options};

#[derive(clap::Args)]
#[command(
    about = "Put the audited wheels of dist/ on the GitHub Release `latest`, in place, for Colab",
    long_about = "Publish the wheels in dist/ on the GitHub Release `latest` (or \
    --tag), for the commit just built, where Colab installs them from.\n\n\
    The wheels are audited first (as `maou-build audit`); if one fails, nothing is sent. \
    With no release, it is created with its tag at the commit. Otherwise it is updated in \
    place: new wheels are uploaded (under a temporary name when the final one is taken), \
    then each old asset is deleted and the new one renamed into its place, so every Python \
    tag always has a wheel on the release; then the tag moves to the commit and the title \
    and body (commit, UTC build time, version, platform, CPython tags, Colab cell) are set. \
    A second run for the same commit and wheels changes nothing.\n\n\
    Transient failures (5xx, rate limits, network errors) are retried with backoff, \
    honouring Retry-After and x-ratelimit-reset; other errors stop it, and a failed upload \
    leaves the previous wheels downloadable.\n\n\
    Environment: GITHUB_TOKEN or GH_TOKEN (the token; never printed), GITHUB_API_URL \
    (default https://api.github.com), GITHUB_SERVER_URL (default https://github.com), \
    GITHUB_REPOSITORY and GITHUB_SHA (as GitHub Actions sets them)."
)]
pub struct Args {
    /// Directory holding the wheels [default: dist/ in the workspace]
    #[arg(long, value_name = "DIR")]
    dist: Option<PathBuf>,
    /// Publish the dependency builds in DIR (made by `maou-build deps-archive`) beside the
    /// wheels, on the release publish-latest made: each archive, then its record (what
    /// develop looks for), then older builds of the same profile and CPython go, but the
    /// newest. No wheel, tag or body is touched
    #[arg(long, value_name = "DIR", conflicts_with_all = ["dist", "commit"])]
    deps: Option<PathBuf>,
    /// owner/name on GitHub [default: GITHUB_REPOSITORY, else the origin remote]
    #[arg(long, value_name = "OWNER/NAME")]
    repo: Option<String>,
    /// The release's tag; it moves to the commit on every publish
    #[arg(long, default_value = "latest")]
    tag: String,
    /// The commit the tag points at [default: GITHUB_SHA, else `git rev-parse HEAD`]
    #[arg(long, value_name = "SHA")]
    commit: Option<String>,
    /// Read the release (GET only) and print every write request it would send; send none
    #[arg(long)]
    dry_run: bool,
    /// Show every request with its status and time (never the token)
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Retries of a request that failed with 5xx, a rate limit or a network error
    #[arg(long, default_value_t = 5, value_name = "N")]
    retries: u32,
    /// Longest single wait before a retry (a rate limit may ask for more; then it stops)
    #[arg(long, default_value_t = 900, value_name = "SECONDS")]
    max_wait: u64,
    /// Longest wait for a connection to GitHub
    #[arg(long, default_value_t = github::DEFAULT_CONNECT_TIMEOUT, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    connect_timeout: u64,
    /// Longest wait for an answer once a request is sent (an upload's body gets this plus
    /// 1 s per 100 kB); a connection that stays silent longer counts as dead and the
    /// request is retried
    #[arg(long, default_value_t = github::DEFAULT_READ_TIMEOUT, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    read_timeout: u64,
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let opts = Options {
        dist: args.dist.clone(),
        deps: args.deps.clone(),
        repo: args.repo.clone(),
        tag: args.tag.clone(),
        commit: args.commit.clone(),
        dry_run: args.dry_run,
        verbose: args.verbose,
        retries: args.retries,
        max_wait: Duration::from_secs(args.max_wait),
        connect_timeout: Duration::from_secs(args.connect_timeout),
        read_timeout: Duration::from_secs(args.read_timeout),
    };
    match publish::run(workspace, &opts)? {
        Ended::AuditFailed(audits) => {
            audits.iter().filter(|a| !a.ok).for_each(|a| print!("{a}"));
            note("nothing was sent: a wheel failed the audit (rebuild it with `maou-build wheel`)");
            Ok(ExitCode::from(1))
        }
        Ended::DryRun(text) | Ended::Published(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
