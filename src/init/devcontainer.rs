//! The dev container (`.devcontainer/devcontainer.json`, JSONC): Nix, the caches on named
//! volumes, and the lifecycle that makes the extension importable in the prebuild
//! (docs/uc1-new-machine.md). Edited in place through jsonc-parser's CST, so comments,
//! order and every other setting stay; a file is written when there is none.

use std::path::Path;

use anyhow::{Context, Result};
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use jsonc_parser::ParseOptions;

use super::Edits;

const FILE: &str = ".devcontainer/devcontainer.json";
const NIX_FEATURE: &str = "ghcr.io/devcontainers/features/nix:1";

/// The lifecycle, split for Codespaces prebuilds: everything slow in onCreate and
/// updateContent (which a prebuild snapshots), postCreate finding the build up to date.
/// This repository's own dev container has the same commands (tests/init.rs).
pub const LIFECYCLE: [(&str, &str); 4] = [
    (
        "onCreateCommand",
        "sudo chown -R \"$(id -u):$(id -g)\" \"$HOME/.cargo\" \"$HOME/.cache\" && nix develop --command maou-build develop",
    ),
    (
        "updateContentCommand",
        "nix develop --command maou-build develop --no-prebuilt",
    ),
    ("waitFor", "onCreateCommand"),
    ("postCreateCommand", "nix develop --command maou-build develop"),
];

/// The named volumes: (name suffix, target). A rebuilt container keeps them.
const VOLUMES: [(&str, &str); 4] = [
    ("nix-store", "/nix"),
    ("cargo-registry", "/home/vscode/.cargo/registry"),
    ("sccache", "/home/vscode/.cache/sccache"),
    ("build-cache", "/home/vscode/.cache/maou-build"),
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
    let mut changed = Vec::new();

    let features = obj.object_value_or_set("features");
    if features.get(NIX_FEATURE).is_none() {
        features.append(
            NIX_FEATURE,
            CstInputValue::Object(vec![(
                "extraNixConfig".to_owned(),
                "experimental-features = nix-command flakes".into(),
            )]),
        );
        changed.push(format!("feature {NIX_FEATURE}"));
    }
    let mounts = obj.array_value_or_set("mounts");
    let existing: Vec<String> = mounts
        .elements()
        .iter()
        .filter_map(|e| e.as_string_lit()?.decoded_value().ok())
        .collect();
    let package = edits.ws.package.to_lowercase();
    for (suffix, target) in VOLUMES {
        if !existing
            .iter()
            .any(|m| m.contains(&format!("target={target}")))
        {
            let mount = format!("source={package}-{suffix},target={target},type=volume");
            mounts.append(mount.as_str().into());
            changed.push(format!("volume {package}-{suffix} at {target}"));
        }
    }
    for (key, value) in LIFECYCLE {
        manage_string(edits, &obj, key, value, &mut changed)?;
    }
    if !changed.is_empty() {
        edits.set(path, root.to_string(), changed.join("; "))?;
    }
    Ok(())
}

/// `key` set to the string `value`, unless changed by hand since init wrote it.
fn manage_string(
    edits: &mut Edits,
    obj: &CstObject,
    key: &str,
    value: &str,
    changed: &mut Vec<String>,
) -> Result<()> {
    let record_key = format!("{FILE}#{key}");
    let prop = obj.get(key);
    let current = prop
        .as_ref()
        .and_then(|p| p.value())
        .and_then(|v| v.as_string_lit())
        .and_then(|s| s.decoded_value().ok());
    // Compared and recorded as JSON strings, quoted.
    let shown = current.as_ref().map(|c| format!("{c:?}"));
    if !edits.should_write(&record_key, shown.as_deref(), &format!("{value:?}")) {
        return Ok(());
    }
    match prop {
        Some(p) => p.set_value(value.into()),
        None => {
            obj.append(key, value.into());
        }
    }
    changed.push(match current {
        Some(c) => format!("{key} (was {c:?})"),
        None => key.to_owned(),
    });
    Ok(())
}
