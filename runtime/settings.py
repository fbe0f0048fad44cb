"""Process settings, read from the environment with the ``INSTAGRAPH_`` prefix (and ``.env``).

One ``Settings`` object is built by each entry point (CLI, test fixtures) and its values are handed to the
layers that need them; nothing below ``server`` reads the environment itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.rate_limits import Limit, parse_rate_limits

#: The JWT secret a fresh checkout runs with; public, so a production process refuses it.
DEFAULT_JWT_SECRET = "change-me-in-production-please-32b"
JWT_SECRET_MIN_CHARS = 32


class Settings(BaseSettings):
    """Every tunable of an Instagraph process. Times are seconds unless the name says ``_ms``."""

    model_config = SettingsConfigDict(env_prefix="INSTAGRAPH_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = "prod"
    data_dir: Path = Path(".instagraph")

    graph_url: str = "falkordb://127.0.0.1:6379/instagraph"
    redis_url: str = "redis://127.0.0.1:6380/0"  # state: sessions, idempotency, rate limits (noeviction)
    cache_redis_url: str = "redis://127.0.0.1:6381/0"  # cache: feeds, counters (allkeys-lru, maxmemory)
    redis_prefix: str = ""
    redis_breaker_threshold: int = 2
    redis_breaker_cooldown: float = 1.0
    redis_probe_timeout: float = 0.5
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_idempotence: bool = True
    topic_suffix: str = ""
    consumer_group_prefix: str = "instagraph"
    search_url: str = "tantivy://.instagraph/search"
    search_api_key: str = ""
    search_timeout: float = 5.0  # s: one Meilisearch request, or a wait for Tantivy's writer lock
    explore_cache_ttl: int = 300  # s: how long a viewer's explore ordering stays frozen
    explore_max_per_author: int = 2  # posts of one author in any 20 consecutive explore posts

    s3_endpoint: str = "http://127.0.0.1:8333"
    s3_public_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key: str = "instagraph"
    s3_secret_key: str = "instagraph-secret"
    s3_bucket: str = "instagraph-media"

    jwt_secret: str = DEFAULT_JWT_SECRET
    jwt_issuer: str = "instagraph"
    jwt_audience: str = "instagraph-api"
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 24 * 3600

    celebrity_threshold: int = 10_000
    feed_max_items: int = 500
    feed_ttl: int = 3 * 24 * 3600  # s a home feed key lives without reads (inactive users get a rebuild)
    post_cache_size: int = Field(default=20_000, ge=0)  # published posts' content cached per API process
    request_timeout: float = 10.0
    forwarded_allow_ips: str = "127.0.0.1"  # proxies whose X-Forwarded-For gives the client IP (uvicorn's)

    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2_000
    max_request_bytes: int = 1024 * 1024  # POST /graphql bodies above this get 413 (server.limits)
    max_query_nodes: int = 10_000  # GitHub-style node limit of one document (schema.cost)
    rate_limits: str = ""  # "action=count/period_seconds,..." overriding services.rate_limits.LIMITS
    persisted_query_ttl: int = 7 * 24 * 3600  # how long an APQ hash -> query registration lives in Redis

    story_ttl: int = Field(default=86_400, ge=1)  # s a story stays live after it is created
    story_sweep_interval: float = Field(default=300.0, gt=0)  # s between reconciliation sweeps of the graph
    story_expiry_poll_interval: float = Field(default=5.0, gt=0)  # s between reads of the expiry schedule

    outbox_poll_interval: float = 0.2
    outbox_batch_size: int = 500
    outbox_lease: float = 30.0  # s a relay owns the rows it claimed (another relay takes them over after)
    outbox_max_attempts: int = 5  # publish attempts of an unpublishable row before its dead-letter record
    consumer_max_retries: int = 3
    consumer_retry_backoff_ms: int = 200
    consumer_outage_backoff_max_ms: int = 10_000  # cap of the pause between retries while a store is down
    consumer_session_timeout_ms: int = 10_000  # a consumer silent this long leaves its group (partitions move)
    consumer_heartbeat_interval_ms: int = 3_000

    notification_debounce: float = 60.0  # s: at most one live update of a group per this (first one at once)
    notification_group_window: float = 3_600.0  # s: a group stays open this long after its latest event
    notification_stream_max: int = 1_000  # entries kept (approximately) in each user's replay stream
    notification_delivery_interval: float = 0.2  # s between runs of the notification-delivery job
    ws_connection_init_timeout: float = 10.0  # s a WebSocket may wait before connection_init (then 4408)
    ws_keepalive_interval: float = 15.0  # s between server pings on an idle subscription socket
    ws_max_subscriptions: int = 5  # operations at once on one WebSocket connection
    subscriber_queue_size: int = 256  # notifications buffered per subscriber before a slow client is closed
    vapid_private_key: str = ""  # Web Push VAPID key (PEM, or base64url DER/raw); empty: Web Push off
    vapid_subject: str = "mailto:push@instagraph.invalid"  # VAPID "sub" claim (RFC 8292)
    web_push_allow_loopback: bool = False  # dev/test only: accept http://127.0.0.1 push endpoints
    web_push_timeout: float = 10.0  # s per push-service request
    web_push_max_attempts: int = 5  # attempts per push on 429/5xx (exponential backoff) before it is dropped

    seed_password: str = "instagraph-seed-pw"
    seed_graph_path: Path = Path("../shared/datasets/snap-ego-facebook/facebook_combined.txt")
    seed_posts_dir: Path = Path("../shared/datasets/instagram-posts")
    seed_images_dir: Path = Path("../shared/datasets/images")

    @field_validator("jwt_secret")
    @classmethod
    def _secret_long_enough(cls, value: str) -> str:
        if len(value) < JWT_SECRET_MIN_CHARS:
            raise ValueError(f"INSTAGRAPH_JWT_SECRET must be at least {JWT_SECRET_MIN_CHARS} characters")
        return value

    @field_validator("rate_limits")
    @classmethod
    def _rate_limits_parse(cls, value: str) -> str:
        parse_rate_limits(value)  # ValueError naming the malformed entry
        return value

    @property
    def is_dev(self) -> bool:
        """True when GraphiQL and field suggestions are on."""
        return self.env == "dev"

    @property
    def rate_limit_overrides(self) -> dict[str, Limit]:
        """``INSTAGRAPH_RATE_LIMITS`` parsed: action -> ``Limit`` (only the actions it names)."""
        return parse_rate_limits(self.rate_limits)

    def refuse_unsafe_production(self) -> None:
        """Raise ``ValueError`` naming ``INSTAGRAPH_JWT_SECRET`` when ``env`` is ``prod`` and the secret is
        the public default or a placeholder (``change-me...``, as in ``.env.example``): anyone could then
        sign access tokens. Entry points (the app factory, workers) call it before opening anything."""
        placeholder = self.jwt_secret == DEFAULT_JWT_SECRET or self.jwt_secret.lower().startswith("change-me")
        if self.env == "prod" and placeholder:
            raise ValueError(
                "INSTAGRAPH_JWT_SECRET is the public default or a placeholder; with INSTAGRAPH_ENV=prod set it "
                f"to a random secret of {JWT_SECRET_MIN_CHARS}+ characters (e.g. `openssl rand -base64 48`)"
            )
