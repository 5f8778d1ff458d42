"""ONNX models evaluated by maou's Rust core (``maou._rust.onnx``) through ONNX Runtime.

The extension neither contains nor links ONNX Runtime: it opens the library of the
installed ``onnxruntime`` package (CPU: ``pip install 'maou[onnx]'``) or ``onnxruntime-gpu``
(GPU, with its execution providers) when a model is first evaluated; ``ORT_DYLIB_PATH``
(``ort``'s own variable; the Nix dev shell sets it to nixpkgs' library) names another one
first. So ``import
maou._rust`` never needs it, and a missing or mismatched runtime raises
:class:`OnnxRuntimeUnavailable` here, naming the fix, instead of crashing the interpreter.
Why this and not a runtime linked in at build time: docs/onnx.md.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from pathlib import Path

LIBRARY_PREFIX = "libonnxruntime.so."


class OnnxRuntimeUnavailable(RuntimeError):
    """ONNX Runtime cannot be used: not installed, another version, or no ONNX support."""


def _onnx():
    from maou import _rust

    onnx = getattr(_rust, "onnx", None)
    if onnx is None:
        raise OnnxRuntimeUnavailable(
            "this build of maou._rust has no ONNX support (built without the `onnx` feature; "
            "the released wheels have it)"
        )
    return onnx


def required_version() -> str:
    """The ONNX Runtime version the extension's ``ort`` speaks, as ``1.MINOR``."""
    return f"1.{_onnx().runtime_minor()}"


def runtime_library() -> Path:
    """The ONNX Runtime library: ``ORT_DYLIB_PATH`` when set, else that of the installed
    ``onnxruntime``/``onnxruntime-gpu`` package.

    The package's is found without importing it (its import is slow and loads its own
    copy). The extension checks the version of the library it opens."""
    want = required_version()
    named = os.environ.get("ORT_DYLIB_PATH")
    if named:
        if not Path(named).is_file():
            raise OnnxRuntimeUnavailable(
                f"ORT_DYLIB_PATH names {named}, which does not exist: point it at ONNX "
                f"Runtime {want}'s libonnxruntime.so, or unset it to use the onnxruntime package"
            )
        return Path(named)
    fix = (
        f"pip install 'onnxruntime=={want}.*' (or 'maou[onnx]'; on a GPU "
        f"'onnxruntime-gpu=={want}.*')"
    )
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise OnnxRuntimeUnavailable(
            f"maou's ONNX features need ONNX Runtime {want}, and no onnxruntime package is "
            f"installed: {fix}"
        )
    package = Path(next(iter(spec.submodule_search_locations)))
    found = sorted((package / "capi").glob(LIBRARY_PREFIX + "*"))
    if not found:
        raise OnnxRuntimeUnavailable(
            f"{package} has no {LIBRARY_PREFIX}* under capi/: a broken onnxruntime "
            f"install; {fix}"
        )
    library = found[-1]
    version = library.name.removeprefix(LIBRARY_PREFIX)
    if not version.startswith(want + "."):
        raise OnnxRuntimeUnavailable(
            f"ONNX Runtime {version} is installed ({library}), and maou's extension "
            f"speaks {want}: {fix}"
        )
    return library


def run(model: str | Path, values: Iterable[float], shape: Iterable[int]) -> list[float]:
    """Evaluates ``model`` on one float32 tensor (``values`` laid out in ``shape``) and
    returns its first output's values."""
    onnx = _onnx()
    return onnx.run(
        str(runtime_library()),
        str(model),
        [float(v) for v in values],
        [int(d) for d in shape],
    )
