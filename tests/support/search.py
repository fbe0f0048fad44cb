"""Helpers of the search, hashtag and explore tests: what the ``indexer`` and ``hashtags`` workers would do with
the events waiting in the outbox (API tests run no relay, so every event a mutation recorded is still there),
and posts published at a chosen time.

``await index_outbox(app)`` hands every waiting event to the indexer's batch handler (one batch, as the worker
gets a partition's batch); ``await count_trends(app)`` hands the post events to the hashtags handler. Both are
idempotent, so a test may call them after each change: events handled before change nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from events.envelope import Event
from graph.statements.outbox import OUTBOX_PENDING
from tests.support.fanout import publish_post
from workers import hashtags as hashtags_worker
from workers import indexer as indexer_worker

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from tests.support.factories import TestUser

SEARCH_USERS = "query($q: String!, $first: Int) { searchUsers(query: $q, first: $first) { id username } }"
SEARCH_POSTS = """
query($q: String, $tag: String, $near: GeoFilterInput, $first: Int, $after: String) {
  searchPosts(query: $q, hashtag: $tag, near: $near, first: $first, after: $after) {
    edges { cursor node { id caption location { latitude longitude name } author { username } likeCount
                          viewerHasLiked } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def outbox(app: Starlette) -> list[Event]:
    """Every event waiting in the module's outbox, oldest first."""
    rows = await app.state.resources.graph.read(OUTBOX_PENDING, {"batch": 100_000})
    return [Event.from_json(row["payload"]) for row in rows]


async def index_outbox(app: Starlette) -> None:
    """Run the ``indexer`` worker's batch handler on every waiting event."""
    await indexer_worker.make_batch_handler(app.state.services)(await outbox(app))


async def count_trends(app: Starlette) -> None:
    """Run the ``hashtags`` worker's handler on every waiting post event, in order."""
    handle = hashtags_worker.make_handler(app.state.services)
    for event in await outbox(app):
        if event.type.startswith("post."):
            await handle(event)


def post_ids(body: dict[str, Any]) -> list[str]:
    """The global post ids of a ``searchPosts``/``explore``/``Hashtag.posts`` connection in ``body``'s data."""
    (connection,) = _connections(body["data"])
    return [edge["node"]["id"] for edge in connection["edges"]]


def _connections(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        if "edges" in data:
            return [data]
        return [c for value in data.values() for c in _connections(value)]
    return []


async def publish_post_at(app: Starlette, author: TestUser, caption: str, published_at: int | None = None) -> str:
    """``tests.support.fanout.publish_post`` with its publication stamped ``published_at`` (epoch ms)."""
    return await publish_post(app, author, caption, published_at=published_at)
