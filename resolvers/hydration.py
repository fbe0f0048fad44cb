"""Hands what a service read in batches (``services.core.records.PostHydration``) to the request's
DataLoaders, so that the ``Post`` fields of that page resolve without another round trip.

``prime(info, hydration)`` primes ``PostsById`` with the posts, ``UsersById`` with their authors,
``LikeCountsByPostId`` with the like counts and ``ViewerLikesByPostId`` with the viewer's likes. The producer
has checked the posts against the viewer (the feed's filter); what a map lacks is loaded on demand.
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
    """Prime the request's loaders with ``hydration``'s maps (see the module docstring)."""
    post_resolvers.prime_posts(info, hydration.posts.values())
    user_resolvers.prime_users(info, hydration.authors.values())
    engagement_resolvers.prime_like_counts(info, hydration.like_counts)
    engagement_resolvers.prime_viewer_likes(info, hydration.viewer_likes)
