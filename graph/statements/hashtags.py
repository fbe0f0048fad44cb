"""Cypher statements of hashtags: a tag's page and count for a viewer, and the post the trending worker counts
(valid on Neo4j 5 and FalkorDB 4.16).

Graph shape: ``(:Post)-[:TAGGED {position}]->(:Hashtag {name})``, names case-folded by the caption parser and
unique (``Hashtag.name`` carries a constraint). A tag's posts are PUBLISHED posts the viewer may see
(``post_visible``), newest first by the keyset ``(created_at, id)`` (``graph.keyset``).
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.keyset import keyset_before
from graph.statements.search import hydrated_posts
from graph.statements.visibility import post_visible

#: The tag ``$name`` and how many of its posts ``$viewer_id`` ("": anonymous) may see. Rows: one
#: ``{name, posts}``, or none when no post ever used the tag.
HASHTAG = cypher(
    "hashtags.HASHTAG",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    MATCH (h:Hashtag {{name: $name}})
    OPTIONAL MATCH (h)<-[:TAGGED]-(p:Post)<-[:POSTED]-(a:User)
    WHERE {post_visible("p", "a", "v")}
    RETURN h.name AS name, count(p) AS posts
    """,
)

#: One page of the tag ``$name``'s posts that ``$viewer_id`` may see, newest first, strictly before the keyset
#: ``($before_ts, $before_id)`` (null ts: the first page), at most ``$limit``, hydrated (``hydrated_posts``;
#: rows in no particular order: the service sorts them).
HASHTAG_POSTS = cypher(
    "hashtags.HASHTAG_POSTS",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    MATCH (h:Hashtag {{name: $name}})<-[:TAGGED]-(p:Post)<-[:POSTED]-(a:User)
    WHERE {post_visible("p", "a", "v")}
      AND {keyset_before("p.created_at", "p.id", "before_ts", "before_id")}
    WITH v, a, p
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT $limit
    {hydrated_posts().strip()}
    """,
)

#: The post ``$post_id`` as the trend counters need it: ``{status, author_id, published_at, tags}``
#: (``published_at`` falls back to ``created_at``), or no row.
TREND_POST = cypher(
    "hashtags.TREND_POST",
    """
    MATCH (a:User)-[:POSTED]->(p:Post {id: $post_id})
    RETURN p.status AS status, a.id AS author_id, coalesce(p.published_at, p.created_at) AS published_at,
           [(p)-[:TAGGED]->(h:Hashtag) | h.name] AS tags
    """,
    system=True,
)

#: PUBLISHED posts with at least one tag, published at or after ``$since`` (ms), ids greater than ``$after``,
#: ascending, at most ``$limit`` (the recount's pages). Rows: ``{id, author_id, published_at, tags}``.
RECENT_TAGGED_POSTS = cypher(
    "hashtags.RECENT_TAGGED_POSTS",
    """
    MATCH (a:User)-[:POSTED]->(p:Post)
    WHERE p.status = 'PUBLISHED' AND p.id > $after AND coalesce(p.published_at, p.created_at) >= $since
    WITH a, p, [(p)-[:TAGGED]->(h:Hashtag) | h.name] AS tags
    WHERE size(tags) > 0
    RETURN p.id AS id, a.id AS author_id, coalesce(p.published_at, p.created_at) AS published_at, tags
    ORDER BY id
    LIMIT $limit
    """,
    system=True,
)
