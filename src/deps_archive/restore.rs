//! Restores the release's dependency build into an empty target store.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{record_name, slot, Key, Record, PREFIX, RECORD_SUFFIX};
use crate::github::Asset;
use crate::prebuilt::{latest_release, Latest, MIN_DOWNLOAD_RATE};
use crate::workspace::Workspace;

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    /// The repository and tag it came from.
    pub release: String,
    pub archive: String,
    /// Bytes downloaded, and the files and bytes unpacked.
    pub downloaded: u64,
    pub files: u64,
    pub unpacked: u64,
    /// Download and unpacking together (they overlap).
    pub seconds: f64,
    /// What will still be rebuilt although the inputs match (another checkout path).
    pub note: Option<String>,
}

/// Restores the build of the key `key` computes from the `latest` release into the
/// `profile_dir` folder of `store`, which must not exist yet; the key (which runs `cargo
/// metadata` and reads every input) is computed only once there is a release to look in.
/// `Err` is a reason, not a failure: the caller builds, and nothing of the attempt is left
/// in the store.
pub fn restore(
    ws: &Workspace,
    key: impl FnOnce() -> Result<Key>,
    store: &Path,
    profile_dir: &str,
) -> Result<Restored> {
    let started = Instant::now();
    let dest = store.join(profile_dir);
    if dest.exists() {
        bail!("the target store already has a {profile_dir} build");
    }
    let Latest {
        client,
        release,
        name,
    } = latest_release(ws)?.map_err(anyhow::Error::msg)?;
    let key = &key()?;
    let digest = key.digest();
    let assets = &release.assets;
    let Some(record_asset) = uploaded(assets, &record_name(key, &digest)) else {
        bail!(
            "{}",
            missing_reason(&client, assets, key, &name).unwrap_or_else(|e| format!("{e:#}"))
        );
    };
    let record = read_record(&client, record_asset)?;
    if let Some(what) = key.difference(&record.key) {
        bail!("the {name}'s record for this key differs in {what}");
    }
    let Some(archive) = uploaded(assets, &record.archive) else {
        bail!("the {name} lists {} but has no such asset", record.archive);
    };
    if archive.size != record.size {
        bail!(
            "{} on the {name} has {} bytes, its record says {}",
            record.archive,
            archive.size,
            record.size
        );
    }
    let temp = store.join(format!(".maou-build-restore-{}", std::process::id()));
    let _ = fs::remove_dir_all(&temp);
    let unpacked = unpack(&client, archive, &record, &temp).and_then(|()| {
        fs::rename(temp.join(profile_dir), &dest)
            .with_context(|| format!("cannot move the restored build to {}", dest.display()))
    });
    let _ = fs::remove_dir_all(&temp);
    unpacked?;
    if let Some(d) = ws.dev_dylib.as_ref().filter(|_| key.dylib.is_some()) {
        date_files(
            &d.krate.dir,
            &ws.crate_files_digest(&d.krate.dir)?.1,
            &record,
        )?;
    }
    let note = (record.checkout != ws.root).then(|| {
        format!(
            "built at {}, this checkout is {}: pyo3's build scripts rerun (its interpreter's \
             path differs) and what depends on pyo3 is rebuilt",
            record.checkout.display(),
            ws.root.display()
        )
    });
    Ok(Restored {
        release: name,
        archive: record.archive.clone(),
        downloaded: record.size,
        files: record.files,
        unpacked: record.unpacked,
        seconds: started.elapsed().as_secs_f64(),
        note,
    })
}

fn uploaded<'a>(assets: &'a [Asset], name: &str) -> Option<&'a Asset> {
    assets.iter().find(|a| a.name == name && a.is_uploaded())
}

fn read_record(client: &crate::github::Client, asset: &Asset) -> Result<Record> {
    let bytes = client.download_asset(asset.id, asset.size, MIN_DOWNLOAD_RATE)?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not a record", asset.name))
}

/// Why the release has no build for `key`: what the newest build of the same slot was
/// built with instead, or that there is none.
fn missing_reason(
    client: &crate::github::Client,
    assets: &[Asset],
    key: &Key,
    release: &str,
) -> Result<String> {
    let prefix = format!("{PREFIX}{}.", slot(key));
    let newest = assets
        .iter()
        .filter(|a| a.name.starts_with(&prefix) && a.name.ends_with(RECORD_SUFFIX))
        .filter(|a| a.is_uploaded())
        .max_by_key(|a| a.id);
    let Some(newest) = newest else {
        return Ok(format!(
            "the {release} has no dependency build for {} (profile {}, {})",
            key.host, key.profile, key.python_tag
        ));
    };
    let theirs = read_record(client, newest)?;
    Ok(match key.difference(&theirs.key) {
        Some(what) => format!("the {release}'s dependency build differs in {what}"),
        None => format!("the {release}'s dependency build is named for another key"),
    })
}

/// A reader that hashes and counts what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Downloads and unpacks the archive into `temp` as it arrives; then checks its size and
/// SHA-256 against the record.
fn unpack(
    client: &crate::github::Client,
    asset: &Asset,
    record: &Record,
    temp: &Path,
) -> Result<()> {
    fs::create_dir_all(temp).with_context(|| format!("cannot create {}", temp.display()))?;
    let (reader, url) = client.asset_reader(asset.id, asset.size, MIN_DOWNLOAD_RATE)?;
    let mut hashing = Hashing {
        inner: std::io::BufReader::with_capacity(1 << 20, reader),
        hash: Sha256::new(),
        bytes: 0,
    };
    let unpacked = (|| -> Result<()> {
        let decoder = zstd::Decoder::new(&mut hashing)?;
        let mut archive = tar::Archive::new(decoder);
        archive.set_preserve_mtime(true);
        archive.set_preserve_permissions(true);
        archive.unpack(temp)?;
        Ok(())
    })();
    // What the decoder left unread (a frame's end) still counts.
    let rest = std::io::copy(&mut hashing, &mut std::io::sink());
    let got = crate::wheel_format::hex(&hashing.hash.finalize());
    if hashing.bytes != record.size {
        bail!(
            "{} is cut short: {} of {} bytes arrived from {url}",
            record.archive,
            hashing.bytes,
            record.size
        );
    }
    if got != record.sha256 {
        bail!(
            "{} has SHA-256 {got}, its record says {}",
            record.archive,
            record.sha256
        );
    }
    unpacked.with_context(|| format!("{} does not unpack", record.archive))?;
    rest.with_context(|| format!("reading {url}"))?;
    Ok(())
}

/// Gives the dev dylib's `files` (in `dir`; their content the key holds) the times they had
/// where the archive was built, else the build's start: cargo then finds the dylib's
/// fingerprints fresh (its dep-info, its build script's newest file), though the checkout
/// is new.
fn date_files(dir: &Path, files: &[PathBuf], record: &Record) -> Result<()> {
    let start =
        SystemTime::UNIX_EPOCH + Duration::from_secs(record.build_started.saturating_sub(1));
    for f in files {
        let rel = f.strip_prefix(dir).unwrap_or(f);
        let time = record
            .dylib_times
            .iter()
            .find(|(p, _, _)| p == rel)
            .map_or(start, |(_, secs, nanos)| {
                SystemTime::UNIX_EPOCH + Duration::new(*secs, *nanos)
            });
        crate::fsutil::set_modified(f, time)?;
    }
    Ok(())
}
