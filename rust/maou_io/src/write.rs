use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::ipc::writer::{FileWriter, IpcWriteOptions, StreamWriter};
use arrow::record_batch::RecordBatch;

use crate::{Compression, IoError, IpcFormat, Result};

/// Writes `batches` to `path` in `format`. The data goes to a temporary file beside the
/// target that is renamed into place only when complete, so a reader never sees a half
/// file and a failed write leaves any previous file intact.
///
/// `schema` is needed only when `batches` is empty (an empty table still has columns).
pub fn write(
    path: impl AsRef<Path>,
    format: IpcFormat,
    compression: Compression,
    schema: Option<SchemaRef>,
    batches: &[RecordBatch],
) -> Result<()> {
    let path = path.as_ref();
    let schema = match (schema, batches.first()) {
        (Some(schema), _) => schema,
        (None, Some(first)) => first.schema(),
        (None, None) => {
            return Err(IoError::NothingToWrite {
                path: path.to_path_buf(),
            })
        }
    };
    if let Some(index) = batches.iter().position(|b| b.schema() != schema) {
        return Err(IoError::MixedSchemas {
            path: path.to_path_buf(),
            index,
        });
    }

    let tmp = temp_path(path);
    let result = write_to(&tmp, path, format, compression, &schema, batches)
        .and_then(|()| fs::rename(&tmp, path).map_err(|source| write_err(path, source)));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_err(path: &Path, source: std::io::Error) -> IoError {
    IoError::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn write_to(
    tmp: &Path,
    path: &Path,
    format: IpcFormat,
    compression: Compression,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    let arrow_err = |e: arrow::error::ArrowError| write_err(path, std::io::Error::other(e));
    let options = IpcWriteOptions::default()
        .try_with_compression(compression.arrow())
        .map_err(arrow_err)?;
    let file = File::create(tmp).map_err(|source| write_err(path, source))?;
    let mut out = BufWriter::new(file);
    match format {
        IpcFormat::File => {
            let mut writer =
                FileWriter::try_new_with_options(&mut out, schema, options).map_err(arrow_err)?;
            for batch in batches {
                writer.write(batch).map_err(arrow_err)?;
            }
            writer.finish().map_err(arrow_err)?;
        }
        IpcFormat::Stream => {
            let mut writer =
                StreamWriter::try_new_with_options(&mut out, schema, options).map_err(arrow_err)?;
            for batch in batches {
                writer.write(batch).map_err(arrow_err)?;
            }
            writer.finish().map_err(arrow_err)?;
        }
    }
    let file = out
        .into_inner()
        .map_err(|e| write_err(path, e.into_error()))?;
    file.sync_all().map_err(|source| write_err(path, source))?;
    Ok(())
}
