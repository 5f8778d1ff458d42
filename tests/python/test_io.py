from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pytest

import maou
from maou._rust import MaouError, maou_io


def test_extension_is_one_this_interpreter_loads():
    import importlib.machinery
    import sys

    from maou import _rust

    # The release wheels carry the stable-ABI build (`_rust.abi3.so`), develop builds for
    # this interpreter (`_rust.cpython-3XX-…so`): either way a suffix this CPython loads.
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    assert any(_rust.__file__.endswith(s) for s in suffixes), (_rust.__file__, suffixes)
    assert _rust.__version__ == maou.__version__
    assert isinstance(maou_io.FORMAT_VERSION, int)
    assert "maou._rust.maou_io" in sys.modules


@pytest.mark.parametrize("compression", ["lz4", "zstd", "uncompressed"])
def test_feather_written_by_pyarrow_reads_back_identical(tmp_path: Path, table, compression):
    path = tmp_path / f"{compression}.feather"
    feather.write_feather(table, path, compression=compression)
    got = maou_io.read(path)
    assert isinstance(got, pa.Table)
    assert got.schema == table.schema
    assert got.equals(table)


def test_stream_written_by_pyarrow_reads_back_identical(tmp_path: Path, table):
    path = tmp_path / "data.arrows"
    with ipc.new_stream(path, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=300):
            writer.write_batch(batch)
    got = maou_io.read(str(path))
    assert got.equals(table)
    info = maou_io.info(path)
    assert info["format"] == "stream"
    assert info["num_rows"] == 1000
    assert info["num_batches"] == 4


@pytest.mark.parametrize("fmt", ["file", "stream"])
@pytest.mark.parametrize("compression", ["none", "lz4", "zstd"])
def test_written_by_maou_reads_back_in_pyarrow(tmp_path: Path, table, fmt, compression):
    path = tmp_path / "out.feather"
    maou_io.write(path, table, format=fmt, compression=compression)
    if fmt == "file":
        back = feather.read_table(path)
    else:
        with ipc.open_stream(path) as reader:
            back = reader.read_all()
    assert back.equals(table)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.feather"]


def test_info_reports_shape_and_schema(tmp_path: Path, table):
    path = tmp_path / "t.feather"
    feather.write_feather(table, path, chunksize=250)
    info = maou_io.info(path)
    assert info["format"] == "file"
    assert info["num_rows"] == 1000
    assert info["num_batches"] == 4
    assert info["schema"] == table.schema


def test_schema_mismatch_raises_with_the_rust_message(tmp_path: Path, table):
    path = tmp_path / "t.feather"
    feather.write_feather(table, path)
    assert maou_io.read_checked(path, table.schema).equals(table)

    wrong_type = table.schema.set(0, pa.field("id", pa.int32()))
    with pytest.raises(maou_io.MaouIoError, match=r"column `id` has type Int64, expected Int32"):
        maou_io.read_checked(path, wrong_type)

    missing = table.schema.append(pa.field("label", pa.string()))
    with pytest.raises(MaouError, match=r"column `label` is missing"):
        maou_io.read_checked(path, missing)


def test_corrupt_and_missing_files_raise_naming_the_file(tmp_path: Path, table):
    bad = tmp_path / "bad.feather"
    bad.write_bytes(b"ARROW1\x00\x00" + b"\xff" * 100)
    with pytest.raises(maou_io.MaouIoError, match=r"bad\.feather is not a valid Arrow IPC file"):
        maou_io.read(bad)

    whole = tmp_path / "whole.feather"
    feather.write_feather(table, whole, compression="uncompressed")
    cut = tmp_path / "cut.feather"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(maou_io.MaouIoError, match="cut.feather"):
        maou_io.read(cut)

    with pytest.raises(maou_io.MaouIoError, match=r"cannot open .*nope\.feather"):
        maou_io.read(tmp_path / "nope.feather")


def test_bad_arguments_are_python_errors(tmp_path: Path, table):
    with pytest.raises(ValueError, match="unknown IPC format `parquet`"):
        maou_io.write(tmp_path / "x", table, format="parquet")
    with pytest.raises(ValueError, match="unknown compression `gzip`"):
        maou_io.write(tmp_path / "x", table, compression="gzip")
