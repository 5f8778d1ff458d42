//! `maou-build wheel`: UC2's wheels. One release wheel (thin LTO, from Cargo.toml's
//! release profile) per CPython, linked against glibc 2.28 through zig, audited, and only
//! then moved into `dist/`.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::audit::Policy;
use crate::commands::audit::{self as audit_cmd, Report as AuditReport};
use crate::commands::note;
use crate::python::{self, Interpreter, Minor};
use crate::resources::{self, Jobs};
use crate::sccache::{self, Delta, Sccache};
use crate::target_dir::{self, TargetDir};
use crate::wheel::{WheelContents, WheelName};
use crate::workspace::Workspace;
use crate::zig::{self, Zig};

#[derive(clap::Args)]
#[command(
    long_about = "Build one release wheel per CPython that requires-python allows and this \
    machine has (or those given with --python), for manylinux_2_28 x86_64: Cargo.toml's \
    release profile (thin LTO) as it is, linked against glibc 2.28 by zig through maturin.\n\n\
    The interpreters' builds share one target directory, so the rlibs and every dependency \
    that does not use PyO3 compile once; only PyO3 and the cdylib are rebuilt per \
    interpreter. Each wheel is then audited (as `maou-build audit`), and only wheels that \
    pass are moved into the output directory: a failed build or audit leaves nothing there.\n\n\
    Wheels are reproducible: the same source and SOURCE_DATE_EPOCH give the same bytes. \
    SOURCE_DATE_EPOCH defaults to the time of the last git commit."
)]
pub struct Args {
    /// CPython to build for, e.g. 3.12; repeat for several [default: every one allowed and installed]
    #[arg(long = "python", value_name = "VERSION")]
    pythons: Vec<Minor>,
    /// Directory for the wheels [default: dist/ in the workspace]
    #[arg(long, short = 'o', value_name = "DIR")]
    out: Option<PathBuf>,
    /// Cargo jobs [default: chosen from the cores and the memory really available]
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Print the report as JSON on stdout (progress still goes to stderr)
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    out: PathBuf,
    source_date_epoch: u64,
    source_date_epoch_from: String,
    zig: Zig,
    jobs: Jobs,
    target: TargetDir,
    wheels: Vec<Built>,
    /// Crates compiled by the first build (in build order) and reused by the later ones.
    shared: Vec<String>,
    /// The order the interpreters were built in: the one the target directory was last
    /// built for goes first.
    build_order: Vec<Minor>,
    sccache: Delta,
    total_seconds: f64,
}

#[derive(Serialize)]
struct Built {
    python: Minor,
    interpreter: PathBuf,
    file: PathBuf,
    sha256: String,
    size: u64,
    command: String,
    /// Crates cargo compiled for this wheel, in its order.
    compiled: Vec<String>,
    build_seconds: f64,
    audit: AuditReport,
}

/// A directory inside the output directory that is removed unless its wheels were
/// moved out: whatever fails, nothing half-built is left in `dist/`.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// In the target directory: the interpreter the PyO3 crates were last built for.
const LAST_PYTHON_FILE: &str = "maou-build-last-wheel-python";

const STAGING_PREFIX: &str = ".maou-build-staging-";

/// A run killed by a signal (Ctrl-C) cannot clean up after itself: the next run removes
/// staging directories whose process is gone.
fn remove_stale_staging(out: &Path) {
    let Ok(entries) = fs::read_dir(out) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(STAGING_PREFIX) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn source_date_epoch(ws: &Workspace) -> Result<(u64, String)> {
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

pub fn run(workspace: Option<&Path>, args: &Args) -> Result<ExitCode> {
    let started = Instant::now();
    let ws = Workspace::discover(workspace)?;
    let mut interpreters = python::select(&ws.requires_python, &args.pythons)?;
    let maturin = crate::process::on_path("maturin")
        .context("maturin is not on PATH: install it with `pip install maturin`")?;
    let executables: Vec<PathBuf> = interpreters.iter().map(|i| i.executable.clone()).collect();
    let zig = zig::find(&executables)?;
    let (epoch, epoch_from) = source_date_epoch(&ws)?;

    let mut cache = Sccache::from_env()?;
    cache.check_writable()?;
    cache.basedirs =
        sccache::remembered_basedirs(&target_dir::cache_root()?, &ws.cargo_workspace_root)?;
    let target = target_dir::prepare(&ws, &target_dir::rustc_version(&ws)?)?;
    let jobs = resources::choose_jobs(args.jobs.map(usize::from));
    let server = cache.ensure_server()?;
    if let Some(what) = &server.restarted {
        note(what);
    }

    let out = args.out.clone().unwrap_or_else(|| ws.root.join("dist"));
    fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let out = out
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", out.display()))?;
    remove_stale_staging(&out);
    let staging = Staging(out.join(format!("{STAGING_PREFIX}{}", std::process::id())));
    fs::create_dir_all(&staging.0)
        .with_context(|| format!("cannot create {}", staging.0.display()))?;

    note(format!(
        "{} release wheels for {} (manylinux_2_28, zig {} via {}), jobs: {}, SOURCE_DATE_EPOCH={epoch} ({epoch_from})",
        ws.package,
        interpreters.iter().map(|i| format!("CPython {}", i.version)).collect::<Vec<_>>().join(" and "),
        zig.version,
        zig.found_via,
        jobs.why
    ));

    // The PyO3 crates and the cdylib hold one interpreter's build at a time: starting
    // with the interpreter the target directory was last built for makes its build a
    // no-op when nothing changed, and saves one link-time optimisation.
    let last_file = target.path.join(LAST_PYTHON_FILE);
    let last = fs::read_to_string(&last_file).unwrap_or_default();
    interpreters.sort_by_key(|i| i.executable.to_string_lossy() != last.trim());

    let cargo_home = cargo_home()?;
    let mut builds = Vec::new();
    for interpreter in &interpreters {
        let build = Build {
            ws: &ws,
            maturin: &maturin,
            interpreter,
            staging: &staging.0,
            jobs: jobs.jobs,
            epoch,
            zig: &zig,
            cargo_home: &cargo_home,
            env: cache.env(),
        };
        let built = build.run()?;
        let _ = fs::write(
            &last_file,
            interpreter.executable.to_string_lossy().as_bytes(),
        );
        sbom_without_checkout_path(&built.0, &ws.cargo_workspace_root)?;
        builds.push(built);
    }

    let policy = Policy::manylinux_2_28();
    let options = audit_cmd::Options {
        repair: false,
        out: None,
        module: Some(&ws.module_name),
    };
    let mut failed = false;
    let mut wheels = Vec::new();
    for (interpreter, (staged, command, compiled, seconds)) in interpreters.iter().zip(builds) {
        let audit = audit_cmd::audit_path(&policy, &staged, &options)?;
        if !audit.ok {
            failed = true;
            audit_cmd::print_text(&audit);
        }
        wheels.push(Built {
            python: interpreter.minor,
            interpreter: interpreter.executable.clone(),
            file: staged,
            sha256: String::new(),
            size: 0,
            command,
            compiled,
            build_seconds: seconds,
            audit,
        });
    }
    if failed {
        note("the audit failed (above); no wheel was placed in the output directory");
        return Ok(ExitCode::from(1));
    }
    for wheel in &mut wheels {
        let bytes = fs::read(&wheel.file)
            .with_context(|| format!("cannot read {}", wheel.file.display()))?;
        wheel.sha256 = crate::wheel::sha256_hex(&bytes);
        wheel.size = bytes.len() as u64;
        let dest = out.join(wheel.file.file_name().unwrap_or_default());
        fs::rename(&wheel.file, &dest).with_context(|| {
            format!("cannot move {} to {}", wheel.file.display(), dest.display())
        })?;
        wheel.file = dest.clone();
        wheel.audit.path = dest;
    }
    drop(staging);

    // Built in the order that was cheapest; reported in version order.
    let shared = shared_crates(&ws, &wheels);
    let build_order = wheels.iter().map(|w| w.python).collect();
    wheels.sort_by_key(|w| w.python);
    let report = Report {
        out,
        source_date_epoch: epoch,
        source_date_epoch_from: epoch_from,
        zig,
        jobs,
        target,
        shared,
        build_order,
        wheels,
        sccache: Delta::between(&server.stats, &cache.stats()),
        total_seconds: started.elapsed().as_secs_f64(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&ws, &report);
    }
    Ok(ExitCode::SUCCESS)
}

/// What the later builds did not compile again: the evidence that the pyo3-free part
/// of the graph is built once. When the first build was itself warm, it compiled only
/// what changed, and the list says so by being short.
fn shared_crates(ws: &Workspace, wheels: &[Built]) -> Vec<String> {
    let Some((first, rest)) = wheels.split_first() else {
        return Vec::new();
    };
    let mut shared: BTreeSet<&String> = first.compiled.iter().collect();
    for later in rest {
        for c in &later.compiled {
            shared.remove(c);
        }
    }
    // Show the workspace's own rlibs first: they are the ones the issue is about.
    let mut out: Vec<String> = ws
        .rlib_deps
        .iter()
        .filter(|c| shared.contains(&c.name))
        .map(|c| c.name.clone())
        .collect();
    let rest: Vec<String> = shared
        .into_iter()
        .filter(|c| !out.contains(c))
        .cloned()
        .collect();
    out.extend(rest);
    out
}

fn print_text(ws: &Workspace, r: &Report) {
    for w in &r.wheels {
        println!(
            "{} ({:.1} MB, sha256 {}): audited {} ok",
            w.file.display(),
            w.size as f64 / 1e6,
            &w.sha256[..16],
            w.audit.policy
        );
        println!(
            "  CPython {}: built in {:.0} s, {} crates compiled{}",
            w.python,
            w.build_seconds,
            w.compiled.len(),
            if w.compiled.len() <= 12 {
                format!(": {}", w.compiled.join(", "))
            } else {
                String::new()
            }
        );
    }
    if r.wheels.len() > 1 {
        let rlibs: Vec<&str> = ws
            .rlib_deps
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| r.shared.iter().any(|s| s == n))
            .collect();
        println!(
            "shared: {} crates compiled once for all interpreters{}",
            r.shared.len(),
            if rlibs.is_empty() {
                String::new()
            } else {
                format!(", among them {}", rlibs.join(", "))
            }
        );
    }
    println!(
        "sccache: {} hits, {} misses; total {:.0} s",
        r.sccache.hits, r.sccache.misses, r.total_seconds
    );
}

struct Build<'a> {
    ws: &'a Workspace,
    maturin: &'a Path,
    interpreter: &'a Interpreter,
    staging: &'a Path,
    jobs: usize,
    epoch: u64,
    zig: &'a Zig,
    cargo_home: &'a Path,
    env: Vec<(&'static str, String)>,
}

impl Build<'_> {
    fn args(&self) -> Vec<String> {
        [
            "build",
            "--release",
            "--zig",
            "--compatibility",
            "manylinux_2_28",
            // maou-build audits the wheel itself; maturin must not bundle or rewrite.
            "--auditwheel",
            "check",
            "--interpreter",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([
            self.interpreter.executable.to_string_lossy().into_owned(),
            // Panic messages name the source file of every dependency by its path under
            // CARGO_HOME (whoever builds: a Codespace, a CI runner): a neutral prefix
            // makes the wheel the same bytes whoever builds it. Cargo joins this array
            // to .cargo/config.toml's (lld stays).
            "--config".to_owned(),
            format!(
                "target.x86_64-unknown-linux-gnu.rustflags=[\"--remap-path-prefix={}=/cargo\"]",
                self.cargo_home.display()
            ),
            "--out".to_owned(),
            self.staging.to_string_lossy().into_owned(),
            "--jobs".to_owned(),
            self.jobs.to_string(),
        ])
        .collect()
    }

    fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        env.push(("CARGO_INCREMENTAL".into(), "0".into()));
        env.push(("SOURCE_DATE_EPOCH".into(), self.epoch.to_string()));
        env.push(self.zig.env.clone());
        env
    }

    fn shown(&self) -> String {
        let args: Vec<std::ffi::OsString> = self.args().into_iter().map(Into::into).collect();
        crate::process::display_with_env(self.env(), &self.maturin.to_string_lossy(), &args)
    }

    /// Runs maturin, showing its output, and returns the wheel it wrote with the
    /// command, the crates compiled and the time taken.
    fn run(&self) -> Result<(PathBuf, String, Vec<String>, f64)> {
        let started = Instant::now();
        let before: BTreeSet<PathBuf> = crate::wheel::files_in(self.staging)?;
        let shown = self.shown();
        note(format!("CPython {}: {shown}", self.interpreter.version));
        let mut expr = duct::cmd(self.maturin, self.args())
            .dir(&self.ws.root)
            .stderr_to_stdout()
            .unchecked();
        for name in crate::cargo_build::leaked_crate_vars() {
            expr = expr.env_remove(name);
        }
        for (k, v) in self.env() {
            expr = expr.env(k, v);
        }
        let reader = expr
            .reader()
            .with_context(|| format!("could not run `{shown}`"))?;
        let mut compiled = Vec::new();
        let mut lines = BufReader::new(&reader);
        let mut line = String::new();
        while lines
            .read_line(&mut line)
            .context("reading maturin's output")?
            > 0
        {
            eprint!("{line}");
            if let Some(rest) = line.trim_start().strip_prefix("Compiling ") {
                if let Some(name) = rest.split_whitespace().next() {
                    compiled.push(name.to_owned());
                }
            }
            line.clear();
        }
        let status = reader
            .try_wait()
            .context("waiting for maturin")?
            .map(|o| o.status);
        if !status.is_some_and(|s| s.success()) {
            bail!(
                "`{shown}` failed for CPython {}: see its output above",
                self.interpreter.version
            );
        }
        let new: Vec<PathBuf> = crate::wheel::files_in(self.staging)?
            .difference(&before)
            .cloned()
            .collect();
        let [wheel] = new.as_slice() else {
            bail!(
                "`{shown}` succeeded but wrote {} wheels to {} (expected one)",
                new.len(),
                self.staging.display()
            );
        };
        Ok((
            wheel.clone(),
            shown,
            compiled,
            started.elapsed().as_secs_f64(),
        ))
    }
}

/// What the checkout's root becomes in the SBOM, like CARGO_HOME's `/cargo` in the binary.
const SBOM_ROOT: &str = "/workspace";

/// maturin's CycloneDX SBOM (`.dist-info/sboms/*.json`, PEP 770) names the workspace's own
/// crates by `path+file://<checkout>/...`: the only bytes of the wheel that depend on where
/// the checkout is. They are rewritten to `path+file:///workspace/...`, and RECORD with them.
fn sbom_without_checkout_path(wheel: &Path, root: &Path) -> Result<()> {
    let file_name = wheel.file_name().unwrap_or_default().to_string_lossy();
    let name = WheelName::parse(&file_name)?;
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

fn cargo_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cargo"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wheel::WheelWriter;

    #[test]
    fn the_sbom_loses_the_checkout_path_and_record_follows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("foo-1.0-cp312-cp312-manylinux_2_28_x86_64.whl");
        let sbom = r#"{"bom-ref": "path+file:///home/me/foo/crates/native#0.1.0",
            "root": "path+file:///home/me/foo#1.0", "other": "path+file:///home/me/foobar/x"}"#;
        let mut w = WheelWriter::create(&path, "foo-1.0.dist-info").unwrap();
        w.add("foo/__init__.py", b"").unwrap();
        w.add(
            "foo-1.0.dist-info/WHEEL",
            b"Tag: cp312-cp312-manylinux_2_28_x86_64\n",
        )
        .unwrap();
        w.add(
            "foo-1.0.dist-info/sboms/native.cyclonedx.json",
            sbom.as_bytes(),
        )
        .unwrap();
        w.finish().unwrap();

        sbom_without_checkout_path(&path, Path::new("/home/me/foo")).unwrap();
        let name = WheelName::parse(&path.file_name().unwrap().to_string_lossy()).unwrap();
        let contents = WheelContents::read(&path, &name).unwrap();
        let (_, bytes) = contents
            .files()
            .find(|(n, _)| n.ends_with(".cyclonedx.json"))
            .unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(
            text.contains("path+file:///workspace/crates/native#0.1.0"),
            "{text}"
        );
        assert!(text.contains("path+file:///workspace#1.0"), "{text}");
        assert!(
            text.contains("path+file:///home/me/foobar/x"),
            "a sibling stays: {text}"
        );
        assert!(
            contents.record_problems().is_empty(),
            "{:?}",
            contents.record_problems()
        );
    }
}
