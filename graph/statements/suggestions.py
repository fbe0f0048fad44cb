"""Cypher statements of suggested users: friends of friends ranked by mutual follows.

Grouped counts count a variable, never ``count(*)``: FalkorDB 4.16 answers 1 for every group of
``MATCH (a)-->(b)-->(c) WITH c, count(*)`` (reproduced on the SNAP graph; ``count(b)`` is right). Exclusions
after an aggregation use ``OPTIONAL MATCH`` between the two bound nodes, not ``WHERE NOT (a)-->(b)``: on
FalkorDB the predicate expands the viewer's whole adjacency per row (2.4 s for fb_107's 2,676 candidates
against 0.13 s).
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.statements.users import USER_FIELDS
from graph.statements.visibility import viewer_relation

SUGGESTIONS = cypher(
    "suggestions.SUGGESTIONS",
    f"""
    MATCH (viewer:User {{id: $viewer_id}})-[:FOLLOWS]->(mutual_via:User)-[:FOLLOWS]->(candidate:User)
    WHERE candidate.id <> $viewer_id
    WITH viewer, candidate, count(mutual_via) AS mutual
    {viewer_relation("viewer", "candidate", "viewer, candidate, mutual")}
    WHERE NOT viewer_follows AND NOT blocked
    OPTIONAL MATCH (viewer)-[pending:REQUESTED]->(candidate)
    WITH viewer, candidate, mutual, count(pending) AS requested
    WHERE requested = 0
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

SUGGESTION_USERS = cypher(
    "suggestions.SUGGESTION_USERS",
    f"""
    MATCH (viewer:User {{id: $viewer_id}})
    UNWIND $ids AS candidate_id
    MATCH (candidate:User {{id: candidate_id}})
    WHERE candidate.id <> $viewer_id
    {viewer_relation("viewer", "candidate", "viewer, candidate")}
    WHERE NOT viewer_follows AND NOT blocked
    OPTIONAL MATCH (viewer)-[pending:REQUESTED]->(candidate)
    WITH viewer, candidate, count(pending) AS requested
    WHERE requested = 0
    MATCH (viewer)-[:FOLLOWS]->(via:User)-[:FOLLOWS]->(candidate)
    WITH candidate, via
    ORDER BY via.follower_count DESC, via.username
    WITH candidate, count(via) AS mutual, collect(via.username) AS names
    RETURN candidate {USER_FIELDS} AS user, mutual, names[0..2] AS names
    """,
)
"""The cached suggestion candidates ``$ids`` of ``$viewer_id`` checked again: the ones still not followed,
requested or blocked either way and still followed by someone the viewer follows, with their fresh ``mutual``
count and ``names``: rows ``{user, mutual, names}`` as ``SUGGESTIONS`` (O(candidates x followees), not the
two-hop expansion)."""
