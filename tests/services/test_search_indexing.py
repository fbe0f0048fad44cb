"""``SearchIndexer`` on the real stack: events name ids, the ids are reloaded from the graph and written in one
batch; what is gone is dropped, stale events change nothing, a rebuild prunes what it did not rewrite."""

from __future__ import annotations

from typing import TYPE_CHECKING

from events.envelope import Event
from search.documents import IndexBatch, PostDocument, PostQuery
from services.search_indexing import IndexChanges, event_targets
from tests.support.factories import make_user
from tests.support.posts import block, delete_post, follow, publish_post
from tests.support.search import outbox

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette


def test_event_targets_name_the_ids_to_reload() -> None:
    events = [
        Event.new("user.registered", actor_id="u1", subject_id="u1"),
        Event.new("follow.created", actor_id="u2", subject_id="u3", data={"follower_id": "u2", "followee_id": "u3"}),
        Event.new("follow.requested", actor_id="u4", subject_id="u5"),
        Event.new("block.created", actor_id="u6", subject_id="u7", data={"blocker_id": "u6", "blocked_id": "u7"}),
        Event.new("post.published", actor_id="u1", subject_id="p1", data={"post_id": "p1"}),
        Event.new("like.removed", actor_id="u2", subject_id="p2", data={"post_id": "p2", "user_id": "u2"}),
        Event.new("comment.created", actor_id="u2", subject_id="c1", data={"post_id": "p3"}),
    ]
    assert event_targets(events) == ({"u1", "u3", "u6", "u7"}, {"p1", "p2"})


async def test_events_are_reloaded_by_id_so_stale_and_repeated_ones_change_nothing(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    indexer, index = app.state.services.search_indexer, app.state.resources.search
    author, fan = await make_user(api, "ix_author"), await make_user(api, "ix_fan")
    kept = await publish_post(api, app, author, caption="kept #ixtag")
    gone = await publish_post(api, app, author, caption="gone #ixtag")
    published = [e for e in await outbox(app) if e.type == "post.published"]
    await delete_post(api, author, gone)
    await follow(api, fan, author)

    # the post.published of a post deleted since is handled after the deletion: it is not indexed
    changes = await indexer.index_events(published)
    assert (changes.posts, changes.posts_deleted) == (1, 1)
    hits = await index.search_posts(PostQuery(hashtag="ixtag"))
    assert [h.id for h in hits.hits] == [kept.id]
    again = await indexer.index_events(await outbox(app) + published)  # everything, redelivered
    assert [h.id for h in (await index.search_posts(PostQuery(hashtag="ixtag"))).hits] == [kept.id]
    assert again.users >= 2 and await index.search_users("ix_author", 1) == [author.id]


async def test_a_block_reindexes_both_users_follower_counts(api: httpx.AsyncClient, app: Starlette) -> None:
    indexer = app.state.services.search_indexer
    left, right = await make_user(api, "ixb_left"), await make_user(api, "ixb_right")
    await follow(api, left, right)
    await follow(api, right, left)
    await indexer.index_events(await outbox(app))
    await block(api, left, right)  # removes both follows
    (blocked,) = [e for e in await outbox(app) if e.type == "block.created" and e.subject_id == right.id]
    assert await indexer.index_events([blocked]) == IndexChanges(users=2)


async def test_a_rebuild_rewrites_everything_and_prunes_what_is_gone(api: httpx.AsyncClient, app: Starlette) -> None:
    indexer, index = app.state.services.search_indexer, app.state.resources.search
    ghost = PostDocument("ghost-post", "nobody", "a ghost #ixghost", ("ixghost",), 1, 0)
    await index.apply(IndexBatch(indexed_at=1, posts=[ghost]))  # a post whose deletion event was lost
    assert [h.id for h in (await index.search_posts(PostQuery(hashtag="ixghost"))).hits] == ["ghost-post"]

    result = await indexer.reindex()

    assert result.pruned_posts >= 1
    assert (await index.search_posts(PostQuery(hashtag="ixghost"))).hits == []
    assert await index.count("posts") == result.posts and await index.count("users") == result.users
