"""Likes and comments resolvers (owner: engagement). Thin: each calls ``services.engagement``.

Contract used by the schema layer:
- ``await like_count(info, post) -> int`` via ``LikeCountsByPostId`` (Redis counters, one ``MGET`` per page;
  recounted from the graph on a miss; the graph's ``Post.like_count`` when Redis is down);
  ``prime_like_counts(info, {post_id: likes})`` primes it.
- ``await viewer_has_liked(info, post_id) -> bool`` via ``ViewerLikesByPostId`` (one graph round trip per
  page; False for an anonymous viewer without any); ``prime_viewer_likes(info, {post_id: liked})``.
- ``like_count_now`` / ``viewer_has_liked_now``: the same, but the value at once when the loader holds it
  (``resolvers.loading.settle``), for the ``Post`` type's plain resolvers.
- ``await comments(info, post, first, after) -> Page[CommentRecord]`` oldest first, ``total_count`` =
  ``post.comment_count``.
- ``await likers(info, post, first, after) -> Page[UserRecord]`` newest first, ``total_count`` = like count.
- ``await comment_node(info, comment_id) -> CommentRecord | None`` via ``CommentsById`` (for ``node(id:)``).
- Mutations (viewer required, else ``Unauthenticated``): ``like_post``/``unlike_post(info, post_id) ->
  PostRecord`` (the post after the change, loaders cleared first), ``add_comment(info, post_id, text)`` and
  ``delete_comment(info, comment_id) -> CommentRecord``. Errors as in ``services.engagement``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from resolvers import posts as post_resolvers
from resolvers.context import context_of
from resolvers.loading import resolve, settle
from resolvers.pages import load_page

if TYPE_CHECKING:
    from collections.abc import Awaitable, Mapping

    from strawberry.dataloader import DataLoader
    from strawberry.types import Info

    from services.core.pagination import Page
    from services.core.records import CommentRecord, PostRecord, UserRecord

LIKE_COUNTS_BY_POST_ID = "LikeCountsByPostId"
VIEWER_LIKES_BY_POST_ID = "ViewerLikesByPostId"
COMMENTS_BY_ID = "CommentsById"
COMMENTS_BY_POST_ID = "CommentsByPostId"
LIKERS_BY_POST_ID = "LikersByPostId"



def _like_counts_loader(info: Info) -> DataLoader[str, int | None]:
    ctx = context_of(info)
    return ctx.loader(LIKE_COUNTS_BY_POST_ID, ctx.services.engagement.like_counts)


def like_count_now(info: Info, post: PostRecord) -> int | Awaitable[int]:
    """Likes of ``post``: at once when ``LikeCountsByPostId`` holds them (:func:`prime_like_counts`, or
    loaded before in the request), else an awaitable. Only PUBLISHED posts can have likes, so others cost
    no round trip."""
    if post.status != "PUBLISHED":
        return post.like_count
    held = context_of(info).hydration.like_counts.get(post.id)
    if held is not None:
        return held

    def or_stored(value: int | None) -> int:
        return post.like_count if value is None else value

    return settle(_like_counts_loader(info).load(post.id), or_stored)


async def like_count(info: Info, post: PostRecord) -> int:
    """Likes of ``post`` (see :func:`like_count_now`)."""
    return await resolve(like_count_now(info, post))


def prime_like_counts(info: Info, counts: Mapping[str, int]) -> None:
    """Put like counts (post id -> likes, read with a page of posts) in front of ``LikeCountsByPostId`` (the
    request's ``Context.hydration``; a count held already is kept)."""
    held = context_of(info).hydration.like_counts
    for post_id, count in counts.items():
        held.setdefault(post_id, count)


def _viewer_likes_loader(info: Info) -> DataLoader[str, bool]:
    ctx = context_of(info)

    async def batch(post_ids: list[str]) -> list[bool]:
        viewer_id = await ctx.viewer_id()
        if viewer_id is None:
            return [False] * len(post_ids)
        return await ctx.services.engagement.viewer_likes(viewer_id, post_ids)

    return ctx.loader(VIEWER_LIKES_BY_POST_ID, batch)


def viewer_has_liked_now(info: Info, post_id: str) -> bool | Awaitable[bool]:
    """Whether the viewer liked ``post_id``: at once when ``ViewerLikesByPostId`` holds it (primed by the
    feed with :func:`prime_viewer_likes`), else an awaitable (one graph round trip per page; no round trip
    for an anonymous viewer). Raises ``Unauthenticated`` for a bad token when awaited."""
    held = context_of(info).hydration.viewer_likes.get(post_id)
    return held if held is not None else _viewer_likes_loader(info).load(post_id)


async def viewer_has_liked(info: Info, post_id: str) -> bool:
    """Whether the viewer liked ``post_id`` (see :func:`viewer_has_liked_now`)."""
    return await resolve(viewer_has_liked_now(info, post_id))


def prime_viewer_likes(info: Info, liked: Mapping[str, bool]) -> None:
    """Put the viewer's like flags (post id -> liked, read with the feed's posts) in front of
    ``ViewerLikesByPostId`` (the request's ``Context.hydration``; a flag held already is kept)."""
    held = context_of(info).hydration.viewer_likes
    for post_id, flag in liked.items():
        held.setdefault(post_id, flag)


async def comments(info: Info, post: PostRecord, first: int | None, after: str | None) -> Page[CommentRecord]:
    """Live comments of ``post``, oldest first; batched per request level (``CommentsByPostId``)."""
    engagement = context_of(info).services.engagement

    async def batch(
        viewer_id: str | None, post_ids: list[str], first: int | None, after: str | None
    ) -> dict[str, Page[CommentRecord]]:
        return await engagement.comments_pages(post_ids, viewer_id, first, after)

    page = await load_page(info, COMMENTS_BY_POST_ID, batch, post.id, first, after)
    page.total_count = post.comment_count
    return page


async def likers(info: Info, post: PostRecord, first: int | None, after: str | None) -> Page[UserRecord]:
    """Users who liked ``post``, newest first; batched per request level (``LikersByPostId``)."""
    engagement = context_of(info).services.engagement

    async def batch(
        viewer_id: str | None, post_ids: list[str], first: int | None, after: str | None
    ) -> dict[str, Page[UserRecord]]:
        return await engagement.likers_pages(post_ids, viewer_id, first, after)

    page = await load_page(info, LIKERS_BY_POST_ID, batch, post.id, first, after)
    page.total_count = await like_count(info, post)
    return page


async def comment_node(info: Info, comment_id: str) -> CommentRecord | None:
    """The comment ``comment_id`` when it is live and visible to the viewer, else ``None``."""
    ctx = context_of(info)
    viewer_id = await ctx.viewer_id()
    batch = partial(ctx.services.engagement.comments_by_ids, viewer_id)
    return await ctx.loader(COMMENTS_BY_ID, batch).load(comment_id)


async def like_post(info: Info, post_id: str) -> PostRecord:
    """Like ``post_id`` (idempotent) and return the post."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    await ctx.services.engagement.like_post(viewer_id, post_id)
    ctx.clear_loaders()
    return await post_resolvers.post_by_id(info, post_id)


async def unlike_post(info: Info, post_id: str) -> PostRecord:
    """Remove the viewer's like of ``post_id`` (idempotent) and return the post."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    await ctx.services.engagement.unlike_post(viewer_id, post_id)
    ctx.clear_loaders()
    return await post_resolvers.post_by_id(info, post_id)


async def add_comment(info: Info, post_id: str, text: str) -> CommentRecord:
    """Comment on ``post_id``."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    comment = await ctx.services.engagement.add_comment(viewer_id, post_id, text)
    ctx.clear_loaders()
    return comment


async def delete_comment(info: Info, comment_id: str) -> CommentRecord:
    """Delete ``comment_id`` (its author or the post's author)."""
    ctx = context_of(info)
    viewer_id = await ctx.require_viewer()
    comment = await ctx.services.engagement.delete_comment(viewer_id, comment_id)
    ctx.clear_loaders()
    return comment
