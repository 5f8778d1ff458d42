//! The Cargo workspace's profiles (`[profile.*]` of its root manifest), resolved as cargo
//! resolves them: a profile's own keys, then those of the profile it `inherits`, then
//! cargo's built-in `dev` or `release`; at each step the `[profile.NAME]` of cargo's
//! configuration files (crate::cargo_config, a user-level one included) before the
//! manifest's, as cargo merges them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// One `[profile.NAME]` section as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Section {
    inherits: Option<String>,
    opt_level: Option<toml::Value>,
    lto: Option<toml::Value>,
    incremental: Option<bool>,
    codegen_units: Option<u32>,
    /// `debug`, as written (doctor reads it).
    pub debug: Option<toml::Value>,
    pub split_debuginfo: Option<String>,
    /// `[profile.NAME.package.X]`: per-package overrides (`"*"`: every third-party crate).
    #[serde(default)]
    pub package: BTreeMap<String, PackageSection>,
}

/// A `[profile.NAME.package.X]` section: what doctor reads of it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PackageSection {
    pub debug: Option<toml::Value>,
    pub codegen_units: Option<u32>,
}

#[derive(Deserialize, Default)]
struct Manifest {
    #[serde(default)]
    profile: BTreeMap<String, Section>,
}

/// `[profile.NAME]` tables with every key, as written.
type RawSections = BTreeMap<String, toml::Table>;

#[derive(Deserialize, Default)]
struct RawManifest {
    #[serde(default)]
    profile: RawSections,
}

/// Profiles by name with their sections as written (`None`: a built-in not written).
type Chain<'a> = Vec<(&'a str, Option<&'a Section>)>;

/// The workspace's profiles as its root `Cargo.toml` defines them, and as cargo's
/// configuration files override them.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    sections: BTreeMap<String, Section>,
    /// The manifest they were read from (for messages).
    manifest: PathBuf,
    /// Each configuration file's `[profile]` sections, nearest file first.
    config: Vec<(PathBuf, BTreeMap<String, Section>)>,
    /// The manifest's sections then each configuration file's, every key as written, for
    /// [Profiles::settings].
    raw: RawSections,
    config_raw: Vec<RawSections>,
}

/// What maou-build needs to know of one profile, every key resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub name: String,
    /// The built-in profile it derives from: `dev` or `release`.
    pub base: &'static str,
    /// The directory under the target directory cargo writes it to (`debug` for dev).
    pub dir_name: String,
    /// `opt-level` as written (`0`, `3`, `"s"`).
    pub opt_level: String,
    /// Whether the profile links with cross-crate LTO (`lto = true`, `"thin"`, `"fat"`):
    /// then every crate is linked statically into the extension.
    pub lto: bool,
    pub incremental: bool,
    /// The codegen units of the workspace's own crates.
    pub codegen_units: u32,
    /// Those of every third-party crate: `[profile.NAME.package."*"] codegen-units`,
    /// else the profile's.
    pub third_party_codegen_units: u32,
    /// The keys whose value comes from one of cargo's configuration files rather than the
    /// manifest (`codegen-units`, `third-party codegen-units`, `incremental`, `lto`,
    /// `opt-level`), with that file: the place to fix them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub from_config: BTreeMap<String, PathBuf>,
}

/// The folder of the target directory that cargo builds profile `name` into.
pub fn dir_name(name: &str) -> &str {
    match name {
        "dev" | "test" => "debug",
        "release" | "bench" => "release",
        other => other,
    }
}

impl Profiles {
    /// Reads the `[profile]` table of `manifest` (the Cargo workspace's root `Cargo.toml`),
    /// and the `[profile]` sections of cargo's configuration files (`config`, as read where
    /// cargo runs) that override it.
    pub fn read(manifest: &Path, config: &crate::cargo_config::CargoConfig) -> Result<Profiles> {
        let text = std::fs::read_to_string(manifest)
            .with_context(|| format!("cannot read {}", manifest.display()))?;
        let parsed: Manifest = toml::from_str(&text).with_context(|| {
            format!("cannot read the [profile] table of {}", manifest.display())
        })?;
        let raw: RawManifest = toml::from_str(&text).with_context(|| {
            format!("cannot read the [profile] table of {}", manifest.display())
        })?;
        let config_files = || {
            config
                .files
                .iter()
                .filter_map(|f| Some((f, f.table.get("profile")?)))
        };
        let config_raw = config_files()
            .filter_map(|(_, p)| p.clone().try_into().ok())
            .collect();
        let config = config_files()
            .filter_map(|(f, profile)| {
                let sections: BTreeMap<String, Section> = profile.clone().try_into().ok()?;
                Some((f.path.clone(), sections))
            })
            .collect();
        Ok(Profiles {
            sections: parsed.profile,
            manifest: manifest.to_path_buf(),
            config,
            raw: raw.profile,
            config_raw,
        })
    }

    /// The first value `get` finds along `chain`: at each profile, cargo's configuration
    /// files (nearest first) before the manifest; with the file when it is a configuration
    /// file.
    fn pick<T>(
        &self,
        chain: &Chain,
        get: &dyn Fn(&Section) -> Option<T>,
    ) -> Option<(T, Option<PathBuf>)> {
        chain.iter().find_map(|(name, manifest)| {
            self.config
                .iter()
                .find_map(|(file, sections)| {
                    sections
                        .get(*name)
                        .and_then(get)
                        .map(|v| (v, Some(file.clone())))
                })
                .or_else(|| manifest.and_then(get).map(|v| (v, None)))
        })
    }

    /// The section `[profile.NAME]` as written, if the manifest has one.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.get(name)
    }

    /// The sections `name` reads its keys from, nearest first, down to cargo's built-in
    /// it derives from (`dev` or `release`), which is returned with them.
    fn chain<'a>(&'a self, name: &'a str) -> Result<(Chain<'a>, &'static str)> {
        let mut chain: Chain = Vec::new();
        let mut current = name;
        let base = loop {
            if chain.iter().any(|(n, _)| *n == current) || chain.len() > 32 {
                bail!(
                    "profile `{name}` in {} inherits in a circle",
                    self.manifest.display()
                );
            }
            let section = self.sections.get(current);
            chain.push((current, section));
            match current {
                "dev" | "test" => break "dev",
                "release" | "bench" => break "release",
                _ => {}
            }
            let Some(section) = section else {
                bail!(
                    "profile `{current}` is not defined in {}: add a [profile.{current}] section \
                     (with `inherits = \"release\"` or `\"dev\"`), or name a profile that exists",
                    self.manifest.display()
                );
            };
            current = section.inherits.as_deref().with_context(|| {
                format!(
                    "[profile.{current}] in {} has no `inherits`: cargo requires one for a \
                     profile of your own",
                    self.manifest.display()
                )
            })?;
        };
        // The built-ins' implicit parents: test from dev, bench from release.
        let builtin_parent = match chain.last().map(|(n, _)| *n) {
            Some("test") => Some("dev"),
            Some("bench") => Some("release"),
            _ => None,
        };
        if let Some(parent) = builtin_parent {
            chain.push((parent, self.sections.get(parent)));
        }
        Ok((chain, base))
    }

    /// Every key of profile `name` as cargo takes it (the nearest profile of the chain
    /// first, at each cargo's configuration files before the manifest), written as JSON,
    /// with its built-in base: two machines whose files differ but resolve alike (a
    /// user-level `[profile]` that the profile's own keys override) get the same map.
    pub fn settings(&self, name: &str) -> Result<BTreeMap<String, String>> {
        let (chain, base) = self.chain(name)?;
        let mut settings = BTreeMap::from([("(base)".to_owned(), base.to_owned())]);
        for (profile, _) in &chain {
            let tables = self
                .config_raw
                .iter()
                .chain(std::iter::once(&self.raw))
                .filter_map(|sections| sections.get(*profile));
            for (key, value) in tables.flatten() {
                if key != "inherits" {
                    let shown = serde_json::to_string(value).context("a profile key serializes")?;
                    settings.entry(key.clone()).or_insert(shown);
                }
            }
        }
        Ok(settings)
    }

    /// The profile `name`, resolved through `inherits` down to cargo's built-ins.
    pub fn resolve(&self, name: &str) -> Result<Profile> {
        let (chain, base) = self.chain(name)?;
        let mut from_config = BTreeMap::new();
        let mut pick = |key: &str, get: &dyn Fn(&Section) -> Option<toml::Value>| {
            let (value, file) = self.pick(&chain, get)?;
            if let Some(file) = file {
                from_config.insert(key.to_owned(), file);
            }
            Some(value)
        };
        let dev = base == "dev";
        let opt_level = pick("opt-level", &|s| s.opt_level.clone())
            .map(|v| match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                other => format!("{other:?}"),
            })
            .unwrap_or_else(|| if dev { "0" } else { "3" }.to_owned());
        let lto = pick("lto", &|s| s.lto.clone()).is_some_and(|v| match v {
            toml::Value::Boolean(b) => b,
            toml::Value::String(s) => s != "off" && s != "false",
            _ => false,
        });
        let incremental = pick("incremental", &|s| s.incremental.map(toml::Value::Boolean))
            .and_then(|v| v.as_bool())
            .unwrap_or(dev);
        let units = |v: toml::Value| v.as_integer().and_then(|i| u32::try_from(i).ok());
        let cgu_of = |s: &Section| s.codegen_units.map(|c| toml::Value::Integer(c.into()));
        let codegen_units = pick("codegen-units", &cgu_of)
            .and_then(units)
            .unwrap_or(if incremental { 256 } else { 16 });
        // Third-party crates are never incremental: rustc's default for them is 16.
        let third_party_codegen_units = pick("third-party codegen-units", &|s| {
            s.package
                .get("*")
                .and_then(|p| p.codegen_units)
                .map(|c| toml::Value::Integer(c.into()))
        })
        .or_else(|| pick("third-party codegen-units", &cgu_of))
        .and_then(units)
        .unwrap_or(16);
        Ok(Profile {
            name: name.to_owned(),
            base,
            dir_name: dir_name(name).to_owned(),
            opt_level,
            lto,
            incremental,
            codegen_units,
            third_party_codegen_units,
            from_config,
        })
    }
}

/// Which of the dev build environment's policies (src/dev_build_env.json) a profile that
/// develop builds is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Derived from `dev`: the seed's dev profile.
    Dev,
    /// Derived from `release` without LTO (maou's `py-ext`): the edit loop's settings.
    Optimized,
    /// With LTO: a release build, like the wheels'; neither applies.
    Lto,
}

impl Profile {
    /// The policy a develop build of this profile is held to.
    pub fn policy(&self) -> Policy {
        match (self.base, self.lto) {
            ("dev", _) => Policy::Dev,
            (_, false) => Policy::Optimized,
            (_, true) => Policy::Lto,
        }
    }

    /// cargo's arguments that select it (none for dev, the default).
    pub fn cargo_args(&self) -> Vec<String> {
        match self.name.as_str() {
            "dev" => Vec::new(),
            "release" => vec!["--release".to_owned()],
            other => vec!["--profile".to_owned(), other.to_owned()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles(toml: &str) -> Profiles {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Cargo.toml");
        std::fs::write(&path, toml).unwrap();
        Profiles::read(&path, &crate::cargo_config::CargoConfig::default()).unwrap()
    }

    #[test]
    fn a_profile_inherits_its_parents_keys_down_to_the_builtin() {
        let p = profiles(
            "[profile.release]\nlto = \"thin\"\ncodegen-units = 1\n\
             [profile.py-ext]\ninherits = \"release\"\nlto = false\nopt-level = 3\n\
             [profile.py-ext-fast]\ninherits = \"py-ext\"\nincremental = true\ncodegen-units = 256\n\
             [profile.py-ext-fast.package.\"*\"]\ncodegen-units = 16\n",
        );
        let release = p.resolve("release").unwrap();
        assert!(release.lto && release.opt_level == "3");
        assert_eq!(
            (release.dir_name.as_str(), release.codegen_units),
            ("release", 1)
        );
        let ext = p.resolve("py-ext").unwrap();
        assert_eq!(ext.base, "release");
        assert!(!ext.lto && !ext.incremental);
        assert_eq!((ext.dir_name.as_str(), ext.codegen_units), ("py-ext", 1));
        assert_eq!(ext.cargo_args(), ["--profile", "py-ext"]);
        let fast = p.resolve("py-ext-fast").unwrap();
        assert!(fast.incremental && !fast.lto);
        // The workspace's crates and the third-party ones apart; without an override the
        // third-party crates have the profile's.
        assert_eq!(
            (fast.codegen_units, fast.third_party_codegen_units),
            (256, 16)
        );
        assert_eq!(ext.third_party_codegen_units, 1);
        // The policy each is held to: the wheels' profile none, py-ext the edit loop's.
        assert_eq!(
            [
                release.policy(),
                ext.policy(),
                p.resolve("dev").unwrap().policy()
            ],
            [Policy::Lto, Policy::Optimized, Policy::Dev]
        );
        let dev = p.resolve("dev").unwrap();
        assert_eq!((dev.dir_name.as_str(), dev.incremental), ("debug", true));
        assert_eq!(dev.codegen_units, 256);
        assert!(dev.opt_level == "0" && dev.cargo_args().is_empty());
        assert_eq!(p.resolve("bench").unwrap().codegen_units, 1);
    }

    #[test]
    fn an_undefined_or_circular_profile_is_refused_by_name() {
        let p = profiles("[profile.a]\ninherits = \"b\"\n[profile.b]\ninherits = \"a\"\n[profile.c]\nlto = true\n");
        let missing = p.resolve("py-ext").unwrap_err().to_string();
        assert!(missing.contains("`py-ext` is not defined"), "{missing}");
        assert!(format!("{:#}", p.resolve("a").unwrap_err()).contains("circle"));
        assert!(format!("{:#}", p.resolve("c").unwrap_err()).contains("no `inherits`"));
    }
}
