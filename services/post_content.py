"""A per-process cache of published posts' immutable content, so that a warm feed page ships none from the graph.

What a post shows splits in two:

- immutable once PUBLISHED: caption, hashtags, mentions (the ids; who of them the viewer may see is decided
  when they are resolved), media with their variants, ``created_at``, the author's id. ``publish`` writes the
  media's variants and the status in one statement and nothing changes them afterwards (there is no caption
  edit; a deletion only moves the status).
- mutable: the status (``DELETED``), the comment count, the like count, the author's profile and counters, and
  everything that decides visibility (privacy, follows, blocks).

The cache holds only the first part, for PUBLISHED posts, keyed by post id; it needs no invalidation because
nothing in it can change. The feed's filter statement still reads, for every candidate, the mutable part from
the graph (status, comment count, the viewer's like and the author's fields, the flags of the visibility rule)
and :meth:`PostContentCache.record` overlays it, so a deleted post, a blocked or unfollowed author is never
served from here. Only a cold entry makes the filter ship the content too (``FEED_FILTER_HYDRATED``'s
``$content``).

Bounded: at most ``max_entries`` posts (least recently used evicted first); about 1-2 KB per post with its
media, so the default 20,000 is tens of MB at most. ``hits``/``misses`` count lookups (tests and benches).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import TYPE_CHECKING

from services.post_reads import PUBLISHED

if TYPE_CHECKING:
    from collections.abc import Iterable

    from services.core.records import PostRecord

DEFAULT_MAX_ENTRIES = 20_000


class PostContentCache:
    """LRU of ``PostRecord`` by post id, PUBLISHED posts only (see the module docstring)."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max(0, max_entries)
        self._entries: OrderedDict[str, PostRecord] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def missing(self, post_ids: Iterable[str]) -> list[str]:
        """The ids of ``post_ids`` not cached (in order); counts a hit or a miss per id."""
        entries = self._entries
        absent = [pid for pid in post_ids if pid not in entries]
        self.misses += len(absent)
        return absent

    def put(self, record: PostRecord) -> None:
        """Remember ``record``'s content when it is PUBLISHED (others may still change: not cached)."""
        if record.status != PUBLISHED or self.max_entries == 0:
            return
        self._entries[record.id] = record
        self._entries.move_to_end(record.id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def record(self, post_id: str, *, status: str, comment_count: int, like_count: int) -> PostRecord | None:
        """The cached content of ``post_id`` with the fresh ``status``, ``comment_count`` and ``like_count``
        (the graph's stored copy; the Redis counter is applied by the GraphQL layer), or ``None`` when not
        cached. A hit becomes the most recently used entry."""
        cached = self._entries.get(post_id)
        if cached is None:
            return None
        self._entries.move_to_end(post_id)
        self.hits += 1
        if cached.status == status and cached.comment_count == comment_count and cached.like_count == like_count:
            return cached
        return replace(cached, status=status, comment_count=comment_count, like_count=like_count)

    def forget(self, post_ids: Iterable[str]) -> None:
        """Drop ``post_ids`` (a post that is no longer PUBLISHED need not take space)."""
        for post_id in post_ids:
            self._entries.pop(post_id, None)
