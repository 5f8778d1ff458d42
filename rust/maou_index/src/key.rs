use std::fmt;

use polars::prelude::{lit, DataType, Expr};

/// The two kinds of key column an index supports. Every integer width is widened to
/// `Int` so files written with different widths still form one index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Int,
    Str,
}

impl KeyType {
    pub(crate) fn of(dtype: &DataType) -> Option<KeyType> {
        if dtype.is_integer() {
            Some(KeyType::Int)
        } else if matches!(dtype, DataType::String) {
            Some(KeyType::Str)
        } else {
            None
        }
    }

    pub(crate) fn polars_dtype(self) -> DataType {
        match self {
            KeyType::Int => DataType::Int64,
            KeyType::Str => DataType::String,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Int => "integer",
            KeyType::Str => "string",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Int(i64),
    Str(String),
}

impl Key {
    pub fn key_type(&self) -> KeyType {
        match self {
            Key::Int(_) => KeyType::Int,
            Key::Str(_) => KeyType::Str,
        }
    }

    /// Reads a key typed on a command line as the index's key type, so that `42` finds
    /// the integer 42 in an integer column and the string "42" in a string column.
    pub fn parse_as(text: &str, key_type: KeyType) -> Option<Key> {
        match key_type {
            KeyType::Int => text.trim().parse().ok().map(Key::Int),
            KeyType::Str => Some(Key::Str(text.to_owned())),
        }
    }

    pub(crate) fn lit(&self) -> Expr {
        match self {
            Key::Int(v) => lit(*v),
            Key::Str(s) => lit(s.as_str()),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(v) => write!(f, "{v}"),
            Key::Str(s) => write!(f, "{s:?}"),
        }
    }
}
