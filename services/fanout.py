"""Fan-out on write: the use cases the ``fanout`` worker runs for post and follow events.

Hybrid push/pull (DESIGN.md "Feed", seed "Instagram Feed"): a post by an author with fewer than
``celebrity_threshold`` followers (``INSTAGRAPH_CELEBRITY_THRESHOLD``, default 10,000) is pushed into the
LIVE ``feed:{uid}`` of every follower and of the author (``cache.feed``: a feed key that expired because its
owner stopped reading is not recreated; the owner gets a rebuild on return); a celebrity's post only goes to
``posts:{author}``, which the feed read merges in. Every post goes to ``posts:{author}``. The decision is
made once per post and recorded in the graph (``graph.statements.fanout.DECIDE_FANOUT``: ``Post.pushed``,
and ``User.pulled_at`` for a pulled post), so an author who crosses the threshold in either direction loses
no post: the read merges ``posts:{author}`` for every followee who ever had a pulled post. Every use case
reloads what it needs from the graph by id (an event may be stale) and is idempotent: ``ZADD`` of an
existing member and ``ZREM`` of an absent one change nothing, so a redelivered event is harmless. Whatever
slips through (a race with an unfollow) the feed read filters out.

Errors: graph errors (``graph.errors.GraphError``) and ``cache.errors.CacheUnavailable`` propagate; the
consumer runtime retries the event and dead-letters it after its retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from graph.statements import fanout as stmts
from services.feed import load_recent_posts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from cache.edge_index import EdgeIndex
    from cache.feed import FeedCache
    from cache.social import SocialCache
    from graph.store import GraphStore

FOLLOWER_PAGE = 1_000  # followers per graph round trip (keyset by follower id)


@dataclass(frozen=True, slots=True)
class FanoutResult:
    """What a fan-out did: ``feeds`` written (followers + author), ``pushed`` False for celebrities."""

    post_id: str
    feeds: int
    pushed: bool


class FanoutService:
    """Fan-out use cases over the graph (``graph``) and the feed cache (``cache``).

    ``celebrity_threshold``: authors with at least this many followers are pulled, not pushed.
    ``backfill_limit``: how many of a followee's recent posts a new follow copies into the follower's feed.
    """

    def __init__(
        self,
        graph: GraphStore,
        cache: FeedCache,
        *,
        celebrity_threshold: int = 10_000,
        backfill_limit: int = 100,
        follower_page: int = FOLLOWER_PAGE,
        edges: EdgeIndex | None = None,
        social: SocialCache | None = None,
    ) -> None:
        self.graph, self.cache, self.edges, self.social = graph, cache, edges, social
        self.celebrity_threshold, self.backfill_limit = celebrity_threshold, backfill_limit
        self.follower_page = follower_page

    async def fan_out_post(self, post_id: str) -> FanoutResult:
        """On ``post.published``: decide (once, recorded in the graph) whether the post is pushed, add it to
        ``posts:{author}`` and, when pushed, to the live feeds of the author and every follower (paged out of
        the graph, one pipelined script call per feed). ``feeds`` counts the live feeds written.

        A post that is gone or not PUBLISHED (deleted before the event was handled) is dropped.
        """
        rows = await self.graph.write(stmts.DECIDE_FANOUT, {"post_id": post_id, "threshold": self.celebrity_threshold})
        if not rows or rows[0]["status"] != "PUBLISHED":
            return FanoutResult(post_id, 0, False)
        post = rows[0]
        author_id, score = post["author_id"], int(post["score"])
        await self.cache.add_post(author_id, post_id, score)
        if post.get("newly_pulled"):  # followers' cached feed contexts do not merge this author yet
            await self.cache.bump_context_epoch()
        if not post["pushed"]:
            return FanoutResult(post_id, 0, False)
        feeds = await self.cache.push(post_id, score, [author_id])
        async for followers in self._followers(author_id):
            feeds += await self.cache.push(post_id, score, followers)
        return FanoutResult(post_id, feeds, True)

    async def backfill_follow(self, follower_id: str, followee_id: str) -> int:
        """On ``follow.created`` / ``follow.accepted``: add the edge to the followers/following indexes
        (``cache.edge_index``, where built), drop the follower's cached feed context and two-hop caches, and
        copy the followee's recent posts into the follower's live feed (from ``posts:{followee}`` when it was
        built from the graph, else from the graph).

        Nothing happens when the follow no longer exists (unfollowed since, or still a pending request), the
        followee is a celebrity (their posts are merged at read time) or the follower has no live feed (the
        rebuild on their next read includes the followee). Returns the number of posts added.
        """
        state = await self.graph.read(stmts.FOLLOW_STATE, {"follower_id": follower_id, "followee_id": followee_id})
        await self.cache.drop_contexts([follower_id])  # the follower's follows changed: feed context stale
        if self.social is not None:  # ... and their two-hop caches
            await self.social.drop(follower_id)
        if not state or not state[0]["follows"]:
            return 0
        if self.edges is not None:  # the follower/following indexes (only where built: else rebuilt on read)
            created_at = int(state[0]["created_at"])
            await self.edges.add("followers", followee_id, follower_id, created_at)
            await self.edges.add("following", follower_id, followee_id, created_at)
        if int(state[0]["follower_count"]) >= self.celebrity_threshold:
            return 0
        cached = await self.cache.recent_posts(followee_id, self.backfill_limit)
        if cached.built:
            items = cached.items
        else:
            items = (await load_recent_posts(self.graph, [followee_id], self.backfill_limit))[followee_id]
            await self.cache.store_posts(followee_id, items)
        return len(items) if await self.cache.add_to_feed(follower_id, items) else 0

    async def remove_followee_posts(self, follower_id: str, followee_id: str) -> int:
        """On ``follow.removed`` (and each direction of ``block.created``): remove the edge from the
        followers/following indexes and the followee's posts from the follower's feed (and drop the follower's
        cached feed context and two-hop caches), unless the follow exists again (re-followed since).

        Only posts within the feed's window (newer than its oldest entry) can be there; their ids come from
        the graph. Returns the number of post ids removed (or absent already).
        """
        state = await self.graph.read(stmts.FOLLOW_STATE, {"follower_id": follower_id, "followee_id": followee_id})
        await self.cache.drop_contexts([follower_id])
        if self.social is not None:
            await self.social.drop(follower_id)
        if state and state[0]["follows"]:
            return 0
        if self.edges is not None:
            await self.edges.remove("followers", followee_id, [follower_id])
            await self.edges.remove("following", follower_id, [followee_id])
        oldest = await self.cache.oldest_feed_score(follower_id)
        if oldest is None:
            return 0
        rows = await self.graph.read(stmts.AUTHOR_POST_IDS_SINCE, {"author_id": followee_id, "since": oldest})
        ids = [r["id"] for r in rows]
        await self.cache.remove_from_feeds(ids, [follower_id])
        return len(ids)

    async def remove_block(self, blocker_id: str, blocked_id: str) -> int:
        """On ``block.created``: remove each user's posts from the other's feed. Returns ids removed."""
        removed = await self.remove_followee_posts(blocker_id, blocked_id)
        return removed + await self.remove_followee_posts(blocked_id, blocker_id)

    async def remove_post(self, post_id: str) -> int:
        """On ``post.deleted``: remove the post from ``posts:{author}``, the author's feed and (for a pushed
        post) every follower's feed. Returns the number of feeds addressed.

        A post that is PUBLISHED again (not possible today) or unknown is left alone; stragglers are filtered
        out and lazily removed by the feed read, which never serves a deleted post.
        """
        rows = await self.graph.read(stmts.POST_FOR_FANOUT, {"post_id": post_id})
        if not rows or rows[0]["status"] == "PUBLISHED":
            return 0
        author_id = rows[0]["author_id"]
        await self.cache.remove_posts(author_id, [post_id])
        feeds = await self.cache.remove_from_feeds([post_id], [author_id])
        pushed = rows[0]["pushed"]
        if pushed is False or (pushed is None and int(rows[0]["follower_count"]) >= self.celebrity_threshold):
            return feeds
        async for followers in self._followers(author_id):
            feeds += await self.cache.remove_from_feeds([post_id], followers)
        return feeds

    async def _followers(self, author_id: str) -> AsyncIterator[list[str]]:
        """Yield the author's followers in pages of ``follower_page`` ids (keyset on the follower id)."""
        after = ""
        while True:
            rows = await self.graph.read(
                stmts.FOLLOWER_IDS_PAGE, {"author_id": author_id, "after": after, "limit": self.follower_page}
            )
            if not rows:
                return
            ids = [r["id"] for r in rows]
            yield ids
            if len(ids) < self.follower_page:
                return
            after = ids[-1]
