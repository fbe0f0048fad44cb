"""Object-store exceptions; botocore/aiohttp errors are translated into these in ``media.store``.

    StoreError
    ├── ObjectMissing      the key does not exist (HEAD/GET 404, NoSuchKey)
    ├── ObjectTooLarge     a GET found more bytes than the caller allows
    └── StoreUnavailable   S3 cannot be reached, timed out, or answered 5xx / access denied
                           (also a ``backends.errors.BackendUnavailable``)
"""

from __future__ import annotations

from backends.errors import BackendUnavailable


class StoreError(Exception):
    """Base of every object-store error."""


class ObjectMissing(StoreError):
    """The object does not exist."""


class ObjectTooLarge(StoreError):
    """The object is larger than the caller's ``max_bytes``."""


class StoreUnavailable(StoreError, BackendUnavailable):
    """S3 is unreachable, timed out, or refused the request."""
