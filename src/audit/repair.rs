//! What `audit --repair` may fix without a rebuild: search paths (RPATH/RUNPATH) that
//! point outside the wheel, and a wheel's platform tag when its files comply. Never a
//! wheel whose RECORD is broken or whose files break the policy.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::check::{check_elf, search_path_inside};
use super::policy::Policy;
use crate::elf;
use crate::wheel_format::{WheelContents, WheelName};

#[derive(Debug, Default, Serialize)]
pub struct Repair {
    /// Search path entries removed, as `member: path`.
    pub removed_search_paths: Vec<String>,
    /// The platform tag before retagging, when the wheel was retagged.
    pub retagged_from: Option<String>,
    /// Where the repaired file was written; None when nothing needed changing, or when
    /// the repair was refused.
    pub written: Option<PathBuf>,
    /// Why the repair did not write anything, when it did not.
    pub refused: Option<String>,
}

/// Removes the foreign search paths of the shared object `path` (its `bytes`), writing
/// it to `out` (or in place) when something changed.
pub fn object(path: &Path, bytes: &mut [u8], out: Option<&Path>) -> Result<Repair> {
    let what = path.display().to_string();
    let removed = elf::remove_search_paths(bytes, &what, |p| search_path_inside(p, None))?;
    let mut r = Repair {
        removed_search_paths: removed.iter().map(|p| format!("{what}: {p}")).collect(),
        ..Repair::default()
    };
    if !removed.is_empty() {
        let dest = match out {
            Some(dir) => dir.join(path.file_name().unwrap_or_default()),
            None => path.to_path_buf(),
        };
        crate::fsutil::write_atomic(&dest, bytes)?;
        let _ = crate::fsutil::set_executable(&dest);
        r.written = Some(dest);
    }
    Ok(r)
}

/// A wheel after the repair: the file to audit, its name and contents.
pub struct Repaired {
    pub path: PathBuf,
    pub name: WheelName,
    pub contents: WheelContents,
    pub repair: Repair,
}

/// Repairs the wheel `path` (named `name`) when it can be, writing the result to `out`
/// (or beside the input, replacing it).
pub fn wheel(
    policy: &Policy,
    path: &Path,
    name: &WheelName,
    out: Option<&Path>,
) -> Result<Repaired> {
    let mut contents = WheelContents::read(path, name)?;
    let mut repair = Repair::default();
    let unchanged = |contents, repair| Repaired {
        path: path.to_path_buf(),
        name: name.clone(),
        contents,
        repair,
    };

    // A wheel whose RECORD does not match its files has been altered after it was
    // built: repairing it would bless the alteration.
    if !contents.record_problems().is_empty() {
        repair.refused = Some("RECORD does not match the files; rebuild the wheel".to_owned());
        return Ok(unchanged(contents, repair));
    }
    let mut elf_findings = Vec::new();
    let names: Vec<String> = contents.files().map(|(m, _)| m.to_owned()).collect();
    let files: std::collections::BTreeSet<&str> = names.iter().map(String::as_str).collect();
    for entry in contents.entries.iter_mut() {
        if !elf::is_elf(&entry.bytes) {
            continue;
        }
        let member = entry.name.clone();
        let what = format!("{member} in {}", name.file_name);
        let removed = elf::remove_search_paths(&mut entry.bytes, &what, |p| {
            search_path_inside(p, Some(&member))
        })?;
        repair
            .removed_search_paths
            .extend(removed.iter().map(|p| format!("{member}: {p}")));
        let facts = elf::inspect(&entry.bytes, &what)?;
        elf_findings.extend(check_elf(policy, &facts, Some(&member), Some(&files)));
    }
    if !elf_findings.is_empty() {
        repair.refused = Some(format!(
            "{} problem(s) in the shared objects remain after removing foreign search paths; \
             they need a rebuild (see the findings), so the wheel is left as it was",
            elf_findings.len()
        ));
        repair.removed_search_paths.clear();
        let original = WheelContents::read(path, name)?;
        return Ok(unchanged(original, repair));
    }
    let mut new_name = name.clone();
    if name.platforms != [policy.platform_tag.clone()] {
        new_name = name.with_platform(&policy.platform_tag);
        contents.set_wheel_tags(&new_name.tags())?;
        repair.retagged_from = Some(name.platforms.join("."));
    }
    if repair.removed_search_paths.is_empty() && repair.retagged_from.is_none() {
        return Ok(unchanged(contents, repair));
    }
    let dir = match out {
        Some(dir) => dir.to_path_buf(),
        None => path.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let dest = dir.join(&new_name.file_name);
    contents.write(&dest)?;
    if out.is_none() && dest != path {
        fs::remove_file(path)
            .with_context(|| format!("cannot remove {} after repairing it", path.display()))?;
    }
    repair.written = Some(dest.clone());
    // Read back what was written: it is audited from scratch.
    let written = WheelContents::read(&dest, &new_name)?;
    Ok(Repaired {
        path: dest,
        name: new_name,
        contents: written,
        repair,
    })
}
