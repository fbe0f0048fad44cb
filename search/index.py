"""The search-index protocol and the URL-scheme factory.

The graph is the source of truth; the search index follows it asynchronously (the ``indexer`` worker) and is
only ever asked WHICH ids match: callers reload and filter what they show from the graph.

URL schemes (``INSTAGRAPH_SEARCH_URL``):

- ``tantivy://<dir>`` (embedded default): Tantivy in process, one index directory per index under ``<dir>``
  (``users-v2``, ``posts-v2``: the version of ``search.tantivy_schema``). Tantivy allows one ``IndexWriter``
  per directory at a time across processes; the processes that write (the indexer worker, ``instagraph search
  reindex``) take it for one batch and release it after the commit, the API processes only read.
- ``http://`` / ``https://``: Meilisearch through ``meilisearch-python-sdk``'s ``AsyncClient``; ``api_key`` is the
  Meilisearch key. An ``index_prefix`` query parameter (``http://meili:7700?index_prefix=staging_``) names
  the indexes ``<prefix>users`` and ``<prefix>posts`` (default prefix ``instagraph_``).

Every method raises ``search.errors.SearchUnavailable`` when the backend cannot be reached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from search.documents import IndexBatch, PostHits, PostQuery

IndexName = Literal["users", "posts"]


class SearchIndex(Protocol):
    """What every backend offers (all methods are coroutines)."""

    backend: str

    async def prepare(self) -> None:
        """Create both indexes if missing and apply their settings (idempotent; ``instagraph migrate``)."""
        ...

    async def apply(self, batch: IndexBatch) -> None:
        """Apply ``batch``: deletes and upserts, one commit per index, durable when this returns."""
        ...

    async def search_users(self, text: str, limit: int) -> list[str]:
        """Ids of users matching ``text`` (typo-tolerant, prefix-aware, namesakes by follower count), best
        first, at most ``limit``."""
        ...

    async def search_posts(self, query: PostQuery) -> PostHits:
        """Posts matching ``query``, newest first by ``(created_at, id_rank)``, strictly before
        ``query.before``, at most ``query.limit``."""
        ...

    async def prune(self, index: IndexName, indexed_before: int) -> int:
        """Delete the documents of ``index`` last written before ``indexed_before`` (epoch ms); returns how
        many were deleted (Meilisearch: -1, it does not say)."""
        ...

    async def count(self, index: IndexName) -> int:
        """Number of documents in ``index`` (after the last commit)."""
        ...

    async def ping(self) -> None:
        """Check the backend answers; raises ``SearchUnavailable``."""
        ...

    async def close(self) -> None:
        """Release files and connections (a held writer lock included)."""
        ...


def open_search_index(url: str, *, api_key: str = "", timeout: float = 5.0) -> SearchIndex:
    """The backend for ``url``'s scheme (see the module docstring); nothing is opened until first use.

    ``timeout`` (seconds) bounds each Meilisearch request and each wait for Tantivy's writer lock.
    Raises ``ValueError`` for an unknown scheme or a ``tantivy://`` URL without a directory.
    """
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if sep and scheme == "tantivy":
        if not rest:
            raise ValueError("tantivy:// needs a directory, e.g. tantivy://.instagraph/search")
        from search.tantivy_index import TantivyIndex

        return TantivyIndex(rest, lock_timeout=timeout)
    if sep and scheme in ("http", "https"):
        from search.meilisearch_index import MeilisearchIndex

        return MeilisearchIndex.from_url(url, api_key=api_key, timeout=timeout)
    raise ValueError(f"unsupported search URL {url!r}; use tantivy://<dir> or http(s):// (Meilisearch)")
