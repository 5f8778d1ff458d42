//! Whether the extension is built for CPython's stable ABI (`abi3`), read as maturin reads
//! it: the `abi3`/`abi3-pyXY` features of the cdylib's `pyo3` dependency (in its manifest
//! or through `[tool.maturin] features = ["pyo3/abi3-py311"]`), and PyO3's version from the
//! lock file.

use std::path::Path;

use serde::Serialize;

use super::files::MetaPackage;
use crate::python::Minor;

/// A stable-ABI build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StableAbi {
    /// The oldest CPython it supports (`abi3-py311`: 3.11); None for plain `abi3` (then
    /// the building interpreter's version).
    pub min: Option<Minor>,
    /// PyO3's version as locked (`0.29.3`), when the lock names one.
    pub pyo3_version: Option<String>,
}

impl StableAbi {
    /// Whether maturin gives cargo a PyO3 configuration file for it (PyO3 0.29 and later:
    /// the target ABI is passed that way).
    pub fn with_config_file(&self) -> bool {
        let Some(v) = &self.pyo3_version else {
            return false;
        };
        let mut parts = v.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        (major, minor) >= (0, 29)
    }
}

/// The stable ABI the cdylib `pkg` is built for with the features `enabled`, if any.
pub(super) fn of(pkg: &MetaPackage, enabled: &[String], lock: &Path) -> Option<StableAbi> {
    let pyo3 = pkg
        .dependencies
        .iter()
        .find(|d| d.rename.as_deref().unwrap_or(&d.name) == "pyo3" || d.name == "pyo3")?;
    let mut features: Vec<&str> = pyo3.features.iter().map(String::as_str).collect();
    // Features of the cdylib that reach pyo3's (`pyo3/abi3-py311`), directly or through one
    // of the cdylib's own features.
    let mut stack: Vec<&str> = enabled.iter().map(String::as_str).collect();
    let mut seen = Vec::new();
    while let Some(f) = stack.pop() {
        if seen.contains(&f) {
            continue;
        }
        seen.push(f);
        if let Some(rest) = f.strip_prefix("pyo3/").or_else(|| f.strip_prefix("pyo3?/")) {
            features.push(rest);
        } else if let Some(more) = pkg.features.get(f) {
            stack.extend(more.iter().map(String::as_str));
        }
    }
    let abi3: Vec<&str> = features
        .into_iter()
        .filter(|f| *f == "abi3" || f.starts_with("abi3-py"))
        .collect();
    if abi3.is_empty() {
        return None;
    }
    // `abi3-py311` is 3.11; with several, pyo3 takes the lowest.
    let min = abi3
        .iter()
        .filter_map(|f| f.strip_prefix("abi3-py"))
        .filter_map(|v| {
            let (major, minor) = v.split_at(1);
            Some(Minor {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
            })
        })
        .min();
    let pyo3_version = super::files::locked_version(lock, "pyo3");
    Some(StableAbi { min, pyo3_version })
}
