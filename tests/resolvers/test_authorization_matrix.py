"""The authorization matrix: every read of user-owned data, for every relation a viewer can have to the
owner. The owner ``am_owner`` is private and has one post; it follows, likes, comments on and is mentioned in
a public post of ``am_author``, and is followed by ``am_bridge`` (whom the viewers follow: the owner is a
friend of a friend for suggestions).

Roles: ``anonymous``; ``self`` (the owner); ``follower`` (approved); ``stranger``; ``blocked`` (the owner
blocks them; they had followed and read their feed before); ``blocker`` (they block the owner, after the
same); ``pending`` (a follow request the owner has not approved). The rule (``graph.statements.visibility``):
a user who blocks the viewer is NOT_FOUND to them and absent from every list; the owner's content (posts,
likes, comments) is hidden across a block either way and, being private, from everyone but self and
followers; a user the viewer blocks stays findable (to be unblocked) in profiles and user lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.factories import graphql, make_user
from tests.support.posts import approve, block, follow, publish_post
from tests.support.social import ok

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import httpx
    from starlette.applications import Starlette

    from tests.support.factories import TestUser

ROLES = ("anonymous", "self", "follower", "stranger", "blocked", "blocker", "pending")
Y, N, NOT_FOUND, UNAUTHENTICATED = True, False, "NOT_FOUND", "UNAUTHENTICATED"


@dataclass(frozen=True, slots=True)
class World:
    owner: TestUser
    author: TestUser
    viewers: dict[str, TestUser | None]
    owner_post: str  # global id
    author_post: str
    owner_comment: str


FEED = "{ feed(first: 50) { edges { node { id } } } }"
COMMENT = 'mutation($p: ID!) { addComment(input: {postId: $p, text: "from the owner"}) { id } }'
LIKE = "mutation($p: ID!) { likePost(input: {postId: $p}) { id } }"


@pytest.fixture(scope="module")
async def world(api: httpx.AsyncClient, app: Starlette) -> World:
    owner = await make_user(api, "am_owner", private=True)
    author, bridge = await make_user(api, "am_author"), await make_user(api, "am_bridge")
    names = ("follower", "stranger", "blocked", "blocker", "pending")
    viewers = {name: await make_user(api, f"am_{name}") for name in names}
    owner_post = await publish_post(api, app, owner, caption="the owner's private post")
    author_post = await publish_post(api, app, author, caption="hello @am_owner")
    await follow(api, owner, author)
    for user in (bridge, viewers["follower"], viewers["blocked"], viewers["blocker"]):
        assert await follow(api, user, owner) == "REQUESTED"
        await approve(api, owner, user)
    assert await follow(api, viewers["pending"], owner) == "REQUESTED"
    for user in viewers.values():
        assert await follow(api, user, bridge) == "FOLLOWING"
    for name in ("blocked", "blocker"):  # their feeds held the owner's post before the block
        feed = await graphql(api, FEED, token=viewers[name].token)
        assert owner_post.gid in [e["node"]["id"] for e in feed["data"]["feed"]["edges"]]
    assert "errors" not in await graphql(api, LIKE, {"p": author_post.gid}, token=owner.token)
    said = await graphql(api, COMMENT, {"p": author_post.gid}, token=owner.token)
    assert "errors" not in said, said
    await block(api, owner, viewers["blocked"])
    await block(api, viewers["blocker"], owner)
    return World(
        owner=owner, author=author, viewers={"anonymous": None, "self": owner, **viewers},
        owner_post=owner_post.gid, author_post=author_post.gid, owner_comment=said["data"]["addComment"]["id"],
    )  # fmt: skip


def _error(body: dict[str, Any]) -> str | None:
    errors = body.get("errors")
    return errors[0]["extensions"]["code"] if errors else None


def _names(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["username"] for e in connection["edges"]]


async def _run(api: httpx.AsyncClient, world: World, role: str, query: str, variables: dict[str, Any] | None = None):
    viewer = world.viewers[role]
    body = await graphql(api, query, variables, token=viewer.token if viewer else None)
    return _error(body), body.get("data")


# Each read answers True when the viewer sees the owner or the owner's data, False when it is absent or
# null, or the error code when it fails.
async def read_user(api: httpx.AsyncClient, w: World, role: str) -> Any:
    error, data = await _run(api, w, role, '{ user(username: "am_owner") { username } }')
    return error or data["user"] == {"username": "am_owner"}


async def read_node_user(api: httpx.AsyncClient, w: World, role: str) -> Any:
    query = "query($id: ID!) { node(id: $id) { ... on User { username } } }"
    error, data = await _run(api, w, role, query, {"id": w.owner.gid})
    return error or data["node"] == {"username": "am_owner"}


async def read_post(api: httpx.AsyncClient, w: World, role: str) -> Any:
    error, data = await _run(api, w, role, "query($id: ID!) { post(id: $id) { id } }", {"id": w.owner_post})
    return error or data["post"] is not None


async def read_node_post(api: httpx.AsyncClient, w: World, role: str) -> Any:
    error, data = await _run(api, w, role, "query($id: ID!) { node(id: $id) { id } }", {"id": w.owner_post})
    return error or data["node"] is not None


async def read_node_comment(api: httpx.AsyncClient, w: World, role: str) -> Any:
    error, data = await _run(api, w, role, "query($id: ID!) { node(id: $id) { id } }", {"id": w.owner_comment})
    return error or data["node"] is not None


async def read_followers(api: httpx.AsyncClient, w: World, role: str) -> Any:
    query = '{ user(username: "am_owner") { followers(first: 50) { totalCount edges { node { username } } } } }'
    error, data = await _run(api, w, role, query)
    if error:
        return error
    seen = _names(data["user"]["followers"])
    assert data["user"]["followers"]["totalCount"] == len(seen)
    return seen == ["am_follower", "am_bridge"]


async def read_following(api: httpx.AsyncClient, w: World, role: str) -> Any:
    query = '{ user(username: "am_owner") { following(first: 50) { edges { node { username } } } } }'
    error, data = await _run(api, w, role, query)
    return error or _names(data["user"]["following"]) == ["am_author"]


async def read_posts(api: httpx.AsyncClient, w: World, role: str) -> Any:
    query = '{ user(username: "am_owner") { posts(first: 50) { edges { node { id } } } } }'
    error, data = await _run(api, w, role, query)
    return error or [e["node"]["id"] for e in data["user"]["posts"]["edges"]] == [w.owner_post]


async def read_feed(api: httpx.AsyncClient, w: World, role: str) -> Any:
    error, data = await _run(api, w, role, FEED)
    return error or w.owner_post in [e["node"]["id"] for e in data["feed"]["edges"]]


async def _author_post(api: httpx.AsyncClient, w: World, role: str, selection: str) -> tuple[str | None, Any]:
    query = f"query($id: ID!) {{ post(id: $id) {{ {selection} }} }}"
    error, data = await _run(api, w, role, query, {"id": w.author_post})
    assert error or data["post"] is not None  # the author's post is public
    return error, data and data["post"]


async def read_likers(api: httpx.AsyncClient, w: World, role: str) -> Any:
    error, post = await _author_post(api, w, role, "likers(first: 50) { edges { node { username } } }")
    return error or "am_owner" in _names(post["likers"])


async def read_comments(api: httpx.AsyncClient, w: World, role: str) -> Any:
    error, post = await _author_post(api, w, role, "comments(first: 50) { edges { node { author { username } } } }")
    return error or "am_owner" in [e["node"]["author"]["username"] for e in post["comments"]["edges"]]


async def read_mentions(api: httpx.AsyncClient, w: World, role: str) -> Any:
    error, post = await _author_post(api, w, role, "mentions { username }")
    return error or post["mentions"] == [{"username": "am_owner"}]


async def read_mutual_followers(api: httpx.AsyncClient, w: World, role: str) -> Any:
    query = '{ user(username: "am_author") { mutualFollowers(first: 10) { edges { node { username } } } } }'
    error, data = await _run(api, w, role, query)
    return error or "am_owner" in _names(data["user"]["mutualFollowers"])


async def read_third_party_followers(api: httpx.AsyncClient, w: World, role: str) -> Any:
    query = '{ user(username: "am_author") { followers(first: 50) { edges { node { username } } } } }'
    error, data = await _run(api, w, role, query)
    return error or "am_owner" in _names(data["user"]["followers"])


async def read_suggestions(api: httpx.AsyncClient, w: World, role: str) -> Any:
    error, data = await _run(api, w, role, "{ suggestedUsers(first: 50) { user { username } } }")
    return error or "am_owner" in [s["user"]["username"] for s in data["suggestedUsers"]]


#: read -> expected outcome per role, in ROLES order.
MATRIX: dict[str, tuple[Callable[[httpx.AsyncClient, World, str], Awaitable[Any]], tuple[Any, ...]]] = {
    #                        anonymous        self follower stranger blocked    blocker pending
    "user": (read_user, (Y, Y, Y, Y, NOT_FOUND, Y, Y)),
    "node(User)": (read_node_user, (Y, Y, Y, Y, NOT_FOUND, Y, Y)),
    "post": (read_post, (N, Y, Y, N, N, N, N)),
    "node(Post)": (read_node_post, (N, Y, Y, N, N, N, N)),
    "node(Comment)": (read_node_comment, (Y, Y, Y, Y, N, N, Y)),
    "followers": (read_followers, (N, Y, Y, N, NOT_FOUND, N, N)),
    "following": (read_following, (N, Y, Y, N, NOT_FOUND, N, N)),
    "posts": (read_posts, (N, Y, Y, N, NOT_FOUND, N, N)),
    "feed": (read_feed, (UNAUTHENTICATED, Y, Y, N, N, N, N)),
    "likers": (read_likers, (Y, Y, Y, Y, N, N, Y)),
    "comments": (read_comments, (Y, Y, Y, Y, N, N, Y)),
    "mentions": (read_mentions, (Y, Y, Y, Y, N, Y, Y)),
    "mutualFollowers": (read_mutual_followers, (N, N, Y, N, N, N, N)),
    "followers of another user": (read_third_party_followers, (Y, Y, Y, Y, N, Y, Y)),
    "suggestedUsers": (read_suggestions, (UNAUTHENTICATED, N, N, Y, N, N, N)),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("read", list(MATRIX))
async def test_authorization_matrix(api: httpx.AsyncClient, world: World, read: str, role: str) -> None:
    fetch, expected = MATRIX[read]

    outcome = await fetch(api, world, role)

    assert outcome == expected[ROLES.index(role)], f"{read} as {role}"


async def test_the_blocked_viewer_gets_exactly_what_a_missing_user_gets(api: httpx.AsyncClient, world: World) -> None:
    query = "query($u: String!) { user(username: $u) { username followers { totalCount } } }"
    blocked = world.viewers["blocked"]
    assert blocked is not None
    hidden = await graphql(api, query, {"u": "am_owner"}, token=blocked.token)
    missing = await graphql(api, query, {"u": "am_nobody"}, token=blocked.token)
    assert hidden == missing == {
        "data": {"user": None},
        "errors": [{"message": "User not found.", "locations": [{"line": 1, "column": 22}], "path": ["user"],
                    "extensions": {"code": "NOT_FOUND"}}],
    }  # fmt: skip
    assert await ok(api, "unblock", world.owner, blocked) is not None  # the owner can still find and unblock them
    await block(api, world.owner, blocked)
