//! `maou-build colab`: the Colab cell that installs this workspace's wheels from the
//! GitHub Release `latest`, for whichever CPython the Colab runtime has.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::colab;
use crate::github;
use crate::python::Minor;
use crate::wheel_format::escape_name;
use crate::workspace::Workspace;

#[derive(clap::Args)]
#[command(
    about = "Print the Colab cell that installs the wheels of the `latest` release",
    long_about = "Print a ready Google Colab cell: it installs uv, picks the wheel for \
    the runtime's CPython (sys.version_info), installs it into the system interpreter with \
    `uv pip install --system \"maou @ URL\"`, then the GPU extras from the same wheel.\n\n\
    The URLs are the release's assets when the GitHub API can be read (GITHUB_TOKEN or \
    GH_TOKEN is used if set, and not needed for a public repository); otherwise they are \
    built from the package version and the tag, for each CPython that requires-python \
    allows. The cell goes to stdout; where the URLs came from goes to stderr."
)]
pub struct Args {
    /// owner/name on GitHub [default: GITHUB_REPOSITORY, else the origin remote]
    #[arg(long, value_name = "OWNER/NAME")]
    repo: Option<String>,
    /// The release to install from
    #[arg(long, default_value = "latest")]
    tag: String,
    /// Only this CPython, e.g. 3.12 [default: every one the release (or requires-python) has]
    #[arg(long = "python", value_name = "VERSION")]
    pythons: Vec<Minor>,
    /// Build the URLs from the version without asking the GitHub API
    #[arg(long)]
    offline: bool,
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let ws = Workspace::discover(workspace)?;
    let server_url = github::server_url();
    let repo = github::resolve_repo(args.repo.as_deref(), &ws.root, &server_url)?;
    let wheels = colab::Wheels {
        ws: &ws,
        repo: &repo,
        server_url: &server_url,
        tag: &args.tag,
    };
    let urls = wheels.urls(args.offline, &args.pythons)?;
    let extras = colab::gpu_extras(ws.optional_dependencies.keys());
    print!(
        "{}",
        colab::cell(
            &escape_name(&ws.package),
            &format!("the `{}` release of {repo}", args.tag),
            &urls,
            &extras
        )
    );
    Ok(ExitCode::SUCCESS)
}
