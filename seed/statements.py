"""Bulk-import statements for the SNAP ego-Facebook graph (``seed.snap_graph``).

Every statement is idempotent: users and edges are ``MERGE``d (users by their unique ``username``), and the
counters are set from the real degrees only where they differ, so a second import writes nothing. Batches
are ``UNWIND $rows`` lists of up to 5,000 maps (verified on FalkorDB over RESP).
"""

from __future__ import annotations

from graph.cypher import cypher

MERGE_USERS = cypher(
    "seed.MERGE_USERS",
    """
    UNWIND $rows AS row
    MERGE (u:User {username: row.username})
      ON CREATE SET u.id = row.id, u.email = row.email, u.password_hash = $password_hash,
                    u.is_private = false, u.is_verified = false, u.created_at = row.created_at,
                    u.follower_count = 0, u.following_count = 0, u.post_count = 0
    RETURN count(u) AS users
    """,
    write=True,
    system=True,
)
"""``$rows``: ``[{username, id, email, created_at}]``; ``$password_hash``: one argon2id hash for all."""

MERGE_FOLLOWS = cypher(
    "seed.MERGE_FOLLOWS",
    """
    UNWIND $rows AS row
    MATCH (a:User {username: row.follower})
    MATCH (b:User {username: row.followee})
    MERGE (a)-[f:FOLLOWS]->(b)
      ON CREATE SET f.created_at = row.created_at
    RETURN count(f) AS follows
    """,
    write=True,
    system=True,
)
"""``$rows``: ``[{follower, followee, created_at}]`` (usernames, epoch ms). Counters are NOT touched."""

SYNC_COUNTERS = cypher(
    "seed.SYNC_COUNTERS",
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
    system=True,
)
"""Set ``follower_count`` / ``following_count`` of ``$usernames`` from their FOLLOWS degrees, only where
they differ. Returns ``{updated}``."""

USER_TOTAL = cypher("seed.USER_TOTAL", "MATCH (u:User) RETURN count(u) AS n", system=True)
FOLLOWS_TOTAL = cypher("seed.FOLLOWS_TOTAL", "MATCH (:User)-[f:FOLLOWS]->(:User) RETURN count(f) AS n", system=True)

IDS_BY_USERNAME = cypher(
    "seed.IDS_BY_USERNAME",
    "UNWIND $usernames AS name MATCH (u:User {username: name}) RETURN u.username AS username, u.id AS id",
    system=True,
)
"""``{username, id}`` for each of ``$usernames`` that exists (seeders and benchmarks map ``fb_n`` to ids)."""

# -- engagement --------------------------------------------------------------------------------------

#: Seeded, published posts with their author: rows ``{post_id, seed_key, caption, created_at, author_id}``
#: in ``seed_key`` order.
SEEDED_POSTS = cypher(
    "seed.SEEDED_POSTS",
    """
    MATCH (a:User)-[:POSTED]->(p:Post)
    WHERE p.seed_key IS NOT NULL AND p.status = 'PUBLISHED'
    RETURN p.id AS post_id, p.seed_key AS seed_key, p.caption AS caption, p.created_at AS created_at,
           a.id AS author_id
    ORDER BY seed_key
    """,
    system=True,
)

#: Followers of each author of ``$author_ids``: rows ``{author_id, followers: [{id, username}, ...]}``
#: (unordered: the caller sorts).
AUTHOR_FOLLOWERS = cypher(
    "seed.AUTHOR_FOLLOWERS",
    """
    UNWIND $author_ids AS author_id
    MATCH (f:User)-[:FOLLOWS]->(a:User {id: author_id})
    RETURN author_id, collect({id: f.id, username: f.username}) AS followers
    """,
    system=True,
)

#: MERGE likes ``$rows`` = ``[{user_id, post_id, at}]``; ``created_at`` is set only on a new edge.
SEED_LIKES = cypher(
    "seed.SEED_LIKES",
    """
    UNWIND $rows AS row
    MATCH (u:User {id: row.user_id})
    MATCH (p:Post {id: row.post_id})
    MERGE (u)-[l:LIKED]->(p)
    ON CREATE SET l.created_at = row.at
    RETURN count(l) AS likes
    """,
    write=True,
    system=True,
)

#: MERGE comments ``$rows`` = ``[{id, user_id, post_id, text, at}]`` by id, with their edges.
SEED_COMMENTS = cypher(
    "seed.SEED_COMMENTS",
    """
    UNWIND $rows AS row
    MATCH (u:User {id: row.user_id})
    MATCH (p:Post {id: row.post_id})
    MERGE (c:Comment {id: row.id})
    ON CREATE SET c.text = row.text, c.created_at = row.at, c.deleted = false
    MERGE (u)-[:WROTE]->(c)
    MERGE (c)-[:ON]->(p)
    RETURN count(c) AS comments
    """,
    write=True,
    system=True,
)

#: Recompute ``like_count`` (and the exact ``like_total`` the like statements keep) and ``comment_count`` of
#: ``$ids`` from the edges and live comments.
RECOUNT_ENGAGEMENT = cypher(
    "seed.RECOUNT_ENGAGEMENT",
    """
    UNWIND $ids AS post_id
    MATCH (p:Post {id: post_id})
    WITH p, size([(u:User)-[:LIKED]->(p) | 1]) AS likes,
         size([(c:Comment)-[:ON]->(p) WHERE NOT coalesce(c.deleted, false) | 1]) AS comments
    SET p.like_count = likes, p.like_total = likes, p.comment_count = comments
    RETURN count(p) AS posts
    """,
    write=True,
    system=True,
)

# -- notifications of the seeded activity (seed.notifications) --------------------------------------------

#: Followers of the users of ``$ids`` with the time they followed: ``{recipient_id, actors: [{id, at}]}``.
#: The block check sits after a ``WITH``: as a ``WHERE`` of the ``MATCH`` it made FalkorDB 4.16 plan a label
#: scan of every user per recipient (10 s instead of 12 ms for 200 recipients on the SNAP graph).
SEED_FOLLOWERS_OF = cypher(
    "seed.SEED_FOLLOWERS_OF",
    """
    UNWIND $ids AS recipient_id
    MATCH (r:User {id: recipient_id})
    MATCH (r)<-[f:FOLLOWS]-(a:User)
    WITH recipient_id, r, f, a
    WHERE NOT (r)-[:BLOCKS]-(a)
    RETURN recipient_id, collect({id: a.id, at: f.created_at}) AS actors
    """,
    system=True,
)

#: Likers and commenters of the seeded posts of ``$post_ids``: ``{post_id, author_id, likes: [{id, at}],
#: comments: [{id, at, comment_id}]}`` (live comments only; the author's own activity left out).
SEED_ENGAGEMENT_OF = cypher(
    "seed.SEED_ENGAGEMENT_OF",
    """
    UNWIND $post_ids AS post_id
    MATCH (p:Post {id: post_id})
    MATCH (r:User)-[:POSTED]->(p)
    OPTIONAL MATCH (liker:User)-[l:LIKED]->(p)
    WHERE liker.id <> r.id
    WITH r, p, collect({id: liker.id, at: l.created_at}) AS likes
    OPTIONAL MATCH (writer:User)-[:WROTE]->(c:Comment)-[:ON]->(p)
    WHERE writer.id <> r.id AND NOT coalesce(c.deleted, false)
    RETURN p.id AS post_id, r.id AS author_id, likes,
           collect({id: writer.id, at: c.created_at, comment_id: c.id}) AS comments
    """,
    system=True,
)

#: One group notification per row ``{recipient_id, kind, key, post_id, comment_id, new_id, created_at,
#: updated_at, actors: [{id, at, comment_id}]}``: the group's anchor and node are MERGEd by key (a re-run
#: finds them), actor edges MERGEd. Returns ``{actors}`` (edges now present for the rows).
SEED_NOTIFICATIONS = cypher(
    "seed.SEED_NOTIFICATIONS",
    """
    UNWIND $rows AS row
    MATCH (r:User {id: row.recipient_id})
    MERGE (g:NotificationGroup {key: row.key})
    ON CREATE SET g.current_id = row.new_id, g.touched_at = row.updated_at
    WITH r, g, row
    MERGE (n:Notification {id: g.current_id})
    ON CREATE SET n.recipient_id = r.id, n.kind = row.kind, n.group_key = row.key, n.post_id = row.post_id,
                  n.comment_id = row.comment_id, n.created_at = row.created_at, n.updated_at = row.updated_at,
                  n.read = false
    WITH n, row
    UNWIND row.actors AS actor
    MATCH (a:User {id: actor.id})
    MERGE (n)-[act:ACTOR]->(a)
    ON CREATE SET act.at = actor.at, act.comment_id = actor.comment_id, act.tx = ''
    RETURN count(act) AS actors
    """,
    write=True,
    system=True,
)

#: Every user id (the recipients of the seeded FOLLOW groups).
USER_IDS = cypher("seed.USER_IDS", "MATCH (u:User) RETURN u.id AS id ORDER BY id", system=True)

# -- stories -----------------------------------------------------------------------------------------

#: The first ``$limit`` users ``$username`` follows, by username: rows ``{id, username}``.
FOLLOWEES_OF = cypher(
    "seed.FOLLOWEES_OF",
    """
    MATCH (:User {username: $username})-[:FOLLOWS]->(a:User)
    RETURN a.id AS id, a.username AS username
    ORDER BY username
    LIMIT $limit
    """,
    system=True,
)

#: The seeded stories among ``$seed_keys`` that are still on their way or live (PROCESSING, or ACTIVE before
#: ``expires_at``): rows ``{seed_key, id, status}``. Expired or failed ones are seeded again.
LIVE_SEEDED_STORIES = cypher(
    "seed.LIVE_SEEDED_STORIES",
    """
    MATCH (:User)-[:POSTED_STORY]->(s:Story)
    WHERE s.seed_key IN $seed_keys AND s.status IN ['PROCESSING', 'ACTIVE'] AND s.expires_at > $now
    RETURN s.seed_key AS seed_key, s.id AS id, s.status AS status
    """,
    system=True,
)
