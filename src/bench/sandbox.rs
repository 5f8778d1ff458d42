//! The sandbox: a copy of the workspace with caches of its own, where every timed
//! command runs.

use std::cell::Cell;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::{Cmd, Failure, Interrupted, Ran};
use crate::messages::note;
use crate::workspace::{Crate, Workspace};

/// A copy of the workspace in a temporary directory, with its own sccache directory and
/// server, target store, venv and uv cache: nothing the user has is read or written,
/// except cargo's registry of downloaded crates.
pub struct Sandbox {
    tmp: tempfile::TempDir,
    /// The copied directory: the workspace root, or the directory above it that also
    /// holds the cargo workspace.
    top: PathBuf,
    pub root: PathBuf,
    pub ws: Workspace,
    pub venv: PathBuf,
    exe: PathBuf,
    sccache: PathBuf,
    port: u16,
    edits: Cell<u32>,
    interrupted: Arc<AtomicBool>,
}

impl Sandbox {
    pub fn new(ws: &Workspace, interrupted: Arc<AtomicBool>) -> Result<Sandbox> {
        let tmp = tempfile::Builder::new()
            .prefix("maou-build-bench-")
            .tempdir()
            .context("cannot create a temporary directory for the copy")?;
        // The copy must hold both pyproject.toml and the cargo workspace.
        let top = if ws.cargo_workspace_root.starts_with(&ws.root) {
            ws.root.clone()
        } else if ws.root.starts_with(&ws.cargo_workspace_root) {
            ws.cargo_workspace_root.clone()
        } else {
            bail!(
                "{} and the cargo workspace {} are not one inside the other: bench copies one \
                 directory",
                ws.root.display(),
                ws.cargo_workspace_root.display()
            );
        };
        let name = top.file_name().unwrap_or_default();
        let copy_top = tmp.path().join(name);
        crate::fsutil::copy_sources(&top, &copy_top, &extension_prefix(ws))
            .with_context(|| format!("copying {} to {}", top.display(), copy_top.display()))?;
        let root = match ws.root.strip_prefix(&top) {
            Ok(rel) if !rel.as_os_str().is_empty() => copy_top.join(rel),
            _ => copy_top.clone(),
        };
        let copied = Workspace::load(&root.join("pyproject.toml"))?;
        let sccache = crate::sccache::program()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .context("cannot find a free port for the sandbox's sccache server")?;
        Ok(Sandbox {
            // Where uv keeps a project's venv, which the build arguments init writes for uv
            // name ([crate::doors::uv_interpreter_args]).
            venv: root.join(crate::editable::VENV),
            tmp,
            top: copy_top,
            root,
            ws: copied,
            exe: crate::process::own_exe()?,
            sccache,
            port,
            edits: Cell::new(0),
            interrupted,
        })
    }

    pub fn caches(&self) -> PathBuf {
        self.tmp.path().join("caches")
    }

    pub fn exe(&self) -> String {
        self.exe.to_string_lossy().into_owned()
    }

    pub fn sccache_program(&self) -> String {
        self.sccache.to_string_lossy().into_owned()
    }

    pub fn sccache_dir(&self) -> PathBuf {
        self.caches().join("sccache")
    }

    /// The environment every command of the sandbox runs with.
    pub fn env(&self) -> Vec<(String, String)> {
        let c = self.caches();
        vec![
            (
                "SCCACHE_DIR".into(),
                self.sccache_dir().display().to_string(),
            ),
            ("SCCACHE_SERVER_PORT".into(), self.port.to_string()),
            (
                "MAOU_BUILD_CACHE".into(),
                c.join("maou-build").display().to_string(),
            ),
            ("UV_CACHE_DIR".into(), c.join("uv").display().to_string()),
            (crate::team_cache::TEAM_CACHE_VAR.into(), "off".into()),
        ]
    }

    /// The command as a shell line, with the variables that matter to it.
    pub fn shown(&self, cmd: &Cmd) -> String {
        let args: Vec<OsString> = cmd.argv[1..].iter().map(Into::into).collect();
        let program = if cmd.argv[0] == self.exe() {
            "maou-build"
        } else {
            cmd.argv[0].as_str()
        };
        // The resolved sccache binary is a machine's path; on PATH it is `sccache`. Paths
        // in the user's home (a new machine's CARGO_HOME, kept) are shown from `~`.
        let home = std::env::var("HOME").ok().filter(|h| h.len() > 1);
        let mut env: Vec<(String, String)> = cmd
            .env
            .iter()
            .map(|(k, v)| {
                let shown = if *v == self.sccache_program() {
                    "sccache".to_owned()
                } else {
                    match home.as_deref().and_then(|h| v.strip_prefix(h)) {
                        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                            format!("~{rest}")
                        }
                        _ => v.clone(),
                    }
                };
                (k.clone(), shown)
            })
            .collect();
        for r in &cmd.env_remove {
            env.push((r.clone(), String::new()));
        }
        crate::process::display_with_env(env, program, &args)
    }

    /// Runs `cmd` in the copy and times it; on failure, the error carries its output.
    pub fn run(&self, step: &str, cmd: &Cmd) -> Result<Ran> {
        if self.interrupted.load(Ordering::Relaxed) {
            return Err(Interrupted.into());
        }
        let mut expr = duct::cmd(&cmd.argv[0], &cmd.argv[1..])
            .dir(&self.root)
            .stdout_capture()
            .stderr_capture()
            .unchecked();
        // In duct the first call for a name wins: the command's own variables first, then
        // the sandbox's, then the removals of what the user's environment would leak in (a
        // parent cargo's crate variables, a team cache: bench measures without one unless a
        // scenario names its own).
        for (k, v) in &cmd.env {
            expr = expr.env(k, v);
        }
        for k in &cmd.env_remove {
            expr = expr.env_remove(k);
        }
        for (k, v) in self.env() {
            expr = expr.env(k, v);
        }
        for name in crate::build_env::leaked_crate_vars()
            .into_iter()
            .chain(crate::team_cache::inherited_remote_vars())
        {
            expr = expr.env_remove(name);
        }
        let started = Instant::now();
        let out = expr
            .run()
            .with_context(|| format!("could not run `{}`", self.shown(cmd)))?;
        let seconds = started.elapsed().as_secs_f64();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if self.interrupted.load(Ordering::Relaxed) {
            return Err(Interrupted.into());
        }
        if !out.status.success() {
            return Err(Failure {
                step: step.to_owned(),
                command: self.shown(cmd),
                output: format!(
                    "{}\n{}",
                    String::from_utf8_lossy(&out.stderr).trim_end(),
                    stdout.trim_end()
                ),
            }
            .into());
        }
        Ok(Ran {
            seconds,
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Appends an item that changes the crate (and so its hash) without changing what it
    /// does, to the crate's root file.
    pub fn edit_crate(&self, krate: &Crate) -> Result<()> {
        krate.edit(self.next_edit())
    }

    /// Raises the crate's patch version (after an edit, as maou's CLAUDE.md asks): its
    /// `-C metadata` changes, and with it every dependent's.
    pub fn bump_version(&self, krate: &Crate) -> Result<String> {
        krate.bump_patch_version(&self.ws.cargo_workspace_root.join("Cargo.toml"))
    }

    /// Appends a comment to a Python file of the package.
    pub fn edit_python(&self) -> Result<PathBuf> {
        let file = first_python_file(&self.ws.package_dir())?;
        crate::fsutil::append(
            &file,
            &format!("# maou-build bench edit {}\n", self.next_edit()),
        )?;
        Ok(file)
    }

    fn next_edit(&self) -> u32 {
        self.edits.set(self.edits.get() + 1);
        self.edits.get()
    }

    pub fn stop_sccache(&self) {
        let mut expr = duct::cmd(&self.sccache, ["--stop-server"])
            .stdout_null()
            .stderr_null()
            .unchecked();
        for (k, v) in self.env() {
            expr = expr.env(k, v);
        }
        let _ = expr.run();
    }

    /// Empties every cache of the sandbox: the next build is a cold one.
    pub fn make_cold(&self) -> Result<()> {
        self.stop_sccache();
        remove(&self.sccache_dir())?;
        remove(&self.caches().join("maou-build"))?;
        remove_target_link(&self.target_link())?;
        Ok(())
    }

    /// Replaces the copy with a fresh checkout at the same path (what a new machine
    /// clones): the sources only, no `target/` link, no built extension. The venv is
    /// removed too.
    pub fn fresh_checkout(&self) -> Result<()> {
        let previous = self.top.with_extension("previous");
        remove(&previous)?;
        fs::rename(&self.top, &previous)
            .with_context(|| format!("cannot move {} away", self.top.display()))?;
        crate::fsutil::copy_sources(&previous, &self.top, &extension_prefix(&self.ws))
            .with_context(|| format!("copying {} back", previous.display()))?;
        remove(&previous)?;
        remove(&self.venv)
    }

    /// A fresh checkout of the copy under another path (`elsewhere/<name>` in the
    /// sandbox): the workspace root there.
    pub fn checkout_elsewhere(&self, name: &str) -> Result<PathBuf> {
        let top = self
            .tmp
            .path()
            .join(name)
            .join(self.top.file_name().unwrap_or_default());
        remove(&top)?;
        crate::fsutil::copy_sources(&self.top, &top, &extension_prefix(&self.ws))
            .with_context(|| format!("copying {} to {}", self.top.display(), top.display()))?;
        Ok(top.join(self.root.strip_prefix(&self.top).unwrap_or(Path::new(""))))
    }

    /// Where develop links `target/`: beside the cargo workspace's `Cargo.toml`.
    fn target_link(&self) -> PathBuf {
        self.ws.cargo_workspace_root.join("target")
    }

    /// The target store develop links `target/` to.
    pub fn target_store(&self) -> Option<PathBuf> {
        fs::read_link(self.target_link()).ok()
    }

    pub fn remove_target_link(&self) -> Result<()> {
        remove_target_link(&self.target_link())
    }

    pub fn note(&self, msg: impl AsRef<str>) {
        note(format!("bench: {}", msg.as_ref()));
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_sccache();
    }
}

/// What a built extension's file name starts with (`_rust.` for `maou._rust`): copies
/// leave such files out.
fn extension_prefix(ws: &Workspace) -> String {
    format!("{}.", ws.module_leaf())
}

fn remove(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

fn remove_target_link(target: &Path) -> Result<()> {
    match fs::symlink_metadata(target) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::remove_file(target).with_context(|| format!("cannot remove {}", target.display()))
        }
        Ok(_) => remove(target),
        Err(_) => Ok(()),
    }
}

fn first_python_file(dir: &Path) -> Result<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    files
        .into_iter()
        .next()
        .with_context(|| format!("no Python file in {} to edit", dir.display()))
}
