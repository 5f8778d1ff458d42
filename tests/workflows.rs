//! The GitHub Actions workflows, read with serde as GitHub reads them: what triggers
//! them, what they build, in which order they publish, with which permissions, and that
//! every third-party action is pinned to a commit. actionlint and zizmor run on the same
//! files in scripts/test.

mod common;

use std::collections::BTreeMap;
use std::fs;

use common::source_root;
use serde::Deserialize;
use serde_yaml_ng::Value;

#[derive(Deserialize)]
struct Workflow {
    on: Value,
    permissions: Value,
    concurrency: Option<Concurrency>,
    jobs: BTreeMap<String, Job>,
}

#[derive(Deserialize)]
struct Concurrency {
    group: String,
    #[serde(rename = "cancel-in-progress")]
    cancel_in_progress: bool,
}

#[derive(Deserialize)]
struct Job {
    #[serde(default)]
    needs: Value,
    concurrency: Option<Concurrency>,
    permissions: BTreeMap<String, String>,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    uses: Option<String>,
    run: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    with: BTreeMap<String, String>,
}

fn read(name: &str) -> (Workflow, String) {
    let path = source_root().join(".github/workflows").join(name);
    let text = fs::read_to_string(&path).unwrap();
    let workflow =
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (workflow, text)
}

fn runs(job: &Job) -> String {
    job.steps
        .iter()
        .filter_map(|s| s.run.as_deref())
        .collect::<Vec<_>>()
        .join("\n")
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    k.sort();
    k
}

#[test]
fn build_wheel_builds_both_wheels_then_publishes_with_the_only_write_permission() {
    let (w, _) = read("build-wheel.yml");
    assert_eq!(keys(&w.on), ["push", "workflow_dispatch"]);
    assert_eq!(
        w.on["push"]["branches"],
        serde_yaml_ng::from_str::<Value>("[main]").unwrap()
    );
    assert!(w.on["push"].get("tags").is_none() && w.on["push"].get("paths").is_none());
    assert!(w.concurrency.is_none(), "concurrency is per job, see below");
    assert_eq!(
        w.permissions,
        serde_yaml_ng::from_str::<Value>("{}").unwrap()
    );

    // The job that builds every wheel the flake derives from requires-python: no CPython
    // is named in the workflow (pyproject.toml is the CPython set's one source).
    let (build_name, build) = w
        .jobs
        .iter()
        .find(|(_, j)| {
            let r = runs(j);
            r.contains("nix build") && r.contains(".#wheels")
        })
        .expect("a job runs `nix build .#wheels`");
    assert!(
        w.jobs.values().all(|j| !runs(j).contains("wheel-cp")),
        "a CPython named in the workflow"
    );
    assert_eq!(
        build.permissions.get("contents").map(String::as_str),
        Some("read")
    );
    // A newer push cancels an older build...
    let c = build
        .concurrency
        .as_ref()
        .expect("the build job has a concurrency group");
    assert!(c.cancel_in_progress && c.group.contains("github.ref"));

    // The job that publishes, after it, with the token.
    let (_, publish) = w
        .jobs
        .iter()
        .find(|(_, j)| runs(j).contains("nix run .#publish-latest"))
        .expect("a job runs `nix run .#publish-latest`");
    let needs: Vec<&str> = match &publish.needs {
        Value::String(s) => vec![s.as_str()],
        Value::Sequence(v) => v.iter().map(|n| n.as_str().unwrap()).collect(),
        other => panic!("needs: {other:?}"),
    };
    assert!(
        needs.contains(&build_name.as_str()),
        "publish must run after {build_name}"
    );
    // ...but never a publish halfway through replacing the assets: the next one waits.
    let c = publish
        .concurrency
        .as_ref()
        .expect("the publish job has a concurrency group");
    assert!(!c.cancel_in_progress);
    assert_ne!(c.group, build.concurrency.as_ref().unwrap().group);
    let step = publish
        .steps
        .iter()
        .find(|s| {
            s.run
                .as_deref()
                .is_some_and(|r| r.contains("publish-latest"))
        })
        .unwrap();
    assert_eq!(step.env["GITHUB_TOKEN"], "${{ secrets.GITHUB_TOKEN }}");
    assert!(runs(publish).contains("GITHUB_STEP_SUMMARY") && runs(publish).contains("colab"));

    // Only the publishing jobs (the wheels', the dependency build's) may write.
    for (name, job) in &w.jobs {
        let writes = writes(job);
        if runs(job).contains("publish-latest") {
            assert_eq!(writes, ["contents"], "{name}");
        } else {
            assert!(writes.is_empty(), "{name} may write {writes:?}");
        }
    }
}

/// The permissions a job may write with.
fn writes(job: &Job) -> Vec<&String> {
    job.permissions
        .iter()
        .filter(|(_, v)| *v == "write")
        .map(|(k, _)| k)
        .collect()
}

/// The names a job `needs`.
fn needs(job: &Job) -> Vec<&str> {
    match &job.needs {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s.as_str()],
        Value::Sequence(v) => v.iter().map(|n| n.as_str().unwrap()).collect(),
        other => panic!("needs: {other:?}"),
    }
}

/// The dependency build: packed by `maou-build deps-archive` where the dev container
/// builds (its checkout and CARGO_HOME, as the job's environment), beside the wheels (no
/// job of the wheels waits for it), read-only; published after the wheels' publish, in
/// turn with it, by the only other job that may write.
#[test]
fn the_dependency_build_is_made_beside_the_wheels_and_published_after_them() {
    let (w, text) = read("build-wheel.yml");
    let (build_name, build) = w
        .jobs
        .iter()
        .find(|(_, j)| runs(j).contains("maou-build deps-archive"))
        .expect("a job runs `maou-build deps-archive`");
    assert_eq!(
        build.permissions.get("contents").map(String::as_str),
        Some("read")
    );
    assert!(needs(build).is_empty(), "{build_name} waits for nothing");
    for (name, job) in &w.jobs {
        if !runs(job).contains("--deps") {
            assert!(
                !needs(job).contains(&build_name.as_str()),
                "{name} waits for it"
            );
        }
    }
    let checkout = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("CHECKOUT: "))
        .expect("the job sets CHECKOUT");
    assert!(checkout.starts_with("/workspaces/"), "{checkout}");
    for (var, value) in [
        ("CARGO_HOME", "/home/vscode/.cargo"),
        ("MAOU_BUILD_CACHE", "/home/vscode/.cache/maou-build"),
    ] {
        assert!(
            text.contains(&format!("{var}: {value}")),
            "{var}: this repository's dev container's"
        );
    }
    assert!(runs(build).contains("cp -a \"$GITHUB_WORKSPACE/.\" \"$CHECKOUT\""));
    let (_, publish) = w
        .jobs
        .iter()
        .find(|(_, j)| runs(j).contains("publish-latest -- --deps"))
        .expect("a job publishes the dependency build");
    let mut after = needs(publish);
    after.sort();
    assert_eq!(after, [build_name.as_str(), "publish"]);
    let group = |j: &Job| j.concurrency.as_ref().unwrap().group.clone();
    assert_eq!(group(publish), group(&w.jobs["publish"]));
}

#[test]
fn ci_runs_the_flake_checks_on_pull_requests_and_pushes() {
    let (w, _) = read("ci.yml");
    assert_eq!(keys(&w.on), ["pull_request", "push"]);
    assert!(w.jobs.values().any(|j| runs(j).contains("nix flake check")));
    for job in w.jobs.values() {
        assert!(job.permissions.values().all(|v| v != "write"));
    }
}

#[test]
fn every_action_is_pinned_to_a_commit_with_its_version() {
    for name in ["build-wheel.yml", "ci.yml", "release-tool.yml"] {
        let (w, text) = read(name);
        let used: Vec<&str> = w
            .jobs
            .values()
            .flat_map(|j| j.steps.iter().filter_map(|s| s.uses.as_deref()))
            .collect();
        assert!(!used.is_empty());
        for uses in &used {
            let (action, rev) = uses.rsplit_once('@').unwrap();
            assert!(action.contains('/'), "{name}: {uses}");
            assert!(
                rev.len() == 40
                    && rev
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "{name}: {uses} is not pinned to a full commit SHA"
            );
            // The version, for people and for dependabot, in a comment on the same line.
            let line = text.lines().find(|l| l.contains(uses)).unwrap();
            let comment = line.split_once(" # ").map(|(_, c)| c.trim()).unwrap_or("");
            assert!(
                comment.starts_with('v'),
                "{name}: `{line}` has no `# vX.Y.Z`"
            );
        }
    }
}

/// The `hashFiles(...)` calls of a cache key, each as its list of patterns.
fn hashed_patterns(key: &str) -> Vec<Vec<String>> {
    key.split("hashFiles(")
        .skip(1)
        .map(|call| {
            call.split(')')
                .next()
                .unwrap()
                .split(',')
                .map(|p| p.trim().trim_matches('\'').to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn the_wheels_cache_key_keeps_the_tool_and_the_product_apart() {
    let (w, _) = read("build-wheel.yml");
    let caches: Vec<&Step> = w
        .jobs
        .values()
        .flat_map(|j| &j.steps)
        .filter(|s| s.with.contains_key("primary-key"))
        .collect();
    let saving: Vec<&&Step> = caches
        .iter()
        .filter(|s| !s.uses.as_deref().unwrap_or("").contains("/restore@"))
        .collect();
    assert_eq!(saving.len(), 1, "the wheels job saves, the others restore");
    let key = &caches[0].with["primary-key"];
    assert!(caches.iter().all(|s| &s.with["primary-key"] == key));
    let hashed = hashed_patterns(key);
    assert_eq!(
        hashed.len(),
        2,
        "{key}: the product's files, then the tool's"
    );
    let (product, tool) = (&hashed[0], &hashed[1]);
    for p in [
        "flake.lock",
        "nix/**",
        "rust/**",
        "pyproject.toml",
        "python/**",
    ] {
        assert!(product.iter().any(|q| q == p), "{p} not in {product:?}");
    }
    for p in ["src/**", "Cargo.toml", "Cargo.lock"] {
        assert!(tool.iter().any(|q| q == p), "{p} not in {tool:?}");
        assert!(
            !product.iter().any(|q| q == p),
            "{p} in the product's {product:?}"
        );
    }
    assert!(!tool.iter().any(|q| q.starts_with("rust/")), "{tool:?}");
    // A change to the tool alone restores the store of the same product first.
    let saving = caches
        .iter()
        .find(|s| s.with.contains_key("restore-prefixes-first-match"))
        .unwrap();
    let prefixes: Vec<&str> = saving.with["restore-prefixes-first-match"]
        .lines()
        .collect();
    let product_prefix = key.rsplit_once("-${{ hashFiles").unwrap().0;
    assert_eq!(prefixes[0], format!("{product_prefix}-"), "{prefixes:?}");
    assert!(
        product_prefix.ends_with("}}") && prefixes.len() == 2,
        "{prefixes:?}"
    );
}

/// maou-build's own release: a version tag only, the tag checked against Cargo.toml's
/// version and CHANGELOG.md's sections, the tool's wheels for both machines from
/// packaging/maou-build at manylinux_2_28, PyPI by trusted publishing (an OIDC token in the
/// `pypi` environment, no password), the GitHub Release by the only job that may write
/// contents; never cancelled halfway.
#[test]
fn the_tools_release_publishes_its_wheels_by_trusted_publishing() {
    let (w, text) = read("release-tool.yml");
    let raw: Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(keys(&w.on), ["push"]);
    assert_eq!(keys(&w.on["push"]), ["tags"]);
    assert!(!w.concurrency.as_ref().unwrap().cancel_in_progress);
    let check = runs(&w.jobs["check"]);
    assert!(check.contains("Cargo.toml") && check.contains("CHANGELOG.md"));

    // The version in Cargo.toml has its section in the changelog (what `check` asks).
    let manifest: toml::Table =
        toml::from_str(&fs::read_to_string(source_root().join("Cargo.toml")).unwrap()).unwrap();
    let version = manifest["package"]["version"].as_str().unwrap();
    let changelog = fs::read_to_string(source_root().join("CHANGELOG.md")).unwrap();
    assert!(
        changelog.lines().any(|l| l == format!("## {version}")),
        "## {version}"
    );

    let matrix = |job: &str| -> Vec<String> {
        raw["jobs"][job]["strategy"]["matrix"]["target"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(matrix("wheels"), ["x86_64", "aarch64"]);
    let build = w.jobs["wheels"]
        .steps
        .iter()
        .find(|s| {
            s.uses
                .as_deref()
                .is_some_and(|u| u.starts_with("PyO3/maturin-action@"))
        })
        .expect("the wheels are built by maturin's action");
    assert_eq!(build.with["working-directory"], "packaging/maou-build");
    assert_eq!(build.with["manylinux"], "2_28");
    assert_eq!(matrix("binaries").len(), 2);

    let pypi = &w.jobs["pypi"];
    assert_eq!(raw["jobs"]["pypi"]["environment"]["name"], "pypi");
    assert_eq!(
        pypi.permissions,
        BTreeMap::from([("id-token".to_owned(), "write".to_owned())])
    );
    let upload = pypi
        .steps
        .iter()
        .find(|s| {
            s.uses
                .as_deref()
                .is_some_and(|u| u.starts_with("pypa/gh-action-pypi-publish@"))
        })
        .expect("PyPI's own action uploads");
    assert!(
        !upload.with.contains_key("password"),
        "trusted publishing needs no token"
    );
    for (name, job) in &w.jobs {
        let writes = writes(job);
        let expected: &[&str] = match name.as_str() {
            "github-release" => &["contents"],
            "pypi" => &["id-token"],
            _ => &[],
        };
        assert_eq!(writes, expected, "{name}");
    }
}
