//! One wheel path: the wheels the replayed chain made are compared, byte for byte, with
//! the ones `maou-build wheel` makes in a separate checkout of the same sources, with the
//! same `SOURCE_DATE_EPOCH` and its own target directory and caches.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::messages::note;
use crate::wheel_format::{files_in, sha256_hex};

#[derive(Debug, Serialize)]
pub struct WheelCheck {
    /// The `SOURCE_DATE_EPOCH` both builds had.
    pub epoch: u64,
    /// The separate checkout's `maou-build wheel` command line.
    pub command: String,
    pub seconds: f64,
    pub wheels: Vec<Compared>,
    /// Every wheel of either side has its twin, with the same bytes.
    pub identical: bool,
}

#[derive(Debug, Serialize)]
pub struct Compared {
    pub file: String,
    pub chain_sha256: Option<String>,
    pub checkout_sha256: Option<String>,
}

/// Builds the wheels of `sources` with `maou-build wheel` in a copy under `tmp` and
/// compares them with the chain's, in `chain_out`.
pub fn against_checkout(
    sources: &Path,
    extension_prefix: &str,
    chain_out: &Path,
    epoch: u64,
    tmp: &Path,
) -> Result<WheelCheck> {
    let checkout = tmp.join("checkout");
    let out = tmp.join("checkout-wheels");
    crate::fsutil::copy_sources(sources, &checkout, extension_prefix)
        .with_context(|| format!("copying {} to {}", sources.display(), checkout.display()))?;
    let exe = crate::process::own_exe()?;
    let args = ["wheel".into(), "--out".into(), out.clone().into_os_string()];
    let command = format!(
        "SOURCE_DATE_EPOCH={epoch} {}",
        crate::process::display("maou-build", &args)
    );
    note(format!(
        "replay: the same wheels from a separate checkout, {}: {command}",
        checkout.display()
    ));
    let started = Instant::now();
    let expr = duct::cmd(&exe, &args)
        .dir(&checkout)
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .env("CARGO_TARGET_DIR", tmp.join("checkout-target"));
    let ok = crate::process::each_line(expr, &command, |line| eprint!("{line}"))?;
    if !ok {
        bail!("`{command}` failed, in {}", checkout.display());
    }
    let seconds = started.elapsed().as_secs_f64();
    let wheels = compare_dirs(chain_out, &out)?;
    let identical = !wheels.is_empty()
        && wheels
            .iter()
            .all(|w| w.chain_sha256.is_some() && w.chain_sha256 == w.checkout_sha256);
    Ok(WheelCheck {
        epoch,
        command,
        seconds,
        wheels,
        identical,
    })
}

/// Every wheel of either directory, by file name, with its SHA-256 on each side.
fn compare_dirs(chain: &Path, checkout: &Path) -> Result<Vec<Compared>> {
    let digests = |dir: &Path| -> Result<std::collections::BTreeMap<String, String>> {
        files_in(dir)?
            .into_iter()
            .map(|p| {
                let bytes =
                    std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
                let name = p.file_name().unwrap_or_default().to_string_lossy().into();
                Ok((name, sha256_hex(&bytes)))
            })
            .collect()
    };
    let (a, b) = (digests(chain)?, digests(checkout)?);
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .map(|n| Compared {
            file: n.clone(),
            chain_sha256: a.get(n).cloned(),
            checkout_sha256: b.get(n).cloned(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheels_are_paired_by_name_and_a_missing_twin_shows() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("x-cp311-cp311-l.whl"), "same").unwrap();
        std::fs::write(b.join("x-cp311-cp311-l.whl"), "same").unwrap();
        std::fs::write(a.join("x-cp312-cp312-l.whl"), "one").unwrap();
        std::fs::write(b.join("x-cp312-cp312-l.whl"), "other").unwrap();
        std::fs::write(b.join("x-cp313-cp313-l.whl"), "only here").unwrap();
        std::fs::write(a.join("notes.txt"), "not a wheel").unwrap();
        let got = compare_dirs(&a, &b).unwrap();
        let names: Vec<&str> = got.iter().map(|c| c.file.as_str()).collect();
        assert_eq!(
            names,
            [
                "x-cp311-cp311-l.whl",
                "x-cp312-cp312-l.whl",
                "x-cp313-cp313-l.whl"
            ]
        );
        assert_eq!(got[0].chain_sha256, got[0].checkout_sha256);
        assert_ne!(got[1].chain_sha256, got[1].checkout_sha256);
        assert_eq!(got[2].chain_sha256, None);
    }
}
