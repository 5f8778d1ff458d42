//! The released extension for a checkout whose Rust inputs are exactly those the `latest`
//! release was built from (the seed's "CI wheel の .so を DevContainer で活用"): a new
//! checkout is importable after a download instead of a cold build.
//!
//! `publish-latest` writes a [Record] into the release's body: the key of the Rust inputs
//! ([crate::workspace::Workspace::rust_inputs_key]) and each wheel's SHA-256. develop, when
//! no build of the workspace exists yet, computes the same key; when they match it
//! downloads the wheel of its CPython through the API (a token makes private repositories
//! work), checks the SHA-256, and puts the extension into the editable package with a
//! rename, removing any other extension file of the module in the same step. Anything else
//! (no network, no release, no record, another key, no wheel for this CPython, a checksum
//! mismatch) is a reason, not an error: the caller builds.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::github::{self, Client, Patience, Settings};
use crate::python::Interpreter;
use crate::wheel_format::{self, WheelContents, WheelName};
use crate::workspace::Workspace;

/// The release develop looks at.
pub const TAG: &str = "latest";

/// How long the optional lookup may wait to connect and for each answer: a machine
/// without network builds after this, not after a minute.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The slowest download that still counts as working: a 30 MB wheel in 10 s plus 60 s.
pub const MIN_DOWNLOAD_RATE: u64 = 500_000;

/// What `publish-latest` records in the release body, inside an HTML comment (invisible on
/// the release page): the Rust inputs' key and every wheel's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub inputs_key: String,
    /// Wheel file name to its SHA-256 (hex).
    pub wheels: BTreeMap<String, String>,
}

const RECORD_OPEN: &str = "<!-- maou-build record ";
const RECORD_CLOSE: &str = " -->";

impl Record {
    /// The line of the release body that carries the record.
    pub fn body_line(&self) -> String {
        let json = serde_json::to_string(self).expect("a record serializes");
        format!("{RECORD_OPEN}{json}{RECORD_CLOSE}")
    }

    /// The record in a release body, if it has one.
    pub fn from_body(body: &str) -> Option<Record> {
        body.lines().find_map(|l| {
            let json = l
                .trim()
                .strip_prefix(RECORD_OPEN)?
                .strip_suffix(RECORD_CLOSE)?;
            serde_json::from_str(json).ok()
        })
    }
}

/// The released extension, in place.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Installed {
    /// The repository and tag it came from.
    pub release: String,
    pub wheel: String,
    pub wheel_sha256: String,
    /// The extension file placed in the package.
    pub installed: PathBuf,
    /// Bytes downloaded (0 when it was already in place).
    pub downloaded: u64,
    pub inputs_key: String,
}

/// What the lookup found.
pub enum Lookup {
    /// Downloaded and placed now.
    Installed(Installed),
    /// Placed by an earlier develop for the same inputs, and still there.
    AlreadyInPlace(Installed),
    /// Why the release's extension is not used: the caller builds.
    NotUsed(String),
}

/// Where develop remembers the released extension it placed for a workspace.
fn marker(cache_root: &Path, ws: &Workspace) -> PathBuf {
    let digest = wheel_format::sha256_hex(ws.root.as_os_str().as_encoded_bytes());
    cache_root
        .join("prebuilt")
        .join(format!("{}-{}.json", ws.package, &digest[..16]))
}

/// The released extension for `interp`, when the release's record has `key`.
pub fn lookup(ws: &Workspace, interp: &Interpreter, key: &str, cache_root: &Path) -> Lookup {
    let marker = marker(cache_root, ws);
    if let Some(done) = fs::read(&marker)
        .ok()
        .and_then(|b| serde_json::from_slice::<Installed>(&b).ok())
        .filter(|d| d.inputs_key == key && d.installed.is_file())
    {
        return Lookup::AlreadyInPlace(done);
    }
    match fetch_and_place(ws, interp, key, cache_root) {
        Ok(Ok(done)) => {
            if let Ok(json) = serde_json::to_vec_pretty(&done) {
                let _ = fs::create_dir_all(cache_root.join("prebuilt"));
                let _ = crate::fsutil::write_atomic(&marker, &json);
            }
            Lookup::Installed(done)
        }
        Ok(Err(why)) => Lookup::NotUsed(why),
        Err(e) => Lookup::NotUsed(format!("{e:#}")),
    }
}

/// Forgets what [lookup] placed (develop built the workspace's own extension).
pub fn forget(ws: &Workspace, cache_root: &Path) {
    let _ = fs::remove_file(marker(cache_root, ws));
}

/// The `latest` release of the workspace's repository, asked with a short patience: the
/// callers have a fallback.
pub struct Latest {
    pub client: Client,
    pub release: crate::github::Release,
    /// "OWNER/NAME release latest", for messages.
    pub name: String,
}

/// `Ok(Err(why))` when there is no release to look in (no repository, none by the tag),
/// `Err` for a failure (no answer).
pub fn latest_release(ws: &Workspace) -> Result<std::result::Result<Latest, String>> {
    let server_url = github::server_url();
    let repo = match github::resolve_repo(None, &ws.root, &server_url) {
        Ok(r) => r,
        Err(e) => return Ok(Err(format!("no GitHub repository to look in ({e:#})"))),
    };
    let settings = Settings::from_env(
        repo,
        Patience {
            retries: 0,
            max_wait: Duration::ZERO,
            connect_timeout: CONNECT_TIMEOUT,
            read_timeout: READ_TIMEOUT,
        },
        false,
    );
    let token_set = settings.token.is_some();
    let client = Client::new(settings);
    let name = format!("{} release {TAG}", client.repo());
    let Some(release) = client.release_by_tag(TAG)? else {
        let hint = if token_set {
            ""
        } else {
            " (a private repository needs GITHUB_TOKEN or GH_TOKEN)"
        };
        return Ok(Err(format!(
            "{} has no release `{TAG}`{hint}",
            client.repo()
        )));
    };
    Ok(Ok(Latest {
        client,
        release,
        name,
    }))
}

/// `Ok(Err(why))` for an expected reason not to use the release, `Err` for a failure.
///
/// Over 80 lines: each reason not to use the release is an early return with its own
/// message, in the order they are checked (release, record, inputs, wheel, asset,
/// checksum).
fn fetch_and_place(
    ws: &Workspace,
    interp: &Interpreter,
    key: &str,
    cache_root: &Path,
) -> Result<std::result::Result<Installed, String>> {
    let Latest {
        client,
        release,
        name: release_name,
    } = match latest_release(ws)? {
        Ok(latest) => latest,
        Err(why) => return Ok(Err(why)),
    };
    let Some(record) = release.body.as_deref().and_then(Record::from_body) else {
        return Ok(Err(format!(
            "the {release_name} records no inputs key (published by an older maou-build)"
        )));
    };
    if record.inputs_key != key {
        return Ok(Err(format!(
            "the Rust inputs (sources, manifests, lock, toolchain, cargo config, features) \
             differ from those the {release_name} was built from"
        )));
    }
    let tag = interp.minor.tag();
    let arch = std::env::consts::ARCH;
    let Some((name, sha256)) = record.wheels.iter().find(|(name, _)| {
        WheelName::parse(name).is_ok_and(|w| {
            w.pythons.contains(&tag)
                && w.platforms
                    .iter()
                    .any(|p| p.starts_with("manylinux") && p.ends_with(arch))
        })
    }) else {
        return Ok(Err(format!(
            "the {release_name} has no wheel for CPython {} on {arch} Linux",
            interp.minor
        )));
    };
    let Some(asset) = release
        .assets
        .iter()
        .find(|a| &a.name == name && a.is_uploaded())
    else {
        return Ok(Err(format!(
            "the {release_name} lists {name} but has no such asset"
        )));
    };
    let bytes = client.download_asset(asset.id, asset.size, MIN_DOWNLOAD_RATE)?;
    let got = wheel_format::sha256_hex(&bytes);
    if &got != sha256 {
        return Ok(Err(format!(
            "{name} from the {release_name} has SHA-256 {got}, its record says {sha256}"
        )));
    }
    let dir = cache_root.join("prebuilt");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let wheel_path = dir.join(name);
    crate::fsutil::write_atomic(&wheel_path, &bytes)?;
    let installed = place_extension(ws, &wheel_path, name)?;
    Ok(Ok(Installed {
        release: release_name,
        wheel: name.clone(),
        wheel_sha256: got,
        installed,
        downloaded: bytes.len() as u64,
        inputs_key: key.to_owned(),
    }))
}

/// Puts the wheel's extension module into the editable package (a rename) and removes any
/// other extension file of the module: the file Python would load is this one.
fn place_extension(ws: &Workspace, wheel_path: &Path, name: &str) -> Result<PathBuf> {
    let contents = WheelContents::read(wheel_path, &WheelName::parse(name)?)?;
    let module_path = ws.module_name.replace('.', "/");
    let entry = contents
        .entries
        .iter()
        .find(|e| {
            e.name
                .strip_prefix(&module_path)
                .is_some_and(|rest| rest.starts_with('.') && rest.ends_with(".so"))
        })
        .with_context(|| format!("{name} holds no {module_path}.*.so"))?;
    let file_name = Path::new(&entry.name)
        .file_name()
        .context("an extension entry without a file name")?;
    let dest = ws.package_dir().join(file_name);
    // A release extension links everything statically: a dev build's companion goes.
    crate::placement::place(ws, &dest, crate::placement::Extension::Bytes(&entry.bytes))?;
    place_carried_libraries(ws, &contents)?;
    Ok(dest)
}

/// The libraries the wheel carries beside the package (`<dist>.libs/`, grafted by maturin
/// or auditwheel: maou's ONNX Runtime core), where the extension's `$ORIGIN/../<dist>.libs`
/// search path looks for them in the editable layout too: under the Python source root.
/// The directory ignores itself in git (it holds a `.gitignore` of `*`).
fn place_carried_libraries(ws: &Workspace, contents: &WheelContents) -> Result<()> {
    let carried = contents.entries.iter().filter(|e| {
        e.name
            .split_once('/')
            .is_some_and(|(dir, _)| dir.ends_with(".libs"))
    });
    for entry in carried {
        let dest = ws.python_source.join(&entry.name);
        let dir = dest
            .parent()
            .context("a carried library without a directory")?;
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let ignore = dir.join(".gitignore");
        if !ignore.exists() {
            crate::fsutil::write_atomic(&ignore, b"# placed by maou-build develop\n*\n")?;
        }
        crate::fsutil::write_atomic(&dest, &entry.bytes)?;
        crate::fsutil::set_executable(&dest)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips_through_a_release_body() {
        let record = Record {
            inputs_key: "ab".repeat(32),
            wheels: BTreeMap::from([(
                "maou-0.2.0-cp312-cp312-manylinux_2_28_x86_64.whl".to_owned(),
                "cd".repeat(32),
            )]),
        };
        let body = format!(
            "Wheels of **maou**.\n\n| a | b |\n\n{}\n",
            record.body_line()
        );
        assert_eq!(Record::from_body(&body), Some(record));
        assert_eq!(Record::from_body("Wheels of **maou**, no record"), None);
        assert_eq!(
            Record::from_body("<!-- maou-build record {not json} -->"),
            None
        );
    }
}
