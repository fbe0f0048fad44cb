"""The composition root: builds every service from the open resources, once per process."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from cache.feed import FeedCache
from cache.idempotency import IdempotencyRecords
from cache.like_counts import LikeCountCache
from cache.rate_limits import GcraLimiter
from cache.sessions import SessionCache
from cache.stories import StoryCache
from services.accounts import AccountService
from services.auth import AuthService
from services.blocks import BlockService
from services.close_friends import CloseFriendService
from services.connections import ConnectionService
from services.core.clock import Clock
from services.core.container import Services
from services.core.passwords import Passwords
from services.core.tokens import AccessTokens
from services.engagement import EngagementService
from services.fanout import FanoutService
from services.feed import FeedService
from services.follows import FollowService
from services.highlights import HighlightService
from services.idempotency import IdempotencyService
from services.like_counts import LikeCountService
from services.media_processing import MediaService, open_variants_to_public
from services.posts import PostService
from services.rate_limits import RateLimitService
from services.sessions import SessionService
from services.stories import StoryService
from services.story_expiry import StoryExpiryService
from services.story_media import StoryMediaService
from services.story_ring import StoryRingService
from services.story_views import StoryViewService
from services.suggestions import SuggestionService
from services.users import UserService
from services.visibility import VisibilityService

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from runtime.resources import Resources


@contextlib.asynccontextmanager
async def build_services(resources: Resources) -> AsyncIterator[Services]:
    """Yield the process's :class:`Services`; anything started here is stopped on exit."""
    services = Services()
    settings = resources.settings
    tokens = AccessTokens(
        settings.jwt_secret,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=settings.access_token_ttl,
    )
    session_cache = SessionCache(resources.redis, resources.keys, refresh_ttl=settings.refresh_token_ttl)
    sessions = SessionService(resources.graph, session_cache, tokens)
    services.rate_limits = RateLimitService(GcraLimiter(resources.redis), resources.keys)
    services.auth = AuthService(tokens, sessions)
    services.users = UserService(resources.graph)
    services.accounts = AccountService(resources.graph, Passwords(), sessions, services.rate_limits)
    services.follows = FollowService(resources.graph, services.rate_limits)
    services.blocks = BlockService(resources.graph)
    services.connections = ConnectionService(resources.graph)
    services.visibility = VisibilityService(resources.graph)
    services.suggestions = SuggestionService(resources.graph)
    feed_cache = FeedCache(resources.redis, resources.keys, max_items=settings.feed_max_items)
    services.feed = FeedService(
        resources.graph, feed_cache,
        celebrity_threshold=settings.celebrity_threshold, max_items=settings.feed_max_items,
    )
    services.fanout = FanoutService(resources.graph, feed_cache, celebrity_threshold=settings.celebrity_threshold)
    services.idempotency = IdempotencyService(IdempotencyRecords(resources.redis, resources.keys))
    like_counters = LikeCountService(resources.graph, LikeCountCache(resources.redis, resources.keys))
    services.engagement = EngagementService(resources.graph, like_counters)
    await open_variants_to_public(resources.objects)
    services.posts = PostService(resources.graph, resources.objects, services.visibility)
    services.media = MediaService(resources.graph, resources.objects, services.posts)
    _build_stories(services, resources)
    yield services


def _build_stories(services: Services, resources: Resources) -> None:
    settings, graph, objects = resources.settings, resources.graph, resources.objects
    clock = Clock()  # one clock for every story rule, so that a test can move their time together
    cache = StoryCache(resources.redis, resources.keys, seen_ttl_s=settings.story_ttl)
    services.stories = StoryService(graph, objects, cache, services.rate_limits, clock, ttl_s=settings.story_ttl)
    services.story_views = StoryViewService(graph, cache, services.stories.reader, services.rate_limits)
    services.story_ring = StoryRingService(graph, cache, services.stories.reader)
    services.story_media = StoryMediaService(graph, objects, cache, clock)
    services.story_expiry = StoryExpiryService(
        graph, objects, cache, clock, services.story_media,
        poll_interval_s=settings.story_expiry_poll_interval, sweep_interval_s=settings.story_sweep_interval,
    )  # fmt: skip
    services.close_friends = CloseFriendService(graph)
    services.highlights = HighlightService(graph, services.stories.reader)
