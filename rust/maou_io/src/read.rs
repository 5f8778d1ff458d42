use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::{FileReader, StreamReader};
use arrow::record_batch::RecordBatch;

use crate::{check_schema, IoError, IpcFormat, Result};

/// Everything read from one IPC file.
#[derive(Debug, Clone)]
pub struct IpcData {
    pub format: IpcFormat,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl IpcData {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// What `maou io info` shows: the shape of a file without keeping its data.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub path: PathBuf,
    pub format: IpcFormat,
    pub schema: SchemaRef,
    pub num_rows: usize,
    pub num_batches: usize,
}

fn open(path: &Path) -> Result<(File, IpcFormat)> {
    let open_err = |source| IoError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(open_err)?;
    let mut head = [0u8; 6];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]).map_err(open_err)? {
            0 => break,
            n => filled += n,
        }
    }
    if filled == 0 {
        return Err(IoError::Empty {
            path: path.to_path_buf(),
        });
    }
    file.seek(SeekFrom::Start(0)).map_err(open_err)?;
    Ok((file, IpcFormat::sniff(&head[..filled])))
}

/// Reads a whole IPC file, detecting whether it is in the file or the stream format.
pub fn read(path: impl AsRef<Path>) -> Result<IpcData> {
    let path = path.as_ref();
    let (file, format) = open(path)?;
    let corrupt = |source| IoError::Corrupt {
        path: path.to_path_buf(),
        format,
        source,
    };
    let (schema, batches) = match format {
        IpcFormat::File => {
            let reader = FileReader::try_new(BufReader::new(file), None).map_err(corrupt)?;
            let schema = reader.schema();
            let batches = reader.collect::<Result<Vec<_>, _>>().map_err(corrupt)?;
            (schema, batches)
        }
        IpcFormat::Stream => {
            let reader = StreamReader::try_new(BufReader::new(file), None).map_err(corrupt)?;
            let schema = reader.schema();
            let batches = reader.collect::<Result<Vec<_>, _>>().map_err(corrupt)?;
            (schema, batches)
        }
    };
    Ok(IpcData {
        format,
        schema,
        batches,
    })
}

/// Reads a file and rejects it unless its columns are exactly `expected` (names and types,
/// in any order), naming the first column that differs.
pub fn read_checked(
    path: impl AsRef<Path>,
    expected: &arrow::datatypes::Schema,
) -> Result<IpcData> {
    let path = path.as_ref();
    let data = read(path)?;
    check_schema(path, expected, &data.schema)?;
    Ok(data)
}

/// Format, schema and row count of a file. The whole file is decoded so that a file
/// that is truncated part-way through is reported here too, not only when read later.
pub fn info(path: impl AsRef<Path>) -> Result<FileInfo> {
    let path = path.as_ref();
    let data = read(path)?;
    Ok(FileInfo {
        path: path.to_path_buf(),
        format: data.format,
        num_rows: data.num_rows(),
        num_batches: data.batches.len(),
        schema: data.schema,
    })
}
