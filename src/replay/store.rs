//! A store the replay builds derivations into, as Nix would but outside Nix: every
//! `/nix/store/<hash>-<name>` is `<root>/store/<hash>-<name>`, each derivation is built
//! once (by output path, so an unchanged derivation of a later evaluation is reused), and
//! every output is made as Nix leaves it: timestamps at 1, read-only.
//!
//! How each kind of derivation is built is decided by what it is, from the derivation
//! alone: a package of nixpkgs (which the nix-eval harness stubs) becomes the host's tool
//! of that name; the fenix toolchain, the host's toolchain of the same version; a crate
//! fetch, the crate (from cargo's download cache, else crates.io) with its hash checked;
//! the harness's trivial builders (setup hooks, text files, joins) what nixpkgs makes of
//! them; everything else runs through stdenv's generic builder (stdenv.sh) with the
//! derivation's own environment.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::drv::Derivation;
use crate::messages::note;
use crate::process;

mod host;

use host::{is_package_stub, toolchain_version};

const STDENV: &str = include_str!("stdenv.sh");

/// The `SOURCE_DATE_EPOCH` nixpkgs' stdenv gives every build (1980-01-01).
pub const SOURCE_DATE_EPOCH: u64 = 315532800;

/// What one build did: for the report.
#[derive(Debug, Clone)]
pub struct Built {
    pub drv: String,
    pub seconds: f64,
    /// Crates cargo compiled, in its order ("Compiling <name> v...").
    pub compiled: Vec<String>,
}

pub struct Store {
    root: PathBuf,
    store: PathBuf,
    build_top: PathBuf,
    placeholder: String,
    cores: usize,
    pub drvs: BTreeMap<String, Derivation>,
    pub built: Vec<Built>,
    /// Derivations built so far, for progress.
    count: usize,
}

impl Store {
    pub fn create(root: &Path, placeholder: String, cores: usize) -> Result<Store> {
        let store = root.join("store");
        for dir in [&store, &root.join("logs")] {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        fs::write(root.join("stdenv.sh"), STDENV)
            .with_context(|| format!("cannot write {}", root.join("stdenv.sh").display()))?;
        Ok(Store {
            root: root.to_path_buf(),
            build_top: root.join("build"),
            store,
            placeholder,
            cores,
            drvs: BTreeMap::new(),
            built: Vec::new(),
            count: 0,
        })
    }

    /// `/nix/store/...` as this store's path.
    pub fn local(&self, nix_path: &str) -> PathBuf {
        PathBuf::from(self.text(nix_path))
    }

    /// Text (a variable, a script) with every store path made this store's.
    fn text(&self, s: &str) -> String {
        s.replace("/nix/store/", &format!("{}/", self.store.display()))
    }

    /// Builds `drv` (and first what it needs) unless its output exists; its output path.
    pub fn realize(&mut self, drv: &str) -> Result<PathBuf> {
        let d = self
            .drvs
            .get(drv)
            .with_context(|| format!("{drv} is not among the derivations read"))?
            .clone();
        let out = self.local(d.out()?);
        if fs::symlink_metadata(&out).is_ok() {
            return Ok(out);
        }
        let name = d.var("name").to_owned();
        if let Some(version) = toolchain_version(&name) {
            // Hard links to the host's files: nothing of them may change.
            return self
                .host_toolchain(&out, version)
                .map(|()| out.clone())
                .with_context(|| format!("replaying {drv} ({name})"));
        }
        let result = if is_package_stub(&d) {
            self.host_package(&d, &out)
        } else if let Some(fixed) = d.outputs.get("out").filter(|o| o.hash.is_some()) {
            if fixed.hash_algo.as_deref() != Some("sha256") {
                bail!(
                    "{drv}: a fetch by {:?}, the replay checks sha256 only",
                    fixed.hash_algo
                );
            }
            let hash = fixed.hash.clone().unwrap_or_default();
            self.fetch(&d, &out, &hash)
        } else {
            for input in d.input_drvs.keys() {
                self.realize(input)?;
            }
            for src in &d.input_srcs {
                self.link_source(src)?;
            }
            self.build(drv, &d, &out)
        };
        if let Err(e) = result {
            let _ = remove(&out);
            return Err(e.context(format!("replaying {drv} ({name})")));
        }
        canonicalize(&out)?;
        self.count += 1;
        if self.count.is_multiple_of(200) {
            note(format!("replay: {} derivations built", self.count));
        }
        Ok(out)
    }

    /// A source the evaluation put in the real store (the flake's files, crane's hooks).
    fn link_source(&self, src: &str) -> Result<()> {
        let local = self.local(src);
        if fs::symlink_metadata(&local).is_err() {
            std::os::unix::fs::symlink(src, &local)
                .with_context(|| format!("cannot link {}", local.display()))?;
        }
        Ok(())
    }

    /// A derivation with a builder: the harness's trivial builders as nixpkgs runs them,
    /// everything else through stdenv's generic builder.
    fn build(&mut self, drv: &str, d: &Derivation, out: &Path) -> Result<()> {
        let command = d.var("buildCommand");
        if command.starts_with("substitute $script into") {
            let script = fs::read_to_string(d.var("script"))
                .with_context(|| format!("cannot read {}", d.var("script")))?;
            let subs: BTreeMap<String, serde_json::Value> =
                serde_json::from_str(d.var("substitutions")).unwrap_or_default();
            let mut text = script;
            for (k, v) in subs {
                let v = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string());
                text = text.replace(&format!("@{k}@"), &v);
            }
            let support = out.join("nix-support");
            fs::create_dir_all(&support)?;
            return Ok(fs::write(support.join("setup-hook"), self.text(&text))?);
        }
        if command.starts_with("write $textPath to") {
            let dest = PathBuf::from(format!("{}{}", out.display(), d.var("destination")));
            if let Some(dir) = dest.parent() {
                fs::create_dir_all(dir)?;
            }
            fs::write(&dest, self.text(d.var("text")))?;
            if matches!(d.var("executable"), "1" | "true") {
                make_executable(&dest)?;
            }
            return Ok(());
        }
        if command.starts_with("symlink every path in") {
            for path in d.var("paths").split_whitespace() {
                join_into(&self.local(path), out)?;
            }
            return Ok(());
        }
        if d.env.contains_key("cargoLock") || d.env.contains_key("cargoHash") {
            return self.build_rust_package(d, out);
        }
        self.generic(drv, d, out)
    }

    /// nixpkgs' buildRustPackage (crane's own utilities): `cargo install` from the sources.
    fn build_rust_package(&self, d: &Derivation, out: &Path) -> Result<()> {
        let target = self.root.join("rust-packages").join(d.var("name"));
        let cargo = process::on_path("cargo").context("cargo is not on PATH")?;
        process::stream(
            cargo,
            [
                "install".as_ref(),
                "--locked".as_ref(),
                "--quiet".as_ref(),
                "--path".as_ref(),
                self.local(d.var("src")).as_os_str(),
                "--root".as_ref(),
                out.as_os_str(),
                "--target-dir".as_ref(),
                target.as_os_str(),
            ],
        )
    }

    fn generic(&mut self, drv: &str, d: &Derivation, out: &Path) -> Result<()> {
        remove(&self.build_top)?;
        fs::create_dir_all(&self.build_top)?;
        let top = self.build_top.display().to_string();
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &d.env {
            env.insert(
                k.clone(),
                self.text(&v.replace(&self.placeholder, d.out()?)),
            );
        }
        for name in d.var("passAsFile").split_whitespace() {
            let file = self.build_top.join(format!(".attr-{name}"));
            fs::write(&file, env.get(name).map(String::as_str).unwrap_or(""))?;
            env.insert(format!("{name}Path"), file.display().to_string());
        }
        for (k, v) in [
            ("NIX_BUILD_TOP", top.as_str()),
            ("TMPDIR", &top),
            ("TEMPDIR", &top),
            ("TMP", &top),
            ("TEMP", &top),
            ("HOME", "/homeless-shelter"),
            ("PATH", "/usr/bin:/bin"),
            ("NIX_STORE", &self.store.display().to_string()),
            ("NIX_BUILD_CORES", &self.cores.to_string()),
        ] {
            env.insert(k.to_owned(), v.to_owned());
        }
        env.entry("SOURCE_DATE_EPOCH".into())
            .or_insert_with(|| SOURCE_DATE_EPOCH.to_string());
        let name = d.var("name");
        let log_path = self.root.join("logs").join(format!("{name}.log"));
        let mut log = String::new();
        let mut compiled = Vec::new();
        let is_cargo = d.env.contains_key("cargoVendorDir");
        if is_cargo {
            note(format!("replay: building {name}"));
        }
        let started = Instant::now();
        let stdenv = self.root.join("stdenv.sh");
        let expr = duct::cmd(
            "bash",
            [
                "--noprofile".as_ref(),
                "--norc".as_ref(),
                stdenv.as_os_str(),
            ],
        )
        .dir(&self.build_top)
        .full_env(&env);
        let ok = process::each_line(expr, &format!("stdenv.sh for {name}"), |line| {
            log.push_str(line);
            if let Some(krate) = process::compiling_crate(line) {
                compiled.push(krate.to_owned());
                if is_cargo {
                    note(format!("replay: {name}: compiling {krate}"));
                }
            }
        })?;
        let _ = fs::write(&log_path, &log);
        if !ok {
            bail!(
                "the build failed; its log is {}:\n{}",
                log_path.display(),
                crate::messages::tail(&log, 40)
            );
        }
        if fs::symlink_metadata(out).is_err() {
            bail!("the build made no output {}", out.display());
        }
        self.built.push(Built {
            drv: drv.to_owned(),
            seconds: started.elapsed().as_secs_f64(),
            compiled,
        });
        Ok(())
    }

    /// Removes the build directory; outputs stay until the store is dropped.
    pub fn clean_build_dir(&self) -> Result<()> {
        remove(&self.build_top)
    }
}

fn join_into(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() && dest.is_dir() && !dest.is_symlink() {
            join_into(&entry.path(), &dest)?;
        } else if fs::symlink_metadata(&dest).is_err() {
            std::os::unix::fs::symlink(entry.path(), &dest)?;
        }
    }
    Ok(())
}

fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o555))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

/// As Nix registers an output: every timestamp 1, nothing writable.
fn canonicalize(out: &Path) -> Result<()> {
    if out.is_symlink() {
        return Ok(());
    }
    let shown = out.display().to_string();
    process::output(
        "find",
        [
            shown.as_str(),
            "-exec",
            "touch",
            "-h",
            "-d",
            "@1",
            "{}",
            "+",
        ],
        None,
    )?;
    process::output("chmod", ["-R", "a-w", shown.as_str()], None)?;
    Ok(())
}

/// Removes a path the replay made, read-only or not.
pub fn remove(path: &Path) -> Result<()> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    if path.is_dir() && !path.is_symlink() {
        let shown = path.display().to_string();
        process::output("chmod", ["-R", "u+w", shown.as_str()], None)?;
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
    .with_context(|| format!("cannot remove {}", path.display()))
}
