"""Post resolvers (owner: posts & media).

Contract used by the schema layer:
- ``await user_posts(info, user_id, first, after) -> Page[PostRecord]`` (PUBLISHED only for others; empty when
  private and not visible); the page's posts are primed into ``PostsById``.
- ``await post_by_id(info, post_id) -> PostRecord`` via ``PostsById`` (``NotFound`` when deleted/hidden).
- ``await post_or_none(info, post_id) -> PostRecord | None`` same loader (``post(id:)`` and ``node(id:)``);
  ``await posts_or_none(info, ids)`` for many; ``prime_posts(info, records)`` primes it (the feed).
- ``media_url(info, media, size) -> str | None`` with size in THUMBNAIL/FEED/FULL.
- mutations ``create_post``, ``complete_post_upload``, ``delete_post``: require a viewer, call one
  ``services.posts`` use case, clear the request's loaders, return records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from resolvers.context import context_of
from resolvers.loading import load_many_behind
from resolvers.pages import load_page
from services.core.errors import NotFound
from services.core.pagination import Page

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from strawberry.dataloader import DataLoader
    from strawberry.types import Info

    from services.core.locations import LocationSpec
    from services.core.records import MediaRecord, PostRecord
    from services.posts import CreatedPost, MediaSpec

T = TypeVar("T")

POSTS_BY_ID = "PostsById"
POSTS_BY_AUTHOR_ID = "PostsByAuthorId"



def posts_loader(info: Info) -> DataLoader[str, PostRecord | None]:
    """The request's ``PostsById`` loader: posts visible to the viewer, ``None`` when absent or hidden."""
    ctx = context_of(info)

    async def batch(post_ids: list[str]) -> list[PostRecord | None]:
        return await ctx.services.posts.posts_by_ids(post_ids, await ctx.viewer_id())

    return ctx.loader(POSTS_BY_ID, batch)


async def user_posts(info: Info, user_id: str, first: int | None, after: str | None) -> Page[PostRecord]:
    """``User.posts``: newest first, batched per request level (``PostsByAuthorId``, ``resolvers.pages``);
    the page's records are primed into ``PostsById``."""
    services = context_of(info).services

    async def batch(
        viewer_id: str | None, author_ids: list[str], first: int | None, after: str | None
    ) -> dict[str, Page[PostRecord]]:
        return await services.posts.user_posts_pages(author_ids, viewer_id, first, after)

    page = await load_page(info, POSTS_BY_AUTHOR_ID, batch, user_id, first, after)
    prime_posts(info, (record for _, record in page.items))
    return page


def prime_posts(info: Info, records: Iterable[PostRecord]) -> None:
    """Put ``records`` (already checked visible to the viewer, e.g. by the feed's filter) in front of
    ``PostsById`` (the request's ``Context.hydration``; a post held already is kept)."""
    held = context_of(info).hydration.posts
    for record in records:
        held.setdefault(record.id, record)


async def records_page(info: Info, page: Page[T], post_id_of: Callable[[T], str]) -> Page[PostRecord]:
    """``page`` of items that name posts (``post_id_of(item)``) as a page of the posts the viewer may see,
    cursors and flags kept; an item whose post is gone or hidden is dropped. One batched load through
    ``PostsById`` (none for posts primed before)."""
    records = await posts_or_none(info, [post_id_of(item) for _, item in page.items])
    return Page(
        items=[(cursor, rec) for (cursor, _), rec in zip(page.items, records, strict=True) if rec is not None],
        has_next=page.has_next,
        has_previous=page.has_previous,
        total_count=page.total_count,
    )


async def posts_or_none(info: Info, post_ids: Sequence[str]) -> list[PostRecord | None]:
    """The posts of ``post_ids`` the viewer may see, in order (``None`` where not); one batched load for those
    the request does not hold yet."""
    return await load_many_behind(context_of(info).hydration.posts, posts_loader(info), post_ids)


async def post_or_none(info: Info, post_id: str) -> PostRecord | None:
    """The post if the viewer may see it, else ``None`` (batched per request)."""
    held = context_of(info).hydration.posts.get(post_id)
    return held if held is not None else await posts_loader(info).load(post_id)


async def post_by_id(info: Info, post_id: str) -> PostRecord:
    """The post; raises ``NotFound`` when absent, deleted or hidden from the viewer (batched per request)."""
    record = await post_or_none(info, post_id)
    if record is None:
        raise NotFound("Post not found.")
    return record


def media_url(info: Info, media: MediaRecord, size: str) -> str | None:
    """Public URL of a variant; ``None`` until the media worker has produced it."""
    return context_of(info).services.posts.media_url(media, size)


async def create_post(
    info: Info, caption: str | None, media: Sequence[MediaSpec], location: LocationSpec | None = None
) -> CreatedPost:
    """``createPost(input:)``: a PENDING_UPLOAD post (at ``location``) and one presigned POST per media item."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    return await ctx.services.posts.create_post(viewer_id, caption, media, location=location)


async def complete_post_upload(info: Info, post_id: str) -> PostRecord:
    """``completePostUpload(input:)``: verify the uploads and queue the post for processing."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    record = await ctx.services.posts.complete_upload(viewer_id, post_id)
    ctx.clear_loaders()
    return record


async def delete_post(info: Info, post_id: str) -> PostRecord:
    """``deletePost(input:)``: soft-delete the viewer's own post."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    record = await ctx.services.posts.delete_post(viewer_id, post_id)
    ctx.clear_loaders()
    return record
