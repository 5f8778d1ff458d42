//! The staging directory: wheels are built and audited there, and leave it only together.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub(super) const STAGING_PREFIX: &str = ".maou-build-staging-";

/// A directory in the output directory that is removed unless its wheels were moved out:
/// whatever fails, nothing half-built is left in `dist/`.
pub struct Staging(pub PathBuf);

impl Staging {
    /// A new staging directory in `out`, after removing those of runs that were killed.
    pub fn create(out: &Path) -> Result<Staging> {
        if let Ok(entries) = fs::read_dir(out) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some(pid) = name.strip_prefix(STAGING_PREFIX) else {
                    continue;
                };
                if !Path::new("/proc").join(pid).exists() {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = out.join(format!("{STAGING_PREFIX}{}", std::process::id()));
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Staging(dir))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
