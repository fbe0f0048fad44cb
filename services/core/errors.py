"""Domain errors raised by services; the GraphQL layer maps each to an ``extensions.code``.

    DomainError
    ├── Unauthenticated   no, bad, expired or revoked credentials       -> UNAUTHENTICATED
    ├── Forbidden         authenticated but not allowed (e.g. blocked)  -> FORBIDDEN
    ├── NotFound          absent, deleted, or hidden from the viewer    -> NOT_FOUND
    ├── BadInput          invalid input; ``field`` names the input field -> BAD_USER_INPUT
    ├── RateLimited       over a limit; ``retry_after`` in seconds       -> RATE_LIMITED
    ├── Conflict          idempotency-key reuse or concurrent duplicate  -> CONFLICT
    └── Unavailable       a backing store is down and the use case cannot degrade -> SERVICE_UNAVAILABLE

    BackendUnavailable    (re-exported from ``backends.errors``) the base of every backend layer's outage error
                          (graph, Redis, S3, Kafka); one that no use case degraded around -> SERVICE_UNAVAILABLE
"""

from __future__ import annotations

from backends.errors import BackendUnavailable

__all__ = [
    "BackendUnavailable",
    "BadInput",
    "Conflict",
    "DomainError",
    "Forbidden",
    "NotFound",
    "RateLimited",
    "Unauthenticated",
    "Unavailable",
]


class DomainError(Exception):
    """Base of every error a client may see. ``code`` is the GraphQL ``extensions.code``."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def extensions(self) -> dict[str, object]:
        """The ``extensions`` object of the GraphQL error."""
        return {"code": self.code}


class Unauthenticated(DomainError):
    """No, bad, expired or revoked credentials."""

    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "Authentication required.") -> None:
        super().__init__(message)


class Forbidden(DomainError):
    """The viewer may not do this."""

    code = "FORBIDDEN"


class NotFound(DomainError):
    """The thing does not exist, is deleted, or is hidden from the viewer."""

    code = "NOT_FOUND"


class BadInput(DomainError):
    """Invalid input; ``field`` is the input field's name as the client spelled it (camelCase)."""

    code = "BAD_USER_INPUT"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "field": self.field}


class RateLimited(DomainError):
    """Over a rate limit; ``retry_after`` is whole seconds until a retry can succeed (>= 1)."""

    code = "RATE_LIMITED"

    def __init__(self, retry_after: int, message: str = "Too many requests.") -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))

    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "retryAfter": self.retry_after}


class Conflict(DomainError):
    """The request conflicts with another (idempotency-key reuse, a concurrent duplicate)."""

    code = "CONFLICT"


class Unavailable(DomainError):
    """A backing store is down and this use case cannot degrade safely."""

    code = "SERVICE_UNAVAILABLE"
