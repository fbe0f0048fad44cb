"""Who sees a post: its author, approved followers of a private author, strangers, anonymous viewers,
and users on either side of a block — as a single post (``post(id:)``) and in the author's grid."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.factories import graphql, make_user
from tests.support.uploads import (
    DELETE,
    POST,
    USER_POSTS,
    create_uploaded_post,
    error_of,
    image,
    name,
    publish,
)

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from tests.support.factories import TestUser


@pytest.fixture(scope="module")
async def stranger(api: httpx.AsyncClient) -> TestUser:
    return await make_user(api, name())


FOLLOW = "mutation($id: ID!) { follow(input: {userId: $id}) { status } }"
APPROVE = "mutation($id: ID!) { approveFollowRequest(input: {userId: $id}) { status } }"
BLOCK = "mutation($id: ID!) { block(input: {userId: $id}) { id } }"


async def sees(
    api: httpx.AsyncClient, post_gid: str, owner: TestUser, viewer: TestUser | None
) -> tuple[bool, bool]:
    """(post(id) is non-null, the post is in owner's grid) for ``viewer`` (None: anonymous)."""
    token = viewer.token if viewer else None
    single = (await graphql(api, POST, {"id": post_gid}, token=token))["data"]["post"]
    grid = (await graphql(api, USER_POSTS, {"username": owner.username}, token=token))["data"]["user"]
    ids = [] if grid is None else [e["node"]["id"] for e in grid["posts"]["edges"]]
    return single is not None, post_gid in ids


async def test_private_authors_posts_are_seen_by_approved_followers_only(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, stranger: TestUser
) -> None:
    # given: a private author's published post, a follower (request approved) and a pending requester
    owner = await make_user(api, name(), private=True)
    follower, requester = await make_user(api, name()), await make_user(api, name())
    post = await create_uploaded_post(api, owner, [(image("rocket.jpg"), "image/jpeg")])
    await publish(app, graph_store, post["id"])
    assert (await graphql(api, FOLLOW, {"id": owner.gid}, token=follower.token))["data"]["follow"] == {
        "status": "REQUESTED"
    }
    assert (await graphql(api, APPROVE, {"id": follower.gid}, token=owner.token))["data"][
        "approveFollowRequest"
    ]["status"] == "FOLLOWING"
    await graphql(api, FOLLOW, {"id": owner.gid}, token=requester.token)

    # then: the matrix of who sees it, as a single post and in the grid
    assert await sees(api, post["id"], owner, owner) == (True, True)
    assert await sees(api, post["id"], owner, follower) == (True, True)
    assert await sees(api, post["id"], owner, requester) == (False, False)
    assert await sees(api, post["id"], owner, stranger) == (False, False)
    assert await sees(api, post["id"], owner, None) == (False, False)


async def test_blocks_hide_posts_both_ways(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    owner, blocked, blocker, bystander = [await make_user(api, name()) for _ in range(4)]
    post = await create_uploaded_post(api, owner, [(image("chelsea.png"), "image/png")])
    await publish(app, graph_store, post["id"])
    assert "errors" not in await graphql(api, BLOCK, {"id": blocked.gid}, token=owner.token)
    assert "errors" not in await graphql(api, BLOCK, {"id": owner.gid}, token=blocker.token)

    assert await sees(api, post["id"], owner, bystander) == (True, True)
    assert (await sees(api, post["id"], owner, blocked))[0] is False
    assert await sees(api, post["id"], owner, blocker) == (False, False)


async def test_hidden_post_is_not_found_not_forbidden(
    app: Starlette, api: httpx.AsyncClient, graph_store: GraphStore, stranger: TestUser
) -> None:
    owner = await make_user(api, name(), private=True)
    post = await create_uploaded_post(api, owner, [(image("rocket.jpg"), "image/jpeg")])
    await publish(app, graph_store, post["id"])
    # the post exists: deleting someone's hidden post is NOT_FOUND, not FORBIDDEN (no existence leak)
    assert (
        error_of(await graphql(api, DELETE, {"id": post["id"]}, token=stranger.token))["extensions"]["code"]
        == "NOT_FOUND"
    )
