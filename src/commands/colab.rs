//! `maou-build colab`: the Colab cell that installs this workspace's wheels from the
//! GitHub Release `latest`, for whichever CPython the Colab runtime has.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};

use crate::colab;
use crate::github::{self, Client, Patience, Release, Settings};
use crate::messages::note;
use crate::python::Minor;
use crate::wheel_format::{escape_name, WheelName};
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
    let package = escape_name(&ws.package);

    let from_release = if args.offline {
        note(format!(
            "--offline: the URLs are built from version {} and tag {}",
            ws.version, args.tag
        ));
        None
    } else {
        let client = Client::new(Settings::from_env(
            repo.clone(),
            Patience {
                retries: 1,
                max_wait: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(github::DEFAULT_CONNECT_TIMEOUT),
                read_timeout: Duration::from_secs(github::DEFAULT_READ_TIMEOUT),
            },
            false,
        ));
        match client.release_by_tag(&args.tag) {
            Ok(Some(release)) => {
                let urls = release_wheels(&release, &package);
                if urls.is_empty() {
                    note(format!(
                        "release {} of {repo} has no {package} wheels yet; the URLs are built \
                         from version {}",
                        args.tag, ws.version
                    ));
                    None
                } else {
                    note(format!(
                        "URLs from the assets of release {} of {repo}",
                        args.tag
                    ));
                    Some(urls)
                }
            }
            Ok(None) => {
                note(format!(
                    "{repo} has no release {} yet; the URLs are built from version {}",
                    args.tag, ws.version
                ));
                None
            }
            Err(e) => {
                note(format!(
                    "could not read release {} of {repo} ({e:#}); the URLs are built from \
                     version {}",
                    args.tag, ws.version
                ));
                None
            }
        }
    };
    // Without the release, the names come from the workspace's platform.
    let platform = crate::audit::platform_of(Some(&ws))?.platform_tag;
    let mut urls = from_release.unwrap_or_else(|| {
        ws.requires_python
            .allowed_minors()
            .into_iter()
            .map(|m| {
                let py = m.tag();
                let file = format!("{package}-{}-{py}-{py}-{platform}.whl", ws.version);
                let url = github::download_url(&server_url, &repo, &args.tag, &file);
                (py, url)
            })
            .collect()
    });
    if !args.pythons.is_empty() {
        let wanted: Vec<String> = args.pythons.iter().map(|m| m.tag()).collect();
        urls.retain(|py, _| wanted.contains(py));
        if urls.is_empty() {
            bail!(
                "no wheel for {}: the release (or requires-python {}) has none",
                args.pythons
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                ws.requires_python
            );
        }
    }
    let extras = colab::gpu_extras(ws.optional_dependencies.keys());
    print!(
        "{}",
        colab::cell(
            &package,
            &format!("the `{}` release of {repo}", args.tag),
            &urls,
            &extras
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// The release's manylinux CPython wheels of `package`, by Python tag.
fn release_wheels(release: &Release, package: &str) -> BTreeMap<String, String> {
    release
        .assets
        .iter()
        .filter(|a| a.is_uploaded())
        .filter_map(|a| {
            let name = WheelName::parse(&a.name).ok()?;
            let usable = name.distribution == package
                && name.pythons.len() == 1
                && name.pythons[0].starts_with("cp")
                && name.platforms.iter().any(|p| p.starts_with("manylinux"));
            usable.then(|| (name.pythons[0].clone(), a.browser_download_url.clone()))
        })
        .collect()
}
