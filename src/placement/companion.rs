//! The dev build's companion libraries. With `[tool.maou-build] dev-dylib-feature`
//! ([crate::workspace::DevDylib]) a dev build links the third-party crates from one dylib
//! of the workspace, so an edit relinks a few megabytes instead of hundreds. The extension
//! then needs that dylib and the toolchain's `libstd-….so` at run time. They are placed in
//! `<python-source>/.maou-build-dev-libs/<id>/`, outside every Python package (maturin never
//! puts them in a wheel; the directory ignores itself for git), and the installed
//! extension's RUNPATH names exactly that `<id>`: the linker is given a placeholder of the
//! same length, and the installed copy has it replaced. The id changes whenever the
//! companion is rebuilt, so an extension never loads a companion it was not linked with,
//! and `import` works from any directory without LD_LIBRARY_PATH.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::workspace::{DevDylib, Workspace};

/// The directory, in the python-source directory, that holds one directory per id.
pub(super) const DIR: &str = ".maou-build-dev-libs";
/// What the linker writes where the id goes: as long as an id.
const PLACEHOLDER: &str = "MAOU_BUILD_DEV_LIBS_";
/// An id's length in hex digits (80 bits of the hash).
const ID_LEN: usize = PLACEHOLDER.len();

/// Where the companions of `ws` live.
fn libs_dir(ws: &Workspace) -> PathBuf {
    ws.python_source.join(DIR)
}

/// The linker option that gives the extension its RUNPATH: the placeholder's directory,
/// relative to the extension (`$ORIGIN/../.maou-build-dev-libs/MAOU_…` for `maou._rust`).
pub(super) fn link_args(ws: &Workspace) -> Vec<String> {
    let depth = ws.module_name.split('.').count() - 1;
    let up: String = "../".repeat(depth);
    vec![
        "-C".to_owned(),
        format!("link-arg=-Wl,-rpath,$ORIGIN/{up}{DIR}/{PLACEHOLDER}"),
    ]
}

/// What develop placed beside the extension.
#[derive(Debug, Clone, Serialize)]
pub struct Placed {
    /// `<python-source>/.maou-build-dev-libs/<id>`.
    pub dir: PathBuf,
    /// The files in it: the workspace's dylib and the toolchain's libraries it needs.
    pub files: Vec<String>,
    pub bytes: u64,
    /// Whether they were copied now (false: the extension's companion was in place).
    pub copied: bool,
}

/// The id of a companion build: its file's identity (a rebuilt dylib is a new file), and
/// the names of the toolchain libraries (which carry the toolchain's hash).
fn id_of(companion: &Path, needed: &[String]) -> Result<String> {
    let meta =
        fs::metadata(companion).with_context(|| format!("cannot read {}", companion.display()))?;
    let mut hash = Sha256::new();
    hash.update(companion.as_os_str().as_encoded_bytes());
    hash.update(meta.len().to_le_bytes());
    hash.update(meta.mtime().to_le_bytes());
    hash.update(meta.mtime_nsec().to_le_bytes());
    hash.update(meta.ino().to_le_bytes());
    for n in needed {
        hash.update(n.as_bytes());
        hash.update([0]);
    }
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(hex[..ID_LEN].to_owned())
}

/// The toolchain's library directory (`<sysroot>/lib/rustlib/<host>/lib`), where the
/// `libstd-….so` that dylibs link against lives. Asked of the workspace's rustc.
fn toolchain_lib_dir(ws: &Workspace) -> Result<PathBuf> {
    let sysroot = crate::process::output(
        "rustc",
        ["--print", "sysroot"],
        Some(&ws.cargo_workspace_root),
    )?;
    let version = crate::target_dir::rustc_version(ws)?;
    let host = version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .with_context(|| format!("`rustc -vV` names no host:\n{version}"))?;
    Ok(Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(host.trim())
        .join("lib"))
}

/// Installs the dev build `library` at `installed` with its companion `dylib_file` (the
/// workspace's dylib as cargo built it). The companion goes first, into a directory of its
/// own id; then the extension, its placeholder replaced by that id, by a rename; then the
/// directories of other ids are removed. Returns None, having installed nothing, when the
/// extension does not link the dylib (the feature's `extern crate` is missing).
pub(super) fn install(
    ws: &Workspace,
    dylib: &DevDylib,
    library: &Path,
    dylib_file: &Path,
    installed: &Path,
) -> Result<Option<Placed>> {
    let what = library.display().to_string();
    let mut bytes = fs::read(library).with_context(|| format!("cannot read {what}"))?;
    let facts = crate::elf::inspect(&bytes, &what)?;
    let companion_name = dylib_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !facts.needed.contains(&companion_name) {
        crate::messages::note(format!(
            "the extension does not link {companion_name} although `{}` is on: add \
             `#[cfg(feature = \"{}\")] extern crate {};` to {} (rustc links only the crates \
             a crate names); installed as a static build",
            dylib.feature,
            dylib.feature,
            dylib.krate.lib_name,
            ws.cdylib.lib_src.display()
        ));
        return Ok(None);
    }
    // The Rust libraries it needs: the dylib, and the toolchain's (unversioned names;
    // the system's libraries carry a version: libc.so.6).
    let rust_libs: Vec<String> = facts
        .needed
        .iter()
        .filter(|n| n.ends_with(".so"))
        .cloned()
        .collect();
    let id = id_of(dylib_file, &rust_libs)?;
    let root = libs_dir(ws);
    let dir = root.join(&id);
    let copied = !dir.is_dir();
    if copied {
        fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
        crate::fsutil::write_atomic(
            &root.join(".gitignore"),
            b"# maou-build develop's companion libraries\n*\n",
        )?;
        let tmp = crate::fsutil::temp_beside(&dir);
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let filled = fill(ws, &tmp, dylib_file, &companion_name, &rust_libs).and_then(|()| {
            fs::rename(&tmp, &dir)
                .with_context(|| format!("cannot rename {} to {}", tmp.display(), dir.display()))
        });
        if let Err(e) = filled {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    }

    let replaced = crate::elf::replace_in_search_paths(&mut bytes, &what, PLACEHOLDER, &id)?;
    if replaced == 0 {
        bail!(
            "{what} links {companion_name} but its RUNPATH has no {PLACEHOLDER}: it was not \
             linked by maou-build develop (`{}`)",
            link_args(ws).join(" ")
        );
    }
    crate::fsutil::write_atomic(installed, &bytes)?;

    for entry in fs::read_dir(&root)
        .with_context(|| format!("cannot read {}", root.display()))?
        .flatten()
    {
        let name = entry.file_name();
        if name != id.as_str() && entry.path().is_dir() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
    let mut files = Vec::new();
    let mut total = 0;
    for entry in fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .flatten()
    {
        total += entry.metadata().map(|m| m.len()).unwrap_or(0);
        files.push(entry.file_name().to_string_lossy().into_owned());
    }
    files.sort();
    Ok(Some(Placed {
        dir,
        files,
        bytes: total,
        copied,
    }))
}

/// Whether the companion `installed` was placed with is there: its RUNPATH names a
/// directory of [DIR] that exists (or names none: a static build).
pub(super) fn in_place(installed: &Path) -> bool {
    let Ok(bytes) = fs::read(installed) else {
        return false;
    };
    let Ok(facts) = crate::elf::inspect(&bytes, &installed.display().to_string()) else {
        return false;
    };
    let origin = installed.parent().unwrap_or(Path::new("."));
    facts
        .search_paths
        .iter()
        .filter(|p| p.path.contains(DIR))
        .all(|p| {
            let path = p.path.replace("$ORIGIN", &origin.to_string_lossy());
            !path.contains(PLACEHOLDER) && Path::new(&path).is_dir()
        })
}

/// Copies (or hard-links) the companion and the toolchain's libraries into `dir`.
fn fill(
    ws: &Workspace,
    dir: &Path,
    dylib_file: &Path,
    companion_name: &str,
    rust_libs: &[String],
) -> Result<()> {
    let mut toolchain = None;
    for name in rust_libs {
        let from = if name == companion_name {
            dylib_file.to_path_buf()
        } else {
            if toolchain.is_none() {
                toolchain = Some(toolchain_lib_dir(ws)?);
            }
            let lib_dir = toolchain.as_ref().expect("set above");
            let found = lib_dir.join(name);
            if !found.is_file() {
                bail!(
                    "the extension needs {name}, which is not in the toolchain's {}",
                    lib_dir.display()
                );
            }
            found
        };
        let to = dir.join(name);
        fs::hard_link(&from, &to)
            .or_else(|_| fs::copy(&from, &to).map(drop))
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

/// Removes every companion of `ws`: the installed extension is a static build.
pub(super) fn remove_all(ws: &Workspace) -> Result<bool> {
    let root = libs_dir(ws);
    if !root.exists() {
        return Ok(false);
    }
    fs::remove_dir_all(&root).with_context(|| format!("cannot remove {}", root.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_copies_skip_the_companions() {
        assert!(crate::fsutil::SKIP.contains(&DIR));
    }

    #[test]
    fn an_id_has_the_placeholders_length_and_names_its_build() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("libx.so");
        let g = tmp.path().join("liby.so");
        fs::write(&f, b"x").unwrap();
        fs::write(&g, b"x").unwrap();
        let id = id_of(&f, &["libx.so".into()]).unwrap();
        assert_eq!(id.len(), PLACEHOLDER.len());
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(id_of(&f, &["libx.so".into()]).unwrap(), id);
        assert_ne!(id_of(&g, &["libx.so".into()]).unwrap(), id);
        assert_ne!(
            id_of(&f, &["libx.so".into(), "libstd-1.so".into()]).unwrap(),
            id
        );
    }
}
