"""Search-layer exceptions; the backends' own errors (Tantivy's ``ValueError``/``OSError``, the Meilisearch SDK's
``MeilisearchError`` family) are translated into these at the backend boundary.

    SearchError
    ├── SearchUnavailable   the backend cannot be reached, timed out, is locked by another writer for too long,
    │                       or its files cannot be opened (also a ``backends.errors.BackendUnavailable``)
    └── SearchRejected      the backend refused a request as malformed (a bug here, not an outage)

Services decide what an outage means: ``searchUsers`` falls back to the graph, ``searchPosts`` answers
``SERVICE_UNAVAILABLE``, the indexer leaves its events uncommitted and retries later.
"""

from __future__ import annotations

from backends.errors import BackendUnavailable


class SearchError(Exception):
    """Base class of every search-layer error."""


class SearchUnavailable(SearchError, BackendUnavailable):
    """The search backend is down, unreachable, too slow, or its index cannot be opened; retry later."""


class SearchRejected(SearchError):
    """The backend refused the request (bad filter, bad settings): retrying the same request cannot help."""
