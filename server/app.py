"""The Starlette application: ``/graphql``, ``/healthz``, ``/readyz``, ``/metrics``.

``/graphql`` takes POST (bodies up to ``max_request_bytes``, ``server.limits``) and GET for queries only, serves
GraphiQL only when ``INSTAGRAPH_ENV=dev``, and speaks only the ``graphql-transport-ws`` subprotocol for
subscriptions. Clients are opened in the lifespan.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from resolvers.context import Context
from runtime.container import build_services
from runtime.resources import open_resources
from runtime.settings import Settings
from schema.root import build_schema
from server.health import healthz, readyz
from server.idempotency import IdempotencyMiddleware
from server.limits import BodyLimit
from server.subscriptions import handler_class
from services.core.errors import Unauthenticated

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request
    from starlette.websockets import WebSocket

    from services.core.container import Services

log = structlog.get_logger(__name__)


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view with the typed :class:`Context` and WebSocket auth from ``connection_init``."""

    services: Services

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        """The request's :class:`Context`: services, raw ``Authorization``, client IP (after the trusted
        proxies' ``X-Forwarded-For``), ``Idempotency-Key``. Authentication itself is lazy (``Context``)."""
        headers = request.headers
        client = request.client
        return Context(
            services=self.services,
            authorization=headers.get("authorization"),
            client_ip=client.host if client else "unknown",
            idempotency_key=headers.get("idempotency-key"),
            request=request,
            response=response,
        )

    async def on_ws_connect(self, context: Context) -> Any:
        """Authenticate ``connection_init``'s ``authorization`` payload (``"Bearer <access token>"``): no token
        or a bad, expired or revoked one rejects the connection (Strawberry closes it with 4403)."""
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        token = params.get("authorization") or params.get("Authorization")
        if not isinstance(token, str) or not token:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.authorization = token
        try:
            await context.principal()
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"}) from exc
        return UNSET  # a plain {"type": "connection_ack"}, no payload


async def metrics(_: Request) -> Response:
    """Prometheus exposition of this process's metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app for ``settings`` (default: from the environment)."""
    settings = settings or Settings()
    schema = build_schema(
        dev=settings.is_dev,
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
    )
    view = GraphQLView(
        schema,
        graphql_ide="graphiql" if settings.is_dev else None,
        allow_queries_via_get=True,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout),
        max_subscriptions_per_connection=settings.ws_max_subscriptions,
    )
    view.graphql_transport_ws_handler_class = handler_class(settings.ws_keepalive_interval)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_resources(settings) as resources, build_services(resources) as services:
            app.state.resources = resources
            app.state.services = services
            view.services = services
            yield

    return Starlette(
        routes=[
            Route(
                "/graphql",
                BodyLimit(IdempotencyMiddleware(view), max_bytes=settings.max_request_bytes),
                methods=["GET", "POST"],
            ),
            WebSocketRoute("/graphql", view),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        lifespan=lifespan,
        middleware=[Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)],
    )
