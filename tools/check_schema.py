"""Check that the committed ``schema.graphql`` is the SDL of the Strawberry schema the code builds.

Prints the SDL exactly as ``strawberry export-schema schema.root:schema --output schema.graphql`` writes it
(``strawberry.printer.print_schema`` plus a final newline) and compares it with ``schema.graphql`` at the
repository root.

Usage:
  python tools/check_schema.py           exit 0 when up to date; 1 with a unified diff when stale or missing
  python tools/check_schema.py --write   rewrite schema.graphql from the code

Exit 2 when the schema cannot be built (``schema.root`` missing or failing to import). Also validates the
first-party clients' operations (``schema/operations.graphql``) against the schema: exit 1 when one no longer
validates.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schema.graphql"
SCHEMA_SYMBOL = "schema.root:schema"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def export_sdl(symbol: str = SCHEMA_SYMBOL) -> str:
    """The SDL of ``module:attribute`` (a ``strawberry.Schema``), as the export-schema command writes it."""
    from strawberry.printer import print_schema

    module_name, _, attr = symbol.partition(":")
    schema = getattr(importlib.import_module(module_name), attr)
    return print_schema(schema) + "\n"


def check_operations() -> list[str]:
    """The validation errors of ``schema/operations.graphql`` against ``schema.root:schema`` (none: [])."""
    from graphql import parse, validate

    from schema.operations import operations_text
    from schema.root import schema

    return [e.message for e in validate(schema._schema, parse(operations_text()))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite schema.graphql from the code")
    args = parser.parse_args(argv)

    try:
        sdl = export_sdl()
    except Exception:  # any failure to build the schema is reported the same way
        traceback.print_exc()
        print(f"check-schema: cannot build {SCHEMA_SYMBOL}", file=sys.stderr)
        return 2

    invalid = check_operations()
    if invalid:
        print("check-schema: schema/operations.graphql does not validate:\n  " + "\n  ".join(invalid))
        return 1
    rel = SCHEMA_FILE.relative_to(ROOT)
    if args.write:
        SCHEMA_FILE.write_text(sdl, encoding="utf-8")
        print(f"check-schema: wrote {rel} ({len(sdl.splitlines())} lines)")
        return 0

    committed = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    if committed == sdl:
        print(f"check-schema: {rel} is up to date ({len(sdl.splitlines())} lines)")
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            sdl.splitlines(keepends=True),
            fromfile=f"{rel} (committed)",
            tofile=f"{rel} (from {SCHEMA_SYMBOL})",
        )
    )
    state = "stale" if SCHEMA_FILE.exists() else "missing"
    print(f"check-schema: {rel} is {state}; run `python tools/check_schema.py --write` and commit it")
    return 1


if __name__ == "__main__":
    sys.exit(main())
