"""The GraphQL HTTP/WebSocket view: Strawberry's ASGI view with the typed ``Context``, clean answers for any
request body, automatic persisted queries and the local GraphiQL page.

Requests that are not well-formed GraphQL-over-HTTP requests never reach the schema and never get a 5xx:
each is answered with a GraphQL JSON body ``{"errors": [{"message", "extensions": {"code": "BAD_REQUEST"}}]}``
and a 4xx status (GraphQL over HTTP, "Status Codes"): 400 for a body that is not UTF-8, not JSON, not an
object (``null``, a number, a string), an array (batching is off), a ``query``/``operationName``/``variables``/
``extensions`` of the wrong JSON type, a document without the named operation, no query at all, or a bad
``persistedQuery``; 405 for a method other than GET/POST or a mutation over GET; 415 for a POST whose
content type is not ``application/json``. Well-formed requests are answered with HTTP 200 and the GraphQL
result, errors included (``application/json`` semantics).

Persisted queries (``services.persisted_queries``): the view resolves ``extensions.persistedQuery`` before
executing (an unknown hash answers ``PERSISTED_QUERY_NOT_FOUND``, HTTP 200, the shape Apollo clients retry
on), and registers a query text sent with its hash once the document has parsed and validated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types.unset import UNSET

from resolvers.context import Context
from server.graphiql import graphiql_page
from services.core.errors import DomainError, Unauthenticated
from services.persisted_queries import BadRequest

if TYPE_CHECKING:
    from cross_web import AsyncHTTPRequestAdapter
    from starlette.types import Receive, Scope, Send
    from starlette.websockets import WebSocket
    from strawberry.http.base import BaseRequestProtocol
    from strawberry.types import ExecutionResult

    from services.core.container import Services

BAD_REQUEST = "BAD_REQUEST"
_JSON_FIELDS = {"query": str, "operationName": str, "variables": dict, "extensions": dict}


class RequestRefused(Exception):
    """A request answered before execution: HTTP ``status`` and one GraphQL error (``code``, ``message``)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def response(self) -> Response:
        """The GraphQL JSON answer."""
        body = {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}
        return Response(orjson.dumps(body), status_code=self.status, media_type="application/json",
                        headers=self.headers)  # fmt: skip


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view with the typed :class:`Context`, WebSocket auth from ``connection_init``,
    request-shape checks, persisted queries and the local GraphiQL page (see the module docstring)."""

    services: Services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            response = _refusal(exc.status_code, exc.reason).response()
        except RequestRefused as refused:
            response = refused.response()
        await response(scope, receive, send)

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

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """Only a browser's page load (``Accept: text/html``, no ``query`` and no ``extensions``): a
        persisted-query GET carries no ``query`` either."""
        params = request.query_params
        return (
            request.method == "GET"
            and params.get("query") is None
            and params.get("extensions") is None
            and "text/html" in request.headers.get("accept", "")
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from this server's own copy of its assets (``server.graphiql``), never a CDN."""
        return HTMLResponse(graphiql_page())

    def encode_json(self, data: object) -> str:
        """A response body or WebSocket message with orjson (Strawberry's default is the stdlib ``json.dumps``:
        several times slower on a feed page's ~150 values; the same compact output, UTF-8 instead of ``\\u``
        escapes). ``str``: Strawberry sends a WebSocket message as a text frame only when it gets one."""
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        """JSON from UTF-8 only (orjson); invalid UTF-8 or JSON is a 400, never a 500."""
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            message = "The request is not valid UTF-8." if "utf-8" in str(exc).lower() else (
                "The request is not valid JSON."
            )
            raise HTTPException(400, message) from exc

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Check the request's shape (see the module docstring) before Strawberry reads it, then resolve
        a persisted query."""
        if request.method == "POST":
            content_type, _ = parse_content_type(request.content_type or "")
            if content_type != "application/json":
                raise RequestRefused(415, BAD_REQUEST, "Send GraphQL requests as application/json.")
            data = self.parse_json(await request.get_body())
            if isinstance(data, list):
                raise RequestRefused(400, BAD_REQUEST, "Batched requests are not supported; send one operation.")
            if not isinstance(data, dict):
                raise RequestRefused(400, BAD_REQUEST, "The request body must be a JSON object.")
            _check_fields(data)
        request_data = await super().parse_http_body(request)
        if isinstance(request_data, list):  # pragma: no cover - refused above and by Strawberry (batching off)
            raise RequestRefused(400, BAD_REQUEST, "Batched requests are not supported; send one operation.")
        if request.method == "GET":
            _check_fields({"operationName": request_data.operation_name})
        try:
            query = await self.services.persisted_queries.resolve(request_data.query, request_data.extensions)
        except BadRequest as exc:
            raise RequestRefused(400, BAD_REQUEST, exc.message) from exc
        except DomainError as exc:  # PERSISTED_QUERY_NOT_FOUND: a well-formed request, answered with 200
            raise RequestRefused(200, exc.code, exc.message) from exc
        request_data.query = query
        return request_data

    async def execute_single(
        self, request: Request, request_adapter: AsyncHTTPRequestAdapter, sub_response: Response,
        context: Context, root_value: None, request_data: GraphQLRequestData,
    ) -> ExecutionResult:  # fmt: skip
        """Strawberry's execution, then the registration of a persisted query that parsed and validated
        (its result has ``data``)."""
        try:
            result = await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as exc:
            status = 405 if "not allowed when using GET" in exc.reason else exc.status_code
            headers = {"Allow": "POST"} if status == 405 else None
            raise RequestRefused(status, BAD_REQUEST, exc.reason, headers) from exc
        if result.data is not None and request_data.query is not None and request_data.extensions:
            await self.services.persisted_queries.register(request_data.query, request_data.extensions)
        return result


def _check_fields(data: dict[str, Any]) -> None:
    for name, kind in _JSON_FIELDS.items():
        value = data.get(name)
        if value is not None and not isinstance(value, kind):
            noun = "a string" if kind is str else "an object"
            raise RequestRefused(400, BAD_REQUEST, f"`{name}` must be {noun} or null.")


def _refusal(status: int, reason: str) -> RequestRefused:
    headers = {"Allow": "GET, POST"} if status == 405 else None
    return RequestRefused(status, BAD_REQUEST, reason, headers)
