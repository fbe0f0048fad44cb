"""Cypher statements of the close-friends list (``services.close_friends``).

Graph shape: ``(:User)-[:CLOSE_FRIEND {created_at}]->(:User)``, from the list's owner to a friend on it. A
CLOSE_FRIENDS story reaches only its author's list (``graph.statements.stories.audience_allows``). An edge
across a block (either way) is inert: every read leaves it out, and it cannot be added.
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.keyset import keyset_before
from graph.statements.users import USER_FIELDS
from graph.statements.visibility import no_block

_PAIR = """
    MATCH (v:User {id: $viewer_id})
    MATCH (t:User {id: $target_id})
    OPTIONAL MATCH (t)-[tb:BLOCKS]->(v)
    WITH v, t, count(tb) > 0 AS blocks_viewer
    OPTIONAL MATCH (v)-[vb:BLOCKS]->(t)
    WITH v, t, blocks_viewer, count(vb) > 0 AS viewer_blocks
"""

#: Put ``$target_id`` on ``$viewer_id``'s list (MERGE: adding twice is one edge) unless a block stands
#: either way or the list already holds ``$max_friends``. Row: ``{user, blocks_viewer, viewer_blocks, full,
#: added}``; none when either user is absent.
ADD_CLOSE_FRIEND = cypher(
    "close_friends.ADD_CLOSE_FRIEND",
    _PAIR
    + f"""
    OPTIONAL MATCH (v)-[listed:CLOSE_FRIEND]->(:User)
    WITH v, t, blocks_viewer, viewer_blocks, count(listed) AS list_size
    OPTIONAL MATCH (v)-[present:CLOSE_FRIEND]->(t)
    WITH v, t, blocks_viewer, viewer_blocks, list_size, count(present) > 0 AS already
    WITH v, t, blocks_viewer, viewer_blocks, already,
         NOT already AND list_size >= $max_friends AS full,
         NOT blocks_viewer AND NOT viewer_blocks AND NOT already AND list_size < $max_friends AS adding
    FOREACH (_ IN CASE WHEN adding THEN [1] ELSE [] END |
        MERGE (v)-[c:CLOSE_FRIEND]->(t)
        ON CREATE SET c.created_at = $now)
    RETURN t {USER_FIELDS} AS user, blocks_viewer, viewer_blocks, full, adding OR already AS added
    """,
    write=True,
)

#: Take ``$target_id`` off ``$viewer_id``'s list (idempotent). Row: ``{user, blocks_viewer}``; none when
#: either user is absent.
REMOVE_CLOSE_FRIEND = cypher(
    "close_friends.REMOVE_CLOSE_FRIEND",
    _PAIR
    + f"""
    OPTIONAL MATCH (v)-[c:CLOSE_FRIEND]->(t)
    DELETE c
    RETURN DISTINCT t {USER_FIELDS} AS user, blocks_viewer
    """,
    write=True,
)

#: One page of ``$viewer_id``'s close friends, most recently added first, keyset ``(created_at, user id)``
#: strictly before ``($before_at, $before_id)``; users blocked either way left out. Rows: ``{user, at}``.
CLOSE_FRIENDS_PAGE = cypher(
    "close_friends.CLOSE_FRIENDS_PAGE",
    f"""
    MATCH (v:User {{id: $viewer_id}})-[c:CLOSE_FRIEND]->(u:User)
    WHERE {no_block("u", "v")}
      AND {keyset_before("c.created_at", "u.id", "before_at", "before_id")}
    WITH u, c
    ORDER BY c.created_at DESC, u.id DESC
    LIMIT $limit
    RETURN u {USER_FIELDS} AS user, c.created_at AS at
    """,
)

#: Which of ``$ids`` are on ``$viewer_id``'s list (blocked either way: not). Rows: ``{id, listed}`` for
#: existing users.
CLOSE_FRIEND_FLAGS = cypher(
    "close_friends.CLOSE_FRIEND_FLAGS",
    f"""
    MATCH (v:User {{id: $viewer_id}})
    UNWIND $ids AS user_id
    MATCH (u:User {{id: user_id}})
    OPTIONAL MATCH (v)-[c:CLOSE_FRIEND]->(u)
    WHERE {no_block("u", "v")}
    RETURN u.id AS id, count(c) > 0 AS listed
    """,
)
