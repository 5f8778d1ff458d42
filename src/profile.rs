//! Which cargo profile develop builds, and the overrides maou-build can put on cargo's
//! command line (`--config`) on top of it: full debuginfo for a debugging session, and the
//! seed's dev configuration that `maou-build bench` keeps as its baseline. Cargo lets
//! `--config` win over the manifest key by key, package overrides included, so an override
//! never edits a file and disappears with the next ordinary build.

use anyhow::{Context, Result};
use serde::Serialize;

use crate::workspace::{Profile, Workspace};

/// Where the profile develop builds was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProfileSource {
    /// `--profile NAME` (or `--release`) on the command line.
    CommandLine,
    /// `[tool.maturin] editable-profile`: what maturin (1.10 and later) builds for an
    /// editable install, uv's included.
    MaturinEditable,
    /// `[tool.maturin] profile`: what `maturin develop` and uv's builds use too.
    Maturin,
    /// Neither: cargo's default, `dev`.
    Default,
}

/// The profile develop builds, resolved from the workspace's `Cargo.toml`, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Chosen {
    #[serde(flatten)]
    pub profile: Profile,
    pub source: ProfileSource,
}

impl Chosen {
    /// The profile for a build of `ws`: `cli` when given, else what maturin builds for an
    /// editable install (`[tool.maturin] editable-profile`, else `profile`), else dev.
    pub fn for_workspace(ws: &Workspace, cli: Option<&str>) -> Result<Chosen> {
        let source = match (cli, &ws.editable_profile, &ws.profile) {
            (Some(_), _, _) => ProfileSource::CommandLine,
            (None, Some(_), _) => ProfileSource::MaturinEditable,
            (None, None, Some(_)) => ProfileSource::Maturin,
            (None, None, None) => ProfileSource::Default,
        };
        let name = cli.unwrap_or_else(|| ws.editable_profile_name());
        let profile = ws.profiles.resolve(name).with_context(|| match source {
            ProfileSource::CommandLine => format!("--profile {name}"),
            ProfileSource::MaturinEditable => {
                format!(
                    "{}: [tool.maturin] editable-profile",
                    ws.pyproject.display()
                )
            }
            _ => format!("{}: [tool.maturin] profile", ws.pyproject.display()),
        })?;
        Ok(Chosen { profile, source })
    }

    /// Why this profile, for develop's report and doctor.
    pub fn why(&self) -> &'static str {
        match self.source {
            ProfileSource::CommandLine => "chosen on the command line",
            ProfileSource::MaturinEditable => {
                "[tool.maturin] editable-profile, as maturin and uv build editable installs"
            }
            ProfileSource::Maturin => "[tool.maturin] profile, as maturin and uv build it",
            ProfileSource::Default => "cargo's default: [tool.maturin] names no profile",
        }
    }
}

/// One set of overrides of the profile a build uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevOverride {
    /// Full debuginfo (`debug = 2`) for every crate, third-party ones included: what a
    /// debugger wants. The extension grows to about a gigabyte and every crate is built
    /// again once (sccache keeps both variants).
    FullDebuginfo,
    /// The seed's dev configuration (docs of the design card, layer 3): line tables for
    /// every crate, third-party ones included, at opt-level 0 with their assertions,
    /// non-incremental, 16 codegen units, debuginfo linked into the extension, and no dev
    /// dylib.
    Seed,
}

impl DevOverride {
    /// `KEY=VALUE` pairs for cargo's `--config`, over the profile `profile`. The seed's
    /// configuration is the dev profile's whichever profile is named.
    pub fn settings(self, profile: &str) -> Vec<String> {
        match self {
            DevOverride::FullDebuginfo => [
                "debug=2",
                "package.\"*\".debug=2",
                "split-debuginfo=\"off\"",
            ]
            .iter()
            .map(|s| format!("profile.{profile}.{s}"))
            .collect(),
            DevOverride::Seed => {
                let policy = &crate::sccache::dev_build_env().dev_profile;
                [
                    "debug=1".to_owned(),
                    format!("incremental={}", policy.incremental),
                    format!("codegen-units={}", policy.codegen_units),
                    "split-debuginfo=\"off\"".to_owned(),
                    "package.\"*\".debug=1".to_owned(),
                    "package.\"*\".opt-level=0".to_owned(),
                    "package.\"*\".debug-assertions=true".to_owned(),
                    "package.\"*\".overflow-checks=true".to_owned(),
                ]
                .iter()
                .map(|s| format!("profile.dev.{s}"))
                .collect()
            }
        }
    }

    /// What develop's report calls `profile` built with it.
    pub fn profile_name(self, profile: &str) -> String {
        match self {
            DevOverride::FullDebuginfo => format!("{profile}, full debuginfo"),
            DevOverride::Seed => "dev, seed configuration".to_owned(),
        }
    }

    /// The arguments for cargo: `--config K=V` for each setting.
    pub fn args(self, profile: &str) -> Vec<String> {
        self.settings(profile)
            .into_iter()
            .flat_map(|s| ["--config".to_owned(), s])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--seed` builds with the dev profile's policy, from its one source.
    #[test]
    fn the_seed_override_is_the_dev_profile_policy() {
        let policy = &crate::sccache::dev_build_env().dev_profile;
        let settings = DevOverride::Seed.settings("py-ext");
        for want in [
            format!("profile.dev.incremental={}", policy.incremental),
            format!("profile.dev.codegen-units={}", policy.codegen_units),
        ] {
            assert!(settings.contains(&want), "{want} not in {settings:?}");
        }
    }

    #[test]
    fn every_setting_is_a_toml_assignment_under_its_profile() {
        for (o, profile, under) in [
            (DevOverride::FullDebuginfo, "dev", "dev"),
            (DevOverride::FullDebuginfo, "py-ext", "py-ext"),
            (DevOverride::Seed, "py-ext", "dev"),
        ] {
            for s in o.settings(profile) {
                let value: toml::Table = toml::from_str(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
                assert!(value["profile"][under].is_table(), "{s}");
            }
            assert_eq!(o.args(profile).len(), 2 * o.settings(profile).len());
        }
    }
}
