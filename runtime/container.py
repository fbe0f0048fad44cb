"""The composition root: builds every service from the open resources, once per process."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from cache.feed import FeedCache
from cache.idempotency import IdempotencyRecords
from cache.like_counts import LikeCountCache
from cache.notification_relay import NotificationRelay
from cache.notification_schedule import DeliverySchedule
from cache.notifications import NotificationStreams
from cache.push_queue import PushQueue
from cache.rate_limits import GcraLimiter
from cache.sessions import SessionCache
from services.accounts import AccountService
from services.auth import AuthService
from services.blocks import BlockService
from services.connections import ConnectionService
from services.core.container import Services
from services.core.passwords import Passwords
from services.core.tokens import AccessTokens
from services.engagement import EngagementService
from services.fanout import FanoutService
from services.feed import FeedService
from services.follows import FollowService
from services.idempotency import IdempotencyService
from services.like_counts import LikeCountService
from services.media_processing import MediaService, open_variants_to_public
from services.notification_delivery import NotificationDelivery
from services.notification_preferences import NotificationPreferenceService
from services.notification_reads import NotificationReader
from services.notifications import NotificationService
from services.notifications_live import LiveNotificationService
from services.posts import PostService
from services.rate_limits import RateLimitService
from services.sessions import SessionService
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
    services = Services()
    settings = resources.settings
    tokens = AccessTokens(
        settings.jwt_secret,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=settings.access_token_ttl,
    )
    session_cache = SessionCache(resources.redis, resources.keys, refresh_ttl=settings.refresh_token_ttl)
    streams = NotificationStreams(resources.redis, resources.keys, max_len=settings.notification_stream_max)
    sessions = SessionService(resources.graph, session_cache, tokens, live=streams)
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
    _notifications(services, resources, streams)
    try:
        yield services
    finally:
        await services.live_notifications.relay.close()


def _notifications(services: Services, resources: Resources, streams: NotificationStreams) -> None:
    """The notification services: preferences, the list, the worker's use cases, delivery, Web Push, live."""
    settings = resources.settings
    services.notification_preferences = NotificationPreferenceService(resources.graph, services.rate_limits)
    services.notification_reads = NotificationReader(resources.graph, services.rate_limits)
    vapid = load_vapid(settings.vapid_private_key)
    push_queue = PushQueue(resources.redis, resources.keys)
    services.notification_delivery = NotificationDelivery(
        streams, DeliverySchedule(resources.redis, resources.keys), services.notification_preferences,
        push_queue if vapid is not None else None, debounce_s=settings.notification_debounce,
    )  # fmt: skip
    services.notifications = NotificationService(
        resources.graph, services.notification_delivery, group_window_s=settings.notification_group_window
    )
    services.web_push = WebPushService(
        resources.graph, push_queue, services.notification_reads, services.users, vapid=vapid,
        subject=settings.vapid_subject, allow_loopback=settings.web_push_allow_loopback and settings.env != "prod",
        timeout=settings.web_push_timeout, max_attempts=settings.web_push_max_attempts,
        rate_limits=services.rate_limits,
    )  # fmt: skip
    relay = NotificationRelay(resources.redis, streams, queue_size=settings.subscriber_queue_size)
    services.live_notifications = LiveNotificationService(relay, streams, services.notification_reads)
