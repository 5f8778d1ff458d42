//! Where this maou-build came from, for `--version` and bug reports: the way it was built
//! (`MAOU_BUILD_ORIGIN` when the builder says so: the flake sets `flake`; the wheel's
//! `from-wheel` feature says `wheel`; else `cargo`, a `cargo build` or `cargo install`)
//! and the commit (`MAOU_BUILD_COMMIT` when given, else git's HEAD when built from a
//! checkout, else unknown).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=MAOU_BUILD_ORIGIN");
    println!("cargo:rerun-if-env-changed=MAOU_BUILD_COMMIT");
    let origin = std::env::var("MAOU_BUILD_ORIGIN")
        .ok()
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| {
            if std::env::var_os("CARGO_FEATURE_FROM_WHEEL").is_some() {
                "wheel".to_owned()
            } else {
                "cargo".to_owned()
            }
        });
    let commit = std::env::var("MAOU_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .map(|c| c.chars().take(12).collect::<String>())
        .or_else(git_head)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=MAOU_BUILD_PROVENANCE={origin}, commit {commit}");
}

/// HEAD of the checkout this is built in. Only HEAD and the branch it names are watched
/// (not the index, which `git status` itself rewrites: every build would rerun this).
fn git_head() -> Option<String> {
    let dir = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let git = std::path::Path::new(&dir).join(".git");
    let head_file = git.join("HEAD");
    let head = std::fs::read_to_string(&head_file).ok()?;
    // A path that does not exist would rerun this on every build: only those that do.
    let mut watched = vec![head_file];
    if let Some(branch) = head.trim().strip_prefix("ref: ") {
        watched.extend([git.join(branch), git.join("packed-refs")]);
    }
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&dir)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let mut commit = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    commit.truncate(12);
    Some(commit)
}
