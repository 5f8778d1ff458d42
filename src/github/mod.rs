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

use std::cell::RefCell;
use std::fmt;
use std::io::Read;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::messages::note;

pub use releases::{download_url, Asset, Release, ReleaseFields};
pub use repo::{api_url, env_nonempty, resolve_repo, server_url, Repo, Token};
use retry::{retry_wait, until_reset, RetryHints, Wait};

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
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest wait for an answer once the request is sent (and for its body): what tells
    /// a dead connection from a slow one. An upload's body gets this plus its size at
    /// [MIN_UPLOAD_RATE].
    pub read_timeout: Duration,
}

/// How long a client waits, and how often it tries again: each use of the API its own.
pub struct Patience {
    pub retries: u32,
    pub max_wait: Duration,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
}

impl Settings {
    /// Settings for `repo` with the API base (`GITHUB_API_URL`) and the token
    /// (`GITHUB_TOKEN`, `GH_TOKEN`) of the environment: every client is made this way.
    pub fn from_env(repo: Repo, patience: Patience, verbose: bool) -> Settings {
        Settings {
            api_url: api_url(),
            repo,
            token: Token::from_env(),
            verbose,
            retries: patience.retries,
            max_wait: patience.max_wait,
            connect_timeout: patience.connect_timeout,
            read_timeout: patience.read_timeout,
        }
    }
}

/// The defaults of `--connect-timeout` and `--read-timeout`: a dead connection is given up
/// on within a minute, and a 20 MB upload has 30 s plus 200 s for its body.
pub const DEFAULT_CONNECT_TIMEOUT: u64 = 10;
pub const DEFAULT_READ_TIMEOUT: u64 = 30;

/// The slowest upload rate allowed before an upload counts as stalled: 20 MB in 200 s.
pub const MIN_UPLOAD_RATE: u64 = 100_000;

/// How a request's retries wait.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// As GitHub asks (Retry-After, the rate limit's reset), else exponential backoff.
    Patient,
    /// At once, never sleeping: inside the window in which a wheel is missing.
    Urgent,
}

/// A status GitHub answered that the caller did not expect, kept typed so that a caller
/// can tell `422 already_exists` or `404` from other failures.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    /// `422` with an `already_exists` error: the object was created, perhaps by an
    /// attempt whose answer was lost.
    pub already_exists: bool,
    message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// The API status behind `err`, if GitHub answered one.
pub fn api_error(err: &anyhow::Error) -> Option<&ApiError> {
    err.downcast_ref::<ApiError>()
}

pub struct Client {
    agent: ureq::Agent,
    s: Settings,
    /// The rate-limit headers of the last answer: how many requests are left.
    last_hints: RefCell<RetryHints>,
}

impl Client {
    pub fn new(settings: Settings) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("maou-build/", env!("CARGO_PKG_VERSION")))
            .timeout_resolve(Some(settings.connect_timeout))
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_send_request(Some(settings.read_timeout))
            .timeout_send_body(Some(settings.read_timeout))
            .timeout_recv_response(Some(settings.read_timeout))
            .timeout_recv_body(Some(settings.read_timeout))
            .build()
            .into();
        Client {
            agent,
            s: Settings {
                api_url: settings.api_url.trim_end_matches('/').to_owned(),
                ..settings
            },
            last_hints: RefCell::new(RetryHints::default()),
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
            Payload::Bytes(bytes, content_type) => {
                let req = req
                    .header("Content-Type", *content_type)
                    .body(*bytes)
                    .context("a request to build")?;
                let body_time =
                    self.s.read_timeout + Duration::from_secs(bytes.len() as u64 / MIN_UPLOAD_RATE);
                let req = self
                    .agent
                    .configure_request(req)
                    .timeout_send_body(Some(body_time))
                    .build();
                self.agent.run(req)
            }
        };
        let mut response = result.map_err(|e| match e {
            ureq::Error::Timeout(what) => anyhow::anyhow!(
                "no answer in time ({what:?}; --connect-timeout {} s, --read-timeout {} s): \
                 a dead or stalled connection",
                self.s.connect_timeout.as_secs(),
                self.s.read_timeout.as_secs()
            ),
            e => anyhow::anyhow!(self.redact(&e.to_string())),
        })?;
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
        let hints = RetryHints {
            retry_after,
            remaining,
            reset,
        };
        *self.last_hints.borrow_mut() = hints.clone();
        Ok(Reply {
            status,
            body: self.redact(&body),
            link,
            hints,
        })
    }

    /// A release asset's bytes through the API ([Client::asset_reader]), all of them.
    pub fn download_asset(&self, id: u64, size: u64, min_rate: u64) -> Result<Vec<u8>> {
        let (mut reader, url) = self.asset_reader(id, size, min_rate)?;
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading asset {id} from {url}"))?;
        if bytes.len() as u64 != size {
            bail!(
                "GET {url}: {} bytes arrived, the release lists {size}",
                bytes.len()
            );
        }
        Ok(bytes)
    }

    /// A release asset's body, to read as it arrives, and the URL asked (for messages),
    /// through the API (`GET /repos/{o}/{r}/releases/assets/{id}` with
    /// `Accept: application/octet-stream`): GitHub answers with a redirect to a
    /// short-lived storage URL, which the client follows without the token. Unlike a
    /// `browser_download_url`, this works for a private repository with a token. The body
    /// may take the read timeout plus its size at `min_rate` bytes per second, and stops
    /// past `size` and a margin; no retry: the callers have a fallback. The reader does
    /// not check that all `size` bytes came: its caller counts them.
    pub fn asset_reader(
        &self,
        id: u64,
        size: u64,
        min_rate: u64,
    ) -> Result<(ureq::BodyReader<'static>, String)> {
        let url = self.repo_url(&format!("/releases/assets/{id}"));
        let mut req = ureq::http::Request::builder()
            .method("GET")
            .uri(&url)
            .header("Accept", "application/octet-stream")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(token) = &self.s.token {
            req = req.header("Authorization", format!("Bearer {}", token.secret));
        }
        let body_time = self.s.read_timeout + Duration::from_secs(size / min_rate.max(1));
        let req = self
            .agent
            .configure_request(req.body(()).context("a request to build")?)
            .timeout_recv_body(Some(body_time))
            .build();
        let mut response = self.agent.run(req).map_err(|e| match e {
            ureq::Error::Timeout(what) => anyhow::anyhow!(
                "GET {url}: no answer in time ({what:?}; {} s to connect, {} s for the body)",
                self.s.connect_timeout.as_secs(),
                body_time.as_secs()
            ),
            e => anyhow::anyhow!("GET {url}: {}", self.redact(&e.to_string())),
        })?;
        let status = response.status().as_u16();
        if status != 200 {
            let mut body = String::new();
            let _ = response.body_mut().as_reader().read_to_string(&mut body);
            let reply = Reply {
                status,
                body: self.redact(&body),
                link: None,
                hints: RetryHints::default(),
            };
            return Err(self
                .check_status("GET", &url, reply, &[200])
                .err()
                .unwrap_or_else(|| anyhow::anyhow!("GET {url} answered {status}")));
        }
        let reader = response
            .into_body()
            .into_with_config()
            .limit(size.saturating_add(1 << 20))
            .reader();
        Ok((reader, url))
    }

    /// Sends a request, retrying transient failures. Returns the final answer whatever
    /// its status: callers decide which statuses they expect, with [`Client::check_status`].
    fn call(&self, method: &str, url: &str, payload: Payload) -> Result<Reply> {
        self.call_paced(method, url, payload, Pace::Patient)
    }

    /// [Client::call], with retries that wait as `pace` says.
    fn call_paced(&self, method: &str, url: &str, payload: Payload, pace: Pace) -> Result<Reply> {
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
                Err(e) => (Wait::backoff(attempt), format!("failed ({e:#})")),
            };
            if attempt == attempts {
                return match result {
                    Ok(reply) => Ok(reply),
                    Err(e) => Err(e).with_context(|| {
                        format!("{method} {url} failed {attempts} times; the last error follows")
                    }),
                };
            }
            if pace == Pace::Urgent {
                note(format!(
                    "{method} {url} {why}; retrying at once (attempt {} of {attempts})",
                    attempt + 1
                ));
                continue;
            }
            let whose = if wait.asked {
                "GitHub asks to wait"
            } else {
                "the backoff would wait"
            };
            if wait.duration > self.s.max_wait {
                bail!(
                    "{method} {url} {why}; {whose} {} s before retrying, longer than \
                     --max-wait ({} s). Nothing more was sent; run again later.",
                    wait.duration.as_secs(),
                    self.s.max_wait.as_secs()
                );
            }
            note(format!(
                "{method} {url} {why}; retrying in {:.0} s (attempt {} of {attempts})",
                wait.duration.as_secs_f64().ceil(),
                attempt + 1
            ));
            thread::sleep(wait.duration);
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
        let already_exists = reply.status == 422
            && parsed
                .errors
                .iter()
                .any(|e| e.get("code").and_then(|c| c.as_str()) == Some("already_exists"));
        Err(ApiError {
            status: reply.status,
            already_exists,
            message: format!(
                "{method} {url} answered {}: {}{}",
                reply.status,
                message.trim(),
                self.explain(reply.status, &reply.hints)
            ),
        }
        .into())
    }

    /// Sleeps until the rate limit's reset when fewer than `needed` requests are left, by
    /// the last answer's headers: called before a delete, so that the delete and the
    /// rename after it are not the ones that wait.
    pub fn keep_budget_for(&self, needed: u64) -> Result<()> {
        let Some(wait) = until_reset(&self.last_hints.borrow(), needed) else {
            return Ok(());
        };
        if wait > self.s.max_wait {
            bail!(
                "fewer than {needed} requests are left until GitHub's rate limit resets in {} \
                 s, longer than --max-wait ({} s); nothing more was sent, run again later",
                wait.as_secs(),
                self.s.max_wait.as_secs()
            );
        }
        note(format!(
            "{needed} requests are needed in a row and the rate limit is nearly spent: \
             waiting {} s for its reset, before anything is deleted",
            wait.as_secs()
        ));
        thread::sleep(wait);
        Ok(())
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
