"""``schema.extensions``: the parsed-document cache, the validation cache per document object and validation
rules that stay the same across requests.

A minimal schema with the app's extension pieces (limits, ``document_cache``, ``validation_cache``) and a
recorder of each request's execution context; no stack needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from schema import extensions
from schema.extensions import document_cache, protection_extensions, validation_cache


class Recorder(SchemaExtension):
    """Records the document object and the validation rules each request ran with into ``seen``."""

    def __init__(self, *, seen: list[dict[str, Any]]) -> None:
        super().__init__()
        self.seen = seen

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        self.seen.append({"document": ctx.graphql_document, "rules": ctx.validation_rules})
        yield


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, name: str = "you") -> str:
        return f"hello {name}"


def make_schema(maxsize: int = 2) -> tuple[strawberry.Schema, list[dict[str, Any]]]:
    """A schema with the app's caching extensions and a recorder; returns it with the recorder's list."""
    seen: list[dict[str, Any]] = []
    return strawberry.Schema(
        query=Query,
        extensions=[
            *protection_extensions(max_depth=3, max_aliases=2, max_tokens=200),
            document_cache(maxsize=maxsize),
            validation_cache(maxsize=256),
            lambda: Recorder(seen=seen),
        ],
    ), seen


async def test_a_repeated_query_reuses_its_document_and_the_same_rule_classes() -> None:
    schema, seen = make_schema()
    first = await schema.execute('{ hello(name: "a") }')
    second = await schema.execute('{ hello(name: "a") }')

    assert first.errors is None and second.errors is None
    assert first.data == second.data == {"hello": "hello a"}
    assert seen[0]["document"] is seen[1]["document"]
    # QueryDepthLimiter/MaxAliasesLimiter built per request made new rule classes each time, so
    # ValidationCache (keyed by the rules) never hit
    assert seen[0]["rules"] == seen[1]["rules"]
    assert len(seen[0]["rules"]) > 2


async def test_syntax_errors_are_reported_every_time_and_never_cached() -> None:
    schema, seen = make_schema()
    for _ in range(2):
        result = await schema.execute("{ hello(name: ) }")
        assert result.data is None
        assert result.errors is not None and len(result.errors) == 1
        assert result.errors[0].message == "Syntax Error: Unexpected ')'."
    assert seen == []  # nothing was executed
    ok = await schema.execute("{ hello }")
    assert ok.data == {"hello": "hello you"}


async def test_limits_still_apply_to_cached_documents() -> None:
    schema, _ = make_schema()
    for _ in range(2):
        result = await schema.execute("{ a: hello b: hello c: hello }")
        assert result.errors is not None
        assert [e.message for e in result.errors] == ["3 aliases found. Allowed: 2"]


async def test_the_cache_keeps_the_most_recent_maxsize_queries() -> None:
    schema, seen = make_schema(maxsize=2)
    for query in ("{ hello }", '{ hello(name: "b") }', '{ hello(name: "c") }', "{ hello }", '{ hello(name: "c") }'):
        result = await schema.execute(query)
        assert result.errors is None
    documents = [entry["document"] for entry in seen]
    assert documents[3] is not documents[0]  # evicted by the third query, parsed again
    assert documents[4] is documents[2]  # still cached


async def test_a_document_is_validated_once_and_its_errors_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    validated: list[Any] = []
    original = extensions.validate_document

    def counting(schema: Any, document: Any, rules: Any) -> Any:
        validated.append(document)
        return original(schema, document, rules)

    monkeypatch.setattr(extensions, "validate_document", counting)
    schema, _ = make_schema()
    for _ in range(3):
        assert (await schema.execute("{ hello }")).data == {"hello": "hello you"}
        wrong = await schema.execute("{ hello nope }")
        assert wrong.data is None
        assert [e.message for e in wrong.errors or []] == ["Cannot query field 'nope' on type 'Query'."]
    assert len(validated) == 2  # one validation per document object
    other, _ = make_schema()  # another schema has its own cache
    assert (await other.execute("{ hello }")).data == {"hello": "hello you"}
    assert len(validated) == 3
