//! The dev container (`.devcontainer/devcontainer.json`, JSONC): Nix, the caches on named
//! volumes, and the lifecycle that makes the extension importable in the prebuild
//! (docs/uc1-new-machine.md). Merged into the workspace's own, never replacing it: edited
//! in place through jsonc-parser's CST, so comments, order, features, mounts and every
//! other setting stay; a volume that already serves a cache is reused, not mounted twice;
//! init's steps run after the workspace's own lifecycle commands. A file is written when
//! there is none. Where the workspace's own setup defeats one build for every door (a
//! script that writes a user-level cargo configuration), init names the line and the
//! smallest change, and leaves the script as it is.

use std::path::Path;

use anyhow::{Context, Result};
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use jsonc_parser::ParseOptions;
use serde_json::Value;

use super::{Edits, Route};

const FILE: &str = ".devcontainer/devcontainer.json";
const NIX_FEATURE: &str = "ghcr.io/devcontainers/features/nix:1";

/// How the dev container runs maou-build: `nix develop --command` (the flake's dev shell),
/// or `uv run --no-install-project` (the dev dependency group's; the project itself is
/// installed by develop, after its build, not by uv before it).
fn runner(route: Route) -> &'static str {
    match route {
        Route::Nix => "nix develop --command",
        Route::Uv => "uv run --no-install-project",
    }
}

/// The lifecycle, split for Codespaces prebuilds: everything slow in onCreate and
/// updateContent (which a prebuild snapshots), postCreate finding the build up to date.
/// onCreate's command is develop after a `chown` of the volumes in use: the build in the
/// prebuild. This repository's own dev container has the Nix route's (tests/init.rs).
pub fn lifecycle_steps(route: Route) -> [(&'static str, String); 4] {
    let run = runner(route);
    [
        ("onCreateCommand", format!("{run} maou-build develop")),
        (
            "updateContentCommand",
            format!("{run} maou-build develop --no-prebuilt"),
        ),
        ("waitFor", "onCreateCommand".to_owned()),
        ("postCreateCommand", format!("{run} maou-build develop")),
    ]
}

/// A step of the other route, which a route change replaces.
fn other_route_step(route: Route, ours: &str) -> String {
    let other = match route {
        Route::Nix => Route::Uv,
        Route::Uv => Route::Nix,
    };
    ours.replacen(runner(route), runner(other), 1)
}

/// A cache init keeps on a named volume: its name suffix, where init mounts it, and how
/// to recognise a mount of the workspace's own that already serves it.
struct Volume {
    suffix: &'static str,
    target: &'static str,
    what: &'static str,
    serves: fn(&str) -> bool,
}

/// The named volumes. A rebuilt container keeps them.
const VOLUMES: [Volume; 4] = [
    Volume {
        suffix: "nix-store",
        target: "/nix",
        what: "the Nix store",
        serves: |t| t == "/nix",
    },
    Volume {
        suffix: "cargo-registry",
        target: "/home/vscode/.cargo/registry",
        what: "cargo's registry",
        serves: |t| t.ends_with("cargo/registry"),
    },
    Volume {
        suffix: "sccache",
        target: "/home/vscode/.cache/sccache",
        what: "sccache's directory",
        serves: |t| t.trim_end_matches('/').ends_with("sccache"),
    },
    Volume {
        suffix: "build-cache",
        target: "/home/vscode/.cache/maou-build",
        what: "maou-build's target store",
        serves: |t| t.trim_end_matches('/').ends_with("maou-build"),
    },
];

const NEW_FILE: &str = "// Written by `maou-build init`: the flake's toolchain through Nix, the caches on named\n// volumes, and an importable extension at the end of creation.\n{\n  \"image\": \"mcr.microsoft.com/devcontainers/base:debian-12\",\n  \"remoteUser\": \"vscode\"\n}\n";

pub(super) fn lifecycle(edits: &mut Edits) -> Result<()> {
    let path = Path::new(FILE);
    let text = edits.text(path)?.unwrap_or_else(|| NEW_FILE.to_owned());
    let root = CstRootNode::parse(&text, &ParseOptions::default())
        .map_err(|e| anyhow::anyhow!("{FILE}: {e}"))?;
    let obj = root
        .object_value()
        .with_context(|| format!("{FILE} is not a JSON object"))?;
    let read: Value = jsonc_parser::parse_to_serde_value(&text, &ParseOptions::default())
        .map_err(|e| anyhow::anyhow!("{FILE}: {e}"))?;
    let mut changed = Vec::new();

    let features = obj.object_value_or_set("features");
    if edits.route == Route::Nix && features.get(NIX_FEATURE).is_none() {
        features.append(
            NIX_FEATURE,
            CstInputValue::Object(vec![(
                "extraNixConfig".to_owned(),
                "experimental-features = nix-command flakes".into(),
            )]),
        );
        changed.push(format!("feature {NIX_FEATURE}"));
    }
    let targets = volumes(edits, &obj, &read, &mut changed);
    let chown = format!(
        "sudo chown -R \"$(id -u):$(id -g)\" {} && ",
        owned_paths(&targets).join(" ")
    );
    for (key, ours) in lifecycle_steps(edits.route) {
        if key == "waitFor" {
            if read.get(key).is_none() {
                obj.append(key, ours.as_str().into());
                changed.push(format!("{key} {ours}"));
            }
            continue;
        }
        let ours = if key == "onCreateCommand" {
            format!("{chown}{ours}")
        } else {
            ours
        };
        add_step(edits, &obj, &read, key, &ours, &mut changed)?;
    }
    conflicting_scripts(edits, &read)?;
    if !changed.is_empty() {
        edits.set(path, root.to_string(), changed.join("; "))?;
    }
    Ok(())
}

/// Where the dev container builds: its checkout (`workspaceFolder`, by default
/// `/workspaces/<repository>`, written as the workflow expression that names it), its
/// CARGO_HOME (set in `containerEnv` or `remoteEnv`, else the one whose registry the
/// cargo-registry volume holds, else init's) and maou-build's cache (the volume that
/// serves it; the target store, where maturin's PyO3 configuration file lies). The
/// dependency build is made there in CI: cargo's fingerprints hold all three
/// ([crate::deps_archive]).
pub(super) fn build_place(edits: &Edits) -> Result<[String; 3]> {
    let text = edits
        .text(Path::new(FILE))?
        .unwrap_or_else(|| NEW_FILE.to_owned());
    let read: Value = jsonc_parser::parse_to_serde_value(&text, &ParseOptions::default())
        .map_err(|e| anyhow::anyhow!("{FILE}: {e}"))?;
    let repository = "${{ github.event.repository.name }}";
    let checkout = read
        .get("workspaceFolder")
        .and_then(Value::as_str)
        .map(|f| f.replace("${localWorkspaceFolderBasename}", repository))
        .unwrap_or_else(|| format!("/workspaces/{repository}"));
    let from_env = ["containerEnv", "remoteEnv"]
        .iter()
        .find_map(|k| read.get(*k)?.get("CARGO_HOME")?.as_str().map(str::to_owned));
    let mounted = |v: &Volume| {
        read.get("mounts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(mount_of)
            .find(|(_, t)| (v.serves)(t))
            .map(|(_, t)| t)
            .unwrap_or_else(|| v.target.to_owned())
    };
    let registry = mounted(&VOLUMES[1]);
    let cargo_home = from_env.unwrap_or_else(|| {
        registry
            .strip_suffix("/registry")
            .unwrap_or(&registry)
            .to_owned()
    });
    Ok([checkout, cargo_home, mounted(&VOLUMES[3])])
}

/// The target of each of init's volumes: a mount of the workspace's own that serves the
/// same cache (by its name or its target), else init's own, appended.
fn volumes(
    edits: &mut Edits,
    obj: &CstObject,
    read: &Value,
    changed: &mut Vec<String>,
) -> Vec<String> {
    let existing: Vec<(String, String)> = read
        .get("mounts")
        .and_then(Value::as_array)
        .map(|mounts| mounts.iter().filter_map(mount_of).collect())
        .unwrap_or_default();
    let package = edits.ws.package.to_lowercase();
    let mounts = obj.array_value_or_set("mounts");
    let mut targets = Vec::new();
    // The Nix store's volume serves the Nix route only.
    let route = edits.route;
    for v in VOLUMES
        .iter()
        .filter(|v| route == Route::Nix || v.target != "/nix")
    {
        let source = format!("{package}-{}", v.suffix);
        let theirs = existing
            .iter()
            .find(|(s, t)| *s == source || t == v.target || (v.serves)(t));
        match theirs {
            Some((s, t)) => {
                if t != v.target {
                    edits.notes.push(format!(
                        "{FILE}: the volume {s} at {t} serves {}: reused, not mounted a second time",
                        v.what
                    ));
                }
                targets.push(t.clone());
            }
            None => {
                let mount = format!("source={source},target={},type=volume", v.target);
                mounts.append(mount.as_str().into());
                changed.push(format!("volume {source} at {}", v.target));
                targets.push(v.target.to_owned());
            }
        }
    }
    targets
}

/// (source, target) of a mount, in either of the spec's forms: `"source=…,target=…"` or
/// `{"source": …, "target": …}`.
fn mount_of(m: &Value) -> Option<(String, String)> {
    if let Some(text) = m.as_str() {
        let field = |names: &[&str]| {
            text.split(',').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                names.contains(&k.trim()).then(|| v.trim().to_owned())
            })
        };
        return Some((
            field(&["source", "src"]).unwrap_or_default(),
            field(&["target", "destination", "dst"])?,
        ));
    }
    let source = m.get("source").and_then(Value::as_str).unwrap_or_default();
    Some((source.to_owned(), m.get("target")?.as_str()?.to_owned()))
}

/// What onCreate makes the remote user's: Docker creates a volume's mount point, and the
/// directories above it, as root. Under the home directory that is the directory below
/// it (`$HOME/.cache`, which other tools write to as well); elsewhere the mount itself.
/// The Nix store is the Nix feature's.
fn owned_paths(targets: &[String]) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    for t in targets.iter().filter(|t| *t != "/nix") {
        let path = match t.strip_prefix("/home/vscode/") {
            Some(rest) => format!("\"$HOME/{}\"", rest.split('/').next().unwrap_or(rest)),
            None => t.clone(),
        };
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths
}

/// init's step `ours` in the lifecycle command `key`: the whole command when the workspace
/// has none; after the workspace's own (`theirs && ours`) when it has one, so its setup
/// still runs first and a failure of it still stops the creation as before; an entry of
/// its own when the command is the spec's object form (parallel commands). A command from
/// which the step was removed by hand since init added it is kept and reported.
fn add_step(
    edits: &mut Edits,
    obj: &CstObject,
    read: &Value,
    key: &str,
    ours: &str,
    changed: &mut Vec<String>,
) -> Result<()> {
    let record_key = format!("{FILE}#{key}");
    let current = read.get(key);
    if let Some(Value::Object(commands)) = current {
        let entry_key = format!("{record_key}.maou-build");
        let now = commands.get("maou-build").and_then(Value::as_str);
        if edits.should_write(&entry_key, now.map(quoted).as_deref(), &quoted(ours)) {
            let target = obj
                .object_value(key)
                .with_context(|| format!("{FILE}: {key} is not an object"))?;
            match target.get("maou-build") {
                Some(p) => p.set_value(ours.into()),
                None => {
                    target.append("maou-build", ours.into());
                }
            }
            changed.push(format!(
                "{key}: an entry \"maou-build\" (the object form runs its entries in parallel)"
            ));
        }
        return Ok(());
    }
    let theirs = match current {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(args)) => {
            let words: Vec<&str> = args.iter().filter_map(Value::as_str).collect();
            Some(
                shlex::try_join(words)
                    .with_context(|| format!("{FILE}: {key} cannot be written as one command"))?,
            )
        }
        Some(other) => anyhow::bail!("{FILE}: {key} is {other}, not a command"),
    };
    let shown = theirs.as_deref().map(quoted);
    // A route change: the other route's step goes, ours takes its place.
    let other = other_route_step(edits.route, ours);
    let theirs = theirs.map(|t| {
        t.strip_suffix(&other)
            .map(|rest| rest.trim_end().trim_end_matches("&&").trim_end().to_owned())
            .unwrap_or(t)
    });
    let theirs = theirs.filter(|t| !t.is_empty());
    let desired = match &theirs {
        None => ours.to_owned(),
        Some(t) if t == ours || t.ends_with(&format!("&& {ours}")) => t.clone(),
        Some(t) => format!("{t} && {ours}"),
    };
    if !edits.should_write(&record_key, shown.as_deref(), &quoted(&desired)) {
        return Ok(());
    }
    match obj.get(key) {
        Some(p) => p.set_value(desired.as_str().into()),
        None => {
            obj.append(key, desired.as_str().into());
        }
    }
    changed.push(match theirs {
        Some(t) => format!("{key}: the workspace's {t:?} first, then {ours:?}"),
        None => key.to_owned(),
    });
    Ok(())
}

/// Compared and recorded as JSON strings, quoted.
fn quoted(s: &str) -> String {
    format!("{s:?}")
}

/// The scripts the workspace's lifecycle commands run (`bash scripts/dev-init.sh`), read
/// for the lines that write cargo settings over every build of the user: each is named,
/// with its effect and the smallest change. The scripts are not edited.
fn conflicting_scripts(edits: &mut Edits, read: &Value) -> Result<()> {
    let wanted = policy_values(edits);
    let mut scripts: Vec<String> = Vec::new();
    for key in [
        "initializeCommand",
        "onCreateCommand",
        "updateContentCommand",
        "postCreateCommand",
        "postStartCommand",
        "postAttachCommand",
    ] {
        let mut texts = Vec::new();
        match read.get(key) {
            Some(Value::String(s)) => texts.push(s.clone()),
            Some(Value::Array(a)) => {
                texts.extend(a.iter().filter_map(Value::as_str).map(str::to_owned))
            }
            Some(Value::Object(o)) => {
                texts.extend(o.values().filter_map(Value::as_str).map(str::to_owned))
            }
            _ => {}
        }
        for word in texts.iter().flat_map(|t| t.split_whitespace()) {
            let word = word.trim_matches(|c| c == '"' || c == '\'' || c == ';');
            if word.ends_with(".sh") && !scripts.iter().any(|s| s == word) {
                scripts.push(word.to_owned());
            }
        }
    }
    for script in scripts {
        let rel = Path::new(&script);
        let Some(text) = edits.text(rel)? else {
            continue;
        };
        edits
            .notes
            .extend(script_conflicts(&script, &text, &wanted));
    }
    Ok(())
}

/// The editable profile (as init leaves it) and the values the policy holds it to:
/// (profile, key, value).
fn policy_values(edits: &Edits) -> Vec<(String, &'static str, String)> {
    let Ok(Some(settings)) = edits.editable.settings(edits.ws) else {
        return Vec::new();
    };
    let name = edits.editable.name.clone();
    vec![
        (
            name.clone(),
            "incremental",
            settings.incremental.to_string(),
        ),
        (name, "codegen-units", settings.codegen_units.to_string()),
    ]
}

/// The lines of a setup script that write a cargo setting which every door then builds
/// with: `target-dir`, `jobs`, and `incremental` / `codegen-units` under the profile
/// develop builds when they differ from its policy (`wanted`), in a cargo configuration
/// the script writes (a here-document), or the matching `CARGO_*` variable.
fn script_conflicts(
    script: &str,
    text: &str,
    wanted: &[(String, &'static str, String)],
) -> Vec<String> {
    let mut notes = Vec::new();
    let mut section = String::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let t = line.trim();
        if t.starts_with('#') {
            continue;
        }
        if t.starts_with('[') && t.ends_with(']') {
            section = t.trim_matches(|c| c == '[' || c == ']').to_owned();
            continue;
        }
        let (key, value) = t.split_once('=').unwrap_or((t, ""));
        let (key, value) = (key.trim(), value.split('#').next().unwrap_or("").trim());
        let departs = wanted.iter().any(|(profile, k, v)| {
            section == format!("profile.{profile}") && key == *k && value != v
        });
        let effect = match (section.as_str(), key) {
            ("build", "target-dir") | (_, "export CARGO_TARGET_DIR") => Some(
                "every build of the user goes to that directory, not to the workspace's target/ \
                 and develop's persistent store: the build the prebuild made is not found, and \
                 each door builds cold there",
            ),
            ("build", "jobs") | (_, "export CARGO_BUILD_JOBS") => Some(
                "every cargo, uv and maturin build of the user runs at that many jobs, \
                 whatever memory the machine has (develop passes its own --jobs)",
            ),
            (_, "incremental" | "codegen-units") if departs => Some(
                "it overrides the edit loop's setting that init writes into the workspace's \
                 Cargo.toml, for every build of the user; the build the prebuild made no longer \
                 matches and is rebuilt",
            ),
            _ => None,
        };
        if let Some(effect) = effect {
            notes.push(format!(
                "{script}:{n}: `{t}`{}: {effect}. Smallest change: delete line {n} (init leaves \
                 {script} as it is)",
                if section.is_empty() {
                    String::new()
                } else {
                    format!(" (in [{section}] of the cargo configuration it writes)")
                }
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_writing_a_user_cargo_config_is_named_by_line() {
        let script = "#!/bin/bash\ncat > \"$CARGO_HOME/config.toml\" << EOF\n[build]\ntarget-dir = \"/tmp/cargo-target\"\njobs = 1\nrustc-wrapper = \"sccache\"\n\n[profile.release]\ncodegen-units = 16\n\n[profile.py-ext]\nincremental = true\ncodegen-units = 16\nEOF\n";
        let wanted = [
            ("py-ext".to_owned(), "incremental", "true".to_owned()),
            ("py-ext".to_owned(), "codegen-units", "256".to_owned()),
        ];
        let notes = script_conflicts("scripts/dev-init.sh", script, &wanted);
        let lines: Vec<&str> = notes
            .iter()
            .map(|n| n.split(": `").next().unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                "scripts/dev-init.sh:4",
                "scripts/dev-init.sh:5",
                "scripts/dev-init.sh:13"
            ],
            "{notes:#?}"
        );
        assert!(notes[0].contains("delete line 4"), "{}", notes[0]);
    }

    #[test]
    fn a_mount_is_read_in_either_form() {
        let s =
            Value::from("type=volume,source=maou-cargo-registry,target=/usr/local/cargo/registry");
        assert_eq!(
            mount_of(&s),
            Some((
                "maou-cargo-registry".into(),
                "/usr/local/cargo/registry".into()
            ))
        );
        let o = serde_json::json!({"source": "x", "target": "/nix", "type": "volume"});
        assert_eq!(mount_of(&o), Some(("x".into(), "/nix".into())));
        assert_eq!(
            owned_paths(&[
                "/nix".into(),
                "/usr/local/cargo/registry".into(),
                "/home/vscode/.cache/sccache".into(),
                "/home/vscode/.cache/maou-build".into()
            ]),
            ["/usr/local/cargo/registry", "\"$HOME/.cache\""]
        );
    }
}
