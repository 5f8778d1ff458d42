use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use maou_index::{Hit, Index, IndexError, Key, KeyType};
use maou_io::{Compression, IpcFormat};

fn write_ids(path: &Path, ids: &[i64], format: IpcFormat) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("label", DataType::Utf8, false),
    ]));
    let labels: Vec<String> = ids.iter().map(|i| format!("L{i}")).collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(labels)),
        ],
    )
    .unwrap();
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    maou_io::write(path, format, Compression::Lz4, None, &[batch]).unwrap();
}

/// a.feather: 5 3 9 ; sub/b.feather (stream format): 3 7 ; c.txt ignored.
fn sample_dir() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.feather");
    let b = dir.path().join("sub").join("b.feather");
    write_ids(&a, &[5, 3, 9], IpcFormat::File);
    write_ids(&b, &[3, 7], IpcFormat::Stream);
    fs::write(dir.path().join("c.txt"), "not indexed").unwrap();
    (dir, a, b)
}

#[test]
fn lookup_reports_file_and_row_of_every_hit() {
    let (dir, a, b) = sample_dir();
    let index = Index::build(dir.path(), "id").unwrap();
    assert_eq!(index.files(), [a.clone(), b.clone()]);
    assert_eq!(index.len(), 5);
    assert_eq!(index.key_type(), KeyType::Int);

    let hits = index.lookup(&Key::Int(3)).unwrap();
    assert_eq!(
        hits,
        vec![
            Hit {
                file: a.clone(),
                row: 1,
                key: Key::Int(3)
            },
            Hit {
                file: b.clone(),
                row: 0,
                key: Key::Int(3)
            },
        ]
    );
    assert_eq!(
        index.lookup(&Key::Int(9)).unwrap(),
        vec![Hit {
            file: a,
            row: 2,
            key: Key::Int(9)
        }]
    );
    assert!(index.lookup(&Key::Int(4)).unwrap().is_empty());
}

#[test]
fn range_is_inclusive_and_in_key_order() {
    let (dir, a, b) = sample_dir();
    let index = Index::build(dir.path(), "id").unwrap();
    let hits = index.range(&Key::Int(4), &Key::Int(7)).unwrap();
    assert_eq!(
        hits,
        vec![
            Hit {
                file: a,
                row: 0,
                key: Key::Int(5)
            },
            Hit {
                file: b,
                row: 1,
                key: Key::Int(7)
            },
        ]
    );
    assert!(index
        .range(&Key::Int(10), &Key::Int(20))
        .unwrap()
        .is_empty());
    assert_eq!(
        index
            .range(&Key::Int(i64::MIN), &Key::Int(i64::MAX))
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn string_keys_index_and_compare_as_strings() {
    let (dir, a, _) = sample_dir();
    let index = Index::build(dir.path(), "label").unwrap();
    assert_eq!(index.key_type(), KeyType::Str);
    assert_eq!(
        index.lookup(&Key::Str("L9".into())).unwrap(),
        vec![Hit {
            file: a,
            row: 2,
            key: Key::Str("L9".into())
        }]
    );
    let keys: Vec<Key> = index
        .range(&Key::Str("L3".into()), &Key::Str("L5".into()))
        .unwrap()
        .into_iter()
        .map(|h| h.key)
        .collect();
    assert_eq!(
        keys,
        [
            Key::Str("L3".into()),
            Key::Str("L3".into()),
            Key::Str("L5".into())
        ]
    );
    assert_eq!(
        Key::parse_as("42", KeyType::Str),
        Some(Key::Str("42".into()))
    );
    assert_eq!(Key::parse_as("42", KeyType::Int), Some(Key::Int(42)));
    assert_eq!(Key::parse_as("x", KeyType::Int), None);
}

#[test]
fn integer_widths_are_widened_into_one_index() {
    let (dir, _, _) = sample_dir();
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int32, false)]));
    let batch = RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![3]))]).unwrap();
    let narrow = dir.path().join("narrow.feather");
    maou_io::write(&narrow, IpcFormat::File, Compression::None, None, &[batch]).unwrap();
    let index = Index::build(dir.path(), "id").unwrap();
    assert_eq!(index.lookup(&Key::Int(3)).unwrap().len(), 3);
}

#[test]
fn empty_directory_is_its_own_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), "no feather here").unwrap();
    let err = Index::build(dir.path(), "id").unwrap_err();
    assert!(matches!(err, IndexError::EmptyDirectory { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("no .feather files found under"),
        "{err}"
    );
}

#[test]
fn unreadable_file_is_its_own_error_naming_the_file() {
    let (dir, _, _) = sample_dir();
    let bad = dir.path().join("broken.feather");
    fs::write(&bad, b"ARROW1\0\0 definitely not a footer").unwrap();
    let err = Index::build(dir.path(), "id").unwrap_err();
    assert!(
        matches!(&err, IndexError::UnreadableFile { path, .. } if *path == bad),
        "{err:?}"
    );
    assert!(err.to_string().contains("broken.feather"), "{err}");
}

#[test]
fn truncated_file_is_unreadable() {
    let (dir, a, _) = sample_dir();
    let bytes = fs::read(&a).unwrap();
    fs::write(&a, &bytes[..bytes.len() / 2]).unwrap();
    let err = Index::build(dir.path(), "id").unwrap_err();
    assert!(matches!(err, IndexError::UnreadableFile { .. }), "{err:?}");
}

#[test]
fn missing_column_is_its_own_error_naming_column_and_file() {
    let (dir, a, _) = sample_dir();
    let err = Index::build(dir.path(), "user_id").unwrap_err();
    assert!(
        matches!(&err, IndexError::MissingColumn { path, column, .. } if *path == a && column == "user_id"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("no column `user_id`") && msg.contains("id, label"),
        "{msg}"
    );
}

#[test]
fn missing_directory_and_wrong_key_type_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let err = Index::build(dir.path().join("nope"), "id").unwrap_err();
    assert!(
        matches!(err, IndexError::UnreadableDirectory { .. }),
        "{err:?}"
    );

    let (dir, _, _) = sample_dir();
    let index = Index::build(dir.path(), "id").unwrap();
    let err = index.lookup(&Key::Str("3".into())).unwrap_err();
    assert!(
        matches!(
            err,
            IndexError::WrongKeyType {
                expected: KeyType::Int,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_float_key_column_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, false)]));
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(arrow::array::Float64Array::from(vec![1.5]))],
    )
    .unwrap();
    maou_io::write(
        dir.path().join("f.feather"),
        IpcFormat::File,
        Compression::None,
        None,
        &[batch],
    )
    .unwrap();
    let err = Index::build(dir.path(), "x").unwrap_err();
    assert!(
        matches!(err, IndexError::UnsupportedKeyType { .. }),
        "{err:?}"
    );
}
