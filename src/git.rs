//! What maou-build asks git: the commit checked out, the repository it came from and
//! where it starts.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::process;

/// The full SHA of HEAD in `dir`.
pub fn head_commit(dir: &Path) -> Result<String> {
    let out = process::output("git", ["rev-parse", "HEAD"], Some(dir))
        .with_context(|| format!("cannot read the commit checked out in {}", dir.display()))?;
    let sha = out.trim().to_owned();
    check_sha(&sha)?;
    Ok(sha)
}

/// The URL of the `origin` remote in `dir`, if there is one.
pub fn origin_url(dir: &Path) -> Option<String> {
    process::output("git", ["remote", "get-url", "origin"], Some(dir))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The top directory of the git repository `dir` is in, if it is in one.
pub fn toplevel(dir: &Path) -> Option<std::path::PathBuf> {
    process::output("git", ["rev-parse", "--show-toplevel"], Some(dir))
        .ok()
        .map(|s| std::path::PathBuf::from(s.trim()))
        .filter(|p| !p.as_os_str().is_empty())
}

/// A full 40-hex commit SHA, as GitHub's refs API requires.
pub fn check_sha(sha: &str) -> Result<()> {
    if sha.len() != 40 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("{sha:?} is not a full commit SHA (40 hex digits)");
    }
    Ok(())
}
