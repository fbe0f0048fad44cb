"""Cypher statements of the in-app notification list (the graph is its source of truth).

Graph shape::

    (:Notification {id, recipient_id, kind, group_key, post_id, comment_id, created_at, updated_at, read})
    (:Notification)-[:ACTOR {at, comment_id}]->(:User)        one edge per distinct actor of the group
    (:NotificationGroup {key, current_id, touched_at})         the open group of one group key

``post_id`` / ``comment_id`` are ``''`` when the kind has none (never null: FalkorDB 4.16 may clear the wrong
property when a statement nulls two). Times are epoch ms. A group key names what aggregates together
(``<recipient>:LIKE:<post>``, ``<recipient>:COMMENT:<post>``, ``<recipient>:FOLLOW``); kinds that are never
grouped get a key per event (``<recipient>:MENTION:<event id>``), so a redelivered event finds its own.

Writes run for the notifications worker (``system=True``); each is ONE statement that re-checks the source
(the like, follow, comment still exists), the recipient's preference and blocks either way, so an event for
something undone meanwhile writes nothing. ``MERGE`` of the group's anchor and ``SET g.touched_at`` serialise
concurrent writers of one group on Neo4j (FalkorDB runs one write at a time per graph), so ``actorCount`` (the
ACTOR edges, one per actor by ``MERGE``) is exact under concurrency.

Reads are the recipient's own list and compose the visibility fragments: actors blocked either way are never
counted nor shown (``no_block``), a notification about a post the recipient may no longer see is hidden
(``post_visible``), and one left without a visible actor is hidden.
"""

from __future__ import annotations

from graph.cypher import Statement, cypher
from graph.keyset import keyset_after, keyset_before
from graph.statements.visibility import no_block, post_visible

#: Kind -> the User property holding the recipient's preference for it (absent: on).
PREFERENCE_PROPERTY: dict[str, str] = {
    "LIKE": "notify_likes",
    "COMMENT": "notify_comments",
    "FOLLOW": "notify_follows",
    "FOLLOW_REQUEST": "notify_follow_requests",
    "FOLLOW_ACCEPTED": "notify_follow_requests",
    "MENTION": "notify_mentions",
}

_PREFS = (
    "r.dnd_start AS dnd_start, r.dnd_end AS dnd_end, r.time_zone AS time_zone"
)

# The part every "add an actor" statement shares, after its source pattern bound ``r`` (recipient), ``a``
# (actor) and ``group_key`` and filtered them. Parameters: $new_id, $kind, $post_id, $comment_id, $at (ms),
# $window (ms), $tx (a token of this attempt: tells our MERGE's ON CREATE from an earlier one).
_ADD_TAIL = """
    MERGE (g:NotificationGroup {key: group_key})
    SET g.touched_at = $at
    WITH r, a, g, group_key
    OPTIONAL MATCH (open:Notification {id: coalesce(g.current_id, '')})
    WITH r, a, g, group_key, open IS NOT NULL AND open.updated_at >= $at - $window AS reuse
    FOREACH (_ IN CASE WHEN reuse THEN [] ELSE [1] END |
        CREATE (fresh:Notification {id: $new_id})
        SET fresh.recipient_id = r.id, fresh.kind = $kind, fresh.group_key = group_key,
            fresh.post_id = $post_id, fresh.comment_id = $comment_id, fresh.created_at = $at,
            fresh.updated_at = $at, fresh.read = false, g.current_id = $new_id)
    WITH r, a, g
    MATCH (n:Notification {id: g.current_id})
    MERGE (n)-[act:ACTOR]->(a)
    ON CREATE SET act.at = $at, act.comment_id = $comment_id, act.tx = $tx
    WITH r, n, act, coalesce(act.tx = $tx, false) AS added
    SET act.tx = '',
        n.updated_at = CASE WHEN added AND $at > n.updated_at THEN $at ELSE n.updated_at END,
        n.read = CASE WHEN added THEN false ELSE n.read END,
        n.comment_id = CASE WHEN added AND $comment_id <> '' THEN $comment_id ELSE n.comment_id END
    RETURN n.id AS id, r.id AS recipient_id, added, n.id = $new_id AS created, """ + _PREFS


def _guard(kind: str) -> str:
    prop = PREFERENCE_PROPERTY[kind]
    return f"r.id <> a.id AND coalesce(r.{prop}, true) AND NOT (r)-[:BLOCKS]-(a)"


def _add(name: str, source: str, kind: str, key: str = "$group_key") -> Statement:
    """An add statement: ``source`` binds ``r`` and ``a`` (ending in ``WITH r, a``); ``key`` is the Cypher
    expression of the group key (default the ``$group_key`` parameter)."""
    text = f"{source}\n    WHERE {_guard(kind)}\n    WITH r, a, {key} AS group_key{_ADD_TAIL}"
    return cypher(f"notifications.{name}", text, write=True, system=True)


#: ``$actor_id`` liked ``$post_id``: the author gets (or joins) the LIKE group. No row: the like is gone, the
#: post is not PUBLISHED, it is a self-like, a block either way, or LIKE notifications are off.
ADD_LIKE = _add(
    "ADD_LIKE",
    """
    MATCH (a:User {id: $actor_id})-[:LIKED]->(p:Post {id: $post_id})<-[:POSTED]-(r:User)
    WHERE p.status = 'PUBLISHED'
    WITH r, a, p""",
    "LIKE",
    key="r.id + ':LIKE:' + p.id",
)

#: ``$actor_id`` wrote live comment ``$comment_id`` on ``$post_id``: the author's COMMENT group.
ADD_COMMENT = _add(
    "ADD_COMMENT",
    """
    MATCH (a:User {id: $actor_id})-[:WROTE]->(c:Comment {id: $comment_id})-[:ON]->(p:Post {id: $post_id})
    MATCH (r:User)-[:POSTED]->(p)
    WHERE p.status = 'PUBLISHED' AND NOT coalesce(c.deleted, false)
    WITH r, a, p""",
    "COMMENT",
    key="r.id + ':COMMENT:' + p.id",
)

#: ``$actor_id`` follows ``$recipient_id`` (the FOLLOWS edge exists): the FOLLOW group.
ADD_FOLLOW = _add(
    "ADD_FOLLOW",
    """
    MATCH (a:User {id: $actor_id})-[:FOLLOWS]->(r:User {id: $recipient_id})
    WITH r, a""",
    "FOLLOW",
)

#: ``$actor_id`` has a pending request to ``$recipient_id``: one FOLLOW_REQUEST notification per request.
ADD_FOLLOW_REQUEST = _add(
    "ADD_FOLLOW_REQUEST",
    """
    MATCH (a:User {id: $actor_id})-[:REQUESTED]->(r:User {id: $recipient_id})
    WITH r, a""",
    "FOLLOW_REQUEST",
)

#: ``$actor_id`` (a private account) accepted ``$recipient_id``'s request: the FOLLOWS edge exists.
ADD_FOLLOW_ACCEPTED = _add(
    "ADD_FOLLOW_ACCEPTED",
    """
    MATCH (r:User {id: $recipient_id})-[:FOLLOWS]->(a:User {id: $actor_id})
    WITH r, a""",
    "FOLLOW_ACCEPTED",
)

#: ``$recipient_id`` is mentioned by ``$actor_id``'s PUBLISHED post ``$post_id`` (a MENTIONS edge) or by the
#: live comment ``$comment_id`` on it (``$comment_id`` ``''`` for a caption), and may see the post.
ADD_MENTION = _add(
    "ADD_MENTION",
    f"""
    MATCH (r:User {{id: $recipient_id}})
    MATCH (pa:User)-[:POSTED]->(p:Post {{id: $post_id}})
    MATCH (a:User {{id: $actor_id}})
    WHERE {post_visible("p", "pa", "r")}
      AND (($comment_id = '' AND pa.id = a.id AND (p)-[:MENTIONS]->(r))
           OR ($comment_id <> '' AND (a)-[:WROTE]->(:Comment {{id: $comment_id, deleted: false}})-[:ON]->(p)))
    WITH r, a""",
    "MENTION",
)

#: ``{author_id}`` of post ``$post_id`` (any status).
POST_AUTHOR = cypher(
    "notifications.POST_AUTHOR",
    "MATCH (a:User)-[:POSTED]->(:Post {id: $post_id}) RETURN a.id AS author_id",
    system=True,
)

#: Users of ``$usernames`` (lower-case) who exist: ``{id, username}`` (mentions in a comment's text).
USERS_BY_USERNAMES = cypher(
    "notifications.USERS_BY_USERNAMES",
    "UNWIND $usernames AS name MATCH (u:User {username: name}) RETURN u.id AS id, u.username AS username",
    system=True,
)

#: Users a PUBLISHED post mentions: ``{id}``, for the MENTION notifications of ``post.published``.
POST_MENTIONS = cypher(
    "notifications.POST_MENTIONS",
    """
    MATCH (a:User)-[:POSTED]->(p:Post {id: $post_id})-[:MENTIONS]->(u:User)
    WHERE p.status = 'PUBLISHED'
    RETURN u.id AS id, a.id AS author_id
    """,
    system=True,
)

#: Take ``$actor_id`` out of the ``$kind`` notifications of ``$recipient_id`` (about ``$post_id``; ``''`` for
#: any) unless ``$still`` says the source exists again; a notification left without actors is deleted.
#: Returns ``{removed, deleted}`` (edges removed, notifications deleted).
REMOVE_ACTOR = cypher(
    "notifications.REMOVE_ACTOR",
    """
    MATCH (n:Notification {recipient_id: $recipient_id, kind: $kind})-[act:ACTOR]->(a:User {id: $actor_id})
    WHERE ($post_id = '' OR n.post_id = $post_id) AND NOT $still
    OPTIONAL MATCH (n)-[rest:ACTOR]->(other:User)
    WHERE other.id <> $actor_id
    WITH n, act, count(rest) AS remaining
    FOREACH (gone IN CASE WHEN remaining > 0 THEN [act] ELSE [] END | DELETE gone)
    FOREACH (_ IN CASE WHEN remaining = 0 THEN [1] ELSE [] END | DETACH DELETE n)
    RETURN count(act) AS removed, sum(CASE WHEN remaining = 0 THEN 1 ELSE 0 END) AS deleted
    """,
    write=True,
    system=True,
)

#: Whether the source of a notification exists: ``{liked, follows, requested}`` for ``$actor_id`` towards
#: ``$recipient_id`` / ``$post_id`` (for the guard of ``REMOVE_ACTOR``).
SOURCE_STATE = cypher(
    "notifications.SOURCE_STATE",
    """
    MATCH (a:User {id: $actor_id})
    OPTIONAL MATCH (a)-[lk:LIKED]->(:Post {id: $post_id})
    WITH a, count(lk) > 0 AS liked
    OPTIONAL MATCH (a)-[fl:FOLLOWS]->(:User {id: $recipient_id})
    WITH a, liked, count(fl) > 0 AS follows
    OPTIONAL MATCH (a)-[rq:REQUESTED]->(:User {id: $recipient_id})
    RETURN liked, follows, count(rq) > 0 AS requested
    """,
    system=True,
)

#: A comment was deleted: its author leaves the post's COMMENT group unless they have another live comment
#: there (then the actor edge points at that one), and MENTION notifications of the comment are deleted.
#: Returns ``{post_id, author_id, remaining}`` (``remaining``: the author's newest live comment id or null).
COMMENT_GONE = cypher(
    "notifications.COMMENT_GONE",
    """
    MATCH (w:User)-[:WROTE]->(c:Comment {id: $comment_id})-[:ON]->(p:Post)
    WHERE coalesce(c.deleted, false)
    OPTIONAL MATCH (w)-[:WROTE]->(other:Comment)-[:ON]->(p)
    WHERE NOT coalesce(other.deleted, false)
    WITH w, p, other ORDER BY other.created_at DESC
    WITH w, p, collect(other.id) AS live
    OPTIONAL MATCH (m:Notification {kind: 'MENTION', comment_id: $comment_id})
    WITH w, p, live, collect(m) AS mentions
    FOREACH (gone IN mentions | DETACH DELETE gone)
    RETURN p.id AS post_id, w.id AS author_id, CASE WHEN size(live) > 0 THEN live[0] ELSE '' END AS remaining
    """,
    write=True,
    system=True,
)

#: Point the author's COMMENT actor edges on ``$post_id`` that name ``$comment_id`` at ``$remaining``.
REPOINT_COMMENT = cypher(
    "notifications.REPOINT_COMMENT",
    """
    MATCH (n:Notification {kind: 'COMMENT', post_id: $post_id})-[act:ACTOR]->(:User {id: $author_id})
    WHERE act.comment_id = $comment_id
    SET act.comment_id = $remaining,
        n.comment_id = CASE WHEN n.comment_id = $comment_id THEN $remaining ELSE n.comment_id END
    RETURN count(act) AS repointed
    """,
    write=True,
    system=True,
)

#: A post was deleted: every notification about it goes. Returns ``{deleted}``.
POST_GONE = cypher(
    "notifications.POST_GONE",
    """
    MATCH (n:Notification {post_id: $post_id})
    WITH collect(n) AS gone
    FOREACH (x IN gone | DETACH DELETE x)
    RETURN size(gone) AS deleted
    """,
    write=True,
    system=True,
)

#: ``$actor_id``'s actor edges in ``$recipient_id``'s notifications go (after a block, each direction);
#: notifications left without actors are deleted. Returns ``{removed, deleted}``.
BLOCK_GONE = cypher(
    "notifications.BLOCK_GONE",
    """
    MATCH (n:Notification {recipient_id: $recipient_id})-[act:ACTOR]->(a:User {id: $actor_id})
    OPTIONAL MATCH (n)-[rest:ACTOR]->(other:User)
    WHERE other.id <> $actor_id
    WITH n, act, count(rest) AS remaining
    FOREACH (gone IN CASE WHEN remaining > 0 THEN [act] ELSE [] END | DELETE gone)
    FOREACH (_ IN CASE WHEN remaining = 0 THEN [1] ELSE [] END | DETACH DELETE n)
    RETURN count(act) AS removed, sum(CASE WHEN remaining = 0 THEN 1 ELSE 0 END) AS deleted
    """,
    write=True,
    system=True,
)

# -- reads (the recipient's own list) -----------------------------------------------------------------------

_FIELDS = "n {.id, .kind, .post_id, .comment_id, .created_at, .updated_at, .read} AS notification"

# After ``n`` (candidate notifications of viewer ``v``) is bound: the visible actors (newest first) and the
# post gate. Adds the columns actor_count, actors_all (ids), visible (some actor visible and, for a
# notification about a post, the post visible to ``v``).
_HYDRATE = f"""
    OPTIONAL MATCH (n)-[act:ACTOR]->(a:User)
    WHERE {no_block("a", "v")}
    WITH v, n, act, a ORDER BY act.at DESC, a.id DESC
    WITH v, n, count(a) AS actor_count, collect(a.id) AS actors_all
    OPTIONAL MATCH (pa:User)-[:POSTED]->(p:Post {{id: n.post_id}})
    WHERE {post_visible("p", "pa", "v")}
    WITH n, actor_count, actors_all, actor_count > 0 AND (n.post_id = '' OR p IS NOT NULL) AS visible
"""

#: One keyset page of ``$viewer_id``'s notifications, newest ``updated_at`` first: the next ``$scan``
#: candidates strictly after ``($after_at, $after_id)``, each with ``visible``, ``actor_count`` and the first
#: ``$actors`` visible actor ids. Hidden candidates come back too, so the caller knows how far it scanned.
NOTIFICATIONS_PAGE = cypher(
    "notifications.NOTIFICATIONS_PAGE",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    MATCH (n:Notification {{recipient_id: $viewer_id}})
    WHERE {keyset_before("n.updated_at", "n.id", "after_at", "after_id")}
    WITH v, n ORDER BY n.updated_at DESC, n.id DESC LIMIT $scan
    {_HYDRATE}
    RETURN {_FIELDS}, visible, actor_count, actors_all[0..$actors] AS actor_ids
    ORDER BY n.updated_at DESC, n.id DESC
    """,
)

#: The notifications of ``$ids`` that belong to ``$viewer_id`` and are visible (shape of the page rows).
NOTIFICATIONS_BY_IDS = cypher(
    "notifications.NOTIFICATIONS_BY_IDS",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    UNWIND $ids AS notification_id
    MATCH (n:Notification {{id: notification_id}})
    WHERE n.recipient_id = $viewer_id
    {_HYDRATE}
    WHERE visible
    RETURN {_FIELDS}, visible, actor_count, actors_all[0..$actors] AS actor_ids
    """,
)

#: ``{unread}``: the viewer's unread notifications that are visible (as in the list).
UNREAD_COUNT = cypher(
    "notifications.UNREAD_COUNT",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    MATCH (n:Notification {{recipient_id: $viewer_id}})
    WHERE NOT coalesce(n.read, false)
    {_HYDRATE}
    WHERE visible
    RETURN count(n) AS unread
    """,
)

#: Visible notifications of ``$viewer_id`` changed after ``$since`` ms, oldest change first (replay from the
#: graph when the stream no longer holds the resume point): ``{id, updated_at}``, at most ``$limit``.
CHANGED_SINCE = cypher(
    "notifications.CHANGED_SINCE",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    MATCH (n:Notification {{recipient_id: $viewer_id}})
    WHERE n.updated_at > $since
    {_HYDRATE}
    WHERE visible
    RETURN n.id AS id, n.updated_at AS updated_at
    ORDER BY n.updated_at, n.id
    LIMIT $limit
    """,
)

#: ``{found, updated_at}`` of the viewer's notification ``$id`` (``found`` false: not theirs or gone).
NOTIFICATION_POSITION = cypher(
    "notifications.NOTIFICATION_POSITION",
    """
    MATCH (v:User {id: $viewer_id})
    OPTIONAL MATCH (n:Notification {id: $id})
    WHERE n.recipient_id = v.id
    RETURN n IS NOT NULL AS found, n.updated_at AS updated_at
    """,
)

#: Mark the viewer's notifications read: all (``$up_at`` null) or those at or below ``($up_at, $up_id)`` in
#: list order (not strictly above it: ``graph.keyset``'s form, no upper bound on the indexed id). ``{marked}``.
MARK_READ = cypher(
    "notifications.MARK_READ",
    f"""
    MATCH (n:Notification {{recipient_id: $viewer_id}})
    WHERE NOT coalesce(n.read, false)
      AND ($up_at IS NULL OR NOT {keyset_after("n.updated_at", "n.id", "up_at", "up_id")})
    SET n.read = true
    RETURN count(n) AS marked
    """,
    write=True,
)
