//! ONNX Runtime for a workspace whose crates take `ort` with its build-time download
//! (maou's `maou_search`): the download cannot run in the Nix sandbox, nor on a machine
//! that reaches only the package registries. init pins the runtime's core instead, from
//! PyPI by hash (src/init/onnxruntime.json, one entry per ort-sys version), as a bundled
//! library: the release build links it through `ort`'s documented `ORT_LIB_LOCATION`
//! and the wheels carry it, so they behave as maou's do today (the core inside the wheel:
//! CPU inference with nothing installed; the GPU providers from `onnxruntime-gpu` at run
//! time). docs/onnx-maou.md has the choice and its trade-off.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;
use toml_edit::{Item, Table};

use super::pyproject::TomlFile;
use super::Edits;
use crate::bundled::Library;

#[derive(Deserialize)]
struct Pins {
    #[serde(rename = "ort-sys")]
    ort_sys: BTreeMap<String, Cores>,
}

#[derive(Deserialize)]
struct Cores {
    onnxruntime: String,
    cpu: Library,
    gpu: Library,
}

fn pins() -> Pins {
    serde_json::from_str(include_str!("onnxruntime.json"))
        .expect("src/init/onnxruntime.json is valid (this module's tests read it)")
}

pub(super) fn pin(edits: &mut Edits) -> Result<()> {
    let Some(ort) = edits.ws.ort_use()? else {
        return Ok(());
    };
    if !ort.downloads {
        return Ok(());
    }
    let by = match ort.taken_by.as_slice() {
        [one] => format!("{one} takes"),
        many => format!("{} take", many.join(", ")),
    };
    let pins = pins();
    let Some(cores) = pins.ort_sys.get(&ort.ort_sys_version) else {
        edits.notes.push(format!(
            "{by} ort with its build-time download of ONNX Runtime (ort-sys {}), which the \
             Nix sandbox cannot run; this maou-build pins no runtime for that version, so the \
             Nix wheel build will fail there: pin one in [[tool.maou-build.bundled-libraries]] \
             (docs/onnx-maou.md) or take ort with `load-dynamic`",
            ort.ort_sys_version
        ));
        return Ok(());
    };
    let (kind, lib) = if ort.gpu {
        ("onnxruntime-gpu", &cores.gpu)
    } else {
        ("onnxruntime", &cores.cpu)
    };
    let mut py = TomlFile::open(edits, Path::new("pyproject.toml"))?;
    let present = py
        .get(&["tool", "maou-build", "bundled-libraries"])
        .and_then(Item::as_array_of_tables)
        .is_some_and(|a| {
            a.iter()
                .any(|t| t.get("link-name").and_then(Item::as_str) == Some(&lib.link_name))
        });
    if present {
        return Ok(());
    }
    let table = entry(lib);
    let tool = py.doc["tool"]["maou-build"]
        .or_insert(toml_edit::table())
        .as_table_mut()
        .context("pyproject.toml: [tool.maou-build] is not a table")?;
    tool.entry("bundled-libraries")
        .or_insert(Item::ArrayOfTables(Default::default()))
        .as_array_of_tables_mut()
        .context("pyproject.toml: tool.maou-build.bundled-libraries is not an array of tables")?
        .push(table);
    py.changed.push(format!(
        "bundled library: ONNX Runtime {}'s core from PyPI's {kind} (by hash), for ort ({})",
        cores.onnxruntime,
        ort.taken_by.join(", ")
    ));
    edits.notes.push(format!(
        "{by} ort with its build-time download of ONNX Runtime, which the Nix sandbox and \
         an offline machine cannot run: init pins the core of {kind} {} from PyPI by hash \
         ([[tool.maou-build.bundled-libraries]] in pyproject.toml). The release build links it \
         through ort's ORT_LIB_LOCATION and the wheels carry it (<dist>.libs/), so they behave \
         as before: CPU inference with nothing installed{}. ort's download client still \
         compiles and needs OpenSSL's headers, as maou's workflow installs openssl-devel for it; \
         the Nix chain takes openssl and pkg-config from nixpkgs (docs/onnx-maou.md in maou-build)",
        lib.member.trim_start_matches("onnxruntime/capi/libonnxruntime.so."),
        if ort.gpu {
            "; the CUDA and TensorRT providers from onnxruntime-gpu of the same minor version, as today"
        } else {
            ""
        },
    ));
    py.finish(edits)
}

/// The `[[tool.maou-build.bundled-libraries]]` entry of `lib`.
fn entry(lib: &Library) -> Table {
    let mut table = Table::new();
    for (key, value) in [
        ("url", &lib.url),
        ("sha256", &lib.sha256),
        ("member", &lib.member),
        ("member-sha256", &lib.member_sha256),
        ("link-name", &lib.link_name),
    ] {
        table[key] = toml_edit::value(value.as_str());
    }
    let mut env = toml_edit::InlineTable::new();
    for (k, v) in &lib.env {
        env.insert(k, v.as_str().into());
    }
    table["env"] = toml_edit::value(env);
    if !lib.nix_native_build_inputs.is_empty() {
        table["nix-native-build-inputs"] =
            toml_edit::value(super::pyproject::array(&lib.nix_native_build_inputs));
    }
    table
}

#[cfg(test)]
mod tests {
    /// The CPU core init pins is the runtime this repository's tests run with.
    #[test]
    fn the_cpu_pin_is_nix_onnxruntime_json_s() {
        let here: serde_json::Value =
            serde_json::from_str(include_str!("../../nix/onnxruntime.json")).unwrap();
        let pins = super::pins();
        let cpu = &pins.ort_sys["2.0.0-rc.10"].cpu;
        assert_eq!(here["library_sha256"], cpu.member_sha256.as_str());
        let file = cpu.url.rsplit('/').next().unwrap();
        assert_eq!(here["pypi_wheels"][file], cpu.sha256.as_str());
        assert!(cpu.member.ends_with(here["library"].as_str().unwrap()));
    }

    #[test]
    fn every_pin_names_a_library_in_its_archive() {
        for (version, cores) in super::pins().ort_sys {
            for lib in [&cores.cpu, &cores.gpu] {
                assert!(
                    lib.member
                        .starts_with("onnxruntime/capi/libonnxruntime.so.1."),
                    "{version}"
                );
                assert_eq!((lib.sha256.len(), lib.member_sha256.len()), (64, 64));
                assert!(
                    lib.url.ends_with(".whl")
                        && lib.url.contains(&format!("-{}.", cores.onnxruntime))
                );
                assert_eq!(lib.env["ORT_LIB_LOCATION"], crate::bundled::DIR);
            }
        }
    }
}
