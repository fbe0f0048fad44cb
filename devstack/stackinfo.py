"""Where a running embedded stack's services listen, and how a process finds them (``services.json``)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from devstack.processes import pid_alive

SERVICES_FILE = "services.json"


@dataclass(frozen=True, slots=True)
class StackInfo:
    """The embedded stack's endpoints and credentials.

    ``graph_url`` is ``falkordb://127.0.0.1:P/instagraph``, ``redis_url`` (state role) and ``cache_redis_url``
    (cache role) ``redis://127.0.0.1:P/0``,
    ``kafka_bootstrap`` ``127.0.0.1:P``, ``s3_endpoint`` ``http://127.0.0.1:P``; ``pids`` and ``ports`` are
    keyed by service name (``graph``, ``redis``, ``cache``, ``kafka``, ``s3``); ``data_dir`` is absolute.
    """

    graph_url: str
    redis_url: str
    kafka_bootstrap: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_bucket: str
    data_dir: str
    cache_redis_url: str = ""
    pids: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def as_env(self) -> dict[str, str]:
        """The ``INSTAGRAPH_*`` environment that points a process at this stack (Kafka idempotence off:
        Tansu rejects the idempotent producer)."""
        return {
            "INSTAGRAPH_DATA_DIR": self.data_dir,
            "INSTAGRAPH_GRAPH_URL": self.graph_url,
            "INSTAGRAPH_REDIS_URL": self.redis_url,
            "INSTAGRAPH_CACHE_REDIS_URL": self.cache_redis_url or self.redis_url,
            "INSTAGRAPH_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "INSTAGRAPH_KAFKA_IDEMPOTENCE": "false",
            "INSTAGRAPH_S3_ENDPOINT": self.s3_endpoint,
            "INSTAGRAPH_S3_ACCESS_KEY": self.s3_access_key,
            "INSTAGRAPH_S3_SECRET_KEY": self.s3_secret_key,
            "INSTAGRAPH_S3_BUCKET": self.s3_bucket,
            "INSTAGRAPH_SEARCH_URL": f"tantivy://{Path(self.data_dir) / 'search'}",
        }

    def alive(self) -> bool:
        """True when every recorded pid still runs (a ``services.json`` left by a killed stack is not)."""
        return bool(self.pids) and all(pid_alive(pid) for pid in self.pids.values())

    def write(self, path: Path) -> None:
        """Write this info as JSON to ``path`` atomically (temp file + rename), mode 0600 (it holds keys)."""
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh, indent=2)
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> StackInfo:
        """Load a ``services.json``; raises ``OSError`` / ``ValueError`` / ``TypeError`` when unreadable."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**data)
