"""The service objects of one process, built once by the composition root (``runtime/container.py``).

Typed with the real classes, so that mypy checks every resolver -> service and worker -> service call.
The imports are for typing only: building the services is ``runtime.container.build_services``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.accounts import AccountService
    from services.admission import AdmissionService
    from services.auth import AuthService
    from services.blocks import BlockService
    from services.close_friends import CloseFriendService
    from services.edge_pages import EdgePages
    from services.engagement import EngagementService
    from services.explore import ExploreService
    from services.fanout import FanoutService
    from services.feed import FeedService
    from services.follows import FollowService
    from services.hashtags import HashtagService
    from services.highlights import HighlightService
    from services.idempotency import IdempotencyService
    from services.media_processing import MediaService
    from services.notification_delivery import NotificationDelivery
    from services.notification_preferences import NotificationPreferenceService
    from services.notification_reads import NotificationReader
    from services.notifications import NotificationService
    from services.notifications_live import LiveNotificationService
    from services.persisted_queries import PersistedQueryService
    from services.posts import PostService
    from services.rate_limits import RateLimitService
    from services.search import SearchService
    from services.search_indexing import SearchIndexer
    from services.stories import StoryService
    from services.story_expiry import StoryExpiryService
    from services.story_media import StoryMediaService
    from services.story_ring import StoryRingService
    from services.story_views import StoryViewService
    from services.suggestions import SuggestionService
    from services.users import UserService
    from services.visibility import VisibilityService
    from services.web_push import WebPushService


@dataclass(frozen=True, slots=True)
class Services:
    """Every use-case object a resolver or a worker may call, by capability (one name in every layer)."""

    auth: AuthService
    admission: AdmissionService
    accounts: AccountService
    users: UserService
    follows: FollowService
    edge_pages: EdgePages
    blocks: BlockService
    visibility: VisibilityService
    suggestions: SuggestionService
    rate_limits: RateLimitService
    idempotency: IdempotencyService
    posts: PostService
    media: MediaService
    feed: FeedService
    fanout: FanoutService
    engagement: EngagementService
    persisted_queries: PersistedQueryService
    notifications: NotificationService
    notification_reads: NotificationReader
    notification_preferences: NotificationPreferenceService
    notification_delivery: NotificationDelivery
    live_notifications: LiveNotificationService
    web_push: WebPushService
    stories: StoryService
    story_views: StoryViewService
    story_ring: StoryRingService
    story_media: StoryMediaService
    story_expiry: StoryExpiryService
    close_friends: CloseFriendService
    highlights: HighlightService
    search: SearchService
    search_indexer: SearchIndexer
    hashtags: HashtagService
    explore: ExploreService
