"""Cypher statements of the follow graph: follow, unfollow, requests, remove follower (writes), and the
follower/following/request pages, viewer flags and mutual followers (reads).

Graph shape (DESIGN.md "Data model")::

    (:User)-[:FOLLOWS {created_at}]->(:User)      a follow; counted in follower_count / following_count
    (:User)-[:REQUESTED {created_at}]->(:User)    a pending request to a private account (not counted)
    (:User)-[:BLOCKS {created_at}]->(:User)       see graph.statements.blocks

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

Pages are keyset pages, newest first by ``(FOLLOWS.created_at DESC, user.id DESC)``: ``$after_at`` /
``$after_id`` (null for the first page) and ``$limit`` (= first + 1, so the caller sees whether a next page
exists); the filter is ``graph.keyset.keyset_before`` (FalkorDB 4.16 mis-answers ``other.id < $x`` from the
``User.id`` index). Users who block the viewer are left out of every list (they are ``NOT_FOUND`` to the
viewer). Lists come back collected with their sort key; callers re-sort them, so no statement relies on
``collect`` keeping ``ORDER BY`` order.
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.keyset import keyset_before
from graph.statements.outbox import WRITE_OUTBOX, write_outbox_if
from graph.statements.users import USER_FIELDS
from graph.statements.visibility import can_view, user_visible, viewer_relation

FOLLOW = cypher(
    "follows.FOLLOW",
    f"""
    MATCH (a:User {{id: $viewer_id}})
    MATCH (b:User {{id: $target_id}})
    OPTIONAL MATCH (b)-[hid:BLOCKS]->(a)
    WITH a, b, count(hid) > 0 AS hidden
    OPTIONAL MATCH (a)-[blk:BLOCKS]->(b)
    WITH a, b, hidden, count(blk) > 0 AS blocked
    OPTIONAL MATCH (a)-[fol:FOLLOWS]->(b)
    WITH a, b, hidden, blocked, count(fol) > 0 AS following
    OPTIONAL MATCH (a)-[req:REQUESTED]->(b)
    WITH a, b, hidden, blocked, following, collect(req) AS requests
    WITH a, b, requests,
         CASE WHEN hidden THEN 'HIDDEN'
              WHEN blocked THEN 'BLOCKED'
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

Returns one row ``{status, changed, user}`` with ``status`` in FOLLOWING / REQUESTED / HIDDEN (``b`` blocks
the viewer: ``b`` is NOT_FOUND to them; nothing written) / BLOCKED (the viewer blocks ``b``; nothing
written), or no row when either user does not exist. A stale request to an account that
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
    OPTIONAL MATCH (a)-[hid:BLOCKS]->(b)
    WITH a, b, count(hid) > 0 AS hidden
    OPTIONAL MATCH (a)-[fol:FOLLOWS]->(b)
    WITH a, b, hidden, count(fol) > 0 AS following
    OPTIONAL MATCH (a)-[req:REQUESTED]->(b)
    WITH a, b, hidden, following, CASE WHEN hidden THEN [] ELSE collect(req) END AS requests
    FOREACH (_ IN CASE WHEN size(requests) > 0 AND NOT following THEN [1] ELSE [] END |
        MERGE (a)-[f:FOLLOWS]->(b)
          ON CREATE SET f.created_at = $now,
                        a.following_count = coalesce(a.following_count, 0) + 1,
                        b.follower_count = coalesce(b.follower_count, 0) + 1
        {WRITE_OUTBOX})
    FOREACH (approved IN requests | DELETE approved)
    RETURN hidden, CASE WHEN following OR size(requests) > 0 THEN 'FOLLOWING' ELSE 'NONE' END AS status,
           size(requests) > 0 AND NOT following AS changed,
           a {USER_FIELDS} AS user
    """,
    write=True,
)
"""Private account ``b`` (the viewer) accepts ``a``'s request: REQUESTED becomes FOLLOWS, ``follow.accepted``.

Returns ``{hidden, status, changed, user}`` (``user`` is the requester; ``hidden``: ``a`` blocks the viewer,
nothing written) with ``status`` FOLLOWING (also when ``a`` already follows: a retried approval) or NONE (no
request, nothing written); no row for an unknown user."""

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
    {write_outbox_if("size(requests) > 0")}
    RETURN hidden, CASE WHEN following THEN 'FOLLOWING' ELSE 'NOT_FOLLOWING' END AS status,
           size(requests) AS rejected, a {USER_FIELDS} AS user
    """,
    write=True,
)
"""``b`` (the viewer) declines ``a``'s pending request; ``follow.removed`` when a request was deleted (the
request's notification goes with it). ``{hidden, status, rejected, user}`` (``hidden``: ``a`` blocks ``b``) or
no row."""

REMOVE_FOLLOWER = cypher(
    "follows.REMOVE_FOLLOWER",
    _drop_follow(follower="follower_id", followee="viewer_id", other="a", event_when="size(follows) > 0"),
    write=True,
)
"""``b`` (the viewer) removes follower ``a`` (and any pending request of ``a``); ``follow.removed`` when a
follow was deleted. ``{hidden, follows_deleted, requests_deleted, user}`` (``user`` = ``a``) or no row."""

# -- reads: followers, following, requests, viewer flags, mutual followers ----------------------------

_KEYSET = keyset_before("edge.created_at", "other.id", "after_at", "after_id")
#: ``CASE`` because FalkorDB projects a null node to a map of nulls (Neo4j: null, which ``collect`` skips).
_PAGE_ITEM = (
    "CASE WHEN other IS NULL THEN null"
    f" ELSE other {{{USER_FIELDS[1:-1]}, edge_created_at: edge.created_at}} END"
)


def _page(pattern: str, counter: str) -> str:
    """One keyset page per owner of ``$user_ids``, in ONE statement: the edges of every owner are sorted
    together and each owner's are collected in that order and cut at ``$limit`` (a Cypher list slice keeps
    ``collect``'s order, which follows ``ORDER BY``), so a DataLoader batch of parents costs one round
    trip whatever its size."""
    return f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $user_ids AS owner_id
    MATCH (owner:User {{id: owner_id}})
    OPTIONAL MATCH (gate:User {{id: owner_id}}) WHERE {can_view("gate", "v")}
    WITH v, owner, gate IS NOT NULL AS visible
    OPTIONAL MATCH {pattern}
    WHERE visible AND {_KEYSET} AND {user_visible("other", "v")}
    WITH owner, visible, other, edge
    ORDER BY edge.created_at DESC, other.id DESC
    WITH owner, visible, collect({_PAGE_ITEM}) AS users
    RETURN owner.id AS id, visible, coalesce(owner.{counter}, 0) AS total, users[0..$limit] AS users
    """


FOLLOWERS_PAGE = cypher(
    "follows.FOLLOWERS_PAGE",
    _page("(other:User)-[edge:FOLLOWS]->(owner)", "follower_count"),
)
"""The followers of each of ``$user_ids`` as seen by ``$viewer_id``, newest first, keyset-filtered by
``$after_at``/``$after_id``: one row per existing owner ``{id, visible, total, users}`` (``total`` is the
counter; ``users``, at most ``$limit``, carry ``edge_created_at`` and are empty when not ``visible``)."""

FOLLOWING_PAGE = cypher(
    "follows.FOLLOWING_PAGE",
    _page("(owner)-[edge:FOLLOWS]->(other:User)", "following_count"),
)
"""The followees of each of ``$user_ids``, same shape as ``FOLLOWERS_PAGE``."""

def _edges(pattern: str) -> str:
    return f"""
    MATCH {pattern}
    RETURN other.id AS id, coalesce(edge.created_at, 0) AS created_at
    """


FOLLOWER_EDGES = cypher("follows.FOLLOWER_EDGES", _edges("(other:User)-[edge:FOLLOWS]->(:User {id: $owner_id})"),
                        system=True)
"""Every follower of ``$owner_id`` as ``{id, created_at}`` (no order): what ``cache.edge_index`` rebuilds
``followers:{owner}`` from, once per key (a cache fill: nothing of it is shown before ``FOLLOW_PAGE_USERS``
checked it for the viewer)."""

FOLLOWEE_EDGES = cypher("follows.FOLLOWEE_EDGES", _edges("(:User {id: $owner_id})-[edge:FOLLOWS]->(other:User)"),
                        system=True)
"""Every followee of ``$owner_id`` as ``{id, created_at}``, for ``following:{owner}``."""


_EDGE_ITEM = (
    "CASE WHEN edge IS NULL THEN null"
    f" ELSE other {{{USER_FIELDS[1:-1]}, edge_created_at: edge.created_at}} END"
)


def _page_users(pattern: str, counter: str) -> str:
    """Hydrate index pages: per ``$pages`` row ``{owner_id, ids}`` the users of ``ids`` whose edge with the
    owner still exists and whom the viewer may see, with the edge's time; O(page): each edge is found by an
    expand-into between two nodes bound by id.

    ``probe`` is the viewer, or for an anonymous viewer the owner itself. The owner's gate is
    ``viewer_relation`` between the owner and ``probe`` (for nobody: no follow, no block, and
    ``$viewer_id IS NULL`` keeps a private owner hidden); each listed user is checked with ``user_visible``
    against ``probe`` (for nobody: "does not block the owner", which every follower and followee satisfies, since
    a block removes the follows both ways). FalkorDB 4.16 evaluates a pattern predicate on a NULL variable
    (``NOT (other)-[:BLOCKS]->(v)`` after an ``OPTIONAL MATCH`` of no viewer) by scanning every node: 0.3 ms per
    listed user on a graph of 100,000 users, where the bound check costs microseconds."""
    return f"""
    UNWIND $pages AS page
    MATCH (owner:User {{id: page.owner_id}})
    MATCH (probe:User {{id: coalesce($viewer_id, page.owner_id)}})
    {viewer_relation("probe", "owner", "owner, page, probe")}
    WITH owner, page, probe, NOT blocked AND (NOT coalesce(owner.is_private, false) OR
         ($viewer_id IS NOT NULL AND (owner.id = $viewer_id OR viewer_follows))) AS visible
    UNWIND CASE WHEN visible AND size(page.ids) > 0 THEN page.ids ELSE [null] END AS other_id
    OPTIONAL MATCH (other:User {{id: other_id}})
    WITH owner, probe, visible, other
    OPTIONAL MATCH {pattern}
    WHERE {user_visible("other", "probe")}
    WITH owner, visible, other, edge
    RETURN owner.id AS id, visible, coalesce(owner.{counter}, 0) AS total, collect({_EDGE_ITEM}) AS items
    """


FOLLOWER_PAGE_USERS = cypher(
    "follows.FOLLOWER_PAGE_USERS", _page_users("(other)-[edge:FOLLOWS]->(owner)", "follower_count")
)
"""The followers named by index pages (``$pages``: ``[{owner_id, ids}]``) as ``$viewer_id`` may see them:
one row per existing owner ``{id, visible, total, items}`` (``items``: users with ``edge_created_at``; an id
whose follow is gone, or who blocks the viewer, is absent; empty when the owner is not ``visible``)."""

FOLLOWEE_PAGE_USERS = cypher(
    "follows.FOLLOWEE_PAGE_USERS", _page_users("(owner)-[edge:FOLLOWS]->(other)", "following_count")
)
"""The followees named by index pages, same shape as ``FOLLOWER_PAGE_USERS``."""

FOLLOW_REQUESTS_PAGE = cypher(
    "follows.FOLLOW_REQUESTS_PAGE",
    f"""
    MATCH (owner:User {{id: $viewer_id}})
    OPTIONAL MATCH (:User)-[pending:REQUESTED]->(owner)
    WITH owner, count(pending) AS total
    OPTIONAL MATCH (other:User)-[edge:REQUESTED]->(owner)
    WHERE {_KEYSET}
    WITH total, other, edge
    ORDER BY edge.created_at DESC, other.id DESC
    LIMIT $limit
    RETURN total, collect({_PAGE_ITEM}) AS users
    """,
)
"""Pending requests to the viewer ``$viewer_id``: one row ``{total, users}``, newest first."""

RELATIONSHIPS = cypher(
    "follows.RELATIONSHIPS",
    """
    MATCH (viewer:User {id: $viewer_id})
    UNWIND $ids AS user_id
    MATCH (u:User {id: user_id})
    OPTIONAL MATCH (viewer)-[vf:FOLLOWS]->(u)
    WITH viewer, u, count(vf) > 0 AS viewer_follows
    OPTIONAL MATCH (u)-[fv:FOLLOWS]->(viewer)
    WITH viewer, u, viewer_follows, count(fv) > 0 AS follows_viewer
    OPTIONAL MATCH (viewer)-[vr:REQUESTED]->(u)
    WITH viewer, u, viewer_follows, follows_viewer, count(vr) > 0 AS viewer_has_requested
    OPTIONAL MATCH (viewer)-[vb:BLOCKS]->(u)
    RETURN u.id AS id, viewer_follows, follows_viewer, viewer_has_requested, count(vb) > 0 AS viewer_blocks
    """,
)
"""Viewer flags for a batch of ``$ids``: one row per existing user ``{id, viewer_follows, follows_viewer,
viewer_has_requested, viewer_blocks}``; no rows when the viewer does not exist."""

MUTUAL_FOLLOWERS = cypher(
    "follows.MUTUAL_FOLLOWERS",
    f"""
    MATCH (viewer:User {{id: $viewer_id}})
    UNWIND $ids AS user_id
    MATCH (u:User {{id: user_id}})
    OPTIONAL MATCH (viewer)-[:FOLLOWS]->(other:User)-[:FOLLOWS]->(u)
    WHERE other.id <> u.id AND {user_visible("other", "viewer")}
    WITH u, other
    ORDER BY other.follower_count DESC, other.username
    WITH u, collect(CASE WHEN other IS NULL THEN null ELSE other {USER_FIELDS} END) AS mutuals
    RETURN u.id AS id, size(mutuals) AS total, mutuals[0..$first] AS users
    """,
)
"""For each of ``$ids``: people ``$viewer_id`` follows who follow that user, most-followed first, at most
``$first``: ``{id, total, users}``. The slice relies on ``collect`` after ``ORDER BY``; callers re-sort."""


MUTUALS_CHECK = cypher(
    "follows.MUTUALS_CHECK",
    f"""
    MATCH (viewer:User {{id: $viewer_id}})
    UNWIND $pairs AS pair
    MATCH (u:User {{id: pair.user_id}})
    UNWIND CASE WHEN size(pair.ids) > 0 THEN pair.ids ELSE [null] END AS other_id
    OPTIONAL MATCH (other:User {{id: other_id}})
    WITH viewer, u, other
    OPTIONAL MATCH (viewer)-[first:FOLLOWS]->(other)-[second:FOLLOWS]->(u)
    WHERE other.id <> u.id AND {user_visible("other", "viewer")}
    WITH u, CASE WHEN second IS NULL THEN null ELSE other {USER_FIELDS} END AS mutual
    RETURN u.id AS id, collect(mutual) AS users
    """,
)
"""The cached mutual followers of ``$pairs`` (``[{user_id, ids}]``) for ``$viewer_id`` checked again: per
user, the listed people the viewer still follows who still follow that user and do not block the viewer
(``{id, users}``; O(listed), each edge an expand-into between bound nodes)."""
