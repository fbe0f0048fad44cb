"""Nested connections through DataLoaders: one batched read per (field arguments) per request level.

A connection field under a list (``followers { edges { node { followers(first: 5) } } }``) asks for one page
per parent. :func:`pages_loader` gives the field a request-scoped DataLoader keyed by ``(parent id, first,
after)``: the parents of one level arrive in one batch, grouped by their ``(first, after)`` (one group per
distinct argument set of the document, not per parent), and each group is ONE service call that reads every
parent's page in one graph statement. So each nesting level costs a fixed number of round trips. A
``DomainError`` of one group (``BAD_USER_INPUT`` for its ``first``) fails that group's keys only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from resolvers.context import context_of
from services.core.errors import DomainError

if TYPE_CHECKING:
    from strawberry.dataloader import DataLoader
    from strawberry.types import Info

    from services.core.pagination import Page

T = TypeVar("T")
PageKey = tuple[str, int | None, str | None]
#: ``batch(viewer_id, parent_ids, first, after) -> {parent_id: page}`` (one round trip).
PagesBatch = Callable[[str | None, list[str], int | None, str | None], Awaitable[Mapping[str, "Page[T]"]]]


def pages_loader(info: Info, name: str, batch: PagesBatch[T]) -> DataLoader[PageKey, Page[T] | BaseException]:
    """The request's DataLoader ``name`` (``FollowersByUserId``...) over ``batch``: ``load((parent_id, first,
    after))`` -> that parent's page (see the module docstring)."""
    ctx = context_of(info)

    async def load(keys: list[PageKey]) -> list[Page[T] | BaseException]:
        groups: dict[tuple[int | None, str | None], list[str]] = defaultdict(list)
        for parent_id, first, after in keys:
            groups[(first, after)].append(parent_id)
        viewer_id = await ctx.viewer_id()
        results: dict[PageKey, Page[T] | BaseException] = {}
        for (first, after), parent_ids in groups.items():
            try:
                pages = await batch(viewer_id, parent_ids, first, after)
            except DomainError as exc:
                results.update({(pid, first, after): exc for pid in parent_ids})
                continue
            results.update({(pid, first, after): pages[pid] for pid in parent_ids})
        return [results[key] for key in keys]

    return ctx.loader(name, load)


async def load_page(
    info: Info, name: str, batch: PagesBatch[T], parent_id: str, first: int | None, after: str | None
) -> Page[T]:
    """``parent_id``'s page through :func:`pages_loader`; raises the group's ``DomainError``."""
    page = await pages_loader(info, name, batch).load((parent_id, first, after))
    assert not isinstance(page, BaseException)  # the DataLoader raises stored exceptions itself
    return page
