"""Query cost: the most nodes a document may return, counted before anything executes.

The count is GitHub's GraphQL node limit (docs.github.com, "Rate limits and node limits for the GraphQL
API"): every connection field (a field with a ``first`` argument) may return ``first`` nodes for EACH node
of the connections above it, so a connection costs the product of its own ``first`` and every ``first`` on
its path from the root, and the document costs the sum over all its connections. GitHub's own example::

    repositories(first: 50) { ... issues(first: 10) { ... } }   ->   50 + 50 x 10 = 550 nodes

``first`` is the literal, the variable's value as its coercion to ``Int`` reads it (``150.0`` is 150), or the
argument's default in the schema (``followers`` defaults to 20). A list field without ``first`` whose length
the model bounds multiplies by that bound (``Post.mentions``: 20 per caption, ``services.posts.MAX_MENTIONS``);
others multiply by one. Fragments and inline fragments are expanded in place; aliases are separate fields (each
is counted). The count of a document is remembered per document object and ``first`` values (:class:`CostMemo`).

Over the limit (``Settings.max_query_nodes``): ``QUERY_TOO_COMPLEX`` with ``extensions.cost`` and
``extensions.limit``, decided in :class:`QueryCost`'s ``on_execute`` hook, after validation and before
graphql-core runs a single resolver (the extension hands Strawberry a finished result instead; a subscription,
whose every event would pay the cost, is refused before it subscribes).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInt,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    VariableNode,
    get_named_type,
    is_list_type,
    is_non_null_type,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from services.core.errors import DomainError
from services.posts import MAX_MENTIONS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from graphql import (
        DocumentNode,
        GraphQLField,
        GraphQLNamedType,
        GraphQLSchema,
        SelectionSetNode,
    )

DEFAULT_MAX_NODES = 10_000
#: Bounded list fields without ``first``: ``"Type.field"`` -> most items one parent can have.
LIST_BOUNDS: dict[str, int] = {"Post.mentions": MAX_MENTIONS}


class QueryTooComplex(DomainError):
    """The document may return more nodes than allowed: ``cost`` and ``limit`` in the error's extensions."""

    code = "QUERY_TOO_COMPLEX"

    def __init__(self, cost: int, limit: int) -> None:
        super().__init__(
            f"This query may return up to {cost:,} nodes (the product of nested `first` arguments, summed); "
            f"the limit is {limit:,}."
        )
        self.cost, self.limit = cost, limit

    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "cost": self.cost, "limit": self.limit}


def node_count(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The node count of ``document``'s operation (see the module docstring); 0 when there is no such
    operation. ``variables`` are the request's raw values (a non-integer one counts as the default)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    counter = _Counter(schema, document, operation, variables or {})
    return counter.selections(root, operation.selection_set, 1)


class _Counter:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:  # fmt: skip
        self._schema = schema
        self._fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._defaults = {
            v.variable.name.value: v.default_value for v in operation.variable_definitions or ()
        }
        self._variables = variables

    def selections(self, parent: GraphQLNamedType, selection_set: SelectionSetNode, multiplier: int) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(parent, selection, multiplier)
            elif isinstance(selection, InlineFragmentNode):
                on = self._type(selection.type_condition.name.value) if selection.type_condition else parent
                total += self.selections(on or parent, selection.selection_set, multiplier)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments.get(selection.name.value)
                if fragment is not None:
                    on = self._type(fragment.type_condition.name.value) or parent
                    total += self.selections(on, fragment.selection_set, multiplier)
        return total

    def _field(self, parent: GraphQLNamedType, node: FieldNode, multiplier: int) -> int:
        definition = _field_of(parent, node.name.value)
        if definition is None or node.selection_set is None:
            return 0
        first = self._first(node, definition)
        if first is not None:
            nodes = multiplier * first
            child_multiplier, own = nodes, nodes
        else:
            bound = LIST_BOUNDS.get(f"{parent.name}.{node.name.value}", 1) if _is_list(definition) else 1
            child_multiplier, own = multiplier * bound, 0
        return own + self.selections(get_named_type(definition.type), node.selection_set, child_multiplier)

    def _first(self, node: FieldNode, definition: GraphQLField) -> int | None:
        argument = definition.args.get("first")
        if argument is None:
            return None
        value: Any = argument.default_value
        for given in node.arguments or ():
            if given.name.value != "first":
                continue
            if isinstance(given.value, IntValueNode):
                value = int(given.value.value)
            elif isinstance(given.value, VariableNode):
                name = given.value.name.value
                if name in self._variables:
                    value = self._variables[name]
                elif isinstance(self._defaults.get(name), IntValueNode):
                    value = int(self._defaults[name].value)  # type: ignore[union-attr]
        try:  # as the variable's own coercion reads it: 150.0 is 150; "150", True, 2**40 and null are refused
            count = GraphQLInt.parse_value(value)
        except (GraphQLError, TypeError, ValueError):
            return 1  # not a GraphQL Int: the variable's coercion refuses the request before anything runs
        return max(count, 0) if isinstance(count, int) else 1

    def _type(self, name: str) -> GraphQLNamedType | None:
        return self._schema.get_type(name)


def _field_of(parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    fields = getattr(parent, "fields", None)
    return fields.get(name) if fields else None


def _is_list(definition: GraphQLField) -> bool:
    kind = definition.type.of_type if is_non_null_type(definition.type) else definition.type
    return is_list_type(kind)


def first_variables(document: DocumentNode) -> tuple[str, ...]:
    """The names of the variables that a ``first`` argument of ``document`` takes (sorted): with the document
    and the operation name, their values decide :func:`node_count`."""
    names: set[str] = set()
    stack: list[Any] = list(document.definitions)
    while stack:
        node = stack.pop()
        if isinstance(node, FieldNode):
            names.update(a.value.name.value for a in node.arguments or ()
                         if a.name.value == "first" and isinstance(a.value, VariableNode))  # fmt: skip
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return tuple(sorted(names))


class CostMemo:
    """:func:`node_count` remembered per document object, operation name and the values of its
    :func:`first_variables`: an LRU of ``maxsize`` counts shared by the requests of one schema (a repeated
    query text is one document object, ``schema.extensions.DocumentCache``), so a client's usual operations
    are counted once, not walked on every request. An entry keeps its document alive (its id is not reused)."""

    def __init__(self, maxsize: int = 256) -> None:
        self._maxsize = maxsize
        self._entries: OrderedDict[tuple[Any, ...], tuple[DocumentNode, int]] = OrderedDict()
        self._variables: OrderedDict[int, tuple[DocumentNode, tuple[str, ...]]] = OrderedDict()

    def count(
        self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int:  # fmt: skip
        """``node_count(schema, document, operation_name, variables)``, from the memo when it holds it."""
        given = variables or {}
        # typed: 10, 10.0 and True are equal keys but count differently (only an Int is a Relay ``first``)
        values = tuple((type(v), v) for v in (given.get(name) for name in self._first_variables(document)))
        key = (id(document), operation_name, *values)
        try:
            hit = self._entries.get(key)
        except TypeError:  # a variable's value that cannot be hashed (a list, an object): no memo
            return node_count(schema, document, operation_name, variables)
        if hit is not None and hit[0] is document:
            self._entries.move_to_end(key)
            return hit[1]
        cost = node_count(schema, document, operation_name, variables)
        self._remember(self._entries, key, (document, cost))
        return cost

    def _first_variables(self, document: DocumentNode) -> tuple[str, ...]:
        hit = self._variables.get(id(document))
        if hit is not None and hit[0] is document:
            return hit[1]
        names = first_variables(document)
        self._remember(self._variables, id(document), (document, names))
        return names

    def _remember(self, entries: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        entries[key] = value
        entries.move_to_end(key)
        while len(entries) > self._maxsize:
            entries.popitem(last=False)


class QueryCost(SchemaExtension):
    """Refuses an operation whose :func:`node_count` is over ``limit`` before any resolver runs (counted
    through the schema's :class:`CostMemo`)."""

    def __init__(self, limit: int, memo: CostMemo | None = None) -> None:
        super().__init__()
        self.limit = limit
        self.memo = memo if memo is not None else CostMemo()

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None and ctx.result is None:
            cost = self.memo.count(ctx.schema._schema, ctx.graphql_document, ctx.operation_name, ctx.variables)
            if cost > self.limit:
                error = QueryTooComplex(cost, self.limit)
                if ctx.operation_type is OperationType.SUBSCRIPTION:
                    raise error  # Strawberry answers a subscription's on_execute error as its one result
                ctx.result = ExecutionResult(data=None, errors=[GraphQLError(error.message, original_error=error)])
        yield


def query_cost(limit: int = DEFAULT_MAX_NODES) -> Callable[[], SchemaExtension]:
    """A factory of :class:`QueryCost` with ``limit`` nodes (``Settings.max_query_nodes``), sharing one
    :class:`CostMemo`."""
    memo = CostMemo()
    return lambda: QueryCost(limit, memo)
