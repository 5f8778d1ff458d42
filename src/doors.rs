//! The other doors to the extension's build, and whether each builds what develop builds.
//!
//! uv (`uv run`, `uv sync`, `uv pip install -e .`) builds a local project through its PEP 517
//! backend, maturin, whenever it thinks the project changed: by default when
//! `pyproject.toml` is newer than uv's record of the installed project (`tool.uv.cache-keys`;
//! the record is the dist-info's `uv_cache.json`, which only uv's own install writes). That
//! build (`maturin pep517 build-wheel --editable`) runs cargo in the workspace's target
//! directory with maturin's variables, and with
//! - the profile `[tool.maturin] editable-profile`, else `profile`, else `release`;
//! - the features `[tool.maturin] features`, replaced by any `--features` of the build
//!   arguments uv hands it (`[tool.uv] config-settings-package.<name>` or `config-settings`,
//!   key `maturin.build-args`);
//! - the interpreter of uv's throw-away build environment, unless `[tool.maturin]
//!   use-base-python = true` makes it the venv's base interpreter.
//!
//! When all three are develop's, uv's build finds every unit fresh and copies the very
//! extension develop placed: nothing compiles. Each that differs is a [Mismatch]: develop
//! says it when it installs the package and `doctor` shows it, with the line that fixes it;
//! neither writes the user's file.

use serde::Serialize;

use crate::profile::Chosen;
use crate::workspace::{Features, Workspace};

/// What uv's build of the project builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UvBuild {
    pub profile: String,
    pub features: Features,
    /// Whether it builds with the venv's base interpreter (`use-base-python`).
    pub base_python: bool,
}

/// One setting in which uv's build differs from develop's.
#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    pub setting: &'static str,
    pub uv_builds: String,
    pub develop_builds: String,
    /// What uv's build then costs.
    pub cost: String,
    /// The line to add to pyproject.toml.
    pub fix: String,
}

impl Mismatch {
    pub fn describe(&self) -> String {
        format!(
            "when uv builds the project (`uv run`, `uv sync` after pyproject.toml changes), it \
             differs from develop in {}: uv builds {}, develop {}; that costs {}",
            self.setting, self.uv_builds, self.develop_builds, self.cost
        )
    }
}

/// The feature switches of `args` (maturin's build arguments) and their profile.
fn parse_build_args(args: &[String]) -> (Option<String>, Features) {
    let mut profile = None;
    let mut features = Features::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (a.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned());
        match flag {
            "--profile" => profile = value(),
            "--release" => profile = Some("release".to_owned()),
            "--features" | "-F" => features.features.extend(
                value()
                    .unwrap_or_default()
                    .split([',', ' '])
                    .filter(|f| !f.is_empty())
                    .map(str::to_owned),
            ),
            "--no-default-features" => features.no_default_features = true,
            "--all-features" => features.all_features = true,
            _ => {}
        }
    }
    (profile, features)
}

impl UvBuild {
    /// What maturin builds when uv installs `ws` editable.
    pub fn of(ws: &Workspace) -> UvBuild {
        let (cli_profile, cli) = parse_build_args(ws.uv_build_args.as_deref().unwrap_or(&[]));
        let features = Features {
            features: if cli.features.is_empty() {
                ws.features.features.clone()
            } else {
                cli.features
            },
            no_default_features: cli.no_default_features || ws.features.no_default_features,
            all_features: cli.all_features || ws.features.all_features,
        };
        UvBuild {
            profile: cli_profile
                .or_else(|| ws.editable_profile.clone())
                .or_else(|| ws.profile.clone())
                .unwrap_or_else(|| "release".to_owned()),
            features,
            base_python: ws.use_base_python,
        }
    }
}

/// The feature switches as a comparable set.
fn normalized(f: &Features) -> (Vec<String>, bool, bool) {
    let mut names: Vec<String> = f
        .features
        .iter()
        .flat_map(|f| f.split([',', ' ']))
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    (names, f.no_default_features, f.all_features)
}

/// maturin's build arguments for a build of `profile` with `features`: what develop hands
/// its own `uv pip install -e`, and what `[tool.uv]` needs to hand uv's other builds.
pub fn build_args(profile: Option<&str>, features: &Features) -> String {
    let mut args = Vec::new();
    if let Some(p) = profile {
        args.extend(["--profile".to_owned(), p.to_owned()]);
    }
    args.extend(features.args());
    args.join(" ")
}

/// What uv must watch (`[tool.uv] cache-keys`, each a `{ file = ... }` glob relative to the
/// project) so that a Rust edit makes `uv run` build it, as uv's documentation shows for
/// maturin projects: pyproject.toml (uv's default, which a list replaces), the Cargo
/// workspace's manifest and lock, cargo's project configuration, and each crate the
/// extension is built from (its manifest and Rust sources, by crate: a glob over the whole
/// project would walk target/ and the venv).
pub fn rust_cache_keys(ws: &Workspace) -> Vec<String> {
    let rel = |p: &std::path::Path| ws.relative(p).display().to_string();
    let cargo_root = &ws.cargo_workspace_root;
    let mut keys = vec![
        "pyproject.toml".to_owned(),
        rel(&cargo_root.join("Cargo.toml")),
        rel(&cargo_root.join("Cargo.lock")),
        rel(&cargo_root.join(".cargo/config.toml")),
    ];
    let mut crates: Vec<&std::path::Path> = std::iter::once(&ws.cdylib)
        .chain(&ws.rlib_deps)
        .map(|c| c.dir.as_path())
        .collect();
    crates.sort();
    for dir in crates {
        keys.push(rel(&dir.join("Cargo.toml")));
        keys.push(rel(&dir.join("**/*.rs")));
    }
    keys.dedup();
    keys
}

/// The Rust inputs uv does not watch: after an edit to one of them `uv run` runs the old
/// extension until something builds it. Empty when uv watches them all.
pub fn unwatched_rust_inputs(ws: &Workspace) -> Vec<String> {
    let watched = ws
        .uv_cache_keys
        .clone()
        .unwrap_or_else(|| vec!["pyproject.toml".to_owned()]);
    rust_cache_keys(ws)
        .into_iter()
        .filter(|k| !watched.contains(k))
        .collect()
}

/// How uv's build of `ws` differs from the build develop makes without options on the
/// command line (for doctor).
pub fn mismatches_of_default(ws: &Workspace) -> anyhow::Result<(Chosen, Vec<Mismatch>)> {
    let chosen = Chosen::for_workspace(ws, None)?;
    let features = crate::cargo_build::with_dev_dylib(
        &ws.features,
        crate::cargo_build::dev_dylib(ws, &chosen.profile, None),
    );
    let found = mismatches(ws, &chosen.profile.name, &features);
    Ok((chosen, found))
}

/// How uv's build of `ws` differs from develop's build of `profile` with `features`.
pub fn mismatches(ws: &Workspace, profile: &str, features: &Features) -> Vec<Mismatch> {
    let uv = UvBuild::of(ws);
    let mut found = Vec::new();
    if uv.profile != profile {
        found.push(Mismatch {
            setting: "the profile",
            uv_builds: format!("`{}`", uv.profile),
            develop_builds: format!("`{profile}`"),
            cost: if uv.profile == "release" {
                "a release build of every crate (minutes on a large workspace), and the \
                 extension replaced by it"
                    .to_owned()
            } else {
                format!("every crate built again under `{}`", uv.profile)
            },
            fix: format!(
                "add `editable-profile = \"{profile}\"` under [tool.maturin] in {} (maturin 1.10 \
                 and later build it for editable installs, uv's too; the wheels keep `profile`)",
                ws.pyproject.display()
            ),
        });
    }
    if normalized(&uv.features) != normalized(features) {
        let shown = |f: &Features| {
            let a = f.args().join(" ");
            if a.is_empty() {
                "no features".to_owned()
            } else {
                format!("`{a}`")
            }
        };
        found.push(Mismatch {
            setting: "the features",
            uv_builds: shown(&uv.features),
            develop_builds: shown(features),
            cost: "the extension and every crate whose features change built again, and \
                   linked otherwise"
                .to_owned(),
            fix: format!(
                "add `config-settings-package = {{ \"{}\" = {{ \"maturin.build-args\" = \"{}\" }} }}` \
                 under [tool.uv] in {}",
                ws.package,
                build_args(None, features),
                ws.pyproject.display()
            ),
        });
    }
    if !uv.base_python {
        found.push(Mismatch {
            setting: "the interpreter",
            uv_builds: "with the Python of a throw-away build environment".to_owned(),
            develop_builds: "with the venv's base interpreter".to_owned(),
            cost: "pyo3's build script sees another interpreter: pyo3 and every crate above it \
                   recompile"
                .to_owned(),
            fix: format!(
                "add `use-base-python = true` under [tool.maturin] in {}",
                ws.pyproject.display()
            ),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_args_are_read_as_maturin_reads_them() {
        let args: Vec<String> = [
            "--profile=py-ext",
            "-F",
            "a,b",
            "--features",
            "c",
            "--locked",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let (profile, f) = parse_build_args(&args);
        assert_eq!(profile.as_deref(), Some("py-ext"));
        assert_eq!(f.features, ["a", "b", "c"]);
        let (profile, f) = parse_build_args(&["--release".to_owned(), "--all-features".to_owned()]);
        assert_eq!(profile.as_deref(), Some("release"));
        assert!(f.all_features && f.features.is_empty());
        let back = build_args(Some("dev"), &f);
        assert_eq!(back, "--profile dev --all-features");
    }
}
