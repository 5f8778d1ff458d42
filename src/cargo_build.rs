//! Building the cdylib with cargo: progress and rustc's messages stream to the terminal,
//! while cargo's JSON messages tell which units were compiled and where the library is.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::workspace::{Features, Workspace};

#[derive(Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
enum Message {
    CompilerArtifact {
        target: Target,
        filenames: Vec<PathBuf>,
        fresh: bool,
    },
    BuildFinished {
        success: bool,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

pub struct Request<'a> {
    pub ws: &'a Workspace,
    pub release: bool,
    pub jobs: usize,
    pub python: &'a Path,
    /// Every switch of the build: `[tool.maturin]`'s and the command line's together.
    pub features: Features,
    pub env: Vec<(&'static str, String)>,
}

#[derive(Debug)]
pub struct Outcome {
    /// The built shared library.
    pub library: PathBuf,
    /// Units rustc compiled in this build (name and kind), in cargo's order.
    pub compiled: Vec<String>,
    pub elapsed: Duration,
}

/// Variables that a parent cargo (`cargo run`, `cargo test`) set for *its* crate. The
/// inner cargo sets them again for each crate it builds, but not all of them for every
/// crate (CARGO_PRIMARY_PACKAGE, CARGO_TARGET_TMPDIR, CARGO_BIN_EXE_*), and sccache hashes
/// every CARGO_* variable rustc sees: left in place they would change cache keys with the
/// path of whatever ran maou-build.
pub fn leaked_crate_vars() -> Vec<std::ffi::OsString> {
    const EXACT: &[&str] = &[
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| {
            let n = name.to_string_lossy();
            EXACT.contains(&n.as_ref())
                || n.starts_with("CARGO_PKG_")
                || n.starts_with("CARGO_BIN_EXE_")
        })
        .collect()
}

impl Request<'_> {
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "build".to_owned(),
            "--lib".to_owned(),
            "--manifest-path".to_owned(),
            self.ws.cdylib.manifest_path.to_string_lossy().into_owned(),
            "--message-format".to_owned(),
            "json-render-diagnostics".to_owned(),
            "--jobs".to_owned(),
            self.jobs.to_string(),
        ];
        if self.release {
            args.push("--release".to_owned());
        }
        args.extend(self.features.args());
        args
    }

    /// The command line as a user could type it (for messages and the bench report).
    pub fn shown(&self) -> String {
        let args: Vec<std::ffi::OsString> = self
            .args()
            .into_iter()
            .filter(|a| a != "--message-format" && a != "json-render-diagnostics")
            .map(Into::into)
            .collect();
        crate::process::display_with_env(self.env(), "cargo", &args)
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = self.env.clone();
        env.push(("CARGO_INCREMENTAL", "0".to_owned()));
        // No CARGO_TARGET_DIR: cargo finds its target directory itself (`target/`, the link
        // to the store, or what the user chose), and sccache hashes CARGO_* variables into
        // its keys, so a per-checkout path here would make every other checkout miss.
        // PyO3 >= 0.26 leaves libpython unlinked when this is set (what maturin does).
        env.push(("PYO3_BUILD_EXTENSION_MODULE", "1".to_owned()));
        env.push(("PYO3_PYTHON", self.python.to_string_lossy().into_owned()));
        env
    }

    /// Runs the build. On failure cargo has already printed rustc's errors.
    pub fn run(&self) -> Result<Outcome> {
        let started = Instant::now();
        let mut expr = duct::cmd("cargo", self.args())
            .dir(&self.ws.cargo_workspace_root)
            .unchecked();
        for name in leaked_crate_vars() {
            expr = expr.env_remove(name);
        }
        for (k, v) in self.env() {
            expr = expr.env(k, v);
        }
        let reader = expr
            .reader()
            .with_context(|| format!("could not run `{}` (is cargo on PATH?)", self.shown()))?;
        let mut lines = BufReader::new(&reader);
        let mut compiled = Vec::new();
        let mut library = None;
        let mut success = false;
        let mut line = String::new();
        while lines
            .read_line(&mut line)
            .context("reading cargo's messages")?
            > 0
        {
            match serde_json::from_str::<Message>(&line) {
                Ok(Message::CompilerArtifact {
                    target,
                    filenames,
                    fresh,
                }) => {
                    if !fresh {
                        compiled.push(format!("{} ({})", target.name, target.kind.join(",")));
                    }
                    if target.kind.iter().any(|k| k == "cdylib")
                        && target.name == self.ws.cdylib.lib_name
                    {
                        library = filenames
                            .into_iter()
                            .find(|f| f.extension().is_some_and(|e| e == "so" || e == "dylib"));
                    }
                }
                Ok(Message::BuildFinished { success: s }) => success = s,
                Ok(Message::Other) => {}
                // Not JSON: a build script's or cargo's own line; show it.
                Err(_) => eprint!("{line}"),
            }
            line.clear();
        }
        let status = reader
            .try_wait()
            .context("waiting for cargo")?
            .map(|o| o.status);
        if !success || !status.is_some_and(|s| s.success()) {
            bail!("`{}` failed: see rustc's errors above", self.shown());
        }
        let library = library.with_context(|| {
            format!(
                "cargo built no shared library for {}: is `crate-type = [\"cdylib\"]` set in {}?",
                self.ws.cdylib.name,
                self.ws.cdylib.manifest_path.display()
            )
        })?;
        Ok(Outcome {
            library,
            compiled,
            elapsed: started.elapsed(),
        })
    }
}
