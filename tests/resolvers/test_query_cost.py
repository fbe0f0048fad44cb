"""Query cost before execution (GitHub's node limit) and nested connections at a fixed number of graph
statements per level, whatever the number of parents."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from schema.cost import CostMemo, first_variables, node_count
from schema.root import schema
from tests.support.factories import graphql, make_user
from tests.support.posts import publish_post
from tests.support.social import ok

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from tests.support.factories import TestUser

NESTED = "{{ user(username: $u) {{ {} }} }}"


def _followers(levels: int, first: int) -> str:
    inner = "username"
    for _ in range(levels):
        inner = f"followers(first: {first}) {{ edges {{ node {{ {inner} }} }} }}"
    return "query($u: String!) " + NESTED.format(inner)


@pytest.mark.parametrize(
    ("document", "variables", "cost"),
    [
        (_followers(1, 50), {}, 50),
        (_followers(2, 10), {}, 10 + 100),
        (_followers(3, 100), {}, 100 + 100**2 + 100**3),
        ("query($u: String!) { user(username: $u) { followers { totalCount } } }", {}, 20),  # the default
        ("query($u: String!, $n: Int) { user(username: $u) { followers(first: $n) { totalCount } } }", {"n": 7}, 7),
        ("query($u: String!, $n: Int = 9) { user(username: $u) { following(first: $n) { totalCount } } }", {}, 9),
        (  # siblings add up; posts' comments and likers multiply by posts
            "query($u: String!) { user(username: $u) { posts(first: 10) { edges { node {"
            " comments(first: 5) { totalCount } likers(first: 3) { totalCount } } } } } }",
            {},
            10 + 10 * 5 + 10 * 3,
        ),
        (  # a fragment is expanded where it is spread; an alias is one more field
            "query($u: String!) { user(username: $u) { ...F b: followers(first: 2) { totalCount } } }"
            " fragment F on User { followers(first: 4) { edges { node { following(first: 5) { totalCount } } } } }",
            {},
            4 + 20 + 2,
        ),
        (  # mentions have no `first` but at most 20 per post: they multiply what is under them
            "{ feed(first: 10) { edges { node { mentions { followers(first: 10) { totalCount } } } } } }",
            {},
            10 + 10 * 20 * 10,
        ),
        ("{ node(id: \"x\") { ... on User { followers(first: 30) { totalCount } } } }", {}, 30),
    ],
)
def test_node_count_is_githubs_product_of_nested_firsts_summed(
    document: str, variables: dict[str, int], cost: int
) -> None:
    from graphql import parse

    assert node_count(schema._schema, parse(document), None, variables) == cost


async def test_three_nested_followers_are_refused_before_any_statement_runs(gql, app: Starlette) -> None:
    graph = app.state.resources.graph
    before = graph.round_trips

    body = await gql(_followers(3, 100), {"u": "anyone"})

    assert graph.round_trips == before
    assert body == {
        "data": None,
        "errors": [
            {
                "message": "This query may return up to 1,010,100 nodes (the product of nested `first` arguments, "
                "summed); the limit is 10,000.",
                "extensions": {"code": "QUERY_TOO_COMPLEX", "cost": 1_010_100, "limit": 10_000},
            }
        ],
    }


async def test_a_variable_first_counts_with_its_value(gql, app: Starlette) -> None:
    query = (
        "query($u: String!, $n: Int) { user(username: $u) { followers(first: $n) { edges { node {"
        " followers(first: $n) { totalCount } } } } } }"
    )
    refused = await gql(query, {"u": "anyone", "n": 101})
    assert refused["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 101 + 101**2, "limit": 10_000}
    allowed = await gql(query, {"u": "nobody_at_all", "n": 99})
    assert allowed["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # counted per value (the same document object is remembered): refused again
    assert (await gql(query, {"u": "anyone", "n": 101}))["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    # a float that Int coercion accepts counts as that Int, before and after the Int itself
    for n in (150.0, 150, 150.0):
        refused = await gql(query, {"u": "anyone", "n": n})
        assert refused["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 150 + 150**2,
                                                      "limit": 10_000}, n  # fmt: skip
    for bad in ("150", True, [150], 150.5):  # refused by coercion (a list is not hashable: no memo)
        body = await gql(query, {"u": "anyone", "n": bad})
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", bad


def test_the_memo_counts_each_documents_first_variables() -> None:
    from graphql import parse

    document = parse(
        "query($u: String!, $n: Int, $m: Int, $x: Int) { user(username: $u) { followers(first: $n) { totalCount }"
        " ...F posts(first: 2) { totalCount } } } fragment F on User { following(first: $m) { totalCount } }"
    )
    assert first_variables(document) == ("m", "n")
    memo = CostMemo(maxsize=2)
    assert memo.count(schema._schema, document, None, {"n": 3, "m": 4, "x": 1}) == 3 + 4 + 2
    assert memo.count(schema._schema, document, None, {"n": 3, "m": 4, "x": 2}) == 3 + 4 + 2  # x: no part
    assert memo.count(schema._schema, document, None, {"n": 5, "m": 4}) == 5 + 4 + 2
    assert memo.count(schema._schema, document, None, {"n": True, "m": 4}) == 1 + 4 + 2  # not an Int: 1
    assert memo.count(schema._schema, document, None, {"n": 1, "m": 4}) == 1 + 4 + 2
    assert memo.count(schema._schema, document, None, {"n": {"a": 1}, "m": 4}) == 1 + 4 + 2
    assert memo.count(schema._schema, document, None, {"n": 30.0, "m": 4}) == 30 + 4 + 2  # Int coercion: 30


@pytest.fixture(scope="module")
async def crowd(api: httpx.AsyncClient, app: Starlette) -> dict[str, TestUser]:
    """``qc_root`` followed by 6 users, each followed by 3 others; every follower of the root has a post
    with 2 comments and 2 likes."""
    root = await make_user(api, "qc_root")
    firsts = [await make_user(api, f"qc_f{i}") for i in range(6)]
    seconds = [await make_user(api, f"qc_s{i}") for i in range(3)]
    for user in firsts:
        await ok(api, "follow", user, root)
        for fan in seconds:
            await ok(api, "follow", fan, user)
        post = await publish_post(api, app, user, caption=f"by {user.username}")
        for fan in seconds[:2]:
            like = "mutation($p: ID!) { likePost(input: {postId: $p}) { id } }"
            liked = await graphql(api, like, {"p": post.gid}, token=fan.token)
            assert "errors" not in liked, liked
            said = await graphql(
                api, 'mutation($p: ID!) { addComment(input: {postId: $p, text: "hi"}) { id } }', {"p": post.gid},
                token=fan.token,
            )  # fmt: skip
            assert "errors" not in said, said
    return {"root": root, "viewer": seconds[0]}


NESTED_LEVELS = """
query($u: String!, $n: Int!) {
  user(username: $u) {
    followers(first: $n) {
      edges { node {
        username viewerFollows
        followers(first: 3) { totalCount edges { node { username } } }
        following(first: 3) { totalCount edges { node { username } } }
        mutualFollowers(first: 2) { totalCount }
        posts(first: 2) { edges { node {
          caption likeCount viewerHasLiked author { username } mentions { username }
          comments(first: 5) { totalCount edges { node { text author { username } } } }
          likers(first: 5) { totalCount edges { node { username } } }
        } } }
      } }
    }
  }
}
"""


async def test_nested_connections_cost_a_fixed_number_of_statements_per_level(
    api: httpx.AsyncClient, app: Starlette, crowd: dict[str, TestUser]
) -> None:
    graph = app.state.resources.graph

    async def statements(n: int) -> tuple[int, dict]:
        before = graph.round_trips
        body = await graphql(api, NESTED_LEVELS, {"u": "qc_root", "n": n}, token=crowd["viewer"].token)
        assert "errors" not in body, body
        return graph.round_trips - before, body["data"]["user"]["followers"]["edges"]

    one, edges_one = await statements(1)
    six, edges_six = await statements(6)

    assert (len(edges_one), len(edges_six)) == (1, 6)
    assert all(len(e["node"]["posts"]["edges"]) == 1 for e in edges_six)
    assert all(e["node"]["followers"]["totalCount"] == 3 for e in edges_six)
    assert all(e["node"]["posts"]["edges"][0]["node"]["comments"]["totalCount"] == 2 for e in edges_six)
    assert all(len(e["node"]["posts"]["edges"][0]["node"]["likers"]["edges"]) == 2 for e in edges_six)
    # the user, its followers; for the level of followers: their flags, followers, following, mutuals, posts;
    # for the level of posts: authors and mentions (UsersById), the viewer's likes, comments, likers; for the
    # level of comments: their authors (like counts come from Redis). One parent or six: the same 13.
    assert six == one == 13
