"""The close-friends list over GraphQL on the real stack: ``addCloseFriend``, ``removeCloseFriend``,
``closeFriends``, ``User.isCloseFriend``, with bad input, blocks and idempotence."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.factories import graphql, make_user
from tests.support.posts import block

if TYPE_CHECKING:
    import httpx

    from tests.support.factories import TestUser

ADD = "mutation($id: ID!) { addCloseFriend(input: {userId: $id}) { id username isCloseFriend } }"
REMOVE = "mutation($id: ID!) { removeCloseFriend(input: {userId: $id}) { id username isCloseFriend } }"
LIST = """
query($first: Int, $after: String) {
  closeFriends(first: $first, after: $after) {
    edges { node { username isCloseFriend } } pageInfo { hasNextPage endCursor } totalCount
  }
}
"""
FLAG = "query($u: String!) { user(username: $u) { isCloseFriend } }"


def name() -> str:
    return f"cf_{secrets.token_hex(4)}"


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body.get("errors") or []) == 1, body
    return body["errors"][0]  # type: ignore[no-any-return]


async def listed(api: httpx.AsyncClient, owner: TestUser, first: int = 100) -> list[str]:
    body = await graphql(api, LIST, {"first": first}, token=owner.token)
    assert "errors" not in body, body
    return [e["node"]["username"] for e in body["data"]["closeFriends"]["edges"]]


async def test_add_is_idempotent_and_the_list_is_newest_first(api: httpx.AsyncClient) -> None:
    owner = await make_user(api, name())
    ana, bob, cid = [await make_user(api, name()) for _ in range(3)]

    for friend in (ana, bob, ana, cid):
        body = await graphql(api, ADD, {"id": friend.gid}, token=owner.token)
        assert body["data"]["addCloseFriend"] == {"id": friend.gid, "username": friend.username, "isCloseFriend": True}

    assert await listed(api, owner) == [cid.username, bob.username, ana.username]
    page = (await graphql(api, LIST, {"first": 2}, token=owner.token))["data"]["closeFriends"]
    rest = await graphql(api, LIST, {"first": 2, "after": page["pageInfo"]["endCursor"]}, token=owner.token)
    assert [e["node"]["username"] for e in page["edges"]] == [cid.username, bob.username]
    assert [e["node"]["username"] for e in rest["data"]["closeFriends"]["edges"]] == [ana.username]
    # the flag is the viewer's list, not the other way round
    assert (await graphql(api, FLAG, {"u": ana.username}, token=owner.token))["data"]["user"]["isCloseFriend"] is True
    assert (await graphql(api, FLAG, {"u": owner.username}, token=ana.token))["data"]["user"]["isCloseFriend"] is False
    assert (await graphql(api, FLAG, {"u": ana.username}))["data"]["user"]["isCloseFriend"] is False


async def test_remove_is_idempotent(api: httpx.AsyncClient) -> None:
    owner, friend = await make_user(api, name()), await make_user(api, name())
    await graphql(api, ADD, {"id": friend.gid}, token=owner.token)

    first = await graphql(api, REMOVE, {"id": friend.gid}, token=owner.token)
    second = await graphql(api, REMOVE, {"id": friend.gid}, token=owner.token)

    assert first["data"]["removeCloseFriend"]["isCloseFriend"] is False
    assert second["data"]["removeCloseFriend"]["isCloseFriend"] is False
    assert await listed(api, owner) == []


async def test_blocks_either_way_keep_users_off_the_list(api: httpx.AsyncClient) -> None:
    owner, blocked, blocker, later = [await make_user(api, name()) for _ in range(4)]
    await block(api, owner, blocked)
    await block(api, blocker, owner)
    await graphql(api, ADD, {"id": later.gid}, token=owner.token)

    add_blocked = await graphql(api, ADD, {"id": blocked.gid}, token=owner.token)
    add_blocker = await graphql(api, ADD, {"id": blocker.gid}, token=owner.token)
    await block(api, later, owner)  # blocks the owner after being added

    assert error_of(add_blocked)["extensions"]["code"] == "FORBIDDEN"
    assert error_of(add_blocker)["extensions"]["code"] == "NOT_FOUND"  # a blocker is NOT_FOUND to the viewer
    assert await listed(api, owner) == []  # the entry made before the block is left out


@pytest.mark.parametrize("mutation", [ADD, REMOVE])
async def test_bad_targets_name_the_field(api: httpx.AsyncClient, mutation: str) -> None:
    owner = await make_user(api, name())
    unknown = "VXNlcjowMTkwMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA"  # User:0190... that nobody has

    itself = await graphql(api, mutation, {"id": owner.gid}, token=owner.token)
    malformed = await graphql(api, mutation, {"id": "@@"}, token=owner.token)
    absent = await graphql(api, mutation, {"id": unknown}, token=owner.token)
    anonymous = await graphql(api, mutation, {"id": owner.gid})

    assert error_of(itself)["extensions"] == {"code": "BAD_USER_INPUT", "field": "userId"}
    assert error_of(malformed)["extensions"] == {"code": "BAD_USER_INPUT", "field": "userId"}
    assert error_of(absent)["extensions"]["code"] == "NOT_FOUND"
    assert error_of(anonymous)["extensions"]["code"] == "UNAUTHENTICATED"
    assert error_of(await graphql(api, LIST))["extensions"]["code"] == "UNAUTHENTICATED"
