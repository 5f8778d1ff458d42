//! Writing a wheel: a zip whose RECORD lists every file with its hash and size.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

use super::{record_hash, Entry};

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
        self.add_with(name, bytes, Self::options())
    }

    /// Adds an entry keeping another wheel's timestamp and permissions.
    pub fn add_like(&mut self, entry: &Entry) -> Result<()> {
        let options = Self::options()
            .last_modified_time(entry.modified)
            .unix_permissions(entry.mode.unwrap_or(0o644));
        self.add_with(&entry.name, &entry.bytes, options)
    }

    fn add_with(
        &mut self,
        name: &str,
        bytes: &[u8],
        options: zip::write::SimpleFileOptions,
    ) -> Result<()> {
        self.zip
            .start_file(name, options)
            .with_context(|| format!("cannot add {name} to the wheel"))?;
        self.zip.write_all(bytes)?;
        self.record
            .push(format!("{name},{},{}", record_hash(bytes), bytes.len()));
        Ok(())
    }

    /// Writes RECORD (with `like`'s timestamp when given) and closes the file.
    pub fn finish(self) -> Result<()> {
        self.finish_with(None)
    }

    pub fn finish_with(mut self, like: Option<&Entry>) -> Result<()> {
        let record_name = format!("{}/RECORD", self.dist_info);
        let mut record = self.record.join("\n");
        record.push_str(&format!("\n{record_name},,\n"));
        let mut options = Self::options();
        if let Some(like) = like {
            options = options
                .last_modified_time(like.modified)
                .unix_permissions(like.mode.unwrap_or(0o644));
        }
        self.zip.start_file(record_name, options)?;
        self.zip.write_all(record.as_bytes())?;
        let mut out = self.zip.finish().context("cannot finish the wheel")?;
        out.flush()?;
        Ok(())
    }
}
