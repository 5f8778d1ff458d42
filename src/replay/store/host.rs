//! What the replay takes from the host instead of building it: nixpkgs' packages (the
//! harness's stubs) as the host's programs, fenix's toolchain as the host's toolchain of
//! the same version, and crate fetches from cargo's cache or crates.io, hash checked.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::super::drv::Derivation;
use super::{make_executable, Store};
use crate::messages::note;
use crate::process;

/// Packages of nixpkgs the replay takes from the host: the nixpkgs name and the
/// executables its `bin/` has. python3, zig and the toolchain are handled apart.
const HOST_TOOLS: &[(&str, &[&str])] = &[
    ("lld", &["ld.lld", "lld"]),
    ("zstd", &["zstd", "unzstd"]),
    ("rsync", &["rsync"]),
    ("maturin", &["maturin"]),
    ("jq", &["jq"]),
    ("gnutar", &["tar"]),
];

impl Store {
    pub(super) fn host_toolchain(&self, out: &Path, version: &str) -> Result<()> {
        let said = process::output("rustc", ["--version"], None)?;
        if !said.contains(&format!("rustc {version} ")) {
            bail!(
                "the flake's toolchain is Rust {version}, the host's `rustc` is {}: the replay \
                 runs the host's toolchain in its place and needs the same version",
                said.trim()
            );
        }
        // Hard links, not a symlink: rustc finds its sysroot from its own path, and crane's
        // hooks expect that to be a store path, as fenix's is.
        let sysroot = process::output("rustc", ["--print", "sysroot"], None)?;
        let (from, to) = (format!("{}/.", sysroot.trim()), out.display().to_string());
        fs::create_dir_all(out)?;
        process::output("cp", ["-a", "--link", from.as_str(), to.as_str()], None)
            .or_else(|_| process::output("cp", ["-a", from.as_str(), to.as_str()], None))
            .map(|_| ())
    }

    /// A nixpkgs package the harness stubs: the host's program of that name.
    pub(super) fn host_package(&self, d: &Derivation, out: &Path) -> Result<()> {
        if d.var("name").starts_with("stdenv-") {
            // Every derivation's `stdenv`: its part is played by stdenv.sh.
            return fs::create_dir_all(out)
                .with_context(|| format!("cannot create {}", out.display()));
        }
        let pname = d.var("pname");
        let bin = out.join("bin");
        fs::create_dir_all(&bin).with_context(|| format!("cannot create {}", bin.display()))?;
        let link = |program: &Path, name: &str| -> Result<()> {
            std::os::unix::fs::symlink(program, bin.join(name))
                .with_context(|| format!("cannot link {name} in {}", bin.display()))
        };
        match pname {
            "python3" => {
                let version = d.var("version");
                let minor: crate::python::Minor = version
                    .splitn(3, '.')
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(".")
                    .parse()
                    .with_context(|| format!("python3's version {version:?}"))?;
                let found = crate::python::find(minor).with_context(|| {
                    format!("the flake builds with CPython {minor}, which is not installed here")
                })?;
                for name in [format!("python{minor}"), "python3".into(), "python".into()] {
                    link(&found.executable, &name)?;
                }
            }
            "zig" => {
                // As cargo-zigbuild finds it: a zig binary, or PyPI's ziglang.
                let zig = crate::zig::find(&[])?;
                let (var, value) = &zig.env;
                let program = host_program(value).unwrap_or_else(|| PathBuf::from(value));
                let command = if var == "CARGO_ZIGBUILD_PYTHON_PATH" {
                    format!("{} -m ziglang", program.display())
                } else {
                    program.display().to_string()
                };
                let script = format!("#!/bin/sh\nexec {command} \"$@\"\n");
                fs::write(bin.join("zig"), script)?;
                make_executable(&bin.join("zig"))?;
            }
            "writableTmpDirAsHomeHook" => {
                let support = out.join("nix-support");
                fs::create_dir_all(&support)?;
                fs::write(
                    support.join("setup-hook"),
                    "export HOME=\"$NIX_BUILD_TOP\"\n",
                )?;
            }
            _ => {
                let (_, programs) = HOST_TOOLS
                    .iter()
                    .find(|(name, _)| *name == pname)
                    .with_context(|| {
                        format!(
                            "the flake needs nixpkgs' `{pname}`, for which the replay has no \
                             host stand-in (it has {}, python3, zig)",
                            HOST_TOOLS
                                .iter()
                                .map(|t| t.0)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })?;
                for program in *programs {
                    let found = host_program(program).with_context(|| {
                        format!("`{program}` (for nixpkgs' {pname}) is not on PATH")
                    })?;
                    link(&found, program)?;
                }
            }
        }
        Ok(())
    }

    /// A fixed-output fetch: a crate from cargo's download cache or crates.io.
    pub(super) fn fetch(&self, d: &Derivation, out: &Path, hash: &str) -> Result<()> {
        let url = d.var("url");
        let Some(rest) = url.strip_prefix("https://static.crates.io/crates/") else {
            bail!("cannot fetch {url} here: the replay fetches crates only");
        };
        let mut parts = rest.split('/');
        let (name, version) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let file = format!("{name}-{version}.crate");
        let cached = cargo_download_caches()
            .into_iter()
            .map(|dir| dir.join(&file))
            .find(|p| p.is_file());
        let bytes = match cached {
            Some(path) => {
                fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?
            }
            None => {
                // curl, as nixpkgs' fetchurl: it trusts the machine's certificate store.
                note(format!("replay: downloading {url}"));
                let tmp = self.root.join(format!(".download-{file}"));
                let shown = tmp.display().to_string();
                process::output(
                    "curl",
                    ["-fsSL", "--retry", "3", "-o", shown.as_str(), url],
                    None,
                )?;
                let bytes = fs::read(&tmp).with_context(|| format!("cannot read {shown}"))?;
                let _ = fs::remove_file(&tmp);
                bytes
            }
        };
        let got = crate::wheel_format::sha256_hex(&bytes);
        if got != hash {
            bail!("{file} has sha256 {got}, the derivation expects {hash}");
        }
        fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))
    }
}

/// `rust-1.95.0`, `rustc-1.95.0`, `cargo-1.95.0`: the toolchain (fenix's or nixpkgs').
pub(super) fn toolchain_version(name: &str) -> Option<&str> {
    let version = ["rust-", "rustc-", "cargo-"]
        .iter()
        .find_map(|p| name.strip_prefix(p))?;
    let numeric = version.split('.').count() == 3
        && version
            .split('.')
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    numeric.then_some(version)
}

/// A package of the harness's stub nixpkgs: no builder of its own.
pub(super) fn is_package_stub(d: &Derivation) -> bool {
    [
        "buildCommand",
        "buildPhase",
        "installPhase",
        "unpackPhase",
        "src",
        "outputHash",
    ]
    .iter()
    .all(|k| !d.env.contains_key(*k))
}

/// `name` (a program on PATH, or a path) as the file to run: through a pyenv shim to the
/// program it starts, since the shim needs pyenv on a PATH a build does not have.
fn host_program(name: &str) -> Option<PathBuf> {
    let found = if name.contains('/') {
        PathBuf::from(name)
    } else {
        process::on_path(name)?
    };
    Some(process::resolve_pyenv_shim(found))
}

/// cargo's caches of downloaded `.crate` files.
fn cargo_download_caches() -> Vec<PathBuf> {
    let Some(cache) = crate::fsutil::cargo_home().map(|h| h.join("registry/cache")) else {
        return Vec::new();
    };
    fs::read_dir(cache)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default()
}
