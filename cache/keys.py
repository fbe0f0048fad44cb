"""Every Redis key name the project uses, in one place.

User-scoped keys carry the user id in a hash tag (``{uid}``) so that one user's keys land on one Redis Cluster
slot. ``prefix`` namespaces a deployment (tests give each module its own prefix).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """Key builder: ``RedisKeys("t1:").feed("u1") == "t1:feed:{u1}"``."""

    prefix: str = ""

    def feed(self, user_id: str) -> str:
        """ZSET post_id -> score: the user's home feed (capped)."""
        return f"{self.prefix}feed:{{{user_id}}}"

    def posts(self, user_id: str) -> str:
        """ZSET post_id -> score: the author's recent posts (the pull side for celebrities)."""
        return f"{self.prefix}posts:{{{user_id}}}"

    def feed_context(self, user_id: str) -> str:
        """String (JSON): what the feed read knows about its viewer (followee count, pulled followees)."""
        return f"{self.prefix}feedctx:{{{user_id}}}"

    def feed_context_epoch(self) -> str:
        """Counter: bumped when an author becomes pulled; a feed context of an older epoch is recomputed."""
        return f"{self.prefix}feedctx_epoch"

    def cold_feed(self, user_id: str, snapshot: str) -> str:
        """LIST of ``"post_id author_id score"``: one cold-start ranking snapshot of a viewer (short TTL)."""
        return f"{self.prefix}coldfeed:{{{user_id}}}:{snapshot}"

    def edge_index(self, kind: str, node_id: str) -> str:
        """ZSET other id -> edge created_at ms: one node's ``followers``/``following`` (``cache.edge_index``)."""
        return f"{self.prefix}{kind}:{{{node_id}}}"

    def edge_rebuilds(self) -> str:
        """SET of ``"<kind>|<node id>"``: edge indexes a read found missing, for the ``edge-indexes`` job."""
        return f"{self.prefix}edge_rebuilds"

    def suggestions(self, user_id: str) -> str:
        """String (JSON): the user's cached follow suggestions (dropped by their follow events, short TTL)."""
        return f"{self.prefix}suggest:{{{user_id}}}"

    def mutuals(self, viewer_id: str) -> str:
        """Hash user_id -> JSON: the viewer's cached mutual followers per user (dropped by the viewer's follow
        events, short TTL)."""
        return f"{self.prefix}mutuals:{{{viewer_id}}}"

    def like_version(self, post_id: str) -> str:
        """Counter: the graph's ``Post.like_version`` that ``like_ct:{post}`` counts up to."""
        return f"{self.prefix}like_v:{{{post_id}}}"

    def stories(self, user_id: str) -> str:
        """ZSET story_id -> expires_at ms: the user's live stories (the stories ring reads these)."""
        return f"{self.prefix}stories:{{{user_id}}}"

    def story_seen(self, viewer_id: str) -> str:
        """SET of story ids the viewer has seen (TTL: the story lifetime, refreshed on each view)."""
        return f"{self.prefix}story_seen:{{{viewer_id}}}"

    def story_views(self, story_id: str) -> str:
        """Counter: distinct viewers of a story (a cache of its VIEWED edges)."""
        return f"{self.prefix}story_views:{{{story_id}}}"

    def story_views_dirty(self) -> str:
        """SET of story ids whose view counter changed since the last write-back to the graph."""
        return f"{self.prefix}story_views_dirty"

    def story_authors(self, shard: int) -> str:
        """ZSET user_id -> the latest expires_at ms of their live stories: one shard of the index of users with
        stories (the stories ring asks it which followees to read)."""
        return f"{self.prefix}story_authors:{{{shard}}}"

    def story_due(self, shard: int) -> str:
        """ZSET story_id -> expires_at ms: one shard of the expiry schedule (stories by when they expire)."""
        return f"{self.prefix}story_due:{{{shard}}}"

    def like_count(self, post_id: str) -> str:
        """Counter: likes of a post."""
        return f"{self.prefix}like_ct:{{{post_id}}}"

    def like_count_dirty(self) -> str:
        """SET of post ids whose like counter changed since the last write-back to the graph."""
        return f"{self.prefix}like_dirty"

    def session(self, token_hash: str) -> str:
        """String: the family (session) id a refresh token belongs to, keyed by the token's SHA-256."""
        return f"{self.prefix}session:{token_hash}"

    def token_family(self, family_id: str) -> str:
        """Hash: a refresh-token family (``user_id``, ``current`` token digest, ``revoked`` flag)."""
        return f"{self.prefix}tokfam:{family_id}"

    def session_version(self, user_id: str) -> str:
        """String: cached session version of a user (the graph holds the truth)."""
        return f"{self.prefix}sessver:{{{user_id}}}"

    def session_revoked(self, user_id: str, session_id: str) -> str:
        """String: cached revocation flag (``1``/``0``) of one session (the graph holds the truth)."""
        return f"{self.prefix}sessrev:{{{user_id}}}:{session_id}"

    def rate(self, subject: str, action: str) -> str:
        """Rate-limit state of ``subject`` (a user id, an IP, a login) for ``action``."""
        return f"{self.prefix}rate:{{{subject}}}:{action}"

    def idempotency(self, subject: str, key: str) -> str:
        """Hash: the record of an ``Idempotency-Key`` of ``subject`` (``user:<id>`` or ``anon:<ip>``)."""
        return f"{self.prefix}idem:{{{subject}}}:{key}"

    def persisted_query(self, sha256_hash: str) -> str:
        """String: the query text an automatic persisted query's SHA-256 (64 hex digits) names."""
        return f"{self.prefix}apq:{sha256_hash}"

    def seen(self, consumer: str, event_id: str) -> str:
        """Marker: ``consumer`` has processed ``event_id`` (consumer dedupe)."""
        return f"{self.prefix}seen:{consumer}:{event_id}"

    def trend(self, window: str, bucket: int) -> str:
        """ZSET hashtag -> count for one time bucket."""
        return f"{self.prefix}trend:{window}:{bucket}"

    # Trending hashtags (cache/hashtags.py): every key carries the ``{trend}`` hash tag, so that one script or
    # ``ZUNIONSTORE`` may name several of them on a Redis Cluster (they all live on one slot; they are small).

    def trend_bucket(self, window: str, bucket: int) -> str:
        """ZSET hashtag -> distinct authors who used it in one time bucket of ``window``'s granularity."""
        return f"{self.prefix}trend:{{trend}}:{window}:{bucket}"

    def trend_authors(self, window: str, bucket: int, tag: str) -> str:
        """ZSET author id -> live posts with ``tag`` in one time bucket (the union over a window's buckets
        counts each author once)."""
        return f"{self.prefix}trend:{{trend}}:{window}:{bucket}:{tag}"

    def trend_post(self, post_id: str) -> str:
        """String: what a post added to the trend counters (JSON), so that it is counted and removed once."""
        return f"{self.prefix}trend:{{trend}}:post:{post_id}"

    def trend_scratch(self, token: str) -> str:
        """Scratch ZSET of one trending read (deleted in the same transaction)."""
        return f"{self.prefix}trend:{{trend}}:tmp:{token}"

    def explore_pool(self) -> str:
        """String (JSON): the explore candidates shared by every viewer, recomputed every minute or so."""
        return f"{self.prefix}explore:pool"

    def explore_snapshot(self, viewer: str) -> str:
        """String (JSON): a viewer's explore ordering, frozen for a few minutes (``anon`` for anonymous)."""
        return f"{self.prefix}explore:{{{viewer}}}"

    def notify_channel(self, user_id: str) -> str:
        """Pub/sub channel for a user's live notifications."""
        return f"{self.prefix}notify:{{{user_id}}}"

    def notify_stream(self, user_id: str) -> str:
        """Stream: the user's notification changes (``XADD ... MAXLEN ~``), replayed by ``notifications(after:)``."""
        return f"{self.prefix}nstream:{{{user_id}}}"

    def notify_sent(self, user_id: str, notification_id: str) -> str:
        """String: epoch ms of the last live delivery of one notification group (debounce)."""
        return f"{self.prefix}nsent:{{{user_id}}}:{notification_id}"

    def notify_held(self, user_id: str) -> str:
        """ZSET notification_id -> due epoch ms: updates held by the debounce or do-not-disturb."""
        return f"{self.prefix}nheld:{{{user_id}}}"

    def notify_due_users(self) -> str:
        """ZSET user_id -> earliest due epoch ms of ``notify_held``: which users the delivery job visits."""
        return f"{self.prefix}ndue"

    def push_queue(self) -> str:
        """ZSET job (JSON) -> due epoch ms: Web Push deliveries waiting (new or retrying with backoff)."""
        return f"{self.prefix}pushq"

    def lock(self, name: str) -> str:
        """A short-lived lock (e.g. a feed rebuild)."""
        return f"{self.prefix}lock:{name}"
