//! Release wheels: maturin builds the extension (Cargo.toml's release profile, linked by
//! zig against the platform's glibc), once per interpreter, or once for every CPython when
//! the extension uses the stable ABI (abi3); each CPython then gets its own wheel,
//! `NAME-VERSION-cpXY-cpXY-PLATFORM.whl`, audited before it leaves the staging directory.
//!
//! The maturin command line is the one the flake's CI chain runs in every step
//! (`nix/chain.nix`): the same target, rustflags, linker, interpreter and features, so the
//! cargo fingerprints the chain's steps leave behind are fresh here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::audit::Policy;
use crate::messages::note;
use crate::python::{Interpreter, Minor};
use crate::wheel_format::{WheelContents, WheelName};
use crate::workspace::{Features, Workspace};
use crate::zig::Zig;

mod reproducible;
pub mod run;
mod staging;

use reproducible::sbom_without_checkout_path;
pub use reproducible::source_date_epoch;
pub use staging::Staging;

/// In the target directory: the interpreter the PyO3 crates were last built for.
const LAST_PYTHON_FILE: &str = "maou-build-last-wheel-python";

/// One maturin build and the wheels made from it.
pub struct Plan<'a> {
    pub ws: &'a Workspace,
    pub policy: &'a Policy,
    /// The CPythons to make wheels for.
    pub interpreters: Vec<Interpreter>,
    /// [Workspace::release_features] and the command line's: maturin's `--features`
    /// replace `[tool.maturin]`'s, whose dev dylib feature the wheels never have.
    pub features: Features,
    pub jobs: usize,
    pub epoch: u64,
    pub zig: &'a Zig,
    /// Where dependency sources are, and the neutral prefix each gets in the binary.
    pub remaps: Vec<(PathBuf, String)>,
    /// The build environment's variables ([crate::build_env::BuildEnv::vars]).
    pub env: Vec<(String, String)>,
    /// The target directory, where the last interpreter built is remembered.
    pub target: &'a Path,
    /// The libraries the build links against and the wheels carry ([crate::bundled]).
    pub bundled: &'a [crate::bundled::Prepared],
}

/// A wheel in the staging directory, not yet audited.
#[derive(Debug, Clone, Serialize)]
pub struct Staged {
    pub python: Minor,
    pub interpreter: PathBuf,
    pub file: PathBuf,
    /// The maturin command that built its extension (the abi3 build's, when packaged).
    pub command: String,
    /// Crates cargo compiled for this wheel, in its order (none when packaged).
    pub compiled: Vec<String>,
    pub build_seconds: f64,
    /// When the wheel repackages the stable-ABI build of another CPython: that CPython.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packaged_from: Option<Minor>,
}

/// One maturin build, as it runs.
#[derive(Debug, Clone, Serialize)]
pub struct MaturinCommand {
    pub python: Minor,
    pub interpreter: PathBuf,
    /// Where it runs: the workspace's root.
    pub dir: PathBuf,
    pub args: Vec<String>,
    /// The variables it gets on top of the environment maou-build runs in.
    pub env: BTreeMap<String, String>,
    /// The whole command line, variables first.
    pub shown: String,
    /// The CPythons whose wheels are packaged from this build's stable-ABI extension.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packaged_for: Vec<Minor>,
}

/// The `--config` that remaps dependency source paths, as cargo takes it.
pub fn remap_config(target: &str, remaps: &[(PathBuf, String)]) -> String {
    let flags: Vec<String> = remaps
        .iter()
        .map(|(from, to)| format!("\"--remap-path-prefix={}={to}\"", from.display()))
        .collect();
    format!("target.{target}.rustflags=[{}]", flags.join(", "))
}

impl Plan<'_> {
    /// The maturin arguments for `interpreter`'s build into `out`.
    pub fn maturin_args(&self, interpreter: &Interpreter, out: &Path) -> Vec<String> {
        let mut args: Vec<String> = [
            "build",
            "--release",
            "--zig",
            "--compatibility",
            &self.policy.name,
            // maou-build audits the wheel itself; maturin grafts only the libraries the
            // workspace pins to be carried (with patchelf), and rewrites nothing else.
            "--auditwheel",
            if self.bundled.is_empty() {
                "check"
            } else {
                "repair"
            },
            "--interpreter",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.push(interpreter.executable.to_string_lossy().into_owned());
        if !self.remaps.is_empty() {
            // Cargo joins this array to .cargo/config.toml's rustflags (lld stays).
            args.push("--config".to_owned());
            args.push(remap_config(&self.policy.rust_target, &self.remaps));
        }
        args.extend(self.features.args_over(&self.ws.features));
        args.extend([
            "--out".to_owned(),
            out.to_string_lossy().into_owned(),
            "--jobs".to_owned(),
            self.jobs.to_string(),
        ]);
        args
    }

    /// The variables maturin gets on top of the environment maou-build runs in.
    fn env(&self) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        env.push(("SOURCE_DATE_EPOCH".into(), self.epoch.to_string()));
        env.push(self.zig.env.clone());
        for lib in self.bundled {
            env.extend(lib.env.iter().cloned());
        }
        if !self.bundled.is_empty() {
            // Where maturin's repair finds what it grafts.
            let mut dirs: Vec<String> = self
                .bundled
                .iter()
                .map(|l| l.dir.to_string_lossy().into_owned())
                .collect();
            dirs.extend(
                std::env::var("LD_LIBRARY_PATH")
                    .ok()
                    .filter(|p| !p.is_empty()),
            );
            env.push(("LD_LIBRARY_PATH".into(), dirs.join(":")));
        }
        env
    }

    /// `interpreter`'s maturin build into `out`, as [Plan::build] runs it.
    pub fn command(&self, interpreter: &Interpreter, out: &Path) -> MaturinCommand {
        let args = self.maturin_args(interpreter, out);
        let env = self.env();
        let shown_args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        MaturinCommand {
            python: interpreter.minor,
            interpreter: interpreter.executable.clone(),
            dir: self.ws.root.clone(),
            shown: crate::process::display_with_env(env.clone(), "maturin", &shown_args),
            args,
            env: env.into_iter().collect(),
            packaged_for: Vec::new(),
        }
    }

    /// The cheapest order: the interpreter the target directory last held first (its build
    /// is then a no-op when nothing changed), then by version.
    fn order(&self) -> Vec<Interpreter> {
        let last = fs::read_to_string(self.target.join(LAST_PYTHON_FILE)).unwrap_or_default();
        let mut order = self.interpreters.clone();
        order.sort_by_key(|i| (i.executable.to_string_lossy() != last.trim(), i.minor));
        order
    }

    /// The maturin builds [Plan::build] would run into `staging`, in its order, without
    /// running them: for a stable-ABI extension (as the workspace declares it) the first
    /// build, with the CPythons its wheel is packaged for.
    pub fn commands(&self, staging: &Path) -> Vec<MaturinCommand> {
        let mut commands: Vec<MaturinCommand> = Vec::new();
        for interpreter in self.order() {
            if let (Some(abi), Some(first)) = (&self.ws.stable_abi, commands.first_mut()) {
                if interpreter.minor >= abi.min.unwrap_or(first.python) {
                    first.packaged_for.push(interpreter.minor);
                    continue;
                }
            }
            let out = staging.join(format!("build-{}", interpreter.minor.tag()));
            commands.push(self.command(&interpreter, &out));
        }
        commands
    }

    /// Builds every wheel into `staging`, in [Plan::order], and every CPython the
    /// stable-ABI build covers packaged from it.
    pub fn build(&self, staging: &Path) -> Result<Vec<Staged>> {
        let last_file = self.target.join(LAST_PYTHON_FILE);
        let mut staged: Vec<Staged> = Vec::new();
        let mut abi3: Option<(Minor, Staged)> = None;
        for interpreter in &self.order() {
            if let Some((floor, built)) = &abi3 {
                if interpreter.minor >= *floor {
                    staged.push(self.package(built, interpreter, staging)?);
                    continue;
                }
            }
            let built = self.run_maturin(interpreter, staging)?;
            let _ = fs::write(
                &last_file,
                interpreter.executable.to_string_lossy().as_bytes(),
            );
            let name = wheel_name(&built.file)?;
            match stable_abi_floor(&name) {
                Some(floor) if interpreter.minor >= floor => {
                    let wheel = self.package(&built, interpreter, staging)?;
                    // The interpreter that built it: its compile, its seconds.
                    staged.push(Staged {
                        packaged_from: None,
                        compiled: built.compiled.clone(),
                        build_seconds: built.build_seconds,
                        ..wheel
                    });
                    abi3 = Some((floor, built));
                }
                _ => staged.push(built),
            }
        }
        if let Some((_, built)) = abi3 {
            fs::remove_file(&built.file)
                .with_context(|| format!("cannot remove {}", built.file.display()))?;
        }
        Ok(staged)
    }

    /// `built`'s stable-ABI wheel as `interpreter`'s own: the same files under
    /// `cpXY-cpXY-PLATFORM`, with WHEEL and RECORD to match.
    fn package(&self, built: &Staged, interpreter: &Interpreter, dir: &Path) -> Result<Staged> {
        let name = wheel_name(&built.file)?;
        let tag = interpreter.minor.tag();
        let new_name = name.retagged(&tag, &tag, &name.platforms.join("."));
        let mut contents = WheelContents::read(&built.file, &name)?;
        contents.set_wheel_tags(&new_name.tags())?;
        let file = dir.join(&new_name.file_name);
        contents
            .write(&file)
            .with_context(|| format!("cannot write {}", file.display()))?;
        Ok(Staged {
            python: interpreter.minor,
            interpreter: interpreter.executable.clone(),
            file,
            command: built.command.clone(),
            compiled: Vec::new(),
            build_seconds: 0.0,
            packaged_from: Some(built.python),
        })
    }

    /// Runs maturin for `interpreter`, showing its output, and returns the wheel it wrote
    /// (its SBOM without the checkout's path) with the crates it compiled.
    fn run_maturin(&self, interpreter: &Interpreter, staging: &Path) -> Result<Staged> {
        let started = Instant::now();
        let out = staging.join(format!("build-{}", interpreter.minor.tag()));
        fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
        let command = self.command(interpreter, &out);
        let shown = command.shown.clone();
        note(format!("CPython {}: {shown}", interpreter.version));
        let env: Vec<(String, String)> = command.env.into_iter().collect();
        let expr = crate::build_env::child("maturin", &command.args, &self.ws.root, &env);
        let mut compiled = Vec::new();
        let ok = crate::process::each_line(expr, &shown, |line| {
            eprint!("{line}");
            if let Some(name) = crate::process::compiling_crate(line) {
                compiled.push(name.to_owned());
            }
        })?;
        if !ok {
            bail!(
                "`{shown}` failed for CPython {}: see its output above",
                interpreter.version
            );
        }
        let written: Vec<PathBuf> = crate::wheel_format::files_in(&out)?.into_iter().collect();
        let [wheel] = written.as_slice() else {
            bail!(
                "`{shown}` succeeded but wrote {} wheels to {} (expected one)",
                written.len(),
                out.display()
            );
        };
        let file = staging.join(wheel.file_name().unwrap_or_default());
        fs::rename(wheel, &file)
            .with_context(|| format!("cannot move {} to {}", wheel.display(), file.display()))?;
        let _ = fs::remove_dir(&out);
        sbom_without_checkout_path(&file, &self.ws.root)?;
        Ok(Staged {
            python: interpreter.minor,
            interpreter: interpreter.executable.clone(),
            file,
            command: shown,
            compiled,
            build_seconds: started.elapsed().as_secs_f64(),
            packaged_from: None,
        })
    }
}

fn wheel_name(file: &Path) -> Result<WheelName> {
    WheelName::parse(&file.file_name().unwrap_or_default().to_string_lossy())
}

/// The oldest CPython a stable-ABI wheel serves (`cp311-abi3` gives 3.11), or None for a
/// wheel built for one interpreter.
fn stable_abi_floor(name: &WheelName) -> Option<Minor> {
    if name.abis != ["abi3"] {
        return None;
    }
    name.pythons.iter().filter_map(|p| p.parse().ok()).min()
}

/// What the later wheels did not compile again: the evidence that the part of the graph
/// that does not depend on the interpreter is built once. Workspace rlibs first.
pub fn shared_crates(ws: &Workspace, wheels: &[Staged]) -> Vec<String> {
    let Some((first, rest)) = wheels.split_first() else {
        return Vec::new();
    };
    let mut shared: BTreeSet<&String> = first.compiled.iter().collect();
    for later in rest {
        for c in &later.compiled {
            shared.remove(c);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wheel_format::WheelWriter;

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
        let name = wheel_name(&path).unwrap();
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

    #[test]
    fn stable_abi_wheels_serve_their_floor_and_later() {
        let abi3 = WheelName::parse("foo-1.0-cp311-abi3-manylinux_2_28_x86_64.whl").unwrap();
        assert_eq!(stable_abi_floor(&abi3), Some("3.11".parse().unwrap()));
        let one = WheelName::parse("foo-1.0-cp312-cp312-manylinux_2_28_x86_64.whl").unwrap();
        assert_eq!(stable_abi_floor(&one), None);
    }

    #[test]
    fn remaps_become_one_cargo_config_value() {
        let remaps = vec![
            (PathBuf::from("/v/a"), "/cargo/registry".to_owned()),
            (PathBuf::from("/v/b"), "/cargo/b".to_owned()),
        ];
        assert_eq!(
            remap_config("x86_64-unknown-linux-gnu", &remaps),
            "target.x86_64-unknown-linux-gnu.rustflags=[\"--remap-path-prefix=/v/a=/cargo/registry\", \"--remap-path-prefix=/v/b=/cargo/b\"]"
        );
    }
}
