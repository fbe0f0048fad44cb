"""The Starlette application: ``/graphql``, ``/healthz``, ``/readyz``, ``/metrics`` (and, in dev, GraphiQL's
assets under ``/graphiql``).

``/graphql`` takes POST (bodies up to ``max_request_bytes``, ``server.limits``) and GET for queries only, answers
any malformed request with a GraphQL error body (``server.view``), serves GraphiQL from local files only when
``INSTAGRAPH_ENV=dev``, and speaks only the ``graphql-transport-ws`` subprotocol for subscriptions. Clients are
opened in the lifespan. The app refuses to start in ``prod`` with the default JWT secret.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from runtime.container import build_services
from runtime.resources import open_resources
from runtime.settings import Settings
from schema.operations import known_operation_names
from schema.root import build_schema
from server import graphiql
from server.health import Readiness, healthz, readyz
from server.idempotency import IdempotencyMiddleware
from server.limits import BodyLimit
from server.subscriptions import handler_class
from server.view import GraphQLView

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request

log = structlog.get_logger(__name__)


async def metrics(_: Request) -> Response:
    """Prometheus exposition of this process's metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app for ``settings`` (default: from the environment)."""
    settings = settings or Settings()
    settings.refuse_unsafe_production()
    schema = build_schema(
        dev=settings.is_dev,
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        max_nodes=settings.max_query_nodes,
        known_operations=known_operation_names(),
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
            app.state.readiness = readiness = Readiness(resources)
            view.services = services
            try:
                yield
            finally:
                await readiness.close()

    dev_routes = [Route("/graphiql/{name}", graphiql.asset)] if settings.is_dev else []
    return Starlette(
        routes=[
            # every method reaches the view, which answers the ones it does not serve with a GraphQL body
            Route("/graphql", BodyLimit(IdempotencyMiddleware(view), max_bytes=settings.max_request_bytes)),
            WebSocketRoute("/graphql", view),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *dev_routes,
        ],
        lifespan=lifespan,
        middleware=[Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)],
    )
