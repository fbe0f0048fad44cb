"""The composition root: builds every service from the open resources, once per process."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from cache.admission import AdmissionCache
from cache.cold_feed import ColdFeedCache
from cache.edge_index import EdgeIndex
from cache.explore import ExploreCache
from cache.feed import FeedCache
from cache.hashtags import TrendCounters
from cache.idempotency import IdempotencyRecords
from cache.like_counts import LikeCountCache
from cache.notification_relay import NotificationRelay
from cache.notification_schedule import DeliverySchedule
from cache.notifications import NotificationStreams
from cache.persisted_queries import PersistedQueryStore
from cache.push_queue import PushQueue
from cache.rate_limits import GcraLimiter
from cache.sessions import SessionCache
from cache.social import SocialCache
from cache.stories import StoryCache
from services.accounts import AccountService
from services.admission import AdmissionService
from services.auth import AuthService
from services.blocks import BlockService
from services.close_friends import CloseFriendService
from services.core.clock import Clock
from services.core.container import Services
from services.core.device_tokens import DeviceTokens
from services.core.passwords import Passwords
from services.core.tokens import AccessTokens
from services.edge_pages import EdgePages
from services.engagement import COMMENTS, LIKERS, EngagementService
from services.explore import ExploreService
from services.fanout import FanoutService
from services.feed import FeedService
from services.follows import FOLLOWERS, FOLLOWING, FollowService
from services.hashtags import HashtagService
from services.highlights import HighlightService
from services.idempotency import IdempotencyService
from services.like_counts import LikeCountService
from services.media_processing import MediaService, open_variants_to_public
from services.notification_delivery import NotificationDelivery
from services.notification_preferences import NotificationPreferenceService
from services.notification_reads import NotificationReader
from services.notifications import NotificationService
from services.notifications_live import LiveNotificationService
from services.persisted_queries import PersistedQueryService
from services.post_content import PostContentCache
from services.post_reads import AUTHORED
from services.posts import PostService
from services.rate_limits import LIMITS, RateLimitService
from services.search import SearchService
from services.search_indexing import SearchIndexer
from services.sessions import SessionService
from services.stories import StoryService
from services.story_expiry import StoryExpiryService
from services.story_media import StoryMediaService
from services.story_ring import StoryRingService
from services.story_views import StoryViewService
from services.suggestions import SuggestionService
from services.users import UserService
from services.visibility import VisibilityService
from services.web_push import WebPushService
from services.web_push_keys import load_vapid

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from runtime.resources import Resources


@contextlib.asynccontextmanager
async def build_services(resources: Resources) -> AsyncIterator[Services]:
    """Yield the process's :class:`Services`; anything started here is stopped on exit."""
    settings = resources.settings
    graph, redis, keys = resources.graph, resources.redis, resources.keys
    tokens = AccessTokens(
        settings.jwt_secret,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=settings.access_token_ttl,
    )
    streams = NotificationStreams(redis, keys, max_len=settings.notification_stream_max)
    session_cache = SessionCache(redis, keys, refresh_ttl=settings.refresh_token_ttl)
    sessions = SessionService(graph, session_cache, tokens, live=streams)
    rate_limits = RateLimitService(GcraLimiter(redis), keys, {**LIMITS, **settings.rate_limit_overrides})
    devices = DeviceTokens(settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    visibility = VisibilityService(graph)
    edge_index = EdgeIndex(resources.cache, keys)
    social = SocialCache(resources.cache, keys)
    edge_pages = EdgePages(graph, edge_index, (FOLLOWERS, FOLLOWING, LIKERS, COMMENTS, AUTHORED))
    feed_cache = FeedCache(resources.cache, keys, max_items=settings.feed_max_items, ttl_s=settings.feed_ttl)
    await open_variants_to_public(resources.objects)
    posts = PostService(graph, resources.objects, index=edge_pages)
    like_counts = LikeCountService(graph, LikeCountCache(resources.cache, keys, state=redis))
    users = UserService(graph)
    # notifications: preferences, the list, delivery (debounce, do-not-disturb), Web Push, the live relay
    preferences = NotificationPreferenceService(graph, rate_limits)
    reads = NotificationReader(graph, rate_limits)
    vapid = load_vapid(settings.vapid_private_key)
    push_queue = PushQueue(redis, keys)
    delivery = NotificationDelivery(
        streams, DeliverySchedule(redis, keys), preferences, push_queue if vapid is not None else None,
        debounce_s=settings.notification_debounce,
    )  # fmt: skip
    web_push = WebPushService(
        graph, push_queue, reads, users, vapid=vapid, subject=settings.vapid_subject,
        allow_loopback=settings.web_push_allow_loopback and settings.env != "prod",
        timeout=settings.web_push_timeout, max_attempts=settings.web_push_max_attempts, rate_limits=rate_limits,
    )  # fmt: skip
    relay = NotificationRelay(redis, streams, queue_size=settings.subscriber_queue_size)
    story_clock = Clock()  # one clock for every story rule, so that a test can move their time together
    story_cache = StoryCache(redis, keys, seen_ttl_s=settings.story_ttl)
    stories = StoryService(graph, resources.objects, story_cache, rate_limits, story_clock, ttl_s=settings.story_ttl)
    story_media = StoryMediaService(graph, resources.objects, story_cache, story_clock)
    explore = ExploreService(
        graph, ExploreCache(resources.cache, keys), like_counts,
        cache_ttl_s=settings.explore_cache_ttl, max_per_author=settings.explore_max_per_author,
    )
    auth = AuthService(tokens, sessions)
    services = Services(
        auth=auth,
        admission=AdmissionService(auth, sessions, rate_limits, AdmissionCache(redis, keys)),
        accounts=AccountService(graph, Passwords(), sessions, rate_limits, devices),
        users=users,
        follows=FollowService(graph, rate_limits, edge_pages, social, feed_cache),
        edge_pages=edge_pages,
        blocks=BlockService(graph),
        visibility=visibility,
        suggestions=SuggestionService(graph, social),
        rate_limits=rate_limits,
        idempotency=IdempotencyService(IdempotencyRecords(redis, keys), secret=settings.jwt_secret),
        posts=posts,
        media=MediaService(graph, resources.objects, posts),
        feed=FeedService(
            graph, feed_cache, like_counts, ColdFeedCache(resources.cache, keys),
            content=PostContentCache(settings.post_cache_size),
            celebrity_threshold=settings.celebrity_threshold, max_items=settings.feed_max_items, explore=explore,
        ),
        fanout=FanoutService(
            graph, feed_cache, celebrity_threshold=settings.celebrity_threshold, edges=edge_index, social=social
        ),
        engagement=EngagementService(graph, like_counts, edge_pages),
        persisted_queries=PersistedQueryService(
            PersistedQueryStore(redis, keys), ttl_s=settings.persisted_query_ttl
        ),
        notifications=NotificationService(graph, delivery, group_window_s=settings.notification_group_window),
        notification_reads=reads,
        notification_preferences=preferences,
        notification_delivery=delivery,
        live_notifications=LiveNotificationService(relay, streams, reads),
        web_push=web_push,
        stories=stories,
        story_views=StoryViewService(graph, story_cache, stories.reader, rate_limits),
        story_ring=StoryRingService(graph, story_cache, stories.reader),
        story_media=story_media,
        story_expiry=StoryExpiryService(
            graph, resources.objects, story_cache, story_clock, story_media,
            poll_interval_s=settings.story_expiry_poll_interval, sweep_interval_s=settings.story_sweep_interval,
        ),
        close_friends=CloseFriendService(graph),
        highlights=HighlightService(graph, stories.reader),
        search=SearchService(graph, resources.search, rate_limits, like_counts, users),
        search_indexer=SearchIndexer(graph, resources.search, like_counts),
        hashtags=HashtagService(graph, TrendCounters(redis, keys), like_counts),
        explore=explore,
    )
    try:
        yield services
    finally:
        await relay.close()
