"""FalkorDB statements with a synchronous parser of the compact result set.

``run_compact(graph, text, params, read_only=...) -> list[Row]`` sends ``GRAPH.QUERY``/``GRAPH.RO_QUERY``
with ``--compact`` through the ``falkordb`` asyncio client's connection (its own parameter header) and parses
the reply in plain loops. The client's ``QueryResult.parse`` awaits one coroutine per value (``parse_scalar``
-> ``__parse_map`` -> ``__parse_string`` ...): on the feed page's hydration (10-16 posts with media, hashtags
and their author, ~1,500 values) that was 0.8-1.6 ms of Python per statement, most of the driver's cost
(pyinstrument on ``bench/bench_feed.py``'s feed query; the raw ``execute_command`` took 2.1 ms, the
client's parse as much again under load).

Scalars, arrays and maps (everything this project's statements return: maps and scalars, never nodes) are
parsed here; a reply holding a node, edge, path or temporal value, whose labels and property names are schema
ids that may need ``db.labels()``/``db.propertyKeys()`` look-ups, goes to the client's own parser and is
flattened as before (nodes and edges become dicts of their properties). Errors: a runtime error carried in the
reply is raised as the client's ``redis.exceptions.ResponseError`` (the driver translates it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from falkordb.asyncio.query_result import QueryResult
from falkordb.edge import Edge
from falkordb.node import Node
from redis.exceptions import ResponseError

if TYPE_CHECKING:
    from falkordb.asyncio.graph import AsyncGraph

# compact value types (falkordb.asyncio.query_result.ResultSetScalarTypes)
_NULL, _STRING, _INTEGER, _BOOLEAN, _DOUBLE, _ARRAY, _MAP, _POINT, _VECTORF32 = 1, 2, 3, 4, 5, 6, 10, 11, 12


class _NeedsClientParser(Exception):
    """The reply holds a value this parser leaves to the client (node, edge, path, temporal, unknown)."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _value(cell: list[Any]) -> Any:
    kind, raw = cell[0], cell[1]
    if kind == _STRING:
        return raw if type(raw) is str else _text(raw)
    if kind == _INTEGER:
        return int(raw)
    if kind == _NULL:
        return None
    if kind == _MAP:
        out = {}
        for i in range(0, len(raw), 2):
            key = raw[i]
            out[key if type(key) is str else _text(key)] = _value(raw[i + 1])
        return out
    if kind == _ARRAY:
        return [_value(item) for item in raw]
    if kind == _BOOLEAN:
        return _text(raw) == "true"
    if kind == _DOUBLE:
        return float(raw)
    if kind == _POINT:
        return {"latitude": float(raw[0]), "longitude": float(raw[1])}
    if kind == _VECTORF32:
        return [float(v) for v in raw]
    raise _NeedsClientParser(kind)


def rows_from_compact(response: list[Any]) -> list[dict[str, Any]]:
    """Rows (``{column: value}``) of a compact reply ``[header, rows, stats]`` or ``[stats]``.

    Raises the reply's ``ResponseError`` and ``_NeedsClientParser`` for values left to the client.
    """
    if response and isinstance(response[0], ResponseError):
        raise response[0]
    if response and isinstance(response[-1], ResponseError):
        raise response[-1]
    if len(response) < 3:
        return []
    names = [_text(column[1]) if isinstance(column, list | tuple) else _text(column) for column in response[0]]
    return [dict(zip(names, (_value(cell) for cell in row), strict=True)) for row in response[1]]


def _plain(value: Any) -> Any:
    if isinstance(value, Node | Edge):
        return {k: _plain(v) for k, v in value.properties.items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


async def run_compact(graph: AsyncGraph, text: str, params: dict[str, Any], *, read_only: bool) -> list[dict[str, Any]]:
    """Run ``text`` with ``params`` on ``graph``; rows as plain values (see the module docstring).

    Raises ``redis.exceptions.ResponseError`` (query errors) and the connection's own errors.
    """
    query = graph._build_params_header(params) + text  # the client's own CYPHER parameter header
    command = "GRAPH.RO_QUERY" if read_only else "GRAPH.QUERY"
    response = await graph.execute_command(command, graph.name, query, "--compact")
    try:
        return rows_from_compact(response)
    except _NeedsClientParser:
        result = QueryResult(graph)
        await result.parse(response)
        header = [h[1] if isinstance(h, list | tuple) else h for h in result.header]
        return [dict(zip(header, (_plain(v) for v in row), strict=True)) for row in result.result_set]
