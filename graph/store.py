"""The graph-store protocol and the URL-scheme factory.

A store runs ONE Cypher statement with parameters and returns its rows as plain Python values
(``list[dict[str, Any]]``: str, int, float, bool, None, lists and dicts; nodes come back as dicts of their
properties). Use ``read`` for statements that only read and ``write`` for the rest. Every error is a
``graph.errors.GraphError``.

URL schemes: ``falkordb://host:port/graph`` (RESP, the ``falkordb`` asyncio client; never FalkorDB's Bolt
port, which crashes on messages over ~5 KB) and ``neo4j://``, ``neo4j+s://``, ``bolt://``, ``bolt+s://``
(the ``neo4j`` async driver; the database name may be the URL path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from graph.cypher import Statement

Row = dict[str, Any]


class GraphStore(Protocol):
    """What every driver offers. Parameters are plain values; rows are dicts keyed by RETURN alias."""

    backend: str
    round_trips: int

    async def read(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run a read-only statement; raises ``GraphError``."""
        ...

    async def write(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run a statement that may write; atomic on both engines; raises ``GraphError``."""
        ...

    async def ping(self) -> None:
        """Run ``RETURN 1``; raises ``GraphUnavailable`` when the server does not answer."""
        ...

    async def drop(self) -> None:
        """Delete every node, relationship, index and constraint of this graph (tests only)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def open_graph_store(url: str, *, timeout: float = 10.0) -> GraphStore:
    """Return the driver for ``url``'s scheme; raises ``ValueError`` for an unknown scheme.

    ``timeout`` (seconds) bounds each statement on the client side.
    """
    scheme = url.split("://", 1)[0].lower()
    if scheme == "falkordb":
        from graph.falkordb_driver import FalkorDBStore

        return FalkorDBStore.from_url(url, timeout=timeout)
    if scheme in {"neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"}:
        from graph.neo4j_driver import Neo4jStore

        return Neo4jStore.from_url(url, timeout=timeout)
    raise ValueError(f"unsupported graph URL scheme {scheme!r}; use falkordb:// or neo4j:// / bolt://")
