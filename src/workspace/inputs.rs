//! The Rust inputs of the extension, as one key: what the released extension was built
//! from, compared with what develop would build. A key covers every Cargo manifest and the
//! lock of the cargo workspace, every file of the cdylib crate and of the workspace crates
//! it depends on (their sources, build scripts, anything `include!`d), `rust-toolchain.toml`,
//! the cargo configuration, the module name and the features. Python files, the README,
//! CI and anything a build leaves behind are not inputs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::{Features, Workspace};

/// Directories and files below a crate that are never inputs: build products, caches,
/// version control, venvs.
const NOT_INPUTS: &[&str] = &[
    "target",
    ".git",
    "__pycache__",
    ".venv",
    "dist",
    ".pytest_cache",
];

/// Files beside the workspace (at its root and at the cargo workspace's) that steer the
/// build: the toolchain and cargo's configuration.
const CONFIG_FILES: &[&str] = &[
    "rust-toolchain.toml",
    "rust-toolchain",
    ".cargo/config.toml",
    ".cargo/config",
];

impl Workspace {
    /// The features the distributed wheels are built with: `[tool.maturin] features`
    /// without the dev dylib's, and `[tool.maou-build] wheel-features`. Given to maturin
    /// whole: its `--features` replace `[tool.maturin]`'s.
    pub fn release_features(&self) -> Features {
        self.features_without_dev_dylib().and(&Features {
            features: self.wheel_features.clone(),
            ..Features::default()
        })
    }

    /// `[tool.maturin] features` without the dev dylib's: what a build that must link every
    /// crate statically gives maturin (the wheels', the bench's own-loop baselines).
    pub fn features_without_dev_dylib(&self) -> Features {
        match &self.dev_dylib {
            Some(d) => self.features.without(&d.feature),
            None => self.features.clone(),
        }
    }

    /// What decides the third-party crates a build compiles, apart from the toolchain, the
    /// profile and the features: a SHA-256 in hex over the lock's packages from a registry
    /// or git (name, version, source, checksum, dependencies) and every workspace member's
    /// declared dependencies (requirement, platform, kind, features, optional, default
    /// features) and `[features]`. Not the members' versions nor their sources: an edit
    /// of the workspace's own crates, version bump included, keeps it
    /// ([crate::deps_archive] keys the dependency build with it).
    pub fn third_party_inputs(&self) -> Result<String> {
        let lock_path = self.cargo_workspace_root.join("Cargo.lock");
        let text = fs::read_to_string(&lock_path)
            .with_context(|| format!("cannot read {}", lock_path.display()))?;
        let lock: super::files::Lock = toml::from_str(&text)
            .with_context(|| format!("cannot parse {}", lock_path.display()))?;
        let mut h = Sha256::new();
        for p in lock.package.iter().filter(|p| p.source.is_some()) {
            h.update(serde_json::to_vec(p).context("a lock entry serializes")?);
            h.update(b"\n");
        }
        let metadata = super::files::cargo_metadata(&self.cargo_workspace_root.join("Cargo.toml"))?;
        let mut members: Vec<_> = metadata
            .packages
            .iter()
            .filter(|p| metadata.workspace_members.contains(&p.id))
            .collect();
        members.sort_by(|a, b| a.name.cmp(&b.name));
        for m in members {
            let mut deps: Vec<_> = m
                .dependencies
                .iter()
                .map(|d| {
                    // A path dependency's place is the checkout's, not an input.
                    let mut d = d.clone();
                    d.path = d.path.as_ref().map(|_| PathBuf::from("(path)"));
                    serde_json::to_string(&d)
                })
                .collect::<std::result::Result<_, _>>()
                .context("a dependency serializes")?;
            deps.sort();
            let features = serde_json::to_string(&m.features).context("features serialize")?;
            h.update(format!(
                "member {}\n{}\n{features}\n",
                m.name,
                deps.join("\n")
            ));
        }
        Ok(crate::wheel_format::hex(&h.finalize()))
    }

    /// The SHA-256 (hex) of every input file of the crate in `dir`, by its path under the
    /// crate: the dev dylib's sources, for [crate::deps_archive].
    pub fn crate_files_digest(&self, dir: &Path) -> Result<(String, Vec<PathBuf>)> {
        let mut files = Vec::new();
        collect(dir, &self.python_source, &mut files)
            .with_context(|| format!("reading the files of {}", dir.display()))?;
        files.sort();
        let mut h = Sha256::new();
        for f in &files {
            let bytes = fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
            let rel = f.strip_prefix(dir).unwrap_or(f).to_string_lossy();
            h.update(format!("file {rel} {}\n", bytes.len()));
            h.update(&bytes);
        }
        Ok((crate::wheel_format::hex(&h.finalize()), files))
    }

    /// The key of the extension's Rust inputs when built with `features`: a SHA-256 in hex.
    pub fn rust_inputs_key(&self, features: &Features) -> Result<String> {
        let mut files: Vec<PathBuf> = Vec::new();
        for dir in [&self.root, &self.cargo_workspace_root] {
            files.extend(CONFIG_FILES.iter().map(|f| dir.join(f)));
        }
        files.push(self.cargo_workspace_root.join("Cargo.toml"));
        files.push(self.cargo_workspace_root.join("Cargo.lock"));
        let python = &self.python_source;
        for krate in std::iter::once(&self.cdylib).chain(&self.rlib_deps) {
            collect(&krate.dir, python, &mut files)
                .with_context(|| format!("reading the sources of {}", krate.name))?;
        }
        let mut keyed: Vec<(String, PathBuf)> = files
            .into_iter()
            .filter(|f| f.is_file())
            .map(|f| {
                let rel = f.strip_prefix(&self.root).unwrap_or(&f).to_string_lossy();
                (rel.into_owned(), f)
            })
            .collect();
        keyed.sort();
        keyed.dedup();
        let mut h = Sha256::new();
        h.update(format!("module {}\n", self.module_name));
        // The features as a set: their order on a command line changes nothing.
        let mut names = features.features.clone();
        names.sort();
        names.dedup();
        h.update(format!(
            "features {} no-default {} all {}\n",
            names.join(","),
            features.no_default_features,
            features.all_features
        ));
        for (rel, path) in &keyed {
            let bytes =
                fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            h.update(format!("file {rel} {}\n", bytes.len()));
            h.update(&bytes);
        }
        Ok(crate::wheel_format::hex(&h.finalize()))
    }
}

/// Every file below `dir` that can be an input: not [NOT_INPUTS], not the Python package
/// (`python`), not a built extension, not a venv.
pub(super) fn collect(dir: &Path, python: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ty = entry.file_type()?;
        if NOT_INPUTS.contains(&name.as_ref()) || path == python {
            continue;
        }
        if ty.is_dir() {
            if !path.join("pyvenv.cfg").exists() {
                collect(&path, python, out)?;
            }
        } else if ty.is_file() && !name.ends_with(".so") && !name.ends_with(".pyc") {
            out.push(path);
        }
    }
    Ok(())
}
