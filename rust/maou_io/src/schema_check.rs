use std::path::Path;

use arrow::datatypes::Schema;

use crate::{IoError, Result};

/// Compares a file's schema with the one the caller expects. Column order is free (writers
/// differ on it); names, types and the set of columns are not. Missing columns are reported
/// before type mismatches, and those before extra columns, because that is the order in
/// which a reader of the message can fix them.
pub fn check_schema(path: &Path, expected: &Schema, found: &Schema) -> Result<()> {
    for want in expected.fields() {
        if found.field_with_name(want.name()).is_err() {
            return Err(IoError::MissingColumn {
                path: path.to_path_buf(),
                column: want.name().clone(),
                expected: want.data_type().clone(),
            });
        }
    }
    for want in expected.fields() {
        let have = found
            .field_with_name(want.name())
            .expect("presence checked above");
        if have.data_type() != want.data_type() {
            return Err(IoError::ColumnType {
                path: path.to_path_buf(),
                column: want.name().clone(),
                expected: want.data_type().clone(),
                found: have.data_type().clone(),
            });
        }
    }
    for have in found.fields() {
        if expected.field_with_name(have.name()).is_err() {
            return Err(IoError::UnexpectedColumn {
                path: path.to_path_buf(),
                column: have.name().clone(),
                found: have.data_type().clone(),
            });
        }
    }
    Ok(())
}
