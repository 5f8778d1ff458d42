//! An index over the key column of every `.feather` file below a directory: built with
//! polars, answering lookups by key and by key range with the file and row of each hit.
//!
//! No pyo3 here: this rlib is compiled once and shared by every Python version.

mod error;
mod index;
mod key;
mod scan;

pub use error::{IndexError, Result};
pub use index::{Hit, Index};
pub use key::{Key, KeyType};
pub use scan::feather_files;
