"""Cypher statements of the engagement seed (``services/seed_engagement.py``): batched, idempotent imports.

Likes are MERGEd edges and comments are MERGEd by a deterministic id, so a second run adds nothing; counts
are recomputed from the edges afterwards instead of incremented. No Outbox node is written: a bulk import
is not a stream of user actions (it would flood notifications).
"""

from __future__ import annotations

from graph.cypher import cypher

#: Seeded, published posts with their author: rows ``{post_id, seed_key, caption, created_at, author_id}``
#: in ``seed_key`` order.
SEEDED_POSTS = cypher(
    "engagement_seed.SEEDED_POSTS",
    """
    MATCH (a:User)-[:POSTED]->(p:Post)
    WHERE p.seed_key IS NOT NULL AND p.status = 'PUBLISHED'
    RETURN p.id AS post_id, p.seed_key AS seed_key, p.caption AS caption, p.created_at AS created_at,
           a.id AS author_id
    ORDER BY seed_key
    """,
)

#: Followers of each author of ``$author_ids``: rows ``{author_id, followers: [{id, username}, ...]}``
#: (unordered: the caller sorts).
AUTHOR_FOLLOWERS = cypher(
    "engagement_seed.AUTHOR_FOLLOWERS",
    """
    UNWIND $author_ids AS author_id
    MATCH (f:User)-[:FOLLOWS]->(a:User {id: author_id})
    RETURN author_id, collect({id: f.id, username: f.username}) AS followers
    """,
)

#: MERGE likes ``$rows`` = ``[{user_id, post_id, at}]``; ``created_at`` is set only on a new edge.
SEED_LIKES = cypher(
    "engagement_seed.SEED_LIKES",
    """
    UNWIND $rows AS row
    MATCH (u:User {id: row.user_id})
    MATCH (p:Post {id: row.post_id})
    MERGE (u)-[l:LIKED]->(p)
    ON CREATE SET l.created_at = row.at
    RETURN count(l) AS likes
    """,
    write=True,
)

#: MERGE comments ``$rows`` = ``[{id, user_id, post_id, text, at}]`` by id, with their edges.
SEED_COMMENTS = cypher(
    "engagement_seed.SEED_COMMENTS",
    """
    UNWIND $rows AS row
    MATCH (u:User {id: row.user_id})
    MATCH (p:Post {id: row.post_id})
    MERGE (c:Comment {id: row.id})
    ON CREATE SET c.text = row.text, c.created_at = row.at, c.deleted = false
    MERGE (u)-[:WROTE]->(c)
    MERGE (c)-[:ON]->(p)
    RETURN count(c) AS comments
    """,
    write=True,
)

#: Recompute ``like_count`` and ``comment_count`` of ``$ids`` from the edges and live comments.
RECOUNT_ENGAGEMENT = cypher(
    "engagement_seed.RECOUNT_ENGAGEMENT",
    """
    UNWIND $ids AS post_id
    MATCH (p:Post {id: post_id})
    WITH p, size([(u:User)-[:LIKED]->(p) | 1]) AS likes,
         size([(c:Comment)-[:ON]->(p) WHERE NOT coalesce(c.deleted, false) | 1]) AS comments
    SET p.like_count = likes, p.comment_count = comments
    RETURN count(p) AS posts
    """,
    write=True,
)
