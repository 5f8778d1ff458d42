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
mod editable_profile;
mod flake;
mod lock;
mod onnxruntime;
mod pyproject;
mod record;
mod workflow;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::workspace::Workspace;
use editable_profile::EditableProfile;
pub use lock::{Lock, Snapshot};
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
    /// Whether Cargo.lock holds what the manifests (as init leaves them) need.
    pub lock: Lock,
    #[serde(skip)]
    cargo_root: PathBuf,
    #[serde(skip)]
    lock_before: Snapshot,
    #[serde(skip)]
    record: Option<Change>,
}

/// What the user chose for init.
#[derive(Debug, Default)]
pub struct Options {
    /// The flake input's URL (where maou-build is hosted), over the one init finds.
    pub flake_url: Option<String>,
    /// How the dev container and the developers get maou-build; None: as init left it.
    pub route: Option<Route>,
}

/// Where maou-build comes from in the dev container and for the developers. CI builds the
/// wheels through the flake either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// The flake's dev shell: `nix develop --command maou-build …` (the Nix feature and the
    /// store's volume in the dev container)
    #[default]
    Nix,
    /// The project's `dev` dependency group, pinned to this version (`uv sync` installs it):
    /// `uv run --no-install-project maou-build …`, no Nix in the dev container
    Uv,
}

/// The workspace at `start` (see [Workspace::discover]), with its Cargo.lock as it was
/// before finding the workspace ran cargo, which brings a stale lock up to date: every
/// lock from the extension's crate up, as cargo's workspace root is one of those
/// directories (below the pyproject.toml's, as `rust/` here, or at it, as maou's).
pub fn discover(start: Option<&Path>) -> Result<(Workspace, Snapshot)> {
    let pyproject = Workspace::pyproject_of(start)?;
    let manifest = Workspace::manifest_of(&pyproject)?;
    let before = Snapshot::above(manifest.parent().expect("a file path has a parent"));
    Ok((Workspace::load(&pyproject)?, before))
}

/// The edits of one run: each file's text as it becomes, and what was decided.
pub(crate) struct Edits<'a> {
    pub(crate) ws: &'a Workspace,
    /// Where maou-build comes from in the dev container.
    pub(crate) route: Route,
    /// The profile of the editable builds, as init leaves it.
    pub(crate) editable: EditableProfile,
    /// Whether the workspace gets (or has) the dev dylib.
    pub(crate) dylib: bool,
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
        if path.is_absolute()
            || path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            anyhow::bail!(
                "init would write {}, outside the project ({}): it writes only inside it",
                path.display(),
                self.ws.root.display()
            );
        }
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

/// The release workflow and the dev container, which GitHub reads at the repository's root:
/// a project in a subdirectory of its repository (safetensors' bindings/python) gets
/// neither, as init writes nothing outside the project, and is told so.
fn repository_files(edits: &mut Edits) -> Result<()> {
    let ws = edits.ws;
    let repo_root = crate::git::toplevel(&ws.root)
        .map(|t| t.canonicalize().unwrap_or(t))
        .filter(|t| ws.root.canonicalize().ok().as_ref() != Some(t));
    match repo_root {
        Some(top) => {
            edits.notes.push(format!(
                "{} is a subdirectory of its git repository ({}): GitHub reads workflows and \
                 the dev container at the repository's root, outside the project, so init \
                 writes neither; a workflow of its own runs `nix build .#wheels` here (or \
                 `maou-build wheel`), then `maou-build publish-latest`",
                ws.root.display(),
                top.display()
            ));
            Ok(())
        }
        None => {
            workflow::write(edits)?;
            devcontainer::lifecycle(edits)
        }
    }
}

/// The note for the crates the extension is built from that lie outside the project.
fn outside_crates(ws: &Workspace) -> Option<String> {
    let outside: Vec<String> = ws
        .rlib_deps
        .iter()
        .filter(|c| !c.dir.starts_with(&ws.root))
        .map(|c| format!("{} ({})", c.name, ws.relative(&c.dir).display()))
        .collect();
    let (it, n) = (
        if outside.len() == 1 { "it" } else { "them" },
        outside.len(),
    );
    (n > 0).then(|| {
        format!(
            "{} outside this project's directory: develop, uv and maturin build {it} as the \
             workspace does, but the flake's source is this directory, so its wheel build \
             (`nix build .#wheels`, the workflow) cannot see {it}; the wheels are then \
             `maou-build wheel`'s",
            outside.join(", ")
        )
    })
}

/// What init would write into `ws`, nothing written.
pub fn plan(ws: &Workspace, lock_before: Snapshot, options: &Options) -> Result<Plan> {
    let record = Record::read(&ws.root.join(RECORD_FILE))?;
    let mut edits = Edits {
        ws,
        route: Route::Nix,
        editable: EditableProfile::choose(ws),
        dylib: true,
        record,
        files: Vec::new(),
        kept: Vec::new(),
        notes: Vec::new(),
    };
    cargo_files::dev_dylib(&mut edits)?;
    cargo_files::dev_profile(&mut edits)?;
    edits.route = match options.route {
        Some(r) => r,
        None => pyproject::route_in_use(&edits)?,
    };
    pyproject::settings(&mut edits)?;
    onnxruntime::pin(&mut edits)?;
    let url = flake::url(&edits, options.flake_url.as_deref())?;
    edits.owned_file(
        Path::new(flake::FILE),
        flake::text(&url),
        &format!("the flake: this workspace's outputs from maou-build's flake library ({url})"),
    )?;
    repository_files(&mut edits)?;
    edits.notes.extend(cargo_files::overriding_settings(ws));
    edits.notes.extend(outside_crates(ws));
    let manifests_change = edits
        .files
        .iter()
        .any(|c| c.path.file_name().is_some_and(|n| n == "Cargo.toml"));
    let lock = lock_before.state(&ws.cargo_workspace_root, manifests_change);

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
        lock,
        cargo_root: ws.cargo_workspace_root.clone(),
        lock_before,
        record,
    })
}

impl Plan {
    /// Whether the workspace is as init leaves it (the record aside), its lock included.
    pub fn is_clean(&self) -> bool {
        self.changes.is_empty() && self.lock == lock::Lock::Current
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

    /// Writes every change, each file atomically, the record last; then brings Cargo.lock
    /// up to date with the manifests (cargo adds the new crate's entries and keeps every
    /// other locked version). Returns the lock's diff, if it changed.
    pub fn apply(&self) -> Result<Option<String>> {
        for c in self.changes.iter().chain(&self.record) {
            let path = self.root.join(&c.path);
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            crate::fsutil::write_atomic(&path, c.after.as_bytes())?;
        }
        if self.lock == Lock::Current {
            return Ok(None);
        }
        self.lock_before.update(&self.cargo_root)
    }

    /// Leaves Cargo.lock as it was before init ran (a run that writes nothing).
    pub fn restore_lock(&self) -> Result<()> {
        self.lock_before.restore(&self.cargo_root)
    }
}
