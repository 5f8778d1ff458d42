//! Finding zig, which maturin (through cargo-zigbuild) uses as the linker to target an
//! older glibc than the machine's: a manylinux_2_28 wheel links against glibc 2.28.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::process;

/// The zig maturin will use, and the variable that makes it use that one.
#[derive(Debug, Clone, Serialize)]
pub struct Zig {
    pub version: String,
    /// How it was found, for the report: `CARGO_ZIGBUILD_ZIG_PATH`, `PATH` or
    /// `python -m ziglang`.
    pub found_via: String,
    /// Passed to maturin so that it takes this zig and no other.
    pub env: (String, String),
}

impl Zig {
    /// A zig found `found_via`, which maturin gets as `var`=`path`.
    fn new(version: String, found_via: String, var: &str, path: &Path) -> Zig {
        let env = (var.to_owned(), path.to_string_lossy().into_owned());
        Zig {
            version,
            found_via,
            env,
        }
    }
}

fn version_of(program: &Path, args: &[&str]) -> Option<String> {
    process::output(program.to_str()?, args.iter().copied(), None)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Looks for zig as cargo-zigbuild does (an explicit path, then `zig` on PATH, then the
/// `ziglang` package from PyPI), trying each of `pythons` for the last.
pub fn find(pythons: &[PathBuf]) -> Result<Zig> {
    if let Some(path) = std::env::var_os("CARGO_ZIGBUILD_ZIG_PATH").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return match version_of(&path, &["version"]) {
            Some(version) => {
                let via = format!("CARGO_ZIGBUILD_ZIG_PATH={}", path.display());
                Ok(Zig::new(version, via, "CARGO_ZIGBUILD_ZIG_PATH", &path))
            }
            None => bail!(
                "CARGO_ZIGBUILD_ZIG_PATH is {}, but `{} version` does not run; \
                 unset it or point it at a zig binary",
                path.display(),
                path.display()
            ),
        };
    }
    if let Some(zig) = process::on_path("zig") {
        if let Some(version) = version_of(&zig, &["version"]) {
            let via = format!("PATH ({})", zig.display());
            return Ok(Zig::new(version, via, "CARGO_ZIGBUILD_ZIG_PATH", &zig));
        }
    }
    let mut candidates: Vec<PathBuf> = process::on_path("python3").into_iter().collect();
    candidates.extend(pythons.iter().cloned());
    for python in candidates {
        if let Some(version) = version_of(&python, &["-m", "ziglang", "version"]) {
            let via = format!("{} -m ziglang", python.display());
            return Ok(Zig::new(
                version,
                via,
                "CARGO_ZIGBUILD_PYTHON_PATH",
                &python,
            ));
        }
    }
    bail!(
        "zig was not found: it links the wheels against glibc 2.28 (manylinux_2_28). \
         Install it with `pip install ziglang` (or put `zig` on PATH, or set \
         CARGO_ZIGBUILD_ZIG_PATH)"
    )
}
