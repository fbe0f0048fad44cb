"""Cypher statements of the stories ring (``services.story_ring``): who the viewer follows, the visible live
stories among candidate ids read from Redis, and the graph-only ring for when Redis is down.

Every statement takes ``$now`` (epoch ms) for the read-time expiry check of
``graph.statements.stories.live_story_visible``.
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.statements.stories import STORY_CONTENT, live_story_visible
from graph.statements.users import USER_FIELDS
from graph.statements.visibility import no_block

#: The ids of the users ``$viewer_id`` follows, as one list (a block removes the follows both ways, and
#: ``RING_STORIES`` applies the whole rule to the candidates). Row: ``{ids}``. One list, not a row per
#: followee, and no pattern predicate per row: for fb_107's 1,045 followees 1.0 ms against 3.7 ms (rows) and
#: 40 ms (rows with a ``no_block`` check each) on FalkorDB 4.16.
FOLLOWEE_IDS = cypher(
    "story_ring.FOLLOWEE_IDS",
    """
    MATCH (v:User {id: $viewer_id})-[:FOLLOWS]->(a:User)
    RETURN collect(a.id) AS ids
    """,
)

#: The stories among ``$ids`` that are live and visible to ``$viewer_id``, with their authors. Rows:
#: STORY_CONTENT plus ``author`` (the public user projection).
RING_STORIES = cypher(
    "story_ring.RING_STORIES",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $ids AS story_id
    MATCH (a:User)-[:POSTED_STORY]->(s:Story {{id: story_id}})
    WHERE {live_story_visible("s", "a", "v")}
    RETURN {STORY_CONTENT.rstrip()},
    a {USER_FIELDS} AS author
    """,
)

#: The ring from the graph alone (Redis down): the live stories of the viewer and of everyone they follow
#: that the viewer may see, with their authors and whether the viewer has a ``VIEWED`` edge to each. Rows:
#: STORY_CONTENT plus ``author`` and ``seen``.
RING_FROM_GRAPH = cypher(
    "story_ring.RING_FROM_GRAPH",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    OPTIONAL MATCH (v)-[:FOLLOWS]->(f:User)
    WITH v, collect(f) + [v] AS owners
    UNWIND owners AS a
    MATCH (a)-[:POSTED_STORY]->(s:Story)
    WHERE {live_story_visible("s", "a", "v")}
    OPTIONAL MATCH (v)-[seen:VIEWED]->(s)
    WITH a, s, count(seen) > 0 AS seen
    RETURN {STORY_CONTENT.rstrip()},
    a {USER_FIELDS} AS author, seen
    """,
)

#: Whether ``$viewer_id`` has a ``VIEWED`` edge to each story of ``$ids`` (the seen flags when Redis is
#: down). Rows: ``{id, seen}`` for existing stories of authors not blocked either way.
SEEN_FLAGS = cypher(
    "story_ring.SEEN_FLAGS",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    UNWIND $ids AS story_id
    MATCH (a:User)-[:POSTED_STORY]->(s:Story {{id: story_id}})
    WHERE {no_block("a", "v")}
    OPTIONAL MATCH (v)-[seen:VIEWED]->(s)
    RETURN s.id AS id, count(seen) > 0 AS seen
    """,
)
