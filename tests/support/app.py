"""API fixtures: the ASGI app on the module's settings, an httpx client on it, and a ``gql`` helper.

- ``app`` (module): ``create_app(settings)`` with its lifespan running (clients opened) on a migrated graph.
- ``api`` (module): ``httpx.AsyncClient`` talking to ``app`` in-process (ASGITransport, client IP 127.0.0.1).
- ``gql`` (module): ``await gql(query, variables=None, token=None, headers=None) -> dict`` (the JSON body).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from server.app import create_app

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from starlette.applications import Starlette

    from graph.store import GraphStore
    from runtime.settings import Settings


@pytest.fixture(scope="module")
async def app(settings: Settings, graph_store: GraphStore) -> AsyncIterator[Starlette]:
    """The Starlette app for this module's settings, lifespan entered (graph migrated by ``graph_store``)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def api(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to ``app`` in-process."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
        yield client


async def post_graphql(
    api: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST one GraphQL operation; returns the decoded JSON body (asserts HTTP 200)."""
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    response = await api.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def gql(api: httpx.AsyncClient) -> Callable[..., Awaitable[dict[str, Any]]]:
    """``await gql(query, variables=None, token=None, headers=None)`` -> the JSON body."""

    async def run(
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return await post_graphql(api, query, variables, token=token, headers=headers)

    return run
