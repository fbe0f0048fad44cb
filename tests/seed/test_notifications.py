"""The notifications seed: the seeded follows, likes and comments become grouped notifications, idempotently."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from schema.base import to_global_id
from seed.engagement import seed_engagement
from seed.notifications import seed_notifications
from tests.support.factories import make_user
from tests.support.notifications import notifications, summary
from tests.support.posts import follow, like_edges, publish_seeded_post

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette


async def test_seeded_activity_becomes_one_group_per_kind_and_target(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    # given: an author with four followers, one seeded post they like and comment (the engagement seed)
    tag = secrets.token_hex(3)
    author = await make_user(api, f"hub_{tag}")
    followers = [await make_user(api, f"f{i}_{tag}") for i in range(4)]
    for follower in followers:
        await follow(api, follower, author)
    post_id = await publish_seeded_post(app, author, "Sunrise over the bay. What a start!", f"test:{tag}:0")
    graph = app.state.resources.graph
    await seed_engagement(graph, app.state.services.engagement.counters)

    # when: the notifications seed runs, twice
    first = await seed_notifications(graph)
    second = await seed_notifications(graph)

    # then: a FOLLOW group of the four followers, a LIKE group and (when comments were planned) a COMMENT group
    page = await notifications(api, author)
    groups = {kind: (count, names) for kind, count, names in summary(page)}
    assert groups["FOLLOW"][0] == 4
    assert sorted(groups["FOLLOW"][1]) == sorted(f.username for f in followers)
    assert groups["LIKE"][0] == await like_edges(graph, post_id)
    assert set(groups) <= {"FOLLOW", "LIKE", "COMMENT"}
    about = {e["node"]["post"]["id"] for e in page["edges"] if e["node"]["kind"] != "FOLLOW"}
    assert about == {to_global_id("Post", post_id)}
    assert second.actors == first.actors  # the second run finds the same edges and adds none
    assert await notifications(api, author) == page
