"""Builds the ``strawberry.Schema``: the capability Query/Mutation parts merged, plus the extensions.

``schema`` is the schema with default limits (for ``strawberry export-schema schema.root:schema``);
the app builds its own with :func:`build_schema` from its settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.accounts import AccountsMutation
from schema.blocks import BlocksMutation
from schema.close_friends import CloseFriendsMutation, CloseFriendsQuery
from schema.cost import DEFAULT_MAX_NODES, query_cost
from schema.engagement import EngagementMutation
from schema.executor import DirectFieldExecutor
from schema.explore import ExploreQuery
from schema.extensions import (
    ErrorCodes,
    OperationMetrics,
    document_cache,
    protection_extensions,
    validation_cache,
)
from schema.fast_fields import install as install_fast_fields
from schema.feed import FeedQuery
from schema.follows import FollowsMutation, FollowsQuery
from schema.hashtags import HashtagsQuery
from schema.highlights import HighlightsMutation
from schema.node import NodeQuery
from schema.notifications import NotificationsMutation, NotificationsQuery, NotificationsSubscription
from schema.posts import PostsMutation, PostsQuery
from schema.rate_limits import RateLimitsQuery
from schema.search import SearchQuery
from schema.stories import StoriesMutation, StoriesQuery
from schema.suggestions import SuggestionsQuery
from schema.users import UsersMutation, UsersQuery

if TYPE_CHECKING:
    from graphql import GraphQLError
    from strawberry.types import ExecutionContext



class InstagraphSchema(strawberry.Schema):
    """Strawberry's schema, logging only unexpected errors (client errors are not server faults)."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        unexpected = [e for e in errors if (e.extensions or {}).get("code") == "INTERNAL_SERVER_ERROR"]
        if unexpected:
            super().process_errors(unexpected, execution_context)


QUERY_PARTS: tuple[type, ...] = (
    NodeQuery, UsersQuery, FeedQuery, PostsQuery, FollowsQuery, SuggestionsQuery, NotificationsQuery,
    RateLimitsQuery, StoriesQuery, CloseFriendsQuery, SearchQuery, HashtagsQuery, ExploreQuery,
)  # fmt: skip
MUTATION_PARTS: tuple[type, ...] = (
    AccountsMutation, UsersMutation, EngagementMutation, PostsMutation, FollowsMutation, BlocksMutation,
    NotificationsMutation, StoriesMutation, CloseFriendsMutation, HighlightsMutation,
)
SUBSCRIPTION_PARTS: tuple[type, ...] = (NotificationsSubscription,)


def build_schema(
    *, dev: bool = False, max_depth: int = 12, max_aliases: int = 30, max_tokens: int = 2_000,
    max_nodes: int = DEFAULT_MAX_NODES, known_operations: frozenset[str] = frozenset(),
) -> strawberry.Schema:
    """The full schema. ``dev`` turns field suggestions on ("Did you mean …"); limits as in Settings;
    ``known_operations``: the operation names metrics label by name (others are ``other``)."""
    query = merge_types("Query", QUERY_PARTS)
    mutation = merge_types("Mutation", MUTATION_PARTS) if MUTATION_PARTS else None
    subscription = merge_types("Subscription", SUBSCRIPTION_PARTS) if SUBSCRIPTION_PARTS else None
    built = InstagraphSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        extensions=[
            *protection_extensions(max_depth=max_depth, max_aliases=max_aliases, max_tokens=max_tokens),
            document_cache(maxsize=256),
            validation_cache(maxsize=256),  # not ParserCache: its parse errors escape ErrorCodes
            query_cost(max_nodes),
            lambda: ErrorCodes(known_operations),
            lambda: OperationMetrics(known_operations),
        ],
        config=StrawberryConfig(disable_field_suggestions=not dev),
        execution_context_class=DirectFieldExecutor,
    )
    install_fast_fields(built)  # plain and hot fields resolve without Strawberry's per-call wrappers
    return built


schema = build_schema()
