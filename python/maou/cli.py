"""The ``maou`` command line: look into feather files and search a directory of them."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def _io_info(args: argparse.Namespace) -> int:
    from maou._rust import maou_io

    info = maou_io.info(args.file)
    if args.json:
        out = {k: v for k, v in info.items() if k != "schema"}
        out["path"] = str(out["path"])
        out["columns"] = {f.name: str(f.type) for f in info["schema"]}
        print(json.dumps(out, indent=2))
        return 0
    print(f"{info['path']}: Arrow IPC {info['format']} format")
    print(f"rows: {info['num_rows']} in {info['num_batches']} batch(es)")
    print("columns:")
    for field in info["schema"]:
        null = "" if field.nullable else " not null"
        print(f"  {field.name}: {field.type}{null}")
    return 0


def _index_search(args: argparse.Namespace) -> int:
    from maou._rust import maou_index

    index = maou_index.Index(args.dir, args.column)

    def typed(text: str) -> int | str:
        if index.key_type != "integer":
            return text
        try:
            return int(text)
        except ValueError:
            raise SystemExit(
                f"maou: key {text!r} is not an integer, but column {args.column!r} holds integers"
            ) from None

    if args.to is None:
        hits = index.lookup(typed(args.key))
    else:
        hits = index.range(typed(args.key), typed(args.to))
    rows = hits.to_pylist()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['file']}\trow {row['row']}\t{args.column}={row[args.column]}")
        print(f"{len(rows)} hit(s) in {len(index.files)} file(s), {len(index)} indexed row(s)", file=sys.stderr)
    return 0 if rows else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maou", description=__doc__)
    groups = parser.add_subparsers(dest="group", required=True)

    io = groups.add_parser("io", help="Arrow IPC (feather) files")
    io_cmds = io.add_subparsers(dest="command", required=True)
    info = io_cmds.add_parser("info", help="format, rows and columns of a file")
    info.add_argument("file", help="an Arrow IPC file or stream")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(run=_io_info)

    index = groups.add_parser("index", help="search a directory of feather files")
    index_cmds = index.add_subparsers(dest="command", required=True)
    search = index_cmds.add_parser(
        "search",
        help="rows whose key equals KEY (or lies in KEY..TO)",
        description="Index the key column of every .feather file under DIR and print the "
        "file and row of each match. Exit status 1 when nothing matches.",
    )
    search.add_argument("dir", help="directory searched recursively for .feather files")
    search.add_argument("key", help="the key to look up (the start of the range with --to)")
    search.add_argument("--column", default="id", help="the key column (default: id)")
    search.add_argument("--to", help="search the inclusive range KEY..TO instead")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(run=_index_search)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from maou._rust import MaouError

    try:
        return args.run(args)
    except MaouError as err:
        print(f"maou: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
