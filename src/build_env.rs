//! The environment every build of the extension runs in, set up once for develop, wheel
//! and bench: the compiler cache and its server, the target directory, the cargo jobs, and
//! the variables each cargo (or maturin) child gets.

use std::ffi::OsString;
use std::path::Path;

use anyhow::Result;

use crate::messages::note;
use crate::resources::{self, Jobs};
use crate::sccache::{self, Delta, Sccache, Server};
use crate::target_dir::{self, TargetDir};
use crate::team_cache;
use crate::workspace::Workspace;

/// Whether a build may go without sccache.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// The edit loop: without the cache a lost `target/` costs minutes, so its absence is
    /// an error that says how to install it.
    Required,
    /// Release wheels: a developer's machine has the cache, CI's Nix build has none.
    IfFound,
}

// No variable overrides the workspace's profiles (CARGO_INCREMENTAL, CARGO_PROFILE_*):
// they are the one place a build's settings live, read alike by develop, maturin (uv's
// builds), plain cargo and the wheels, and doctor checks them there.

/// `--jobs`, as develop and wheel take it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct JobsArg {
    /// Cargo jobs [default: chosen from the cores and the memory really available]
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

impl JobsArg {
    /// The jobs to build with: the ones asked for, else chosen from the cores and memory.
    pub fn choose(&self) -> resources::Jobs {
        resources::choose_jobs(self.jobs.map(usize::from))
    }
}

pub struct BuildEnv {
    pub cache: Option<Sccache>,
    /// The sccache server this build holds, with what it had counted when the build
    /// began.
    server: Option<Server>,
    /// Why the sccache server was restarted, if it was.
    pub server_restarted: Option<String>,
    pub target: TargetDir,
    pub jobs: Jobs,
    /// The host's target triple (from the `rustc -vV` the target store is keyed by).
    pub rustc_host: String,
    /// That `rustc -vV`.
    pub rustc_version: String,
}

/// The compiler cache for `ws`, checked writable, or None when `cache` allows it. Done
/// first, before anything is created: a missing cache leaves nothing behind.
pub fn find_cache(ws: &Workspace, cache: Cache) -> Result<Option<Sccache>> {
    match Sccache::from_env() {
        Ok(mut found) => {
            found.check_writable()?;
            found.basedirs =
                sccache::remembered_basedirs(&target_dir::cache_root()?, &ws.cargo_workspace_root)?;
            found.team_cache = team_cache::configured(ws.team_cache.as_deref())?.map(|c| {
                let checked = team_cache::check(c);
                note(checked.describe());
                checked
            });
            Ok(Some(found))
        }
        Err(e) if cache == Cache::Required => Err(e),
        Err(e) => {
            note(format!("building without a compiler cache: {e:#}"));
            Ok(None)
        }
    }
}

/// The variables every build child gets from `cache` (none without one).
pub fn cache_vars(cache: Option<&Sccache>) -> Vec<(String, String)> {
    cache
        .into_iter()
        .flat_map(Sccache::env)
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

impl BuildEnv {
    /// Starts (or restarts) the cache's server with this workspace's settings, prepares
    /// the target directory and chooses the jobs, saying what it did.
    pub fn prepare(ws: &Workspace, found: Option<Sccache>, jobs: &JobsArg) -> Result<BuildEnv> {
        let rustc_version = target_dir::rustc_version(ws)?;
        let target = target_dir::prepare(ws, &rustc_version)?;
        if !matches!(target.state, target_dir::TargetState::Linked) {
            note(target.describe());
        }
        for old in &target.removed {
            note(format!("removed the old target store {}", old.display()));
        }
        let (server, server_restarted) = match &found {
            Some(c) => {
                let server = c.ensure_server()?;
                for what in server.restarted.iter().chain(&server.busy) {
                    note(what);
                }
                let restarted = server.restarted.clone();
                (Some(server), restarted)
            }
            None => (None, None),
        };
        Ok(BuildEnv {
            cache: found,
            server,
            server_restarted,
            target,
            jobs: jobs.choose(),
            rustc_host: target_dir::host_of(&rustc_version)?,
            rustc_version,
        })
    }

    /// The variables of every build child: the cache's.
    pub fn vars(&self) -> Vec<(String, String)> {
        cache_vars(self.cache.as_ref())
    }

    /// What the cache did since [BuildEnv::prepare]; None without a cache.
    pub fn sccache_delta(&self) -> Option<Delta> {
        let (cache, before) = (self.cache.as_ref()?, &self.server.as_ref()?.stats);
        Some(Delta::between(before, &cache.stats()))
    }
}

/// A build child (cargo, maturin) in `dir` with `vars`, without the variables a parent
/// cargo leaves behind for its own crate ([leaked_crate_vars]) and without any remote
/// cache the parent's environment names: `vars` carry the one that passed its check.
pub fn child<S: Into<OsString>>(
    program: &str,
    args: impl IntoIterator<Item = S>,
    dir: &Path,
    vars: &[(String, String)],
) -> duct::Expression {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut expr = duct::cmd(program, args).dir(dir);
    // In duct the first call wins over a later one for the same name: remove only what
    // `vars` does not set.
    for name in leaked_crate_vars()
        .into_iter()
        .chain(team_cache::inherited_remote_vars())
        .filter(|name| !vars.iter().any(|(k, _)| name == k.as_str()))
    {
        expr = expr.env_remove(name);
    }
    for (k, v) in vars {
        expr = expr.env(k, v);
    }
    expr
}

/// Variables that a parent cargo (`cargo run`, `cargo test`) set for *its* crate. The
/// inner cargo sets them again for each crate it builds, but not all of them for every
/// crate (CARGO_PRIMARY_PACKAGE, CARGO_TARGET_TMPDIR, CARGO_BIN_EXE_*), and sccache hashes
/// every CARGO_* variable rustc sees: left in place they would change cache keys with the
/// path of whatever ran maou-build.
pub fn leaked_crate_vars() -> Vec<OsString> {
    const EXACT: &[&str] = &[
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| {
            let n = name.to_string_lossy();
            EXACT.contains(&n.as_ref())
                || n.starts_with("CARGO_PKG_")
                || n.starts_with("CARGO_BIN_EXE_")
        })
        .collect()
}
