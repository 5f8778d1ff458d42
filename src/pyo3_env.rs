//! The variables maturin gives cargo when it builds a PyO3 extension, given to develop's
//! cargo too, so that develop's build and maturin's (the one `uv run`, `uv sync` and
//! `maturin develop` run) are one build.
//!
//! pyo3's build script reruns whenever one of them changes, and with it pyo3 and every
//! crate above it (measured on a small workspace: pyo3-ffi, pyo3 and the extension
//! recompiled for a missing signature). maturin 1.x (`src/compile.rs`,
//! `configure_pyo3_env`) sets `PYO3_BUILD_EXTENSION_MODULE`, `PYO3_PYTHON`,
//! `PYTHON_SYS_EXECUTABLE`, `PYO3_ENVIRONMENT_SIGNATURE` (`cpython-3.12-64bit`), and, for a
//! stable-ABI build with PyO3 0.29 or later, `PYO3_CONFIG_FILE`: a file it writes under
//! `<target>/maturin/`. The interpreter is the one maturin is given: `maturin develop`'s is
//! the venv's (`$VIRTUAL_ENV/bin/python`), the one used here; a PEP 517 build's is uv's
//! throw-away build environment's unless maturin's build arguments name one (init writes
//! `--interpreter .venv/bin/python` for uv, [crate::doors]).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::python::Interpreter;
use crate::workspace::{StableAbi, Workspace};

/// The modification time [vars] gives maturin's configuration file: 2000-01-01, before
/// any build that reads it.
const CONFIG_FILE_AGE: std::time::Duration = std::time::Duration::from_secs(946_684_800);

/// maturin's `PYO3_CONFIG_FILE` for `interp`, when it writes one: its path under the
/// target directory and its contents.
fn config_file(
    target_dir: &Path,
    host: &str,
    interp: &Interpreter,
    abi: &StableAbi,
) -> (PathBuf, String) {
    let v = interp.minor;
    let path = target_dir.join("maturin").join(format!(
        "pyo3-config-{host}-{}.{}-abi3.txt",
        v.major, v.minor
    ));
    let min = abi.min.unwrap_or(v);
    let contents = format!(
        "implementation=CPython\nversion={}.{}\ntarget_abi=CPython-abi3-{}.{}\nshared=true\n\
         build_flags=\nsuppress_build_script_link_lines=false",
        min.major, min.minor, min.major, min.minor
    );
    (path, contents)
}

/// The variables for a build of `ws`'s extension with `interp`, run as `python` (the venv's
/// `bin/python`, as maturin names it), on the host `host` (rustc's target triple). Writes
/// maturin's configuration file when it is needed and missing; one that exists is kept as
/// it is (maturin rewrites it only when its own contents differ, which would rebuild pyo3).
pub fn vars(
    ws: &Workspace,
    interp: &Interpreter,
    python: &Path,
    host: &str,
) -> Result<Vec<(String, String)>> {
    let python = python.to_string_lossy().into_owned();
    let mut vars = vec![
        ("PYO3_BUILD_EXTENSION_MODULE".to_owned(), "1".to_owned()),
        ("PYO3_PYTHON".to_owned(), python.clone()),
        ("PYTHON_SYS_EXECUTABLE".to_owned(), python),
        (
            "PYO3_ENVIRONMENT_SIGNATURE".to_owned(),
            format!(
                "cpython-{}.{}-64bit",
                interp.minor.major, interp.minor.minor
            ),
        ),
    ];
    if let Some(abi) = ws.stable_abi.as_ref().filter(|a| a.with_config_file()) {
        // maturin names it through cargo's target directory as cargo metadata gives it:
        // the store `target/` links to.
        let target =
            fs::canonicalize(&ws.target_directory).unwrap_or_else(|_| ws.target_directory.clone());
        let (path, contents) = config_file(&target, host, interp, abi);
        if !path.is_file() {
            fs::create_dir_all(path.parent().expect("a file in a directory"))?;
            crate::fsutil::write_atomic(&path, contents.as_bytes())?;
            // pyo3's build scripts watch this file's time (`rerun-if-changed`). Its contents
            // follow from its name (the host, the interpreter's version, the ABI), so a new
            // copy of the same file must not look newer than a build made with the old one:
            // a restored dependency build ([crate::deps_archive]) would rebuild pyo3.
            crate::fsutil::set_modified(
                &path,
                std::time::SystemTime::UNIX_EPOCH + CONFIG_FILE_AGE,
            )?;
        }
        vars.push((
            "PYO3_CONFIG_FILE".to_owned(),
            path.to_string_lossy().into_owned(),
        ));
    }
    Ok(vars)
}
