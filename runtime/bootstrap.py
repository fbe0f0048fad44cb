"""One-time preparation of a deployment's backends: graph migrations, Kafka topics, the S3 bucket, the search
indexes and their settings (Meilisearch: searchable/filterable/sortable attributes, ranking rules).

Run by ``instagraph dev`` after the embedded stack is healthy and by ``instagraph migrate`` in production.
Every step is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

from events.admin import ensure_topics
from events.topics import all_topics
from graph.migrations import migrate
from graph.store import open_graph_store
from media.store import open_object_store
from runtime.resources import s3_config
from runtime.settings import Settings
from search.index import open_search_index
from services.core.clock import now_ms


@dataclass(frozen=True, slots=True)
class Prepared:
    """What ``prepare`` changed: migration ids applied, topics created, whether the bucket was created, and
    the search backend whose indexes were prepared."""

    migrations: list[str]
    topics: list[str]
    bucket_created: bool
    search_backend: str = ""


async def prepare(settings: Settings) -> Prepared:
    """Migrate the graph, create every topic (with its DLQ), the bucket and the search indexes (raises
    ``SearchUnavailable`` when the search backend cannot be reached)."""
    store = open_graph_store(settings.graph_url)
    try:
        applied = await migrate(store, now_ms=now_ms())
    finally:
        await store.close()
    topics = await ensure_topics(settings.kafka_bootstrap, all_topics(settings.topic_suffix))
    async with open_object_store(s3_config(settings)) as objects:
        created = await objects.ensure_bucket()
    search = open_search_index(settings.search_url, api_key=settings.search_api_key, timeout=settings.search_timeout)
    try:
        await search.prepare()
    finally:
        await search.close()
    return Prepared(migrations=applied, topics=topics, bucket_created=created, search_backend=search.backend)
