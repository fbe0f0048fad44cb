"""Suggested users and mutual followers: friends of friends ranked by how many people the
viewer follows follow them, with the exclusions and the reason text."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from services.suggestions import follow_reason
from tests.support.factories import graphql, make_user
from tests.support.social import error_of, ok

if TYPE_CHECKING:
    import httpx

    from tests.support.factories import TestUser

SUGGESTED = "query($first: Int) { suggestedUsers(first: $first) { mutualCount reason user { username } } }"
MUTUALS = """
query($u: String!) {
  user(username: $u) {
    mutualFollowers(first: 2) { totalCount pageInfo { hasNextPage } edges { node { username } } }
  }
}
"""


@pytest.fixture(scope="module")
async def viewer(api: httpx.AsyncClient) -> TestUser:
    """``s_v`` follows ``s_a``, ``s_b``, ``s_c``. Friends of friends: ``s_x`` (a, b, c), ``s_y`` (a, c),
    ``s_w`` (c; 2 followers), ``s_z`` (b; 1 follower). Excluded: ``s_d`` (already followed), ``s_p``
    (requested), ``s_q`` (blocks the viewer), ``s_r`` (blocked by the viewer), ``s_v`` itself."""
    names = ("s_v", "s_a", "s_b", "s_c", "s_x", "s_y", "s_w", "s_z", "s_d", "s_q", "s_r", "s_o")
    u = {n: await make_user(api, n) for n in names}
    u["s_p"] = await make_user(api, "s_p", private=True)
    follows = {
        "s_v": ("s_a", "s_b", "s_c", "s_d", "s_p"),
        "s_a": ("s_x", "s_y", "s_d", "s_p", "s_q", "s_r"),
        "s_b": ("s_x", "s_z"),
        "s_c": ("s_x", "s_y", "s_w", "s_v"),
        "s_o": ("s_w",),
    }
    for follower, followees in follows.items():
        for followee in followees:
            await ok(api, "follow", u[follower], u[followee])
    await ok(api, "approveFollowRequest", u["s_p"], u["s_a"])  # s_a follows s_p; s_v's request stays pending
    await ok(api, "block", u["s_q"], u["s_v"])
    await ok(api, "block", u["s_v"], u["s_r"])
    return u["s_v"]


async def test_friends_of_friends_ranked_by_mutual_count(api: httpx.AsyncClient, viewer: TestUser) -> None:
    body = await graphql(api, SUGGESTED, {"first": 10}, token=viewer.token)

    assert body["data"]["suggestedUsers"] == [
        {"mutualCount": 3, "reason": "Followed by s_a and 2 others", "user": {"username": "s_x"}},
        {"mutualCount": 2, "reason": "Followed by s_a and s_c", "user": {"username": "s_y"}},
        {"mutualCount": 1, "reason": "Followed by s_c", "user": {"username": "s_w"}},
        {"mutualCount": 1, "reason": "Followed by s_b", "user": {"username": "s_z"}},
    ]
    top = await graphql(api, SUGGESTED, {"first": 2}, token=viewer.token)
    assert [s["user"]["username"] for s in top["data"]["suggestedUsers"]] == ["s_x", "s_y"]


async def test_mutual_followers_on_a_user(api: httpx.AsyncClient, viewer: TestUser) -> None:
    seen = await graphql(api, MUTUALS, {"u": "s_x"}, token=viewer.token)
    anonymous = await graphql(api, MUTUALS, {"u": "s_x"})

    assert seen["data"]["user"]["mutualFollowers"] == {
        "totalCount": 3,
        "pageInfo": {"hasNextPage": True},
        "edges": [{"node": {"username": "s_a"}}, {"node": {"username": "s_b"}}],
    }
    assert anonymous["data"]["user"]["mutualFollowers"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False},
        "edges": [],
    }


async def test_no_follows_no_suggestions_and_bad_arguments(api: httpx.AsyncClient) -> None:
    loner = await make_user(api, "s_loner")

    assert (await graphql(api, SUGGESTED, {"first": 5}, token=loner.token))["data"]["suggestedUsers"] == []
    bad = await graphql(api, SUGGESTED, {"first": 0}, token=loner.token)
    assert error_of(bad)["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}
    assert error_of(await graphql(api, SUGGESTED, {"first": 3}))["extensions"] == {"code": "UNAUTHENTICATED"}


@pytest.mark.parametrize(
    ("names", "count", "reason"),
    [
        (["fb_12"], 1, "Followed by fb_12"),
        (["fb_12", "fb_40"], 2, "Followed by fb_12 and fb_40"),
        (["fb_12", "fb_40"], 5, "Followed by fb_12 and 4 others"),
    ],
)
def test_reason_text(names: list[str], count: int, reason: str) -> None:
    assert follow_reason(names, count) == reason
