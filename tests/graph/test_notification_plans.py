"""Every notification statement is planned from an index, never by scanning a whole label (FalkorDB's
``GRAPH.EXPLAIN`` on the migrated graph): a label scan of ``User`` or ``Notification`` per event or per page
read would grow with the whole user base (see ``tests/graph/test_falkordb_quirks.py`` for how a pattern
predicate in the wrong place produces one)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from graph.cypher import load_statement_modules, registered

if TYPE_CHECKING:
    from graph.store import GraphStore

_PARAM = re.compile(r"\$(\w+)")
_INTS = {"at", "window", "scan", "actors", "limit", "since", "max", "after_at", "up_at", "now"}
_LISTS = {"ids", "usernames", "names", "post_ids", "rows"}
_BOOLS = {"still"}
_MAPS = {
    "prefs": "{likes: true, comments: true, follows: true, follow_requests: true, mentions: true, "
             "dnd_start: '', dnd_end: '', time_zone: 'UTC'}",
    "sub": "{id: 'x', endpoint: 'x', p256dh: 'x', auth: 'x', created_at: 1}",
}  # fmt: skip
_MODULES = ("notifications.", "notification_preferences.", "web_push.", "seed.SEED_")


def _literal(name: str) -> Any:
    if name in _MAPS:
        return _MAPS[name]
    if name in _INTS:
        return "1"
    if name in _LISTS:
        return "['x']"
    if name in _BOOLS:
        return "false"
    return "'x'"


def _statements() -> list[tuple[str, str]]:
    load_statement_modules()
    return [(s.name, s.text) for s in registered() if s.name.startswith(_MODULES)]


@pytest.mark.parametrize(("name", "text"), _statements(), ids=[n for n, _ in _statements()])
async def test_no_label_scan(graph_store: GraphStore, name: str, text: str) -> None:
    params = " ".join(f"{p}={_literal(p)}" for p in sorted(set(_PARAM.findall(text))))
    graph_name = graph_store.graph_name  # type: ignore[attr-defined]
    lines = await graph_store.execute_command(  # type: ignore[attr-defined]
        "GRAPH.EXPLAIN", graph_name, f"CYPHER {params} {text}"
    )
    plan = "\n".join(line.decode() if isinstance(line, bytes) else str(line) for line in lines)
    assert "Label Scan" not in plan, (name, plan)
