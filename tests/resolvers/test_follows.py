"""Follows over GraphQL: follow, unfollow, private-account requests, removeFollower, bad input, rate limit,
and the follower/following connections with their viewer flags."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING

import pytest

from schema.base import to_global_id
from tests.support.factories import graphql, make_user
from tests.support.social import act, edges, error_of, events, ok, profile

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from graph.store import GraphStore


async def test_follow_creates_one_edge_moves_both_counters_and_records_the_event(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    ana, bo = await make_user(api, "ana"), await make_user(api, "bo")

    payload = await ok(api, "follow", ana, bo)

    assert payload["status"] == "FOLLOWING"
    assert payload["user"]["username"] == "bo"
    assert payload["user"]["followerCount"] == 1
    assert payload["user"]["viewerFollows"] is True
    assert (await profile(api, "ana"))["followingCount"] == 1
    assert await edges(graph_store, ana, bo) == {"follows": 1, "requests": 0, "blocks": 0}
    [payload_json] = await events(graph_store, "follow.created", bo, ana)
    envelope = json.loads(payload_json)
    assert envelope["actor_id"] == ana.id
    assert envelope["subject_id"] == bo.id
    assert envelope["data"] == {"follower_id": ana.id, "followee_id": bo.id}


async def test_following_twice_is_one_edge_unchanged_counts_and_one_event(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    cy, di = await make_user(api, "cy"), await make_user(api, "di")
    await ok(api, "follow", cy, di)

    again = await ok(api, "follow", cy, di)

    assert again["status"] == "FOLLOWING"
    assert again["user"]["followerCount"] == 1
    assert (await profile(api, "cy"))["followingCount"] == 1
    assert await edges(graph_store, cy, di) == {"follows": 1, "requests": 0, "blocks": 0}
    assert len(await events(graph_store, "follow.created", di, cy)) == 1


async def test_concurrent_follows_of_one_pair_give_one_edge(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    ed, flo = await make_user(api, "ed"), await make_user(api, "flo")

    bodies = await asyncio.gather(*(act(api, "follow", ed, flo) for _ in range(10)))

    assert [b["data"]["follow"]["status"] for b in bodies] == ["FOLLOWING"] * 10
    assert await edges(graph_store, ed, flo) == {"follows": 1, "requests": 0, "blocks": 0}
    assert (await profile(api, "flo"))["followerCount"] == 1
    assert (await profile(api, "ed"))["followingCount"] == 1
    assert len(await events(graph_store, "follow.created", flo, ed)) == 1


async def test_private_account_request_then_approve(api: httpx.AsyncClient, graph_store: GraphStore) -> None:
    gus, pam = await make_user(api, "gus"), await make_user(api, "pam", private=True)

    requested = await ok(api, "follow", gus, pam)

    assert requested["status"] == "REQUESTED"
    assert requested["user"]["viewerHasRequested"] is True
    assert requested["user"]["viewerFollows"] is False
    assert requested["user"]["followerCount"] == 0
    assert await edges(graph_store, gus, pam) == {"follows": 0, "requests": 1, "blocks": 0}
    assert len(await events(graph_store, "follow.requested", pam, gus)) == 1
    assert (await ok(api, "follow", gus, pam))["status"] == "REQUESTED"  # a retry changes nothing
    assert len(await events(graph_store, "follow.requested", pam, gus)) == 1
    inbox = await graphql(
        api, "{ followRequests { totalCount edges { node { username } } } }", token=pam.token
    )
    assert inbox["data"]["followRequests"] == {"totalCount": 1, "edges": [{"node": {"username": "gus"}}]}

    approved = await ok(api, "approveFollowRequest", pam, gus)

    assert approved["status"] == "FOLLOWING"
    assert approved["user"]["username"] == "gus"
    assert approved["user"]["followsViewer"] is True
    assert approved["user"]["followingCount"] == 1
    assert await edges(graph_store, gus, pam) == {"follows": 1, "requests": 0, "blocks": 0}
    assert (await profile(api, "pam"))["followerCount"] == 1
    [accepted] = await events(graph_store, "follow.accepted", pam, gus)
    assert json.loads(accepted)["actor_id"] == pam.id
    assert (await ok(api, "approveFollowRequest", pam, gus))["status"] == "FOLLOWING"  # retried approval
    assert len(await events(graph_store, "follow.accepted", pam, gus)) == 1
    assert (await ok(api, "follow", gus, pam))["status"] == "FOLLOWING"
    inbox = await graphql(
        api, "{ followRequests { totalCount edges { node { username } } } }", token=pam.token
    )
    assert inbox["data"]["followRequests"] == {"totalCount": 0, "edges": []}


async def test_private_account_request_then_reject_leaves_nothing(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    hal, pia = await make_user(api, "hal"), await make_user(api, "pia", private=True)
    await ok(api, "follow", hal, pia)

    rejected = await ok(api, "rejectFollowRequest", pia, hal)

    assert rejected["status"] == "NOT_FOLLOWING"
    assert await edges(graph_store, hal, pia) == {"follows": 0, "requests": 0, "blocks": 0}
    assert (await profile(api, "pia", hal))["viewerHasRequested"] is False
    assert (await profile(api, "pia"))["followerCount"] == 0
    assert (await ok(api, "rejectFollowRequest", pia, hal))["status"] == "NOT_FOLLOWING"
    body = await act(api, "approveFollowRequest", pia, hal)
    assert error_of(body)["extensions"] == {"code": "NOT_FOUND"}


async def test_unfollow_deletes_the_edge_once_and_withdraws_requests(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    ivy, jo, pat = (
        await make_user(api, "ivy"),
        await make_user(api, "jo"),
        await make_user(api, "pat", private=True),
    )
    await ok(api, "follow", ivy, jo)
    await ok(api, "follow", ivy, pat)

    first = await ok(api, "unfollow", ivy, jo)
    second = await ok(api, "unfollow", ivy, jo)
    withdrawn = await ok(api, "unfollow", ivy, pat)

    assert first["status"] == second["status"] == withdrawn["status"] == "NOT_FOLLOWING"
    assert first["user"]["followerCount"] == second["user"]["followerCount"] == 0
    assert (await profile(api, "ivy"))["followingCount"] == 0
    assert await edges(graph_store, ivy, jo) == {"follows": 0, "requests": 0, "blocks": 0}
    assert await edges(graph_store, ivy, pat) == {"follows": 0, "requests": 0, "blocks": 0}
    assert len(await events(graph_store, "follow.removed", jo, ivy)) == 1
    assert len(await events(graph_store, "follow.removed", pat, ivy)) == 1
    inbox = await graphql(api, "{ followRequests { totalCount } }", token=pat.token)
    assert inbox["data"]["followRequests"]["totalCount"] == 0


async def test_remove_follower(api: httpx.AsyncClient, graph_store: GraphStore) -> None:
    kai, lu = await make_user(api, "kai"), await make_user(api, "lu")
    await ok(api, "follow", kai, lu)

    removed = await ok(api, "removeFollower", lu, kai)

    assert removed["status"] == "NOT_FOLLOWING"
    assert removed["user"]["username"] == "kai"
    assert removed["user"]["followingCount"] == 0
    assert removed["user"]["followsViewer"] is False
    assert (await profile(api, "lu"))["followerCount"] == 0
    assert await edges(graph_store, kai, lu) == {"follows": 0, "requests": 0, "blocks": 0}
    [removal] = await events(graph_store, "follow.removed", lu, kai)
    assert json.loads(removal)["actor_id"] == lu.id
    assert (await ok(api, "removeFollower", lu, kai))["status"] == "NOT_FOLLOWING"
    assert len(await events(graph_store, "follow.removed", lu, kai)) == 1


@pytest.mark.parametrize(
    "name", ["follow", "unfollow", "approveFollowRequest", "rejectFollowRequest", "removeFollower"]
)
async def test_self_is_bad_input_and_writes_nothing(
    api: httpx.AsyncClient, graph_store: GraphStore, name: str
) -> None:
    me = await make_user(api, f"self_{name.lower()}")

    body = await act(api, name, me, me)

    assert error_of(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "userId"}
    assert body["data"] is None
    assert await edges(graph_store, me, me) == {"follows": 0, "requests": 0, "blocks": 0}
    assert (await profile(api, me.username))["followingCount"] == 0


@pytest.mark.parametrize(
    "name", ["follow", "unfollow", "approveFollowRequest", "rejectFollowRequest", "removeFollower"]
)
async def test_bad_ids_unknown_users_and_anonymous_callers(api: httpx.AsyncClient, name: str) -> None:
    me = await make_user(api, f"ids_{name.lower()}")
    post_gid = to_global_id("Post", str(uuid.uuid4()))
    unknown_gid = to_global_id("User", str(uuid.uuid4()))

    assert error_of(await act(api, name, me, "not-an-id"))["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "userId",
    }
    assert error_of(await act(api, name, me, post_gid))["extensions"]["field"] == "userId"
    assert error_of(await act(api, name, me, unknown_gid))["extensions"] == {"code": "NOT_FOUND"}
    anonymous = await graphql(
        api, f"mutation($id: ID!) {{ {name}(input: {{userId: $id}}) {{ status }} }}", {"id": me.gid}
    )
    assert error_of(anonymous)["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_follow_rate_limit_is_30_a_minute_per_user(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    fan, star, other = (
        await make_user(api, "fan"),
        await make_user(api, "star"),
        await make_user(api, "other"),
    )

    bodies = await asyncio.gather(*(act(api, "follow", fan, star) for _ in range(31)))  # one burst

    outcomes = sorted(
        b["data"]["follow"]["status"] if b["data"] else error_of(b)["extensions"]["code"] for b in bodies
    )
    assert outcomes == ["FOLLOWING"] * 30 + ["RATE_LIMITED"]
    [limited] = [error_of(b) for b in bodies if b.get("errors")]
    assert limited["extensions"]["retryAfter"] in (1, 2)  # 60 s / 30 = one follow every 2 s
    assert (await act(api, "follow", other, star))["data"]["follow"]["status"] == "FOLLOWING"  # per user
    assert await edges(graph_store, fan, star) == {"follows": 1, "requests": 0, "blocks": 0}


CONNECTION = """
query($u: String!, $first: Int, $after: String) {
  user(username: $u) {
    followers(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { username } }
    }
    following(first: $first, after: $after) { totalCount edges { node { username } } }
  }
}
"""


async def test_followers_pages_newest_first_with_keyset_cursors(api: httpx.AsyncClient) -> None:
    idol = await make_user(api, "idol")
    fans = [await make_user(api, f"fan{i}") for i in range(5)]
    for fan in fans:
        await ok(api, "follow", fan, idol)
    await ok(api, "follow", idol, fans[0])

    names: list[str] = []
    after = None
    pages = []
    while True:
        body = await graphql(api, CONNECTION, {"u": "idol", "first": 2, "after": after})
        assert "errors" not in body, body
        page = body["data"]["user"]["followers"]
        pages.append(page)
        names += [e["node"]["username"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert names == ["fan4", "fan3", "fan2", "fan1", "fan0"]
    assert [len(p["edges"]) for p in pages] == [2, 2, 1]
    assert [p["totalCount"] for p in pages] == [5, 5, 5]
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False, True, True]
    assert pages[0]["pageInfo"]["endCursor"] == pages[0]["edges"][1]["cursor"]
    following = (await graphql(api, CONNECTION, {"u": "idol", "first": 10}))["data"]["user"]["following"]
    assert following == {"totalCount": 1, "edges": [{"node": {"username": "fan0"}}]}


@pytest.mark.parametrize(
    ("variables", "field"),
    [({"first": 0}, "first"), ({"first": 101}, "first"), ({"after": "garbage!"}, "after")],
)
async def test_connection_rejects_bad_page_arguments(
    api: httpx.AsyncClient, variables: dict[str, object], field: str
) -> None:
    await make_user(api, f"pages_{field}_{variables.get('first', 'x')}")
    username = f"pages_{field}_{variables.get('first', 'x')}"

    body = await graphql(api, CONNECTION, {"u": username, **variables})

    assert {e["extensions"]["field"] for e in body["errors"]} == {field}
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}


FLAGS_PAGE = """
query($u: String!, $first: Int) {
  user(username: $u) {
    followers(first: $first) {
      edges { node { username viewerFollows followsViewer viewerHasRequested viewerBlocks
                     mutualFollowers(first: 2) { totalCount edges { node { username } } } } }
    }
  }
}
"""


async def test_viewer_flags_of_a_page_cost_a_fixed_number_of_round_trips(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    hub, me = await make_user(api, "hub"), await make_user(api, "watcher")
    crowd = [await make_user(api, f"crowd{i:02d}", private=(i == 4)) for i in range(20)]
    for user in crowd:
        await ok(api, "follow", user, hub)
    for user in crowd[:4]:
        await ok(api, "follow", me, user)  # viewerFollows
    await ok(api, "follow", me, crowd[4])  # private: viewerHasRequested
    for user in crowd[5:8]:
        await ok(api, "follow", user, me)  # followsViewer
    await ok(api, "block", me, crowd[8])  # viewerBlocks (crowd08 still follows hub)
    graph = app.state.resources.graph
    await graphql(api, FLAGS_PAGE, {"u": "hub", "first": 1}, token=me.token)  # warm the session cache

    trips = {}
    for first in (20, 3):
        before = graph.round_trips
        body = await graphql(api, FLAGS_PAGE, {"u": "hub", "first": first}, token=me.token)
        trips[first] = graph.round_trips - before
        assert "errors" not in body, body

    nodes = {e["node"]["username"]: e["node"] for e in body["data"]["user"]["followers"]["edges"]}
    assert list(nodes) == ["crowd19", "crowd18", "crowd17"]
    full = await graphql(api, FLAGS_PAGE, {"u": "hub", "first": 20}, token=me.token)
    flags = {
        e["node"]["username"]: tuple(
            name
            for name in ("viewerFollows", "followsViewer", "viewerHasRequested", "viewerBlocks")
            if e["node"][name]
        )
        for e in full["data"]["user"]["followers"]["edges"]
    }
    assert len(flags) == 20
    assert {name: f for name, f in flags.items() if f} == {
        "crowd00": ("viewerFollows",),
        "crowd01": ("viewerFollows",),
        "crowd02": ("viewerFollows",),
        "crowd03": ("viewerFollows",),
        "crowd04": ("viewerHasRequested",),
        "crowd05": ("followsViewer",),
        "crowd06": ("followsViewer",),
        "crowd07": ("followsViewer",),
        "crowd08": ("viewerBlocks",),
    }
    mutuals = {
        e["node"]["username"]: e["node"]["mutualFollowers"]
        for e in full["data"]["user"]["followers"]["edges"]
    }
    assert mutuals["crowd19"] == {"totalCount": 0, "edges": []}
    assert (
        trips[20] == trips[3] == 4
    )  # user lookup, followers page, RelationshipsByUserId, MutualFollowersByUserId


async def test_the_status_of_approve_reject_and_remove_is_the_other_user_to_viewer_relation(
    api: httpx.AsyncClient,
) -> None:
    # each case makes the viewer -> user relation differ from the user -> viewer one, so a status taken from
    # the wrong direction would show
    owner = await make_user(api, "st_owner", private=True)
    asker, already, fan = [await make_user(api, f"st_{name}") for name in ("asker", "already", "fan")]
    assert (await ok(api, "follow", asker, owner))["status"] == "REQUESTED"
    approved = await ok(api, "approveFollowRequest", owner, asker)
    assert approved["status"] == "FOLLOWING" and approved["user"]["viewerFollows"] is False  # asker -> owner

    assert (await ok(api, "follow", already, owner))["status"] == "REQUESTED"
    assert (await ok(api, "approveFollowRequest", owner, already))["status"] == "FOLLOWING"
    await ok(api, "follow", owner, already)  # owner -> already: FOLLOWING
    rejected = await ok(api, "rejectFollowRequest", owner, already)  # no request left; already follows owner
    assert rejected["status"] == "FOLLOWING" and rejected["user"]["viewerFollows"] is True

    assert (await ok(api, "follow", fan, owner))["status"] == "REQUESTED"
    await ok(api, "follow", owner, fan)
    declined = await ok(api, "rejectFollowRequest", owner, fan)
    assert declined["status"] == "NOT_FOLLOWING" and declined["user"]["viewerFollows"] is True

    removed = await ok(api, "removeFollower", owner, already)  # owner still follows already
    assert removed["status"] == "NOT_FOLLOWING" and removed["user"]["viewerFollows"] is True
    assert removed["user"]["followsViewer"] is False
