"""Schema migrations per driver: uniqueness constraints and indexes, each recorded once.

A migration is applied when no ``(:Migration {id})`` node records it, then recorded, so running
``instagraph migrate`` twice is a no-op. Neo4j gets ``CREATE CONSTRAINT ... IF NOT EXISTS`` statements;
FalkorDB gets a range index per property followed by ``GRAPH.CONSTRAINT CREATE`` over RESP (a FalkorDB
unique constraint needs that index first; it answers PENDING and becomes OPERATIONAL shortly after).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graph.cypher import Statement, cypher
from graph.errors import QueryFailed
from graph.statements.engagement import RECOUNT_ALL_LIKE_COUNTS

if TYPE_CHECKING:
    from graph.store import GraphStore

UNIQUE: tuple[tuple[str, str], ...] = (
    ("User", "id"),
    ("User", "username"),
    ("User", "email"),
    ("Post", "id"),
    ("Comment", "id"),
    ("Story", "id"),
    ("Hashtag", "name"),
    ("Outbox", "id"),
    ("Notification", "id"),
    ("Migration", "id"),
)
INDEXED: tuple[tuple[str, str], ...] = (
    ("Post", "created_at"),
    ("Post", "status"),
    ("Outbox", "created_at"),
    ("Story", "expires_at"),
)

#: Every node label and relationship type the statements name. FalkorDB 4.16 plans a statement that names a
#: type not yet in the graph as "never matches" and caches that plan per thread: concurrent MERGEs then
#: create duplicate edges and a pattern comprehension stays empty after the type appears (reproduced on
#: fresh graphs). Registering them before any statement runs avoids both; on Neo4j it is harmless.
LABELS: tuple[str, ...] = (
    "User", "Session", "Post", "Media", "Hashtag", "Comment", "Story", "Notification", "Outbox",
    "NotificationGroup", "PushSubscription", "Highlight", "OutboxDeadLetter",
)
RELATIONSHIP_TYPES: tuple[str, ...] = (
    "FOLLOWS", "REQUESTED", "BLOCKS", "HAS_SESSION", "POSTED", "HAS_MEDIA", "TAGGED", "MENTIONS", "LIKED",
    "SAVED", "WROTE", "ON", "POSTED_STORY", "VIEWED", "ACTOR", "HAS_PUSH", "CLOSE_FRIEND", "HAS_HIGHLIGHT",
    "HIGHLIGHTS",
)
REGISTER_TYPES = cypher(
    "migrations.register_types",
    f"CREATE (probe:SchemaProbe:{':'.join(LABELS)}) "
    + " ".join(f"CREATE (probe)-[:{t}]->(probe)" for t in RELATIONSHIP_TYPES)
    + " DETACH DELETE probe RETURN 1 AS done",
    write=True,
    system=True,
)

APPLIED = cypher("migrations.applied", "MATCH (m:Migration) RETURN m.id AS id", system=True)
RECORD = cypher(
    "migrations.record",
    "MERGE (m:Migration {id: $id}) ON CREATE SET m.applied_at = $now RETURN m.id AS id",
    write=True,
    system=True,
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: ``uniques`` and ``indexes`` are (label, property) pairs."""

    id: str
    uniques: tuple[tuple[str, str], ...] = ()
    indexes: tuple[tuple[str, str], ...] = ()
    register_types: bool = False  # run REGISTER_TYPES (idempotent)
    data: tuple[Statement, ...] = ()  # idempotent data statements run once, after the schema steps


MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_initial", uniques=UNIQUE, indexes=INDEXED),
    Migration("0002_register_types", register_types=True),
    Migration(
        "0003_notifications",
        uniques=(("NotificationGroup", "key"), ("PushSubscription", "id")),
        indexes=(
            ("Notification", "recipient_id"), ("Notification", "post_id"), ("Notification", "comment_id"),
            ("Notification", "updated_at"),
        ),
        register_types=True,
    ),
    # Stories: highlights (unique id), the status and media-state indexes the expiry sweep reads, and the
    # close-friends and highlight relationship types registered before any statement names them.
    Migration(
        "0004_stories",
        uniques=(("Highlight", "id"),),
        indexes=(("Story", "status"), ("Story", "media_state")),
        register_types=True,
    ),
    # The relay's claim looks up older rows of a subject (Outbox.key) and expired leases; dead letters are
    # a new label.
    Migration(
        "0005_outbox_leases",
        indexes=(("Outbox", "key"), ("Outbox", "lease_until"), ("OutboxDeadLetter", "dead_at")),
        register_types=True,
    ),
    # The like statements keep Post.like_total exact from now on; count the posts from before once.
    Migration("0006_exact_like_counts", data=(RECOUNT_ALL_LIKE_COUNTS,)),
)


def _constraint_name(label: str, prop: str) -> str:
    return f"{label.lower()}_{prop}_unique"


async def _apply_neo4j(store: GraphStore, m: Migration) -> None:
    for label, prop in m.uniques:
        await store.run_ddl(  # type: ignore[attr-defined]
            f"CREATE CONSTRAINT {_constraint_name(label, prop)} IF NOT EXISTS "
            f"FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE"
        )
    for label, prop in m.indexes:
        await store.run_ddl(  # type: ignore[attr-defined]
            f"CREATE INDEX {label.lower()}_{prop} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"
        )


async def _falkordb_index(store: GraphStore, label: str, prop: str) -> None:
    graph = store.graph_name  # type: ignore[attr-defined]
    try:
        await store.execute_command("GRAPH.QUERY", graph, f"CREATE INDEX FOR (n:{label}) ON (n.{prop})")  # type: ignore[attr-defined]
    except QueryFailed as exc:
        if "already indexed" not in str(exc).lower():
            raise


async def _apply_falkordb(store: GraphStore, m: Migration) -> None:
    graph = store.graph_name  # type: ignore[attr-defined]
    for label, prop in (*m.uniques, *m.indexes):
        await _falkordb_index(store, label, prop)
    for label, prop in m.uniques:
        try:
            await store.execute_command(  # type: ignore[attr-defined]
                "GRAPH.CONSTRAINT", "CREATE", graph, "UNIQUE", "NODE", label, "PROPERTIES", 1, prop
            )
        except QueryFailed as exc:
            if "already exists" not in str(exc).lower():
                raise
    for _ in range(200):
        rows = await store.execute_command("GRAPH.QUERY", graph, "CALL db.constraints()")  # type: ignore[attr-defined]
        statuses = [r[-1] for r in rows[1]]
        if all(s in (b"OPERATIONAL", "OPERATIONAL") for s in statuses):
            return
        await asyncio.sleep(0.05)
    raise QueryFailed("FalkorDB constraints did not become OPERATIONAL within 10 s")


async def migrate(store: GraphStore, *, now_ms: int) -> list[str]:
    """Apply every pending migration; returns the ids applied now (empty when up to date).

    Raises ``GraphError`` when the server fails; a partly applied migration is retried whole next run
    (every step is idempotent).
    """
    done = {row["id"] for row in await store.read(APPLIED)}
    applied: list[str] = []
    for m in MIGRATIONS:
        if m.id in done:
            continue
        if store.backend == "neo4j":
            await _apply_neo4j(store, m)
        else:
            await _apply_falkordb(store, m)
        if m.register_types:
            await store.write(REGISTER_TYPES)
        for statement in m.data:
            await store.write(statement)
        await store.write(RECORD, {"id": m.id, "now": now_ms})
        applied.append(m.id)
    return applied
