"""``/healthz`` (the process is up) and ``/readyz`` (the API's own dependencies answer).

Readiness gates on what a request needs: the graph (``RETURN 1``) and the state Redis (PING). The cache Redis,
Kafka and S3 are reported in the body but never make the API unready: with the cache Redis down the reads
degrade to the graph behind the circuit breaker (``cache.breaker``); requests write events through the outbox (a broker
outage delays them, loses nothing) and talk to S3 only to presign and check uploads (those use cases answer
``SERVICE_UNAVAILABLE`` on their own). Taking every API process out of the load balancer because the broker
is down would turn a delay into an outage.

:class:`Readiness` keeps ONE long-lived Kafka client (aiokafka's ``AIOKafkaClient``, opened on first use and
again only after a failure, closed with the app), and serves a cached answer for ``CACHE_S`` (1 s): a load
balancer polling every process many times a second costs the backends at most one check per second per
process, and concurrent polls share one check.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from aiokafka.client import AIOKafkaClient
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request

    from runtime.resources import Resources

CHECK_TIMEOUT = 2.0  # s per backend
CACHE_S = 1.0
GATING = ("graph", "redis")


async def _timed(check: Callable[[], Awaitable[object]]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await check()
    except Exception as exc:  # a readiness probe reports any failure, it never raises
        return {"ok": False, "error": type(exc).__name__, "latencyMs": _ms(started)}
    return {"ok": True, "latencyMs": _ms(started)}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


class Readiness:
    """The readiness of one API process over its open ``resources`` (see the module docstring)."""

    def __init__(self, resources: Resources, *, cache_s: float = CACHE_S) -> None:
        self._resources = resources
        self._cache_s = cache_s
        self._kafka: AIOKafkaClient | None = None
        self._lock = asyncio.Lock()
        self._answer: tuple[float, dict[str, dict[str, object]]] | None = None
        self.kafka_clients_opened = 0
        self.checks = 0

    async def backends(self) -> dict[str, dict[str, object]]:
        """``{"graph": {"ok": True, "latencyMs": 0.4}, "redis": ..., "cache": ..., "kafka": ..., "s3": ...}``, at most
        ``cache_s`` old; never raises."""
        async with self._lock:
            now = time.monotonic()
            if self._answer is not None and now - self._answer[0] < self._cache_s:
                return self._answer[1]
            resources = self._resources
            results = await asyncio.gather(
                _timed(resources.graph.ping), _timed(resources.redis.ping), _timed(resources.cache.ping),
                _timed(self._kafka_metadata), _timed(resources.objects.ping),
            )  # fmt: skip
            self.checks += 1
            answer = dict(zip(("graph", "redis", "cache", "kafka", "s3"), results, strict=True))
            self._answer = (time.monotonic(), answer)
            return answer

    async def _kafka_metadata(self) -> None:
        if self._kafka is None:
            client = AIOKafkaClient(
                bootstrap_servers=self._resources.settings.kafka_bootstrap, request_timeout_ms=2000
            )
            self.kafka_clients_opened += 1
            try:
                await client.bootstrap()
            except BaseException:
                await client.close()
                raise
            self._kafka = client
        try:
            await self._kafka.fetch_all_metadata()
        except BaseException:
            await self.close()  # a fresh client next time: the broker may have come back elsewhere
            raise

    async def close(self) -> None:
        """Close the Kafka client, if any (the app's shutdown)."""
        client, self._kafka = self._kafka, None
        if client is not None:
            await client.close()


async def healthz(_: Request) -> JSONResponse:
    """Liveness: 200 while the process serves requests."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 when the graph and Redis answer (Kafka and S3 are listed, not gating), else 503."""
    readiness: Readiness = request.app.state.readiness
    backends = await readiness.backends()
    ready = all(backends[name]["ok"] for name in GATING)
    body = {"status": "ready" if ready else "unavailable", "gating": list(GATING), "backends": backends}
    return JSONResponse(body, status_code=200 if ready else 503)
