//! pyproject.toml: `[tool.maou-build]` (the dev dylib's feature, the wheels' features), and
//! what makes `maturin develop`'s and uv's builds of the project develop's (the dylib's
//! feature, the editable profile, the venv's interpreter; docs/doors.md). Also the TOML editing the other
//! TOML files share: one managed value at a dotted path, comments and order kept.

use std::path::Path;

use anyhow::{Context, Result};
use toml_edit::{DocumentMut, Item, Value};

use super::{Edits, Route, DEV_DYLIB_FEATURE};
use crate::workspace::Features;

/// A TOML file being edited, and what changed in it.
pub(crate) struct TomlFile {
    pub(crate) path: std::path::PathBuf,
    pub(crate) doc: DocumentMut,
    pub(crate) changed: Vec<String>,
}

impl TomlFile {
    /// `path` (relative to the root) as the edits so far leave it; an empty document when
    /// it does not exist.
    pub(crate) fn open(edits: &Edits, path: &Path) -> Result<TomlFile> {
        let text = edits.text(path)?.unwrap_or_default();
        let doc = text
            .parse::<DocumentMut>()
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        Ok(TomlFile {
            path: path.to_owned(),
            doc,
            changed: Vec::new(),
        })
    }

    /// The value at `keys`, if there is one.
    pub(crate) fn get(&self, keys: &[&str]) -> Option<&Item> {
        let mut item = self.doc.as_item();
        for k in keys {
            item = item.as_table_like()?.get(k)?;
        }
        Some(item)
    }

    /// `keys` set to `value`, unless it was changed by hand since init wrote it there (then
    /// kept and reported).
    pub(crate) fn manage(&mut self, edits: &mut Edits, keys: &[&str], value: Value) -> Result<()> {
        let key = format!("{}#{}", self.path.display(), keys.join("."));
        let desired = shown(&value);
        let current = self.get(keys).and_then(Item::as_value).map(shown);
        if !edits.should_write(&key, current.as_deref(), &desired) {
            return Ok(());
        }
        self.put(keys, value)?;
        self.changed.push(match current {
            Some(c) => format!("{} = {desired} (was {c})", keys.join(".")),
            None => format!("{} = {desired}", keys.join(".")),
        });
        Ok(())
    }

    /// `keys` set to `value`, the tables on the way made.
    fn put(&mut self, keys: &[&str], value: Value) -> Result<()> {
        let (last, parents) = keys.split_last().context("an empty TOML key")?;
        let mut table = self.doc.as_item_mut();
        for k in parents {
            let t = table
                .as_table_like_mut()
                .with_context(|| format!("{}: {k} is not a table", self.path.display()))?;
            if t.get(k).is_none() {
                let mut new = toml_edit::Table::new();
                new.set_implicit(true);
                t.insert(k, Item::Table(new));
            }
            table = t.get_mut(k).expect("inserted");
        }
        let t = table.as_table_like_mut().with_context(|| {
            format!(
                "{}: cannot place {} (not a table)",
                self.path.display(),
                keys.join(".")
            )
        })?;
        t.insert(last, Item::Value(value));
        Ok(())
    }

    /// The edited text, handed to `edits` with what changed.
    pub(crate) fn finish(self, edits: &mut Edits) -> Result<()> {
        if self.changed.is_empty() {
            return Ok(());
        }
        let what = self.changed.join("; ");
        edits.set(&self.path, self.doc.to_string(), what)
    }
}

/// A value as TOML writes it without its comments and spacing: what is compared and
/// recorded.
fn shown(value: &Value) -> String {
    let mut v = value.clone();
    match &mut v {
        Value::Array(a) => a.fmt(),
        Value::InlineTable(t) => t.fmt(),
        _ => {}
    }
    v.decor_mut().clear();
    v.to_string().trim().to_owned()
}

/// A TOML string array.
pub(crate) fn array(items: &[String]) -> Value {
    Value::Array(items.iter().map(String::as_str).collect())
}

pub(super) fn settings(edits: &mut Edits) -> Result<()> {
    let ws = edits.ws;
    let mut py = TomlFile::open(edits, Path::new("pyproject.toml"))?;
    if edits.dylib {
        py.manage(
            edits,
            &["tool", "maou-build", "dev-dylib-feature"],
            DEV_DYLIB_FEATURE.into(),
        )?;
    }
    if py.get(&["tool", "maou-build", "wheel-features"]).is_none() {
        if let Some(features) = replaced_workflow_features(edits)? {
            py.manage(
                edits,
                &["tool", "maou-build", "wheel-features"],
                array(&features),
            )?;
        }
    }
    // Every door builds what develop builds (docs/doors.md): the dylib's feature in
    // [tool.maturin] features, which `maturin develop` and uv read alike (its build script
    // links the dylib in the editable profile's builds only, so a wheel's build never
    // does); that profile; and, for uv, the venv's interpreter, the one `maturin develop`
    // and develop build with (pyo3's build script reruns, and every crate above it
    // recompiles, for another).
    if edits.dylib {
        let features = ws.features.and(&Features {
            features: vec![DEV_DYLIB_FEATURE.to_owned()],
            ..Features::default()
        });
        py.manage(
            edits,
            &["tool", "maturin", "features"],
            array(&features.features),
        )?;
    }
    py.manage(
        edits,
        &["tool", "maturin", "editable-profile"],
        edits.editable.name.as_str().into(),
    )?;
    let package = ws.package.as_str();
    py.manage(
        edits,
        &[
            "tool",
            "uv",
            "config-settings-package",
            package,
            "maturin.build-args",
        ],
        crate::doors::uv_interpreter_args().into(),
    )?;
    cache_keys(edits, &mut py)?;
    dev_dependency(edits, &mut py)?;
    py.finish(edits)
}

/// The distribution name of a PEP 508 requirement, normalized (PEP 503).
fn requirement_name(requirement: &str) -> String {
    requirement
        .split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
        .replace(['_', '.'], "-")
}

const DEV_GROUP: [&str; 2] = ["dependency-groups", "dev"];

/// The route the workspace is on: uv when its `dev` dependency group names maou-build.
pub(super) fn route_in_use(edits: &Edits) -> Result<Route> {
    let py = TomlFile::open(edits, Path::new("pyproject.toml"))?;
    let named = py
        .get(&DEV_GROUP)
        .and_then(Item::as_array)
        .is_some_and(|a| {
            a.iter().any(|v| {
                v.as_str()
                    .is_some_and(|r| requirement_name(r) == "maou-build")
            })
        });
    Ok(if named { Route::Uv } else { Route::Nix })
}

/// The uv route: maou-build in the `dev` dependency group, pinned to this version with
/// `==`, as maou pins ruff (whose version is its behaviour: maou-build's is what init
/// writes and how develop builds). The group's other entries, their comments and order
/// are kept; an entry for maou-build changed by hand since init wrote it is kept. On the
/// Nix route, the entry init wrote there goes (a route change), no other.
fn dev_dependency(edits: &mut Edits, py: &mut TomlFile) -> Result<()> {
    let wanted = format!("maou-build=={}", env!("CARGO_PKG_VERSION"));
    let mut group = match py.get(&DEV_GROUP) {
        None if edits.route == Route::Nix => return Ok(()),
        None => toml_edit::Array::new(),
        Some(item) => item.as_array().cloned().with_context(|| {
            format!(
                "{}: [dependency-groups] dev is not a list",
                py.path.display()
            )
        })?,
    };
    let at = group.iter().position(|v| {
        v.as_str()
            .is_some_and(|r| requirement_name(r) == "maou-build")
    });
    let current = at.and_then(|i| group.get(i)?.as_str().map(str::to_owned));
    let key = format!("{}#dependency-groups.dev:maou-build", py.path.display());
    if edits.route == Route::Nix {
        let (Some(i), Some(c)) = (at, current) else {
            return Ok(());
        };
        if !edits.record.has(&key) || edits.record.edited_by_hand(&key, &c) {
            return Ok(());
        }
        group.remove(i);
        py.put(&DEV_GROUP, Value::Array(group))?;
        py.changed.push(format!(
            "dependency-groups.dev: {c} removed (the Nix route)"
        ));
        edits.record.forget(&key);
        return Ok(());
    }
    if !edits.should_write(&key, current.as_deref(), &wanted) {
        return Ok(());
    }
    match at {
        Some(i) => {
            let decor = group.get(i).map(|v| v.decor().clone()).unwrap_or_default();
            group.replace(i, wanted.as_str());
            *group.get_mut(i).expect("replaced").decor_mut() = decor;
        }
        None => {
            group.push(wanted.as_str());
            if group.len() > 1 || group.trailing().as_str().is_some_and(|t| t.contains('\n')) {
                let last = group.len() - 1;
                group
                    .get_mut(last)
                    .expect("pushed")
                    .decor_mut()
                    .set_prefix("\n    ");
                group.set_trailing("\n");
                group.set_trailing_comma(true);
            }
        }
    }
    py.put(&DEV_GROUP, Value::Array(group))?;
    py.changed.push(match current {
        Some(c) => format!("dependency-groups.dev: {wanted} (was {c})"),
        None => format!("dependency-groups.dev: {wanted}"),
    });
    Ok(())
}

/// `[tool.uv] cache-keys` naming the Rust inputs, so that `uv run` after a Rust edit builds
/// it: the workspace's own keys kept, the missing ones added (pyproject.toml first when
/// there were none: a list replaces uv's default).
fn cache_keys(edits: &mut Edits, py: &mut TomlFile) -> Result<()> {
    let wanted = crate::doors::rust_cache_keys(edits.ws);
    let mut keys = match py
        .get(&["tool", "uv", "cache-keys"])
        .and_then(Item::as_value)
    {
        Some(Value::Array(a)) => a.clone(),
        _ => toml_edit::Array::new(),
    };
    let present: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            k.as_inline_table()?
                .get("file")?
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    for file in wanted.iter().filter(|f| !present.contains(f)) {
        let mut key = toml_edit::InlineTable::new();
        key.insert("file", file.as_str().into());
        keys.push(key);
    }
    for k in keys.iter_mut() {
        k.decor_mut().set_prefix("\n    ");
    }
    keys.set_trailing("\n");
    keys.set_trailing_comma(true);
    py.manage(edits, &["tool", "uv", "cache-keys"], Value::Array(keys))
}

/// The features the workspace's release workflow built the wheels with: what the released
/// wheels had.
fn replaced_workflow_features(edits: &Edits) -> Result<Option<Vec<String>>> {
    let Some(text) = edits.text(Path::new(super::workflow::FILE))? else {
        return Ok(None);
    };
    let features = super::workflow::built_features(&text);
    Ok(Some(features).filter(|f| !f.is_empty()))
}
