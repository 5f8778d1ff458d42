//! Wheel files (PEP 427): names, RECORD hashes, and writing a wheel whose RECORD lists
//! every file with its hash and size.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine;
use sha2::{Digest, Sha256};

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

/// Writes a wheel: files in the order given, then RECORD. Entries get a fixed timestamp
/// so that the same content gives the same bytes.
pub struct WheelWriter {
    zip: zip::ZipWriter<BufWriter<File>>,
    record: Vec<String>,
    dist_info: String,
}

impl WheelWriter {
    pub fn create(path: &Path, dist_info: &str) -> Result<WheelWriter> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(WheelWriter {
            zip: zip::ZipWriter::new(BufWriter::new(file)),
            record: Vec::new(),
            dist_info: dist_info.to_owned(),
        })
    }

    fn options() -> zip::write::SimpleFileOptions {
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644)
    }

    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.zip
            .start_file(name, Self::options())
            .with_context(|| format!("cannot add {name} to the wheel"))?;
        self.zip.write_all(bytes)?;
        self.record
            .push(format!("{name},{},{}", record_hash(bytes), bytes.len()));
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        let record_name = format!("{}/RECORD", self.dist_info);
        let mut record = self.record.join("\n");
        record.push_str(&format!("\n{record_name},,\n"));
        self.zip.start_file(record_name, Self::options())?;
        self.zip.write_all(record.as_bytes())?;
        let mut out = self.zip.finish().context("cannot finish the wheel")?;
        out.flush()?;
        Ok(())
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
}
