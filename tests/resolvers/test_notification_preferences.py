"""``notificationPreferences`` and ``updateNotificationPreferences`` over GraphQL: defaults, partial updates,
clearing the window, and BAD_USER_INPUT naming the field (nothing written then)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import pytest

from tests.support.factories import graphql, make_user
from tests.support.notifications import PREFS, ok

if TYPE_CHECKING:
    import httpx

READ = """{ notificationPreferences {
  likes comments follows followRequests mentions doNotDisturbStart doNotDisturbEnd timeZone } }"""
DEFAULTS = {
    "likes": True, "comments": True, "follows": True, "followRequests": True, "mentions": True,
    "doNotDisturbStart": None, "doNotDisturbEnd": None, "timeZone": "UTC",
}  # fmt: skip


async def test_defaults_partial_updates_and_clearing(api: httpx.AsyncClient) -> None:
    ana = await make_user(api, f"ana_{secrets.token_hex(3)}")
    assert (await ok(api, READ, {}, ana))["notificationPreferences"] == DEFAULTS

    window = {"doNotDisturbStart": "22:00", "doNotDisturbEnd": "07:00", "timeZone": "Europe/Paris"}
    updated = (await ok(api, PREFS, {"input": {**window, "likes": False}}, ana))["updateNotificationPreferences"]
    assert updated == {**DEFAULTS, **window, "likes": False}

    # omitted fields stay; only mentions changes
    again = (await ok(api, PREFS, {"input": {"mentions": False}}, ana))["updateNotificationPreferences"]
    assert again == {**DEFAULTS, **window, "likes": False, "mentions": False}

    # a null window time clears the window (both ends); the zone stays
    cleared = (await ok(api, PREFS, {"input": {"doNotDisturbStart": None}}, ana))["updateNotificationPreferences"]
    assert (cleared["doNotDisturbStart"], cleared["doNotDisturbEnd"], cleared["timeZone"]) == (
        None, None, "Europe/Paris",
    )  # fmt: skip
    assert (await ok(api, READ, {}, ana))["notificationPreferences"] == cleared


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"doNotDisturbStart": "25:00", "doNotDisturbEnd": "07:00"}, "doNotDisturbStart"),
        ({"doNotDisturbStart": "22:00", "doNotDisturbEnd": "7:00"}, "doNotDisturbEnd"),
        ({"doNotDisturbStart": "22:60", "doNotDisturbEnd": "07:00"}, "doNotDisturbStart"),
        ({"doNotDisturbStart": "22:00"}, "doNotDisturbEnd"),
        ({"doNotDisturbEnd": "07:00"}, "doNotDisturbStart"),
        ({"timeZone": "Mars/Olympus_Mons"}, "timeZone"),
        ({"timeZone": "../../etc/passwd"}, "timeZone"),
        ({"timeZone": ""}, "timeZone"),
        ({"timeZone": None}, "timeZone"),
        ({"likes": None}, "likes"),
        ({"followRequests": None}, "followRequests"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    api: httpx.AsyncClient, changes: dict, field: str
) -> None:
    ana = await make_user(api, f"ana_{secrets.token_hex(3)}")
    body = await graphql(api, PREFS, {"input": {**changes, "mentions": False}}, token=ana.token)
    assert [e["extensions"] for e in body["errors"]] == [{"code": "BAD_USER_INPUT", "field": field}]
    assert (await ok(api, READ, {}, ana))["notificationPreferences"] == DEFAULTS


async def test_anonymous_is_unauthenticated(api: httpx.AsyncClient) -> None:
    for query, variables in ((READ, {}), (PREFS, {"input": {"likes": False}})):
        body = await graphql(api, query, variables)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
