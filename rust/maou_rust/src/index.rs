use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use arrow_pyarrow::{PyArrowType, Table};
use maou_index::{Hit, Key, KeyType};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::MaouError;

pyo3::create_exception!(
    maou_index,
    MaouIndexError,
    MaouError,
    "A directory could not be indexed (no .feather files, an unreadable file, a missing or unsupported key column) or a key did not fit the index."
);

fn to_py(err: maou_index::IndexError) -> PyErr {
    MaouIndexError::new_err(err.to_string())
}

fn key_from_py(value: &Bound<'_, PyAny>) -> PyResult<Key> {
    if let Ok(v) = value.extract::<i64>() {
        Ok(Key::Int(v))
    } else if let Ok(s) = value.extract::<String>() {
        Ok(Key::Str(s))
    } else {
        Err(PyTypeError::new_err(format!(
            "a key must be an int or a str, not {}",
            value.get_type().name()?
        )))
    }
}

/// Hits as a pyarrow.Table with columns file (str), row (uint64) and key.
fn hits_table(hits: Vec<Hit>, key_column: &str, key_type: KeyType) -> PyResult<PyArrowType<Table>> {
    let files: StringArray = hits
        .iter()
        .map(|h| Some(h.file.to_string_lossy().into_owned()))
        .collect();
    let rows: UInt64Array = hits.iter().map(|h| Some(h.row)).collect();
    let (keys, key_dtype): (ArrayRef, DataType) = match key_type {
        KeyType::Int => (
            Arc::new(
                hits.iter()
                    .map(|h| match &h.key {
                        Key::Int(v) => Some(*v),
                        Key::Str(_) => None,
                    })
                    .collect::<Int64Array>(),
            ),
            DataType::Int64,
        ),
        KeyType::Str => (
            Arc::new(
                hits.iter()
                    .map(|h| match &h.key {
                        Key::Str(s) => Some(s.as_str()),
                        Key::Int(_) => None,
                    })
                    .collect::<StringArray>(),
            ),
            DataType::Utf8,
        ),
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("file", DataType::Utf8, false),
        Field::new("row", DataType::UInt64, false),
        Field::new(key_column, key_dtype, false),
    ]));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(files), Arc::new(rows), keys])
        .map_err(|e| MaouIndexError::new_err(e.to_string()))?;
    Table::try_new(vec![batch], schema)
        .map(PyArrowType)
        .map_err(|e| MaouIndexError::new_err(e.to_string()))
}

/// An index over `key_column` of every .feather file below `directory`.
#[pyclass(frozen, module = "maou._rust.maou_index")]
struct Index {
    inner: maou_index::Index,
}

#[pymethods]
impl Index {
    #[new]
    fn new(py: Python<'_>, directory: PathBuf, key_column: &str) -> PyResult<Self> {
        let inner = py
            .detach(|| maou_index::Index::build(&directory, key_column))
            .map_err(to_py)?;
        Ok(Index { inner })
    }

    /// Rows whose key equals `key`, as a pyarrow.Table (file, row, key).
    fn lookup(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<PyArrowType<Table>> {
        let key = key_from_py(key)?;
        let hits = py.detach(|| self.inner.lookup(&key)).map_err(to_py)?;
        hits_table(hits, self.inner.key_column(), self.inner.key_type())
    }

    /// Rows whose key is in low..=high, in key order.
    fn range(
        &self,
        py: Python<'_>,
        low: &Bound<'_, PyAny>,
        high: &Bound<'_, PyAny>,
    ) -> PyResult<PyArrowType<Table>> {
        let (low, high) = (key_from_py(low)?, key_from_py(high)?);
        let hits = py.detach(|| self.inner.range(&low, &high)).map_err(to_py)?;
        hits_table(hits, self.inner.key_column(), self.inner.key_type())
    }

    #[getter]
    fn files(&self) -> Vec<PathBuf> {
        self.inner.files().to_vec()
    }

    #[getter]
    fn key_column(&self) -> &str {
        self.inner.key_column()
    }

    /// "integer" or "string".
    #[getter]
    fn key_type(&self) -> String {
        self.inner.key_type().to_string()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Index({:?}, key_column={:?}, files={}, rows={})",
            self.inner.root(),
            self.inner.key_column(),
            self.inner.files().len(),
            self.inner.len()
        )
    }
}

/// One-shot search: index `directory` on `key_column` and look `key` up.
#[pyfunction]
fn search(
    py: Python<'_>,
    directory: PathBuf,
    key_column: &str,
    key: &Bound<'_, PyAny>,
) -> PyResult<PyArrowType<Table>> {
    Index::new(py, directory, key_column)?.lookup(py, key)
}

pub(crate) fn module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let m = PyModule::new(py, "maou_index")?;
    m.add("MaouIndexError", py.get_type::<MaouIndexError>())?;
    m.add_class::<Index>()?;
    m.add_function(wrap_pyfunction!(search, &m)?)?;
    Ok(m)
}
