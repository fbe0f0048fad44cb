"""Cypher statements of the fan-out worker (all reads, run for the system, not a viewer).

The worker reloads what an event names by id (an event may be stale): the post and its author's follower
count, the follow state of a pair, the author's followers paged by id, and the ids of an author's recent posts.
Rows hold scalars only. Scores are publish times (``graph.statements.feed.SCORE``).

The fan-out records its decision in the graph: ``Post.pushed`` (true: pushed into the followers' feeds, false:
only in ``posts:{author}``), decided once and reused by a redelivered event, and ``User.pulled_at`` (the
score of the author's newest post that was not pushed), which makes every later feed read merge
``posts:{author}`` even after the author dropped below the celebrity threshold.
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.statements.feed import SCORE

#: Followers of ``$author_id`` with ids greater than ``$after`` (keyset), ascending, at most ``$limit``.
#: Rows: ``{id}``. The ``WITH`` before the id filter keeps FalkorDB from planning a range scan of the
#: ``User.id`` index over every user (40 ms instead of 4 ms for fb_107's 1,045 followers); likewise the
#: ``WITH p`` below keeps it from scanning the ``Post.status`` index over every post.
FOLLOWER_IDS_PAGE = cypher(
    "fanout.FOLLOWER_IDS_PAGE",
    """
    MATCH (a:User {id: $author_id})<-[:FOLLOWS]-(f:User)
    WITH f.id AS id
    WHERE id > $after
    RETURN id
    ORDER BY id
    LIMIT $limit
    """,
    system=True,
)

#: The post ``$post_id`` as the fan-out needs it. Rows (0 or 1):
#: ``{id, author_id, status, score, pushed (null before its fan-out), follower_count}``.
POST_FOR_FANOUT = cypher(
    "fanout.POST_FOR_FANOUT",
    f"""
    MATCH (a:User)-[:POSTED]->(p:Post {{id: $post_id}})
    RETURN p.id AS id, a.id AS author_id, p.status AS status, {SCORE} AS score, p.pushed AS pushed,
           coalesce(a.follower_count, 0) AS follower_count
    """,
    system=True,
)

#: The fan-out's decision for the post ``$post_id``, made once: pushed unless its author has at least
#: ``$threshold`` followers now, or the decision recorded by an earlier delivery (``Post.pushed``). For a
#: PUBLISHED post it records ``pushed`` and, for a pulled post, raises ``User.pulled_at`` to its score.
#: Rows (0 or 1): ``{id, author_id, status, score, pushed, newly_pulled}`` (``newly_pulled``: the author's first
#: pulled post, so that followers' cached feed contexts must start merging them).
DECIDE_FANOUT = cypher(
    "fanout.DECIDE_FANOUT",
    f"""
    MATCH (a:User)-[:POSTED]->(p:Post {{id: $post_id}})
    WITH a, p, p.status = 'PUBLISHED' AS live, {SCORE} AS score, a.pulled_at IS NULL AS never_pulled,
         coalesce(p.pushed, coalesce(a.follower_count, 0) < $threshold) AS pushed
    FOREACH (_ IN CASE WHEN live THEN [1] ELSE [] END | SET p.pushed = pushed)
    FOREACH (_ IN CASE WHEN live AND NOT pushed AND coalesce(a.pulled_at, 0) < score THEN [1] ELSE [] END |
        SET a.pulled_at = score)
    RETURN p.id AS id, a.id AS author_id, p.status AS status, score, pushed,
           live AND NOT pushed AND never_pulled AS newly_pulled
    """,
    write=True,
    system=True,
)

#: Whether ``$follower_id`` follows ``$followee_id`` now, and the followee's follower count.
#: Rows (0 when either user is gone): ``{follows, follower_count}``.
FOLLOW_STATE = cypher(
    "fanout.FOLLOW_STATE",
    """
    MATCH (f:User {id: $follower_id})
    MATCH (e:User {id: $followee_id})
    OPTIONAL MATCH (f)-[r:FOLLOWS]->(e)
    WITH e, count(r) AS edges, max(r.created_at) AS created_at
    RETURN edges > 0 AS follows, coalesce(e.follower_count, 0) AS follower_count, coalesce(created_at, 0) AS created_at
    """,
    system=True,
)

#: Ids of every post (any status) of ``$author_id`` whose score is at least ``$since`` ms. Rows: ``{id}``.
AUTHOR_POST_IDS_SINCE = cypher(
    "fanout.AUTHOR_POST_IDS_SINCE",
    f"""
    MATCH (a:User {{id: $author_id}})-[:POSTED]->(p:Post)
    WITH p, {SCORE} AS score
    WHERE score >= $since
    RETURN p.id AS id
    """,
    system=True,
)
