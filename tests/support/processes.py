"""Real processes for fault tests: the ``instagraph`` CLI (a worker, a command) on a test module's settings,
and signals to the embedded stack's children.

- ``settings_env(settings)``: the ``INSTAGRAPH_*`` environment that makes a child process use ``settings``.
- ``CliProcess``: ``python -m server.cli <args>`` as a child with that environment and its output in a log
  file; ``kill9()`` (SIGKILL, no clean-up: a crash), ``stop()`` (SIGTERM, then SIGKILL), ``log()``.
- ``run_cli(settings, *args)``: run one command to completion; returns ``(status, output)``.
- ``paused(stack, *services)``: SIGSTOP the stack's services for the block (a blackholed server: its TCP
  connections open, nothing answers), SIGCONT after it whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

from tests.support.paths import PROJECT_ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from devstack.supervisor import EmbeddedStack
    from runtime.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """This environment without any ``INSTAGRAPH_*``/``AWS_*`` variable, plus every field of ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSTAGRAPH_", "AWS_"))}
    for name, value in settings.model_dump().items():
        env[f"INSTAGRAPH_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


class CliProcess:
    """One ``instagraph`` CLI child process (own process group) writing to ``log_path``."""

    def __init__(self, settings: Settings, args: list[str], log_path: Path) -> None:
        self.args, self.log_path = args, log_path
        with log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", *args], cwd=PROJECT_ROOT, env=settings_env(settings),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        """The child's pid."""
        return self.proc.pid

    def log(self) -> str:
        """Everything the child wrote so far."""
        return self.log_path.read_text(errors="replace")

    async def kill9(self) -> int:
        """SIGKILL the child (a crash: no handler runs, nothing is flushed); returns its status."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        return await asyncio.to_thread(self.proc.wait)

    async def stop(self, grace: float = 10.0) -> int:
        """SIGTERM, wait up to ``grace`` s, then SIGKILL; returns the status (idempotent)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, grace)
            except subprocess.TimeoutExpired:
                await self.kill9()
        return self.proc.returncode


async def run_cli(settings: Settings, *args: str, within: float = 120.0) -> tuple[int, str]:
    """Run ``instagraph <args>`` on ``settings`` to completion; returns ``(exit status, stdout+stderr)``."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", *args, cwd=PROJECT_ROOT, env=settings_env(settings),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), within)
    return proc.returncode or 0, out.decode(errors="replace")


@contextlib.contextmanager
def paused(stack: EmbeddedStack, *services: str) -> Iterator[None]:
    """SIGSTOP the stack's ``services`` (e.g. ``"cache"``) for the block; SIGCONT them afterwards."""
    pids = [stack.info.pids[name] for name in services]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
