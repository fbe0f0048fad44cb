"""Any request body gets a GraphQL-over-HTTP answer, never a 5xx: malformed bodies, wrong JSON types, wrong
content types and methods, variables of the wrong type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

JSON = {"content-type": "application/json"}
STRAWBERRY_PREFIX, OBJECT_OR_NULL = "The GraphQL operation's", "must be an object or null, if provided."


def _bad_request(message: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"null", "The request body must be a JSON object."),
        (b"42", "The request body must be a JSON object."),
        (b'"{ __typename }"', "The request body must be a JSON object."),
        (b"true", "The request body must be a JSON object."),
        (b'[{"query": "{ __typename }"}]', "Batched requests are not supported; send one operation."),
        (b"[]", "Batched requests are not supported; send one operation."),
        (b'{"query": "{ __typename }"', "The request is not valid JSON."),
        (b"", "The request is not valid JSON."),
        (b'{"query": "\xff\xfe"}', "The request is not valid UTF-8."),
        (b"\xc3\x28", "The request is not valid UTF-8."),
        (b'{"query": 1}', "`query` must be a string or null."),
        (b'{"query": {"a": 1}}', "`query` must be a string or null."),
        (b'{"query": "{ __typename }", "operationName": 5}', "`operationName` must be a string or null."),
        (b'{"query": "{ __typename }", "variables": []}', "`variables` must be an object or null."),
        (b'{"query": "{ __typename }", "variables": "x"}', "`variables` must be an object or null."),
        (b'{"query": "{ __typename }", "extensions": 3}', "`extensions` must be an object or null."),
        (b"{}", "No GraphQL query found in the request"),
        (b'{"query": null}', "No GraphQL query found in the request"),
        (b'{"query": "query A { __typename }", "operationName": "B"}', 'Unknown operation named "B".'),
    ],
)
async def test_a_malformed_body_is_a_400_with_a_graphql_error(
    api: httpx.AsyncClient, body: bytes, message: str
) -> None:
    response = await api.post("/graphql", content=body, headers=JSON)

    assert (response.status_code, response.headers["content-type"]) == (400, "application/json")
    assert response.json() == _bad_request(message)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
)
async def test_a_post_that_is_not_json_is_415(api: httpx.AsyncClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await api.post("/graphql", content=b'{"query": "{ __typename }"}', headers=headers)

    assert response.status_code == 415
    assert response.json() == _bad_request("Send GraphQL requests as application/json.")


async def test_json_with_a_charset_parameter_is_accepted(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers={"content-type": "application/json; charset=utf-8"}
    )
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405_with_a_graphql_error(api: httpx.AsyncClient, method: str) -> None:
    response = await api.request(method, "/graphql", content=b'{"query": "{ __typename }"}', headers=JSON)

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json() == _bad_request("GraphQL only supports GET and POST requests.")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"query": "{ __typename }", "variables": "{not json"}, "The request is not valid JSON."),
        ({"query": "{ __typename }", "variables": "[1]"}, f"{STRAWBERRY_PREFIX} `variables` {OBJECT_OR_NULL}"),
        ({"query": "{ __typename }", "extensions": "7"}, f"{STRAWBERRY_PREFIX} `extensions` {OBJECT_OR_NULL}"),
        ({}, "No GraphQL query found in the request"),
    ],
)
async def test_a_malformed_get_is_a_400_with_a_graphql_error(
    api: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    response = await api.get("/graphql", params=params, headers={"accept": "*/*"})

    assert response.status_code == 400
    assert response.json() == _bad_request(message)


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"u": 5}, "Variable '$u' has invalid value: String cannot represent a non string value: 5"),
        ({"u": None}, "Variable '$u' has invalid value: Expected value of non-null type 'String!' not to be None."),
        ({}, "Variable '$u' has invalid value: Expected a value of non-null type 'String!' to be provided."),
        ({"u": ["a"]}, "String cannot represent a non string value"),
        ({"u": "ok", "n": "ten"}, "Int cannot represent non-integer value: 'ten'"),
        ({"u": "ok", "n": 2**40}, "Int cannot represent non 32-bit signed integer value"),
        ({"u": "ok", "n": 1.5}, "Int cannot represent non-integer value: 1.5"),
        ({"u": "ok", "n": {"x": 1}}, "Int cannot represent non-integer value"),
    ],
)
async def test_variables_of_the_wrong_type_are_validation_errors(
    api: httpx.AsyncClient, variables: dict[str, Any], fragment: str
) -> None:
    query = "query($u: String!, $n: Int) { user(username: $u) { followers(first: $n) { totalCount } } }"
    response = await api.post("/graphql", json={"query": query, "variables": variables})

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    assert fragment in body["errors"][0]["message"]
