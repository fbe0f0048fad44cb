"""The stories part of ``instagraph seed``: live stories with the real photos, through the real upload flow.

Authors: ``SEED_VIEWER`` (``fb_107``, the 1,045-follower hub) and the first ``AUTHORS`` users it follows (by
username), so that its stories ring is full on ``instagraph dev``. Every author gets one story, every third
a second one; photos go round-robin over ``../shared/datasets/images``. Every fifth author's first story is
for CLOSE_FRIENDS, with ``fb_107`` on that author's close-friends list. Each story is viewed by up to
``VIEWERS`` of its author's followers (``viewStory``, so the VIEWED edges, seen sets and counters are the real
ones), and ``fb_107`` views the stories of every third author, so its ring shows seen and unseen items.

Every story goes through the use cases a client drives: ``StoryService.create_story`` (limits, presigned
POST), an HTTP multipart POST of the photo to S3, ``complete_upload`` and ``StoryMediaService.process_story``
inline (variants, ACTIVE, ``stories:{uid}``). Stories expire (``INSTAGRAPH_STORY_TTL``), so the seed is
idempotent per lifetime: a story keyed ``story:<username>:<n>`` that is still PROCESSING (processed now) or
live is kept; an expired, failed or missing one is created again.

Errors: ``NotFound`` when ``fb_107`` is missing (run the graph seed first); ``SeedUploadFailed`` when S3
refuses an upload; graph and S3 outages propagate (run it again: it resumes).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from seed.posts import IMAGE_TYPES, SeedUploadFailed
from seed.statements import AUTHOR_FOLLOWERS, FOLLOWEES_OF, IDS_BY_USERNAME, LIVE_SEEDED_STORIES
from services.core.errors import NotFound
from services.posts import MediaSpec

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from graph.store import GraphStore
    from services.close_friends import CloseFriendService
    from services.stories import StoryService
    from services.story_media import StoryMediaService
    from services.story_views import StoryViewService

SEED_VIEWER = "fb_107"
AUTHORS = 30  # followees of fb_107 with stories: with fb_107 itself, 31 authors and 41 stories
VIEWERS = 3  # followers who view each story
CLOSE_FRIENDS_EVERY = 5
SECOND_STORY_EVERY = 3


@dataclass(frozen=True, slots=True)
class SeedStory:
    """One story to seed: ``seed_key``, the author's ``author_id``/``username``, its ``image`` file name and
    ``audience``."""

    seed_key: str
    author_id: str
    username: str
    image: str
    audience: str


@dataclass(slots=True)
class SeedStoriesResult:
    """What a run did: stories planned, ``created`` now, ``kept`` (still live), ``published``, ``failed``,
    ``views`` recorded and ``seconds`` of wall time."""

    planned: int = 0
    created: int = 0
    kept: int = 0
    published: int = 0
    failed: int = 0
    views: int = 0
    seconds: float = 0.0


def plan_stories(authors: list[tuple[str, str]], images: list[str]) -> list[SeedStory]:
    """The stories of ``authors`` (``(id, username)`` pairs, in order): see the module docstring."""
    plan: list[SeedStory] = []
    for i, (author_id, username) in enumerate(authors):
        count = 2 if i % SECOND_STORY_EVERY == SECOND_STORY_EVERY - 1 else 1
        for n in range(count):
            close = n == 0 and i % CLOSE_FRIENDS_EVERY == CLOSE_FRIENDS_EVERY - 1
            audience = "CLOSE_FRIENDS" if close else "FOLLOWERS"
            image = images[len(plan) % len(images)]
            plan.append(SeedStory(f"story:{username}:{n}", author_id, username, image, audience))
    return plan


async def seed_stories(
    stories: StoryService,
    media: StoryMediaService,
    views: StoryViewService,
    close_friends: CloseFriendService,
    graph: GraphStore,
    *,
    images_dir: Path,
    authors: int = AUTHORS,
    concurrency: int = 4,
    on_progress: Callable[[int, int], None] | None = None,
) -> SeedStoriesResult:
    """Seed live stories around ``fb_107`` (see the module docstring; ``authors``: how many of its followees
    get stories). ``on_progress(done, total)`` after each story. Raises ``NotFound`` (``fb_107`` missing),
    ``SeedUploadFailed``."""
    started = time.perf_counter()
    viewer = await graph.read(IDS_BY_USERNAME, {"usernames": [SEED_VIEWER]})
    if not viewer:
        raise NotFound(f"Seed viewer {SEED_VIEWER} not found (run the graph seed first).")
    viewer_id = viewer[0]["id"]
    followees = await graph.read(FOLLOWEES_OF, {"username": SEED_VIEWER, "limit": authors})
    chosen = [(viewer_id, SEED_VIEWER), *((r["id"], r["username"]) for r in followees)]
    photos = await asyncio.to_thread(_load_photos, images_dir)
    names = sorted(photos)
    plan = plan_stories(chosen, names)
    result = SeedStoriesResult(planned=len(plan))
    for i, (author_id, _) in enumerate(chosen):
        if i % CLOSE_FRIENDS_EVERY == CLOSE_FRIENDS_EVERY - 1 and author_id != viewer_id:
            await close_friends.add_close_friend(author_id, viewer_id)
    live = {
        r["seed_key"]: r
        for r in await graph.read(
            LIVE_SEEDED_STORIES, {"seed_keys": [s.seed_key for s in plan], "now": stories.clock.now_ms()}
        )
    }
    gate, done = asyncio.Semaphore(concurrency), 0
    story_ids: dict[str, str | None] = {}

    async with httpx.AsyncClient(timeout=60) as http:

        async def one(item: SeedStory) -> None:
            nonlocal done
            async with gate:
                story_ids[item.seed_key] = await _seed_one(item, live.get(item.seed_key), photos, stories,
                                                           media, http, result)  # fmt: skip
            done += 1
            if on_progress is not None:
                on_progress(done, len(plan))

        await asyncio.gather(*(one(item) for item in plan))
    result.views = await _seed_views(plan, story_ids, chosen, viewer_id, views, graph)
    result.seconds = time.perf_counter() - started
    return result


def _load_photos(images_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_TYPES}


async def _seed_one(
    item: SeedStory, found: dict[str, str] | None, photos: dict[str, bytes], stories: StoryService,
    media: StoryMediaService, http: httpx.AsyncClient, result: SeedStoriesResult,
) -> str | None:  # fmt: skip
    if found is not None:
        result.kept += 1
        if found["status"] == "PROCESSING":
            result.published += await media.process_story(found["id"]) == "published"
        return found["id"]
    data, content_type = photos[item.image], IMAGE_TYPES[item.image[item.image.rfind(".") :].lower()]
    created = await stories.create_story(
        item.author_id, MediaSpec(content_type, len(data)), item.audience, seed_key=item.seed_key
    )
    result.created += 1
    response = await http.post(
        created.upload.url, data=dict(created.upload.fields), files={"file": ("photo", data, content_type)}
    )
    if response.status_code not in (200, 201, 204):
        raise SeedUploadFailed(f"S3 answered {response.status_code} to a seed upload: {response.text[:300]}")
    await stories.complete_upload(item.author_id, created.story.id)
    outcome = await media.process_story(created.story.id)
    result.published += outcome == "published"
    result.failed += outcome == "failed"
    return created.story.id if outcome == "published" else None


async def _seed_views(
    plan: list[SeedStory], story_ids: dict[str, str | None], authors: list[tuple[str, str]], viewer_id: str,
    views: StoryViewService, graph: GraphStore,
) -> int:  # fmt: skip
    rows = await graph.read(AUTHOR_FOLLOWERS, {"author_ids": [a for a, _ in authors]})
    followers = {r["author_id"]: sorted(f["id"] for f in r["followers"] if f["id"] != viewer_id) for r in rows}
    seen_by_viewer = {a for i, (a, _) in enumerate(authors) if i % 3 == 1}
    recorded = 0
    for item in plan:
        story_id = story_ids.get(item.seed_key)
        if story_id is None or item.audience != "FOLLOWERS":
            continue
        watchers = followers.get(item.author_id, [])[:VIEWERS]
        if item.author_id in seen_by_viewer:
            watchers.append(viewer_id)
        for watcher in watchers:
            await views.view_story(watcher, story_id)
            recorded += 1
    return recorded
