"""Accounts in GraphQL: ``register``, ``login``, ``refreshToken``, ``logout``, their inputs and
``AuthPayload``."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import accounts as account_resolvers
from schema.users import User
from services.accounts import AuthResult


@strawberry.input
class RegisterInput:
    username: str
    email: str
    password: str
    display_name: str | None = None


@strawberry.input(
    description="`login` is a username or an email address; `deviceToken` the one an earlier register or "
    "login of this client returned (a known device keeps its own failed-login budget)."
)
class LoginInput:
    login: str
    password: str
    device_token: str | None = None


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user: User
    device_token: str | None = strawberry.field(
        description="register and login: keep it and send it with later logins (LoginInput.deviceToken)."
    )

    @classmethod
    def of(cls, result: AuthResult) -> AuthPayload:
        """Map a service ``AuthResult``."""
        return cls(
            access_token=result.tokens.access_token,
            refresh_token=result.tokens.refresh_token,
            expires_in=result.tokens.expires_in,
            user=User.from_record(result.user),
            device_token=result.device_token,
        )


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Create an account; signs it in.")
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload:
        return AuthPayload.of(
            await account_resolvers.register(
                info, input.username, input.email, input.password, input.display_name
            )
        )

    @strawberry.mutation(description="Sign in with a username or email and a password.")
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        return AuthPayload.of(
            await account_resolvers.login(info, input.login, input.password, input.device_token)
        )

    @strawberry.mutation(description="Exchange a refresh token for a new pair; the old refresh token dies.")
    async def refresh_token(self, info: Info, input: RefreshTokenInput) -> AuthPayload:
        return AuthPayload.of(await account_resolvers.refresh_token(info, input.refresh_token))

    @strawberry.mutation(description="Revoke this session (or every session with allSessions: true).")
    async def logout(self, info: Info, all_sessions: bool = False) -> bool:
        return await account_resolvers.logout(info, all_sessions)
