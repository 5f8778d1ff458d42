//! Puts the dependency builds of a directory on the release, beside the wheels.
//!
//! The wheels' publish owns the release (it creates it, moves its tag, writes its body,
//! and keeps these assets: [super::is_asset]); this only adds assets. Each build goes up
//! as its archive, then its record: the record is what develop looks for, so a build is
//! never found half uploaded. Then the older builds of the same slot go, but the newest
//! one (a checkout of the previous commit still finds its build), record first.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::wheel_format::sha256_hex;
use anyhow::{bail, Context, Result};

use super::{slot, Record, ARCHIVE_SUFFIX, PREFIX, RECORD_SUFFIX};
use crate::github::{Asset, Client, Pace, Release};
use crate::messages::note;

/// Older builds kept per slot, besides the one just published.
const KEEP_OLDER: usize = 1;

/// What was done, asset by asset.
#[derive(Debug, Default)]
pub struct Published {
    pub uploaded: Vec<String>,
    /// Already on the release, byte for byte.
    pub unchanged: Vec<String>,
    pub deleted: Vec<String>,
}

/// A build of the directory: its record and archive files.
struct Local {
    record: Record,
    record_path: PathBuf,
    archive_path: PathBuf,
}

/// The records in `dir` and their archives, each checked against its record.
fn read_local(dir: &Path) -> Result<Vec<Local>> {
    let mut builds = Vec::new();
    for (name, path) in super::files_in(dir)? {
        if !name.ends_with(RECORD_SUFFIX) {
            continue;
        }
        let text = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let record: Record = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a dependency build's record", path.display()))?;
        let archive_path = dir.join(&record.archive);
        let bytes = fs::read(&archive_path)
            .with_context(|| format!("cannot read {} (named by {name})", archive_path.display()))?;
        let sha = sha256_hex(&bytes);
        if bytes.len() as u64 != record.size || sha != record.sha256 {
            bail!(
                "{} is not the archive {name} describes ({} bytes, SHA-256 {sha}; the record \
                 says {} bytes, {}): pack it again with `maou-build deps-archive`",
                archive_path.display(),
                bytes.len(),
                record.size,
                record.sha256
            );
        }
        builds.push(Local {
            record,
            record_path: path,
            archive_path,
        });
    }
    if builds.is_empty() {
        bail!(
            "{} holds no dependency build ({PREFIX}*{RECORD_SUFFIX}): make one with \
             `maou-build deps-archive --out {}`",
            dir.display(),
            dir.display()
        );
    }
    Ok(builds)
}

/// Publishes every build in `dir` on the release `tag`, which must exist (the wheels'
/// publish makes it). With `dry_run`, says what it would send and sends nothing.
pub fn publish(client: &Client, tag: &str, dir: &Path, dry_run: bool) -> Result<Published> {
    let builds = read_local(dir)?;
    let Some(release) = client.release_by_tag(tag)? else {
        bail!(
            "{} has no release `{tag}` yet: publish-latest makes it with the wheels; publish \
             the dependency builds after it",
            client.repo()
        );
    };
    let mut assets = client.list_assets(&release)?;
    let mut done = Published::default();
    for b in &builds {
        for (path, name) in [
            (&b.archive_path, b.record.archive.clone()),
            (&b.record_path, file_name(&b.record_path)),
        ] {
            let bytes =
                fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            if is_on(&assets, &name, &bytes) {
                done.unchanged.push(name);
                continue;
            }
            if dry_run {
                note(format!("would upload {name} ({} bytes)", bytes.len()));
                continue;
            }
            for old in assets.iter().filter(|a| a.name == name) {
                client.delete_asset(old, Pace::Patient)?;
            }
            upload(client, &release, &name, &bytes)?;
            done.uploaded.push(name);
            assets = client.list_assets(&release)?;
        }
    }
    let slots: BTreeSet<String> = builds.iter().map(|b| slot(&b.record.key)).collect();
    let current: BTreeSet<&str> = builds.iter().map(|b| b.record.digest.as_str()).collect();
    for stale in stale_assets(&assets, &slots, &current) {
        if dry_run {
            note(format!("would delete {}", stale.name));
        } else {
            client.delete_asset(stale, Pace::Patient)?;
            done.deleted.push(stale.name.clone());
        }
    }
    Ok(done)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// Whether the release has `bytes` as `name` already: same size, and the same SHA-256
/// when GitHub gives one.
fn is_on(assets: &[Asset], name: &str, bytes: &[u8]) -> bool {
    let sha = sha256_hex(bytes);
    assets.iter().any(|a| {
        a.name == name
            && a.is_uploaded()
            && a.size == bytes.len() as u64
            && a.digest
                .as_deref()
                .is_none_or(|d| d == format!("sha256:{sha}"))
    })
}

/// Uploads, and takes an upload whose answer was lost for done when the release then
/// lists the asset complete.
fn upload(client: &Client, release: &Release, name: &str, bytes: &[u8]) -> Result<()> {
    let Err(e) = client.upload_asset(release, name, bytes) else {
        return Ok(());
    };
    let listed = client.list_assets(release)?;
    if is_on(&listed, name, bytes) {
        return Ok(());
    }
    Err(e.context(format!("uploading {name}")))
}

/// The assets of older builds in `slots` (not of `current`), but the newest
/// [KEEP_OLDER] of each slot, records before archives; and any incomplete upload of a
/// build.
fn stale_assets<'a>(
    assets: &'a [Asset],
    slots: &BTreeSet<String>,
    current: &BTreeSet<&str>,
) -> Vec<&'a Asset> {
    let mut stale: Vec<&Asset> = assets
        .iter()
        .filter(|a| super::is_asset(&a.name) && !a.is_uploaded())
        .collect();
    for slot in slots {
        let prefix = format!("{PREFIX}{slot}.");
        let mut older: Vec<&Asset> = assets
            .iter()
            .filter(|a| a.name.starts_with(&prefix) && a.name.ends_with(RECORD_SUFFIX))
            .filter(|a| {
                !current
                    .iter()
                    .any(|d| a.name == format!("{prefix}{}{RECORD_SUFFIX}", &d[..16]))
            })
            .collect();
        older.sort_by_key(|a| std::cmp::Reverse(a.id));
        for record in older.into_iter().skip(KEEP_OLDER) {
            stale.push(record);
            let archive = record.name.replace(RECORD_SUFFIX, ARCHIVE_SUFFIX);
            stale.extend(assets.iter().filter(|a| a.name == archive));
        }
    }
    stale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(id: u64, name: &str) -> Asset {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": name, "size": 1, "state": "uploaded"
        }))
        .unwrap()
    }

    #[test]
    fn older_builds_of_a_slot_go_but_the_newest_and_other_slots_stay() {
        let s = "maou-build-deps.dev.cp312.x86_64-unknown-linux-gnu";
        let other = "maou-build-deps.dev.cp313.x86_64-unknown-linux-gnu";
        let (now, prev, old) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
        let names = |d: &str, slot: &str| {
            [
                format!("{slot}.{}.tar.zst", &d[..16]),
                format!("{slot}.{}.json", &d[..16]),
            ]
        };
        let mut assets = Vec::new();
        for (i, (d, slot)) in [(&old, s), (&prev, s), (&now, s), (&old, other)]
            .iter()
            .enumerate()
        {
            for (j, n) in names(d, slot).iter().enumerate() {
                assets.push(asset((i * 2 + j) as u64, n));
            }
        }
        let slots = BTreeSet::from(["dev.cp312.x86_64-unknown-linux-gnu".to_owned()]);
        let current = BTreeSet::from([now.as_str()]);
        let stale: Vec<&str> = stale_assets(&assets, &slots, &current)
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        let [old_archive, old_record] = names(&old, s);
        assert_eq!(stale, [old_record.as_str(), old_archive.as_str()]);
    }
}
