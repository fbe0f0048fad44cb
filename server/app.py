"""The Starlette application: ``/graphql``, ``/healthz``, ``/readyz``, ``/metrics`` (and, in dev, GraphiQL's
assets under ``/graphiql``).

``/graphql`` takes POST (bodies up to ``max_request_bytes``, ``server.limits``) and GET for queries only, answers
any malformed request with a GraphQL error body (``server.view``), serves GraphiQL from local files only when
``INSTAGRAPH_ENV=dev``, and speaks only the ``graphql-transport-ws`` subprotocol for subscriptions. Clients are
opened in the lifespan. The app refuses to start in ``prod`` with the default JWT secret.

A served process (:func:`create_server_app`, what ``instagraph serve`` runs) moves everything alive once its
clients are open (modules, the schema, the clients: ~190,000 objects on the seeded stack) into the collector's
permanent generation (``gc.freeze``), so a full collection no longer walks them: under feed load such
collections took up to 120 ms each, about one every 1.3 s, and were the p99 of the feed at half its maximum
rate (measured with ``gc.callbacks`` in the API process; ``bench/bench_http.py``).
"""

from __future__ import annotations

import contextlib
import gc
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


def create_server_app() -> Starlette:
    """The app of a served process (``instagraph serve``): :func:`create_app` from the environment, with the
    start-up heap frozen once the lifespan has opened the clients (see the module docstring)."""
    return create_app(freeze_heap=True)


def create_app(settings: Settings | None = None, *, freeze_heap: bool = False) -> Starlette:
    """Build the app for ``settings`` (default: from the environment). ``freeze_heap``: ``gc.freeze()`` what
    is alive when the lifespan has started (only for a process that serves this one app)."""
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
            if freeze_heap:
                gc.collect()
                gc.freeze()
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
