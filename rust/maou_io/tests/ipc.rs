use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use maou_io::{info, read, read_checked, write, Compression, IoError, IpcFormat};

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
    ]))
}

fn batch(start: i64, n: i64) -> RecordBatch {
    let ids: Vec<i64> = (start..start + n).collect();
    let names: Vec<Option<String>> = ids
        .iter()
        .map(|i| (i % 3 != 0).then(|| format!("row-{i}")))
        .collect();
    let scores: Vec<f64> = ids.iter().map(|i| *i as f64 * 0.5).collect();
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(StringArray::from(names)),
            Arc::new(Float64Array::from(scores)),
        ],
    )
    .unwrap()
}

fn round_trip(format: IpcFormat) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.feather");
    let batches = vec![batch(0, 10), batch(10, 7)];
    write(&path, format, Compression::None, None, &batches).unwrap();

    let data = read(&path).unwrap();
    assert_eq!(data.format, format, "format is detected from the bytes");
    assert_eq!(data.schema, schema());
    assert_eq!(data.batches, batches);
    assert_eq!(data.num_rows(), 17);

    let info = info(&path).unwrap();
    assert_eq!((info.num_rows, info.num_batches), (17, 2));
    assert_eq!(info.format, format);
    let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file is left beside the output"
    );
}

#[test]
fn file_format_round_trips() {
    round_trip(IpcFormat::File);
}

#[test]
fn stream_format_round_trips() {
    round_trip(IpcFormat::Stream);
}

#[test]
fn file_format_starts_with_magic_and_stream_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.arrow");
    let stream = dir.path().join("a.arrows");
    write(
        &file,
        IpcFormat::File,
        Compression::None,
        None,
        &[batch(0, 3)],
    )
    .unwrap();
    write(
        &stream,
        IpcFormat::Stream,
        Compression::None,
        None,
        &[batch(0, 3)],
    )
    .unwrap();
    assert!(fs::read(&file).unwrap().starts_with(b"ARROW1"));
    assert!(!fs::read(&stream).unwrap().starts_with(b"ARROW1"));
}

#[test]
fn empty_table_keeps_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.feather");
    write(
        &path,
        IpcFormat::File,
        Compression::None,
        Some(schema()),
        &[],
    )
    .unwrap();
    let data = read(&path).unwrap();
    assert_eq!(data.schema, schema());
    assert_eq!(data.num_rows(), 0);
}

#[test]
fn writing_nothing_without_a_schema_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.feather");
    let err = write(&path, IpcFormat::File, Compression::None, None, &[]).unwrap_err();
    assert!(matches!(err, IoError::NothingToWrite { .. }), "{err}");
    assert!(!path.exists());
}

#[test]
fn schema_check_accepts_any_column_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.feather");
    write(
        &path,
        IpcFormat::File,
        Compression::None,
        None,
        &[batch(0, 4)],
    )
    .unwrap();
    let reordered = Schema::new(vec![
        Field::new("score", DataType::Float64, true),
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]);
    assert_eq!(read_checked(&path, &reordered).unwrap().num_rows(), 4);
}

fn checked_error(expected: Schema) -> IoError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checked.feather");
    write(
        &path,
        IpcFormat::Stream,
        Compression::None,
        None,
        &[batch(0, 4)],
    )
    .unwrap();
    read_checked(&path, &expected).unwrap_err()
}

#[test]
fn schema_check_names_a_missing_column() {
    let err = checked_error(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("label", DataType::Utf8, true),
    ]));
    assert!(
        matches!(&err, IoError::MissingColumn { column, .. } if column == "label"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("column `label` is missing"),
        "{err}"
    );
}

#[test]
fn schema_check_names_a_column_of_the_wrong_type() {
    let err = checked_error(Schema::new(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
    ]));
    assert!(
        matches!(&err, IoError::ColumnType { column, found: DataType::Int64, .. } if column == "id"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("column `id` has type Int64, expected Int32"),
        "{err}"
    );
}

#[test]
fn schema_check_names_an_unexpected_column() {
    let err = checked_error(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]));
    assert!(
        matches!(&err, IoError::UnexpectedColumn { column, .. } if column == "score"),
        "{err:?}"
    );
}

fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn corrupt_bytes_are_rejected_for_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = write_bytes(
        dir.path(),
        "garbage.feather",
        b"this is not arrow at all, just text\n",
    );
    let err = read(&garbage).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::Corrupt {
                format: IpcFormat::Stream,
                ..
            }
        ),
        "{err:?}"
    );

    let mut bad_file = b"ARROW1\0\0".to_vec();
    bad_file.extend_from_slice(&[0xff; 64]);
    let bad = write_bytes(dir.path(), "bad.feather", &bad_file);
    let err = read(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::Corrupt {
                format: IpcFormat::File,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("bad.feather"), "{err}");
}

#[test]
fn truncated_files_are_rejected_for_both_formats() {
    for format in [IpcFormat::File, IpcFormat::Stream] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("whole.feather");
        write(
            &path,
            format,
            Compression::None,
            None,
            &[batch(0, 50), batch(50, 50)],
        )
        .unwrap();
        let bytes = fs::read(&path).unwrap();
        let cut = write_bytes(dir.path(), "cut.feather", &bytes[..bytes.len() * 2 / 3]);
        let err = read(&cut).unwrap_err();
        assert!(matches!(err, IoError::Corrupt { .. }), "{format}: {err:?}");
        assert!(info(&cut).is_err(), "{format}: info decodes the whole file");
    }
}

#[test]
fn empty_and_missing_files_have_their_own_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write_bytes(dir.path(), "empty.feather", b"");
    assert!(matches!(read(&empty).unwrap_err(), IoError::Empty { .. }));
    let missing = dir.path().join("missing.feather");
    let err = read(&missing).unwrap_err();
    assert!(matches!(err, IoError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.feather"));
}

#[test]
fn nulls_survive_the_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nulls.feather");
    write(
        &path,
        IpcFormat::File,
        Compression::None,
        None,
        &[batch(0, 6)],
    )
    .unwrap();
    let data = read(&path).unwrap();
    let names = data.batches[0].column(1);
    assert_eq!(names.null_count(), 2, "ids 0 and 3 have no name");
}

#[test]
fn compressed_files_round_trip_and_are_smaller() {
    let dir = tempfile::tempdir().unwrap();
    let batches = vec![batch(0, 2000)];
    let mut sizes = Vec::new();
    for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
        let path = dir.path().join(format!("{compression:?}.feather"));
        write(&path, IpcFormat::File, compression, None, &batches).unwrap();
        assert_eq!(read(&path).unwrap().batches, batches, "{compression:?}");
        sizes.push(fs::metadata(&path).unwrap().len());
    }
    assert!(sizes[1] < sizes[0] && sizes[2] < sizes[0], "{sizes:?}");
}
