//! The project's configuration: the pinned toolchain, the linker, the dev profile.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::Deserialize;

use super::{env, fail, pass, warn, Check};
use crate::process;
use crate::profile::Chosen;
use crate::workspace::{Policy, Section, Workspace};

#[derive(Deserialize, Default)]
struct ToolchainFile {
    #[serde(default)]
    toolchain: ToolchainSection,
}

#[derive(Deserialize, Default)]
struct ToolchainSection {
    channel: Option<String>,
}

/// Whether a profile's `debug` value asks for no debuginfo at all.
fn no_debuginfo(v: &toml::Value) -> bool {
    matches!(v, toml::Value::Boolean(false) | toml::Value::Integer(0))
        || matches!(v.as_str(), Some("none" | "false" | "0"))
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

pub(super) fn toolchain(ws: &Workspace) -> Check {
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

pub(super) fn linker(ws: &Workspace) -> Check {
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
            let comments = crate::elf::comments(&fs::read(&out).unwrap_or_default());
            if let Some(stamp) = comments.iter().find(|c| crate::elf::linked_by_lld(c)) {
                pass(
                    "linker",
                    format!("lld links (a probe program's .comment says {stamp:?})"),
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
pub(super) fn profile(ws: &Workspace, checks: &mut Vec<Check>) {
    let chosen = match Chosen::for_workspace(ws, None) {
        Ok(c) => c,
        Err(e) => {
            checks.push(fail(
                "profile",
                format!("{e:#}"),
                "define the profile in the Cargo workspace's Cargo.toml, or name another",
            ));
            return;
        }
    };
    let p = &chosen.profile;
    let linked = match (p.lto, &ws.dev_dylib) {
        (true, _) => "LTO: every crate linked statically into the extension, no dev dylib",
        (false, Some(_)) => "no LTO: the third-party crates come from the dev dylib",
        (false, None) => "no LTO",
    };
    checks.push(pass(
        "profile",
        format!(
            "develop builds `{}` ({}): opt-level {}, {linked}",
            p.name,
            chosen.why(),
            p.opt_level
        ),
    ));
    let section = ws.profiles.section(&p.name).cloned().unwrap_or_default();
    // Cargo's variables for this profile (CARGO_PROFILE_PY_EXT_… for py-ext).
    let var = |key: &str| {
        env(&format!(
            "CARGO_PROFILE_{}_{key}",
            p.name.to_uppercase().replace('-', "_")
        ))
    };
    let incremental = match env("CARGO_INCREMENTAL").as_deref() {
        Some("0") => false,
        Some(_) => true,
        None => var("INCREMENTAL").map_or(p.incremental, |v| v == "true"),
    };
    let cgu = var("CODEGEN_UNITS")
        .and_then(|v| v.parse().ok())
        .unwrap_or(p.codegen_units);
    match p.policy() {
        Policy::Dev => dev_policy(p, incremental, cgu, checks),
        Policy::Optimized => optimized_policy(p, incremental, cgu, checks),
        Policy::Lto => checks.push(pass(
            "codegen-units",
            format!(
                "`{}` links with LTO (a release build, like the wheels'): the edit loop's settings do not apply",
                p.name
            ),
        )),
    }
    if p.name == "dev" {
        checks.push(debuginfo(&section, &var));
    }
    checks.push(dev_dylib(ws));
}

/// The fix for a profile key that departs from the policy: where cargo's configuration
/// sets it (a user-level file overrides Cargo.toml for every build), else `in_manifest`.
fn fix_at(p: &crate::workspace::Profile, key: &str, in_manifest: String) -> String {
    match p.from_config.get(key) {
        Some(file) => format!(
            "remove `{}` from [profile.{}]{} in {}, which sets it for every build of this user (develop, uv, maturin, cargo) over the workspace's Cargo.toml; Cargo.toml then decides ({in_manifest} if it does not)",
            if key == "third-party codegen-units" { "codegen-units" } else { key },
            p.name,
            if key == "third-party codegen-units" { " (or its package.\"*\")" } else { "" },
            file.display(),
        ),
        None => in_manifest,
    }
}

/// Where a profile key's value comes from, for a check's detail.
fn from_where(p: &crate::workspace::Profile, key: &str) -> String {
    p.from_config
        .get(key)
        .map(|f| format!(" (set by {})", f.display()))
        .unwrap_or_default()
}

/// The seed's decisions for dev builds: every crate from sccache, 16 codegen units.
fn dev_policy(p: &crate::workspace::Profile, incremental: bool, cgu: u32, checks: &mut Vec<Check>) {
    let policy = &crate::sccache::dev_build_env().dev_profile;
    let name = &p.name;
    checks.push(if incremental && !policy.incremental {
        fail(
            "incremental",
            format!("`{name}` builds are incremental{}: sccache cannot cache the workspace's crates", from_where(p, "incremental")),
            fix_at(p, "incremental", format!("set `incremental = false` under [profile.{name}] in the workspace's Cargo.toml (a file every door reads: develop, uv's builds, cargo), and unset CARGO_INCREMENTAL")),
        )
    } else {
        pass(
            "incremental",
            format!("{} for `{name}` (sccache can cache every crate)", if incremental { "on" } else { "off" }),
        )
    });
    checks.push(held(
        "codegen-units",
        cgu == policy.codegen_units,
        format!("{cgu} for `{name}` (bounds polars-core's peak memory in 4 GB)"),
        format!("{cgu} for `{name}`{}: more codegen units raise the peak memory of a crate such as polars-core past a 4 GB machine, fewer make every crate slower to build; {} does both", from_where(p, "codegen-units"), policy.codegen_units),
        fix_at(p, "codegen-units", format!("set `codegen-units = {}` under [profile.{name}]", policy.codegen_units)),
    ));
}

/// A PASS when a setting holds the policy's value, else a WARN with its fix.
fn held(name: &'static str, holds: bool, ok: String, not: String, fix: String) -> Check {
    if holds {
        pass(name, ok)
    } else {
        warn(name, not, fix)
    }
}

/// The edit loop's settings under an optimized profile: the workspace's crates incremental
/// with many codegen units (an edit re-optimizes only what it touched), the third-party
/// crates at the units that keep a cold build in 4 GiB. A departure from the seed's
/// non-incremental dev profile, for this profile only: cargo builds no third-party crate
/// incrementally, so sccache still caches every one of them.
fn optimized_policy(
    p: &crate::workspace::Profile,
    incremental: bool,
    cgu: u32,
    checks: &mut Vec<Check>,
) {
    let policy = &crate::sccache::dev_build_env().optimized_profile;
    let name = &p.name;
    checks.push(held(
        "incremental",
        incremental == policy.incremental,
        format!("on for `{name}`, an optimized profile: the workspace's own crates rebuild incrementally (sccache does not cache them; the seed's dev profile does not do this), every third-party crate still comes from sccache (cargo builds none of them incrementally)"),
        format!("off for `{name}`, an optimized profile{}: each edit re-optimizes every function of each crate it rebuilds", from_where(p, "incremental")),
        fix_at(p, "incremental", format!("set `incremental = true` under [profile.{name}] (the workspace's crates only: cargo builds no third-party crate incrementally, so sccache still caches them)")),
    ));
    checks.push(held(
        "codegen-units",
        cgu == policy.codegen_units,
        format!("{cgu} for the workspace's crates under `{name}`: an edit re-optimizes only the units it touched"),
        format!("{cgu} for the workspace's crates under `{name}`{}: an edit re-optimizes {} of each crate it rebuilds", from_where(p, "codegen-units"), if cgu == 1 { "all".to_owned() } else { format!("a 1/{cgu} share or more") }),
        fix_at(p, "codegen-units", format!("set `codegen-units = {}` under [profile.{name}] (with `incremental = true`)", policy.codegen_units)),
    ));
    let third = p.third_party_codegen_units;
    checks.push(held(
        "third-party codegen-units",
        third == policy.third_party_codegen_units,
        format!("{third} for the third-party crates under `{name}` (a cold build's peak inside 4 GiB, measured)"),
        format!("{third} for the third-party crates under `{name}`{}: {} than the {} a cold build was measured with in 4 GiB", from_where(p, "third-party codegen-units"), if third < policy.third_party_codegen_units { "slower to build cold" } else { "more peak memory" }, policy.third_party_codegen_units),
        fix_at(p, "third-party codegen-units", format!("set `codegen-units = {}` under [profile.{name}.package.\"*\"]", policy.third_party_codegen_units)),
    ));
}

/// Whether `uv run` after a Rust edit builds it, or runs the old extension.
pub(super) fn uv_staleness(ws: &Workspace) -> Check {
    let missing = crate::doors::unwatched_rust_inputs(ws);
    if missing.is_empty() {
        return pass(
            "uv after edits",
            "[tool.uv] cache-keys name the Rust inputs: after a Rust edit `uv run` builds it (develop's build, through its store) before it runs",
        );
    }
    warn(
        "uv after edits",
        format!(
            "uv watches {} only: after an edit to {} `uv run` (and the pre-commit hook's `uv run pytest`) runs the old extension until develop builds",
            ws.uv_cache_keys
                .as_ref()
                .map_or("pyproject.toml".to_owned(), |k| k.join(", ")),
            missing.join(", ")
        ),
        format!(
            "add to [tool.uv] cache-keys: {} (`maou-build init` writes them)",
            missing
                .iter()
                .map(|k| format!("{{ file = \"{k}\" }}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

/// Whether uv's build of the project (`uv run`, `uv sync` after a change) is develop's.
pub(super) fn uv_door(ws: &Workspace) -> Check {
    match crate::doors::mismatches_of_default(ws, &ws.root.join(crate::editable::VENV)) {
        Err(e) => warn(
            "uv builds",
            format!("cannot tell what develop builds: {e:#}"),
            "fix the profile named in pyproject.toml",
        ),
        Ok((chosen, found)) if found.is_empty() => pass(
            "uv builds",
            format!(
                "`uv run`, `uv sync` and `maturin develop` build what develop builds (`{}`, same features, the venv's interpreter): after develop they compile nothing",
                chosen.profile.name
            ),
        ),
        Ok((_, found)) => warn(
            "uv builds",
            found
                .iter()
                .map(|m| m.describe())
                .collect::<Vec<_>>()
                .join("; "),
            found
                .iter()
                .map(|m| m.fix.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
}

/// The door that cannot reach "nothing to compile" after develop, and why: said, not warned
/// about (it costs one rebuild of a few crates, and develop's next run one more).
pub(super) fn other_doors(ws: &Workspace) -> Check {
    pass(
        "other doors",
        format!(
            "plain `cargo build` of {} has none of maturin's PyO3 variables nor [tool.maturin]'s profile and features: pyo3 and the extension rebuild once (`cargo test -p` of a library crate is not concerned)",
            ws.cdylib.name
        ),
    )
}

/// The third-party crates in a dylib of their own for dev builds: an edit relinks only
/// the workspace's code ([crate::companion]).
fn dev_dylib(ws: &Workspace) -> Check {
    let Some(d) = &ws.dev_dylib else {
        return warn(
            "dev dylib",
            "dev builds link every third-party crate into the extension: each Rust edit relinks all of it",
            "add a workspace crate with `crate-type = [\"dylib\"]` that depends on the third-party crates, an optional dependency on it behind a feature of the cdylib (with `#[cfg(feature = ...)] extern crate ...;`), and name that feature as `dev-dylib-feature` under [tool.maou-build] in pyproject.toml",
        );
    };
    match ws.dev_dylib_missing(d) {
        Ok(missing) if missing.is_empty() => pass(
            "dev dylib",
            format!(
                "dev builds take the third-party crates from {} (feature {}): an edit relinks only the workspace's code",
                d.krate.name, d.feature
            ),
        ),
        Ok(missing) => warn(
            "dev dylib",
            format!(
                "{} is not a dependency of {}: dev builds link it into the extension, relinked on every edit",
                missing.join(", "),
                d.krate.name
            ),
            format!(
                "add {} under [dependencies] in {}",
                missing.join(", "),
                d.krate.manifest_path.display()
            ),
        ),
        Err(e) => warn(
            "dev dylib",
            format!("cannot tell which crates {} covers: {e:#}", d.krate.name),
            "run `cargo metadata` in the workspace to see why",
        ),
    }
}

/// Third-party crates' debuginfo: linked into the extension, it is relinked on every edit.
fn debuginfo(dev: &Section, var: &dyn Fn(&str) -> Option<String>) -> Check {
    let workspace = var("DEBUG")
        .map(toml::Value::String)
        .or_else(|| dev.debug.clone());
    let third_party = dev
        .package
        .get("*")
        .and_then(|p| p.debug.clone())
        .or_else(|| workspace.clone());
    let shown = |v: &Option<toml::Value>| match v {
        None => "2 (cargo's default)".to_owned(),
        Some(toml::Value::String(s)) => format!("{s:?}"),
        Some(toml::Value::Integer(i)) => i.to_string(),
        Some(toml::Value::Boolean(b)) => b.to_string(),
        Some(other) => format!("{other:?}"),
    };
    let split = dev.split_debuginfo.as_deref().filter(|s| *s != "off");
    match (&third_party, split) {
        (Some(v), _) if no_debuginfo(v) => pass(
            "debuginfo",
            format!(
                "none for third-party crates, debug = {} for the workspace's: edits relink no third-party debuginfo (`develop --full-debuginfo` for a debugging session)",
                shown(&workspace)
            ),
        ),
        (_, Some(split)) => pass(
            "debuginfo",
            format!("kept out of the extension (split-debuginfo = {split:?})"),
        ),
        _ => warn(
            "debuginfo",
            format!(
                "third-party crates carry debuginfo (debug = {}): every edit relinks it into the extension (close to 1 GB with polars)",
                shown(&third_party)
            ),
            "set `debug = false` under [profile.dev.package.\"*\"] in Cargo.toml; `maou-build develop --full-debuginfo` brings it back for a debugging session",
        ),
    }
}
