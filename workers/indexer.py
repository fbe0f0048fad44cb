"""The ``indexer`` worker: keeps the search indexes in step with the graph (``services.search_indexing``).

Its own consumer group (``<prefix>.indexer``) reads ``users``, ``posts``, ``follows`` (``block.*`` included)
and ``engagement``. Each partition batch is handled in one call (``SearchIndexer.index_events``: the named ids
reloaded from the graph, one commit per index), so a burst of events costs one commit, not one per event; a
batch that keeps failing is handled event by event, so only a poison event reaches the DLQ.

A search-backend or graph outage (any ``BackendUnavailable``, ``search.errors.SearchUnavailable`` included)
pauses the consumer (``events.consumer``): the events stay uncommitted and are retried until the backend
answers again, so the index catches up and nothing is dead-lettered for an outage. Redelivery is harmless:
every event reloads its ids and upserts them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import structlog

from workers.consumers import Worker

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from events.envelope import Event
    from services.search_indexing import SearchIndexer

log = structlog.get_logger(__name__)

NAME = "indexer"
TOPICS: tuple[str, ...] = ("users", "posts", "follows", "engagement")


class HasSearchIndexer(Protocol):
    """What the handler factories need from the worker context: a ``search_indexer`` service."""

    @property
    def search_indexer(self) -> SearchIndexer: ...


def make_batch_handler(ctx: HasSearchIndexer) -> Callable[[Sequence[Event]], Awaitable[None]]:
    """The batch handler: ``await handler(events)`` reindexes what the events name, in one write."""
    indexer = ctx.search_indexer

    async def handle(events: Sequence[Event]) -> None:
        changes = await indexer.index_events(events)
        log.debug("indexer.batch", events=len(events), users=changes.users, posts=changes.posts,
                  deleted=changes.users_deleted + changes.posts_deleted)  # fmt: skip

    return handle


def make_handler(ctx: HasSearchIndexer) -> Callable[[Event], Awaitable[None]]:
    """The single-event handler (used when a batch keeps failing): ``await handler(event)``."""
    batch = make_batch_handler(ctx)

    async def handle(event: Event) -> None:
        await batch([event])

    return handle


#: The registry's entry; its context is the process's ``Services`` (``services.search_indexer``).
WORKER: Worker[HasSearchIndexer] = Worker(
    name=NAME, topics=TOPICS, make_handler=make_handler, make_batch_handler=make_batch_handler
)
