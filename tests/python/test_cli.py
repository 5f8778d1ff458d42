from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([script, *args], capture_output=True, text=True, timeout=120)


def test_io_info(maou_script: str, tmp_path: Path):
    path = tmp_path / "t.feather"
    feather.write_feather(pa.table({"id": [1, 2, 3], "name": ["a", "b", None]}), path)
    out = run(maou_script, "io", "info", str(path))
    assert out.returncode == 0, out.stderr
    assert "Arrow IPC file format" in out.stdout
    assert "rows: 3 in 1 batch(es)" in out.stdout
    assert "  id: int64" in out.stdout and "  name: string" in out.stdout

    as_json = json.loads(run(maou_script, "io", "info", "--json", str(path)).stdout)
    assert as_json["num_rows"] == 3
    assert as_json["columns"] == {"id": "int64", "name": "string"}


def test_index_search(maou_script: str, feather_dir: Path):
    out = run(maou_script, "index", "search", str(feather_dir), "20")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("first.feather\trow 1\tid=20")
    assert lines[2].endswith("second.feather\trow 1\tid=20")
    assert "3 hit(s) in 2 file(s)" in out.stderr

    ranged = json.loads(
        run(maou_script, "index", "search", str(feather_dir), "a", "--to", "b", "--column", "label", "--json").stdout
    )
    assert [r["label"] for r in ranged] == ["a", "b"]


def test_no_hit_and_errors_have_distinct_exit_codes(maou_script: str, feather_dir: Path, tmp_path: Path):
    assert run(maou_script, "index", "search", str(feather_dir), "12345").returncode == 1

    missing = run(maou_script, "index", "search", str(tmp_path / "nowhere"), "1")
    assert missing.returncode == 2
    assert "cannot read directory" in missing.stderr

    not_int = run(maou_script, "index", "search", str(feather_dir), "abc")
    assert not_int.returncode != 0
    assert "is not an integer" in not_int.stderr
