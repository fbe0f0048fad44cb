"""Password hashing with argon2id (argon2-cffi's ``PasswordHasher``, RFC 9106 low-memory profile defaults).

Hashing and verifying cost tens of milliseconds of CPU and 64 MiB by design, so both run in a worker thread
(``asyncio.to_thread``) and never block the event loop. Verification of an unknown account still spends
the same work on a dummy hash so that response time does not reveal whether a login exists.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass(frozen=True, slots=True)
class Verification:
    """``ok``: the password matched; ``new_hash``: a re-hash with current parameters when they changed."""

    ok: bool
    new_hash: str | None = None


class Passwords:
    """argon2id hashing; ``hasher`` defaults to ``PasswordHasher()`` (argon2id, t=3, m=64 MiB, p=4)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        """The PHC-format argon2id hash of ``password`` (``$argon2id$v=19$m=...``)."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> Verification:
        """Check ``password`` against ``stored_hash``; on success also re-hash when ``check_needs_rehash``.

        ``stored_hash=None`` (no such account) burns a dummy verification and returns ``ok=False``.
        A malformed stored hash counts as a mismatch.
        """
        if stored_hash is None:
            await self._burn(password)
            return Verification(ok=False)
        return await asyncio.to_thread(self._verify_sync, stored_hash, password)

    def _verify_sync(self, stored_hash: str, password: str) -> Verification:
        try:
            self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verification(ok=False)
        if self._hasher.check_needs_rehash(stored_hash):
            return Verification(ok=True, new_hash=self._hasher.hash(password))
        return Verification(ok=True)

    async def _burn(self, password: str) -> None:
        if self._dummy is None:
            self._dummy = await self.hash("dummy password for timing equalisation")
        await asyncio.to_thread(self._verify_sync, self._dummy, password)
