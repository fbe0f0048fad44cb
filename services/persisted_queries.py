"""Automatic persisted queries (Apollo's APQ protocol): a client sends the SHA-256 of its query instead
of the text, and the text only when the server does not know the hash yet.

Request shapes (POST body, or the same keys as GET parameters with ``extensions`` JSON-encoded)::

    {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<64 hex>"}}, "variables": ...}
    {"query": "<text>", "extensions": {"persistedQuery": {...}}}           registers the text, then runs it

:meth:`PersistedQueryService.resolve` answers the text to run: the registered one for a hash alone
(``PersistedQueryNotFound`` when unknown: the client then sends the text), or the given text once its
SHA-256 (of its UTF-8 bytes) matches the hash (``BadRequest`` otherwise, and for a version other than 1 or
a malformed hash). :meth:`register` stores a text that ran (the view registers only a document that parsed
and validated, so nobody fills Redis with garbage), for ``ttl_s`` seconds.

Redis down: an unknown hash is indistinguishable from an unregistered one, so ``resolve`` answers
``PersistedQueryNotFound`` and the client falls back to sending the text, which runs (the registration is
skipped, logged). Source: Apollo, "Automatic persisted queries" (apollo-link-persisted-queries' protocol
and ``@apollo/client/link/persisted-queries``).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

import structlog

from cache.errors import CacheUnavailable
from services.core.errors import DomainError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cache.persisted_queries import PersistedQueryStore

log = structlog.get_logger(__name__)

VERSION = 1
DEFAULT_TTL_S = 7 * 24 * 3600
_HASH = re.compile(r"^[0-9a-f]{64}$")


class PersistedQueryNotFound(DomainError):
    """The hash is not registered (message and code as Apollo's, which clients match on)."""

    code = "PERSISTED_QUERY_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")


class BadRequest(DomainError):
    """The request is not a well-formed GraphQL-over-HTTP request (answered with HTTP 400)."""

    code = "BAD_REQUEST"


def sha256_hex(query: str) -> str:
    """SHA-256 of ``query``'s UTF-8 bytes, 64 lower-case hex digits (what Apollo clients send)."""
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


def persisted_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The ``sha256Hash`` of a request's ``extensions.persistedQuery``; ``None`` when there is none. Raises
    ``BadRequest`` for a persistedQuery that is not ``{"version": 1, "sha256Hash": <64 hex digits>}``."""
    entry = (extensions or {}).get("persistedQuery")
    if entry is None:
        return None
    if not isinstance(entry, dict) or entry.get("version") != VERSION:
        raise BadRequest("Unsupported persisted query version.")
    digest = entry.get("sha256Hash")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest.lower()):
        raise BadRequest("persistedQuery.sha256Hash must be 64 hexadecimal digits.")
    return digest.lower()


class PersistedQueryService:
    """Resolves and registers APQ hashes in ``store`` (texts live ``ttl_s`` seconds)."""

    def __init__(self, store: PersistedQueryStore, *, ttl_s: int = DEFAULT_TTL_S) -> None:
        self._store = store
        self._ttl_s = ttl_s

    async def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The query text to run: ``query`` as given when there is no ``persistedQuery`` extension, the
        registered text for a hash alone, ``query`` when its hash matches. Raises ``PersistedQueryNotFound``
        (unknown hash, or Redis down) and ``BadRequest`` (see :func:`persisted_hash`; a hash that is not the
        query's)."""
        digest = persisted_hash(extensions)
        if digest is None:
            return query
        if query is not None:
            if sha256_hex(query) != digest:
                raise BadRequest("provided sha does not match query")
            return query
        try:
            text = await self._store.get(digest)
        except CacheUnavailable:
            log.warning("persisted_query.lookup_failed")
            text = None
        if text is None:
            raise PersistedQueryNotFound()
        return text

    async def register(self, query: str, extensions: Mapping[str, Any] | None) -> bool:
        """Store ``query`` under its hash when the request carried a (checked) ``persistedQuery`` with the
        text; True when stored. Redis down: logged, False."""
        digest = persisted_hash(extensions)
        if digest is None:
            return False
        try:
            await self._store.put(digest, query, ttl_s=self._ttl_s)
        except CacheUnavailable:
            log.warning("persisted_query.register_failed")
            return False
        return True
