"""``Query.node(id:)``: resolves any global ID through the resolver its type registered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from schema.base import Node, from_global_id

NodeResolver = Callable[[Info, str], Awaitable[Node | None]]
_RESOLVERS: dict[str, NodeResolver] = {}


def register_node(type_name: str, resolver: NodeResolver) -> None:
    """Make ``node(id:)`` answer IDs of ``type_name`` with ``resolver(info, raw_id) -> object | None``."""
    _RESOLVERS[type_name] = resolver


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Fetch any object by its global ID; null when absent or hidden.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, raw_id = from_global_id(id, field="id")
        resolver = _RESOLVERS.get(type_name)
        if resolver is None:
            return None
        return await resolver(info, raw_id)
