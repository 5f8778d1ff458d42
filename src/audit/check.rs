//! The checks that apply a policy to one ELF file or to a whole wheel: facts in, findings
//! out; nothing here reads or writes a file. (Its size is the checks' and their tests':
//! splitting ELF from wheel checks would part the rules of one policy.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::policy::{parse_dotted, Policy};
use crate::elf::{ElfFacts, VersionedRef};
use crate::wheel_format::{WheelContents, WheelName};

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub check: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub message: String,
}

impl Finding {
    fn new(check: &'static str, file: Option<&str>, message: String) -> Finding {
        Finding {
            check,
            file: file.map(str::to_owned),
            message,
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.file {
            Some(file) => write!(f, "[{}] {file}: {}", self.check, self.message),
            None => write!(f, "[{}] {}", self.check, self.message),
        }
    }
}

/// What follows `$ORIGIN` (or `${ORIGIN}`) in a search path, when it starts with it.
fn origin_rest(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix("${ORIGIN}")
        .or_else(|| path.strip_prefix("$ORIGIN"))?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// The directory a `$ORIGIN` search path of the wheel member `member` names, as the
/// components of its path in the wheel; None when it is not `$ORIGIN`-relative or leads
/// above the wheel's root.
fn origin_dir(path: &str, member: &str) -> Option<Vec<String>> {
    let rest = origin_rest(path)?;
    let mut parts: Vec<String> = Path::new(member)
        .parent()
        .into_iter()
        .flat_map(|d| d.components())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    for component in Path::new(rest.trim_start_matches('/')).components() {
        match component {
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(n) => parts.push(n.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    Some(parts)
}

/// Where a search path may point: `$ORIGIN` and below it, and for a wheel member, not
/// above the wheel's root (`member` is its path in the wheel).
pub fn search_path_inside(path: &str, member: Option<&str>) -> bool {
    match member {
        Some(member) => origin_dir(path, member).is_some(),
        None => origin_rest(path).is_some(),
    }
}

/// The wheel member a `NEEDED` library `lib` of `member` resolves to through one of its
/// `$ORIGIN` search paths, if the wheel (`files`) carries it there: a library grafted
/// into the wheel (`<dist>.libs/`, as auditwheel and maturin's repair place them).
pub fn bundled<'a>(
    facts: &ElfFacts,
    member: &str,
    lib: &str,
    files: &BTreeSet<&'a str>,
) -> Option<&'a str> {
    facts.search_paths.iter().find_map(|sp| {
        let mut parts = origin_dir(&sp.path, member)?;
        parts.push(lib.to_owned());
        files.get(parts.join("/").as_str()).copied()
    })
}

/// The checks on one ELF file. `member` is its path inside a wheel, when it is in one;
/// `files` the wheel's members then, so that a library the wheel carries may be needed.
pub fn check_elf(
    policy: &Policy,
    facts: &ElfFacts,
    member: Option<&str>,
    files: Option<&BTreeSet<&str>>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut add = |check, message| findings.push(Finding::new(check, member, message));
    if !facts.is_64 || facts.machine != policy.machine {
        add(
            "machine",
            format!(
                "{}-bit {} ELF, not 64-bit {}",
                if facts.is_64 { 64 } else { 32 },
                facts.machine,
                policy.machine
            ),
        );
    }
    if !facts.shared_object {
        add("machine", "not a shared object (ET_DYN)".to_owned());
    }
    for lib in &facts.needed {
        let carried = member
            .zip(files)
            .and_then(|(m, files)| bundled(facts, m, lib, files));
        if !policy.allows_library(lib) && carried.is_none() {
            add(
                "needed",
                format!(
                    "needs {lib}, which is not among the libraries {} allows, nor in the wheel where its $ORIGIN search paths lead",
                    policy.name
                ),
            );
        }
    }
    for (version, message) in symbol_version_problems(policy, facts) {
        add("symbol-version", format!("{version} {message}"));
    }
    for sp in &facts.search_paths {
        if !search_path_inside(&sp.path, member) {
            add(
                "search-path",
                format!(
                    "{} {} points outside {}",
                    sp.kind.to_uppercase(),
                    sp.path,
                    if member.is_some() {
                        "the wheel"
                    } else {
                        "$ORIGIN"
                    }
                ),
            );
        }
    }
    for occ in &facts.nix_store {
        add(
            "nix-store",
            format!(
                "a /nix/store path at offset {:#x}{}: {}",
                occ.offset,
                occ.section
                    .as_deref()
                    .map(|s| format!(" in {s}"))
                    .unwrap_or_default(),
                occ.text
            ),
        );
    }
    findings
}

/// The newest offending version per family, with every symbol that needs it: each as its
/// version and what is wrong with it.
fn symbol_version_problems(policy: &Policy, facts: &ElfFacts) -> Vec<(String, String)> {
    let mut worst: BTreeMap<String, Vec<&VersionedRef>> = BTreeMap::new();
    for r in facts.versioned.iter().chain(&facts.unused_versions) {
        if !policy.allows_library(&r.library) {
            continue; // already reported as a library outside the policy
        }
        if policy.version_problem(&r.version).is_some() {
            worst.entry(r.version.clone()).or_default().push(r);
        }
    }
    worst
        .into_iter()
        .map(|(version, refs)| {
            let problem = policy.version_problem(&version).unwrap_or_default();
            let symbols: Vec<String> = refs
                .iter()
                .filter(|r| !r.symbol.is_empty())
                .map(|r| format!("{}@{}", r.symbol, r.version))
                .collect();
            let users = if symbols.is_empty() {
                "no symbol in .dynsym; the requirement alone".to_owned()
            } else {
                symbols.join(", ")
            };
            let message = format!("from {} is {problem}: {users}", refs[0].library);
            (version, message)
        })
        .collect()
}

/// The highest version the object needs in each family, for the report.
pub fn highest_versions(facts: &ElfFacts) -> BTreeMap<String, String> {
    let mut best: BTreeMap<String, (Vec<u64>, String)> = BTreeMap::new();
    for r in facts.versioned.iter().chain(&facts.unused_versions) {
        let Some((family, number)) = r.version.split_once('_') else {
            continue;
        };
        let Some(parsed) = parse_dotted(number) else {
            continue;
        };
        let entry = best
            .entry(family.to_owned())
            .or_insert((Vec::new(), String::new()));
        if parsed > entry.0 {
            *entry = (parsed, number.to_owned());
        }
    }
    best.into_iter().map(|(k, (_, v))| (k, v)).collect()
}

/// The interpreter an extension's file name is for: `cpython-312` in
/// `_rust.cpython-312-x86_64-linux-gnu.so` gives `cp312`; `abi3` gives `abi3`.
fn extension_python_tag(file_name: &str) -> Option<String> {
    let mut parts = file_name.split('.');
    let _module = parts.next()?;
    let suffix = parts.next()?;
    if suffix == "abi3" {
        return Some("abi3".to_owned());
    }
    let version = suffix.strip_prefix("cpython-")?.split('-').next()?;
    Some(format!("cp{version}"))
}

/// The wheel-level checks: tags in the name against `WHEEL`, `RECORD` against the
/// contents, extension names against the module and the Python tag, and every ELF
/// member against the policy. `module` is the extension's dotted name when known.
pub fn check_wheel(
    policy: &Policy,
    name: &WheelName,
    contents: &WheelContents,
    module: Option<&str>,
) -> Result<(Vec<Finding>, Vec<Extension>)> {
    let mut findings = tag_and_record_findings(policy, name, contents)?;

    let mut extensions = Vec::new();
    let files: BTreeSet<&str> = contents.files().map(|(m, _)| m).collect();
    for (member, bytes) in contents.files() {
        if !crate::elf::is_elf(bytes) {
            continue;
        }
        let facts = crate::elf::inspect(bytes, &format!("{member} in {}", name.file_name))?;
        findings.extend(check_elf(policy, &facts, Some(member), Some(&files)));
        let file_name = member.rsplit('/').next().unwrap_or(member);
        let stem = file_name.split('.').next().unwrap_or(file_name);
        if let Some(tag) = extension_python_tag(file_name) {
            findings.extend(extension_findings(name, member, stem, &tag, &facts));
            extensions.push(Extension {
                file: member.to_owned(),
                module: module_of(member),
                python: tag,
                highest_versions: highest_versions(&facts),
                needed: facts.needed.clone(),
            });
        }
    }
    findings.extend(module.and_then(|m| missing_module(m, &extensions)));
    Ok((findings, extensions))
}

/// The file name's tags against WHEEL's, the platform tag against the policy, RECORD
/// against the contents.
fn tag_and_record_findings(
    policy: &Policy,
    name: &WheelName,
    contents: &WheelContents,
) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    let wheel_tags = contents
        .wheel_tags()
        .context("cannot read the WHEEL file")?;
    let name_tags: BTreeSet<String> = name.tags().into_iter().collect();
    if wheel_tags != name_tags {
        findings.push(Finding::new(
            "tags",
            Some(&contents.wheel_file_name()),
            format!(
                "the file name's tags ({}) differ from WHEEL's Tag lines ({})",
                name_tags.iter().cloned().collect::<Vec<_>>().join(", "),
                wheel_tags.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    for plat in &name.platforms {
        if plat != &policy.platform_tag {
            findings.push(Finding::new(
                "tags",
                None,
                format!(
                    "platform tag {plat} is not {}, the policy this audit checks{}",
                    policy.platform_tag,
                    if plat.starts_with("linux_") {
                        " (`maou-build audit --repair` retags a wheel whose files comply)"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    findings.extend(
        contents
            .record_problems()
            .into_iter()
            .map(|(file, message)| Finding::new("record", Some(&file), message)),
    );
    Ok(findings)
}

/// An extension module `member` (file name stem `stem`, built for `tag`) in the wheel
/// `name`: it must export its `PyInit_` and be built for the wheel's Python tag.
fn extension_findings(
    name: &WheelName,
    member: &str,
    stem: &str,
    tag: &str,
    facts: &ElfFacts,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if !facts
        .python_inits
        .iter()
        .any(|s| s == &format!("PyInit_{stem}"))
    {
        findings.push(Finding::new(
            "extension",
            Some(member),
            format!(
                "exports no PyInit_{stem}, so `import` of this file fails (exports: {})",
                if facts.python_inits.is_empty() {
                    "none".to_owned()
                } else {
                    facts.python_inits.join(", ")
                }
            ),
        ));
    }
    // A stable-ABI extension runs on every CPython 3 from its floor on: in an abi3
    // wheel, or packaged into one CPython's wheel (`cp312-cp312`).
    let abi3_ok = tag == "abi3"
        && (name.abis.iter().any(|a| a == "abi3")
            || name.pythons.iter().all(|p| p.starts_with("cp3")));
    if !(name.pythons.iter().any(|p| p == tag) || abi3_ok) {
        findings.push(Finding::new(
            "extension",
            Some(member),
            format!(
                "built for {tag} but the wheel is tagged {}",
                name.pythons.join(".")
            ),
        ));
    }
    findings
}

/// The finding when no extension of the wheel is `module`. A pure Rust module (no dot:
/// rpds-py's `rpds`) is, in maturin's wheels, the package `rpds` around the extension
/// `rpds.rpds`, which its `__init__.py` imports: that is the module too.
fn missing_module(module: &str, extensions: &[Extension]) -> Option<Finding> {
    let packaged = (!module.contains('.')).then(|| format!("{module}.{module}"));
    if extensions
        .iter()
        .any(|e| e.module == module || Some(&e.module) == packaged.as_ref())
    {
        return None;
    }
    let found = if extensions.is_empty() {
        "none".to_owned()
    } else {
        extensions
            .iter()
            .map(|e| e.module.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(Finding::new(
        "extension",
        None,
        format!("no extension for module {module} (found: {found})"),
    ))
}

/// `maou/_rust.cpython-312-x86_64-linux-gnu.so` -> `maou._rust`.
fn module_of(member: &str) -> String {
    let path = PathBuf::from(member);
    let stem = path
        .file_name()
        .map(|f| {
            f.to_string_lossy()
                .split('.')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_default();
    let mut parts: Vec<String> = path
        .parent()
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    parts.push(stem);
    parts.join(".")
}

/// An extension module found in a wheel, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Extension {
    pub file: String,
    pub module: String,
    pub python: String,
    pub highest_versions: BTreeMap<String, String>,
    pub needed: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_compared_as_numbers() {
        let p = Policy::manylinux_2_28();
        assert_eq!(p.version_problem("GLIBC_2.28"), None);
        assert_eq!(p.version_problem("GLIBC_2.2.5"), None);
        assert!(p
            .version_problem("GLIBC_2.29")
            .unwrap()
            .contains("newer than GLIBC_2.28"));
        assert!(p.version_problem("GLIBCXX_3.4.30").is_some());
        assert_eq!(p.version_problem("GLIBCXX_3.4.9"), None);
        assert_eq!(p.version_problem("CXXABI_TM_1"), None);
        assert!(p.version_problem("GLIBC_PRIVATE").is_some());
        assert!(p.version_problem("FOO_1.0").unwrap().contains("FOO is not"));
    }

    #[test]
    fn search_paths_must_stay_in_the_wheel() {
        assert!(search_path_inside("$ORIGIN", Some("maou/_rust.so")));
        assert!(search_path_inside(
            "$ORIGIN/../maou.libs",
            Some("maou/_rust.so")
        ));
        assert!(!search_path_inside(
            "$ORIGIN/../../lib",
            Some("maou/_rust.so")
        ));
        assert!(search_path_inside("${ORIGIN}/lib", None));
        assert!(!search_path_inside("$ORIGINAL", None));
        assert!(!search_path_inside("/nix/store/abc-glibc/lib", None));
        assert!(!search_path_inside("/usr/lib", Some("x.so")));
    }

    #[test]
    fn a_pure_rust_module_is_found_in_its_package() {
        let ext = |module: &str| Extension {
            file: String::new(),
            module: module.to_owned(),
            python: "cp312".to_owned(),
            highest_versions: BTreeMap::new(),
            needed: Vec::new(),
        };
        assert!(missing_module("rpds", &[ext("rpds.rpds")]).is_none());
        assert!(missing_module("rpds", &[ext("rpds")]).is_none());
        assert!(missing_module("maou._rust", &[ext("maou._rust._rust")]).is_some());
        assert!(missing_module("rpds", &[ext("other.rpds")]).is_some());
    }

    #[test]
    fn extension_names_give_their_python_and_module() {
        assert_eq!(
            extension_python_tag("_rust.cpython-312-x86_64-linux-gnu.so").as_deref(),
            Some("cp312")
        );
        assert_eq!(
            extension_python_tag("_rust.abi3.so").as_deref(),
            Some("abi3")
        );
        assert_eq!(extension_python_tag("libfoo.so.1"), None);
        assert_eq!(
            module_of("maou/_rust.cpython-312-x86_64-linux-gnu.so"),
            "maou._rust"
        );
    }
}
