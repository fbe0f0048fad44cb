"""What the search indexes hold and how they are queried: documents, one write batch, queries and hits.

Two indexes (DESIGN.md "Search"):

- users: ``id``, ``username``, ``display_name``, ``bio``, ``follower_count`` (ranks namesakes), ``is_private``;
- posts: ``id``, ``author_id``, ``caption`` (English stemming), ``hashtags`` (case-folded as the caption parser
  makes them), ``lat``/``lng`` (degrees, both or neither), ``created_at`` (epoch ms), ``like_count``.

Every document also records ``indexed_at`` (epoch ms of the batch that wrote it), so that a rebuild can drop
what it did not rewrite (``SearchIndex.prune``). Posts are listed newest first by the key
``(created_at, id_rank(id))``: both integers, so that a Meilisearch filter can continue strictly after a cursor
(its comparison operators are numeric), and unique but for a 2**-52 chance per pair of posts in one ms.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

RANK_BITS = 52  # fits a float64 mantissa: Meilisearch stores numbers as f64
MAX_RANK = (1 << RANK_BITS) - 1

#: A post's position in newest-first order: ``(created_at ms, id_rank)``; larger is newer.
PostKey = tuple[int, int]


def id_rank(post_id: str) -> int:
    """A 52-bit integer derived from ``post_id`` (BLAKE2b), the tie-breaker of posts created in the same ms."""
    digest = hashlib.blake2b(post_id.encode(), digest_size=7).digest()
    return int.from_bytes(digest, "big") >> (56 - RANK_BITS)


def post_key(created_at: int, post_id: str) -> PostKey:
    """The newest-first sort key of a post: ``(created_at, id_rank(post_id))``."""
    return (created_at, id_rank(post_id))


@dataclass(frozen=True, slots=True)
class UserDocument:
    """A user as indexed; ``display_name``/``bio`` ``None`` when unset."""

    id: str
    username: str
    display_name: str | None
    bio: str | None
    follower_count: int
    is_private: bool


@dataclass(frozen=True, slots=True)
class PostDocument:
    """A PUBLISHED post as indexed; ``lat``/``lng`` in degrees (both ``None`` without a location)."""

    id: str
    author_id: str
    caption: str | None
    hashtags: tuple[str, ...]
    created_at: int
    like_count: int
    lat: float | None = None
    lng: float | None = None

    @property
    def key(self) -> PostKey:
        """The post's newest-first sort key."""
        return post_key(self.created_at, self.id)


@dataclass(slots=True)
class IndexBatch:
    """One write of both indexes, applied in one commit per index: upserts replace whole documents by id,
    deletes of absent ids are no-ops. ``indexed_at`` (epoch ms) is stamped on every upserted document."""

    indexed_at: int
    users: list[UserDocument] = field(default_factory=list)
    user_deletes: list[str] = field(default_factory=list)
    posts: list[PostDocument] = field(default_factory=list)
    post_deletes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.users) + len(self.user_deletes) + len(self.posts) + len(self.post_deletes)


@dataclass(frozen=True, slots=True)
class GeoFilter:
    """Posts within ``radius_km`` (great-circle) of (``latitude``, ``longitude``), in degrees."""

    latitude: float
    longitude: float
    radius_km: float


@dataclass(frozen=True, slots=True)
class PostQuery:
    """A post search: every word of ``text`` (stemmed), the case-folded ``hashtag``, the ``near`` circle; any
    of them may be absent (all absent: every post). ``before``: only posts strictly older than this key.
    ``limit``: the most hits to return."""

    text: str | None = None
    hashtag: str | None = None
    near: GeoFilter | None = None
    before: PostKey | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class PostHit:
    """One matching post: ``id`` and ``created_at`` (epoch ms)."""

    id: str
    created_at: int

    @property
    def key(self) -> PostKey:
        """The post's newest-first sort key."""
        return post_key(self.created_at, self.id)


@dataclass(frozen=True, slots=True)
class PostHits:
    """Matching posts newest first; ``exhausted`` when no further match exists past the last hit."""

    hits: list[PostHit]
    exhausted: bool
