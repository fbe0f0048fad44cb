"""The S3 object store (aioboto3): presigned POST uploads, HEAD, GET, PUT, DELETE and public URLs.

One ``ObjectStore`` per process, opened with :func:`open_object_store` in the lifespan (or a worker's start)
and closed at the end; it holds one aiobotocore client for requests and, when ``public_url`` differs from
``endpoint``, a second one that only signs presigned POSTs for that public address (a POST policy's signature
covers the policy document, not the host, so clients may reach S3 through another name than the API does).

botocore/aiohttp errors are translated here, at the boundary, into ``media.errors``.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aioboto3
from aiohttp import ClientError as HttpClientError
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from media.errors import ObjectMissing, ObjectTooLarge, StoreError, StoreUnavailable

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

#: ``Cache-Control`` of every variant: keys are content-addressed by (post, media, size) and never rewritten.
IMMUTABLE = "public, max-age=31536000, immutable"
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NoSuchBucket", "NotFound"})
_DELETE_BATCH = 1000  # S3 DeleteObjects accepts at most 1,000 keys per request


@dataclass(frozen=True, slots=True)
class PresignedPost:
    """An S3 browser-style POST: POST ``fields`` (in order) then the file part to ``url`` before
    ``expires_at`` (epoch ms)."""

    url: str
    fields: dict[str, str]
    expires_at: int


@dataclass(frozen=True, slots=True)
class ObjectHead:
    """What a HEAD says about an object: ``size`` in bytes, ``content_type`` and ``cache_control``."""

    size: int
    content_type: str | None
    cache_control: str | None = None


@dataclass(frozen=True, slots=True)
class S3Config:
    """Where the bucket lives; ``public_url`` (may be empty) is the address clients and browsers use."""

    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    public_url: str = ""


def _translate(exc: Exception, key: str) -> StoreError:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _MISSING_CODES:
            return ObjectMissing(f"no object at {key!r}")
        return StoreUnavailable(f"S3 refused {key!r}: {code or exc}")
    return StoreUnavailable(f"S3 unreachable for {key!r}: {exc!r}")


class ObjectStore:
    """One bucket. Every method raises only ``StoreError`` subclasses."""

    def __init__(self, client: Any, signer: Any, config: S3Config) -> None:
        self._client, self._signer, self.config = client, signer, config
        self.bucket = config.bucket
        base = (config.public_url or config.endpoint).rstrip("/")
        self._public_base = f"{base}/{config.bucket}"

    def public_url(self, key: str) -> str:
        """The URL a client GETs ``key`` from (readable only under a public prefix: ``allow_public_read``)."""
        return f"{self._public_base}/{key}"

    async def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_s: int, now_ms: int | None = None
    ) -> PresignedPost:
        """A POST policy binding exactly ``key``, exactly ``content_type`` and 1..``max_bytes`` bytes.

        S3 itself then refuses a larger file (400 EntityTooLarge) or another type or key (403 AccessDenied).
        ``expires_s`` is the policy lifetime in seconds. Signing is local (no request is sent).
        """
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        try:
            post = await self._signer.generate_presigned_post(
                self.bucket,
                key,
                Fields={"Content-Type": content_type},
                Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
                ExpiresIn=expires_s,
            )
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, key) from exc
        fields = {str(k): str(v) for k, v in post["fields"].items()}
        return PresignedPost(url=str(post["url"]), fields=fields, expires_at=now_ms + expires_s * 1000)

    async def presigned_get(self, key: str, *, expires_s: int) -> str:
        """A SigV4 presigned GET URL of ``key`` (for the public address) valid for ``expires_s`` seconds
        (1..604,800, SigV4's limit) from now; S3 itself refuses it afterwards (403 "Request has expired") and
        refuses any change to it. Signing is local (no request is sent). Raises ``ValueError`` for a lifetime
        out of range, ``StoreUnavailable`` when signing fails."""
        if not 1 <= expires_s <= 604_800:
            raise ValueError(f"presigned GET lifetime must be 1..604800 s, got {expires_s}")
        try:
            url = await self._signer.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s
            )
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, key) from exc
        return str(url)

    async def head(self, key: str) -> ObjectHead:
        """Size and type of ``key``; raises ``ObjectMissing`` or ``StoreUnavailable``."""
        try:
            resp = await self._client.head_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError, HttpClientError) as exc:
            raise _translate(exc, key) from exc
        return ObjectHead(
            size=int(resp["ContentLength"]),
            content_type=resp.get("ContentType"),
            cache_control=resp.get("CacheControl"),
        )

    async def get(self, key: str, *, max_bytes: int) -> bytes:
        """The bytes of ``key``; raises ``ObjectTooLarge`` beyond ``max_bytes`` (without reading them all),
        ``ObjectMissing`` or ``StoreUnavailable``."""
        try:
            resp = await self._client.get_object(Bucket=self.bucket, Key=key)
            body = resp["Body"]
            async with body:  # releases the HTTP connection, also when refusing
                if int(resp["ContentLength"]) > max_bytes:
                    raise ObjectTooLarge(f"{key!r} has {resp['ContentLength']} bytes, more than {max_bytes}")
                return bytes(await body.read())
        except (BotoCoreError, ClientError, HttpClientError) as exc:
            raise _translate(exc, key) from exc

    async def put(self, key: str, data: bytes, *, content_type: str, cache_control: str = IMMUTABLE) -> None:
        """Write ``data`` at ``key`` with its type and ``Cache-Control``; raises ``StoreUnavailable``."""
        try:
            await self._client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, CacheControl=cache_control
            )
        except (BotoCoreError, ClientError, HttpClientError) as exc:
            raise _translate(exc, key) from exc

    async def delete(self, keys: Sequence[str]) -> None:
        """Delete ``keys`` (absent keys are fine: S3 deletes are idempotent); raises ``StoreUnavailable``."""
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": k} for k in keys[start : start + _DELETE_BATCH]]
            try:
                resp = await self._client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            except (BotoCoreError, ClientError, HttpClientError) as exc:
                raise _translate(exc, batch[0]["Key"]) from exc
            errors = [e for e in resp.get("Errors", []) if e.get("Code") not in _MISSING_CODES]
            if errors:
                raise StoreUnavailable(f"S3 failed to delete {len(errors)} objects: {errors[0]}")

    async def ping(self) -> None:
        """HeadBucket: raises ``StoreUnavailable`` unless S3 answers and the bucket exists."""
        try:
            await self._client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError, HttpClientError) as exc:
            raise _translate(exc, self.bucket) from exc

    async def ensure_bucket(self) -> bool:
        """Create the bucket when missing; True when this call created it (False also when a concurrent
        caller created it first). Raises ``StoreUnavailable``."""
        try:
            await self.ping()
            return False
        except ObjectMissing:
            pass
        try:
            await self._client.create_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "BucketAlreadyOwnedByYou":
                return False
            raise _translate(exc, self.bucket) from exc
        except (BotoCoreError, HttpClientError) as exc:
            raise _translate(exc, self.bucket) from exc
        return True

    async def allow_public_read(self, prefix: str) -> None:
        """Set the bucket policy so that anyone may GET objects under ``prefix`` (the variants) and nothing
        else; idempotent. Raises ``StoreUnavailable`` (e.g. when the credentials may not set policies)."""
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicReadVariants",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{self.bucket}/{prefix}*"],
                }
            ],
        }
        try:
            await self._client.put_bucket_policy(Bucket=self.bucket, Policy=json.dumps(policy))
        except (BotoCoreError, ClientError, HttpClientError) as exc:
            raise _translate(exc, prefix) from exc


def _client_kwargs(config: S3Config, endpoint: str) -> dict[str, Any]:
    return {
        "endpoint_url": endpoint,
        "aws_access_key_id": config.access_key,
        "aws_secret_access_key": config.secret_key,
        "region_name": config.region,
        "config": Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 2, "mode": "standard"},
        ),
    }


@contextlib.asynccontextmanager
async def open_object_store(config: S3Config) -> AsyncIterator[ObjectStore]:
    """Open the S3 client(s) for ``config`` and close them on exit. Connects lazily (no request here)."""
    session = aioboto3.Session()
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            session.client("s3", **_client_kwargs(config, config.endpoint))
        )
        signer = client
        if config.public_url and config.public_url.rstrip("/") != config.endpoint.rstrip("/"):
            signer = await stack.enter_async_context(
                session.client("s3", **_client_kwargs(config, config.public_url))
            )
        yield ObjectStore(client, signer, config)
