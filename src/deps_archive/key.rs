//! What a dependency build depends on, as one key (see the module's documentation).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::python::Interpreter;
use crate::workspace::{Features, Workspace};

/// The archive's layout; a new one never matches an old record.
const FORMAT: u32 = 1;

/// The inputs of a dependency build. Two builds with the same key compile the same
/// third-party units; the digest names the release assets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub format: u32,
    /// `rustc -vV`.
    pub rustc: String,
    /// rustc's host triple.
    pub host: String,
    /// The cargo profile develop builds.
    pub profile: String,
    /// Its keys as cargo resolves them ([crate::workspace::Profiles::settings]).
    pub profile_settings: BTreeMap<String, String>,
    /// The build's features, sorted, with `--no-default-features` and `--all-features`.
    pub features: Vec<String>,
    /// `cp312`.
    pub python_tag: String,
    /// The interpreter pyo3 is configured for (`cpython-3.12-64bit`, and the stable ABI's
    /// floor when it has one).
    pub python: String,
    /// [Workspace::third_party_inputs].
    pub third_party: String,
    /// The dev dylib crate's files (their SHA-256), when the build links one.
    pub dylib: Option<String>,
    /// rustc's flags and linker from cargo's configuration and the environment.
    pub rustc_flags: BTreeMap<String, String>,
    /// `CARGO_HOME`: the registry sources' absolute paths are in cargo's fingerprints.
    pub cargo_home: PathBuf,
}

/// Variables that change what rustc is given (cargo's and the linker's).
fn flag_vars(host: &str) -> Vec<String> {
    let target = host.to_uppercase().replace('-', "_");
    let mut vars: Vec<String> = [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
    ]
    .iter()
    .map(|v| (*v).to_owned())
    .collect();
    vars.push(format!("CARGO_TARGET_{target}_RUSTFLAGS"));
    vars.push(format!("CARGO_TARGET_{target}_LINKER"));
    vars
}

impl Key {
    /// The key of develop's build of `ws` under `profile` with `features` for `interp`,
    /// with the toolchain whose `rustc -vV` is `rustc_version`.
    pub fn for_build(
        ws: &Workspace,
        interp: &Interpreter,
        profile: &str,
        features: &Features,
        rustc_version: &str,
    ) -> Result<Key> {
        let host = crate::target_dir::host_of(rustc_version)?;
        let mut names = features.names();
        if features.no_default_features {
            names.push("(no default features)".to_owned());
        }
        if features.all_features {
            names.push("(all features)".to_owned());
        }
        let dylib = match ws.dev_dylib.as_ref().filter(|d| d.enabled_by(features)) {
            Some(d) => Some(ws.crate_files_digest(&d.krate.dir)?.0),
            None => None,
        };
        let mut python = format!(
            "cpython-{}.{}-64bit",
            interp.minor.major, interp.minor.minor
        );
        if let Some(abi) = &ws.stable_abi {
            let min = abi.min.unwrap_or(interp.minor);
            python.push_str(&format!(" abi3-py{}{}", min.major, min.minor));
        }
        let cargo_home = crate::fsutil::cargo_home().context("no CARGO_HOME and no HOME")?;
        Ok(Key {
            format: FORMAT,
            rustc: rustc_version.to_owned(),
            profile: profile.to_owned(),
            profile_settings: ws.profiles.settings(profile)?,
            features: names,
            python_tag: interp.minor.tag(),
            python,
            third_party: ws.third_party_inputs()?,
            dylib,
            rustc_flags: rustc_flags(ws, &host),
            cargo_home: cargo_home.canonicalize().unwrap_or(cargo_home),
            host,
        })
    }

    /// SHA-256 (hex) of the key.
    pub fn digest(&self) -> String {
        let json = serde_json::to_vec(self).expect("a key serializes");
        crate::wheel_format::sha256_hex(&json)
    }

    /// What differs between a build of `self` and one of `other`, in words, first
    /// difference first; None when they are the same.
    pub fn difference(&self, other: &Key) -> Option<String> {
        let differs: [(bool, String); 11] = [
            (
                self.format != other.format,
                "the archive's format".to_owned(),
            ),
            (
                self.rustc != other.rustc,
                "the toolchain (rustc -vV)".to_owned(),
            ),
            (
                self.host != other.host,
                format!("the machine ({})", other.host),
            ),
            (
                self.profile != other.profile,
                format!("the profile ({})", other.profile),
            ),
            (
                self.profile_settings != other.profile_settings,
                format!("the settings of profile {}", other.profile),
            ),
            (
                self.features != other.features,
                format!("the features ({})", other.features.join(", ")),
            ),
            (
                self.python_tag != other.python_tag || self.python != other.python,
                format!("the interpreter ({})", other.python),
            ),
            (
                self.third_party != other.third_party,
                "the third-party crates (Cargo.lock, or a member's dependencies)".to_owned(),
            ),
            (
                self.dylib != other.dylib,
                "the dev dylib crate's files".to_owned(),
            ),
            (
                self.rustc_flags != other.rustc_flags,
                "rustc's flags (cargo's configuration, RUSTFLAGS)".to_owned(),
            ),
            (
                self.cargo_home != other.cargo_home,
                format!(
                    "CARGO_HOME ({}; cargo's fingerprints hold the registry's path)",
                    other.cargo_home.display()
                ),
            ),
        ];
        differs
            .into_iter()
            .find(|(differ, _)| *differ)
            .map(|(_, what)| what)
    }

    #[cfg(test)]
    pub fn example() -> Key {
        Key {
            format: FORMAT,
            rustc: "rustc 1.95.0\nhost: x86_64-unknown-linux-gnu\n".to_owned(),
            host: "x86_64-unknown-linux-gnu".to_owned(),
            profile: "dev".to_owned(),
            profile_settings: BTreeMap::from([("(base)".to_owned(), "dev".to_owned())]),
            features: vec!["dev-dylib".to_owned()],
            python_tag: "cp312".to_owned(),
            python: "cpython-3.12-64bit".to_owned(),
            third_party: "ab".repeat(32),
            dylib: Some("cd".repeat(32)),
            rustc_flags: BTreeMap::new(),
            cargo_home: PathBuf::from("/usr/local/cargo"),
        }
    }
}

/// rustc's flags and linker as cargo takes them: the nearest configuration file's
/// `[build] rustflags`, `[target.<host>]` and `[target.'cfg(…)']` keys, the variables that
/// override them, and `[tool.maturin] config` and `unstable-flags`.
fn rustc_flags(ws: &Workspace, host: &str) -> BTreeMap<String, String> {
    let mut flags = BTreeMap::new();
    let config = &ws.cargo_config_files;
    let shown = |v: &toml::Value| serde_json::to_string(v).unwrap_or_default();
    if let Some(found) = config.get(&["build", "rustflags"]) {
        flags.insert("build.rustflags".to_owned(), shown(found.value));
    }
    for file in config.files.iter().rev() {
        let Some(targets) = file.table.get("target").and_then(toml::Value::as_table) else {
            continue;
        };
        for (name, table) in targets {
            if name != host && !name.starts_with("cfg(") {
                continue;
            }
            for (k, v) in table.as_table().into_iter().flatten() {
                // Nearer files come later here and win.
                flags.insert(format!("target.{name}.{k}"), shown(v));
            }
        }
    }
    for var in flag_vars(host) {
        if let Ok(value) = std::env::var(&var) {
            flags.insert(var, value);
        }
    }
    if !ws.cargo_config.is_empty() {
        flags.insert("--config".to_owned(), ws.cargo_config.join(" "));
    }
    if !ws.unstable_flags.is_empty() {
        flags.insert("-Z".to_owned(), ws.unstable_flags.join(" "));
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_is_named_and_the_digest_follows_every_field() {
        let a = Key::example();
        assert_eq!(a.difference(&a.clone()), None);
        let mut b = a.clone();
        b.cargo_home = PathBuf::from("/opt/other-cargo-home");
        assert!(a
            .difference(&b)
            .unwrap()
            .contains("CARGO_HOME (/opt/other-cargo-home"));
        assert_ne!(a.digest(), b.digest());
        let mut c = a.clone();
        c.third_party = "ef".repeat(32);
        c.cargo_home = PathBuf::from("/opt/other-cargo-home");
        assert!(a
            .difference(&c)
            .unwrap()
            .starts_with("the third-party crates"));
        assert_eq!(a.digest(), Key::example().digest());
    }
}
