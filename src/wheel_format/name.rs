//! A wheel's file name (PEP 427) and its tags.

use anyhow::{bail, Context, Result};

/// A wheel's file name, split into its parts (PEP 427): compressed tag sets such as
/// `cp311.cp312` are kept as lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelName {
    pub file_name: String,
    pub distribution: String,
    pub version: String,
    pub build: Option<String>,
    pub pythons: Vec<String>,
    pub abis: Vec<String>,
    pub platforms: Vec<String>,
}

impl WheelName {
    pub fn parse(file_name: &str) -> Result<WheelName> {
        let stem = file_name.strip_suffix(".whl").with_context(|| {
            format!("{file_name} is not a wheel: the name does not end in .whl")
        })?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (distribution, version, build, tags) = match parts.as_slice() {
            [d, v, py, abi, plat] => (*d, *v, None, [*py, *abi, *plat]),
            [d, v, b, py, abi, plat] => (*d, *v, Some((*b).to_owned()), [*py, *abi, *plat]),
            _ => bail!(
                "{file_name} is not a wheel name: expected NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl"
            ),
        };
        let list = |t: &str| t.split('.').map(str::to_owned).collect::<Vec<_>>();
        Ok(WheelName {
            file_name: file_name.to_owned(),
            distribution: distribution.to_owned(),
            version: version.to_owned(),
            build,
            pythons: list(tags[0]),
            abis: list(tags[1]),
            platforms: list(tags[2]),
        })
    }

    /// Every `python-abi-platform` tag the name stands for.
    pub fn tags(&self) -> Vec<String> {
        let mut out = Vec::new();
        for py in &self.pythons {
            for abi in &self.abis {
                for plat in &self.platforms {
                    out.push(format!("{py}-{abi}-{plat}"));
                }
            }
        }
        out
    }

    /// The same wheel with other platform tags.
    pub fn with_platform(&self, platform: &str) -> WheelName {
        let mut name = self.clone();
        name.platforms = vec![platform.to_owned()];
        let build = name
            .build
            .as_deref()
            .map(|b| format!("-{b}"))
            .unwrap_or_default();
        name.file_name = format!(
            "{}-{}{build}-{}-{}-{platform}.whl",
            name.distribution,
            name.version,
            name.pythons.join("."),
            name.abis.join(".")
        );
        name
    }

    /// The same wheel under one `python-abi-platform` tag.
    pub fn retagged(&self, python: &str, abi: &str, platform: &str) -> WheelName {
        let mut name = self.clone();
        name.pythons = vec![python.to_owned()];
        name.abis = vec![abi.to_owned()];
        name.with_platform(platform)
    }

    pub fn dist_info(&self) -> String {
        format!("{}-{}.dist-info", self.distribution, self.version)
    }
}
