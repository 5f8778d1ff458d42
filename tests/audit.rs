//! `maou-build audit` on shared objects built here with the host's C compiler, and on
//! wheels assembled here around them: each kind of violation is named, the repairable
//! ones are repaired and then accepted, and bad inputs exit 2.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use common::wheels::{cc, write_wheel};
use common::{maou_build, text};

/// Uses close_range, which glibc 2.34 added: this machine's glibc (2.36) has it, so the
/// object needs GLIBC_2.34.
const NEW_GLIBC: &str = "#define _GNU_SOURCE\n#include <unistd.h>\n\
    int close_all(void) { return close_range(3, ~0U, 0); }\n";
const PLAIN: &str = "int answer(void) { return 42; }\n";
/// A minimal extension module: Python imports `_native` by calling PyInit__native.
const EXTENSION: &str =
    "int answer(void) { return 42; }\nvoid *PyInit__native(void) { return 0; }\n";

fn audit(dir: &Path, args: &[&str]) -> Output {
    maou_build(dir).arg("audit").args(args).output().unwrap()
}

fn audit_json(dir: &Path, args: &[&str]) -> (Output, serde_json::Value) {
    let out = maou_build(dir)
        .arg("audit")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("audit --json printed no JSON ({e}):\n{}", text(&out)));
    (out, json)
}

fn findings(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "[{}] {}",
                f["check"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_newer_glibc_symbol_is_named_with_its_library() {
    let dir = tempfile::tempdir().unwrap();
    let so = cc(dir.path(), "libnew.so", NEW_GLIBC, &[]);
    let (out, json) = audit_json(dir.path(), &[so.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let f = findings(&json[0]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].starts_with("[symbol-version] GLIBC_2.34 from libc.so.6"),
        "{f:?}"
    );
    assert!(f[0].contains("close_range@GLIBC_2.34"), "{f:?}");
    assert_eq!(json[0]["object"]["highest_versions"]["GLIBC"], "2.34");

    // Nothing about it can be repaired: the repair leaves the file as it was.
    let before = fs::read(&so).unwrap();
    let out = audit(dir.path(), &["--repair", so.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(fs::read(&so).unwrap(), before);
}

#[test]
fn a_library_outside_the_policy_is_named() {
    let dir = tempfile::tempdir().unwrap();
    cc(dir.path(), "libhelper.so", PLAIN, &[]);
    let so = cc(
        dir.path(),
        "libuses.so",
        "int answer(void);\nint twice(void) { return 2 * answer(); }\n",
        &["-L.", "-lhelper"],
    );
    let out = audit(dir.path(), &[so.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "[needed] needs libhelper.so, which is not among the libraries manylinux_2_28 allows"
        ),
        "{stdout}"
    );
}

#[test]
fn a_runpath_into_the_nix_store_is_rejected_then_repaired() {
    let dir = tempfile::tempdir().unwrap();
    // One RUNPATH keeps an $ORIGIN entry beside the store path; one RPATH has only the
    // store path, so its whole dynamic entry must go.
    let mixed = cc(
        dir.path(),
        "libmixed.so",
        PLAIN,
        &["-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib:/nix/store/0123456789abcdfghijklmnpqrsvwxyz-glibc-2.40/lib"],
    );
    let only = cc(
        dir.path(),
        "libonly.so",
        PLAIN,
        &["-Wl,--disable-new-dtags,-rpath,/nix/store/0123456789abcdfghijklmnpqrsvwxyz-glibc-2.40/lib"],
    );
    let (out, json) = audit_json(
        dir.path(),
        &[mixed.to_str().unwrap(), only.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let f = findings(&json[0]);
    assert!(
        f.contains(
            &"[search-path] RUNPATH /nix/store/0123456789abcdfghijklmnpqrsvwxyz-glibc-2.40/lib points outside $ORIGIN"
                .to_owned()
        ),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|m| m.starts_with("[nix-store] a /nix/store path") && m.contains(".dynstr")),
        "{f:?}"
    );
    assert!(findings(&json[1])
        .iter()
        .any(|m| m.starts_with("[search-path] RPATH /nix/store/")));

    let (out, json) = audit_json(
        dir.path(),
        &["--repair", mixed.to_str().unwrap(), only.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        json[0]["repair"]["removed_search_paths"][0]
            .as_str()
            .unwrap()
            .rsplit(": ")
            .next(),
        Some("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-glibc-2.40/lib")
    );
    // A fresh audit agrees, the $ORIGIN entry survived, and the loader still accepts both.
    let (out, json) = audit_json(
        dir.path(),
        &[mixed.to_str().unwrap(), only.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for report in json.as_array().unwrap() {
        assert!(findings(report).is_empty(), "{report}");
    }
    let readelf = |so: &Path| {
        String::from_utf8(
            Command::new("readelf")
                .arg("-d")
                .arg(so)
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
    };
    assert!(
        readelf(&mixed).contains("Library runpath: [$ORIGIN/../lib]"),
        "{}",
        readelf(&mixed)
    );
    assert!(!readelf(&only).contains("RPATH"), "{}", readelf(&only));
    for so in [&mixed, &only] {
        let py = Command::new("python3")
            .args([
                "-c",
                "import ctypes, sys; assert ctypes.CDLL(sys.argv[1]).answer() == 42",
            ])
            .arg(so)
            .output()
            .unwrap();
        assert!(
            py.status.success(),
            "the repaired {} does not load:\n{}",
            so.display(),
            text(&py)
        );
    }
}

const EXT_NAME: &str = "foo/_native.cpython-312-x86_64-linux-gnu.so";

#[test]
fn a_complying_linux_wheel_is_retagged_and_a_tampered_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let ext = fs::read(cc(dir.path(), "ext.so", EXTENSION, &[])).unwrap();
    let files = [
        (EXT_NAME, ext),
        ("foo/__init__.py", b"from foo._native import *\n".to_vec()),
    ];
    let linux = dir.path().join("foo-1.2.3-cp312-cp312-linux_x86_64.whl");
    write_wheel(&linux, "cp312-cp312-linux_x86_64", &files, None);

    let (out, json) = audit_json(
        dir.path(),
        &["--module", "foo._native", linux.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let f = findings(&json[0]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].starts_with("[tags] platform tag linux_x86_64 is not manylinux_2_28_x86_64"),
        "{f:?}"
    );
    assert_eq!(json[0]["extensions"][0]["module"], "foo._native");
    assert_eq!(json[0]["extensions"][0]["python"], "cp312");

    let (out, json) = audit_json(dir.path(), &["--repair", linux.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let repaired = dir
        .path()
        .join("foo-1.2.3-cp312-cp312-manylinux_2_28_x86_64.whl");
    assert_eq!(json[0]["repair"]["retagged_from"], "linux_x86_64");
    assert_eq!(json[0]["repair"]["written"], repaired.to_str().unwrap());
    assert!(
        repaired.is_file() && !linux.exists(),
        "the repaired wheel replaces the input"
    );
    // Audited again from scratch: WHEEL's tags now agree with the name, RECORD is sound.
    let out = audit(
        dir.path(),
        &["--module", "foo._native", repaired.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // A file changed after RECORD was written: the audit names it, --repair refuses.
    let tampered = dir
        .path()
        .join("foo-1.2.3-cp312-cp312-manylinux_2_28_x86_64.whl");
    write_wheel(
        &tampered,
        "cp312-cp312-manylinux_2_28_x86_64",
        &files,
        Some("foo/__init__.py"),
    );
    let (out, json) = audit_json(dir.path(), &[tampered.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let record: Vec<&serde_json::Value> = json[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "record")
        .collect();
    assert_eq!(record.len(), 2, "hash and size: {record:?}");
    assert!(
        record.iter().all(|f| f["file"] == "foo/__init__.py"),
        "{record:?}"
    );
    assert!(record[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("hash differs from RECORD"));
    let out = audit(dir.path(), &["--repair", tampered.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not repaired: RECORD does not match"));
}

#[test]
fn wheel_repairs_remove_store_paths_and_refuse_what_needs_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let rp = fs::read(cc(
        dir.path(),
        "rp.so",
        EXTENSION,
        &["-Wl,--enable-new-dtags,-rpath,/nix/store/0123456789abcdfghijklmnpqrsvwxyz-python3-3.12/lib"],
    ))
    .unwrap();
    let nix = dir.path().join("foo-1.2.3-cp312-cp312-linux_x86_64.whl");
    write_wheel(&nix, "cp312-cp312-linux_x86_64", &[(EXT_NAME, rp)], None);
    let (out, json) = audit_json(
        dir.path(),
        &[
            "--repair",
            "--out",
            out_dir.to_str().unwrap(),
            nix.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        json[0]["repair"]["removed_search_paths"][0],
        format!("{EXT_NAME}: /nix/store/0123456789abcdfghijklmnpqrsvwxyz-python3-3.12/lib")
    );
    assert!(nix.is_file(), "with --out the input is left alone");
    let repaired = out_dir.join("foo-1.2.3-cp312-cp312-manylinux_2_28_x86_64.whl");
    let bytes = fs::read(&repaired).unwrap();
    assert!(!bytes.windows(11).any(|w| w == b"/nix/store/"));

    // A newer glibc symbol cannot be repaired: no retag, nothing written.
    let newer = fs::read(cc(
        dir.path(),
        "new.so",
        &format!("{NEW_GLIBC}{EXTENSION}"),
        &[],
    ))
    .unwrap();
    let bad = dir
        .path()
        .join("bad")
        .join("foo-1.2.3-cp312-cp312-linux_x86_64.whl");
    fs::create_dir_all(bad.parent().unwrap()).unwrap();
    write_wheel(&bad, "cp312-cp312-linux_x86_64", &[(EXT_NAME, newer)], None);
    let (out, json) = audit_json(dir.path(), &["--repair", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(json[0]["repair"]["refused"]
        .as_str()
        .unwrap()
        .contains("need a rebuild"));
    assert!(json[0]["repair"]["retagged_from"].is_null());
    assert_eq!(
        fs::read_dir(bad.parent().unwrap()).unwrap().count(),
        1,
        "nothing written beside it"
    );
    assert!(findings(&json[0])
        .iter()
        .any(|f| f.contains("close_range@GLIBC_2.34")));
}

#[test]
fn an_extension_that_does_not_match_its_wheel_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // Exports PyInit__native but is named _other, and is built for 3.11 in a cp312 wheel.
    let ext = fs::read(cc(dir.path(), "ext.so", EXTENSION, &[])).unwrap();
    let wheel = dir
        .path()
        .join("foo-1.2.3-cp312-cp312-manylinux_2_28_x86_64.whl");
    write_wheel(
        &wheel,
        "cp312-cp312-manylinux_2_28_x86_64",
        &[("foo/_other.cpython-311-x86_64-linux-gnu.so", ext)],
        None,
    );
    let (out, json) = audit_json(
        dir.path(),
        &["--module", "foo._native", wheel.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let f = findings(&json[0]).join("\n");
    assert!(f.contains("exports no PyInit__other"), "{f}");
    assert!(
        f.contains("built for cp311 but the wheel is tagged cp312"),
        "{f}"
    );
    assert!(f.contains("no extension for module foo._native"), "{f}");
}

#[test]
fn bad_inputs_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("notes.whl"), "not a zip").unwrap();
    let not_zip = d.join("foo-1.0-cp312-cp312-linux_x86_64.whl");
    fs::write(&not_zip, "not a zip").unwrap();
    let zip_not_wheel = d.join("bar-1.0-cp312-cp312-linux_x86_64.whl");
    let mut zip = zip::ZipWriter::new(fs::File::create(&zip_not_wheel).unwrap());
    zip.start_file("hello.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"hi").unwrap();
    zip.finish().unwrap();
    let full = fs::read(cc(d, "full.so", PLAIN, &[])).unwrap();
    fs::write(d.join("truncated.so"), &full[..200]).unwrap();
    fs::write(d.join("readme.txt"), "hello").unwrap();

    for (arg, expected) in [
        ("notes.whl", "is not a wheel name"),
        (
            "foo-1.0-cp312-cp312-linux_x86_64.whl",
            "it is not a zip archive",
        ),
        (
            "bar-1.0-cp312-cp312-linux_x86_64.whl",
            "is a zip but not a wheel: it has no bar-1.0.dist-info/WHEEL",
        ),
        (
            "truncated.so",
            "truncated.so is not a readable ELF file (truncated or corrupt)",
        ),
        ("readme.txt", "neither a wheel nor an ELF shared object"),
        ("missing.whl", "cannot read missing.whl"),
    ] {
        let out = audit(d, &[arg]);
        assert_eq!(out.status.code(), Some(2), "{arg}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(expected),
            "{arg}: expected {expected:?} in:\n{stderr}"
        );
        assert!(out.stdout.is_empty(), "{arg}: {}", text(&out));
    }
}

/// A library the wheel carries, where the extension's `$ORIGIN` RUNPATH leads
/// (`foo.libs/`, as auditwheel's and maturin's repair graft it: maou's wheels with ONNX
/// Runtime, docs/onnx-maou.md), satisfies its `NEEDED`; the same wheel without the file, or
/// with the search path leading elsewhere, does not. The carried library is audited too.
#[test]
fn a_library_the_wheel_carries_where_its_runpath_leads_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let lib = cc(
        dir.path(),
        "libhelper.so.1",
        PLAIN,
        &["-Wl,-soname,libhelper.so.1"],
    );
    std::os::unix::fs::symlink("libhelper.so.1", dir.path().join("libhelper.so")).unwrap();
    let ext_source =
        format!("int answer(void);\nint twice(void) {{ return 2 * answer(); }}\n{EXTENSION}")
            .replace("int answer(void) { return 42; }\n", "");
    let wheel_with = |runpath: &str, carried: Option<&str>, name: &str| {
        let ext = cc(
            dir.path(),
            &format!("{name}.so"),
            &ext_source,
            &[
                "-L.",
                "-lhelper",
                &format!("-Wl,-rpath,{runpath}"),
                "-Wl,--enable-new-dtags",
            ],
        );
        let mut files = vec![("foo/_native.abi3.so".to_owned(), fs::read(&ext).unwrap())];
        if let Some(at) = carried {
            files.push((at.to_owned(), fs::read(&lib).unwrap()));
        }
        let path = dir
            .path()
            .join(format!("{name}-1.2.3-cp312-abi3-manylinux_2_28_x86_64.whl"));
        let borrowed: Vec<(&str, Vec<u8>)> =
            files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
        write_wheel(&path, "cp312-abi3-manylinux_2_28_x86_64", &borrowed, None);
        path
    };
    let carried = wheel_with(
        "$ORIGIN/../foo.libs",
        Some("foo.libs/libhelper.so.1"),
        "foo",
    );
    let (out, json) = audit_json(dir.path(), &[carried.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}\n{json}", text(&out));

    let missing = wheel_with("$ORIGIN/../foo.libs", None, "bar");
    let elsewhere = wheel_with("$ORIGIN", Some("foo.libs/libhelper.so.1"), "baz");
    for wheel in [missing, elsewhere] {
        let (out, json) = audit_json(dir.path(), &[wheel.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let f = findings(&json[0]);
        assert!(
            f.iter()
                .any(|f| f.starts_with("[needed] needs libhelper.so.1")),
            "{f:?}"
        );
    }
}
