"""The registry of every Cypher statement the project runs.

Statements are declared at module level with :func:`cypher`, in ``graph/statements/`` and, for the dataset
import, in ``seed/statements.py``. ``tools/cypher_lint.py`` loads them all (:func:`load_statement_modules`)
and lints each registered statement with Neo4j's own parser, so a statement that Neo4j would reject fails CI
even though the embedded stack runs FalkorDB.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

_REGISTRY: dict[str, Statement] = {}


@dataclass(frozen=True, slots=True)
class Statement:
    """One parameterised Cypher statement: ``name`` (module.CONSTANT style), ``text``, ``write`` flag, and
    ``system``: True when it runs on behalf of the system (workers, the dataset import, maintenance), not of a
    viewer, so that it needs no visibility fragment (``graph.statements.visibility``)."""

    name: str
    text: str
    write: bool
    system: bool = False

    def __str__(self) -> str:
        return self.text


def cypher(name: str, text: str, *, write: bool = False, system: bool = False) -> Statement:
    """Register and return a statement. ``name`` must be unique; raises ``ValueError`` on a duplicate.

    ``system=True`` marks a statement that reads or writes for the system (a worker reloading by id, the
    dataset import), exempt from the rule that viewer-facing reads of user-owned content compose a visibility
    fragment (a test checks that rule over every registered statement)."""
    if name in _REGISTRY and _REGISTRY[name].text != text.strip():
        raise ValueError(f"duplicate Cypher statement name {name!r}")
    stmt = Statement(name=name, text=text.strip(), write=write, system=system)
    _REGISTRY[name] = stmt
    return stmt


def registered() -> list[Statement]:
    """Every statement registered so far, in declaration order."""
    return list(_REGISTRY.values())


#: The packages whose modules declare statements: the graph layer's own and the dataset import's.
STATEMENT_PACKAGES: tuple[str, ...] = ("graph", "seed")


def load_statement_modules(packages: tuple[str, ...] = STATEMENT_PACKAGES) -> list[str]:
    """Import every module of ``packages`` (by name, so that this layer depends on none of them) so that each
    of their ``cypher(...)`` declarations registers; returns the module names. Import errors propagate."""
    names: list[str] = []
    for package_name in packages:
        package = importlib.import_module(package_name)
        names.append(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            importlib.import_module(info.name)
            names.append(info.name)
    return names
