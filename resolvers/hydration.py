"""Hands what a service read in batches (``services.core.records.PostHydration``) to the request, so that the
``Post`` fields of that page resolve without another round trip.

``prime(info, hydration)`` puts the posts, their authors, the like counts and the viewer's likes into the
request's ``Context.hydration``, which ``PostsById``, ``UsersById``, ``LikeCountsByPostId`` and
``ViewerLikesByPostId`` are consulted behind (a plain dict look-up per field, no DataLoader future per key).
The producer has checked the posts against the viewer (the feed's filter); what the maps lack is loaded on
demand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers import engagement as engagement_resolvers
from resolvers import posts as post_resolvers
from resolvers import users as user_resolvers

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.core.records import PostHydration


def prime(info: Info, hydration: PostHydration) -> None:
    """Add ``hydration``'s maps to the request's (see the module docstring; what it holds already is kept)."""
    post_resolvers.prime_posts(info, hydration.posts.values())
    user_resolvers.prime_users(info, hydration.authors.values())
    engagement_resolvers.prime_like_counts(info, hydration.like_counts)
    engagement_resolvers.prime_viewer_likes(info, hydration.viewer_likes)
