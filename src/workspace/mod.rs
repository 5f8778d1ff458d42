//! What maou-build knows about the workspace it works on, read from `pyproject.toml`
//! (`[project]`, `[tool.maturin]`) and `cargo metadata`: never from assumptions about
//! this repository's layout.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::process;
use crate::python::Specifier;

mod dev_dylib;
mod features;
mod files;
mod inputs;
pub mod ort;
mod profiles;
mod stable_abi;

pub use dev_dylib::{DevDylib, ThirdParty};
pub use features::Features;
use files::{cargo_metadata, MetaPackage, MetaTarget, Metadata, PyProject};
pub use profiles::{dir_name, Policy, Profile, Profiles, Section};
pub use stable_abi::StableAbi;

/// A crate of the workspace.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Crate {
    pub name: String,
    pub version: String,
    /// The library target's name (what rustc calls the crate: `_rust` for maou_rust).
    pub lib_name: String,
    pub manifest_path: PathBuf,
    /// The crate's directory: what an edit to the crate touches.
    pub dir: PathBuf,
    /// The library target's root source file (`src/lib.rs` unless `[lib] path` says otherwise).
    pub lib_src: PathBuf,
}

impl Crate {
    /// Appends an item that changes the crate (and so its hash) without changing what it
    /// does, to the crate's root file: the one-line edit of the bench's scenarios.
    pub fn edit(&self, n: u32) -> Result<()> {
        crate::fsutil::append(
            &self.lib_src,
            &format!("\n#[doc(hidden)]\npub const __MAOU_BUILD_BENCH_EDIT_{n}: u32 = {n};\n"),
        )
    }

    /// Raises the crate's patch version by one, as maou's CLAUDE.md asks of every Rust
    /// change: in its manifest, or in `[workspace.package]` of `workspace_manifest` when it
    /// takes the workspace's (`version.workspace = true`). Returns the new version.
    pub fn bump_patch_version(&self, workspace_manifest: &Path) -> Result<String> {
        let own = fs::read_to_string(&self.manifest_path)
            .with_context(|| format!("cannot read {}", self.manifest_path.display()))?;
        let doc: toml_edit::DocumentMut = own
            .parse()
            .with_context(|| format!("{} is not valid TOML", self.manifest_path.display()))?;
        let inherits = doc["package"]["version"]
            .as_table_like()
            .and_then(|t| t.get("workspace"))
            .and_then(|w| w.as_bool())
            == Some(true);
        let file = if inherits {
            workspace_manifest
        } else {
            &self.manifest_path
        };
        let text =
            fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        let mut doc: toml_edit::DocumentMut = text
            .parse()
            .with_context(|| format!("{} is not valid TOML", file.display()))?;
        let table = if inherits {
            &mut doc["workspace"]["package"]
        } else {
            &mut doc["package"]
        };
        let version = table["version"]
            .as_str()
            .with_context(|| format!("{}: no version string to bump", file.display()))?;
        let core = version.split(['-', '+']).next().unwrap_or(version);
        let mut parts: Vec<u64> = core
            .split('.')
            .map(str::parse)
            .collect::<std::result::Result<_, _>>()
            .with_context(|| format!("{}: version {version} is not x.y.z", file.display()))?;
        let patch = parts
            .last_mut()
            .with_context(|| format!("{}: an empty version", file.display()))?;
        *patch += 1;
        let bumped = parts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".");
        table["version"] = toml_edit::value(bumped.as_str());
        crate::fsutil::write_atomic(file, doc.to_string().as_bytes())?;
        Ok(bumped)
    }
}

/// Everything maou-build needs to know about a maturin workspace.
#[derive(Debug, Clone, Serialize)]
pub struct Workspace {
    /// The directory holding pyproject.toml.
    pub root: PathBuf,
    pub pyproject: PathBuf,
    /// The Python distribution name (`[project] name`).
    pub package: String,
    pub version: String,
    pub description: Option<String>,
    /// `[project] dependencies`, as PEP 508 strings.
    pub dependencies: Vec<String>,
    /// `[project.optional-dependencies]`: extra name to requirements.
    pub optional_dependencies: BTreeMap<String, Vec<String>>,
    /// `[project.scripts]`: console script name to `module:function`.
    pub scripts: BTreeMap<String, String>,
    #[serde(serialize_with = "as_text")]
    pub requires_python: Specifier,
    /// Absolute path of the directory that holds the Python package.
    pub python_source: PathBuf,
    /// The extension's dotted module name, e.g. `maou._rust`.
    pub module_name: String,
    /// `[tool.maturin] features`, `no-default-features`, `all-features`: every build's.
    #[serde(flatten)]
    pub features: Features,
    /// `[tool.maou-build] wheel-features`: added for the distributed wheels only.
    pub wheel_features: Vec<String>,
    /// `[tool.maou-build] team-cache`: the team's shared compiler cache, a URL without
    /// credentials (checked here: a password in pyproject.toml is refused).
    pub team_cache: Option<String>,
    /// `[tool.maou-build] release-notes`: a Markdown file publish-latest puts in the
    /// release's body, relative to the root as written.
    pub release_notes: Option<PathBuf>,
    /// `[[tool.maou-build.bundled-libraries]]`: what the release build links against and
    /// its wheels carry, each pinned by hash ([crate::bundled]).
    pub bundled_libraries: Vec<crate::bundled::Library>,
    /// `[tool.maturin] profile`: the profile maturin (and so uv) builds, and develop too.
    pub profile: Option<String>,
    /// `[tool.maturin] editable-profile`: the profile of editable installs (uv's, develop's),
    /// over `profile`.
    pub editable_profile: Option<String>,
    /// `[tool.maturin] use-base-python`: maturin's PEP 517 builds use the venv's base
    /// interpreter, not the throw-away build environment's.
    pub use_base_python: bool,
    /// `[tool.maturin] config` (cargo `--config`) and `unstable-flags` (cargo `-Z`): every
    /// build's, as maturin passes them.
    pub cargo_config: Vec<String>,
    pub unstable_flags: Vec<String>,
    /// The build arguments uv hands maturin when it builds this project: `maturin.build-args`
    /// (or `build-args`) of `[tool.uv] config-settings-package.<name>`, else of
    /// `config-settings`, split as maturin splits them.
    pub uv_build_args: Option<Vec<String>>,
    /// The files of `[tool.uv] cache-keys` (`{ file = "..." }` entries), when it is set:
    /// what uv watches to rebuild the project (by default only pyproject.toml).
    pub uv_cache_keys: Option<Vec<String>>,
    /// The Cargo workspace's `[profile.*]` sections.
    #[serde(skip)]
    pub profiles: Profiles,
    /// cargo's configuration files where the doors run cargo (the root), nearest first.
    #[serde(skip)]
    pub cargo_config_files: crate::cargo_config::CargoConfig,
    /// `[tool.maturin] compatibility`, if set (the platform policy's name).
    pub compatibility: Option<String>,
    pub cargo_workspace_root: PathBuf,
    pub target_directory: PathBuf,
    /// The PyO3 cdylib that becomes the extension module.
    pub cdylib: Crate,
    /// The stable ABI it is built for (`pyo3/abi3-py311`), if it is.
    pub stable_abi: Option<StableAbi>,
    /// Workspace crates the cdylib depends on (directly or not), by name.
    pub rlib_deps: Vec<Crate>,
    /// `[tool.maou-build] dev-dylib-feature`, checked: the third-party crates linked
    /// dynamically in dev builds.
    pub dev_dylib: Option<DevDylib>,
}

fn as_text<S: serde::Serializer>(spec: &Specifier, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(spec)
}

impl Workspace {
    /// Finds the maturin workspace containing `start` (or the current directory).
    pub fn discover(start: Option<&Path>) -> Result<Workspace> {
        Self::load(&Self::pyproject_of(start)?)
    }

    /// The pyproject.toml of the maturin workspace containing `start` (or the current
    /// directory): the nearest at or above it.
    pub fn pyproject_of(start: Option<&Path>) -> Result<PathBuf> {
        let start = match start {
            Some(dir) => dir
                .canonicalize()
                .with_context(|| format!("workspace directory {} does not exist", dir.display()))?,
            None => std::env::current_dir().context("cannot read the current directory")?,
        };
        let pyproject = start
            .ancestors()
            .map(|dir| dir.join("pyproject.toml"))
            .find(|p| p.is_file())
            .with_context(|| {
                format!(
                    "no pyproject.toml in {} or any directory above it: run maou-build inside a \
                     maturin workspace, or pass --workspace DIR",
                    start.display()
                )
            })?;
        Ok(pyproject)
    }

    /// The Cargo manifest `pyproject` builds (`[tool.maturin] manifest-path`), read without
    /// running cargo: what must be looked at before cargo writes anything.
    pub fn manifest_of(pyproject: &Path) -> Result<PathBuf> {
        let (mut parsed, _) = read_pyproject(pyproject)?;
        let root = pyproject.parent().expect("a file path has a parent");
        manifest_of(
            pyproject,
            root,
            &parsed.tool.maturin.take().unwrap_or_default(),
        )
    }

    /// Reads the workspace whose pyproject.toml is `pyproject`.
    ///
    /// Over 80 lines: the Workspace it returns has 32 fields, set out here; every read and
    /// check before them is a function of its own.
    pub fn load(pyproject: &Path) -> Result<Workspace> {
        let root = pyproject
            .parent()
            .expect("a file path has a parent")
            .to_path_buf();
        let (mut parsed, project) = read_pyproject(pyproject)?;
        let maturin = parsed.tool.maturin.take().unwrap_or_default();
        let requires_python: Specifier = project
            .requires_python
            .as_deref()
            .unwrap_or("")
            .parse()
            .with_context(|| format!("in {}", pyproject.display()))?;
        let manifest = manifest_of(pyproject, &root, &maturin)?;
        let metadata = cargo_metadata(&manifest)?;
        let (cdylib_pkg, lib) = cdylib_of(&metadata, &manifest)?;
        // maturin's precedence: module-name, the cdylib's `[lib] name` when the manifest
        // names one (cargo's differs from the package's name then), project.name.
        let named_lib = (lib.name != cdylib_pkg.name.replace('-', "_")).then(|| lib.name.clone());
        let module_name = maturin
            .module_name
            .clone()
            .or(named_lib)
            .unwrap_or_else(|| project.name.replace('-', "_"));
        let cdylib = to_crate(cdylib_pkg, lib);
        check_module_name(pyproject, &cdylib, &module_name)?;
        let team_cache = parsed.tool.maou_build.team_cache;
        check_team_cache(pyproject, team_cache.as_deref())?;
        // Read once, where every door runs cargo: the profiles, doctor and init judge by it.
        let cargo_config_files = crate::cargo_config::CargoConfig::for_dir(&root);
        let profiles = Profiles::read(
            &metadata.workspace_root.join("Cargo.toml"),
            &cargo_config_files,
        )?;
        check_profiles(pyproject, &profiles, &maturin)?;
        let features = Features {
            features: maturin.features,
            no_default_features: maturin.no_default_features,
            all_features: maturin.all_features,
        };
        let wheel_features = parsed.tool.maou_build.wheel_features;
        let dev_dylib = (parsed.tool.maou_build.dev_dylib_feature.as_ref())
            .map(|f| dev_dylib::resolve(pyproject, f, &metadata, cdylib_pkg, &wheel_features))
            .transpose()?;
        let stable_abi = stable_abi::of(
            cdylib_pkg,
            &features.features,
            &metadata.workspace_root.join("Cargo.lock"),
        );
        let uv_cache_keys = parsed.tool.uv.cache_keys.as_ref().map(|keys| {
            keys.iter()
                .filter_map(|k| k.get("file")?.as_str().map(str::to_owned))
                .collect()
        });
        let uv_build_args = uv_build_args(&parsed.tool.uv, &project.name)
            .with_context(|| format!("{}: [tool.uv] config-settings", pyproject.display()))?;

        Ok(Workspace {
            python_source: root.join(maturin.python_source.as_deref().unwrap_or(Path::new("."))),
            pyproject: pyproject.to_path_buf(),
            root,
            version: project.version.unwrap_or_else(|| cdylib.version.clone()),
            package: project.name,
            description: project.description,
            dependencies: project.dependencies,
            optional_dependencies: project.optional_dependencies,
            scripts: project.scripts,
            requires_python,
            module_name,
            features,
            wheel_features,
            team_cache,
            release_notes: parsed.tool.maou_build.release_notes,
            bundled_libraries: parsed.tool.maou_build.bundled_libraries,
            profile: maturin.profile,
            editable_profile: maturin.editable_profile,
            use_base_python: maturin.use_base_python,
            cargo_config: maturin.config,
            unstable_flags: maturin.unstable_flags,
            uv_build_args,
            uv_cache_keys,
            profiles,
            cargo_config_files,
            compatibility: maturin.compatibility,
            rlib_deps: workspace_deps(&metadata, cdylib_pkg)?,
            cargo_workspace_root: metadata.workspace_root,
            target_directory: metadata.target_directory,
            cdylib,
            stable_abi,
            dev_dylib,
        })
    }

    /// The last part of the module's dotted name (`_rust` for `maou._rust`): the extension
    /// file's name before its suffix, and the library name PyO3 exports `PyInit_` for.
    pub fn module_leaf(&self) -> &str {
        module_leaf(&self.module_name)
    }

    /// The Python package directory the extension goes into (`python/maou` for `maou._rust`).
    pub fn package_dir(&self) -> PathBuf {
        let mut dir = self.python_source.clone();
        let parts: Vec<&str> = self.module_name.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            dir.push(part);
        }
        dir
    }

    /// Whether the module is Rust alone, as maturin judges it: no Python package named after
    /// the module's first part in the Python source (rpds-py), so that maturin installs a
    /// package of its own around the extension.
    pub fn is_pure_rust(&self) -> bool {
        let first = self.module_name.split('.').next().unwrap_or_default();
        !self.python_source.join(first).join("__init__.py").is_file()
            && !self.module_name.contains('.')
    }

    /// `path` relative to the root, as the workspace's own files name it: through `..` when
    /// it is outside the root (a single crate's `../../core`), as it is when it is relative
    /// or shares nothing with the root.
    pub fn relative(&self, path: &Path) -> PathBuf {
        if let Ok(inside) = path.strip_prefix(&self.root) {
            return inside.to_path_buf();
        }
        if !path.is_absolute() {
            return path.to_path_buf();
        }
        let common = path
            .components()
            .zip(self.root.components())
            .take_while(|(a, b)| a == b)
            .count();
        if common <= 1 {
            return path.to_path_buf();
        }
        let ups = self.root.components().count() - common;
        std::iter::repeat_n(std::path::Component::ParentDir.as_os_str(), ups)
            .chain(path.components().skip(common).map(|c| c.as_os_str()))
            .collect()
    }

    /// The file cargo or rustup would read as `rel` (`.cargo/config.toml`,
    /// `rust-toolchain.toml`) when run where maou-build runs them, in the project's root:
    /// the nearest one there or above. The Cargo workspace may be below it (`rust/`).
    pub fn config_file(&self, rel: &str) -> Option<PathBuf> {
        self.root
            .ancestors()
            .map(|dir| dir.join(rel))
            .find(|path| path.is_file())
    }
}

/// The build arguments `[tool.uv]` hands maturin for the package `name` (see
/// [Workspace::uv_build_args]).
fn uv_build_args(uv: &files::UvConfig, name: &str) -> Result<Option<Vec<String>>> {
    let normalized = |n: &str| n.to_lowercase().replace(['-', '.'], "_");
    let settings = uv
        .config_settings_package
        .iter()
        .find(|(pkg, _)| normalized(pkg) == normalized(name))
        .map(|(_, s)| s)
        .unwrap_or(&uv.config_settings);
    let Some(value) = settings
        .get("maturin.build-args")
        .or_else(|| settings.get("build-args"))
    else {
        return Ok(None);
    };
    Ok(Some(match value {
        toml::Value::String(s) => shlex::split(s)
            .with_context(|| format!("build-args `{s}` is not a valid shell word list"))?,
        toml::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .context("build-args holds something other than strings")?,
        other => bail!("build-args is neither a string nor a list: {other:?}"),
    }))
}

fn module_leaf(module_name: &str) -> &str {
    module_name.rsplit('.').next().unwrap_or(module_name)
}

/// crates.io's index, as cargo names its source (old and sparse protocol).
fn is_crates_io(source: &str) -> bool {
    source == "registry+https://github.com/rust-lang/crates.io-index"
        || source == "sparse+https://index.crates.io/"
}

impl Workspace {
    /// The profile of the editable builds: `[tool.maturin] editable-profile`, else
    /// `profile`, else cargo's `dev` (what `maturin develop` builds; uv's editable builds
    /// take `release` then, which doctor reports). The dev dylib links only under it.
    pub fn editable_profile_name(&self) -> &str {
        self.editable_profile
            .as_deref()
            .or(self.profile.as_deref())
            .unwrap_or("dev")
    }

    /// The directories the cdylib's dependencies are unpacked in (crates.io's registry under
    /// CARGO_HOME, or a vendor directory), each with the neutral prefix it gets in the
    /// binary (`/cargo/registry` for crates.io): panic messages name source files, and the
    /// wheel must not depend on where they were. Needs the full `cargo metadata`.
    pub fn dependency_sources(&self, target: &str) -> Result<Vec<(PathBuf, String)>> {
        let out = process::output(
            "cargo",
            [
                "metadata".as_ref(),
                "--format-version".as_ref(),
                "1".as_ref(),
                "--filter-platform".as_ref(),
                target.as_ref(),
                "--manifest-path".as_ref(),
                self.cdylib.manifest_path.as_os_str(),
            ],
            Some(&self.root),
        )?;
        let metadata: Metadata =
            serde_json::from_str(&out).context("cannot parse the output of `cargo metadata`")?;
        let mut dirs: BTreeMap<PathBuf, String> = BTreeMap::new();
        for pkg in &metadata.packages {
            let Some(source) = &pkg.source else { continue };
            // <source dir>/<name>-<version>/Cargo.toml
            let Some(dir) = pkg.manifest_path.parent().and_then(Path::parent) else {
                continue;
            };
            let to = if is_crates_io(source) {
                "/cargo/registry".to_owned()
            } else {
                format!(
                    "/cargo/{}",
                    dir.file_name().unwrap_or_default().to_string_lossy()
                )
            };
            dirs.entry(dir.to_path_buf()).or_insert(to);
        }
        Ok(dirs.into_iter().collect())
    }
}

fn to_crate(pkg: &MetaPackage, lib: &MetaTarget) -> Crate {
    let dir = pkg
        .manifest_path
        .parent()
        .expect("a manifest has a directory")
        .to_path_buf();
    Crate {
        name: pkg.name.clone(),
        version: pkg.version.clone(),
        lib_name: lib.name.clone(),
        manifest_path: pkg.manifest_path.clone(),
        dir,
        lib_src: lib.src_path.clone(),
    }
}

/// The workspace's members by their directory (what a path dependency names).
fn members_by_dir(metadata: &Metadata) -> HashMap<&Path, &MetaPackage> {
    metadata
        .packages
        .iter()
        .filter(|p| metadata.workspace_members.contains(&p.id))
        .filter_map(|p| Some((p.manifest_path.parent()?, p)))
        .collect()
}

/// `pyproject` parsed, checked to be a maturin project with a `[project]` table.
fn read_pyproject(pyproject: &Path) -> Result<(PyProject, files::Project)> {
    let text = fs::read_to_string(pyproject)
        .with_context(|| format!("cannot read {}", pyproject.display()))?;
    let mut parsed: PyProject = toml::from_str(&text).with_context(|| {
        format!(
            "{} is not valid TOML for a Python project",
            pyproject.display()
        )
    })?;
    let backend = parsed
        .build_system
        .as_ref()
        .and_then(|b| b.build_backend.as_deref());
    if backend != Some("maturin") {
        bail!(
            "{} is not a maturin project: [build-system] build-backend is {}; \
             maou-build works on maturin (PyO3) workspaces (set build-backend = \"maturin\")",
            pyproject.display(),
            backend.map_or("not set".to_owned(), |b| format!("`{b}`"))
        );
    }
    let project = parsed.project.take().with_context(|| {
        format!(
            "{} has no [project] table (name, version, requires-python)",
            pyproject.display()
        )
    })?;
    Ok((parsed, project))
}

/// The cdylib's Cargo manifest ([tool.maturin] manifest-path), resolved.
fn manifest_of(pyproject: &Path, root: &Path, maturin: &files::MaturinConfig) -> Result<PathBuf> {
    let manifest = root.join(
        maturin
            .manifest_path
            .as_deref()
            .unwrap_or(Path::new("Cargo.toml")),
    );
    if !manifest.is_file() {
        bail!(
            "{}: the Cargo manifest {} does not exist (check [tool.maturin] manifest-path)",
            pyproject.display(),
            manifest.display()
        );
    }
    manifest
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", manifest.display()))
}

/// The package of `manifest` in `metadata`, and its cdylib target.
fn cdylib_of<'m>(
    metadata: &'m Metadata,
    manifest: &Path,
) -> Result<(&'m MetaPackage, &'m files::MetaTarget)> {
    let package = metadata
        .packages
        .iter()
        .find(|p| p.manifest_path == manifest)
        .with_context(|| {
            format!(
                "cargo metadata does not list the package of {}",
                manifest.display()
            )
        })?;
    let lib = package
        .targets
        .iter()
        .find(|t| t.crate_types.iter().any(|c| c == "cdylib"))
        .with_context(|| {
            format!(
                "{} builds no cdylib: a Python extension needs `[lib] crate-type = [\"cdylib\"]` in {}",
                package.name,
                manifest.display()
            )
        })?;
    Ok((package, lib))
}

/// The module's last name segment must be what PyO3 exports `PyInit_<name>` for: the
/// `#[pymodule]` function's name or its `#[pyo3(name = ...)]`, often the cdylib's library
/// name (safetensors names its library `safetensors_rust` and its module function
/// `_safetensors_rust`). Refused only when neither the library nor the crate's sources
/// name it.
fn check_module_name(pyproject: &Path, cdylib: &Crate, module_name: &str) -> Result<()> {
    let leaf = module_leaf(module_name);
    if leaf == cdylib.lib_name || sources_name(&cdylib.dir.join("src"), leaf) {
        return Ok(());
    }
    bail!(
        "module-name `{module_name}` in {} ends in `{leaf}`, but neither the cdylib's library \
         (`{}`, {}) nor a function or `name = \"{leaf}\"` in its sources is named so; PyO3 \
         exports `PyInit_` and the `#[pymodule]`'s name, so Python could not import it: make \
         them agree",
        pyproject.display(),
        cdylib.lib_name,
        cdylib.manifest_path.display(),
    );
}

/// Whether a Rust file under `dir` has `fn <name>(` or `name = "<name>"`.
fn sources_name(dir: &Path, name: &str) -> bool {
    let (as_fn, as_attr) = (format!("fn {name}("), format!("name = \"{name}\""));
    let mut files = Vec::new();
    if inputs::collect(dir, Path::new(""), &mut files).is_err() {
        return false;
    }
    files
        .iter()
        .filter(|f| f.extension().is_some_and(|x| x == "rs"))
        .any(|f| fs::read_to_string(f).is_ok_and(|t| t.contains(&as_fn) || t.contains(&as_attr)))
}

/// The profiles `[tool.maturin]` names are defined (or built in), through `inherits`.
fn check_profiles(
    pyproject: &Path,
    profiles: &Profiles,
    maturin: &files::MaturinConfig,
) -> Result<()> {
    for (key, name) in [
        ("profile", &maturin.profile),
        ("editable-profile", &maturin.editable_profile),
    ] {
        if let Some(name) = name {
            profiles
                .resolve(name)
                .with_context(|| format!("{}: [tool.maturin] {key}", pyproject.display()))?;
        }
    }
    Ok(())
}

/// `[tool.maou-build] team-cache`: a Redis URL without a password (a committed file).
fn check_team_cache(pyproject: &Path, url: Option<&str>) -> Result<()> {
    let Some(url) = url else { return Ok(()) };
    let parsed = crate::team_cache::RedisUrl::parse(url)
        .with_context(|| format!("{}: [tool.maou-build] team-cache", pyproject.display()))?;
    if parsed.has_secret() {
        bail!(
            "{}: [tool.maou-build] team-cache holds a password ({}): a committed file \
             must not; remove it and give it as SCCACHE_REDIS_PASSWORD (a Codespaces \
             secret, say)",
            pyproject.display(),
            parsed.shown()
        );
    }
    Ok(())
}

/// The package of the path dependency at `dir`: a workspace member ([members_by_dir]), else
/// (a single crate's `../core`, which `cargo metadata --no-deps` leaves out) read from its
/// own manifest.
fn path_package(members: &HashMap<&Path, &MetaPackage>, dir: &Path) -> Result<Option<MetaPackage>> {
    if let Some(p) = members.get(dir) {
        return Ok(Some((*p).clone()));
    }
    let manifest = dir.join("Cargo.toml");
    Ok(files::cargo_metadata(&manifest)?
        .packages
        .into_iter()
        .find(|p| p.manifest_path == manifest))
}

/// The library crates `root` depends on through normal (not dev or build) path
/// dependencies, transitively, workspace members or not, sorted by name.
fn workspace_deps(metadata: &Metadata, root: &MetaPackage) -> Result<Vec<Crate>> {
    let members = members_by_dir(metadata);
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.clone()];
    let mut found = Vec::new();
    while let Some(pkg) = stack.pop() {
        for dep in pkg.dependencies.iter().filter(|d| d.kind.is_none()) {
            let Some(dir) = dep.path.as_deref() else {
                continue;
            };
            if !seen.insert(dir.to_path_buf()) {
                continue;
            }
            let Some(dep_pkg) = path_package(&members, dir)? else {
                continue;
            };
            if let Some(lib) = dep_pkg
                .targets
                .iter()
                .find(|t| t.crate_types.iter().any(|c| c == "lib" || c == "rlib"))
            {
                found.push(to_crate(&dep_pkg, lib));
            }
            stack.push(dep_pkg);
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}
