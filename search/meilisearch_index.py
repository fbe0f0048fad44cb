"""The production search backend: Meilisearch through ``meilisearch-python-sdk``'s ``AsyncClient``.

Indexes ``<prefix>users`` and ``<prefix>posts`` (primary key ``id``), their settings applied by ``prepare``
(``instagraph migrate``):

- users: searchable ``username`` then ``display_name``; filterable ``is_private``, ``indexed_at``; sortable
  ``follower_count``; ranking rules Meilisearch's defaults followed by ``follower_count:desc`` (namesakes by
  popularity); typo tolerance with the default word sizes (one typo from 5 characters, two from 9), written
  out so that the contract does not depend on a server default.
- posts: searchable ``caption``, ``hashtags``; filterable ``_geo``, ``hashtags``, ``author_id``, ``deleted``,
  ``created_at``, ``id_rank``, ``indexed_at``; sortable ``created_at``, ``id_rank``; ranking rules with
  ``sort`` FIRST, so that results are newest first (keyset pages) and the words only select. Documents carry
  ``_geo`` ``{lat, lng}`` when located and ``deleted: false`` (searches filter on it).

Writes are asynchronous tasks in Meilisearch: ``apply`` waits for each (``timeout`` s) and raises when one
failed, so that the indexer commits its Kafka offsets only after the documents are searchable.

Errors: ``SearchUnavailable`` for connection errors, timeouts and 5xx answers; ``SearchRejected`` for 4xx
answers and failed tasks (a malformed request).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from meilisearch_python_sdk import AsyncClient
from meilisearch_python_sdk.errors import (
    MeilisearchApiError,
    MeilisearchCommunicationError,
    MeilisearchError,
    MeilisearchTaskFailedError,
    MeilisearchTimeoutError,
)
from meilisearch_python_sdk.models.settings import MeilisearchSettings, MinWordSizeForTypos, TypoTolerance

from search.documents import PostHit, PostHits, id_rank
from search.errors import SearchRejected, SearchUnavailable

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from typing import TypeVar

    from meilisearch_python_sdk.models.task import TaskInfo

    from search.documents import IndexBatch, PostDocument, PostQuery, UserDocument
    from search.index import IndexName

    T = TypeVar("T")

DEFAULT_PREFIX = "instagraph_"
DEFAULT_RULES = ["words", "typo", "proximity", "attribute", "sort", "exactness"]
USERS_SETTINGS = MeilisearchSettings(
    searchable_attributes=["username", "display_name"],
    filterable_attributes=["is_private", "indexed_at"],
    sortable_attributes=["follower_count"],
    ranking_rules=[*DEFAULT_RULES, "follower_count:desc"],
    typo_tolerance=TypoTolerance(enabled=True, min_word_size_for_typos=MinWordSizeForTypos(one_typo=5, two_typos=9)),
)
POSTS_SETTINGS = MeilisearchSettings(
    searchable_attributes=["caption", "hashtags"],
    filterable_attributes=["_geo", "hashtags", "author_id", "deleted", "created_at", "id_rank", "indexed_at"],
    sortable_attributes=["created_at", "id_rank"],
    ranking_rules=["sort", "words", "typo", "proximity", "attribute", "exactness"],
    typo_tolerance=TypoTolerance(enabled=True, min_word_size_for_typos=MinWordSizeForTypos(one_typo=5, two_typos=9)),
)


def _quoted(value: str) -> str:
    """A Meilisearch filter string literal (double quotes, backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class MeilisearchIndex:
    """A ``SearchIndex`` on a Meilisearch server (see the module docstring)."""

    backend = "meilisearch"

    def __init__(self, url: str, *, api_key: str = "", prefix: str = DEFAULT_PREFIX, timeout: float = 5.0) -> None:
        self.url, self.prefix, self.timeout = url, prefix, timeout
        self._client = AsyncClient(url, api_key or None, timeout=max(1, int(timeout)))

    @classmethod
    def from_url(cls, url: str, *, api_key: str = "", timeout: float = 5.0) -> MeilisearchIndex:
        """Build from ``http(s)://host:port[?index_prefix=...]``."""
        parts = urlsplit(url)
        prefix = parse_qs(parts.query).get("index_prefix", [DEFAULT_PREFIX])[0]
        base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return cls(base, api_key=api_key, prefix=prefix, timeout=timeout)

    def uid(self, name: IndexName) -> str:
        """The Meilisearch index uid of ``name``: ``<prefix><name>``."""
        return f"{self.prefix}{name}"

    async def _call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except (MeilisearchCommunicationError, MeilisearchTimeoutError) as exc:
            raise SearchUnavailable(f"Meilisearch at {self.url}: {exc}") from exc
        except MeilisearchApiError as exc:
            if exc.status_code >= 500:
                raise SearchUnavailable(f"Meilisearch at {self.url}: {exc}") from exc
            raise SearchRejected(str(exc)) from exc
        except MeilisearchTaskFailedError as exc:
            raise SearchRejected(str(exc)) from exc
        except MeilisearchError as exc:
            raise SearchUnavailable(f"Meilisearch at {self.url}: {exc}") from exc
        except OSError as exc:
            raise SearchUnavailable(f"Meilisearch at {self.url}: {exc}") from exc

    async def _wait(self, task: TaskInfo) -> None:
        await self._call(self._client.wait_for_task(
            task.task_uid, timeout_in_ms=int(self.timeout * 1000), interval_in_ms=20, raise_for_status=True
        ))  # fmt: skip

    async def prepare(self) -> None:
        """Create both indexes (primary key ``id``) if missing and apply their settings, waiting for each."""
        steps: tuple[tuple[IndexName, MeilisearchSettings], ...] = (
            ("users", USERS_SETTINGS), ("posts", POSTS_SETTINGS),
        )  # fmt: skip
        for name, settings in steps:
            index = await self._call(self._client.get_or_create_index(self.uid(name), primary_key="id"))
            await self._wait(await self._call(index.update_settings(settings)))

    async def ping(self) -> None:
        """``GET /health``."""
        await self._call(self._client.health())

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def apply(self, batch: IndexBatch) -> None:
        """Deletes, then upserts (whole documents), per index; waits until Meilisearch has applied each."""
        work: tuple[tuple[IndexName, list[dict[str, Any]], list[str]], ...] = (
            ("users", [_user_doc(u, batch.indexed_at) for u in batch.users], batch.user_deletes),
            ("posts", [_post_doc(p, batch.indexed_at) for p in batch.posts], batch.post_deletes),
        )
        for name, docs, deletes in work:
            index = self._client.index(self.uid(name))
            if deletes:
                await self._wait(await self._call(index.delete_documents(list(deletes))))
            if docs:
                await self._wait(await self._call(index.add_documents(docs, primary_key="id")))

    async def prune(self, index: IndexName, indexed_before: int) -> int:
        """Delete the documents of ``index`` whose ``indexed_at < indexed_before``; returns -1 (not counted)."""
        target = self._client.index(self.uid(index))
        await self._wait(await self._call(target.delete_documents_by_filter(f"indexed_at < {int(indexed_before)}")))
        return -1

    async def count(self, index: IndexName) -> int:
        """Documents in ``index`` (Meilisearch's index stats)."""
        stats = await self._call(self._client.index(self.uid(index)).get_stats())
        return int(stats.number_of_documents)

    async def search_users(self, text: str, limit: int) -> list[str]:
        """Ids ranked by the index's rules (words, typo, ..., ``follower_count:desc``)."""
        if not text.strip() or limit < 1:
            return []
        result = await self._call(self._client.index(self.uid("users")).search(
            text, limit=limit, attributes_to_retrieve=["id"], matching_strategy="last"
        ))  # fmt: skip
        return [str(hit["id"]) for hit in result.hits]

    async def search_posts(self, query: PostQuery) -> PostHits:
        """Newest first (``sort`` ranks first), every word required (``matchingStrategy: all``)."""
        if query.limit < 1 or (query.text is not None and not any(c.isalnum() for c in query.text)):
            return PostHits([], True)  # no word: nothing matches (Meilisearch would answer a placeholder search)
        filters = ["deleted = false"]
        if query.hashtag is not None:
            filters.append(f"hashtags = {_quoted(query.hashtag)}")
        if query.near is not None:
            near = query.near
            filters.append(f"_geoRadius({near.latitude!r}, {near.longitude!r}, {near.radius_km * 1000!r})")
        if query.before is not None:
            ts, rank = query.before
            filters.append(f"(created_at < {ts} OR (created_at = {ts} AND id_rank < {rank}))")
        result = await self._call(self._client.index(self.uid("posts")).search(
            query.text or "", limit=query.limit + 1, filter=" AND ".join(filters),
            sort=["created_at:desc", "id_rank:desc"], attributes_to_retrieve=["id", "created_at"],
            matching_strategy="all",
        ))  # fmt: skip
        hits = [PostHit(str(h["id"]), int(h["created_at"])) for h in result.hits]
        return PostHits(hits[: query.limit], exhausted=len(hits) <= query.limit)


def _user_doc(user: UserDocument, indexed_at: int) -> dict[str, Any]:
    return {
        "id": user.id, "username": user.username, "display_name": user.display_name, "bio": user.bio,
        "follower_count": user.follower_count, "is_private": user.is_private, "indexed_at": indexed_at,
    }  # fmt: skip


def _post_doc(post: PostDocument, indexed_at: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": post.id, "author_id": post.author_id, "caption": post.caption, "hashtags": list(post.hashtags),
        "created_at": post.created_at, "id_rank": id_rank(post.id), "like_count": post.like_count,
        "deleted": False, "indexed_at": indexed_at,
    }  # fmt: skip
    if post.lat is not None and post.lng is not None:
        doc["_geo"] = {"lat": post.lat, "lng": post.lng}
    return doc

