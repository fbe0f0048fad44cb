"""Posts in GraphQL: ``post(id:)``, ``createPost``, ``completePostUpload``, ``deletePost``, their inputs and
payloads (``MediaUpload`` is an S3 presigned POST); also registers ``Post`` for ``node(id:)``.

Global IDs are decoded here; a malformed one is ``BAD_USER_INPUT`` naming the field (``id``, ``postId``).
``PostIdInput`` is shared with the likes mutations (defined in ``schema.engagement``).
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import posts as post_resolvers
from schema.base import from_global_id, from_ms, to_global_id
from schema.engagement import PostIdInput
from schema.node import register_node
from schema.posts import Post
from services.posts import CreatedPost, MediaSpec, UploadTicket


@strawberry.input(
    description="One file to upload: JPEG, PNG or WebP, 1 byte to 20 MB; altText <= 1,000 chars."
)
class MediaInput:
    content_type: str
    byte_size: int
    alt_text: str | None = None


@strawberry.input(description="caption <= 2,200 characters (<= 30 hashtags, <= 20 mentions); 1 to 10 media.")
class CreatePostInput:
    caption: str | None = None
    media: list[MediaInput]


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
        description="Create a post in PENDING_UPLOAD and get one presigned POST per media item."
    )
    async def create_post(self, info: Info, input: CreatePostInput) -> CreatePostPayload:
        media = [MediaSpec(m.content_type, m.byte_size, m.alt_text) for m in input.media]
        return CreatePostPayload.of(await post_resolvers.create_post(info, input.caption, media))

    @strawberry.mutation(
        description="After uploading every file: check them and queue the post for processing (PROCESSING)."
    )
    async def complete_post_upload(self, info: Info, input: PostIdInput) -> Post:
        record = await post_resolvers.complete_post_upload(info, _post_id(input.post_id, "postId"))
        return Post.from_record(record)

    @strawberry.mutation(description="Delete the viewer's own post; it is never served again.")
    async def delete_post(self, info: Info, input: PostIdInput) -> Post:
        return Post.from_record(await post_resolvers.delete_post(info, _post_id(input.post_id, "postId")))
