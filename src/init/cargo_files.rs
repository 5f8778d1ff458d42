//! The Cargo side: the dev dylib crate (every third-party crate the extension's crates
//! link, as they take it), the cdylib's optional dependency on it, its feature and the
//! build script that gives the dev extension its RUNPATH; and the dev profile's policy in
//! the workspace's Cargo.toml (src/dev_build_env.json).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use toml_edit::{InlineTable, Item, Value};

use super::pyproject::{array, TomlFile};
use super::{Edits, DEV_DYLIB_FEATURE};
use crate::workspace::{ThirdParty, Workspace};

/// The cdylib's build script: the dev dylib linked under the editable profile (whose
/// target folder is `profile_dir`) and the extension's RUNPATH to it (rust/maou_rust/build.rs
/// here is this text for `debug`; tests/init.rs checks it).
pub fn build_script_text(profile_dir: &str) -> String {
    include_str!("assets/cdylib-build.rs").replace("@EDITABLE_PROFILE_DIR@", profile_dir)
}

/// The cfg the build script sets when the build links the dev dylib.
const DEV_DYLIB_CFG: &str = "maou_build_dev_dylib";

fn relative(edits: &Edits, path: &Path) -> PathBuf {
    edits.ws.relative(path)
}

/// A path from directory `from` to `to`, both under the same root (`../maou_dev_deps`).
fn path_between(from: &Path, to: &Path) -> String {
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let ups = from.components().count() - common;
    let mut parts: Vec<String> = vec!["..".to_owned(); ups];
    parts.extend(
        to.components()
            .skip(common)
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// Why the cdylib cannot take init's build script, if it cannot: a build script of the
/// project's own (init does not merge code), or `[package] build` naming another file.
fn build_script_blocked(edits: &Edits) -> Result<Option<String>> {
    let ws = edits.ws;
    let manifest = relative(edits, &ws.cdylib.manifest_path);
    let toml = TomlFile::open(edits, &manifest)?;
    if let Some(build) = toml.get(&["package", "build"]).and_then(Item::as_str) {
        if build != "build.rs" {
            return Ok(Some(format!(
                "{}: [package] build = \"{build}\", the project's own build script",
                manifest.display()
            )));
        }
    }
    let path = relative(edits, &ws.cdylib.dir.join("build.rs"));
    let Some(current) = edits.text(&path)? else {
        return Ok(None);
    };
    let ours = current == build_script_text(edits.editable.dir_name())
        || edits.record.has(&path.display().to_string());
    Ok((!ours).then(|| format!("{} is the project's own build script", path.display())))
}

/// The dev dylib: its crate, the cdylib's dependency and feature, the `extern crate` line and
/// the build script. Left out, with the reason and the way to have it, when the cdylib's
/// build script is the project's own: then `edits.dylib` is false and the rest of init
/// (profiles, uv's settings, the flake) goes on without it.
pub(super) fn dev_dylib(edits: &mut Edits) -> Result<()> {
    let ws = edits.ws;
    if ws.dev_dylib.is_none() {
        if let Some(why) = build_script_blocked(edits)? {
            edits.dylib = false;
            edits.notes.push(format!(
                "no dev dylib: {why}, and the dylib needs init's (it links the dylib in the \
                 editable profile's builds only, so that no wheel does); init merges no code, so \
                 dev builds link every crate into the extension. To have the dylib, add what \
                 maou-build's src/init/assets/cdylib-build.rs does (its EDITABLE_PROFILE_DIR \
                 being \"{}\") to that script and run init again",
                edits.editable.dir_name()
            ));
            return Ok(());
        }
    }
    let (dir, name) = match &ws.dev_dylib {
        Some(d) => (d.krate.dir.clone(), d.krate.name.clone()),
        None => {
            let prefix = ws.package.replace('-', "_").to_lowercase();
            let name = format!("{prefix}_dev_deps");
            // Beside the cdylib, as the workspace lays out its crates, when that is inside
            // the project; else in the project's directory (the cdylib's own, when
            // pyproject.toml is beside its Cargo.toml).
            let parent = ws
                .cdylib
                .dir
                .parent()
                .filter(|p| p.starts_with(&ws.root))
                .unwrap_or(&ws.root);
            (parent.join(&name), name)
        }
    };
    let third_party = ws.linked_third_party()?;
    let (wanted, optional): (Vec<_>, Vec<_>) = third_party.into_iter().partition(|t| !t.optional);
    for t in &optional {
        edits.notes.push(format!(
            "{} is behind a feature in every crate that takes it: it stays linked into the \
             extension when that feature is on (the dev dylib builds only what every build has)",
            t.key
        ));
    }
    dylib_crate(edits, &dir, &name, &wanted)?;
    let rel_dir = relative(edits, &dir);
    workspace_member(edits, &rel_dir)?;
    cdylib_feature(edits, &rel_dir, &name)?;
    links_the_dylib(edits, &name)?;
    build_script(edits, &relative(edits, &ws.cdylib.dir.join("build.rs")))
}

/// The dylib crate: its manifest (written whole when new, else its [dependencies]
/// completed) and its lib.rs, which uses every crate so that rustc links it.
fn dylib_crate(edits: &mut Edits, dir: &Path, name: &str, wanted: &[ThirdParty]) -> Result<()> {
    let manifest = relative(edits, &dir.join("Cargo.toml"));
    let mut toml = TomlFile::open(edits, &manifest)?;
    if toml.get(&["package"]).is_none() {
        toml.doc = new_dylib_manifest(name).parse()?;
        toml.changed.push(format!("the dev dylib crate {name}"));
    }
    for t in wanted {
        if toml.get(&["dependencies", &t.key]).is_some() {
            continue;
        }
        let spec = dependency_spec(edits, &t.key, &t.taken_by[0])?;
        let deps = toml.doc["dependencies"].or_insert(toml_edit::table());
        deps[&t.key] = Item::Value(spec);
        let by = relative(edits, t.taken_by[0].parent().unwrap_or(Path::new(".")));
        let by = if by.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            by
        };
        toml.changed
            .push(format!("dependency {} (taken by {})", t.key, by.display()));
    }
    toml.finish(edits)?;
    let lib_rs = relative(edits, &dir.join("src/lib.rs"));
    let mut lib = edits.text(&lib_rs)?.unwrap_or_else(|| {
        format!(
            "//! Written by `maou-build init`: the workspace's third-party crates as one Rust \
             dylib, for dev builds of\n//! the extension only (its `{DEV_DYLIB_FEATURE}` feature). \
             Release builds and the wheels never link it.\n\n"
        )
    });
    let mut used = Vec::new();
    for t in wanted {
        let line = format!("pub use {};", t.lib_name);
        if !lib.lines().any(|l| l.trim() == line) {
            lib.push_str(&line);
            lib.push('\n');
            used.push(t.lib_name.clone());
        }
    }
    if used.is_empty() {
        return Ok(());
    }
    edits.set(&lib_rs, lib, format!("pub use {}", used.join(", ")))
}

/// The dylib crate among the Cargo workspace's members, laid out as the others are, when
/// the workspace lists them.
fn workspace_member(edits: &mut Edits, rel_dir: &Path) -> Result<()> {
    let cargo_root = relative(edits, &edits.ws.cargo_workspace_root);
    let mut root_toml = TomlFile::open(edits, &cargo_root.join("Cargo.toml"))?;
    let member = path_between(&cargo_root, rel_dir);
    let members = root_toml.doc["workspace"]["members"].as_array_mut();
    match members {
        Some(m) if !m.iter().any(|v| v.as_str() == Some(member.as_str())) => {
            // Laid out as the last member is (one per line in a multi-line array).
            let prefix = m
                .iter()
                .last()
                .and_then(|v| v.decor().prefix())
                .and_then(|p| p.as_str())
                .unwrap_or(" ")
                .to_owned();
            m.push_formatted(Value::from(member.as_str()).decorated(prefix, ""));
            root_toml.changed.push(format!("member {member}"));
        }
        Some(_) => {}
        // No members list (a single crate, or `[workspace]` without one): the cdylib's path
        // dependency is enough for cargo to build it, and with `[workspace]` it is a member.
        None => return Ok(()),
    }
    root_toml.finish(edits)
}

/// The cdylib's root names the dylib crate when the build script says the build links it:
/// rustc links only the crates a crate names, so without it the extension takes nothing
/// from the dylib. The line init wrote before (on the feature alone) is brought up to date.
fn links_the_dylib(edits: &mut Edits, name: &str) -> Result<()> {
    let lib_rs = relative(edits, &edits.ws.cdylib.lib_src);
    let text = edits.text(&lib_rs)?.unwrap_or_default();
    let line = format!("extern crate {name};");
    let attribute = format!("#[cfg({DEV_DYLIB_CFG})]");
    let old_attribute = format!("#[cfg(feature = \"{DEV_DYLIB_FEATURE}\")]");
    let lines: Vec<&str> = text.lines().collect();
    if let Some(at) = lines.iter().position(|l| l.trim() == line) {
        let above = at.checked_sub(1).map(|i| lines[i].trim());
        if above != Some(old_attribute.as_str()) {
            return Ok(());
        }
        let updated = text.replacen(
            &format!("{old_attribute}\n{line}"),
            &format!("{attribute}\n{line}"),
            1,
        );
        return edits.set(
            &lib_rs,
            updated,
            format!("extern crate {name} when the build script says the build links it"),
        );
    }
    let mut text = text;
    if !text.ends_with('\n') && !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&format!(
        "\n// Written by `maou-build init`: rustc links only the crates a crate names; this makes \
         the\n// extension take its third-party crates from the dylib in the editable profile's \
         builds\n// (build.rs sets the cfg there, with `{DEV_DYLIB_FEATURE}` on).\n\
         {attribute}\n{line}\n"
    ));
    edits.set(
        &lib_rs,
        text,
        format!("extern crate {name} (in the editable profile's builds)"),
    )
}

/// The cdylib's optional dependency on the dylib crate and the feature that turns it on.
fn cdylib_feature(edits: &mut Edits, rel_dir: &Path, name: &str) -> Result<()> {
    let ws = edits.ws;
    let cdylib_manifest = relative(edits, &ws.cdylib.manifest_path);
    let mut cdylib = TomlFile::open(edits, &cdylib_manifest)?;
    if cdylib.get(&["dependencies", name]).is_none() {
        let mut dep = InlineTable::new();
        dep.insert(
            "path",
            path_between(&relative(edits, &ws.cdylib.dir), rel_dir).into(),
        );
        dep.insert("optional", true.into());
        cdylib.doc["dependencies"][name] = Item::Value(Value::InlineTable(dep));
        cdylib.changed.push(format!("optional dependency {name}"));
    }
    cdylib.manage(
        edits,
        &["features", DEV_DYLIB_FEATURE],
        array(&[format!("dep:{name}")]),
    )?;
    cdylib.finish(edits)
}

/// The build script, when the cdylib has none or has init's ([build_script_blocked] has
/// said whether): a build script of the workspace's own is not merged.
fn build_script(edits: &mut Edits, path: &Path) -> Result<()> {
    let text = build_script_text(edits.editable.dir_name());
    edits.owned_file(
        path,
        text,
        &format!(
            "the dev dylib linked, with its RUNPATH, in `{}` builds only",
            edits.editable.name
        ),
    )
}

fn new_dylib_manifest(name: &str) -> String {
    format!(
        "# Written by `maou-build init`: dev builds only. The third-party crates the extension's \
         crates link,\n# as they take them, in one Rust dylib: an edit then relinks a small \
         extension. A crate\n# missing here is linked into the extension; `maou-build init --check` \
         names it.\n[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[lib]\ncrate-type = [\"dylib\"]\ntest = false\ndoctest = false\n\n\
         [dependencies]\n"
    )
}

/// `key` as the crate at `manifest` takes it (`{ workspace = true }`, or its version and
/// source), without `optional`: the same crate, so nothing is built twice.
fn dependency_spec(edits: &Edits, key: &str, manifest: &Path) -> Result<Value> {
    let rel = relative(edits, manifest);
    let file = TomlFile::open(edits, &rel)?;
    let item = file.get(&["dependencies", key]).or_else(|| {
        let targets = file.get(&["target"])?.as_table_like()?;
        targets.iter().find_map(|(_, t)| {
            t.as_table_like()?
                .get("dependencies")?
                .as_table_like()?
                .get(key)
        })
    });
    let mut spec = InlineTable::new();
    match item {
        Some(Item::Value(Value::String(v))) => {
            spec.insert("version", v.value().as_str().into());
        }
        Some(item) => {
            let table = item
                .as_table_like()
                .expect("a dependency is a string or a table");
            for (k, v) in table.iter() {
                if matches!(k, "optional" | "features") {
                    continue;
                }
                if let Some(v) = v.as_value() {
                    spec.insert(k, v.clone());
                }
            }
        }
        None => bail!("{}: no dependency {key} found", rel.display()),
    }
    spec.fmt();
    Ok(Value::InlineTable(spec))
}

pub(super) fn dev_profile(edits: &mut Edits) -> Result<()> {
    let policy = &crate::sccache::dev_build_env().dev_profile;
    let cargo_root = relative(edits, &edits.ws.cargo_workspace_root);
    let mut toml = TomlFile::open(edits, &cargo_root.join("Cargo.toml"))?;
    toml.manage(
        edits,
        &["profile", "dev", "incremental"],
        policy.incremental.into(),
    )?;
    toml.manage(
        edits,
        &["profile", "dev", "codegen-units"],
        i64::from(policy.codegen_units).into(),
    )?;
    // Third-party crates without debuginfo: with it the dev extension is ~1 GB to relink.
    toml.manage(
        edits,
        &["profile", "dev", "package", "*", "debug"],
        false.into(),
    )?;
    editable_profile(edits, &mut toml)?;
    toml.finish(edits)
}

/// The editable profile's settings: the edit loop's policy for its kind, and `inherits` when
/// init defines it ([EditableProfile]). Never `release` itself, whose settings are the
/// wheels'; `dev` has its settings above.
fn editable_profile(edits: &mut Edits, toml: &mut TomlFile) -> Result<()> {
    let editable = edits.editable.clone();
    let name = editable.name.as_str();
    if matches!(name, "dev" | "release" | "bench") {
        return Ok(());
    }
    if let Some(parent) = &editable.inherits {
        toml.manage(
            edits,
            &["profile", name, "inherits"],
            parent.as_str().into(),
        )?;
    }
    let Some(settings) = editable.settings(edits.ws)? else {
        return Ok(());
    };
    toml.manage(
        edits,
        &["profile", name, "incremental"],
        settings.incremental.into(),
    )?;
    toml.manage(
        edits,
        &["profile", name, "codegen-units"],
        i64::from(settings.codegen_units).into(),
    )?;
    if let Some(units) = settings.third_party_codegen_units {
        toml.manage(
            edits,
            &["profile", name, "package", "*", "codegen-units"],
            i64::from(units).into(),
        )?;
    }
    Ok(())
}

/// What overrides the profiles init writes: cargo's variables and configuration files (a
/// user-level one such as maou's `scripts/dev-init.sh` writes included), each with its
/// effect and the smallest change that fixes it.
pub(super) fn overriding_settings(ws: &Workspace) -> Vec<String> {
    let mut notes = Vec::new();
    for var in ["CARGO_INCREMENTAL", "CARGO_BUILD_JOBS", "CARGO_TARGET_DIR"] {
        if let Some(v) = std::env::var_os(var) {
            notes.push(format!(
                "{var}={} is set here: it overrides the workspace's settings for every build in \
                 this environment",
                v.to_string_lossy()
            ));
        }
    }
    use crate::cargo_config::shown as value;
    for file in &ws.cargo_config_files.files {
        let shown = file.path.display();
        if let Some(profiles) = file.table.get("profile").and_then(|p| p.as_table()) {
            for (name, keys) in profiles {
                // What decides the edit loop; split-debuginfo and the like change no build.
                let keys: Vec<String> = keys
                    .as_table()
                    .map(|t| {
                        t.iter()
                            .filter(|(k, _)| {
                                matches!(
                                    k.as_str(),
                                    "incremental" | "codegen-units" | "lto" | "opt-level"
                                )
                            })
                            .map(|(k, v)| format!("{k} = {}", value(v)))
                            .collect()
                    })
                    .unwrap_or_default();
                if keys.is_empty() {
                    continue;
                }
                notes.push(format!(
                    "{shown}: [profile.{name}] ({}) overrides the workspace's Cargo.toml for \
                     every build that reads this file (develop, uv, maturin, cargo); remove the \
                     section to build what Cargo.toml says (`maou-build doctor` shows what cargo uses)",
                    keys.join(", ")
                ));
            }
        }
        let build = file.table.get("build").and_then(|b| b.as_table());
        if let Some(jobs) = build.and_then(|b| b.get("jobs")) {
            notes.push(format!(
                "{shown}: build.jobs = {} caps every cargo that reads this file; develop \
                 chooses its jobs from the memory it finds; remove the line to let it",
                value(jobs)
            ));
        }
        if let Some(dir) = build.and_then(|b| b.get("target-dir")) {
            notes.push(format!(
                "{shown}: build.target-dir = {} moves every workspace's target directory: \
                 develop then builds there, not in its persistent store (a lost directory is a \
                 cold build); remove the line",
                value(dir)
            ));
        }
    }
    notes
}
