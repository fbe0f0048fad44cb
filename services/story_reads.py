"""Reading stories: rows -> ``StoryRecord``, who may see which story, batch loads, and signed media URLs.

Rule (``graph.statements.stories``; the user-level part is ``services.visibility.may_view``): a DELETED
story is never served. The author sees their own stories in every other status (the archive). Anyone else
sees a story only when they may see the author's content (no block either way; a private author only as an
approved follower) and are in its audience (a CLOSE_FRIENDS story: on the author's close-friends list), and
then only while it is live (ACTIVE and ``now < expires_at``) or, past that, while it is in a highlight. The
read-time check compares ``expires_at`` with this process's clock whatever the stored status says, so a
story is never served live one millisecond after its time even when no expiry worker ran.

Media of a story are private objects (under ``stories/``, never public): a URL is a presigned GET
(``ObjectStore.presigned_get``) whose lifetime ends no later than the story (``expires_at``) and at most
``URL_MAX_S`` from now; a highlighted story past its time gets ``URL_MAX_S`` windows. An expired story that is
not highlighted shows no media (its objects are being deleted), nor does one whose objects are gone. Signing
costs ~1 ms (botocore), so a process keeps the URLs it signed (``URL_CACHE_SIZE``, LRU) and hands one out
again only when it still ends no later than the deadline allowed now and has enough of its life left; the
viewer's right to see the story is decided before, on every read, and repeated URLs let browsers cache.

Errors: graph errors propagate; ``StoreUnavailable`` when signing fails.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from graph.statements import stories as stmts
from services.core.records import StoryRecord
from services.post_reads import media_from_row
from services.visibility import may_view

if TYPE_CHECKING:
    from collections.abc import Awaitable, Sequence

    from graph.store import GraphStore, Row
    from media.store import ObjectStore
    from services.core.clock import Clock
    from services.core.records import MediaRecord

PENDING_UPLOAD, PROCESSING, ACTIVE, EXPIRED, DELETED, FAILED = (
    "PENDING_UPLOAD", "PROCESSING", "ACTIVE", "EXPIRED", "DELETED", "FAILED",
)  # fmt: skip
FOLLOWERS, CLOSE_FRIENDS = "FOLLOWERS", "CLOSE_FRIENDS"
LIVE, KEPT, PURGING, PURGED = "LIVE", "KEPT", "PURGING", "PURGED"  # media_state
URL_MAX_S = 3_600  # s: the longest a story media URL is valid (shorter when the story expires sooner)
URL_CACHE_SIZE = 20_000  # signed URLs kept per process
URL_REUSE_MIN_MS = 300_000  # a cached URL is handed out again while it has this long left (or half the span)


@dataclass(frozen=True, slots=True)
class StoryView:
    """A story as stored with what decides its visibility to one viewer: ``media_state`` (LIVE, KEPT,
    PURGING, PURGED), ``author_private``, ``viewer_follows``, ``blocked`` (either way), ``close_friend`` (the
    author lists the viewer)."""

    record: StoryRecord
    media_state: str
    author_private: bool = False
    viewer_follows: bool = False
    blocked: bool = False
    close_friend: bool = False

    def is_live(self, now_ms: int) -> bool:
        """ACTIVE and before ``expires_at``."""
        return self.record.status == ACTIVE and now_ms < self.record.expires_at

    def visible_to(self, viewer_id: str | None, now_ms: int) -> bool:
        """The module's rule for ``viewer_id`` (``None``: anonymous) at ``now_ms``."""
        story = self.record
        if story.status == DELETED:
            return False
        if viewer_id is not None and viewer_id == story.author_id:
            return True
        if not may_view(is_owner=False, owner_private=self.author_private, viewer_follows=self.viewer_follows,
                        blocked=self.blocked):  # fmt: skip
            return False
        if story.audience == CLOSE_FRIENDS and (viewer_id is None or not self.close_friend):
            return False
        if self.is_live(now_ms):
            return True
        return story.highlighted and story.status in (ACTIVE, EXPIRED) and self.media_state in (LIVE, KEPT)


def view_from_row(row: Row) -> StoryView:
    """A ``StoryView`` from a ``STORY_CONTENT`` row (with the flags of ``STORIES_BY_IDS`` when present)."""
    s = row["story"]
    media = [media_from_row({**m, "position": 0}) for m in row["media"]]
    record = StoryRecord(
        id=s["id"],
        author_id=row["author_id"],
        status=s["status"],
        audience=s.get("audience") or FOLLOWERS,
        created_at=int(s["created_at"]),
        expires_at=int(s["expires_at"]),
        media=media[0] if media else None,
        failure_reason=s.get("failure_reason"),
        highlighted=int(row.get("highlights") or 0) > 0,
    )
    return StoryView(
        record=record,
        media_state=s.get("media_state") or LIVE,
        author_private=bool(row.get("author_private")),
        viewer_follows=bool(row.get("viewer_follows")),
        blocked=bool(row.get("blocked")),
        close_friend=bool(row.get("close_friend")),
    )


def present(view: StoryView, now_ms: int) -> StoryRecord:
    """The record as served at ``now_ms``: an ACTIVE story past its time is EXPIRED, and its media carry the
    URL deadline (``signed_until``) or are left out when they may not be shown (see the module docstring)."""
    story = view.record
    status = EXPIRED if story.status == ACTIVE and now_ms >= story.expires_at else story.status
    media = story.media
    if media is not None:
        media = _shown_media(view, media, status, now_ms)
    return replace(story, status=status, media=media)


def _shown_media(view: StoryView, media: MediaRecord, status: str, now_ms: int) -> MediaRecord | None:
    if not media.variants or view.media_state not in (LIVE, KEPT):
        return None
    window = now_ms + URL_MAX_S * 1000
    if status == ACTIVE:
        return replace(media, signed_until=min(view.record.expires_at, window))
    if status == EXPIRED and view.record.highlighted:
        return replace(media, signed_until=window)
    return None


class StoryReader:
    """Batch reads of stories over ``graph`` (one round trip per call); ``store`` signs media URLs; ``clock``
    is the time the expiry check uses."""

    def __init__(self, graph: GraphStore, store: ObjectStore, clock: Clock) -> None:
        self._graph, self._store, self.clock = graph, store, clock
        self._urls: OrderedDict[str, tuple[str, int]] = OrderedDict()  # S3 key -> (URL, its deadline at most)

    async def views(self, story_ids: Sequence[str], viewer_id: str | None) -> list[StoryView | None]:
        """Every story of ``story_ids`` whatever its status, in order, with the viewer's flags (``None``:
        no such story)."""
        if not story_ids:
            return []
        rows = await self._graph.read(
            stmts.STORIES_BY_IDS, {"ids": list(dict.fromkeys(story_ids)), "viewer_id": viewer_id or ""}
        )
        by_id = {row["story"]["id"]: view_from_row(row) for row in rows}
        return [by_id.get(sid) for sid in story_ids]

    async def stories_by_ids(self, story_ids: Sequence[str], viewer_id: str | None) -> list[StoryRecord | None]:
        """The stories ``viewer_id`` may see now, in order, as served; ``None`` for absent or hidden ones."""
        now = self.clock.now_ms()
        views = await self.views(story_ids, viewer_id)
        return [present(v, now) if v is not None and v.visible_to(viewer_id, now) else None for v in views]

    async def user_stories(self, owner_ids: Sequence[str], viewer_id: str | None) -> dict[str, list[StoryRecord]]:
        """The live stories of each owner that ``viewer_id`` may see, oldest first: ``{owner_id: [...]}``
        (every owner is a key). One round trip."""
        now = self.clock.now_ms()
        result: dict[str, list[StoryRecord]] = {o: [] for o in owner_ids}
        if not owner_ids:
            return result
        rows = await self._graph.read(
            stmts.USER_STORIES,
            {"owner_ids": list(dict.fromkeys(owner_ids)), "viewer_id": viewer_id or "", "now": now},
        )
        for row in rows:
            result[row["author_id"]].append(present(view_from_row(row), now))
        return result

    def media_url(self, media: MediaRecord, size: str) -> str | Awaitable[str | None] | None:
        """A presigned GET of ``media``'s ``size`` variant valid until ``media.signed_until`` at the latest (whole
        seconds, rounded down, at least 1 s; see the module docstring for the reuse of a signed URL); ``None``
        when the variant is missing or the deadline has passed. The answer at once when it needs no signing
        (``None``, or a URL signed before), else an awaitable of it that raises ``StoreUnavailable``."""
        key = media.variants.get(size)
        if key is None or media.signed_until is None:
            return None
        now, deadline = self.clock.now_ms(), media.signed_until
        cached = self._urls.get(key)
        if cached is not None and now + min(URL_REUSE_MIN_MS, (deadline - now) // 2) <= cached[1] <= deadline:
            self._urls.move_to_end(key)
            return cached[0]
        seconds = min((deadline - now) // 1000, 604_800)
        if seconds < 1:
            return None
        return self._sign(key, int(seconds), now)

    async def _sign(self, key: str, seconds: int, now: int) -> str:
        url = await self._store.presigned_get(key, expires_s=seconds)
        self._urls[key] = (url, now + seconds * 1000)  # S3 dates the signature at or before now
        if len(self._urls) > URL_CACHE_SIZE:
            self._urls.popitem(last=False)
        return url


def rows_by_id(rows: list[dict[str, Any]]) -> dict[str, StoryView]:
    """``{story id: StoryView}`` of ``STORY_CONTENT`` rows."""
    return {row["story"]["id"]: view_from_row(row) for row in rows}
