"""``seed_stories`` on the real stack: live stories of ``fb_107`` and the users it follows, through the real
upload flow, some viewed; ``fb_107``'s ring is full; a second run keeps them; expired ones are seeded again."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from seed.stories import SEED_VIEWER, SeedStoriesResult, plan_stories, seed_stories
from tests.support.factories import graphql, make_user
from tests.support.paths import IMAGES
from tests.support.posts import follow
from tests.support.stories import HOUR_MS, story_clock

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from services.core.clock import Clock

__all__ = ["story_clock"]  # a fixture

RING = """
{ storiesRing(first: 100) { edges { node {
    user { username } hasUnseen stories { audience viewerHasSeen viewCount media { url } } } } } }
"""


def test_the_plan_gives_every_third_author_two_stories_and_every_fifth_a_close_friends_one() -> None:
    authors = [(f"id{i}", f"fb_{i}") for i in range(10)]

    plan = plan_stories(authors, ["a.jpg", "b.png"])

    assert [s.seed_key for s in plan[:4]] == ["story:fb_0:0", "story:fb_1:0", "story:fb_2:0", "story:fb_2:1"]
    assert len(plan) == 13 and [s.image for s in plan[:3]] == ["a.jpg", "b.png", "a.jpg"]
    assert [s.username for s in plan if s.audience == "CLOSE_FRIENDS"] == ["fb_4", "fb_9"]


async def test_seed_fills_the_ring_of_fb_107_and_is_idempotent_per_story_lifetime(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, story_clock: Clock
) -> None:
    # given: fb_107 following six users; two more users follow all seven (as the SNAP import makes them)
    viewer = await make_user(api, SEED_VIEWER)
    followees = [await make_user(api, f"fb_{n}") for n in (1, 2, 3, 4, 5, 6)]
    fans = [await make_user(api, f"fb_{n}") for n in (90, 91)]
    for user in followees:
        await follow(api, viewer, user)
    for fan in fans:
        for user in (viewer, *followees):
            await follow(api, fan, user)
    services = app.state.services

    async def run() -> SeedStoriesResult:
        return await seed_stories(
            services.stories, services.story_media, services.story_views, services.close_friends, graph_store,
            images_dir=IMAGES,
        )  # fmt: skip

    # when
    first = await run()
    second = await run()

    # then: 7 authors (fb_107 first), 9 stories, all published through the real flow; kept on a second run
    assert (first.planned, first.created, first.published, first.failed) == (9, 9, 9, 0)
    assert (second.created, second.kept) == (0, 9)
    assert first.views > 0 and second.views == first.views
    body = await graphql(api, RING, token=viewer.token)
    items = [e["node"] for e in body["data"]["storiesRing"]["edges"]]
    assert len(items) == 7 and items[0]["user"]["username"] == SEED_VIEWER
    assert sum(len(i["stories"]) for i in items) == 9
    assert {i["hasUnseen"] for i in items[1:]} == {True, False}  # fb_107 saw some of them
    assert any(s["audience"] == "CLOSE_FRIENDS" for i in items for s in i["stories"])  # fb_107 is on the list
    assert all(s["media"]["url"] for i in items for s in i["stories"])
    assert items[0]["stories"][0]["viewCount"] == 2  # its own story, viewed by its two first followers

    # when: a day later they have expired; the seed makes new ones
    story_clock.advance(24 * HOUR_MS + 1_000)
    assert (await graphql(api, RING, token=viewer.token))["data"]["storiesRing"]["edges"] == []
    await asyncio.sleep(0)
    third = await run()
    assert (third.created, third.kept) == (9, 0)
    assert len((await graphql(api, RING, token=viewer.token))["data"]["storiesRing"]["edges"]) == 7
