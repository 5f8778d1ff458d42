use std::path::PathBuf;

use arrow_pyarrow::{PyArrowType, Table};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::MaouError;

pyo3::create_exception!(
    maou_io,
    MaouIoError,
    MaouError,
    "An Arrow IPC file could not be read or written, or its columns were not the expected ones."
);

fn to_py(err: maou_io::IoError) -> PyErr {
    MaouIoError::new_err(err.to_string())
}

fn table(data: maou_io::IpcData) -> PyResult<PyArrowType<Table>> {
    Table::try_new(data.batches, data.schema)
        .map(PyArrowType)
        .map_err(|e| MaouIoError::new_err(e.to_string()))
}

/// Reads an Arrow IPC file (file or stream format, detected) into a pyarrow.Table.
#[pyfunction]
fn read(py: Python<'_>, path: PathBuf) -> PyResult<PyArrowType<Table>> {
    table(py.detach(|| maou_io::read(&path)).map_err(to_py)?)
}

/// Reads an Arrow IPC file and raises MaouIoError naming the first column that does not
/// match `schema` (a pyarrow.Schema): missing, of another type, or unexpected.
#[pyfunction]
fn read_checked(
    py: Python<'_>,
    path: PathBuf,
    schema: PyArrowType<arrow::datatypes::Schema>,
) -> PyResult<PyArrowType<Table>> {
    table(
        py.detach(|| maou_io::read_checked(&path, &schema.0))
            .map_err(to_py)?,
    )
}

/// Writes a pyarrow.Table to `path` in the "file" (feather v2, default) or "stream"
/// format, with compression "none" (default), "lz4" or "zstd".
#[pyfunction]
#[pyo3(signature = (path, table, format = "file", compression = "none"))]
fn write(
    py: Python<'_>,
    path: PathBuf,
    table: PyArrowType<Table>,
    format: &str,
    compression: &str,
) -> PyResult<()> {
    let format: maou_io::IpcFormat = format.parse().map_err(PyValueError::new_err)?;
    let compression: maou_io::Compression = compression.parse().map_err(PyValueError::new_err)?;
    let (batches, schema) = table.0.into_inner();
    py.detach(|| maou_io::write(&path, format, compression, Some(schema), &batches))
        .map_err(to_py)
}

/// Format, row count, batch count and schema of an Arrow IPC file, as a dict.
#[pyfunction]
fn info<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let info = py.detach(|| maou_io::info(&path)).map_err(to_py)?;
    let out = PyDict::new(py);
    out.set_item("path", &info.path)?;
    out.set_item("format", info.format.as_str())?;
    out.set_item("num_rows", info.num_rows)?;
    out.set_item("num_batches", info.num_batches)?;
    out.set_item(
        "schema",
        PyArrowType(std::sync::Arc::unwrap_or_clone(info.schema)),
    )?;
    Ok(out)
}

pub(crate) fn module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let m = PyModule::new(py, "maou_io")?;
    m.add("FORMAT_VERSION", maou_io::FORMAT_VERSION)?;
    m.add("MaouIoError", py.get_type::<MaouIoError>())?;
    m.add_function(wrap_pyfunction!(read, &m)?)?;
    m.add_function(wrap_pyfunction!(read_checked, &m)?)?;
    m.add_function(wrap_pyfunction!(write, &m)?)?;
    m.add_function(wrap_pyfunction!(info, &m)?)?;
    Ok(m)
}
