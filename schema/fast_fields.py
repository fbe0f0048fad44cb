"""Direct graphql-core resolvers for plain fields and for the feed's hot resolver fields.

Strawberry resolves every field through its own wrappers: a plain attribute through ``_get_basic_result`` ->
``StrawberryField.get_result`` -> the default resolver (``getattr``); a field with a resolver through a
Strawberry ``Info`` built per call, argument conversion and the field-extension chain (a ``reduce`` over
``functools.partial``). A feed page of 10 posts with the fields of ``bench/bench_http.py`` resolves ~170
fields, 50 of them through resolvers: in-process, with every store read stubbed out, the page cost 1.9 ms
against 0.34 ms for ``{ __typename }`` (``bench/README``'s profile), most of it in those wrappers.

:func:`install` replaces, in the built graphql-core schema (``strawberry.Schema._schema``), the ``resolve`` of:

- every plain field (no resolver, no field extension, no permission class) of every object type by
  ``getattr(source, python_name)``: exactly what Strawberry's default resolver does (``StrawberryConfig``'s
  ``default_resolver`` is ``getattr`` here);
- the sync resolver fields of :data:`HOT` by a direct call of their method with graphql-core's resolve info.
  Those methods read only ``info.context`` (``resolvers.context.context_of``), which graphql-core's info
  carries as Strawberry's does, and their arguments are converted as Strawberry would (an enum's name to its
  member).

Everything else (async fields, fields with extensions or permission classes, arguments of other types) keeps
Strawberry's resolver. The leaf fields among those replaced are then completed without graphql-core's per-field
machinery as well (``schema.executor``). Returns the number of fields replaced. Errors raised by a resolver propagate to
graphql-core exactly as before (``ErrorCodes`` masks and codes them).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from graphql import GraphQLObjectType

from schema import executor

if TYPE_CHECKING:
    from collections.abc import Callable

    import strawberry

BACKREF = "strawberry-definition"  # where Strawberry keeps its field/argument definitions in graphql-core's
#: (GraphQL type, field) -> {argument: Enum class} of the sync resolver fields called directly.
HOT: dict[tuple[str, str], dict[str, type[Enum]]] = {}


def hot(type_name: str, field_name: str, **enum_arguments: type[Enum]) -> None:
    """Declare ``type_name.field_name`` (GraphQL names) a hot sync resolver field; ``enum_arguments`` maps its
    enum-typed arguments (GraphQL names) to their Python enum classes."""
    HOT[(type_name, field_name)] = dict(enum_arguments)


def _attribute(name: str) -> Callable[..., Any]:
    def resolve(source: Any, _info: Any, **_kwargs: Any) -> Any:
        return getattr(source, name)

    return resolve


def _direct(
    method: Callable[..., Any], enums: dict[str, tuple[str, type[Enum]]], *, takes_info: bool
) -> Callable[..., Any]:
    if not takes_info:

        def resolve_plain(source: Any, _info: Any) -> Any:
            return method(source)

        return resolve_plain
    if not enums:

        def resolve(source: Any, info: Any) -> Any:
            return method(source, info)

        return resolve

    def resolve_with_arguments(source: Any, info: Any, **kwargs: Any) -> Any:
        converted = {}
        for name, value in kwargs.items():
            python_name, enum = enums[name]
            converted[python_name] = enum[value] if isinstance(value, str) else value
        return method(source, info, **converted)

    return resolve_with_arguments


def install(schema: strawberry.Schema) -> int:
    """Replace the plain fields' and :data:`HOT` fields' resolvers of ``schema`` (see the module docstring);
    returns how many fields now resolve directly."""
    direct: dict[tuple[str, str], Callable[..., Any]] = {}
    for type_name, graphql_type in schema._schema.type_map.items():
        if type_name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_name, field in graphql_type.fields.items():
            definition = (field.extensions or {}).get(BACKREF)
            if definition is None or definition.extensions or getattr(definition, "permission_classes", None):
                continue
            resolver = definition.base_resolver
            if resolver is None:
                field.resolve = direct[(type_name, field_name)] = _attribute(definition.python_name)
            elif (type_name, field_name) in HOT and not resolver.is_async:
                enums = {
                    arg_name: (arg.extensions[BACKREF].python_name, enum)
                    for arg_name, enum in HOT[(type_name, field_name)].items()
                    for arg in [field.args[arg_name]]
                }
                field.resolve = direct[(type_name, field_name)] = _direct(
                    resolver.wrapped_func, enums, takes_info=resolver.info_parameter is not None
                )
    executor.install(schema._schema, direct)
    return len(direct)
