"""``Post``, ``Media``, ``Comment`` and their connections. Fields delegate to resolvers."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

import strawberry
from strawberry.types import Info

from resolvers import engagement as engagement_resolvers
from resolvers import posts as post_resolvers
from resolvers import stories as story_resolvers
from resolvers import users as user_resolvers
from resolvers.loading import settle
from schema.base import Node, PageInfo, from_ms, to_global_id
from schema.users import User, UserConnection
from services.core.records import CommentRecord, MediaRecord, PostRecord

if TYPE_CHECKING:
    from services.core.pagination import Page


@strawberry.enum
class PostStatus(Enum):
    PENDING_UPLOAD = "PENDING_UPLOAD"
    PROCESSING = "PROCESSING"
    PUBLISHED = "PUBLISHED"
    FAILED = "FAILED"
    DELETED = "DELETED"


@strawberry.enum(description="150x150 crop, 720 px wide, 1080 px wide (never upscaled).")
class ImageSize(Enum):
    THUMBNAIL = "THUMBNAIL"
    FEED = "FEED"
    FULL = "FULL"


@strawberry.type
class Media:
    id: strawberry.ID
    content_type: str
    width: int | None
    height: int | None
    alt_text: str | None
    record: strawberry.Private[MediaRecord]

    @classmethod
    def from_record(cls, rec: MediaRecord) -> Media:
        """Map a media record."""
        return cls(
            id=to_global_id("Media", rec.id),
            content_type=rec.content_type,
            width=rec.width,
            height=rec.height,
            alt_text=rec.alt_text,
            record=rec,
        )

    @strawberry.field(description="Public URL of the variant; null until the media is processed.")
    def url(self, info: Info, size: ImageSize = ImageSize.FEED) -> str | None:
        if self.record.signed_until is not None:  # a story's: a presigned GET, an awaitable
            return story_resolvers.media_url(info, self.record, size.value)  # type: ignore[return-value]
        return post_resolvers.media_url(info, self.record, size.value)


@strawberry.type
class Post(Node):
    id: strawberry.ID
    caption: str | None
    hashtags: list[str]
    status: PostStatus
    failure_reason: str | None
    created_at: datetime
    comment_count: int
    record: strawberry.Private[PostRecord]

    @classmethod
    def from_record(cls, rec: PostRecord) -> Post:
        """Map a post record."""
        return cls(
            id=to_global_id("Post", rec.id),
            caption=rec.caption,
            hashtags=list(rec.hashtags),
            status=PostStatus(rec.status),
            failure_reason=rec.failure_reason,
            created_at=from_ms(rec.created_at),  # type: ignore[arg-type]
            comment_count=rec.comment_count,
            record=rec,
        )

    # author, likeCount and viewerHasLiked are plain resolvers returning the value at once when the request's
    # loaders hold it (the feed primes them), else an awaitable that graphql-core awaits: an ``async def``
    # field costs a coroutine and an asyncio task per post even when nothing is left to wait for
    # (``resolvers.loading``). The declared return type is what the field resolves to.
    @strawberry.field
    def author(self, info: Info) -> User:
        return settle(user_resolvers.user_by_id_now(info, self.record.author_id), User.from_record)  # type: ignore[return-value]

    @strawberry.field
    async def mentions(self, info: Info) -> list[User]:
        users = await user_resolvers.users_by_ids(info, list(self.record.mention_ids))
        return [User.from_record(u) for u in users if u is not None]

    @strawberry.field
    def media(self) -> list[Media]:
        return [Media.from_record(m) for m in sorted(self.record.media, key=lambda m: m.position)]

    @strawberry.field
    def like_count(self, info: Info) -> int:
        return engagement_resolvers.like_count_now(info, self.record)  # type: ignore[return-value]

    @strawberry.field
    def viewer_has_liked(self, info: Info) -> bool:
        return engagement_resolvers.viewer_has_liked_now(info, self.record.id)  # type: ignore[return-value]

    @strawberry.field(description="Comments, oldest first.")
    async def comments(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> CommentConnection:
        return CommentConnection.of(await engagement_resolvers.comments(info, self.record, first, after))

    @strawberry.field(description="Users who liked the post, newest first.")
    async def likers(self, info: Info, first: int | None = 20, after: str | None = None) -> UserConnection:
        return UserConnection.of(await engagement_resolvers.likers(info, self.record, first, after))


@strawberry.type
class PostEdge:
    cursor: str
    node: Post


@strawberry.type
class PostConnection:
    edges: list[PostEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[PostRecord]) -> PostConnection:
        """Map a page of post records."""
        return cls(
            edges=[PostEdge(cursor=c, node=Post.from_record(r)) for c, r in page.items],
            page_info=PageInfo.of(page),
        )


@strawberry.type
class Comment(Node):
    id: strawberry.ID
    text: str
    created_at: datetime
    record: strawberry.Private[CommentRecord]

    @classmethod
    def from_record(cls, rec: CommentRecord) -> Comment:
        """Map a comment record."""
        return cls(
            id=to_global_id("Comment", rec.id),
            text=rec.text,
            created_at=from_ms(rec.created_at),  # type: ignore[arg-type]
            record=rec,
        )

    @strawberry.field
    async def author(self, info: Info) -> User:
        return User.from_record(await user_resolvers.user_by_id(info, self.record.author_id))

    @strawberry.field
    async def post(self, info: Info) -> Post:
        return Post.from_record(await post_resolvers.post_by_id(info, self.record.post_id))


@strawberry.type
class CommentEdge:
    cursor: str
    node: Comment


@strawberry.type
class CommentConnection:
    edges: list[CommentEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def of(cls, page: Page[CommentRecord]) -> CommentConnection:
        """Map a page of comments; ``total_count`` falls back to the page length."""
        return cls(
            edges=[CommentEdge(cursor=c, node=Comment.from_record(r)) for c, r in page.items],
            page_info=PageInfo.of(page),
            total_count=page.total_count if page.total_count is not None else len(page.items),
        )
