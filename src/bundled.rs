//! Native libraries a release build links against and its wheels carry
//! (`[[tool.maou-build.bundled-libraries]]`): each a fixed input, a file inside an archive
//! at a URL, both pinned by SHA-256, handed to the build through the variables its crate
//! documents (`ort`'s `ORT_LIB_LOCATION` for ONNX Runtime, docs/onnx-maou.md). Nothing is
//! downloaded by a build script; maturin grafts the library into `<dist>.libs/` and points
//! the extension there, as auditwheel does.
//!
//! The archive is fetched once into maou-build's cache (`inputs/`), or placed there by hand
//! with the same bytes; a hash that does not match is refused, naming both.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::wheel_format::sha256_hex;

/// The text in an `env` value that stands for the library's directory.
pub const DIR: &str = "@DIR@";

/// One library, as the workspace's `pyproject.toml` pins it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Library {
    /// The archive (a wheel or any zip) that holds it.
    pub url: String,
    /// The archive's SHA-256 (PyPI publishes it beside every file).
    pub sha256: String,
    /// The library's path inside the archive.
    pub member: String,
    /// The library's own SHA-256.
    pub member_sha256: String,
    /// The name the linker takes it by (`onnxruntime` for `-lonnxruntime`).
    pub link_name: String,
    /// Variables for the build, [DIR] standing for the library's directory.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// nixpkgs packages the Nix chain adds to every step for what the library's crate
    /// still compiles (ort-sys's download client needs OpenSSL's headers, even when it
    /// downloads nothing). maou-build itself takes them from the machine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nix_native_build_inputs: Vec<String>,
}

/// A library laid out for the linker: its file, its soname and `lib<link-name>.so` beside it.
#[derive(Debug, Clone, Serialize)]
pub struct Prepared {
    pub dir: PathBuf,
    /// The variables the build gets, [DIR] replaced.
    pub env: Vec<(String, String)>,
}

impl Library {
    fn file_name(&self) -> &str {
        self.member.rsplit('/').next().unwrap_or(&self.member)
    }

    fn archive_name(&self) -> String {
        let name = self
            .url
            .rsplit('/')
            .next()
            .unwrap_or("archive")
            .split(['#', '?'])
            .next()
            .unwrap_or("archive");
        format!("{}-{name}", &self.sha256[..16.min(self.sha256.len())])
    }

    /// Where it is laid out under `cache` (maou-build's cache directory).
    pub fn dir(&self, cache: &Path) -> PathBuf {
        cache.join("inputs").join(format!(
            "{}-{}",
            self.link_name,
            &self.member_sha256[..16.min(self.member_sha256.len())]
        ))
    }

    /// The variables for a build with the library at `dir`.
    pub fn env_at(&self, dir: &Path) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), v.replace(DIR, &dir.to_string_lossy())))
            .collect()
    }

    /// Where [Library::prepare] lays it out, nothing fetched.
    pub fn planned(&self, cache: &Path) -> Prepared {
        let dir = self.dir(cache);
        Prepared {
            env: self.env_at(&dir),
            dir,
        }
    }

    /// The library laid out under `cache`, fetched and checked first when it is not there.
    pub fn prepare(&self, cache: &Path) -> Result<Prepared> {
        let dir = self.dir(cache);
        let file = dir.join(self.file_name());
        let laid_out = fs::read(&file)
            .map(|b| sha256_hex(&b) == self.member_sha256)
            .unwrap_or(false);
        if !laid_out {
            let archive = self.archive(cache)?;
            let bytes = self.extract(&archive)?;
            lay_out(&dir, self.file_name(), &bytes, &self.link_name)?;
        }
        Ok(self.planned(cache))
    }

    /// The archive in the cache, fetched when missing; its hash checked either way (once).
    fn archive(&self, cache: &Path) -> Result<PathBuf> {
        let path = cache.join("inputs").join(self.archive_name());
        if path.is_file() {
            let bytes =
                fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            check(&path.display().to_string(), &bytes, &self.sha256)
                .with_context(|| format!("remove {} to fetch it again", path.display()))?;
            return Ok(path);
        }
        crate::messages::note(format!("fetching {} (pinned by SHA-256)", self.url));
        let bytes = fetch(&self.url)?;
        check(&self.url, &bytes, &self.sha256)?;
        fs::create_dir_all(path.parent().unwrap_or(cache))
            .with_context(|| format!("cannot create {}", cache.display()))?;
        crate::fsutil::write_atomic(&path, &bytes)?;
        Ok(path)
    }

    /// The library's bytes from the archive, checked against its pin.
    fn extract(&self, archive: &Path) -> Result<Vec<u8>> {
        let file = fs::File::open(archive)
            .with_context(|| format!("cannot open {}", archive.display()))?;
        let mut zip = zip::ZipArchive::new(file)
            .with_context(|| format!("{} is not a zip archive", archive.display()))?;
        let mut entry = zip
            .by_name(&self.member)
            .with_context(|| format!("{} has no {}", archive.display(), self.member))?;
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {} in {}", self.member, archive.display()))?;
        check(
            &format!("{} in {}", self.member, archive.display()),
            &bytes,
            &self.member_sha256,
        )?;
        Ok(bytes)
    }
}

fn check(what: &str, bytes: &[u8], pinned: &str) -> Result<()> {
    let got = sha256_hex(bytes);
    if got != pinned.to_lowercase() {
        bail!(
            "{what}: SHA-256 {got}, but the pin is {pinned}: not the file the build is pinned to"
        );
    }
    Ok(())
}

fn fetch(url: &str) -> Result<Vec<u8>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(600)))
        .build()
        .into();
    let mut body = agent
        .get(url)
        .call()
        .with_context(|| format!("cannot fetch {url} (offline? place the file in maou-build's cache, inputs/, with the same bytes)"))?
        .into_body();
    body.with_config()
        .limit(2 << 30)
        .read_to_vec()
        .with_context(|| format!("reading {url}"))
}

/// `bytes` as `dir/file`, with `lib<link_name>.so` and the soname as links to it; the
/// directory is built beside and renamed into place, so a reader never sees half of it.
fn lay_out(dir: &Path, file: &str, bytes: &[u8], link_name: &str) -> Result<()> {
    let tmp = crate::fsutil::temp_beside(dir);
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    fs::write(tmp.join(file), bytes).with_context(|| format!("cannot write {file}"))?;
    let mut links = vec![format!("lib{link_name}.so")];
    if let Ok(elf) = goblin::elf::Elf::parse(bytes) {
        links.extend(elf.soname.map(str::to_owned));
    }
    for link in links.iter().filter(|l| l.as_str() != file) {
        std::os::unix::fs::symlink(file, tmp.join(link))
            .with_context(|| format!("cannot link {link} in {}", tmp.display()))?;
    }
    let _ = fs::remove_dir_all(dir);
    fs::rename(&tmp, dir).with_context(|| format!("cannot place {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_with(path: &Path, member: &str, bytes: &[u8]) {
        let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
        zip.start_file(member, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
        zip.finish().unwrap();
    }

    /// The archive at `staging` placed by hand in `cache`, where `lib`'s pin looks for it.
    fn place(staging: &Path, cache: &Path, lib: &Library) {
        fs::create_dir_all(cache.join("inputs")).unwrap();
        fs::copy(staging, cache.join("inputs").join(lib.archive_name())).unwrap();
    }

    fn library(archive: &[u8], lib: &[u8]) -> Library {
        Library {
            url: "https://example.invalid/pkg-1.0-py3-none-any.whl".into(),
            sha256: sha256_hex(archive),
            member: "pkg/capi/libthing.so.1.2.3".into(),
            member_sha256: sha256_hex(lib),
            link_name: "thing".into(),
            env: [("THING_LIB".to_owned(), DIR.to_owned())].into(),
            nix_native_build_inputs: Vec::new(),
        }
    }

    #[test]
    fn a_placed_archive_is_checked_extracted_and_laid_out() {
        let tmp = tempfile::tempdir().unwrap();
        let staging = tmp.path().join("a.whl");
        zip_with(&staging, "pkg/capi/libthing.so.1.2.3", b"not really ELF");
        let archive = fs::read(&staging).unwrap();
        let lib = library(&archive, b"not really ELF");
        // Placed by hand in the cache under its name: no fetch (the URL cannot answer).
        let cache = tmp.path().join("cache");
        place(&staging, &cache, &lib);
        let prepared = lib.prepare(&cache).unwrap();
        assert_eq!(
            fs::read(prepared.dir.join("libthing.so.1.2.3")).unwrap(),
            b"not really ELF"
        );
        assert_eq!(
            fs::read_link(prepared.dir.join("libthing.so")).unwrap(),
            Path::new("libthing.so.1.2.3")
        );
        assert_eq!(
            prepared.env,
            [("THING_LIB".to_owned(), prepared.dir.display().to_string())]
        );
    }

    #[test]
    fn a_wrong_archive_or_library_is_refused_by_hash() {
        let tmp = tempfile::tempdir().unwrap();
        let staging = tmp.path().join("a.whl");
        zip_with(&staging, "pkg/capi/libthing.so.1.2.3", b"bytes");
        let archive = fs::read(&staging).unwrap();
        let cache = tmp.path().join("cache");

        let mut wrong_archive = library(&archive, b"bytes");
        wrong_archive.sha256 = "0".repeat(64);
        place(&staging, &cache, &wrong_archive);
        let e = format!("{:#}", wrong_archive.prepare(&cache).unwrap_err());
        assert!(e.contains("not the file the build is pinned to"), "{e}");

        let wrong_member = library(&archive, b"other bytes");
        place(&staging, &cache, &wrong_member);
        let e = format!("{:#}", wrong_member.prepare(&cache).unwrap_err());
        assert!(e.contains("pkg/capi/libthing.so.1.2.3 in"), "{e}");
        assert!(!wrong_member.dir(&cache).exists(), "nothing laid out");
    }
}
