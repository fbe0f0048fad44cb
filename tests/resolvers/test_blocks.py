"""Blocks over GraphQL: a block removes follows and requests both ways with exact
counters, emits ``block.created`` once, forbids following, and hides the blocker from the blocked user."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import pytest

from schema.base import to_global_id
from tests.support.factories import graphql, make_user
from tests.support.social import act, edges, error_of, events, ok, profile

if TYPE_CHECKING:
    import httpx

    from graph.store import GraphStore

NODE = "query($id: ID!) { node(id: $id) { id } }"


async def test_block_removes_follows_both_ways_with_exact_counts(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    amy, ben, cal = await make_user(api, "amy"), await make_user(api, "ben"), await make_user(api, "cal")
    await ok(api, "follow", amy, ben)
    await ok(api, "follow", ben, amy)
    await ok(api, "follow", cal, amy)
    await ok(api, "follow", ben, cal)

    blocked = await ok(api, "block", amy, ben)

    assert blocked["username"] == "ben"
    assert blocked["viewerBlocks"] is True
    assert (blocked["viewerFollows"], blocked["followsViewer"]) == (False, False)
    assert (blocked["followerCount"], blocked["followingCount"]) == (0, 1)  # still follows cal
    assert await edges(graph_store, amy, ben) == {"follows": 0, "requests": 0, "blocks": 1}
    assert await edges(graph_store, ben, amy) == {"follows": 0, "requests": 0, "blocks": 0}
    mine = await profile(api, "amy", amy)
    assert (mine["followerCount"], mine["followingCount"]) == (1, 0)  # cal still follows amy
    [event] = await events(graph_store, "block.created", ben, amy)
    assert json.loads(event)["data"] == {"blocker_id": amy.id, "blocked_id": ben.id}

    again = await ok(api, "block", amy, ben)

    assert (again["followerCount"], again["followingCount"]) == (0, 1)
    assert (await profile(api, "amy", amy))["followerCount"] == 1
    assert len(await events(graph_store, "block.created", ben, amy)) == 1


async def test_block_removes_pending_requests_both_ways(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    pa, pb = await make_user(api, "pa", private=True), await make_user(api, "pb", private=True)
    assert (await ok(api, "follow", pa, pb))["status"] == "REQUESTED"
    assert (await ok(api, "follow", pb, pa))["status"] == "REQUESTED"

    await ok(api, "block", pb, pa)

    assert await edges(graph_store, pa, pb) == {"follows": 0, "requests": 0, "blocks": 0}
    assert await edges(graph_store, pb, pa) == {"follows": 0, "requests": 0, "blocks": 1}
    for owner in (pa, pb):
        inbox = await graphql(api, "{ followRequests { totalCount } }", token=owner.token)
        assert inbox["data"]["followRequests"]["totalCount"] == 0


async def test_a_blocked_pair_cannot_follow_and_the_blocker_is_hidden(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    dan, eve = await make_user(api, "dan"), await make_user(api, "eve")
    await ok(api, "block", dan, eve)

    # the blocked user gets NOT_FOUND (the blocker does not exist for them); the blocker is told why
    assert error_of(await act(api, "follow", eve, dan))["extensions"] == {"code": "NOT_FOUND"}
    assert error_of(await act(api, "follow", dan, eve))["extensions"] == {"code": "FORBIDDEN"}
    for follower, followee in ((eve, dan), (dan, eve)):
        assert await edges(graph_store, follower, followee) == {
            "follows": 0,
            "requests": 0,
            "blocks": int(follower is dan),
        }
    hidden = await graphql(api, '{ user(username: "dan") { id } }', token=eve.token)
    assert error_of(hidden)["extensions"] == {"code": "NOT_FOUND"}
    assert (await graphql(api, NODE, {"id": dan.gid}, token=eve.token))["data"] == {"node": None}
    for name in ("unfollow", "rejectFollowRequest", "removeFollower", "approveFollowRequest"):
        assert error_of(await act(api, name, eve, dan))["extensions"] == {"code": "NOT_FOUND"}, name
    assert (await profile(api, "eve", dan))["viewerBlocks"] is True  # the blocker still sees the blocked


async def test_a_user_who_blocks_the_viewer_is_left_out_of_lists(api: httpx.AsyncClient) -> None:
    hub, viewer, shy, open_ = [await make_user(api, n) for n in ("hub2", "viewer2", "shy", "open")]
    await ok(api, "follow", shy, hub)
    await ok(api, "follow", open_, hub)
    await ok(api, "block", shy, viewer)
    query = '{ user(username: "hub2") { followers { edges { node { username } } } } }'

    seen = await graphql(api, query, token=viewer.token)
    others = await graphql(api, query, token=hub.token)

    assert [e["node"]["username"] for e in seen["data"]["user"]["followers"]["edges"]] == ["open"]
    assert [e["node"]["username"] for e in others["data"]["user"]["followers"]["edges"]] == ["open", "shy"]


async def test_unblock_lifts_the_block_without_restoring_follows(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    fay, gil = await make_user(api, "fay"), await make_user(api, "gil")
    await ok(api, "follow", gil, fay)
    await ok(api, "block", fay, gil)

    lifted = await ok(api, "unblock", fay, gil)
    again = await ok(api, "unblock", fay, gil)

    assert lifted["viewerBlocks"] is again["viewerBlocks"] is False
    assert await edges(graph_store, gil, fay) == {"follows": 0, "requests": 0, "blocks": 0}
    assert await edges(graph_store, fay, gil) == {"follows": 0, "requests": 0, "blocks": 0}
    assert (await profile(api, "fay"))["followerCount"] == 0
    assert (await ok(api, "follow", gil, fay))["user"]["followerCount"] == 1


async def test_block_bad_input(api: httpx.AsyncClient, graph_store: GraphStore) -> None:
    hank = await make_user(api, "hank")

    for name in ("block", "unblock"):
        assert error_of(await act(api, name, hank, hank))["extensions"] == {
            "code": "BAD_USER_INPUT",
            "field": "userId",
        }
        unknown = to_global_id("User", str(uuid.uuid4()))
        assert error_of(await act(api, name, hank, unknown))["extensions"] == {"code": "NOT_FOUND"}
        anonymous = await graphql(
            api, f"mutation($id: ID!) {{ {name}(input: {{userId: $id}}) {{ id }} }}", {"id": hank.gid}
        )
        assert error_of(anonymous)["extensions"] == {"code": "UNAUTHENTICATED"}
    assert await edges(graph_store, hank, hank) == {"follows": 0, "requests": 0, "blocks": 0}


@pytest.mark.parametrize("name", ["follow", "unfollow", "approveFollowRequest", "rejectFollowRequest",
                                  "removeFollower", "block", "unblock"])
async def test_every_mutation_on_ones_blocker_answers_as_for_a_user_who_does_not_exist(
    api: httpx.AsyncClient, graph_store: GraphStore, name: str
) -> None:
    blocker, probe = await make_user(api, f"bk_{name.lower()[:10]}"), await make_user(api, f"pr_{name.lower()[:10]}")
    await ok(api, "block", blocker, probe)
    unknown = to_global_id("User", str(uuid.uuid4()))

    on_blocker = await act(api, name, probe, blocker)
    on_nobody = await act(api, name, probe, unknown)

    assert on_blocker == on_nobody
    assert error_of(on_blocker)["message"] == "User not found."
    assert error_of(on_blocker)["extensions"] == {"code": "NOT_FOUND"}
    assert await edges(graph_store, probe, blocker) == {"follows": 0, "requests": 0, "blocks": 0}
    assert await edges(graph_store, blocker, probe) == {"follows": 0, "requests": 0, "blocks": 1}
