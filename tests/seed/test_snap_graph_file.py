"""``seed.snap_graph`` on small edge lists: parsing rules, batch boundaries, progress, bad input."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest
from rich.console import Console
from rich.progress import Progress

from graph.cypher import cypher
from seed.snap_graph import import_snap_graph, read_snap_edges

if TYPE_CHECKING:
    from pathlib import Path

    from graph.store import GraphStore

FOLLOWS = cypher(
    "tests.seed_graph_file.FOLLOWS",
    """
    MATCH (a:User)-[:FOLLOWS]->(b:User)
    RETURN a.username AS follower, b.username AS followee,
           a.following_count AS following_count, b.follower_count AS follower_count
    ORDER BY follower, followee
    """,
)
EDGE_LIST = "# a comment\n\n90001 90002\n90002 90001\n90003 90003\n90001\t90003\n90004 90001\n"


def test_parsing_skips_comments_self_loops_and_repeated_pairs(tmp_path: Path) -> None:
    path = tmp_path / "edges.txt"
    path.write_text(EDGE_LIST)

    graph = read_snap_edges(path)

    assert graph.nodes == [90001, 90002, 90003, 90004]
    assert graph.edges == [(90001, 90002), (90001, 90003), (90004, 90001)]


@pytest.mark.parametrize("line", ["1", "1 2 3", "a b", "-1 2", "1.5 2"])
def test_a_malformed_line_names_file_and_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(f"# header\n1 2\n{line}\n")

    with pytest.raises(ValueError, match=r"bad\.txt:3: expected two non-negative integers"):
        read_snap_edges(path)


async def test_small_import_in_batches_of_two_with_progress(tmp_path: Path, graph_store: GraphStore) -> None:
    path = tmp_path / "edges.txt"
    path.write_text(EDGE_LIST)
    progress = Progress(console=Console(file=io.StringIO()))

    with progress:
        stats = await import_snap_graph(
            graph_store, path, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", 2, progress
        )

    assert (stats.users, stats.edges, stats.follows, stats.users_created, stats.follows_created) == (
        4,
        3,
        6,
        4,
        6,
    )
    assert {t.description: (t.completed, t.total) for t in progress.tasks} == {
        "users": (4, 4),
        "follows": (6, 6),
        "counters": (4, 4),
    }
    rows = await graph_store.read(FOLLOWS)
    assert [(r["follower"], r["followee"]) for r in rows] == [
        ("fb_90001", "fb_90002"),
        ("fb_90001", "fb_90003"),
        ("fb_90001", "fb_90004"),
        ("fb_90002", "fb_90001"),
        ("fb_90003", "fb_90001"),
        ("fb_90004", "fb_90001"),
    ]
    degrees = {r["follower"]: r["following_count"] for r in rows} | {
        r["followee"]: r["follower_count"] for r in rows
    }
    assert degrees == {"fb_90001": 3, "fb_90002": 1, "fb_90003": 1, "fb_90004": 1}
    again = await import_snap_graph(graph_store, path, "ignored-on-rerun", 5_000, None)
    assert (again.users_created, again.follows_created, again.counters_updated) == (0, 0, 0)


@pytest.mark.parametrize(("batch_size", "password_hash"), [(0, "h"), (5_001, "h"), (10, "")])
async def test_bad_arguments_write_nothing(
    tmp_path: Path, graph_store: GraphStore, batch_size: int, password_hash: str
) -> None:
    path = tmp_path / "edges.txt"
    path.write_text("95001 95002\n")

    with pytest.raises(ValueError):
        await import_snap_graph(graph_store, path, password_hash, batch_size, None)

    rows = await graph_store.read(FOLLOWS)
    assert not any(r["follower"].startswith("fb_9500") for r in rows)
