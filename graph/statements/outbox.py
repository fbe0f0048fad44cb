"""Cypher statements of the transactional outbox (``(:Outbox {id, topic, type, key, payload, created_at})``).

Services do not call ``OUTBOX_APPEND``: they put ``WRITE_OUTBOX`` (or ``write_outbox_if(cond)``) into the
ONE statement that makes their change, with the node's properties in ``$outbox``
(``events.envelope.Event.outbox_props()``), so the change and its event commit together. ``SET o = $map``
is used because FalkorDB rejects ``CREATE (o:Outbox $props)``.

The relay (``events.outbox``) claims rows with a lease (``lease_owner``, ``lease_until`` ms; ``OUTBOX_CLAIM``),
so that several relays never publish one row twice while the lease holds, and records failed attempts
(``attempts``, ``last_error``; ``OUTBOX_FAILED``); a row that failed ``max_attempts`` times becomes an
``(:OutboxDeadLetter)`` node with the same properties plus ``dead_at`` (``OUTBOX_DEAD_LETTER``).
"""

from __future__ import annotations

from graph.cypher import cypher

#: Clause that records ``$outbox`` unconditionally; append it to a write statement.
WRITE_OUTBOX = "CREATE (outbox:Outbox) SET outbox = $outbox"


def write_outbox_if(condition: str) -> str:
    """Clause that records ``$outbox`` only when the Cypher boolean ``condition`` holds (e.g. ``created``).

    Shape: ``FOREACH (_ IN CASE WHEN <condition> THEN [1] ELSE [] END | CREATE ... SET ... = $outbox)``.
    """
    return f"FOREACH (_ IN CASE WHEN {condition} THEN [1] ELSE [] END | {WRITE_OUTBOX})"


OUTBOX_APPEND = cypher(
    "outbox.OUTBOX_APPEND",
    f"{WRITE_OUTBOX} RETURN outbox.id AS id",
    write=True,
    system=True,
)

OUTBOX_PENDING = cypher(
    "outbox.OUTBOX_PENDING",
    """
    MATCH (o:Outbox)
    RETURN o.id AS id, o.topic AS topic, o.type AS type, o.key AS key, o.payload AS payload,
           o.created_at AS created_at
    ORDER BY o.created_at, o.id
    LIMIT $batch
    """,
    system=True,
)

#: Append many nodes at once (``$rows``: a list of ``outbox_props()`` maps); for benchmarks and tools.
OUTBOX_APPEND_MANY = cypher(
    "outbox.OUTBOX_APPEND_MANY",
    "UNWIND $rows AS row CREATE (outbox:Outbox) SET outbox = row RETURN count(outbox) AS appended",
    write=True,
    system=True,
)

#: Claim up to ``$batch`` of the oldest rows for relay ``$owner`` until ``$now + $lease_ms``: rows whose lease
#: expired or is ours, among the oldest ``$scan``, except rows of a subject (``key``) with an older row (or
#: one of the same ms: ids are not compared, see ``graph.keyset``) leased by another relay (per-subject
#: order: that relay publishes the older one first). Atomic on FalkorDB, which runs a graph's writes one at a
#: time; on Neo4j (read committed) two relays claiming in the same instant may both take a row, which the
#: consumers' dedupe absorbs. Rows:
#: ``{id, topic, type, key, payload, created_at, attempts}``, oldest first.
OUTBOX_CLAIM = cypher(
    "outbox.OUTBOX_CLAIM",
    """
    MATCH (o:Outbox)
    WHERE coalesce(o.lease_until, 0) < $now OR o.lease_owner = $owner
    WITH o ORDER BY o.created_at, o.id LIMIT $scan
    OPTIONAL MATCH (older:Outbox {key: o.key})
    WHERE older.lease_until >= $now AND older.lease_owner <> $owner
      AND older.created_at <= o.created_at AND older.id <> o.id
    WITH o, count(older) AS blocked
    WHERE blocked = 0
    WITH o ORDER BY o.created_at, o.id LIMIT $batch
    SET o.lease_owner = $owner, o.lease_until = $now + $lease_ms
    RETURN o.id AS id, o.topic AS topic, o.type AS type, o.key AS key, o.payload AS payload,
           o.created_at AS created_at, coalesce(o.attempts, 0) AS attempts
    ORDER BY created_at, id
    """,
    write=True,
    system=True,
)

#: Record a failed publish of each row of ``$rows`` (``{id, error}``): ``attempts + 1``, ``last_error``, and
#: no retry by any relay before ``$retry_at`` ms (the lease is released to nobody, ``''``). Rows:
#: ``{id, attempts}``. (The move of the rows that reached the limit is ``OUTBOX_DEAD_LETTER``: FalkorDB does
#: not apply a SET to rows a later WHERE of the same statement drops.)
OUTBOX_FAILED = cypher(
    "outbox.OUTBOX_FAILED",
    """
    UNWIND $rows AS row
    MATCH (o:Outbox {id: row.id})
    SET o.attempts = coalesce(o.attempts, 0) + 1, o.last_error = row.error, o.lease_until = $retry_at,
        o.lease_owner = ''
    RETURN o.id AS id, o.attempts AS attempts
    """,
    write=True,
    system=True,
)

#: Move the rows ``$ids`` to ``(:OutboxDeadLetter)`` records (same properties plus ``dead_at``). Rows:
#: ``{id, topic}`` per row moved.
OUTBOX_DEAD_LETTER = cypher(
    "outbox.OUTBOX_DEAD_LETTER",
    """
    UNWIND $ids AS outbox_id
    MATCH (o:Outbox {id: outbox_id})
    CREATE (d:OutboxDeadLetter)
    SET d.id = o.id, d.topic = o.topic, d.type = o.type, d.key = o.key, d.payload = o.payload,
        d.created_at = o.created_at, d.attempts = o.attempts, d.last_error = o.last_error, d.dead_at = $now
    DELETE o
    RETURN d.id AS id, d.topic AS topic
    """,
    write=True,
    system=True,
)

#: The dead-letter records, oldest first, at most ``$limit``. Rows: ``{id, topic, type, key, payload,
#: created_at, attempts, last_error, dead_at}``.
OUTBOX_DEAD_LETTERS = cypher(
    "outbox.OUTBOX_DEAD_LETTERS",
    """
    MATCH (d:OutboxDeadLetter)
    RETURN d.id AS id, d.topic AS topic, d.type AS type, d.key AS key, d.payload AS payload,
           d.created_at AS created_at, d.attempts AS attempts, d.last_error AS last_error, d.dead_at AS dead_at
    ORDER BY d.dead_at, d.id
    LIMIT $limit
    """,
    system=True,
)

OUTBOX_DELETE = cypher(
    "outbox.OUTBOX_DELETE",
    """
    UNWIND $ids AS outbox_id
    MATCH (o:Outbox {id: outbox_id})
    DELETE o
    RETURN count(o) AS deleted
    """,
    write=True,
    system=True,
)

OUTBOX_BACKLOG = cypher(
    "outbox.OUTBOX_BACKLOG",
    "MATCH (o:Outbox) RETURN count(o) AS backlog",
    system=True,
)
