"""Cypher statements of story highlights (``services.highlights``).

Graph shape::

    (:User)-[:HAS_HIGHLIGHT]->(:Highlight {id, title, created_at, deleted, deleted_at})
    (:Highlight)-[:HIGHLIGHTS {position}]->(:Story)      position: 0.. in the order the owner gave

A highlight is visible like the owner's posts (``can_view``: no block either way, a private account's only to
approved followers); each of its stories is then shown to whoever is in that story's audience
(``services.story_reads``). Deleting a highlight is soft (``deleted``) and removes its HIGHLIGHTS edges; an
EXPIRED story left in no highlight then has its media moved to PURGING for the expiry consumer.
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.statements.outbox import WRITE_OUTBOX
from graph.statements.visibility import can_view

_HIGHLIGHT_CONTENT = """h {.id, .title, .created_at} AS highlight, a.id AS owner_id,
           [(h)-[p:HIGHLIGHTS]->(s:Story) | {id: s.id, position: p.position}] AS stories"""

#: A highlight of ``$viewer_id``'s own stories ``$story_ids`` (in that order), each ACTIVE or EXPIRED with
#: its media still there (LIVE or KEPT), when the viewer has fewer than ``$max_highlights`` highlights (a
#: highlight whose stories were all deleted does not count).
#: ``$highlight``: the node's properties. Rows: ``{id, stories}``; none when a condition fails. Each story is
#: locked (``SET s.lock_at``) before its status is read, as in ``graph.statements.story_expiry``.
CREATE_HIGHLIGHT = cypher(
    "highlights.CREATE_HIGHLIGHT",
    """
    MATCH (v:User {id: $viewer_id})
    OPTIONAL MATCH (v)-[:HAS_HIGHLIGHT]->(old:Highlight)
    WHERE NOT coalesce(old.deleted, false) AND (old)-[:HIGHLIGHTS]->(:Story)
    WITH v, count(old) AS existing
    WHERE existing < $max_highlights
    UNWIND range(0, size($story_ids) - 1) AS position
    WITH v, position, $story_ids[position] AS story_id
    MATCH (v)-[:POSTED_STORY]->(s:Story {id: story_id})
    SET s.lock_at = $now
    WITH v, position, s
    WHERE s.status IN ['ACTIVE', 'EXPIRED'] AND s.media_state IN ['LIVE', 'KEPT']
    WITH v, collect(s) AS stories, collect(position) AS positions
    WHERE size(stories) = size($story_ids)
    CREATE (v)-[:HAS_HIGHLIGHT]->(h:Highlight)
    SET h = $highlight
    WITH h, stories, positions
    UNWIND range(0, size(stories) - 1) AS i
    WITH h, stories[i] AS s, positions[i] AS position
    CREATE (h)-[:HIGHLIGHTS {position: position}]->(s)
    RETURN h.id AS id, count(s) AS stories
    """,
    write=True,
)

#: Soft-delete ``$viewer_id``'s highlight ``$highlight_id``: ``deleted``, its HIGHLIGHTS edges removed, each
#: EXPIRED story with KEPT media that was in this highlight only moved to PURGING, and
#: ``story.highlight_deleted`` recorded. Rows: ``{id}`` (none: absent, someone else's, or already deleted).
DELETE_HIGHLIGHT = cypher(
    "highlights.DELETE_HIGHLIGHT",
    f"""
    MATCH (v:User {{id: $viewer_id}})-[:HAS_HIGHLIGHT]->(h:Highlight {{id: $highlight_id}})
    WHERE NOT coalesce(h.deleted, false)
    SET h.deleted = true, h.deleted_at = $now
    {WRITE_OUTBOX}
    WITH h
    OPTIONAL MATCH (h)-[hl:HIGHLIGHTS]->(s:Story)
    FOREACH (locked IN CASE WHEN s IS NULL THEN [] ELSE [s] END | SET locked.lock_at = $now)
    WITH h, hl, s,
         CASE WHEN s IS NULL THEN 0 ELSE size([(s)<-[other:HIGHLIGHTS]-(o:Highlight) | o.id]) END AS highlights
    FOREACH (orphan IN CASE WHEN s IS NOT NULL AND highlights = 1 AND s.status = 'EXPIRED'
                            AND s.media_state = 'KEPT' THEN [s] ELSE [] END |
        SET orphan.media_state = 'PURGING', orphan.updated_at = $now)
    DELETE hl
    RETURN DISTINCT h.id AS id
    """,
    write=True,
)

#: The live highlights (not deleted, with at least one story) of each of ``$owner_ids`` that ``$viewer_id``
#: may see, newest first. Rows:
#: ``{highlight, owner_id, stories: [{id, position}]}``.
HIGHLIGHTS_OF_USERS = cypher(
    "highlights.HIGHLIGHTS_OF_USERS",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $owner_ids AS owner_id
    MATCH (a:User {{id: owner_id}})-[:HAS_HIGHLIGHT]->(h:Highlight)
    WHERE NOT coalesce(h.deleted, false) AND (h)-[:HIGHLIGHTS]->(:Story) AND {can_view("a", "v")}
    WITH a, h
    ORDER BY h.created_at DESC, h.id DESC
    RETURN {_HIGHLIGHT_CONTENT}
    """,
)

#: Highlights by id that ``$viewer_id`` may see (not deleted). Rows: as ``HIGHLIGHTS_OF_USERS``.
HIGHLIGHTS_BY_IDS = cypher(
    "highlights.HIGHLIGHTS_BY_IDS",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $ids AS highlight_id
    MATCH (a:User)-[:HAS_HIGHLIGHT]->(h:Highlight {{id: highlight_id}})
    WHERE NOT coalesce(h.deleted, false) AND {can_view("a", "v")}
    RETURN {_HIGHLIGHT_CONTENT}
    """,
)
