"""Profiles over GraphQL: ``viewer``, ``user(username)``, ``node(id)`` for users, ``updateProfile``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

from graph.cypher import cypher
from schema.base import to_global_id
from tests.support.factories import graphql, make_user
from tests.support.social import events

if TYPE_CHECKING:
    import httpx

    from graph.store import GraphStore

PROFILE = """
query($username: String!) {
  user(username: $username) {
    id username displayName bio isPrivate isVerified followerCount followingCount postCount createdAt
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { __typename id ... on User { username } } }"
UPDATE = """
mutation($input: UpdateProfileInput!) {
  updateProfile(input: $input) { id username displayName bio isPrivate }
}
"""
STORED_KEYS = cypher("tests.profiles.STORED_KEYS", "MATCH (u:User {id: $id}) RETURN keys(u) AS keys")
VIEWER = "{ viewer { id username displayName bio isPrivate } }"
BLOCK = "mutation($id: ID!) { block(input: {userId: $id}) { id } }"
STORED_PROFILE = cypher(
    "tests.profiles.STORED_PROFILE",
    "MATCH (u:User {id: $id}) "
    "RETURN u.display_name AS display_name, u.bio AS bio, u.is_private AS is_private",
)


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body["errors"]) == 1, body
    return body["errors"][0]  # type: ignore[no-any-return]


async def test_user_by_username_is_case_insensitive(api: httpx.AsyncClient) -> None:
    pia = await make_user(api, "pia", display_name="Pia P")
    body = await graphql(api, PROFILE, {"username": "PiA"})
    user = body["data"]["user"]
    created = datetime.fromisoformat(user.pop("createdAt"))
    assert created.tzinfo is not None
    assert user == {
        "id": pia.gid,
        "username": "pia",
        "displayName": "Pia P",
        "bio": None,
        "isPrivate": False,
        "isVerified": False,
        "followerCount": 0,
        "followingCount": 0,
        "postCount": 0,
    }


@pytest.mark.parametrize("username", ["nobody", "not valid!", "x" * 31, "y" * 5000])
async def test_unknown_or_malformed_username_is_not_found(api: httpx.AsyncClient, username: str) -> None:
    body = await graphql(api, PROFILE, {"username": username})
    assert body["data"] == {"user": None}
    assert error_of(body)["extensions"] == {"code": "NOT_FOUND"}
    assert error_of(body)["message"] == "User not found."


async def test_node_resolves_users(api: httpx.AsyncClient) -> None:
    nat = await make_user(api, "nat")
    body = await graphql(api, NODE, {"id": nat.gid})
    assert body == {"data": {"node": {"__typename": "User", "id": nat.gid, "username": "nat"}}}
    missing = await graphql(api, NODE, {"id": to_global_id("User", "01900000-0000-7000-8000-000000000000")})
    assert missing["data"] == {"node": None}
    assert error_of(missing)["extensions"] == {"code": "NOT_FOUND"}


async def test_a_user_who_blocks_the_viewer_is_not_found(api: httpx.AsyncClient) -> None:
    bea = await make_user(api, "bea")
    cid = await make_user(api, "cid")
    dan = await make_user(api, "dan")
    blocked = await graphql(api, BLOCK, {"id": cid.gid}, token=bea.token)
    assert "errors" not in blocked, blocked
    for query, variables in ((PROFILE, {"username": "bea"}), (NODE, {"id": bea.gid})):
        hidden = await graphql(api, query, variables, token=cid.token)
        assert hidden["data"] in ({"user": None}, {"node": None})
        assert error_of(hidden)["extensions"] == {"code": "NOT_FOUND"}
        assert error_of(hidden)["message"] == "User not found."  # indistinguishable from a missing user
    # everyone else still sees bea, and bea still sees cid
    for token in (None, dan.token, bea.token):
        assert (await graphql(api, PROFILE, {"username": "bea"}, token=token))["data"]["user"][
            "id"
        ] == bea.gid
    assert (await graphql(api, PROFILE, {"username": "cid"}, token=bea.token))["data"]["user"][
        "id"
    ] == cid.gid
    assert (await graphql(api, NODE, {"id": bea.gid}, token=dan.token))["data"]["node"]["id"] == bea.gid


async def test_update_profile_changes_only_the_given_fields(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    una = await make_user(api, "una", display_name="Una")
    body = await graphql(api, UPDATE, {"input": {"bio": "  hello  ", "isPrivate": True}}, token=una.token)
    assert body["data"]["updateProfile"] == {
        "id": una.gid,
        "username": "una",
        "displayName": "Una",
        "bio": "hello",
        "isPrivate": True,
    }
    body = await graphql(api, UPDATE, {"input": {"displayName": "d" * 64, "bio": "b" * 150}}, token=una.token)
    assert body["data"]["updateProfile"]["displayName"] == "d" * 64
    assert body["data"]["updateProfile"]["bio"] == "b" * 150
    assert body["data"]["updateProfile"]["isPrivate"] is True
    cleared = await graphql(api, UPDATE, {"input": {"displayName": None, "bio": "   "}}, token=una.token)
    assert cleared["data"]["updateProfile"]["displayName"] is None
    assert cleared["data"]["updateProfile"]["bio"] is None
    public = await graphql(api, UPDATE, {"input": {"isPrivate": False}}, token=una.token)
    assert public["data"]["updateProfile"]["isPrivate"] is False
    assert (await graphql(api, VIEWER, token=una.token))["data"]["viewer"] == {
        "id": una.gid,
        "username": "una",
        "displayName": None,
        "bio": None,
        "isPrivate": False,
    }
    unchanged = await graphql(api, UPDATE, {"input": {}}, token=una.token)
    assert unchanged["data"]["updateProfile"]["username"] == "una"
    # clearing two fields at once lost no other property (FalkorDB's multi-removal bug is avoided)
    [row] = await graph_store.read(STORED_KEYS, {"id": una.id})
    assert {
        "id",
        "username",
        "email",
        "password_hash",
        "created_at",
        "follower_count",
        "following_count",
        "post_count",
        "session_version",
        "is_private",
        "is_verified",
    } <= set(row["keys"])


async def test_update_profile_records_an_event_only_when_a_value_changes(
    api: httpx.AsyncClient, graph_store: GraphStore
) -> None:
    ula = await make_user(api, "ula", display_name="Ula")
    same = {"displayName": " Ula ", "bio": None, "isPrivate": False}
    body = await graphql(api, UPDATE, {"input": same}, token=ula.token)
    assert body["data"]["updateProfile"]["displayName"] == "Ula"
    assert await events(graph_store, "user.updated", ula, ula) == []
    await graphql(api, UPDATE, {"input": {"bio": "new", "isPrivate": False}}, token=ula.token)
    assert len(await events(graph_store, "user.updated", ula, ula)) == 1
    await graphql(api, UPDATE, {"input": {"bio": "new"}}, token=ula.token)
    await graphql(api, UPDATE, {"input": {"isPrivate": True}}, token=ula.token)
    await graphql(api, UPDATE, {"input": {"bio": ""}}, token=ula.token)
    assert len(await events(graph_store, "user.updated", ula, ula)) == 3


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"displayName": "d" * 65}, "displayName"),
        ({"bio": "b" * 151}, "bio"),
        ({"isPrivate": None}, "isPrivate"),
        ({"displayName": "fine", "bio": "b" * 151}, "bio"),
        ({"bio": "fine", "isPrivate": True, "displayName": "x" * 10_000}, "displayName"),
    ],
)
async def test_update_profile_rejects_bad_input_and_writes_nothing(
    api: httpx.AsyncClient, graph_store: GraphStore, changes: dict[str, Any], field: str
) -> None:
    vic = await make_user(api, f"vic_{field.lower()}_{len(str(changes)) % 997}", display_name="Vic")
    before = await graph_store.read(STORED_PROFILE, {"id": vic.id})
    body = await graphql(api, UPDATE, {"input": changes}, token=vic.token)
    assert body["data"] is None
    assert error_of(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert (
        await graph_store.read(STORED_PROFILE, {"id": vic.id})
        == before
        == [{"display_name": "Vic", "bio": None, "is_private": False}]
    )


async def test_update_profile_needs_a_viewer(api: httpx.AsyncClient) -> None:
    body = await graphql(api, UPDATE, {"input": {"bio": "anonymous"}})
    assert error_of(body)["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_the_factory_makes_private_accounts(api: httpx.AsyncClient) -> None:
    pri = await make_user(api, "pri", private=True)
    body = await graphql(api, PROFILE, {"username": "pri"}, token=pri.token)
    assert body["data"]["user"]["isPrivate"] is True
