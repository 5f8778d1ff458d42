//! A small blocking client for the GitHub REST endpoints that `publish-latest` and `colab`
//! use: a release by tag, creating and updating a release, its assets, and tag refs.
//!
//! Every request goes through [`Client::call`], which retries what GitHub documents as
//! transient (5xx, 429, and a 403 that carries rate-limit headers) and nothing else, and
//! which turns 401/403/404 into an explanation a maintainer can act on. The token is held
//! by [`Token`], whose Debug and Display never show it, and every text that comes back
//! from a server is passed through [`Token::redact`] before it can reach a message.

mod releases;
mod repo;
mod retry;

use std::io::Read;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::messages::note;

pub use releases::{Asset, Release, ReleaseFields};
pub use repo::{api_url, env_nonempty, resolve_repo, server_url, Repo, Token};
use retry::{backoff, retry_wait, RetryHints};

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
}
