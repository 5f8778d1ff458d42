"""maou.onnx: an ONNX model evaluated through the extension's ``ort`` with the installed
ONNX Runtime (the release wheel has the ``onnx`` feature; the test extra installs
``onnxruntime`` 1.22 from PyPI and ``onnx`` to write the model)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import maou.onnx

PIN = json.loads((Path(__file__).parents[2] / "nix" / "onnxruntime.json").read_text())


@pytest.fixture(autouse=True)
def _the_installed_package(monkeypatch):
    """The runtime of the installed package, even in the Nix dev shell (ORT_DYLIB_PATH)."""
    monkeypatch.delenv("ORT_DYLIB_PATH", raising=False)


def affine_model(path: Path) -> Path:
    """y = 2x + 1 on a float matrix of any size, written with the ``onnx`` package."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["x", "two"], ["doubled"]),
            helper.make_node("Add", ["doubled", "one"], ["y"]),
        ],
        "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", "cols"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", "cols"])],
        initializer=[
            helper.make_tensor("two", TensorProto.FLOAT, [], [2.0]),
            helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what ONNX Runtime 1.22 reads (it stops at 11)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def test_the_runtime_is_the_pinned_one():
    library = maou.onnx.runtime_library()
    assert library.name == PIN["library"]
    assert hashlib.sha256(library.read_bytes()).hexdigest() == PIN["library_sha256"]
    assert maou.onnx.required_version() == ".".join(PIN["version"].split(".")[:2])


def test_a_model_is_evaluated(tmp_path: Path):
    model = affine_model(tmp_path / "affine.onnx")
    assert maou.onnx.run(model, [1.0, 2.0, 3.0, 4.0], [2, 2]) == [3.0, 5.0, 7.0, 9.0]
    assert maou.onnx.run(model, [-0.5], [1, 1]) == [0.0]


def test_ort_dylib_path_comes_first(tmp_path: Path, monkeypatch):
    # How the Nix dev shell hands over nixpkgs' runtime; here, the package's under another name.
    installed = maou.onnx.runtime_library()
    elsewhere = tmp_path / "libonnxruntime.so"
    elsewhere.symlink_to(installed)
    monkeypatch.setenv("ORT_DYLIB_PATH", str(elsewhere))
    assert maou.onnx.runtime_library() == elsewhere
    monkeypatch.setenv("ORT_DYLIB_PATH", str(tmp_path / "missing.so"))
    with pytest.raises(maou.onnx.OnnxRuntimeUnavailable, match="does not exist"):
        maou.onnx.runtime_library()


def test_a_missing_runtime_is_an_error_that_names_the_fix(monkeypatch):
    monkeypatch.setattr(maou.onnx.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(maou.onnx.OnnxRuntimeUnavailable, match=r"onnxruntime==1\.22\.\*"):
        maou.onnx.runtime_library()


def test_another_runtime_version_is_refused_by_name(tmp_path: Path, monkeypatch):
    capi = tmp_path / "onnxruntime" / "capi"
    capi.mkdir(parents=True)
    (tmp_path / "onnxruntime" / "__init__.py").write_text("")
    (capi / "libonnxruntime.so.1.21.0").write_bytes(b"")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(maou.onnx.OnnxRuntimeUnavailable, match=r"1\.21\.0 is installed"):
        maou.onnx.runtime_library()


@pytest.mark.parametrize(
    "library", ["/nonexistent/libonnxruntime.so.1.22.1", "libm.so.6"], ids=["missing", "not-ort"]
)
def test_a_library_that_is_not_onnx_runtime_raises_and_never_crashes(tmp_path: Path, library):
    # A fresh interpreter: a process keeps the first ONNX Runtime it opened.
    model = affine_model(tmp_path / "affine.onnx")
    code = (
        "import maou._rust, maou.onnx\n"
        "def run(lib):\n"
        "    try:\n"
        f"        print(maou._rust.onnx.run(lib, {str(model)!r}, [1.0], [1, 1]))\n"
        "    except RuntimeError as e:\n"
        "        print('RuntimeError:', e)\n"
        f"run({library!r})\n"
        "run(str(maou.onnx.runtime_library()))\n"
        f"run({library!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "panicked" not in done.stderr, done.stderr
    bad, good, again = done.stdout.splitlines()
    assert bad.startswith("RuntimeError: ") and library in bad, bad
    # A failed call leaves the next free to name the right one; that one stays.
    assert good == "[3.0]", done.stdout
    assert again.startswith("RuntimeError: ONNX Runtime is already loaded from"), again
