"""Likes and comments resolvers (owner: engagement).

Contract used by the schema layer:
- ``await like_count(info, post) -> int`` via ``LikeCountsByPostId`` (Redis counters, graph on a miss).
- ``await viewer_has_liked(info, post_id) -> bool`` via ``ViewerLikesByPostId``.
- ``await comments(info, post, first, after) -> Page[CommentRecord]`` oldest first.
- ``await likers(info, post, first, after) -> Page[UserRecord]`` newest first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.pagination import Page
    from services.records import CommentRecord, PostRecord, UserRecord


async def like_count(info: Info, post: PostRecord) -> int:
    raise NotImplementedError


async def viewer_has_liked(info: Info, post_id: str) -> bool:
    raise NotImplementedError


async def comments(info: Info, post: PostRecord, first: int | None, after: str | None) -> Page[CommentRecord]:
    raise NotImplementedError


async def likers(info: Info, post: PostRecord, first: int | None, after: str | None) -> Page[UserRecord]:
    raise NotImplementedError
