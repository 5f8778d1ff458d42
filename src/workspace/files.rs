//! The files maou-build reads, as serde reads them: `pyproject.toml` and
//! `cargo metadata`'s JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::process;

#[derive(Deserialize, Default)]
pub(super) struct PyProject {
    #[serde(rename = "build-system")]
    pub(super) build_system: Option<BuildSystem>,
    pub(super) project: Option<Project>,
    #[serde(default)]
    pub(super) tool: Tool,
}

#[derive(Deserialize)]
pub(super) struct BuildSystem {
    #[serde(rename = "build-backend")]
    pub(super) build_backend: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct Project {
    pub(super) name: String,
    pub(super) version: Option<String>,
    pub(super) requires_python: Option<String>,
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) dependencies: Vec<String>,
    #[serde(default)]
    pub(super) optional_dependencies: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub(super) scripts: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
pub(super) struct Tool {
    pub(super) maturin: Option<MaturinConfig>,
    #[serde(rename = "maou-build", default)]
    pub(super) maou_build: MaouBuildConfig,
    #[serde(default)]
    pub(super) uv: UvConfig,
}

/// `[tool.uv]`: what uv hands the build backend when it builds the project (`uv run`,
/// `uv sync` after a change), read to tell whether that build is develop's.
#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub(super) struct UvConfig {
    #[serde(default)]
    pub(super) config_settings: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub(super) config_settings_package: BTreeMap<String, BTreeMap<String, toml::Value>>,
    /// `cache-keys`: what uv watches to rebuild the project (default: pyproject.toml).
    #[serde(default)]
    pub(super) cache_keys: Option<Vec<toml::Value>>,
}

/// `[tool.maou-build]`: what maou-build needs beyond maturin's settings. Never a secret.
#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct MaouBuildConfig {
    /// Cargo features of the distributed wheels, on top of `[tool.maturin] features`
    /// (which every build gets): `maou-build wheel` and the flake's CI chain read them here.
    #[serde(default)]
    pub(super) wheel_features: Vec<String>,
    /// The team's shared compiler cache, a `redis://host:port` URL without credentials
    /// (sccache's `SCCACHE_REDIS_PASSWORD` carries those): see [crate::team_cache].
    pub(super) team_cache: Option<String>,
    /// The cdylib's feature that links the third-party crates through a dylib of the
    /// workspace in dev builds: see [crate::companion].
    pub(super) dev_dylib_feature: Option<String>,
    /// A Markdown file (relative to pyproject.toml) whose text publish-latest puts in the
    /// release's body: what the table of wheels does not say (the GPU runtime to install).
    pub(super) release_notes: Option<std::path::PathBuf>,
    /// Native libraries the release build links against and its wheels carry, each pinned
    /// by hash: see [crate::bundled].
    #[serde(default)]
    pub(super) bundled_libraries: Vec<crate::bundled::Library>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub(super) struct MaturinConfig {
    pub(super) python_source: Option<PathBuf>,
    pub(super) module_name: Option<String>,
    pub(super) manifest_path: Option<PathBuf>,
    #[serde(default)]
    pub(super) features: Vec<String>,
    #[serde(default)]
    pub(super) no_default_features: bool,
    #[serde(default)]
    pub(super) all_features: bool,
    pub(super) profile: Option<String>,
    /// The profile of editable installs (maturin 1.10 and later), over `profile`.
    pub(super) editable_profile: Option<String>,
    /// Build with the venv's base interpreter rather than the build environment's.
    #[serde(default)]
    pub(super) use_base_python: bool,
    /// cargo `--config` values.
    #[serde(default)]
    pub(super) config: Vec<String>,
    /// cargo `-Z` flags.
    #[serde(default)]
    pub(super) unstable_flags: Vec<String>,
    /// The platform the wheels are for: maturin's `compatibility` (alias `manylinux`).
    #[serde(alias = "manylinux")]
    pub(super) compatibility: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Metadata {
    pub(super) packages: Vec<MetaPackage>,
    pub(super) workspace_members: Vec<String>,
    pub(super) workspace_root: PathBuf,
    pub(super) target_directory: PathBuf,
}

#[derive(Deserialize, Clone)]
pub(super) struct MetaPackage {
    pub(super) id: String,
    /// `registry+https://...`, `git+...`; None for a path (workspace) package.
    #[serde(default)]
    pub(super) source: Option<String>,
    pub(super) name: String,
    pub(super) version: String,
    pub(super) manifest_path: PathBuf,
    pub(super) targets: Vec<MetaTarget>,
    pub(super) dependencies: Vec<MetaDependency>,
    /// `[features]`: a feature to what it enables (`dep:name`, `name/feature`, features).
    #[serde(default)]
    pub(super) features: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize, Clone)]
pub(super) struct MetaTarget {
    pub(super) name: String,
    pub(super) crate_types: Vec<String>,
    pub(super) src_path: PathBuf,
}

#[derive(Deserialize, Serialize, Clone)]
pub(super) struct MetaDependency {
    pub(super) name: String,
    /// The version requirement as written (`^1.0`).
    #[serde(default)]
    pub(super) req: String,
    /// The platform it is for (`cfg(unix)`), if only one.
    #[serde(default)]
    pub(super) target: Option<String>,
    pub(super) kind: Option<String>,
    pub(super) path: Option<PathBuf>,
    #[serde(default)]
    pub(super) optional: bool,
    /// The name the dependency is known by in the dependent (`package = ` renames).
    #[serde(default)]
    pub(super) rename: Option<String>,
    /// The dependency's features the dependent turns on.
    #[serde(default)]
    pub(super) features: Vec<String>,
    /// Whether the dependent takes its default features too.
    #[serde(default = "yes")]
    pub(super) uses_default_features: bool,
}

fn yes() -> bool {
    true
}

pub(super) fn cargo_metadata(manifest: &Path) -> Result<Metadata> {
    metadata_of(manifest, &["--no-deps"])
}

/// `cargo metadata` with every package of the dependency graph (slower: doctor's).
pub(super) fn cargo_metadata_full(manifest: &Path) -> Result<Metadata> {
    metadata_of(manifest, &[])
}

fn metadata_of(manifest: &Path, extra: &[&str]) -> Result<Metadata> {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "metadata".as_ref(),
        "--format-version".as_ref(),
        "1".as_ref(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.extend(["--manifest-path".as_ref(), manifest.as_os_str()]);
    let out = process::output("cargo", args, None)?;
    serde_json::from_str(&out).context("cannot parse the output of `cargo metadata`")
}

#[derive(Deserialize)]
pub(super) struct Lock {
    #[serde(default)]
    pub(super) package: Vec<LockedPackage>,
}

#[derive(Deserialize, Serialize)]
pub(super) struct LockedPackage {
    pub(super) name: String,
    pub(super) version: String,
    /// Where it comes from (a registry, git); None for a path package.
    #[serde(default)]
    pub(super) source: Option<String>,
    #[serde(default)]
    pub(super) checksum: Option<String>,
    #[serde(default)]
    pub(super) dependencies: Vec<String>,
}

/// The version of the package `name` in the Cargo.lock at `lock` (the first, when several):
/// what a build with any features would take, where `cargo metadata` lists only the
/// packages its default features reach.
pub(super) fn locked_version(lock: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(lock).ok()?;
    let lock: Lock = toml::from_str(&text).ok()?;
    lock.package
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| p.version)
}
