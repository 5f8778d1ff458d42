use std::fmt;
use std::str::FromStr;

/// The two Arrow IPC encodings. The file format starts and ends with the magic `ARROW1`
/// and has a footer for random access; the stream format is a bare message sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpcFormat {
    File,
    Stream,
}

pub(crate) const FILE_MAGIC: &[u8; 6] = b"ARROW1";

impl IpcFormat {
    /// Which format a file is in, from its first bytes: only the file format starts with
    /// the magic, so anything else is tried as a stream (whose reader reports corruption).
    pub fn sniff(head: &[u8]) -> IpcFormat {
        if head.starts_with(FILE_MAGIC) {
            IpcFormat::File
        } else {
            IpcFormat::Stream
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IpcFormat::File => "file",
            IpcFormat::Stream => "stream",
        }
    }
}

impl fmt::Display for IpcFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IpcFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "file" | "feather" | "arrow" => Ok(IpcFormat::File),
            "stream" | "arrows" => Ok(IpcFormat::Stream),
            other => Err(format!(
                "unknown IPC format `{other}` (expected `file` or `stream`)"
            )),
        }
    }
}

/// Buffer compression for written files. Readers handle all three transparently
/// (pyarrow's `write_feather` uses LZ4 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    Lz4,
    Zstd,
}

impl Compression {
    pub(crate) fn arrow(self) -> Option<arrow::ipc::CompressionType> {
        match self {
            Compression::None => None,
            Compression::Lz4 => Some(arrow::ipc::CompressionType::LZ4_FRAME),
            Compression::Zstd => Some(arrow::ipc::CompressionType::ZSTD),
        }
    }
}

impl FromStr for Compression {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "none" | "uncompressed" => Ok(Compression::None),
            "lz4" => Ok(Compression::Lz4),
            "zstd" => Ok(Compression::Zstd),
            other => Err(format!(
                "unknown compression `{other}` (expected `none`, `lz4` or `zstd`)"
            )),
        }
    }
}
