"""Cypher statements of search: what the indexer reloads by id, the rebuild's pages, and the read-time filter
that every search result passes before it is shown (valid on Neo4j 5 and FalkorDB 4.16).

The search index only says WHICH ids match; what a viewer gets is decided here, from the graph, at read
time: users who block the viewer are left out (``user_visible``), posts must be PUBLISHED and visible
(``post_visible``: private authors to their followers only, no block either way). ``hydrated_posts`` ends
the post reads of search, hashtags and explore with the same columns, so that one statement per page returns
each post, its author and the viewer's like (``services.post_reads.hydrate_rows``).

An anonymous viewer is ``$viewer_id = ""``, not null: ``MATCH (v:User {id: null})`` is planned on FalkorDB as a
scan of every user (0.4 ms of a 2 ms statement on the seeded graph), ``""`` is one index lookup that finds none.

The indexer's and the rebuild's reads are ``system=True``: they run for the index, which holds every user and
every PUBLISHED post, never for a viewer.
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.statements.posts import POST_CONTENT
from graph.statements.users import USER_FIELDS
from graph.statements.visibility import post_visible, user_visible

_USER_DOC = """u.id AS id, u.username AS username, u.display_name AS display_name, u.bio AS bio,
           coalesce(u.follower_count, 0) AS follower_count, coalesce(u.is_private, false) AS is_private"""
_POST_DOC = """p.id AS id, a.id AS author_id, p.status AS status, p.caption AS caption,
           [(p)-[:TAGGED]->(h:Hashtag) | h.name] AS hashtags, p.created_at AS created_at,
           coalesce(p.like_count, 0) AS like_count, p.lat AS lat, p.lng AS lng"""


def hydrated_posts(carry: str = "") -> str:
    """Closing clauses for a statement whose rows bind the post ``p``, its author ``a`` and the nullable
    viewer ``v`` (and the variables of ``carry``, ``", x, y"``): the viewer's like, then ``RETURN`` of
    ``POST_CONTENT``'s columns, ``author`` (``USER_FIELDS``), ``viewer_liked`` and ``carry``'s variables."""
    return f"""
    OPTIONAL MATCH (v)-[lk:LIKED]->(p)
    WITH v, a, p{carry}, count(lk) > 0 AS viewer_liked
    RETURN {POST_CONTENT.strip()}, a {USER_FIELDS} AS author, viewer_liked{carry}
    """


#: The users of ``$ids`` as the users index holds them. Rows: ``{id, username, display_name, bio,
#: follower_count, is_private}`` per user that exists.
USERS_FOR_INDEX = cypher(
    "search.USERS_FOR_INDEX",
    f"""
    UNWIND $ids AS user_id
    MATCH (u:User {{id: user_id}})
    RETURN {_USER_DOC}
    """,
    system=True,
)

#: The posts of ``$ids`` (any status: the indexer drops what is not PUBLISHED). Rows: ``{id, author_id,
#: status, caption, hashtags, created_at, like_count, lat, lng}`` per post that exists.
POSTS_FOR_INDEX = cypher(
    "search.POSTS_FOR_INDEX",
    f"""
    UNWIND $ids AS post_id
    MATCH (a:User)-[:POSTED]->(p:Post {{id: post_id}})
    RETURN {_POST_DOC}
    """,
    system=True,
)

#: The rebuild's pages of users: ids greater than ``$after``, ascending, at most ``$limit``. Rows as
#: ``USERS_FOR_INDEX``.
USERS_PAGE = cypher(
    "search.USERS_PAGE",
    f"""
    MATCH (u:User)
    WHERE u.id > $after
    RETURN {_USER_DOC}
    ORDER BY id
    LIMIT $limit
    """,
    system=True,
)

#: The rebuild's pages of PUBLISHED posts: ids greater than ``$after``, ascending, at most ``$limit``. Rows as
#: ``POSTS_FOR_INDEX``.
POSTS_PAGE = cypher(
    "search.POSTS_PAGE",
    f"""
    MATCH (a:User)-[:POSTED]->(p:Post)
    WHERE p.id > $after AND p.status = 'PUBLISHED'
    RETURN {_POST_DOC}
    ORDER BY id
    LIMIT $limit
    """,
    system=True,
)

#: How much a rebuild has to do. Rows: one ``{users, posts}`` (posts: PUBLISHED only).
INDEX_TOTALS = cypher(
    "search.INDEX_TOTALS",
    """
    OPTIONAL MATCH (u:User)
    WITH count(u) AS users
    OPTIONAL MATCH (:User)-[:POSTED]->(p:Post)
    WHERE p.status = 'PUBLISHED'
    RETURN users, count(p) AS posts
    """,
    system=True,
)

#: The graph's stand-in for the users index while it is down: the user named exactly ``$prefix`` first, then
#: those whose username starts with it, by follower count, at most ``$limit``; not those who block
#: ``$viewer_id``. Rows: ``{user}``.
USERS_BY_USERNAME_PREFIX = cypher(
    "search.USERS_BY_USERNAME_PREFIX",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    MATCH (u:User)
    WHERE u.username STARTS WITH $prefix AND {user_visible("u", "v")}
    RETURN u {USER_FIELDS} AS user
    ORDER BY CASE WHEN u.username = $prefix THEN 0 ELSE 1 END, coalesce(u.follower_count, 0) DESC, u.username
    LIMIT $limit
    """,
)

#: The posts of ``$ids`` that ``$viewer_id`` ("": anonymous) may see, hydrated (``hydrated_posts``).
SEARCH_POSTS = cypher(
    "search.SEARCH_POSTS",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $ids AS post_id
    MATCH (a:User)-[:POSTED]->(p:Post {{id: post_id}})
    WHERE {post_visible("p", "a", "v")}
    {hydrated_posts().strip()}
    """,
)
