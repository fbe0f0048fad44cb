"""A user's posts (the profile grid) from ``authored:{uid}`` (``cache.edge_index``), verified in the graph:
O(page) once built, a new post listed at once, a deleted one gone at once, pending posts for the author only,
a private author's grid empty for strangers.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from schema.base import from_global_id, to_global_id
from services.posts import MediaSpec
from tests.support.factories import graphql, make_user
from tests.support.fanout import publish_post

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from tests.support.factories import TestUser

GRID = """
query($u: String!, $after: String) { user(username: $u) { posts(first: 2, after: $after) {
  edges { node { id status } } pageInfo { hasNextPage endCursor } } } }
"""
DELETE_POST = "mutation($id: ID!) { deletePost(input: {postId: $id}) { status } }"
PRIVATE = "mutation { updateProfile(input: {isPrivate: true}) { isPrivate } }"


async def _grid(api: httpx.AsyncClient, owner: TestUser, viewer: TestUser | None) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    after = None
    while True:
        body = await graphql(api, GRID, {"u": owner.username, "after": after}, token=viewer.token if viewer else None)
        assert body.get("errors") is None, body
        conn: dict[str, Any] = body["data"]["user"]["posts"]
        found += [(from_global_id(e["node"]["id"], field="id")[1], e["node"]["status"]) for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return found
        after = conn["pageInfo"]["endCursor"]


async def test_the_grid_comes_from_the_index_and_follows_every_change_at_once(
    app: Starlette, api: httpx.AsyncClient
) -> None:
    tag = secrets.token_hex(2)
    author, stranger = await make_user(api, f"ai_author_{tag}"), await make_user(api, f"ai_stranger_{tag}")
    posts = [await publish_post(app, author) for _ in range(3)]
    pages = app.state.services.posts.reader.index
    rebuilds = pages.rebuilds
    expected = [(p, "PUBLISHED") for p in reversed(posts)]
    assert await _grid(api, author, stranger) == expected  # from the graph: the index is asked for
    assert await pages.rebuild_wanted() >= 1  # the edge-indexes job
    assert pages.rebuilds == rebuilds + 1
    assert await _grid(api, author, stranger) == expected  # from the index

    pending = await app.state.services.posts.create_post(author.id, "uploading", [MediaSpec("image/png", 10)])
    assert (await _grid(api, author, author))[0] == (pending.post.id, "PENDING_UPLOAD")  # the author's own
    assert await _grid(api, author, stranger) == expected  # others see PUBLISHED posts only
    body = await graphql(api, DELETE_POST, {"id": to_global_id("Post", posts[1])}, token=author.token)
    assert body.get("errors") is None, body
    assert await _grid(api, author, None) == [expected[0], expected[2]]
    assert pages.rebuilds == rebuilds + 1

    assert (await graphql(api, PRIVATE, token=author.token)).get("errors") is None
    assert await _grid(api, author, stranger) == []
    assert await _grid(api, author, None) == []
    assert [s for _, s in await _grid(api, author, author)] == ["PENDING_UPLOAD", "PUBLISHED", "PUBLISHED"]
