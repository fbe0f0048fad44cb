"""Outbox relay throughput beside its ceiling, measured in one run on one broker (a benchmark, not a test).

The ceiling is the raw aiokafka producer sending the same records (same topics, keys, values and headers,
``acks="all"``, no idempotence, as the relay's producer on Tansu) to the same broker, in sends of the same
batch size, each batch awaited together. The relay does what it does in production: claim a batch of
``(:Outbox)`` rows with a lease (one graph write), publish it (``EventProducer.publish_many``), delete the
acknowledged rows (one graph write). For reference it also times the previous design, one
``send_and_wait`` per row, on a smaller set.

Run: ``.venv/bin/python bench/bench_relay.py [--events 20000] [--batch 500]`` (starts its own embedded stack
in a temp dir). Results: ``bench/results/relay.json`` and ``bench/results/relay.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaProducer  # noqa: E402

from devstack.supervisor import EmbeddedStack  # noqa: E402
from events.admin import ensure_topics  # noqa: E402
from events.envelope import HEADER_EVENT_ID, HEADER_EVENT_TYPE, Event  # noqa: E402
from events.outbox import OutboxRelay  # noqa: E402
from events.producer import EventProducer  # noqa: E402
from events.topics import Topics  # noqa: E402
from graph.migrations import migrate  # noqa: E402
from graph.statements.outbox import OUTBOX_APPEND_MANY  # noqa: E402
from graph.store import open_graph_store  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def _events(n: int, subjects: int) -> list[Event]:
    return [
        Event.new("like.created", actor_id=f"u{i}", subject_id=f"post-{i % subjects}", data={"n": i})
        for i in range(n)
    ]


async def _append(store, events: list[Event]) -> None:  # type: ignore[no-untyped-def]
    for start in range(0, len(events), 2_000):
        rows = [e.outbox_props() for e in events[start : start + 2_000]]
        await store.write(OUTBOX_APPEND_MANY, {"rows": rows})


async def _relay(store, bootstrap: str, topics: Topics, batch: int) -> float:  # type: ignore[no-untyped-def]
    producer = EventProducer(bootstrap, idempotence=False)
    relay = OutboxRelay(store, producer, topics, batch_size=batch)
    try:
        started = time.perf_counter()
        while await relay.relay_once():
            pass
        took = time.perf_counter() - started
        assert await relay.backlog() == 0
        return took
    finally:
        await producer.stop()


async def _one_at_a_time(store, bootstrap: str, topics: Topics, events: list[Event]) -> float:  # type: ignore[no-untyped-def]
    producer = EventProducer(bootstrap, idempotence=False)
    try:
        started = time.perf_counter()
        for e in events:  # the previous relay: send_and_wait per row
            await producer.publish(topics.for_event(e.type), e.subject_id, e.to_json(), e.headers())
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def _raw(bootstrap: str, topics: Topics, events: list[Event], batch: int) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=0)
    await producer.start()
    try:
        started = time.perf_counter()
        for start in range(0, len(events), batch):
            futures = []
            for e in events[start : start + batch]:
                headers = [(HEADER_EVENT_ID, e.id.encode()), (HEADER_EVENT_TYPE, e.type.encode())]
                futures.append(await producer.send(topics.for_event(e.type), e.to_json(), key=e.subject_id.encode(),
                                                   headers=headers))  # fmt: skip
            await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def main(n: int, batch: int) -> dict[str, object]:
    data = Path(tempfile.mkdtemp(prefix="bench_relay_"))
    stack = EmbeddedStack(data, s3_access_key="bench", s3_secret_key="bench-secret-key-1", s3_bucket="bench")
    info = await stack.start()
    store = open_graph_store(info.graph_url.rsplit("/", 1)[0] + "/bench_relay")
    try:
        await migrate(store, now_ms=int(time.time() * 1000))
        relay_topics, raw_topics = Topics(".relay"), Topics(".raw")
        await ensure_topics(info.kafka_bootstrap, relay_topics.all() + raw_topics.all() + Topics(".single").all())
        events = _events(n, subjects=n // 10)
        raw_s = await _raw(info.kafka_bootstrap, raw_topics, events, batch)
        await _append(store, events)
        relay_s = await _relay(store, info.kafka_bootstrap, relay_topics, batch)
        single = events[: min(2_000, n)]
        single_s = await _one_at_a_time(store, info.kafka_bootstrap, Topics(".single"), single)
    finally:
        await store.close()
        await stack.stop()
    result = {
        "events": n,
        "batch": batch,
        "raw_producer_events_per_s": round(n / raw_s),
        "relay_events_per_s": round(n / relay_s),
        "ratio_relay_to_raw": round(raw_s / relay_s, 3),
        "previous_relay_one_send_and_wait_per_row_events_per_s": round(len(single) / single_s),
    }
    return result


def write(result: dict[str, object]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "relay.json").write_text(json.dumps(result, indent=2) + "\n")
    md = [
        "# Outbox relay vs raw aiokafka producer (same broker, same run)",
        "",
        f"{result['events']} events (10 per subject), batches of {result['batch']}, acks=all, embedded Tansu.",
        "",
        "| path | events/s |",
        "|---|---|",
        f"| raw aiokafka producer (ceiling) | {result['raw_producer_events_per_s']} |",
        f"| outbox relay (claim + publish_many + delete) | {result['relay_events_per_s']} |",
        f"| previous relay (send_and_wait per row, 2,000 events) | "
        f"{result['previous_relay_one_send_and_wait_per_row_events_per_s']} |",
        "",
        f"Relay / raw: **{result['ratio_relay_to_raw']}x**.",
        "",
    ]
    (RESULTS / "relay.md").write_text("\n".join(md))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    outcome = asyncio.run(main(args.events, args.batch))
    write(outcome)
    print(json.dumps(outcome, indent=2))
