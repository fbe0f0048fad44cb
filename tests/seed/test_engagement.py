"""The engagement seed: likes and comments from followers on seeded posts, deterministic and idempotent."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import TYPE_CHECKING

from schema.base import to_global_id
from seed.engagement import comment_text, plan_engagement, seed_comment_id, seed_engagement
from seed.statements import SEEDED_POSTS
from tests.support.factories import graphql, make_user
from tests.support.posts import follow, like_edges, post_counts, publish_seeded_post

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

COMMENTS = """
query($id: ID!) { post(id: $id) { likeCount commentCount
  comments(first: 100) { edges { node { text author { id } } } } } }
"""
CAPTIONS = (
    "Who are #DataScientist and what do they do? >> @MikeQuindazzi >> #MachineLearning https://buff.ly/2kYmF0s",
    "Ever missed a call while your phone was charging? Our system can notify you about the incoming call.",
    "Here's a network I made that depicts the scientific collaboration at\xa0#EPFL. Based on Infoscience.",
)


def test_comment_text_is_the_first_sentence_without_urls_mentions_or_hash_signs() -> None:
    assert comment_text(CAPTIONS[0]) == "Who are DataScientist and what do they do?"
    assert (
        comment_text(CAPTIONS[2])
        == "Here's a network I made that depicts the scientific collaboration at EPFL."
    )
    assert comment_text("#a #b https://x.y") is None
    assert comment_text(None) is None
    long = comment_text("word " * 100)
    assert long is not None and len(long) <= 151 and long.endswith("…")


def test_seed_comment_ids_are_uuid7_with_the_comment_time() -> None:
    value = uuid.UUID(seed_comment_id(1_700_000_000_123, bytes(range(10))))
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert value.int >> 80 == 1_700_000_000_123
    assert seed_comment_id(1_700_000_000_123, bytes(range(10))) == str(value)


async def test_seed_engagement_is_deterministic_and_idempotent(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    # given: an author with five followers and three seeded posts, and an author nobody follows
    tag = "s1"  # fixed seed keys: the digest-driven plan is the same on every run of this test
    author, loner = await make_user(api, f"seeded_{tag}"), await make_user(api, f"loner_{tag}")
    followers = [await make_user(api, f"f{i}_{tag}") for i in range(5)]
    for follower in followers:
        await follow(api, follower, author)
    post_ids = [await publish_seeded_post(app, author, c, f"test:{tag}:{i}") for i, c in enumerate(CAPTIONS)]
    lonely = await publish_seeded_post(app, loner, "Nobody follows me.", f"test:{tag}:9")
    graph = app.state.resources.graph
    counters = app.state.services.engagement.counters

    # when: seeding twice
    first = await seed_engagement(graph, counters)
    second = await seed_engagement(graph, counters)

    # then: the plan is what the graph holds, once
    assert first == second
    posts = await graph.read(SEEDED_POSTS)
    ordered = {f.id: f for f in followers}
    likes, comments = plan_engagement(posts, {author.id: sorted(ordered, key=lambda i: ordered[i].username)})
    likes_per_post = Counter(row["post_id"] for row in likes)
    comments_per_post = Counter(row["post_id"] for row in comments)
    assert set(likes_per_post) == set(post_ids)
    for post_id in post_ids:
        assert 3 <= likes_per_post[post_id] <= 5
        assert await like_edges(graph, post_id) == likes_per_post[post_id]
        assert await post_counts(graph, post_id) == {
            "like_count": likes_per_post[post_id], "comment_count": comments_per_post[post_id],
        }  # fmt: skip
        body = await graphql(api, COMMENTS, {"id": to_global_id("Post", post_id)}, token=followers[0].token)
        served = body["data"]["post"]
        assert served["likeCount"] == likes_per_post[post_id]
        assert served["commentCount"] == len(served["comments"]["edges"]) == comments_per_post[post_id]
        planned = [r["text"] for r in comments if r["post_id"] == post_id]
        assert [e["node"]["text"] for e in served["comments"]["edges"]] == planned
        assert comment_text(CAPTIONS[post_ids.index(post_id)]) not in planned  # another post's caption
    assert sum(comments_per_post.values()) > 0
    assert await like_edges(graph, lonely) == 0
