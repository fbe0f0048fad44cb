"""Bulk-import statements for the SNAP ego-Facebook graph (``services.seed_graph``).

Every statement is idempotent: users and edges are ``MERGE``d (users by their unique ``username``), and the
counters are set from the real degrees only where they differ, so a second import writes nothing. Batches
are ``UNWIND $rows`` lists of up to 5,000 maps (verified on FalkorDB over RESP).
"""

from __future__ import annotations

from graph.cypher import cypher

MERGE_USERS = cypher(
    "seed_graph.MERGE_USERS",
    """
    UNWIND $rows AS row
    MERGE (u:User {username: row.username})
      ON CREATE SET u.id = row.id, u.email = row.email, u.password_hash = $password_hash,
                    u.is_private = false, u.is_verified = false, u.created_at = row.created_at,
                    u.follower_count = 0, u.following_count = 0, u.post_count = 0
    RETURN count(u) AS users
    """,
    write=True,
)
"""``$rows``: ``[{username, id, email, created_at}]``; ``$password_hash``: one argon2id hash for all."""

MERGE_FOLLOWS = cypher(
    "seed_graph.MERGE_FOLLOWS",
    """
    UNWIND $rows AS row
    MATCH (a:User {username: row.follower})
    MATCH (b:User {username: row.followee})
    MERGE (a)-[f:FOLLOWS]->(b)
      ON CREATE SET f.created_at = row.created_at
    RETURN count(f) AS follows
    """,
    write=True,
)
"""``$rows``: ``[{follower, followee, created_at}]`` (usernames, epoch ms). Counters are NOT touched."""

SYNC_COUNTERS = cypher(
    "seed_graph.SYNC_COUNTERS",
    """
    UNWIND $usernames AS username
    MATCH (u:User {username: username})
    OPTIONAL MATCH (:User)-[incoming:FOLLOWS]->(u)
    WITH u, count(incoming) AS followers
    OPTIONAL MATCH (u)-[outgoing:FOLLOWS]->(:User)
    WITH u, followers, count(outgoing) AS following
    WHERE coalesce(u.follower_count, -1) <> followers OR coalesce(u.following_count, -1) <> following
    SET u.follower_count = followers, u.following_count = following
    RETURN count(u) AS updated
    """,
    write=True,
)
"""Set ``follower_count`` / ``following_count`` of ``$usernames`` from their FOLLOWS degrees, only where
they differ. Returns ``{updated}``."""

USER_TOTAL = cypher("seed_graph.USER_TOTAL", "MATCH (u:User) RETURN count(u) AS n")
FOLLOWS_TOTAL = cypher("seed_graph.FOLLOWS_TOTAL", "MATCH (:User)-[f:FOLLOWS]->(:User) RETURN count(f) AS n")

IDS_BY_USERNAME = cypher(
    "seed_graph.IDS_BY_USERNAME",
    "UNWIND $usernames AS name MATCH (u:User {username: name}) RETURN u.username AS username, u.id AS id",
)
"""``{username, id}`` for each of ``$usernames`` that exists (seeders and benchmarks map ``fb_n`` to ids)."""
