//! `maou._rust`: the Python face of maou_io and maou_index. Data crosses to Python as
//! pyarrow objects through arrow-pyarrow (the C data interface, no copies by hand).
//!
//! This is the only crate that depends on pyo3, so it is the only one rebuilt per
//! Python version.

use pyo3::prelude::*;
use pyo3::types::PyDict;

mod index;
mod io;
#[cfg(feature = "onnx")]
mod onnx;

pyo3::create_exception!(
    _rust,
    MaouError,
    pyo3::exceptions::PyException,
    "Base class of the errors raised by maou._rust."
);

/// Registers `sub` both as an attribute and in `sys.modules`, so that
/// `import maou._rust.maou_io` works as well as `from maou._rust import maou_io`.
fn add_submodule(parent: &Bound<'_, PyModule>, sub: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = parent.py();
    parent.add_submodule(sub)?;
    let qualified = format!("maou._rust.{}", sub.name()?);
    sub.setattr("__name__", &qualified)?;
    py.import("sys")?
        .getattr("modules")?
        .cast_into::<PyDict>()?
        .set_item(qualified, sub)?;
    Ok(())
}

#[pymodule]
fn _rust(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MaouError", py.get_type::<MaouError>())?;
    add_submodule(m, &io::module(py)?)?;
    add_submodule(m, &index::module(py)?)?;
    #[cfg(feature = "onnx")]
    add_submodule(m, &onnx::module(py)?)?;
    Ok(())
}

// rustc links only the crates a crate names: this makes the extension take its
// third-party crates from the dylib in the editable profile's builds (build.rs sets the cfg
// there, with the dev-dylib feature on).
#[cfg(maou_build_dev_dylib)]
extern crate maou_dev_deps;
