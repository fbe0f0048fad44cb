"""Cypher statements of likes and comments.

Graph shape (DESIGN.md "Data model")::

    (:User)-[:LIKED {created_at}]->(:Post {like_count, comment_count})
    (:User)-[:WROTE]->(:Comment {id, text, created_at, deleted, deleted_at})-[:ON]->(:Post)

A post can be liked or commented on only when it is PUBLISHED and visible to the viewer: the author does not
block the viewer nor the reverse, and a private author is the viewer or followed by the viewer
(``graph.statements.visibility.post_visible``). Every write checks that in its own single statement, so a post
deleted or hidden between a read and the write is never touched. ``Post.like_count`` is the graph copy of the
Redis counter (``services.like_counts``), written back periodically; ``Post.comment_count`` is maintained
here. ``Post.like_version`` counts the like changes of a post: the like and unlike statements bump it when they
change an edge and return it, so the Redis counter (``cache.like_counts``) knows which changes it holds.
Times are epoch ms; ``$outbox`` is ``Event.outbox_props()``.
Page filters are ``graph.keyset`` predicates (FalkorDB 4.16 mis-answers ``u.id < $x`` from the index).
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.keyset import keyset_after, keyset_before
from graph.statements.outbox import WRITE_OUTBOX, write_outbox_if
from graph.statements.users import USER_FIELDS
from graph.statements.visibility import no_block, post_visible

# Who may see what is ``graph.statements.visibility``'s rule: ``post_visible("p", "a", "v")`` for the post,
# ``no_block("w", "v")`` for a comment's author or a liker (``v`` may be null: anonymous).
_POST_VISIBLE = post_visible("p", "a", "v")
_COMMENTER_VISIBLE = no_block("w", "v")

# -- likes ----------------------------------------------------------------------------------------------

#: Like ``$post_id`` as ``$viewer_id``. ``created`` is true only when this statement made the edge (the
#: ``$tx`` token set ON CREATE tells our MERGE from a concurrent one); then ``like.created`` is recorded and
#: ``Post.like_version`` bumped and ``Post.like_total`` (the exact count, kept beside the written-back
#: ``like_count``) incremented in the same statement, so a Redis miss installs the exact count without reading
#: a like edge; ``version`` is the post's like version after the statement. No row: the post is absent, not
#: published, or hidden from the viewer.
LIKE_POST = cypher(
    "engagement.LIKE_POST",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    MATCH (a:User)-[:POSTED]->(p:Post {{id: $post_id}})
    WHERE {_POST_VISIBLE}
    MERGE (v)-[l:LIKED]->(p)
    ON CREATE SET l.created_at = $now, l.tx = $tx
    WITH p, l, coalesce(l.tx = $tx, false) AS created
    SET l.tx = null
    FOREACH (_ IN CASE WHEN created THEN [1] ELSE [] END |
        SET p.like_version = coalesce(p.like_version, 0) + 1, p.like_total = coalesce(p.like_total, 0) + 1)
    {write_outbox_if("created")}
    RETURN p.id AS post_id, created, coalesce(p.like_version, 0) AS version
    """,
    write=True,
)

#: Remove the viewer's like. ``removed`` is true when an edge was deleted; then ``like.removed`` is
#: recorded and ``Post.like_version`` bumped (``version`` as in ``LIKE_POST``). No row: as ``LIKE_POST``.
UNLIKE_POST = cypher(
    "engagement.UNLIKE_POST",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    MATCH (a:User)-[:POSTED]->(p:Post {{id: $post_id}})
    WHERE {_POST_VISIBLE}
    OPTIONAL MATCH (v)-[l:LIKED]->(p)
    WITH p, l, l IS NOT NULL AS removed
    DELETE l
    FOREACH (_ IN CASE WHEN removed THEN [1] ELSE [] END |
        SET p.like_version = coalesce(p.like_version, 0) + 1, p.like_total = coalesce(p.like_total, 1) - 1)
    {write_outbox_if("removed")}
    RETURN p.id AS post_id, removed, coalesce(p.like_version, 0) AS version
    """,
    write=True,
)

#: Exact like counts of the posts of ``$ids`` that exist, with the like version they are at, WITHOUT reading a
#: like edge: ``Post.like_total`` is kept exact by the like statements themselves (migration ``0006`` counted
#: the posts from before that; the seed sets it with its likes), and the graph copy the counters job writes
#: back (``stored``, ``Post.like_count``): rows ``{post_id, likes, version, stored}``.
LIKE_COUNTS = cypher(
    "engagement.LIKE_COUNTS",
    """
    UNWIND $ids AS post_id
    MATCH (p:Post {id: post_id})
    RETURN post_id, coalesce(p.like_total, 0) AS likes, coalesce(p.like_version, 0) AS version,
           coalesce(p.like_count, 0) AS stored
    """,
    system=True,
)

#: Which posts of ``$ids`` (those the viewer may see) ``$viewer_id`` has liked: rows ``{post_id}``.
VIEWER_LIKES = cypher(
    "engagement.VIEWER_LIKES",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    UNWIND $ids AS post_id
    MATCH (v)-[:LIKED]->(p:Post {{id: post_id}})<-[:POSTED]-(a:User)
    WHERE {_POST_VISIBLE}
    RETURN p.id AS post_id
    """,
)

#: One page of likers per post of ``$post_ids``, newest first, keyset ``(created_at, user id)`` strictly after
#: ``($after_at, $after_id)`` (both null for the first page); users blocked either way with the viewer are
#: left out. ONE statement for a batch of posts: all likes sorted together, collected per post in that order,
#: cut at ``$limit`` each. Rows ``{post_id, likers: [{user, created_at}]}`` for posts with likes.
LIKERS_PAGE = cypher(
    "engagement.LIKERS_PAGE",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $post_ids AS post_id
    MATCH (u:User)-[l:LIKED]->(p:Post {{id: post_id}})
    WHERE {keyset_before("l.created_at", "u.id", "after_at", "after_id")}
      AND {no_block("u", "v")}
    WITH p, u, l
    ORDER BY l.created_at DESC, u.id DESC
    WITH p, collect({{user: u {USER_FIELDS}, created_at: l.created_at}}) AS likers
    RETURN p.id AS post_id, likers[0..$limit] AS likers
    """,
)

#: Copy Redis counters into ``Post.like_count`` without reading a like edge: rows ``{id, likes, version}``;
#: only a counter at the post's current ``like_version`` is exact and written. Rows: ``{id}`` per post written.
WRITE_BACK_LIKE_COUNTS = cypher(
    "engagement.WRITE_BACK_LIKE_COUNTS",
    """
    UNWIND $rows AS row
    MATCH (p:Post {id: row.id})
    WITH p, row
    WHERE row.likes IS NOT NULL AND row.version = coalesce(p.like_version, 0)
    SET p.like_count = row.likes
    RETURN p.id AS id
    """,
    write=True,
    system=True,
)

#: Recount the like edges of ``$ids`` into ``Post.like_count`` and ``like_total`` (the posts whose Redis counter
#: was absent or behind; the counters job, off the request path). Rows: ``{post_id, likes, version}`` (for
#: installing the recount into Redis).
RECOUNT_LIKE_COUNTS = cypher(
    "engagement.RECOUNT_LIKE_COUNTS",
    """
    UNWIND $ids AS post_id
    MATCH (p:Post {id: post_id})
    WITH p, post_id, size([(u:User)-[:LIKED]->(p) | 1]) AS likes
    SET p.like_count = likes, p.like_total = likes
    RETURN post_id, likes, coalesce(p.like_version, 0) AS version
    """,
    write=True,
    system=True,
)

# -- comments -------------------------------------------------------------------------------------------

_COMMENT = "c {.id, .text, .created_at} AS comment, p.id AS post_id, w.id AS author_id"

#: Comment ``$comment`` ({id, text, created_at}) on ``$post_id`` as ``$viewer_id``, count it, record
#: ``comment.created``. No row: the post is absent, not published, or hidden from the viewer.
ADD_COMMENT = cypher(
    "engagement.ADD_COMMENT",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    MATCH (a:User)-[:POSTED]->(p:Post {{id: $post_id}})
    WHERE {_POST_VISIBLE}
    CREATE (v)-[:WROTE]->(c:Comment {{id: $comment.id, text: $comment.text, created_at: $comment.created_at,
                                     deleted: false}})-[:ON]->(p)
    SET p.comment_count = coalesce(p.comment_count, 0) + 1
    WITH v AS w, p, c
    {WRITE_OUTBOX}
    RETURN {_COMMENT}
    """,
    write=True,
)

#: Soft-delete ``$comment_id`` when ``$viewer_id`` wrote it or wrote the post, decrementing the post's
#: count and recording ``comment.deleted`` only when it was live. Always returns the comment's row (when
#: it exists) with ``allowed``, ``deleted`` (this statement deleted it), ``was_live`` (live before, on a
#: published post) and ``visible`` (the viewer may see the post) so the service can pick the error.
DELETE_COMMENT = cypher(
    "engagement.DELETE_COMMENT",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    MATCH (w:User)-[:WROTE]->(c:Comment {{id: $comment_id}})-[:ON]->(p:Post)<-[:POSTED]-(a:User)
    OPTIONAL MATCH (seen:Comment {{id: $comment_id}})
    WHERE {_POST_VISIBLE} AND {_COMMENTER_VISIBLE}
    WITH v, w, c, p, a, seen IS NOT NULL AS visible,
         (w.id = v.id OR a.id = v.id) AS allowed,
         (NOT coalesce(c.deleted, false) AND p.status = 'PUBLISHED') AS was_live
    WITH v, w, c, p, allowed, was_live, visible, allowed AND was_live AS deleting
    FOREACH (_ IN CASE WHEN deleting THEN [1] ELSE [] END |
        SET c.deleted = true, c.deleted_at = $now, p.comment_count = coalesce(p.comment_count, 1) - 1)
    {write_outbox_if("deleting")}
    RETURN {_COMMENT}, allowed, was_live, visible, deleting AS deleted
    """,
    write=True,
)

#: One page of live comments per post of ``$post_ids``, oldest first, keyset ``(created_at, id)`` strictly
#: after ``($after_at, $after_id)``; comments by users who block the viewer, or whom the viewer blocks, are
#: left out (``$viewer_id`` null: anonymous). ONE statement for a batch of posts (sorted together, collected
#: per post, cut at ``$limit`` each). Rows ``{post_id, comments: [{comment, author_id}]}``.
COMMENTS_PAGE = cypher(
    "engagement.COMMENTS_PAGE",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $post_ids AS post_id
    MATCH (w:User)-[:WROTE]->(c:Comment)-[:ON]->(p:Post {{id: post_id}})
    WHERE NOT coalesce(c.deleted, false)
      AND {keyset_after("c.created_at", "c.id", "after_at", "after_id")}
      AND {_COMMENTER_VISIBLE}
    WITH p, w, c
    ORDER BY c.created_at, c.id
    WITH p, collect({{comment: c {{.id, .text, .created_at}}, author_id: w.id}}) AS comments
    RETURN p.id AS post_id, comments[0..$limit] AS comments
    """,
)

#: The live comments of ``$ids`` that the viewer may see (post published and visible, no block between
#: the viewer and the comment's author), in no particular order.
COMMENTS_BY_IDS = cypher(
    "engagement.COMMENTS_BY_IDS",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $ids AS comment_id
    MATCH (w:User)-[:WROTE]->(c:Comment {{id: comment_id}})-[:ON]->(p:Post)<-[:POSTED]-(a:User)
    WHERE NOT coalesce(c.deleted, false) AND {_POST_VISIBLE}
      AND {_COMMENTER_VISIBLE}
    RETURN {_COMMENT}
    """,
)

#: Migration ``0006``: count ``Post.like_total`` of every post from its edges once, so that the exact count the
#: like statements keep from then on starts exact. Rows: ``{posts}``.
RECOUNT_ALL_LIKE_COUNTS = cypher(
    "engagement.RECOUNT_ALL_LIKE_COUNTS",
    """
    MATCH (p:Post)
    WITH p, size([(u:User)-[:LIKED]->(p) | 1]) AS likes
    SET p.like_total = likes
    RETURN count(p) AS posts
    """,
    write=True,
    system=True,
)

# -- likers and comments from the per-post indexes (cache.edge_index) ------------------------------------

#: Every like of ``$owner_id`` (a post) as ``{id (the user), created_at}``, no order: what ``cache.edge_index``
#: rebuilds ``likers:{post}`` from, once per key (a cache fill; ``LIKER_PAGE_USERS`` checks what is shown).
LIKER_EDGES = cypher(
    "engagement.LIKER_EDGES",
    """
    MATCH (u:User)-[l:LIKED]->(:Post {id: $owner_id})
    RETURN u.id AS id, coalesce(l.created_at, 0) AS created_at
    """,
    system=True,
)

#: Every live comment of ``$owner_id`` (a post) as ``{id, created_at}``, for ``comments:{post}``.
COMMENT_EDGES = cypher(
    "engagement.COMMENT_EDGES",
    """
    MATCH (c:Comment)-[:ON]->(:Post {id: $owner_id})
    WHERE NOT coalesce(c.deleted, false)
    RETURN c.id AS id, coalesce(c.created_at, 0) AS created_at
    """,
    system=True,
)

#: The likers named by index pages (``$pages``: ``[{owner_id (a post), ids}]``) as ``$viewer_id`` may see them:
#: per existing post ``{id, visible, total, items}`` (``items``: users with ``edge_created_at``, the like's
#: time; a like that is gone, or a block either way with the viewer, leaves its user out). ``seer`` is the
#: viewer, or for nobody the liker themself (no block), so that no pattern is anchored on a NULL node (FalkorDB
#: scans every node for one). The post's own visibility is its reader's (the ``Post`` was loaded for the viewer).
LIKER_PAGE_USERS = cypher(
    "engagement.LIKER_PAGE_USERS",
    f"""
    UNWIND $pages AS page
    MATCH (p:Post {{id: page.owner_id}})
    UNWIND CASE WHEN size(page.ids) > 0 THEN page.ids ELSE [null] END AS liker_id
    OPTIONAL MATCH (u:User {{id: liker_id}})
    OPTIONAL MATCH (seer:User {{id: coalesce($viewer_id, liker_id)}})
    WITH p, u, seer
    OPTIONAL MATCH (u)-[l:LIKED]->(p)
    WHERE {no_block("u", "seer")}
    WITH p, CASE WHEN l IS NULL THEN null ELSE u {{{USER_FIELDS[1:-1]}, edge_created_at: l.created_at}} END AS item
    RETURN p.id AS id, true AS visible, coalesce(p.like_count, 0) AS total, collect(item) AS items
    """,
)

#: The comments named by index pages as ``$viewer_id`` may see them: per existing post ``{id, visible, total,
#: items}`` (``items``: ``{id, edge_created_at, comment, author_id}``; a deleted comment, or one whose author and
#: the viewer block each other, is left out). ``seer`` as in ``LIKER_PAGE_USERS``.
COMMENT_PAGE_ITEMS = cypher(
    "engagement.COMMENT_PAGE_ITEMS",
    f"""
    UNWIND $pages AS page
    MATCH (p:Post {{id: page.owner_id}})
    UNWIND CASE WHEN size(page.ids) > 0 THEN page.ids ELSE [null] END AS comment_id
    OPTIONAL MATCH (w:User)-[:WROTE]->(c:Comment {{id: comment_id}})-[:ON]->(p)
    WHERE NOT coalesce(c.deleted, false)
    WITH p, w, c, coalesce($viewer_id, w.id) AS seer_id
    OPTIONAL MATCH (seer:User {{id: seer_id}})
    WITH p, w, c, seer
    OPTIONAL MATCH (shown:Comment {{id: c.id}})
    WHERE {no_block("w", "seer")}
    WITH p, CASE WHEN shown IS NULL THEN null ELSE {{id: c.id, edge_created_at: c.created_at,
         comment: c {{.id, .text, .created_at}}, author_id: w.id}} END AS item
    RETURN p.id AS id, true AS visible, coalesce(p.comment_count, 0) AS total, collect(item) AS items
    """,
)
