"""Import the SNAP ego-Facebook friendship graph as users and follows.

Input: ``facebook_combined.txt`` (J. McAuley, J. Leskovec, "Learning to Discover Social Circles in Ego
Networks", NIPS 2012): one undirected edge ``u v`` per line, ``#`` comments; 4,039 users, 88,234 edges.
Mapping: node ``n`` -> ``(:User {username: "fb_n", email: "fb_n@seed.instagraph.invalid"})`` with one
shared argon2id ``password_hash`` (hash ``settings.seed_password`` once and pass it in); every edge -> two
FOLLOWS edges ``u -> v`` and ``v -> u``, ``created_at`` = import time + line index (ms), so the file order is
the follow order. Afterwards counters equal SNAP degrees: ``fb_107`` has 1,045 followers and follows 1,045;
176,468 FOLLOWS edges in total.

This is a bulk import, not a stream of use cases: it writes NO Outbox events (no ``user.registered``, no
``follow.created``) — publishing 180k events would flood every consumer for a one-off load. Nothing is lost
by it: home feeds are rebuilt from the graph's FOLLOWS edges when a feed key is cold, and counters are
computed from degrees here. Users are MERGEd by username and edges by endpoint, counters are set from the
degrees only where they differ, so a second run changes nothing. Run it offline: a follow made during the
import may be counted twice until the next run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uuid_utils

from seed import statements as stmts
from services.core.clock import now_ms

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from rich.progress import Progress

    from graph.store import GraphStore

MAX_BATCH = 5_000  # rows per UNWIND statement, the size verified on FalkorDB over RESP
EMAIL_DOMAIN = "seed.instagraph.invalid"  # RFC 2606 reserved TLD: never deliverable


@dataclass(frozen=True, slots=True)
class SnapGraph:
    """A parsed edge list: ``nodes`` (sorted SNAP ids) and undirected ``edges`` (pairs, file order)."""

    nodes: list[int]
    edges: list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class SeedGraphStats:
    """Import result: ``users`` / ``edges`` read from the file, ``follows`` (= 2 x edges) merged,
    ``users_created`` / ``follows_created`` by this run (0 on a re-run), ``counters_updated`` users whose
    counters changed, ``seconds`` wall time."""

    users: int
    edges: int
    follows: int
    users_created: int
    follows_created: int
    counters_updated: int
    seconds: float


def username(node: int) -> str:
    """``fb_<node>``, the seeded username of SNAP node ``node``."""
    return f"fb_{node}"


def read_snap_edges(path: Path) -> SnapGraph:
    """Parse a SNAP edge list. Blank lines and ``#`` comments are skipped, self-loops and repeated pairs
    (either orientation) dropped. Raises ``ValueError("<path>:<line>: ...")`` for a malformed line and
    ``OSError`` when the file cannot be read."""
    nodes: set[int] = set()
    seen: set[tuple[int, int]] = set()
    edges: list[tuple[int, int]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            parts = text.split()
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise ValueError(f"{path}:{number}: expected two non-negative integers, got {text[:80]!r}")
            u, v = int(parts[0]), int(parts[1])
            nodes.update((u, v))
            key = (min(u, v), max(u, v))
            if u == v or key in seen:
                continue
            seen.add(key)
            edges.append((u, v))
    return SnapGraph(nodes=sorted(nodes), edges=edges)


def _batches(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def _count(store: GraphStore, stmt: Any) -> int:
    rows = await store.read(stmt)
    return int(rows[0]["n"]) if rows else 0


async def import_snap_graph(
    store: GraphStore,
    path: Path,
    password_hash: str,
    batch_size: int = MAX_BATCH,
    progress: Progress | None = None,
) -> SeedGraphStats:
    """Import the SNAP edge list at ``path`` into ``store`` (migrated) in ``UNWIND`` batches of
    ``batch_size`` rows (1–5,000); ``progress`` (a started ``rich.progress.Progress``) gets one task per
    phase (users, follows, counters). Idempotent.

    Raises ``ValueError`` for a bad ``batch_size``, an empty ``password_hash`` or a malformed file,
    ``OSError`` when the file cannot be read, ``GraphError`` when the graph fails (a re-run completes it).
    """
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
    if not password_hash:
        raise ValueError("password_hash must be an argon2 hash of the seed password")
    started = time.perf_counter()
    graph = read_snap_edges(path)
    now = now_ms()
    users_before, follows_before = (
        await _count(store, stmts.USER_TOTAL),
        await _count(store, stmts.FOLLOWS_TOTAL),
    )

    user_rows = [
        {"username": username(n), "id": str(uuid_utils.uuid7()), "email": f"{username(n)}@{EMAIL_DOMAIN}",
         "created_at": now}
        for n in graph.nodes
    ]  # fmt: skip
    task = progress.add_task("users", total=len(user_rows)) if progress else None
    for batch in _batches(user_rows, batch_size):
        await store.write(stmts.MERGE_USERS, {"rows": batch, "password_hash": password_hash})
        if progress and task is not None:
            progress.advance(task, len(batch))

    follow_rows = [
        {"follower": username(a), "followee": username(b), "created_at": now + index}
        for index, (u, v) in enumerate(graph.edges)
        for a, b in ((u, v), (v, u))
    ]
    task = progress.add_task("follows", total=len(follow_rows)) if progress else None
    for batch in _batches(follow_rows, batch_size):
        await store.write(stmts.MERGE_FOLLOWS, {"rows": batch})
        if progress and task is not None:
            progress.advance(task, len(batch))

    updated = 0
    names = [row["username"] for row in user_rows]
    task = progress.add_task("counters", total=len(names)) if progress else None
    for batch in _batches(names, batch_size):
        rows = await store.write(stmts.SYNC_COUNTERS, {"usernames": batch})
        updated += int(rows[0]["updated"]) if rows else 0
        if progress and task is not None:
            progress.advance(task, len(batch))

    users_after, follows_after = (
        await _count(store, stmts.USER_TOTAL),
        await _count(store, stmts.FOLLOWS_TOTAL),
    )
    return SeedGraphStats(
        users=len(graph.nodes),
        edges=len(graph.edges),
        follows=len(follow_rows),
        users_created=users_after - users_before,
        follows_created=follows_after - follows_before,
        counters_updated=updated,
        seconds=time.perf_counter() - started,
    )
