//! `maou-build init`: what the seed and maou-build need, written into an existing maturin
//! workspace (dousu/maou): the dev dylib crate and the cdylib's feature that links it, the
//! dev profile's policy, `[tool.maou-build]` and the settings that make uv's builds
//! develop's, a `flake.nix` calling this project's flake library, the build-wheel workflow
//! and the dev container's lifecycle.
//!
//! Everything is planned first ([plan]): a [Plan] is the new text of each file, shown as a
//! diff, and written only when asked, each file atomically. TOML and JSONC files are edited
//! in place (comments and order kept, through toml_edit and jsonc-parser's CST); the files
//! init owns (the dylib crate, the cdylib's build script, the flake, the workflow) are
//! written whole. What init wrote is recorded (`.maou-build-init.json`): a value changed by
//! hand since is kept and reported, never overwritten. A second run changes nothing;
//! `--check` reports the drift (a dependency the dylib crate lacks, a setting removed).

mod cargo_files;
mod devcontainer;
mod pyproject;
mod record;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::workspace::Workspace;
use record::Record;

/// The cdylib's feature that links the dev dylib (the build script reads
/// `CARGO_FEATURE_DEV_DYLIB`).
pub const DEV_DYLIB_FEATURE: &str = "dev-dylib";

/// The record of what init wrote, at the workspace's root.
pub const RECORD_FILE: &str = ".maou-build-init.json";

/// One file's new text.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Relative to the workspace's root.
    pub path: PathBuf,
    #[serde(skip)]
    pub before: Option<String>,
    #[serde(skip)]
    pub after: String,
    /// What changes in it, a line each.
    pub what: Vec<String>,
}

/// What init would do to a workspace.
#[derive(Debug, Serialize)]
pub struct Plan {
    pub root: PathBuf,
    /// The files whose text changes (the record excluded), in the order they are written.
    pub changes: Vec<Change>,
    /// Values changed by hand since init wrote them: kept.
    pub kept: Vec<String>,
    /// Settings outside the workspace that override what init writes, with their effect,
    /// and what init leaves as it is.
    pub notes: Vec<String>,
    #[serde(skip)]
    record: Option<Change>,
}

/// The edits of one run: each file's text as it becomes, and what was decided.
pub(crate) struct Edits<'a> {
    pub(crate) ws: &'a Workspace,
    pub(crate) record: Record,
    files: Vec<Change>,
    pub(crate) kept: Vec<String>,
    pub(crate) notes: Vec<String>,
}

impl Edits<'_> {
    /// The text of `path` (relative to the root) as the edits so far leave it; None when
    /// it does not exist.
    pub(crate) fn text(&self, path: &Path) -> Result<Option<String>> {
        if let Some(c) = self.files.iter().find(|c| c.path == path) {
            return Ok(Some(c.after.clone()));
        }
        let full = self.ws.root.join(path);
        match fs::read_to_string(&full) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", full.display())),
        }
    }

    /// Sets the new text of `path`, saying what changed in it (nothing when it is the same).
    pub(crate) fn set(
        &mut self,
        path: &Path,
        after: String,
        what: impl Into<String>,
    ) -> Result<()> {
        let before = self.text(path)?;
        if before.as_deref() == Some(after.as_str()) {
            return Ok(());
        }
        let what = what.into();
        match self.files.iter_mut().find(|c| c.path == path) {
            Some(c) => {
                c.after = after;
                c.what.push(what);
            }
            None => self.files.push(Change {
                path: path.to_owned(),
                before,
                after,
                what: vec![what],
            }),
        }
        Ok(())
    }

    /// Whether to write `desired` at `key` (a value init manages), which holds `current`:
    /// not when it is there already, nor when it was changed by hand since init wrote it
    /// (then kept and reported). Records what init (re)wrote.
    pub(crate) fn should_write(&mut self, key: &str, current: Option<&str>, desired: &str) -> bool {
        if current == Some(desired) {
            self.record.wrote(key, desired);
            return false;
        }
        if let Some(current) = current {
            if self.record.edited_by_hand(key, current) {
                self.kept.push(format!(
                    "{key} is {current}, changed by hand since init wrote it; kept (init would write {desired})"
                ));
                return false;
            }
        }
        self.record.wrote(key, desired);
        true
    }

    /// A whole file init owns: written unless it was changed by hand since init wrote it
    /// (then kept and reported).
    pub(crate) fn owned_file(&mut self, path: &Path, text: String, what: &str) -> Result<()> {
        let current = self.text(path)?;
        let key = path.display().to_string();
        if let Some(current) = &current {
            if self.record.edited_by_hand(&key, &record::digest(current)) {
                self.kept.push(format!(
                    "{key}: changed by hand since init wrote it; kept (delete it to have init write it again)"
                ));
                return Ok(());
            }
        }
        self.record.wrote(&key, &record::digest(&text));
        self.set(path, text, what)
    }
}

/// What init would write into `ws`, nothing written.
pub fn plan(ws: &Workspace) -> Result<Plan> {
    let record = Record::read(&ws.root.join(RECORD_FILE))?;
    let mut edits = Edits {
        ws,
        record,
        files: Vec::new(),
        kept: Vec::new(),
        notes: Vec::new(),
    };
    cargo_files::dev_dylib(&mut edits)?;
    cargo_files::dev_profile(&mut edits)?;
    pyproject::settings(&mut edits)?;
    edits.owned_file(
        Path::new("flake.nix"),
        flake_nix(),
        "the flake: this workspace's outputs from maou-build's flake library",
    )?;
    edits.owned_file(
        Path::new(".github/workflows/build-wheel.yml"),
        workflow(ws),
        "the build-wheel workflow: nix build .#wheels, then publish-latest",
    )?;
    devcontainer::lifecycle(&mut edits)?;
    edits.notes.extend(cargo_files::overriding_settings());

    let record_text = edits.record.to_json()?;
    let record_path = PathBuf::from(RECORD_FILE);
    let before = edits.text(&record_path)?;
    let record = (before.as_deref() != Some(record_text.as_str())).then(|| Change {
        path: record_path,
        before,
        after: record_text,
        what: vec!["what init wrote, so that a later hand edit is kept".to_owned()],
    });
    Ok(Plan {
        root: ws.root.clone(),
        changes: edits.files,
        kept: edits.kept,
        notes: edits.notes,
        record,
    })
}

/// `path` relative to the workspace's root (as it is when outside it).
fn relative(ws: &Workspace, path: &Path) -> PathBuf {
    path.strip_prefix(&ws.root).unwrap_or(path).to_path_buf()
}

/// The flake `nix flake init -t` writes: one source, `nix/template/flake.nix`.
fn flake_nix() -> String {
    include_str!("../../nix/template/flake.nix").to_owned()
}

/// The build-wheel workflow, its cache keyed by the files the wheels are built from.
fn workflow(ws: &Workspace) -> String {
    let rel = |p: &Path| relative(ws, p).display().to_string();
    let cargo_root = rel(&ws.cargo_workspace_root);
    let at = |file: &str| {
        if cargo_root.is_empty() {
            file.to_owned()
        } else {
            format!("{cargo_root}/{file}")
        }
    };
    let mut files = vec![
        "flake.lock".to_owned(),
        "flake.nix".to_owned(),
        "pyproject.toml".to_owned(),
        ".cargo/**".to_owned(),
        at("Cargo.toml"),
        at("Cargo.lock"),
    ];
    let mut dirs: Vec<String> = std::iter::once(&ws.cdylib)
        .chain(&ws.rlib_deps)
        .map(|c| format!("{}/**", rel(&c.dir)))
        .collect();
    dirs.sort();
    files.extend(dirs);
    files.push(format!("{}/**", rel(&ws.python_source)));
    let list = files
        .iter()
        .map(|f| format!("'{f}'"))
        .collect::<Vec<_>>()
        .join(", ");
    include_str!("assets/build-wheel.yml").replace("@HASH_FILES@", &list)
}

impl Plan {
    /// Whether the workspace is as init leaves it (the record aside).
    pub fn is_clean(&self) -> bool {
        self.changes.is_empty()
    }

    /// Each change as a unified diff.
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for c in &self.changes {
            let before = c.before.as_deref().unwrap_or("");
            let old = if c.before.is_some() {
                format!("a/{}", c.path.display())
            } else {
                "/dev/null".to_owned()
            };
            let text = similar::TextDiff::from_lines(before, &c.after);
            let _ = write!(
                out,
                "{}",
                text.unified_diff()
                    .context_radius(3)
                    .header(&old, &format!("b/{}", c.path.display()))
            );
        }
        out
    }

    /// Writes every change, each file atomically, the record last.
    pub fn apply(&self) -> Result<()> {
        for c in self.changes.iter().chain(&self.record) {
            let path = self.root.join(&c.path);
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            crate::fsutil::write_atomic(&path, c.after.as_bytes())?;
        }
        Ok(())
    }
}
