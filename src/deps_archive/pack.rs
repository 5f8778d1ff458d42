//! Packs the third-party units and the dev dylib of a built target store.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::{archive_name, record_name, Key, Record};
use crate::workspace::Workspace;

/// The folders of a profile's target folder that hold its units; the rest (`incremental/`,
/// the copies cargo makes at the top on every build, fresh or not) is left out.
const UNIT_DIRS: &[&str] = &["deps", "build", ".fingerprint"];

/// What [pack] wrote.
pub struct Packed {
    pub archive: PathBuf,
    pub record_path: PathBuf,
    pub record: Record,
    pub seconds: f64,
}

/// Writes `<out>/<archive>` and its record from the `profile_dir` folder of the target
/// store `store`, leaving out the units of the workspace's own crates (but the dev
/// dylib's): what a machine with other sources rebuilds anyway. zstd at `level`.
pub fn pack(
    ws: &Workspace,
    store: &Path,
    profile_dir: &str,
    key: &Key,
    build_started: u64,
    out: &Path,
    level: i32,
) -> Result<Packed> {
    let started = Instant::now();
    let digest = key.digest();
    let from = store.join(profile_dir);
    let own = own_unit_names(ws);
    let mut files = Vec::new();
    for dir in UNIT_DIRS {
        let path = from.join(dir);
        if !path.is_dir() {
            continue;
        }
        for entry in
            fs::read_dir(&path).with_context(|| format!("cannot read {}", path.display()))?
        {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_own_unit(&name, &own) {
                collect_files(&entry.path(), &mut files)?;
            }
        }
    }
    files.sort();
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let name = archive_name(key, &digest);
    let archive = out.join(&name);
    let partial = out.join(format!("{name}.partial"));
    let written = write_archive(&partial, store, &files, level)
        .with_context(|| format!("writing {}", partial.display()));
    let (size, sha256, unpacked) = match written {
        Ok(w) => w,
        Err(e) => {
            let _ = fs::remove_file(&partial);
            return Err(e);
        }
    };
    fs::rename(&partial, &archive).with_context(|| {
        format!(
            "cannot rename {} to {}",
            partial.display(),
            archive.display()
        )
    })?;
    let record = Record {
        key: key.clone(),
        digest: digest.clone(),
        archive: name,
        sha256,
        size,
        files: files.len() as u64,
        unpacked,
        profile_dir: profile_dir.to_owned(),
        checkout: ws.root.clone(),
        build_started,
        commit: crate::git::head_commit(&ws.root).ok(),
        dylib_times: dylib_times(ws, key)?,
    };
    let record_path = out.join(record_name(key, &digest));
    let json = serde_json::to_vec_pretty(&record).context("a record serializes")?;
    crate::fsutil::write_atomic(&record_path, &json)?;
    Ok(Packed {
        archive,
        record_path,
        record,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The dev dylib crate's files and their modification times, when the build links it.
fn dylib_times(ws: &Workspace, key: &Key) -> Result<Vec<(PathBuf, u64, u32)>> {
    let Some(d) = ws.dev_dylib.as_ref().filter(|_| key.dylib.is_some()) else {
        return Ok(Vec::new());
    };
    let dir = &d.krate.dir;
    let mut times = Vec::new();
    for f in ws.crate_files_digest(dir)?.1 {
        let modified = fs::metadata(&f)
            .and_then(|m| m.modified())
            .with_context(|| format!("cannot read the time of {}", f.display()))?;
        let since = modified
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let rel = f.strip_prefix(dir).unwrap_or(&f).to_path_buf();
        times.push((rel, since.as_secs(), since.subsec_nanos()));
    }
    Ok(times)
}

/// The names the workspace's own crates give their units (package and library names).
fn own_unit_names(ws: &Workspace) -> BTreeSet<String> {
    let dylib = ws.dev_dylib.as_ref().map(|d| d.krate.name.as_str());
    std::iter::once(&ws.cdylib)
        .chain(&ws.rlib_deps)
        .filter(|c| Some(c.name.as_str()) != dylib)
        .flat_map(|c| [c.name.clone(), c.name.replace('-', "_"), c.lib_name.clone()])
        .collect()
}

/// Whether an entry of `deps/`, `build/` or `.fingerprint/` is a unit of one of `own`:
/// `<name>-<hash>` (a folder, or a `.d` file), `lib<name>-<hash>.<rlib|rmeta|so|a>`.
fn is_own_unit(entry: &str, own: &BTreeSet<String>) -> bool {
    let (stem, ext) = match entry.split_once('.') {
        Some((stem, ext)) => (stem, ext),
        None => (entry, ""),
    };
    let Some((name, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let name = match ext {
        "rlib" | "rmeta" | "so" | "a" => name.strip_prefix("lib").unwrap_or(name),
        _ => name,
    };
    own.contains(name)
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta =
        fs::symlink_metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        for entry in
            fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))?
        {
            collect_files(&entry?.path(), out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `(size, sha256, unpacked bytes)` of the archive written to `path`: `files`, by their
/// paths under `root`, with their modification times (cargo compares them).
fn write_archive(
    path: &Path,
    root: &Path,
    files: &[PathBuf],
    level: i32,
) -> Result<(u64, String, u64)> {
    let file =
        fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let hashing = Hashing {
        inner: BufWriter::new(file),
        hash: Sha256::new(),
        bytes: 0,
    };
    let mut encoder = zstd::Encoder::new(hashing, level).context("a zstd encoder")?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    encoder
        .multithread(workers)
        .context("zstd's worker threads")?;
    let mut tar = tar::Builder::new(encoder);
    tar.follow_symlinks(false);
    let mut unpacked = 0;
    for f in files {
        let rel = f.strip_prefix(root).expect("collected under the root");
        tar.append_path_with_name(f, rel)
            .with_context(|| format!("cannot add {}", f.display()))?;
        unpacked += fs::symlink_metadata(f).map(|m| m.len()).unwrap_or(0);
    }
    let encoder = tar.into_inner().context("finishing the tar stream")?;
    let mut hashing = encoder.finish().context("finishing the zstd stream")?;
    hashing.flush()?;
    let sha256 = crate::wheel_format::hex(&hashing.hash.finalize());
    Ok((hashing.bytes, sha256, unpacked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspaces_units_are_told_apart_from_third_party_ones() {
        let own: BTreeSet<String> = ["maou_io", "maou-io", "_rust", "c"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        for ours in [
            "maou_io-0123456789abcdef",
            "maou-io-0123456789abcdef",
            "libmaou_io-0123456789abcdef.rlib",
            "libmaou_io-0123456789abcdef.rmeta",
            "maou_io-0123456789abcdef.d",
            "lib_rust-0123456789abcdef.so",
        ] {
            assert!(is_own_unit(ours, &own), "{ours}");
        }
        for theirs in [
            "libc-0123456789abcdef.d",
            "liblibc-0123456789abcdef.rlib",
            "maou_io_ext-0123456789abcdef",
            "polars-core-0123456789abcdef",
            "libmaou_dev_deps.so",
        ] {
            assert!(!is_own_unit(theirs, &own), "{theirs}");
        }
    }
}
