"""FalkorDB over RESP with the ``falkordb`` asyncio client.

URL: ``falkordb://[:password@]host:port/graph_name``. One connection pool per store; the graph name selects
an isolated graph on the server (tests use one graph per module).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from falkordb.asyncio import FalkorDB
from redis import exceptions as redis_errors

from graph.errors import ConstraintViolation, GraphUnavailable, QueryFailed
from graph.falkordb_result import run_compact

if TYPE_CHECKING:
    from collections.abc import Mapping

    from graph.cypher import Statement
    from graph.store import Row


class FalkorDBStore:
    """A ``GraphStore`` on one FalkorDB graph. Raises ``GraphError`` subclasses only."""

    backend = "falkordb"

    def __init__(self, connect: dict[str, Any], graph_name: str, *, timeout: float = 10.0) -> None:
        self._connect = connect
        self._db: FalkorDB | None = None
        self._graph: Any = None
        self.graph_name = graph_name
        self._timeout = timeout
        self.round_trips = 0

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 10.0) -> FalkorDBStore:
        """Build a store from ``falkordb://[:password@]host:port/graph``; graph defaults to ``instagraph``.

        Connects lazily: the client's constructor probes the server synchronously (cluster detection), so it
        runs in a thread on first use and is retried on the next call when the server was down.
        """
        parts = urlsplit(url)
        connect = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 6379,
            "password": unquote(parts.password) if parts.password else None,
            "socket_timeout": timeout,
            "socket_connect_timeout": min(timeout, 5.0),
            "max_connections": 64,
        }
        return cls(connect, parts.path.strip("/") or "instagraph", timeout=timeout)

    async def _client(self) -> FalkorDB:
        if self._db is None:
            try:
                db = await asyncio.to_thread(FalkorDB, **self._connect)
            except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as exc:
                raise GraphUnavailable(str(exc)) from exc
            self._db, self._graph = db, db.select_graph(self.graph_name)
        return self._db

    async def _run(self, stmt: Statement | str, params: Mapping[str, Any] | None, *, read_only: bool) -> list[Row]:
        text = str(stmt)
        self.round_trips += 1
        await self._client()
        try:
            async with asyncio.timeout(self._timeout):
                return await run_compact(self._graph, text, dict(params or {}), read_only=read_only)
        except TimeoutError as exc:
            raise GraphUnavailable(f"graph statement timed out after {self._timeout}s") from exc
        except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as exc:
            raise GraphUnavailable(str(exc)) from exc
        except redis_errors.ResponseError as exc:
            message = str(exc).lower()
            if "unique constraint" in message:
                raise ConstraintViolation(str(exc)) from exc
            if read_only and "empty key" in message:
                return []  # the graph key does not exist yet: an empty graph has no rows
            raise QueryFailed(str(exc)) from exc

    async def read(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run a read-only statement (``GRAPH.RO_QUERY``)."""
        return await self._run(stmt, params, read_only=True)

    async def write(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run a statement that may write (``GRAPH.QUERY``, atomic per statement)."""
        return await self._run(stmt, params, read_only=False)

    async def execute_command(self, *args: Any) -> Any:
        """Send a raw RESP command (migrations use it for ``GRAPH.CONSTRAINT``); raises ``GraphError``."""
        db = await self._client()
        try:
            return await db.connection.execute_command(*args)
        except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as exc:
            raise GraphUnavailable(str(exc)) from exc
        except redis_errors.ResponseError as exc:
            raise QueryFailed(str(exc)) from exc

    async def ping(self) -> None:
        """Run ``RETURN 1`` on the graph."""
        await self._run("RETURN 1 AS ok", None, read_only=True)

    async def drop(self) -> None:
        """Delete the whole graph key (data, indexes, constraints)."""
        await self._client()
        try:
            await self._graph.delete()
        except redis_errors.ResponseError:
            pass  # the graph was never created
        except (redis_errors.ConnectionError, OSError) as exc:
            raise GraphUnavailable(str(exc)) from exc

    async def close(self) -> None:
        """Close the connection pool."""
        if self._db is not None:
            await self._db.connection.aclose()
            self._db = None
