"""The notification list over GraphQL on the real stack: what each event stores, grouping, exclusions, undo,
redelivery, keyset pages, unreadCount, markNotificationsRead and who may read what.

Events reach the worker's use case through ``deliver_events`` (the outbox, in order); the Kafka path itself is
covered by ``tests/workers/test_notifications_worker.py``.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING

from events.envelope import Event
from graph.cypher import cypher
from graph.statements.outbox import OUTBOX_DELETE, OUTBOX_PENDING
from schema.base import from_global_id, to_global_id
from tests.support.factories import graphql, make_user
from tests.support.notifications import (
    DELETE_COMMENT,
    NOTIFICATIONS,
    PREFS,
    comment,
    deliver_events,
    like,
    notifications,
    ok,
    summary,
    unlike,
)
from tests.support.posts import approve, block, delete_post, follow, publish_post

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from tests.support.factories import TestUser

UNFOLLOW = "mutation($input: UserIdInput!) { unfollow(input: $input) { status } }"
MARK = """
mutation($upTo: ID) { markNotificationsRead(input: {upTo: $upTo}) {
  unreadCount edges { node { kind read } } } }
"""
_COUNT_NOTIFICATIONS = cypher(  # a read-only probe: the nodes stored, hidden or not
    "tests.notifications.COUNT",
    "MATCH (n:Notification {recipient_id: $recipient_id}) RETURN count(n) AS n",
)
NODE = "query($id: ID!) { node(id: $id) { id ... on Notification { kind actorCount } } }"


async def _user(api: httpx.AsyncClient, prefix: str, **kwargs: bool) -> TestUser:
    return await make_user(api, f"{prefix}_{secrets.token_hex(3)}", **kwargs)


async def test_likes_group_per_post_most_recent_actor_first(api: httpx.AsyncClient, app: Starlette) -> None:
    # given: ana's post liked by bob, then cy, then dee; ana likes it herself
    ana, bob, cy, dee = [await _user(api, p) for p in ("ana", "bob", "cy", "dee")]
    post = await publish_post(api, app, ana)
    for liker in (bob, cy, dee, ana):
        await like(api, liker, post)
    await deliver_events(app)

    # then: one LIKE group, three actors newest first, about the post; nobody else got anything
    page = await notifications(api, ana)
    assert summary(page) == [("LIKE", 3, [dee.username, cy.username, bob.username])]
    node = page["edges"][0]["node"]
    assert node["post"]["id"] == post.gid and node["comment"] is None and node["read"] is False
    assert page["unreadCount"] == 1
    assert (await notifications(api, bob))["edges"] == []


async def test_comments_group_and_a_deleted_comment_takes_its_author_out(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    ana, bob, cy = [await _user(api, p) for p in ("ana", "bob", "cy")]
    post = await publish_post(api, app, ana)
    await comment(api, bob, post, "first!")
    cy_comment = await comment(api, cy, post, "lovely light")
    await deliver_events(app)
    page = await notifications(api, ana)
    assert summary(page) == [("COMMENT", 2, [cy.username, bob.username])]
    assert page["edges"][0]["node"]["comment"]["text"] == "lovely light"

    # when: cy deletes the comment
    await ok(api, DELETE_COMMENT, {"input": {"commentId": cy_comment}}, cy)
    await deliver_events(app)

    # then: cy left the group
    assert summary(await notifications(api, ana)) == [("COMMENT", 1, [bob.username])]


async def test_unlike_removes_the_actor_and_the_last_one_removes_the_notification(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    ana, bob, cy = [await _user(api, p) for p in ("ana", "bob", "cy")]
    post = await publish_post(api, app, ana)
    await like(api, bob, post)
    await like(api, cy, post)
    await deliver_events(app)
    await unlike(api, bob, post)
    await deliver_events(app)
    assert summary(await notifications(api, ana)) == [("LIKE", 1, [cy.username])]
    await unlike(api, cy, post)
    await deliver_events(app)
    page = await notifications(api, ana)
    assert page["edges"] == [] and page["unreadCount"] == 0


async def test_a_redelivered_event_changes_nothing(api: httpx.AsyncClient, app: Starlette) -> None:
    ana, bob = await _user(api, "ana"), await _user(api, "bob")
    post = await publish_post(api, app, ana)
    await like(api, bob, post)
    events = await deliver_events(app)
    before = await notifications(api, ana)

    service = app.state.services.notifications
    likes = [e for e in events if e.type == "like.created"]
    changed = [await service.handle(e) for e in likes * 3]

    assert changed == [0, 0, 0]
    assert await notifications(api, ana) == before


async def test_an_undo_handled_after_the_redo_keeps_the_actor(api: httpx.AsyncClient, app: Starlette) -> None:
    # given: bob likes, unlikes, likes again; the events are handled in that order, then the unlike again
    ana, bob = await _user(api, "ana"), await _user(api, "bob")
    post = await publish_post(api, app, ana)
    await like(api, bob, post)
    await unlike(api, bob, post)
    await like(api, bob, post)
    events = await deliver_events(app)
    assert summary(await notifications(api, ana)) == [("LIKE", 1, [bob.username])]

    # when: the stale like.removed is redelivered
    stale = next(e for e in events if e.type == "like.removed")
    assert await app.state.services.notifications.handle(stale) == 0

    # then: bob is still there (the like exists)
    assert summary(await notifications(api, ana)) == [("LIKE", 1, [bob.username])]


async def test_follows_group_and_an_unfollow_takes_the_follower_out(api: httpx.AsyncClient, app: Starlette) -> None:
    ana, bob, cy = [await _user(api, p) for p in ("ana", "bob", "cy")]
    await follow(api, bob, ana)
    await follow(api, cy, ana)
    await deliver_events(app)
    assert summary(await notifications(api, ana)) == [("FOLLOW", 2, [cy.username, bob.username])]
    await ok(api, UNFOLLOW, {"input": {"userId": ana.gid}}, bob)
    await deliver_events(app)
    assert summary(await notifications(api, ana)) == [("FOLLOW", 1, [cy.username])]


async def test_follow_request_then_accepted(api: httpx.AsyncClient, app: Starlette) -> None:
    # given: private ana gets requests from bob and cy (never grouped)
    ana = await _user(api, "ana", private=True)
    bob, cy = await _user(api, "bob"), await _user(api, "cy")
    assert await follow(api, bob, ana) == "REQUESTED"
    assert await follow(api, cy, ana) == "REQUESTED"
    await deliver_events(app)
    assert summary(await notifications(api, ana)) == [
        ("FOLLOW_REQUEST", 1, [cy.username]), ("FOLLOW_REQUEST", 1, [bob.username]),
    ]  # fmt: skip

    # when: ana accepts bob
    await approve(api, ana, bob)
    await deliver_events(app)

    # then: bob is told; ana's request notification from bob is gone
    assert summary(await notifications(api, bob)) == [("FOLLOW_ACCEPTED", 1, [ana.username])]
    assert summary(await notifications(api, ana)) == [("FOLLOW_REQUEST", 1, [cy.username])]


async def test_a_rejected_follow_request_takes_its_notification_away(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    # given: private ana has requests from bob and cy
    ana = await _user(api, "ana", private=True)
    bob, cy = await _user(api, "bob"), await _user(api, "cy")
    assert await follow(api, bob, ana) == "REQUESTED"
    assert await follow(api, cy, ana) == "REQUESTED"
    await deliver_events(app)

    # when: ana rejects bob (twice: the second finds no request and records no event)
    for _ in range(2):
        body = await graphql(
            api, "mutation($input: UserIdInput!) { rejectFollowRequest(input: $input) { status } }",
            {"input": {"userId": bob.gid}}, token=ana.token,
        )  # fmt: skip
        assert body["data"]["rejectFollowRequest"]["status"] == "NOT_FOLLOWING", body
    await deliver_events(app)

    # then: only cy's request is left, and bob is told nothing
    assert summary(await notifications(api, ana)) == [("FOLLOW_REQUEST", 1, [cy.username])]
    assert summary(await notifications(api, bob)) == []


async def test_mentions_in_a_caption_and_in_a_comment_are_never_grouped(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    ana, bob, cy = [await _user(api, p) for p in ("ana", "bob", "cy")]
    post = await publish_post(api, app, ana, caption=f"Launch day with @{bob.username}!")
    other = await publish_post(api, app, cy)
    comment_id = await comment(api, cy, other, f"@{bob.username} look at this")
    await deliver_events(app)
    page = await notifications(api, bob)
    assert summary(page) == [("MENTION", 1, [cy.username]), ("MENTION", 1, [ana.username])]
    assert page["edges"][0]["node"]["comment"]["id"] == comment_id
    assert page["edges"][0]["node"]["post"]["id"] == other.gid
    assert page["edges"][1]["node"]["post"]["id"] == post.gid
    assert page["edges"][1]["node"]["comment"] is None


async def test_nothing_for_self_actions_blocked_users_or_deleted_content(
    api: httpx.AsyncClient, app: Starlette
) -> None:
    ana, bob, cy = [await _user(api, p) for p in ("ana", "bob", "cy")]
    post = await publish_post(api, app, ana)
    await like(api, ana, post)
    await like(api, bob, post)
    await like(api, cy, post)
    await block(api, ana, cy)  # after cy's like: cy's actor edge is removed and cy never shows
    await deliver_events(app)
    assert summary(await notifications(api, ana)) == [("LIKE", 1, [bob.username])]

    # when: the post is deleted
    await delete_post(api, ana, post)
    await deliver_events(app)

    # then: nothing about it is left
    assert (await notifications(api, ana))["edges"] == []


async def test_a_block_hides_the_actor_at_once_before_any_worker_ran(api: httpx.AsyncClient, app: Starlette) -> None:
    ana, bob, cy = [await _user(api, p) for p in ("ana", "bob", "cy")]
    await follow(api, bob, ana)
    await follow(api, cy, ana)
    await deliver_events(app)
    await block(api, ana, bob)  # the block.created event is not handled yet
    page = await notifications(api, ana)
    assert summary(page) == [("FOLLOW", 1, [cy.username])]


async def test_a_kind_turned_off_stores_nothing(api: httpx.AsyncClient, app: Starlette) -> None:
    ana, bob = await _user(api, "ana"), await _user(api, "bob")
    await ok(api, PREFS, {"input": {"likes": False}}, ana)
    post = await publish_post(api, app, ana)
    await like(api, bob, post)
    await comment(api, bob, post, "nice")
    await deliver_events(app)
    assert summary(await notifications(api, ana)) == [("COMMENT", 1, [bob.username])]
    rows = await app.state.resources.graph.read(_COUNT_NOTIFICATIONS, {"recipient_id": ana.id})
    assert rows[0]["n"] == 1  # no LIKE node at all, not merely hidden


async def test_a_new_group_opens_after_the_window(api: httpx.AsyncClient, app: Starlette) -> None:
    # given: the window is 1 s for this service; bob likes, then cy likes more than a window later
    ana, bob, cy = [await _user(api, p) for p in ("ana", "bob", "cy")]
    post = await publish_post(api, app, ana)
    service = app.state.services.notifications
    saved = service.group_window_ms
    service.group_window_ms = 1_000
    try:
        await like(api, bob, post)
        await deliver_events(app)
        await asyncio.sleep(1.2)
        await like(api, cy, post)
        await deliver_events(app)
    finally:
        service.group_window_ms = saved
    assert summary(await notifications(api, ana)) == [("LIKE", 1, [cy.username]), ("LIKE", 1, [bob.username])]


async def test_pages_unread_count_and_mark_read(api: httpx.AsyncClient, app: Starlette) -> None:
    # given: five posts of ana, each liked by bob -> five LIKE notifications
    ana, bob = await _user(api, "ana"), await _user(api, "bob")
    posts = [await publish_post(api, app, ana) for _ in range(5)]
    for post in posts:
        await like(api, bob, post)
        await deliver_events(app)

    # then: keyset pages of 2, newest first, no repeats
    seen: list[str] = []
    after = None
    while True:
        page = await notifications(api, ana, first=2, after=after)
        seen += [e["node"]["post"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [p.gid for p in reversed(posts)]

    # when: marking up to the third newest
    third = (await notifications(api, ana))["edges"][2]["node"]["id"]
    marked = (await ok(api, MARK, {"upTo": third}, ana))["markNotificationsRead"]
    assert [e["node"]["read"] for e in marked["edges"]] == [False, False, True, True, True]
    assert marked["unreadCount"] == 2
    everything = (await ok(api, MARK, {"upTo": None}, ana))["markNotificationsRead"]
    assert everything["unreadCount"] == 0


async def test_bad_input_names_the_field(api: httpx.AsyncClient, app: Starlette, gql) -> None:
    ana, bob = await _user(api, "ana"), await _user(api, "bob")
    post = await publish_post(api, app, ana)
    await like(api, bob, post)
    await deliver_events(app)
    ana_notification = (await notifications(api, ana))["edges"][0]["node"]["id"]
    cases = [
        (NOTIFICATIONS, {"first": 0}, "first"),
        (NOTIFICATIONS, {"first": 101}, "first"),
        (NOTIFICATIONS, {"after": "garbage"}, "after"),
        (MARK, {"upTo": "not-an-id"}, "upTo"),
        (MARK, {"upTo": to_global_id("Post", post.id)}, "upTo"),
        (MARK, {"upTo": ana_notification}, "upTo"),  # bob marking ana's
    ]
    for query, variables, field in cases:
        body = await graphql(api, query, variables, token=bob.token)
        assert [e["extensions"] for e in body["errors"]] == [{"code": "BAD_USER_INPUT", "field": field}], variables


async def test_only_the_recipient_reads_a_notification(api: httpx.AsyncClient, app: Starlette, gql) -> None:
    ana, bob = await _user(api, "ana"), await _user(api, "bob")
    post = await publish_post(api, app, ana)
    await like(api, bob, post)
    await deliver_events(app)
    gid = (await notifications(api, ana))["edges"][0]["node"]["id"]
    assert from_global_id(gid, field="id")[0] == "Notification"

    anonymous = await gql(NOTIFICATIONS, {})
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]
    assert (await gql(NODE, {"id": gid}))["data"]["node"] is None
    assert (await gql(NODE, {"id": gid}, token=bob.token))["data"]["node"] is None
    assert (await gql(NODE, {"id": gid}, token=ana.token))["data"]["node"] == {
        "id": gid, "kind": "LIKE", "actorCount": 1,
    }  # fmt: skip


async def test_actor_count_is_exact_under_concurrent_workers(api: httpx.AsyncClient, app: Starlette) -> None:
    # given: 30 likers of one post; their like events handled by 10 concurrent tasks (10 workers' worth)
    ana = await _user(api, "ana")
    post = await publish_post(api, app, ana)
    likers = await asyncio.gather(*(_user(api, f"l{i}") for i in range(30)))
    await asyncio.gather(*(like(api, u, post) for u in likers))
    graph = app.state.resources.graph
    rows = await graph.read(OUTBOX_PENDING, {"batch": 10_000})
    await graph.write(OUTBOX_DELETE, {"ids": [r["id"] for r in rows]})
    events = [Event.from_json(r["payload"]) for r in rows if r["type"] == "like.created"]
    service = app.state.services.notifications
    gate = asyncio.Semaphore(10)

    async def handle(event: Event) -> None:
        async with gate:
            await service.handle(event)

    await asyncio.gather(*(handle(e) for e in events))

    # then: one group with exactly 30 actors
    page = await notifications(api, ana)
    assert [(k, n) for k, n, _ in summary(page)] == [("LIKE", 30)]

