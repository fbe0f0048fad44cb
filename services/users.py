"""Profile use cases: batch user lookup, lookup for a viewer, and ``update_profile``.

Visibility rule: a user who blocks the viewer, ``(target)-[:BLOCKS]->(viewer)``, is ``NotFound`` to that
viewer, exactly like a user who does not exist (same message), so a block cannot be detected by probing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from events.envelope import Event
from graph.statements import users as stmts
from services.core import clock
from services.core.errors import BadInput, NotFound
from services.core.records import UserRecord
from services.core.validation import clean_bio, clean_display_name, is_valid_username

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from graph.store import GraphStore

NOT_FOUND = "User not found."
#: A cleared display name or bio is stored as "" (``UserRecord`` reads it as ``None``), never removed:
#: FalkorDB 4.16 can drop the WRONG property when one statement removes two (swap-remove bug).
CLEARED = ""
PROFILE_FIELDS = {"displayName": "display_name", "bio": "bio", "isPrivate": "is_private"}


class UserService:
    """Reads and updates of ``(:User)`` profiles."""

    def __init__(self, graph: GraphStore) -> None:
        self._graph = graph

    async def users_by_ids(self, user_ids: Sequence[str], viewer_id: str | None = None) -> list[UserRecord | None]:
        """Users for ``user_ids`` in the same order, as ``viewer_id`` (``None``: anonymous) may see them:
        ``None`` where absent or where that user blocks the viewer. One graph round trip."""
        if not user_ids:
            return []
        # "" rather than null for an anonymous viewer: FalkorDB plans `{id: null}` as a scan of every user
        params = {"ids": list(dict.fromkeys(user_ids)), "viewer_id": viewer_id or ""}
        rows = await self._graph.read(stmts.USERS_BY_IDS, params)
        found = {row["user"]["id"]: UserRecord.from_row(row["user"]) for row in rows}
        return [found.get(user_id) for user_id in user_ids]

    async def user_for_viewer(self, username: str, viewer_id: str | None) -> UserRecord:
        """The user called ``username`` (case-insensitive) as ``viewer_id`` may see them.

        Raises ``NotFound`` when absent, malformed, or when that user blocks the viewer.
        """
        if not is_valid_username(username):
            raise NotFound(NOT_FOUND)
        rows = await self._graph.read(
            stmts.USER_BY_USERNAME_FOR_VIEWER, {"username": username.lower(), "viewer_id": viewer_id}
        )
        return _visible(rows)

    async def user_by_id_for_viewer(self, user_id: str, viewer_id: str | None) -> UserRecord:
        """The user ``user_id`` as ``viewer_id`` may see them; raises ``NotFound`` as ``user_for_viewer``."""
        if len(user_id) > 64:
            raise NotFound(NOT_FOUND)
        rows = await self._graph.read(
            stmts.USER_BY_ID_FOR_VIEWER, {"user_id": user_id, "viewer_id": viewer_id}
        )
        return _visible(rows)

    async def update_profile(self, user_id: str, changes: Mapping[str, Any]) -> UserRecord:
        """Apply ``changes`` keyed by input field (``displayName``, ``bio``, ``isPrivate``; absent = keep).

        ``displayName``/``bio`` null or blank clear the value. One statement writes the changes and, when a
        value really changed (not for a repeat of the current one), a ``user.updated`` Outbox node. Raises
        ``BadInput`` naming the field (nothing written): display name over 64 or bio over 150 characters,
        ``isPrivate`` null, an unknown field. ``NotFound`` if the user is gone.
        """
        props: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in PROFILE_FIELDS:
                raise BadInput(name, f"Unknown profile field {name!r}.")
            if name == "displayName":
                props["display_name"] = clean_display_name(value) or CLEARED
            elif name == "bio":
                props["bio"] = clean_bio(value) or CLEARED
            elif not isinstance(value, bool):
                raise BadInput("isPrivate", "isPrivate must be true or false.")
            else:
                props["is_private"] = value
        if not props:
            found = await self.users_by_ids([user_id], user_id)
            if found[0] is None:
                raise NotFound(NOT_FOUND)
            return found[0]
        event = Event.new(
            "user.updated",
            actor_id=user_id,
            subject_id=user_id,
            data={"changes": props, "updated_at": clock.now_ms()},
        )
        rows = await self._graph.write(
            stmts.UPDATE_PROFILE, {"user_id": user_id, "changes": props, "outbox": event.outbox_props()}
        )
        if not rows:
            raise NotFound(NOT_FOUND)
        return UserRecord.from_row(rows[0]["user"])


def _visible(rows: list[dict[str, Any]]) -> UserRecord:
    if not rows or rows[0]["blocks_viewer"]:
        raise NotFound(NOT_FOUND)
    return UserRecord.from_row(rows[0]["user"])
