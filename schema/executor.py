"""graphql-core's executor with a fast path for the fields that resolve directly.

graphql-core executes every field the same way: a ``Path`` for it, ``execute_field`` (the field definition,
the middleware check, a ``GraphQLResolveInfo`` of 14 values, the argument values), the resolver, then
``complete_value`` (for an object: ``complete_object_value``, the ``is_type_of`` check, the collected
subfields, the incremental executor's hand-over; for a list: the same per item). ``bench/results/profile-*.md``:
graphql-core was a third of the API's CPU under feed load. A feed page of 10 posts has ~165 fields, ~120 of
them leaves (``id``, ``caption``, ``createdAt``, ``likeCount``, a cursor, ...) and ~45 objects (edges, posts,
authors, media) that need none of it.

:class:`DirectFieldExecutor` runs, inside ``execute_fields``, the fields whose resolver ``schema.fast_fields``
installed (a plain attribute, or a ``HOT`` sync resolver that reads only ``info.context``), calling the
resolver with a :class:`ContextInfo` (which carries just that):

- the argument values of a field that declares arguments are computed once per field of the operation and
  request (graphql-core's ``get_argument_values``, as ``execute_field`` computes them), not once per object;
- a leaf (scalar or enum, possibly non-null) is coerced with its type's own ``coerce_output_value``, exactly as
  ``complete_leaf_value`` does, with no path and no resolve info;
- an object, or a list of objects or of leaves, is completed in place: the object's ``is_type_of`` (Strawberry's
  own, which reads no resolve info) and its collected subfields, then ``execute_fields`` on it, each list item
  under its own path, errors handled as ``complete_list_item_value`` and ``execute_field`` handle them;
- any other field (an abstract type, a nested list, a field inside a deferred fragment or under ``@stream``/
  ``@defer``, a value the fast path would have to reject) is completed by graphql-core's ``complete_value``
  with a real resolve info and path.

An operation without any directive is collected once for all its requests (:class:`SharedCollections`): the
subfields graphql-core collects for a field depend on the variables only through ``@skip``/``@include``/
``@defer`` (and fragment variables), so without them they depend on the return type and the field nodes alone,
and :class:`schema.extensions.DocumentCache` hands every request of a repeated query text the same nodes.
graphql-core re-collected the feed page's six selection sets on every request (37 us of the page's ~0.45 ms
of GraphQL execution, in-process A/B of 16 alternating blocks of 400 pages).

A DataLoader future that is already done is taken at once (the feed primes its loaders); another awaitable is
completed by graphql-core (``complete_awaitable_value``). Every case that needs graphql-core's error handling
goes its normal way: a ``None`` for a non-null leaf, a value the type cannot coerce, a resolver that raises (run
again there: these resolvers have no side effects), a list holding ``None``, an awaitable or a value of another
type (decided before any item is executed, so nothing runs twice). The fields without a direct resolver go
through graphql-core's ``execute_fields`` unchanged, and the response keeps the selection set's order. With a
schema extension that implements ``resolve`` (a per-field middleware) the fast path is off, so such an
extension still sees every field. The direct fields are found once per schema by :func:`install`.
"""

from __future__ import annotations

from asyncio import Future
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from graphql import (
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    Undefined,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from graphql import GraphQLField, GraphQLLeafType, GraphQLOutputType, GraphQLSchema, OperationDefinitionNode
    from graphql.execution.collect_fields import CollectedFields, FieldDetailsList, FragmentDetails

#: Where :func:`install` keeps the direct fields in ``GraphQLSchema.extensions``.
FIELDS_KEY = "instagraph.direct_fields"
#: Where :func:`install` keeps the :class:`SharedCollections` by operation, and how many operations it keeps.
SHARED_KEY = "instagraph.shared_collections"
SHARED_OPERATIONS = 256  # the least recently executed operation is dropped first (as DocumentCache's texts)
BACKREF = "strawberry-definition"  # Strawberry's own definition of a graphql-core type, in its extensions


#: Types of resolved values that are never awaitable (checked before ``is_awaitable``), and of completed ones.
_PLAIN = frozenset({str, int, float, bool, type(None)})
_COMPLETED = frozenset({dict, list, type(None)})
#: graphql-core's built-in scalars -> the Python type their ``coerce_output_value`` returns unchanged.
_PLAIN_OF: dict[Any, type] = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool, GraphQLInt: int}
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # GraphQL's Int
#: The resolve info handed to an in-place object's ``is_type_of``: Strawberry's own reads none (``_in_place_object``).
_NO_INFO: Any = None


class _Reject(Exception):
    """A value the in-place completion leaves to graphql-core (raised before anything was executed)."""


@dataclass(frozen=True, slots=True)
class DirectField:
    """One field run directly: ``resolve(source, info, **arguments)``; ``field``: its definition; ``leaf``:
    its scalar or enum type when it is a leaf (else ``None``); ``non_null``: whether ``None`` is an error;
    ``has_args``: it declares arguments; ``shape``: how a non-leaf value is completed in place (``None``:
    by graphql-core); ``plain``: the Python type whose values the leaf's ``coerce_output_value`` returns as
    they are (``str`` for ``String`` and ``ID``, ``bool`` for ``Boolean``, ``int`` for ``Int`` within 32 bits),
    so that such a value is not coerced at all."""

    resolve: Callable[..., Any]
    field: GraphQLField
    leaf: GraphQLLeafType | None
    non_null: bool
    has_args: bool = False
    shape: Shape | None = None
    plain: type | None = None  # the Python type the leaf's coercion returns unchanged (str for String, ...)


@dataclass(frozen=True, slots=True)
class Shape:
    """A non-leaf field completed in place: an object (``object_type``), or a list (``item_type``: the
    list's item type, possibly non-null) of objects (``object_type``) or of leaves (``item_leaf``)."""

    object_type: GraphQLObjectType | None
    item_type: GraphQLOutputType | None = None
    item_leaf: GraphQLLeafType | None = None

    @property
    def item_non_null(self) -> bool:
        """Whether a list item may not be null."""
        return isinstance(self.item_type, GraphQLNonNull)


@dataclass(frozen=True, slots=True)
class ContextInfo:
    """The part of a resolve info that the directly resolved fields read: ``context`` (the request's
    ``resolvers.context.Context``)."""

    context: Any


class SharedCollections:
    """The collected subfields of one operation, shared by the requests that execute it (see the module
    docstring), and the direct-field plans of their grouped field sets.

    ``operation`` and ``fragments`` are kept alive with the entry, so the node ids in its keys are not reused
    meanwhile; ``shareable``: the operation, its fragments and their selections carry no directive and the
    fragments no variables (else nothing is shared and every request collects its own, as graphql-core does).
    ``by_nodes``: ``(return type, id of each field node) -> CollectedFields``; ``by_list``: the same by the id
    of a field details list that a shared collection holds (the cheap key for every level below the root);
    ``held``: the ids of the lists and grouped field sets the collections hold; ``plans``: as the executor's
    per-request plans, for the grouped field sets among ``held``.
    """

    __slots__ = ("by_list", "by_nodes", "fragments", "held", "operation", "plans", "shareable")

    def __init__(self, operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]) -> None:
        self.operation, self.fragments = operation, fragments
        self.shareable = _directive_free(operation, fragments)
        self.by_nodes: dict[tuple[Any, ...], CollectedFields] = {}
        self.by_list: dict[tuple[int, int], tuple[FieldDetailsList, CollectedFields]] = {}
        self.held: set[int] = set()
        self.plans: dict[tuple[int, int], tuple[Any, list[tuple[str, Any, DirectField | None]]]] = {}

    def hold(self, collected: CollectedFields) -> None:
        """Record the ids of ``collected``'s grouped field set and of its field details lists."""
        grouped_field_set = collected.grouped_field_set
        self.held.add(id(grouped_field_set))
        self.held.update(id(field_details_list) for field_details_list in grouped_field_set.values())


def _directive_free(operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]) -> bool:
    """Whether no directive appears on ``operation``, its fragments or any of their selections, and no fragment
    declares variables: then collecting a selection set reads no variable."""
    if operation.directives:
        return False
    pending = [operation.selection_set]
    for details in fragments.values():
        if details.variable_signatures or details.definition.directives:
            return False
        pending.append(details.definition.selection_set)
    while pending:
        for selection in pending.pop().selections:
            if selection.directives:
                return False
            selection_set = getattr(selection, "selection_set", None)
            if selection_set is not None:
                pending.append(selection_set)
    return True


def _shared_collections(
    entries: OrderedDict[int, SharedCollections], operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDetails],
) -> SharedCollections | None:  # fmt: skip
    """The shareable entry of ``operation`` in ``entries`` (made on its first request), else ``None``."""
    key = id(operation)
    entry = entries.get(key)
    if entry is None or entry.operation is not operation:
        entry = entries[key] = SharedCollections(operation, fragments)
        while len(entries) > SHARED_OPERATIONS:
            entries.popitem(last=False)
    else:
        entries.move_to_end(key)
    return entry if entry.shareable else None


def install(schema: GraphQLSchema, direct: dict[tuple[str, str], Callable[..., Any]]) -> int:
    """Record in ``schema`` the fields among ``direct`` (``(type, field) -> resolver``: the resolvers
    ``schema.fast_fields`` installed, each taking the field's arguments as keywords), and an empty store of
    :class:`SharedCollections`; returns how many fields."""
    fields: dict[str, dict[str, DirectField]] = {}
    for (type_name, field_name), resolve in direct.items():
        graphql_type = schema.type_map.get(type_name)
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        field = graphql_type.fields[field_name]
        non_null = isinstance(field.type, GraphQLNonNull)
        named = _nullable(field.type)
        leaf = named if is_leaf_type(named) else None
        shape = None if leaf is not None else _shape(named)
        fields.setdefault(type_name, {})[field_name] = DirectField(
            resolve, field, leaf, non_null, has_args=bool(field.args), shape=shape, plain=_PLAIN_OF.get(leaf)
        )
    schema.extensions = {**(schema.extensions or {}), FIELDS_KEY: fields, SHARED_KEY: OrderedDict()}
    return sum(len(of_type) for of_type in fields.values())


def _nullable(graphql_type: GraphQLOutputType) -> GraphQLOutputType:
    return graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type


def _in_place_object(graphql_type: GraphQLOutputType) -> GraphQLObjectType | None:
    """``graphql_type`` when it is an object type whose ``is_type_of`` reads no resolve info: none at all, or
    the one Strawberry generates (the type's Strawberry definition declares none of its own)."""
    if not isinstance(graphql_type, GraphQLObjectType):
        return None
    definition = (graphql_type.extensions or {}).get(BACKREF)
    if graphql_type.is_type_of is not None and getattr(definition, "is_type_of", True) is not None:
        return None
    return graphql_type


def _shape(named: GraphQLOutputType) -> Shape | None:
    if (object_type := _in_place_object(named)) is not None:
        return Shape(object_type)
    if not isinstance(named, GraphQLList):
        return None
    item = _nullable(named.of_type)
    if is_leaf_type(item):
        return Shape(None, item_type=named.of_type, item_leaf=item)
    if (object_type := _in_place_object(item)) is not None:
        return Shape(object_type, item_type=named.of_type)
    return None


class DirectFieldExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with the fast path of the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._context_info = ContextInfo(self.context_value)
        #: argument values by the id of a field's first details (kept alive with them: the id is not reused)
        self._argument_values: dict[int, tuple[Any, dict[str, Any]]] = {}
        #: per grouped field set and parent type (by ids; the set kept alive with its plan): ``_plan``
        self._plans: dict[tuple[int, int], tuple[Any, list[tuple[str, Any, DirectField | None]]]] = {}
        self._direct: dict[str, dict[str, DirectField]] = (
            {}  # a field middleware must see every field
            if self.middleware_manager is not None and self.middleware_manager._middleware_resolvers is not None
            else (self.schema.extensions or {}).get(FIELDS_KEY, {})
        )
        entries = (self.schema.extensions or {}).get(SHARED_KEY)
        self._shared = None if entries is None else _shared_collections(entries, self.operation, self.fragments)

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> CollectedFields:
        """graphql-core's collected subfields, taken from the operation's :class:`SharedCollections` when it
        has them (collected by graphql-core on the first request that needed them)."""
        shared = self._shared
        if shared is None:
            return super().collect_subfields(return_type, field_details_list)
        list_key = (id(return_type), id(field_details_list))
        hit = shared.by_list.get(list_key)
        if hit is not None and hit[0] is field_details_list:
            return hit[1]
        node_key = (return_type, *[id(details.node) for details in field_details_list])
        collected = shared.by_nodes.get(node_key)
        if collected is None:
            collected = shared.by_nodes[node_key] = super().collect_subfields(return_type, field_details_list)
            shared.hold(collected)
        if id(field_details_list) in shared.held:
            shared.by_list[list_key] = (field_details_list, collected)
        return collected

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``execute_fields``, running the direct fields of ``parent_type`` in place."""
        direct = self._direct.get(parent_type.name)
        if not direct:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        slow: dict[str, Any] = {}
        pending = False  # whether ``results`` holds an awaitable
        info = self._context_info
        try:
            for response_name, field_details_list, spec in self._plan(direct, grouped_field_set):
                if spec is None:
                    slow[response_name] = field_details_list
                    continue
                try:
                    if spec.has_args:
                        value = spec.resolve(source_value, info, **self._arguments(spec, field_details_list))
                    else:
                        value = spec.resolve(source_value, info)
                except Exception:  # run again the normal way, which reports it with its path and location
                    slow[response_name] = field_details_list
                    continue
                plain = spec.plain
                if type(value) is plain and (plain is not int or _INT_MIN <= cast(int, value) <= _INT_MAX):
                    results[response_name] = value  # what its coercion would return
                    continue
                if type(value) not in _PLAIN:  # a str, int, ... is never awaitable
                    if isinstance(value, Future) and value.done() and not value.cancelled() and not value.exception():
                        value = value.result()  # a DataLoader's answer already there (primed or loaded before)
                    elif self.is_awaitable(value):
                        field_path = Path(path, response_name, parent_type.name)
                        results[response_name] = self.complete_awaitable_value(
                            spec.field.type, field_details_list, self._info(spec, field_details_list, parent_type,
                                                                            field_path),
                            field_path, value, position_context,
                        )  # fmt: skip
                        pending = True
                        continue
                if spec.leaf is None:
                    field_path = Path(path, response_name, parent_type.name)
                    completed = self._complete_in_place(
                        spec, field_details_list, parent_type, field_path, value, position_context
                    )
                    results[response_name] = completed
                    pending = pending or (type(completed) not in _COMPLETED and self.is_awaitable(completed))
                    continue
                if value is None:
                    if spec.non_null:
                        slow[response_name] = field_details_list
                    else:
                        results[response_name] = None
                    continue
                try:
                    coerced = spec.leaf.coerce_output_value(value)
                except Exception:  # graphql-core reports it at the field's path
                    slow[response_name] = field_details_list
                    continue
                if coerced is None or coerced is Undefined:
                    slow[response_name] = field_details_list
                    continue
                results[response_name] = coerced
        except Exception:
            self._settle(results.values())
            raise
        if not slow and not pending:
            return results
        return self._merge(parent_type, source_value, path, grouped_field_set, slow, results, position_context)

    def _plan(
        self, direct: dict[str, DirectField], grouped_field_set: Any
    ) -> list[tuple[str, Any, DirectField | None]]:
        """``(response name, field details, direct spec or None)`` for each field of ``grouped_field_set``, once
        per request (every object of a list shares its set), or once for all requests when the set is shared.
        ``None``: graphql-core's way (no direct resolver, or arguments on a field that declares none, which
        graphql-core reports)."""
        key = (id(grouped_field_set), id(direct))
        shared = self._shared
        plans = shared.plans if shared is not None and key[0] in shared.held else self._plans
        hit = plans.get(key)
        if hit is not None and hit[0] is grouped_field_set:
            return hit[1]
        plan: list[tuple[str, Any, DirectField | None]] = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            spec = direct.get(node.name.value)
            if spec is not None and not spec.has_args and node.arguments:
                spec = None
            plan.append((response_name, field_details_list, spec))
        plans[key] = (grouped_field_set, plan)
        return plan

    def _arguments(self, spec: DirectField, field_details_list: Any) -> dict[str, Any]:
        """The argument values of the field, computed once per field of the operation (the same field details
        for every object of a list) and request; raises what ``get_argument_values`` raises."""
        cache = self._argument_values
        details = field_details_list[0]
        hit = cache.get(id(details))
        if hit is not None and hit[0] is details:
            return hit[1]
        values = get_argument_values(
            spec.field, details.node, self.variable_values, details.fragment_variable_values,
            self.hide_suggestions,
        )  # fmt: skip
        cache[id(details)] = (details, values)
        return values

    def _complete_in_place(
        self, spec: DirectField, field_details_list: Any, parent_type: GraphQLObjectType, path: Path, value: Any,
        position_context: Any,
    ) -> Any:  # fmt: skip
        """The completed value of an object or list field (see the module docstring), its errors handled as
        ``execute_field`` does; :meth:`_complete` for what the fast path leaves to graphql-core."""
        shape = spec.shape
        if shape is None or value is None or position_context is not None or _has_directives(field_details_list):
            return self._complete(spec, field_details_list, parent_type, path, value, position_context)
        try:
            if shape.item_type is not None:
                completed = self._complete_list(shape, field_details_list, path, value)
            else:
                completed = self._complete_object(shape.object_type, field_details_list, path, value)  # type: ignore[arg-type]
        except _Reject:
            completed = _Reject  # completed below, outside this handler: its errors carry no _Reject context
        except Exception as raw_error:
            self.handle_field_error(raw_error, spec.field.type, field_details_list, path)
            return None
        if completed is _Reject:
            return self._complete(spec, field_details_list, parent_type, path, value, position_context)
        if not self.is_awaitable(completed):
            return completed
        return self._guarded(completed, spec.field.type, field_details_list, path)

    def _subfields(self, object_type: GraphQLObjectType, field_details_list: Any) -> Any:
        """The collected subfields of ``object_type`` (memoized by graphql-core); raises :class:`_Reject` when
        they hold a deferred fragment."""
        grouped_field_set, new_defer_usages, _forbidden = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            raise _Reject
        return grouped_field_set

    def _complete_object(
        self, object_type: GraphQLObjectType, field_details_list: Any, path: Path, value: Any
    ) -> Any:
        """``execute_fields`` on ``value`` (raises :class:`_Reject` for a value of another type)."""
        if object_type.is_type_of is not None and not object_type.is_type_of(value, _NO_INFO):
            raise _Reject
        return self.execute_fields(object_type, value, path, self._subfields(object_type, field_details_list), None)

    def _complete_list(self, shape: Shape, field_details_list: Any, path: Path, items: Any) -> Any:
        """Each item of ``items`` completed under its own path (raises :class:`_Reject`, before executing
        anything, for what graphql-core must see: not a list or tuple, a ``None``, an awaitable, an item of
        another type, a leaf its type cannot coerce)."""
        if not isinstance(items, (list, tuple)):
            raise _Reject
        if shape.item_leaf is not None:
            coerce = shape.item_leaf.coerce_output_value
            try:
                leaves = [None if item is None else coerce(item) for item in items]
            except Exception:
                raise _Reject from None  # graphql-core reports it at the item's path
            if any(leaf is Undefined or (leaf is None and (shape.item_non_null or item is not None))
                   for leaf, item in zip(leaves, items, strict=True)):  # fmt: skip
                raise _Reject
            return leaves
        object_type = shape.object_type
        assert object_type is not None
        is_type_of = object_type.is_type_of
        for item in items:
            if item is None:
                if shape.item_non_null:
                    raise _Reject
            elif self.is_awaitable(item) or (is_type_of is not None and not is_type_of(item, _NO_INFO)):
                raise _Reject
        grouped_field_set = self._subfields(object_type, field_details_list)
        item_type = shape.item_type
        assert item_type is not None
        completed: list[Any] = []
        pending: list[int] = []
        try:
            for index, item in enumerate(items):
                if item is None:
                    completed.append(None)
                    continue
                item_path = path.add_key(index, None)
                try:
                    done = self.execute_fields(object_type, item, item_path, grouped_field_set, None)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    completed.append(None)
                    continue
                if self.is_awaitable(done):
                    pending.append(index)
                    done = self._guarded(done, item_type, field_details_list, item_path)
                completed.append(done)
        except Exception:
            self._settle(completed)
            raise
        if not pending:
            return completed

        async def gather() -> list[Any]:
            for index, value in zip(pending, await _concurrently([completed[i] for i in pending]), strict=True):
                completed[index] = value
            return completed

        return gather()

    def _guarded(self, awaitable: Any, return_type: GraphQLOutputType, field_details_list: Any, path: Path) -> Any:
        """``awaitable``'s value, its error handled as ``execute_field`` handles it (raised on for a non-null
        ``return_type``, else recorded and ``None``)."""

        async def await_completed() -> Any:
            try:
                return await awaitable
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, field_details_list, path)
                return None

        return await_completed()

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
        return self._guarded(completed, return_type, field_details_list, path)

    def _settle(self, results: Iterable[Any]) -> None:
        """Let the awaitables among ``results`` (completed values) finish in the background (a non-null field
        failed), as graphql-core does with its own."""
        pending = [value for value in results if self.is_awaitable(value)]
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
            self._settle(done.values())
            raise
        pending = [name for name, value in done.items() if self.is_awaitable(value)]

        def ordered(rest_values: dict[str, Any]) -> dict[str, Any]:
            merged = {**done, **rest_values}
            return {name: merged[name] for name in grouped_field_set if name in merged}

        if not pending and not self.is_awaitable(rest):
            return ordered(rest)

        async def gather() -> dict[str, Any]:
            rest_pending = self.is_awaitable(rest)
            values = await _concurrently([done[name] for name in pending] + ([rest] if rest_pending else []))
            done.update(zip(pending, values[: len(pending)], strict=True))
            return ordered(values[-1] if rest_pending else rest)

        return gather()


async def _concurrently(awaitables: list[Any]) -> list[Any]:
    """The values of ``awaitables`` run at once, as graphql-core runs a selection set's and a list's (the
    loads they start are batched together); the first error cancels the rest and propagates."""
    if len(awaitables) == 1:
        return [await awaitables[0]]
    return await gather_with_cancel(*awaitables)


def _has_directives(field_details_list: Any) -> bool:
    """Whether a field node carries a directive (``@stream``, ...): graphql-core completes those."""
    return any(details.node.directives for details in field_details_list)
