//! The wheels to publish: read from dist/, one per CPython and platform, one version.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};

use crate::github::Asset;
use crate::wheel_format::{WheelContents, WheelName};
use crate::workspace::Workspace;

/// A wheel in dist/, read whole: wheels are tens of MB, and the upload needs the bytes.
pub struct Local {
    pub name: WheelName,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub python: String,
    pub platform: String,
    pub modified: SystemTime,
    pub extras: Vec<String>,
}

impl Local {
    pub fn file_name(&self) -> &str {
        &self.name.file_name
    }

    /// Whether `asset` already holds exactly this wheel. GitHub's `digest` decides when
    /// present; an older server has none, and then the sha256 this tool wrote into the
    /// release body stands in for it.
    pub fn is_on(&self, asset: &Asset, body: &str) -> bool {
        asset.is_uploaded()
            && asset.size == self.bytes.len() as u64
            && match &asset.digest {
                Some(d) => d.eq_ignore_ascii_case(&format!("sha256:{}", self.sha256)),
                None => body.contains(&self.sha256),
            }
    }
}

pub fn summary(wheels: &[Local]) -> String {
    let first = &wheels[0].name;
    format!(
        "{} {} ({})",
        first.distribution,
        first.version,
        wheels
            .iter()
            .map(|w| w.python.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The wheels in `dist`, one per Python and platform tag.
pub fn read_wheels(dist: &Path) -> Result<Vec<Local>> {
    let paths = crate::wheel_format::files_in(dist).with_context(|| {
        format!(
            "no wheels to publish in {}: build them first with `maou-build wheel`",
            dist.display()
        )
    })?;
    if paths.is_empty() {
        bail!(
            "no wheels in {}: build them first with `maou-build wheel`",
            dist.display()
        );
    }
    let mut wheels = Vec::new();
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    for path in paths {
        let file_name = path.file_name().unwrap_or_default().to_string_lossy();
        let name = WheelName::parse(&file_name)
            .with_context(|| format!("{} is not a wheel name", path.display()))?;
        let (python, platform) = match (&name.pythons[..], &name.platforms[..]) {
            ([py], [plat]) => (py.clone(), plat.clone()),
            _ => bail!(
                "{file_name} has several Python or platform tags; publish-latest expects one \
                 wheel per CPython, as `maou-build wheel` builds them"
            ),
        };
        if let Some(other) = seen.insert((python.clone(), platform.clone()), file_name.to_string())
        {
            bail!(
                "{} holds two wheels for {python} {platform} ({other} and {file_name}): remove \
                 the stale one, or rebuild into an empty directory",
                dist.display()
            );
        }
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let modified = fs::metadata(&path)
            .and_then(|m| m.modified())
            .with_context(|| format!("cannot read the time of {}", path.display()))?;
        let contents = WheelContents::read(&path, &name)?;
        let extras = metadata_extras(&contents, &name);
        wheels.push(Local {
            sha256: crate::wheel_format::sha256_hex(&bytes),
            name,
            bytes,
            python,
            platform,
            modified,
            extras,
        });
    }
    let first = &wheels[0].name;
    if let Some(odd) = wheels
        .iter()
        .find(|w| w.name.distribution != first.distribution || w.name.version != first.version)
    {
        bail!(
            "{} mixes {} {} with {} {}: publish one version at a time",
            dist.display(),
            first.distribution,
            first.version,
            odd.name.distribution,
            odd.name.version
        );
    }
    Ok(wheels)
}

/// The extras the wheel's METADATA declares (`Provides-Extra:`).
fn metadata_extras(contents: &WheelContents, name: &WheelName) -> Vec<String> {
    let metadata = format!("{}/METADATA", name.dist_info());
    contents
        .files()
        .find(|(n, _)| *n == metadata)
        .map(|(_, bytes)| {
            String::from_utf8_lossy(bytes)
                .lines()
                .take_while(|l| !l.is_empty())
                .filter_map(|l| l.strip_prefix("Provides-Extra:"))
                .map(|e| e.trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub fn check_package(wheels: &[Local], ws: &Workspace, dist: &Path) -> Result<()> {
    let name = &wheels[0].name;
    let want = crate::wheel_format::escape_name(&ws.package);
    if name.distribution != want || name.version != ws.version {
        bail!(
            "{} holds {} {} but {} is {} {}: rebuild with `maou-build wheel` (or pass --dist \
             to publish other wheels)",
            dist.display(),
            name.distribution,
            name.version,
            ws.pyproject.display(),
            ws.package,
            ws.version
        );
    }
    Ok(())
}
