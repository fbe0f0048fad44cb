"""GraphiQL works offline: the page served in dev loads only this server's files and runs a query typed into
it, in headless Chromium (Debian's ``chromium``, driven by Playwright; no other host is reachable)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import async_playwright

from tests.support.app import live_server
from tests.support.factories import REGISTER

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from graph.store import GraphStore
    from runtime.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
async def dev_server(settings: Settings, graph_store: GraphStore) -> AsyncIterator[str]:
    """The dev app (GraphiQL on) served over real HTTP on a free loopback port; yields its base URL."""
    async with live_server(settings.model_copy(update={"env": "dev"})) as base_url:
        yield base_url


async def test_graphiql_renders_from_local_assets_and_runs_a_typed_query(dev_server: str) -> None:
    async with httpx.AsyncClient(base_url=dev_server) as client:
        registered = await client.post("/graphql", json={"query": REGISTER, "variables": {"input": {
            "username": "gq_user", "email": "gq_user@example.com", "password": "a long enough pw"}}})  # fmt: skip
    token = registered.json()["data"]["register"]["accessToken"]
    elsewhere: list[str] = []

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = await browser.new_page()

            async def only_loopback(route, request) -> None:  # type: ignore[no-untyped-def]
                if urlsplit(request.url).netloc == urlsplit(dev_server).netloc:
                    await route.continue_()
                else:
                    elsewhere.append(request.url)
                    await route.abort()

            await page.route("**/*", only_loopback)
            await page.goto(f"{dev_server}/graphql")
            await page.wait_for_selector(".graphiql-container .graphiql-query-editor .CodeMirror", timeout=20_000)

            editor = page.locator(".graphiql-query-editor .CodeMirror").first
            await editor.click()
            await page.keyboard.press("Control+A")
            await page.keyboard.press("Delete")
            await page.keyboard.type("{ viewer { username")
            await page.get_by_role("button", name="Headers").click()
            headers = page.locator(".graphiql-editor-tool .CodeMirror").last
            await headers.click()
            await page.keyboard.type(f'{{"Authorization": "Bearer {token}')
            await page.locator(".graphiql-execute-button").click()
            await page.wait_for_function(
                "() => document.querySelector('.result-window')?.innerText.includes('gq_user')", timeout=20_000
            )
            result = await page.locator(".result-window").inner_text()
        finally:
            await browser.close()

    assert '"username": "gq_user"' in result
    assert elsewhere == []  # nothing but this server was asked for anything


async def test_only_the_four_assets_are_served(dev_server: str) -> None:
    async with httpx.AsyncClient(base_url=dev_server) as client:
        css = await client.get("/graphiql/graphiql.min.css")
        other = await client.get("/graphiql/..%2Fpackage.json")
        page = await client.get("/graphql", headers={"accept": "text/html"})
    assert (css.status_code, css.headers["content-type"]) == (200, "text/css; charset=utf-8")
    assert other.status_code == 404
    assert "unpkg" not in page.text and "cdn" not in page.text.lower()
    assert page.text.count('src="/graphiql/') == 3
