"""Cypher statements of story expiry and media clean-up (``services.story_expiry``), run by workers only.

``media_state`` moves LIVE -> KEPT (expired inside a highlight) or PURGING (expired, deleted or failed, in no
highlight) -> PURGED (objects deleted from S3); ``graph.statements.highlights.DELETE_HIGHLIGHT`` moves KEPT
stories left in no highlight to PURGING. The statements that decide between KEPT and PURGING take the story's
write lock first (``SET s.lock_at``) so that on Neo4j a concurrent ``CREATE_HIGHLIGHT`` or
``DELETE_HIGHLIGHT`` (which lock it the same way) cannot slip an edge change between the check and the write.
"""

from __future__ import annotations

from graph.cypher import cypher

#: Record ``story.expired`` for each row of ``$rows`` (``{id, outbox}``) whose story is ACTIVE, due
#: (``expires_at <= $now``) and not announced before. Rows: ``{id}`` of the stories announced now.
ANNOUNCE_EXPIRED = cypher(
    "story_expiry.ANNOUNCE_EXPIRED",
    """
    UNWIND $rows AS row
    MATCH (s:Story {id: row.id})
    WHERE s.status = 'ACTIVE' AND s.expires_at <= $now AND s.expiry_announced_at IS NULL
    SET s.expiry_announced_at = $now
    CREATE (outbox:Outbox)
    SET outbox = row.outbox
    RETURN s.id AS id
    """,
    write=True,
    system=True,
)

#: ACTIVE stories of ``$ids`` past ``expires_at`` -> EXPIRED; media KEPT when the story is in a highlight,
#: else PURGING. Rows: ``{id, author_id, media_state}`` of the stories expired now.
EXPIRE_STORIES = cypher(
    "story_expiry.EXPIRE_STORIES",
    """
    UNWIND $ids AS story_id
    MATCH (a:User)-[:POSTED_STORY]->(s:Story {id: story_id})
    WHERE s.status = 'ACTIVE' AND s.expires_at <= $now
    SET s.lock_at = $now
    WITH a, s
    WHERE s.status = 'ACTIVE'
    WITH a, s, size([(s)<-[hl:HIGHLIGHTS]-(h:Highlight) | h.id]) AS highlights
    SET s.status = 'EXPIRED', s.expired_at = $now, s.updated_at = $now,
        s.media_state = CASE WHEN highlights > 0 THEN 'KEPT' ELSE 'PURGING' END
    RETURN s.id AS id, a.id AS author_id, s.media_state AS media_state
    """,
    write=True,
    system=True,
)

#: The stories among ``$ids`` whose objects are to be deleted (``media_state`` PURGING), with their authors
#: and media items. Rows: ``{id, author_id, media: [{id, key}]}``.
PURGE_TARGETS = cypher(
    "story_expiry.PURGE_TARGETS",
    """
    UNWIND $ids AS story_id
    MATCH (a:User)-[:POSTED_STORY]->(s:Story {id: story_id})
    WHERE s.media_state = 'PURGING'
    RETURN s.id AS id, a.id AS author_id, [(s)-[:HAS_MEDIA]->(m:Media) | m {.id, .key}] AS media
    """,
    system=True,
)

#: PURGING -> PURGED for ``$ids`` (their objects are gone from S3). Rows: ``{id}``.
MARK_PURGED = cypher(
    "story_expiry.MARK_PURGED",
    """
    UNWIND $ids AS story_id
    MATCH (s:Story {id: story_id})
    WHERE s.media_state = 'PURGING'
    SET s.media_state = 'PURGED', s.purged_at = $now
    RETURN s.id AS id
    """,
    write=True,
    system=True,
)

#: Up to ``$limit`` ACTIVE stories past ``expires_at`` (the reconciliation sweep). Rows: ``{id}``.
DUE_STORIES = cypher(
    "story_expiry.DUE_STORIES",
    """
    MATCH (s:Story)
    WHERE s.status = 'ACTIVE' AND s.expires_at <= $now
    RETURN s.id AS id
    LIMIT $limit
    """,
    system=True,
)

#: Up to ``$limit`` stories whose objects wait for deletion (a purge that failed or never ran). Rows: ``{id}``.
PURGE_PENDING = cypher(
    "story_expiry.PURGE_PENDING",
    """
    MATCH (s:Story)
    WHERE s.media_state = 'PURGING'
    RETURN s.id AS id
    LIMIT $limit
    """,
    system=True,
)

#: Stories in ``$status`` last changed before ``$before`` (ms), at most ``$limit``. Rows: ``{id, author_id,
#: created_at, expires_at}``.
STALE_STORIES = cypher(
    "story_expiry.STALE_STORIES",
    """
    MATCH (a:User)-[:POSTED_STORY]->(s:Story)
    WHERE s.status = $status AND coalesce(s.updated_at, s.created_at) < $before
    RETURN s.id AS id, a.id AS author_id, s.created_at AS created_at, s.expires_at AS expires_at
    LIMIT $limit
    """,
    system=True,
)
