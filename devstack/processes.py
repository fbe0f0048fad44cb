"""Child processes that never outlive their supervisor.

Each child runs in its own process group (so a terminal's Ctrl-C reaches only the supervisor, which then
stops the children in order) and asks the kernel, through ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, to be killed
when its parent dies, even by ``kill -9``. The kernel ties that signal to the *thread* that forked the child,
so spawn from a thread that lives as long as the process: the main thread, or the asyncio loop's thread when
the loop runs there (``asyncio.run`` and pytest-asyncio do).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
STOP_TIMEOUT = 5.0  # s between SIGTERM and SIGKILL


def _die_with_parent(parent_pid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def pid_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie (reads ``/proc/<pid>/stat``)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


class ManagedProcess:
    """One child: ``argv`` run with ``env`` and its output appended to ``log_path`` (None: inherit)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path | None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The running child's pid, or None before start / after stop."""
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        """None while running (or never started); the exit status once it has exited."""
        return self._proc.poll() if self._proc is not None else None

    def start(self) -> int:
        """Spawn the child (own process group, PDEATHSIG=SIGKILL); returns its pid; raises ``OSError``."""
        out: int | None = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            out = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        parent = os.getpid()
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                env=self.env,
                cwd=self.cwd,
                process_group=0,
                preexec_fn=lambda: _die_with_parent(parent),
            )
        finally:
            if out is not None:
                os.close(out)
        return self._proc.pid

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the log file ("" when there is none)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 64_000))
            text = fh.read().decode("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass

    async def stop(self, grace: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM the child's group, wait up to ``grace`` s, then SIGKILL; idempotent; returns its status."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                await asyncio.to_thread(proc.wait)
        self._signal_group(signal.SIGKILL)  # stragglers of the group (e.g. a fork of redis-server)
        self._proc = None
        return proc.returncode
