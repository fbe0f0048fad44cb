"""The app's platform behaviour: endpoints, transport rules and the GraphQL protections."""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import TYPE_CHECKING

import httpx
import pytest
import strawberry

from runtime.settings import DEFAULT_JWT_SECRET, Settings
from schema.extensions import ErrorCodes
from server.app import create_app
from server.health import CACHE_S, Readiness
from tests.support.posts import restart_redis

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette

    from devstack.supervisor import EmbeddedStack

DEEP_QUERY = "{ viewer { " + "followers { edges { node { " * 5 + "username" + " } } }" * 5 + " } }"


async def test_typename_answers(gql) -> None:
    assert await gql("{ __typename }") == {"data": {"__typename": "Query"}}


async def test_healthz_and_metrics_label_only_known_operations(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    await api.post("/graphql", json={"query": "query Viewer { __typename }"})
    for name in ("Probe", "x9f2a", "RandomName123"):
        await api.post("/graphql", json={"query": f"query {name} {{ __typename }}"})
    await api.post("/graphql", json={"query": "{ __typename }"})
    metrics = await api.get("/metrics")
    assert metrics.status_code == 200
    assert 'instagraph_graphql_operation_seconds_count{operation="Viewer",type="query"}' in metrics.text
    assert 'instagraph_graphql_operation_seconds_count{operation="anonymous",type="query"}' in metrics.text
    others = re.search(r'operation_seconds_count\{operation="other",type="query"\} (\d+)', metrics.text)
    assert others is not None and int(float(others.group(1))) >= 3
    for name in ("Probe", "x9f2a", "RandomName123"):
        assert f'operation="{name}"' not in metrics.text  # client-chosen names never become label values


async def test_readyz_gates_on_graph_and_redis_and_only_reports_cache_kafka_and_s3(
    api: httpx.AsyncClient, app: Starlette, stack: EmbeddedStack
) -> None:
    await asyncio.sleep(CACHE_S)
    ready = await api.get("/readyz")
    body = ready.json()
    assert ready.status_code == 200, body
    assert body["gating"] == ["graph", "redis"]
    assert set(body["backends"]) == {"graph", "redis", "cache", "kafka", "s3"}
    assert all(b["ok"] and b["latencyMs"] >= 0 for b in body["backends"].values())

    await stack.stop_service("kafka")
    try:
        await asyncio.sleep(CACHE_S)
        no_broker = await api.get("/readyz")
        assert no_broker.status_code == 200, no_broker.json()
        assert no_broker.json()["status"] == "ready"
        assert no_broker.json()["backends"]["kafka"]["ok"] is False
    finally:
        await stack.start_service("kafka")

    await stack.stop_service("cache")
    try:
        await asyncio.sleep(CACHE_S)
        no_cache = await api.get("/readyz")
        assert no_cache.status_code == 200, no_cache.json()  # reads degrade to the graph behind the breaker
        assert no_cache.json()["backends"]["cache"]["ok"] is False
    finally:
        await restart_redis(stack, app.state.resources.cache)

    await stack.stop_service("redis")
    try:
        await asyncio.sleep(CACHE_S)
        down = await api.get("/readyz")
        assert down.status_code == 503
        assert down.json()["backends"]["redis"]["ok"] is False
        assert down.json()["backends"]["graph"]["ok"] is True
    finally:
        await restart_redis(stack, app.state.resources.redis)


async def test_readyz_is_cached_for_a_second_and_opens_no_client_per_check(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    readiness = app.state.readiness
    await asyncio.sleep(CACHE_S)
    before = readiness.checks
    bodies = await asyncio.gather(*(api.get("/readyz") for _ in range(10)))
    assert readiness.checks == before + 1  # ten polls within the second: one check
    assert len({b.text for b in bodies}) == 1

    uncached = Readiness(app.state.resources, cache_s=0.0)
    try:
        for _ in range(5):
            assert (await uncached.backends())["kafka"]["ok"] is True
        assert (uncached.checks, uncached.kafka_clients_opened) == (5, 1)
    finally:
        await uncached.close()


async def test_get_serves_queries_but_never_mutations(api: httpx.AsyncClient) -> None:
    query = await api.get("/graphql", params={"query": "{ __typename }"})
    assert query.json() == {"data": {"__typename": "Query"}}
    mutation = await api.get("/graphql", params={"query": "mutation { logout }"})
    assert mutation.status_code == 405
    assert mutation.headers["allow"] == "POST"
    assert mutation.json() == {
        "errors": [{"message": "mutations are not allowed when using GET", "extensions": {"code": "BAD_REQUEST"}}]
    }


async def test_graphiql_is_not_served_outside_dev(api: httpx.AsyncClient) -> None:
    response = await api.get("/graphql", headers={"Accept": "text/html"})
    assert "GraphiQL" not in response.text


async def test_a_query_past_the_depth_limit_is_rejected_before_any_resolver_runs(gql, app: Starlette) -> None:
    graph = app.state.resources.graph
    before = graph.round_trips
    body = await gql(DEEP_QUERY)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert "exceeds maximum operation depth of 12" in body["errors"][0]["message"]
    assert graph.round_trips == before


async def test_too_many_aliases_are_rejected(gql) -> None:
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
    body = await gql(query)
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX"}


async def test_too_many_tokens_are_rejected(gql) -> None:
    body = await gql("{ " + "__typename " * 2_100 + "}")
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_field_suggestions_are_off_outside_dev(gql) -> None:
    body = await gql("{ viewr { id } }")
    assert body["errors"][0]["message"] == "Cannot query field 'viewr' on type 'Query'."
    assert body["errors"][0]["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}


@pytest.mark.parametrize("bad_id", ["not-base64!", "VXNlcg", "x" * 300])
async def test_node_with_a_malformed_id_is_bad_user_input(gql, bad_id: str) -> None:
    body = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": bad_id})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}


async def test_unexpected_errors_are_masked_without_internals() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def boom(self) -> int:
            raise RuntimeError("password=hunter2 at /srv/secret.py")

    schema = strawberry.Schema(query=Query, extensions=[ErrorCodes])
    result = await schema.execute("{ boom }")
    assert [(e.message, e.extensions) for e in result.errors or []] == [
        ("Unexpected error.", {"code": "INTERNAL_SERVER_ERROR"})
    ]



async def _in_chunks(data: bytes, size: int = 65_536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_body_over_the_limit_is_refused_before_it_is_parsed(api: httpx.AsyncClient, app: Starlette) -> None:
    limit = app.state.resources.settings.max_request_bytes
    json_type = {"content-type": "application/json"}
    envelope = b'{"query": "{ __typename }", "variables": {"pad": ""}}'
    at_limit = envelope.replace(b'""', b'"' + b"x" * (limit - len(envelope)) + b'"')
    assert len(at_limit) == limit
    fits = await api.post("/graphql", content=at_limit, headers=json_type)
    assert fits.json() == {"data": {"__typename": "Query"}}

    over = at_limit.replace(b'"x', b'"xx', 1)
    refused = {
        "data": None,
        "errors": [
            {
                "message": f"The request body is over the limit of {limit:,} bytes.",
                "extensions": {"code": "QUERY_TOO_COMPLEX"},
            }
        ],
    }
    declared = await api.post("/graphql", content=over, headers=json_type)
    assert (declared.status_code, declared.json()) == (413, refused)
    for headers in (json_type, {**json_type, "Idempotency-Key": "k-limit"}):  # chunked: no Content-Length
        streamed = await api.post("/graphql", content=_in_chunks(over), headers=headers)
        assert "content-length" not in streamed.request.headers
        assert (streamed.status_code, streamed.json()) == (413, refused)


async def test_a_graph_outage_is_service_unavailable_without_internals(gql, stack: EmbeddedStack) -> None:
    await stack.stop_service("graph")
    try:
        body = await gql('{ user(username: "nobody_here") { id } }')
    finally:
        await stack.start_service("graph")
    assert body["data"] == {"user": None}
    assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
        ("A backing service is unavailable; try again shortly.", {"code": "SERVICE_UNAVAILABLE"})
    ]
    assert (await gql('{ user(username: "nobody_here") { id } }'))["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("secret", [DEFAULT_JWT_SECRET, "change-me-to-a-long-random-string-of-32-plus-chars"])
def test_startup_refuses_prod_with_the_public_default_or_a_placeholder_secret(secret: str) -> None:
    with pytest.raises(ValueError, match="INSTAGRAPH_JWT_SECRET is the public default or a placeholder"):
        create_app(Settings(env="prod", jwt_secret=secret))
    create_app(Settings(env="dev", jwt_secret=secret))  # dev and test keep working with it


def test_a_short_jwt_secret_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="INSTAGRAPH_JWT_SECRET must be at least 32 characters"):
        Settings(env="prod", jwt_secret="too-short")
    create_app(Settings(env="prod", jwt_secret=secrets.token_urlsafe(32)))
