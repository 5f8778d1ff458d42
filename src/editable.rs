//! The venv and the editable install that develop sets up on its first run, and again when
//! `pyproject.toml` changes.
//!
//! The install is uv's own (`uv pip install -e`), through maturin's PEP 517 backend with
//! develop's profile and features and maturin's variables ([crate::doors]): made after
//! develop's build, it finds every unit fresh, and it leaves uv's record of the project, so
//! that `uv run` and `uv sync` find it installed and build nothing. Where that cannot be
//! used (the release's extension was placed instead of a build, or uv's build fails) it is
//! a small generated wheel that holds no code: a `.pth` file that puts `python-source` on
//! `sys.path`, the package metadata (so `Requires-Dist` dependencies are installed and
//! `importlib.metadata` works) and the console scripts. Either way Python edits are live
//! with no build, ever; only the compiled extension is placed into the package by develop.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::process;
use crate::python::{self, Interpreter, Minor};
use crate::wheel_format::{escape_name, record_hash, WheelWriter};
use crate::workspace::Workspace;

const STAMP: &str = ".maou-build.json";

/// What develop remembers in the venv, so that a later run needs no interpreter probe.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stamp {
    interpreter: Interpreter,
    /// Key of the editable install last made: how, and of which pyproject.toml.
    editable: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Venv {
    pub dir: PathBuf,
    pub python: PathBuf,
    pub interpreter: Interpreter,
    /// What was done to it this run ("created with CPython 3.12.1", "editable install refreshed").
    pub actions: Vec<String>,
}

/// The venv develop builds for unless told otherwise, relative to the project's root: where
/// uv keeps a project's.
pub const VENV: &str = ".venv";

/// The interpreter of the venv at `dir`, as `maturin develop` names it
/// (`$VIRTUAL_ENV/bin/python`).
pub fn venv_python(dir: &Path) -> PathBuf {
    dir.join("bin").join("python")
}

fn read_stamp(dir: &Path) -> Option<Stamp> {
    serde_json::from_slice(&fs::read(dir.join(STAMP)).ok()?).ok()
}

fn write_stamp(dir: &Path, stamp: &Stamp) -> Result<()> {
    crate::fsutil::write_atomic(&dir.join(STAMP), &serde_json::to_vec_pretty(stamp)?)
}

fn uv() -> Result<PathBuf> {
    crate::process::on_path("uv")
        .context("uv is not on PATH: install it with `pip install uv` (or enter the Nix dev shell)")
}

/// Makes sure `dir` is a venv of an allowed CPython (`want`, else the newest installed).
/// The package is installed into it by [install].
pub fn ensure(ws: &Workspace, dir: &Path, want: Option<Minor>) -> Result<Venv> {
    let python = venv_python(dir);
    let mut actions = Vec::new();
    let mut stamp = read_stamp(dir).filter(|s| {
        python.exists()
            && s.interpreter.executable.exists()
            && s.interpreter.base_executable.is_some()
    });

    if let Some(s) = &stamp {
        if want.is_some_and(|w| w != s.interpreter.minor) {
            actions.push(format!(
                "replaced the CPython {} venv (--python {})",
                s.interpreter.minor,
                want.unwrap()
            ));
            stamp = None;
        }
    }
    if stamp.is_none() && python.exists() {
        if let Some(found) = Interpreter::probe(&python, want, "venv") {
            if ws.requires_python.allows_minor(found.minor) {
                stamp = Some(Stamp {
                    interpreter: found,
                    editable: None,
                });
            }
        }
    }
    let stamp = match stamp {
        Some(s) => s,
        None => {
            let base = python::select(&ws.requires_python, want.as_slice())?
                .pop()
                .expect("select returns at least one interpreter");
            create_venv(dir, &base)?;
            let interpreter = Interpreter::probe(&python, Some(base.minor), "venv")
                .with_context(|| format!("the new venv's {} does not run", python.display()))?;
            actions.push(format!(
                "created {} with CPython {}",
                dir.display(),
                interpreter.version
            ));
            Stamp {
                interpreter,
                editable: None,
            }
        }
    };

    write_stamp(dir, &stamp)?;
    Ok(Venv {
        dir: dir.to_path_buf(),
        python,
        interpreter: stamp.interpreter,
        actions,
    })
}

/// How the package is installed in editable mode.
pub enum Install<'a> {
    /// By uv, through maturin, with these variables and (when the workspace's `[tool.uv]`
    /// does not already give the same) these build arguments (after develop's build of the
    /// same: nothing compiles).
    Uv {
        build_args: Option<String>,
        env: &'a [(String, String)],
    },
    /// The generated wheel.
    OwnWheel,
}

/// Installs `ws` into `venv` in editable mode as `how` says, unless the same install of
/// the same pyproject.toml was made already. Says what it did in `venv.actions`; returns
/// whether it installed.
pub fn install(ws: &Workspace, venv: &mut Venv, how: Install) -> Result<bool> {
    let mut stamp = read_stamp(&venv.dir).context("the venv's record is gone")?;
    let pyproject = fs::read(&ws.pyproject)
        .with_context(|| format!("cannot read {}", ws.pyproject.display()))?;
    let wheel = EditableWheel::new(ws);
    let key = match &how {
        Install::Uv { build_args, .. } => record_hash(
            &[
                b"uv\0".as_slice(),
                &pyproject,
                build_args.as_deref().unwrap_or("").as_bytes(),
            ]
            .concat(),
        ),
        Install::OwnWheel => wheel.key.clone(),
    };
    if stamp.editable.as_deref() == Some(key.as_str()) {
        return Ok(false);
    }
    let made = match how {
        Install::Uv { build_args, env } => match install_with_uv(ws, venv, build_args, env) {
            Ok(()) => Ok(key),
            Err(e) => {
                venv.actions.push(format!(
                    "uv could not install {} editable ({e:#}): installed maou-build's own \
                     editable wheel instead, which `uv run` will replace with a build of its own",
                    ws.package
                ));
                wheel.install(&venv.python).map(|()| wheel.key.clone())
            }
        },
        Install::OwnWheel => wheel.install(&venv.python).map(|()| key),
    }?;
    venv.actions.push(format!(
        "installed {} {} in editable mode",
        ws.package, ws.version
    ));
    stamp.editable = Some(made);
    write_stamp(&venv.dir, &stamp)?;
    Ok(true)
}

/// `uv pip install -e` of the workspace, maturin given `build_args` (the profile and the
/// features and the venv's interpreter, when `[tool.uv]` does not give them: uv would join
/// two values into a list maturin cannot read), as develop builds.
fn install_with_uv(
    ws: &Workspace,
    venv: &Venv,
    build_args: Option<String>,
    env: &[(String, String)],
) -> Result<()> {
    let uv = uv()?;
    let mut args: Vec<std::ffi::OsString> = vec![
        "pip".into(),
        "install".into(),
        "--python".into(),
        venv.python.clone().into(),
    ];
    if let Some(b) = build_args {
        args.push("--config-settings-package".into());
        args.push(format!("{}:maturin.build-args={b}", ws.package).into());
    }
    args.extend(["--editable".into(), ws.root.clone().into()]);
    let vars = env.to_vec();
    let shown = process::display(&uv.to_string_lossy(), &args);
    let expr = crate::build_env::child(&uv.to_string_lossy(), args, &ws.root, &vars);
    let ok = process::each_line(expr, &shown, |line| eprint!("{line}"))?;
    if !ok {
        anyhow::bail!("`{shown}` failed");
    }
    Ok(())
}

fn create_venv(dir: &Path, base: &Interpreter) -> Result<()> {
    let existed = dir.exists();
    let args: [&std::ffi::OsStr; 6] = [
        "venv".as_ref(),
        "--quiet".as_ref(),
        "--clear".as_ref(),
        "--python".as_ref(),
        base.executable.as_os_str(),
        dir.as_os_str(),
    ];
    let created = process::stream(uv()?, args);
    if created.is_err() && !existed {
        let _ = fs::remove_dir_all(dir);
    }
    created
}

/// The editable wheel's contents, and a key that changes when they do.
struct EditableWheel {
    package: String,
    dist_info: String,
    file_name: String,
    files: Vec<(String, Vec<u8>)>,
    key: String,
}

impl EditableWheel {
    fn new(ws: &Workspace) -> EditableWheel {
        let name = escape_name(&ws.package);
        let dist_info = format!("{name}-{}.dist-info", ws.version);
        let mut metadata = format!(
            "Metadata-Version: 2.1\nName: {}\nVersion: {}\n",
            ws.package, ws.version
        );
        if let Some(summary) = &ws.description {
            metadata.push_str(&format!("Summary: {summary}\n"));
        }
        metadata.push_str(&format!("Requires-Python: {}\n", ws.requires_python));
        for dep in &ws.dependencies {
            metadata.push_str(&format!("Requires-Dist: {dep}\n"));
        }
        for (extra, deps) in &ws.optional_dependencies {
            metadata.push_str(&format!("Provides-Extra: {extra}\n"));
            for dep in deps {
                let marker = format!("extra == \"{extra}\"");
                let line = match dep.split_once(';') {
                    Some((req, m)) => format!("{}; ({}) and {marker}", req.trim(), m.trim()),
                    None => format!("{}; {marker}", dep.trim()),
                };
                metadata.push_str(&format!("Requires-Dist: {line}\n"));
            }
        }
        let mut entry_points = String::new();
        if !ws.scripts.is_empty() {
            entry_points.push_str("[console_scripts]\n");
            for (script, target) in &ws.scripts {
                entry_points.push_str(&format!("{script} = {target}\n"));
            }
        }
        let url = format!("file://{}", ws.root.display());
        let direct_url =
            serde_json::json!({"url": url, "dir_info": {"editable": true}}).to_string();
        let wheel_meta = format!(
            "Wheel-Version: 1.0\nGenerator: maou-build {}\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            env!("CARGO_PKG_VERSION")
        );
        let pth = format!("{}\n", ws.python_source.display());
        let files = vec![
            (format!("_{name}_editable.pth"), pth.into_bytes()),
            (format!("{dist_info}/METADATA"), metadata.into_bytes()),
            (format!("{dist_info}/WHEEL"), wheel_meta.into_bytes()),
            (
                format!("{dist_info}/entry_points.txt"),
                entry_points.into_bytes(),
            ),
            (
                format!("{dist_info}/direct_url.json"),
                direct_url.into_bytes(),
            ),
        ];
        let key = record_hash(
            &files
                .iter()
                .flat_map(|(n, b)| n.bytes().chain(b.iter().copied()))
                .collect::<Vec<u8>>(),
        );
        EditableWheel {
            package: ws.package.clone(),
            file_name: format!("{name}-{}-py3-none-any.whl", ws.version),
            dist_info,
            files,
            key,
        }
    }

    fn install(&self, python: &Path) -> Result<()> {
        let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        let path = dir.path().join(&self.file_name);
        let mut writer = WheelWriter::create(&path, &self.dist_info)?;
        for (name, bytes) in &self.files {
            writer.add(name, bytes)?;
        }
        writer.finish()?;
        process::stream(
            uv()?,
            [
                "pip".as_ref(),
                "install".as_ref(),
                "--quiet".as_ref(),
                "--reinstall-package".as_ref(),
                self.package.as_ref(),
                "--python".as_ref(),
                python.as_os_str(),
                path.as_os_str(),
            ] as [&std::ffi::OsStr; 8],
        )
        .context("the editable install was not made")?;
        Ok(())
    }
}
