//! The workspace's `flake.nix`: nix/template/flake.nix (what `nix flake init -t` writes)
//! with its `maou-build` input at the URL where maou-build is hosted. That URL comes from
//! `--flake-url`, else the workspace's flake as init last wrote it, else maou-build's own
//! package metadata (`repository` in its Cargo.toml); init never writes a placeholder.

use std::path::Path;

use anyhow::{bail, Result};

use super::Edits;

pub const FILE: &str = "flake.nix";
const TEMPLATE: &str = include_str!("../../nix/template/flake.nix");
/// The template's input line, and the placeholder in it.
const INPUT: &str = "inputs.maou-build.url = \"";
const PLACEHOLDER: &str = "github:OWNER/maou-build";

/// The flake URL of a repository URL: `github:owner/name` for GitHub, else `git+URL`.
pub fn url_of_repository(repository: &str) -> Option<String> {
    let repository = repository.trim().trim_end_matches('/');
    if repository.is_empty() {
        return None;
    }
    let repository = repository.trim_end_matches(".git");
    Some(match repository.strip_prefix("https://github.com/") {
        Some(path) if path.split('/').count() == 2 => format!("github:{path}"),
        _ => format!("git+{repository}"),
    })
}

/// The `maou-build` input's URL in a flake's text.
fn url_in(text: &str) -> Option<&str> {
    let start = text.find(INPUT)? + INPUT.len();
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

/// Where the flake's input points: `given`, else the existing flake's, else maou-build's
/// `repository`.
pub(super) fn url(edits: &Edits, given: Option<&str>) -> Result<String> {
    if let Some(url) = given {
        if url.contains("OWNER") {
            bail!("--flake-url {url}: a placeholder; give the URL where maou-build is hosted");
        }
        return Ok(url.to_owned());
    }
    if let Some(text) = edits.text(Path::new(FILE))? {
        if let Some(url) = url_in(&text).filter(|u| *u != PLACEHOLDER) {
            return Ok(url.to_owned());
        }
    }
    match option_env!("CARGO_PKG_REPOSITORY").and_then(url_of_repository) {
        Some(url) => Ok(url),
        None => bail!(
            "where is maou-build hosted? This maou-build was built without a `repository` in \
             its Cargo.toml, and {FILE} has no maou-build input yet: pass --flake-url (for \
             example github:OWNER/maou-build, or path:/abs/path/to/a/checkout); init writes no \
             placeholder"
        ),
    }
}

/// The flake init writes, its input at `url`.
pub(super) fn text(url: &str) -> String {
    TEMPLATE.replacen(PLACEHOLDER, url, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_the_placeholder_init_replaces() {
        assert_eq!(url_in(TEMPLATE), Some(PLACEHOLDER));
        let written = text("github:someone/maou-build");
        assert_eq!(url_in(&written), Some("github:someone/maou-build"));
        assert!(!written.contains("OWNER"));
    }

    #[test]
    fn a_repository_url_becomes_a_flake_url() {
        assert_eq!(
            url_of_repository("https://github.com/a/maou-build.git").as_deref(),
            Some("github:a/maou-build")
        );
        assert_eq!(
            url_of_repository("https://git.example/a/b").as_deref(),
            Some("git+https://git.example/a/b")
        );
        assert_eq!(url_of_repository(" "), None);
    }
}
