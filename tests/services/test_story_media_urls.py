"""Signed story media URLs (``services.story_reads.StoryReader.media_url``) on the real stack: a URL is
reused while it still ends in time and has enough life left, never outlives the deadline allowed now, and is
re-signed shorter as the story's end comes near."""

from __future__ import annotations

import inspect
import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from tests.support.factories import make_user
from tests.support.stories import HOUR_MS, publish_story, story_clock

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from services.core.clock import Clock

__all__ = ["story_clock"]  # a fixture


def lifetime(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0])


async def test_a_signed_url_is_reused_while_in_time_and_never_outlives_the_story(
    app: Starlette, api: httpx.AsyncClient, story_clock: Clock
) -> None:
    author = await make_user(api, f"mu_{secrets.token_hex(4)}")
    story_id = (await publish_story(api, app, author)).id
    stories = app.state.services.stories

    async def url_now() -> str:
        (record,) = await stories.stories_by_ids([story_id], author.id)
        assert record is not None and record.media is not None
        found = stories.media_url(record.media, "FEED")
        url = await found if inspect.isawaitable(found) else found
        assert isinstance(url, str)
        return url

    first = await url_now()
    story_clock.advance(60_000)
    again = await url_now()
    story_clock.advance(24 * HOUR_MS - 60_000 - 90_000)  # 90 s before the story expires
    near_end = await url_now()
    story_clock.advance(80_000)  # 10 s before
    last = await url_now()

    assert again == first and 3_590 <= lifetime(first) <= 3_600
    assert near_end != first and 85 <= lifetime(near_end) <= 90  # re-signed: the old one ends too late
    assert last == near_end  # still ends before the story and has over half of the time left
