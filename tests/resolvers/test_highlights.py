"""Highlights over GraphQL on the real stack: ``createHighlight``, ``deleteHighlight``, ``User.highlights``,
``node(id:)``, a highlighted story readable past its expiry by whoever may see the highlight, bad input."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.factories import graphql, make_user
from tests.support.posts import approve, block, follow
from tests.support.stories import (
    ADD_CLOSE_FRIEND,
    CREATE_HIGHLIGHT,
    DELETE_STORY,
    HOUR_MS,
    STORY,
    create_story,
    outbox_events,
    publish_story,
    raw,
    story_clock,
    story_state,
)
from workers.stories_expiry import make_expiry_handler

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from services.core.clock import Clock
    from tests.support.factories import TestUser

__all__ = ["story_clock"]  # a fixture

HIGHLIGHTS = """
query($u: String!) {
  user(username: $u) {
    highlights { id title createdAt cover { url(size: THUMBNAIL) } stories { id status media { url } } }
  }
}
"""
DELETE = "mutation($id: ID!) { deleteHighlight(input: {highlightId: $id}) { id title stories { id } } }"
NODE = "query($id: ID!) { node(id: $id) { __typename ... on Highlight { title } } }"


def name() -> str:
    return f"hl_{secrets.token_hex(4)}"


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body.get("errors") or []) == 1, body
    return body["errors"][0]  # type: ignore[no-any-return]


async def highlight(api: httpx.AsyncClient, owner: TestUser, title: str, ids: list[str]) -> dict[str, Any]:
    body = await graphql(api, CREATE_HIGHLIGHT, {"title": title, "ids": ids}, token=owner.token)
    assert "errors" not in body, body
    return body["data"]["createHighlight"]  # type: ignore[no-any-return]


async def test_a_highlighted_story_stays_readable_past_its_expiry(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, story_clock: Clock
) -> None:
    # given: a private author with two stories, one highlighted; a follower and a stranger
    owner = await make_user(api, name(), private=True)
    follower, stranger = await make_user(api, name()), await make_user(api, name())
    await follow(api, follower, owner)
    await approve(api, owner, follower)
    kept, dropped = await publish_story(api, app, owner), await publish_story(api, app, owner)
    made = await highlight(api, owner, "  Trip  ", [kept.gid])
    assert (made["title"], made["stories"]) == ("Trip", [{"id": kept.gid, "status": "ACTIVE"}])

    # when: both expire and the expiry worker's use case runs for them
    story_clock.advance(24 * HOUR_MS + 1_000)
    await app.state.services.story_expiry.expire([kept.id, dropped.id])

    # then: the highlighted one keeps its media and stays readable to whoever may see the highlight
    assert (await story_state(graph_store, kept.id))["media_state"] == "KEPT"
    assert (await story_state(graph_store, dropped.id))["media_state"] == "PURGED"
    for viewer in (owner, follower):
        shown = (await graphql(api, STORY, {"id": kept.gid}, token=viewer.token))["data"]["story"]
        assert shown["status"] == "EXPIRED" and shown["media"]["feed"] is not None
        async with httpx.AsyncClient(timeout=10) as client:
            assert (await client.get(shown["media"]["feed"])).status_code == 200
        listed = (await graphql(api, HIGHLIGHTS, {"u": owner.username}, token=viewer.token))["data"]["user"]
        assert [s["id"] for s in listed["highlights"][0]["stories"]] == [kept.gid]
        assert listed["highlights"][0]["cover"]["url"] is not None
    assert (await graphql(api, STORY, {"id": dropped.gid}, token=follower.token))["data"]["story"] is None
    assert (await graphql(api, STORY, {"id": kept.gid}, token=stranger.token))["data"]["story"] is None
    hidden = await graphql(api, HIGHLIGHTS, {"u": owner.username}, token=stranger.token)
    assert hidden["data"]["user"]["highlights"] == []  # a private account's highlights: followers only

    # when: the highlight is deleted, the kept story's media go to deletion (story.highlight_deleted)
    gone = await graphql(api, DELETE, {"id": made["id"]}, token=owner.token)
    assert gone["data"]["deleteHighlight"]["title"] == "Trip"
    (event,) = await outbox_events(graph_store, raw(made["id"]), "story.highlight_deleted")
    assert (await story_state(graph_store, kept.id))["media_state"] == "PURGING"
    await make_expiry_handler(app.state.services.story_expiry)(event)
    assert (await story_state(graph_store, kept.id))["media_state"] == "PURGED"
    assert (await graphql(api, STORY, {"id": kept.gid}, token=follower.token))["data"]["story"] is None
    remaining = await graphql(api, HIGHLIGHTS, {"u": owner.username}, token=owner.token)
    assert remaining["data"]["user"]["highlights"] == []
    again = await graphql(api, DELETE, {"id": made["id"]}, token=owner.token)
    assert error_of(again)["extensions"]["code"] == "NOT_FOUND"


async def test_close_friends_stories_in_a_highlight_keep_their_audience(
    app: Starlette, api: httpx.AsyncClient
) -> None:
    owner, friend, follower = [await make_user(api, name()) for _ in range(3)]
    await graphql(api, ADD_CLOSE_FRIEND, {"id": friend.gid}, token=owner.token)
    public = await publish_story(api, app, owner)
    inner = await publish_story(api, app, owner, audience="CLOSE_FRIENDS")
    await highlight(api, owner, "Mixed", [inner.gid, public.gid])

    for viewer, expected in ((friend, [inner.gid, public.gid]), (follower, [public.gid]), (None, [public.gid])):
        body = await graphql(api, HIGHLIGHTS, {"u": owner.username}, token=viewer.token if viewer else None)
        assert [s["id"] for s in body["data"]["user"]["highlights"][0]["stories"]] == expected


async def test_highlights_are_hidden_across_blocks_and_node_resolves_them(
    app: Starlette, api: httpx.AsyncClient
) -> None:
    owner, blocked = await make_user(api, name()), await make_user(api, name())
    story = await publish_story(api, app, owner)
    made = await highlight(api, owner, "Mine", [story.gid])
    await block(api, owner, blocked)

    anonymous = await graphql(api, NODE, {"id": made["id"]})
    assert anonymous["data"]["node"] == {"__typename": "Highlight", "title": "Mine"}
    assert (await graphql(api, NODE, {"id": made["id"]}, token=blocked.token))["data"]["node"] is None
    other = await graphql(api, DELETE, {"id": made["id"]}, token=(await make_user(api, name())).token)
    assert error_of(other)["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("title", "ids_of", "field"),
    [
        ("", lambda s: [s["own"]], "title"),
        ("x" * 31, lambda s: [s["own"]], "title"),
        ("tab\there", lambda s: [s["own"]], "title"),
        ("ok", lambda s: [], "storyIds"),
        ("ok", lambda s: [s["own"]] * 2, "storyIds"),
        ("ok", lambda s: [s["own"], s["other"]], "storyIds[1]"),
        ("ok", lambda s: [s["pending"]], "storyIds[0]"),
        ("ok", lambda s: [s["own"], "not-an-id"], "storyIds[1]"),
        ("ok", lambda s: [s["own"], "UG9zdDowMTkwMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA"], "storyIds[1]"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    app: Starlette, api: httpx.AsyncClient, title: str, ids_of: Any, field: str
) -> None:
    owner, other = await make_user(api, name()), await make_user(api, name())
    own = await publish_story(api, app, owner)
    foreign = await publish_story(api, app, other)
    pending = await create_story(api, owner, b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")
    ids = ids_of({"own": own.gid, "other": foreign.gid, "pending": pending["story"]["id"]})

    body = await graphql(api, CREATE_HIGHLIGHT, {"title": title, "ids": ids}, token=owner.token)

    assert error_of(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    after = await graphql(api, HIGHLIGHTS, {"u": owner.username}, token=owner.token)
    assert after["data"]["user"]["highlights"] == []


async def test_a_highlight_whose_stories_were_all_deleted_is_no_longer_listed(
    app: Starlette, api: httpx.AsyncClient
) -> None:
    owner = await make_user(api, name())
    story = await publish_story(api, app, owner)
    made = await highlight(api, owner, "Gone", [story.gid])

    deleted = await graphql(api, DELETE_STORY, {"id": story.gid}, token=owner.token)

    assert deleted["data"]["deleteStory"]["status"] == "DELETED"
    listed = await graphql(api, HIGHLIGHTS, {"u": owner.username}, token=owner.token)
    assert listed["data"]["user"]["highlights"] == []
    assert (await graphql(api, NODE, {"id": made["id"]}, token=owner.token))["data"]["node"]["title"] == "Gone"
    removed = await graphql(api, DELETE, {"id": made["id"]}, token=owner.token)
    assert removed["data"]["deleteHighlight"]["stories"] == []
