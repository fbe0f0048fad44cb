"""Neo4j 5 over Bolt with the ``neo4j`` async driver.

URL: ``neo4j://user:password@host:7687/database`` (also ``bolt://``, ``+s``/``+ssc`` variants); the database
defaults to ``neo4j``. Reads and writes go through managed transactions, which retry transient failures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

import neo4j
from neo4j import exceptions as neo4j_errors

from graph.errors import ConstraintViolation, GraphUnavailable, QueryFailed

if TYPE_CHECKING:
    from collections.abc import Mapping

    from graph.cypher import Statement
    from graph.store import Row


class Neo4jStore:
    """A ``GraphStore`` on one Neo4j database. Raises ``GraphError`` subclasses only."""

    backend = "neo4j"

    def __init__(self, driver: neo4j.AsyncDriver, database: str, *, timeout: float = 10.0) -> None:
        self._driver = driver
        self.database = database
        self._timeout = timeout
        self.round_trips = 0

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 10.0) -> Neo4jStore:
        """Build a store from ``neo4j://user:password@host:port/database``."""
        parts = urlsplit(url)
        auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
        host = parts.hostname or "127.0.0.1"
        netloc = f"{host}:{parts.port}" if parts.port else host
        database = parts.path.strip("/") or "neo4j"
        driver = neo4j.AsyncGraphDatabase.driver(
            urlunsplit((parts.scheme, netloc, "", "", "")), auth=auth, connection_timeout=min(timeout, 5.0)
        )
        return cls(driver, database, timeout=timeout)

    async def _run(self, stmt: Statement | str, params: Mapping[str, Any] | None, *, read_only: bool) -> list[Row]:
        text = str(stmt)
        self.round_trips += 1

        @neo4j.unit_of_work(timeout=self._timeout)
        async def work(tx: neo4j.AsyncManagedTransaction) -> list[Row]:
            result = await tx.run(text, dict(params or {}))  # type: ignore[arg-type]  # LiteralString in stubs
            return [record.data() async for record in result]

        try:
            async with self._driver.session(database=self.database) as session:
                if read_only:
                    return await session.execute_read(work)
                return await session.execute_write(work)
        except neo4j_errors.ConstraintError as exc:
            raise ConstraintViolation(str(exc)) from exc
        except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired, OSError) as exc:
            raise GraphUnavailable(str(exc)) from exc
        except neo4j_errors.Neo4jError as exc:
            raise QueryFailed(str(exc)) from exc
        except neo4j_errors.DriverError as exc:
            raise GraphUnavailable(str(exc)) from exc

    async def read(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run a read-only statement in a managed read transaction."""
        return await self._run(stmt, params, read_only=True)

    async def write(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run a statement in a managed write transaction."""
        return await self._run(stmt, params, read_only=False)

    async def run_ddl(self, text: str) -> None:
        """Run one schema statement (constraint/index DDL) outside a managed transaction."""
        try:
            async with self._driver.session(database=self.database) as session:
                result = await session.run(text)
                await result.consume()
        except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired, OSError) as exc:
            raise GraphUnavailable(str(exc)) from exc
        except neo4j_errors.Neo4jError as exc:
            raise QueryFailed(str(exc)) from exc

    async def ping(self) -> None:
        """Run ``RETURN 1``."""
        await self._run("RETURN 1 AS ok", None, read_only=True)

    async def drop(self) -> None:
        """Delete every node and relationship of the database (tests only; constraints stay)."""
        await self._run("MATCH (n) DETACH DELETE n", None, read_only=False)

    async def close(self) -> None:
        """Close the driver."""
        await self._driver.close()
