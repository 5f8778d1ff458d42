use std::path::PathBuf;

pub type Result<T, E = IndexError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot read directory {path}: {reason}")]
    UnreadableDirectory { path: PathBuf, reason: String },
    #[error("no .feather files found under {path}")]
    EmptyDirectory { path: PathBuf },
    #[error("cannot read {path} as Arrow IPC: {reason}")]
    UnreadableFile { path: PathBuf, reason: String },
    #[error("{path} has no column `{column}` (its columns: {available})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },
    #[error("{path}: key column `{column}` has type {dtype}; keys must be integers or strings")]
    UnsupportedKeyType {
        path: PathBuf,
        column: String,
        dtype: String,
    },
    #[error("{path}: key column `{column}` is {found} here but {expected} in the files before it")]
    MixedKeyTypes {
        path: PathBuf,
        column: String,
        expected: crate::KeyType,
        found: crate::KeyType,
    },
    #[error("key {key} cannot be compared with the {expected} keys of column `{column}`")]
    WrongKeyType {
        key: String,
        column: String,
        expected: crate::KeyType,
    },
    #[error("polars failed while {doing}: {source}")]
    Polars {
        doing: &'static str,
        source: polars::error::PolarsError,
    },
}

pub(crate) fn polars(doing: &'static str) -> impl FnOnce(polars::error::PolarsError) -> IndexError {
    move |source| IndexError::Polars { doing, source }
}
