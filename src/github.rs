//! A small blocking client for the GitHub REST endpoints that `publish-latest` and `colab`
//! use: a release by tag, creating and updating a release, its assets, and tag refs.
//!
//! Every request goes through [`Client::call`], which retries what GitHub documents as
//! transient (5xx, 429, and a 403 that carries rate-limit headers) and nothing else, and
//! which turns 401/403/404 into an explanation a maintainer can act on. The token is held
//! by [`Token`], whose Debug and Display never show it, and every text that comes back
//! from a server is passed through [`Token::redact`] before it can reach a message.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::json;

use crate::messages::note;

const DEFAULT_API_URL: &str = "https://api.github.com";
const DEFAULT_SERVER_URL: &str = "https://github.com";

/// The longest backoff between two attempts when the server gave no hint.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

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
    secret: String,
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

#[derive(Debug, Clone, Deserialize)]
pub struct Release {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub prerelease: bool,
    #[serde(default)]
    pub draft: bool,
    /// A URI template: `https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}`.
    pub upload_url: String,
    #[serde(default)]
    pub html_url: String,
    #[serde(default)]
    pub assets: Vec<Asset>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Asset {
    pub id: u64,
    pub name: String,
    pub size: u64,
    /// `uploaded` once usable; `starter` while (or if) an upload is incomplete.
    #[serde(default)]
    pub state: String,
    /// `sha256:<hex>`, which GitHub computes for assets uploaded since mid-2025.
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub browser_download_url: String,
}

#[derive(Deserialize)]
struct GitRef {
    object: GitObject,
}

#[derive(Deserialize)]
struct GitObject {
    sha: String,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

/// What the server answered, after retries.
pub struct Reply {
    pub status: u16,
    body: String,
    link: Option<String>,
    hints: RetryHints,
}

enum Payload<'a> {
    Empty,
    Json(serde_json::Value),
    Bytes(&'a [u8], &'a str),
}

pub struct Settings {
    pub api_url: String,
    pub repo: Repo,
    pub token: Option<Token>,
    pub verbose: bool,
    pub retries: u32,
    pub max_wait: Duration,
}

pub struct Client {
    agent: ureq::Agent,
    s: Settings,
}

impl Client {
    pub fn new(settings: Settings) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("maou-build/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(Duration::from_secs(30)))
            // A 20 MB wheel on a slow runner link still fits.
            .timeout_global(Some(Duration::from_secs(600)))
            .build()
            .into();
        Client {
            agent,
            s: Settings {
                api_url: settings.api_url.trim_end_matches('/').to_owned(),
                ..settings
            },
        }
    }

    pub fn repo(&self) -> &Repo {
        &self.s.repo
    }

    fn repo_url(&self, rest: &str) -> String {
        format!("{}/repos/{}{rest}", self.s.api_url, self.s.repo)
    }

    fn redact(&self, text: &str) -> String {
        match &self.s.token {
            Some(t) => t.redact(text),
            None => text.to_owned(),
        }
    }

    fn send_once(&self, method: &str, url: &str, payload: &Payload) -> Result<Reply> {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(token) = &self.s.token {
            req = req.header("Authorization", format!("Bearer {}", token.secret));
        }
        let result = match payload {
            Payload::Empty => self.agent.run(req.body(()).context("a request to build")?),
            Payload::Json(value) => self.agent.run(
                req.header("Content-Type", "application/json")
                    .body(serde_json::to_vec(value).context("a JSON body")?)
                    .context("a request to build")?,
            ),
            Payload::Bytes(bytes, content_type) => self.agent.run(
                req.header("Content-Type", *content_type)
                    .body(*bytes)
                    .context("a request to build")?,
            ),
        };
        let mut response = result.map_err(|e| anyhow::anyhow!(self.redact(&e.to_string())))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let link = header("link");
        let retry_after = header("retry-after");
        let remaining = header("x-ratelimit-remaining");
        let reset = header("x-ratelimit-reset");
        let mut body = String::new();
        response
            .body_mut()
            .as_reader()
            .read_to_string(&mut body)
            .with_context(|| format!("reading the answer of {method} {url}"))?;
        Ok(Reply {
            status,
            body: self.redact(&body),
            link,
            hints: RetryHints {
                retry_after,
                remaining,
                reset,
            },
        })
    }

    /// Sends a request, retrying transient failures. Returns the final answer whatever
    /// its status: callers decide which statuses they expect, with [`Client::check_status`].
    fn call(&self, method: &str, url: &str, payload: Payload) -> Result<Reply> {
        let attempts = self.s.retries + 1;
        for attempt in 1..=attempts {
            let started = Instant::now();
            let result = self.send_once(method, url, &payload);
            let (wait, why) = match &result {
                Ok(reply) => {
                    if self.s.verbose {
                        note(format!(
                            "{method} {url} -> {} ({:.2} s)",
                            reply.status,
                            started.elapsed().as_secs_f64()
                        ));
                    }
                    match retry_wait(reply.status, &reply.hints, attempt) {
                        Some(wait) => (wait, format!("answered {}", reply.status)),
                        None => return result,
                    }
                }
                Err(e) => (backoff(attempt), format!("failed ({e})")),
            };
            if attempt == attempts {
                return match result {
                    Ok(reply) => Ok(reply),
                    Err(e) => Err(e).with_context(|| {
                        format!("{method} {url} failed {attempts} times; the last error follows")
                    }),
                };
            }
            if wait > self.s.max_wait {
                bail!(
                    "{method} {url} {why}; GitHub asks to wait {} s before retrying, longer \
                     than --max-wait ({} s). Nothing more was sent; run again later.",
                    wait.as_secs(),
                    self.s.max_wait.as_secs()
                );
            }
            note(format!(
                "{method} {url} {why}; retrying in {:.0} s (attempt {} of {attempts})",
                wait.as_secs_f64().ceil(),
                attempt + 1
            ));
            thread::sleep(wait);
        }
        unreachable!("the loop returns on its last attempt")
    }

    /// The reply if its status is one of `ok`, else an error that explains the status.
    fn check_status(&self, method: &str, url: &str, reply: Reply, ok: &[u16]) -> Result<Reply> {
        if ok.contains(&reply.status) {
            return Ok(reply);
        }
        let parsed: ErrorBody = serde_json::from_str(&reply.body).unwrap_or_default();
        let mut message = if parsed.message.is_empty() {
            reply.body.chars().take(300).collect::<String>()
        } else {
            parsed.message
        };
        for e in &parsed.errors {
            message.push_str(&format!("; {e}"));
        }
        bail!(
            "{method} {url} answered {}: {}{}",
            reply.status,
            message.trim(),
            self.explain(reply.status, &reply.hints)
        )
    }

    fn explain(&self, status: u16, hints: &RetryHints) -> String {
        let repo = &self.s.repo;
        if status == 429 || (status == 403 && hints.rate_limited()) {
            return format!(
                "\n  rate limited by GitHub, still after {} retries: run again later{}",
                self.s.retries,
                match &self.s.token {
                    None => " (requests without a token have a much lower limit)",
                    Some(_) => "",
                }
            );
        }
        match (status, &self.s.token) {
            (401, None) => "\n  no token: set GITHUB_TOKEN (in a workflow, \
                `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`) or GH_TOKEN"
                .to_owned(),
            (401, Some(t)) => format!(
                "\n  the token in {} was refused (expired, revoked or mistyped); \
                 give a current token of {repo}",
                t.from
            ),
            (403, _) => format!(
                "\n  the token may not write releases of {repo}: a workflow needs \
                 `permissions: contents: write`; a fine-grained token needs \
                 Contents: read and write on {repo}"
            ),
            (404, _) => format!(
                "\n  not found: check the repository ({repo}, from --repo, GITHUB_REPOSITORY \
                 or the origin remote) and the API base ({}, from GITHUB_API_URL); GitHub \
                 also answers 404 when the token cannot see a private repository",
                self.s.api_url
            ),
            _ => String::new(),
        }
    }

    fn json<T: for<'de> Deserialize<'de>>(method: &str, url: &str, reply: &Reply) -> Result<T> {
        serde_json::from_str(&reply.body)
            .with_context(|| format!("{method} {url} answered JSON this client cannot read"))
    }

    /// The release with tag `tag`, or None if there is none.
    pub fn release_by_tag(&self, tag: &str) -> Result<Option<Release>> {
        let url = self.repo_url(&format!("/releases/tags/{tag}"));
        let reply = self.call("GET", &url, Payload::Empty)?;
        if reply.status == 404 {
            return Ok(None);
        }
        let reply = self.check_status("GET", &url, reply, &[200])?;
        Self::json("GET", &url, &reply).map(Some)
    }

    /// Every asset of a release, following GitHub's pagination.
    pub fn list_assets(&self, release: &Release) -> Result<Vec<Asset>> {
        let mut url = self.repo_url(&format!("/releases/{}/assets?per_page=100", release.id));
        let mut assets = Vec::new();
        loop {
            let reply = self.call("GET", &url, Payload::Empty)?;
            let reply = self.check_status("GET", &url, reply, &[200])?;
            let page: Vec<Asset> = Self::json("GET", &url, &reply)?;
            assets.extend(page);
            match reply.link.as_deref().and_then(next_link) {
                Some(next) => url = next,
                None => return Ok(assets),
            }
        }
    }

    /// The commit a tag points at, or None if the tag does not exist.
    pub fn tag_commit(&self, tag: &str) -> Result<Option<String>> {
        let url = self.repo_url(&format!("/git/ref/tags/{tag}"));
        let reply = self.call("GET", &url, Payload::Empty)?;
        if reply.status == 404 {
            return Ok(None);
        }
        let reply = self.check_status("GET", &url, reply, &[200])?;
        let r: GitRef = Self::json("GET", &url, &reply)?;
        Ok(Some(r.object.sha))
    }

    pub fn create_tag(&self, tag: &str, commit: &str) -> Result<()> {
        let url = self.repo_url("/git/refs");
        let body = json!({ "ref": format!("refs/tags/{tag}"), "sha": commit });
        let reply = self.call("POST", &url, Payload::Json(body))?;
        self.check_status("POST", &url, reply, &[201]).map(drop)
    }

    pub fn move_tag(&self, tag: &str, commit: &str) -> Result<()> {
        let url = self.repo_url(&format!("/git/refs/tags/{tag}"));
        let body = json!({ "sha": commit, "force": true });
        let reply = self.call("PATCH", &url, Payload::Json(body))?;
        self.check_status("PATCH", &url, reply, &[200]).map(drop)
    }

    pub fn create_release(&self, fields: &ReleaseFields, commit: &str) -> Result<Release> {
        let url = self.repo_url("/releases");
        let body = json!({
            "tag_name": fields.tag,
            "target_commitish": commit,
            "name": fields.name,
            "body": fields.body,
            "draft": false,
            "prerelease": fields.prerelease,
        });
        let reply = self.call("POST", &url, Payload::Json(body))?;
        let reply = self.check_status("POST", &url, reply, &[201])?;
        Self::json("POST", &url, &reply)
    }

    pub fn update_release(&self, release: &Release, fields: &ReleaseFields) -> Result<()> {
        let url = self.repo_url(&format!("/releases/{}", release.id));
        let body = json!({
            "name": fields.name,
            "body": fields.body,
            "draft": false,
            "prerelease": fields.prerelease,
        });
        let reply = self.call("PATCH", &url, Payload::Json(body))?;
        self.check_status("PATCH", &url, reply, &[200]).map(drop)
    }

    /// Uploads `bytes` as asset `name`, to the release's `upload_url` template.
    pub fn upload_asset(&self, release: &Release, name: &str, bytes: &[u8]) -> Result<Asset> {
        let base = release
            .upload_url
            .split('{')
            .next()
            .unwrap_or(&release.upload_url);
        let url = format!("{base}?name={}", query_escape(name));
        let reply = self.call("POST", &url, Payload::Bytes(bytes, "application/zip"))?;
        let reply = self.check_status("POST", &url, reply, &[201])?;
        Self::json("POST", &url, &reply)
    }

    pub fn rename_asset(&self, asset: &Asset, name: &str) -> Result<Asset> {
        let url = self.repo_url(&format!("/releases/assets/{}", asset.id));
        let reply = self.call("PATCH", &url, Payload::Json(json!({ "name": name })))?;
        let reply = self.check_status("PATCH", &url, reply, &[200])?;
        Self::json("PATCH", &url, &reply)
    }

    pub fn delete_asset(&self, asset: &Asset) -> Result<()> {
        let url = self.repo_url(&format!("/releases/assets/{}", asset.id));
        let reply = self.call("DELETE", &url, Payload::Empty)?;
        self.check_status("DELETE", &url, reply, &[204]).map(drop)
    }
}

/// What publish-latest sets on the release.
#[derive(Debug, Clone)]
pub struct ReleaseFields {
    pub tag: String,
    pub name: String,
    pub body: String,
    pub prerelease: bool,
}

/// The headers GitHub uses to say when to come back.
#[derive(Clone, Default)]
struct RetryHints {
    retry_after: Option<String>,
    remaining: Option<String>,
    reset: Option<String>,
}

impl RetryHints {
    fn rate_limited(&self) -> bool {
        self.remaining.as_deref() == Some("0") || self.retry_after.is_some()
    }
}

/// How long to wait before retrying an answer with `status`, or None if it must not be
/// retried. GitHub's documented rules: honour `Retry-After`; when
/// `x-ratelimit-remaining` is 0, wait until `x-ratelimit-reset`; else back off
/// exponentially. 403 is retried only when it is a rate limit, never as a permission error.
fn retry_wait(status: u16, hints: &RetryHints, attempt: u32) -> Option<Duration> {
    let retryable = status >= 500 || status == 429 || (status == 403 && hints.rate_limited());
    if !retryable {
        return None;
    }
    if let Some(secs) = hints
        .retry_after
        .as_deref()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_secs(secs));
    }
    if hints.remaining.as_deref() == Some("0") {
        if let Some(reset) = hints
            .reset
            .as_deref()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            return Some(Duration::from_secs(reset.saturating_sub(now) + 1));
        }
    }
    Some(backoff(attempt))
}

/// 1 s, 2 s, 4 s, ... up to a minute.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(6)).min(MAX_BACKOFF)
}

/// The `rel="next"` URL of a Link header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

/// Percent-encodes a query value (wheel names only need a few characters escaped).
fn query_escape(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
    fn retries_follow_githubs_rules() {
        let none = RetryHints::default();
        assert_eq!(retry_wait(404, &none, 1), None);
        assert_eq!(retry_wait(422, &none, 1), None);
        assert_eq!(retry_wait(403, &none, 1), None, "a permission error");
        assert_eq!(retry_wait(500, &none, 1), Some(Duration::from_secs(1)));
        assert_eq!(retry_wait(502, &none, 3), Some(Duration::from_secs(4)));
        let after = RetryHints {
            retry_after: Some("7".into()),
            ..RetryHints::default()
        };
        assert_eq!(retry_wait(403, &after, 1), Some(Duration::from_secs(7)));
        assert_eq!(retry_wait(429, &after, 1), Some(Duration::from_secs(7)));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let reset = RetryHints {
            remaining: Some("0".into()),
            reset: Some((now + 30).to_string()),
            ..RetryHints::default()
        };
        let wait = retry_wait(403, &reset, 1).unwrap().as_secs();
        assert!((30..=31).contains(&wait), "{wait}");
        assert_eq!(backoff(20), MAX_BACKOFF);
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

    #[test]
    fn pagination_and_names() {
        let link = "<https://api.github.com/x?page=2>; rel=\"next\", \
                    <https://api.github.com/x?page=5>; rel=\"last\"";
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/x?page=2")
        );
        assert_eq!(next_link("<https://a/x?page=1>; rel=\"prev\""), None);
        assert_eq!(query_escape("a b+c.whl"), "a%20b%2Bc.whl");
    }
}
