//! Reading the parts of an ELF shared object that decide whether it runs on another Linux:
//! what it links against, with which symbol versions, and where it looks for libraries.
//! Parsing is goblin's; this module only gathers the facts and, for `--repair`, edits
//! the dynamic section the way patchelf does.

use anyhow::{bail, Context, Result};
use goblin::elf::dynamic::{DT_NEEDED, DT_NULL, DT_RPATH, DT_RUNPATH, DT_SONAME};
use goblin::elf::header::{EM_X86_64, ET_DYN};
use goblin::elf::program_header::PT_DYNAMIC;
use goblin::elf::section_header::SHN_UNDEF;
use goblin::elf::Elf;
use serde::Serialize;

/// A symbol the object needs at a given version, from a given library
/// (`memfd_create@GLIBC_2.27` from `libc.so.6`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionedRef {
    pub symbol: String,
    /// The version name as the ELF spells it: `GLIBC_2.27`, `GLIBCXX_3.4.29`.
    pub version: String,
    /// The library the version requirement is recorded against.
    pub library: String,
}

/// A run-time search path entry: `DT_RPATH` (`rpath`) or `DT_RUNPATH` (`runpath`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchPath {
    pub kind: &'static str,
    pub path: String,
}

/// Where a forbidden byte string (a `/nix/store` path) occurs in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    pub offset: usize,
    /// The section holding it, when one does.
    pub section: Option<String>,
    /// The text around it, up to the next NUL or non-printable byte.
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ElfFacts {
    pub is_64: bool,
    pub machine: &'static str,
    pub shared_object: bool,
    pub needed: Vec<String>,
    pub search_paths: Vec<SearchPath>,
    /// Versioned symbols the object imports, one entry per symbol and version.
    pub versioned: Vec<VersionedRef>,
    /// Version requirements with no symbol that uses them in `.dynsym` (rare, but the
    /// loader checks them all the same).
    pub unused_versions: Vec<VersionedRef>,
    pub nix_store: Vec<Occurrence>,
    /// Defined `PyInit_*` symbols: the module names Python can import this file as.
    pub python_inits: Vec<String>,
}

const NIX_STORE: &[u8] = b"/nix/store/";

fn machine_name(machine: u16) -> &'static str {
    match machine {
        EM_X86_64 => "x86_64",
        goblin::elf::header::EM_386 => "i386",
        goblin::elf::header::EM_AARCH64 => "aarch64",
        goblin::elf::header::EM_ARM => "arm",
        goblin::elf::header::EM_PPC64 => "ppc64",
        goblin::elf::header::EM_S390 => "s390",
        goblin::elf::header::EM_RISCV => "riscv",
        _ => "other",
    }
}

/// The strings of the `.comment` section (compilers and linker stamp their names there:
/// `Linker: LLD 17.0.6`, `Linker: Debian LLD 14.0.6`), or none when it cannot be read.
pub fn comments(bytes: &[u8]) -> Vec<String> {
    let Ok(elf) = Elf::parse(bytes) else {
        return Vec::new();
    };
    let Some(section) = elf
        .section_headers
        .iter()
        .find(|h| elf.shdr_strtab.get_at(h.sh_name) == Some(".comment"))
    else {
        return Vec::new();
    };
    let (start, size) = (section.sh_offset as usize, section.sh_size as usize);
    let Some(data) = bytes.get(start..start.saturating_add(size)) else {
        return Vec::new();
    };
    data.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Whether a `.comment` entry says lld linked the file, however the distribution names
/// it (`Linker: LLD 17.0.6`, `Linker: Debian LLD 14.0.6`, `Linker: Ubuntu LLD 18.1.3`).
pub fn linked_by_lld(comment: &str) -> bool {
    comment
        .strip_prefix("Linker:")
        .is_some_and(|rest| rest.split_whitespace().any(|w| w == "LLD"))
}

pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// The versioned symbols the object imports, and the versions it requires that no symbol
/// uses.
fn symbol_versions(elf: &Elf) -> (Vec<VersionedRef>, Vec<VersionedRef>) {
    let name_at = |offset: usize| elf.dynstrtab.get_at(offset).unwrap_or("?").to_owned();
    // Version index (vna_other) -> (version name, library it is required from).
    let mut needed_versions = std::collections::BTreeMap::new();
    if let Some(verneed) = &elf.verneed {
        for need in verneed.iter() {
            let library = name_at(need.vn_file);
            for aux in need.iter() {
                needed_versions.insert(aux.vna_other, (name_at(aux.vna_name), library.clone()));
            }
        }
    }
    let mut versioned = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    if let Some(versym) = &elf.versym {
        for (index, sym) in elf.dynsyms.iter().enumerate() {
            if sym.st_shndx != SHN_UNDEF as usize {
                continue;
            }
            let Some(ver) = versym.get_at(index) else {
                continue;
            };
            if let Some((version, library)) = needed_versions.get(&ver.version()) {
                used.insert(ver.version());
                versioned.push(VersionedRef {
                    symbol: name_at(sym.st_name),
                    version: version.clone(),
                    library: library.clone(),
                });
            }
        }
    }
    let unused = needed_versions
        .iter()
        .filter(|(index, _)| !used.contains(*index))
        .map(|(_, (version, library))| VersionedRef {
            symbol: String::new(),
            version: version.clone(),
            library: library.clone(),
        })
        .collect();
    (versioned, unused)
}

/// The object's RPATH and RUNPATH entries.
fn search_paths(elf: &Elf) -> Vec<SearchPath> {
    let mut paths = Vec::new();
    for (kind, list) in [("rpath", &elf.rpaths), ("runpath", &elf.runpaths)] {
        for value in list {
            paths.extend(
                value
                    .split(':')
                    .filter(|p| !p.is_empty())
                    .map(|p| SearchPath {
                        kind,
                        path: p.to_owned(),
                    }),
            );
        }
    }
    paths
}

/// Reads the facts from the bytes of an ELF file. `what` names it in errors.
pub fn inspect(bytes: &[u8], what: &str) -> Result<ElfFacts> {
    if !is_elf(bytes) {
        bail!("{what} is not an ELF file (it does not start with \\x7fELF)");
    }
    let elf = Elf::parse(bytes)
        .with_context(|| format!("{what} is not a readable ELF file (truncated or corrupt)"))?;
    let strtab = &elf.dynstrtab;
    let name_at = |offset: usize| strtab.get_at(offset).unwrap_or("?").to_owned();
    let (versioned, unused_versions) = symbol_versions(&elf);

    Ok(ElfFacts {
        is_64: elf.is_64,
        machine: machine_name(elf.header.e_machine),
        shared_object: elf.header.e_type == ET_DYN,
        needed: elf.libraries.iter().map(|l| (*l).to_owned()).collect(),
        search_paths: search_paths(&elf),
        versioned,
        unused_versions,
        nix_store: find_nix_store(bytes, &elf),
        python_inits: elf
            .dynsyms
            .iter()
            .filter(|s| s.st_shndx != SHN_UNDEF as usize)
            .map(|s| name_at(s.st_name))
            .filter(|n| n.starts_with("PyInit_"))
            .collect(),
    })
}

fn find_nix_store(bytes: &[u8], elf: &Elf) -> Vec<Occurrence> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(pos) = find(&bytes[from..], NIX_STORE) {
        let offset = from + pos;
        if !is_store_path(&bytes[offset + NIX_STORE.len()..]) {
            // The prefix alone (a message that names the store, as maou-build's own do)
            // points at nothing.
            from = offset + 1;
            continue;
        }
        let section = elf
            .section_headers
            .iter()
            .find(|s| {
                s.sh_type != goblin::elf::section_header::SHT_NOBITS
                    && (s.sh_offset as usize..(s.sh_offset + s.sh_size) as usize).contains(&offset)
            })
            .and_then(|s| elf.shdr_strtab.get_at(s.sh_name))
            .map(str::to_owned);
        let end = bytes[offset..]
            .iter()
            .position(|b| !(0x20..0x7f).contains(b))
            .map_or(bytes.len(), |n| offset + n);
        found.push(Occurrence {
            offset,
            section,
            text: String::from_utf8_lossy(&bytes[offset..end.min(offset + 160)]).into_owned(),
        });
        from = end.max(offset + 1);
    }
    found
}

/// Whether `rest` (what follows `/nix/store/`) starts as a store path does: a 32-character
/// hash in Nix's base-32 alphabet, then `-`.
fn is_store_path(rest: &[u8]) -> bool {
    const NIX32: &[u8] = b"0123456789abcdfghijklmnpqrsvwxyz";
    rest.len() > 32 && rest[..32].iter().all(|b| NIX32.contains(b)) && rest[32] == b'-'
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Where the dynamic array and its string table are in the file, and the array's
/// entries (tag, value).
struct DynamicLayout {
    dyn_offset: usize,
    strtab_offset: usize,
    entries: Vec<(u64, u64)>,
}

/// The file's [DynamicLayout], or None for a file without a dynamic section. Only 64-bit
/// little-endian files are edited.
fn dynamic_layout(bytes: &[u8], what: &str) -> Result<Option<DynamicLayout>> {
    let elf = Elf::parse(bytes)
        .with_context(|| format!("{what} is not a readable ELF file (truncated or corrupt)"))?;
    if !elf.is_64 || !elf.little_endian {
        bail!("{what}: only 64-bit little-endian ELF files can be edited");
    }
    let Some(dynamic) = &elf.dynamic else {
        return Ok(None);
    };
    let dyn_offset = elf
        .program_headers
        .iter()
        .find(|p| p.p_type == PT_DYNAMIC)
        .map(|p| p.p_offset as usize)
        .with_context(|| format!("{what} has a dynamic section but no PT_DYNAMIC segment"))?;
    let strtab_offset = file_offset(&elf, dynamic.info.strtab as u64)
        .with_context(|| format!("{what}: the dynamic string table is not in any segment"))?;
    let entries = dynamic.dyns.iter().map(|d| (d.d_tag, d.d_val)).collect();
    Ok(Some(DynamicLayout {
        dyn_offset,
        strtab_offset,
        entries,
    }))
}

/// Removes from `DT_RPATH`/`DT_RUNPATH` every entry that `keep` rejects. An entry left
/// with paths is rewritten in place (the string only gets shorter); one left empty is
/// deleted from the dynamic array, later entries moving up, as patchelf does. Returns
/// the paths removed; `bytes` is unchanged when none was.
pub fn remove_search_paths(
    bytes: &mut [u8],
    what: &str,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<String>> {
    let Some(DynamicLayout {
        dyn_offset,
        strtab_offset,
        entries,
    }) = dynamic_layout(bytes, what)?
    else {
        return Ok(Vec::new());
    };

    const ENTRY: usize = 16;
    let mut removed = Vec::new();
    let mut deleted = 0;
    for (index, &(tag, val)) in entries.iter().enumerate() {
        if tag != DT_RPATH && tag != DT_RUNPATH {
            continue;
        }
        let start = strtab_offset + val as usize;
        let len = bytes[start..]
            .iter()
            .position(|&b| b == 0)
            .with_context(|| format!("{what}: unterminated search path string"))?;
        let value = String::from_utf8_lossy(&bytes[start..start + len]).into_owned();
        let (kept, gone): (Vec<&str>, Vec<&str>) = value
            .split(':')
            .filter(|p| !p.is_empty())
            .partition(|p| keep(p));
        if gone.is_empty() {
            continue;
        }
        // Another entry (DT_NEEDED, DT_SONAME) may share these bytes through string
        // tail merging; overwriting them would rename that library.
        let shared = entries.iter().enumerate().any(|(other, &(t, v))| {
            other != index
                && matches!(t, DT_NEEDED | DT_SONAME | DT_RPATH | DT_RUNPATH)
                && (val..val + len as u64).contains(&v)
        });
        if shared {
            bail!("{what}: the search path string {value:?} shares bytes with another dynamic entry; not repaired");
        }
        removed.extend(gone.iter().map(|p| (*p).to_owned()));
        if kept.is_empty() {
            // Shift the entries after this one up by one slot; the array keeps its
            // terminating DT_NULL because the last slot is zeroed.
            let at = dyn_offset + (index - deleted) * ENTRY;
            let end = dyn_offset + entries.len() * ENTRY;
            bytes.copy_within(at + ENTRY..end, at);
            bytes[end - ENTRY..end].fill(0);
            debug_assert_eq!(DT_NULL, 0);
            deleted += 1;
        }
        let joined = kept.join(":");
        bytes[start..start + len].fill(0);
        bytes[start..start + joined.len()].copy_from_slice(joined.as_bytes());
    }
    Ok(removed)
}

/// The file offset of a virtual address, through the loadable segments.
fn file_offset(elf: &Elf, vaddr: u64) -> Option<usize> {
    elf.program_headers
        .iter()
        .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD)
        .find(|p| (p.p_vaddr..p.p_vaddr + p.p_filesz).contains(&vaddr))
        .map(|p| (vaddr - p.p_vaddr + p.p_offset) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_store_path_counts_not_the_prefix_alone() {
        assert!(is_store_path(
            b"0123456789abcdfghijklmnpqrsvwxyz-glibc-2.40/lib"
        ));
        assert!(!is_store_path(b"called `Result::unwrap()`"));
        // `e`, `o`, `t` and `u` are not in Nix's alphabet.
        assert!(!is_store_path(b"0123456789abcdeghijklmnpqrsvwxyz-x"));
        assert!(!is_store_path(b"0123abcd-glibc"));
    }

    #[test]
    fn lld_is_recognised_however_the_distribution_names_it() {
        let said = linked_by_lld;
        assert!(said("Linker: LLD 17.0.6"));
        assert!(said("Linker: Debian LLD 14.0.6"));
        assert!(said(
            "Linker: Ubuntu LLD 18.1.3 (compatible with GNU linkers)"
        ));
        assert!(!said("GCC: (Debian 12.2.0-14) 12.2.0"));
        assert!(!said("Linker: GNU ld (GNU Binutils for Debian) 2.40"));
        assert!(!said("rustc version 1.95.0 LLD"));
    }

    #[test]
    fn not_elf_and_truncated_elf_are_named() {
        let err = inspect(b"hello", "x.so").unwrap_err();
        assert!(
            format!("{err:#}").contains("x.so is not an ELF file"),
            "{err:#}"
        );
        let mut bytes = b"\x7fELF\x02\x01\x01".to_vec();
        bytes.resize(40, 0);
        let err = inspect(&bytes, "y.so").unwrap_err();
        assert!(
            format!("{err:#}").contains("truncated or corrupt"),
            "{err:#}"
        );
    }

    #[test]
    fn this_test_binary_is_read() {
        // The running test executable is a real x86_64 ELF linked against glibc.
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let facts = inspect(&exe, "test binary").unwrap();
        assert!(facts.is_64);
        assert!(
            facts.needed.iter().any(|l| l.starts_with("libc.so")),
            "{:?}",
            facts.needed
        );
        assert!(
            facts
                .versioned
                .iter()
                .any(|v| v.version.starts_with("GLIBC_") && v.library.starts_with("libc.so")),
            "{:?}",
            facts.versioned
        );
    }
}
