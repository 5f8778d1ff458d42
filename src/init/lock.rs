//! Cargo.lock after init: the dev dylib crate is a new workspace member, so the lock needs
//! its entry before a `--locked` build (crane's default, and CI's) passes. cargo writes it:
//! a resolve against the existing lock adds what is new and keeps every locked version.
//!
//! Finding the workspace runs `cargo metadata`, which itself brings a stale lock up to
//! date; so the lock is read before ([Snapshot]), a difference afterwards is a lock that
//! was stale, and a run that writes nothing (`--dry-run`, `--check`) puts it back.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::process;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lock {
    /// The lock holds what the manifests need (or the workspace keeps no lock).
    Current,
    /// The manifests needed entries the lock lacked.
    Stale,
    /// init changes the manifests: the lock is brought up to date after they are written.
    Pending,
}

/// The nearest Cargo.lock at or above a directory, as it was before anything ran.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    path: Option<PathBuf>,
    text: Option<String>,
}

impl Snapshot {
    pub fn nearest(start: &Path) -> Snapshot {
        let start = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
        let Some(path) = start
            .ancestors()
            .map(|d| d.join("Cargo.lock"))
            .find(|p| p.is_file())
        else {
            return Snapshot::default();
        };
        Snapshot {
            text: fs::read_to_string(&path).ok(),
            path: Some(path),
        }
    }

    /// Whether the snapshot is of the lock at `cargo_root` (by its real path).
    fn is_of(&self, cargo_root: &Path) -> bool {
        let lock = cargo_root.join("Cargo.lock");
        let lock = lock.canonicalize().unwrap_or(lock);
        self.path.as_deref() == Some(lock.as_path())
    }

    /// The text the lock at `cargo_root` had, if this is that lock.
    fn of(&self, cargo_root: &Path) -> Option<&str> {
        self.is_of(cargo_root)
            .then_some(self.text.as_deref())
            .flatten()
    }

    /// Whether `cargo_root` had no lock of its own before (a single crate that never built:
    /// init's own `cargo metadata` then writes one).
    fn had_none(&self, cargo_root: &Path) -> bool {
        !self.is_of(cargo_root)
    }

    /// What the lock at `cargo_root` is: stale when it changed since the snapshot.
    pub fn state(&self, cargo_root: &Path, manifests_change: bool) -> Lock {
        let now = fs::read_to_string(cargo_root.join("Cargo.lock")).ok();
        match (self.of(cargo_root), now) {
            (Some(before), Some(now)) if before != now => Lock::Stale,
            (Some(_), _) if manifests_change => Lock::Pending,
            (None, Some(_)) if manifests_change && self.had_none(cargo_root) => Lock::Pending,
            _ => Lock::Current,
        }
    }

    /// Puts the lock at `cargo_root` back as it was (a run that writes nothing): the one
    /// init's `cargo metadata` wrote where there was none is removed.
    pub fn restore(&self, cargo_root: &Path) -> Result<()> {
        let path = cargo_root.join("Cargo.lock");
        if let Some(text) = self.of(cargo_root) {
            if fs::read_to_string(&path).ok().as_deref() != Some(text) {
                crate::fsutil::write_atomic(&path, text.as_bytes())?;
            }
        } else if self.had_none(cargo_root) && path.is_file() {
            fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
        Ok(())
    }

    /// Lets cargo bring the lock at `cargo_root` up to date with the manifests as written
    /// (or write it, where there was none); the diff from the snapshot, when there is one.
    pub fn update(&self, cargo_root: &Path) -> Result<Option<String>> {
        let before = self.of(cargo_root);
        let args = ["metadata", "--format-version", "1"];
        // Offline first: the crates the new one takes are the workspace's, already cached.
        let offline = [&args[..], &["--offline"]].concat();
        process::output("cargo", offline, Some(cargo_root))
            .or_else(|_| process::output("cargo", args, Some(cargo_root)))?;
        let after = fs::read_to_string(cargo_root.join("Cargo.lock")).unwrap_or_default();
        let Some(before) = before else {
            return Ok(Some(format!(
                "wrote {} (there was none): what the manifests resolve to\n",
                cargo_root.join("Cargo.lock").display()
            )));
        };
        if after == before {
            return Ok(None);
        }
        let diff = similar::TextDiff::from_lines(before, &after);
        Ok(Some(
            diff.unified_diff()
                .context_radius(2)
                .header("a/Cargo.lock", "b/Cargo.lock")
                .to_string(),
        ))
    }
}
