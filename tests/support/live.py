"""Real servers and real clients for the subscription tests.

- ``serve_app(app)``: the module's Starlette app (its lifespan already entered by the ``app`` fixture) served by
  an in-process uvicorn on a free loopback port; yields ``ws://127.0.0.1:<port>/graphql``.
- ``api_process(settings, **overrides)``: ``uvicorn server.app:create_app --factory`` as a CHILD PROCESS with
  the settings as ``INSTAGRAPH_*`` environment (another API process on the same Redis and graph); yields its
  ws URL and stops it afterwards.
- ``Subscriber``: gql's ``WebsocketsTransport`` with the ``graphql-transport-ws`` subprotocol, the token in
  ``init_payload``, running ``notifications(after:)`` in a background task; ``await next()`` returns the next
  notification (a dict), ``await quiet(seconds)`` asserts nothing came.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn
import websockets
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from tests.support.notifications import SUBSCRIBE
from tests.support.paths import PROJECT_ROOT

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette

    from runtime.settings import Settings


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serve_app(app: Starlette, *, ws_ping_interval: float | None = None) -> AsyncIterator[str]:
    """Serve ``app`` (lifespan off: the fixture runs it) with uvicorn in this process; yields the ws URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning",
                            ws_ping_interval=ws_ping_interval)  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1_000):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


def settings_env(settings: Settings, **overrides: Any) -> dict[str, str]:
    """``settings`` (plus ``overrides``) as the ``INSTAGRAPH_*`` environment a child process reads."""
    values = settings.model_dump() | overrides
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSTAGRAPH_")}
    for name, value in values.items():
        env[f"INSTAGRAPH_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


@contextlib.asynccontextmanager
async def api_process(settings: Settings, **overrides: Any) -> AsyncIterator[str]:
    """Run ``uvicorn server.app:create_app --factory`` as a child process; yields its ws URL."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "server.app:create_app", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "warning",
        cwd=PROJECT_ROOT, env=settings_env(settings, **overrides),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if proc.returncode is not None:
                    raise RuntimeError(f"API process exited with {proc.returncode}")
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("API process did not come up within 60 s")
                await asyncio.sleep(0.1)
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


class Subscriber:
    """A live ``notifications(after:)`` subscription over gql's ``WebsocketsTransport``.

    ``received`` gets each ``notifications`` payload (a dict); ``error`` holds what ended the subscription.
    """

    def __init__(self, url: str, token: str, *, after: str | None = None) -> None:
        self.transport = WebsocketsTransport(
            url=url,
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
            init_payload={"authorization": f"Bearer {token}"},
        )
        self.client = Client(transport=self.transport, fetch_schema_from_transport=False)
        self.after = after
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.error: BaseException | None = None
        self.ended = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Subscriber:
        session = await self.client.connect_async(reconnecting=False)
        request = GraphQLRequest(SUBSCRIBE, variable_values={"after": self.after})

        async def run() -> None:
            try:
                async for result in session.subscribe(request):
                    await self.received.put(result["notifications"])
            except Exception as exc:  # what closed it: the test inspects it
                self.error = exc
            finally:
                self.ended.set()

        self._task = asyncio.create_task(run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self.client.close_async()

    @property
    def close_code(self) -> int | None:
        """The close code the server sent, from the ``websockets.ConnectionClosed`` behind gql's error."""
        exc: BaseException | None = self.error
        while exc is not None:
            if isinstance(exc, websockets.ConnectionClosed):
                return exc.rcvd.code if exc.rcvd is not None else None
            exc = exc.__cause__ or exc.__context__
        return None

    async def next(self, within: float = 15.0) -> dict[str, Any]:
        """The next notification received (fails the test after ``within`` s)."""
        return await asyncio.wait_for(self.received.get(), within)

    async def quiet(self, seconds: float) -> None:
        """Assert that nothing arrives within ``seconds``."""
        try:
            got = await asyncio.wait_for(self.received.get(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"expected nothing, received {got}")


async def wait_subscribed(app: Any, expected: int = 1, within: float = 10.0) -> None:
    """Wait until the in-process relay of ``app`` holds ``expected`` live subscriptions."""
    relay = app.state.services.live_notifications.relay
    deadline = time.monotonic() + within
    while relay.subscriber_count < expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{relay.subscriber_count} subscriptions, expected {expected}")
        await asyncio.sleep(0.02)
