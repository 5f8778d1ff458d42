use std::path::PathBuf;

use arrow::datatypes::DataType;

pub type Result<T, E = IoError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum IoError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not an Arrow IPC file or stream (it is empty)")]
    Empty { path: PathBuf },
    #[error("{path} is not a valid Arrow IPC {format}: {source}")]
    Corrupt {
        path: PathBuf,
        format: crate::IpcFormat,
        source: arrow::error::ArrowError,
    },
    #[error("{path}: column `{column}` is missing (expected {expected})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        expected: DataType,
    },
    #[error("{path}: column `{column}` has type {found}, expected {expected}")]
    ColumnType {
        path: PathBuf,
        column: String,
        expected: DataType,
        found: DataType,
    },
    #[error("{path}: unexpected column `{column}` ({found}) not in the expected schema")]
    UnexpectedColumn {
        path: PathBuf,
        column: String,
        found: DataType,
    },
    #[error("cannot write {path}: batch {index} has a different schema than the first batch")]
    MixedSchemas { path: PathBuf, index: usize },
    #[error("cannot write {path}: no record batches and no schema given")]
    NothingToWrite { path: PathBuf },
}
