//! `maou-build audit`: is a wheel (or a bare shared object) really manylinux_2_28? Reads
//! the ELF files, checks them against the policy, checks the wheel's tags and RECORD,
//! and with `--repair` fixes what can be fixed without rebuilding.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::audit::{self, Extension, Finding, Policy};
use crate::elf;
use crate::wheel::{WheelContents, WheelName};

#[derive(clap::Args)]
#[command(
    long_about = "Check wheels or shared objects against the manylinux_2_28 x86_64 policy.\n\n\
    For every ELF file: x86_64, the highest GLIBC, GLIBCXX, CXXABI and GCC symbol versions, \
    every DT_NEEDED library among those the policy allows, no RPATH/RUNPATH outside $ORIGIN \
    (or outside the wheel), and no /nix/store path anywhere in the file. For a wheel also: \
    the file name's tags against WHEEL, every file against RECORD (hash and size), and each \
    extension's name against its PyInit_ symbol and the Python tag.\n\n\
    --repair removes RPATH/RUNPATH entries that point outside the wheel and retags a wheel \
    whose files comply, rewriting WHEEL and RECORD; it then audits the result again. It \
    never retags a wheel whose files it found outside the policy.\n\n\
    Exit status: 0 when everything passes, 1 when a check fails, 2 when an input cannot be \
    read (not a zip, not a wheel, not an ELF file, truncated)."
)]
pub struct Args {
    /// Wheels (.whl) or ELF shared objects to check
    #[arg(required = true, value_name = "WHEEL|SO")]
    paths: Vec<PathBuf>,
    /// Remove search paths outside the wheel and retag a complying wheel
    #[arg(long)]
    repair: bool,
    /// Where repaired wheels go [default: beside each input, replacing it]
    #[arg(long, value_name = "DIR", requires = "repair")]
    out: Option<PathBuf>,
    /// The extension module each wheel must contain, e.g. maou._rust
    #[arg(long, value_name = "NAME")]
    module: Option<String>,
    /// Print the reports as JSON on stdout
    #[arg(long)]
    json: bool,
}

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

/// Options shared by the command and by `maou-build wheel`.
pub struct Options<'a> {
    pub repair: bool,
    pub out: Option<&'a Path>,
    pub module: Option<&'a str>,
}

pub fn run(_workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let options = Options {
        repair: args.repair,
        out: args.out.as_deref(),
        module: args.module.as_deref(),
    };
    if let Some(out) = options.out {
        fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    }
    let policy = Policy::manylinux_2_28();
    let mut reports = Vec::new();
    for path in &args.paths {
        reports.push(audit_path(&policy, path, &options)?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for report in &reports {
            print_text(report);
        }
    }
    Ok(if reports.iter().all(|r| r.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn print_text(r: &Report) {
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
    println!("{}: {verdict} {}{count}", r.path.display(), r.policy);
    for f in &r.findings {
        println!("  {f}");
    }
    for e in &r.extensions {
        println!(
            "  {} ({}, {}): needs {}; highest {}",
            e.file,
            e.module,
            e.python,
            libraries(&e.needed),
            versions(&e.highest_versions)
        );
    }
    if let Some(o) = &r.object {
        println!(
            "  needs {}; highest {}",
            libraries(&o.needed),
            versions(&o.highest_versions)
        );
    }
    if let Some(rep) = &r.repair {
        for p in &rep.removed_search_paths {
            println!("  repaired: removed search path {p}");
        }
        if let Some(from) = &rep.retagged_from {
            println!("  repaired: retagged from {from}");
        }
        if let Some(w) = &rep.written {
            println!("  repaired: wrote {}", w.display());
        }
        if let Some(why) = &rep.refused {
            println!("  not repaired: {why}");
        }
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

pub fn audit_path(policy: &Policy, path: &Path, options: &Options) -> Result<Report> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if elf::is_elf(&bytes) {
        audit_object(policy, path, bytes, options)
    } else {
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
        let name = WheelName::parse(&file_name)
            .with_context(|| format!("cannot audit {}", path.display()))?;
        audit_wheel(policy, path, &name, options)
    }
}

fn audit_object(
    policy: &Policy,
    path: &Path,
    mut bytes: Vec<u8>,
    options: &Options,
) -> Result<Report> {
    let what = path.display().to_string();
    let mut repair = None;
    if options.repair {
        let removed =
            elf::remove_search_paths(&mut bytes, &what, |p| audit::search_path_inside(p, None))?;
        let mut r = Repair {
            removed_search_paths: removed.iter().map(|p| format!("{what}: {p}")).collect(),
            ..Repair::default()
        };
        if !removed.is_empty() {
            let dest = match options.out {
                Some(dir) => dir.join(path.file_name().unwrap_or_default()),
                None => path.to_path_buf(),
            };
            crate::fsutil::write_atomic(&dest, &bytes)?;
            set_executable(&dest);
            r.written = Some(dest);
        }
        repair = Some(r);
    }
    let shown = repair
        .as_ref()
        .and_then(|r| r.written.clone())
        .unwrap_or_else(|| path.to_path_buf());
    // Audit what is now on disk (or would be), not what was there before.
    let facts = elf::inspect(&bytes, &shown.display().to_string())?;
    let findings = audit::check_elf(policy, &facts, None);
    Ok(Report {
        path: shown,
        kind: "shared object",
        policy: policy.platform_tag.clone(),
        ok: findings.is_empty(),
        findings,
        extensions: Vec::new(),
        object: Some(ObjectSummary {
            highest_versions: audit::highest_versions(&facts),
            needed: facts.needed,
        }),
        repair,
    })
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o755));
}

fn audit_wheel(
    policy: &Policy,
    path: &Path,
    name: &WheelName,
    options: &Options,
) -> Result<Report> {
    let contents = WheelContents::read(path, name)?;
    if !options.repair {
        return wheel_report(policy, path, name, &contents, options, None);
    }
    let mut contents = contents;
    let mut repair = Repair::default();

    // A wheel whose RECORD does not match its files has been altered after it was
    // built: repairing it would bless the alteration.
    if !contents.record_problems().is_empty() {
        repair.refused = Some("RECORD does not match the files; rebuild the wheel".to_owned());
        return wheel_report(policy, path, name, &contents, options, Some(repair));
    }
    let mut elf_findings = Vec::new();
    for entry in contents.entries.iter_mut() {
        if !elf::is_elf(&entry.bytes) {
            continue;
        }
        let member = entry.name.clone();
        let what = format!("{member} in {}", name.file_name);
        let removed = elf::remove_search_paths(&mut entry.bytes, &what, |p| {
            audit::search_path_inside(p, Some(&member))
        })?;
        repair
            .removed_search_paths
            .extend(removed.iter().map(|p| format!("{member}: {p}")));
        let facts = elf::inspect(&entry.bytes, &what)?;
        elf_findings.extend(audit::check_elf(policy, &facts, Some(&member)));
    }
    if !elf_findings.is_empty() {
        repair.refused = Some(format!(
            "{} problem(s) in the shared objects remain after removing foreign search paths; \
             they need a rebuild (see the findings), so the wheel is left as it was",
            elf_findings.len()
        ));
        repair.removed_search_paths.clear();
        let original = WheelContents::read(path, name)?;
        return wheel_report(policy, path, name, &original, options, Some(repair));
    }
    let mut new_name = name.clone();
    if name.platforms != [policy.platform_tag.clone()] {
        new_name = name.with_platform(&policy.platform_tag);
        contents.set_wheel_tags(&new_name.tags())?;
        repair.retagged_from = Some(name.platforms.join("."));
    }
    if repair.removed_search_paths.is_empty() && repair.retagged_from.is_none() {
        return wheel_report(policy, path, name, &contents, options, Some(repair));
    }
    let dir = match options.out {
        Some(dir) => dir.to_path_buf(),
        None => path.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let dest = dir.join(&new_name.file_name);
    contents.write(&dest)?;
    if options.out.is_none() && dest != path {
        fs::remove_file(path)
            .with_context(|| format!("cannot remove {} after repairing it", path.display()))?;
    }
    repair.written = Some(dest.clone());
    // Read back what was written and audit it from scratch.
    let written = WheelContents::read(&dest, &new_name)?;
    wheel_report(policy, &dest, &new_name, &written, options, Some(repair))
}

fn wheel_report(
    policy: &Policy,
    path: &Path,
    name: &WheelName,
    contents: &WheelContents,
    options: &Options,
    repair: Option<Repair>,
) -> Result<Report> {
    let (findings, extensions) = audit::check_wheel(policy, name, contents, options.module)
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
