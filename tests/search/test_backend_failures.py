"""Backend outages become ``SearchUnavailable``, on real failures: nothing listening on Meilisearch's port, an
index directory that cannot be created, Tantivy's writer lock held by another process."""

from __future__ import annotations

import asyncio
import socket
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

from backends.errors import BackendUnavailable
from search.documents import IndexBatch, PostQuery, UserDocument
from search.errors import SearchUnavailable
from search.index import open_search_index
from search.tantivy_index import TantivyIndex
from search.tantivy_schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from pathlib import Path

USER = UserDocument("u1", "ana", None, None, 0, False)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_meilisearch_without_a_server_is_unavailable() -> None:
    index = open_search_index(f"http://127.0.0.1:{_closed_port()}", api_key="key", timeout=1)
    try:
        for call in (index.ping(), index.search_users("ana", 5), index.search_posts(PostQuery(text="x")),
                     index.apply(IndexBatch(indexed_at=1, users=[USER]))):  # fmt: skip
            with pytest.raises(SearchUnavailable) as caught:
                await call
            assert isinstance(caught.value, BackendUnavailable)
    finally:
        await index.close()


async def test_tantivy_directory_that_cannot_be_created_is_unavailable_until_it_can(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the index directory should be")
    index = open_search_index(f"tantivy://{blocker / 'search'}")
    with pytest.raises(SearchUnavailable):
        await index.search_users("ana", 5)
    with pytest.raises(SearchUnavailable):
        await index.apply(IndexBatch(indexed_at=1, users=[USER]))
    blocker.unlink()
    await index.apply(IndexBatch(indexed_at=1, users=[USER]))
    assert await index.search_users("ana", 5) == ["u1"]
    await index.close()


async def test_a_writer_held_by_another_process_blocks_then_releases(tmp_path: Path) -> None:
    index = TantivyIndex(tmp_path, lock_timeout=0.5)
    await index.prepare()
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", textwrap.dedent(f"""
            import sys, tantivy
            index = tantivy.Index.open({str(index.root / f"users-v{SCHEMA_VERSION}")!r})
            writer = index.writer(15_000_000, 1)
            print("locked", flush=True)
            sys.stdin.readline()
        """),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and (await holder.stdout.readline()).strip() == b"locked"
        with pytest.raises(SearchUnavailable, match="locked by another writer"):
            await index.apply(IndexBatch(indexed_at=1, users=[USER]))
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        await asyncio.wait_for(holder.wait(), timeout=10)
    await index.apply(IndexBatch(indexed_at=1, users=[USER]))  # the lock is free again
    assert await index.count("users") == 1
    await index.close()
