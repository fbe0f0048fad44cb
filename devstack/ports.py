"""Local TCP ports for the embedded stack: probe, allocate, and fail fast on a taken configured port.

Free ports are picked at random from 20000–32767, below Linux's default ephemeral range (32768–60999), so
that the outgoing connections of other processes never grab a port between our probe and the child's bind,
and two stacks (tests and a dev stack) rarely even try the same port.
"""

from __future__ import annotations

import errno
import random
import socket

from devstack.errors import PortInUse

HOST = "127.0.0.1"
LOW, HIGH = 20_000, 32_767
GRPC_OFFSET = 10_000  # SeaweedFS's default "grpc port = http port + 10000"


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when ``host:port`` can be bound right now (a bind probe, closed at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def check_configured(service: str, port: int) -> None:
    """Raise ``PortInUse`` ("<service>: port N is already in use") unless ``port`` is free."""
    if not port_is_free(port):
        raise PortInUse(service, port)


class PortAllocator:
    """Hands out distinct free ports; ``taken`` holds every port already promised in this stack."""

    def __init__(self, taken: set[int] | None = None, *, rng: random.Random | None = None) -> None:
        self.taken: set[int] = set(taken or ())
        self._rng = rng or random.SystemRandom()

    def reserve(self, port: int) -> int:
        """Record ``port`` as used by this stack and return it."""
        self.taken.add(port)
        return port

    def free(self, *, with_offset: int | None = None) -> int:
        """Return a free port P (and, with ``with_offset``, P + offset also free); raises ``OSError``.

        ``with_offset`` serves SeaweedFS components that derive a gRPC port as P + 10000.
        """
        offset = with_offset or 0
        for _ in range(500):
            port = self._rng.randint(LOW - offset, HIGH - offset)
            pair = [port, port + offset] if offset else [port]
            if any(p in self.taken for p in pair):
                continue
            if all(port_is_free(p) for p in pair):
                self.taken.update(pair)
                return port
        raise OSError("no free local TCP port found in 500 tries")
