//! Links the dylib with -Bsymbolic: its references to its own symbols are bound when it is
//! linked, not looked up by the dynamic loader each time Python imports the extension
//! (about 340,000 symbol relocations without it: `import maou._rust` took 0.22 s, 0.11 s with
//! it). Cargo passes this to the dylib's link alone; no other crate's flags change.
fn main() {
    println!("cargo:rustc-link-arg=-Wl,-Bsymbolic");
}
