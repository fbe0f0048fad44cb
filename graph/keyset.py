"""Keyset (seek) pagination predicates over a ``(timestamp, id)`` sort key, for Cypher ``WHERE`` clauses.

A keyset page continues strictly past the last row of the previous page, the cursor ``($ts, $id)``. The
textbook predicate ``ts < $ts OR (ts = $ts AND id < $id)`` is NOT used: FalkorDB 4.16 answers an upper
bound (``<``, ``<=``, ``$x > ...``) on an INDEXED string property wrongly when it turns the comparison into
an index scan ("Node By Index Scan" in ``GRAPH.EXPLAIN``): every row comes back. Reproduced on a fresh
graph with ``CREATE INDEX FOR (p:Post) ON (p.id)`` and posts p1..p5: ``MATCH (p:Post) WHERE p.id < 'p3'``
returns p1..p5, and so do ``p.id <= $x``, ``$x > p.id`` and ``MATCH (p:Post) WITH p WHERE p.id < $x``;
``p.id > $x`` and integer properties are answered right. Every ``id`` here is indexed (``User.id``,
``Post.id`` and ``Comment.id`` carry unique constraints, hence range indexes), so with ties on the
timestamp the OR form repeated the cursor's own row on the next page whenever the planner picked the index.

The predicates below put the id comparison inside a ``CASE``, which FalkorDB never converts into an index
scan (the plan shows a ``Filter``), and are equivalent on Neo4j 5 (the linter accepts them)::

    ($ts IS NULL OR CASE WHEN ts = $ts THEN id < $id ELSE ts < $ts END)

A null ``$ts`` selects every row (the first page). ``tests/graph/test_falkordb_quirks.py`` pins both the
FalkorDB bug and this fix.
"""

from __future__ import annotations

import re

_EXPRESSION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
_PARAMETER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _predicate(ts: str, id_: str, ts_param: str, id_param: str, op: str) -> str:
    for expr in (ts, id_):
        if not _EXPRESSION.fullmatch(expr):
            raise ValueError(f"keyset key {expr!r} is not a variable or variable.property")
    for name in (ts_param, id_param):
        if not _PARAMETER.fullmatch(name):
            raise ValueError(f"keyset parameter {name!r} is not a bare parameter name (no '$')")
    return (
        f"(${ts_param} IS NULL OR CASE WHEN {ts} = ${ts_param} THEN {id_} {op} ${id_param}"
        f" ELSE {ts} {op} ${ts_param} END)"
    )


def keyset_before(ts: str, id_: str, ts_param: str, id_param: str) -> str:
    """The rows strictly below the cursor in ``(ts, id)`` order: the next page of a newest-first list.

    ``ts`` and ``id_`` are Cypher expressions (``"p.created_at"``, ``"p.id"``, or a ``WITH`` alias);
    ``ts_param`` and ``id_param`` are parameter names without ``$`` (``"after_at"``, ``"after_id"``). Returns
    a parenthesised boolean expression for a ``WHERE``; pair it with ``ORDER BY ts DESC, id DESC``. A null
    ``$ts_param`` matches every row. Raises ``ValueError`` when a name is not a plain identifier (the text is
    spliced into a statement).
    """
    return _predicate(ts, id_, ts_param, id_param, "<")


def keyset_after(ts: str, id_: str, ts_param: str, id_param: str) -> str:
    """The rows strictly above the cursor in ``(ts, id)`` order: the next page of an oldest-first list.

    Same arguments, result and errors as :func:`keyset_before`; pair it with ``ORDER BY ts, id``. A lower
    bound is answered right by FalkorDB even from an index; the ``CASE`` shape is kept so that every keyset
    in the project is written one way.
    """
    return _predicate(ts, id_, ts_param, id_param, ">")
