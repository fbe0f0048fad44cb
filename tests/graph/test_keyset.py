"""``graph.keyset``: the exact predicate text and the names it refuses to splice into a statement.

The predicates' behaviour on FalkorDB is pinned in ``test_falkordb_quirks.py`` and, through the real
statements, in ``tests/services/test_keyset_ties.py``.
"""

from __future__ import annotations

import pytest

from graph.keyset import keyset_after, keyset_before


def test_keyset_before_is_a_null_guarded_case_with_strict_upper_bounds() -> None:
    text = keyset_before("l.created_at", "u.id", "after_at", "after_id")

    assert text == (
        "($after_at IS NULL OR CASE WHEN l.created_at = $after_at THEN u.id < $after_id"
        " ELSE l.created_at < $after_at END)"
    )


def test_keyset_after_has_the_same_shape_with_strict_lower_bounds() -> None:
    text = keyset_after("c.created_at", "c.id", "after_at", "after_id")

    assert text == (
        "($after_at IS NULL OR CASE WHEN c.created_at = $after_at THEN c.id > $after_id"
        " ELSE c.created_at > $after_at END)"
    )


def test_an_alias_without_a_property_is_a_valid_key() -> None:
    assert keyset_before("score", "id", "ts", "pid") == (
        "($ts IS NULL OR CASE WHEN score = $ts THEN id < $pid ELSE score < $ts END)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("p.created_at) OR (true", "p.id", "ts", "id"), "keyset key"),
        (("p.created_at", "p.id.x", "ts", "id"), "keyset key"),
        (("p.created_at", "", "ts", "id"), "keyset key"),
        (("p.created_at", "p.id", "$ts", "id"), "keyset parameter"),
        (("p.created_at", "p.id", "ts", "id OR true"), "keyset parameter"),
    ],
)
def test_a_name_that_is_not_a_plain_identifier_raises_value_error(
    args: tuple[str, str, str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        keyset_before(*args)
    with pytest.raises(ValueError, match=message):
        keyset_after(*args)
