"""The home feed's filter stage, shared by the cold-start feed: candidate states from one graph round trip
and the rules over them.

``hydrate_candidates`` runs ``graph.statements.feed.FEED_FILTER`` (or ``FEED_FILTER_HYDRATED``, which also
returns the first candidates' posts, authors and the viewer's likes) for a batch of candidate post ids;
:func:`in_home_feed` and :func:`visible_post` decide on the returned flags with the one visibility rule
(``services.visibility.may_view``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from graph.statements import feed as stmts
from services.core.records import PostHydration, UserRecord
from services.post_reads import PUBLISHED, record_from_row
from services.visibility import may_view

if TYPE_CHECKING:
    from collections.abc import Callable

    from graph.store import GraphStore, Row


@dataclass(frozen=True, slots=True)
class FeedPostState:
    """What the filter decides on for one candidate (a ``FEED_FILTER`` row)."""

    post_id: str
    author_id: str
    status: str
    own: bool
    author_private: bool
    viewer_follows: bool
    blocked: bool

    @classmethod
    def from_row(cls, row: Row) -> FeedPostState:
        """Build from a ``FEED_FILTER``/``FEED_FILTER_HYDRATED`` row."""
        return cls(
            post_id=row["id"], author_id=row["author_id"], status=row["status"], own=bool(row["own"]),
            author_private=bool(row["author_private"]), viewer_follows=bool(row["viewer_follows"]),
            blocked=bool(row["blocked"]),
        )  # fmt: skip


def visible_post(state: FeedPostState) -> bool:
    """A PUBLISHED post that the visibility rule lets the viewer see (no block either way; a private author
    only to approved followers)."""
    visible = may_view(
        is_owner=state.own, owner_private=state.author_private,
        viewer_follows=state.viewer_follows, blocked=state.blocked,
    )  # fmt: skip
    return state.status == PUBLISHED and visible


def in_home_feed(state: FeedPostState) -> bool:
    """The home feed's rule: a :func:`visible_post` by the viewer or someone they follow."""
    return (state.own or state.viewer_follows) and visible_post(state)


async def hydrate_candidates(
    graph: GraphStore,
    viewer_id: str,
    candidate_ids: list[str],
    ship: int,
    hydration: PostHydration,
    rule: Callable[[FeedPostState], bool],
) -> dict[str, FeedPostState]:
    """Stage 2 of a feed read: one graph round trip for the candidates' filter state; the first ``ship`` of
    them also come with their post, author and the viewer's like, added to ``hydration`` when they pass
    ``rule``. Returns the state by post id (a post that no longer exists has none)."""
    if not candidate_ids:
        return {}
    params: dict[str, object] = {"viewer_id": viewer_id, "ids": candidate_ids}
    if ship > 0:
        params["hydrate"] = candidate_ids[:ship]
    rows = await graph.read(stmts.FEED_FILTER_HYDRATED if ship > 0 else stmts.FEED_FILTER, params)
    states: dict[str, FeedPostState] = {}
    for row in rows:
        state = FeedPostState.from_row(row)
        states[state.post_id] = state
        content = row.get("content")
        if content is not None and rule(state):
            post = record_from_row(content)
            hydration.posts[post.id] = post
            hydration.authors[post.author_id] = UserRecord.from_row(content["author"])
            hydration.viewer_likes[post.id] = bool(row["viewer_liked"])
    return states
