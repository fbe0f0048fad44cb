"""Cross-cutting GraphQL concerns as Strawberry schema extensions.

- :class:`ErrorCodes` gives every error an ``extensions.code``: domain errors keep their own code (and
  ``field``/``retryAfter``); a store outage nobody degraded around becomes ``SERVICE_UNAVAILABLE``
  (logged, retryable); limit violations become ``QUERY_TOO_COMPLEX``; other validation errors
  ``GRAPHQL_VALIDATION_FAILED``; anything unexpected is masked as "Unexpected error." with
  ``INTERNAL_SERVER_ERROR`` and logged with the request id (no internals reach clients).
- :class:`OperationMetrics` records per-operation latency and error counts for ``/metrics``. The
  ``operation`` label is the operation's name only when it is one of the known operations (the committed
  ``schema/operations.graphql``), else ``other`` (``anonymous`` without a name): a client-chosen name never
  becomes a label value, so the series stay bounded.
- :func:`protection_extensions` builds the depth, alias and token limits (Strawberry's own limiters), with
  rule classes stable across requests so that ``ValidationCache`` can hit.
- :func:`document_cache` reuses parsed documents of repeated query texts (parse errors untouched), and
  :func:`validation_cache` the validation of each such document object.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import structlog
from graphql import GraphQLError
from prometheus_client import Counter, Histogram
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.schema import validate_document

from services.core.errors import BackendUnavailable, DomainError, Unavailable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from graphql import DocumentNode

log = structlog.get_logger(__name__)

_LIMIT_MARKERS = ("exceeds maximum operation depth", "aliases found", "more than", "tokens")

OPERATION_SECONDS = Histogram(
    "instagraph_graphql_operation_seconds", "GraphQL operation latency (s)", ["operation", "type"]
)
OPERATION_ERRORS = Counter(
    "instagraph_graphql_errors_total", "GraphQL errors by code", ["operation", "code"]
)


# A store outage that a use case could not degrade around: the client may retry; nothing internal leaks.
_OUTAGES = (BackendUnavailable,)
_OUTAGE_MESSAGE = "A backing service is unavailable; try again shortly."


ANONYMOUS, OTHER = "anonymous", "other"


def operation_label(name: str | None, known: frozenset[str]) -> str:
    """The metrics label of an operation called ``name``: the name if ``known``, ``other`` if not,
    ``anonymous`` without one."""
    if not name:
        return ANONYMOUS
    return name if name in known else OTHER


def _code_of(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, DomainError):
        return original.code
    if isinstance(original, _OUTAGES):
        return Unavailable.code
    if isinstance(original, GraphQLError) and error.path is None:  # a variable's value failed coercion
        return "GRAPHQL_VALIDATION_FAILED"
    if original is None:
        message = error.message.lower()
        if any(marker in message for marker in _LIMIT_MARKERS):
            return "QUERY_TOO_COMPLEX"
        return "GRAPHQL_VALIDATION_FAILED"
    return "INTERNAL_SERVER_ERROR"


class ErrorCodes(MaskErrors):
    """Attach ``extensions.code`` to every error and mask the unexpected ones."""

    def __init__(self, known_operations: frozenset[str] = frozenset()) -> None:
        super().__init__(should_mask_error=lambda e: _code_of(e) == "INTERNAL_SERVER_ERROR")
        self._known = known_operations

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed: list[GraphQLError] = []
        operation = operation_label(self.execution_context.operation_name, self._known)
        for error in errors:
            code = _code_of(error)
            OPERATION_ERRORS.labels(operation, code).inc()
            if code == "INTERNAL_SERVER_ERROR":
                request_id = getattr(self.execution_context.context, "request_id", None)
                log.error(
                    "graphql.unexpected_error",
                    request_id=request_id,
                    path=error.path,
                    exc_info=error.original_error,
                )
                masked = self.anonymise_error(error)
                masked.extensions = {"code": code}
                processed.append(masked)
                continue
            original = error.original_error
            if isinstance(original, _OUTAGES):
                log.warning("graphql.backend_unavailable", path=error.path, error=repr(original))
                original = Unavailable(_OUTAGE_MESSAGE)
            extensions = original.extensions() if isinstance(original, DomainError) else {"code": code}
            processed.append(
                GraphQLError(
                    message=original.message if isinstance(original, DomainError) else error.message,
                    nodes=error.nodes,
                    source=error.source,
                    positions=error.positions,
                    path=error.path,
                    original_error=original,
                    extensions=extensions,
                )
            )
        return processed


class OperationMetrics(SchemaExtension):
    """Latency histogram per operation label (:func:`operation_label`) and type."""

    def __init__(self, known_operations: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self._known = known_operations

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        ctx = self.execution_context
        try:
            kind = ctx.operation_type.value if ctx.graphql_document is not None else "invalid"
        except RuntimeError:  # the document has no such operation
            kind = "invalid"
        label = operation_label(ctx.operation_name, self._known)
        OPERATION_SECONDS.labels(label, kind).observe(time.perf_counter() - started)


def protection_extensions(
    *, max_depth: int, max_aliases: int, max_tokens: int
) -> list[Callable[[], SchemaExtension]]:
    """Factories of the depth, alias and token limits; violations are rejected before any resolver runs.

    The depth and alias limiters are built ONCE here and each request gets an ``AddValidationRules`` with
    their rule classes: ``QueryDepthLimiter``/``MaxAliasesLimiter`` create a new rule class in ``__init__``,
    so building them per request made the rule tuple differ on every request and ``ValidationCache`` (whose
    LRU key is ``(schema, document, rules)``) never hit: full validation ran on every request, 1.5–4 ms of
    the feed query's ~12 ms (pyinstrument, bench/bench_feed.py's ``feed(first: 10)``).
    """
    limit_rules = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    return [
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: AddValidationRules(limit_rules),
    ]


class DocumentCache(SchemaExtension):
    """Reuse the parsed document of a query text parsed before: an LRU of ``maxsize`` entries keyed by the
    query text and parse options (the token limit), shared by every request of the schema that built the
    factory (:func:`document_cache`).

    Unlike ``strawberry.extensions.ParserCache`` it never parses itself: a miss lets Strawberry parse as usual
    (syntax errors and token-limit violations go through its own error path and ``ErrorCodes``) and only a
    successfully parsed document is stored. A hit also makes ``ValidationCache`` hit on the same document
    object. Saves the parse (~0.5 ms for the feed query) on repeated operations.
    """

    def __init__(self, entries: OrderedDict[tuple[str, tuple[tuple[str, Any], ...]], DocumentNode], maxsize: int):
        super().__init__()
        self._entries, self._maxsize = entries, maxsize

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        key = (ctx.query or "", tuple(sorted(ctx.parse_options.items())))
        cached = self._entries.get(key) if ctx.query and ctx.graphql_document is None else None
        if cached is not None:
            self._entries.move_to_end(key)
            ctx.graphql_document = cached
        yield
        if cached is None and ctx.query and ctx.graphql_document is not None:
            self._entries[key] = ctx.graphql_document
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)


def document_cache(maxsize: int = 256) -> Callable[[], SchemaExtension]:
    """A factory of :class:`DocumentCache` sharing one LRU of ``maxsize`` query texts."""
    entries: OrderedDict[tuple[str, tuple[tuple[str, Any], ...]], DocumentNode] = OrderedDict()
    return lambda: DocumentCache(entries, maxsize)


#: (id of the document, validation rules) -> (the document, its validation errors)
_Validations = OrderedDict[tuple[int, tuple[Any, ...]], tuple["DocumentNode", list[GraphQLError]]]


class DocumentValidationCache(SchemaExtension):
    """Strawberry's ``ValidationCache`` keyed by the document object rather than its value: an LRU of
    ``maxsize`` validations shared by every request of the schema that built the factory
    (:func:`validation_cache`).

    graphql-core's AST nodes are frozen dataclasses whose hash walks the whole tree, uncached, so
    ``ValidationCache``'s ``lru_cache`` hashed every node of the document on every request (~120 calls for the
    feed query, cProfile). :class:`DocumentCache` hands a repeated query text the same document object, so its
    identity is the key here (the entry keeps the document alive, so its id is not reused meanwhile); the
    validation itself is Strawberry's (``validate_document``: the request's rules plus its own).
    """

    def __init__(self, entries: _Validations, maxsize: int) -> None:
        super().__init__()
        self._entries, self._maxsize = entries, maxsize

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is None:
            yield
            return
        key = (id(document), tuple(ctx.validation_rules))
        hit = self._entries.get(key)
        if hit is not None and hit[0] is document:
            self._entries.move_to_end(key)
            errors = hit[1]
        else:
            errors = validate_document(ctx.schema._schema, document, key[1])
            self._entries[key] = (document, errors)
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)
        ctx.pre_execution_errors = errors
        yield


def validation_cache(maxsize: int = 256) -> Callable[[], SchemaExtension]:
    """A factory of :class:`DocumentValidationCache` sharing one LRU of ``maxsize`` validated documents."""
    entries: _Validations = OrderedDict()
    return lambda: DocumentValidationCache(entries, maxsize)
