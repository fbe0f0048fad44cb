"""Notification resolvers (owner: notifications). Thin: each reads its input and calls one service.

Contract used by the schema layer:
- ``await notifications(info, first, after) -> Page[NotificationRecord]`` (viewer required, else
  ``Unauthenticated``); ``await unread_count(info) -> int``; ``await mark_read(info, up_to)`` returns the
  first page after marking.
- ``actors_now(info, record, first) -> list[UserRecord] | Awaitable`` via ``UsersById`` (one batched load per
  page); ``post(info, record)`` / ``comment(info, record)`` through the posts and comments loaders.
- ``await notification_node(info, raw_id)`` for ``node(id:)``: the viewer's own, else ``None``.
- preferences: ``await preferences(info)``, ``await update_preferences(info, changes)``.
- Web Push: ``await register_push(info, endpoint, p256dh, auth)``, ``await unregister_push(info, endpoint)``.
- ``live(info, after)``: the subscription's async iterator of records (``services.notifications_live``); the
  request's loaders are cleared before each record (a subscription's context lives as long as its socket).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resolvers import engagement as engagement_resolvers
from resolvers import posts as post_resolvers
from resolvers import users as user_resolvers
from resolvers.context import context_of
from services.core.errors import BadInput

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from strawberry.types import Info

    from services.core.pagination import Page
    from services.core.records import CommentRecord, NotificationRecord, PostRecord, UserRecord
    from services.notification_preferences import NotificationPreferences

MAX_ACTORS = 25


async def notifications(info: Info, first: int | None, after: str | None) -> Page[NotificationRecord]:
    """A page of the viewer's notifications, newest ``updatedAt`` first."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    return await ctx.services.notification_reads.notifications(viewer_id, first, after)


async def unread_count(info: Info) -> int:
    """The viewer's unread notifications."""
    ctx = context_of(info)
    return int(await ctx.services.notification_reads.unread_count(await ctx.require_viewer()))


async def mark_read(info: Info, up_to: str | None) -> Page[NotificationRecord]:
    """Mark read (all, or up to ``up_to``); the first page afterwards."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    await ctx.services.notification_reads.mark_read(viewer_id, up_to)
    return await ctx.services.notification_reads.notifications(viewer_id, None, None)


async def actors(info: Info, record: NotificationRecord, first: int) -> list[UserRecord]:
    """The first ``first`` (1..25) visible actors, most recent first."""
    if not 1 <= first <= MAX_ACTORS:
        raise BadInput("first", f"first must be between 1 and {MAX_ACTORS}.")
    found = await user_resolvers.users_by_ids(info, list(record.actor_ids[:first]))
    return [u for u in found if u is not None]


async def post(info: Info, record: NotificationRecord) -> PostRecord | None:
    """The post the notification is about, when it has one and the viewer may see it."""
    return None if record.post_id is None else await post_resolvers.post_or_none(info, record.post_id)


async def comment(info: Info, record: NotificationRecord) -> CommentRecord | None:
    """The comment (COMMENT: the latest; MENTION in a comment), when live and visible."""
    if record.comment_id is None:
        return None
    return await engagement_resolvers.comment_node(info, record.comment_id)


async def notification_node(info: Info, raw_id: str) -> NotificationRecord | None:
    """``node(id:)`` for a Notification: only its recipient sees it."""
    ctx = context_of(info)
    viewer_id = await ctx.viewer_id()
    if viewer_id is None:
        return None
    return (await ctx.services.notification_reads.notifications_by_ids(viewer_id, [raw_id]))[0]


async def preferences(info: Info) -> NotificationPreferences:
    """The viewer's notification preferences."""
    ctx = context_of(info)
    return await ctx.services.notification_preferences.preferences(await ctx.require_viewer())


async def update_preferences(info: Info, changes: Mapping[str, Any]) -> NotificationPreferences:
    """Apply the input fields the client sent (snake_case keys)."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    return await ctx.services.notification_preferences.update_preferences(viewer_id, changes)


async def register_push(info: Info, endpoint: str, p256dh: str, auth: str) -> bool:
    """Register the viewer's browser push subscription."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    return bool(await ctx.services.web_push.register_push_subscription(viewer_id, endpoint, p256dh, auth))


async def unregister_push(info: Info, endpoint: str) -> bool:
    """Forget one of the viewer's push subscriptions."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    return bool(await ctx.services.web_push.unregister_push_subscription(viewer_id, endpoint))


async def live(info: Info, after: str | None) -> AsyncIterator[NotificationRecord]:
    """The viewer's live notifications (replay after ``after`` first)."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    stream = ctx.services.live_notifications.subscribe(viewer_id, after=after, connection_id=ctx.connection_id)
    async for record in stream:
        ctx.clear_loaders()
        yield record
