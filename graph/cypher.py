"""The registry of every Cypher statement the project runs.

Statements are declared at module level with :func:`cypher`; ``tools/cypher-lint`` imports every module of
``graph`` and lints each registered statement with Neo4j's own parser, so a statement that Neo4j would reject
fails CI even though the embedded stack runs FalkorDB.
"""

from __future__ import annotations

from dataclasses import dataclass

_REGISTRY: dict[str, Statement] = {}


@dataclass(frozen=True, slots=True)
class Statement:
    """One parameterised Cypher statement: ``name`` (module.CONSTANT style), ``text``, ``write`` flag."""

    name: str
    text: str
    write: bool

    def __str__(self) -> str:
        return self.text


def cypher(name: str, text: str, *, write: bool = False) -> Statement:
    """Register and return a statement. ``name`` must be unique; raises ``ValueError`` on a duplicate."""
    if name in _REGISTRY and _REGISTRY[name].text != text:
        raise ValueError(f"duplicate Cypher statement name {name!r}")
    stmt = Statement(name=name, text=text.strip(), write=write)
    _REGISTRY[name] = stmt
    return stmt


def registered() -> list[Statement]:
    """Every statement registered so far, in declaration order."""
    return list(_REGISTRY.values())
