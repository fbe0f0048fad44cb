"""Post resolvers (owner: posts & media).

Contract used by the schema layer:
- ``await user_posts(info, user_id, first, after) -> Page[PostRecord]`` (PUBLISHED only for others; empty when
  private and not visible).
- ``await post_by_id(info, post_id) -> PostRecord`` via ``PostsById`` (raises ``NotFound`` when deleted/hidden).
- ``media_url(info, media, size) -> str | None`` with size in THUMBNAIL/FEED/FULL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.pagination import Page
    from services.records import MediaRecord, PostRecord


async def user_posts(info: Info, user_id: str, first: int | None, after: str | None) -> Page[PostRecord]:
    raise NotImplementedError


async def post_by_id(info: Info, post_id: str) -> PostRecord:
    raise NotImplementedError


def media_url(info: Info, media: MediaRecord, size: str) -> str | None:
    raise NotImplementedError
