//! File operations that never leave a half-written file where a reader could find it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A cache directory: the `override_var` environment variable if set and not empty,
/// else `~/.cache/<name>`.
pub fn user_cache_dir(override_var: &str, name: &str) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(override_var).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").with_context(|| {
        format!("HOME is not set: cannot place caches under ~/.cache (set HOME or {override_var})")
    })?;
    Ok(PathBuf::from(home).join(".cache").join(name))
}

/// cargo's home: `CARGO_HOME`, else `~/.cargo`; None when neither is known.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// Makes `path` executable by all (0755), as a shared object or a program is.
pub fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

/// Gives `path` the modification time `time` (cargo's fingerprints and uv's cache compare
/// files by it).
pub fn set_modified(path: &Path, time: std::time::SystemTime) -> Result<()> {
    fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(time))
        .with_context(|| format!("cannot set the modification time of {}", path.display()))
}

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

/// What a copy of a workspace's sources leaves out: builds, caches, environments, VCS.
pub const SKIP: &[&str] = &[
    "target",
    ".git",
    ".venv",
    "venv",
    "dist",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "node_modules",
    ".direnv",
    // develop's companion libraries (placement::companion::OLD_DIR, before they were found in place): built, and hundreds of megabytes
    ".maou-build-dev-libs",
];

/// Appends `text` to the file at `path`.
pub fn append(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("cannot edit {}", path.display()))
}

/// Copies a workspace's sources from `from` to `to`: not what [SKIP] names, not a venv,
/// not a built extension (`<extension_prefix>*.so`), not a symlink.
pub fn copy_sources(from: &Path, to: &Path, extension_prefix: &str) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        let ty = entry.file_type()?;
        // A built extension in the package is a product, not a source.
        let built_extension = name_str.starts_with(extension_prefix)
            && (name_str.ends_with(".so") || name_str.ends_with(".pyd"));
        if SKIP.contains(&name_str.as_ref()) || built_extension || ty.is_symlink() {
            continue;
        }
        if ty.is_dir() {
            if entry.path().join("pyvenv.cfg").exists() {
                continue;
            }
            copy_sources(&entry.path(), &to.join(&name), extension_prefix)?;
        } else if ty.is_file() {
            fs::copy(entry.path(), to.join(&name))
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Seconds since the Unix epoch, now (0 for a clock before it).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
