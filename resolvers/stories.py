"""Story resolvers (owner: stories).

Contract used by the schema layer:
- ``await story_or_none(info, story_id) -> StoryRecord | None`` via ``StoriesById`` (``story(id:)``,
  ``node(id:)``, highlight stories); ``await stories_or_none(info, ids)`` for many.
- ``await user_stories(info, user_id) -> list[StoryRecord]`` via ``StoriesByUserId`` (``User.stories``).
- ``viewer_has_seen(info, story)`` via ``ViewerSeenByStoryId`` (Redis seen set; graph when Redis is down);
  ``view_count(info, story)`` via ``ViewCountsByStoryId`` for the author, ``None`` for anyone else;
  ``await viewers(info, story, first, after)`` (author only, else ``None``).
- ``await stories_ring(info, first, after) -> Page[RingItem]``: primes ``StoriesById``, ``UsersById`` and
  ``ViewerSeenByStoryId`` from the ring's own round trips.
- ``media_url(info, media, size)``: an awaitable presigned GET of a story variant.
- mutations ``create_story``, ``complete_story_upload``, ``view_story``, ``delete_story``: require a viewer,
  call one service use case, clear the request's loaders, return records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers import users as user_resolvers
from resolvers.context import context_of
from resolvers.loading import settle

if TYPE_CHECKING:
    from collections.abc import Awaitable, Iterable, Sequence

    from strawberry.dataloader import DataLoader
    from strawberry.types import Info

    from services.core.pagination import Page
    from services.core.records import MediaRecord, StoryRecord, UserRecord
    from services.posts import MediaSpec
    from services.stories import CreatedStory
    from services.story_ring import RingItem

STORIES_BY_ID = "StoriesById"
STORIES_BY_USER_ID = "StoriesByUserId"
VIEWER_SEEN_BY_STORY_ID = "ViewerSeenByStoryId"
VIEW_COUNTS_BY_STORY_ID = "ViewCountsByStoryId"


def _stories(info: Info) -> DataLoader[str, StoryRecord | None]:
    ctx = context_of(info)

    async def batch(ids: list[str]) -> list[StoryRecord | None]:
        return await ctx.services.stories.stories_by_ids(ids, await ctx.viewer_id())

    return ctx.loader(STORIES_BY_ID, batch)


def _user_stories(info: Info) -> DataLoader[str, list[StoryRecord]]:
    ctx = context_of(info)

    async def batch(owner_ids: list[str]) -> list[list[StoryRecord]]:
        found = await ctx.services.stories.user_stories(owner_ids, await ctx.viewer_id())
        prime_stories(info, (s for stories in found.values() for s in stories))
        return [found[o] for o in owner_ids]

    return ctx.loader(STORIES_BY_USER_ID, batch)


def _seen(info: Info) -> DataLoader[tuple[str, str], bool]:
    """Keyed by ``(story id, author id)``: the author has seen their own stories."""
    ctx = context_of(info)

    async def batch(keys: list[tuple[str, str]]) -> list[bool]:
        viewer_id = await ctx.viewer_id()
        if viewer_id is None:
            return [False] * len(keys)
        others = [story_id for story_id, author_id in keys if author_id != viewer_id]
        flags = dict(zip(others, await ctx.services.story_views.seen(viewer_id, others), strict=True))
        return [author_id == viewer_id or flags[story_id] for story_id, author_id in keys]

    return ctx.loader(VIEWER_SEEN_BY_STORY_ID, batch)


def _view_counts(info: Info) -> DataLoader[str, int]:
    ctx = context_of(info)
    return ctx.loader(VIEW_COUNTS_BY_STORY_ID, ctx.services.story_views.counts)


def prime_stories(info: Info, records: Iterable[StoryRecord]) -> None:
    """Put ``records`` (read for the viewer by another statement of this request) into ``StoriesById``."""
    loader = _stories(info)
    for record in records:
        loader.prime(record.id, record)


async def story_or_none(info: Info, story_id: str) -> StoryRecord | None:
    """The story if the viewer may see it now, else ``None`` (batched per request)."""
    return await _stories(info).load(story_id)


async def stories_or_none(info: Info, story_ids: Sequence[str]) -> list[StoryRecord | None]:
    """The stories of ``story_ids`` the viewer may see, in order (``None`` where not); one batched load."""
    return list(await _stories(info).load_many(list(story_ids)))


async def user_stories(info: Info, user_id: str) -> list[StoryRecord]:
    """``User.stories``: the user's live stories the viewer may see, oldest first (batched per request)."""
    return await _user_stories(info).load(user_id)


def viewer_has_seen(info: Info, story: StoryRecord) -> bool | Awaitable[bool]:
    """``Story.viewerHasSeen``: True for the author's own stories; else the viewer's seen set (batched; at
    once when the ring primed it)."""
    return settle(_seen(info).load((story.id, story.author_id)), bool)


async def view_count(info: Info, story: StoryRecord) -> int | None:
    """``Story.viewCount``: the number of distinct viewers, for the author only (``None`` otherwise)."""
    if await context_of(info).viewer_id() != story.author_id:
        return None
    return await _view_counts(info).load(story.id)


async def viewers(info: Info, story: StoryRecord, first: int | None, after: str | None) -> Page[UserRecord] | None:
    """``Story.viewers``: most recent viewer first, the author only (``None`` otherwise)."""
    ctx = context_of(info)
    return await ctx.services.story_views.viewers(await ctx.viewer_id(), story, first, after)


def media_url(info: Info, media: MediaRecord, size: str) -> str | Awaitable[str | None] | None:
    """A presigned GET URL of a story variant that expires no later than the story: at once when signed
    before in this process, else an awaitable (``resolvers.loading``: no coroutine per field when not needed)."""
    return context_of(info).services.stories.media_url(media, size)


async def stories_ring(info: Info, first: int | None, after: str | None) -> Page[RingItem]:
    """``storiesRing``: requires a viewer; the page's users, stories and seen flags are primed."""
    ctx = context_of(info)
    page = await ctx.services.story_ring.ring(await ctx.require_viewer(), first, after)
    seen = _seen(info)
    for _, item in page.items:
        user_resolvers.prime_users(info, [item.user])
        prime_stories(info, item.stories)
        for story in item.stories:
            seen.prime((story.id, story.author_id), item.seen.get(story.id, False))
    return page


async def story_archive(info: Info, first: int | None, after: str | None) -> Page[StoryRecord]:
    """``storyArchive``: the viewer's own stories, newest first (viewer required); primes ``StoriesById``."""
    ctx = context_of(info)
    page = await ctx.services.stories.archive(await ctx.require_viewer(), first, after)
    prime_stories(info, (record for _, record in page.items))
    return page


async def create_story(info: Info, media: MediaSpec, audience: str) -> CreatedStory:
    """``createStory(input:)``: a PENDING_UPLOAD story and the presigned POST of its photo."""
    ctx = context_of(info)
    return await ctx.services.stories.create_story(await ctx.require_viewer(), media, audience)


async def complete_story_upload(info: Info, story_id: str) -> StoryRecord:
    """``completeStoryUpload(input:)``: verify the upload and queue the story for processing."""
    ctx = context_of(info)
    record = await ctx.services.stories.complete_upload(await ctx.require_viewer(), story_id)
    ctx.clear_loaders()
    return record


async def view_story(info: Info, story_id: str) -> StoryRecord:
    """``viewStory(input:)``: idempotent; the story is then seen by the viewer."""
    ctx = context_of(info)
    record = await ctx.services.story_views.view_story(await ctx.require_viewer(), story_id)
    ctx.clear_loaders()
    _seen(info).prime((record.id, record.author_id), True)
    return record


async def delete_story(info: Info, story_id: str) -> StoryRecord:
    """``deleteStory(input:)``: soft-delete the viewer's own story."""
    ctx = context_of(info)
    record = await ctx.services.stories.delete_story(await ctx.require_viewer(), story_id)
    ctx.clear_loaders()
    return record
