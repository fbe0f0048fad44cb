"""Account resolvers: ``register``, ``login``, ``refreshToken``, ``logout``.

Each reads its input, calls one ``services.accounts`` use case and returns its record (``AuthResult``); the
schema layer maps it to ``AuthPayload``. Errors are the service's (``BadInput``, ``RateLimited``,
``Unauthenticated``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers.context import context_of
from services.core.errors import Unauthenticated

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.accounts import AuthResult


async def register(
    info: Info, username: str, email: str, password: str, display_name: str | None
) -> AuthResult:
    """``register(input:)``: a new account and its first session."""
    ctx = context_of(info)
    return await ctx.services.accounts.register_user(
        username=username, email=email, password=password, display_name=display_name, client_ip=ctx.client_ip
    )


async def login(info: Info, login: str, password: str, device_token: str | None = None) -> AuthResult:
    """``login(input:)``: a new session for a username or email and password (``device_token``: the client's
    token from an earlier sign-in, if any)."""
    ctx = context_of(info)
    return await ctx.services.accounts.log_in(
        login=login, password=password, client_ip=ctx.client_ip, device_token=device_token
    )


async def refresh_token(info: Info, token: str) -> AuthResult:
    """``refreshToken(input:)``: rotate a refresh token (no access token needed)."""
    return await context_of(info).services.accounts.refresh_session(refresh_token=token)


async def logout(info: Info, all_sessions: bool) -> bool:
    """``logout``: revoke the caller's session (all of them with ``all_sessions``); ``True`` when done."""
    ctx = context_of(info)
    principal = await ctx.principal()
    if principal is None:
        raise Unauthenticated()
    await ctx.services.accounts.log_out(principal, all_sessions=all_sessions)
    return True
