"""The Redis client every process uses: redis-py's asyncio client with each round trip behind a breaker.

:class:`GuardedRedis` runs every command (``execute_command``: plain commands, scripts, locks, scans) and
every pipeline (``GuardedPipeline.execute``) inside its :class:`cache.breaker.RedisBreaker`'s guard, so an
open circuit fails each call at once with ``CircuitOpen`` (a ``redis.exceptions.ConnectionError``) and
callers keep their one rule: ``cache.errors.redis_call`` turns it into ``CacheUnavailable`` like any
outage. Pub/sub connections are not guarded (they are long-lived and reconnect on their own).

Redis Cluster: a URL ``redis+cluster://host:port,host:port,...`` (any reachable nodes; the rest of the
cluster is discovered with ``CLUSTER SLOTS``) gives a :class:`GuardedRedisCluster` instead, redis-py's
``redis.asyncio.cluster.RedisCluster`` behind the same breaker. Every key the project writes is hash-tagged
(``cache.keys``) so that each multi-key command, script and transaction stays in one slot; pipelines are
split per node by redis-py (one round trip per node, in parallel: a fan-out chunk costs as many round trips
as the cluster has masters holding its feeds). Multi-key reads across slots go through :func:`mget`. Lua
scripts queued in a cluster pipeline are loaded on every master first (``SCRIPT LOAD`` to all primaries),
since a pipeline cannot fall back from ``NOSCRIPT`` the way a single ``EVALSHA`` does. Both clients are used
through the ``redis.asyncio.Redis`` interface (the cluster client is typed as :class:`GuardedRedis`, whose
commands it shares).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.exceptions import NoScriptError

from cache.breaker import RedisBreaker

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence

    from redis.commands.core import AsyncScript

CLUSTER_SCHEME = "redis+cluster"


class GuardedPipeline(Pipeline):
    """A pipeline whose ``execute`` (one round trip) goes through the client's breaker."""

    breaker: RedisBreaker

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Send the queued commands; raises ``CircuitOpen`` without sending while the circuit is open."""
        async with self.breaker.guard():
            return await super().execute(raise_on_error)


class GuardedRedis(aioredis.Redis):
    """``redis.asyncio.Redis`` with a :class:`RedisBreaker` (attribute ``breaker``) around each round trip.

    Build it with :func:`guarded_from_url`.
    """

    breaker: RedisBreaker

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        """One command through the breaker (raises ``CircuitOpen`` while it is open)."""
        async with self.breaker.guard():
            return await super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> GuardedPipeline:
        """A :class:`GuardedPipeline` on this client's pool and breaker."""
        pipe = GuardedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.breaker = self.breaker
        return pipe

    async def ping_unguarded(self) -> object:
        """``PING`` outside the breaker: the breaker's own probe."""
        return await aioredis.Redis.execute_command(self, "PING")

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        """Stop the breaker's probe, then close the client."""
        await self.breaker.close()
        await super().aclose(close_connection_pool)


class GuardedClusterPipeline(ClusterPipeline):
    """A cluster pipeline (split per node by redis-py) whose ``execute`` goes through the client's breaker and
    first loads the client's registered scripts on every master (once, again after a ``NOSCRIPT``)."""

    breaker: RedisBreaker

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:  # type: ignore[override]
        """Queue ``EVALSHA`` (redis-py blocks the method on cluster pipelines because a ``NOSCRIPT`` could not
        be retried there; :meth:`execute` loads every registered script on every master first instead). The
        slot is the one of the script's keys, which must share a hash tag."""
        return self.execute_command("EVALSHA", sha, numkeys, *keys_and_args)

    def __await__(self) -> Generator[Any, None, GuardedClusterPipeline]:
        """``await pipe`` (what redis-py's script objects do with a queued call) keeps the queued commands:
        redis-py's cluster pipeline would re-initialize, dropping them."""
        return self._ready().__await__()

    async def _ready(self) -> GuardedClusterPipeline:
        client = self.cluster_client
        if client._initialize:
            await client.initialize()
        return self

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> list[Any]:
        """Send the queued commands, one round trip per node; raises ``CircuitOpen`` while the circuit is
        open and ``NoScriptError`` when a master lost the scripts meanwhile (the next call reloads them)."""
        client = cast("GuardedRedisCluster", self.cluster_client)
        async with self.breaker.guard():
            await client.load_scripts()
            try:
                return await super().execute(raise_on_error, allow_redirections)
            except NoScriptError:
                client.scripts_loaded = False
                raise


class GuardedRedisCluster(RedisCluster):
    """``redis.asyncio.cluster.RedisCluster`` with a :class:`RedisBreaker` around each round trip, like
    :class:`GuardedRedis`. Build it with :func:`guarded_from_url` and a ``redis+cluster://`` URL."""

    breaker: RedisBreaker
    scripts: list[AsyncScript]
    scripts_loaded: bool

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        """One command through the breaker (raises ``CircuitOpen`` while it is open)."""
        async with self.breaker.guard():
            return await super().execute_command(*args, **options)

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> GuardedClusterPipeline:
        """A :class:`GuardedClusterPipeline` on this client (a transaction must stay in one slot)."""
        pipe = GuardedClusterPipeline(self, transaction)  # type: ignore[abstract]  # redis-py's stub marks it abstract
        pipe.breaker = self.breaker
        return pipe

    def register_script(self, script: Any) -> Any:
        """redis-py's script object, remembered so that pipelines can load it on every master first."""
        registered: AsyncScript = super().register_script(script)  # type: ignore[assignment]
        self.scripts.append(registered)
        self.scripts_loaded = False
        return registered

    async def load_scripts(self) -> None:
        """``SCRIPT LOAD`` every registered script on every master, unless done since the last ``NOSCRIPT``."""
        if self.scripts_loaded:
            return
        for script in self.scripts:
            await RedisCluster.execute_command(self, "SCRIPT LOAD", script.script, target_nodes=self.PRIMARIES)
        self.scripts_loaded = True

    async def ping_unguarded(self) -> object:
        """``PING`` (to a random node) outside the breaker: the breaker's own probe."""
        return await RedisCluster.execute_command(self, "PING", target_nodes=self.RANDOM)

    async def aclose(self) -> None:
        """Stop the breaker's probe, then close the client."""
        await self.breaker.close()
        await super().aclose()


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """``[(host, port)]`` of a ``redis+cluster://host:port,host:port/`` URL (port 6379 when omitted);
    raises ``ValueError`` for another scheme or no node."""
    parts = urlsplit(url)
    if parts.scheme != CLUSTER_SCHEME:
        raise ValueError(f"not a {CLUSTER_SCHEME}:// URL: {url!r}")
    nodes = []
    for item in parts.netloc.rpartition("@")[2].split(","):
        host, _, port = item.strip().rpartition(":") if ":" in item else (item.strip(), "", "6379")
        if host:
            nodes.append((host, int(port or 6379)))
    if not nodes:
        raise ValueError(f"no node in {url!r}")
    return nodes


def is_cluster_url(url: str) -> bool:
    """True for a ``redis+cluster://`` URL."""
    return url.startswith(CLUSTER_SCHEME + "://")


def guarded_from_url(url: str, breaker: RedisBreaker, **options: Any) -> GuardedRedis:
    """``GuardedRedis.from_url(url, **options)`` wired to ``breaker`` (whose probe becomes its ``PING``); a
    ``redis+cluster://`` URL gives a :class:`GuardedRedisCluster` (typed as ``GuardedRedis``, whose interface
    it shares; options a cluster does not take, such as ``health_check_interval``, are passed on as they are)."""
    if is_cluster_url(url):
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        cluster = GuardedRedisCluster(
            startup_nodes=[ClusterNode(h, p) for h, p in cluster_nodes(url)],
            username=parts.username, password=parts.password,
            decode_responses=query.get("decode_responses", ["false"])[0].lower() in ("1", "true", "yes"),
            **{k: v for k, v in options.items() if k not in ("retry", "retry_on_error")},
        )  # fmt: skip
        cluster.scripts, cluster.scripts_loaded = [], False
        cluster.breaker = breaker
        breaker.probe = cluster.ping_unguarded
        return cast("GuardedRedis", cluster)
    client = cast("GuardedRedis", GuardedRedis.from_url(url, **options))
    client.breaker = breaker
    breaker.probe = client.ping_unguarded
    return client


async def mget(redis: aioredis.Redis, keys: Sequence[str]) -> list[Any]:
    """``MGET keys`` in order; on a cluster the keys may live in different slots, so redis-py's
    ``mget_nonatomic`` groups them per slot (one pipelined round trip per node). Raises what redis-py raises."""
    if not keys:
        return []
    if isinstance(redis, RedisCluster):
        return list(await redis.mget_nonatomic(list(keys)))
    return list(await redis.mget(list(keys)))
