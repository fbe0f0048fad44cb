"""Cypher statements of explore: the candidate pool and the per-viewer filter and page (valid on Neo4j 5 and
FalkorDB 4.16).

Explore shows recent PUBLISHED posts of PUBLIC accounts the viewer does not follow (and not their own), never
across a block either way. The pool is the same for every viewer (``system=True``: it is computed for the
service, not shown as such); each viewer's ordering is filtered by ``EXPLORE_FILTER`` and every page again by
``EXPLORE_PAGE`` at read time, so a follow, a block or a deletion since the ordering was made is respected.
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.statements.search import hydrated_posts
from graph.statements.visibility import post_visible

#: The explore rule for the post ``p`` by ``a`` and the nullable viewer ``v``, as a ``WHERE`` expression.
_EXPLORABLE = (
    f"{post_visible('p', 'a', 'v')} AND NOT coalesce(a.is_private, false)"
    " AND (v IS NULL OR (a.id <> v.id AND NOT (v)-[:FOLLOWS]->(a)))"
)

#: Candidates: PUBLISHED posts of public authors created at or after ``$since`` (ms), the most engaged first,
#: at most ``$limit``. Rows: ``{id, author_id, published_at, likes, comments}``.
EXPLORE_CANDIDATES = cypher(
    "explore.EXPLORE_CANDIDATES",
    """
    MATCH (a:User)-[:POSTED]->(p:Post)
    WHERE p.created_at >= $since AND p.status = 'PUBLISHED' AND NOT coalesce(a.is_private, false)
    WITH a, p, coalesce(p.like_count, 0) AS likes, coalesce(p.comment_count, 0) AS comments
    RETURN p.id AS id, a.id AS author_id, coalesce(p.published_at, p.created_at) AS published_at, likes, comments
    ORDER BY likes + comments DESC, published_at DESC
    LIMIT $limit
    """,
    system=True,
)

# The posts of ``$ids`` (``p``, by ``a``) that ``$viewer_id`` (``v``) may explore.
_EXPLORABLE_OF_IDS = f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $ids AS post_id
    MATCH (a:User)-[:POSTED]->(p:Post {{id: post_id}})
    WHERE {_EXPLORABLE}
"""

#: Which posts of ``$ids`` ``$viewer_id`` ("": anonymous) may explore. Rows: ``{id}``.
EXPLORE_FILTER = cypher(
    "explore.EXPLORE_FILTER",
    f"""
    {_EXPLORABLE_OF_IDS.strip()}
    RETURN p.id AS id
    """,
)

#: The posts of ``$ids`` ``$viewer_id`` may explore, hydrated (``hydrated_posts``).
EXPLORE_PAGE = cypher(
    "explore.EXPLORE_PAGE",
    f"""
    {_EXPLORABLE_OF_IDS.strip()}
    {hydrated_posts().strip()}
    """,
)
