"""Cypher statements of accounts and sessions: registration, credentials, sign-in, revocation.

Graph shape (DESIGN.md "Data model")::

    (:User {id, username, email, password_hash, ..., session_version})
    (:User)-[:HAS_SESSION]->(:Session {id, version, revoked, created_at, revoked_at})

A ``Session`` is one login (one device) and one refresh-token family: its ``id`` is the access token's
``sid`` claim. ``Session.version`` is the user's ``session_version`` when the session started; bumping
``User.session_version`` revokes every session at once. Sessions are always reached through their user
(``User.id`` is unique and indexed), so ``Session.id`` needs no index of its own. The user projection is
``graph.statements.users.USER_FIELDS`` (never the email or the password hash).
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.statements.outbox import WRITE_OUTBOX
from graph.statements.users import USER_FIELDS

IDENTITY_TAKEN = cypher(
    "accounts.IDENTITY_TAKEN",
    """
    OPTIONAL MATCH (a:User {username: $username})
    WITH count(a) AS by_username
    OPTIONAL MATCH (b:User {email: $email})
    RETURN by_username > 0 AS username_taken, count(b) > 0 AS email_taken
    """,
)

CREATE_USER = cypher(
    "accounts.CREATE_USER",
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
    "accounts.CREDENTIALS_BY_USERNAME",
    "MATCH (u:User {username: $login}) RETURN u.id AS id, u.password_hash AS password_hash",
)

CREDENTIALS_BY_EMAIL = cypher(
    "accounts.CREDENTIALS_BY_EMAIL",
    "MATCH (u:User {email: $login}) RETURN u.id AS id, u.password_hash AS password_hash",
)

START_SESSION = cypher(
    "accounts.START_SESSION",
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
    "accounts.SESSION_STATE",
    """
    MATCH (u:User {id: $user_id})
    OPTIONAL MATCH (u)-[:HAS_SESSION]->(s:Session {id: $session_id})
    RETURN coalesce(u.session_version, 0) AS user_version, s.version AS session_version,
           coalesce(s.revoked, false) AS revoked, s.id IS NOT NULL AS found
    """,
)

SESSION_WITH_USER = cypher(
    "accounts.SESSION_WITH_USER",
    f"""
    MATCH (u:User {{id: $user_id}})-[:HAS_SESSION]->(s:Session {{id: $session_id}})
    RETURN u {USER_FIELDS} AS user, coalesce(u.session_version, 0) AS user_version,
           s.version AS session_version, coalesce(s.revoked, false) AS revoked
    """,
)

REVOKE_SESSION = cypher(
    "accounts.REVOKE_SESSION",
    """
    MATCH (u:User {id: $user_id})-[:HAS_SESSION]->(s:Session {id: $session_id})
    SET s.revoked = true, s.revoked_at = coalesce(s.revoked_at, $now)
    RETURN s.id AS id
    """,
    write=True,
)

REVOKE_ALL_SESSIONS = cypher(
    "accounts.REVOKE_ALL_SESSIONS",
    """
    MATCH (u:User {id: $user_id})
    SET u.session_version = coalesce(u.session_version, 0) + 1
    RETURN u.session_version AS version
    """,
    write=True,
)
