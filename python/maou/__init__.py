"""maou: feather (Arrow IPC) files and indexes over them, with a Rust core.

The Rust extension is ``maou._rust`` (submodules ``maou_io`` and ``maou_index``); the
``maou`` command line lives in ``maou.cli``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("maou")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
