//! Dev-profile overrides maou-build can put on cargo's command line (`--config`), on top of
//! the workspace's own `[profile.dev]`: full debuginfo for a debugging session, and the
//! seed's configuration that `maou-build bench` keeps as its baseline. Cargo lets `--config`
//! win over the manifest key by key, package overrides included, so an override never
//! edits a file and disappears with the next ordinary build.

/// Linker options of the extension's link in dev builds, given to that one unit only
/// (`cargo rustc --lib -- …`) so that no other crate's fingerprint or cache key changes.
/// Without `--gc-sections` lld does not trace what is live through the ~1 GB of
/// third-party objects: about 0.5 s less per edit on 2 cores, for an extension about a
/// quarter larger (docs/benchmarks.md). Release builds keep the default.
pub const DEV_LINK_ARGS: &[&str] = &["-C", "link-arg=-Wl,--no-gc-sections"];

/// One set of overrides of `[profile.dev]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevOverride {
    /// Full debuginfo (`debug = 2`) for every crate, third-party ones included: what a
    /// debugger wants. The extension grows to about a gigabyte and every crate is built
    /// again once (sccache keeps both variants).
    FullDebuginfo,
    /// The seed's dev configuration (docs of the design card, layer 3): line tables for
    /// every crate, third-party ones included, at opt-level 0 with their assertions,
    /// non-incremental, 16 codegen units, debuginfo linked into the extension, and the
    /// linker's defaults (no [DEV_LINK_ARGS]).
    Seed,
}

impl DevOverride {
    /// `KEY=VALUE` pairs for cargo's `--config`.
    pub fn settings(self) -> &'static [&'static str] {
        match self {
            DevOverride::FullDebuginfo => &[
                "profile.dev.debug=2",
                "profile.dev.package.\"*\".debug=2",
                "profile.dev.split-debuginfo=\"off\"",
            ],
            DevOverride::Seed => &[
                "profile.dev.debug=1",
                "profile.dev.incremental=false",
                "profile.dev.codegen-units=16",
                "profile.dev.split-debuginfo=\"off\"",
                "profile.dev.package.\"*\".debug=1",
                "profile.dev.package.\"*\".opt-level=0",
                "profile.dev.package.\"*\".debug-assertions=true",
                "profile.dev.package.\"*\".overflow-checks=true",
            ],
        }
    }

    /// What develop's report calls the profile built with it.
    pub fn profile_name(self) -> &'static str {
        match self {
            DevOverride::FullDebuginfo => "dev, full debuginfo",
            DevOverride::Seed => "dev, seed configuration",
        }
    }

    /// Whether the extension's link takes [DEV_LINK_ARGS].
    pub fn dev_link_args(self) -> bool {
        self != DevOverride::Seed
    }

    /// The arguments for cargo: `--config K=V` for each setting.
    pub fn args(self) -> Vec<String> {
        self.settings()
            .iter()
            .flat_map(|s| ["--config".to_owned(), (*s).to_owned()])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_a_toml_assignment_under_profile_dev() {
        for o in [DevOverride::FullDebuginfo, DevOverride::Seed] {
            for s in o.settings() {
                let value: toml::Table = toml::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"));
                assert!(value["profile"]["dev"].is_table(), "{s}");
            }
            assert_eq!(o.args().len(), 2 * o.settings().len());
        }
    }
}
