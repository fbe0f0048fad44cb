"""Cypher statements of users: the public projection, user lookups for a viewer, and profile updates.

Graph shape (see DESIGN.md "Data model")::

    (:User {id, username, email, password_hash, display_name, bio, is_private, is_verified, created_at,
            follower_count, following_count, post_count, session_version})

``UPDATE_PROFILE`` never sets a property to null: FalkorDB 4.16 removes the wrong property when one
statement removes two or more properties of a node (it swap-removes: clearing ``display_name`` and a
``bio`` stored last dropped another property and kept ``bio``). Cleared text is stored as ``""``.

Every statement returns plain maps/scalars; ``USER_FIELDS`` is the public projection (never the email or
the password hash). Account and session statements are ``graph.statements.accounts``.
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.statements.outbox import write_outbox_if
from graph.statements.visibility import user_visible

#: Public user projection, the shape of ``services.core.records.UserRecord.from_row``.
USER_FIELDS = (
    "{.id, .username, .display_name, .bio, .is_private, .is_verified, .created_at, "
    ".follower_count, .following_count, .post_count}"
)


def packed_user(user: str) -> str:
    """Cypher expression: the bound ``user``'s ``USER_FIELDS`` but the id, the privacy and the free text, as
    ONE string ``username|is_verified|created_at|follower_count|following_count|post_count`` joined by ``|``
    (booleans ``true``/``false``, missing counters ``0``), for a statement on the hot path whose reply would
    otherwise carry ``USER_FIELDS`` as a map: hiredis builds about four objects per map entry, which the
    driver then decodes (``graph.statements.feed``). ``services.core.records.UserRecord.from_packed`` reads
    it. None of these values can hold a ``|`` (a username is ``[a-z0-9._]``); the free text (``display_name``,
    ``bio``) must be returned as cells of its own, and the id and privacy are the caller's."""
    return (
        f"{user}.username + '|' + toString(coalesce({user}.is_verified, false)) + '|' + "
        f"toString(coalesce({user}.created_at, 0)) + '|' + toString(coalesce({user}.follower_count, 0)) + '|' + "
        f"toString(coalesce({user}.following_count, 0)) + '|' + toString(coalesce({user}.post_count, 0))"
    )


USERS_BY_IDS = cypher(
    "users.USERS_BY_IDS",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $ids AS user_id
    MATCH (u:User {{id: user_id}})
    WHERE {user_visible("u", "v")}
    RETURN u {USER_FIELDS} AS user
    """,
)
"""The users of ``$ids`` that exist and do not block ``$viewer_id`` ("": anonymous, everyone): ``{user}``
rows in no particular order. Every ``User`` the API returns by id goes through it (the ``UsersById``
DataLoader: authors, mentions, a comment's author), so a user who blocks the viewer is absent to them."""


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
