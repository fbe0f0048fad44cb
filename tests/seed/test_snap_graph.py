"""The SNAP ego-Facebook import on the real graph: exact counts, idempotence, and seeded
users that can sign in and page their follows through the API."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from graph.cypher import cypher
from seed.snap_graph import import_snap_graph
from services.core.passwords import Passwords
from tests.support.factories import graphql

if TYPE_CHECKING:
    import httpx

    from graph.store import GraphStore
    from runtime.settings import Settings
    from seed.snap_graph import SeedGraphStats

SEEDED = cypher(
    "tests.seed_graph.SEEDED",
    """
    MATCH (u:User) WHERE u.username STARTS WITH 'fb_'
    OPTIONAL MATCH (u)-[f:FOLLOWS]->(:User)
    RETURN count(DISTINCT u) AS users, count(f) AS follows,
           sum(CASE WHEN u.follower_count IS NULL OR u.following_count IS NULL THEN 1 ELSE 0 END) AS uncounted
    """,
)
HUB = cypher(
    "tests.seed_graph.HUB",
    """
    MATCH (u:User {username: 'fb_107'})
    OPTIONAL MATCH (:User)-[i:FOLLOWS]->(u)
    WITH u, count(i) AS followers
    OPTIONAL MATCH (u)-[o:FOLLOWS]->(:User)
    RETURN u {.id, .email, .follower_count, .following_count, .post_count, .is_private} AS user,
           followers, count(o) AS following
    """,
)
MISCOUNTED = cypher(
    "tests.seed_graph.MISCOUNTED",
    """
    MATCH (u:User) WHERE u.username STARTS WITH 'fb_'
    OPTIONAL MATCH (:User)-[i:FOLLOWS]->(u)
    WITH u, count(i) AS followers
    OPTIONAL MATCH (u)-[o:FOLLOWS]->(:User)
    WITH u, followers, count(o) AS following
    WHERE u.follower_count <> followers OR u.following_count <> following
    RETURN count(u) AS n
    """,
)
OUTBOX = cypher("tests.seed_graph.OUTBOX", "MATCH (o:Outbox) RETURN count(o) AS n")
HASHES = cypher(
    "tests.seed_graph.HASHES",
    "MATCH (u:User) WHERE u.username STARTS WITH 'fb_' RETURN count(DISTINCT u.password_hash) AS n",
)


@pytest.fixture(scope="module")
async def imported(graph_store: GraphStore, settings: Settings) -> tuple[SeedGraphStats, SeedGraphStats]:
    """The real file imported twice into this module's graph (one hash of the seed password for both)."""
    password_hash = await Passwords().hash(settings.seed_password)
    first = await import_snap_graph(graph_store, settings.seed_graph_path, password_hash, 5_000, None)
    second = await import_snap_graph(graph_store, settings.seed_graph_path, password_hash, 5_000, None)
    return first, second


async def test_import_gives_snap_degrees_exactly(
    imported: tuple[SeedGraphStats, SeedGraphStats], graph_store: GraphStore
) -> None:
    first, _ = imported

    assert (first.users, first.edges, first.follows) == (4_039, 88_234, 176_468)
    assert (first.users_created, first.follows_created, first.counters_updated) == (4_039, 176_468, 4_039)
    assert (await graph_store.read(SEEDED))[0] == {"users": 4_039, "follows": 176_468, "uncounted": 0}
    [hub] = await graph_store.read(HUB)
    assert (hub["followers"], hub["following"]) == (1_045, 1_045)
    assert hub["user"]["follower_count"] == hub["user"]["following_count"] == 1_045
    assert hub["user"]["email"] == "fb_107@seed.instagraph.invalid"
    assert (hub["user"]["post_count"], hub["user"]["is_private"]) == (0, False)
    assert (await graph_store.read(MISCOUNTED))[0]["n"] == 0
    assert (await graph_store.read(HASHES))[0]["n"] == 1
    assert (await graph_store.read(OUTBOX))[0]["n"] == 0  # a bulk import emits no events


async def test_second_import_changes_nothing(
    imported: tuple[SeedGraphStats, SeedGraphStats], graph_store: GraphStore
) -> None:
    _, second = imported

    assert (second.users_created, second.follows_created, second.counters_updated) == (0, 0, 0)
    assert (await graph_store.read(SEEDED))[0] == {"users": 4_039, "follows": 176_468, "uncounted": 0}
    [hub] = await graph_store.read(HUB)
    assert hub["user"]["follower_count"] == 1_045


async def test_seeded_users_sign_in_and_page_their_follows(
    imported: tuple[SeedGraphStats, SeedGraphStats], api: httpx.AsyncClient, settings: Settings
) -> None:
    login = """
    mutation($p: String!) { login(input: {login: "fb_107", password: $p}) { accessToken user { username } } }
    """
    body = await graphql(api, login, {"p": settings.seed_password})
    assert "errors" not in body, body
    token = body["data"]["login"]["accessToken"]
    query = """
    { viewer { followerCount followingCount following(first: 100) { totalCount edges { node { username } } } }
      suggestedUsers(first: 3) { mutualCount reason user { username } } }
    """
    seen = await graphql(api, query, token=token)
    assert "errors" not in seen, seen
    viewer = seen["data"]["viewer"]
    assert (viewer["followerCount"], viewer["followingCount"], viewer["following"]["totalCount"]) == (
        1_045,
        1_045,
        1_045,
    )
    assert len(viewer["following"]["edges"]) == 100
    assert seen["data"]["suggestedUsers"] == [
        {"mutualCount": 19, "reason": "Followed by fb_483 and 18 others", "user": {"username": "fb_513"}},
        {"mutualCount": 18, "reason": "Followed by fb_483 and 17 others", "user": {"username": "fb_559"}},
        {"mutualCount": 18, "reason": "Followed by fb_348 and 17 others", "user": {"username": "fb_400"}},
    ]
