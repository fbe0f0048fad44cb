"""The graphql-transport-ws side of live subscriptions: keep-alive pings and the socket's registration.

Strawberry's ``BaseGraphQLTransportWSHandler`` answers pings but sends none (strawberry issue #2992), so an idle
subscription behind a proxy or a NAT is cut without anyone noticing. ``KeepAliveTransportWSHandler`` sends the
protocol's own ``{"type": "ping"}`` every ``keepalive_interval`` s once the connection is acknowledged (clients
answer ``pong``; gql's ``WebsocketsTransport`` does by default); ``instagraph serve`` also turns on uvicorn's
WebSocket-level pings. After ``connection_ack`` the socket is registered with the process's notification relay
under its user and session, so a logout (this session, or all) or a subscriber that does not keep up closes it;
``connection_init`` itself authenticates (``server.app.GraphQLView.on_ws_connect``): no or a bad token closes
with 4403, no ``connection_init`` within ``INSTAGRAPH_WS_CONNECTION_INIT_TIMEOUT`` with 4408 (Strawberry).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import TYPE_CHECKING, Any

from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler

from cache.notification_relay import Connection
from resolvers.context import Context

if TYPE_CHECKING:
    from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage


class KeepAliveTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler plus server pings and relay registration."""

    keepalive_interval: float = 15.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pinger: asyncio.Task[None] | None = None
        self._connection_id: str | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if not self.connection_acknowledged or self._pinger is not None:
            return
        context = self.context
        principal = await context.principal()
        if principal is not None:
            relay = context.services.live_notifications.relay
            self._connection_id = uuid.uuid4().hex
            context.connection_id = self._connection_id
            relay.add_connection(Connection(
                id=self._connection_id, user_id=principal.user_id, session_id=principal.session_id,
                session_version=principal.session_version, close=self._close,
            ))  # fmt: skip
        self._pinger = asyncio.create_task(self._ping_forever())

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=reason)

    async def _ping_forever(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.keepalive_interval)
                await self.send_message({"type": "ping"})
        except (WebSocketDisconnected, RuntimeError, OSError):
            return

    async def shutdown(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pinger
        if self._connection_id is not None:
            self.context.services.live_notifications.relay.remove_connection(self._connection_id)
        await super().shutdown()


def handler_class(keepalive_interval: float) -> type[KeepAliveTransportWSHandler]:
    """A handler class pinging every ``keepalive_interval`` s (Strawberry instantiates it per connection)."""
    return type("ConfiguredTransportWSHandler", (KeepAliveTransportWSHandler,),
                {"keepalive_interval": keepalive_interval})  # fmt: skip
