"""Web Push, the device channel (RFC 8030 delivery, RFC 8291 payload encryption, RFC 8292 VAPID):
``register_push_subscription``, ``unregister_push_subscription`` and ``send_due`` (the delivery job).

A subscription is a browser's ``PushSubscription``: an endpoint URL of its push service and two keys
(``p256dh``: the browser's P-256 public key, 65 bytes uncompressed; ``auth``: 16 bytes; both base64url). The
endpoint is untrusted input, fetched later by our servers, so (SSRF): https only, no credentials in it, at most
``ENDPOINT_MAX_CHARS``, and its host must resolve to public addresses only; private, loopback, link-local,
reserved and multicast addresses are refused, at registration AND again before every send (DNS may change).
``allow_loopback`` (the ``INSTAGRAPH_WEB_PUSH_ALLOW_LOOPBACK`` setting, honoured only when ``INSTAGRAPH_ENV`` is
dev or test) admits ``http://127.0.0.1:<port>/...`` so tests run their own push service.

Sending (``pywebpush``'s ``WebPusher.encode``: aes128gcm with an ephemeral ECDH key; ``py_vapid`` signs the
``Authorization: vapid t=..., k=...`` header; the POST itself goes through httpx, redirects off): 2xx is done;
404 or 410 means the subscription is dead (the seed's "dead device tokens") and it is deleted; 429 and 5xx
(and network errors) are retried with exponential backoff (``RETRY_BASE_S`` * 2^attempt, or the push
service's ``Retry-After`` when it gives one, at most ``RETRY_MAX_S``), up to ``max_attempts`` sends; any other
answer drops that push. Without a VAPID key Web Push is off (nothing is queued).

Errors: ``BadInput`` (``endpoint``, ``p256dh``, ``auth``, nothing written), ``Unauthenticated``; graph and
Redis errors propagate.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import ipaddress
import socket
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import orjson
import structlog
from cryptography.hazmat.primitives.asymmetric import ec
from prometheus_client import Counter
from pywebpush import WebPusher

from cache.push_queue import PushJob
from graph.statements import web_push as stmts
from services.core.clock import now_ms
from services.core.errors import BadInput

if TYPE_CHECKING:
    from collections.abc import Callable

    from py_vapid import Vapid02

    from cache.push_queue import PushQueue
    from graph.store import GraphStore
    from services.notification_reads import NotificationReader
    from services.rate_limits import RateLimitService
    from services.users import UserService

log = structlog.get_logger(__name__)

ENDPOINT_MAX_CHARS = 2_048
MAX_SUBSCRIPTIONS = 10  # per user (browsers/devices)
RETRY_BASE_S = 1.0
RETRY_MAX_S = 3_600.0
TTL_S = 24 * 3600  # how long a push service keeps an undelivered message (RFC 8030 section 5.2)
PUSHED = Counter("instagraph_web_push_total", "Web Push sends by outcome", ["outcome"])


def _b64(value: str, field: str, size: int) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadInput(field, f"{field} must be base64url.") from exc
    if len(raw) != size:
        raise BadInput(field, f"{field} must encode {size} bytes.")
    return raw


def check_keys(p256dh: str, auth: str) -> None:
    """Raise ``BadInput`` unless ``p256dh`` is a P-256 public key (65 bytes, uncompressed) and ``auth`` 16
    bytes, both base64url."""
    if len(p256dh) > 200 or len(auth) > 100:
        raise BadInput("p256dh" if len(p256dh) > 200 else "auth", "Key too long.")
    raw = _b64(p256dh, "p256dh", 65)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise BadInput("p256dh", "p256dh is not a P-256 public key.") from exc
    _b64(auth, "auth", 16)


async def check_endpoint(endpoint: str, *, allow_loopback: bool) -> str:
    """``endpoint`` when it is a push URL our servers may POST to; raises ``BadInput("endpoint")`` otherwise
    (see the module docstring: https, public addresses; loopback http only with ``allow_loopback``)."""
    if not endpoint or len(endpoint) > ENDPOINT_MAX_CHARS or any(c.isspace() for c in endpoint):
        raise BadInput("endpoint", f"endpoint must be a URL of at most {ENDPOINT_MAX_CHARS} characters.")
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError as exc:
        raise BadInput("endpoint", "endpoint is not a valid URL.") from exc
    host = parts.hostname
    if not host or parts.username is not None or parts.password is not None:
        raise BadInput("endpoint", "endpoint must be an https URL with a host and no credentials.")
    if parts.scheme != "https" and not (allow_loopback and parts.scheme == "http"):
        raise BadInput("endpoint", "endpoint must be an https URL.")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BadInput("endpoint", "endpoint's host does not resolve.") from exc
    addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    for address in addresses:
        if address.is_loopback and allow_loopback:
            continue
        if not address.is_global or address.is_multicast:
            raise BadInput("endpoint", "endpoint must not point at a private, loopback or link-local address.")
    if parts.scheme == "http" and not all(a.is_loopback for a in addresses):
        raise BadInput("endpoint", "endpoint must be an https URL.")
    return endpoint


def endpoint_id(endpoint: str) -> str:
    """The stored id of a subscription: SHA-256 hex of its endpoint."""
    return hashlib.sha256(endpoint.encode()).hexdigest()


def retry_after_s(header: str | None, now: int) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), ``None`` when absent or bad."""
    if not header:
        return None
    if header.strip().isdigit():
        return float(header.strip())
    try:
        return max(0.0, parsedate_to_datetime(header).timestamp() - now / 1000)
    except (TypeError, ValueError):
        return None


class WebPushService:
    """Push subscriptions (graph) and the sender of the push queue.

    ``vapid``: the signing key (``None``: Web Push off); ``subject``: the VAPID ``sub`` claim; ``timeout`` s per
    request; ``clock`` epoch ms.
    """

    def __init__(
        self,
        graph: GraphStore,
        queue: PushQueue,
        reader: NotificationReader,
        users: UserService,
        *,
        vapid: Vapid02 | None,
        subject: str,
        allow_loopback: bool = False,
        timeout: float = 10.0,
        max_attempts: int = 5,
        clock: Callable[[], int] = now_ms,
        rate_limits: RateLimitService | None = None,
    ) -> None:
        self._graph, self._queue, self._reader, self._users = graph, queue, reader, users
        self._rate_limits = rate_limits
        self.vapid, self.subject, self.allow_loopback = vapid, subject, allow_loopback
        self.timeout, self.max_attempts, self.clock = timeout, max_attempts, clock

    @property
    def enabled(self) -> bool:
        """Whether pushes are sent (a VAPID key is configured)."""
        return self.vapid is not None

    async def register_push_subscription(self, user_id: str, endpoint: str, p256dh: str, auth: str) -> bool:
        """Register (or renew) a browser's push subscription for ``user_id``; True when stored.

        Raises ``BadInput`` (``endpoint``, ``p256dh``, ``auth``; ``endpoint`` also when the user already has
        ``MAX_SUBSCRIPTIONS`` others), ``RateLimited`` over 10 registrations a minute.
        """
        if self._rate_limits is not None:
            await self._rate_limits.hit("registerPushSubscription", user_id)
        check_keys(p256dh, auth)
        await check_endpoint(endpoint, allow_loopback=self.allow_loopback)
        sub = {"id": endpoint_id(endpoint), "endpoint": endpoint, "p256dh": p256dh, "auth": auth,
               "created_at": self.clock()}  # fmt: skip
        rows = await self._graph.write(stmts.REGISTER, {"user_id": user_id, "sub": sub, "max": MAX_SUBSCRIPTIONS})
        if rows and not rows[0]["allowed"]:
            raise BadInput("endpoint", f"At most {MAX_SUBSCRIPTIONS} push subscriptions per account.")
        return bool(rows)

    async def unregister_push_subscription(self, user_id: str, endpoint: str) -> bool:
        """Forget the viewer's subscription of ``endpoint``; True when there was one."""
        if not endpoint or len(endpoint) > ENDPOINT_MAX_CHARS:
            raise BadInput("endpoint", f"endpoint must be a URL of at most {ENDPOINT_MAX_CHARS} characters.")
        rows = await self._graph.write(stmts.UNREGISTER, {"user_id": user_id, "id": endpoint_id(endpoint)})
        return bool(rows and rows[0]["removed"])

    # -- sending ---------------------------------------------------------------------------------------------

    async def send_due(self, *, limit: int = 50) -> int:
        """Send the queued pushes that are due; returns how many requests were made."""
        if self.vapid is None:
            return 0
        jobs = await self._queue.take_due(self.clock(), limit=limit)
        sent = 0
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            for job in jobs:
                sent += await self._send_job(client, job)
        return sent

    async def _send_job(self, client: httpx.AsyncClient, job: PushJob) -> int:
        record = (await self._reader.notifications_by_ids(job.user_id, [job.notification_id]))[0]
        if record is None:  # gone or hidden since: nothing to say
            return 0
        subs = await self._graph.read(stmts.SUBSCRIPTIONS, {"user_id": job.user_id})
        if job.subscription_id is not None:
            subs = [s for s in subs if s["id"] == job.subscription_id]
        if not subs:
            return 0
        actors = [u for u in await self._users.users_by_ids(list(record.actor_ids[:3])) if u is not None]
        payload = orjson.dumps({
            "id": record.id, "kind": record.kind, "actorCount": record.actor_count,
            "actors": [u.username for u in actors], "postId": record.post_id, "commentId": record.comment_id,
            "updatedAt": record.updated_at,
        })  # fmt: skip
        for sub in subs:
            await self._send_one(client, job, sub, payload)
        return len(subs)

    async def _send_one(self, client: httpx.AsyncClient, job: PushJob, sub: dict[str, Any], payload: bytes) -> None:
        assert self.vapid is not None
        endpoint = sub["endpoint"]
        try:
            await check_endpoint(endpoint, allow_loopback=self.allow_loopback)
        except BadInput:
            log.warning("web_push.endpoint_refused", subscription_id=sub["id"])
            await self._graph.write(stmts.PRUNE, {"id": sub["id"]})
            PUSHED.labels("refused").inc()
            return
        pusher = WebPusher({"endpoint": endpoint, "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}})
        body = pusher.encode(payload, "aes128gcm")["body"]
        parts = urlsplit(endpoint)
        claims = {"sub": self.subject, "aud": f"{parts.scheme}://{parts.netloc}",
                  "exp": self.clock() // 1000 + 12 * 3600}  # fmt: skip
        headers = {**self.vapid.sign(claims), "TTL": str(TTL_S), "Content-Encoding": "aes128gcm",
                   "Content-Type": "application/octet-stream", "Urgency": "normal"}  # fmt: skip
        try:
            response = await client.post(endpoint, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("web_push.network_error", subscription_id=sub["id"], error=repr(exc))
            await self._retry(job, sub["id"], None)
            return
        status = response.status_code
        if 200 <= status < 300:
            PUSHED.labels("sent").inc()
        elif status in (404, 410):
            await self._graph.write(stmts.PRUNE, {"id": sub["id"]})
            PUSHED.labels("pruned").inc()
            log.info("web_push.pruned", subscription_id=sub["id"], status=status)
        elif status == 429 or status >= 500:
            await self._retry(job, sub["id"], retry_after_s(response.headers.get("retry-after"), self.clock()))
        else:
            PUSHED.labels("rejected").inc()
            log.warning("web_push.rejected", subscription_id=sub["id"], status=status)

    async def _retry(self, job: PushJob, subscription_id: str, after_s: float | None) -> None:
        attempt = job.attempt + 1
        if attempt >= self.max_attempts:
            PUSHED.labels("gave_up").inc()
            log.warning("web_push.gave_up", subscription_id=subscription_id, attempts=attempt)
            return
        delay = after_s if after_s is not None else RETRY_BASE_S * 2 ** (attempt - 1)
        PUSHED.labels("retry").inc()
        retry = PushJob(job.user_id, job.notification_id, subscription_id, attempt)
        await self._queue.put(retry, self.clock() + int(min(delay, RETRY_MAX_S) * 1000))
