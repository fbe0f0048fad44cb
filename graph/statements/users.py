"""Cypher statements of accounts, sessions and profiles.

Graph shape (see DESIGN.md "Data model")::

    (:User {id, username, email, password_hash, display_name, bio, is_private, is_verified, created_at,
            follower_count, following_count, post_count, session_version})
    (:User)-[:HAS_SESSION]->(:Session {id, version, revoked, created_at, revoked_at})

A ``Session`` is one login (one device) and one refresh-token family: its ``id`` is the access token's
``sid`` claim. ``Session.version`` is the user's ``session_version`` when the session started; bumping
``User.session_version`` revokes every session at once. Sessions are always reached through their user
(``User.id`` is unique and indexed), so ``Session.id`` needs no index of its own.

``UPDATE_PROFILE`` never sets a property to null: FalkorDB 4.16 removes the wrong property when one
statement removes two or more properties of a node (it swap-removes: clearing ``display_name`` and a
``bio`` stored last dropped another property and kept ``bio``). Cleared text is stored as ``""``.

Every statement returns plain maps/scalars; ``USER_FIELDS`` is the public projection (never the email or
the password hash).
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.statements.outbox import WRITE_OUTBOX, write_outbox_if

#: Public user projection, the shape of ``services.core.records.UserRecord.from_row``.
USER_FIELDS = (
    "{.id, .username, .display_name, .bio, .is_private, .is_verified, .created_at, "
    ".follower_count, .following_count, .post_count}"
)

# -- accounts -------------------------------------------------------------------------------------------

IDENTITY_TAKEN = cypher(
    "users.IDENTITY_TAKEN",
    """
    OPTIONAL MATCH (a:User {username: $username})
    WITH count(a) AS by_username
    OPTIONAL MATCH (b:User {email: $email})
    RETURN by_username > 0 AS username_taken, count(b) > 0 AS email_taken
    """,
)

CREATE_USER = cypher(
    "users.CREATE_USER",
    f"""
    CREATE (u:User) SET u = $user
    CREATE (s:Session) SET s = $session
    CREATE (u)-[:HAS_SESSION]->(s)
    {WRITE_OUTBOX}
    RETURN u {USER_FIELDS} AS user
    """,
    write=True,
)

CREDENTIALS_BY_USERNAME = cypher(
    "users.CREDENTIALS_BY_USERNAME",
    "MATCH (u:User {username: $login}) RETURN u.id AS id, u.password_hash AS password_hash",
)

CREDENTIALS_BY_EMAIL = cypher(
    "users.CREDENTIALS_BY_EMAIL",
    "MATCH (u:User {email: $login}) RETURN u.id AS id, u.password_hash AS password_hash",
)

START_SESSION = cypher(
    "users.START_SESSION",
    f"""
    MATCH (u:User {{id: $user_id}})
    CREATE (s:Session) SET s = $session, s.version = coalesce(u.session_version, 0)
    CREATE (u)-[:HAS_SESSION]->(s)
    SET u.password_hash = coalesce($new_password_hash, u.password_hash)
    RETURN u {USER_FIELDS} AS user, s.version AS version
    """,
    write=True,
)

SESSION_STATE = cypher(
    "users.SESSION_STATE",
    """
    MATCH (u:User {id: $user_id})
    OPTIONAL MATCH (u)-[:HAS_SESSION]->(s:Session {id: $session_id})
    RETURN coalesce(u.session_version, 0) AS user_version, s.version AS session_version,
           coalesce(s.revoked, false) AS revoked, s.id IS NOT NULL AS found
    """,
)

SESSION_WITH_USER = cypher(
    "users.SESSION_WITH_USER",
    f"""
    MATCH (u:User {{id: $user_id}})-[:HAS_SESSION]->(s:Session {{id: $session_id}})
    RETURN u {USER_FIELDS} AS user, coalesce(u.session_version, 0) AS user_version,
           s.version AS session_version, coalesce(s.revoked, false) AS revoked
    """,
)

REVOKE_SESSION = cypher(
    "users.REVOKE_SESSION",
    """
    MATCH (u:User {id: $user_id})-[:HAS_SESSION]->(s:Session {id: $session_id})
    SET s.revoked = true, s.revoked_at = coalesce(s.revoked_at, $now)
    RETURN s.id AS id
    """,
    write=True,
)

REVOKE_ALL_SESSIONS = cypher(
    "users.REVOKE_ALL_SESSIONS",
    """
    MATCH (u:User {id: $user_id})
    SET u.session_version = coalesce(u.session_version, 0) + 1
    RETURN u.session_version AS version
    """,
    write=True,
)

# -- profiles -------------------------------------------------------------------------------------------

USERS_BY_IDS = cypher(
    "users.USERS_BY_IDS",
    f"""
    UNWIND $ids AS user_id
    MATCH (u:User {{id: user_id}})
    RETURN u {USER_FIELDS} AS user
    """,
)


def _user_for_viewer(prop: str, param: str) -> str:
    return f"""
    MATCH (u:User {{{prop}: ${param}}})
    OPTIONAL MATCH (u)-[b:BLOCKS]->(:User {{id: $viewer_id}})
    WITH u, count(b) AS blocks
    RETURN u {USER_FIELDS} AS user, blocks > 0 AS blocks_viewer
    """


USER_BY_USERNAME_FOR_VIEWER = cypher(
    "users.USER_BY_USERNAME_FOR_VIEWER", _user_for_viewer("username", "username")
)
"""The user ``$username`` and whether they block ``$viewer_id`` (null: anonymous): ``{user, blocks_viewer}``
or no row."""

USER_BY_ID_FOR_VIEWER = cypher("users.USER_BY_ID_FOR_VIEWER", _user_for_viewer("id", "user_id"))
"""As ``USER_BY_USERNAME_FOR_VIEWER`` for the user ``$user_id``."""

UPDATE_PROFILE = cypher(
    "users.UPDATE_PROFILE",
    f"""
    MATCH (u:User {{id: $user_id}})
    WITH u,
         ($changes.display_name IS NOT NULL AND coalesce(u.display_name, '') <> $changes.display_name)
         OR ($changes.bio IS NOT NULL AND coalesce(u.bio, '') <> $changes.bio)
         OR ($changes.is_private IS NOT NULL AND coalesce(u.is_private, false) <> $changes.is_private)
         AS changed
    SET u += $changes
    {write_outbox_if("changed")}
    RETURN u {USER_FIELDS} AS user, changed
    """,
    write=True,
)
"""Apply ``$changes`` (any of ``display_name``, ``bio`` (``""`` = cleared), ``is_private``) to ``$user_id`` and
record ``$outbox`` (``user.updated``) only when a value really changed. ``{user, changed}`` or no row."""
