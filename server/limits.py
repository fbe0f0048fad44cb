"""The request-body limit of ``POST /graphql``: a body over ``max_bytes`` is refused before anything parses it.

The schema's limits (depth, aliases, tokens) only see the operation text, after the view has read and parsed
the whole JSON body, variables included; without this cap a client could make a process buffer and parse a
body of any size (``createPost`` with a million ``media`` inputs, a 100 MB ``text``). Real operations are far
below the default (``Settings.max_request_bytes``, 1 MiB; ``createPost`` at its limits is a few KB).

A declared ``Content-Length`` over the limit is refused without reading a byte; a chunked body is counted as
it arrives and refused once it passes the limit. The answer is HTTP 413 with a GraphQL error body, code
``QUERY_TOO_COMPLEX`` (a request over a server limit, like the token limit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BYTES = 1024 * 1024


class _TooLarge(Exception):
    """Raised from ``receive`` once the body passed the limit; caught by :class:`BodyLimit` itself."""


class BodyLimit:
    """ASGI wrapper: HTTP requests whose body exceeds ``max_bytes`` get 413; others pass through unchanged."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _TooLarge:
            if started:  # pragma: no cover - the view answers only after reading the whole body
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"The request body is over the limit of {self.max_bytes:,} bytes."
        body = {"data": None, "errors": [{"message": message, "extensions": {"code": "QUERY_TOO_COMPLEX"}}]}
        await Response(orjson.dumps(body), status_code=413, media_type="application/json")(scope, receive, send)
