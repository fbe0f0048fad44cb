"""The posts part of ``instagraph seed``: real captions and photos, through the real upload flow.

Input (``../shared/datasets``, see its README): ``instagram-posts/instagram_posts_with_dates.csv`` (175 posts
of one account; the caption, then its ``Hashtags`` column on a new paragraph) and
``instagram-posts/instagram_reach.csv`` (100 posts of 100 accounts; the caption, then the ``Hashtags``
column when the caption does not already contain it), kept as they are: NBSPs, glued tags, emoji, URLs.
Photos: ``images/*`` (5 real photographs); row ``i`` gets photo ``i mod 5``, and every fifth row is a
two-photo carousel (photos ``i`` and ``i + 1``).

Authors: CSV rows in file order (dates file first) go round-robin to ``SEED_AUTHORS``, 40 SNAP users: the
four hubs (``fb_107`` with 1,045 followers, ``fb_1684``, ``fb_1912``, ``fb_3437``), the other ego nodes of
the dataset and 30 ordinary users, so feeds of the seeded graph get posts from hubs and from small accounts.

Every row goes through the use cases a client would drive: ``PostService.create_post`` (caption parsing,
limits, presigned POSTs), an HTTP multipart POST of the photo to the presigned URL (httpx; S3 enforces the
policy), ``complete_upload`` (HEAD, PROCESSING + ``media.uploaded``) and ``MediaService.process_post``
inline (variants, PUBLISHED + ``post.published``; the events reach the fan-out once the relay runs).

Idempotent: each post carries ``seed_key = "<csv file>:<row index>"``; a second run skips PUBLISHED (and
FAILED/DELETED) rows, resumes PENDING_UPLOAD ones with fresh presigned POSTs and PROCESSING ones by
processing them, and creates only the missing ones.

Errors: ``NotFound`` when a seed author is missing (run the graph seed first); ``SeedUploadFailed`` when S3
refuses an upload; graph and S3 outages propagate (run it again: it resumes).
"""

from __future__ import annotations

import asyncio
import csv
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from graph.statements import posts as stmts
from services.core.errors import BadInput, NotFound
from services.post_reads import PENDING_UPLOAD, PROCESSING
from services.posts import MediaSpec

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from graph.store import GraphStore
    from services.media_processing import MediaService
    from services.posts import PostService, UploadTicket

HUBS = ("fb_107", "fb_1684", "fb_1912", "fb_3437")
EGOS = ("fb_0", "fb_348", "fb_414", "fb_686", "fb_698", "fb_3980")  # the other SNAP ego nodes
ORDINARY = tuple(
    f"fb_{n}"
    for n in (1, 25, 56, 119, 200, 236, 322, 373, 483, 520, 563, 602, 711, 896, 1085, 1201, 1390, 1577, 1800,
              2047, 2266, 2500, 2611, 2855, 3001, 3156, 3290, 3500, 3714, 3900)
)  # fmt: skip
SEED_AUTHORS: tuple[str, ...] = HUBS + EGOS + ORDINARY  # 40 users
CSV_FILES = ("instagram_posts_with_dates.csv", "instagram_reach.csv")
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
CAROUSEL_EVERY = 5


class SeedUploadFailed(RuntimeError):
    """S3 refused a seed upload (status code and body in the message)."""


@dataclass(frozen=True, slots=True)
class SeedRow:
    """One post to seed: ``seed_key``, ``caption``, ``author`` username, ``images`` (file names)."""

    seed_key: str
    caption: str
    author: str
    images: tuple[str, ...]


@dataclass(slots=True)
class SeedPostsResult:
    """What a run did: rows read, posts ``created`` now, ``resumed`` (pending/processing from an earlier
    run), ``skipped`` (already done), ``published``/``failed``/``rejected`` (BadInput) outcomes,
    ``seconds`` wall time and ``post_seconds`` (upload + complete + process) per processed post."""

    rows: int = 0
    created: int = 0
    resumed: int = 0
    skipped: int = 0
    published: int = 0
    failed: int = 0
    rejected: int = 0
    seconds: float = 0.0
    post_seconds: list[float] = field(default_factory=list)


def _caption(text: str, hashtags: str, *, always_append: bool) -> str:
    text, hashtags = text.strip(), hashtags.strip()
    if hashtags and (always_append or hashtags not in text):
        return f"{text}\n\n{hashtags}" if text else hashtags
    return text


def read_rows(posts_dir: Path, images: Sequence[str], authors: Sequence[str] = SEED_AUTHORS) -> list[SeedRow]:
    """Every CSV row as a ``SeedRow`` (file order, dates file first), with authors and photos assigned."""
    rows: list[SeedRow] = []
    for name in CSV_FILES:
        with (posts_dir / name).open(encoding="utf-8", newline="") as fh:
            for index, record in enumerate(csv.DictReader(fh)):
                caption = _caption(record.get("Caption") or "", record.get("Hashtags") or "",
                                   always_append=name == CSV_FILES[0])  # fmt: skip
                g = len(rows)
                count = 2 if g % CAROUSEL_EVERY == CAROUSEL_EVERY - 1 else 1
                photos = tuple(images[(g + k) % len(images)] for k in range(count))
                rows.append(SeedRow(f"{name}:{index}", caption, authors[g % len(authors)], photos))
    return rows


def _load(posts_dir: Path, images_dir: Path) -> tuple[list[SeedRow], dict[str, bytes]]:
    images = sorted(p.name for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_TYPES)
    return read_rows(posts_dir, images), {name: (images_dir / name).read_bytes() for name in images}


async def seed_posts(
    posts: PostService,
    media: MediaService,
    graph: GraphStore,
    *,
    posts_dir: Path,
    images_dir: Path,
    concurrency: int = 8,
    on_progress: Callable[[int, int], None] | None = None,
) -> SeedPostsResult:
    """Seed every CSV row as a published post (see the module docstring). ``on_progress(done, total)`` is
    called after each row. Raises ``NotFound`` (seed author missing), ``SeedUploadFailed``."""
    started = time.perf_counter()
    rows, photo_bytes = await asyncio.to_thread(_load, posts_dir, images_dir)
    users = await graph.read(stmts.USER_IDS_BY_USERNAMES, {"usernames": list(SEED_AUTHORS)})
    author_ids = {r["username"]: r["id"] for r in users}
    missing = [u for u in SEED_AUTHORS if u not in author_ids]
    if missing:
        raise NotFound(f"Seed authors not found (run the graph seed first): {', '.join(missing[:5])}")
    existing = {
        r["seed_key"]: r
        for r in await graph.read(stmts.POSTS_BY_SEED_KEYS, {"seed_keys": [row.seed_key for row in rows]})
    }
    result = SeedPostsResult(rows=len(rows))
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async with httpx.AsyncClient(timeout=60) as http:

        async def one(row: SeedRow) -> None:
            nonlocal done
            async with gate:
                await _seed_row(row, existing.get(row.seed_key), author_ids[row.author], photo_bytes,
                                posts, media, http, result)  # fmt: skip
            done += 1
            if on_progress is not None:
                on_progress(done, len(rows))

        await asyncio.gather(*(one(row) for row in rows))
    result.seconds = time.perf_counter() - started
    return result


async def _seed_row(
    row: SeedRow,
    found: dict | None,
    author_id: str,
    photos: dict[str, bytes],
    posts: PostService,
    media: MediaService,
    http: httpx.AsyncClient,
    result: SeedPostsResult,
) -> None:
    status = found["status"] if found else None
    if status not in (None, PENDING_UPLOAD, PROCESSING):
        result.skipped += 1
        return
    started = time.perf_counter()
    files = [(photos[name], IMAGE_TYPES[name[name.rfind(".") :].lower()]) for name in row.images]
    tickets: Sequence[UploadTicket] = ()
    if found is None:
        try:
            specs = [MediaSpec(t, len(d)) for d, t in files]
            created = await posts.create_post(author_id, row.caption, specs, seed_key=row.seed_key)
        except BadInput:
            result.rejected += 1
            return
        post_id, tickets, status = created.post.id, created.uploads, PENDING_UPLOAD
        result.created += 1
    else:
        post_id, author_id = found["id"], found["author_id"]
        result.resumed += 1
        if status == PENDING_UPLOAD:
            tickets = await posts.reissue_uploads(author_id, post_id)
    if status == PENDING_UPLOAD:
        for ticket, (data, content_type) in zip(tickets, files, strict=True):
            await _upload(http, ticket, data, content_type)
        await posts.complete_upload(author_id, post_id)
    outcome = await media.process_post(post_id)
    result.published += outcome == "published"
    result.failed += outcome == "failed"
    result.post_seconds.append(time.perf_counter() - started)


async def _upload(http: httpx.AsyncClient, ticket: UploadTicket, data: bytes, content_type: str) -> None:
    response = await http.post(
        ticket.url, data=dict(ticket.fields), files={"file": ("photo", data, content_type)}
    )
    if response.status_code not in (200, 201, 204):
        raise SeedUploadFailed(f"S3 answered {response.status_code} to a seed upload: {response.text[:300]}")
