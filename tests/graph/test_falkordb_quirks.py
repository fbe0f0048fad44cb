"""FalkorDB 4.16 quirks the statements work around, pinned on the real server (and one static check).

- An upper bound on an INDEXED string property (``p.id < $id``) is answered wrongly when FalkorDB plans it as
  an index scan: every row comes back. ``graph.keyset`` writes keyset predicates as a ``CASE``, which is
  never index-pushed. The test pages with that predicate over posts that share one ``created_at`` and
  shows, on the same data, that the textbook ``OR`` form repeats the cursor's own row (a canary: when it
  fails because FalkorDB answers right, the bug is fixed upstream).
- Statically, no statement compares a unique (hence indexed) string property against an upper bound except
  through ``graph.keyset``: whether FalkorDB picks the index depends on the plan, which a change elsewhere in
  a statement can flip, so the tests with data alone would not catch a new textbook keyset.
- A statement naming a relationship type the graph has never seen gets a cached "never matches" plan, so
  migration 0002 registers every label and type up front: every one the statements name must be listed.
- A pattern predicate in the ``WHERE`` of a ``MATCH`` that starts from an index lookup (``MATCH (r {id})
  MATCH (r)<-[:FOLLOWS]-(a) WHERE NOT (r)-[:BLOCKS]-(a)``) makes FalkorDB scan EVERY node of ``a``'s label and
  traverse towards ``r`` (measured 10 s instead of 12 ms for 200 recipients on the SNAP graph); put the
  predicate after a ``WITH`` and the plan traverses from ``r`` (``seed.SEED_FOLLOWERS_OF``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from graph.cypher import cypher, load_statement_modules, registered
from graph.keyset import keyset_before
from graph.migrations import LABELS, RELATIONSHIP_TYPES, UNIQUE

if TYPE_CHECKING:
    from graph.store import GraphStore

AT = 1_700_000_000_000  # the created_at (epoch ms) the tied posts share
TIED = [f"quirk-{i:02d}" for i in range(1, 7)]  # quirk-01 .. quirk-06, all created at AT
NEWER = "quirk-00"  # created at AT + 1: before every tied post in newest-first order
OLDER = "quirk-99"  # created at AT - 1: after every tied post although its id sorts last
NEWEST_FIRST = [NEWER, *sorted(TIED, reverse=True), OLDER]

CREATE_POSTS = cypher(
    "tests.falkordb_quirks.CREATE_POSTS",
    "UNWIND $rows AS r CREATE (p:Post {id: r.id, created_at: r.at, status: 'PUBLISHED'}) RETURN count(p) AS n",
    write=True,
)
_TAIL = "RETURN p.id AS id, p.created_at AS at ORDER BY p.created_at DESC, p.id DESC LIMIT $limit"
KEYSET_PAGE = cypher(
    "tests.falkordb_quirks.KEYSET_PAGE",
    f"MATCH (p:Post) WHERE {keyset_before('p.created_at', 'p.id', 'ts', 'id')} {_TAIL}",
)
OR_FORM_PAGE = cypher(
    "tests.falkordb_quirks.OR_FORM_PAGE",
    f"MATCH (p:Post) WHERE p.created_at < $ts OR (p.created_at = $ts AND p.id < $id) {_TAIL}",
)

#: Labels that exist before migration 0002 runs: the migrations' own bookkeeping.
BOOKKEEPING_LABELS = {
    "Migration": "recorded by every migration, 0001 included, before 0002 registers anything",
    "SchemaProbe": "the throw-away node that migration 0002 itself registers the types with",
}


async def _explain(store: GraphStore, text: str, cursor_id: str) -> str:
    graph_name = store.graph_name  # type: ignore[attr-defined]
    query = f"CYPHER ts={AT} id='{cursor_id}' limit=100 {text}"
    lines = await store.execute_command("GRAPH.EXPLAIN", graph_name, query)  # type: ignore[attr-defined]
    return "\n".join(line.decode() if isinstance(line, bytes) else str(line) for line in lines)


async def test_a_keyset_page_over_tied_timestamps_and_indexed_ids_has_no_repeat_and_no_gap(
    graph_store: GraphStore,
) -> None:
    rows = [{"id": pid, "at": AT} for pid in TIED] + [{"id": NEWER, "at": AT + 1}, {"id": OLDER, "at": AT - 1}]
    assert await graph_store.write(CREATE_POSTS, {"rows": rows}) == [{"n": 8}]

    # When: paging two at a time with the graph.keyset predicate, from a null cursor.
    seen: list[str] = []
    cursor: dict[str, int | str | None] = {"ts": None, "id": None}
    for _ in range(10):
        page = await graph_store.read(KEYSET_PAGE, {**cursor, "limit": 2})
        if not page:
            break
        seen += [r["id"] for r in page]
        cursor = {"ts": page[-1]["at"], "id": page[-1]["id"]}

    # Then: every post exactly once, in (created_at DESC, id DESC) order; mid-tie the page starts right after.
    assert seen == NEWEST_FIRST
    after_tie = await graph_store.read(KEYSET_PAGE, {"ts": AT, "id": "quirk-04", "limit": 100})
    assert [r["id"] for r in after_tie] == ["quirk-03", "quirk-02", "quirk-01", OLDER]
    fixed_plan = await _explain(graph_store, KEYSET_PAGE.text, "quirk-04")
    assert "Node By Index Scan" not in fixed_plan and "Filter" in fixed_plan, fixed_plan

    # And: the textbook OR form, planned as an index scan, drops the id bound: the cursor's own post and the
    # ones before it come back (the bug graph.keyset works around).
    or_plan = await _explain(graph_store, OR_FORM_PAGE.text, "quirk-04")
    or_rows = await graph_store.read(OR_FORM_PAGE, {"ts": AT, "id": "quirk-04", "limit": 100})
    assert "Node By Index Scan" in or_plan, or_plan
    assert [r["id"] for r in or_rows] == [*sorted(TIED, reverse=True), OLDER]


def _project_statements() -> list[tuple[str, str]]:
    """``(name, text)`` of every statement the project registers (not the tests')."""
    load_statement_modules()
    return [(s.name, s.text) for s in registered() if not s.name.startswith("tests.")]


#: What ``graph.keyset`` renders (the only allowed form of an upper bound on an indexed string).
_KEYSET_FORM = re.compile(
    r"\(\$\w+ IS NULL OR CASE WHEN [\w.]+ = \$\w+ THEN [\w.]+ [<>] \$\w+ ELSE [\w.]+ [<>] \$\w+ END\)"
)
_STRING_KEYS = "|".join(sorted({prop for _, prop in UNIQUE}))  # id, username, email, name
#: ``x.id < ...``, ``id <= ...`` (a WITH alias), ``... > x.id``, ``... >= id``; not ``<>``, ``<-`` or ``->``.
_UPPER_BOUND = re.compile(
    rf"(?:\b\w+\.)?\b(?:{_STRING_KEYS})\b\s*<(?![>-])=?|(?<![-<])>=?\s*(?:\w+\.)?\b(?:{_STRING_KEYS})\b(?!\s*:)"
)


def test_no_statement_bounds_an_indexed_string_from_above_except_through_graph_keyset() -> None:
    offending = {}
    for name, text in _project_statements():
        rest = _KEYSET_FORM.sub("<keyset>", _STRING.sub("''", text))
        found = [m.group(0) for m in _UPPER_BOUND.finditer(rest)]
        if found:
            offending[name] = found

    assert offending == {}, "write these keysets with graph.keyset.keyset_before/keyset_after"


_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_REL_TYPES = re.compile(r"\[\s*\w*\s*:\s*(\w+(?:\s*\|\s*:?\s*\w+)*)")  # [:T, [r:T, [r:A|B, [:A|:B
_LABELS = re.compile(r"\(\s*\w*\s*((?::\s*\w+\s*)+)")  # (:L, (n:L, (n:A:B


def test_every_label_and_relationship_type_the_statements_name_is_registered_by_migration_0002() -> None:
    rel_types: dict[str, set[str]] = {}
    labels: dict[str, set[str]] = {}
    statements = _project_statements()
    for name, text in statements:
        bare = _STRING.sub("''", text)
        for match in _REL_TYPES.finditer(bare):
            for rel in re.split(r"\s*\|\s*:?\s*", match.group(1)):
                rel_types.setdefault(rel, set()).add(name)
        for match in _LABELS.finditer(bare):
            for label in re.findall(r":\s*(\w+)", match.group(1)):
                labels.setdefault(label, set()).add(name)

    # The parse sees the shapes it must (guards against a regex that silently matches nothing).
    assert len(statements) > 50
    assert {"FOLLOWS", "LIKED", "WROTE", "ON", "HAS_MEDIA", "REQUESTED", "BLOCKS"} <= rel_types.keys()
    assert {"User", "Post", "Comment", "Media", "Hashtag", "Outbox"} <= labels.keys()

    missing_types = {t: sorted(names) for t, names in rel_types.items() if t not in RELATIONSHIP_TYPES}
    missing_labels = {
        lb: sorted(names) for lb, names in labels.items() if lb not in LABELS and lb not in BOOKKEEPING_LABELS
    }
    assert missing_types == {}, "add these to graph.migrations.RELATIONSHIP_TYPES (and a migration)"
    assert missing_labels == {}, "add these to graph.migrations.LABELS (and a migration)"


_FOLLOWERS = "UNWIND ['x'] AS rid MATCH (r:User {id: rid}) MATCH (r)<-[f:FOLLOWS]-(a:User) "


async def test_a_pattern_predicate_in_the_match_where_plans_a_label_scan_and_after_with_it_does_not(
    graph_store: GraphStore,
) -> None:
    graph_name = graph_store.graph_name  # type: ignore[attr-defined]

    async def plan(text: str) -> str:
        lines = await graph_store.execute_command("GRAPH.EXPLAIN", graph_name, text)  # type: ignore[attr-defined]
        return "\n".join(line.decode() if isinstance(line, bytes) else str(line) for line in lines)

    inline = await plan(_FOLLOWERS + "WHERE NOT (r)-[:BLOCKS]-(a) RETURN a.id")
    after_with = await plan(_FOLLOWERS + "WITH r, a WHERE NOT (r)-[:BLOCKS]-(a) RETURN a.id")
    assert "Node By Label Scan | (a:User)" in inline  # the canary: fixed upstream when this fails
    assert "Label Scan" not in after_with


SET_THEN_FILTER = cypher(
    "tests.falkordb_quirks.SET_THEN_FILTER",
    "MATCH (p:Post {id: $id}) SET p.touched = $value WITH p WHERE p.touched = 'never' RETURN p.id AS id",
    write=True,
)
TOUCHED = cypher("tests.falkordb_quirks.TOUCHED", "MATCH (p:Post {id: $id}) RETURN p.touched AS touched")


async def test_a_set_whose_row_a_later_where_drops_is_not_applied(graph_store: GraphStore) -> None:
    # FalkorDB 4.16 applies a SET only for the rows that reach the end of the statement: "update, then move
    # the rows that now qualify" must be two statements (graph.statements.outbox OUTBOX_FAILED then
    # OUTBOX_DEAD_LETTER). Neo4j applies the SET either way. A canary: when it fails, the bug is fixed.
    await graph_store.write(CREATE_POSTS, {"rows": [{"id": "quirk-set", "at": AT}]})
    assert await graph_store.write(SET_THEN_FILTER, {"id": "quirk-set", "value": "yes"}) == []
    assert await graph_store.read(TOUCHED, {"id": "quirk-set"}) == [{"touched": None}]
