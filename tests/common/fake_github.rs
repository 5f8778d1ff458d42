//! A fake GitHub REST API on 127.0.0.1, for publish-latest's tests. It follows GitHub's
//! documented behaviour for the endpoints publish-latest and colab use:
//! - `GET /repos/{o}/{r}/releases/tags/{tag}`, `POST /repos/{o}/{r}/releases`,
//!   `PATCH /repos/{o}/{r}/releases/{id}`, `GET /repos/{o}/{r}/releases/{id}/assets`;
//! - uploads to the release's `upload_url` template (`.../assets{?name,label}`), 422
//!   `already_exists` on a duplicate name, 201 with the asset and its `digest`;
//! - `PATCH` (rename) and `DELETE` of `/repos/{o}/{r}/releases/assets/{id}`;
//! - `GET /repos/{o}/{r}/git/ref/tags/{tag}`, `POST /repos/{o}/{r}/git/refs`,
//!   `PATCH /repos/{o}/{r}/git/refs/tags/{tag}`; creating a release creates its tag at
//!   `target_commitish` when the tag does not exist;
//! - 404 for another repository or a missing object, 401 for a wrong token or a write
//!   without one, 403 for a token without `contents: write`;
//! - `browser_download_url`s that serve the asset's bytes;
//! - `GET /repos/{o}/{r}/releases/assets/{id}`: the asset as JSON, or with `Accept:
//!   application/octet-stream` a 302 to a short-lived storage URL that serves its bytes
//!   (what GitHub does, for private repositories too);
//! - a private repository ([FakeGitHub::make_private]): without a valid token every
//!   request about it is 404, `browser_download_url`s included, as GitHub hides it.
//!
//! It records every request (with when it arrived) and, after each one, the release's
//! assets, so a test can check what a user could have downloaded at every moment. Faults
//! can be injected, as GitHub's network shows them: an error status instead of the work;
//! the work done and its answer lost; a connection that accepts and never answers; an
//! upload answered 502 that leaves an incomplete asset in state `starter` (documented
//! for release assets).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug)]
pub struct FakeAsset {
    pub id: u64,
    pub name: String,
    pub state: String,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct FakeRelease {
    pub id: u64,
    pub tag_name: String,
    pub name: String,
    pub body: String,
    pub draft: bool,
    pub prerelease: bool,
    pub assets: Vec<FakeAsset>,
}

/// What an injected fault does to a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Not handled; answered with the fault's status.
    Answer,
    /// Handled (the write takes effect), then the answer is lost: the client reads bytes
    /// that are no HTTP answer, as after a connection reset.
    Lost,
    /// The connection stays open and silent this long; the request is handled first when
    /// `handled` (the write takes effect, the answer never comes).
    Silent { handled: bool, lasts: Duration },
    /// An upload: an incomplete asset is left under the name in state `starter`, and the
    /// answer is 502.
    Starter,
}

/// An injected failure: the next `times` requests whose method is `method` and whose path
/// contains `path_contains` (or, when `exact`, is it) meet `effect`.
#[derive(Clone, Debug)]
pub struct Fault {
    pub method: &'static str,
    pub path_contains: String,
    pub exact: bool,
    pub effect: Effect,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub times: usize,
}

impl Fault {
    pub fn new(method: &'static str, path_contains: &str, status: u16, times: usize) -> Fault {
        Fault {
            method,
            path_contains: path_contains.to_owned(),
            exact: false,
            effect: Effect::Answer,
            status,
            headers: Vec::new(),
            body: json!({"message": "Server Error"}).to_string(),
            times,
        }
    }

    /// The request is handled, and its answer lost, `times` times.
    pub fn lost(method: &'static str, path: &str, times: usize) -> Fault {
        Fault {
            effect: Effect::Lost,
            ..Fault::new(method, path, 0, times)
        }
    }

    /// The connection accepts the request and says nothing for `seconds`; with `handled`
    /// the request takes effect first.
    pub fn silent(
        method: &'static str,
        path: &str,
        handled: bool,
        seconds: f64,
        times: usize,
    ) -> Fault {
        let lasts = Duration::from_secs_f64(seconds);
        Fault {
            effect: Effect::Silent { handled, lasts },
            ..Fault::new(method, path, 0, times)
        }
    }

    /// The next `times` uploads leave a `starter` asset and are answered 502.
    pub fn starter(times: usize) -> Fault {
        Fault {
            effect: Effect::Starter,
            ..Fault::new("POST", "/uploads/", 502, times)
        }
    }

    /// Matches a path equal to the one given, not one that merely contains it.
    pub fn exact(mut self) -> Fault {
        self.exact = true;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && self.method == method
            && if self.exact {
                path == self.path_contains
            } else {
                path.contains(&self.path_contains)
            }
    }

    pub fn header(mut self, name: &str, value: &str) -> Fault {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: &str) -> Fault {
        self.body = body.to_owned();
        self
    }
}

#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// The status of the answer, or 0 when none was given (lost, or silent).
    pub status: u16,
    /// When the request arrived.
    pub at: Instant,
}

struct State {
    base: String,
    owner: String,
    repo: String,
    token: String,
    read_only_token: String,
    digests: bool,
    private: bool,
    /// GitHub's primary rate limit, when one is set: requests per window, the window's
    /// end, and how many are left in it.
    rate_limit: Option<(u64, Duration, Instant, u64)>,
    watched_tag: String,
    releases: Vec<FakeRelease>,
    refs: BTreeMap<String, String>,
    next_id: u64,
    faults: Vec<Fault>,
    log: Vec<Logged>,
    history: Vec<Vec<String>>,
}

pub struct FakeGitHub {
    pub url: String,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl FakeGitHub {
    /// A server for repository `owner/repo` that accepts `token` for writes.
    pub fn start(owner_repo: &str, token: &str) -> FakeGitHub {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let (owner, repo) = owner_repo.split_once('/').unwrap();
        let state = Arc::new(Mutex::new(State {
            base: url.clone(),
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            token: token.to_owned(),
            read_only_token: format!("{token}-read-only"),
            digests: true,
            private: false,
            rate_limit: None,
            watched_tag: "latest".to_owned(),
            releases: Vec::new(),
            refs: BTreeMap::new(),
            next_id: 1,
            faults: Vec::new(),
            log: Vec::new(),
            history: Vec::new(),
        }));
        let thread = {
            let server = Arc::clone(&server);
            let state = Arc::clone(&state);
            std::thread::spawn(move || {
                while let Ok(mut request) = server.recv() {
                    let mut body = Vec::new();
                    let _ = request.as_reader().read_to_end(&mut body);
                    let headers: Vec<(String, String)> = request
                        .headers()
                        .iter()
                        .map(|h| {
                            (
                                h.field.as_str().as_str().to_ascii_lowercase(),
                                h.value.to_string(),
                            )
                        })
                        .collect();
                    let (answer, effect) = state.lock().unwrap().handle(
                        request.method().as_str(),
                        request.url(),
                        &headers,
                        &body,
                    );
                    match effect {
                        Effect::Lost => {
                            let mut raw = request.into_writer();
                            let _ = raw.write_all(b"\x00\x01 no answer\r\n\r\n");
                            let _ = raw.flush();
                            continue;
                        }
                        Effect::Silent { lasts, .. } => {
                            let raw = request.into_writer();
                            std::thread::spawn(move || {
                                std::thread::sleep(lasts);
                                drop(raw);
                            });
                            continue;
                        }
                        Effect::Answer | Effect::Starter => {}
                    }
                    let mut response =
                        tiny_http::Response::from_data(answer.body).with_status_code(answer.status);
                    for (k, v) in answer.headers {
                        response.add_header(
                            tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap(),
                        );
                    }
                    let _ = request.respond(response);
                }
            })
        };
        FakeGitHub {
            url,
            state,
            server,
            thread: Some(thread),
        }
    }

    /// A token the server knows but that may not write (a workflow without
    /// `permissions: contents: write`).
    pub fn read_only_token(&self) -> String {
        self.state.lock().unwrap().read_only_token.clone()
    }

    /// From now on, at most `requests` per `window`, told in every answer's
    /// `x-ratelimit-*` headers; past them, 403 "API rate limit exceeded" until the reset.
    pub fn limit_requests(&self, requests: u64, window: Duration) {
        self.state.lock().unwrap().rate_limit =
            Some((requests, window, Instant::now() + window, requests));
    }

    /// Answer like a server from before asset digests (mid-2025).
    /// Puts a release with `assets` there directly (as an earlier publish would have).
    pub fn put_release(&self, tag: &str, body: &str, assets: &[(&str, Vec<u8>)]) {
        let mut s = self.state.lock().unwrap();
        let mut release = FakeRelease {
            id: s.next_id,
            tag_name: tag.to_owned(),
            name: tag.to_owned(),
            body: body.to_owned(),
            draft: false,
            prerelease: true,
            assets: Vec::new(),
        };
        s.next_id += 1;
        for (name, bytes) in assets {
            release.assets.push(FakeAsset {
                id: s.next_id,
                name: (*name).to_owned(),
                state: "uploaded".into(),
                bytes: bytes.clone(),
            });
            s.next_id += 1;
        }
        s.releases.retain(|r| r.tag_name != tag);
        s.releases.push(release);
    }

    /// From now on the repository is private: requests without a valid token get 404.
    pub fn make_private(&self) {
        self.state.lock().unwrap().private = true;
    }

    pub fn without_digests(&self) {
        self.state.lock().unwrap().digests = false;
    }

    pub fn inject(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.state.lock().unwrap().faults.clear();
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// The `latest` release's uploaded asset names, after every request so far.
    pub fn history(&self) -> Vec<Vec<String>> {
        self.state.lock().unwrap().history.clone()
    }

    pub fn release(&self, tag: &str) -> Option<FakeRelease> {
        let s = self.state.lock().unwrap();
        s.releases.iter().find(|r| r.tag_name == tag).cloned()
    }

    pub fn tag_commit(&self, tag: &str) -> Option<String> {
        let s = self.state.lock().unwrap();
        s.refs.get(&format!("refs/tags/{tag}")).cloned()
    }

    /// Sets a tag directly, as a push would.
    pub fn set_tag(&self, tag: &str, sha: &str) {
        let mut s = self.state.lock().unwrap();
        s.refs.insert(format!("refs/tags/{tag}"), sha.to_owned());
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        headers: vec![(
            "Content-Type".into(),
            "application/json; charset=utf-8".into(),
        )],
        body: if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        },
    }
}

fn error(status: u16, message: &str) -> Answer {
    answer(
        status,
        json!({"message": message, "documentation_url": "https://docs.github.com/rest", "status": status.to_string()}),
    )
}

fn already_exists(resource: &str, field: &str) -> Answer {
    answer(
        422,
        json!({"message": "Validation Failed", "errors": [{"resource": resource, "code": "already_exists", "field": field}], "documentation_url": "https://docs.github.com/rest"}),
    )
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl State {
    fn handle(
        &mut self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> (Answer, Effect) {
        let at = Instant::now();
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let path = path.to_owned();
        let fault = self
            .faults
            .iter_mut()
            .find(|f| f.matches(method, &path))
            .map(|f| {
                f.times -= 1;
                f.clone()
            });
        let effect = fault.as_ref().map_or(Effect::Answer, |f| f.effect.clone());
        // Downloads from browser_download_url do not count against the API's limit.
        let api = path.starts_with("/repos/") || path.starts_with("/uploads/");
        let limited = if api {
            self.take_from_rate_limit()
        } else {
            None
        };
        let mut answer = match &fault {
            _ if limited.as_ref().is_some_and(|(left, _)| *left == u64::MAX) => {
                error(403, "API rate limit exceeded")
            }
            None => self.route(method, &path, query, headers, body),
            Some(Fault {
                effect: Effect::Lost | Effect::Silent { handled: true, .. },
                ..
            }) => self.route(method, &path, query, headers, body),
            Some(f) => {
                if f.effect == Effect::Starter {
                    let made = self.route(method, &path, query, headers, &body[..body.len() / 2]);
                    if made.status == 201 {
                        self.mark_last_upload_starter();
                    }
                }
                let mut a = answer(f.status, Value::Null);
                a.body = f.body.clone().into_bytes();
                a.headers.extend(f.headers.clone());
                a
            }
        };
        if let Some((left, reset)) = limited {
            answer.headers.push((
                "x-ratelimit-remaining".into(),
                (if left == u64::MAX { 0 } else { left }).to_string(),
            ));
            answer
                .headers
                .push(("x-ratelimit-reset".into(), reset.to_string()));
        }
        let answered = matches!(effect, Effect::Answer | Effect::Starter);
        self.log.push(Logged {
            method: method.to_owned(),
            path,
            status: if answered { answer.status } else { 0 },
            at,
        });
        let snapshot = self
            .releases
            .iter()
            .find(|r| r.tag_name == self.watched_tag)
            .map(|r| {
                r.assets
                    .iter()
                    .filter(|a| a.state == "uploaded")
                    .map(|a| a.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        self.history.push(snapshot);
        (answer, effect)
    }

    /// Counts a request against the rate limit: the requests left after it (`u64::MAX`
    /// when none was left for it) and the reset as seconds since the epoch.
    fn take_from_rate_limit(&mut self) -> Option<(u64, u64)> {
        let (limit, window, end, left) = self.rate_limit.as_mut()?;
        let now = Instant::now();
        if now >= *end {
            *end = now + *window;
            *left = *limit;
        }
        let reset = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + (*end - now).as_secs_f64().ceil() as u64;
        if *left == 0 {
            return Some((u64::MAX, reset));
        }
        *left -= 1;
        Some((*left, reset))
    }

    /// The asset the last upload made becomes an incomplete one.
    fn mark_last_upload_starter(&mut self) {
        let newest = self.next_id - 1;
        for r in &mut self.releases {
            if let Some(a) = r.assets.iter_mut().find(|a| a.id == newest) {
                a.state = "starter".into();
            }
        }
    }

    fn route(
        &mut self,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Answer {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let authorized = headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .and_then(|(_, a)| {
                a.strip_prefix("Bearer ")
                    .or_else(|| a.strip_prefix("token "))
            })
            .is_some_and(|t| t == self.token || t == self.read_only_token);
        // The storage a download redirects to: signed in its query, no token needed.
        if let ["storage", "assets", id] = parts[..] {
            let id: u64 = id.parse().unwrap_or(0);
            let signed = query_param(query, "signature").is_some_and(|s| s == format!("s{id}"));
            return match self
                .releases
                .iter()
                .flat_map(|r| &r.assets)
                .find(|a| a.id == id)
            {
                Some(a) if method == "GET" && signed => Answer {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                    body: a.bytes.clone(),
                },
                Some(_) if !signed => error(403, "Request has expired or the signature is wrong"),
                _ => error(404, "Not Found"),
            };
        }
        // browser_download_url: github.com/{o}/{r}/releases/download/{tag}/{name}
        if let [o, r, "releases", "download", tag, name] = parts[..] {
            if method != "GET" || o != self.owner || r != self.repo || (self.private && !authorized)
            {
                return error(404, "Not Found");
            }
            return match self
                .releases
                .iter()
                .find(|rel| rel.tag_name == tag)
                .and_then(|rel| {
                    rel.assets
                        .iter()
                        .find(|a| a.name == name && a.state == "uploaded")
                }) {
                Some(a) => Answer {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                    body: a.bytes.clone(),
                },
                None => error(404, "Not Found"),
            };
        }
        let (uploads, rest) = match parts[..] {
            ["uploads", "repos", ..] => (true, &parts[2..]),
            ["repos", ..] => (false, &parts[1..]),
            _ => return error(404, "Not Found"),
        };
        if rest.len() < 2 || rest[0] != self.owner || rest[1] != self.repo {
            return error(404, "Not Found");
        }
        if self.private && !authorized {
            return error(404, "Not Found");
        }
        let auth = headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.clone());
        let given = auth.as_deref().and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("token "))
        });
        match given {
            Some(t) if t != self.token && t != self.read_only_token => {
                return error(401, "Bad credentials")
            }
            None if method != "GET" => return error(401, "Requires authentication"),
            Some(t) if t == self.read_only_token && method != "GET" => {
                return error(403, "Resource not accessible by integration")
            }
            _ => {}
        }
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let rest = &rest[2..];
        if uploads {
            return match rest {
                ["releases", id, "assets"] if method == "POST" => {
                    self.upload(id.parse().unwrap_or(0), query, headers, body)
                }
                _ => error(404, "Not Found"),
            };
        }
        match (method, rest) {
            ("GET", ["releases", "tags", tag]) => {
                match self.releases.iter().find(|r| r.tag_name == *tag) {
                    Some(r) => answer(200, self.release_json(r)),
                    None => error(404, "Not Found"),
                }
            }
            ("POST", ["releases"]) => self.create_release(&json),
            ("GET", ["releases", "assets", id]) => {
                let id: u64 = id.parse().unwrap_or(0);
                let found = self.releases.iter().find_map(|r| {
                    r.assets
                        .iter()
                        .find(|a| a.id == id)
                        .map(|a| (r.tag_name.clone(), a.clone()))
                });
                let Some((tag, asset)) = found else {
                    return error(404, "Not Found");
                };
                let wants_bytes = headers
                    .iter()
                    .any(|(k, v)| k == "accept" && v.contains("application/octet-stream"));
                if wants_bytes {
                    Answer {
                        status: 302,
                        headers: vec![(
                            "Location".into(),
                            format!("{}/storage/assets/{id}?signature=s{id}", self.base),
                        )],
                        body: Vec::new(),
                    }
                } else {
                    answer(200, self.asset_json(&tag, &asset))
                }
            }
            ("PATCH", ["releases", "assets", id]) => self.rename(id.parse().unwrap_or(0), &json),
            ("DELETE", ["releases", "assets", id]) => {
                let id: u64 = id.parse().unwrap_or(0);
                for r in &mut self.releases {
                    if let Some(i) = r.assets.iter().position(|a| a.id == id) {
                        r.assets.remove(i);
                        return answer(204, Value::Null);
                    }
                }
                error(404, "Not Found")
            }
            ("PATCH", ["releases", id]) => {
                let id: u64 = id.parse().unwrap_or(0);
                let Some(i) = self.releases.iter().position(|r| r.id == id) else {
                    return error(404, "Not Found");
                };
                let r = &mut self.releases[i];
                if let Some(v) = json["name"].as_str() {
                    r.name = v.to_owned();
                }
                if let Some(v) = json["body"].as_str() {
                    r.body = v.to_owned();
                }
                if let Some(v) = json["draft"].as_bool() {
                    r.draft = v;
                }
                if let Some(v) = json["prerelease"].as_bool() {
                    r.prerelease = v;
                }
                let r = self.releases[i].clone();
                answer(200, self.release_json(&r))
            }
            ("GET", ["releases", id, "assets"]) => {
                let id: u64 = id.parse().unwrap_or(0);
                match self.releases.iter().find(|r| r.id == id) {
                    Some(r) => {
                        let tag = r.tag_name.clone();
                        let assets: Vec<Value> =
                            r.assets.iter().map(|a| self.asset_json(&tag, a)).collect();
                        answer(200, Value::Array(assets))
                    }
                    None => error(404, "Not Found"),
                }
            }
            ("GET", ["git", "ref", "tags", tag]) => {
                match self.refs.get(&format!("refs/tags/{tag}")) {
                    Some(sha) => answer(200, self.ref_json(&format!("refs/tags/{tag}"), sha)),
                    None => error(404, "Not Found"),
                }
            }
            ("POST", ["git", "refs"]) => {
                let (Some(name), Some(sha)) = (json["ref"].as_str(), json["sha"].as_str()) else {
                    return error(422, "Invalid request");
                };
                if self.refs.contains_key(name) {
                    return error(422, "Reference already exists");
                }
                self.refs.insert(name.to_owned(), sha.to_owned());
                answer(201, self.ref_json(name, sha))
            }
            ("PATCH", ["git", "refs", "tags", tag]) => {
                let name = format!("refs/tags/{tag}");
                let Some(sha) = json["sha"].as_str() else {
                    return error(422, "Invalid request");
                };
                if !self.refs.contains_key(&name) {
                    return error(422, "Reference does not exist");
                }
                self.refs.insert(name.clone(), sha.to_owned());
                answer(200, self.ref_json(&name, sha))
            }
            _ => error(404, "Not Found"),
        }
    }

    fn create_release(&mut self, json: &Value) -> Answer {
        let Some(tag) = json["tag_name"].as_str() else {
            return error(422, "Validation Failed");
        };
        if self.releases.iter().any(|r| r.tag_name == tag) {
            return already_exists("Release", "tag_name");
        }
        let ref_name = format!("refs/tags/{tag}");
        let target = json["target_commitish"].as_str().unwrap_or("main");
        self.refs
            .entry(ref_name)
            .or_insert_with(|| target.to_owned());
        let release = FakeRelease {
            id: self.next_id,
            tag_name: tag.to_owned(),
            name: json["name"].as_str().unwrap_or(tag).to_owned(),
            body: json["body"].as_str().unwrap_or_default().to_owned(),
            draft: json["draft"].as_bool().unwrap_or(false),
            prerelease: json["prerelease"].as_bool().unwrap_or(false),
            assets: Vec::new(),
        };
        self.next_id += 1;
        let out = self.release_json(&release);
        self.releases.push(release);
        answer(201, out)
    }

    fn upload(
        &mut self,
        release_id: u64,
        query: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Answer {
        let Some(name) = query_param(query, "name") else {
            return error(422, "Validation Failed: name is required");
        };
        if !headers.iter().any(|(k, _)| k == "content-type") {
            return error(400, "Content-Type header is required");
        }
        let id = self.next_id;
        let Some(r) = self.releases.iter_mut().find(|r| r.id == release_id) else {
            return error(404, "Not Found");
        };
        if r.assets.iter().any(|a| a.name == name) {
            return already_exists("ReleaseAsset", "name");
        }
        let asset = FakeAsset {
            id,
            name,
            state: "uploaded".into(),
            bytes: body.to_vec(),
        };
        r.assets.push(asset.clone());
        let tag = r.tag_name.clone();
        self.next_id += 1;
        answer(201, self.asset_json(&tag, &asset))
    }

    fn rename(&mut self, id: u64, json: &Value) -> Answer {
        let Some(new_name) = json["name"].as_str() else {
            return error(422, "Validation Failed");
        };
        for i in 0..self.releases.len() {
            if let Some(j) = self.releases[i].assets.iter().position(|a| a.id == id) {
                let r = &mut self.releases[i];
                if r.assets.iter().any(|a| a.name == new_name && a.id != id) {
                    return already_exists("ReleaseAsset", "name");
                }
                r.assets[j].name = new_name.to_owned();
                let (tag, asset) = (r.tag_name.clone(), r.assets[j].clone());
                return answer(200, self.asset_json(&tag, &asset));
            }
        }
        error(404, "Not Found")
    }

    fn release_json(&self, r: &FakeRelease) -> Value {
        let repo_api = format!("{}/repos/{}/{}", self.base, self.owner, self.repo);
        json!({
            "url": format!("{repo_api}/releases/{}", r.id),
            "html_url": format!("{}/{}/{}/releases/tag/{}", self.base, self.owner, self.repo, r.tag_name),
            "assets_url": format!("{repo_api}/releases/{}/assets", r.id),
            "upload_url": format!("{}/uploads/repos/{}/{}/releases/{}/assets{{?name,label}}", self.base, self.owner, self.repo, r.id),
            "id": r.id,
            "tag_name": r.tag_name,
            "target_commitish": "main",
            "name": r.name,
            "body": r.body,
            "draft": r.draft,
            "prerelease": r.prerelease,
            "assets": r.assets.iter().map(|a| self.asset_json(&r.tag_name, a)).collect::<Vec<_>>(),
        })
    }

    fn asset_json(&self, tag: &str, a: &FakeAsset) -> Value {
        let digest = if self.digests {
            Value::String(format!("sha256:{}", sha256_hex(&a.bytes)))
        } else {
            Value::Null
        };
        json!({
            "url": format!("{}/repos/{}/{}/releases/assets/{}", self.base, self.owner, self.repo, a.id),
            "browser_download_url": format!("{}/{}/{}/releases/download/{tag}/{}", self.base, self.owner, self.repo, a.name),
            "id": a.id,
            "name": a.name,
            "label": null,
            "state": a.state,
            "content_type": "application/zip",
            "size": a.bytes.len(),
            "digest": digest,
        })
    }

    fn ref_json(&self, name: &str, sha: &str) -> Value {
        json!({
            "ref": name,
            "url": format!("{}/repos/{}/{}/git/{name}", self.base, self.owner, self.repo),
            "object": {"type": "commit", "sha": sha},
        })
    }
}
