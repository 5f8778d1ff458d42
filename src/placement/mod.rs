//! Placing an extension into the workspace's Python package: the one way a module file gets
//! where `import` finds it, for develop's builds and for the release's extension alike.
//!
//! A placement makes the package directory, writes the module file under a temporary name
//! and renames it over the installed one (a failed placement leaves the previous one),
//! checks that a dev build finds its companion libraries (the dev dylib, libstd), and
//! removes every other extension file of the module: Python loads whichever suffix it
//! tries first, so two files of one module are one too many.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::python::Interpreter;
use crate::workspace::{DevDylib, Workspace};

mod companion;

pub use companion::Found as Companion;

/// The extension to place.
pub enum Extension<'a> {
    /// A build in the target directory; `dylib` is the workspace's dev dylib and the file
    /// cargo built it into, when the build links the third-party crates through it.
    Built {
        library: &'a Path,
        dylib: Option<(&'a DevDylib, &'a Path)>,
    },
    /// A module file's bytes (the release wheel's): linked statically.
    Bytes(&'a [u8]),
}

/// What a placement did.
#[derive(Debug, Clone, Serialize)]
pub struct Placement {
    pub installed: PathBuf,
    /// The libraries a dev build that links through the dev dylib loads, and where from.
    pub companion: Option<Companion>,
    /// Other extension files of the module that were removed.
    pub removed: Vec<PathBuf>,
}

/// Where the extension file of `ws` built for `interp` (the venv at `venv`) goes, named as
/// maturin names it: `_rust.abi3.so` for a stable-ABI build the interpreter is new enough
/// for, else the interpreter's own suffix (`_rust.cpython-312-x86_64-linux-gnu.so`). Any
/// other name would leave maturin's file (uv's door) beside it. In the workspace's Python
/// package; for a pure Rust module (no package of that name in the Python source, rpds-py's
/// layout), where maturin's editable install keeps it: `site-packages/<module>/` of the venv.
pub fn installed_path(ws: &Workspace, interp: &Interpreter, venv: &Path) -> PathBuf {
    let abi3 = ws
        .stable_abi
        .as_ref()
        .is_some_and(|a| a.min.is_none_or(|min| interp.minor >= min));
    let suffix = if abi3 { ".abi3.so" } else { &interp.ext_suffix };
    let file = format!("{}{suffix}", ws.module_leaf());
    if ws.is_pure_rust() {
        let site = venv.join("lib").join(format!(
            "python{}.{}/site-packages",
            interp.minor.major, interp.minor.minor
        ));
        return site.join(ws.module_leaf()).join(file);
    }
    ws.package_dir().join(file)
}

/// Whether `installed` already is `library` as a placement would leave it: the same file,
/// or a copy of it (maturin's, for uv) at least as new with the same bytes. The bytes are
/// compared too: an edit that keeps the library's size, built within the second of uv's
/// copy, would otherwise be taken for it (a whole-second `mtime` is what a copy keeps).
/// A library newer than the copy is placed again even with the same bytes (a relink), so
/// that the placement's clean-up runs.
pub fn up_to_date(installed: &Path, library: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(a), Ok(b)) = (fs::metadata(installed), fs::metadata(library)) else {
        return false;
    };
    if a.dev() == b.dev() && a.ino() == b.ino() {
        return true;
    }
    a.len() == b.len()
        && a.mtime() >= b.mtime()
        && matches!((fs::read(installed), fs::read(library)), (Ok(x), Ok(y)) if x == y)
}

/// Places `ext` at `installed` (see the module's documentation).
pub fn place(ws: &Workspace, installed: &Path, ext: Extension) -> Result<Placement> {
    let dir = installed.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let companion = match ext {
        Extension::Built {
            library,
            dylib: Some((dylib, file)),
        } => companion::check(dylib, library, file)?,
        _ => None,
    };
    match ext {
        Extension::Built { library, .. } => crate::fsutil::place_atomic(library, installed)?,
        Extension::Bytes(bytes) => crate::fsutil::write_atomic(installed, bytes)?,
    }
    companion::remove_old_copies(ws)?;
    let removed = remove_other_extensions(ws, installed)?;
    Ok(Placement {
        installed: installed.to_path_buf(),
        companion,
        removed,
    })
}

/// Removes every extension file of the workspace's module in its package directory but
/// `keep` (`_rust.abi3.so` beside `_rust.cpython-312-….so`: Python would load the latter
/// whichever is newer). Returns what it removed.
fn remove_other_extensions(ws: &Workspace, keep: &Path) -> Result<Vec<PathBuf>> {
    let prefix = format!("{}.", ws.module_leaf());
    let dir = ws.package_dir();
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(removed);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path != keep
            && name.starts_with(&prefix)
            && (name.ends_with(".so") || name.ends_with(".pyd"))
        {
            fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            removed.push(path);
        }
    }
    removed.sort();
    Ok(removed)
}
