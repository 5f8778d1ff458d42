//! The Colab cell that installs the published wheels: `colab` prints it and
//! `publish-latest` puts it in the release body, so both always say the same thing.

use std::collections::BTreeMap;

/// `(3, 11)` for the Python tag `cp311`.
pub fn python_version(tag: &str) -> Option<(u32, u32)> {
    let digits = tag.strip_prefix("cp")?;
    let (major, minor) = digits.split_at(1);
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// A Colab (IPython) cell: install uv, pick the wheel for the running CPython, install it
/// into the system interpreter, then the GPU extras from the same wheel.
///
/// `wheels` maps Python tags (`cp311`) to wheel URLs. The extras line names the wheel URL
/// too: `"maou[cuda]"` alone would let uv resolve maou from an index instead.
pub fn cell(
    package: &str,
    source: &str,
    wheels: &BTreeMap<String, String>,
    gpu_extras: &[String],
) -> String {
    let mut text = String::new();
    text.push_str(&format!("# {package}: {source}\n"));
    text.push_str("import sys\n");
    text.push_str("_wheels = {\n");
    for (tag, url) in wheels {
        if let Some((major, minor)) = python_version(tag) {
            text.push_str(&format!("    ({major}, {minor}): \"{url}\",\n"));
        }
    }
    text.push_str("}\n");
    text.push_str(&format!(
        "if sys.version_info[:2] not in _wheels:\n    raise RuntimeError(f\"no {package} wheel \
         for Python {{sys.version_info[0]}}.{{sys.version_info[1]}}; there are wheels for \
         {}\")\n",
        wheels
            .keys()
            .filter_map(|t| python_version(t))
            .map(|(a, b)| format!("{a}.{b}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let var = format!("{package}_wheel");
    text.push_str(&format!("{var} = _wheels[sys.version_info[:2]]\n"));
    text.push_str("!pip install -q uv\n");
    text.push_str(&format!(
        "!uv pip install --system \"{package} @ {{{var}}}\"\n"
    ));
    if !gpu_extras.is_empty() {
        text.push_str(&format!(
            "# GPU runtime: the extras the wheel leaves out ({})\n",
            gpu_extras.join(", ")
        ));
        text.push_str(&format!(
            "!uv pip install --system \"{package}[{}] @ {{{var}}}\"\n",
            gpu_extras.join(",")
        ));
    }
    text
}

/// The extras a GPU runtime wants: those named for CUDA or GPUs.
pub fn gpu_extras<'a>(extras: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    extras
        .into_iter()
        .filter(|e| {
            let e = e.to_ascii_lowercase();
            e.contains("cuda") || e.contains("gpu")
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cell_picks_by_version_and_keeps_the_url_for_extras() {
        let wheels = BTreeMap::from([
            ("cp311".to_owned(), "https://x/a-cp311.whl".to_owned()),
            ("cp312".to_owned(), "https://x/a-cp312.whl".to_owned()),
        ]);
        let text = cell("maou", "latest", &wheels, &["cuda".to_owned()]);
        assert!(text.contains("    (3, 11): \"https://x/a-cp311.whl\",\n"));
        assert!(text.contains("    (3, 12): \"https://x/a-cp312.whl\",\n"));
        assert!(text.contains("there are wheels for 3.11, 3.12"));
        assert!(text.contains("!uv pip install --system \"maou @ {maou_wheel}\"\n"));
        assert!(text.contains("!uv pip install --system \"maou[cuda] @ {maou_wheel}\"\n"));
        assert!(!cell("maou", "x", &wheels, &[]).contains("[cuda]"));
        assert_eq!(python_version("cp312"), Some((3, 12)));
        assert_eq!(python_version("py3"), None);
        assert_eq!(
            gpu_extras(&["cuda".to_owned(), "test".to_owned(), "GPU-extra".to_owned()]),
            ["cuda", "GPU-extra"]
        );
    }
}
