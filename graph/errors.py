"""Graph-store exceptions; driver errors are translated into these at the driver boundary.

    GraphError
    ├── GraphUnavailable      the server cannot be reached or timed out
    ├── ConstraintViolation   a uniqueness constraint rejected the write
    └── QueryFailed           the statement itself failed (syntax, type, runtime error)
"""

from __future__ import annotations

from backends.errors import BackendUnavailable


class GraphError(Exception):
    """Base class of every graph-store error."""


class GraphUnavailable(GraphError, BackendUnavailable):
    """The graph server is unreachable, closed the connection, or timed out."""


class ConstraintViolation(GraphError):
    """A uniqueness constraint rejected a write; nothing of the statement was applied."""


class QueryFailed(GraphError):
    """The server rejected or failed to run the statement."""
