"""Cypher statements that change the follow graph: follow, unfollow, requests, remove follower, block.

Graph shape (DESIGN.md "Data model")::

    (:User)-[:FOLLOWS {created_at}]->(:User)      a follow; counted in follower_count / following_count
    (:User)-[:REQUESTED {created_at}]->(:User)    a pending request to a private account (not counted)
    (:User)-[:BLOCKS {created_at}]->(:User)

Each use case is ONE statement (atomic on Neo4j and FalkorDB) that reads the pair's current state, then
changes the edge, the two counters and writes its Outbox node only when something really changed: every
write sits in ``FOREACH (_ IN CASE WHEN <changed> THEN [1] ELSE [] END | ...)``, so a repeated call
writes nothing. Counters move by exactly the number of edges created or deleted.

Concurrency: the edge itself is written with ``MERGE`` and the counters in its ``ON CREATE SET``, so two
concurrent follows of one pair give one edge and one increment on both engines (FalkorDB runs one write
query at a time per graph; Neo4j's MERGE locks both end nodes). The Outbox node and the deletions are decided
by the state read at the top of the statement: exact on FalkorDB, whose writers are serialised; on Neo4j
(READ COMMITTED) two exactly concurrent duplicates may both emit an event, which consumers absorb (they are
idempotent per edge).

The state is read with ``OPTIONAL MATCH`` + ``count``/``collect``, not pattern comprehensions: FalkorDB
4.16 caches the plan of a pattern comprehension over a relationship type that does not exist yet as "no
match" and keeps answering empty after the type appears (reproduced on a fresh graph), while ``OPTIONAL
MATCH`` and ``WHERE`` pattern predicates re-resolve the type.

Parameters: ``$viewer_id`` and the other user's ``$target_id`` / ``$requester_id`` / ``$follower_id`` (raw
user ids), ``$now`` (epoch ms), ``$outbox`` (and, for ``FOLLOW``, ``$follow_outbox`` / ``$request_outbox``):
``events.envelope.Event.outbox_props()`` maps.
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.statements.outbox import WRITE_OUTBOX, write_outbox_if
from graph.statements.users import USER_FIELDS

FOLLOW = cypher(
    "follows.FOLLOW",
    f"""
    MATCH (a:User {{id: $viewer_id}})
    MATCH (b:User {{id: $target_id}})
    OPTIONAL MATCH (a)-[blk:BLOCKS]-(b)
    WITH a, b, count(blk) > 0 AS blocked
    OPTIONAL MATCH (a)-[fol:FOLLOWS]->(b)
    WITH a, b, blocked, count(fol) > 0 AS following
    OPTIONAL MATCH (a)-[req:REQUESTED]->(b)
    WITH a, b, blocked, following, collect(req) AS requests
    WITH a, b, requests,
         CASE WHEN blocked THEN 'BLOCKED'
              WHEN following THEN 'FOLLOWING'
              WHEN coalesce(b.is_private, false) AND size(requests) > 0 THEN 'REQUESTED'
              WHEN coalesce(b.is_private, false) THEN 'request'
              ELSE 'follow' END AS action
    FOREACH (_ IN CASE WHEN action = 'follow' THEN [1] ELSE [] END |
        MERGE (a)-[f:FOLLOWS]->(b)
          ON CREATE SET f.created_at = $now,
                        a.following_count = coalesce(a.following_count, 0) + 1,
                        b.follower_count = coalesce(b.follower_count, 0) + 1
        CREATE (created_event:Outbox) SET created_event = $follow_outbox)
    FOREACH (_ IN CASE WHEN action = 'request' THEN [1] ELSE [] END |
        MERGE (a)-[r:REQUESTED]->(b) ON CREATE SET r.created_at = $now
        CREATE (requested_event:Outbox) SET requested_event = $request_outbox)
    FOREACH (stale IN CASE WHEN action = 'follow' THEN requests ELSE [] END | DELETE stale)
    RETURN CASE action WHEN 'follow' THEN 'FOLLOWING' WHEN 'request' THEN 'REQUESTED' ELSE action END
             AS status,
           action IN ['follow', 'request'] AS changed,
           b {USER_FIELDS} AS user
    """,
    write=True,
)
"""Viewer ``a`` follows ``b``: a FOLLOWS edge (public ``b``) or a REQUESTED edge (private ``b``).

Returns one row ``{status, changed, user}`` with ``status`` in FOLLOWING / REQUESTED / BLOCKED (a block
either way; nothing written), or no row when either user does not exist. A stale request to an account that
became public is deleted when the follow is created."""

def _drop_follow(*, follower: str, followee: str, other: str, event_when: str) -> str:
    """A statement deleting the FOLLOWS and the pending REQUESTED edge ``a`` -> ``b`` (``a`` = ``$<follower>``,
    ``b`` = ``$<followee>``) with exact counter updates, and ``$outbox`` when ``event_when`` holds. ``other``
    (``"a"`` or ``"b"``) is the user who is not the viewer: it is returned, and ``hidden`` says it blocks
    the viewer. Returns ``{hidden, follows_deleted, requests_deleted, user}``, or no row for an unknown user."""
    viewer = "b" if other == "a" else "a"
    return f"""
    MATCH (a:User {{id: ${follower}}})
    MATCH (b:User {{id: ${followee}}})
    OPTIONAL MATCH ({other})-[hid:BLOCKS]->({viewer})
    WITH a, b, count(hid) > 0 AS hidden
    OPTIONAL MATCH (a)-[fol:FOLLOWS]->(b)
    WITH a, b, hidden, collect(fol) AS follows
    OPTIONAL MATCH (a)-[req:REQUESTED]->(b)
    WITH a, b, hidden, follows, collect(req) AS requests
    FOREACH (gone IN follows | DELETE gone)
    FOREACH (gone_request IN requests | DELETE gone_request)
    FOREACH (_ IN CASE WHEN size(follows) > 0 THEN [1] ELSE [] END |
        SET a.following_count = coalesce(a.following_count, 0) - size(follows),
            b.follower_count = coalesce(b.follower_count, 0) - size(follows))
    {write_outbox_if(event_when)}
    RETURN hidden, size(follows) AS follows_deleted, size(requests) AS requests_deleted, {other} {USER_FIELDS} AS user
    """


UNFOLLOW = cypher(
    "follows.UNFOLLOW",
    _drop_follow(
        follower="viewer_id", followee="target_id", other="b", event_when="size(follows) + size(requests) > 0"
    ),
    write=True,
)
"""Viewer ``a`` stops following ``b`` and withdraws a pending request; ``follow.removed`` when either existed.

Returns ``{hidden, follows_deleted, requests_deleted, user}`` (``user`` = ``b``), or no row for an unknown
user."""

APPROVE_REQUEST = cypher(
    "follows.APPROVE_REQUEST",
    f"""
    MATCH (a:User {{id: $requester_id}})
    MATCH (b:User {{id: $viewer_id}})
    OPTIONAL MATCH (a)-[fol:FOLLOWS]->(b)
    WITH a, b, count(fol) > 0 AS following
    OPTIONAL MATCH (a)-[req:REQUESTED]->(b)
    WITH a, b, following, collect(req) AS requests
    FOREACH (_ IN CASE WHEN size(requests) > 0 AND NOT following THEN [1] ELSE [] END |
        MERGE (a)-[f:FOLLOWS]->(b)
          ON CREATE SET f.created_at = $now,
                        a.following_count = coalesce(a.following_count, 0) + 1,
                        b.follower_count = coalesce(b.follower_count, 0) + 1
        {WRITE_OUTBOX})
    FOREACH (approved IN requests | DELETE approved)
    RETURN CASE WHEN following OR size(requests) > 0 THEN 'FOLLOWING' ELSE 'NONE' END AS status,
           size(requests) > 0 AND NOT following AS changed,
           a {USER_FIELDS} AS user
    """,
    write=True,
)
"""Private account ``b`` (the viewer) accepts ``a``'s request: REQUESTED becomes FOLLOWS, ``follow.accepted``.

Returns ``{status, changed, user}`` (``user`` is the requester) with ``status`` FOLLOWING (also when ``a``
already follows: a retried approval) or NONE (no request, nothing written); no row for an unknown user."""

REJECT_REQUEST = cypher(
    "follows.REJECT_REQUEST",
    f"""
    MATCH (a:User {{id: $requester_id}})
    MATCH (b:User {{id: $viewer_id}})
    OPTIONAL MATCH (a)-[hid:BLOCKS]->(b)
    WITH a, b, count(hid) > 0 AS hidden
    OPTIONAL MATCH (a)-[fol:FOLLOWS]->(b)
    WITH a, b, hidden, count(fol) > 0 AS following
    OPTIONAL MATCH (a)-[req:REQUESTED]->(b)
    WITH a, hidden, following, collect(req) AS requests
    FOREACH (rejected IN requests | DELETE rejected)
    RETURN hidden, CASE WHEN following THEN 'FOLLOWING' ELSE 'NOT_FOLLOWING' END AS status,
           size(requests) AS rejected, a {USER_FIELDS} AS user
    """,
    write=True,
)
"""``b`` (the viewer) declines ``a``'s pending request; no event. ``{hidden, status, rejected, user}``
(``hidden``: ``a`` blocks ``b``) or no row."""

REMOVE_FOLLOWER = cypher(
    "follows.REMOVE_FOLLOWER",
    _drop_follow(follower="follower_id", followee="viewer_id", other="a", event_when="size(follows) > 0"),
    write=True,
)
"""``b`` (the viewer) removes follower ``a`` (and any pending request of ``a``); ``follow.removed`` when a
follow was deleted. ``{hidden, follows_deleted, requests_deleted, user}`` (``user`` = ``a``) or no row."""

BLOCK = cypher(
    "follows.BLOCK",
    f"""
    MATCH (a:User {{id: $viewer_id}})
    MATCH (b:User {{id: $target_id}})
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
requests_removed, user}`` or no row for an unknown user."""

UNBLOCK = cypher(
    "follows.UNBLOCK",
    f"""
    MATCH (a:User {{id: $viewer_id}})
    MATCH (b:User {{id: $target_id}})
    OPTIONAL MATCH (a)-[blk:BLOCKS]->(b)
    WITH b, collect(blk) AS blocks
    FOREACH (lifted IN blocks | DELETE lifted)
    RETURN size(blocks) > 0 AS changed, b {USER_FIELDS} AS user
    """,
    write=True,
)
"""Viewer ``a`` lifts a block of ``b`` (no event; follows are not restored). ``{changed, user}`` or no row."""
