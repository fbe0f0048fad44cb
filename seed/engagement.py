"""The engagement part of ``instagraph seed``: likes and comments on the seeded posts, from followers.

Runs after the users, follows and posts are seeded. For every seeded PUBLISHED post (``Post.seed_key``),
a deterministic digest of the seed key picks:

- ``3 + h % 40`` likers (at most the author's follower count): consecutive followers in username order,
  starting at an offset from the digest (so an author's posts are liked by different followers), liked one
  second apart after the post;
- ``h % 6`` commenters among those likers, each with the first sentence of ANOTHER seeded caption (URLs and
  mentions removed, ``#`` signs dropped), 1.7 s apart: real text, not lorem ipsum.

Re-running changes nothing: likes are MERGEd edges, comment ids are UUIDv7s built from the comment's
timestamp and a digest of (post seed key, commenter, position), and counts are recomputed from the graph
(``Post.like_count``, ``Post.comment_count``) rather than incremented; the posts' Redis like counters are
dropped so that the next read recounts them. No events are emitted (a bulk import is not user activity).

Errors: ``GraphError`` propagates (the import is idempotent: run it again).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from seed.statements import (
    AUTHOR_FOLLOWERS,
    RECOUNT_ENGAGEMENT,
    SEED_COMMENTS,
    SEED_LIKES,
    SEEDED_POSTS,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from graph.store import GraphStore, Row
    from services.like_counts import LikeCountService

LIKES_MIN, LIKES_SPAN = 3, 40
COMMENTS_MAX = 5
LIKE_GAP_MS = 1_000  # seeded posts are stamped at import time: keep their likes close behind
COMMENT_GAP_MS = 1_700
COMMENT_MAX_CHARS = 150
BATCH = 2_000  # rows per UNWIND statement (FalkorDB handles 5,000)

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"[@＠][\w.]*")
_HASH = re.compile(r"[#＃](?=\w)")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True, slots=True)
class EngagementSeedResult:
    """What the seed holds afterwards: ``posts`` seeded posts touched, ``likes`` and ``comments`` rows."""

    posts: int
    likes: int
    comments: int


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def seed_comment_id(at_ms: int, salt: bytes) -> str:
    """A UUIDv7 (RFC 9562 §5.7) with timestamp ``at_ms`` and random bits taken from ``salt`` (>= 10 bytes)."""
    rand = int.from_bytes(salt[:10], "big")
    value = (at_ms & (1 << 48) - 1) << 80 | 0x7 << 76 | ((rand >> 68) & 0xFFF) << 64
    value |= 0b10 << 62 | rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def comment_text(caption: str | None) -> str | None:
    """The first sentence of ``caption`` without URLs, mentions and ``#`` signs, cut at a word boundary to
    150 characters; ``None`` when fewer than 12 characters remain."""
    if not caption:
        return None
    text = _HASH.sub(" ", _MENTION.sub(" ", _URL.sub(" ", caption)))
    text = _SPACE.sub(" ", text).strip(" >-–|")
    text = _SENTENCE_END.split(text, maxsplit=1)[0].strip()
    if len(text) > COMMENT_MAX_CHARS:
        text = text[:COMMENT_MAX_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text if len(text) >= 12 else None


def plan_engagement(posts: Sequence[Row], followers: dict[str, list[str]]) -> tuple[list[dict], list[dict]]:
    """``(like_rows, comment_rows)`` for ``posts`` (rows of ``SEEDED_POSTS``) given each author's followers
    in username order. Pure and deterministic."""
    texts = [t for t in (comment_text(p["caption"]) for p in posts) if t]
    likes: list[dict] = []
    comments: list[dict] = []
    for index, post in enumerate(posts):
        pool = [f for f in followers.get(post["author_id"], []) if f != post["author_id"]]
        if not pool:
            continue
        h = int.from_bytes(_digest(post["seed_key"])[:8], "big")
        start = (h >> 16) % len(pool)
        likers = [pool[(start + j) % len(pool)] for j in range(min(len(pool), LIKES_MIN + h % LIKES_SPAN))]
        created = int(post["created_at"] or 0)
        likes += [{"user_id": u, "post_id": post["post_id"], "at": created + (j + 1) * LIKE_GAP_MS}
                  for j, u in enumerate(likers)]  # fmt: skip
        own = comment_text(post["caption"])
        candidates = [t for t in texts if t != own]
        for j, user_id in enumerate(likers[: (h >> 40) % (COMMENTS_MAX + 1)]):
            if not candidates:
                break
            at = created + (j + 1) * COMMENT_GAP_MS
            comments.append({
                "id": seed_comment_id(at, _digest(post["seed_key"], user_id, str(j))),
                "user_id": user_id, "post_id": post["post_id"], "at": at,
                "text": candidates[(index * 7 + j * 13) % len(candidates)],
            })  # fmt: skip
    return likes, comments


def _chunks(rows: list, size: int) -> list[list]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


async def seed_engagement(
    graph: GraphStore, counters: LikeCountService, *, on_progress: Callable[[int, int], None] | None = None
) -> EngagementSeedResult:
    """Seed likes and comments on every seeded post; idempotent (see the module docstring).

    ``on_progress(done, total)`` is called after each batch (rows of likes + comments).
    """
    posts = await graph.read(SEEDED_POSTS)
    authors = sorted({p["author_id"] for p in posts})
    followers: dict[str, list[str]] = {}
    for chunk in _chunks(authors, 500):
        for row in await graph.read(AUTHOR_FOLLOWERS, {"author_ids": chunk}):
            ordered = sorted(row["followers"], key=lambda f: (f["username"], f["id"]))
            followers[row["author_id"]] = [f["id"] for f in ordered]
    likes, comments = plan_engagement(posts, followers)
    total, done = len(likes) + len(comments), 0
    for stmt, rows in ((SEED_LIKES, likes), (SEED_COMMENTS, comments)):
        for batch in _chunks(rows, BATCH):
            await graph.write(stmt, {"rows": batch})
            done += len(batch)
            if on_progress is not None:
                on_progress(done, total)
    post_ids = [p["post_id"] for p in posts]
    for chunk in _chunks(post_ids, BATCH):
        await graph.write(RECOUNT_ENGAGEMENT, {"ids": chunk})
    await counters.forget(post_ids)
    return EngagementSeedResult(posts=len(posts), likes=len(likes), comments=len(comments))
