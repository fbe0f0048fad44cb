"""Test data built through the public API (never raw Cypher).

``await make_user(api, "ana")`` registers ``ana`` through the GraphQL ``register`` mutation and returns a
``TestUser`` with its raw id, global id, username and tokens. Each call comes from its own client IP
(``X-Forwarded-For: 10.x.y.z``, honoured for the in-process client at 127.0.0.1 as for a trusted proxy), so
the ``register`` limit of 5 per hour per IP does not throttle fixtures.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schema.base import from_global_id

if TYPE_CHECKING:
    import httpx

DEFAULT_PASSWORD = "correct horse battery staple"

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken expiresIn user { id username isPrivate } }
}
"""
MAKE_PRIVATE = "mutation { updateProfile(input: {isPrivate: true}) { id isPrivate } }"


@dataclass(frozen=True, slots=True)
class TestUser:
    """A registered user: ``id`` (raw UUIDv7), ``gid`` (global ID), ``username``, ``token`` (access),
    ``refresh_token``, ``password``."""

    __test__ = False  # not a pytest test class

    id: str
    gid: str
    username: str
    token: str
    refresh_token: str
    password: str = DEFAULT_PASSWORD

    @property
    def auth(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}``."""
        return {"Authorization": f"Bearer {self.token}"}


def random_ip() -> str:
    """A random 10.0.0.0/8 address, for ``X-Forwarded-For``."""
    return "10." + ".".join(str(b) for b in secrets.token_bytes(3))


async def graphql(
    api: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    ip: str | None = None,
) -> dict[str, Any]:
    """POST one operation, optionally with a bearer ``token`` and a client ``ip``; returns the JSON body."""
    headers: dict[str, str] = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if ip is not None:
        headers["X-Forwarded-For"] = ip
    response = await api.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def make_user(
    api: httpx.AsyncClient,
    username: str,
    *,
    password: str = DEFAULT_PASSWORD,
    private: bool = False,
    email: str | None = None,
    display_name: str | None = None,
) -> TestUser:
    """Register ``username`` (email ``<username>@example.com`` unless given); ``private`` makes the account
    private through ``updateProfile``. Fails the test on any GraphQL error."""
    variables = {
        "input": {
            "username": username,
            "email": email or f"{username}@example.com",
            "password": password,
            "displayName": display_name,
        }
    }
    body = await graphql(api, REGISTER, variables, ip=random_ip())
    assert "errors" not in body, body
    payload = body["data"]["register"]
    gid = payload["user"]["id"]
    user = TestUser(
        id=from_global_id(gid, field="id", expected="User")[1],
        gid=gid,
        username=payload["user"]["username"],
        token=payload["accessToken"],
        refresh_token=payload["refreshToken"],
        password=password,
    )
    if private:
        made = await graphql(api, MAKE_PRIVATE, token=user.token)
        assert made.get("errors") is None and made["data"]["updateProfile"]["isPrivate"] is True, made
    return user
