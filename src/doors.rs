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
//! - the interpreter those build arguments name (`--interpreter`), else, under
//!   `[tool.maturin] use-base-python = true`, the venv's base interpreter, else the Python
//!   of uv's throw-away build environment.
//!
//! `maturin develop` (maou's README's door) builds `editable-profile`, else `profile`, else
//! `dev`, with `[tool.maturin] features` and the venv's `bin/python`: develop's, once init
//! has put the dev dylib's feature in `[tool.maturin] features`.
//!
//! When all three are develop's, the door's build finds every unit fresh and copies the
//! very extension develop placed: nothing compiles. Each that differs is a [Mismatch]:
//! develop says it when it installs the package and `doctor` shows it, with the line that
//! fixes it; neither writes the user's file.

use serde::Serialize;

use crate::editable::{venv_python, VENV};
use crate::profile::Chosen;
use crate::workspace::{Features, Workspace};

/// The interpreter maturin builds with in uv's builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuildInterpreter {
    /// Named in the build arguments (`--interpreter`), resolved from the project's root.
    Given(std::path::PathBuf),
    /// The venv's base interpreter (`use-base-python`).
    Base,
    /// The throw-away build environment's.
    BuildEnvironment,
}

/// What uv's build of the project builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UvBuild {
    pub profile: String,
    pub features: Features,
    pub interpreter: BuildInterpreter,
}

/// A door to the extension's build other than develop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Door {
    /// `uv run`, `uv sync`, `uv pip install -e .`: maturin's PEP 517 backend.
    #[serde(rename = "uv")]
    Uv,
    /// `maturin develop` (and `uv run maturin develop`).
    #[serde(rename = "maturin develop")]
    MaturinDevelop,
}

/// One setting in which a door's build differs from develop's.
#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    pub door: Door,
    pub setting: &'static str,
    pub door_builds: String,
    pub develop_builds: String,
    /// What the door's build then costs.
    pub cost: String,
    /// The line to add to pyproject.toml.
    pub fix: String,
}

impl Mismatch {
    pub fn describe(&self) -> String {
        let when = match self.door {
            Door::Uv => {
                "when uv builds the project (`uv run`, `uv sync` after a change it watches)"
            }
            Door::MaturinDevelop => "when `maturin develop` builds the project",
        };
        format!(
            "{when}, it differs from develop in {}: it builds {}, develop {}; that costs {}",
            self.setting, self.door_builds, self.develop_builds, self.cost
        )
    }
}

/// What maturin's build arguments `args` choose.
#[derive(Debug, Default)]
struct BuildArgs {
    profile: Option<String>,
    features: Features,
    interpreter: Option<String>,
}

/// The profile, feature switches and interpreter of `args` (maturin's build arguments).
fn parse_build_args(args: &[String]) -> BuildArgs {
    let mut profile = None;
    let mut interpreter = None;
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
            "--interpreter" | "-i" => interpreter = interpreter.or_else(value),
            _ => {}
        }
    }
    BuildArgs {
        profile,
        features,
        interpreter,
    }
}

impl UvBuild {
    /// What maturin builds when uv installs `ws` editable.
    pub fn of(ws: &Workspace) -> UvBuild {
        let cli = parse_build_args(ws.uv_build_args.as_deref().unwrap_or(&[]));
        let features = Features {
            features: if cli.features.features.is_empty() {
                ws.features.features.clone()
            } else {
                cli.features.features
            },
            no_default_features: cli.features.no_default_features
                || ws.features.no_default_features,
            all_features: cli.features.all_features || ws.features.all_features,
        };
        let interpreter = match cli.interpreter {
            Some(i) => BuildInterpreter::Given(ws.root.join(i)),
            None if ws.use_base_python => BuildInterpreter::Base,
            None => BuildInterpreter::BuildEnvironment,
        };
        UvBuild {
            profile: cli
                .profile
                .or_else(|| ws.editable_profile.clone())
                .or_else(|| ws.profile.clone())
                .unwrap_or_else(|| "release".to_owned()),
            features,
            interpreter,
        }
    }
}

/// The feature switches as a comparable set.
fn normalized(f: &Features) -> (Vec<String>, bool, bool) {
    (f.names(), f.no_default_features, f.all_features)
}

/// The build arguments init gives uv's builds of `ws` (`[tool.uv]
/// config-settings-package`): the project venv's interpreter, relative to the root, so that
/// the file serves every checkout.
pub fn uv_interpreter_args() -> String {
    format!(
        "--interpreter {}",
        venv_python(std::path::Path::new(VENV)).display()
    )
}

/// maturin's build arguments for a build of `profile` with `features` and `interpreter`:
/// what develop hands its own `uv pip install -e` when `[tool.uv]` gives none.
pub fn build_args(
    profile: Option<&str>,
    features: &Features,
    interpreter: Option<&std::path::Path>,
) -> String {
    let mut args = Vec::new();
    if let Some(p) = profile {
        args.extend(["--profile".to_owned(), p.to_owned()]);
    }
    args.extend(features.args());
    if let Some(i) = interpreter {
        args.extend(["--interpreter".to_owned(), i.display().to_string()]);
    }
    args.join(" ")
}

/// What uv must watch (`[tool.uv] cache-keys`, each a `{ file = ... }` glob relative to the
/// project) so that a Rust edit makes `uv run` build it, as uv's documentation shows for
/// maturin projects: pyproject.toml (uv's default, which a list replaces), the Cargo
/// workspace's manifest and lock, cargo's configuration files in the project, and each
/// crate the extension is built from (its manifest and Rust sources, by crate: a glob over
/// the whole project would walk target/ and the venv).
pub fn rust_cache_keys(ws: &Workspace) -> Vec<String> {
    let rel = |p: &std::path::Path| ws.relative(p).display().to_string();
    let cargo_root = &ws.cargo_workspace_root;
    let mut keys = vec![
        "pyproject.toml".to_owned(),
        rel(&cargo_root.join("Cargo.toml")),
        rel(&cargo_root.join("Cargo.lock")),
        rel(&cargo_root.join(".cargo/config.toml")),
    ];
    // The configuration files cargo reads that belong to the project (one above the Cargo
    // workspace, as this repository's): not the user's.
    for file in &ws.cargo_config_files.files {
        if file.path.starts_with(&ws.root) {
            let key = rel(&file.path);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let mut crates: Vec<&std::path::Path> = std::iter::once(&ws.cdylib)
        .chain(&ws.rlib_deps)
        .map(|c| c.dir.as_path())
        .collect();
    crates.sort();
    for dir in crates {
        keys.push(rel(&dir.join("Cargo.toml")));
        if dir == ws.root {
            // The project's own directory (pyproject.toml beside Cargo.toml): a glob over it
            // would walk target/ and the venv.
            keys.push(rel(&dir.join("src/**/*.rs")));
            keys.push(rel(&dir.join("build.rs")));
        } else {
            keys.push(rel(&dir.join("**/*.rs")));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    keys.retain(|k| seen.insert(k.clone()));
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

/// How the doors' builds of `ws` differ from the build develop makes without options on
/// the command line, for the venv at `venv` (for doctor).
pub fn mismatches_of_default(
    ws: &Workspace,
    venv: &std::path::Path,
) -> anyhow::Result<(Chosen, Vec<Mismatch>)> {
    let chosen = Chosen::for_workspace(ws, None)?;
    let features = crate::cargo_build::with_dev_dylib(
        &ws.features,
        crate::cargo_build::dev_dylib(ws, &chosen.profile, None),
    );
    let found = mismatches(ws, &chosen.profile.name, &features, venv);
    Ok((chosen, found))
}

/// `features` as the command line shows them.
fn shown(f: &Features) -> String {
    let a = f.args().join(" ");
    if a.is_empty() {
        "no features".to_owned()
    } else {
        format!("`{a}`")
    }
}

/// How uv's and `maturin develop`'s builds of `ws` differ from develop's build of `profile`
/// with `features` for the venv at `venv`.
pub fn mismatches(
    ws: &Workspace,
    profile: &str,
    features: &Features,
    venv: &std::path::Path,
) -> Vec<Mismatch> {
    let uv = UvBuild::of(ws);
    let mut found: Vec<Mismatch> = profile_mismatch(ws, &uv, profile).into_iter().collect();
    found.extend(feature_mismatches(ws, &uv, features));
    found.extend(interpreter_mismatch(ws, &uv, venv));
    found
}

/// uv's profile, when it is not `profile`.
fn profile_mismatch(ws: &Workspace, uv: &UvBuild, profile: &str) -> Option<Mismatch> {
    (uv.profile != profile).then(|| Mismatch {
        door: Door::Uv,
        setting: "the profile",
        door_builds: format!("`{}`", uv.profile),
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
    })
}

/// `maturin develop`'s features (`[tool.maturin]`'s), and uv's when its build arguments
/// replace them, where they are not develop's `features`.
fn feature_mismatches(ws: &Workspace, uv: &UvBuild, features: &Features) -> Vec<Mismatch> {
    let relinked = "the extension and every crate whose features change built again, and \
                    linked otherwise";
    let mut found = Vec::new();
    if normalized(&ws.features) != normalized(features) {
        let missing = features.without_all(&ws.features);
        found.push(Mismatch {
            door: Door::MaturinDevelop,
            setting: "the features",
            door_builds: shown(&ws.features),
            develop_builds: shown(features),
            cost: relinked.to_owned(),
            fix: format!(
                "add {} to `features` under [tool.maturin] in {}",
                missing
                    .features
                    .iter()
                    .map(|f| format!("\"{f}\""))
                    .collect::<Vec<_>>()
                    .join(", "),
                ws.pyproject.display()
            ),
        });
    }
    let uv_own = normalized(&uv.features);
    if uv_own != normalized(features) && uv_own != normalized(&ws.features) {
        found.push(Mismatch {
            door: Door::Uv,
            setting: "the features",
            door_builds: shown(&uv.features),
            develop_builds: shown(features),
            cost: relinked.to_owned(),
            fix: format!(
                "drop the `--features` of `maturin.build-args` under [tool.uv] in {}: \
                 [tool.maturin] features serve every door",
                ws.pyproject.display()
            ),
        });
    }
    found
}

/// uv's interpreter, when it is not the venv's at `venv` and pyo3 reads it (a stable-ABI
/// build through maturin's configuration file does not).
fn interpreter_mismatch(ws: &Workspace, uv: &UvBuild, venv: &std::path::Path) -> Option<Mismatch> {
    let python = venv_python(venv);
    let pyo3_reads_a_file = ws.stable_abi.as_ref().is_some_and(|a| a.with_config_file());
    let same_python = matches!(&uv.interpreter, BuildInterpreter::Given(p) if *p == python);
    (!pyo3_reads_a_file && !same_python).then(|| Mismatch {
        door: Door::Uv,
        setting: "the interpreter",
        door_builds: match &uv.interpreter {
            BuildInterpreter::Given(p) => format!("with {}", p.display()),
            BuildInterpreter::Base => "with the venv's base interpreter".to_owned(),
            BuildInterpreter::BuildEnvironment => {
                "with the Python of a throw-away build environment".to_owned()
            }
        },
        develop_builds: format!("with {}, as `maturin develop` does", python.display()),
        cost: "pyo3's build script sees another interpreter: pyo3 and every crate above it \
               recompile"
            .to_owned(),
        fix: format!(
            "add `config-settings-package = {{ \"{}\" = {{ \"maturin.build-args\" = \"{}\" }} }}` \
             under [tool.uv] in {}",
            ws.package,
            uv_interpreter_args(),
            ws.pyproject.display()
        ),
    })
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
        let parsed = parse_build_args(&args);
        assert_eq!(parsed.profile.as_deref(), Some("py-ext"));
        assert_eq!(parsed.features.features, ["a", "b", "c"]);
        assert_eq!(parsed.interpreter, None);
        let parsed = parse_build_args(
            &["--release", "--all-features", "-i", ".venv/bin/python"].map(str::to_owned),
        );
        assert_eq!(parsed.profile.as_deref(), Some("release"));
        assert_eq!(parsed.interpreter.as_deref(), Some(".venv/bin/python"));
        let f = parsed.features;
        assert!(f.all_features && f.features.is_empty());
        let back = build_args(Some("dev"), &f, Some(std::path::Path::new("/v/bin/python")));
        assert_eq!(
            back,
            "--profile dev --all-features --interpreter /v/bin/python"
        );
    }
}
