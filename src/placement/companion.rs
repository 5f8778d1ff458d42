//! The dev build's companion libraries. With `[tool.maou-build] dev-dylib-feature`
//! ([crate::workspace::DevDylib]) a dev build links the third-party crates from one dylib
//! of the workspace, so an edit relinks a few megabytes instead of hundreds. The extension
//! then needs that dylib and the toolchain's `libstd-….so` at run time, and finds them
//! through the RUNPATH the cdylib's build script gives it when the feature is on: where
//! cargo builds the dylib (`<target>/<profile>/deps`) and where the toolchain keeps libstd.
//! Nothing is copied or rewritten: the extension placed is byte for byte what cargo built,
//! whichever door built it (develop, maturin for uv, cargo). Here it is only checked, so
//! that a workspace whose build script gives no such RUNPATH fails at develop with the fix
//! rather than at `import`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::workspace::{DevDylib, Workspace};

/// Where develop placed copies of the companion before they were found in place (kept
/// for workspace copies to skip, and removed when found).
pub(crate) const OLD_DIR: &str = ".maou-build-dev-libs";

/// The libraries a dev build loads from outside the package, as its RUNPATH finds them.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// Each Rust library the extension needs (the dylib, libstd) and the directory its
    /// RUNPATH finds it in.
    pub libraries: Vec<(String, PathBuf)>,
    pub bytes: u64,
}

/// Checks that the extension `library` finds every Rust library it needs through its
/// RUNPATH. None when it does not link the dylib at all (the feature's `extern crate` is
/// missing: then it is a static build, and said so).
pub(super) fn check(dylib: &DevDylib, library: &Path, dylib_file: &Path) -> Result<Option<Found>> {
    let what = library.display().to_string();
    let bytes = fs::read(library).with_context(|| format!("cannot read {what}"))?;
    let facts = crate::elf::inspect(&bytes, &what)?;
    let dylib_name = dylib_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !facts.needed.contains(&dylib_name) {
        crate::messages::note(format!(
            "the extension does not link {dylib_name} although `{}` is on: add \
             `#[cfg(feature = \"{}\")] extern crate {};` to the cdylib's lib.rs (rustc links \
             only the crates a crate names); installed as a static build",
            dylib.feature, dylib.feature, dylib.krate.lib_name
        ));
        return Ok(None);
    }
    let origin = library.parent().unwrap_or(Path::new("."));
    let dirs: Vec<PathBuf> = facts
        .search_paths
        .iter()
        .flat_map(|p| p.path.split(':').map(str::to_owned).collect::<Vec<_>>())
        .map(|p| PathBuf::from(p.replace("$ORIGIN", &origin.to_string_lossy())))
        .collect();
    let mut libraries = Vec::new();
    let mut total = 0;
    // The Rust libraries (unversioned names; the system's carry a version: libc.so.6).
    for name in facts.needed.iter().filter(|n| n.ends_with(".so")) {
        let Some(dir) = dirs.iter().find(|d| d.join(name).is_file()) else {
            bail!(
                "{what} needs {name}, which none of its RUNPATH entries ({}) holds: with the \
                 feature `{}` on, the cdylib's build script must give the extension a RUNPATH \
                 to the directory cargo builds {dylib_name} in and to the toolchain's \
                 libraries (`cargo:rustc-cdylib-link-arg=-Wl,-rpath,<target>/<profile>/deps:\
                 <sysroot>/lib/rustlib/<target>/lib`; maou-build's own rust/maou_rust/build.rs \
                 is one)",
                if dirs.is_empty() {
                    "it has none".to_owned()
                } else {
                    dirs.iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                dylib.feature
            );
        };
        total += fs::metadata(dir.join(name)).map(|m| m.len()).unwrap_or(0);
        libraries.push((name.clone(), dir.clone()));
    }
    Ok(Some(Found {
        libraries,
        bytes: total,
    }))
}

/// Removes the copies an earlier develop placed beside the package (now found in place).
pub(super) fn remove_old_copies(ws: &Workspace) -> Result<()> {
    let dir = ws.python_source.join(OLD_DIR);
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_copies_skip_the_old_companion_copies() {
        assert!(crate::fsutil::SKIP.contains(&OLD_DIR));
    }
}
