"""Cypher statements of the home feed (all reads; the fan-out worker's are ``graph.statements.fanout``).

Valid on Neo4j 5 and FalkorDB 4.16: no ``EXISTS {}``/``COUNT {}``, and pattern comprehensions only in the
post-content projection ``FEED_FILTER_HYDRATED`` shares with ``graph.statements.posts``: FalkorDB rejects them
inside ``WHERE`` and caches a plan over a relationship type that does not exist yet (a fresh graph without any
``BLOCKS``) as "no match" for good (``graph.migrations`` registers every type first). Who may see what is
``graph.statements.visibility``'s: the pulls filter with ``post_visible``; the filter of cached candidates
returns ``viewer_relation``'s flags for ``services.feed`` to decide (and to drop what is stale from Redis).
Rows hold scalars and maps (no nodes). Scores are the post's publish time (``SCORE``: ``Post.published_at``,
epoch ms, falling back to ``created_at`` for a post published before that property existed), so a post whose
upload took long lands on top of the feed when it is published, not buried at its creation time. A keyset
"before" cursor ``($before_ts, $before_id)`` selects posts strictly older in ``(score, id)`` order
(``graph.keyset.keyset_before``: FalkorDB 4.16 mis-answers ``p.id < $before_id`` from the ``Post.id`` index);
the first page passes ``FIRST_PAGE_TS`` and ``""``.
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.keyset import keyset_before
from graph.statements.posts import POST_CONTENT_MAP
from graph.statements.users import USER_FIELDS
from graph.statements.visibility import post_visible, viewer_relation

FIRST_PAGE_TS = 2**62  # larger than any epoch-ms timestamp: "before" the newest post
SCORE = "coalesce(p.published_at, p.created_at)"  # a post's feed score, epoch ms

#: The newest ``$limit`` PUBLISHED posts of each author in ``$author_ids``.
#: Rows: ``{author_id, id, score}``, per author newest first.
AUTHORS_RECENT_POSTS = cypher(
    "feed.AUTHORS_RECENT_POSTS",
    """
    UNWIND $author_ids AS aid
    CALL {
        WITH aid
        MATCH (a:User {id: aid})-[:POSTED]->(p:Post)
        WITH p
        WHERE p.status = 'PUBLISHED'
        RETURN p.id AS id, coalesce(p.published_at, p.created_at) AS score
        ORDER BY score DESC, id DESC
        LIMIT $limit
    }
    RETURN aid AS author_id, id, score
    """,
    system=True,
)

#: What the feed read needs to know about the viewer: how many users they follow and which of them are
#: merged at read time (``pulled``): the celebrities (``follower_count >= $threshold``) and every followee
#: who ever had a post that was not pushed (``User.pulled_at``, set by the fan-out: an author who posted as
#: a celebrity and then dropped below the threshold keeps those posts only in ``posts:{author}``). Rows (0
#: when the viewer is gone): ``{following, pulled}``.
VIEWER_CONTEXT = cypher(
    "feed.VIEWER_CONTEXT",
    """
    MATCH (v:User {id: $viewer_id})
    OPTIONAL MATCH (v)-[:FOLLOWS]->(f:User)
    RETURN count(f) AS following,
           collect(CASE WHEN coalesce(f.follower_count, 0) >= $threshold OR f.pulled_at IS NOT NULL
                        THEN f.id END) AS pulled
    """,
)

_FILTER_MATCH = f"""
    MATCH (v:User {{id: $viewer_id}})
    UNWIND $ids AS pid
    MATCH (a:User)-[:POSTED]->(p:Post {{id: pid}})
    {viewer_relation("v", "a", "v, a, p")}
"""
_FILTER_COLUMNS = (
    "p.id AS id, a.id AS author_id, p.status AS status, p.created_at AS created_at, a.id = v.id AS own, "
    "coalesce(a.is_private, false) AS author_private, viewer_follows, blocked"
)

#: The read-time filter for a batch of candidate post ids: one row per post that exists, with what decides
#: whether ``$viewer_id`` may see it in the home feed (``services.feed``'s rule over these flags). Rows:
#: ``{id, author_id, status, created_at, own, author_private, viewer_follows, blocked}``.
FEED_FILTER = cypher(
    "feed.FEED_FILTER",
    f"""
    {_FILTER_MATCH.strip()}
    RETURN {_FILTER_COLUMNS}
    """,
)

#: ``FEED_FILTER`` that also hydrates the posts of ``$hydrate`` (the candidates that will fill the page), so
#: that the API's feed costs no further graph round trip for the posts, their authors and the viewer's likes.
#: Rows: ``FEED_FILTER``'s columns plus ``viewer_liked`` and ``content``: for ids in ``$hydrate`` a map of
#: ``graph.statements.posts.POST_CONTENT``'s columns (``post``, ``author_id``, ``author_private``, ``media``,
#: ``hashtags``, ``mentions``) plus ``author`` (``USER_FIELDS``), else null (over-fetched candidates are
#: filtered but not shipped: FalkorDB still evaluates the comprehensions, the client parses a third less).
#: The content projections are pattern comprehensions over the post's own relationships (types registered
#: by ``graph.migrations``); the viewer's like, between two bound nodes, is an ``OPTIONAL MATCH`` + ``count``
#: like the follow and block.
FEED_FILTER_HYDRATED = cypher(
    "feed.FEED_FILTER_HYDRATED",
    f"""
    {_FILTER_MATCH.strip()}
    OPTIONAL MATCH (v)-[lk:LIKED]->(p)
    WITH v, a, p, viewer_follows, blocked, count(lk) AS like_edges
    RETURN {_FILTER_COLUMNS}, like_edges > 0 AS viewer_liked,
           CASE WHEN p.id IN $hydrate THEN {POST_CONTENT_MAP[:-1]}, author: a {USER_FIELDS}}} END AS content
    """,
)

#: The pull feed (fan-out on read, "social graph traversal at read"): PUBLISHED posts of the viewer and of
#: everyone they follow, older than the cursor, newest first, at most ``$limit``. Authors with
#: ``follower_count >= $threshold`` are left out unless ``$include_celebrities`` (the cache merges them
#: in at read time). Rows: ``{id, score, author_id}``.
HOME_PULL = cypher(
    "feed.HOME_PULL",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    OPTIONAL MATCH (v)-[:FOLLOWS]->(f:User)
    WHERE $include_celebrities OR coalesce(f.follower_count, 0) < $threshold
    WITH v, collect(f) + [v] AS authors
    UNWIND authors AS a
    MATCH (a)-[:POSTED]->(p:Post)
    WHERE {post_visible("p", "a", "v")}
    WITH p, a, {SCORE} AS score
    WHERE {keyset_before("score", "p.id", "before_ts", "before_id")}
    RETURN p.id AS id, score, a.id AS author_id
    ORDER BY score DESC, id DESC
    LIMIT $limit
    """,
)

#: Cold start: the ranked list of recent popular posts for a viewer who follows nobody, at most ``$limit``.
#: PUBLISHED posts published at or after ``$since`` ms (``$created_since`` bounds ``created_at`` below, for the
#: index: a post is published within its upload window after creation) by public authors not blocked either
#: way, ordered by ``(like_count, score, id)`` descending. ``services.feed`` snapshots this list per viewer
#: (like counts change with every write-back, so paging a live ranking would repeat and skip posts). Rows:
#: ``{id, score, likes, author_id}``.
POPULAR_POSTS = cypher(
    "feed.POPULAR_POSTS",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    MATCH (a:User)-[:POSTED]->(p:Post)
    WHERE p.created_at >= $created_since AND NOT coalesce(a.is_private, false) AND {post_visible("p", "a", "v")}
    WITH p, a, coalesce(p.like_count, 0) AS likes, {SCORE} AS score
    WHERE score >= $since
    RETURN p.id AS id, score, likes, a.id AS author_id
    ORDER BY likes DESC, score DESC, id DESC
    LIMIT $limit
    """,
)
