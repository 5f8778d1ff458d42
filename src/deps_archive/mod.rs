//! The dependency build, released beside the wheels: the target store's artifacts of the
//! third-party crates and of the dev dylib, built under the profile develop builds, packed
//! as one `tar.zst` with a record. A new machine whose Rust sources differ from the
//! release's (so the release's extension cannot stand in, [crate::prebuilt]) restores it
//! into its empty store and compiles only the workspace's own crates.
//!
//! Why a target-store archive and not an sccache directory: cargo must find every
//! third-party unit fresh, build scripts and proc macros included, which sccache cannot
//! cache; with sccache's entries a new machine still ran 0.17× a cold build
//! (docs/uc1-new-machine.md), the archive's restore is I/O.
//!
//! What ties such a build to its inputs, and so makes its [Key]:
//! - the toolchain (`rustc -vV`), the profile as cargo resolves it, the features, the
//!   interpreter pyo3 is built for, rustc's flags from cargo's configuration and the
//!   environment;
//! - the third-party crates: the lock's registry and git packages and every member's
//!   declared dependencies, not the members' versions (maou bumps one in every Rust change);
//! - the dev dylib's own files;
//! - `CARGO_HOME`: cargo's fingerprint of a registry crate holds its source's absolute
//!   path (measured: another `CARGO_HOME` rebuilt all 378 units).
//!
//! The checkout's path is not in the key: pyo3's build scripts watch `PYO3_PYTHON` (the
//! venv's interpreter, under the checkout), so at another path cargo reruns them and
//! recompiles pyo3 and what depends on it (measured on this workspace: 6 of 378 units),
//! which the report says. The archive is therefore built at the path the team's machines
//! use (the dev container's `/workspaces/<repo>`), with their `CARGO_HOME`.
//!
//! The record names the archive's SHA-256 and size; develop checks both while it unpacks
//! into a directory of its own and renames it into the store only when both hold. Any
//! failure (no release, no record for the key, a download cut short, a corrupt archive, a
//! hash that differs) leaves nothing and is a reason: the cold build follows.

mod key;
mod pack;
mod publish;
mod restore;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub use key::Key;
pub use pack::{pack, Packed};
pub use publish::publish;
pub use restore::{restore, Restored};

/// Every asset of a dependency build starts with this; publish-latest keeps them.
const PREFIX: &str = "maou-build-deps.";
const ARCHIVE_SUFFIX: &str = ".tar.zst";
const RECORD_SUFFIX: &str = ".json";

/// Whether a release asset is a dependency build's (archive or record).
pub fn is_asset(name: &str) -> bool {
    name.starts_with(PREFIX)
}

/// The dependency builds' files in `dir` (what `deps-archive` wrote there), by name.
pub fn files_in(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if is_asset(&name) {
            files.push((name, path));
        }
    }
    Ok(files)
}

/// The record published beside an archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub key: Key,
    /// SHA-256 (hex) of the key: in both asset names.
    pub digest: String,
    pub archive: String,
    pub sha256: String,
    pub size: u64,
    /// The files and their bytes once unpacked.
    pub files: u64,
    pub unpacked: u64,
    /// The folder of the target directory the archive holds (`debug`, `py-ext-edit`).
    pub profile_dir: String,
    /// The checkout it was built in: at another path pyo3's build scripts rerun.
    pub checkout: PathBuf,
    /// When the build began (Unix seconds): the dev dylib's files get this time on a
    /// restore, so that cargo finds its fingerprint fresh.
    pub build_started: u64,
    /// The commit it was built from, when known.
    pub commit: Option<String>,
    /// The dev dylib crate's files (by their path in the crate) and their modification
    /// times (seconds, nanoseconds): cargo fingerprints a path package's build script
    /// without `rerun-if` lines by its newest file's time, so a restore gives them back.
    #[serde(default)]
    pub dylib_times: Vec<(PathBuf, u64, u32)>,
}

/// The asset names of the build of `key`: `maou-build-deps.<profile>.<python>.<arch>.<digest>`
/// then the suffix; the readable parts name the slot older builds of which are pruned.
fn stem(key: &Key, digest: &str) -> String {
    format!("{PREFIX}{}.{}", slot(key), &digest[..16])
}

/// The part of the name shared by every build for one profile, interpreter and machine.
fn slot(key: &Key) -> String {
    format!("{}.{}.{}", key.profile, key.python_tag, key.host)
}

fn archive_name(key: &Key, digest: &str) -> String {
    format!("{}{ARCHIVE_SUFFIX}", stem(key, digest))
}

fn record_name(key: &Key, digest: &str) -> String {
    format!("{}{RECORD_SUFFIX}", stem(key, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_slot_and_the_digest_and_are_recognized() {
        let key = Key::example();
        let digest = key.digest();
        let archive = archive_name(&key, &digest);
        assert!(archive.starts_with("maou-build-deps.dev.cp312.x86_64-unknown-linux-gnu."));
        assert!(archive.ends_with(ARCHIVE_SUFFIX));
        assert!(is_asset(&archive) && is_asset(&record_name(&key, &digest)));
        assert!(!is_asset(
            "maou-0.2.0-cp312-cp312-manylinux_2_28_x86_64.whl"
        ));
    }
}
