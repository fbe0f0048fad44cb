"""Cypher statements of the transactional outbox (``(:Outbox {id, topic, type, key, payload, created_at})``).

Services do not call ``OUTBOX_APPEND``: they put ``WRITE_OUTBOX`` (or ``write_outbox_if(cond)``) into the
ONE statement that makes their change, with the node's properties in ``$outbox``
(``events.envelope.Event.outbox_props()``), so the change and its event commit together. ``SET o = $map``
is used because FalkorDB rejects ``CREATE (o:Outbox $props)``.
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
