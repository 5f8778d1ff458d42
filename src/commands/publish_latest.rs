//! `maou-build publish-latest`: UC2's delivery. The audited wheels in `dist/` replace
//! those on the GitHub Release `latest`, in place, and the tag moves to the commit.
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

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};

use crate::audit::{self, Options as AuditOptions};
use crate::colab;
use crate::git;
use crate::github::{self, Asset, Client, Release, ReleaseFields, Settings, Token};
use crate::messages::note;
use crate::wheel::{WheelContents, WheelName};
use crate::workspace::Workspace;

/// The body line that carries the build time.
const BUILT: &str = "Built: ";

/// A body without its build time line, to compare two bodies of the same wheels.
fn without_build_time(body: &str) -> String {
    body.lines()
        .filter(|l| !l.starts_with(BUILT))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Marks an asset uploaded by publish-latest and not yet renamed into place.
const TEMP_SUFFIX: &str = ".uploading";

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
}

/// A wheel in dist/, read whole: wheels are tens of MB, and the upload needs the bytes.
struct Local {
    name: WheelName,
    bytes: Vec<u8>,
    sha256: String,
    python: String,
    platform: String,
    modified: SystemTime,
    extras: Vec<String>,
}

impl Local {
    fn file_name(&self) -> &str {
        &self.name.file_name
    }

    /// Whether `asset` already holds exactly this wheel. GitHub's `digest` decides when
    /// present; an older server has none, and then the sha256 this tool wrote into the
    /// release body stands in for it.
    fn is_on(&self, asset: &Asset, body: &str) -> bool {
        asset.state == "uploaded"
            && asset.size == self.bytes.len() as u64
            && match &asset.digest {
                Some(d) => d.eq_ignore_ascii_case(&format!("sha256:{}", self.sha256)),
                None => body.contains(&self.sha256),
            }
    }
}

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    // With --dist the wheels stand on their own; without, they must be this workspace's.
    let ws = match &args.dist {
        Some(_) => Workspace::discover(workspace).ok(),
        None => Some(Workspace::discover(workspace)?),
    };
    let dist = match (&args.dist, &ws) {
        (Some(d), _) => d.clone(),
        (None, Some(ws)) => ws.root.join("dist"),
        (None, None) => unreachable!("discover succeeded or returned"),
    };
    let wheels = read_wheels(&dist)?;
    if args.dist.is_none() {
        if let Some(ws) = &ws {
            check_package(&wheels, ws, &dist)?;
        }
    }

    let policy = crate::audit::platform_of(ws.as_ref())?;
    let module = ws
        .as_ref()
        .filter(|_| args.dist.is_none())
        .map(|w| w.module_name.clone());
    let mut failed = false;
    for w in &wheels {
        let path = dist.join(w.file_name());
        let report = audit::audit_path(
            &policy,
            &path,
            &AuditOptions {
                repair: false,
                out: None,
                module: module.as_deref(),
            },
        )?;
        if !report.ok {
            print!("{report}");
            failed = true;
        }
    }
    if failed {
        note("nothing was sent: a wheel failed the audit (rebuild it with `maou-build wheel`)");
        return Ok(ExitCode::from(1));
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
    let repo = github::resolve_repo(args.repo.as_deref(), &here, &server_url)?;
    let commit = match args
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
    let token = Token::from_env();
    if token.is_none() && !args.dry_run {
        bail!(
            "no token: set GITHUB_TOKEN or GH_TOKEN to a token that may write releases of \
             {repo} (in a workflow: `env: GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}` with \
             `permissions: contents: write`). Nothing was sent."
        );
    }
    let client = Client::new(Settings {
        api_url: github::api_url(),
        repo,
        token,
        verbose: args.verbose,
        dry_run: args.dry_run,
        retries: args.retries,
        max_wait: Duration::from_secs(args.max_wait),
    });
    let publish = Publish {
        client: &client,
        tag: &args.tag,
        commit: &commit,
        server_url,
        wheels: &wheels,
    };
    if args.dry_run {
        println!(
            "dry run: publishing {} to {} release {} at {} would send:",
            summary(&wheels),
            client.repo(),
            args.tag,
            short(&commit)
        );
    }
    let outcome = publish.run()?;
    outcome.print(&publish, args.dry_run);
    Ok(ExitCode::SUCCESS)
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(7)]
}

fn summary(wheels: &[Local]) -> String {
    let first = &wheels[0].name;
    format!(
        "{} {} ({})",
        first.distribution,
        first.version,
        wheels
            .iter()
            .map(|w| w.python.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The wheels in `dist`, one per Python and platform tag.
fn read_wheels(dist: &Path) -> Result<Vec<Local>> {
    let paths = crate::wheel::files_in(dist).with_context(|| {
        format!(
            "no wheels to publish in {}: build them first with `maou-build wheel`",
            dist.display()
        )
    })?;
    if paths.is_empty() {
        bail!(
            "no wheels in {}: build them first with `maou-build wheel`",
            dist.display()
        );
    }
    let mut wheels = Vec::new();
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    for path in paths {
        let file_name = path.file_name().unwrap_or_default().to_string_lossy();
        let name = WheelName::parse(&file_name)
            .with_context(|| format!("{} is not a wheel name", path.display()))?;
        let (python, platform) = match (&name.pythons[..], &name.platforms[..]) {
            ([py], [plat]) => (py.clone(), plat.clone()),
            _ => bail!(
                "{file_name} has several Python or platform tags; publish-latest expects one \
                 wheel per CPython, as `maou-build wheel` builds them"
            ),
        };
        if let Some(other) = seen.insert((python.clone(), platform.clone()), file_name.to_string())
        {
            bail!(
                "{} holds two wheels for {python} {platform} ({other} and {file_name}): remove \
                 the stale one, or rebuild into an empty directory",
                dist.display()
            );
        }
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let modified = fs::metadata(&path)
            .and_then(|m| m.modified())
            .with_context(|| format!("cannot read the time of {}", path.display()))?;
        let contents = WheelContents::read(&path, &name)?;
        let extras = metadata_extras(&contents, &name);
        wheels.push(Local {
            sha256: crate::wheel::sha256_hex(&bytes),
            name,
            bytes,
            python,
            platform,
            modified,
            extras,
        });
    }
    let first = &wheels[0].name;
    if let Some(odd) = wheels
        .iter()
        .find(|w| w.name.distribution != first.distribution || w.name.version != first.version)
    {
        bail!(
            "{} mixes {} {} with {} {}: publish one version at a time",
            dist.display(),
            first.distribution,
            first.version,
            odd.name.distribution,
            odd.name.version
        );
    }
    Ok(wheels)
}

/// The extras the wheel's METADATA declares (`Provides-Extra:`).
fn metadata_extras(contents: &WheelContents, name: &WheelName) -> Vec<String> {
    let metadata = format!("{}/METADATA", name.dist_info());
    contents
        .files()
        .find(|(n, _)| *n == metadata)
        .map(|(_, bytes)| {
            String::from_utf8_lossy(bytes)
                .lines()
                .take_while(|l| !l.is_empty())
                .filter_map(|l| l.strip_prefix("Provides-Extra:"))
                .map(|e| e.trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn check_package(wheels: &[Local], ws: &Workspace, dist: &Path) -> Result<()> {
    let name = &wheels[0].name;
    let want = crate::wheel::escape_name(&ws.package);
    if name.distribution != want || name.version != ws.version {
        bail!(
            "{} holds {} {} but {} is {} {}: rebuild with `maou-build wheel` (or pass --dist \
             to publish other wheels)",
            dist.display(),
            name.distribution,
            name.version,
            ws.pyproject.display(),
            ws.package,
            ws.version
        );
    }
    Ok(())
}

struct Publish<'a> {
    client: &'a Client,
    tag: &'a str,
    commit: &'a str,
    server_url: String,
    wheels: &'a [Local],
}

#[derive(Default)]
struct Outcome {
    created_release: bool,
    uploaded: Vec<String>,
    replaced: Vec<String>,
    unchanged: Vec<String>,
    deleted: Vec<String>,
    tag_moved: Option<Option<String>>,
    release_updated: bool,
    html_url: String,
}

impl Outcome {
    fn changed(&self) -> bool {
        self.created_release
            || !self.uploaded.is_empty()
            || !self.replaced.is_empty()
            || !self.deleted.is_empty()
            || self.tag_moved.is_some()
            || self.release_updated
    }

    fn print(&self, p: &Publish, dry_run: bool) {
        let repo = p.client.repo();
        if !self.changed() {
            println!(
                "{repo} release {} is already at {} with these wheels: nothing {}",
                p.tag,
                short(p.commit),
                if dry_run {
                    "would be sent"
                } else {
                    "was changed"
                }
            );
            return;
        }
        if dry_run {
            println!("(dry run: nothing was sent)");
            return;
        }
        println!(
            "{repo} release {} {} at {}:",
            p.tag,
            if self.created_release {
                "created"
            } else {
                "updated in place"
            },
            short(p.commit)
        );
        for (what, names) in [
            ("uploaded", &self.uploaded),
            ("replaced", &self.replaced),
            ("unchanged", &self.unchanged),
            ("deleted", &self.deleted),
        ] {
            for n in names {
                println!("  {what:9} {n}");
            }
        }
        match &self.tag_moved {
            Some(Some(from)) => {
                println!("  tag {} moved from {} to {}", p.tag, short(from), p.commit)
            }
            Some(None) => println!("  tag {} created at {}", p.tag, p.commit),
            None => {}
        }
        if !self.html_url.is_empty() {
            println!("  {}", self.html_url);
        }
    }
}

impl Publish<'_> {
    fn run(&self) -> Result<Outcome> {
        let c = self.client;
        let mut out = Outcome::default();
        let existing = c.release_by_tag(self.tag)?;
        let tag_commit = c.tag_commit(self.tag)?;

        let (release, assets) = match existing {
            Some(release) => {
                let assets = c.list_assets(&release)?;
                (release, assets)
            }
            None => {
                // The tag first: GitHub ignores target_commitish when the tag exists.
                self.set_tag(tag_commit.as_deref(), &mut out)?;
                let fields = self.fields(&BTreeMap::new());
                let release = c.create_release(&fields, self.commit)?;
                note(format!("created release {} of {}", self.tag, c.repo()));
                out.created_release = true;
                (release, Vec::new())
            }
        };
        out.html_url = release.html_url.clone();
        let body = release.body.clone().unwrap_or_default();

        // Leftovers of an interrupted run: never anyone's download URL.
        let mut current: Vec<Asset> = Vec::new();
        for a in assets {
            if a.name.ends_with(TEMP_SUFFIX) {
                note(format!(
                    "deleting {} left by an interrupted publish",
                    a.name
                ));
                c.delete_asset(&a)?;
            } else {
                current.push(a);
            }
        }

        // 1. Upload everything new; nothing the users see changes yet.
        let mut placed: BTreeMap<String, Asset> = BTreeMap::new();
        let mut swaps: Vec<(Asset, Asset, &Local)> = Vec::new();
        for w in self.wheels {
            let old = current.iter().find(|a| a.name == w.file_name());
            match old {
                Some(a) if w.is_on(a, &body) => {
                    out.unchanged.push(w.file_name().to_owned());
                    placed.insert(w.file_name().to_owned(), a.clone());
                }
                Some(a) => {
                    let temp = format!("{}.{}{TEMP_SUFFIX}", w.file_name(), short(self.commit));
                    let new = self.upload(&release, &temp, w)?;
                    swaps.push((a.clone(), new, w));
                }
                None => {
                    let new = self.upload(&release, w.file_name(), w)?;
                    out.uploaded.push(w.file_name().to_owned());
                    placed.insert(w.file_name().to_owned(), new);
                }
            }
        }

        // 2. Swap each same-name wheel: delete the old, rename the new into place.
        for (old, new, w) in swaps {
            c.delete_asset(&old)
                .with_context(|| format!("replacing {}: the new wheel is on the release as {}; run publish-latest again to finish", old.name, new.name))?;
            let renamed = c.rename_asset(&new, w.file_name()).with_context(|| {
                format!(
                    "the old {} is deleted and the new one is on the release as {}; run \
                     publish-latest again to finish",
                    w.file_name(),
                    new.name
                )
            })?;
            note(format!("replaced {}", w.file_name()));
            out.replaced.push(w.file_name().to_owned());
            placed.insert(w.file_name().to_owned(), renamed);
        }

        // 3. What this build no longer has.
        for a in &current {
            if !placed.contains_key(&a.name) {
                c.delete_asset(a)?;
                note(format!(
                    "deleted {}, which this build does not have",
                    a.name
                ));
                out.deleted.push(a.name.clone());
            }
        }

        // 4. The tag and the description, now that the wheels are in place.
        if !out.created_release {
            self.set_tag(tag_commit.as_deref(), &mut out)?;
        }
        let fields = self.fields(&placed);
        // The same wheels at the same commit keep the body's build time: a Nix store file
        // has no modification time to give, and a reproducible rebuild has a new one.
        let wheels_unchanged = out.uploaded.is_empty()
            && out.replaced.is_empty()
            && out.deleted.is_empty()
            && out.tag_moved.is_none();
        let body_same = match release.body.as_deref() {
            Some(old) if wheels_unchanged => {
                without_build_time(old) == without_build_time(&fields.body)
            }
            Some(old) => old == fields.body,
            None => false,
        };
        let same = release.name.as_deref() == Some(fields.name.as_str())
            && body_same
            && release.prerelease == fields.prerelease
            && !release.draft;
        if !same {
            c.update_release(&release, &fields)?;
            out.release_updated = true;
        }
        Ok(out)
    }

    fn set_tag(&self, current: Option<&str>, out: &mut Outcome) -> Result<()> {
        match current {
            Some(sha) if sha == self.commit => {}
            Some(sha) => {
                self.client.move_tag(self.tag, self.commit)?;
                out.tag_moved = Some(Some(sha.to_owned()));
            }
            None => {
                self.client.create_tag(self.tag, self.commit)?;
                out.tag_moved = Some(None);
            }
        }
        Ok(())
    }

    /// Uploads `w` as `name`. If the upload fails for good, a partial asset it may have
    /// left is removed, and the error says that the release still has its previous wheels.
    fn upload(&self, release: &Release, name: &str, w: &Local) -> Result<Asset> {
        note(format!(
            "uploading {name} ({:.1} MB)",
            w.bytes.len() as f64 / 1e6
        ));
        match self.client.upload_asset(release, name, &w.bytes) {
            Ok(asset) => Ok(asset),
            Err(e) => {
                if let Ok(assets) = self.client.list_assets(release) {
                    for a in assets.iter().filter(|a| a.name == name) {
                        let _ = self.client.delete_asset(a);
                    }
                }
                Err(e).with_context(|| {
                    format!(
                        "uploading {name} failed; nothing was deleted, so the release still \
                         has its previous wheels"
                    )
                })
            }
        }
    }

    fn download_url(&self, name: &str, placed: &BTreeMap<String, Asset>) -> String {
        placed
            .get(name)
            .map(|a| a.browser_download_url.clone())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| {
                format!(
                    "{}/{}/releases/download/{}/{name}",
                    self.server_url,
                    self.client.repo(),
                    self.tag
                )
            })
    }

    /// Title and body. The build time is the newest wheel's modification time; files from
    /// the Nix store (whose times are all 1970-01-01 00:00:01) count as built now.
    fn fields(&self, placed: &BTreeMap<String, Asset>) -> ReleaseFields {
        let first = &self.wheels[0];
        let built = self
            .wheels
            .iter()
            .map(|w| w.modified)
            .max()
            .filter(|t| *t > SystemTime::UNIX_EPOCH + Duration::from_secs(1))
            .unwrap_or_else(SystemTime::now);
        let built = humantime::format_rfc3339_seconds(built)
            .to_string()
            .replace('T', " ")
            .replace('Z', " UTC");
        let mut body = format!(
            "Wheels of **{} {}** built from commit `{}`.\n\n{BUILT}{built}\n\n\
             This release is rolling: every push to main replaces its wheels in place and \
             moves the tag `{}` to the commit.\n\n\
             | CPython | Platform | Wheel | SHA-256 |\n|---|---|---|---|\n",
            first.name.distribution, first.name.version, self.commit, self.tag
        );
        let mut urls = BTreeMap::new();
        for w in self.wheels {
            let url = self.download_url(w.file_name(), placed);
            let version = colab::python_version(&w.python)
                .map_or(w.python.clone(), |(a, b)| format!("{a}.{b}"));
            body.push_str(&format!(
                "| {version} | {} | [{}]({url}) | `{}` |\n",
                w.platform,
                w.file_name(),
                w.sha256
            ));
            urls.insert(w.python.clone(), url);
        }
        let cell = colab::cell(
            &first.name.distribution,
            &format!("the `{}` release of {}", self.tag, self.client.repo()),
            &urls,
            &colab::gpu_extras(&first.extras),
        );
        body.push_str(&format!(
            "\nInstall on Google Colab (paste into a cell):\n\n```python\n{cell}```\n"
        ));
        ReleaseFields {
            tag: self.tag.to_owned(),
            name: format!(
                "{} {} (main at {})",
                first.name.distribution,
                first.name.version,
                short(self.commit)
            ),
            body,
            // A build of main, not a versioned release: a real release stays "Latest".
            prerelease: true,
        }
    }
}
