"""Comments over GraphQL on the real stack: validation, visibility, deletion rights, keyset pages."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import pytest

from schema.base import from_global_id
from tests.support.factories import graphql, make_user
from tests.support.posts import block, delete_post, outbox_events, post_counts, publish_post

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from tests.support.factories import TestUser
    from tests.support.posts import TestPost

ADD = """
mutation($input: AddCommentInput!) {
  addComment(input: $input) { id text createdAt author { username } post { id commentCount } }
}
"""
DELETE = "mutation($input: CommentIdInput!) { deleteComment(input: $input) { id text } }"
COMMENTS = """
query($id: ID!, $first: Int, $after: String) {
  post(id: $id) { commentCount comments(first: $first, after: $after) {
    totalCount edges { cursor node { id text author { username } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }
}
"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Comment { text post { id } } } }"


async def _user(api: httpx.AsyncClient, prefix: str) -> TestUser:
    return await make_user(api, f"{prefix}_{secrets.token_hex(3)}")


async def _add(api: httpx.AsyncClient, user: TestUser, post: TestPost, text: str) -> dict:
    return await graphql(api, ADD, {"input": {"postId": post.gid, "text": text}}, token=user.token)


async def _delete(api: httpx.AsyncClient, user: TestUser, comment_gid: str) -> dict:
    return await graphql(api, DELETE, {"input": {"commentId": comment_gid}}, token=user.token)


async def _texts(api: httpx.AsyncClient, viewer: TestUser, post: TestPost, first: int = 100) -> list[str]:
    body = await graphql(api, COMMENTS, {"id": post.gid, "first": first}, token=viewer.token)
    return [e["node"]["text"] for e in body["data"]["post"]["comments"]["edges"]]


@pytest.fixture
async def author(api: httpx.AsyncClient) -> TestUser:
    return await _user(api, "author")


@pytest.fixture
async def post(api: httpx.AsyncClient, app: Starlette, author: TestUser) -> TestPost:
    return await publish_post(api, app, author)


async def test_a_comment_is_stored_trimmed_counted_and_announced(
    api: httpx.AsyncClient, app: Starlette, post: TestPost
) -> None:
    fan = await _user(api, "fan")
    body = await _add(api, fan, post, "  What a launch! 🚀 \n")
    comment = body["data"]["addComment"]
    assert comment["text"] == "What a launch! 🚀"
    assert comment["author"] == {"username": fan.username}
    assert comment["post"] == {"id": post.gid, "commentCount": 1}
    node = await graphql(api, NODE, {"id": comment["id"]}, token=fan.token)
    assert node["data"]["node"] == {
        "id": comment["id"],
        "text": "What a launch! 🚀",
        "post": {"id": post.gid},
    }
    raw_id = from_global_id(comment["id"], field="id", expected="Comment")[1]
    assert await outbox_events(app.state.resources.graph, "comment.created", raw_id) == 1


@pytest.mark.parametrize("text", ["", "   \n\t ", "x" * 2_201, " " + "y" * 2_201 + " "])
async def test_bad_comment_text_is_bad_user_input_and_writes_nothing(
    api: httpx.AsyncClient, app: Starlette, post: TestPost, text: str
) -> None:
    fan = await _user(api, "fan")
    body = await _add(api, fan, post, text)
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "text"}
    assert (await post_counts(app.state.resources.graph, post.id))["comment_count"] == 0
    assert await _texts(api, fan, post) == []


async def test_the_longest_comment_fits(api: httpx.AsyncClient, post: TestPost) -> None:
    fan = await _user(api, "fan")
    text = "é" * 2_200
    assert (await _add(api, fan, post, f"  {text}  "))["data"]["addComment"]["text"] == text


async def test_comment_input_errors(api: httpx.AsyncClient, post: TestPost) -> None:
    fan = await _user(api, "fan")
    anonymous = await graphql(api, ADD, {"input": {"postId": post.gid, "text": "hi"}})
    assert anonymous["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    bad_id = await graphql(api, ADD, {"input": {"postId": "bm9wZQ", "text": "hi"}}, token=fan.token)
    assert bad_id["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "postId"}
    bad_comment = await _delete(api, fan, post.gid)  # a Post ID is not a Comment ID
    assert bad_comment["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "commentId"}


@pytest.mark.parametrize("case", ["deleted", "author_blocks_viewer", "private"])
async def test_comment_on_a_deleted_or_hidden_post_is_not_found(
    api: httpx.AsyncClient, app: Starlette, case: str
) -> None:
    author = await make_user(api, f"author_{secrets.token_hex(3)}", private=case == "private")
    post = await publish_post(api, app, author)
    fan = await _user(api, "fan")
    if case == "deleted":
        await delete_post(api, author, post)
    elif case == "author_blocks_viewer":
        await block(api, author, fan)
    body = await _add(api, fan, post, "hello")
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND"}
    graph = app.state.resources.graph
    assert (await post_counts(graph, post.id))["comment_count"] == 0


async def test_who_may_delete_a_comment(
    api: httpx.AsyncClient, app: Starlette, author: TestUser, post: TestPost
) -> None:
    writer, stranger = await _user(api, "writer"), await _user(api, "stranger")
    first = (await _add(api, writer, post, "first"))["data"]["addComment"]["id"]
    second = (await _add(api, writer, post, "second"))["data"]["addComment"]["id"]

    refused = await _delete(api, stranger, first)
    assert refused["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    by_post_author = await _delete(api, author, first)
    assert by_post_author["data"]["deleteComment"] == {"id": first, "text": "first"}
    by_writer = await _delete(api, writer, second)
    assert by_writer["data"]["deleteComment"] == {"id": second, "text": "second"}

    again = await _delete(api, writer, second)
    assert again["errors"][0]["extensions"] == {"code": "NOT_FOUND"}
    graph = app.state.resources.graph
    assert (await post_counts(graph, post.id))["comment_count"] == 0
    assert await outbox_events(graph, "comment.deleted", from_global_id(first, field="id")[1]) == 1
    assert await _texts(api, stranger, post) == []
    assert (await graphql(api, NODE, {"id": first}, token=writer.token))["data"]["node"] is None


async def test_comments_page_oldest_first_without_gaps_while_comments_arrive(
    api: httpx.AsyncClient, author: TestUser, post: TestPost
) -> None:
    fans = [await _user(api, "fan") for _ in range(3)]
    for i in range(7):
        await _add(api, fans[i % 3], post, f"comment {i}")
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        body = await graphql(api, COMMENTS, {"id": post.gid, "first": 3, "after": after}, token=author.token)
        connection = body["data"]["post"]["comments"]
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [e["node"]["text"] for e in connection["edges"]]
        pages += 1
        if pages == 1:
            await _add(api, fans[0], post, "comment 7")  # arrives while the client pages
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == [f"comment {i}" for i in range(8)]
    assert pages == 3
    assert connection["totalCount"] == 8
    bad = await graphql(api, COMMENTS, {"id": post.gid, "after": "garbage!"}, token=author.token)
    assert bad["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_comments_of_users_blocked_either_way_are_hidden(
    api: httpx.AsyncClient, post: TestPost
) -> None:
    viewer, blocker, blocked, friend = [
        await _user(api, p) for p in ("viewer", "blocker", "blocked", "friend")
    ]
    for user in (blocker, blocked, friend):
        await _add(api, user, post, f"by {user.username}")
    await block(api, blocker, viewer)
    await block(api, viewer, blocked)
    assert await _texts(api, viewer, post) == [f"by {friend.username}"]
    assert len(await _texts(api, friend, post)) == 3


async def test_a_stranger_the_post_author_blocks_cannot_even_find_a_comment_to_delete(
    api: httpx.AsyncClient, author: TestUser, post: TestPost
) -> None:
    writer, stranger = await _user(api, "writer"), await _user(api, "stranger")
    comment = (await _add(api, writer, post, "hello"))["data"]["addComment"]["id"]
    assert (await _delete(api, stranger, comment))["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    await block(api, author, stranger)
    assert (await _delete(api, stranger, comment))["errors"][0]["extensions"] == {"code": "NOT_FOUND"}
    assert await _texts(api, writer, post) == ["hello"]
