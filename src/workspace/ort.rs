//! How the workspace's crates take `ort`, ONNX Runtime's Rust binding: with its default
//! `download-binaries` (and no `load-dynamic`), `ort-sys`'s build script downloads a
//! prebuilt runtime at build time, which neither the Nix sandbox nor an offline machine
//! can; maou's `maou_search` takes it so. Read from the full `cargo metadata`.

use anyhow::Result;
use serde::Serialize;

use super::files::Metadata;

/// The workspace's use of `ort`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrtUse {
    /// `ort-sys`'s version in the lock: it decides the ONNX Runtime it speaks.
    pub ort_sys_version: String,
    /// Whether some crate takes it so that its build script downloads the runtime.
    pub downloads: bool,
    /// Whether a feature of the workspace turns on a GPU execution provider (`ort/cuda`,
    /// `ort/tensorrt`): then the runtime must be a GPU build.
    pub gpu: bool,
    /// The workspace crates that take it.
    pub taken_by: Vec<String>,
}

const GPU_PROVIDERS: [&str; 2] = ["cuda", "tensorrt"];

impl super::Workspace {
    /// How the workspace takes `ort`, when it does.
    pub fn ort_use(&self) -> Result<Option<OrtUse>> {
        let metadata = super::files::cargo_metadata_full(&self.cdylib.manifest_path)?;
        Ok(ort_use_in(&metadata))
    }
}

fn ort_use_in(metadata: &Metadata) -> Option<OrtUse> {
    // An optional ort is not among the packages `cargo metadata` resolves by default.
    let ort_sys_version =
        super::files::locked_version(&metadata.workspace_root.join("Cargo.lock"), "ort-sys")?;
    let members = metadata
        .packages
        .iter()
        .filter(|p| metadata.workspace_members.contains(&p.id));
    let mut found = OrtUse {
        ort_sys_version,
        downloads: false,
        gpu: false,
        taken_by: Vec::new(),
    };
    for member in members {
        let deps: Vec<_> = member
            .dependencies
            .iter()
            .filter(|d| d.name == "ort" && d.kind.is_none())
            .collect();
        if deps.is_empty() {
            continue;
        }
        found.taken_by.push(member.name.clone());
        for d in &deps {
            let has = |f: &str| d.features.iter().any(|x| x == f);
            found.downloads |=
                (d.uses_default_features || has("download-binaries")) && !has("load-dynamic");
            found.gpu |= GPU_PROVIDERS.iter().any(|p| has(p));
        }
        found.gpu |= member.features.values().flatten().any(|f| {
            GPU_PROVIDERS
                .iter()
                .any(|p| *f == format!("ort/{p}") || *f == format!("ort?/{p}"))
        });
    }
    (!found.taken_by.is_empty()).then_some(found)
}
