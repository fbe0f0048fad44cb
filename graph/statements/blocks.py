"""Cypher statements of blocks: block and unblock (one statement each, atomic on both engines).

Graph shape: ``(:User)-[:BLOCKS {created_at}]->(:User)``. A block deletes the follows and pending requests
between the two users BOTH ways, with exact counter updates, in the same statement; unblocking restores
nothing. State is read with ``OPTIONAL MATCH`` + ``collect`` (see ``graph.statements.follows`` for why not
pattern comprehensions). ``$viewer_id``/``$target_id`` are raw user ids, ``$now`` epoch ms, ``$outbox`` an
``events.envelope.Event.outbox_props()`` map.
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.statements.outbox import WRITE_OUTBOX
from graph.statements.users import USER_FIELDS

BLOCK = cypher(
    "blocks.BLOCK",
    f"""
    MATCH (a:User {{id: $viewer_id}})
    MATCH (b:User {{id: $target_id}})
    OPTIONAL MATCH (b)-[hid:BLOCKS]->(a)
    WITH a, b, count(hid) > 0 AS hidden
    WHERE NOT hidden
    OPTIONAL MATCH (a)-[blk:BLOCKS]->(b)
    WITH a, b, count(blk) > 0 AS already
    OPTIONAL MATCH (a)-[out_f:FOLLOWS]->(b)
    WITH a, b, already, collect(out_f) AS outgoing
    OPTIONAL MATCH (b)-[in_f:FOLLOWS]->(a)
    WITH a, b, already, outgoing, collect(in_f) AS incoming
    OPTIONAL MATCH (a)-[out_r:REQUESTED]->(b)
    WITH a, b, already, outgoing, incoming, collect(out_r) AS requests_out
    OPTIONAL MATCH (b)-[in_r:REQUESTED]->(a)
    WITH a, b, already, outgoing, incoming, requests_out, collect(in_r) AS requests_in
    WITH a, b, already, outgoing, incoming, requests_out + requests_in AS requests
    FOREACH (_ IN CASE WHEN already THEN [] ELSE [1] END |
        MERGE (a)-[k:BLOCKS]->(b) ON CREATE SET k.created_at = $now
        {WRITE_OUTBOX})
    FOREACH (gone_out IN outgoing | DELETE gone_out)
    FOREACH (gone_in IN incoming | DELETE gone_in)
    FOREACH (gone_request IN requests | DELETE gone_request)
    FOREACH (_ IN CASE WHEN size(outgoing) > 0 THEN [1] ELSE [] END |
        SET a.following_count = coalesce(a.following_count, 0) - size(outgoing),
            b.follower_count = coalesce(b.follower_count, 0) - size(outgoing))
    FOREACH (_ IN CASE WHEN size(incoming) > 0 THEN [1] ELSE [] END |
        SET b.following_count = coalesce(b.following_count, 0) - size(incoming),
            a.follower_count = coalesce(a.follower_count, 0) - size(incoming))
    RETURN NOT already AS changed, size(outgoing) AS unfollowed, size(incoming) AS removed_follower,
           size(requests) AS requests_removed, b {USER_FIELDS} AS user
    """,
    write=True,
)
"""Viewer ``a`` blocks ``b``: BLOCKS edge, follows and requests deleted BOTH ways with exact counter
updates, ``block.created`` when the block is new. ``{changed, unfollowed, removed_follower,
requests_removed, user}``, or no row (nothing written) for an unknown user or one who blocks the viewer."""

UNBLOCK = cypher(
    "blocks.UNBLOCK",
    f"""
    MATCH (a:User {{id: $viewer_id}})
    MATCH (b:User {{id: $target_id}})
    OPTIONAL MATCH (b)-[hid:BLOCKS]->(a)
    WITH a, b, count(hid) > 0 AS hidden
    WHERE NOT hidden
    OPTIONAL MATCH (a)-[blk:BLOCKS]->(b)
    WITH b, collect(blk) AS blocks
    FOREACH (lifted IN blocks | DELETE lifted)
    RETURN size(blocks) > 0 AS changed, b {USER_FIELDS} AS user
    """,
    write=True,
)
"""Viewer ``a`` lifts a block of ``b`` (no event; follows are not restored). ``{changed, user}``, or no row
(nothing written) for an unknown user or one who blocks the viewer."""
