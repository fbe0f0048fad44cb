"""Likers and comments pages from the per-post Redis indexes (``likers:{post}``, ``comments:{post}``),
verified in the graph: built once, then O(page); a like or comment shows at once (the write adds it), an
unlike, a deleted comment or a block is gone at once (the graph's check), and an anonymous viewer sees all.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from schema.base import to_global_id
from tests.support.factories import graphql, make_user
from tests.support.fanout import publish_post
from tests.support.posts import block

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from tests.support.factories import TestUser

LIKERS = """
query($id: ID!, $after: String) { post(id: $id) { likers(first: 2, after: $after) {
  totalCount edges { node { username } } pageInfo { hasNextPage endCursor } } } }
"""
COMMENTS = """
query($id: ID!, $after: String) { post(id: $id) { comments(first: 2, after: $after) {
  totalCount edges { node { text author { username } } } pageInfo { hasNextPage endCursor } } } }
"""
LIKE = "mutation($p: ID!) { likePost(input: {postId: $p}) { likeCount } }"
UNLIKE = "mutation($p: ID!) { unlikePost(input: {postId: $p}) { likeCount } }"
COMMENT = "mutation($p: ID!, $t: String!) { addComment(input: {postId: $p, text: $t}) { id } }"
DELETE_COMMENT = "mutation($c: ID!) { deleteComment(input: {commentId: $c}) { id } }"


async def _pages(api: httpx.AsyncClient, query: str, field: str, post_gid: str, viewer: TestUser | None) -> list[Any]:
    found: list[Any] = []
    after = None
    while True:
        body = await graphql(api, query, {"id": post_gid, "after": after}, token=viewer.token if viewer else None)
        assert body.get("errors") is None, body
        conn = body["data"]["post"][field]
        found += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return found
        after = conn["pageInfo"]["endCursor"]


async def _ok(api: httpx.AsyncClient, query: str, variables: dict[str, Any], user: TestUser) -> dict[str, Any]:
    body = await graphql(api, query, variables, token=user.token)
    assert body.get("errors") is None, body
    return body["data"]


async def test_likers_come_from_the_index_and_follow_every_change_at_once(
    app: Starlette, api: httpx.AsyncClient
) -> None:
    tag = secrets.token_hex(2)
    author = await make_user(api, f"ei_author_{tag}")
    fans = [await make_user(api, f"ei_fan{i}_{tag}") for i in range(5)]
    post = to_global_id("Post", await publish_post(app, author))
    for fan in fans[:4]:
        await _ok(api, LIKE, {"p": post}, fan)
    pages = app.state.services.engagement.index
    rebuilds = pages.rebuilds
    names = [n["username"] for n in await _pages(api, LIKERS, "likers", post, author)]
    assert names == [f.username for f in reversed(fans[:4])]  # from the graph: the index is asked for
    assert await pages.rebuild_wanted() >= 1  # the edge-indexes job
    assert pages.rebuilds == rebuilds + 1
    names = [n["username"] for n in await _pages(api, LIKERS, "likers", post, author)]
    assert names == [f.username for f in reversed(fans[:4])]  # from the index
    await _ok(api, LIKE, {"p": post}, fans[4])  # shows at once: the write adds it
    await _ok(api, UNLIKE, {"p": post}, fans[1])  # gone at once: the graph's check
    names = [n["username"] for n in await _pages(api, LIKERS, "likers", post, author)]
    assert names == [fans[4].username, fans[3].username, fans[2].username, fans[0].username]
    assert pages.rebuilds == rebuilds + 1

    viewer = await make_user(api, f"ei_viewer_{tag}")
    await block(api, fans[3], viewer)  # a liker who blocks the viewer is not listed to them
    seen = [n["username"] for n in await _pages(api, LIKERS, "likers", post, viewer)]
    assert seen == [fans[4].username, fans[2].username, fans[0].username]
    anonymous = [n["username"] for n in await _pages(api, LIKERS, "likers", post, None)]
    assert anonymous == [fans[4].username, fans[3].username, fans[2].username, fans[0].username]


async def test_comments_come_from_the_index_oldest_first_and_follow_every_change_at_once(
    app: Starlette, api: httpx.AsyncClient
) -> None:
    tag = secrets.token_hex(2)
    author, fan = await make_user(api, f"ec_author_{tag}"), await make_user(api, f"ec_fan_{tag}")
    post = to_global_id("Post", await publish_post(app, author))
    ids = [(await _ok(api, COMMENT, {"p": post, "t": f"c{i}"}, fan))["addComment"]["id"] for i in range(3)]
    assert [n["text"] for n in await _pages(api, COMMENTS, "comments", post, None)] == ["c0", "c1", "c2"]
    pages = app.state.services.engagement.index
    rebuilds = pages.rebuilds
    assert await pages.rebuild_wanted() >= 1
    assert pages.rebuilds > rebuilds
    assert [n["text"] for n in await _pages(api, COMMENTS, "comments", post, None)] == ["c0", "c1", "c2"]

    await _ok(api, COMMENT, {"p": post, "t": "c3"}, author)  # read-your-writes
    await _ok(api, DELETE_COMMENT, {"c": ids[1]}, fan)
    nodes = await _pages(api, COMMENTS, "comments", post, fan)
    assert [(n["text"], n["author"]["username"]) for n in nodes] == [
        ("c0", fan.username), ("c2", fan.username), ("c3", author.username)
    ]
    body = await graphql(api, COMMENTS, {"id": post, "after": None})
    assert body["data"]["post"]["comments"]["totalCount"] == 3
