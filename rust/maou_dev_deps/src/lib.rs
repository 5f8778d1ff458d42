//! maou's third-party crates as one Rust dylib, for dev builds of the extension only
//! (the `dev-dylib` feature of maou_rust; `maou-build develop` turns it on and places this
//! library beside the extension). Release builds and the wheels never link it.

pub use arrow;
pub use arrow_pyarrow;
pub use polars;
pub use pyo3;
pub use thiserror;
pub use walkdir;
