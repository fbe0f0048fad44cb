"""Read statements of the follow graph: follower/following pages, requests, viewer flags, mutuals,
suggestions.

Pages are keyset pages, newest first by ``(FOLLOWS.created_at DESC, user.id DESC)``: ``$after_at`` /
``$after_id`` (null for the first page) and ``$limit`` (= first + 1, so the caller sees whether a next page
exists). Users who block the viewer are left out of every list (they are ``NOT_FOUND`` to the viewer). Lists
come back collected with their sort key; callers re-sort them, so no statement relies on ``collect`` keeping
``ORDER BY`` order. State is read with ``OPTIONAL MATCH`` / ``WHERE`` predicates, never pattern
comprehensions (see ``graph.statements.follows``). Grouped counts count a variable, never ``count(*)``:
FalkorDB 4.16 answers 1 for every group of ``MATCH (a)-->(b)-->(c) WITH c, count(*)`` (reproduced on the
SNAP graph; ``count(b)`` is right). Exclusions after an aggregation use ``OPTIONAL MATCH`` between the two
bound nodes, not ``WHERE NOT (a)-->(b)``: on FalkorDB the predicate expands the viewer's whole adjacency
per row (2.4 s for fb_107's 2,676 candidates against 0.13 s).
The page filter is ``graph.keyset.keyset_before`` (FalkorDB 4.16 mis-answers ``other.id < $x`` from the
``User.id`` index).
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.keyset import keyset_before
from graph.statements.users import USER_FIELDS
from graph.statements.visibility import can_view_predicate

_KEYSET = keyset_before("edge.created_at", "other.id", "after_at", "after_id")
_NOT_HIDDEN = "NOT (other)-[:BLOCKS]->(:User {id: $viewer_id})"
#: ``CASE`` because FalkorDB projects a null node to a map of nulls (Neo4j: null, which ``collect`` skips).
_PAGE_ITEM = (
    "CASE WHEN other IS NULL THEN null"
    f" ELSE other {{{USER_FIELDS[1:-1]}, edge_created_at: edge.created_at}} END"
)


def _page(pattern: str, counter: str) -> str:
    return f"""
    MATCH (owner:User {{id: $user_id}})
    OPTIONAL MATCH (gate:User {{id: $user_id}}) WHERE {can_view_predicate("gate")}
    WITH owner, gate IS NOT NULL AS visible
    OPTIONAL MATCH {pattern}
    WHERE visible AND {_KEYSET} AND {_NOT_HIDDEN}
    WITH owner, visible, other, edge
    ORDER BY edge.created_at DESC, other.id DESC
    LIMIT $limit
    RETURN visible, coalesce(owner.{counter}, 0) AS total, collect({_PAGE_ITEM}) AS users
    """


FOLLOWERS_PAGE = cypher(
    "social_reads.FOLLOWERS_PAGE",
    _page("(other:User)-[edge:FOLLOWS]->(owner)", "follower_count"),
)
"""``$user_id``'s followers as seen by ``$viewer_id``: one row ``{visible, total, users}`` (``total`` is the
counter, ``users`` maps carry ``edge_created_at`` and are empty when not ``visible``); no row for an
unknown user."""

FOLLOWING_PAGE = cypher(
    "social_reads.FOLLOWING_PAGE",
    _page("(owner)-[edge:FOLLOWS]->(other:User)", "following_count"),
)
"""``$user_id``'s followees, same shape as ``FOLLOWERS_PAGE``."""

FOLLOW_REQUESTS_PAGE = cypher(
    "social_reads.FOLLOW_REQUESTS_PAGE",
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
    "social_reads.RELATIONSHIPS",
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
    "social_reads.MUTUAL_FOLLOWERS",
    f"""
    MATCH (viewer:User {{id: $viewer_id}})
    UNWIND $ids AS user_id
    MATCH (u:User {{id: user_id}})
    OPTIONAL MATCH (viewer)-[:FOLLOWS]->(other:User)-[:FOLLOWS]->(u)
    WHERE other.id <> u.id
    WITH u, other
    ORDER BY other.follower_count DESC, other.username
    WITH u, collect(CASE WHEN other IS NULL THEN null ELSE other {USER_FIELDS} END) AS mutuals
    RETURN u.id AS id, size(mutuals) AS total, mutuals[0..$first] AS users
    """,
)
"""For each of ``$ids``: people ``$viewer_id`` follows who follow that user, most-followed first, at most
``$first``: ``{id, total, users}``. The slice relies on ``collect`` after ``ORDER BY``; callers re-sort."""

SUGGESTIONS = cypher(
    "social_reads.SUGGESTIONS",
    f"""
    MATCH (viewer:User {{id: $viewer_id}})-[:FOLLOWS]->(mutual_via:User)-[:FOLLOWS]->(candidate:User)
    WHERE candidate.id <> $viewer_id
    WITH viewer, candidate, count(mutual_via) AS mutual
    OPTIONAL MATCH (viewer)-[known:FOLLOWS|REQUESTED]->(candidate)
    WITH viewer, candidate, mutual, count(known) AS known_edges
    WHERE known_edges = 0
    OPTIONAL MATCH (viewer)-[blocked:BLOCKS]-(candidate)
    WITH viewer, candidate, mutual, count(blocked) AS block_edges
    WHERE block_edges = 0
    WITH viewer, candidate, mutual
    ORDER BY mutual DESC, candidate.follower_count DESC, candidate.id
    LIMIT $limit
    MATCH (viewer)-[:FOLLOWS]->(via:User)-[:FOLLOWS]->(candidate)
    WITH candidate, mutual, via
    ORDER BY via.follower_count DESC, via.username
    WITH candidate, mutual, collect(via.username) AS names
    RETURN candidate {USER_FIELDS} AS user, mutual, names[0..2] AS names
    """,
)
"""Friends of friends of ``$viewer_id`` ranked by ``mutual`` (how many people the viewer follows follow
them), excluding the viewer, people already followed or requested and blocks either way; at most
``$limit`` rows ``{user, mutual, names}`` (``names``: two of those people, most-followed first). Rows come
unordered after the second aggregation; callers sort by ``(mutual DESC, follower_count DESC, id)``."""
