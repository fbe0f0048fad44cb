"""One-time preparation of a deployment's backends: graph migrations, Kafka topics, the S3 bucket.

Run by ``instagraph dev`` after the embedded stack is healthy and by ``instagraph migrate`` in production.
Every step is idempotent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import aioboto3
from botocore.exceptions import ClientError

from events.admin import ensure_topics
from events.topics import all_topics
from graph.migrations import migrate
from graph.store import open_graph_store
from server.settings import Settings


@dataclass(frozen=True, slots=True)
class Prepared:
    """What ``prepare`` changed: migration ids applied, topics created, whether the bucket was created."""

    migrations: list[str]
    topics: list[str]
    bucket_created: bool


async def ensure_bucket(settings: Settings) -> bool:
    """Create the media bucket when missing; returns True when it was created. Raises botocore errors."""
    session = aioboto3.Session()
    async with session.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
    ) as client:
        try:
            await client.head_bucket(Bucket=settings.s3_bucket)
            return False
        except ClientError:
            await client.create_bucket(Bucket=settings.s3_bucket)
            return True


async def prepare(settings: Settings) -> Prepared:
    """Migrate the graph, create every topic (with its DLQ) and the bucket."""
    store = open_graph_store(settings.graph_url)
    try:
        applied = await migrate(store, now_ms=int(time.time() * 1000))
    finally:
        await store.close()
    topics = await ensure_topics(settings.kafka_bootstrap, all_topics(settings.topic_suffix))
    created = await ensure_bucket(settings)
    return Prepared(migrations=applied, topics=topics, bucket_created=created)
