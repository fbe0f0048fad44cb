"""Rate-limit resolvers: ``limit(info, action)`` for the fields the GraphQL layer throttles, and
``rate_limits(info)`` for the ``rateLimits`` query.

The API's per-user budgets (``createPost``, ``likePost``, ``addComment``, ``feed``, ``follow`` for
``unfollow``...) are counted here, at the GraphQL boundary, so that the dataset import and the workers,
which call the same services, are never throttled; sign-in budgets are the account service's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers import users as user_resolvers
from resolvers.context import context_of

if TYPE_CHECKING:
    from strawberry.types import Info

    from services.rate_limits import Budget, Scope


async def limit(info: Info, action: str) -> str:
    """Count one ``action`` of the viewer; returns the viewer id. Raises ``Unauthenticated`` when anonymous
    (before counting anything) and ``RateLimited`` over the budget."""
    return await context_of(info).admit(action)


async def rate_limits(info: Info) -> list[Budget]:
    """Every budget that applies to this client now, without counting: the viewer's own (user-scoped and
    account-scoped, when signed in), the client IP's, and the viewer's username from this IP's (``login``).
    Anonymous clients get the IP-scoped ones. ``SERVICE_UNAVAILABLE`` when Redis is down."""
    ctx = context_of(info)
    subjects: dict[Scope, str] = {"ip": ctx.client_ip}
    viewer_id = await ctx.viewer_id()
    if viewer_id is not None:
        viewer = await user_resolvers.user_by_id(info, viewer_id)
        subjects["user"] = subjects["account"] = viewer_id
        subjects["login"] = f"{viewer.username}|{ctx.client_ip}"
    return await ctx.services.rate_limits.budgets(subjects)
