from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pytest

from maou._rust import MaouError, maou_index


def hits(table: pa.Table, base: Path) -> list[tuple[str, int, object]]:
    rows = table.to_pylist()
    key = table.column_names[2]
    return [(str(Path(r["file"]).relative_to(base)), r["row"], r[key]) for r in rows]


def test_lookup_finds_every_row_with_the_key(feather_dir: Path):
    index = maou_index.Index(feather_dir, "id")
    assert len(index) == 6
    assert [Path(f).name for f in index.files] == ["first.feather", "second.feather"]
    assert index.key_type == "integer"
    found = index.lookup(20)
    assert found.schema.names == ["file", "row", "id"]
    assert hits(found, feather_dir) == [
        ("first.feather", 1, 20),
        ("first.feather", 3, 20),
        ("nested/second.feather", 1, 20),
    ]
    assert index.lookup(99).num_rows == 0


def test_range_and_string_keys(feather_dir: Path):
    by_id = maou_index.Index(feather_dir, "id")
    assert [h[2] for h in hits(by_id.range(25, 40), feather_dir)] == [30, 40]
    by_label = maou_index.Index(feather_dir, "label")
    assert by_label.key_type == "string"
    assert hits(by_label.lookup("e"), feather_dir) == [("nested/second.feather", 0, "e")]
    assert hits(maou_index.search(feather_dir, "label", "c"), feather_dir) == [
        ("first.feather", 2, "c")
    ]


def test_index_errors_surface_with_the_rust_message(tmp_path: Path, feather_dir: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(maou_index.MaouIndexError, match="no .feather files found under"):
        maou_index.Index(empty, "id")

    with pytest.raises(MaouError, match=r"has no column `user` \(its columns: id, label\)"):
        maou_index.Index(feather_dir, "user")

    (feather_dir / "broken.feather").write_bytes(b"ARROW1 but nothing else")
    with pytest.raises(maou_index.MaouIndexError, match=r"cannot read .*broken\.feather as Arrow IPC"):
        maou_index.Index(feather_dir, "id")


def test_key_of_the_wrong_type_is_refused(feather_dir: Path):
    index = maou_index.Index(feather_dir, "id")
    with pytest.raises(maou_index.MaouIndexError, match="cannot be compared with the integer keys"):
        index.lookup("20")
    with pytest.raises(TypeError, match="a key must be an int or a str"):
        index.lookup(2.5)


def test_float_columns_cannot_be_keys(tmp_path: Path):
    feather.write_feather(pa.table({"x": [0.5, 1.5]}), tmp_path / "f.feather")
    with pytest.raises(maou_index.MaouIndexError, match="keys must be integers or strings"):
        maou_index.Index(tmp_path, "x")
