//! What makes a wheel's bytes depend on its source alone: the timestamps
//! (`SOURCE_DATE_EPOCH`) and the checkout's path in maturin's SBOM.

use std::path::Path;

use anyhow::{Context, Result};

use crate::wheel_format::WheelContents;
use crate::workspace::Workspace;

/// What the checkout's root becomes in the SBOM, like the registry's `/cargo/registry` in
/// the binary: the wheel's bytes must not depend on where the checkout is.
const SBOM_ROOT: &str = "/workspace";

/// `SOURCE_DATE_EPOCH` if set, else the time of the last git commit, else 1980-01-01:
/// the wheel's timestamps, and so its bytes. With where the value came from.
pub fn source_date_epoch(ws: &Workspace) -> Result<(u64, String)> {
    if let Ok(value) = std::env::var("SOURCE_DATE_EPOCH") {
        let epoch = value.trim().parse().with_context(|| {
            format!("SOURCE_DATE_EPOCH must be a number of seconds, not {value:?}")
        })?;
        return Ok((epoch, "SOURCE_DATE_EPOCH".to_owned()));
    }
    let root = ws.root.to_string_lossy().into_owned();
    match crate::process::output(
        "git",
        ["-C", root.as_str(), "log", "-1", "--format=%ct"],
        None,
    ) {
        Ok(out) if out.trim().parse::<u64>().is_ok() => Ok((
            out.trim().parse().unwrap_or_default(),
            "the last git commit".to_owned(),
        )),
        // Not a git checkout (an sdist, a Nix source): zip's earliest date.
        _ => Ok((
            315_532_800,
            "the default (1980-01-01, no git commit)".to_owned(),
        )),
    }
}

/// maturin's CycloneDX SBOM (`.dist-info/sboms/*.json`, PEP 770) names the workspace's own
/// crates by `path+file://<checkout>/...`: the only bytes of the wheel that depend on where
/// the checkout is. They are rewritten to `path+file:///workspace/...`, and RECORD with them.
pub(super) fn sbom_without_checkout_path(wheel: &Path, root: &Path) -> Result<()> {
    let name = super::wheel_name(wheel)?;
    let mut contents = WheelContents::read(wheel, &name)?;
    let from = format!("path+file://{}", root.display());
    let to = format!("path+file://{SBOM_ROOT}");
    let mut changed = false;
    for entry in &mut contents.entries {
        if !(entry.name.contains(".dist-info/sboms/") && entry.name.ends_with(".json")) {
            continue;
        }
        let text = String::from_utf8_lossy(&entry.bytes).into_owned();
        // The root itself (`...#0.2.0`) or below it (`.../rust/x`), not a sibling
        // directory that shares the prefix.
        let rewritten = text
            .replace(&format!("{from}/"), &format!("{to}/"))
            .replace(&format!("{from}#"), &format!("{to}#"));
        if rewritten != text {
            entry.bytes = rewritten.into_bytes();
            changed = true;
        }
    }
    if changed {
        contents
            .write(wheel)
            .with_context(|| format!("cannot rewrite the SBOM in {}", wheel.display()))?;
    }
    Ok(())
}
