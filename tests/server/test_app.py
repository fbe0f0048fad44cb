"""The app's platform behaviour: endpoints, transport rules and the GraphQL protections."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
import strawberry

from schema.extensions import ErrorCodes

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette

    from devstack.supervisor import EmbeddedStack

DEEP_QUERY = "{ viewer { " + "followers { edges { node { " * 5 + "username" + " } } }" * 5 + " } }"


async def test_typename_answers(gql) -> None:
    assert await gql("{ __typename }") == {"data": {"__typename": "Query"}}


async def test_healthz_and_metrics(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    await api.post("/graphql", json={"query": "query Probe { __typename }"})
    metrics = await api.get("/metrics")
    assert metrics.status_code == 200
    assert 'instagraph_graphql_operation_seconds_count{operation="Probe",type="query"}' in metrics.text


async def test_readyz_reports_each_backend_and_notices_a_stopped_one(
    api: httpx.AsyncClient, stack: EmbeddedStack
) -> None:
    ready = await api.get("/readyz")
    body = ready.json()
    assert ready.status_code == 200, body
    assert set(body["backends"]) == {"graph", "redis", "kafka", "s3"}
    assert all(b["ok"] and b["latencyMs"] >= 0 for b in body["backends"].values())

    await stack.stop_service("redis")
    try:
        down = await api.get("/readyz")
        assert down.status_code == 503
        assert down.json()["backends"]["redis"]["ok"] is False
        assert down.json()["backends"]["graph"]["ok"] is True
    finally:
        await stack.start_service("redis")


async def test_get_serves_queries_but_never_mutations(api: httpx.AsyncClient) -> None:
    query = await api.get("/graphql", params={"query": "{ __typename }"})
    assert query.json() == {"data": {"__typename": "Query"}}
    mutation = await api.get("/graphql", params={"query": "mutation { logout }"})
    assert (mutation.status_code, mutation.text) == (400, "mutations are not allowed when using GET")


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
