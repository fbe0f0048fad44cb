"""Helpers of the notification tests: GraphQL documents, and ``deliver_events``, which hands the events the
API wrote to the outbox to the notifications worker's use case, in order (what the outbox relay, Kafka and the
``notifications`` consumer do, without the broker's delay; the worker tests run that path for real)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from events.envelope import Event
from graph.statements.outbox import OUTBOX_DELETE, OUTBOX_PENDING
from tests.support.factories import graphql

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from tests.support.factories import TestUser
    from tests.support.posts import TestPost

NOTIFICATION_FIELDS = """
  id kind actorCount read createdAt updatedAt
  actors(first: 5) { username }
  post { id } comment { id text }
"""
NOTIFICATIONS = f"""
query($first: Int, $after: String) {{
  notifications(first: $first, after: $after) {{
    unreadCount
    edges {{ cursor node {{ {NOTIFICATION_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
SUBSCRIBE = f"subscription($after: ID) {{ notifications(after: $after) {{ {NOTIFICATION_FIELDS} }} }}"
LIKE = "mutation($input: PostIdInput!) { likePost(input: $input) { id } }"
UNLIKE = "mutation($input: PostIdInput!) { unlikePost(input: $input) { id } }"
COMMENT = "mutation($input: AddCommentInput!) { addComment(input: $input) { id } }"
DELETE_COMMENT = "mutation($input: CommentIdInput!) { deleteComment(input: $input) { id } }"
PREFS = """
mutation($input: UpdateNotificationPreferencesInput!) {
  updateNotificationPreferences(input: $input) {
    likes comments follows followRequests mentions doNotDisturbStart doNotDisturbEnd timeZone
  }
}
"""


async def deliver_events(app: Starlette, *, types: tuple[str, ...] | None = None) -> list[Event]:
    """Take every pending Outbox event (oldest first), delete it, and run the notifications use case on it
    (those of ``types`` only, when given). Returns the events handled."""
    graph, service = app.state.resources.graph, app.state.services.notifications
    rows = await graph.read(OUTBOX_PENDING, {"batch": 10_000})
    events = [Event.from_json(r["payload"]) for r in rows]
    if rows:
        await graph.write(OUTBOX_DELETE, {"ids": [r["id"] for r in rows]})
    handled = [e for e in events if types is None or e.type in types]
    for event in handled:
        await service.handle(event)
    return handled


async def ok(api: httpx.AsyncClient, query: str, variables: dict[str, Any], user: TestUser) -> dict[str, Any]:
    """Run ``query`` as ``user``; asserts no errors and returns ``data``."""
    body = await graphql(api, query, variables, token=user.token)
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


async def like(api: httpx.AsyncClient, user: TestUser, post: TestPost) -> None:
    """``user`` likes ``post``."""
    await ok(api, LIKE, {"input": {"postId": post.gid}}, user)


async def unlike(api: httpx.AsyncClient, user: TestUser, post: TestPost) -> None:
    """``user`` removes their like of ``post``."""
    await ok(api, UNLIKE, {"input": {"postId": post.gid}}, user)


async def comment(api: httpx.AsyncClient, user: TestUser, post: TestPost, text: str) -> str:
    """``user`` comments ``text`` on ``post``; returns the comment's global id."""
    data = await ok(api, COMMENT, {"input": {"postId": post.gid, "text": text}}, user)
    return data["addComment"]["id"]  # type: ignore[no-any-return]


async def notifications(api: httpx.AsyncClient, user: TestUser, first: int = 20,
                        after: str | None = None) -> dict[str, Any]:  # fmt: skip
    """``user``'s ``notifications`` connection."""
    data = await ok(api, NOTIFICATIONS, {"first": first, "after": after}, user)
    return data["notifications"]  # type: ignore[no-any-return]


def summary(connection: dict[str, Any]) -> list[tuple[str, int, list[str]]]:
    """``[(kind, actorCount, actor usernames)]`` of a connection's nodes, in order."""
    return [(e["node"]["kind"], e["node"]["actorCount"], [a["username"] for a in e["node"]["actors"]])
            for e in connection["edges"]]  # fmt: skip
