"""API fixtures: the ASGI app on the module's settings, an httpx client on it, and a ``gql`` helper.

- ``app`` (module): ``create_app(settings)`` with its lifespan running (clients opened) on a migrated graph.
- ``api`` (module): ``httpx.AsyncClient`` talking to ``app`` in-process (ASGITransport, client IP 127.0.0.1).
- ``gql`` (module): ``await gql(query, variables=None, token=None, headers=None) -> dict`` (the JSON body).
- ``live_server(settings)``: ``async with live_server(settings) as base_url`` serves ``create_app(settings)``
  with uvicorn on a free loopback port (for clients that need real HTTP: a browser, a threaded fuzzer).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn

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


@contextlib.asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[str]:
    """Serve ``create_app(settings)`` with uvicorn on a free 127.0.0.1 port until the block ends; yields
    ``http://127.0.0.1:<port>``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
