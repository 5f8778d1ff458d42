//! What init wrote, so that a later run tells its own values from hand edits: each managed
//! value (`pyproject.toml#tool.maou-build.dev-dylib-feature`) and each whole file init
//! owns (by its SHA-256), as init last wrote it.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Record {
    /// Written by `maou-build init`; edit the files, not this.
    #[serde(default)]
    about: String,
    #[serde(default)]
    written: BTreeMap<String, String>,
}

/// A whole file's fingerprint in the record.
pub fn digest(text: &str) -> String {
    format!(
        "sha256:{}",
        crate::wheel_format::sha256_hex(text.as_bytes())
    )
}

impl Record {
    /// The record at `path`, or an empty one when there is none.
    pub fn read(path: &Path) -> Result<Record> {
        match fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{} is not init's record (JSON)", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Record::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Whether `key` holds `current` although init wrote something else there.
    pub fn edited_by_hand(&self, key: &str, current: &str) -> bool {
        self.written.get(key).is_some_and(|w| w != current)
    }

    /// Whether init wrote `key` before.
    pub fn has(&self, key: &str) -> bool {
        self.written.contains_key(key)
    }

    /// Init no longer writes `key`.
    pub fn forget(&mut self, key: &str) {
        self.written.remove(key);
    }

    /// What init (last) wrote at `key`.
    pub fn wrote(&mut self, key: &str, value: &str) {
        self.written.insert(key.to_owned(), value.to_owned());
    }

    pub fn to_json(&self) -> Result<String> {
        let record = Record {
            about: "written by `maou-build init`: what it last wrote, so that a later run keeps \
                    hand edits; commit it with the files"
                .to_owned(),
            written: self.written.clone(),
        };
        Ok(serde_json::to_string_pretty(&record)? + "\n")
    }
}
