"""Cypher statements of Web Push subscriptions (a browser's PushSubscription: the device channel).

``(:User)-[:HAS_PUSH]->(:PushSubscription {id, user_id, endpoint, p256dh, auth, created_at})``. ``id`` is the
SHA-256 of the endpoint (hex, unique): a push service's endpoint names one browser profile, so registering it
again (another account signed in on that browser) moves it to the new user.
"""

from __future__ import annotations

from graph.cypher import cypher

#: Register ``$sub`` ({id, endpoint, p256dh, auth, created_at}) for ``$user_id`` unless the user already has
#: ``$max`` other subscriptions. Returns ``{allowed}``; no row for an unknown user.
REGISTER = cypher(
    "web_push.REGISTER",
    """
    MATCH (u:User {id: $user_id})
    OPTIONAL MATCH (u)-[:HAS_PUSH]->(mine:PushSubscription)
    WHERE mine.id <> $sub.id
    WITH u, count(mine) < $max AS allowed
    OPTIONAL MATCH (previous:User)-[old:HAS_PUSH]->(:PushSubscription {id: $sub.id})
    WHERE previous.id <> u.id AND allowed
    WITH u, allowed, collect(old) AS moved
    FOREACH (gone IN moved | DELETE gone)
    FOREACH (_ IN CASE WHEN allowed THEN [1] ELSE [] END |
        MERGE (s:PushSubscription {id: $sub.id})
        ON CREATE SET s.created_at = $sub.created_at
        SET s.user_id = u.id, s.endpoint = $sub.endpoint, s.p256dh = $sub.p256dh, s.auth = $sub.auth
        MERGE (u)-[:HAS_PUSH]->(s))
    RETURN allowed
    """,
    write=True,
)

#: Remove ``$user_id``'s subscription ``$id``. Returns ``{removed}`` (0 or 1).
UNREGISTER = cypher(
    "web_push.UNREGISTER",
    """
    MATCH (u:User {id: $user_id})
    OPTIONAL MATCH (u)-[:HAS_PUSH]->(s:PushSubscription {id: $id})
    WITH collect(s) AS found
    FOREACH (gone IN found | DETACH DELETE gone)
    RETURN size(found) AS removed
    """,
    write=True,
)

#: Every subscription of ``$user_id``: ``{id, endpoint, p256dh, auth}``.
SUBSCRIPTIONS = cypher(
    "web_push.SUBSCRIPTIONS",
    """
    MATCH (:User {id: $user_id})-[:HAS_PUSH]->(s:PushSubscription)
    RETURN s.id AS id, s.endpoint AS endpoint, s.p256dh AS p256dh, s.auth AS auth
    ORDER BY s.created_at
    """,
    system=True,
)

#: The push service said the subscription ``$id`` is gone (404/410): delete it. ``{removed}``.
PRUNE = cypher(
    "web_push.PRUNE",
    """
    OPTIONAL MATCH (s:PushSubscription {id: $id})
    WITH collect(s) AS found
    FOREACH (gone IN found | DETACH DELETE gone)
    RETURN size(found) AS removed
    """,
    write=True,
    system=True,
)
