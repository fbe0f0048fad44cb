"""Notifications in GraphQL: ``Notification``, ``NotificationConnection``, ``NotificationPreferences``, the
``notifications``/``notificationPreferences`` queries, the mark-read, preference and Web Push mutations, and the
live ``notifications(after:)`` subscription. Global IDs are decoded here (malformed: ``BAD_USER_INPUT`` naming
the field: ``after``, ``upTo``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.types import Info

from resolvers import notifications as resolvers
from schema.base import Node, PageInfo, from_global_id, from_ms, to_global_id
from schema.node import register_node
from schema.posts import Comment, Post
from schema.users import User
from services.core.records import NotificationRecord

if TYPE_CHECKING:
    from services.core.pagination import Page
    from services.notification_preferences import NotificationPreferences as PreferencesRecord


@strawberry.enum
class NotificationKind(Enum):
    LIKE = "LIKE"
    COMMENT = "COMMENT"
    FOLLOW = "FOLLOW"
    FOLLOW_REQUEST = "FOLLOW_REQUEST"
    FOLLOW_ACCEPTED = "FOLLOW_ACCEPTED"
    MENTION = "MENTION"


@strawberry.type(description="A group of actors who did one kind of thing: 'ana and 9,999 others liked your post'.")
class Notification(Node):
    id: strawberry.ID
    kind: NotificationKind
    actor_count: int = strawberry.field(
        description="Distinct actors of the group the recipient may see (blocks either way excluded)."
    )
    created_at: datetime = strawberry.field(description="The first event of the group.")
    updated_at: datetime = strawberry.field(description="The latest event of the group; the list's order.")
    read: bool
    record: strawberry.Private[NotificationRecord]

    @classmethod
    def from_record(cls, rec: NotificationRecord) -> Notification:
        """Map a service record to the GraphQL type."""
        return cls(
            id=to_global_id("Notification", rec.id), kind=NotificationKind(rec.kind), actor_count=rec.actor_count,
            created_at=from_ms(rec.created_at), updated_at=from_ms(rec.updated_at),  # type: ignore[arg-type]
            read=rec.read, record=rec,
        )  # fmt: skip

    @strawberry.field(description="Most recent first; blocked or hidden actors never appear. `first`: 1..25.")
    async def actors(self, info: Info, first: int = 3) -> list[User]:
        return [User.from_record(u) for u in await resolvers.actors(info, self.record, first)]

    @strawberry.field(description="LIKE, COMMENT, MENTION: the post (null when the viewer may not see it).")
    async def post(self, info: Info) -> Post | None:
        found = await resolvers.post(info, self.record)
        return None if found is None else Post.from_record(found)

    @strawberry.field(description="COMMENT: the latest comment of the group; MENTION in a comment: that comment.")
    async def comment(self, info: Info) -> Comment | None:
        found = await resolvers.comment(info, self.record)
        return None if found is None else Comment.from_record(found)


@strawberry.type
class NotificationEdge:
    cursor: str
    node: Notification


@strawberry.type
class NotificationConnection:
    edges: list[NotificationEdge]
    page_info: PageInfo

    @strawberry.field(description="Unread notifications of the viewer (all of them, not only this page).")
    async def unread_count(self, info: Info) -> int:
        return await resolvers.unread_count(info)

    @classmethod
    def of(cls, page: Page[NotificationRecord]) -> NotificationConnection:
        """Map a page of records."""
        edges = [NotificationEdge(cursor=c, node=Notification.from_record(r)) for c, r in page.items]
        return cls(edges=edges, page_info=PageInfo.of(page))


@strawberry.type
class NotificationPreferences:
    likes: bool
    comments: bool
    follows: bool
    follow_requests: bool = strawberry.field(description="Follow requests and accepted requests.")
    mentions: bool
    do_not_disturb_start: str | None = strawberry.field(description='"22:00" local time, or null.')
    do_not_disturb_end: str | None = strawberry.field(description='"07:00" local time (may be past midnight).')
    time_zone: str = strawberry.field(description='IANA name, default "UTC".')

    @classmethod
    def from_record(cls, rec: PreferencesRecord) -> NotificationPreferences:
        """Map the service's preferences."""
        return cls(
            likes=rec.likes, comments=rec.comments, follows=rec.follows, follow_requests=rec.follow_requests,
            mentions=rec.mentions, do_not_disturb_start=rec.dnd_start, do_not_disturb_end=rec.dnd_end,
            time_zone=rec.time_zone,
        )  # fmt: skip


@strawberry.input(description="`upTo`: a notification id; it and everything older is marked read. null: all.")
class MarkNotificationsReadInput:
    up_to: strawberry.ID | None = None


@strawberry.input(description="A browser's PushSubscription: https endpoint (loopback http in dev/test only).")
class PushSubscriptionInput:
    endpoint: str
    p256dh: str
    auth: str


@strawberry.input
class PushEndpointInput:
    endpoint: str


@strawberry.input(description='Omitted fields are unchanged; a null or "" window time clears the window.')
class UpdateNotificationPreferencesInput:
    likes: bool | None = strawberry.UNSET
    comments: bool | None = strawberry.UNSET
    follows: bool | None = strawberry.UNSET
    follow_requests: bool | None = strawberry.UNSET
    mentions: bool | None = strawberry.UNSET
    do_not_disturb_start: str | None = strawberry.UNSET
    do_not_disturb_end: str | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET


_PREFERENCE_KEYS = {
    "likes": "likes", "comments": "comments", "follows": "follows", "follow_requests": "follow_requests",
    "mentions": "mentions", "do_not_disturb_start": "dnd_start", "do_not_disturb_end": "dnd_end",
    "time_zone": "time_zone",
}  # fmt: skip


def _notification_id(global_id: str | None, field: str) -> str | None:
    if global_id is None:
        return None
    return from_global_id(global_id, field=field, expected="Notification")[1]


async def _notification_node(info: Info, raw_id: str) -> Notification | None:
    record = await resolvers.notification_node(info, raw_id)
    return None if record is None else Notification.from_record(record)


register_node("Notification", _notification_node)


@strawberry.type
class NotificationsQuery:
    @strawberry.field(description="The viewer's notifications, newest `updatedAt` first; `first` is 1..100.")
    async def notifications(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> NotificationConnection:
        return NotificationConnection.of(await resolvers.notifications(info, first, after))

    @strawberry.field(description="The viewer's notification preferences and do-not-disturb window.")
    async def notification_preferences(self, info: Info) -> NotificationPreferences:
        return NotificationPreferences.from_record(await resolvers.preferences(info))


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(description="Mark notifications read; returns the first page after marking.")
    async def mark_notifications_read(self, info: Info, input: MarkNotificationsReadInput) -> NotificationConnection:
        up_to = _notification_id(input.up_to, "upTo")
        return NotificationConnection.of(await resolvers.mark_read(info, up_to))

    @strawberry.mutation(description="Web Push (RFC 8030/8291) device channel: register a browser subscription.")
    async def register_push_subscription(self, info: Info, input: PushSubscriptionInput) -> bool:
        return await resolvers.register_push(info, input.endpoint, input.p256dh, input.auth)

    @strawberry.mutation(description="Forget a push subscription; false when there was none.")
    async def unregister_push_subscription(self, info: Info, input: PushEndpointInput) -> bool:
        return await resolvers.unregister_push(info, input.endpoint)

    @strawberry.mutation(description="Change notification preferences and the do-not-disturb window.")
    async def update_notification_preferences(
        self, info: Info, input: UpdateNotificationPreferencesInput
    ) -> NotificationPreferences:
        changes: dict[str, Any] = {
            key: getattr(input, name) for name, key in _PREFERENCE_KEYS.items()
            if getattr(input, name) is not strawberry.UNSET
        }  # fmt: skip
        return NotificationPreferences.from_record(await resolvers.update_preferences(info, changes))


@strawberry.type
class NotificationsSubscription:
    @strawberry.subscription(
        description=(
            "Live over graphql-transport-ws (auth in connection_init): a Notification each time one is created "
            "or its group changes. `after`: the id of the last notification seen; what changed since is "
            "replayed first, in order, then live ones follow, with no gap and no duplicate."
        )
    )
    async def notifications(self, info: Info, after: strawberry.ID | None = None) -> AsyncGenerator[Notification, None]:
        async for record in resolvers.live(info, _notification_id(after, "after")):
            yield Notification.from_record(record)
