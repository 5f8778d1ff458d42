"""Fixtures for the tests of the installed maou package (the built extension, not sources)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pytest


@pytest.fixture
def table() -> pa.Table:
    n = 1000
    return pa.table(
        {
            "id": pa.array(range(n), type=pa.int64()),
            "name": pa.array([None if i % 7 == 0 else f"name-{i}" for i in range(n)]),
            "score": pa.array([i / 4 for i in range(n)], type=pa.float64()),
            "flag": pa.array([i % 2 == 0 for i in range(n)]),
        }
    )


@pytest.fixture
def feather_dir(tmp_path: Path) -> Path:
    """Two feather files written by pyarrow (LZ4, its default), one nested, plus noise."""
    root = tmp_path / "data"
    (root / "nested").mkdir(parents=True)
    feather.write_feather(
        pa.table({"id": [10, 20, 30, 20], "label": ["a", "b", "c", "d"]}), root / "first.feather"
    )
    feather.write_feather(
        pa.table({"id": [40, 20], "label": ["e", "f"]}), root / "nested" / "second.feather"
    )
    (root / "README.txt").write_text("not a feather file")
    return root


@pytest.fixture
def maou_script() -> str:
    """The `maou` console script installed beside this interpreter."""
    script = Path(sys.executable).parent / "maou"
    if not script.exists():
        found = shutil.which("maou")
        assert found, "the maou console script is not installed"
        return found
    return str(script)
