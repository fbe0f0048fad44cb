"""Search with the search backend down (a real failure: the Tantivy index directory cannot be created), over
GraphQL: searchUsers answers from the graph (exact username first, then usernames starting with the query, by
follower count, without users who block the viewer); searchPosts is SERVICE_UNAVAILABLE, not an error of the
server; both are counted."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.factories import graphql, make_user
from tests.support.metrics import metric_value
from tests.support.posts import block, follow
from tests.support.search import SEARCH_POSTS, SEARCH_USERS

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from runtime.settings import Settings
    from tests.support.factories import TestUser


@pytest.fixture(scope="module")
def settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """This module's settings with a search URL whose directory cannot be created (its parent is a file)."""
    blocker = tmp_path_factory.mktemp("outage") / "a-file"
    blocker.write_text("not a directory")
    return settings.model_copy(update={"search_url": f"tantivy://{blocker / 'search'}"})


@pytest.fixture(scope="module")
async def users(api: httpx.AsyncClient, app: Starlette) -> dict[str, TestUser]:
    made = {n: await make_user(api, n) for n in ("ana", "anabel", "anastasia", "ana_blocks", "bob", "so_viewer")}
    for i in range(2):
        await follow(api, await make_user(api, f"fan_{i}"), made["anastasia"])
    await block(api, made["ana_blocks"], made["so_viewer"])
    return made


async def _usernames(api: httpx.AsyncClient, query: str, viewer: TestUser | None) -> list[str]:
    body = await graphql(api, SEARCH_USERS, {"q": query}, token=viewer.token if viewer else None)
    assert "errors" not in body, body
    return [u["username"] for u in body["data"]["searchUsers"]]


async def test_search_users_falls_back_to_usernames_from_the_graph(
    api: httpx.AsyncClient, users: dict[str, TestUser]
) -> None:
    before = metric_value("instagraph_search_backend_down_total", kind="users")
    viewer = users["so_viewer"]

    assert await _usernames(api, "ana", viewer) == ["ana", "anastasia", "anabel"]  # exact, then by followers
    assert await _usernames(api, "@Ana", None) == ["ana", "anastasia", "ana_blocks", "anabel"]
    assert await _usernames(api, "anas", viewer) == ["anastasia"]
    assert await _usernames(api, "carlis", viewer) == []  # no typo tolerance without the index
    assert await _usernames(api, "an a", viewer) == []  # not a username prefix
    assert metric_value("instagraph_search_backend_down_total", kind="users") == before + 5


async def test_search_posts_is_service_unavailable(api: httpx.AsyncClient, users: dict[str, TestUser]) -> None:
    before = metric_value("instagraph_search_backend_down_total", kind="posts")
    response = await api.post(
        "/graphql", json={"query": SEARCH_POSTS, "variables": {"q": "sunset"}}, headers=users["bob"].auth
    )

    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
    assert "tantivy" not in error["message"].lower()
    assert metric_value("instagraph_search_backend_down_total", kind="posts") == before + 1


async def test_bad_input_is_still_bad_input(api: httpx.AsyncClient, users: dict[str, TestUser]) -> None:
    body = await graphql(api, SEARCH_POSTS, {}, token=users["bob"].token)
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "query"}
