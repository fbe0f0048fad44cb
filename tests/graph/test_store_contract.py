"""The graph-store contract every driver must pass, run on FalkorDB always and on Neo4j when
``INSTAGRAPH_TEST_NEO4J_URL`` is set (for example ``neo4j://neo4j:password@127.0.0.1:7687/neo4j``).

Big strings go into unconstrained properties only: FalkorDB 4.16 crashes (SIGSEGV in EnforceUniqueEntity)
when a string over ~4-5 KB is written to a property with a UNIQUE constraint.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import TYPE_CHECKING

import pytest

from graph.cypher import cypher
from graph.errors import ConstraintViolation, GraphUnavailable, QueryFailed
from graph.migrations import MIGRATIONS, migrate
from graph.store import open_graph_store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from devstack.supervisor import EmbeddedStack
    from graph.store import GraphStore
    from runtime.settings import Settings

NEO4J_URL = os.environ.get("INSTAGRAPH_TEST_NEO4J_URL", "")
BIG = 1_700_000_000_000  # an epoch-ms timestamp: beyond 32 bits, still an int on both engines

PLAIN_VALUES = cypher(
    "tests.store_contract.plain_values",
    """
    CREATE (p:Probe {id: $id, s: 'text', i: $big, f: 1.5, b: true, l: [1, 2, 3]})
    RETURN p AS node, p.s AS s, p.i AS i, p.f AS f, p.b AS b, p.l AS l,
           {k: 'v', n: [1, {deep: true}]} AS m, null AS nothing
    """,
    write=True,
)
PROBE_BY_ID = cypher("tests.store_contract.probe_by_id", "MATCH (p:Probe {id: $id}) RETURN p.body AS body")
PUT_BODY = cypher(
    "tests.store_contract.put_body",
    "CREATE (p:Probe {id: $id, body: $body}) RETURN p.body AS body",
    write=True,
)
BULK = cypher(
    "tests.store_contract.bulk",
    "UNWIND $rows AS r CREATE (:Bulk {batch: $batch, n: r.n, tag: r.tag}) RETURN count(*) AS created",
    write=True,
)
BULK_COUNT = cypher(
    "tests.store_contract.bulk_count",
    "MATCH (b:Bulk {batch: $batch}) RETURN count(b) AS c, sum(b.n) AS total",
)
CREATE_USER = cypher(
    "tests.store_contract.create_user",
    "CREATE (:Marker {id: $marker}) CREATE (u:User {id: $id, username: $username}) RETURN u.id AS id",
    write=True,
)
USERS_NAMED = cypher(
    "tests.store_contract.users_named",
    "MATCH (u:User {username: $username}) RETURN u.id AS id",
)
MARKER = cypher("tests.store_contract.marker", "MATCH (m:Marker {id: $marker}) RETURN m.id AS id")
FOLLOW = cypher(
    "tests.store_contract.follow",
    """
    MATCH (a:User {id: $a}), (b:User {id: $b})
    MERGE (a)-[f:FOLLOWS]->(b) ON CREATE SET f.created_at = $now
    RETURN f.created_at AS created_at
    """,
    write=True,
)
FOLLOW_COUNT = cypher(
    "tests.store_contract.follow_count",
    "MATCH (:User {id: $a})-[f:FOLLOWS]->(:User {id: $b}) RETURN count(f) AS c",
)


def _now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture(scope="module", params=["falkordb", "neo4j"])
async def store(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[GraphStore]:
    """The module's graph on each backend, emptied first and migrated."""
    if request.param == "neo4j" and not NEO4J_URL:
        pytest.skip("Neo4j: set INSTAGRAPH_TEST_NEO4J_URL to run the graph-store contract on Neo4j")
    graph = open_graph_store(NEO4J_URL if request.param == "neo4j" else settings.graph_url)
    await graph.drop()
    await migrate(graph, now_ms=_now_ms())
    yield graph
    await graph.drop()
    await graph.close()


async def test_rows_hold_plain_values_and_nodes_come_back_as_property_dicts(store: GraphStore) -> None:
    rows = await store.write(PLAIN_VALUES, {"id": "p-plain", "big": BIG})

    assert rows == [
        {
            "node": {
                "id": "p-plain",
                "s": "text",
                "i": BIG,
                "f": 1.5,
                "b": True,
                "l": [1, 2, 3],
            },
            "s": "text",
            "i": BIG,
            "f": 1.5,
            "b": True,
            "l": [1, 2, 3],
            "m": {"k": "v", "n": [1, {"deep": True}]},
            "nothing": None,
        }
    ]
    row = rows[0]
    assert type(row["i"]) is int and type(row["f"]) is float and type(row["b"]) is bool
    assert type(row["node"]) is dict and type(row["l"]) is list and type(row["m"]) is dict


async def test_a_220_000_character_string_round_trips(store: GraphStore) -> None:
    body = ("caption #tag @mention ünïcödé ✓ " * 7_000)[:220_000]

    written = await store.write(PUT_BODY, {"id": "p-big", "body": body})
    read = await store.read(PROBE_BY_ID, {"id": "p-big"})

    assert written == [{"body": body}]
    assert read == [{"body": body}]


async def test_a_5000_row_unwind_writes_every_row(store: GraphStore) -> None:
    rows = [{"n": n, "tag": f"t{n % 7}"} for n in range(5_000)]

    created = await store.write(BULK, {"batch": "b1", "rows": rows})
    counted = await store.read(BULK_COUNT, {"batch": "b1"})

    assert created == [{"created": 5_000}]
    assert counted == [{"c": 5_000, "total": sum(range(5_000))}]


async def test_a_uniqueness_violation_raises_and_writes_nothing(store: GraphStore) -> None:
    await store.write(CREATE_USER, {"marker": "m1", "id": "u-ana-1", "username": "ana"})

    with pytest.raises(ConstraintViolation):
        await store.write(CREATE_USER, {"marker": "m2", "id": "u-ana-2", "username": "ana"})

    assert await store.read(USERS_NAMED, {"username": "ana"}) == [{"id": "u-ana-1"}]
    assert await store.read(MARKER, {"marker": "m2"}) == []


async def test_a_syntax_error_raises_query_failed(store: GraphStore) -> None:
    broken = cypher("tests.store_contract.broken", "RETRUN 1 AS one")

    with pytest.raises(QueryFailed):
        await store.read(broken)


async def test_a_stopped_server_raises_graph_unavailable(store: GraphStore, stack: EmbeddedStack) -> None:
    if store.backend != "falkordb":  # a Neo4j we did not start cannot be stopped: dial a closed port instead
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        dead = open_graph_store(f"bolt://127.0.0.1:{port}", timeout=2.0)
        with pytest.raises(GraphUnavailable):
            await dead.ping()
        await dead.close()
        return
    await stack.stop_service("graph")
    try:
        with pytest.raises(GraphUnavailable):
            await store.ping()
    finally:
        await stack.start_service("graph")
    await store.ping()  # the same store reconnects once the server is back


async def test_migrate_twice_is_a_no_op(store: GraphStore) -> None:
    await store.drop()

    first = await migrate(store, now_ms=_now_ms())
    second = await migrate(store, now_ms=_now_ms())

    assert first == [m.id for m in MIGRATIONS]
    assert second == []


async def test_20_concurrent_merges_of_one_follows_edge_give_one_edge(store: GraphStore) -> None:
    await store.write(CREATE_USER, {"marker": "mf1", "id": "u-f-a", "username": "follower_a"})
    await store.write(CREATE_USER, {"marker": "mf2", "id": "u-f-b", "username": "followee_b"})

    await asyncio.gather(
        *(store.write(FOLLOW, {"a": "u-f-a", "b": "u-f-b", "now": _now_ms()}) for _ in range(20))
    )

    assert await store.read(FOLLOW_COUNT, {"a": "u-f-a", "b": "u-f-b"}) == [{"c": 1}]
