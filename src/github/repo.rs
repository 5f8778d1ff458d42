//! Where to publish: the API and server URLs, the repository, the token.

use std::fmt;
use std::path::Path;

use anyhow::{bail, Context, Result};

const DEFAULT_API_URL: &str = "https://api.github.com";
const DEFAULT_SERVER_URL: &str = "https://github.com";

pub fn env_nonempty(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

/// The REST API base: `GITHUB_API_URL` (set by GitHub Actions, also on GHES), else GitHub's.
pub fn api_url() -> String {
    env_nonempty("GITHUB_API_URL")
        .unwrap_or_else(|| DEFAULT_API_URL.to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// The web base that download URLs live under: `GITHUB_SERVER_URL`, else GitHub's.
pub fn server_url() -> String {
    env_nonempty("GITHUB_SERVER_URL")
        .unwrap_or_else(|| DEFAULT_SERVER_URL.to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// The repository to talk to: `given` (--repo), else `GITHUB_REPOSITORY`, else the
/// `origin` remote of the checkout at `here` when it is on `server_url`'s host.
pub fn resolve_repo(given: Option<&str>, here: &Path, server_url: &str) -> Result<Repo> {
    if let Some(r) = given {
        return Repo::parse(r).context("--repo");
    }
    if let Some(r) = env_nonempty("GITHUB_REPOSITORY") {
        return Repo::parse(&r).context("GITHUB_REPOSITORY");
    }
    let host = server_url
        .split_once("://")
        .map_or(server_url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    match crate::git::origin_url(here) {
        Some(url) => Repo::from_remote_url(&url, host).with_context(|| {
            format!(
                "the origin remote ({url}) is not a repository on {host}: pass --repo OWNER/NAME \
                 or set GITHUB_REPOSITORY"
            )
        }),
        None => bail!(
            "which repository? pass --repo OWNER/NAME or set GITHUB_REPOSITORY ({} has no \
             origin remote)",
            here.display()
        ),
    }
}

/// `owner/name` of a GitHub repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    pub fn parse(text: &str) -> Result<Repo> {
        let text = text.trim().trim_end_matches('/');
        let text = text.strip_suffix(".git").unwrap_or(text);
        match text.split('/').collect::<Vec<_>>()[..] {
            [owner, name] if valid_part(owner) && valid_part(name) => Ok(Repo {
                owner: owner.to_owned(),
                name: name.to_owned(),
            }),
            _ => bail!("{text:?} is not a GitHub repository: expected owner/name, e.g. octo/maou"),
        }
    }

    /// The repository a git remote URL points at, if it is on `host`
    /// (`https://host/o/r(.git)`, `git@host:o/r.git`, `ssh://git@host/o/r.git`).
    pub fn from_remote_url(url: &str, host: &str) -> Option<Repo> {
        let url = url.trim();
        let path = if let Some(rest) = url.strip_prefix(&format!("git@{host}:")) {
            rest
        } else {
            let after_scheme = url.split_once("://")?.1;
            let after_user = after_scheme
                .rsplit_once('@')
                .map_or(after_scheme, |(_, r)| r);
            let (authority, path) = after_user.split_once('/')?;
            let authority_host = authority.split(':').next()?;
            if !authority_host.eq_ignore_ascii_case(host) {
                return None;
            }
            path
        };
        Repo::parse(path).ok()
    }
}

fn valid_part(part: &str) -> bool {
    !part.is_empty()
        && part != "."
        && part != ".."
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// An API token. It is only ever written into an Authorization header.
pub struct Token {
    pub(super) secret: String,
    pub from: &'static str,
}

impl Token {
    /// `GITHUB_TOKEN`, else `GH_TOKEN` (the names GitHub Actions and `gh` use).
    pub fn from_env() -> Option<Token> {
        ["GITHUB_TOKEN", "GH_TOKEN"].into_iter().find_map(|var| {
            let secret = std::env::var(var).ok()?.trim().to_owned();
            (!secret.is_empty()).then_some(Token { secret, from: var })
        })
    }

    /// `text` with every occurrence of the token replaced, for anything a server sent back.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.secret, "***")
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(*** from {})", self.from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_are_read_from_remote_urls() {
        let want = Some(Repo {
            owner: "octo".into(),
            name: "maou".into(),
        });
        for url in [
            "https://github.com/octo/maou.git",
            "https://github.com/octo/maou",
            "https://x-access-token:abc@github.com/octo/maou.git",
            "git@github.com:octo/maou.git",
            "ssh://git@github.com/octo/maou.git",
        ] {
            assert_eq!(Repo::from_remote_url(url, "github.com"), want, "{url}");
        }
        assert_eq!(
            Repo::from_remote_url("https://gitlab.com/octo/maou.git", "github.com"),
            None
        );
        assert!(Repo::parse("octo").is_err());
        assert!(Repo::parse("octo/maou/extra").is_err());
        assert!(Repo::parse("../maou").is_err());
    }

    #[test]
    fn the_token_is_never_shown() {
        let t = Token {
            secret: "ghp_s3cret".into(),
            from: "GITHUB_TOKEN",
        };
        assert!(!format!("{t:?}").contains("s3cret"));
        assert_eq!(t.redact("bad ghp_s3cret here"), "bad *** here");
    }
}
