//! The edit loop's builds only: with the `dev-dylib` feature on, a build of the editable
//! profile (`[tool.maturin] editable-profile`, the one `maou-build develop`, `maturin
//! develop` and uv's editable installs build) links the third-party crates from their
//! dylib (maou_dev_deps), and the extension finds it and the toolchain's libstd where cargo
//! and rustc keep them, through its RUNPATH. Every other profile (the wheels', `uv build`'s)
//! links them statically, feature or not. Written here, not on a command line, so that
//! every door (develop, maturin develop, uv) links the same extension and none relinks
//! another's.
use std::path::PathBuf;
use std::process::Command;

/// The target directory's folder of the editable profile (cargo's `debug` for `dev`).
const EDITABLE_PROFILE_DIR: &str = "@EDITABLE_PROFILE_DIR@";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Single-colon syntax: a crate whose rust-version is older than 1.77 refuses `cargo::`.
    println!("cargo:rustc-check-cfg=cfg(maou_build_dev_dylib)");
    if std::env::var_os("CARGO_FEATURE_DEV_DYLIB").is_none() {
        return;
    }
    // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out; rustc writes the dylib to
    // <target>/<profile>/deps. The real path: `target/` may be a link that is recreated.
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let profile_dir = out
        .ancestors()
        .nth(3)
        .expect("OUT_DIR is under the target directory");
    if profile_dir.file_name().and_then(|n| n.to_str()) != Some(EDITABLE_PROFILE_DIR) {
        return;
    }
    println!("cargo:rustc-cfg=maou_build_dev_dylib");
    let deps = profile_dir.join("deps");
    let deps = deps.canonicalize().unwrap_or(deps);
    let rustc = std::env::var_os("RUSTC").expect("cargo sets RUSTC");
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc --print sysroot runs");
    let sysroot = String::from_utf8(sysroot.stdout).expect("a UTF-8 sysroot path");
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    let libstd = PathBuf::from(sysroot.trim())
        .join("lib/rustlib")
        .join(target)
        .join("lib");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,-rpath,{}:{}",
        deps.display(),
        libstd.display()
    );
}
