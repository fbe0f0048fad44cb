"""Rate limits in GraphQL: the ``RateLimit`` type, ``rateLimits`` (the client's budgets) and
:class:`Throttled`, the field extension that counts a field against a budget before its resolver runs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.types import Info

from resolvers import rate_limits as rate_limit_resolvers
from schema.base import from_ms

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


class Throttled(FieldExtension):
    """Counts one ``action`` of the viewer (``services.rate_limits.LIMITS``) before the field resolves:
    ``UNAUTHENTICATED`` when anonymous, ``RATE_LIMITED`` with ``retryAfter`` over the budget."""

    def __init__(self, action: str) -> None:
        self.action = action

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        await rate_limit_resolvers.limit(info, self.action)
        return await next_(source, info, **kwargs)


@strawberry.type(description="One rate-limited action's budget for this client.")
class RateLimit:
    action: str = strawberry.field(description="The field name (one name when fields share a budget).")
    limit: int = strawberry.field(description="Requests allowed per period.")
    period_seconds: int
    remaining: int = strawberry.field(description="Requests that would pass now.")
    reset_at: datetime = strawberry.field(description="When the whole budget is available again.")


@strawberry.type
class RateLimitsQuery:
    @strawberry.field(
        description="This client's current budgets, one per limited action (user-scoped ones when signed in)."
    )
    async def rate_limits(self, info: Info) -> list[RateLimit]:
        return [
            RateLimit(
                action=b.action,
                limit=b.limit,
                period_seconds=b.period,
                remaining=b.remaining,
                reset_at=from_ms(b.reset_at_ms),  # type: ignore[arg-type]
            )
            for b in await rate_limit_resolvers.rate_limits(info)
        ]
