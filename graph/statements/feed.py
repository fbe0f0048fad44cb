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
from graph.statements.users import packed_user
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

# The flags are computed once per distinct author of the candidates (a page has a few), then the posts are
# unwound again: 0.6 ms instead of 0.9 ms for 21 candidates on FalkorDB (the per-post expand-intos and
# aggregations were most of the statement).
_FILTER_MATCH = f"""
    MATCH (v:User {{id: $viewer_id}})
    UNWIND $ids AS pid
    MATCH (a:User)-[:POSTED]->(post:Post {{id: pid}})
    WITH v, a, collect(post) AS posts
    {viewer_relation("v", "a", "v, a, posts")}
    UNWIND posts AS p
"""
#: A candidate's filter state as ONE string cell, ``id|author_id|status|own|author_private|viewer_follows|
#: blocked`` (booleans ``true``/``false``; ``services.feed_filter.FeedPostState.from_row`` reads it): the API
#: decodes every cell of this reply on every feed page, and hiredis builds about three objects per typed cell
#: (a page's 16 candidates with their authors were 983 objects, parsed and decoded in 73 us of the ~1.1 ms a
#: page costs the API; packed, 226 objects in 21 us). Ids, the status and booleans never hold a ``|``.
_STATE = (
    "p.id + '|' + a.id + '|' + p.status + '|' + toString(a.id = v.id) + '|' + "
    "toString(coalesce(a.is_private, false)) + '|' + toString(viewer_follows) + '|' + toString(blocked)"
)
_FILTER_COLUMNS = f"{_STATE} AS state"

#: The read-time filter for a batch of candidate post ids: one row per post that exists, with what decides
#: whether ``$viewer_id`` may see it in the home feed (``services.feed``'s rule over these flags). Rows:
#: ``{state}`` (``_STATE``: every value is decoded in the API process, so nothing else is returned).
FEED_FILTER = cypher(
    "feed.FEED_FILTER",
    f"""
    {_FILTER_MATCH.strip()}
    RETURN {_FILTER_COLUMNS}
    """,
)

#: ``FEED_FILTER`` that also hydrates the candidates of ``$hydrate`` (those that will fill the page), so that
#: the API's feed costs no further graph round trip for the posts, their authors and the viewer's likes.
#: Rows: ``FEED_FILTER``'s ``state`` plus, for ids in ``$hydrate`` (null for the others):
#:
#: - ``hydrated``: ``viewer_liked|comment_count|like_total|`` then the author's
#:   ``graph.statements.users.packed_user`` (``like_total`` is the exact count the like statements keep, the
#:   written-back ``like_count`` for a post from before it existed: the page needs no Redis counter read), and
#:   the author's free text ``display_name`` and ``bio`` as cells of their own: the author's profile, always
#:   fresh;
#: - ``content`` for ids in ``$content`` (a subset of ``$hydrate``: the posts whose immutable content the API
#:   process has not cached yet, ``services.post_content``): ``graph.statements.posts.POST_CONTENT``'s columns
#:   as one map (``post``, ``author_id``, ``author_private``, ``media``, ``hashtags``, ``mentions``).
#:
#: A warm page (every content cached) runs ``FEED_FILTER_WARM`` instead and ships no post content at all:
#: decoding the content maps was most of the statement's cost in the API process (py-spy). The viewer's like,
#: between two bound nodes, is an ``OPTIONAL MATCH`` + ``count``
#: like the follow and block.
_HYDRATED = (
    "toString(like_edges > 0) + '|' + toString(coalesce(p.comment_count, 0)) + '|' + "
    f"toString(coalesce(p.like_total, p.like_count, 0)) + '|' + {packed_user('a')}"
)
_HYDRATED_COLUMNS = f"""{_FILTER_COLUMNS},
           CASE WHEN p.id IN $hydrate THEN {_HYDRATED} END AS hydrated,
           CASE WHEN p.id IN $hydrate THEN a.display_name END AS display_name,
           CASE WHEN p.id IN $hydrate THEN a.bio END AS bio"""
_LIKED = """OPTIONAL MATCH (v)-[lk:LIKED]->(p)
    WITH v, a, p, viewer_follows, blocked, count(lk) AS like_edges"""

FEED_FILTER_HYDRATED = cypher(
    "feed.FEED_FILTER_HYDRATED",
    f"""
    {_FILTER_MATCH.strip()}
    {_LIKED}
    RETURN {_HYDRATED_COLUMNS},
           CASE WHEN p.id IN $content THEN {POST_CONTENT_MAP} END AS content
    """,
)

#: ``FEED_FILTER_HYDRATED`` without the ``content`` column, for a page whose posts' content the process has
#: cached (the warm path): FalkorDB 4.16 evaluates the content's pattern comprehensions for every row even under
#: a ``CASE`` whose condition is false (0.9 of 1.8 ms for 21 candidates), so the warm page runs this
#: statement instead. Rows: ``FEED_FILTER_HYDRATED``'s columns but ``content``.
FEED_FILTER_WARM = cypher(
    "feed.FEED_FILTER_WARM",
    f"""
    {_FILTER_MATCH.strip()}
    {_LIKED}
    RETURN {_HYDRATED_COLUMNS}
    """,
)

#: The pull feed (fan-out on read, "social graph traversal at read"): PUBLISHED posts of the viewer and of
#: everyone they follow, older than the cursor, newest first, at most ``$limit``. Authors with
#: ``follower_count >= $threshold`` are left out unless ``$include_celebrities`` (the cache merges them
#: in at read time). Each author contributes at most ``$limit`` posts (a per-author ``LIMIT`` in a
#: subquery), so the merge sorts at most ``followees x $limit`` rows, not every post of every followee: the
#: degraded feed (Redis down) pulls a page of 10 with at most 11 posts per followee. Rows:
#: ``{id, score, author_id}``.
HOME_PULL = cypher(
    "feed.HOME_PULL",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    OPTIONAL MATCH (v)-[:FOLLOWS]->(f:User)
    WHERE $include_celebrities OR coalesce(f.follower_count, 0) < $threshold
    WITH v, collect(f) + [v] AS authors
    UNWIND authors AS a
    CALL {{
        WITH v, a
        MATCH (a)-[:POSTED]->(p:Post)
        WHERE {post_visible("p", "a", "v")}
        WITH p, a, {SCORE} AS score
        WHERE {keyset_before("score", "p.id", "before_ts", "before_id")}
        RETURN p.id AS id, score, a.id AS author_id
        ORDER BY score DESC, id DESC
        LIMIT $limit
    }}
    RETURN id, score, author_id
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
