"""The committed operations of the first-party clients (``schema/operations.graphql``).

Their names bound the ``operation`` label of the GraphQL metrics (``schema.extensions.operation_label``):
a request whose operation is named otherwise is counted as ``other``. ``tools/check_schema.py`` validates
the file against the schema, so a breaking schema change shows up against the operations clients send.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from graphql import OperationDefinitionNode, parse

OPERATIONS_FILE = Path(__file__).with_name("operations.graphql")


def operations_text() -> str:
    """The file's GraphQL text."""
    return OPERATIONS_FILE.read_text(encoding="utf-8")


@cache
def known_operation_names() -> frozenset[str]:
    """Every operation name the file defines (raises ``GraphQLError`` if it does not parse)."""
    document = parse(operations_text())
    return frozenset(
        d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name
    )
