//! Is a wheel (or a bare shared object) really what its platform tag says? The policy is
//! data ([policy]), the checks compare an object's facts against it ([check]), and
//! [repair] fixes what can be fixed without a rebuild. [audit_path] is the one entry:
//! `maou-build audit`, `wheel` and `publish-latest` all audit through it.

mod check;
mod policy;
mod repair;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

pub use check::{Extension, Finding};
pub use policy::{default_platform, platform_of, Policy};
pub use repair::Repair;

use crate::elf;
use crate::wheel_format::{WheelContents, WheelName};

#[derive(Debug, Serialize)]
pub struct Report {
    pub path: PathBuf,
    pub kind: &'static str,
    pub policy: String,
    pub ok: bool,
    pub findings: Vec<Finding>,
    /// For a wheel: its extension modules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Extension>,
    /// For a shared object: the highest version needed per family, and its libraries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair: Option<Repair>,
}

#[derive(Debug, Serialize)]
pub struct ObjectSummary {
    pub highest_versions: std::collections::BTreeMap<String, String>,
    pub needed: Vec<String>,
}

/// What to audit for, and whether to repair.
pub struct Options<'a> {
    pub repair: bool,
    /// Where repaired files go [default: in place].
    pub out: Option<&'a Path>,
    /// The extension module each wheel must contain, e.g. `maou._rust`.
    pub module: Option<&'a str>,
}

/// Audits (and with `options.repair`, repairs) one wheel or ELF shared object.
pub fn audit_path(policy: &Policy, path: &Path, options: &Options) -> Result<Report> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if elf::is_elf(&bytes) {
        return audit_object(policy, path, bytes, options);
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !bytes.starts_with(b"PK") && !file_name.ends_with(".whl") {
        anyhow::bail!(
            "{} is neither a wheel nor an ELF shared object",
            path.display()
        );
    }
    let name =
        WheelName::parse(&file_name).with_context(|| format!("cannot audit {}", path.display()))?;
    if !options.repair {
        let contents = WheelContents::read(path, &name)?;
        return wheel_report(policy, path, &name, &contents, options, None);
    }
    let r = repair::wheel(policy, path, &name, options.out)?;
    wheel_report(
        policy,
        &r.path,
        &r.name,
        &r.contents,
        options,
        Some(r.repair),
    )
}

fn audit_object(
    policy: &Policy,
    path: &Path,
    mut bytes: Vec<u8>,
    options: &Options,
) -> Result<Report> {
    let repair = match options.repair {
        true => Some(repair::object(path, &mut bytes, options.out)?),
        false => None,
    };
    let shown = repair
        .as_ref()
        .and_then(|r| r.written.clone())
        .unwrap_or_else(|| path.to_path_buf());
    // Audit what is now on disk (or would be), not what was there before.
    let facts = elf::inspect(&bytes, &shown.display().to_string())?;
    let findings = check::check_elf(policy, &facts, None, None);
    Ok(Report {
        path: shown,
        kind: "shared object",
        policy: policy.platform_tag.clone(),
        ok: findings.is_empty(),
        findings,
        extensions: Vec::new(),
        object: Some(ObjectSummary {
            highest_versions: check::highest_versions(&facts),
            needed: facts.needed,
        }),
        repair,
    })
}

fn wheel_report(
    policy: &Policy,
    path: &Path,
    name: &WheelName,
    contents: &WheelContents,
    options: &Options,
    repair: Option<Repair>,
) -> Result<Report> {
    let (findings, extensions) = check::check_wheel(policy, name, contents, options.module)
        .with_context(|| format!("cannot audit {}", path.display()))?;
    Ok(Report {
        path: path.to_path_buf(),
        kind: "wheel",
        policy: policy.platform_tag.clone(),
        ok: findings.is_empty(),
        findings,
        extensions,
        object: None,
        repair,
    })
}

impl std::fmt::Display for Report {
    /// The report as `audit` prints it: the verdict, then one indented line per finding,
    /// extension and repair.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = self;
        let verdict = if r.ok { "ok" } else { "FAILS" };
        let count = if r.ok {
            String::new()
        } else {
            format!(
                " ({} problem{})",
                r.findings.len(),
                if r.findings.len() == 1 { "" } else { "s" }
            )
        };
        writeln!(f, "{}: {verdict} {}{count}", r.path.display(), r.policy)?;
        for finding in &r.findings {
            writeln!(f, "  {finding}")?;
        }
        for e in &r.extensions {
            writeln!(
                f,
                "  {} ({}, {}): needs {}; highest {}",
                e.file,
                e.module,
                e.python,
                libraries(&e.needed),
                versions(&e.highest_versions)
            )?;
        }
        if let Some(o) = &r.object {
            writeln!(
                f,
                "  needs {}; highest {}",
                libraries(&o.needed),
                versions(&o.highest_versions)
            )?;
        }
        if let Some(rep) = &r.repair {
            for p in &rep.removed_search_paths {
                writeln!(f, "  repaired: removed search path {p}")?;
            }
            if let Some(from) = &rep.retagged_from {
                writeln!(f, "  repaired: retagged from {from}")?;
            }
            if let Some(w) = &rep.written {
                writeln!(f, "  repaired: wrote {}", w.display())?;
            }
            if let Some(why) = &rep.refused {
                writeln!(f, "  not repaired: {why}")?;
            }
        }
        Ok(())
    }
}

fn libraries(needed: &[String]) -> String {
    if needed.is_empty() {
        "no library".to_owned()
    } else {
        needed.join(" ")
    }
}

fn versions(v: &std::collections::BTreeMap<String, String>) -> String {
    if v.is_empty() {
        return "no versioned symbols".to_owned();
    }
    v.iter()
        .map(|(k, n)| format!("{k}_{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}
