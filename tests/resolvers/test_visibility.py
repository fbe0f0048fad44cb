"""Who sees a private account's followers, following and posts: the authorization matrix
(anonymous, self, approved follower, stranger, pending requester, blocked) over the three reads, plus the
public-account case and the reusable ``VisibilityService`` the posts and feed code call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.factories import graphql, make_user
from tests.support.posts import publish_post
from tests.support.social import error_of, ok

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from tests.support.factories import TestUser

READS = {
    "followers": "followers { totalCount edges { node { username } } }",
    "following": "following { totalCount edges { node { username } } }",
    "posts": "posts { edges { node { id } } }",
}
VISIBLE = {"followers": ["v_fol"], "following": ["v_pal"], "posts": 1}
HIDDEN = {"followers": [], "following": [], "posts": 0}


@dataclass(frozen=True, slots=True)
class World:
    owner: TestUser
    roles: dict[str, TestUser | None]
    post_gid: str


@pytest.fixture(scope="module")
async def world(api: httpx.AsyncClient, app: Starlette) -> World:
    """``v_owner`` (private) followed by ``v_fol`` (approved), following ``v_pal``, with one post; ``v_req``
    has a pending request, ``v_blk`` is blocked by the owner, ``v_str`` has no relation."""
    owner = await make_user(api, "v_owner")
    fol, pal, stranger = (
        await make_user(api, "v_fol"),
        await make_user(api, "v_pal"),
        await make_user(api, "v_str"),
    )
    requester, blocked = await make_user(api, "v_req"), await make_user(api, "v_blk")
    await ok(api, "follow", owner, pal)
    post = await publish_post(api, app, owner)
    made_private = await graphql(
        api, "mutation { updateProfile(input: {isPrivate: true}) { isPrivate } }", token=owner.token
    )
    assert made_private["data"]["updateProfile"]["isPrivate"] is True
    assert (await ok(api, "follow", fol, owner))["status"] == "REQUESTED"
    assert (await ok(api, "approveFollowRequest", owner, fol))["status"] == "FOLLOWING"
    assert (await ok(api, "follow", requester, owner))["status"] == "REQUESTED"
    await ok(api, "follow", blocked, owner)
    await ok(api, "approveFollowRequest", owner, blocked)
    await ok(api, "block", owner, blocked)  # also removes the blocked user's follow
    roles = {"anonymous": None, "self": owner, "follower": fol, "stranger": stranger, "requester": requester}
    return World(owner=owner, roles={**roles, "blocked": blocked}, post_gid=post.gid)


async def _read(api: httpx.AsyncClient, world: World, role: str, field: str) -> dict[str, Any]:
    viewer = world.roles[role]
    query = f'{{ user(username: "v_owner") {{ username {READS[field]} }} }}'
    return await graphql(api, query, token=viewer.token if viewer else None)


def _seen(field: str, user: dict[str, Any]) -> Any:
    if field == "posts":
        return len(user["posts"]["edges"])
    connection = user[field]
    names = [e["node"]["username"] for e in connection["edges"]]
    assert connection["totalCount"] == len(names)
    return names


@pytest.mark.parametrize("field", list(READS))
@pytest.mark.parametrize(
    ("role", "sees"),
    [("anonymous", False), ("self", True), ("follower", True), ("stranger", False), ("requester", False)],
)
async def test_private_account_matrix(
    api: httpx.AsyncClient, world: World, role: str, sees: bool, field: str
) -> None:
    body = await _read(api, world, role, field)

    assert "errors" not in body, body
    assert _seen(field, body["data"]["user"]) == (VISIBLE if sees else HIDDEN)[field]


@pytest.mark.parametrize("field", list(READS))
async def test_private_account_matrix_blocked_viewer_gets_not_found(
    api: httpx.AsyncClient, world: World, field: str
) -> None:
    body = await _read(api, world, "blocked", field)

    assert error_of(body)["extensions"] == {"code": "NOT_FOUND"}
    assert body["data"] == {"user": None}


async def test_visibility_service_answers_the_same_matrix(app: Starlette, world: World) -> None:
    visibility = app.state.services.visibility
    expected = {"anonymous": False, "self": True, "follower": True, "stranger": False, "requester": False}

    seen = {
        role: await visibility.can_view(u.id if u else None, world.owner.id)
        for role, u in world.roles.items()
    }
    access = await visibility.access(world.roles["blocked"].id, [world.owner.id, "no-such-user"])

    assert seen == {**expected, "blocked": False}
    assert access == {world.owner.id: type(access[world.owner.id])(visible=False, blocks_viewer=True)}


async def test_a_public_account_is_visible_to_everyone_but_blocked_pairs(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    star, fan, nosy, hater = [await make_user(api, n) for n in ("p_star", "p_fan", "p_nosy", "p_hater")]
    await ok(api, "follow", fan, star)
    await ok(api, "block", hater, star)  # the viewer blocks the owner: the owner's lists hide from them too
    query = '{ user(username: "p_star") { followers { totalCount edges { node { username } } } } }'

    for viewer in (None, nosy, fan, star):
        body = await graphql(api, query, token=viewer.token if viewer else None)
        assert body["data"]["user"]["followers"] == {
            "totalCount": 1,
            "edges": [{"node": {"username": "p_fan"}}],
        }
    hidden = await graphql(api, query, token=hater.token)
    assert hidden["data"]["user"]["followers"] == {"totalCount": 0, "edges": []}
    assert await app.state.services.visibility.can_view(hater.id, star.id) is False
