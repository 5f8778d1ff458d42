//! The editable profile: the one `maou-build develop`, `maturin develop` and uv's editable
//! installs build (`[tool.maturin] editable-profile`), under which alone the cdylib's build
//! script links the dev dylib. It must differ from the profile of the builds that make a
//! wheel (`[tool.maturin] profile`, else `release`: `uv build`, `uv pip install .`), or
//! those would link the dylib too: maou builds both with `py-ext`, so init defines
//! `py-ext-edit`, which inherits it, and puts the edit loop's settings there (maou's own
//! profile is left as it is).

use anyhow::Result;

use crate::workspace::{Policy, Workspace};

/// The edit loop's settings for a profile of one kind (src/dev_build_env.json).
pub(crate) struct Settings {
    pub(crate) incremental: bool,
    pub(crate) codegen_units: u32,
    /// For an optimized profile: the third-party crates' (`package."*"`).
    pub(crate) third_party_codegen_units: Option<u32>,
}

/// The editable profile init sets up.
#[derive(Debug, Clone)]
pub(crate) struct EditableProfile {
    pub(crate) name: String,
    /// When init defines it: the profile it inherits.
    pub(crate) inherits: Option<String>,
}

impl EditableProfile {
    pub(crate) fn choose(ws: &Workspace) -> EditableProfile {
        let wheel = ws.profile.as_deref().unwrap_or("release");
        let derived = |p: &str| format!("{p}-edit");
        match (ws.editable_profile.as_deref(), ws.profile.as_deref()) {
            (Some(e), p) if e != wheel => EditableProfile {
                name: e.to_owned(),
                // init's own, from an earlier run: still init's to keep.
                inherits: p.filter(|p| derived(p) == e).map(str::to_owned),
            },
            (_, Some(p)) => EditableProfile {
                name: derived(p),
                inherits: Some(p.to_owned()),
            },
            (_, None) => EditableProfile {
                name: "dev".to_owned(),
                inherits: None,
            },
        }
    }

    /// The edit loop's settings for it, by the kind of profile it is (or inherits); None
    /// for a profile with cross-crate LTO, which the policy leaves alone.
    pub(crate) fn settings(&self, ws: &Workspace) -> Result<Option<Settings>> {
        let base = self.inherits.as_deref().unwrap_or(&self.name);
        let env = crate::sccache::dev_build_env();
        Ok(match ws.profiles.resolve(base)?.policy() {
            Policy::Optimized => Some(Settings {
                incremental: env.optimized_profile.incremental,
                codegen_units: env.optimized_profile.codegen_units,
                third_party_codegen_units: Some(env.optimized_profile.third_party_codegen_units),
            }),
            Policy::Dev => Some(Settings {
                incremental: env.dev_profile.incremental,
                codegen_units: env.dev_profile.codegen_units,
                third_party_codegen_units: None,
            }),
            Policy::Lto => None,
        })
    }

    /// The target directory's folder it builds into: what the build script compares.
    pub(crate) fn dir_name(&self) -> &str {
        crate::workspace::dir_name(&self.name)
    }
}
