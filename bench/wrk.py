"""HTTP load with ``wrk`` (Debian's package), never a Python client on the server's cores.

A Python client on these 2 cores saturates before uvicorn does (it reported ``{ __typename }`` at ~950 req/s
where ``wrk -c8`` measured ~2,700 on the same server), so every HTTP figure of ``bench/`` comes from here::

    result = run_wrk("http://127.0.0.1:8000/graphql", bodies=[{"query": "{ __typename }"}], seconds=10)
    result.requests_per_s, result.p50_ms, result.p99_ms

``bodies``, ``tokens`` and ``clients`` (``X-Forwarded-For`` addresses) rotate per request (a Lua ``request()``
over three tables), so one run can play many viewers, or many anonymous clients, in turn. ``rate`` offers
about that many requests per second instead of as many as the server takes: each connection waits
``connections / rate`` seconds between its requests (wrk's Lua ``delay()``; Debian's wrk 4.1 has no
constant-throughput mode), so the achieved rate is a little under the offered one and is what the result
reports. The Lua ``done()`` hook prints the exact latency percentiles and the error counts as one
JSON line, parsed here; a run with non-2xx answers or socket errors raises ``WrkFailed`` (a benchmark of
errors is no benchmark). ``make bench-deps`` installs wrk (``apt-get install wrk``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LUA = r"""
local bodies = {BODIES}
local tokens = {TOKENS}
local clients = {CLIENTS}
local i = 0
request = function()
  i = i + 1
  local headers = {}
  if #clients > 0 then headers["X-Forwarded-For"] = clients[(i % #clients) + 1] end
  if #bodies == 0 then return wrk.format("GET", nil, headers) end
  headers["Content-Type"] = "application/json"
  if #tokens > 0 then headers["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1] end
  return wrk.format("POST", nil, headers, bodies[(i % #bodies) + 1])
end
{DELAY}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nWRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %f, "non2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.status, e.connect, e.read, e.write, e.timeout))
end
"""


class WrkFailed(RuntimeError):
    """wrk is missing, failed, or the run saw errors (non-2xx answers, socket errors)."""


@dataclass(frozen=True, slots=True)
class WrkResult:
    """One wrk run: ``requests`` in ``seconds``, the achieved throughput and latency percentiles (ms)."""

    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    def as_dict(self) -> dict[str, float]:
        """The figures as a JSON-ready dict (rounded)."""
        return {
            "requests": self.requests, "seconds": round(self.seconds, 2),
            "req_per_s": round(self.requests_per_s, 1), "p50_ms": round(self.p50_ms, 2),
            "p90_ms": round(self.p90_ms, 2), "p99_ms": round(self.p99_ms, 2), "max_ms": round(self.max_ms, 2),
            "mean_ms": round(self.mean_ms, 2),
        }  # fmt: skip


def wrk_binary() -> str:
    """The ``wrk`` on PATH; raises ``WrkFailed`` naming the install command when there is none."""
    found = shutil.which("wrk")
    if found is None:
        raise WrkFailed("wrk is not installed: run `make bench-deps` (apt-get install wrk)")
    return found


def _lua_table(items: list[str]) -> str:
    return "{" + ", ".join("[==[" + item + "]==]" for item in items) + "}"


def run_wrk(
    url: str,
    *,
    bodies: list[dict[str, Any]] | None = None,
    tokens: list[str] | None = None,
    clients: list[str] | None = None,
    seconds: float = 10.0,
    connections: int = 8,
    rate: float | None = None,
) -> WrkResult:
    """Load ``url`` for ``seconds`` with ``connections`` connections on one wrk thread: POST each of
    ``bodies`` in turn (JSON), each request with the next of ``tokens`` as its bearer token and the next of
    ``clients`` as its ``X-Forwarded-For`` (honoured from 127.0.0.1, a trusted proxy by default); GET when
    ``bodies`` is None (a plain route such as ``/healthz``). ``rate``: offer about that many requests/s
    (see the module docstring). Raises ``WrkFailed``."""
    delay = "" if rate is None else f"delay = function() return {connections * 1000.0 / rate:.3f} end"
    script = (
        _LUA.replace("{BODIES}", _lua_table([json.dumps(b) for b in bodies or []]))
        .replace("{TOKENS}", _lua_table(tokens or []))
        .replace("{CLIENTS}", _lua_table(clients or []))
        .replace("{DELAY}", delay)
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        lua = Path(handle.name)
    try:
        cmd = [wrk_binary(), "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(lua), url]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    finally:
        lua.unlink(missing_ok=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise WrkFailed(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    errors = {k: data[k] for k in ("non2xx", "connect", "read", "write", "timeout") if data[k]}
    if errors:
        raise WrkFailed(f"wrk saw errors against {url}: {errors}")
    duration = data["duration_us"] / 1e6
    return WrkResult(
        requests=data["requests"], seconds=duration, requests_per_s=data["requests"] / duration,
        p50_ms=data["p50_us"] / 1000, p90_ms=data["p90_us"] / 1000, p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000, mean_ms=data["mean_us"] / 1000,
    )  # fmt: skip
