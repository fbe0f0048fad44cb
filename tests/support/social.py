"""Helpers shared by the follow-graph API tests: GraphQL documents, mutation shortcuts, and read-only graph
probes (edge counts, Outbox events) that check what the API wrote."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graph.cypher import cypher
from tests.support.factories import graphql

if TYPE_CHECKING:
    import httpx

    from graph.store import GraphStore
    from tests.support.factories import TestUser

USER_FIELDS = (
    "id username followerCount followingCount viewerFollows followsViewer viewerHasRequested viewerBlocks"
)
FOLLOW_MUTATIONS = ("follow", "unfollow", "approveFollowRequest", "rejectFollowRequest", "removeFollower")


def mutation(name: str) -> str:
    """A document running follow-family mutation ``name`` on ``$id``."""
    if name in ("block", "unblock"):
        return f"mutation($id: ID!) {{ {name}(input: {{userId: $id}}) {{ {USER_FIELDS} }} }}"
    return f"mutation($id: ID!) {{ {name}(input: {{userId: $id}}) {{ status user {{ {USER_FIELDS} }} }} }}"


async def act(api: httpx.AsyncClient, name: str, viewer: TestUser, target: TestUser | str) -> dict[str, Any]:
    """Run mutation ``name`` as ``viewer`` on ``target`` (a user or a raw global ID); the JSON body."""
    gid = target if isinstance(target, str) else target.gid
    return await graphql(api, mutation(name), {"id": gid}, token=viewer.token)


async def ok(api: httpx.AsyncClient, name: str, viewer: TestUser, target: TestUser) -> dict[str, Any]:
    """Run mutation ``name`` and return its ``data`` field, asserting there were no errors."""
    body = await act(api, name, viewer, target)
    assert "errors" not in body, body
    return body["data"][name]  # type: ignore[no-any-return]


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    """The single error of a GraphQL response body."""
    assert len(body.get("errors") or []) == 1, body
    return body["errors"][0]  # type: ignore[no-any-return]


async def profile(api: httpx.AsyncClient, username: str, viewer: TestUser | None = None) -> dict[str, Any]:
    """``user(username:)`` with counters and viewer flags, as ``viewer`` (anonymous when None)."""
    query = f"query($u: String!) {{ user(username: $u) {{ {USER_FIELDS} }} }}"
    body = await graphql(api, query, {"u": username}, token=viewer.token if viewer else None)
    assert "errors" not in body, body
    return body["data"]["user"]  # type: ignore[no-any-return]


EDGES = cypher(
    "tests.social.EDGES",
    """
    MATCH (a:User {id: $a}), (b:User {id: $b})
    OPTIONAL MATCH (a)-[f:FOLLOWS]->(b)
    WITH a, b, count(f) AS follows
    OPTIONAL MATCH (a)-[r:REQUESTED]->(b)
    WITH a, b, follows, count(r) AS requests
    OPTIONAL MATCH (a)-[k:BLOCKS]->(b)
    RETURN follows, requests, count(k) AS blocks
    """,
)

EVENTS = cypher(
    "tests.social.EVENTS",
    """
    MATCH (o:Outbox {key: $key})
    WHERE o.type = $type AND o.payload CONTAINS $actor
    RETURN o.payload AS payload
    """,
)


async def edges(graph: GraphStore, a: TestUser, b: TestUser) -> dict[str, int]:
    """``{follows, requests, blocks}``: how many edges of each type go from ``a`` to ``b`` in the graph."""
    rows = await graph.read(EDGES, {"a": a.id, "b": b.id})
    return {k: int(v) for k, v in rows[0].items()}


async def events(graph: GraphStore, type_: str, key: TestUser, actor: TestUser) -> list[str]:
    """Payloads of the Outbox nodes of ``type_`` keyed by ``key`` whose envelope mentions ``actor``."""
    rows = await graph.read(EVENTS, {"key": key.id, "type": type_, "actor": actor.id})
    return [r["payload"] for r in rows]
