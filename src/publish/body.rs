//! The release's title and body: the commit, the build time, the workspace's own release
//! notes, a table of the wheels with their SHA-256, and the Colab cell.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::{short, Publish};
use crate::colab;
use crate::github::{Asset, Release, ReleaseFields};
use crate::prebuilt::Record;

/// The body line that carries the build time.
const BUILT: &str = "Built: ";

/// A body without its build time line, to compare two bodies of the same wheels.
fn without_build_time(body: &str) -> String {
    body.lines()
        .filter(|l| !l.starts_with(BUILT))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `release` already says what `fields` say. With the same wheels at the same
/// commit the build time may differ: a Nix store file has no modification time to give,
/// and a reproducible rebuild has a new one.
pub fn same(release: &Release, fields: &ReleaseFields, wheels_unchanged: bool) -> bool {
    let body_same = match release.body.as_deref() {
        Some(old) if wheels_unchanged => {
            without_build_time(old) == without_build_time(&fields.body)
        }
        Some(old) => old == fields.body,
        None => false,
    };
    release.name.as_deref() == Some(fields.name.as_str())
        && body_same
        && release.prerelease == fields.prerelease
        && !release.draft
}

impl Publish<'_> {
    pub fn download_url(&self, name: &str, placed: &BTreeMap<String, Asset>) -> String {
        placed
            .get(name)
            .map(|a| a.browser_download_url.clone())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| {
                crate::github::download_url(&self.server_url, self.client.repo(), self.tag, name)
            })
    }

    /// Title and body. The build time is the newest wheel's modification time; files from
    /// the Nix store (whose times are all 1970-01-01 00:00:01) count as built now.
    pub fn fields(&self, placed: &BTreeMap<String, Asset>) -> ReleaseFields {
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
             moves the tag `{}` to the commit.\n\n{}\
             | CPython | Platform | Wheel | SHA-256 |\n|---|---|---|---|\n",
            first.name.distribution,
            first.name.version,
            self.commit,
            self.tag,
            self.notes
                .as_deref()
                .map(|n| format!("{n}\n\n"))
                .unwrap_or_default()
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
        if let Some(key) = &self.inputs_key {
            let record = Record {
                inputs_key: key.clone(),
                wheels: self
                    .wheels
                    .iter()
                    .map(|w| (w.file_name().to_owned(), w.sha256.clone()))
                    .collect(),
            };
            body.push_str(&format!("\n{}\n", record.body_line()));
        }
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
