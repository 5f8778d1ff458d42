//! The flake's derivations as Nix wrote them: evaluated by the nix-eval harness
//! (`eval-flake.sh`, the real crane, fenix and nixpkgs lib), read back with
//! `nix show-derivation`. The replay takes every command and variable from here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::process;

/// One `.drv`, as `nix show-derivation` prints it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Derivation {
    pub outputs: BTreeMap<String, Output>,
    #[serde(default)]
    pub input_srcs: Vec<String>,
    #[serde(default)]
    pub input_drvs: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Output {
    pub path: String,
    /// A fixed-output derivation's hash (hex), with `hashAlgo`.
    #[serde(default)]
    pub hash: Option<String>,
    #[serde(rename = "hashAlgo", default)]
    pub hash_algo: Option<String>,
}

impl Derivation {
    pub fn out(&self) -> Result<&str> {
        self.outputs
            .get("out")
            .map(|o| o.path.as_str())
            .context("the derivation has no `out` output")
    }

    pub fn var(&self, name: &str) -> &str {
        self.env.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Where the nix-eval harness is: `dir` if given, else MAOU_BUILD_NIX_EVAL, else
/// `../shared/nix-eval` beside the workspace.
pub fn harness(dir: Option<&Path>, workspace: &Path) -> Result<PathBuf> {
    let dir = dir
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("MAOU_BUILD_NIX_EVAL").map(PathBuf::from))
        .unwrap_or_else(|| workspace.join("../shared/nix-eval"));
    if !dir.join("eval-flake.sh").is_file() {
        bail!(
            "the replay evaluates the flake with nix-eval's eval-flake.sh, which is not in {}: \
             pass --nix-eval DIR or set MAOU_BUILD_NIX_EVAL",
            dir.display()
        );
    }
    Ok(dir)
}

/// Evaluates the flake in `flake` and returns each package's `.drv` by name.
pub fn evaluate(harness: &Path, flake: &Path) -> Result<BTreeMap<String, String>> {
    let script = harness.join("eval-flake.sh");
    let shown = format!("{} {}", script.display(), flake.display());
    let out = duct::cmd(&script, [flake])
        .stderr_to_stdout()
        .stdout_capture()
        .unchecked()
        .run()
        .with_context(|| {
            format!("could not run `{shown}` (needs nix-instantiate: apt-get install nix-bin)")
        })?;
    let said = String::from_utf8_lossy(&out.stdout);
    let mut packages = BTreeMap::new();
    let mut in_packages = false;
    for line in said.lines() {
        if line.ends_with(".x86_64-linux:") {
            in_packages = line.starts_with("packages.");
        } else if let (true, Some((name, rest))) = (in_packages, line.trim().split_once(": OK ")) {
            packages.insert(name.to_owned(), rest.trim().to_owned());
        }
    }
    if !out.status.success() || packages.is_empty() {
        bail!(
            "`{shown}` did not evaluate the flake's packages ({}):\n{}",
            out.status,
            crate::messages::tail(&said, 30)
        );
    }
    Ok(packages)
}

/// `drv` and every derivation it needs, by `.drv` path.
pub fn closure(drv: &str) -> Result<BTreeMap<String, Derivation>> {
    let json = process::output(
        "nix",
        [
            "--extra-experimental-features",
            "nix-command",
            "show-derivation",
            "-r",
            drv,
        ],
        None,
    )?;
    serde_json::from_str(&json).with_context(|| {
        format!("`nix show-derivation -r {drv}` printed JSON this replay does not read")
    })
}

/// `builtins.placeholder "out"`: what Nix replaces with the output path at build time.
pub fn out_placeholder() -> Result<String> {
    let said = process::output(
        "nix-instantiate",
        ["--eval", "--expr", "builtins.placeholder \"out\""],
        None,
    )?;
    Ok(said.trim().trim_matches('"').to_owned())
}
