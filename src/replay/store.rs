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

const STDENV: &str = include_str!("stdenv.sh");

/// Packages of nixpkgs the replay takes from the host: the nixpkgs name and the
/// executables its `bin/` has. python3, zig and the toolchain are handled apart.
const HOST_TOOLS: &[(&str, &[&str])] = &[
    ("lld", &["ld.lld", "lld"]),
    ("zstd", &["zstd", "unzstd"]),
    ("rsync", &["rsync"]),
    ("maturin", &["maturin"]),
    ("jq", &["jq"]),
    ("gnutar", &["tar"]),
];

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

    fn host_toolchain(&self, out: &Path, version: &str) -> Result<()> {
        let said = process::output("rustc", ["--version"], None)?;
        if !said.contains(&format!("rustc {version} ")) {
            bail!(
                "the flake's toolchain is Rust {version}, the host's `rustc` is {}: the replay \
                 runs the host's toolchain in its place and needs the same version",
                said.trim()
            );
        }
        // Hard links, not a symlink: rustc finds its sysroot from its own path, and crane's
        // hooks expect that to be a store path, as fenix's is.
        let sysroot = process::output("rustc", ["--print", "sysroot"], None)?;
        let (from, to) = (format!("{}/.", sysroot.trim()), out.display().to_string());
        fs::create_dir_all(out)?;
        process::output("cp", ["-a", "--link", from.as_str(), to.as_str()], None)
            .or_else(|_| process::output("cp", ["-a", from.as_str(), to.as_str()], None))
            .map(|_| ())
    }

    /// A nixpkgs package the harness stubs: the host's program of that name.
    fn host_package(&self, d: &Derivation, out: &Path) -> Result<()> {
        if d.var("name").starts_with("stdenv-") {
            // Every derivation's `stdenv`: its part is played by stdenv.sh.
            return fs::create_dir_all(out)
                .with_context(|| format!("cannot create {}", out.display()));
        }
        let pname = d.var("pname");
        let bin = out.join("bin");
        fs::create_dir_all(&bin).with_context(|| format!("cannot create {}", bin.display()))?;
        let link = |program: &Path, name: &str| -> Result<()> {
            std::os::unix::fs::symlink(program, bin.join(name))
                .with_context(|| format!("cannot link {name} in {}", bin.display()))
        };
        match pname {
            "python3" => {
                let version = d.var("version");
                let minor: crate::python::Minor = version
                    .splitn(3, '.')
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(".")
                    .parse()
                    .with_context(|| format!("python3's version {version:?}"))?;
                let found = crate::python::find(minor).with_context(|| {
                    format!("the flake builds with CPython {minor}, which is not installed here")
                })?;
                for name in [format!("python{minor}"), "python3".into(), "python".into()] {
                    link(&found.executable, &name)?;
                }
            }
            "zig" => {
                // As cargo-zigbuild finds it: a zig binary, or PyPI's ziglang.
                let zig = crate::zig::find(&[])?;
                let (var, value) = &zig.env;
                let program = host_program(value).unwrap_or_else(|| PathBuf::from(value));
                let command = if var == "CARGO_ZIGBUILD_PYTHON_PATH" {
                    format!("{} -m ziglang", program.display())
                } else {
                    program.display().to_string()
                };
                let script = format!("#!/bin/sh\nexec {command} \"$@\"\n");
                fs::write(bin.join("zig"), script)?;
                make_executable(&bin.join("zig"))?;
            }
            "writableTmpDirAsHomeHook" => {
                let support = out.join("nix-support");
                fs::create_dir_all(&support)?;
                fs::write(
                    support.join("setup-hook"),
                    "export HOME=\"$NIX_BUILD_TOP\"\n",
                )?;
            }
            _ => {
                let (_, programs) = HOST_TOOLS
                    .iter()
                    .find(|(name, _)| *name == pname)
                    .with_context(|| {
                        format!(
                            "the flake needs nixpkgs' `{pname}`, for which the replay has no \
                             host stand-in (it has {}, python3, zig)",
                            HOST_TOOLS
                                .iter()
                                .map(|t| t.0)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })?;
                for program in *programs {
                    let found = host_program(program).with_context(|| {
                        format!("`{program}` (for nixpkgs' {pname}) is not on PATH")
                    })?;
                    link(&found, program)?;
                }
            }
        }
        Ok(())
    }

    /// A fixed-output fetch: a crate from cargo's download cache or crates.io.
    fn fetch(&self, d: &Derivation, out: &Path, hash: &str) -> Result<()> {
        let url = d.var("url");
        let Some(rest) = url.strip_prefix("https://static.crates.io/crates/") else {
            bail!("cannot fetch {url} here: the replay fetches crates only");
        };
        let mut parts = rest.split('/');
        let (name, version) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let file = format!("{name}-{version}.crate");
        let cached = cargo_download_caches()
            .into_iter()
            .map(|dir| dir.join(&file))
            .find(|p| p.is_file());
        let bytes = match cached {
            Some(path) => {
                fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?
            }
            None => {
                // curl, as nixpkgs' fetchurl: it trusts the machine's certificate store.
                note(format!("replay: downloading {url}"));
                let tmp = self.root.join(format!(".download-{file}"));
                let shown = tmp.display().to_string();
                process::output(
                    "curl",
                    ["-fsSL", "--retry", "3", "-o", shown.as_str(), url],
                    None,
                )?;
                let bytes = fs::read(&tmp).with_context(|| format!("cannot read {shown}"))?;
                let _ = fs::remove_file(&tmp);
                bytes
            }
        };
        let got = crate::wheel::sha256_hex(&bytes);
        if got != hash {
            bail!("{file} has sha256 {got}, the derivation expects {hash}");
        }
        fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))
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

/// `rust-1.95.0`, `rustc-1.95.0`, `cargo-1.95.0`: the toolchain (fenix's or nixpkgs').
fn toolchain_version(name: &str) -> Option<&str> {
    let version = ["rust-", "rustc-", "cargo-"]
        .iter()
        .find_map(|p| name.strip_prefix(p))?;
    let numeric = version.split('.').count() == 3
        && version
            .split('.')
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    numeric.then_some(version)
}

/// A package of the harness's stub nixpkgs: no builder of its own.
fn is_package_stub(d: &Derivation) -> bool {
    [
        "buildCommand",
        "buildPhase",
        "installPhase",
        "unpackPhase",
        "src",
        "outputHash",
    ]
    .iter()
    .all(|k| !d.env.contains_key(*k))
}

/// `name` (a program on PATH, or a path) as the file to run: through a pyenv shim to the
/// program it starts, since the shim needs pyenv on a PATH a build does not have.
fn host_program(name: &str) -> Option<PathBuf> {
    let found = if name.contains('/') {
        PathBuf::from(name)
    } else {
        process::on_path(name)?
    };
    Some(process::resolve_pyenv_shim(found))
}

/// cargo's caches of downloaded `.crate` files.
fn cargo_download_caches() -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let Some(cache) = home.map(|h| h.join("registry/cache")) else {
        return Vec::new();
    };
    fs::read_dir(cache)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default()
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
