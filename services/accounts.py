"""Account use cases: ``register_user``, ``log_in``, ``refresh_session``, ``log_out``.

``register_user`` writes the ``User``, its first ``Session`` and the ``user.registered`` Outbox node in ONE
statement. Uniqueness of username (stored lower-case, so case-insensitive) and email is guaranteed by the
graph's unique constraints; a read before the write only produces the friendlier field-specific message,
and a ``ConstraintViolation`` from a concurrent registration is re-read to name the field.

Login throttling (``services.rate_limits``): ``login_ip`` (client IP) and ``login`` (login, IP) as typed,
then ``login_account``: 10 attempts per 15 minutes on one account from anywhere, counted BEFORE the password
is checked (an attempt over the budget is refused without verifying it, so concurrent guesses cannot race
past the limit) and reset by a successful login. Unknown logins have a budget of their own, keyed by the
login, so a probe cannot tell them from real accounts. A login carrying a valid device token of the account
(``services.core.device_tokens``: a client that signed in before) draws on that device's own
``login_account`` budget instead: a stranger can lock new devices out of an account for 15 minutes, never
one the owner signed in from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
import uuid_utils

from events.envelope import Event
from graph.errors import ConstraintViolation
from graph.statements import accounts as stmts
from services.core import clock
from services.core.errors import BadInput, Conflict, Unauthenticated
from services.core.records import UserRecord
from services.core.validation import (
    EMAIL_MAX,
    PASSWORD_MAX,
    check_password,
    clean_display_name,
    normalize_email,
    normalize_username,
)
from services.sessions import new_session

if TYPE_CHECKING:
    from graph.store import GraphStore
    from services.core.device_tokens import DeviceTokens
    from services.core.passwords import Passwords
    from services.core.principal import Principal
    from services.rate_limits import RateLimitService
    from services.sessions import SessionService, TokenPair

log = structlog.get_logger(__name__)

INVALID_CREDENTIALS = "Invalid login or password."


@dataclass(frozen=True, slots=True)
class AuthResult:
    """What ``register``/``login``/``refreshToken`` return: the token pair, the user, and (register, login)
    a device token for the client's later logins."""

    tokens: TokenPair
    user: UserRecord
    device_token: str | None = None


class AccountService:
    """Registration, login, token refresh and logout."""

    def __init__(
        self, graph: GraphStore, passwords: Passwords, sessions: SessionService, rate_limits: RateLimitService,
        devices: DeviceTokens,
    ) -> None:  # fmt: skip
        self._graph = graph
        self._passwords = passwords
        self._sessions = sessions
        self._rate_limits = rate_limits
        self._devices = devices

    async def register_user(
        self, *, username: str, email: str, password: str, display_name: str | None, client_ip: str
    ) -> AuthResult:
        """Create an account and its first session.

        Raises ``BadInput`` (``username``, ``email``, ``password``, ``displayName``; duplicates name the taken
        field; nothing is written), ``RateLimited`` (5 registrations per hour per client IP),
        ``Unavailable`` when Redis is down (refresh tokens live there; nothing is written).
        """
        username = normalize_username(username)
        email = normalize_email(email)
        check_password(password)
        display_name = clean_display_name(display_name)
        await self._rate_limits.hit("register", client_ip)
        await self._check_identity_free(username, email)
        now = clock.now_ms()
        user_id = str(uuid_utils.uuid7())
        user = {
            "id": user_id,
            "username": username,
            "email": email,
            "password_hash": await self._passwords.hash(password),
            "display_name": display_name,
            "bio": None,
            "is_private": False,
            "is_verified": False,
            "created_at": now,
            "follower_count": 0,
            "following_count": 0,
            "post_count": 0,
            "session_version": 0,
        }
        session = {**new_session(now), "version": 0}
        event = Event.new(
            "user.registered",
            actor_id=user_id,
            subject_id=user_id,
            data={"username": username, "display_name": display_name, "created_at": now},
        )
        params = {"user": user, "session": session, "outbox": event.outbox_props()}
        refresh = await self._sessions.open_family(user_id, str(session["id"]))
        try:
            rows = await self._graph.write(stmts.CREATE_USER, params)
        except ConstraintViolation as exc:
            await self._check_identity_free(username, email)
            raise Conflict("The account could not be created; try again.") from exc
        record = UserRecord.from_row(rows[0]["user"])
        tokens = self._sessions.pair(user_id, str(session["id"]), 0, refresh)
        log.info("accounts.registered", user_id=user_id)
        return AuthResult(tokens, record, self._devices.issue(user_id))

    async def log_in(
        self, *, login: str, password: str, client_ip: str, device_token: str | None = None
    ) -> AuthResult:
        """Start a session for ``login`` (username or email, case-insensitive) and ``password``.

        ``device_token``: the one a previous sign-in of this client returned (see the module docstring);
        the result carries a renewed one. Re-hashes the password when argon2 parameters changed. Raises
        ``RateLimited`` (20/min per client IP, 5/min per (login, IP), 10 per 15 min per account or known
        device; checked before the password), ``Unauthenticated`` for an unknown login or wrong password
        (same message), ``BadInput`` (``login``/``password``) for over-long values, ``Unavailable`` when
        Redis is down.
        """
        if len(login) > EMAIL_MAX:
            raise BadInput("login", f"Login must be at most {EMAIL_MAX} characters.")
        if len(password) > PASSWORD_MAX:
            raise BadInput("password", f"Password must be at most {PASSWORD_MAX} characters.")
        normalized = login.strip().lower()
        await self._rate_limits.hit("login_ip", client_ip)
        await self._rate_limits.hit("login", f"{normalized}|{client_ip}")
        stmt = stmts.CREDENTIALS_BY_EMAIL if "@" in normalized else stmts.CREDENTIALS_BY_USERNAME
        rows = await self._graph.read(stmt, {"login": normalized}) if normalized else []
        row = rows[0] if rows else None
        device = self._devices.verify(device_token)
        if device is not None and (row is None or device.user_id != row["id"]):
            device = None
        budget = _account_budget(row["id"] if row else None, normalized, device.device_id if device else None)
        await self._rate_limits.hit("login_account", budget)
        checked = await self._passwords.verify(row["password_hash"] if row else None, password)
        if row is None or not checked.ok:
            raise Unauthenticated(INVALID_CREDENTIALS)
        await self._rate_limits.reset("login_account", budget)
        session = new_session(clock.now_ms())
        refresh = await self._sessions.open_family(row["id"], str(session["id"]))
        written = await self._graph.write(
            stmts.START_SESSION,
            {"user_id": row["id"], "session": session, "new_password_hash": checked.new_hash},
        )
        if not written:
            raise Unauthenticated(INVALID_CREDENTIALS)
        tokens = self._sessions.pair(row["id"], str(session["id"]), int(written[0]["version"]), refresh)
        renewed = self._devices.issue(row["id"], device.device_id if device else None)
        return AuthResult(tokens, UserRecord.from_row(written[0]["user"]), renewed)

    async def refresh_session(self, *, refresh_token: str) -> AuthResult:
        """Rotate a refresh token (errors as ``Sessions.rotate``: ``Unauthenticated``, ``Unavailable``)."""
        tokens, user = await self._sessions.rotate(refresh_token)
        return AuthResult(tokens, user)

    async def log_out(self, principal: Principal, *, all_sessions: bool = False) -> None:
        """Revoke the caller's session (or, with ``all_sessions``, every session of the user)."""
        if all_sessions:
            await self._sessions.revoke_all(principal.user_id)
        else:
            await self._sessions.revoke(principal.user_id, principal.session_id)

    async def _check_identity_free(self, username: str, email: str) -> None:
        rows = await self._graph.read(stmts.IDENTITY_TAKEN, {"username": username, "email": email})
        if rows and rows[0]["username_taken"]:
            raise BadInput("username", "This username is taken.")
        if rows and rows[0]["email_taken"]:
            raise BadInput("email", "An account with this email already exists.")


def _account_budget(user_id: str | None, normalized_login: str, device_id: str | None) -> str:
    """The ``login_account`` subject: the account, or one known device of it; an unknown login's own."""
    if user_id is None:
        return f"login:{normalized_login}"
    return f"{user_id}|device:{device_id}" if device_id else user_id
