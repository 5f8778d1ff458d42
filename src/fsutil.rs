//! File operations that never leave a half-written file where a reader could find it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A temporary name beside `path`, unique to this process.
pub fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.maou-build-{}.tmp", std::process::id()))
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_beside(path);
    let result = fs::write(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, path))
        .with_context(|| format!("cannot write {}", path.display()));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Puts a copy of `src` at `dest` atomically: hard-linked when both are on one
/// filesystem (instant; linkers write new files rather than rewrite old ones), copied
/// otherwise. A Python process that has the old file loaded keeps its old inode.
pub fn place_atomic(src: &Path, dest: &Path) -> Result<()> {
    let tmp = temp_beside(dest);
    let _ = fs::remove_file(&tmp);
    let result = fs::hard_link(src, &tmp)
        .or_else(|_| fs::copy(src, &tmp).map(drop))
        .and_then(|()| fs::rename(&tmp, dest))
        .with_context(|| format!("cannot place {} at {}", src.display(), dest.display()));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
