"""maou: feather (Arrow IPC) files and indexes over them, with a Rust core.

The Rust extension is ``maou._rust`` (submodules ``maou_io`` and ``maou_index``); the
``maou`` command line lives in ``maou.cli``.
"""


def __getattr__(name: str) -> str:
    # ``__version__`` is read from the installed metadata when asked for, not at import:
    # importlib.metadata costs about 90 ms, which every ``import maou._rust`` would pay.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("maou")
    except PackageNotFoundError:  # running from a source tree that is not installed
        value = "0+unknown"
    globals()["__version__"] = value
    return value
