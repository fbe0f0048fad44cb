"""The ``Idempotency-Key`` header on ``POST /graphql``, applied where the response bytes exist.

:class:`IdempotencyMiddleware` wraps the GraphQL view (``Route("/graphql", IdempotencyMiddleware(view))``).
For a POST carrying the header whose JSON body's operation is a mutation (graphql-core ``parse``) it:

1. checks the key (1–255 characters, else ``BAD_USER_INPUT`` with ``field: "Idempotency-Key"``);
2. finds the caller: the user of a valid ``Authorization`` token, else ``anon:<client IP>`` (register and
   login have no user yet; two anonymous clients behind one IP share a key space, but only a request with
   the same operation and variables can ever be replayed, and that is a request it could have sent itself);
3. fingerprints the operation (normalised by ``graphql.print_ast``, so whitespace and comments do not
   matter), its name and its variables (sorted keys), and claims the key (``services.idempotency``);
4. replays a stored response byte for byte with ``Idempotent-Replayed: true``; answers ``CONFLICT`` for a
   different request under the key or a duplicate of one still running, and ``SERVICE_UNAVAILABLE`` when
   Redis is down (refused rather than risk a double write) or the caller's session cannot be checked (the
   graph is down); otherwise runs the view, streaming its response to the client while recording it, then
   stores status, headers and body for 24 h.

A response is not stored (the key is released so a retry runs) when nothing was executed: a non-200
status, a request-level error (invalid document, unknown persisted query), or errors that are all
``UNAUTHENTICATED``, ``BAD_USER_INPUT`` (bad input writes nothing) or validation/limit errors and cover every
top-level field; and never when any error is one a retry may cure (``SERVICE_UNAVAILABLE``,
``RATE_LIMITED``): storing it would answer "try again" to every correct retry for 24 h. Those use cases raise
before writing (an outage or a limit is found before the write), so the retry runs them once. Everything
else is stored, errors included (at most once, like Stripe: an ``INTERNAL_SERVER_ERROR`` after a commit must
not run twice). Stored responses are encrypted (``services.idempotency``). Queries, GET, WebSocket and
unkeyed requests pass straight through. A keyed mutation sent as a persisted-query hash is fingerprinted by
its registered text. Error responses are GraphQL JSON bodies with HTTP 200, like every other error.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from graphql import FieldNode, GraphQLError, OperationType, parse, print_ast
from graphql.utilities import get_operation_ast
from starlette.datastructures import Headers
from starlette.responses import Response

from graph.errors import GraphError
from services.core.errors import DomainError, Unauthenticated, Unavailable
from services.idempotency import Claim, StoredResponse

if TYPE_CHECKING:
    from graphql import DocumentNode, OperationDefinitionNode
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from services.core.container import Services

log = structlog.get_logger(__name__)

REPLAYED_HEADER = (b"idempotent-replayed", b"true")
MAX_TOKENS = 20_000  # parse guard only; the schema's own token limit still applies when the view runs
NOT_EXECUTED_CODES = frozenset(
    {"RATE_LIMITED", "UNAUTHENTICATED", "BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED", "QUERY_TOO_COMPLEX"}
)
#: A response with any of these is never stored: a retry may succeed.
RETRYABLE_CODES = frozenset({"SERVICE_UNAVAILABLE", "RATE_LIMITED", "PERSISTED_QUERY_NOT_FOUND"})


class IdempotencyMiddleware:
    """ASGI wrapper of the GraphQL endpoint; reads ``services`` from ``scope["app"].state.services``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:  # the client went away before sending its request
            return
        replay_receive = _replaying(body, receive)
        services: Services = scope["app"].state.services
        mutation = await _mutation_of(body, services)
        if mutation is None:  # a query, or a request the view will reject before executing anything
            await self.app(scope, replay_receive, send)
            return
        document, operation, request = mutation
        try:
            outcome = await self._begin(services, scope, headers, key, document, request)
        except DomainError as exc:
            await _error_response(exc)(scope, replay_receive, send)
            return
        if isinstance(outcome, StoredResponse):
            log.info("idempotency.replayed", path=scope.get("path"))
            await _replay(outcome, send)
            return
        await self._run(services, outcome, operation, scope, replay_receive, send)

    async def _begin(
        self, services: Services, scope: Scope, headers: Headers, key: str, document: DocumentNode,
        request: dict[str, Any],
    ) -> Claim | StoredResponse:  # fmt: skip
        if services.idempotency is None:
            raise Unavailable("Idempotency keys are not available on this server.")
        subject = await _subject(services, scope, headers.get("authorization"))
        request_fp = services.idempotency.fingerprint(
            print_ast(document), request.get("operationName"), request.get("variables")
        )
        return await services.idempotency.begin(subject, key, request_fp)

    async def _run(
        self, services: Services, claim: Claim, operation: OperationDefinitionNode, scope: Scope,
        receive: Receive, send: Send,
    ) -> None:  # fmt: skip
        recorder = _Recorder(send)
        try:
            await self.app(scope, receive, recorder.send)
        finally:
            settle = _settle(services, claim, recorder, _top_level_names(operation))
            await asyncio.shield(settle)


class _Recorder:
    """Forwards response messages to the client and keeps a copy."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.complete = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = [(bytes(n), bytes(v)) for n, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            self.chunks.append(bytes(message.get("body", b"")))
            self.complete = not message.get("more_body", False)
        await self._send(message)


async def _settle(
    services: Services, claim: Claim, recorder: _Recorder, top_level: frozenset[str] | None
) -> None:
    body = b"".join(recorder.chunks)
    if (
        not recorder.complete
        or recorder.status is None
        or _not_stored(recorder.status, body, top_level)
    ):
        await services.idempotency.abandon(claim)
        return
    headers = tuple((n.decode("latin-1"), v.decode("latin-1")) for n, v in recorder.headers)
    await services.idempotency.finish(
        claim, StoredResponse(status=recorder.status, headers=headers, body=body)
    )


async def _subject(services: Services, scope: Scope, authorization: str | None) -> str:
    if authorization and services.auth is not None:
        try:
            principal = await services.auth.authenticate(authorization)
        except Unauthenticated:
            principal = None
        except GraphError as exc:  # the session check fell through to a graph that is down
            raise Unavailable("Sign-in state cannot be checked right now; try again shortly.") from exc
        if principal is not None:
            return f"user:{principal.user_id}"
    client = scope.get("client")
    return f"anon:{client[0] if client else 'unknown'}"


async def _mutation_of(
    body: bytes, services: Services
) -> tuple[DocumentNode, OperationDefinitionNode, dict[str, Any]] | None:
    """``(document, operation, request)`` when ``body`` is a JSON GraphQL request selecting a mutation (its
    text sent, or registered under its persisted-query hash)."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(request, dict):
        return None
    query, extensions = request.get("query"), request.get("extensions")
    if query is None and isinstance(extensions, dict):
        try:
            query = await services.persisted_queries.resolve(None, extensions)
        except DomainError:  # unknown hash or a bad extension: the view answers it, nothing executes
            return None
    name = request.get("operationName")
    if not isinstance(query, str) or (name is not None and not isinstance(name, str)):
        return None
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, name)
    if operation is None or operation.operation != OperationType.MUTATION:
        return None
    return document, operation, request


def _top_level_names(operation: OperationDefinitionNode) -> frozenset[str] | None:
    """Response keys of the operation's top-level fields; ``None`` when fragments make that unclear."""
    names: set[str] = set()
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode):
            return None
        names.add((selection.alias or selection.name).value)
    return frozenset(names)


def _not_stored(status: int, body: bytes, top_level: frozenset[str] | None) -> bool:
    """True when the response must not be stored: nothing ran, or a retry may cure an error (module docstring)."""
    if status != 200:
        return True
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not errors:
        return False
    codes = [(error.get("extensions") or {}).get("code") for error in errors]
    if any(code in RETRYABLE_CODES for code in codes):
        return True
    refused: set[str] = set()
    for error, code in zip(errors, codes, strict=True):
        if code not in NOT_EXECUTED_CODES:
            return False
        path = error.get("path")
        if not path:
            return True  # a request-level error: the operation never started
        refused.add(path[0])
    return top_level is not None and top_level <= refused


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the view once, then defers to the real one."""
    delivered = False

    async def replay_receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay_receive


async def _replay(stored: StoredResponse, send: Send) -> None:
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in stored.headers]
    await send(
        {"type": "http.response.start", "status": stored.status, "headers": [*headers, REPLAYED_HEADER]}
    )
    await send({"type": "http.response.body", "body": stored.body, "more_body": False})


def _error_response(error: DomainError) -> Response:
    body = {"data": None, "errors": [{"message": error.message, "extensions": error.extensions()}]}
    return Response(orjson.dumps(body), status_code=200, media_type="application/json")
