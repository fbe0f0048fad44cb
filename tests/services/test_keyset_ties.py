"""Keyset pages through the real services when every row shares one timestamp: each item exactly once.

Rows made in the same millisecond are ordered by id alone, which is where FalkorDB 4.16 went wrong
(``u.id < $after_id`` on an indexed id answered from the index returns every row: see
``tests/graph/test_falkordb_quirks.py`` and ``graph.keyset``). Users, follows, likes, comments and posts are
made through the API and the services; only the timestamps are then tied by test-only statements, since
the services stamp the clock and a tie cannot be forced through them. Every list is paged one item at a
time (``first=1``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from graph.cypher import cypher
from services.core.pagination import decode_cursor
from services.feed_cold_start import parse_popular_cursor
from services.follows import FollowStatus
from services.posts import MediaSpec
from tests.support.factories import make_user
from tests.support.posts import publish_post

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import httpx
    from starlette.applications import Starlette

    from graph.store import GraphStore
    from services.core.pagination import Page
    from tests.support.factories import TestUser
    from tests.support.posts import TestPost

AT = int(time.time() * 1000) - 60_000  # the tied created_at (ms): a minute ago, inside the cold-start window

TIE_FOLLOWERS = cypher(
    "tests.keyset_ties.TIE_FOLLOWERS",
    "MATCH (:User)-[f:FOLLOWS]->(:User {id: $user_id}) SET f.created_at = $at RETURN count(f) AS n",
    write=True,
)
TIE_FOLLOWING = cypher(
    "tests.keyset_ties.TIE_FOLLOWING",
    "MATCH (:User {id: $user_id})-[f:FOLLOWS]->(:User) SET f.created_at = $at RETURN count(f) AS n",
    write=True,
)
TIE_REQUESTS = cypher(
    "tests.keyset_ties.TIE_REQUESTS",
    "MATCH (:User)-[r:REQUESTED]->(:User {id: $user_id}) SET r.created_at = $at RETURN count(r) AS n",
    write=True,
)
TIE_LIKES = cypher(
    "tests.keyset_ties.TIE_LIKES",
    "MATCH (:User)-[l:LIKED]->(:Post {id: $post_id}) SET l.created_at = $at RETURN count(l) AS n",
    write=True,
)
TIE_COMMENTS = cypher(
    "tests.keyset_ties.TIE_COMMENTS",
    "MATCH (c:Comment)-[:ON]->(:Post {id: $post_id}) SET c.created_at = $at RETURN count(c) AS n",
    write=True,
)
#: Also ties ``like_count`` (the popular feed's first key): the graph copy is only written back periodically.
TIE_POSTS = cypher(
    "tests.keyset_ties.TIE_POSTS",
    "MATCH (:User {id: $user_id})-[:POSTED]->(p:Post) SET p.created_at = $at, p.published_at = $at, "
    "p.like_count = 0 RETURN count(p) AS n",
    write=True,
)


async def _tie(graph: GraphStore, stmt: Any, expected: int, **params: str) -> None:
    assert await graph.write(stmt, {**params, "at": AT}) == [{"n": expected}]


async def _walk(fetch: Callable[[str | None], Awaitable[Page[Any]]], limit: int = 20) -> list[Any]:
    """Every item of a connection paged with ``first=1``; asserts one item per page and the page flags."""
    items: list[Any] = []
    after: str | None = None
    for _ in range(limit):
        page = await fetch(after)
        assert len(page.items) == 1, page
        assert page.has_previous is (after is not None)
        after, item = page.items[0]
        items.append(item)
        if not page.has_next:
            return items
    raise AssertionError(f"still has_next after {limit} pages: {items}")


def _popular_cursor(after: str | None) -> tuple[str, int] | None:
    """``(snapshot, position)`` of a cold-start cursor (``["popular", snapshot, position]``)."""
    return None if after is None else parse_popular_cursor(after)


async def _first(read: Awaitable[tuple[Page[Any], Any]]) -> Page[Any]:
    return (await read)[0]


@pytest.fixture(scope="module")
async def owner(api: httpx.AsyncClient) -> TestUser:
    return await make_user(api, "tie_owner")


@pytest.fixture(scope="module")
async def fans(api: httpx.AsyncClient) -> list[TestUser]:
    return [await make_user(api, f"tie_fan{i}") for i in range(4)]


@pytest.fixture(scope="module")
async def posts(api: httpx.AsyncClient, app: Starlette, owner: TestUser) -> list[TestPost]:
    """Three PUBLISHED posts of ``owner``, made through the real upload flow."""
    return [await publish_post(api, app, owner, caption=f"tied {i}") for i in range(3)]


async def test_followers_and_following_with_one_follow_time_come_once_each(
    app: Starlette, graph_store: GraphStore, owner: TestUser, fans: list[TestUser]
) -> None:
    services = app.state.services
    for fan in fans:
        await services.follows.follow_user(fan.id, owner.id)
        await services.follows.follow_user(owner.id, fan.id)
    await _tie(graph_store, TIE_FOLLOWERS, len(fans), user_id=owner.id)
    await _tie(graph_store, TIE_FOLLOWING, len(fans), user_id=owner.id)
    newest_first = sorted((f.id for f in fans), reverse=True)

    followers = await _walk(lambda after: services.follows.followers(owner.id, owner.id, 1, after))
    following = await _walk(lambda after: services.follows.following(fans[0].id, owner.id, 1, after))

    assert [u.id for u in followers] == newest_first
    assert [u.id for u in following] == newest_first


async def test_follow_requests_with_one_request_time_come_once_each(
    api: httpx.AsyncClient, app: Starlette, graph_store: GraphStore, fans: list[TestUser]
) -> None:
    services = app.state.services
    private = await make_user(api, "tie_private", private=True)
    for fan in fans:
        assert (await services.follows.follow_user(fan.id, private.id)).status == FollowStatus.REQUESTED
    await _tie(graph_store, TIE_REQUESTS, len(fans), user_id=private.id)

    requests = await _walk(lambda after: services.follows.follow_requests(private.id, 1, after))

    assert [u.id for u in requests] == sorted((f.id for f in fans), reverse=True)


async def test_likers_with_one_like_time_come_once_each(
    app: Starlette, graph_store: GraphStore, owner: TestUser, fans: list[TestUser], posts: list[TestPost]
) -> None:
    services = app.state.services
    for fan in fans:
        assert await services.engagement.like_post(fan.id, posts[0].id) is True
    await _tie(graph_store, TIE_LIKES, len(fans), post_id=posts[0].id)

    likers = await _walk(lambda after: services.engagement.likers(posts[0].id, owner.id, 1, after))

    assert [u.id for u in likers] == sorted((f.id for f in fans), reverse=True)


async def test_comments_with_one_comment_time_come_once_each_oldest_id_first(
    app: Starlette, graph_store: GraphStore, owner: TestUser, fans: list[TestUser], posts: list[TestPost]
) -> None:
    services = app.state.services
    written = [await services.engagement.add_comment(fan.id, posts[1].id, f"tie {fan.username}") for fan in fans]
    written.append(await services.engagement.add_comment(owner.id, posts[1].id, "tie owner"))
    await _tie(graph_store, TIE_COMMENTS, len(written), post_id=posts[1].id)

    comments = await _walk(lambda after: services.engagement.comments(posts[1].id, fans[0].id, 1, after, total=None))

    assert [c.id for c in comments] == sorted(c.id for c in written)
    assert {c.created_at for c in comments} == {AT}


async def test_posts_feed_and_popular_posts_with_one_creation_time_come_once_each(
    app: Starlette, graph_store: GraphStore, owner: TestUser, fans: list[TestUser], posts: list[TestPost]
) -> None:
    services = app.state.services
    pending = await services.posts.create_post(owner.id, "tied pending", [MediaSpec("image/jpeg", 1_000)])
    await services.follows.follow_user(fans[1].id, owner.id)
    await _tie(graph_store, TIE_POSTS, len(posts) + 1, user_id=owner.id)
    published = sorted((p.id for p in posts), reverse=True)
    viewer = fans[1].id

    own = await _walk(lambda after: services.posts.user_posts(owner.id, owner.id, 1, after))
    seen = await _walk(lambda after: services.posts.user_posts(owner.id, viewer, 1, after))
    pulled = await _walk(lambda after: services.feed.pull_feed(viewer, 1, decode_cursor(after, (int, str))))
    popular = await _walk(
        lambda after: _first(services.feed.cold_start.page(viewer, 1, _popular_cursor(after), hydrate=False))
    )

    assert [p.id for p in own] == sorted([*published, pending.post.id], reverse=True)
    assert [p.id for p in seen] == published
    assert [(e.post_id, e.score) for e in pulled] == [(pid, AT) for pid in published]
    assert [e.post_id for e in popular] == published
