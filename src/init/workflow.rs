//! The build-wheel workflow: `nix build .#wheels`, then publish-latest; beside the wheels,
//! the dependency build (`maou-build deps-archive`, where the dev container builds), then
//! `publish-latest --deps`. A release workflow
//! of the workspace's own at the same path is never replaced: init's is written beside it,
//! run by hand and publishing nothing, until it is shown to build what the workspace's
//! builds (a build script that downloads, such as `ort`'s, cannot run in the Nix sandbox).

use std::path::Path;

use anyhow::Result;

use super::Edits;

/// Where init's workflow goes when the workspace has none there (or has init's).
pub const FILE: &str = ".github/workflows/build-wheel.yml";
/// Where it goes beside a workflow of the workspace's own.
pub const BESIDE: &str = ".github/workflows/maou-build-wheels.yml";

pub(super) fn write(edits: &mut Edits) -> Result<()> {
    let path = Path::new(FILE);
    let ours = full(edits)?;
    let text = match edits.text(path)? {
        Some(text) if !(edits.record.has(FILE) || text == ours) => text,
        _ => {
            return edits.owned_file(
                path,
                ours,
                "the build-wheel workflow: nix build .#wheels, then publish-latest",
            )
        }
    };
    let features = built_features(&text);
    edits.notes.push(format!(
        "{FILE} is the workspace's own release workflow{}: kept as it is, still the one that \
         publishes. init's Nix workflow is written beside it as {BESIDE}, run by hand \
         (workflow_dispatch) and publishing nothing: the Nix sandbox has no network, so what a \
         build script would download must be a pinned input (ort's ONNX Runtime: see the \
         bundled library). Once a run of it builds these wheels, give it the push trigger and \
         the publish job of maou-build's src/init/assets/build-wheel.yml and retire {FILE}",
        if features.is_empty() {
            String::new()
        } else {
            format!(" (it builds --features {})", features.join(","))
        }
    ));
    edits.owned_file(
        Path::new(BESIDE),
        beside(&ours),
        "init's Nix wheel build, beside the workspace's release workflow: run by hand, publishes nothing",
    )?;
    release_notes(edits, &text)
}

/// Where init puts the release notes it finds in the workspace's release workflow.
pub const NOTES: &str = ".github/release-notes.md";

/// The workspace's release notes, from the here-document its release workflow writes them
/// with, into a file publish-latest reads (`[tool.maou-build] release-notes`): the lines
/// that publish-latest writes itself (version, commit, build time: those the workflow
/// fills in from variables) left out.
fn release_notes(edits: &mut Edits, workflow: &str) -> Result<()> {
    let mut py = super::pyproject::TomlFile::open(edits, Path::new("pyproject.toml"))?;
    let set = py.get(&["tool", "maou-build", "release-notes"]).is_some();
    let Some(notes) = notes_in(workflow).filter(|_| !set || edits.record.has(NOTES)) else {
        return Ok(());
    };
    edits.owned_file(
        Path::new(NOTES),
        notes,
        &format!("the release notes of {FILE} (its here-document, less what publish-latest writes itself), for publish-latest"),
    )?;
    py.manage(
        edits,
        &["tool", "maou-build", "release-notes"],
        NOTES.into(),
    )?;
    py.finish(edits)
}

/// The text of the here-document a workflow writes its release notes with (`cat >
/// …notes… <<EOF`), dedented, without the lines that expand a variable.
pub(super) fn notes_in(workflow: &str) -> Option<String> {
    let mut lines = workflow.lines();
    let delimiter = lines.by_ref().find_map(|l| {
        let (before, after) = l.split_once("<<")?;
        if !before.contains("notes") && !after.contains("notes") {
            return None;
        }
        let word = after.trim_start_matches('-').split_whitespace().next()?;
        Some(word.trim_matches(['\'', '"']).to_owned())
    })?;
    let body: Vec<&str> = lines.take_while(|l| l.trim() != delimiter).collect();
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let kept: Vec<String> = body
        .iter()
        .filter(|l| !l.contains("${") && !l.contains("$("))
        .map(|l| {
            l.get(indent..)
                .unwrap_or("")
                .replace("\\`", "`")
                .replace("\\$", "$")
        })
        .collect();
    let text = kept.join("\n").trim().to_owned();
    (!text.is_empty()).then(|| text + "\n")
}

/// The features a release workflow builds with (`--features a,b` in its maturin
/// arguments), the PyO3 linking switch left out.
pub(super) fn built_features(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some(i) = words.iter().position(|w| *w == "--features" || *w == "-F") else {
        return Vec::new();
    };
    words
        .get(i + 1)
        .unwrap_or(&"")
        .trim_matches(['"', '\''])
        .split(',')
        .filter(|f| !f.is_empty() && !f.starts_with("pyo3/"))
        .map(str::to_owned)
        .collect()
}

/// init's workflow, its cache keyed by the files the wheels are built from.
fn full(edits: &Edits) -> Result<String> {
    let ws = edits.ws;
    let rel = |p: &Path| ws.relative(p).display().to_string();
    let mut files = vec![
        "flake.lock".to_owned(),
        "flake.nix".to_owned(),
        "pyproject.toml".to_owned(),
        ".cargo/**".to_owned(),
        rel(&ws.cargo_workspace_root.join("Cargo.toml")),
        rel(&ws.cargo_workspace_root.join("Cargo.lock")),
    ];
    let mut dirs: Vec<String> = std::iter::once(&ws.cdylib)
        .chain(&ws.rlib_deps)
        .map(|c| format!("{}/**", rel(&c.dir)))
        .collect();
    dirs.sort();
    files.extend(dirs);
    files.push(format!("{}/**", rel(&ws.python_source)));
    let list = files
        .iter()
        .map(|f| format!("'{f}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let [checkout, cargo_home, cache] = super::devcontainer::build_place(edits)?;
    Ok(include_str!("assets/build-wheel.yml")
        .replace("@HASH_FILES@", &list)
        .replace("@DEV_CHECKOUT@", &checkout)
        .replace("@DEV_CARGO_HOME@", &cargo_home)
        .replace("@DEV_MAOU_BUILD_CACHE@", &cache))
}

/// The workflow as it runs beside the workspace's own: by hand only, no publish job.
fn beside(full: &str) -> String {
    let mut out = String::from(
        "# Written by `maou-build init` beside the workspace's own release workflow, which still\n\
         # publishes: the same wheels built through Nix, run by hand (Actions > maou-build-wheels >\n\
         # Run workflow) to show the route works before it takes over. It publishes nothing.\n",
    );
    let mut skip = false;
    let mut in_on = false;
    for line in full.lines().skip_while(|l| l.starts_with('#')) {
        if line.starts_with("name:") {
            out.push_str("name: maou-build-wheels\n");
            continue;
        }
        if line == "on:" {
            in_on = true;
            out.push_str("on:\n  workflow_dispatch:\n");
            continue;
        }
        if in_on {
            if line.starts_with(' ') || line.is_empty() {
                if line.is_empty() {
                    out.push('\n');
                    in_on = false;
                }
                continue;
            }
            in_on = false;
        }
        if line == "  publish:" {
            skip = true;
        }
        if !skip {
            out.push_str(line);
            out.push('\n');
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn release_notes_come_from_the_workflows_here_document() {
        let workflow = "      - run: |\n          built_at=$(date)\n          cat > \"$RUNNER_TEMP/release-notes.md\" <<EOF\n          Prebuilt wheels.\n\n          - **Commit**: ${{ github.sha }}\n          - GPU: \\`pip install 'x[gpu]'\\` first\n            (CUDA 12)\n          EOF\n          gh release create latest\n";
        assert_eq!(
            super::notes_in(workflow).as_deref(),
            Some("Prebuilt wheels.\n\n- GPU: `pip install 'x[gpu]'` first\n  (CUDA 12)\n")
        );
        assert_eq!(super::notes_in("run: cat <<EOF\nx\nEOF\n"), None);
    }
}
