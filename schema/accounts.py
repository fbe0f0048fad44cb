"""Accounts and profiles in GraphQL: ``viewer``, ``user``, ``register``, ``login``, ``refreshToken``,
``logout``, ``updateProfile``, their inputs and ``AuthPayload``; also registers ``User`` for ``node(id:)``."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import users as user_resolvers
from schema.node import register_node
from schema.users import User
from services.accounts import AuthResult


@strawberry.input
class RegisterInput:
    username: str
    email: str
    password: str
    display_name: str | None = None


@strawberry.input(description="`login` is a username or an email address.")
class LoginInput:
    login: str
    password: str


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


@strawberry.input(description="Omitted fields are unchanged; null or blank displayName/bio clear them.")
class UpdateProfileInput:
    display_name: str | None = strawberry.UNSET
    bio: str | None = strawberry.UNSET
    is_private: bool | None = strawberry.UNSET


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user: User

    @classmethod
    def of(cls, result: AuthResult) -> AuthPayload:
        """Map a service ``AuthResult``."""
        return cls(
            access_token=result.tokens.access_token,
            refresh_token=result.tokens.refresh_token,
            expires_in=result.tokens.expires_in,
            user=User.from_record(result.user),
        )


async def _user_node(info: Info, raw_id: str) -> User:
    return User.from_record(await user_resolvers.visible_user(info, raw_id))


register_node("User", _user_node)


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The signed-in user; null when anonymous.")
    async def viewer(self, info: Info) -> User | None:
        record = await user_resolvers.viewer(info)
        return None if record is None else User.from_record(record)

    @strawberry.field(description="A user by username (case-insensitive); NOT_FOUND when absent or hidden.")
    async def user(self, info: Info, username: str) -> User | None:
        return User.from_record(await user_resolvers.user(info, username))


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Create an account; signs it in.")
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload:
        return AuthPayload.of(
            await user_resolvers.register(
                info, input.username, input.email, input.password, input.display_name
            )
        )

    @strawberry.mutation(description="Sign in with a username or email and a password.")
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        return AuthPayload.of(await user_resolvers.login(info, input.login, input.password))

    @strawberry.mutation(description="Exchange a refresh token for a new pair; the old refresh token dies.")
    async def refresh_token(self, info: Info, input: RefreshTokenInput) -> AuthPayload:
        return AuthPayload.of(await user_resolvers.refresh_token(info, input.refresh_token))

    @strawberry.mutation(description="Revoke this session (or every session with allSessions: true).")
    async def logout(self, info: Info, all_sessions: bool = False) -> bool:
        return await user_resolvers.logout(info, all_sessions)

    @strawberry.mutation(description="Change the viewer's display name, bio or privacy.")
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> User:
        changes = {
            name: value
            for name, value in (
                ("displayName", input.display_name),
                ("bio", input.bio),
                ("isPrivate", input.is_private),
            )
            if value is not strawberry.UNSET
        }
        return User.from_record(await user_resolvers.update_profile(info, changes))
