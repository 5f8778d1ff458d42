//! The Colab cell that installs the published wheels: `colab` prints it and
//! `publish-latest` puts it in the release body, so both always say the same thing.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Result};

use crate::github::{self, Client, Patience, Release, Repo, Settings};
use crate::messages::note;
use crate::python::Minor;
use crate::wheel_format::{escape_name, WheelName};
use crate::workspace::Workspace;

/// `(3, 11)` for the Python tag `cp311`.
pub fn python_version(tag: &str) -> Option<(u32, u32)> {
    let digits = tag.strip_prefix("cp")?;
    let (major, minor) = digits.split_at(1);
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// A Colab (IPython) cell: install uv, pick the wheel for the running CPython, install it
/// into the system interpreter, then the GPU extras from the same wheel.
///
/// `wheels` maps Python tags (`cp311`) to wheel URLs. The extras line names the wheel URL
/// too: `"maou[cuda]"` alone would let uv resolve maou from an index instead.
pub fn cell(
    package: &str,
    source: &str,
    wheels: &BTreeMap<String, String>,
    gpu_extras: &[String],
) -> String {
    let mut text = String::new();
    text.push_str(&format!("# {package}: {source}\n"));
    text.push_str("import sys\n");
    text.push_str("_wheels = {\n");
    for (tag, url) in wheels {
        if let Some((major, minor)) = python_version(tag) {
            text.push_str(&format!("    ({major}, {minor}): \"{url}\",\n"));
        }
    }
    text.push_str("}\n");
    text.push_str(&format!(
        "if sys.version_info[:2] not in _wheels:\n    raise RuntimeError(f\"no {package} wheel \
         for Python {{sys.version_info[0]}}.{{sys.version_info[1]}}; there are wheels for \
         {}\")\n",
        wheels
            .keys()
            .filter_map(|t| python_version(t))
            .map(|(a, b)| format!("{a}.{b}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let var = format!("{package}_wheel");
    text.push_str(&format!("{var} = _wheels[sys.version_info[:2]]\n"));
    text.push_str("!pip install -q uv\n");
    text.push_str(&format!(
        "!uv pip install --system \"{package} @ {{{var}}}\"\n"
    ));
    if !gpu_extras.is_empty() {
        text.push_str(&format!(
            "# GPU runtime: the extras the wheel leaves out ({})\n",
            gpu_extras.join(", ")
        ));
        text.push_str(&format!(
            "!uv pip install --system \"{package}[{}] @ {{{var}}}\"\n",
            gpu_extras.join(",")
        ));
    }
    text
}

/// The extras a GPU runtime wants: those named for CUDA or GPUs.
pub fn gpu_extras<'a>(extras: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    extras
        .into_iter()
        .filter(|e| {
            let e = e.to_ascii_lowercase();
            e.contains("cuda") || e.contains("gpu")
        })
        .cloned()
        .collect()
}

/// Where a workspace's wheels are on one release of a repository.
pub struct Wheels<'a> {
    pub ws: &'a Workspace,
    pub repo: &'a Repo,
    pub server_url: &'a str,
    pub tag: &'a str,
}

impl Wheels<'_> {
    /// The wheels' URLs by Python tag (`cp312`): the release's assets when the GitHub API
    /// answers (and not `offline`), else built from the version, the tag and the platform
    /// for each CPython requires-python allows; only `pythons` when given. Where they came
    /// from is said on stderr.
    pub fn urls(&self, offline: bool, pythons: &[Minor]) -> Result<BTreeMap<String, String>> {
        let from_release = if offline {
            note(format!(
                "--offline: the URLs are built from version {} and tag {}",
                self.ws.version, self.tag
            ));
            None
        } else {
            self.release_urls()
        };
        let mut urls = match from_release {
            Some(urls) => urls,
            None => self.version_urls()?,
        };
        if !pythons.is_empty() {
            let wanted: Vec<String> = pythons.iter().map(|m| m.tag()).collect();
            urls.retain(|py, _| wanted.contains(py));
            if urls.is_empty() {
                bail!(
                    "no wheel for {}: the release (or requires-python {}) has none",
                    pythons
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.ws.requires_python
                );
            }
        }
        Ok(urls)
    }

    /// The release's wheels, or None (said why) when it has none or cannot be read.
    fn release_urls(&self) -> Option<BTreeMap<String, String>> {
        let (repo, tag, version) = (self.repo, self.tag, &self.ws.version);
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
        let package = escape_name(&self.ws.package);
        let why = match client.release_by_tag(tag) {
            Ok(Some(release)) => {
                let urls = release_wheels(&release, &package);
                if !urls.is_empty() {
                    note(format!("URLs from the assets of release {tag} of {repo}"));
                    return Some(urls);
                }
                format!("release {tag} of {repo} has no {package} wheels yet")
            }
            Ok(None) => format!("{repo} has no release {tag} yet"),
            Err(e) => format!("could not read release {tag} of {repo} ({e:#})"),
        };
        note(format!("{why}; the URLs are built from version {version}"));
        None
    }

    /// Each allowed CPython's wheel as `maou-build wheel` names it, on the release.
    fn version_urls(&self) -> Result<BTreeMap<String, String>> {
        let platform = crate::audit::platform_of(Some(self.ws))?.platform_tag;
        let package = escape_name(&self.ws.package);
        Ok(self
            .ws
            .requires_python
            .allowed_minors()
            .into_iter()
            .map(|m| {
                let py = m.tag();
                let file = format!("{package}-{}-{py}-{py}-{platform}.whl", self.ws.version);
                let url = github::download_url(self.server_url, self.repo, self.tag, &file);
                (py, url)
            })
            .collect())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cell_picks_by_version_and_keeps_the_url_for_extras() {
        let wheels = BTreeMap::from([
            ("cp311".to_owned(), "https://x/a-cp311.whl".to_owned()),
            ("cp312".to_owned(), "https://x/a-cp312.whl".to_owned()),
        ]);
        let text = cell("maou", "latest", &wheels, &["cuda".to_owned()]);
        assert!(text.contains("    (3, 11): \"https://x/a-cp311.whl\",\n"));
        assert!(text.contains("    (3, 12): \"https://x/a-cp312.whl\",\n"));
        assert!(text.contains("there are wheels for 3.11, 3.12"));
        assert!(text.contains("!uv pip install --system \"maou @ {maou_wheel}\"\n"));
        assert!(text.contains("!uv pip install --system \"maou[cuda] @ {maou_wheel}\"\n"));
        assert!(!cell("maou", "x", &wheels, &[]).contains("[cuda]"));
        assert_eq!(python_version("cp312"), Some((3, 12)));
        assert_eq!(python_version("py3"), None);
        assert_eq!(
            gpu_extras(&["cuda".to_owned(), "test".to_owned(), "GPU-extra".to_owned()]),
            ["cuda", "GPU-extra"]
        );
    }
}
