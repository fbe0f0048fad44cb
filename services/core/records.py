"""Plain records that services return and resolvers hand to the schema layer.

Times are epoch milliseconds (ints), ids are raw UUIDv7 strings (not global IDs). Records carry no viewer
state: viewer flags (follows, liked, …) are separate batch-loaded maps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PACKED_TRUE = "true"  # a boolean in a packed string cell (Cypher ``toString(true)``)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as stored: counts are the graph's maintained counters."""

    id: str
    username: str
    display_name: str | None
    bio: str | None
    is_private: bool
    is_verified: bool
    follower_count: int
    following_count: int
    post_count: int
    created_at: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> UserRecord:
        """Build from a map with the graph's property names (``u {.*}`` or an explicit projection)."""
        return cls(
            id=row["id"],
            username=row["username"],
            display_name=row.get("display_name") or None,  # "" = cleared (see graph.statements.users)
            bio=row.get("bio") or None,
            is_private=bool(row.get("is_private") or False),
            is_verified=bool(row.get("is_verified") or False),
            follower_count=int(row.get("follower_count") or 0),
            following_count=int(row.get("following_count") or 0),
            post_count=int(row.get("post_count") or 0),
            created_at=int(row.get("created_at") or 0),
        )

    @classmethod
    def from_packed(
        cls, user_id: str, is_private: bool, packed: str, display_name: str | None, bio: str | None
    ) -> UserRecord:
        """Build from ``graph.statements.users.packed_user``'s string (``username|is_verified|created_at|
        follower_count|following_count|post_count``) and the fields it leaves to its caller."""
        username, is_verified, created_at, follower_count, following_count, post_count = packed.split("|")
        return cls(
            id=user_id, username=username, display_name=display_name or None, bio=bio or None,
            is_private=is_private, is_verified=is_verified == PACKED_TRUE, follower_count=int(follower_count),
            following_count=int(following_count), post_count=int(post_count), created_at=int(created_at),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Relationship:
    """The viewer's relationship to one user (all False for an anonymous viewer or oneself)."""

    viewer_follows: bool = False
    follows_viewer: bool = False
    viewer_has_requested: bool = False
    viewer_blocks: bool = False


@dataclass(frozen=True, slots=True)
class MediaRecord:
    """One media item of a post or story: ``key`` is the S3 key of the original; ``variants`` maps size ->
    key. ``signed_until`` (epoch ms) marks private media (a story's): its URLs are presigned GETs valid until
    then at the latest; ``None`` for public media (a post's)."""

    id: str
    position: int
    key: str
    content_type: str
    byte_size: int
    width: int | None = None
    height: int | None = None
    alt_text: str | None = None
    variants: dict[str, str] = field(default_factory=dict)
    signed_until: int | None = None


@dataclass(frozen=True, slots=True)
class LocationRecord:
    """Where a post was taken: ``latitude``/``longitude`` in degrees, an optional display ``name``."""

    latitude: float
    longitude: float
    name: str | None = None


@dataclass(frozen=True, slots=True)
class PostRecord:
    """A post; ``status`` is one of PENDING_UPLOAD, PROCESSING, PUBLISHED, FAILED, DELETED."""

    id: str
    author_id: str
    caption: str | None
    hashtags: tuple[str, ...]
    mention_ids: tuple[str, ...]
    media: tuple[MediaRecord, ...]
    status: str
    failure_reason: str | None
    created_at: int
    like_count: int
    comment_count: int
    location: LocationRecord | None = None


@dataclass(frozen=True, slots=True)
class CommentRecord:
    """A comment on a post."""

    id: str
    post_id: str
    author_id: str
    text: str
    created_at: int


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    """One notification (a group of actors) as its recipient may see it.

    ``kind`` is LIKE, COMMENT, FOLLOW, FOLLOW_REQUEST, FOLLOW_ACCEPTED or MENTION; ``post_id`` /
    ``comment_id`` are ``None`` when the kind has none; ``actor_count`` counts the distinct actors the
    recipient may see (blocks either way excluded); ``actor_ids`` are the first of them, most recent first.
    ``created_at`` / ``updated_at`` are the group's first and latest event (epoch ms).
    """

    id: str
    kind: str
    post_id: str | None
    comment_id: str | None
    created_at: int
    updated_at: int
    read: bool
    actor_count: int
    actor_ids: tuple[str, ...]


@dataclass(slots=True)
class PostHydration:
    """What a read loaded in batches for a page of posts, as separate maps (Bluesky AppView's hydration
    state): ``posts`` and ``like_counts`` and ``viewer_likes`` by post id, ``authors`` by user id. Every map
    may miss keys (not loaded: the GraphQL layer loads those on demand); nothing in it is filtered yet or
    checked against the viewer, except where the producer says so."""

    posts: dict[str, PostRecord] = field(default_factory=dict)
    authors: dict[str, UserRecord] = field(default_factory=dict)
    like_counts: dict[str, int] = field(default_factory=dict)
    viewer_likes: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """A story as a viewer may see it. ``status``: PENDING_UPLOAD, PROCESSING, ACTIVE, EXPIRED, DELETED or
    FAILED (an ACTIVE story past ``expires_at`` is presented EXPIRED); ``audience``: FOLLOWERS or
    CLOSE_FRIENDS; ``media``: ``None`` until processed and once it may no longer be shown; ``highlighted``:
    in at least one highlight."""

    id: str
    author_id: str
    status: str
    audience: str
    created_at: int
    expires_at: int
    media: MediaRecord | None
    failure_reason: str | None = None
    highlighted: bool = False


@dataclass(frozen=True, slots=True)
class HighlightRecord:
    """A highlight: ``story_ids`` in the owner's order (stories the viewer may not see are left out when read)."""

    id: str
    owner_id: str
    title: str
    created_at: int
    story_ids: tuple[str, ...]
