"""The notifications part of ``instagraph seed``: the seeded follows, likes and comments as grouped
notifications, as the ``notifications`` worker would have stored them had the import emitted events.

The import is a bulk load and emits no events (``seed/snap_graph.py``, ``seed/engagement.py``), so this step
builds the groups straight from the graph: for every user one FOLLOW group of their followers, for every seeded
post one LIKE group of its likers and one COMMENT group of its commenters (the latest comment first), each with
``actorCount`` = its distinct actors, ``createdAt``/``updatedAt`` = the first/latest follow, like or comment.
Everything seeded falls within one group window (the import stamps it within minutes), so there is one group
per key. Idempotent: groups are MERGEd by their key and actor edges by endpoint. ``fb_107`` (the 1,045-follower
hub) gets a FOLLOW group of 1,045 and the LIKE/COMMENT groups of its posts.

Errors: ``GraphError`` propagates (a re-run completes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uuid_utils

from seed.statements import SEED_ENGAGEMENT_OF, SEED_FOLLOWERS_OF, SEED_NOTIFICATIONS, SEEDED_POSTS, USER_IDS

if TYPE_CHECKING:
    from collections.abc import Callable

    from graph.store import GraphStore

RECIPIENTS_PER_READ = 200
ACTORS_PER_WRITE = 5_000  # actor rows per UNWIND statement (FalkorDB handles 5,000)


@dataclass(frozen=True, slots=True)
class NotificationSeedResult:
    """Groups written (``follows``, ``likes``, ``comments``) and ``actors`` (actor edges in them)."""

    follows: int
    likes: int
    comments: int
    actors: int


def _group(recipient: str, kind: str, key: str, actors: list[dict[str, Any]], post_id: str = "") -> dict[str, Any]:
    ordered = sorted((a for a in actors if a.get("id")), key=lambda a: (int(a.get("at") or 0), a["id"]))
    times = [int(a.get("at") or 0) for a in ordered]
    latest_comment = next((a.get("comment_id") for a in reversed(ordered) if a.get("comment_id")), "")
    unique: dict[str, dict[str, Any]] = {}
    for actor in ordered:  # one edge per actor: their latest act
        unique[actor["id"]] = {"id": actor["id"], "at": int(actor.get("at") or 0),
                               "comment_id": actor.get("comment_id") or ""}  # fmt: skip
    return {
        "recipient_id": recipient, "kind": kind, "key": key, "post_id": post_id, "comment_id": latest_comment,
        "new_id": str(uuid_utils.uuid7()), "created_at": times[0], "updated_at": times[-1],
        "actors": list(unique.values()),
    }  # fmt: skip


async def _write(graph: GraphStore, groups: list[dict[str, Any]]) -> int:
    written, batch, size = 0, [], 0
    for group in groups:
        batch.append(group)
        size += len(group["actors"])
        if size >= ACTORS_PER_WRITE:
            written += await _flush(graph, batch)
            batch, size = [], 0
    return written + (await _flush(graph, batch) if batch else 0)


async def _flush(graph: GraphStore, batch: list[dict[str, Any]]) -> int:
    rows = await graph.write(SEED_NOTIFICATIONS, {"rows": batch})
    return int(rows[0]["actors"]) if rows else 0


async def seed_notifications(
    graph: GraphStore, *, on_progress: Callable[[int, int], None] | None = None
) -> NotificationSeedResult:
    """Build the seeded activity's notifications (see the module docstring); ``on_progress(done, total)``
    after each batch of recipients or posts."""
    user_ids = [r["id"] for r in await graph.read(USER_IDS)]
    posts = [p["post_id"] for p in await graph.read(SEEDED_POSTS)]
    total, done = len(user_ids) + len(posts), 0
    follows = likes = comments = actors = 0
    for i in range(0, len(user_ids), RECIPIENTS_PER_READ):
        rows = await graph.read(SEED_FOLLOWERS_OF, {"ids": user_ids[i : i + RECIPIENTS_PER_READ]})
        groups = [_group(r["recipient_id"], "FOLLOW", f"{r['recipient_id']}:FOLLOW", r["actors"])
                  for r in rows if r["actors"]]  # fmt: skip
        actors += await _write(graph, groups)
        follows += len(groups)
        done += min(RECIPIENTS_PER_READ, len(user_ids) - i)
        if on_progress is not None:
            on_progress(done, total)
    for i in range(0, len(posts), RECIPIENTS_PER_READ):
        groups = []
        for row in await graph.read(SEED_ENGAGEMENT_OF, {"post_ids": posts[i : i + RECIPIENTS_PER_READ]}):
            author, post = row["author_id"], row["post_id"]
            liked = [a for a in row["likes"] if a.get("id")]
            wrote = [a for a in row["comments"] if a.get("id")]
            if liked:
                groups.append(_group(author, "LIKE", f"{author}:LIKE:{post}", liked, post))
                likes += 1
            if wrote:
                groups.append(_group(author, "COMMENT", f"{author}:COMMENT:{post}", wrote, post))
                comments += 1
        actors += await _write(graph, groups)
        done += min(RECIPIENTS_PER_READ, len(posts) - i)
        if on_progress is not None:
            on_progress(done, total)
    return NotificationSeedResult(follows=follows, likes=likes, comments=comments, actors=actors)
