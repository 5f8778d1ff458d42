//! `[[tool.maou-build.bundled-libraries]]` (src/bundled.rs): a native library the release
//! build links against and its wheel carries, pinned by hash, as maou's ONNX Runtime is
//! (docs/onnx-maou.md). On a generated PyO3 workspace whose extension calls a C library
//! found through a variable (as `ort` finds ONNX Runtime through `ORT_LIB_LOCATION`):
//! `maou-build wheel` links it, maturin grafts it into `foo.libs/`, both audits accept the
//! wheel, and it imports and calls the library in a fresh venv with nothing else
//! installed; a library whose bytes are not the pinned ones is refused before anything is
//! built.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::wheels::cc;
use common::{maou_build, pyo3_workspace, replace_in, text};

fn sha256(bytes: &[u8]) -> String {
    common::fake_github::sha256_hex(bytes)
}

/// The archive the pin names, with the library at `member`.
fn archive(path: &Path, member: &str, lib: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    zip.start_file(member, zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(lib).unwrap();
    zip.finish().unwrap();
    fs::read(path).unwrap()
}

#[test]
fn a_pinned_library_is_linked_carried_and_loaded_from_the_wheel() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    pyo3_workspace(&ws);
    let python = common::interpreters(&ws)
        .into_iter()
        .find(|(tag, _)| tag == "cp312")
        .map(|(_, exe)| exe)
        .expect("CPython 3.12 (pyo3_workspace allows 3.11 and 3.12)");

    // The library, built here, in an archive placed in maou-build's cache by hand (the
    // URL cannot answer: nothing is fetched).
    let lib = cc(
        tmp.path(),
        "libhelper.so.1",
        "int helper_answer(void) { return 41; }\n",
        &["-Wl,-soname,libhelper.so.1"],
    );
    let lib = fs::read(lib).unwrap();
    let member = "helper/capi/libhelper.so.1";
    let zipped = archive(&tmp.path().join("a.zip"), member, &lib);
    let url = "https://example.invalid/helper-1.0-py3-none-manylinux_2_28_x86_64.whl";
    let cache = tmp.path().join("cache");
    fs::create_dir_all(cache.join("inputs")).unwrap();
    fs::write(
        cache.join("inputs").join(format!(
            "{}-helper-1.0-py3-none-manylinux_2_28_x86_64.whl",
            &sha256(&zipped)[..16]
        )),
        &zipped,
    )
    .unwrap();
    let pin = |member_sha: &str| {
        format!(
            "\n[[tool.maou-build.bundled-libraries]]\nurl = \"{url}\"\nsha256 = \"{}\"\n\
             member = \"{member}\"\nmember-sha256 = \"{member_sha}\"\nlink-name = \"helper\"\n\
             env = {{ HELPER_DIR = \"@DIR@\" }}\n",
            sha256(&zipped)
        )
    };
    let pyproject = fs::read_to_string(ws.join("pyproject.toml")).unwrap();
    fs::write(
        ws.join("pyproject.toml"),
        pyproject.clone() + &pin(&sha256(&lib)),
    )
    .unwrap();
    // The extension finds the library as ort-sys finds ONNX Runtime: a variable names
    // its directory, the build script links it.
    fs::write(
        ws.join("crates/native/build.rs"),
        "fn main() {\n    println!(\"cargo:rerun-if-env-changed=HELPER_DIR\");\n    \
         if let Ok(dir) = std::env::var(\"HELPER_DIR\") {\n        \
         println!(\"cargo:rustc-link-search=native={dir}\");\n        \
         println!(\"cargo:rustc-link-lib=dylib=helper\");\n    }\n}\n",
    )
    .unwrap();
    replace_in(
        &ws.join("crates/native/src/lib.rs"),
        "m.add(\"answer\", foo_core::answer())?;",
        "m.add(\"answer\", unsafe { helper_answer() } + 1)?;\n    let _ = foo_core::answer();",
    );
    let mut src = fs::read_to_string(ws.join("crates/native/src/lib.rs")).unwrap();
    src.push_str("\nextern \"C\" {\n    fn helper_answer() -> i32;\n}\n");
    fs::write(ws.join("crates/native/src/lib.rs"), src).unwrap();

    let wheel = |dist: &Path| {
        maou_build(&ws)
            .args(["wheel", "--python", "3.12", "--out"])
            .arg(dist)
            .env("MAOU_BUILD_CACHE", &cache)
            .output()
            .unwrap()
    };
    let dist = tmp.path().join("dist");
    let out = wheel(&dist);
    assert!(out.status.success(), "{}", text(&out));
    let wheels: Vec<_> = fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    assert_eq!(wheels.len(), 1, "{wheels:?}");
    let names: Vec<String> = {
        let mut zip = zip::ZipArchive::new(fs::File::open(&wheels[0]).unwrap()).unwrap();
        (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().unwrap().into_owned())
            .collect()
    };
    assert!(
        names.iter().any(|n| n.starts_with("foo.libs/libhelper")),
        "{names:?}"
    );
    let show = Command::new("auditwheel")
        .arg("show")
        .arg(&wheels[0])
        .output()
        .expect("auditwheel (pip install auditwheel)");
    assert!(show.status.success(), "{}", text(&show));
    assert!(
        String::from_utf8_lossy(&show.stdout).contains("manylinux_2_28_x86_64"),
        "{}",
        text(&show)
    );
    // A fresh venv, nothing but the wheel: the extension loads the library it carries.
    let venv = common::fresh_venv_with(&python, &wheels[0], &tmp.path().join("venv"));
    assert_eq!(
        common::python_prints(&venv, "import foo; print(foo.answer)"),
        "42"
    );

    // A pin the library does not match: refused by hash, nothing built.
    fs::write(ws.join("pyproject.toml"), pyproject + &pin(&"0".repeat(64))).unwrap();
    fs::remove_dir_all(
        cache
            .join("inputs")
            .read_dir()
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.is_dir())
            .unwrap(),
    )
    .unwrap();
    let refused_dist = tmp.path().join("refused");
    let out = wheel(&refused_dist);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("not the file the build is pinned to"),
        "{}",
        text(&out)
    );
    assert!(!refused_dist.exists() || fs::read_dir(&refused_dist).unwrap().count() == 0);
}
