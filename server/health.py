"""``/healthz`` (the process is up) and ``/readyz`` (every backend answers its own protocol, with latency)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from aiokafka.admin import AIOKafkaAdminClient
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request

    from runtime.resources import Resources

CHECK_TIMEOUT = 2.0  # s per backend


async def _timed(check: Callable[[], Awaitable[object]]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await check()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__, "latencyMs": _ms(started)}
    return {"ok": True, "latencyMs": _ms(started)}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def check_backends(resources: Resources) -> dict[str, dict[str, object]]:
    """Ping graph (``RETURN 1``), Redis (PING), Kafka (cluster metadata) and S3 (HeadBucket) concurrently.

    Returns ``{"graph": {"ok": True, "latencyMs": 0.4}, ...}``; never raises.
    """
    settings = resources.settings

    async def kafka() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=2000)
        await admin.start()
        try:
            await admin.describe_cluster()
        finally:
            await admin.close()

    names = ("graph", "redis", "kafka", "s3")
    results = await asyncio.gather(
        _timed(resources.graph.ping), _timed(resources.redis.ping), _timed(kafka), _timed(resources.objects.ping)
    )
    return dict(zip(names, results, strict=True))


async def healthz(_: Request) -> JSONResponse:
    """Liveness: 200 while the process serves requests."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 when all four backends answer, else 503; the body lists each with its latency."""
    backends = await check_backends(request.app.state.resources)
    ready = all(b["ok"] for b in backends.values())
    return JSONResponse({"status": "ready" if ready else "unavailable", "backends": backends},
                        status_code=200 if ready else 503)
