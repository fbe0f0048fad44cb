"""The typed per-request GraphQL context and the per-request DataLoader registry.

Built by the GraphQL view's ``get_context`` for each HTTP request or WebSocket connection. Resolvers reach the
viewer, the services and the DataLoaders through it; nothing here touches a store directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from strawberry.dataloader import DataLoader

from services.core.errors import Unauthenticated
from services.core.records import PostHydration

if TYPE_CHECKING:
    from services.core.container import Services
    from services.core.principal import Principal

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


@dataclass(slots=True)
class Context:
    """Request context: ``services``, the raw ``authorization`` header, client IP, idempotency key."""

    services: Services
    authorization: str | None = None
    client_ip: str = "unknown"
    idempotency_key: str | None = None
    request: Any = None
    response: Any = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    connection_params: Any = None
    connection_id: str | None = None  # a WebSocket connection's id in the notification relay (subscriptions)
    _principal: Principal | None = None
    _authenticated: bool = False
    _loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)
    #: What reads of this request already loaded in batches (``resolvers.hydration``), consulted before the
    #: loaders ``PostsById``, ``UsersById``, ``LikeCountsByPostId`` and ``ViewerLikesByPostId``: a feed page's
    #: fields find their values with a dict look-up, where priming a DataLoader cost a future per key and each
    #: read a settled future (34 us for a page's 40 keys, of the ~1.2 ms a page costs the API).
    hydration: PostHydration = field(default_factory=PostHydration)

    async def principal(self) -> Principal | None:
        """The authenticated viewer, or ``None`` when anonymous.

        Raises ``Unauthenticated`` when a token is present but invalid, expired or revoked.
        Authenticates once per request (once per connection for subscriptions).
        """
        if not self._authenticated:
            if self.authorization:
                self._principal = await self.services.auth.authenticate(self.authorization)
            self._authenticated = True
        return self._principal

    async def viewer_id(self) -> str | None:
        """The viewer's user id, or ``None`` when anonymous."""
        principal = await self.principal()
        return principal.user_id if principal else None

    async def require_viewer(self) -> str:
        """The viewer's user id; raises ``Unauthenticated`` when anonymous."""
        user_id = await self.viewer_id()
        if user_id is None:
            raise Unauthenticated()
        return user_id

    async def admit(self, action: str) -> str:
        """The viewer's user id, with one ``action`` counted against their budget; authenticating and
        counting in one Redis round trip when the request is not authenticated yet (``services.admission``).
        Raises ``Unauthenticated`` when anonymous (counting nothing) and ``RateLimited`` over the budget."""
        if self._authenticated or not self.authorization:
            user_id = await self.require_viewer()
            await self.services.rate_limits.hit(action, user_id)
            return user_id
        self._principal = await self.services.admission.admit(self.authorization, action)
        self._authenticated = True
        return self._principal.user_id

    def loader(self, name: str, batch: Callable[[list[K]], Awaitable[list[V]]]) -> DataLoader[K, V]:
        """The request's DataLoader called ``name`` (``PostsById``…), created from ``batch`` on first use."""
        existing = self._loaders.get(name)
        if existing is None:
            existing = DataLoader(load_fn=batch, max_batch_size=500)
            self._loaders[name] = existing
        return existing

    def clear_loaders(self) -> None:
        """Forget cached loads and hydration (after a mutation changes what they hold)."""
        for loader in self._loaders.values():
            loader.clear_all()
        self.hydration = PostHydration()


async def viewer_write(info: Any, use_case: Callable[[str, str], Awaitable[T]], target_id: str) -> T:
    """A mutation on another user or object: ``await use_case(viewer_id, target_id)`` (``Unauthenticated``
    when anonymous), then forget the request's loads, which the write may have changed."""
    ctx = context_of(info)
    result = await use_case(await ctx.require_viewer(), target_id)
    ctx.clear_loaders()
    return result


def context_of(info: Any) -> Context:
    """The typed :class:`Context` of a resolver's ``info`` (Strawberry types it loosely)."""
    return cast("Context", info.context)
