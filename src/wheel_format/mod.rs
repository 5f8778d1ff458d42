//! Wheel files (PEP 427): names, RECORD hashes, and writing a wheel whose RECORD lists
//! every file with its hash and size.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

mod name;
mod writer;

pub use name::WheelName;
pub use writer::WheelWriter;

/// The `.whl` files in `dir`, sorted.
pub fn files_in(dir: &Path) -> Result<BTreeSet<PathBuf>> {
    Ok(std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "whl"))
        .collect())
}

/// The lowercase hex SHA-256 of `bytes`, as reports and GitHub's asset digests show it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `bytes` in lowercase hex (a digest finished elsewhere, from a stream).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The RECORD hash of `bytes`: `sha256=` and the urlsafe, unpadded base64 digest.
pub fn record_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!(
        "sha256={}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

/// A distribution name as it appears in wheel file names and `.dist-info` (PEP 427/503).
pub fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            if !last_sep {
                out.push('_');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

/// One member of a wheel, as read.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub bytes: Vec<u8>,
    pub modified: zip::DateTime,
    pub mode: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct RecordRow {
    path: String,
    hash: String,
    size: String,
}

/// Everything in a wheel, in archive order.
pub struct WheelContents {
    pub entries: Vec<Entry>,
    dist_info: String,
}

impl WheelContents {
    /// Reads a wheel. Errors (exit 2 in the commands) for a file that is not a zip, or a
    /// zip without the `.dist-info` files every wheel has.
    pub fn read(path: &Path, name: &WheelName) -> Result<WheelContents> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut archive = zip::ZipArchive::new(file).with_context(|| {
            format!("{} is not a wheel: it is not a zip archive", path.display())
        })?;
        let mut entries = Vec::with_capacity(archive.len());
        for i in 0..archive.len() {
            let mut member = archive
                .by_index(i)
                .with_context(|| format!("{}: cannot read member {i}", path.display()))?;
            if member.is_dir() {
                continue;
            }
            let member_name = member
                .name()
                .with_context(|| format!("{}: member {i} has an unreadable name", path.display()))?
                .into_owned();
            let mut bytes = Vec::with_capacity(member.size() as usize);
            member
                .read_to_end(&mut bytes)
                .with_context(|| format!("{}: cannot read {member_name}", path.display()))?;
            entries.push(Entry {
                name: member_name,
                bytes,
                modified: member.last_modified().unwrap_or_default(),
                mode: member.unix_mode(),
            });
        }
        // The dist-info directory's name may differ in case or escaping from the file
        // name's; take the one that holds WHEEL.
        let dist_info = entries
            .iter()
            .filter_map(|e| e.name.strip_suffix("/WHEEL"))
            .find(|d| d.ends_with(".dist-info") && !d.contains('/'))
            .map(str::to_owned)
            .with_context(|| {
                format!(
                    "{} is a zip but not a wheel: it has no {}/WHEEL",
                    path.display(),
                    name.dist_info()
                )
            })?;
        if !entries
            .iter()
            .any(|e| e.name == format!("{dist_info}/RECORD"))
        {
            bail!(
                "{} is a zip but not a wheel: it has no {dist_info}/RECORD",
                path.display()
            );
        }
        Ok(WheelContents { entries, dist_info })
    }

    pub fn wheel_file_name(&self) -> String {
        format!("{}/WHEEL", self.dist_info)
    }

    fn record_name(&self) -> String {
        format!("{}/RECORD", self.dist_info)
    }

    fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub fn record_entry(&self) -> Option<&Entry> {
        self.get(&self.record_name())
    }

    /// Members other than RECORD, with their bytes.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let record = self.record_name();
        self.entries
            .iter()
            .filter(move |e| e.name != record)
            .map(|e| (e.name.as_str(), e.bytes.as_slice()))
    }

    /// The `Tag:` lines of WHEEL.
    pub fn wheel_tags(&self) -> Result<BTreeSet<String>> {
        let entry = self.get(&self.wheel_file_name()).context("no WHEEL file")?;
        let text = std::str::from_utf8(&entry.bytes).context("WHEEL is not UTF-8")?;
        Ok(text
            .lines()
            .filter_map(|l| l.strip_prefix("Tag:"))
            .map(|t| t.trim().to_owned())
            .collect())
    }

    /// Replaces WHEEL's `Tag:` lines with `tags`, keeping every other line.
    pub fn set_wheel_tags(&mut self, tags: &[String]) -> Result<()> {
        let name = self.wheel_file_name();
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.name == name)
            .context("no WHEEL file")?;
        let text = String::from_utf8(entry.bytes.clone()).context("WHEEL is not UTF-8")?;
        let mut out = String::new();
        let mut placed = false;
        for line in text.lines() {
            if line.starts_with("Tag:") {
                if !placed {
                    for tag in tags {
                        out.push_str(&format!("Tag: {tag}\n"));
                    }
                    placed = true;
                }
            } else if !line.is_empty() {
                out.push_str(line);
                out.push('\n');
            }
        }
        if !placed {
            for tag in tags {
                out.push_str(&format!("Tag: {tag}\n"));
            }
        }
        out.push('\n');
        entry.bytes = out.into_bytes();
        Ok(())
    }

    /// What RECORD gets wrong: a member missing from it, listed but absent, or listed
    /// with another hash or size. Each as (member, message).
    pub fn record_problems(&self) -> Vec<(String, String)> {
        let record_name = self.record_name();
        let Some(record) = self.get(&record_name) else {
            return vec![(record_name, "missing".to_owned())];
        };
        let mut problems = Vec::new();
        let mut listed = BTreeSet::new();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .from_reader(record.bytes.as_slice());
        for row in reader.deserialize::<RecordRow>() {
            let row = match row {
                Ok(row) => row,
                Err(err) => {
                    problems.push((record_name.clone(), format!("unreadable line: {err}")));
                    continue;
                }
            };
            listed.insert(row.path.clone());
            if row.path == record_name || row.path.ends_with(".jws") || row.path.ends_with(".p7s") {
                continue;
            }
            let Some(entry) = self.get(&row.path) else {
                problems.push((row.path, "listed in RECORD but not in the wheel".to_owned()));
                continue;
            };
            let hash = record_hash(&entry.bytes);
            if row.hash != hash {
                problems.push((
                    row.path.clone(),
                    format!(
                        "hash differs from RECORD: RECORD says {}, the file has {hash}",
                        if row.hash.is_empty() {
                            "nothing"
                        } else {
                            &row.hash
                        }
                    ),
                ));
            }
            if row.size != entry.bytes.len().to_string() {
                problems.push((
                    row.path,
                    format!(
                        "size differs from RECORD: RECORD says {:?}, the file has {}",
                        row.size,
                        entry.bytes.len()
                    ),
                ));
            }
        }
        for entry in &self.entries {
            if !listed.contains(&entry.name) {
                problems.push((
                    entry.name.clone(),
                    "in the wheel but not listed in RECORD".to_owned(),
                ));
            }
        }
        problems
    }

    /// Writes these contents as a wheel at `path` (atomically), with a new RECORD.
    pub fn write(&self, path: &Path) -> Result<()> {
        let tmp = crate::fsutil::temp_beside(path);
        let result = (|| {
            let mut writer = WheelWriter::create(&tmp, &self.dist_info)?;
            for entry in &self.entries {
                if entry.name != self.record_name() {
                    writer.add_like(entry)?;
                }
            }
            writer.finish_with(self.record_entry())?;
            std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_hash_is_urlsafe_unpadded_sha256() {
        // sha256 of "" is e3b0c442...b855; base64url without padding:
        assert_eq!(
            record_hash(b""),
            "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }

    #[test]
    fn names_are_escaped_like_pep_427() {
        assert_eq!(escape_name("Maou-Build.Tools"), "maou_build_tools");
        assert_eq!(escape_name("a__b"), "a_b");
    }

    #[test]
    fn wheel_names_are_split_into_tags() {
        let n = WheelName::parse("maou-0.2.0-cp312-cp312-manylinux_2_28_x86_64.whl").unwrap();
        assert_eq!(n.distribution, "maou");
        assert_eq!(n.tags(), ["cp312-cp312-manylinux_2_28_x86_64"]);
        let n = WheelName::parse("a-1-7-py2.py3-none-any.whl").unwrap();
        assert_eq!(n.build.as_deref(), Some("7"));
        assert_eq!(n.tags().len(), 2);
        let r = n.with_platform("linux_x86_64");
        assert_eq!(r.file_name, "a-1-7-py2.py3-none-linux_x86_64.whl");
        assert!(WheelName::parse("maou-0.2.0.tar.gz").is_err());
        assert!(WheelName::parse("maou-cp312.whl").is_err());
    }
}
