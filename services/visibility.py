"""Who may see a user's content: the visibility rule for one viewer and many owners, and its Python form.

A public account's content is visible to everyone; a private account's only to itself and its approved
followers. A block in either direction hides the content as well, and a user who blocks the viewer is
``NOT_FOUND`` to them (``Access.blocks_viewer``; the user lookups of ``services.users`` apply the same rule
in their own statement). Inside Cypher statements the rule is ``graph.statements.visibility``'s fragments
(``can_view``, ``post_visible``, ``no_block``, ``user_visible``), so that a page costs no extra round trip;
what a statement returns as flags (``viewer_relation``) is decided here by :func:`may_view`, the one Python
form of the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from graph.statements import visibility as stmts

if TYPE_CHECKING:
    from collections.abc import Iterable

    from graph.store import GraphStore


def may_view(*, is_owner: bool, owner_private: bool, viewer_follows: bool, blocked: bool) -> bool:
    """The visibility rule on the flags of ``graph.statements.visibility.viewer_relation``: the owner sees
    their own content; anyone else only without a block either way, and a private owner's only as an approved
    follower. (Whether the content itself is live, e.g. a PUBLISHED post, is the caller's check.)"""
    if is_owner:
        return True
    return not blocked and (not owner_private or viewer_follows)


@dataclass(frozen=True, slots=True)
class Access:
    """What ``viewer`` may do with ``owner``'s content: ``visible`` (followers, following, posts) and
    ``blocks_viewer`` (the owner blocks the viewer: the owner is ``NOT_FOUND`` to them)."""

    visible: bool
    blocks_viewer: bool


class VisibilityService:
    """Visibility checks for one viewer and many owners, one graph round trip per call."""

    def __init__(self, graph: GraphStore) -> None:
        self._graph = graph

    async def access(self, viewer_id: str | None, owner_ids: Iterable[str]) -> dict[str, Access]:
        """``owner_id -> Access`` for each existing owner (unknown ids are absent). ``viewer_id`` None means
        anonymous. One round trip, suited to a DataLoader's batch function."""
        ids = list(dict.fromkeys(owner_ids))
        if not ids:
            return {}
        rows = await self._graph.read(stmts.ACCESS, {"viewer_id": viewer_id, "owner_ids": ids})
        return {
            r["id"]: Access(visible=bool(r["visible"]), blocks_viewer=bool(r["blocks_viewer"])) for r in rows
        }

    async def can_view(self, viewer_id: str | None, owner_id: str) -> bool:
        """True when the viewer may see ``owner_id``'s followers, following and posts; False when the owner
        is private and not followed, a block exists either way, or the owner does not exist."""
        access = (await self.access(viewer_id, [owner_id])).get(owner_id)
        return access is not None and access.visible
