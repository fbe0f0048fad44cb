"""A circuit breaker around one Redis client: after the first outage failures, calls fail at once.

Without it, a blackholed Redis (a stopped process, a partition: the TCP connection opens but nothing
answers) costs every call its full socket timeout, and a feed request, which makes three or four Redis
calls (session check, feed page, like counts), took 4-7 s although the graph answers in ms.

States and transitions are purgatory's (``purgatory.AsyncCircuitBreakerFactory``, in-memory, one circuit
per client; Nygard, *Release It!*, "Circuit Breaker"):

- closed: calls go to Redis. A call that fails because Redis is down or unreachable (``REDIS_DOWN``:
  connection refused or dropped, socket timeout) counts as a failure; any answer, an error reply
  included, is a success and resets the count. ``threshold`` consecutive failures open the circuit.
- opened: every call raises :class:`CircuitOpen` (a ``redis.exceptions.ConnectionError``, so every caller
  already handles it as "Redis is down") without touching the network.
- half-opened: purgatory lets calls through after the ``cooldown`` (its ``ttl``); one success closes, one
  failure re-opens. Our one policy on top: application calls never make that trial. They keep failing fast
  until the circuit is closed, and a background probe (``PING`` bounded by ``probe_timeout`` seconds) is
  the only caller that enters the half-open state, every ``cooldown`` seconds. So while Redis stays down no
  request ever waits for a socket timeout again (purgatory alone would let every concurrent request of the
  half-open moment wait out its timeout), and once Redis answers the circuit closes within about
  ``cooldown + probe_timeout`` seconds.

Library choice: purgatory (maintained, typed, asyncio-native, in-memory or Redis state) over aiobreaker
(last release 2021) and pybreaker (Tornado for async). The probe policy is the only code of our own.

Metrics: ``instagraph_redis_circuit_open{role}`` (1 while not closed), ``instagraph_redis_circuit_rejected_total
{role}`` (calls failed fast), ``instagraph_redis_circuit_opened_total{role}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import Counter, Gauge
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from redis import exceptions as redis_errors

from cache.errors import REDIS_DOWN

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from purgatory.service._async.circuitbreaker import AsyncCircuitBreaker

log = structlog.get_logger(__name__)

CLOSED, OPENED = "closed", "opened"

CIRCUIT_OPEN = Gauge("instagraph_redis_circuit_open", "1 while the Redis circuit breaker is not closed", ["role"])
REJECTED = Counter("instagraph_redis_circuit_rejected", "Redis calls failed fast by an open circuit", ["role"])
OPENED_TOTAL = Counter("instagraph_redis_circuit_opened", "Times the Redis circuit opened", ["role"])


class CircuitOpen(redis_errors.ConnectionError):
    """The circuit of this Redis client is open: the call was not sent (Redis was failing just now)."""


def _not_an_outage(exc: BaseException) -> bool:
    return not isinstance(exc, REDIS_DOWN)


class RedisBreaker:
    """The breaker of one Redis client, named by its ``role`` (``state``, ``cache``).

    ``threshold``: consecutive outage failures that open it; ``cooldown``: seconds between background
    probes while it is open; ``probe_timeout``: seconds one probe may take. ``probe`` is set by the client
    (:class:`GuardedRedis`): an un-guarded ``PING``.
    """

    def __init__(
        self, role: str, *, threshold: int = 2, cooldown: float = 1.0, probe_timeout: float = 0.5
    ) -> None:
        self.role, self.threshold, self.cooldown, self.probe_timeout = role, threshold, cooldown, probe_timeout
        self.probe: Callable[[], Awaitable[object]] | None = None
        self._factory = AsyncCircuitBreakerFactory(
            default_threshold=threshold, default_ttl=cooldown, exclude=[(BaseException, _not_an_outage)]
        )
        self._factory.add_listener(self._on_event)
        self._breaker: AsyncCircuitBreaker | None = None
        self._prober: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()  # set while closed
        self._closed.set()
        CIRCUIT_OPEN.labels(role).set(0)

    @property
    def state(self) -> str:
        """``closed``, ``opened`` or ``half-opened`` (purgatory's names)."""
        return CLOSED if self._breaker is None else str(self._breaker.context.state)

    @contextlib.asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Run the block as one Redis call: raises :class:`CircuitOpen` unless closed, and counts the
        block's ``REDIS_DOWN`` exceptions (which propagate) towards opening."""
        breaker = await self._get()
        if breaker.context.state != CLOSED:
            REJECTED.labels(self.role).inc()
            self._ensure_prober()
            raise CircuitOpen(f"Redis ({self.role}) circuit is open; not calling it")
        async with breaker:
            yield

    async def wait_closed(self, within: float) -> bool:
        """Wait up to ``within`` seconds for the circuit to be closed (the probe's next success); returns
        whether it is. For operators' tools and tests that restart Redis."""
        try:
            async with asyncio.timeout(within):
                await self._closed.wait()
        except TimeoutError:
            pass
        return self.state == CLOSED

    async def close(self) -> None:
        """Stop the background probe (the client is being closed)."""
        prober, self._prober = self._prober, None
        if prober is not None:
            prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await prober

    async def _get(self) -> AsyncCircuitBreaker:
        if self._breaker is None:
            self._breaker = await self._factory.get_breaker(self.role)
        return self._breaker

    def _on_event(self, name: str, event_name: str, event: Any) -> None:
        if event_name != "state_changed":
            return
        state = str(event.state)
        CIRCUIT_OPEN.labels(self.role).set(0 if state == CLOSED else 1)
        if state == CLOSED:
            self._closed.set()
        else:
            self._closed.clear()
        if state == OPENED:
            if self._prober is None or self._prober.done():
                OPENED_TOTAL.labels(self.role).inc()
                log.warning("redis.circuit_opened", role=self.role, cooldown_s=self.cooldown)
            self._ensure_prober()
        elif state == CLOSED:
            log.info("redis.circuit_closed", role=self.role)

    def _ensure_prober(self) -> None:
        if self._prober is None or self._prober.done():
            self._prober = asyncio.get_running_loop().create_task(self._probe_until_closed())

    async def _probe_until_closed(self) -> None:
        breaker = await self._get()
        while breaker.context.state != CLOSED:
            opened_at = breaker.context.opened_at or time.time()
            await asyncio.sleep(max(opened_at + self.cooldown - time.time(), 0) + 0.01)
            if self.probe is None:
                return
            try:
                async with breaker:  # after the cooldown: purgatory's half-open trial, ours alone
                    await asyncio.wait_for(self.probe(), self.probe_timeout)
            except OpenedState:
                continue  # the cooldown has not quite elapsed (clock step): sleep again
            except REDIS_DOWN:
                continue  # purgatory re-opened the circuit: sleep another cooldown
