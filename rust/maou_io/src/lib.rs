//! Arrow IPC ("feather" v2) files for maou: both the random-access file format and the
//! stream format, read and written, with a schema check for callers that know which
//! columns they expect.
//!
//! No pyo3 here: this rlib is compiled once and shared by every Python version.

mod error;
mod format;
mod read;
mod schema_check;
mod write;

pub use error::{IoError, Result};
pub use format::{Compression, IpcFormat};
pub use read::{info, read, read_checked, FileInfo, IpcData};
pub use schema_check::check_schema;
pub use write::write;

/// Version of the on-disk conventions maou writes; exposed to Python so a developer can
/// see which build of the extension is loaded.
pub const FORMAT_VERSION: u32 = 1;
