"""Cypher statements of notification preferences and do-not-disturb, stored on the user's own node.

``(:User {notify_likes, notify_comments, notify_follows, notify_follow_requests, notify_mentions, dnd_start,
dnd_end, time_zone})``: absent flags mean on, ``dnd_start``/``dnd_end`` are ``"HH:MM"`` or ``''`` (no window:
never null, FalkorDB 4.16 may clear the wrong property when one statement nulls two), ``time_zone`` an IANA
name (absent: UTC). The notifications worker reads them in the statement that stores a notification
(``graph.statements.notifications``), so a preference is checked before any work is done for it.
"""

from __future__ import annotations

from graph.cypher import cypher

_FIELDS = """u.notify_likes AS likes, u.notify_comments AS comments, u.notify_follows AS follows,
           u.notify_follow_requests AS follow_requests, u.notify_mentions AS mentions,
           u.dnd_start AS dnd_start, u.dnd_end AS dnd_end, u.time_zone AS time_zone"""

#: The preferences of ``$user_id``: one row (raw properties, possibly null) or none for an unknown user.
PREFERENCES = cypher(
    "notification_preferences.PREFERENCES",
    f"MATCH (u:User {{id: $user_id}}) RETURN {_FIELDS}",
)

#: The do-not-disturb settings of the users of ``$ids``: ``{id, dnd_start, dnd_end, time_zone}``.
DND_OF_USERS = cypher(
    "notification_preferences.DND_OF_USERS",
    """
    UNWIND $ids AS user_id
    MATCH (u:User {id: user_id})
    RETURN u.id AS id, u.dnd_start AS dnd_start, u.dnd_end AS dnd_end, u.time_zone AS time_zone
    """,
    system=True,
)

#: Write every preference of ``$user_id`` from ``$prefs`` (complete: the service merged the input into the
#: stored values). Returns the stored row.
UPDATE_PREFERENCES = cypher(
    "notification_preferences.UPDATE_PREFERENCES",
    f"""
    MATCH (u:User {{id: $user_id}})
    SET u.notify_likes = $prefs.likes, u.notify_comments = $prefs.comments, u.notify_follows = $prefs.follows,
        u.notify_follow_requests = $prefs.follow_requests, u.notify_mentions = $prefs.mentions,
        u.dnd_start = $prefs.dnd_start, u.dnd_end = $prefs.dnd_end, u.time_zone = $prefs.time_zone
    RETURN {_FIELDS}
    """,
    write=True,
)
