"""Suggestions and mutual followers cached per viewer (``cache.social``), checked again on every read.

No fan-out worker runs: the viewer's own follow writes drop their entries, and every read verifies the
cached ids in the graph, so a change by someone else (a block, an unfollow) shows at once as well.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from tests.support.factories import graphql, make_user
from tests.support.posts import block, follow

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from tests.support.factories import TestUser

SUGGESTED = "query($first: Int) { suggestedUsers(first: $first) { mutualCount reason user { username } } }"
MUTUALS = """
query($u: String!) { user(username: $u) { mutualFollowers(first: 5) { totalCount edges { node { username } } } } }
"""
UNFOLLOW = "mutation($id: ID!) { unfollow(input: {userId: $id}) { status } }"


class Recorder:
    """Records the names of the graph statements run while installed on ``app``'s graph store."""

    def __init__(self, app: Starlette) -> None:
        self.graph, self.names = app.state.resources.graph, []
        self._read = self.graph.read

    def __enter__(self) -> Recorder:
        async def read(stmt: Any, params: Any = None) -> Any:
            self.names.append(stmt.name)
            return await self._read(stmt, params)

        self.graph.read = read
        return self

    def __exit__(self, *exc: object) -> None:
        self.graph.read = self._read


def _suggested(body: dict[str, Any]) -> list[tuple[str, int]]:
    assert body.get("errors") is None, body
    return [(s["user"]["username"], s["mutualCount"]) for s in body["data"]["suggestedUsers"]]


async def _friends_of_friends(api: httpx.AsyncClient) -> tuple[TestUser, list[TestUser], list[TestUser]]:
    tag = secrets.token_hex(2)
    viewer = await make_user(api, f"sc_v_{tag}")
    friends = [await make_user(api, f"sc_f{i}_{tag}") for i in range(2)]
    candidates = [await make_user(api, f"sc_c{i}_{tag}") for i in range(3)]
    for friend in friends:
        await follow(api, viewer, friend)
        for candidate in candidates:
            await follow(api, friend, candidate)
    await follow(api, candidates[0], viewer)  # no effect on the ranking, only a relation to check
    return viewer, friends, candidates


async def test_suggestions_are_ranked_once_then_checked_and_follow_writes_drop_them(
    app: Starlette, api: httpx.AsyncClient
) -> None:
    viewer, _friends, candidates = await _friends_of_friends(api)
    expected = sorted(((c.username, 2) for c in candidates), key=lambda s: s[0])
    with Recorder(app) as first:
        ranked = _suggested(await graphql(api, SUGGESTED, {"first": 10}, token=viewer.token))
    assert sorted(ranked) == expected
    assert "suggestions.SUGGESTIONS" in first.names
    with Recorder(app) as second:
        again = _suggested(await graphql(api, SUGGESTED, {"first": 10}, token=viewer.token))
    assert again == ranked
    assert "suggestions.SUGGESTIONS" not in second.names  # the cached ranking, checked
    assert "suggestions.SUGGESTION_USERS" in second.names

    await follow(api, viewer, candidates[1])  # the viewer's follow drops the entry: a fresh ranking
    with Recorder(app) as third:
        after_follow = _suggested(await graphql(api, SUGGESTED, {"first": 10}, token=viewer.token))
    assert candidates[1].username not in [name for name, _ in after_follow]
    assert "suggestions.SUGGESTIONS" in third.names


async def test_a_cached_suggestion_that_blocks_the_viewer_is_gone_at_once(
    app: Starlette, api: httpx.AsyncClient
) -> None:
    viewer, _friends, candidates = await _friends_of_friends(api)
    assert len(_suggested(await graphql(api, SUGGESTED, {"first": 10}, token=viewer.token))) == 3
    await block(api, candidates[2], viewer)  # someone else's write: nothing dropped the viewer's entry
    with Recorder(app) as rec:
        names = [n for n, _ in _suggested(await graphql(api, SUGGESTED, {"first": 10}, token=viewer.token))]
    assert "suggestions.SUGGESTIONS" not in rec.names
    assert candidates[2].username not in names and len(names) == 2


async def test_mutual_followers_are_cached_and_what_changed_elsewhere_is_checked(
    app: Starlette, api: httpx.AsyncClient
) -> None:
    viewer, friends, candidates = await _friends_of_friends(api)
    target = candidates[0]
    body = await graphql(api, MUTUALS, {"u": target.username}, token=viewer.token)
    mutuals = body["data"]["user"]["mutualFollowers"]
    assert sorted(e["node"]["username"] for e in mutuals["edges"]) == sorted(f.username for f in friends)
    assert mutuals["totalCount"] == 2

    ok = await graphql(api, UNFOLLOW, {"id": target.gid}, token=friends[0].token)  # a mutual stops following
    assert ok.get("errors") is None, ok
    with Recorder(app) as rec:
        body = await graphql(api, MUTUALS, {"u": target.username}, token=viewer.token)
    assert "follows.MUTUALS_CHECK" in rec.names and "follows.MUTUAL_FOLLOWERS" not in rec.names
    assert [e["node"]["username"] for e in body["data"]["user"]["mutualFollowers"]["edges"]] == [
        friends[1].username
    ]

    ok = await graphql(api, UNFOLLOW, {"id": friends[1].gid}, token=viewer.token)  # the viewer's own write
    assert ok.get("errors") is None, ok
    with Recorder(app) as rec:
        body = await graphql(api, MUTUALS, {"u": target.username}, token=viewer.token)
    assert "follows.MUTUAL_FOLLOWERS" in rec.names  # dropped by the write: expanded again
    assert body["data"]["user"]["mutualFollowers"] == {"totalCount": 0, "edges": []}
