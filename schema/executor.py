"""graphql-core's executor with a fast path for the fields that resolve directly.

graphql-core executes every field the same way: a ``Path`` for it, ``execute_field`` (the field definition,
the middleware check, a ``GraphQLResolveInfo`` of 14 values, the argument check), the resolver, then
``complete_value`` (``bench/results/profile-*.md``: graphql-core was a third of the API's CPU under feed load).
A feed page of 10 posts has ~165 fields, ~120 of them leaves (``id``, ``caption``, ``createdAt``,
``likeCount``, a cursor, ...) that need none of it.

:class:`DirectFieldExecutor` runs, inside ``execute_fields``, the fields without arguments whose resolver
``schema.fast_fields`` installed (a plain attribute, or a ``HOT`` sync resolver that reads only
``info.context``), calling the resolver with a :class:`ContextInfo` (which carries just that):

- a leaf (scalar or enum, possibly non-null) is coerced with its type's own ``coerce_output_value``, exactly as
  ``complete_leaf_value`` does, with no path and no resolve info;
- any other field (an object, a list) is completed by graphql-core's ``complete_value`` with a real resolve
  info and path, and its errors handled as ``execute_field`` handles them.

A DataLoader future that is already done is taken at once (the feed primes its loaders); another awaitable is
completed by graphql-core (``complete_awaitable_value``). Every case that needs graphql-core's error handling
goes its normal way: a ``None`` for a non-null leaf, a value the type cannot coerce, a resolver that raises (run
again there: these resolvers have no side effects). The fields with arguments and all other fields go through
graphql-core's ``execute_fields`` unchanged, and the response keeps the selection set's order. With a schema
extension that implements ``resolve`` (a per-field middleware) the fast path is off, so such an extension
still sees every field. The direct fields are found once per schema by :func:`install`.
"""

from __future__ import annotations

from asyncio import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import GraphQLNonNull, GraphQLObjectType, Undefined, is_leaf_type
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

if TYPE_CHECKING:
    from collections.abc import Callable

    from graphql import GraphQLField, GraphQLLeafType, GraphQLSchema

#: Where :func:`install` keeps the direct fields in ``GraphQLSchema.extensions``.
FIELDS_KEY = "instagraph.direct_fields"


@dataclass(frozen=True, slots=True)
class DirectField:
    """One field run directly: ``resolve(source, info)``; ``field``: its definition; ``leaf``: its scalar or
    enum type when it is a leaf (else ``None``); ``non_null``: whether ``None`` is an error."""

    resolve: Callable[[Any, Any], Any]
    field: GraphQLField
    leaf: GraphQLLeafType | None
    non_null: bool


@dataclass(frozen=True, slots=True)
class ContextInfo:
    """The part of a resolve info that the directly resolved fields read: ``context`` (the request's
    ``resolvers.context.Context``)."""

    context: Any


def install(schema: GraphQLSchema, direct: dict[tuple[str, str], Callable[[Any, Any], Any]]) -> int:
    """Record in ``schema`` the fields without arguments among ``direct`` (``(type, field) -> resolver``: the
    resolvers ``schema.fast_fields`` installed); returns how many."""
    fields: dict[str, dict[str, DirectField]] = {}
    for (type_name, field_name), resolve in direct.items():
        graphql_type = schema.type_map.get(type_name)
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        field = graphql_type.fields[field_name]
        if field.args:
            continue
        non_null = isinstance(field.type, GraphQLNonNull)
        named = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        leaf = named if is_leaf_type(named) else None
        fields.setdefault(type_name, {})[field_name] = DirectField(resolve, field, leaf, non_null)
    schema.extensions = {**(schema.extensions or {}), FIELDS_KEY: fields}
    return sum(len(of_type) for of_type in fields.values())


class DirectFieldExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with the fast path of the module docstring."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``execute_fields``, running the direct fields of ``parent_type`` in place."""
        direct = self._direct_fields().get(parent_type.name)
        if not direct:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        slow: dict[str, Any] = {}
        info = ContextInfo(self.context_value)
        try:
            for response_name, field_details_list in grouped_field_set.items():
                node = field_details_list[0].node
                spec = direct.get(node.name.value)
                if spec is None or node.arguments:
                    slow[response_name] = field_details_list
                    continue
                try:
                    value = spec.resolve(source_value, info)
                except Exception:  # run again the normal way, which reports it with its path and location
                    slow[response_name] = field_details_list
                    continue
                if isinstance(value, Future) and value.done() and not value.cancelled() and not value.exception():
                    value = value.result()  # a DataLoader's answer already there (primed or loaded before)
                elif self.is_awaitable(value):
                    field_path = Path(path, response_name, parent_type.name)
                    results[response_name] = self.complete_awaitable_value(
                        spec.field.type, field_details_list, self._info(spec, field_details_list, parent_type,
                                                                        field_path),
                        field_path, value, position_context,
                    )  # fmt: skip
                    continue
                if spec.leaf is None:
                    field_path = Path(path, response_name, parent_type.name)
                    results[response_name] = self._complete(
                        spec, field_details_list, parent_type, field_path, value, position_context
                    )
                    continue
                if value is None:
                    if spec.non_null:
                        slow[response_name] = field_details_list
                    else:
                        results[response_name] = None
                    continue
                coerced = spec.leaf.coerce_output_value(value)
                if coerced is None or coerced is Undefined:
                    slow[response_name] = field_details_list
                    continue
                results[response_name] = coerced
        except Exception:
            self._settle(results)
            raise
        if not slow and not any(self.is_awaitable(v) for v in results.values()):
            return results
        return self._merge(parent_type, source_value, path, grouped_field_set, slow, results, position_context)

    def _direct_fields(self) -> dict[str, dict[str, DirectField]]:
        if self.middleware_manager is not None and self.middleware_manager._middleware_resolvers is not None:
            return {}  # a field middleware must see every field
        fields: dict[str, dict[str, DirectField]] = (self.schema.extensions or {}).get(FIELDS_KEY, {})
        return fields

    def _info(self, spec: DirectField, field_details_list: Any, parent_type: GraphQLObjectType, path: Path) -> Any:
        return self.build_resolve_info(spec.field, [d.node for d in field_details_list], parent_type, path)

    def _complete(
        self, spec: DirectField, field_details_list: Any, parent_type: GraphQLObjectType, path: Path, value: Any,
        position_context: Any,
    ) -> Any:  # fmt: skip
        """``complete_value`` of a resolved object or list field, its errors handled as ``execute_field`` does
        (raised on for a non-null field, else recorded and ``None``)."""
        return_type = spec.field.type
        try:
            completed = self.complete_value(
                return_type, field_details_list, self._info(spec, field_details_list, parent_type, path), path,
                value, position_context,
            )  # fmt: skip
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, field_details_list, path)
                return None

        return await_completed()

    def _settle(self, results: dict[str, Any]) -> None:
        """Let the awaitables among ``results`` finish in the background (a non-null field failed), as
        graphql-core does with its own."""
        pending = [value for value in results.values() if self.is_awaitable(value)]
        if pending:
            self.settle_in_background(pending)

    def _merge(
        self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None, grouped_field_set: Any,
        slow: dict[str, Any], done: dict[str, Any], position_context: Any,
    ) -> Any:  # fmt: skip
        """The other fields the normal way, then every field in the order of the selection set."""
        try:
            rest: Any = super().execute_fields(parent_type, source_value, path, slow, position_context) if slow else {}
        except Exception:
            self._settle(done)
            raise
        pending = [name for name, value in done.items() if self.is_awaitable(value)]

        def ordered(rest_values: dict[str, Any]) -> dict[str, Any]:
            merged = {**done, **rest_values}
            return {name: merged[name] for name in grouped_field_set if name in merged}

        if not pending and not self.is_awaitable(rest):
            return ordered(rest)

        async def gather() -> dict[str, Any]:
            try:
                rest_values = await rest if self.is_awaitable(rest) else rest
            except Exception:
                self._settle(done)
                raise
            try:
                for name in pending:
                    done[name] = await done[name]
            except Exception:
                self._settle(done)
                raise
            return ordered(rest_values)

        return gather()
