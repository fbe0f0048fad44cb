"""Fuzzing the real app over HTTP: generated GraphQL operations (valid and invalid, hypothesis-graphql from
the committed schema), random bodies and content types, random variables. However hostile the request, the
answer is never a 5xx and never an ``INTERNAL_SERVER_ERROR``.

Bounded for ``make test``: ``INSTAGRAPH_FUZZ_EXAMPLES`` examples in all (default 200), split over the four
strategies. Hypothesis runs in a worker thread with a synchronous client against uvicorn on a loopback port
(the app's event loop keeps serving meanwhile); Hypothesis prints a failing example with how to reproduce it.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode
from hypothesis_graphql import strategies as gql_st

from schema.root import schema
from tests.support.app import live_server
from tests.support.factories import REGISTER

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from graph.store import GraphStore
    from runtime.settings import Settings

EXAMPLES = int(os.environ.get("INSTAGRAPH_FUZZ_EXAMPLES", "200"))
SDL = schema.as_str()
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/plain", "application/graphql", "", "*/*",
     "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"]
)  # fmt: skip
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20)  # JSON text: no lone surrogates
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
VARIABLES_QUERY = (
    "query($u: String!, $n: Int, $a: String, $id: ID!) { user(username: $u) { followers(first: $n, after: $a)"
    " { totalCount } posts(first: $n) { edges { cursor } } } node(id: $id) { id } }"
)


@pytest.fixture(scope="module")
async def server(settings: Settings, graph_store: GraphStore) -> AsyncIterator[tuple[str, str]]:
    """The app over real HTTP, and an access token of a user of it: ``(base_url, token)``."""
    async with live_server(settings) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        variables = {"input": {"username": "fz_user", "email": "fz@example.com", "password": "a long enough pw"}}
        body = (await client.post("/graphql", json={"query": REGISTER, "variables": variables})).json()
        yield base_url, body["data"]["register"]["accessToken"]


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.headers.get("content-type", "").startswith("application/json"):
        payload = response.json()
        errors = payload.get("errors") if isinstance(payload, dict) else None
        codes = [(e.get("extensions") or {}).get("code") for e in errors or []]
        assert "INTERNAL_SERVER_ERROR" not in codes, payload
        assert None not in codes, payload  # every error carries a code


def _fuzz(base_url: str, token: str) -> None:
    budget = max(EXAMPLES // 4, 1)
    common = settings(
        max_examples=budget, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )  # fmt: skip
    with httpx.Client(base_url=base_url, timeout=30) as client:

        def send(body: bytes, content_type: str, signed_in: bool) -> None:
            headers = {"content-type": content_type} if content_type else {}
            if signed_in:
                headers["authorization"] = f"Bearer {token}"
            _check(client.post("/graphql", content=body, headers=headers))

        @common
        @given(document=gql_st.from_schema(SDL, mode=Mode.POSITIVE), signed_in=st.booleans())
        def valid_operations(document: str, signed_in: bool) -> None:
            send(orjson.dumps({"query": document}), "application/json", signed_in)

        @common
        @given(document=gql_st.from_schema(SDL, mode=Mode.NEGATIVE), signed_in=st.booleans())
        def invalid_operations(document: str, signed_in: bool) -> None:
            send(orjson.dumps({"query": document}), "application/json", signed_in)

        @common
        @given(
            body=st.binary(max_size=200) | JSON.map(orjson.dumps) | st.builds(
                lambda q, v, o, e: orjson.dumps({"query": q, "variables": v, "operationName": o, "extensions": e}),
                JSON | st.just("{ __typename }"), JSON, JSON, JSON,
            ),
            content_type=CONTENT_TYPES, signed_in=st.booleans(),
        )  # fmt: skip
        def raw_bodies(body: bytes, content_type: str, signed_in: bool) -> None:
            send(body, content_type, signed_in)
            params = {"query": body.decode("utf-8", "replace")[:200], "variables": content_type}
            _check(client.get("/graphql", params=params, headers={"accept": "*/*"}))

        @common
        @given(variables=st.dictionaries(st.sampled_from(["u", "n", "a", "id", "x"]), JSON), signed_in=st.booleans())
        def wrong_variables(variables: dict[str, Any], signed_in: bool) -> None:
            send(orjson.dumps({"query": VARIABLES_QUERY, "variables": variables}), "application/json", signed_in)

        strategies: list[Callable[[], None]] = [valid_operations, invalid_operations, raw_bodies, wrong_variables]
        for run in strategies:
            run()


async def test_no_request_gets_a_5xx_or_an_internal_server_error(server: tuple[str, str]) -> None:
    base_url, token = server
    await asyncio.to_thread(_fuzz, base_url, token)
