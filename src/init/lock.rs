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

/// The Cargo.lock of every directory at or above one, as it was before anything ran: its
/// text, or None where there was none.
#[derive(Debug, Clone)]
pub struct Snapshot {
    locks: Vec<(PathBuf, Option<String>)>,
}

impl Snapshot {
    pub fn above(dir: &Path) -> Snapshot {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let locks = dir
            .ancestors()
            .map(|d| {
                let lock = d.join("Cargo.lock");
                let text = fs::read_to_string(&lock).ok();
                (lock, text)
            })
            .collect();
        Snapshot { locks }
    }

    /// What the snapshot saw at `cargo_root` (by its real path): None when it did not look
    /// there, else the lock's text or None.
    fn at(&self, cargo_root: &Path) -> Option<&Option<String>> {
        let root = cargo_root
            .canonicalize()
            .unwrap_or_else(|_| cargo_root.to_path_buf());
        let lock = root.join("Cargo.lock");
        self.locks.iter().find(|(p, _)| *p == lock).map(|(_, t)| t)
    }

    /// The text the lock at `cargo_root` had.
    fn of(&self, cargo_root: &Path) -> Option<&str> {
        self.at(cargo_root)?.as_deref()
    }

    /// Whether `cargo_root` is known to have had no lock of its own before (a single crate
    /// that never built: init's own `cargo metadata` then writes one). A directory the
    /// snapshot did not look at is not: its lock is never removed.
    fn had_none(&self, cargo_root: &Path) -> bool {
        matches!(self.at(cargo_root), Some(None))
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
