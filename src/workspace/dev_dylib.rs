//! `[tool.maou-build] dev-dylib-feature`: the cdylib's feature that, in the editable
//! profile's builds, links the third-party crates through a dylib crate of the workspace
//! instead of into the extension ([crate::companion] places that library beside it). It is
//! on in `[tool.maturin] features`, so that every door (develop, `maturin develop`, uv)
//! builds the same; the cdylib's build script links the dylib under the editable profile
//! only, so the wheels' profile and `uv build`'s link statically with it on. Checked against
//! `cargo metadata` here, once, so that every later step can rely on it.

use std::path::Path;

use anyhow::{bail, Result};
use serde::Serialize;

use super::files::{MetaPackage, Metadata};
use super::{to_crate, Crate, Features};

/// The dylib crate and the cdylib's feature that depends on it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DevDylib {
    /// The cdylib's feature: on in `[tool.maturin] features`, never in the wheels' build.
    pub feature: String,
    /// The workspace member with `crate-type = ["dylib"]` it enables.
    #[serde(rename = "crate")]
    pub krate: Crate,
}

impl DevDylib {
    /// Whether a build with `features` would link the dylib: never allowed for a wheel.
    pub fn enabled_by(&self, features: &Features) -> bool {
        features.all_features
            || features
                .features
                .iter()
                .flat_map(|f| f.split([',', ' ']))
                .any(|f| f == self.feature)
    }
}

/// The `feature` of `cdylib`, checked: it must enable an optional dependency on a dylib
/// crate of the workspace, and no wheel may have it on.
///
/// Over 80 lines: each way the setting can be wrong is refused with its own message and
/// fix, in the order they depend on each other.
pub(super) fn resolve(
    pyproject: &Path,
    feature: &str,
    metadata: &Metadata,
    cdylib: &MetaPackage,
    wheel_features: &[String],
) -> Result<DevDylib> {
    let setting = format!(
        "{}: [tool.maou-build] dev-dylib-feature = \"{feature}\"",
        pyproject.display()
    );
    let Some(enables) = cdylib.features.get(feature) else {
        let known: Vec<&str> = cdylib.features.keys().map(String::as_str).collect();
        bail!(
            "{setting}: {} ({}) has no such feature (it has: {}); add \
             `{feature} = [\"dep:<the dylib crate>\"]` under [features]",
            cdylib.name,
            cdylib.manifest_path.display(),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
    };
    let members = super::members_by_dir(metadata);
    let mut found = Vec::new();
    for entry in enables {
        let name = entry.strip_prefix("dep:").unwrap_or(entry);
        if name.contains('/') {
            continue;
        }
        let Some(dep) = cdylib
            .dependencies
            .iter()
            .find(|d| d.kind.is_none() && d.rename.as_deref().unwrap_or(&d.name) == name)
        else {
            continue;
        };
        let Some(pkg) = (match dep.path.as_deref() {
            Some(dir) => super::path_package(&members, dir)?,
            None => None,
        }) else {
            continue;
        };
        let Some(lib) = pkg
            .targets
            .iter()
            .find(|t| t.crate_types.iter().any(|c| c == "dylib"))
        else {
            continue;
        };
        if !dep.optional {
            bail!(
                "{setting}: {} depends on {} unconditionally; make it `optional = true` so \
                 that release builds (the wheels) link the third-party crates statically",
                cdylib.name,
                pkg.name
            );
        }
        found.push(to_crate(&pkg, lib));
    }
    let krate = match found.len() {
        1 => found.remove(0),
        0 => bail!(
            "{setting}: the feature enables no optional dependency on a workspace crate with \
             `crate-type = [\"dylib\"]` (it enables: [{}])",
            enables.join(", ")
        ),
        _ => bail!(
            "{setting}: the feature enables {} dylib crates ({}); maou-build places one",
            found.len(),
            found
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dylib = DevDylib {
        feature: feature.to_owned(),
        krate,
    };
    if wheel_features.iter().any(|f| f == feature) {
        bail!("{setting}: [tool.maou-build] wheel-features names it too; the wheels must not");
    }
    Ok(dylib)
}

/// A third-party crate the extension's crates depend on.
#[derive(Debug, Clone, Serialize)]
pub struct ThirdParty {
    /// Its name in the dependents' `[dependencies]` (a `package = ` rename's key).
    pub key: String,
    /// What rustc calls it (`arrow_pyarrow` for arrow-pyarrow): the name a `use` takes.
    pub lib_name: String,
    /// Only behind a feature (`optional = true`) in every crate that takes it.
    pub optional: bool,
    /// The manifests of the workspace crates that take it.
    pub taken_by: Vec<std::path::PathBuf>,
}

impl super::Workspace {
    /// The third-party crates the extension's crates (the cdylib and the workspace crates
    /// it uses) link: their normal dependencies that are not workspace paths, proc macros
    /// left out (they are not linked). Reads the full `cargo metadata`.
    pub fn linked_third_party(&self) -> Result<Vec<ThirdParty>> {
        let metadata = super::files::cargo_metadata_full(&self.cdylib.manifest_path)?;
        Ok(self.third_party_in(&metadata))
    }

    /// [Self::linked_third_party], from `metadata` (the full graph).
    fn third_party_in(&self, metadata: &Metadata) -> Vec<ThirdParty> {
        let lib_of = |name: &str| -> Option<&str> {
            let pkg = metadata.packages.iter().find(|p| p.name == name)?;
            let lib = pkg.targets.iter().find(|t| {
                t.crate_types
                    .iter()
                    .any(|c| matches!(c.as_str(), "lib" | "rlib" | "dylib"))
            })?;
            Some(lib.name.as_str())
        };
        let mut found: std::collections::BTreeMap<String, ThirdParty> = Default::default();
        for krate in std::iter::once(&self.cdylib).chain(&self.rlib_deps) {
            let deps = metadata
                .packages
                .iter()
                .filter(|p| p.manifest_path == krate.manifest_path)
                .flat_map(|p| &p.dependencies)
                .filter(|d| d.kind.is_none() && d.path.is_none());
            for dep in deps {
                // A proc macro (or a package cargo did not resolve) has no linkable library.
                let Some(lib) = lib_of(&dep.name) else {
                    continue;
                };
                let key = dep.rename.clone().unwrap_or_else(|| dep.name.clone());
                let entry = found.entry(key.clone()).or_insert_with(|| ThirdParty {
                    lib_name: dep
                        .rename
                        .as_deref()
                        .map_or(lib.to_owned(), |r| r.replace('-', "_")),
                    key,
                    optional: true,
                    taken_by: Vec::new(),
                });
                entry.optional &= dep.optional;
                entry.taken_by.push(krate.manifest_path.clone());
            }
        }
        found.into_values().collect()
    }

    /// The third-party crates the extension's crates link that the dev dylib does not
    /// depend on: a dev build links those into the extension.
    pub fn dev_dylib_missing(&self, dylib: &DevDylib) -> Result<Vec<String>> {
        let metadata = super::files::cargo_metadata_full(&self.cdylib.manifest_path)?;
        let has: std::collections::BTreeSet<&str> = metadata
            .packages
            .iter()
            .filter(|p| p.manifest_path == dylib.krate.manifest_path)
            .flat_map(|p| &p.dependencies)
            .map(|d| d.rename.as_deref().unwrap_or(&d.name))
            .collect();
        Ok(self
            .third_party_in(&metadata)
            .into_iter()
            .map(|t| t.key)
            .filter(|k| !has.contains(k.as_str()))
            .collect())
    }
}
