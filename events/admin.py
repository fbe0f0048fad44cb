"""Topic administration: create the project's topics if they are missing.

Kafka and Tansu both answer a CreateTopics request per topic; error code 36 (TOPIC_ALREADY_EXISTS) is
success here, so ``ensure_topics`` is idempotent. Tansu with ``memory://`` storage forgets its topics on a
restart, and both brokers auto-create a topic on first produce with their default partition count, so
every process that produces or consumes calls ``ensure_topics`` at start-up.

Errors: ``BrokerUnavailable`` when the broker cannot be reached, ``BrokerError`` when it refuses a topic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError, for_code

from events.errors import BrokerError, BrokerUnavailable

if TYPE_CHECKING:
    from collections.abc import Iterable

_OK = 0
_TOPIC_ALREADY_EXISTS = 36


async def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int = 3,
    *,
    replication_factor: int = 1,
    timeout_ms: int = 10_000,
) -> list[str]:
    """Create every topic of ``names`` that does not exist yet; return the names actually created.

    ``partitions`` and ``replication_factor`` apply only to new topics (an existing topic is left as is).
    ``timeout_ms`` bounds each admin request. Raises ``BrokerUnavailable`` or ``BrokerError``.
    """
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return []
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        await admin.start()
        response = await admin.create_topics(
            [NewTopic(name, partitions, replication_factor) for name in wanted], timeout_ms=timeout_ms
        )
    except (KafkaConnectionError, KafkaTimeoutError) as exc:
        raise BrokerUnavailable(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    except KafkaError as exc:
        raise BrokerError(f"creating topics failed: {exc}") from exc
    finally:
        await admin.close()
    created: list[str] = []
    for topic, code, *message in response.topic_errors:
        if code == _OK:
            created.append(topic)
        elif code != _TOPIC_ALREADY_EXISTS:
            error = for_code(code)
            raise BrokerError(
                f"cannot create topic {topic!r}: {error.__name__} {message[0] if message else ''}"
            )
    return created
