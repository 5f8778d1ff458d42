//! What every scenario works with: the sandbox, the plan, and the commands it times.

use anyhow::{Context, Result};
use serde::Deserialize;

use super::super::{Cmd, Sandbox};
use crate::cargo_build::Request;
use crate::profile::{Chosen, DevOverride, ProfileSource};
use crate::python::Interpreter;

pub struct Plan {
    pub runs: usize,
    pub jobs: usize,
    pub mem_limit: u64,
    /// Why no memory cgroup can be used, if none can.
    pub no_cgroup: Option<String>,
    /// The interpreter of the venv and of the release wheel.
    pub python: Interpreter,
    /// The profile develop builds (`--profile` or the workspace's).
    pub profile: Chosen,
    /// The host's target triple (maturin's PyO3 configuration file is named by it).
    pub rustc_host: String,
}

/// What develop until importable took and did.
#[derive(Deserialize)]
pub(super) struct Developed {
    /// Units rustc compiled.
    pub(super) compiled: Vec<String>,
    /// The extension develop placed in the package.
    pub(super) installed: std::path::PathBuf,
    /// The libraries placed beside it (the dev dylib and libstd), when it has them.
    #[serde(default)]
    pub(super) companion: Option<Companion>,
    /// develop's and the import's wall time.
    #[serde(skip)]
    pub(super) seconds: f64,
}

#[derive(Deserialize)]
pub(super) struct Companion {
    pub(super) bytes: u64,
}

pub(super) struct Ctx<'a> {
    pub(super) sb: &'a Sandbox,
    pub(super) plan: &'a Plan,
}

impl Ctx<'_> {
    /// develop in the sandbox, always building: a release found through the user's
    /// environment (GITHUB_REPOSITORY) must not stand in for a build.
    pub(super) fn develop(&self, jobs: usize) -> Cmd {
        let mut cmd = self.develop_may_use_release(jobs);
        cmd.argv.push("--no-prebuilt".into());
        cmd
    }

    /// `maou-build wheel` for the plan's CPython into `out`: the release wheel.
    pub(super) fn wheel(&self, out: &std::path::Path, jobs: usize) -> Cmd {
        Cmd::new([
            self.sb.exe(),
            "wheel".into(),
            "--python".into(),
            self.plan.python.minor.to_string(),
            "--out".into(),
            out.display().to_string(),
            "--jobs".into(),
            jobs.to_string(),
        ])
    }

    /// develop as a user runs it, its GitHub the local stand-in at `api` (no token).
    pub(super) fn develop_against(&self, jobs: usize, api: &str) -> Cmd {
        self.develop_may_use_release(jobs)
            .env("GITHUB_API_URL", api)
            .env("GITHUB_SERVER_URL", api)
            .env("GITHUB_REPOSITORY", RELEASE_REPO)
            .without("GITHUB_TOKEN")
            .without("GH_TOKEN")
    }

    /// develop as a user runs it: the release's extension when the Rust inputs match.
    pub(super) fn develop_may_use_release(&self, jobs: usize) -> Cmd {
        let mut cmd = Cmd::new([
            self.sb.exe(),
            "develop".into(),
            "--venv".into(),
            self.sb.venv.display().to_string(),
            "--python".into(),
            self.plan.python.minor.to_string(),
            "--jobs".into(),
            jobs.to_string(),
            "--json".into(),
        ]);
        if let Some(profile) = self.profile_arg() {
            cmd.argv.extend(["--profile".into(), profile]);
        }
        cmd
    }

    /// The profile bench's `--profile` named, which develop and deps-archive must be told.
    pub(super) fn profile_arg(&self) -> Option<String> {
        (self.plan.profile.source == ProfileSource::CommandLine)
            .then(|| self.plan.profile.profile.name.clone())
    }

    /// Whether the edit scenarios measure an optimized profile against maou's own loop.
    pub(super) fn optimized(&self) -> bool {
        self.plan.profile.profile.base != "dev"
    }

    pub(super) fn import(&self) -> Cmd {
        self.import_in(&self.sb.venv)
    }

    /// The import of the module with the interpreter of `venv`.
    pub(super) fn import_in(&self, venv: &std::path::Path) -> Cmd {
        Cmd::new([
            crate::editable::venv_python(venv).display().to_string(),
            "-c".into(),
            format!("import {}", self.sb.ws.module_name),
        ])
    }

    pub(super) fn develop_shown(&self, jobs: usize) -> String {
        format!(
            "{} && {}",
            self.sb.shown(&self.develop(jobs)),
            self.sb.shown(&self.import())
        )
    }

    /// develop, then an import of the module: the time until the edit is importable.
    pub(super) fn develop_until_importable(&self, step: &str, jobs: usize) -> Result<Developed> {
        let built = self.sb.run(step, &self.develop(jobs))?;
        let imported = self.sb.run(step, &self.import())?;
        let mut report: Developed = serde_json::from_str(&built.stdout)
            .with_context(|| format!("{step}: develop --json printed no report"))?;
        report.seconds = built.seconds + imported.seconds;
        Ok(report)
    }

    /// The cargo command develop runs, without develop: the floor of a rebuild.
    pub(super) fn bare_cargo(&self) -> Cmd {
        self.cargo(true, None, self.plan.jobs)
    }

    /// The same cargo command with the seed's dev configuration ([DevOverride::Seed]),
    /// through sccache, in a target directory of its own (`dir`, under the sandbox's
    /// caches): its flags differ from the workspace's, so sharing one would make it and
    /// develop rebuild each other's crates.
    pub(super) fn seed_cargo(&self, dir: &str, jobs: usize) -> Cmd {
        self.own_target(self.cargo(true, Some(DevOverride::Seed), jobs), dir)
    }

    /// develop's cargo command without sccache, in a target directory of its own (`dir`,
    /// under the sandbox's caches).
    pub(super) fn cargo_without_sccache(&self, dir: &str, jobs: usize) -> Cmd {
        self.own_target(self.cargo(false, None, jobs), dir)
    }

    /// `cmd` building into `dir` under the sandbox's caches.
    fn own_target(&self, cmd: Cmd, dir: &str) -> Cmd {
        cmd.env(
            "CARGO_TARGET_DIR",
            self.sb.caches().join(dir).display().to_string(),
        )
    }

    fn cargo(&self, sccache: bool, dev_override: Option<DevOverride>, jobs: usize) -> Cmd {
        // The seed's configuration is a dev profile's; otherwise the profile develop builds.
        let profile = match dev_override {
            Some(DevOverride::Seed) => self
                .sb
                .ws
                .profiles
                .resolve("dev")
                .expect("dev is a built-in profile"),
            _ => self.plan.profile.profile.clone(),
        };
        let request = Request {
            ws: &self.sb.ws,
            profile: &profile,
            jobs,
            features: self.sb.ws.features.clone(),
            env: crate::pyo3_env::vars(
                &self.sb.ws,
                &self.plan.python,
                &self.plan.python.executable,
                &self.plan.rustc_host,
            )
            .expect("the sandbox's target directory is writable"),
            dev_override,
        };
        let mut cmd = Cmd::new(std::iter::once("cargo".to_owned()).chain(request.args()));
        for (k, v) in request.env() {
            cmd = cmd.env(k, v);
        }
        if sccache {
            cmd.env("RUSTC_WRAPPER", self.sb.sccache_program())
        } else {
            cmd.without("RUSTC_WRAPPER")
        }
    }

    /// `maturin develop`, building in place (no install) into its own target directory,
    /// through the same sccache, so that it and develop do not rebuild each other's flags;
    /// with `--profile` when the bench names one. As the workspace had it before maou-build's
    /// settings: without the dev dylib's feature (it links every crate statically).
    pub(super) fn maturin_develop(&self) -> Cmd {
        let p = self.plan.profile.profile.name.clone();
        self.maturin_develop_with(&p, &[], "maturin-target")
    }

    /// The profile of maou's own loop: the one its `[tool.maturin] profile` names (`py-ext`)
    /// when develop builds the editable profile init derived from it, else develop's.
    fn own_loop_profile(&self) -> String {
        let plan = &self.plan.profile;
        match &self.sb.ws.profile {
            Some(p) if plan.source != ProfileSource::CommandLine => p.clone(),
            _ => plan.profile.name.clone(),
        }
    }

    /// `maturin develop` as maou's developers run it under an optimized profile: `loop_`
    /// says how its `Cargo.toml` or its dev container sets the profile.
    pub(super) fn maturin_develop_as(&self, loop_: &MaouLoop) -> Cmd {
        let p = self.own_loop_profile();
        let mut extra = Vec::new();
        for (key, value) in loop_.profile {
            extra.extend(["--config".to_owned(), format!("profile.{p}.{key}={value}")]);
        }
        if let Some(jobs) = loop_.jobs {
            extra.extend(["--jobs".to_owned(), jobs.to_string()]);
        }
        self.maturin_develop_with(&p, &extra, loop_.target)
    }

    fn maturin_develop_with(&self, profile: &str, extra: &[String], target: &str) -> Cmd {
        let ws = &self.sb.ws;
        let mut argv = vec![
            "maturin".to_owned(),
            "develop".into(),
            "--skip-install".into(),
            "--manifest-path".into(),
            ws.cdylib.manifest_path.display().to_string(),
        ];
        if self.plan.profile.source == ProfileSource::CommandLine
            || profile != ws.editable_profile_name()
        {
            argv.extend(["--profile".into(), profile.to_owned()]);
        }
        argv.extend(ws.features_without_dev_dylib().args_over(&ws.features));
        argv.extend(extra.iter().cloned());
        Cmd::new(argv)
            .env("VIRTUAL_ENV", self.sb.venv.display().to_string())
            .env(
                "CARGO_TARGET_DIR",
                self.sb.caches().join(target).display().to_string(),
            )
            .env("RUSTC_WRAPPER", self.sb.sccache_program())
    }

    /// `<scenario> [run/runs] <what>`; `scenario` may name work several share.
    pub(super) fn progress(&self, scenario: &str, what: &str, run: usize) {
        self.sb.note(format!(
            "{scenario} [{}/{}] {what}",
            run + 1,
            self.plan.runs
        ));
    }
}

/// The repository the local stand-in for GitHub serves a release of.
pub(super) const RELEASE_REPO: &str = "bench/workspace";

/// maou's own edit loop under its optimized profile (dousu/maou b40d0910), the baselines
/// the bench holds develop to: `maturin develop` through sccache, with the profile's codegen
/// units and incremental builds set as maou sets them, whatever this workspace's Cargo.toml
/// now says (it holds the edit loop's settings, src/dev_build_env.json).
pub(crate) struct MaouLoop {
    pub label: &'static str,
    /// `[profile.P]` keys, as `--config profile.P.KEY=VALUE`.
    pub profile: &'static [(&'static str, &'static str)],
    pub jobs: Option<u32>,
    /// Its target directory, under the sandbox's caches.
    pub target: &'static str,
}

/// maou's `Cargo.toml`: one codegen unit for every crate (inherited from its release
/// profile, "for memory"), incremental on (its release profile's too).
pub(crate) const MAOU_CARGO_TOML: MaouLoop = MaouLoop {
    label: "as maou's Cargo.toml defines it (1 codegen unit)",
    profile: &[
        ("incremental", "true"),
        ("codegen-units", "1"),
        ("package.\"*\".codegen-units", "1"),
    ],
    jobs: None,
    target: "maturin-target",
};

/// maou's dev container: its `scripts/dev-init.sh` writes a user-level cargo config giving
/// the profile incremental builds, 16 codegen units (every crate) and one job.
pub(crate) const MAOU_DEV_CONTAINER: MaouLoop = MaouLoop {
    label: "with maou's dev container overrides (incremental, 16 codegen units, 1 job)",
    profile: &[
        ("incremental", "true"),
        ("codegen-units", "16"),
        ("package.\"*\".codegen-units", "16"),
    ],
    jobs: Some(1),
    target: "maturin-devcontainer-target",
};
