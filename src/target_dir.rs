//! Keeping cargo's target directory across the loss of `target/`.
//!
//! sccache alone cannot make that recovery fast: proc-macros, build scripts and the
//! cdylib are not cacheable, and cargo re-runs every unit whose fingerprint is gone. So
//! the target directory itself lives on the persistent cache volume, outside the
//! checkout, in a store keyed by workspace and toolchain, and `target/` is a symlink to
//! it. Every tool (cargo, rust-analyzer, maturin) keeps using `target/`; when `target/`
//! disappears (a fresh clone of the same path, `rm -rf target`, `cargo clean`), develop
//! puts the link back and cargo finds every artifact fresh.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::workspace::Workspace;

/// How many stores to keep; older ones (other checkouts, old toolchains) are removed.
const KEEP_STORES: usize = 4;
const USED_STAMP: &str = ".maou-build-used";

/// What develop found and did with `target/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum TargetState {
    /// `target/` already linked to the store.
    Linked,
    /// `target/` was missing and was linked back to the store, artifacts kept.
    Recovered,
    /// First use: the store was empty (a cold build follows).
    Created,
    /// `target/` was a plain directory and was moved into the store.
    Adopted,
    /// `target/` pointed at another store (a copied checkout, another toolchain) and was re-pointed.
    Repointed { from: PathBuf },
    /// `target/` is a plain directory that could not be moved (another filesystem):
    /// builds use it, and its loss costs a rebuild from sccache.
    PlainDirectory { reason: String },
    /// The user chose the target directory (CARGO_TARGET_DIR or build.target-dir).
    UserChosen,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetDir {
    /// Where cargo builds (what it is told through CARGO_TARGET_DIR, if anything).
    pub path: PathBuf,
    /// The persistent store, when one is used.
    pub store: Option<PathBuf>,
    #[serde(flatten)]
    pub state: TargetState,
    /// Stores removed to keep the cache bounded.
    pub removed: Vec<PathBuf>,
}

impl TargetDir {
    pub fn describe(&self) -> String {
        let store = self
            .store
            .as_deref()
            .map(|s| s.display().to_string())
            .unwrap_or_default();
        match &self.state {
            TargetState::Linked => format!("target/ -> {store}"),
            TargetState::Recovered => {
                format!("target/ was missing: linked back to {store}, its artifacts kept")
            }
            TargetState::Created => format!("target/ -> {store} (new store: first build)"),
            TargetState::Adopted => format!("moved target/ into {store} and linked it"),
            TargetState::Repointed { from } => {
                format!(
                    "target/ re-pointed from {} to {store} (toolchain changed)",
                    from.display()
                )
            }
            TargetState::PlainDirectory { reason } => format!(
                "{} is a plain directory ({reason}); its loss will cost a rebuild from sccache",
                self.path.display()
            ),
            TargetState::UserChosen => {
                format!("{} (chosen by you; not managed)", self.path.display())
            }
        }
    }
}

/// The root of maou-build's own caches: `MAOU_BUILD_CACHE`, else ~/.cache/maou-build.
pub fn cache_root() -> Result<PathBuf> {
    crate::fsutil::user_cache_dir("MAOU_BUILD_CACHE", "maou-build")
}

/// The store of this workspace for this toolchain.
pub fn store_for(ws: &Workspace, rustc_version: &str) -> Result<PathBuf> {
    let mut h = Sha256::new();
    h.update(ws.cargo_workspace_root.as_os_str().as_encoded_bytes());
    h.update(b"\0");
    h.update(rustc_version.as_bytes());
    let digest = h.finalize();
    let key = crate::wheel_format::hex(&digest[..8]);
    Ok(cache_root()?
        .join("targets")
        .join(format!("{}-{key}", ws.cdylib.name)))
}

/// Settles where cargo builds for `ws`, linking `target/` to the store.
/// `rustc -vV` as the workspace's toolchain prints it: part of the store's key, so that a
/// toolchain change never mixes artifacts.
pub fn rustc_version(ws: &Workspace) -> Result<String> {
    crate::process::output("rustc", ["-vV"], Some(&ws.cargo_workspace_root))
}

/// The host's target triple, from `rustc -vV`'s output ([rustc_version]).
pub fn host_of(rustc_version: &str) -> Result<String> {
    rustc_version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_owned())
        .with_context(|| format!("`rustc -vV` names no host:\n{rustc_version}"))
}

pub fn prepare(ws: &Workspace, rustc_version: &str) -> Result<TargetDir> {
    let link = ws.cargo_workspace_root.join("target");
    let user_chosen = std::env::var_os("CARGO_TARGET_DIR").is_some_and(|v| !v.is_empty())
        || (ws.target_directory != link
            && link.canonicalize().ok().as_deref() != Some(ws.target_directory.as_path()));
    if user_chosen {
        return Ok(TargetDir {
            path: ws.target_directory.clone(),
            store: None,
            state: TargetState::UserChosen,
            removed: Vec::new(),
        });
    }
    let store = store_for(ws, rustc_version)?;
    let state = link_store(&link, &store)?;
    let path = match state {
        TargetState::PlainDirectory { .. } => link.clone(),
        _ => store.clone(),
    };
    let _ = fs::write(store.join(USED_STAMP), b"");
    let removed = remove_old_stores(&store);
    Ok(TargetDir {
        path,
        store: Some(store),
        state,
        removed,
    })
}

fn create_store(store: &Path) -> Result<bool> {
    let existed = store.is_dir();
    fs::create_dir_all(store)
        .with_context(|| format!("cannot create the target store {}", store.display()))?;
    Ok(!existed)
}

fn make_link(store: &Path, link: &Path) -> Result<()> {
    let tmp = crate::fsutil::temp_beside(link);
    let _ = fs::remove_file(&tmp);
    symlink(store, &tmp)
        .and_then(|()| fs::rename(&tmp, link))
        .with_context(|| format!("cannot link {} to {}", link.display(), store.display()))
}

fn link_store(link: &Path, store: &Path) -> Result<TargetState> {
    match fs::symlink_metadata(link) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let points_to = fs::read_link(link)
                .with_context(|| format!("cannot read the link {}", link.display()))?;
            let created = create_store(store)?;
            if points_to == store {
                return Ok(if created {
                    TargetState::Created
                } else {
                    TargetState::Linked
                });
            }
            make_link(store, link)?;
            Ok(TargetState::Repointed { from: points_to })
        }
        Ok(meta) if meta.is_dir() => adopt(link, store),
        Ok(_) => anyhow::bail!(
            "{} exists and is not a directory: move it away so cargo can use target/",
            link.display()
        ),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let created = create_store(store)?;
            make_link(store, link)?;
            Ok(if created {
                TargetState::Created
            } else {
                TargetState::Recovered
            })
        }
        Err(e) => Err(e).with_context(|| format!("cannot look at {}", link.display())),
    }
}

/// Moves a plain `target/` into the store. It replaces an older store of the same key:
/// the plain directory is what the user built last.
fn adopt(link: &Path, store: &Path) -> Result<TargetState> {
    if let Some(parent) = store.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let aside = store.with_extension(format!("old-{}", std::process::id()));
    let had_store = store.exists();
    if had_store {
        fs::rename(store, &aside)
            .with_context(|| format!("cannot move the old store {} aside", store.display()))?;
    }
    match fs::rename(link, store) {
        Ok(()) => {
            if had_store {
                let _ = fs::remove_dir_all(&aside);
            }
            make_link(store, link)?;
            Ok(TargetState::Adopted)
        }
        Err(e) => {
            if had_store {
                let _ = fs::rename(&aside, store);
            }
            let reason = if e.kind() == ErrorKind::CrossesDevices {
                format!("the cache {} is on another filesystem", store.display())
            } else {
                e.to_string()
            };
            Ok(TargetState::PlainDirectory { reason })
        }
    }
}

/// Keeps the `KEEP_STORES` most recently used stores (always `current`); removes the rest.
fn remove_old_stores(current: &Path) -> Vec<PathBuf> {
    let Some(dir) = current.parent() else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut stores: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p != current)
        .map(|p| {
            let used = fs::metadata(p.join(USED_STAMP))
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (used, p)
        })
        .collect();
    stores.sort();
    let excess = stores.len().saturating_sub(KEEP_STORES - 1);
    stores
        .into_iter()
        .take(excess)
        .filter(|(_, p)| fs::remove_dir_all(p).is_ok())
        .map(|(_, p)| p)
        .collect()
}
