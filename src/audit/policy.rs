//! The platform policies as data (`manylinux_2_28.json` beside this file) and the one
//! function that decides which applies to a workspace.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Policy {
    pub name: String,
    pub machine: String,
    /// The Rust target whose binaries this policy judges.
    pub rust_target: String,
    pub platform_tag: String,
    /// The newest allowed version of each symbol version family (`GLIBC` -> `2.28`).
    max_versions: BTreeMap<String, String>,
    /// Versions of a family that are names rather than numbers (`CXXABI_TM_1`).
    #[serde(default)]
    named_versions: BTreeMap<String, Vec<String>>,
    libraries: BTreeSet<String>,
}

/// The dynamic loader may be linked directly (for `__tls_get_addr`); it is part of glibc,
/// so its symbol versions are checked as GLIBC's.
const LOADER: &str = "ld-linux-x86-64.so.2";

/// The policies maou-build knows, by name: the data beside this file.
const POLICIES: &[(&str, &str)] = &[("manylinux_2_28", include_str!("manylinux_2_28.json"))];

#[derive(serde::Deserialize)]
struct Platforms {
    default: String,
}

/// The platform wheels are built for when `[tool.maturin] compatibility` says nothing:
/// `platforms.json` beside this file, its one source (the flake reads it too).
pub fn default_platform() -> &'static str {
    static DEFAULT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DEFAULT.get_or_init(|| {
        serde_json::from_str::<Platforms>(include_str!("platforms.json"))
            .expect("src/audit/platforms.json is checked by a unit test")
            .default
    })
}

impl Policy {
    #[cfg(test)]
    pub fn manylinux_2_28() -> Policy {
        Policy::named("manylinux_2_28").expect("the built-in manylinux_2_28 policy")
    }

    /// The policy called `name` (`manylinux_2_28`), or an error listing those there are.
    pub fn named(name: &str) -> Result<Policy> {
        let Some((_, json)) = POLICIES.iter().find(|(n, _)| *n == name) else {
            anyhow::bail!(
                "maou-build has no platform policy called `{name}`; it knows {}",
                POLICIES
                    .iter()
                    .map(|(n, _)| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        Ok(serde_json::from_str(json).expect("the built-in policies are valid JSON"))
    }

    pub(super) fn allows_library(&self, lib: &str) -> bool {
        self.libraries.contains(lib) || lib == LOADER
    }

    /// Why `version` (`GLIBC_2.29`) is outside the policy, or None when it is inside.
    pub(super) fn version_problem(&self, version: &str) -> Option<String> {
        let (family, number) = version.split_once('_')?;
        let Some(max) = self.max_versions.get(family) else {
            return Some(format!(
                "{family} is not a symbol version family {} allows",
                self.name
            ));
        };
        if self
            .named_versions
            .get(family)
            .is_some_and(|names| names.iter().any(|n| n == number))
        {
            return None;
        }
        match (parse_dotted(number), parse_dotted(max)) {
            (Some(have), Some(limit)) if have <= limit => None,
            (Some(_), _) => Some(format!(
                "newer than {family}_{max}, the newest {} allows",
                self.name
            )),
            _ => Some(format!("{version} is not a version {} knows", self.name)),
        }
    }
}

/// The platform wheels are built for and audited against: the workspace's `[tool.maturin]
/// compatibility`, else manylinux_2_28 (also without a workspace). The one place that
/// decides; an unknown name is an error that lists the policies there are.
pub fn platform_of(ws: Option<&crate::workspace::Workspace>) -> Result<Policy> {
    match ws.and_then(|ws| ws.compatibility.as_deref().map(|c| (ws, c))) {
        Some((ws, name)) => Policy::named(name).with_context(|| {
            format!(
                "{} asks for this platform in [tool.maturin] compatibility",
                ws.pyproject.display()
            )
        }),
        None => Policy::named(default_platform()),
    }
}

pub(super) fn parse_dotted(text: &str) -> Option<Vec<u64>> {
    text.split('.').map(|p| p.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_platform_has_a_policy() {
        assert!(Policy::named(default_platform()).is_ok());
    }
}
