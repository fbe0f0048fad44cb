"""Posts in GraphQL: the ``Post``, ``Media`` and ``Comment`` types and their connections (fields delegate to
resolvers); ``post(id:)``, ``createPost``, ``completePostUpload``, ``deletePost``, their inputs and payloads
(``MediaUpload`` is an S3 presigned POST); ``Post`` registered for ``node(id:)``.

Global IDs are decoded here; a malformed one is ``BAD_USER_INPUT`` naming the field (``id``, ``postId``).
``PostIdInput`` is shared with the likes mutations (``schema.engagement``).
"""

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
from schema.base import Node, PageInfo, from_global_id, from_ms, to_global_id
from schema.fast_fields import hot
from schema.node import register_node
from schema.rate_limits import Throttled
from schema.users import User, UserConnection
from services.core.locations import LocationSpec
from services.core.records import CommentRecord, LocationRecord, MediaRecord, PostRecord
from services.posts import CreatedPost, MediaSpec, UploadTicket

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


@strawberry.type(description="Where a post was taken, in degrees.")
class Location:
    latitude: float
    longitude: float
    name: str | None

    @classmethod
    def of(cls, rec: LocationRecord | None) -> Location | None:
        """Map a location record (``None`` passes through)."""
        return None if rec is None else cls(latitude=rec.latitude, longitude=rec.longitude, name=rec.name)


@strawberry.type
class Post(Node):
    id: strawberry.ID
    caption: str | None
    hashtags: list[str]
    status: PostStatus
    failure_reason: str | None
    created_at: datetime
    comment_count: int
    location: Location | None
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
            location=Location.of(rec.location),
            record=rec,
        )

    # author, likeCount and viewerHasLiked are plain resolvers returning the value at once when the request's
    # loaders hold it (the feed primes them), else an awaitable that graphql-core awaits: an ``async def``
    # field costs a coroutine and an asyncio task per post even when nothing is left to wait for
    # (``resolvers.loading``). The declared return type is what the field resolves to.
    @strawberry.field
    def author(self, info: Info) -> User:
        return settle(user_resolvers.user_by_id_now(info, self.record.author_id), User.from_record)  # type: ignore[return-value]

    @strawberry.field(description="Mentioned users, in caption order; a user who blocks the viewer is left out.")
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


# The feed's hot sync fields resolve without Strawberry's per-call wrappers (``schema.fast_fields``).
for _field in ("author", "media", "likeCount", "viewerHasLiked"):
    hot("Post", _field)
hot("Media", "url", size=ImageSize)


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


@strawberry.input
class PostIdInput:
    post_id: strawberry.ID


@strawberry.input(
    description="One file to upload: JPEG, PNG or WebP, 1 byte to 20 MB; altText <= 1,000 chars."
)
class MediaInput:
    content_type: str
    byte_size: int
    alt_text: str | None = None


@strawberry.input(description="latitude -90..90, longitude -180..180 (degrees); name <= 100 characters.")
class LocationInput:
    latitude: float
    longitude: float
    name: str | None = None


@strawberry.input(
    description="caption <= 2,200 characters (<= 30 hashtags, <= 20 mentions); 1 to 10 media; optional location."
)
class CreatePostInput:
    caption: str | None = None
    media: list[MediaInput]
    location: LocationInput | None = None


@strawberry.type(description="One form field of a presigned POST, sent before the file part.")
class FormField:
    name: str
    value: str


@strawberry.type(
    description=(
        "An S3 presigned POST: send a multipart/form-data POST to `url` with every field of `fields` (in "
        "order) and then the file as the part named `file`, before `expiresAt`. S3 refuses another content "
        "type or a file larger than the declared byteSize."
    )
)
class MediaUpload:
    media_id: strawberry.ID
    url: str
    fields: list[FormField]
    expires_at: datetime

    @classmethod
    def of(cls, ticket: UploadTicket) -> MediaUpload:
        """Map an upload ticket."""
        return cls(
            media_id=to_global_id("Media", ticket.media_id),
            url=ticket.url,
            fields=[FormField(name=n, value=v) for n, v in ticket.fields],
            expires_at=from_ms(ticket.expires_at),  # type: ignore[arg-type]
        )


@strawberry.type
class CreatePostPayload:
    post: Post
    uploads: list[MediaUpload]

    @classmethod
    def of(cls, created: CreatedPost) -> CreatePostPayload:
        """Map ``create_post``'s result."""
        return cls(post=Post.from_record(created.post), uploads=[MediaUpload.of(t) for t in created.uploads])


def _post_id(global_id: str, field: str) -> str:
    return from_global_id(global_id, field=field, expected="Post")[1]


async def _post_node(info: Info, raw_id: str) -> Post | None:
    record = await post_resolvers.post_or_none(info, raw_id)
    return None if record is None else Post.from_record(record)


register_node("Post", _post_node)


@strawberry.type
class PostsQuery:
    @strawberry.field(description="A post; null when absent, deleted or hidden from the viewer.")
    async def post(self, info: Info, id: strawberry.ID) -> Post | None:
        return await _post_node(info, _post_id(id, "id"))


@strawberry.type
class PostsMutation:
    @strawberry.mutation(
        description="Create a post in PENDING_UPLOAD and get one presigned POST per media item.",
        extensions=[Throttled("createPost")],
    )
    async def create_post(self, info: Info, input: CreatePostInput) -> CreatePostPayload:
        media = [MediaSpec(m.content_type, m.byte_size, m.alt_text) for m in input.media]
        place = input.location
        location = None if place is None else LocationSpec(place.latitude, place.longitude, place.name)
        return CreatePostPayload.of(await post_resolvers.create_post(info, input.caption, media, location))

    @strawberry.mutation(
        description="After uploading every file: check them and queue the post for processing (PROCESSING)."
    )
    async def complete_post_upload(self, info: Info, input: PostIdInput) -> Post:
        record = await post_resolvers.complete_post_upload(info, _post_id(input.post_id, "postId"))
        return Post.from_record(record)

    @strawberry.mutation(description="Delete the viewer's own post; it is never served again.")
    async def delete_post(self, info: Info, input: PostIdInput) -> Post:
        return Post.from_record(await post_resolvers.delete_post(info, _post_id(input.post_id, "postId")))
