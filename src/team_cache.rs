//! The team's compiler cache: a Redis server that sccache uses behind the local disk
//! (`SCCACHE_MULTILEVEL_CHAIN=disk,redis`), so that what one machine compiled another
//! finds. The cache engine is sccache's; this module only decides whether to use the
//! remote for one build.
//!
//! sccache checks every configured remote when its server starts and, when one fails,
//! makes the client wait 10 s for a server that is not there ("Timed out waiting for
//! server startup"): the build fails. So maou-build checks the remote itself first, within
//! [PROBE_BOUND]: a remote that refuses, does not answer in time or rejects the credentials
//! is left out of the build (local disk only), one that refuses writes is used read-only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

/// How long the check of the remote may take in all (name lookup, connect, a write, a read,
/// a delete). A team cache in the same region as the Codespace answers in milliseconds;
/// one slower than this costs more per crate than it saves.
pub const PROBE_BOUND: Duration = Duration::from_secs(2);

/// Names the remote for maou-build: a `redis://` URL, or `off`. Overrides the other sources.
pub const TEAM_CACHE_VAR: &str = "MAOU_BUILD_TEAM_CACHE";

/// sccache's own variables for a Redis endpoint, newest first.
const SCCACHE_REDIS_VARS: [&str; 2] = ["SCCACHE_REDIS_ENDPOINT", "SCCACHE_REDIS"];

/// sccache's variables that choose or configure a remote cache (by prefix). A build child
/// gets none of them from the parent's environment: only the remote this module chose.
const REMOTE_VAR_PREFIXES: &[&str] = &[
    "SCCACHE_REDIS",
    "SCCACHE_MULTILEVEL_",
    "SCCACHE_MEMCACHED",
    "SCCACHE_BUCKET",
    "SCCACHE_ENDPOINT",
    "SCCACHE_REGION",
    "SCCACHE_S3_",
    "SCCACHE_WEBDAV_",
    "SCCACHE_GHA_",
    "SCCACHE_GCS_",
    "SCCACHE_AZURE_",
    "SCCACHE_OSS_",
    "SCCACHE_COS_",
];

/// Variables of a Redis remote that pass through to sccache unchanged when it is used.
const REDIS_PASS_THROUGH: &[&str] = &[
    "SCCACHE_REDIS_USERNAME",
    "SCCACHE_REDIS_PASSWORD",
    "SCCACHE_REDIS_DB",
    "SCCACHE_REDIS_EXPIRATION",
    "SCCACHE_REDIS_TTL",
    "SCCACHE_REDIS_KEY_PREFIX",
];

/// The remote-cache variables of this process's environment: what a build child must not
/// inherit ([crate::build_env::child] removes them before setting the chosen ones).
pub fn inherited_remote_vars() -> Vec<std::ffi::OsString> {
    std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| {
            let n = name.to_string_lossy();
            REMOTE_VAR_PREFIXES.iter().any(|p| n.starts_with(p))
        })
        .collect()
}

/// A `redis://[user[:password]@]host[:port][/db]` URL (`rediss://` for TLS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisUrl {
    url: String,
    tls: bool,
    user: Option<String>,
    password: Option<String>,
    pub host: String,
    pub port: u16,
    db: Option<u32>,
}

impl RedisUrl {
    pub fn parse(url: &str) -> Result<RedisUrl> {
        let url = url.trim();
        let (tls, rest) = if let Some(r) = url.strip_prefix("redis://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("rediss://") {
            (true, r)
        } else {
            bail!("`{url}` is not a Redis URL (redis://host:port or rediss://host:port)");
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let (auth, hostpart) = match rest.rsplit_once('@') {
            Some((a, h)) => (Some(a), h),
            None => (None, rest),
        };
        let (hostport, db) = match hostpart.split_once('/') {
            Some((h, d)) if !d.is_empty() => {
                let db = d.parse().map_err(|_| {
                    anyhow::anyhow!("`{d}` in a Redis URL is not a database number")
                })?;
                (h, Some(db))
            }
            Some((h, _)) => (h, None),
            None => (hostpart, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse()
                    .map_err(|_| anyhow::anyhow!("`{p}` in a Redis URL is not a port"))?,
            ),
            None => (hostport, 6379),
        };
        if host.is_empty() {
            bail!("the Redis URL names no host (redis://host:port)");
        }
        let (user, password) = match auth {
            None => (None, None),
            Some(a) => match a.split_once(':') {
                Some((u, p)) => (
                    Some(u.to_owned()).filter(|u| !u.is_empty()),
                    Some(p.to_owned()),
                ),
                None => (Some(a.to_owned()).filter(|u| !u.is_empty()), None),
            },
        };
        Ok(RedisUrl {
            url: url.to_owned(),
            tls,
            user,
            password,
            host: host.trim_matches(['[', ']']).to_owned(),
            port,
            db,
        })
    }

    /// Whether the URL itself carries a password (it must never be written in a file).
    pub fn has_secret(&self) -> bool {
        self.password.is_some()
    }

    /// The URL as messages show it: any password replaced by `***`.
    pub fn shown(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        let auth = match (&self.user, &self.password) {
            (None, None) => String::new(),
            (Some(u), None) => format!("{u}@"),
            (u, Some(_)) => format!("{}:***@", u.as_deref().unwrap_or("")),
        };
        let db = self.db.map(|d| format!("/{d}")).unwrap_or_default();
        format!("{scheme}://{auth}{}:{}{db}", self.host, self.port)
    }
}

/// Where the remote was named.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Configured {
    #[serde(skip)]
    pub url: RedisUrl,
    pub endpoint: String,
    /// The variable or file that named it.
    pub from: String,
}

/// The team cache this build is asked to use: [TEAM_CACHE_VAR] (a URL or `off`), else
/// sccache's `SCCACHE_REDIS_ENDPOINT` (or `SCCACHE_REDIS`), else `[tool.maou-build]
/// team-cache` in pyproject.toml (`from_pyproject`). None when none is named.
pub fn configured(from_pyproject: Option<&str>) -> Result<Option<Configured>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (value, from) = if let Some(v) = var(TEAM_CACHE_VAR) {
        if matches!(v.trim(), "off" | "none" | "0" | "false") {
            return Ok(None);
        }
        (v, TEAM_CACHE_VAR.to_owned())
    } else if let Some((name, v)) = SCCACHE_REDIS_VARS
        .iter()
        .find_map(|n| var(n).map(|v| (*n, v)))
    {
        (v, name.to_owned())
    } else if let Some(v) = from_pyproject {
        (
            v.to_owned(),
            "pyproject.toml [tool.maou-build] team-cache".to_owned(),
        )
    } else {
        return Ok(None);
    };
    let url = RedisUrl::parse(&value).map_err(|e| anyhow::anyhow!("{from}: {e:#}"))?;
    Ok(Some(Configured {
        endpoint: url.shown(),
        url,
        from,
    }))
}

/// What a build may do with the remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    ReadWrite,
    /// The remote refused the probe's write (a replica, an ACL, a full server): the build
    /// reads from it and writes only to the local disk.
    ReadOnly,
}

impl Mode {
    /// The value of sccache's `SCCACHE_REDIS_RW_MODE`.
    fn sccache_value(self) -> &'static str {
        match self {
            Mode::ReadWrite => "READ_WRITE",
            Mode::ReadOnly => "READ_ONLY",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Mode::ReadWrite => "read/write",
            Mode::ReadOnly => "read-only",
        }
    }
}

/// The outcome of the check.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Health {
    Usable {
        mode: Mode,
        /// The whole check, in milliseconds.
        millis: u64,
        /// Why writes are refused, for a read-only remote.
        #[serde(skip_serializing_if = "Option::is_none")]
        refused_write: Option<String>,
    },
    Unusable {
        why: String,
    },
}

/// Checks the remote within `bound`: connect, authenticate when credentials are given
/// (in the URL, or sccache's `SCCACHE_REDIS_USERNAME` / `SCCACHE_REDIS_PASSWORD`), write a
/// short-lived key, read it back and delete it. The check runs on its own thread, so a
/// name lookup or a server that never answers cannot hold the build longer than `bound`.
pub fn probe(url: &RedisUrl, bound: Duration) -> Health {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let url = url.clone();
    std::thread::spawn(move || {
        let _ = tx.send(probe_blocking(&url, started + bound));
    });
    match rx.recv_timeout(bound) {
        Ok(Ok((mode, refused_write))) => Health::Usable {
            mode,
            millis: started.elapsed().as_millis() as u64,
            refused_write,
        },
        Ok(Err(why)) => Health::Unusable { why },
        Err(_) => Health::Unusable {
            why: format!("it did not answer within {} s", bound.as_secs_f64()),
        },
    }
}

/// One Redis connection speaking RESP, every read and write bounded by the deadline.
struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    deadline: Instant,
}

/// A Redis reply, as far as the probe needs it.
#[derive(Debug, PartialEq)]
enum Reply {
    Ok(String),
    Err(String),
    Bulk(Option<Vec<u8>>),
}

impl Conn {
    fn open(url: &RedisUrl, deadline: Instant) -> Result<Conn, String> {
        let addrs: Vec<_> = (url.host.as_str(), url.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", url.host))?
            .collect();
        let mut last = format!("{} resolves to no address", url.host);
        for addr in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(stream) => {
                    let reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
                    return Ok(Conn {
                        stream,
                        reader,
                        deadline,
                    });
                }
                Err(e) => last = format!("cannot connect to {addr}: {e}"),
            }
        }
        Err(last)
    }

    fn bound(&self) -> Result<(), String> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("it did not answer in time".into());
        }
        self.stream
            .set_read_timeout(Some(left))
            .and_then(|()| self.stream.set_write_timeout(Some(left)))
            .map_err(|e| e.to_string())
    }

    fn call(&mut self, args: &[&[u8]]) -> Result<Reply, String> {
        self.bound()?;
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            request.extend(format!("${}\r\n", a.len()).as_bytes());
            request.extend(*a);
            request.extend(b"\r\n");
        }
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                "it did not answer in time".to_owned()
            }
            _ => format!("the connection failed: {e}"),
        };
        self.stream.write_all(&request).map_err(io)?;
        let mut line = String::new();
        self.reader.read_line(&mut line).map_err(io)?;
        if line.is_empty() {
            return Err("it closed the connection".into());
        }
        let body = line.trim_end_matches(['\r', '\n']);
        let (kind, rest) = body.split_at(1.min(body.len()));
        match kind {
            "+" | ":" => Ok(Reply::Ok(rest.to_owned())),
            "-" => Ok(Reply::Err(rest.to_owned())),
            "$" => {
                let n: i64 = rest.parse().map_err(|_| format!("not Redis: {body:?}"))?;
                if n < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let mut data = vec![0; n as usize + 2];
                self.reader.read_exact(&mut data).map_err(io)?;
                data.truncate(n as usize);
                Ok(Reply::Bulk(Some(data)))
            }
            _ => Err(format!("it does not speak Redis (answered {body:?})")),
        }
    }

    /// A command that must succeed.
    fn ok(&mut self, what: &str, args: &[&[u8]]) -> Result<(), String> {
        match self.call(args)? {
            Reply::Err(e) => Err(format!("{what} failed: {e}")),
            _ => Ok(()),
        }
    }
}

fn probe_blocking(url: &RedisUrl, deadline: Instant) -> Result<(Mode, Option<String>), String> {
    if url.tls {
        // No TLS client here: a TCP connection is all that is checked; sccache speaks TLS.
        Conn::open(url, deadline)?;
        return Ok((Mode::ReadWrite, None));
    }
    let mut c = Conn::open(url, deadline)?;
    let env = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let password = url
        .password
        .clone()
        .or_else(|| env("SCCACHE_REDIS_PASSWORD"));
    let user = url.user.clone().or_else(|| env("SCCACHE_REDIS_USERNAME"));
    if let Some(password) = &password {
        match &user {
            Some(u) => c.ok("AUTH", &[b"AUTH", u.as_bytes(), password.as_bytes()])?,
            None => c.ok("AUTH", &[b"AUTH", password.as_bytes()])?,
        }
    }
    let db = url
        .db
        .map(|d| d.to_string())
        .or_else(|| env("SCCACHE_REDIS_DB"));
    if let Some(db) = &db {
        c.ok("SELECT", &[b"SELECT", db.as_bytes()])?;
    }
    let key = format!(
        "{}maou-build:probe:{}:{}",
        env("SCCACHE_REDIS_KEY_PREFIX").unwrap_or_default(),
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    let value = b"maou-build";
    match c.call(&[b"SET", key.as_bytes(), value, b"PX", b"60000"])? {
        Reply::Err(refused) => {
            // Reads may still be allowed (a replica): the cache is then read-only.
            match c.call(&[b"GET", key.as_bytes()])? {
                Reply::Err(e) => Err(format!("it refuses reads and writes: {e}")),
                _ => Ok((Mode::ReadOnly, Some(refused))),
            }
        }
        _ => match c.call(&[b"GET", key.as_bytes()])? {
            Reply::Bulk(Some(v)) if v == value => {
                c.ok("DEL", &[b"DEL", key.as_bytes()])?;
                Ok((Mode::ReadWrite, None))
            }
            other => Err(format!(
                "it lost a key it had just stored (read back {other:?})"
            )),
        },
    }
}

/// The remote a build was asked to use, and what its check found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checked {
    #[serde(flatten)]
    pub configured: Configured,
    #[serde(flatten)]
    pub health: Health,
}

/// Checks the configured remote within [PROBE_BOUND].
pub fn check(configured: Configured) -> Checked {
    let health = probe(&configured.url, PROBE_BOUND);
    Checked { configured, health }
}

impl Checked {
    /// What the build uses: the remote, unless it failed its check.
    pub fn active(&self) -> Option<Active> {
        match &self.health {
            Health::Usable { mode, .. } => Some(Active {
                url: self.configured.url.clone(),
                mode: *mode,
            }),
            Health::Unusable { .. } => None,
        }
    }

    /// One line for the build's output.
    pub fn describe(&self) -> String {
        let c = &self.configured;
        match &self.health {
            Health::Usable {
                mode: Mode::ReadWrite,
                millis,
                ..
            } => format!(
                "team cache {} ({}): read/write, answered in {millis} ms",
                c.endpoint, c.from
            ),
            Health::Usable {
                mode: Mode::ReadOnly,
                refused_write,
                ..
            } => format!(
                "team cache {} ({}): read-only, it refused a write ({}); this build reads from \
                 it and writes to the local disk only",
                c.endpoint,
                c.from,
                refused_write.as_deref().unwrap_or("")
            ),
            Health::Unusable { why } => format!(
                "team cache {} ({}) is not used: {why}; building with the local disk cache only",
                c.endpoint, c.from
            ),
        }
    }
}

/// The remote one build uses, checked: sccache's variables for it.
#[derive(Debug, Clone)]
pub struct Active {
    pub url: RedisUrl,
    pub mode: Mode,
}

impl Active {
    /// The variables that make sccache's server put the remote behind the local disk.
    pub fn sccache_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("SCCACHE_MULTILEVEL_CHAIN", "disk,redis".to_owned()),
            ("SCCACHE_REDIS_ENDPOINT", self.url.url.clone()),
            (
                "SCCACHE_REDIS_RW_MODE",
                self.mode.sccache_value().to_owned(),
            ),
        ];
        for name in REDIS_PASS_THROUGH {
            if let Ok(v) = std::env::var(name) {
                env.push((name, v));
            }
        }
        env
    }

    /// Whether a running sccache server's level description is this remote.
    pub fn is_described_by(&self, location: &str) -> bool {
        location.starts_with("redis")
            && location.contains(&format!("{}:{}", self.url.host, self.url.port))
    }
}

/// What the last build that used the remote got from it, kept for `doctor`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LastBuild {
    pub endpoint: String,
    /// Seconds since the Unix epoch.
    pub finished: u64,
    pub hits: u64,
    pub misses: u64,
    /// None when sccache gave no per-level counts (a read-only remote).
    pub remote_hits: Option<u64>,
    pub remote_writes: Option<u64>,
}

impl LastBuild {
    /// The file beside the target stores (`cache_root`) that keeps it.
    pub fn file(cache_root: &std::path::Path) -> std::path::PathBuf {
        cache_root.join("team-cache-last-build.json")
    }

    pub fn save(&self, cache_root: &std::path::Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        crate::fsutil::write_atomic(&Self::file(cache_root), &json)
    }

    pub fn load(cache_root: &std::path::Path) -> Option<LastBuild> {
        serde_json::from_slice(&std::fs::read(Self::file(cache_root)).ok()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_urls_parse_and_never_show_a_password() {
        let u = RedisUrl::parse("redis://cache.internal:6380/2").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.db),
            ("cache.internal", 6380, Some(2))
        );
        assert!(!u.has_secret());
        assert_eq!(u.shown(), "redis://cache.internal:6380/2");

        let u = RedisUrl::parse("redis://:hunter2@10.0.0.5").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("10.0.0.5", 6379));
        assert!(u.has_secret());
        assert_eq!(u.shown(), "redis://:***@10.0.0.5:6379");
        assert!(!format!("{:?}", Health::Unusable { why: u.shown() }).contains("hunter2"));

        let u = RedisUrl::parse("rediss://team:pw@[::1]:7000#insecure").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("::1", 7000, true));
        assert_eq!(u.shown(), "rediss://team:***@::1:7000");

        for bad in ["http://x:1", "redis://", "redis://h:port", "redis://h:1/db"] {
            assert!(RedisUrl::parse(bad).is_err(), "{bad}");
        }
    }

    /// A server that accepts and never answers: the probe returns within its bound.
    #[test]
    fn a_silent_server_is_unusable_within_the_bound() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _held = std::thread::spawn(move || {
            let conns: Vec<_> = listener.incoming().take(1).collect();
            std::thread::sleep(Duration::from_secs(3));
            drop(conns);
        });
        let url = RedisUrl::parse(&format!("redis://127.0.0.1:{port}")).unwrap();
        let started = Instant::now();
        let health = probe(&url, Duration::from_millis(300));
        assert!(started.elapsed() < Duration::from_secs(2), "{health:?}");
        assert!(
            matches!(&health, Health::Unusable { why } if why.contains("in time") || why.contains("within")),
            "{health:?}"
        );
    }

    #[test]
    fn a_closed_port_is_unusable() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url = RedisUrl::parse(&format!("redis://127.0.0.1:{port}")).unwrap();
        match probe(&url, PROBE_BOUND) {
            Health::Unusable { why } => assert!(why.contains("cannot connect"), "{why}"),
            h => panic!("{h:?}"),
        }
    }
}
