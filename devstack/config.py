"""Settings for CLI commands, pointed at a running ``instagraph dev`` stack when there is one.

A second terminal can run ``instagraph seed`` or ``instagraph worker fanout`` against the dev stack of the
same data dir: ``<data_dir>/services.json`` (written by ``instagraph dev``, removed on a clean stop) supplies
the service URLs, while variables already set in the environment keep precedence.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from devstack.stackinfo import SERVICES_FILE, StackInfo
from runtime.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path


def running_stack(data_dir: Path) -> StackInfo | None:
    """The ``StackInfo`` of ``data_dir``'s ``services.json`` when all its pids run; else None."""
    path = data_dir / SERVICES_FILE
    try:
        info = StackInfo.read(path)
    except (OSError, ValueError, TypeError):
        return None
    return info if info.alive() else None


def load_settings(data_dir: Path | None = None) -> Settings:
    """Build ``Settings`` from the environment (and ``.env``), completed by a running dev stack.

    ``data_dir`` (from ``--data-dir``) overrides ``INSTAGRAPH_DATA_DIR``. When that directory holds the
    ``services.json`` of a live stack, its ``as_env()`` values and ``INSTAGRAPH_ENV=dev`` are put into
    ``os.environ`` unless already set there, so that processes started from here (uvicorn workers,
    children) see the same values.
    """
    if data_dir is not None:
        os.environ["INSTAGRAPH_DATA_DIR"] = str(data_dir)
    settings = Settings()
    info = running_stack(settings.data_dir)
    if info is None:
        return settings
    for key, value in {"INSTAGRAPH_ENV": "dev", **info.as_env()}.items():
        os.environ.setdefault(key, value)
    return Settings()
