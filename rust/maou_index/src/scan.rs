use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::{IndexError, Result};

/// Every `.feather` file below `dir`, in a stable (sorted) order so that hits are reported
/// in the same order on every machine. An unreadable subdirectory is an error rather than
/// a silently smaller index.
pub fn feather_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(IndexError::UnreadableDirectory {
            path: dir.to_path_buf(),
            reason: if dir.exists() {
                "not a directory".into()
            } else {
                "no such directory".into()
            },
        });
    }
    let mut files = Vec::new();
    for entry in WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| IndexError::UnreadableDirectory {
            path: e.path().unwrap_or(dir).to_path_buf(),
            reason: e.to_string(),
        })?;
        let is_feather = entry
            .path()
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("feather"));
        if entry.file_type().is_file() && is_feather {
            files.push(entry.into_path());
        }
    }
    if files.is_empty() {
        return Err(IndexError::EmptyDirectory {
            path: dir.to_path_buf(),
        });
    }
    Ok(files)
}
