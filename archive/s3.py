"""The S3 backend of :class:`archive.storage.Storage`, for AWS S3 and S3-compatible servers.

Atomicity comes from S3 itself: a PUT or a CompleteMultipartUpload makes the whole object visible
at once, and a failed multipart upload is aborted so its parts never show up. Error messages name
the bucket, key and S3 error code only: botocore errors can carry request details, and nothing
that identifies a credential may reach a log.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from archive.keys import InvalidName, validate_bucket, validate_key
from archive.storage import (
    ObjectInfo,
    StorageAccessDenied,
    StorageError,
    StorageOptions,
    validate_prefix,
)

MiB = 1024 * 1024
DEFAULT_REGION = "us-east-1"
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_EXISTS_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_READ_BUFFER = 256 * 1024
# answers no retry or wait will change: this client may not do this here (any 401/403, clock
# skew included, since S3 refuses a skewed signature with a 403 too)
_DENIED_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket",
                 "ExpiredToken", "InvalidToken", "TokenRefreshRequired", "AllAccessDisabled",
                 "AccountProblem", "InvalidBucketName", "RequestTimeTooSkewed"}
_DENIED_STATUSES = {401, 403}


def _error_code(exc: BaseException) -> tuple[str, int | None] | None:
    """The S3 error code and HTTP status behind ``exc``, following wrapped exceptions."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientError):
            code = str(seen.response.get("Error", {}).get("Code") or "Unknown")
            return code, seen.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # boto3's managed transfer re-raises a ClientError as S3UploadFailedError, unchained
        seen = seen.__cause__ or seen.__context__
    return None


def _is_denied(exc: BaseException) -> bool:
    """True when S3 refused this client (see StorageAccessDenied), not when it was down."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, NoCredentialsError | PartialCredentialsError):
            return True
        seen = seen.__cause__ or seen.__context__
    found = _error_code(exc)
    return found is not None and (found[0] in _DENIED_CODES or found[1] in _DENIED_STATUSES)


def _storage_error(message: str, exc: BaseException) -> StorageError:
    return (StorageAccessDenied if _is_denied(exc) else StorageError)(
        f"{message}: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    found = _error_code(exc)
    if found is not None:
        code, status = found
        if status is None or code == str(status):
            return f"HTTP {status}" if status else code
        return f"{code} (HTTP {status})"
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    # botocore's own messages are templates over endpoints and parameter names, not credentials
    return f"{type(exc).__name__}: {exc}"


class _ObjectReader(io.RawIOBase):
    """A GetObject body as a raw stream whose failures are StorageErrors, read on demand."""

    def __init__(self, body: Any, where: str) -> None:
        self._body = body
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._body.read(len(buffer))
        except (BotoCoreError, OSError) as exc:
            raise StorageError(f"reading {self._where} failed: {_describe(exc)}") from exc
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        # the inherited readall() would loop over 8 KiB reads; let urllib3 read in one go
        try:
            return self._body.read()
        except (BotoCoreError, OSError) as exc:
            raise StorageError(f"reading {self._where} failed: {_describe(exc)}") from exc

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3Storage:
    """Objects under ``s3://bucket/prefix/``; keys given to it are relative to the prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
        session: boto3.session.Session | None = None,
        # Every PUT and part is a billed write request. A WARC of the default roll size
        # (100 MB, plus the record that crossed it) goes up in one PUT, not 1 + 7 + 1 requests;
        # bigger files still go in parts, 64 MiB each, retried and sent in parallel per part.
        multipart_threshold: int = 128 * MiB,
        multipart_chunksize: int = 64 * MiB,
        max_concurrency: int = 4,
        page_size: int = 1000,
        max_attempts: int = 5,
        connect_timeout: float = 10,
        read_timeout: float = 60,
    ) -> None:
        self.bucket = validate_bucket(bucket)
        self.prefix = prefix.strip("/")
        if self.prefix:
            validate_key(self.prefix)
        if page_size < 1:
            raise ValueError(f"page_size must be positive, not {page_size}")
        self._page_size = page_size
        if (access_key is None) != (secret_key is None):
            raise ValueError("give both access_key and secret_key, or neither")
        if session is None:
            # explicit keys beat the default chain; otherwise boto3 resolves env, profile, role
            session = boto3.session.Session(
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                aws_session_token=session_token,
            )
        config = Config(
            region_name=region or session.region_name or DEFAULT_REGION,
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # S3-compatible servers on a bare host:port cannot serve bucket-name subdomains
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        self._client = session.client("s3", endpoint_url=endpoint_url, config=config)
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
            max_concurrency=max_concurrency,
            use_threads=max_concurrency > 1,
            # the CRT client has its own retry and abort behaviour; keep the one tested here
            preferred_transfer_client="classic",
        )

    @classmethod
    def from_uri(cls, uri: str, options: StorageOptions | None = None, **overrides: Any
                 ) -> S3Storage:
        """``s3://bucket`` or ``s3://bucket/some/prefix``, reached as ``options`` say;
        ``overrides`` are constructor keywords (explicit keys, part sizes) for tools and tests."""
        parts = urlsplit(uri)
        if parts.scheme != "s3" or parts.query or parts.fragment:
            raise InvalidName(f"invalid S3 archive URI {uri!r}: expected s3://bucket/prefix")
        options = options or StorageOptions()
        settings = {"endpoint_url": options.endpoint_url,
                    "connect_timeout": options.connect_timeout,
                    "read_timeout": options.read_timeout,
                    "max_attempts": options.max_attempts, **overrides}
        # the constructor validates both: a user:password@ or :port part fails as a bucket name
        return cls(parts.netloc, parts.path, **settings)

    @property
    def client(self) -> Any:
        """The underlying boto3 client, for tools and tests that need S3 beyond this interface."""
        return self._client

    def _key(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, action: str, key: str, exc: BaseException) -> StorageError:
        return _storage_error(f"{action} {self.location(key)} failed", exc)

    def put_file(self, key: str, path: Path) -> None:
        full = self._key(key)
        try:
            self._client.upload_file(str(path), self.bucket, full, Config=self._transfer)
        except (Boto3Error, BotoCoreError, ClientError, OSError) as exc:
            raise self._fail(f"uploading {path} to", key, exc) from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        full = self._key(key)
        try:
            self._client.put_object(Bucket=self.bucket, Key=full, Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("writing", key, exc) from exc

    def create_exclusive(self, key: str, data: bytes) -> bool:
        full = self._key(key)
        try:
            self._client.put_object(Bucket=self.bucket, Key=full, Body=data, IfNoneMatch="*")
            return True
        except ClientError as exc:
            if _code(exc) not in _EXISTS_CODES:
                raise self._fail("creating", key, exc) from exc
            if exc.response.get("ResponseMetadata", {}).get("RetryAttempts"):
                # a retried PUT may have lost the reply to our own first, successful attempt
                return self._holds(key, data)
            return False
        except BotoCoreError as exc:
            raise self._fail("creating", key, exc) from exc

    def _holds(self, key: str, data: bytes) -> bool:
        try:
            return self.get_bytes(key) == data
        except FileNotFoundError:
            return False

    def _get(self, key: str, **extra: str) -> dict[str, Any] | None:
        """GetObject; None when a requested range starts past the end of the object."""
        full = self._key(key)
        try:
            return self._client.get_object(Bucket=self.bucket, Key=full, **extra)
        except ClientError as exc:
            code = _code(exc)
            if code in _MISSING_CODES:
                raise FileNotFoundError(f"no object {self.location(key)}") from None
            if code == "InvalidRange" and "Range" in extra:
                return None
            raise self._fail("reading", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("reading", key, exc) from exc

    def _stream(self, response: dict[str, Any], key: str) -> io.BufferedReader:
        return io.BufferedReader(_ObjectReader(response["Body"], self.location(key)), _READ_BUFFER)

    def get_bytes(self, key: str) -> bytes:
        with self.open_read(key) as stream:
            return stream.read()

    def open_read(self, key: str) -> BinaryIO:
        response = self._get(key)
        assert response is not None  # only a Range request yields None
        return self._stream(response, key)

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError(f"invalid range offset={offset} length={length}")
        if length == 0:
            if not self.exists(key):
                raise FileNotFoundError(f"no object {self.location(key)}")
            return b""
        response = self._get(key, Range=f"bytes={offset}-{offset + length - 1}")
        if response is None:
            return b""  # a range wholly past the end: a short read, as from a local file
        with self._stream(response, key) as stream:
            data = stream.read()
        if response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 200:
            # a server that ignores Range sends the whole object
            return data[offset : offset + length]
        return data

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        validate_prefix(prefix)  # here, not in the generator: bad prefixes fail at the call
        return self._list(prefix)

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        base = f"{self.prefix}/" if self.prefix else ""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket,
            Prefix=base + prefix,
            PaginationConfig={"PageSize": self._page_size},
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(base) :]
                    # "folder" placeholders made by consoles and other tools are not objects
                    if not key.endswith("/"):
                        yield ObjectInfo(key, int(item["Size"]))
        except (BotoCoreError, ClientError) as exc:
            raise _storage_error(f"listing {self.location()}/{prefix}* failed", exc) from exc

    def exists(self, key: str) -> bool:
        full = self._key(key)
        try:
            self._client.head_object(Bucket=self.bucket, Key=full)
            return True
        except ClientError as exc:
            if _code(exc) in _MISSING_CODES:
                return False
            raise self._fail("checking", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("checking", key, exc) from exc

    def delete(self, key: str) -> None:
        full = self._key(key)
        try:
            self._client.delete_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if _code(exc) not in _MISSING_CODES:
                raise self._fail("deleting", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("deleting", key, exc) from exc

    def location(self, key: str = "") -> str:
        path = "/".join(part for part in (self.prefix, key) if part)
        return f"s3://{self.bucket}/{path}" if path else f"s3://{self.bucket}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "")
