"""``schema.executor``: fields run directly give exactly graphql-core's answer, errors included.

A small schema run twice, with the app's ``DirectFieldExecutor`` (after ``schema.fast_fields.install``) and with
Strawberry's own execution context, and the two answers compared: data, key order, errors with their paths.
Objects and lists are completed in place, arguments computed once per field: every case that graphql-core must
complete itself (a value of another type, a null item of a non-null list, a leaf that does not coerce, a
directive) is here too. No stack needed: the fast path is pure GraphQL execution.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from schema import fast_fields
from schema.executor import FIELDS_KEY, SHARED_KEY, DirectFieldExecutor
from schema.extensions import document_cache


@strawberry.enum
class Kind(enum.Enum):
    PHOTO = "photo"
    VIDEO = "video"


@strawberry.enum
class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


class Impostor:
    """Not a ``Part``, though it has a ``label``: ``Part.is_type_of`` (an interface's implementation) refuses it."""

    label = "fake"


class Exploding:
    """A source whose ``name`` raises (an attribute that fails to resolve)."""

    id = "x"
    owner = None
    tags = ("a",)
    parts = None
    count = 1
    kind = Kind.PHOTO
    maybe = None
    missing = None

    @property
    def name(self) -> str:
        raise ValueError("no name")


@strawberry.interface
class Labelled:
    label: str  # non-null: a None nulls the part, and the non-null list item nulls the list


@strawberry.type
class Part(Labelled):
    @strawberry.field
    async def shout(self) -> str:
        await asyncio.sleep(0)
        return self.label.upper()

    @strawberry.field
    def sized(self, info: strawberry.Info, size: Size = Size.SMALL) -> str:
        return f"{self.label}-{size.value}"


@strawberry.type
class Badge(Labelled):
    level: int


@strawberry.type
class Item:
    id: strawberry.ID
    owner: Part | None
    tags: list[str]
    parts: list[Part] | None
    name: str
    count: int
    kind: Kind
    maybe: str | None
    missing: str  # non-null: a None here is an error that nulls the parent
    maybe_parts: list[Part | None]
    counts: list[int] | None

    @strawberry.field
    def sized(self, info: strawberry.Info, size: Size) -> str:
        return f"{self.name}-{size.value}"

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return f"later-{self.id}"


def _item(n: int, **overrides: Any) -> Item:
    values: dict[str, Any] = {"id": str(n), "name": f"item {n}", "count": n, "kind": Kind.VIDEO, "maybe": None,
                              "missing": "here", "owner": Part(label=f"owner {n}"), "tags": ["a", f"t{n}"],
                              "parts": [Part(label="p1"), Part(label="p2")], "maybe_parts": [None, Part(label="m")],
                              "counts": [n, 10]}  # fmt: skip
    values.update(overrides)
    return Item(**values)


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [_item(1), _item(2, maybe="yes")]

    @strawberry.field
    def labels(self) -> list[Labelled]:
        return [Part(label="p"), Badge(label="b", level=3), Part(label="q")]

    @strawberry.field
    def broken(self) -> Item | None:
        return _item(3, missing=None)

    @strawberry.field
    def broken_parts(self) -> Item | None:
        return _item(4, owner=Part(label=None), parts=[Part(label="ok"), Part(label=None)])  # type: ignore[arg-type]

    @strawberry.field
    def exploding(self) -> Item | None:
        return Exploding()  # type: ignore[return-value]

    @strawberry.field
    def odd(self) -> list[Item | None]:
        return [
            _item(5, owner=Impostor(), counts=["many"]),
            _item(6, parts=[Part(label="p"), None], maybe_parts=[Impostor()]),  # type: ignore[list-item]
            _item(7, tags=["a", None]),  # type: ignore[list-item]
            _item(8, count="lots"),
            _item(9, count=2**40),  # not a 32-bit Int
            _item(10, count=True),  # an Int field holding a bool: coerced to 1
        ]


class FieldCounter(SchemaExtension):
    """A per-field middleware (an extension implementing ``resolve``): records the fields it sees in ``seen``."""

    def __init__(self, *, seen: list[str]) -> None:
        super().__init__()
        self.seen = seen

    def resolve(self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        self.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


@pytest.fixture(autouse=True)
def _hot_sized(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Item.sized`` and ``Part.sized``: sync resolvers with an enum argument, called directly (as
    ``Media.url(size:)`` is in the app)."""
    monkeypatch.setitem(fast_fields.HOT, ("Item", "sized"), {"size": Size})
    monkeypatch.setitem(fast_fields.HOT, ("Part", "sized"), {"size": Size})


def _schemas(*, cached: bool = False) -> tuple[strawberry.Schema, strawberry.Schema]:
    """The fast schema (``cached``: with the app's document cache, so a repeated text is the same document)
    and the reference."""
    extensions = [document_cache()] if cached else []
    fast = strawberry.Schema(
        query=Query, types=[Badge], execution_context_class=DirectFieldExecutor, extensions=extensions
    )
    fast_fields.install(fast)
    return fast, strawberry.Schema(query=Query, types=[Badge])


def _answer(
    schema: strawberry.Schema, query: str, variables: dict[str, Any] | None = None
) -> tuple[Any, list[tuple[str, list[Any]]]]:
    result = asyncio.run(schema.execute(query, variable_values=variables))
    errors = sorted((e.message, list(e.path or [])) for e in result.errors or [])
    return result.data, errors


def test_leaves_keep_order_aliases_and_coercion() -> None:
    fast, reference = _schemas()
    assert sorted(fast._schema.extensions[FIELDS_KEY]["Item"]) == [
        "count", "counts", "id", "kind", "maybe", "maybeParts", "missing", "name", "owner", "parts", "sized", "tags",
    ]  # fmt: skip
    query = "{ items { b: name id later a: count kind maybe name __typename } }"
    data, errors = _answer(fast, query)
    assert (data, errors) == _answer(reference, query)
    assert errors == []
    assert data == {"items": [
        {"b": "item 1", "id": "1", "later": "later-1", "a": 1, "kind": "VIDEO", "maybe": None, "name": "item 1",
         "__typename": "Item"},
        {"b": "item 2", "id": "2", "later": "later-2", "a": 2, "kind": "VIDEO", "maybe": "yes", "name": "item 2",
         "__typename": "Item"},
    ]}  # fmt: skip
    assert [list(i) for i in data["items"]] == [["b", "id", "later", "a", "kind", "maybe", "name", "__typename"]] * 2


def test_a_null_non_null_leaf_is_graphql_cores_error_with_its_path() -> None:
    fast, reference = _schemas()
    query = "{ broken { id missing count } items { id } }"
    data, errors = _answer(fast, query)
    assert (data, errors) == _answer(reference, query)
    assert data == {"broken": None, "items": [{"id": "1"}, {"id": "2"}]}
    assert errors == [("Cannot return null for non-nullable field Item.missing.", ["broken", "missing"])]


def test_objects_and_lists_resolved_directly_match_with_nulls_propagated() -> None:
    fast, reference = _schemas()
    query = "{ items { owner { label } tags parts { label } } brokenParts { id owner { label } parts { label } } }"
    data, errors = _answer(fast, query)
    assert (data, errors) == _answer(reference, query)
    assert data == {
        "items": [
            {"owner": {"label": f"owner {n}"}, "tags": ["a", f"t{n}"], "parts": [{"label": "p1"}, {"label": "p2"}]}
            for n in (1, 2)
        ],
        "brokenParts": {"id": "4", "owner": None, "parts": None},
    }  # fmt: skip
    assert errors == [
        ("Cannot return null for non-nullable field Part.label.", ["brokenParts", "owner", "label"]),
        ("Cannot return null for non-nullable field Part.label.", ["brokenParts", "parts", 1, "label"]),
    ]


def test_a_leaf_that_raises_is_reported_at_its_path() -> None:
    fast, reference = _schemas()
    query = "{ exploding { id name count } }"
    data, errors = _answer(fast, query)
    assert (data, errors) == _answer(reference, query)
    assert data == {"exploding": None}
    assert errors == [("no name", ["exploding", "name"])]


def test_a_field_middleware_still_sees_every_field() -> None:
    fast_seen: list[str] = []
    reference_seen: list[str] = []
    fast = strawberry.Schema(query=Query, execution_context_class=DirectFieldExecutor,
                             extensions=[lambda: FieldCounter(seen=fast_seen)])  # fmt: skip
    fast_fields.install(fast)
    reference = strawberry.Schema(query=Query, extensions=[lambda: FieldCounter(seen=reference_seen)])
    query = "{ items { id name count } }"
    assert _answer(fast, query) == _answer(reference, query)
    assert sorted(fast_seen) == sorted(reference_seen) == sorted(["items", *["id", "name", "count"] * 2])


def test_arguments_are_each_fields_own_with_literals_variables_and_defaults() -> None:
    fast, reference = _schemas()
    query = """query Q($s: Size!) { items { small: sized(size: SMALL) large: sized(size: $s)
               parts { sized other: sized(size: LARGE) } } }"""
    data, errors = _answer(fast, query, {"s": "LARGE"})
    assert (data, errors) == _answer(reference, query, {"s": "LARGE"})
    assert errors == []
    assert data["items"][1] == {
        "small": "item 2-small", "large": "item 2-large",
        "parts": [{"sized": "p1-small", "other": "p1-large"}, {"sized": "p2-small", "other": "p2-large"}],
    }  # fmt: skip
    data, _ = _answer(fast, query, {"s": "SMALL"})  # the same document, other variables: nothing kept between
    assert data["items"][0]["large"] == "item 1-small"


def test_objects_in_place_await_their_async_fields_and_nullable_items_stay_null() -> None:
    fast, reference = _schemas()
    query = "{ items { parts { label shout } maybeParts { label shout } owner { shout } } }"
    data, errors = _answer(fast, query)
    assert (data, errors) == _answer(reference, query)
    assert errors == []
    assert data["items"][0] == {
        "parts": [{"label": "p1", "shout": "P1"}, {"label": "p2", "shout": "P2"}],
        "maybeParts": [None, {"label": "m", "shout": "M"}],
        "owner": {"shout": "OWNER 1"},
    }


def test_values_graphql_core_must_complete_give_its_errors() -> None:
    fast, reference = _schemas()
    query = "{ odd { id owner { label } tags count counts parts { label } maybeParts { label } } }"
    data, errors = _answer(fast, query)
    assert (data, errors) == _answer(reference, query)
    assert data == {"odd": [
        {"id": "5", "owner": None, "tags": ["a", "t5"], "count": 5, "counts": None,
         "parts": [{"label": "p1"}, {"label": "p2"}], "maybeParts": [None, {"label": "m"}]},
        {"id": "6", "owner": {"label": "owner 6"}, "tags": ["a", "t6"], "count": 6, "counts": [6, 10], "parts": None,
         "maybeParts": [None]},
        None,
        None,
        None,
        {"id": "10", "owner": {"label": "owner 10"}, "tags": ["a", "t10"], "count": 1, "counts": [10, 10],
         "parts": [{"label": "p1"}, {"label": "p2"}], "maybeParts": [None, {"label": "m"}]},
    ]}  # fmt: skip
    assert errors == [
        ("Cannot return null for non-nullable field Item.parts.", ["odd", 1, "parts", 1]),
        ("Cannot return null for non-nullable field Item.tags.", ["odd", 2, "tags", 1]),
        ("Expected value of type 'Part' but got: <Impostor instance>.", ["odd", 0, "owner"]),
        ("Expected value of type 'Part' but got: <Impostor instance>.", ["odd", 1, "maybeParts", 0]),
        ("Int cannot represent non 32-bit signed integer value: 1099511627776", ["odd", 4, "count"]),
        ("Int cannot represent non-integer value: 'lots'", ["odd", 3, "count"]),
        ("Int cannot represent non-integer value: 'many'", ["odd", 0, "counts", 0]),
    ]


def test_fields_with_directives_match() -> None:
    fast, reference = _schemas()
    query = "{ items { parts @include(if: true) { label } tags @skip(if: false) owner @skip(if: true) { label } } }"
    data, errors = _answer(fast, query)
    assert (data, errors) == _answer(reference, query)
    assert data["items"][0] == {"parts": [{"label": "p1"}, {"label": "p2"}], "tags": ["a", "t1"]}


SHARED_QUERY = """
query Q($s: Size!) {
  items { id sized(size: $s) owner { ...L } parts { label sized } }
  labels { __typename ...L ... on Part { shout sized(size: $s) } ... on Badge { level } }
}
fragment L on Labelled { label }
"""


def test_a_repeated_operation_without_directives_is_collected_once_for_all_its_requests() -> None:
    fast, reference = _schemas(cached=True)
    for size in ("LARGE", "SMALL", "LARGE"):  # each request its own variables, over the same collections
        data, errors = _answer(fast, SHARED_QUERY, {"s": size})
        assert (data, errors) == _answer(reference, SHARED_QUERY, {"s": size})
        assert errors == []
        parts = [{"label": "p1", "sized": "p1-small"}, {"label": "p2", "sized": "p2-small"}]
        assert data["items"][0] == {"id": "1", "sized": f"item 1-{size.lower()}", "owner": {"label": "owner 1"},
                                    "parts": parts}  # fmt: skip
        assert data["labels"] == [
            {"__typename": "Part", "label": "p", "shout": "P", "sized": f"p-{size.lower()}"},
            {"__typename": "Badge", "label": "b", "level": 3},
            {"__typename": "Part", "label": "q", "shout": "Q", "sized": f"q-{size.lower()}"},
        ]
    entries = fast._schema.extensions[SHARED_KEY]
    assert len(entries) == 1  # one document, one entry
    (entry,) = entries.values()
    assert entry.shareable
    # Query.items, Item.owner, Item.parts, and Query.labels once per runtime type (Part, Badge): 5 collections
    assert sorted(key[0].name for key in entry.by_nodes) == ["Badge", "Item", "Part", "Part", "Part"]


def test_an_operation_with_directives_is_collected_per_request_from_its_own_variables() -> None:
    fast, reference = _schemas(cached=True)
    query = "query Q($show: Boolean!) { items { id tags @include(if: $show) owner { label @skip(if: $show) } } }"
    for show in (True, False, True):
        data, errors = _answer(fast, query, {"show": show})
        assert (data, errors) == _answer(reference, query, {"show": show})
        assert data["items"][1] == (
            {"id": "2", "tags": ["a", "t2"], "owner": {}} if show else {"id": "2", "owner": {"label": "owner 2"}}
        )
    (entry,) = fast._schema.extensions[SHARED_KEY].values()
    assert not entry.shareable
    assert entry.by_nodes == {}


def test_the_shared_collections_keep_a_bounded_number_of_operations() -> None:
    fast, _ = _schemas(cached=True)
    for n in range(300):
        _answer(fast, f"{{ items {{ id a{n}: name }} }}")
    assert len(fast._schema.extensions[SHARED_KEY]) == 256
