//! Wheels and shared objects made here for the tests: C code compiled by the host's
//! compiler, packed with a correct RECORD.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use sha2::{Digest, Sha256};

/// Compiles `source` into the shared object `dir/name` with the host compiler.
pub fn cc(dir: &Path, name: &str, source: &str, extra: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    fs::write(&src, source).unwrap();
    let out = dir.join(name);
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&out)
        .arg(&src)
        .args(extra)
        .current_dir(dir)
        .status()
        .expect("a C compiler (cc) is needed for these tests");
    assert!(status.success(), "cc failed for {name}");
    out
}

fn record_hash(bytes: &[u8]) -> String {
    format!(
        "sha256={}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
    )
}

/// Writes a wheel holding `files`, with WHEEL for `tag` and a correct RECORD, unless
/// `tamper` names a file whose bytes are changed after RECORD was computed.
pub fn write_wheel(path: &Path, tag: &str, files: &[(&str, Vec<u8>)], tamper: Option<&str>) {
    let dist_info = "foo-1.2.3.dist-info";
    let mut all: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| ((*n).to_owned(), b.clone()))
        .collect();
    all.push((
        format!("{dist_info}/METADATA"),
        b"Metadata-Version: 2.1\nName: foo\nVersion: 1.2.3\n".to_vec(),
    ));
    all.push((
        format!("{dist_info}/WHEEL"),
        format!("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: {tag}\n")
            .into_bytes(),
    ));
    let mut record = String::new();
    for (name, bytes) in &all {
        record.push_str(&format!("{name},{},{}\n", record_hash(bytes), bytes.len()));
    }
    record.push_str(&format!("{dist_info}/RECORD,,\n"));
    all.push((format!("{dist_info}/RECORD"), record.into_bytes()));
    if let Some(victim) = tamper {
        let entry = all.iter_mut().find(|(n, _)| n == victim).unwrap();
        entry.1.extend_from_slice(b"\n# tampered\n");
    }
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    for (name, bytes) in all {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap();
}
