"""The warm feed path: post content served from the API process's cache, everything that can change read fresh.

A post's immutable content (caption, media, hashtags, mentions) is cached per process once it was shipped
(``services.post_content``); the filter statement still reads status, counts, the author and the visibility
flags every time. So after a page was warm, a deletion, a block, an unfollow, a profile change, a comment or a
like shows on the very next read, before any fan-out worker cleaned Redis (no handler runs in this module
after the posts are fanned out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from schema.base import from_global_id, to_global_id
from tests.support.factories import graphql, make_user
from tests.support.fanout import follow, open_feeds, publish_and_fan_out
from workers.fanout import make_handler

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from tests.support.factories import TestUser

FEED = """
query($first: Int) {
  feed(first: $first) {
    edges { node { id caption commentCount likeCount viewerHasLiked author { username displayName }
                   media { url(size: FEED) } } }
  }
}
"""
DELETE_POST = "mutation($id: ID!) { deletePost(input: {postId: $id}) { status } }"
UNFOLLOW = "mutation($id: ID!) { unfollow(input: {userId: $id}) { status } }"
BLOCK = "mutation($id: ID!) { block(input: {userId: $id}) { id } }"
PROFILE = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { displayName } }"
COMMENT = "mutation($p: ID!) { addComment(input: {postId: $p, text: \"nice\"}) { id } }"
LIKE = "mutation($p: ID!) { likePost(input: {postId: $p}) { likeCount } }"


def _nodes(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert body.get("errors") is None, body
    return [e["node"] for e in body["data"]["feed"]["edges"]]


def _ids(body: dict[str, Any]) -> list[str]:
    return [from_global_id(n["id"], field="id")[1] for n in _nodes(body)]


async def _world(app: Starlette, api: httpx.AsyncClient, graph: GraphStore, tag: str, posts: int = 2):
    viewer = await make_user(api, f"wm_v_{tag}")
    author = await make_user(api, f"wm_a_{tag}")
    friend = await make_user(api, f"wm_f_{tag}")  # followed without posts: the viewer never has a cold start
    await follow(api, viewer, author)
    await follow(api, viewer, friend)
    await open_feeds(app, viewer, author)
    handler = make_handler(app.state.services)
    ids = [await publish_and_fan_out(app, graph, handler, author) for _ in range(posts)]
    return viewer, author, ids[::-1]


async def _warm(api: httpx.AsyncClient, viewer: TestUser) -> list[str]:
    return _ids(await graphql(api, FEED, {"first": 10}, token=viewer.token))


async def test_a_warm_page_ships_no_post_content_from_the_graph(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    viewer, _, ids = await _world(app, api, graph_store, "ship", posts=3)
    content = app.state.services.feed.content
    first = await graphql(api, FEED, {"first": 10}, token=viewer.token)
    misses, hits = content.misses, content.hits
    second = await graphql(api, FEED, {"first": 10}, token=viewer.token)

    assert _ids(first) == _ids(second) == ids
    assert _nodes(first) == _nodes(second)  # the same page, caption and media included
    assert content.misses == misses  # nothing shipped: every post's content came from the process cache
    assert content.hits == hits + 3


@pytest.mark.parametrize("change", ["delete", "unfollow", "block", "blocked_by"])
async def test_a_cached_post_is_never_served_once_forbidden(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, change: str
) -> None:
    viewer, author, ids = await _world(app, api, graph_store, change)
    assert await _warm(api, viewer) == ids
    assert all(pid in app.state.services.feed.content._entries for pid in ids)  # cached

    if change == "delete":
        body = await graphql(api, DELETE_POST, {"id": to_global_id("Post", ids[0])}, token=author.token)
        expected = ids[1:]
    elif change == "unfollow":
        body = await graphql(api, UNFOLLOW, {"id": author.gid}, token=viewer.token)
        expected = []
    elif change == "block":
        body = await graphql(api, BLOCK, {"id": author.gid}, token=viewer.token)
        expected = []
    else:
        body = await graphql(api, BLOCK, {"id": viewer.gid}, token=author.token)
        expected = []
    assert body.get("errors") is None, body

    assert await _warm(api, viewer) == expected


async def test_counts_and_the_author_are_fresh_on_a_warm_page(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    viewer, author, ids = await _world(app, api, graph_store, "fresh", posts=1)
    (before,) = _nodes(await graphql(api, FEED, {"first": 10}, token=viewer.token))
    assert (before["commentCount"], before["likeCount"], before["viewerHasLiked"]) == (0, 0, False)

    gid = to_global_id("Post", ids[0])
    for query in (COMMENT, LIKE):
        assert (await graphql(api, query, {"p": gid}, token=viewer.token)).get("errors") is None
    renamed = await graphql(api, PROFILE, {"input": {"displayName": "Fresh Name"}}, token=author.token)
    assert renamed.get("errors") is None, renamed

    (after,) = _nodes(await graphql(api, FEED, {"first": 10}, token=viewer.token))
    assert (after["commentCount"], after["likeCount"], after["viewerHasLiked"]) == (1, 1, True)
    assert after["author"] == {"username": author.username, "displayName": "Fresh Name"}
    assert after["caption"] == before["caption"] and after["media"] == before["media"]


PROFILE_FIELDS = "id username displayName bio isPrivate isVerified followerCount followingCount postCount createdAt"


async def test_the_author_on_a_warm_page_is_their_whole_profile_whatever_their_text_holds(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    # The filter statement returns the author's fields packed into one string, and the free text on its own:
    # a display name and a bio holding the separator, quotes, a backslash, a newline and non-ASCII text come
    # back as they were written, and every other field equals the profile's own read.
    viewer, author, ids = await _world(app, api, graph_store, "text", posts=2)
    text = {"displayName": 'Zoë | "Z" \\ 🙂', "bio": "line one|\nline two | ünïcode"}
    assert (await graphql(api, PROFILE, {"input": text}, token=author.token)).get("errors") is None
    query = f"query($first: Int) {{ feed(first: $first) {{ edges {{ node {{ author {{ {PROFILE_FIELDS} }} }} }} }} }}"
    profile = f'{{ user(username: "{author.username}") {{ {PROFILE_FIELDS} }} }}'

    await graphql(api, query, {"first": 10}, token=viewer.token)  # warms the content cache
    body = await graphql(api, query, {"first": 10}, token=viewer.token)
    own = await graphql(api, profile, token=viewer.token)

    assert body.get("errors") is None and own.get("errors") is None, (body, own)
    authors = [edge["node"]["author"] for edge in body["data"]["feed"]["edges"]]
    assert authors == [own["data"]["user"]] * len(ids)
    assert own["data"]["user"]["displayName"] == text["displayName"]
    assert own["data"]["user"]["bio"] == text["bio"]
    assert own["data"]["user"]["postCount"] == 2
