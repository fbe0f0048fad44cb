"""Cypher statements of stories: create, upload, publish, delete, view, and the reads (Neo4j 5 and FalkorDB).

Graph shape (DESIGN.md "Data model")::

    (:User)-[:POSTED_STORY]->(:Story {id, status, audience, created_at, updated_at, expires_at,
                                      failure_reason, media_state, view_count, expiry_announced_at,
                                      expired_at, deleted_at, seed_key})
    (:Story)-[:HAS_MEDIA {position: 0}]->(:Media {id, key, content_type, byte_size, alt_text, width, height,
                                                   variants})          variants: JSON object size -> S3 key
    (:User)-[:VIEWED {at}]->(:Story)            one edge per viewer (never the author)
    (:User)-[:CLOSE_FRIEND {created_at}]->(:User)   the owner's close-friends list (graph.statements.close_friends)
    (:Highlight)-[:HIGHLIGHTS {position}]->(:Story)  (graph.statements.highlights)

Status machine: PENDING_UPLOAD -> PROCESSING -> ACTIVE -> EXPIRED; PENDING_UPLOAD or PROCESSING -> FAILED; any
but DELETED -> DELETED. ``expires_at`` (epoch ms) is fixed at creation (``created_at + story_ttl``) and is the
truth: every viewer-facing read compares it with ``$now`` (:func:`live_story_visible`), whatever ``status``
says, so a story past its time is never served live even before a worker marks it EXPIRED.
``media_state`` tracks the S3 objects: LIVE (uploaded or being shown), KEPT (expired but in a highlight),
PURGING (to delete), PURGED (deleted); ``graph.statements.story_expiry`` moves it.

Visibility of a story to a viewer other than its author: the account's content is visible (``can_view``:
no block either way, a private account only to approved followers) and, for a CLOSE_FRIENDS story, the
author has the viewer on their close-friends list. The author sees their own stories in every status but
DELETED (the archive). ``services.story_reads`` applies the same rule in Python to the flags that
``STORIES_BY_IDS`` returns (highlighted stories stay visible past expiry there).
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.keyset import keyset_before
from graph.statements.outbox import WRITE_OUTBOX, write_outbox_if
from graph.statements.users import USER_FIELDS
from graph.statements.visibility import can_view, no_block, viewer_relation


def audience_allows(story: str, author: str, viewer: str) -> str:
    """``WHERE`` expression: the (nullable) ``viewer`` is in the audience of the bound ``story`` by the bound
    ``author``: a FOLLOWERS story's audience is everyone who may see the account; a CLOSE_FRIENDS story's is
    the author and the users on the author's close-friends list."""
    return (
        f"({story}.audience <> 'CLOSE_FRIENDS' OR ({viewer} IS NOT NULL AND ({author}.id = {viewer}.id"
        f" OR ({author})-[:CLOSE_FRIEND]->({viewer}))))"
    )


def live_story_visible(story: str, author: str, viewer: str) -> str:
    """``WHERE`` expression: the bound ``story`` of the bound ``author`` is ACTIVE, not past its
    ``expires_at`` (compared with the statement's ``$now`` parameter), and the (nullable) ``viewer`` may see
    it (``can_view`` and :func:`audience_allows`)."""
    return (
        f"({story}.status = 'ACTIVE' AND {story}.expires_at > $now AND {can_view(author, viewer)}"
        f" AND {audience_allows(story, author, viewer)})"
    )


_CONTENT_ITEMS: tuple[tuple[str, str], ...] = (
    ("story", "s {.id, .status, .audience, .created_at, .expires_at, .failure_reason, .media_state}"),
    ("author_id", "a.id"),
    ("media", "[(s)-[sm:HAS_MEDIA]->(m:Media) | m {.id, .key, .content_type, .byte_size, .alt_text, .width, "
              ".height, .variants}]"),
    ("highlights", "size([(s)<-[hl:HIGHLIGHTS]-(h:Highlight) | h.id])"),
)  # fmt: skip

#: Projection of one story (``s``) by its author (``a``) for ``services.story_reads.record_from_row``.
STORY_CONTENT = "\n    " + ",\n    ".join(f"{expr} AS {name}" for name, expr in _CONTENT_ITEMS) + "\n"

#: Create a story in PENDING_UPLOAD with its one media item, unless the author already has ``$max_live``
#: stories live or on their way (PENDING_UPLOAD, PROCESSING, ACTIVE, not past ``expires_at``).
#: ``$story``/``$media``: the nodes' properties. Row: ``{created, live, next_free}`` (``next_free``: the
#: soonest ``expires_at`` among the live ones); none when the author is absent.
CREATE_STORY = cypher(
    "stories.CREATE_STORY",
    """
    MATCH (a:User {id: $author_id})
    OPTIONAL MATCH (a)-[:POSTED_STORY]->(live:Story)
    WHERE live.status IN ['PENDING_UPLOAD', 'PROCESSING', 'ACTIVE'] AND live.expires_at > $now
    WITH a, count(live) AS live, min(live.expires_at) AS next_free
    FOREACH (_ IN CASE WHEN live < $max_live THEN [1] ELSE [] END |
        CREATE (a)-[:POSTED_STORY]->(s:Story)
        SET s = $story
        CREATE (s)-[:HAS_MEDIA {position: 0}]->(m:Media)
        SET m = $media)
    RETURN live < $max_live AS created, live, next_free
    """,
    write=True,
)

#: Stories by id with what decides their visibility to ``$viewer_id`` ("" for nobody): STORY_CONTENT plus
#: ``author_private``, ``viewer_follows``, ``blocked`` and ``close_friend`` (the author lists the viewer).
#: The service applies the rule; absent ids have no row.
STORIES_BY_IDS = cypher(
    "stories.STORIES_BY_IDS",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $ids AS story_id
    MATCH (a:User)-[:POSTED_STORY]->(s:Story {{id: story_id}})
    {viewer_relation("v", "a", "v, a, s")}
    OPTIONAL MATCH (a)-[cf:CLOSE_FRIEND]->(v)
    WITH a, s, viewer_follows, blocked, count(cf) > 0 AS close_friend
    RETURN {STORY_CONTENT.rstrip()},
    coalesce(a.is_private, false) AS author_private, viewer_follows, blocked, close_friend
    """,
)

#: The live stories (ACTIVE, before ``expires_at``) of each of ``$owner_ids`` that ``$viewer_id`` may see,
#: oldest first per owner. Rows: STORY_CONTENT.
USER_STORIES = cypher(
    "stories.USER_STORIES",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $owner_ids AS owner_id
    MATCH (a:User {{id: owner_id}})-[:POSTED_STORY]->(s:Story)
    WHERE {live_story_visible("s", "a", "v")}
    WITH a, s
    ORDER BY s.created_at, s.id
    RETURN {STORY_CONTENT}
    """,
)

#: One page of ``$viewer_id``'s own stories in every status but DELETED (the archive), newest first, keyset
#: ``(created_at, id)`` strictly before ``($before_ts, $before_id)``. Rows: STORY_CONTENT, at most ``$limit``.
ARCHIVE_PAGE = cypher(
    "stories.ARCHIVE_PAGE",
    f"""
    MATCH (a:User {{id: $viewer_id}})-[:POSTED_STORY]->(s:Story)
    WHERE s.status <> 'DELETED' AND {keyset_before("s.created_at", "s.id", "before_ts", "before_id")}
    WITH a, s
    ORDER BY s.created_at DESC, s.id DESC
    LIMIT $limit
    RETURN {STORY_CONTENT}
    """,
)

#: The story ``$story_id`` for a worker, whatever its status. Rows: STORY_CONTENT (none when absent).
STORY_FOR_SYSTEM = cypher(
    "stories.STORY_FOR_SYSTEM",
    f"""
    MATCH (a:User)-[:POSTED_STORY]->(s:Story {{id: $story_id}})
    RETURN {STORY_CONTENT}
    """,
    system=True,
)

#: PENDING_UPLOAD -> PROCESSING by its author with the ``media.story_uploaded`` Outbox node. Rows: ``{id}``.
MARK_STORY_PROCESSING = cypher(
    "stories.MARK_STORY_PROCESSING",
    f"""
    MATCH (a:User {{id: $author_id}})-[:POSTED_STORY]->(s:Story {{id: $story_id}})
    WHERE s.status = 'PENDING_UPLOAD'
    SET s.status = 'PROCESSING', s.updated_at = $now
    {WRITE_OUTBOX}
    RETURN s.id AS id
    """,
    write=True,
)

#: PROCESSING -> ACTIVE (or straight to EXPIRED when ``expires_at`` passed meanwhile, its media then to
#: PURGING) with the media item's ``width``/``height``/``variants``; ``story.published`` is recorded only when
#: it went ACTIVE. Rows: ``{id, author_id, status, expires_at}`` (none: not PROCESSING any more).
ACTIVATE_STORY = cypher(
    "stories.ACTIVATE_STORY",
    f"""
    MATCH (a:User)-[:POSTED_STORY]->(s:Story {{id: $story_id}})-[:HAS_MEDIA]->(m:Media {{id: $media_id}})
    WHERE s.status = 'PROCESSING'
    WITH a, s, m, s.expires_at > $now AS live
    SET m.width = $width, m.height = $height, m.variants = $variants,
        s.status = CASE WHEN live THEN 'ACTIVE' ELSE 'EXPIRED' END,
        s.media_state = CASE WHEN live THEN 'LIVE' ELSE 'PURGING' END,
        s.updated_at = $now, s.published_at = $now
    {write_outbox_if("live")}
    RETURN s.id AS id, a.id AS author_id, s.status AS status, s.expires_at AS expires_at
    """,
    write=True,
    system=True,
)

#: ``$from`` statuses -> FAILED with ``$reason``; its objects (original, any variant) go to PURGING.
#: Rows: ``{id}`` (none: not in one of ``$from``).
MARK_STORY_FAILED = cypher(
    "stories.MARK_STORY_FAILED",
    """
    MATCH (s:Story {id: $story_id})
    WHERE s.status IN $from
    SET s.status = 'FAILED', s.failure_reason = $reason, s.updated_at = $now, s.media_state = 'PURGING'
    RETURN s.id AS id
    """,
    write=True,
    system=True,
)

#: Soft-delete ``$story_id`` by its author (any status but DELETED): status DELETED, out of every highlight,
#: media to PURGING, ``story.deleted`` recorded. Rows: ``{id, previous}`` (none: absent, not the author's,
#: or already deleted). ``SET s.lock_at`` first takes the story's write lock on Neo4j, so that a concurrent
#: ``CREATE_HIGHLIGHT`` (which locks the story the same way before checking its status) either sees DELETED
#: or has its new HIGHLIGHTS edge seen and removed here; FalkorDB runs writes one at a time anyway.
DELETE_STORY = cypher(
    "stories.DELETE_STORY",
    f"""
    MATCH (a:User {{id: $author_id}})-[:POSTED_STORY]->(s:Story {{id: $story_id}})
    WHERE s.status <> 'DELETED'
    SET s.lock_at = $now
    WITH s, s.status AS previous
    OPTIONAL MATCH (s)<-[hl:HIGHLIGHTS]-(:Highlight)
    DELETE hl
    WITH DISTINCT s, previous
    SET s.status = 'DELETED', s.deleted_at = $now, s.updated_at = $now,
        s.media_state = CASE WHEN s.media_state = 'PURGED' THEN 'PURGED' ELSE 'PURGING' END
    {WRITE_OUTBOX}
    RETURN s.id AS id, previous
    """,
    write=True,
)

#: Record that ``$viewer_id`` saw the live story ``$story_id`` they may see (never the author's own): one
#: ``VIEWED {at}`` edge per viewer. ``fresh`` is true only when this statement made the edge (the ``$tx``
#: token set ON CREATE tells our MERGE from a concurrent one). No row: absent, expired, hidden or own.
VIEW_STORY = cypher(
    "stories.VIEW_STORY",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    MATCH (a:User)-[:POSTED_STORY]->(s:Story {{id: $story_id}})
    WHERE a.id <> v.id AND {live_story_visible("s", "a", "v")}
    MERGE (v)-[r:VIEWED]->(s)
    ON CREATE SET r.at = $now, r.tx = $tx
    WITH s, r, coalesce(r.tx = $tx, false) AS fresh
    SET r.tx = null
    RETURN s.id AS id, fresh
    """,
    write=True,
)

#: One page of the viewers of ``$story_id`` (asked by its author ``$viewer_id``), most recent first, keyset
#: ``(at, user id)`` strictly before ``($before_at, $before_id)``; users blocked either way are left out.
#: Rows: ``{user, at}``, at most ``$limit``.
VIEWERS_PAGE = cypher(
    "stories.VIEWERS_PAGE",
    """
    MATCH (v:User {id: $viewer_id})-[:POSTED_STORY]->(s:Story {id: $story_id})
    MATCH (u:User)-[r:VIEWED]->(s)
    WHERE """
    + no_block("u", "v")
    + f"""
      AND {keyset_before("r.at", "u.id", "before_at", "before_id")}
    WITH u, r
    ORDER BY r.at DESC, u.id DESC
    LIMIT $limit
    RETURN u {USER_FIELDS} AS user, r.at AS at
    """,
)

#: The number of ``VIEWED`` edges (distinct viewers) of each story in ``$ids``. Rows: ``{id, views}``.
VIEW_COUNTS = cypher(
    "stories.VIEW_COUNTS",
    """
    UNWIND $ids AS story_id
    MATCH (s:Story {id: story_id})
    OPTIONAL MATCH (:User)-[r:VIEWED]->(s)
    RETURN s.id AS id, count(r) AS views
    """,
    system=True,
)

#: Recount and store ``view_count`` of each story in ``$ids`` from its ``VIEWED`` edges (the write-back of
#: the Redis counters). Rows: ``{id, views}``.
WRITE_BACK_VIEW_COUNTS = cypher(
    "stories.WRITE_BACK_VIEW_COUNTS",
    """
    UNWIND $ids AS story_id
    MATCH (s:Story {id: story_id})
    OPTIONAL MATCH (:User)-[r:VIEWED]->(s)
    WITH s, count(r) AS views
    SET s.view_count = views
    RETURN s.id AS id, views
    """,
    write=True,
    system=True,
)
