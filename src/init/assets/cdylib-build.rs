//! Dev builds only (the `dev-dylib` feature, which `maou-build develop` turns on and no wheel
//! has): the extension finds the third-party crates' dylib (maou_dev_deps) and the
//! toolchain's libstd where cargo and rustc keep them, through its RUNPATH. Written here,
//! not on develop's command line, so that every door that builds with the feature (develop,
//! maturin for uv, plain cargo) links the same extension and none relinks another's. With
//! the feature off this emits nothing: release builds are unchanged.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
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
