"""The home feed's filter stage, shared by the cold-start feed: candidate states from one graph round trip
and the rules over them.

``hydrate_candidates`` runs ``graph.statements.feed.FEED_FILTER`` (or ``FEED_FILTER_WARM``/``_HYDRATED``, which also
returns the first candidates' authors, counts and the viewer's likes, and the content of posts the process has
not cached yet: ``services.post_content``) for a batch of candidate post ids;
:func:`in_home_feed` and :func:`visible_post` decide on the returned flags with the one visibility rule
(``services.visibility.may_view``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from graph.statements import feed as stmts
from services.core.records import PACKED_TRUE, PostHydration, UserRecord
from services.post_reads import PUBLISHED, record_from_row
from services.visibility import may_view

if TYPE_CHECKING:
    from collections.abc import Callable

    from graph.store import GraphStore, Row
    from services.post_content import PostContentCache


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
        """Build from a ``FEED_FILTER``/``FEED_FILTER_HYDRATED`` row (its packed ``state``)."""
        post_id, author_id, status, own, author_private, viewer_follows, blocked = row["state"].split("|")
        return cls(
            post_id=post_id, author_id=author_id, status=status, own=own == PACKED_TRUE,
            author_private=author_private == PACKED_TRUE, viewer_follows=viewer_follows == PACKED_TRUE,
            blocked=blocked == PACKED_TRUE,
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
    content: PostContentCache,
) -> dict[str, FeedPostState]:
    """Stage 2 of a feed read: one graph round trip for the candidates' filter state; the first ``ship`` of
    them also come with their post, author and the viewer's like, added to ``hydration`` when they pass
    ``rule``. A post's immutable content comes from ``content`` (the process's cache) when it holds it, and
    from the same statement otherwise (then it is cached); what can change (status, counts, the author, the
    viewer's like, the visibility flags) always comes from the graph. Returns the state by post id (a post that
    no longer exists has none)."""
    if not candidate_ids:
        return {}
    params: dict[str, object] = {"viewer_id": viewer_id, "ids": candidate_ids}
    stmt = stmts.FEED_FILTER
    if ship > 0:
        params["hydrate"] = shipped = candidate_ids[:ship]
        params["content"] = missing = content.missing(shipped)
        stmt = stmts.FEED_FILTER_HYDRATED if missing else stmts.FEED_FILTER_WARM
    rows = await graph.read(stmt, params)
    states: dict[str, FeedPostState] = {}
    for row in rows:
        state = FeedPostState.from_row(row)
        states[state.post_id] = state
        hydrated = row.get("hydrated")
        if hydrated is None or not rule(state):
            continue
        shipped_content = row.get("content")
        if shipped_content is not None:
            content.put(record_from_row(shipped_content))
        liked, comment_count, like_total, user_fields = hydrated.split("|", 3)
        likes = int(like_total)  # exact: kept by the like statements
        post = content.record(state.post_id, status=state.status, comment_count=int(comment_count), like_count=likes)
        if post is None:  # not PUBLISHED: never cached (the rule admits only PUBLISHED posts)
            continue
        hydration.posts[post.id] = post
        if post.author_id not in hydration.authors:  # one record per author of the page
            hydration.authors[post.author_id] = UserRecord.from_packed(
                state.author_id, state.author_private, user_fields, row["display_name"], row["bio"]
            )
        hydration.viewer_likes[post.id] = liked == PACKED_TRUE
        hydration.like_counts[post.id] = likes
    return states
