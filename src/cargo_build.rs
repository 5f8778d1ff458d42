//! Building the cdylib with cargo: progress and rustc's messages stream to the terminal,
//! while cargo's JSON messages tell which units were compiled and where the library is.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::profile::DevOverride;
use crate::workspace::{DevDylib, Features, Profile, Workspace};

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
    /// The profile built, resolved from the workspace's `Cargo.toml`.
    pub profile: &'a Profile,
    pub jobs: usize,
    /// Every switch of the build: `[tool.maturin]`'s and the command line's together.
    pub features: Features,
    /// The build environment's variables ([crate::build_env::BuildEnv::vars]) and maturin's
    /// PyO3 variables ([crate::pyo3_env::vars]), so that its builds (uv's door) and this
    /// one are one.
    pub env: Vec<(String, String)>,
    /// Overrides of that profile, on cargo's command line.
    pub dev_override: Option<DevOverride>,
}

#[derive(Debug)]
pub struct Outcome {
    /// The built shared library.
    pub library: PathBuf,
    /// The workspace's dev dylib as built, when the build links through it.
    pub dev_dylib: Option<PathBuf>,
    /// Units rustc compiled in this build (name and kind), in cargo's order.
    pub compiled: Vec<String>,
    pub elapsed: Duration,
}

/// The workspace's dev dylib, when a build of `profile` links the third-party crates
/// through it: the editable profile's builds (the cdylib's build script links it under that
/// profile only), unless that profile has cross-crate LTO (which links every crate
/// statically), and not the seed's configuration.
pub fn dev_dylib<'w>(
    ws: &'w Workspace,
    profile: &Profile,
    dev_override: Option<DevOverride>,
) -> Option<&'w DevDylib> {
    ws.dev_dylib.as_ref().filter(|_| {
        profile.name == ws.editable_profile_name()
            && !profile.lto
            && dev_override != Some(DevOverride::Seed)
    })
}

/// `features` and, when a build links through `dylib`, its feature.
pub fn with_dev_dylib(features: &Features, dylib: Option<&DevDylib>) -> Features {
    match dylib {
        Some(d) => features.and(&Features {
            features: vec![d.feature.clone()],
            ..Features::default()
        }),
        None => features.clone(),
    }
}

impl Request<'_> {
    /// The workspace's dev dylib, when this build links the third-party crates through it.
    pub fn dev_dylib(&self) -> Option<&DevDylib> {
        dev_dylib(self.ws, self.profile, self.dev_override)
    }

    /// Every feature switch of the build: the request's (`[tool.maturin] features`, where
    /// init puts the dev dylib's, and the command line's), and the dev dylib's feature when
    /// it links through it and they lack it. The seed's configuration (the bench's
    /// baseline) links statically: without it.
    pub fn features(&self) -> Features {
        match (&self.ws.dev_dylib, self.dev_override) {
            (Some(d), Some(DevOverride::Seed)) => self.features.without(&d.feature),
            _ => with_dev_dylib(&self.features, self.dev_dylib()),
        }
    }

    /// cargo's arguments: those maturin gives it (`cargo rustc --lib` with the profile and
    /// the features, nothing for rustc itself), so that develop's build and maturin's
    /// share every fingerprint; what the dev dylib needs at link time comes from the
    /// cdylib's build script ([crate::placement]).
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
        args.extend(self.profile.cargo_args());
        args.extend(self.features().args());
        // `[tool.maturin] config` and `unstable-flags`, as maturin passes them.
        for c in &self.ws.cargo_config {
            args.extend(["--config".to_owned(), c.clone()]);
        }
        for z in &self.ws.unstable_flags {
            args.extend(["-Z".to_owned(), z.clone()]);
        }
        args.extend(
            self.dev_override
                .iter()
                .flat_map(|o| o.args(&self.profile.name)),
        );
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

    pub fn env(&self) -> Vec<(String, String)> {
        // No CARGO_TARGET_DIR: cargo finds its target directory itself (`target/`, the link
        // to the store, or what the user chose), and sccache hashes CARGO_* variables into
        // its keys, so a per-checkout path here would make every other checkout miss.
        self.env.clone()
    }

    /// Runs the build. On failure cargo has already printed rustc's errors.
    pub fn run(&self) -> Result<Outcome> {
        let started = Instant::now();
        let expr = crate::build_env::child(
            "cargo",
            self.args(),
            &self.ws.cargo_workspace_root,
            &self.env(),
        );
        let mut compiled = Vec::new();
        let mut library = None;
        let mut dev_dylib = None;
        let dylib_name = self.dev_dylib().map(|d| d.krate.lib_name.as_str());
        let mut success = false;
        let status = crate::process::each_line(expr, &self.shown(), |line| {
            match serde_json::from_str::<Message>(line) {
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
                    } else if target.kind.iter().any(|k| k == "dylib")
                        && Some(target.name.as_str()) == dylib_name
                    {
                        dev_dylib = filenames
                            .into_iter()
                            .find(|f| f.extension().is_some_and(|e| e == "so"));
                    }
                }
                Ok(Message::BuildFinished { success: s }) => success = s,
                Ok(Message::Other) => {}
                // Not JSON: rustc's rendered diagnostics, a build script's or cargo's own
                // line; show it.
                Err(_) => eprint!("{line}"),
            }
        })?;
        if !success || !status {
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
            dev_dylib,
            compiled,
            elapsed: started.elapsed(),
        })
    }
}
