use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::polars;
use crate::{feather_files, IndexError, Key, KeyType, Result};

const FILE_COL: &str = "__maou_file";
const ROW_COL: &str = "__maou_row";

/// One match: which file, which row of it (0-based), and the key found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub file: PathBuf,
    pub row: u64,
    pub key: Key,
}

/// The key column of every file, with the file and row each value came from, sorted by
/// key so that results come out in key order.
pub struct Index {
    root: PathBuf,
    key_column: String,
    key_type: KeyType,
    files: Vec<PathBuf>,
    frame: DataFrame,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("root", &self.root)
            .field("key_column", &self.key_column)
            .field("key_type", &self.key_type)
            .field("files", &self.files.len())
            .field("rows", &self.frame.height())
            .finish()
    }
}

impl Index {
    /// Scans `dir` recursively for `.feather` files and indexes `key_column` of each.
    pub fn build(dir: impl AsRef<Path>, key_column: &str) -> Result<Index> {
        let root = dir.as_ref().to_path_buf();
        let files = feather_files(&root)?;
        let mut key_type: Option<KeyType> = None;
        let mut frames = Vec::with_capacity(files.len());
        for (file_id, path) in files.iter().enumerate() {
            let (frame, found) = read_key_column(path, key_column)?;
            match key_type {
                Some(expected) if expected != found => {
                    return Err(IndexError::MixedKeyTypes {
                        path: path.clone(),
                        column: key_column.to_owned(),
                        expected,
                        found,
                    })
                }
                _ => key_type = Some(found),
            }
            let file_id = u32::try_from(file_id).expect("fewer than 2^32 files");
            frames.push(frame.lazy().select([
                col(key_column).cast(found.polars_dtype()),
                lit(file_id).cast(DataType::UInt32).alias(FILE_COL),
                col(ROW_COL).cast(DataType::UInt64),
            ]));
        }
        let frame = concat(frames, UnionArgs::default())
            .map_err(polars("concatenating the key columns"))?
            .sort(
                [key_column, FILE_COL, ROW_COL],
                SortMultipleOptions::default(),
            )
            .collect()
            .map_err(polars("sorting the index"))?;
        Ok(Index {
            root,
            key_column: key_column.to_owned(),
            key_type: key_type.expect("feather_files never returns an empty list"),
            files,
            frame,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn key_column(&self) -> &str {
        &self.key_column
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Number of indexed rows, over all files.
    pub fn len(&self) -> usize {
        self.frame.height()
    }

    pub fn is_empty(&self) -> bool {
        self.frame.height() == 0
    }

    /// Every row whose key equals `key`.
    pub fn lookup(&self, key: &Key) -> Result<Vec<Hit>> {
        self.check_key(key)?;
        self.query(col(self.key_column.as_str()).eq(key.lit()))
    }

    /// Every row whose key lies in `low..=high` (both ends included), in key order.
    pub fn range(&self, low: &Key, high: &Key) -> Result<Vec<Hit>> {
        self.check_key(low)?;
        self.check_key(high)?;
        let key = col(self.key_column.as_str());
        self.query(key.clone().gt_eq(low.lit()).and(key.lt_eq(high.lit())))
    }

    fn check_key(&self, key: &Key) -> Result<()> {
        if key.key_type() == self.key_type {
            Ok(())
        } else {
            Err(IndexError::WrongKeyType {
                key: key.to_string(),
                column: self.key_column.clone(),
                expected: self.key_type,
            })
        }
    }

    fn query(&self, predicate: Expr) -> Result<Vec<Hit>> {
        let found = self
            .frame
            .clone()
            .lazy()
            .filter(predicate)
            .collect()
            .map_err(polars("filtering the index"))?;
        let column = |name: &str| found.column(name).map_err(polars("reading the matches"));
        let file_ids = column(FILE_COL)?
            .u32()
            .map_err(polars("reading file ids"))?;
        let rows = column(ROW_COL)?
            .u64()
            .map_err(polars("reading row numbers"))?;
        let keys = self.keys(column(&self.key_column)?)?;
        Ok(file_ids
            .into_no_null_iter()
            .zip(rows.into_no_null_iter())
            .zip(keys)
            .map(|((file_id, row), key)| Hit {
                file: self.files[file_id as usize].clone(),
                row,
                key,
            })
            .collect())
    }

    fn keys(&self, column: &Column) -> Result<Vec<Key>> {
        // A null key never equals anything, so filtered results hold no nulls.
        Ok(match self.key_type {
            KeyType::Int => column
                .i64()
                .map_err(polars("reading keys"))?
                .into_no_null_iter()
                .map(Key::Int)
                .collect(),
            KeyType::Str => column
                .str()
                .map_err(polars("reading keys"))?
                .iter()
                .map(|s| Key::Str(s.unwrap_or_default().to_owned()))
                .collect(),
        })
    }
}

/// Reads only `key_column` of one file (plus its row numbers), checking the schema first
/// so that a missing column is told apart from a file that cannot be read.
fn read_key_column(path: &Path, key_column: &str) -> Result<(DataFrame, KeyType)> {
    let unreadable = |reason: String| IndexError::UnreadableFile {
        path: path.to_path_buf(),
        reason,
    };
    let open = || File::open(path).map_err(|e| unreadable(e.to_string()));
    // Only the file format starts with the magic; polars has a reader for each format.
    let mut magic = [0u8; 6];
    let is_file_format = open()?.read_exact(&mut magic).is_ok() && &magic == b"ARROW1";

    let (names, dtype): (Vec<String>, Option<DataType>) = if is_file_format {
        let schema = IpcReader::new(open()?)
            .schema()
            .map_err(|e| unreadable(e.to_string()))?;
        let names = schema.iter_names().map(|n| n.to_string()).collect();
        (
            names,
            schema.get(key_column).map(DataType::from_arrow_field),
        )
    } else {
        let schema = IpcStreamReader::new(open()?)
            .schema()
            .map_err(|e| unreadable(e.to_string()))?;
        let names = schema.iter_names().map(|n| n.to_string()).collect();
        (names, schema.get(key_column).cloned())
    };
    let Some(dtype) = dtype else {
        return Err(IndexError::MissingColumn {
            path: path.to_path_buf(),
            column: key_column.to_owned(),
            available: names.join(", "),
        });
    };
    let key_type = KeyType::of(&dtype).ok_or_else(|| IndexError::UnsupportedKeyType {
        path: path.to_path_buf(),
        column: key_column.to_owned(),
        dtype: dtype.to_string(),
    })?;

    let columns = Some(vec![key_column.to_owned()]);
    let row_index = Some(RowIndex {
        name: ROW_COL.into(),
        offset: 0,
    });
    let frame = if is_file_format {
        IpcReader::new(open()?)
            .with_columns(columns)
            .with_row_index(row_index)
            .finish()
    } else {
        IpcStreamReader::new(open()?)
            .with_columns(columns)
            .with_row_index(row_index)
            .finish()
    };
    Ok((frame.map_err(|e| unreadable(e.to_string()))?, key_type))
}
