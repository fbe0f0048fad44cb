"""``instagraph dev`` honours the story settings end to end: with ``INSTAGRAPH_STORY_TTL=15``,
``INSTAGRAPH_STORY_SWEEP_INTERVAL=2`` and ``INSTAGRAPH_STORY_EXPIRY_POLL_INTERVAL=1`` in its environment, a
story created through the API (once the workers have joined their groups) lives 15 s; the running workers
(media, outbox relay, stories-expiry, stories-sweeper) make it ACTIVE, then expire it and delete its objects
from S3; and the stories sweeper runs with the configured intervals (its log says so)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from devstack.stackinfo import SERVICES_FILE, StackInfo
from media.errors import ObjectMissing
from media.store import S3Config, open_object_store
from tests.support.paths import IMAGES, PROJECT_ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

READY_WITHIN = 90.0  # s
TTL_S = 15
REGISTER = """
mutation { register(input: {username: "dev_story", email: "dev_story@example.com",
  password: "correct horse battery staple"}) { accessToken } }
"""
CREATE = """
mutation($input: CreateStoryInput!) {
  createStory(input: $input) { story { id } upload { url fields { name value } } }
}
"""
COMPLETE = "mutation($id: ID!) { completeStoryUpload(input: {storyId: $id}) { status } }"
STORY = "query($id: ID!) { story(id: $id) { status createdAt expiresAt media { url(size: FEED) } } }"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A running ``instagraph dev`` with the story settings of the module docstring: (API port, data dir)."""
    port, data_dir = _free_port(), tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSTAGRAPH_", "AWS_"))}
    env.update(INSTAGRAPH_STORY_TTL=str(TTL_S), INSTAGRAPH_STORY_SWEEP_INTERVAL="2",
               INSTAGRAPH_STORY_EXPIRY_POLL_INTERVAL="1")  # fmt: skip
    with (tmp_path / "dev.out").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "dev", "--port", str(port), "--data-dir", str(data_dir)],
            cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + READY_WITHIN
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "dev.out").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        else:
            pytest.fail(f"dev not ready:\n{(tmp_path / 'dev.out').read_text()}")
        yield port, data_dir
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := check()) is not None:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


async def _head(info: StackInfo, key: str) -> bool:
    config = S3Config(endpoint=info.s3_endpoint, bucket=info.s3_bucket, access_key=info.s3_access_key,
                      secret_key=info.s3_secret_key)  # fmt: skip
    async with open_object_store(config) as store:
        try:
            await store.head(key)
        except ObjectMissing:
            return False
        return True


def _workers_ready(logs: Path) -> bool | None:
    try:
        media = (logs / "worker-media.log").read_text()
        expiry = (logs / "worker-stories-expiry.log").read_text()
        sweeper = (logs / "worker-stories-sweeper.log").read_text()
    except OSError:
        return None
    joined = "Successfully synced group instagraph.media" in media and (
        "Successfully synced group instagraph.stories-expiry" in expiry
    )
    return True if joined and "periodic.started" in sweeper else None


@pytest.mark.timeout(400)
def test_dev_runs_stories_with_the_configured_lifetime_and_sweep_interval(dev: tuple[int, Path]) -> None:
    port, data_dir = dev
    _wait(lambda: _workers_ready(data_dir / "logs"), 120, "the media and stories workers to start")
    photo = (IMAGES / "rocket.jpg").read_bytes()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as api:

        def gql(query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            body = api.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers).json()
            assert "errors" not in body, body
            return body["data"]  # type: ignore[no-any-return]

        token = gql(REGISTER)["register"]["accessToken"]
        created = gql(CREATE, {"input": {"media": {"contentType": "image/jpeg", "byteSize": len(photo)}}}, token)
        story_id = created["createStory"]["story"]["id"]
        upload = created["createStory"]["upload"]
        sent = httpx.post(upload["url"], data={f["name"]: f["value"] for f in upload["fields"]},
                          files={"file": ("photo.jpg", photo, "image/jpeg")}, timeout=30)  # fmt: skip
        assert sent.status_code == 204, sent.text
        assert gql(COMPLETE, {"id": story_id}, token)["completeStoryUpload"]["status"] == "PROCESSING"

        # the media worker makes it ACTIVE; its lifetime is INSTAGRAPH_STORY_TTL
        def active() -> dict[str, Any] | None:
            story = gql(STORY, {"id": story_id}, token)["story"]
            return story if story["status"] == "ACTIVE" else None

        story = _wait(active, 60, "the story to become ACTIVE")
        lifetime = datetime.fromisoformat(story["expiresAt"]) - datetime.fromisoformat(story["createdAt"])
        assert lifetime.total_seconds() == TTL_S
        key = urlsplit(story["media"]["url"]).path.split("/", 2)[2]  # /<bucket>/<key>
        info = StackInfo.read(data_dir / SERVICES_FILE)
        assert asyncio.run(_head(info, key)) is True

        # the workers expire it and delete its objects, with no call from us
        def expired() -> dict[str, Any] | None:
            story = gql(STORY, {"id": story_id}, token)["story"]
            gone = story["status"] == "EXPIRED" and not asyncio.run(_head(info, key))
            return story if gone else None

        assert _wait(expired, TTL_S + 60, "the story to expire and its media to go")["media"] is None

    log = re.sub(r"\x1b\[[0-9;]*m", "", (data_dir / "logs" / "worker-stories-sweeper.log").read_text())
    assert re.search(r"periodic\.started .*interval_s=1\.0 job=stories-sweeper", log), log
    assert re.search(r"stories_sweeper\.configured .*poll_interval_s=1\.0 sweep_interval_s=2\.0", log), log
